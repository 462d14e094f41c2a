import type { Prng } from '../../../node/raft/sim/prng';

/*
 * Virtual time for the transaction simulator. The coordinator (kv/txn.ts), DistSender
 * and the replica logic sleep with setTimeout/setInterval/setImmediate, read Date.now,
 * and draw transaction IDs and priorities from node:crypto and jitter from
 * Math.random. For the length of one seed those globals are replaced by a seeded
 * scheduler (`install`), and put back afterwards (`uninstall`), so that one seed runs
 * one schedule. Between two timer events every promise reaction runs to completion
 * (a real setImmediate turn), so the order of events is the timers' order alone.
 */

/** What Node's timer functions return; only what the code under test calls. */
export interface VirtualTimer {
  readonly id: number;
  unref(): VirtualTimer;
  ref(): VirtualTimer;
  hasRef(): boolean;
  refresh(): VirtualTimer;
  [Symbol.toPrimitive](): number;
}

interface Entry {
  at: number;
  seq: number;
  readonly id: number;
  readonly fn: () => void;
  readonly intervalMs: number | undefined;
  cancelled: boolean;
}

/** Where the virtual clock starts: an ordinary Unix time (ms), so timestamps look real. */
export const VIRTUAL_EPOCH_MS = 1_700_000_000_000;

export class VirtualScheduler {
  private nowValue = VIRTUAL_EPOCH_MS;
  private heap: Entry[] = [];
  private readonly byId = new Map<number, Entry>();
  private nextSeq = 0;
  private nextId = 1;
  private saved: Saved | undefined;
  /** Timer callbacks run so far (a measure of work, and part of the fingerprint). */
  events = 0;

  constructor(private readonly prng: Prng) {}

  /** The true time (ms since the Unix epoch); processes see it through their own offsets. */
  get nowMs(): number {
    return this.nowValue;
  }

  get pending(): number {
    return this.byId.size;
  }

  setTimeout(fn: () => void, ms: number | undefined, intervalMs?: number): VirtualTimer {
    const delay = Number.isFinite(ms) && (ms as number) > 0 ? (ms as number) : 0;
    const entry: Entry = { at: this.nowValue + delay, seq: this.nextSeq++, id: this.nextId++, fn, intervalMs, cancelled: false };
    this.push(entry);
    this.byId.set(entry.id, entry);
    return timerHandle(entry.id);
  }

  clear(handle: unknown): void {
    const id = typeof handle === 'object' && handle !== null && 'id' in handle ? (handle as VirtualTimer).id : Number(handle);
    const entry = this.byId.get(id);
    if (entry === undefined) return;
    entry.cancelled = true;
    this.byId.delete(id);
  }

  /** Replaces the timer globals, Date.now, Math.random and crypto's random sources. */
  install(): void {
    if (this.saved !== undefined) throw new Error('virtual time is already installed');
    const g = globalThis as unknown as Record<string, unknown>;
    const cryptoModule = nodeCrypto();
    this.saved = {
      setTimeout: g.setTimeout,
      clearTimeout: g.clearTimeout,
      setInterval: g.setInterval,
      clearInterval: g.clearInterval,
      setImmediate: g.setImmediate,
      clearImmediate: g.clearImmediate,
      dateNow: Date.now,
      mathRandom: Math.random,
      randomBytes: cryptoModule.randomBytes,
      randomInt: cryptoModule.randomInt,
    };
    const call = (fn: unknown, args: unknown[]): (() => void) => () => (fn as (...a: unknown[]) => void)(...args);
    g.setTimeout = (fn: unknown, ms?: number, ...args: unknown[]) => this.setTimeout(call(fn, args), ms);
    g.setInterval = (fn: unknown, ms?: number, ...args: unknown[]) => {
      const every = Math.max(1, Number(ms) || 0);
      return this.setTimeout(call(fn, args), every, every);
    };
    g.setImmediate = (fn: unknown, ...args: unknown[]) => this.setTimeout(call(fn, args), 0);
    g.clearTimeout = g.clearInterval = g.clearImmediate = (handle: unknown) => this.clear(handle);
    Date.now = () => Math.floor(this.nowValue);
    Math.random = () => this.prng.float();
    cryptoModule.randomBytes = (size: number) => {
      const out = Buffer.alloc(size);
      for (let i = 0; i < size; i++) out[i] = this.prng.int(256);
      return out;
    };
    cryptoModule.randomInt = (a: number, b?: number) => (b === undefined ? this.prng.int(a) : a + this.prng.int(b - a));
  }

  uninstall(): void {
    const saved = this.saved;
    if (saved === undefined) return;
    const g = globalThis as unknown as Record<string, unknown>;
    const cryptoModule = nodeCrypto();
    g.setTimeout = saved.setTimeout;
    g.clearTimeout = saved.clearTimeout;
    g.setInterval = saved.setInterval;
    g.clearInterval = saved.clearInterval;
    g.setImmediate = saved.setImmediate;
    g.clearImmediate = saved.clearImmediate;
    Date.now = saved.dateNow;
    Math.random = saved.mathRandom;
    cryptoModule.randomBytes = saved.randomBytes;
    cryptoModule.randomInt = saved.randomInt;
    this.saved = undefined;
  }

  /**
   * Runs timer events in time order until `done()` holds after the promise reactions
   * of an event settled, or no event is due before `untilMs`. Returns whether `done()` held.
   */
  async run(done: () => boolean, untilMs: number): Promise<boolean> {
    for (;;) {
      await settle();
      if (done()) return true;
      const next = this.pop();
      if (next === undefined) return false;
      if (next.at > untilMs) {
        this.push(next);
        this.nowValue = Math.max(this.nowValue, untilMs);
        return false;
      }
      this.nowValue = Math.max(this.nowValue, next.at);
      if (next.intervalMs !== undefined) {
        next.at = this.nowValue + next.intervalMs;
        next.seq = this.nextSeq++;
        this.push(next);
      } else {
        this.byId.delete(next.id);
      }
      this.events++;
      next.fn();
    }
  }

  /** Drops every pending timer (the end of a seed: heartbeats of crashed coordinators and the like). */
  clearAll(): void {
    for (const entry of this.heap) entry.cancelled = true;
    this.heap = [];
    this.byId.clear();
  }

  private pop(): Entry | undefined {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined) return undefined;
      const last = this.heap.pop() as Entry;
      if (this.heap.length > 0) {
        this.heap[0] = last;
        this.siftDown(0);
      }
      if (!top.cancelled) return top;
    }
  }

  private push(entry: Entry): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i] as Entry, heap[parent] as Entry)) break;
      [heap[i], heap[parent]] = [heap[parent] as Entry, heap[i] as Entry];
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && before(heap[l] as Entry, heap[m] as Entry)) m = l;
      if (r < heap.length && before(heap[r] as Entry, heap[m] as Entry)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m] as Entry, heap[i] as Entry];
      i = m;
    }
  }
}

interface Saved {
  readonly setTimeout: unknown;
  readonly clearTimeout: unknown;
  readonly setInterval: unknown;
  readonly clearInterval: unknown;
  readonly setImmediate: unknown;
  readonly clearImmediate: unknown;
  readonly dateNow: () => number;
  readonly mathRandom: () => number;
  readonly randomBytes: unknown;
  readonly randomInt: unknown;
}

function before(a: Entry, b: Entry): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

function timerHandle(id: number): VirtualTimer {
  const handle: VirtualTimer = {
    id,
    unref: () => handle,
    ref: () => handle,
    hasRef: () => true,
    refresh: () => handle,
    [Symbol.toPrimitive]: () => id,
  };
  return handle;
}

/**
 * node:crypto's module object itself (what `import { randomBytes }` reads at each call
 * once compiled to CommonJS), not a namespace copy of it.
 */
function nodeCrypto(): Record<string, unknown> {
  return process.getBuiltinModule('node:crypto') as unknown as Record<string, unknown>;
}

// Captured before any install: lets every promise reaction of an event run.
const realSetImmediate = setImmediate;

function settle(): Promise<void> {
  return new Promise((resolve) => realSetImmediate(resolve));
}
