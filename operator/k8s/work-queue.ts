/**
 * A work queue of object keys (`namespace/name`) in the manner of client-go's: a key is
 * queued at most once however often it is added; a key being processed is never handed
 * to a second worker, and one added meanwhile is queued again when the first worker
 * calls `done`; failures are retried after an exponential per-key delay until `forget`.
 *
 * Timers come from an injected `Scheduler`, so tests drive time by hand.
 */

export interface Scheduler {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  /** Runs `fn` after `delayMs`; returns a function that cancels it. */
  schedule(fn: () => void, delayMs: number): () => void;
}

export const realScheduler: Scheduler = {
  now: () => performance.now(),
  schedule(fn, delayMs) {
    const timer = setTimeout(fn, delayMs);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

export interface WorkQueueOptions {
  /** Delay of the first retry (default 100 ms); each further failure doubles it. */
  readonly baseDelayMs?: number;
  /** Cap of the retry delay (default 60 s). */
  readonly maxDelayMs?: number;
  readonly scheduler?: Scheduler;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  /** Keys waiting in `queue` or to be queued once processing ends. */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { readonly dueMs: number; readonly cancel: () => void }>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly scheduler: Scheduler;

  constructor(options: WorkQueueOptions = {}) {
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.maxDelayMs = options.maxDelayMs ?? 60_000;
    this.scheduler = options.scheduler ?? realScheduler;
  }

  /** Keys waiting to be processed (not counting delayed ones). */
  get length(): number {
    return this.queue.length;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
      return;
    }
    this.queue.push(key);
  }

  /** Adds `key` after `delayMs`; an earlier pending delayed add of the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const dueMs = this.scheduler.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending !== undefined && pending.dueMs <= dueMs) return;
    pending?.cancel();
    const cancel = this.scheduler.schedule(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.delayed.set(key, { dueMs, cancel });
  }

  /** Adds `key` after its next back-off delay (a failure). */
  addRateLimited(key: string): void {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    this.addAfter(key, this.backoffMs(failures));
  }

  /** The delay the next `addRateLimited(key)` would use. */
  backoffMs(failures: number): number {
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(failures, 30));
  }

  /** Failures counted for `key` since its last `forget`. */
  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Resets `key`'s back-off (after a success). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** The next key, waiting for one; undefined once the queue is shut down. */
  get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Ends processing of `key`; queues it again if it was added meanwhile. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.delete(key)) this.add(key);
  }

  /** Stops handing out keys: waiting and later `get` calls return undefined. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const { cancel } of this.delayed.values()) cancel();
    this.delayed.clear();
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }
}
