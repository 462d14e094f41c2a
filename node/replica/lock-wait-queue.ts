/*
 * The leaseholder's wait-queues for locks (intents). A request that meets another
 * transaction's intent lines up behind the key and pushes the owner; when a batch
 * resolves or removes intents, the waiters of those keys are woken in the order they
 * came, and evaluate again (the latch manager keeps that order).
 */

interface KeyWaiter {
  readonly wake: () => void;
}

export interface LockWait {
  /** Resolves when the key's lock is released (or the queue is cleared). */
  readonly released: Promise<void>;
  /** Leaves the line (the waiter gave up or went on by another path). */
  cancel(): void;
}

export class LockWaitQueue {
  private readonly waiters = new Map<string, KeyWaiter[]>();

  /** Lines up behind `key`. Call before the latches are released, so no release is missed. */
  wait(key: Buffer): LockWait {
    const k = key.toString('latin1');
    let wake!: () => void;
    const released = new Promise<void>((resolve) => {
      wake = resolve;
    });
    const waiter: KeyWaiter = { wake };
    const line = this.waiters.get(k);
    if (line === undefined) this.waiters.set(k, [waiter]);
    else line.push(waiter);
    return {
      released,
      cancel: () => {
        const current = this.waiters.get(k);
        if (current === undefined) return;
        const i = current.indexOf(waiter);
        if (i >= 0) current.splice(i, 1);
        if (current.length === 0) this.waiters.delete(k);
      },
    };
  }

  /** The locks in [start, end) were released: wake their waiters, first come first. */
  release(start: Buffer, end: Buffer): void {
    if (this.waiters.size === 0) return;
    for (const [k, line] of [...this.waiters]) {
      const key = Buffer.from(k, 'latin1');
      if (Buffer.compare(start, key) <= 0 && Buffer.compare(key, end) < 0) {
        this.waiters.delete(k);
        for (const waiter of line) waiter.wake();
      }
    }
  }

  /** Wakes everyone (the lease moved: they retry and are sent elsewhere). */
  releaseAll(): void {
    const all = [...this.waiters.values()];
    this.waiters.clear();
    for (const line of all) for (const waiter of line) waiter.wake();
  }

  get waitingKeys(): number {
    return this.waiters.size;
  }
}

interface PushWaiter {
  /** The pusher's ID (hex), or a unique token for a non-transactional pusher. */
  readonly pusherId: string;
  /** Transactions known to wait (directly or not) on the pusher. */
  dependents: ReadonlySet<string>;
  readonly wake: () => void;
}

/** A pusher that stopped waiting a moment ago, and what it knew. */
interface RecentPusher {
  readonly dependents: ReadonlySet<string>;
  readonly leftAtMs: number;
}

export interface PushWait {
  /** Resolves when the pushee's record changes (or the queue is cleared). */
  readonly changed: Promise<void>;
  /** Records who waits on the pusher, as its own record's queue reported. */
  setDependents(ids: ReadonlySet<string>): void;
  cancel(): void;
}

/**
 * How long a pusher that left the queue still counts as waiting. A waiting push leaves
 * and lines up again at every poll, and a lock waiter's push at every slice; without
 * this memory the edges would flicker, and the dependents each pusher learned (one hop
 * of the waits-for graph per poll) would be lost at every turn, so no cycle longer than
 * two would ever be seen. Three polls' worth bridges those gaps; an edge that outlives
 * its wait by that much at worst aborts one transaction that would have got through.
 */
export const PUSHER_MEMORY_MS = 450;

/** Pushees with departed pushers past which leaving the queue also sweeps out old ones. */
export const PRUNE_OVER_PUSHEES = 256;

/**
 * The wait-queue of pushes at a transaction's record (on the anchor range's
 * leaseholder): pushers of a live transaction wait here until it finishes, expires or
 * is chosen to break a deadlock. It also answers who waits on a transaction, the edge
 * list that distributed deadlock detection walks.
 */
export class TxnWaitQueue {
  private readonly queues = new Map<string, PushWaiter[]>();
  /** By pushee, then pusher: pushers that left within PUSHER_MEMORY_MS. */
  private readonly recent = new Map<string, Map<string, RecentPusher>>();

  /** `now` is Unix ms (virtual in the simulator). */
  constructor(private readonly now: () => number = Date.now) {}

  wait(pusheeId: Buffer, pusherId: string): PushWait {
    const k = pusheeId.toString('hex');
    let wake!: () => void;
    const changed = new Promise<void>((resolve) => {
      wake = resolve;
    });
    // Lining up again: what this pusher learned before still holds until it learns anew.
    const before = this.recentPusher(k, pusherId);
    const waiter: PushWaiter = { pusherId, dependents: before?.dependents ?? new Set(), wake };
    const line = this.queues.get(k);
    if (line === undefined) this.queues.set(k, [waiter]);
    else line.push(waiter);
    return {
      changed,
      setDependents: (ids) => {
        waiter.dependents = ids;
      },
      cancel: () => {
        const current = this.queues.get(k);
        if (current === undefined) return;
        const i = current.indexOf(waiter);
        if (i < 0) return;
        current.splice(i, 1);
        if (current.length === 0) this.queues.delete(k);
        let left = this.recent.get(k);
        if (left === undefined) {
          left = new Map();
          this.recent.set(k, left);
        }
        left.set(pusherId, { dependents: waiter.dependents, leftAtMs: this.now() });
        // Normally a pushee's end (notify) clears its entries; this bounds the rest.
        if (this.recent.size > PRUNE_OVER_PUSHEES) this.forgetOld();
      },
    };
  }

  /** The record of `txnId` changed (finalized or pushed): its pushers look again. */
  notify(txnId: Buffer): void {
    const k = txnId.toString('hex');
    // Who waited before the change must wait anew to count.
    this.recent.delete(k);
    const line = this.queues.get(k);
    if (line === undefined) return;
    this.queues.delete(k);
    for (const waiter of line) waiter.wake();
  }

  releaseAll(): void {
    const all = [...this.queues.values()];
    this.queues.clear();
    this.recent.clear();
    for (const line of all) for (const waiter of line) waiter.wake();
  }

  /** Every transaction waiting on `txnId` here (or a moment ago), and those known to wait on them. */
  waitingOn(txnId: Buffer): Buffer[] {
    const k = txnId.toString('hex');
    const ids = new Set<string>();
    const add = (pusherId: string, dependents: ReadonlySet<string>): void => {
      ids.add(pusherId);
      for (const dependent of dependents) ids.add(dependent);
    };
    for (const waiter of this.queues.get(k) ?? []) add(waiter.pusherId, waiter.dependents);
    this.forgetOld();
    for (const [pusherId, left] of this.recent.get(k) ?? []) add(pusherId, left.dependents);
    return [...ids].filter((id) => /^[0-9a-f]{32}$/.test(id)).map((id) => Buffer.from(id, 'hex'));
  }

  get waitingPushes(): number {
    let n = 0;
    for (const line of this.queues.values()) n += line.length;
    return n;
  }

  /** Pushees whose departed pushers are still remembered. */
  get rememberedPushees(): number {
    return this.recent.size;
  }

  private recentPusher(pusheeHex: string, pusherId: string): RecentPusher | undefined {
    const left = this.recent.get(pusheeHex)?.get(pusherId);
    return left !== undefined && this.now() - left.leftAtMs <= PUSHER_MEMORY_MS ? left : undefined;
  }

  private forgetOld(): void {
    const cutoff = this.now() - PUSHER_MEMORY_MS;
    for (const [pushee, left] of this.recent) {
      for (const [pusher, entry] of left) if (entry.leftAtMs < cutoff) left.delete(pusher);
      if (left.size === 0) this.recent.delete(pushee);
    }
  }
}
