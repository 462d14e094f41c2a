/**
 * What a KV call watches to give up early: the subset of AbortSignal it uses, so an
 * AbortController's signal serves as well as an Interrupt.
 */
export interface InterruptSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * A one-shot signal to stop waiting. The SQL gateway makes one per statement: an
 * AbortController (an EventTarget) costs several microseconds to create and to listen
 * to, a few per cent of a point SELECT's CPU in the gateway.
 */
export class Interrupt implements InterruptSignal {
  private listeners: (() => void)[] = [];
  private abortedValue = false;

  get aborted(): boolean {
    return this.abortedValue;
  }

  /** Calls every listener once; later calls do nothing. */
  abort(): void {
    if (this.abortedValue) return;
    this.abortedValue = true;
    const listeners = this.listeners;
    this.listeners = [];
    for (const listener of listeners) listener();
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    if (!this.abortedValue) this.listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const at = this.listeners.indexOf(listener);
    if (at >= 0) this.listeners.splice(at, 1);
  }
}
