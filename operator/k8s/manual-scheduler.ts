import type { Scheduler } from './work-queue';

/** A Scheduler whose time moves only when a test calls `advance`. */
export class ManualScheduler implements Scheduler {
  private nowMs = 0;
  private nextId = 0;
  private readonly timers = new Map<number, { readonly dueMs: number; readonly fn: () => void }>();

  now(): number {
    return this.nowMs;
  }

  schedule(fn: () => void, delayMs: number): () => void {
    const id = this.nextId++;
    this.timers.set(id, { dueMs: this.nowMs + delayMs, fn });
    return () => this.timers.delete(id);
  }

  /** Moves time forward, running due timers in order. */
  advance(ms: number): void {
    const target = this.nowMs + ms;
    while (true) {
      const due = [...this.timers].filter(([, t]) => t.dueMs <= target).sort((a, b) => a[1].dueMs - b[1].dueMs || a[0] - b[0])[0];
      if (due === undefined) break;
      this.timers.delete(due[0]);
      this.nowMs = due[1].dueMs;
      due[1].fn();
    }
    this.nowMs = target;
  }

  get pending(): number {
    return this.timers.size;
  }
}
