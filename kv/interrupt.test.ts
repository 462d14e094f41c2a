import { Interrupt } from './interrupt';

describe('Interrupt', () => {
  it('calls each listener once when aborted, and not those removed before', () => {
    const interrupt = new Interrupt();
    const calls: string[] = [];
    const kept = (): void => void calls.push('kept');
    const removed = (): void => void calls.push('removed');
    interrupt.addEventListener('abort', kept);
    interrupt.addEventListener('abort', removed);
    interrupt.removeEventListener('abort', removed);
    expect(interrupt.aborted).toBe(false);
    interrupt.abort();
    interrupt.abort();
    expect(interrupt.aborted).toBe(true);
    expect(calls).toEqual(['kept']);
  });

  it('does not call a listener added after it aborted', () => {
    const interrupt = new Interrupt();
    interrupt.abort();
    const listener = jest.fn();
    interrupt.addEventListener('abort', listener);
    interrupt.abort();
    expect(listener).not.toHaveBeenCalled();
  });
});
