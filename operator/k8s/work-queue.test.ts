import { ManualScheduler } from './manual-scheduler';
import { WorkQueue } from './work-queue';

function queue(): { q: WorkQueue; clock: ManualScheduler } {
  const clock = new ManualScheduler();
  return { q: new WorkQueue({ scheduler: clock, baseDelayMs: 100, maxDelayMs: 1_000 }), clock };
}

describe('WorkQueue', () => {
  test('queues a key once however often it is added, in order of first add', async () => {
    const { q } = queue();
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
  });

  test('never hands a key being processed to a second worker, and requeues it on done', async () => {
    const { q } = queue();
    q.add('a');
    expect(await q.get()).toBe('a');
    q.add('a');
    expect(q.length).toBe(0);
    let second: string | undefined;
    void q.get().then((key) => (second = key));
    await Promise.resolve();
    expect(second).toBeUndefined();
    q.done('a');
    await Promise.resolve();
    expect(second).toBe('a');
  });

  test('a waiting worker gets a key as soon as it is added', async () => {
    const { q } = queue();
    const next = q.get();
    q.add('x');
    expect(await next).toBe('x');
  });

  test('retries after exponentially growing delays, capped, until forget', async () => {
    const { q, clock } = queue();
    expect([0, 1, 2, 3, 4, 10].map((n) => q.backoffMs(n))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    q.addRateLimited('a');
    clock.advance(99);
    expect(q.length).toBe(0);
    clock.advance(1);
    expect(q.length).toBe(1);
    q.done(await q.get().then((k) => k!));
    q.addRateLimited('a');
    clock.advance(199);
    expect(q.length).toBe(0);
    clock.advance(1);
    expect(q.length).toBe(1);
    expect(q.retries('a')).toBe(2);
    q.forget('a');
    expect(q.retries('a')).toBe(0);
  });

  test('an earlier delayed add of a key wins over a later one', () => {
    const { q, clock } = queue();
    q.addAfter('a', 500);
    q.addAfter('a', 100);
    q.addAfter('a', 300);
    clock.advance(100);
    expect(q.length).toBe(1);
    expect(clock.pending).toBe(0);
  });

  test('shutDown releases waiting workers and drops delayed keys', async () => {
    const { q, clock } = queue();
    q.addAfter('a', 10);
    const waiting = q.get();
    q.shutDown();
    expect(await waiting).toBeUndefined();
    clock.advance(10);
    expect(q.length).toBe(0);
    expect(await q.get()).toBeUndefined();
  });
});
