import { assert, InvalidArgumentError } from '../../common/errors';

/**
 * The keys a request touches, declared before it is evaluated: a single key (`end`
 * unset) or the span [start, end), read or written.
 */
export interface LatchSpan {
  readonly start: Buffer;
  /** Exclusive end; unset: the single key `start`. */
  readonly end?: Buffer;
  readonly write: boolean;
}

/** Latches held by one request. Release them once its writes are applied (or it fails). */
export interface LatchGuard {
  readonly spans: readonly LatchSpan[];
  release(): void;
}

type LatchState = 'waiting' | 'held' | 'released' | 'cancelled';

/**
 * Bytewise order. In JavaScript rather than Buffer.compare: keys are short and a
 * native call costs more than the loop.
 */
function compareKeys(a: Buffer, b: Buffer): number {
  const length = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return a.length - b.length;
}

/** FNV-1a, 32 bits: different hashes are different keys. */
function hashKey(key: Buffer): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash = Math.imul(hash ^ (key[i] as number), 0x01000193);
  }
  return hash >>> 0;
}

/** Whether a span starting at `start` begins at or below an upper bound. */
function startsWithin(start: Buffer, upper: Buffer, upperInclusive: boolean): boolean {
  const order = compareKeys(start, upper);
  return upperInclusive ? order <= 0 : order < 0;
}

function spansOverlap(a: LatchSpan, b: LatchSpan): boolean {
  const aEnd = a.end;
  const bEnd = b.end;
  // A point's upper bound is its own key, inclusive; a span's is its end, exclusive.
  return (
    startsWithin(a.start, bEnd === undefined ? b.start : bEnd, bEnd === undefined) &&
    startsWithin(b.start, aEnd === undefined ? a.start : aEnd, aEnd === undefined)
  );
}

const NO_SPANS_BOUND = Buffer.alloc(0);

/**
 * One request's latches: held, or waiting for the earlier requests it conflicts with.
 * Also the node of the manager's list of requests in flight, in arrival order.
 */
class Latches implements LatchGuard {
  state: LatchState = 'held';
  prev: Latches | undefined = undefined;
  next: Latches | undefined = undefined;
  /** Earlier conflicting requests still in flight (waiting only). */
  blockers = 0;
  /** Later requests waiting (among other things) for this one; made on first need. */
  dependents: Latches[] | undefined = undefined;
  /** Whether any span is a write: two read-only requests never conflict. */
  readonly hasWrite: boolean;
  /** Bounds of all the spans together, to pass over most non-conflicts with two compares. */
  readonly lower: Buffer;
  readonly upper: Buffer;
  readonly upperInclusive: boolean;
  /**
   * For a request of one single key (most are), the key's hash, else -1: two such
   * requests on different keys are told apart with one comparison.
   */
  readonly pointHash: number;
  /**
   * The hashes of its keys when every span is a single key, each once; undefined when
   * a span covers a range. Such a request is found through the manager's index.
   */
  readonly pointHashes: readonly number[] | undefined;
  /** The manager's last search that visited it (each in-flight request is checked once). */
  visited = 0;
  resolve: ((guard: LatchGuard) => void) | undefined = undefined;
  reject: ((reason: unknown) => void) | undefined = undefined;
  signal: AbortSignal | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;

  constructor(
    private readonly manager: LatchManager,
    readonly spans: readonly LatchSpan[],
  ) {
    let hasWrite = false;
    let lower: Buffer | undefined;
    let upper: Buffer | undefined;
    let upperInclusive = false;
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i] as LatchSpan;
      const end = span.end;
      if (end !== undefined && compareKeys(span.start, end) >= 0) {
        throw new InvalidArgumentError(
          `latch span [${span.start.toString('hex')}, ${end.toString('hex')}) is empty or inverted`,
        );
      }
      hasWrite ||= span.write;
      if (lower === undefined || compareKeys(span.start, lower) < 0) {
        lower = span.start;
      }
      const spanUpper = end === undefined ? span.start : end;
      const order = upper === undefined ? 1 : compareKeys(spanUpper, upper);
      if (order > 0 || (order === 0 && end === undefined)) {
        upper = spanUpper;
        upperInclusive = end === undefined;
      }
    }
    this.hasWrite = hasWrite;
    this.lower = lower ?? NO_SPANS_BOUND;
    this.upper = upper ?? NO_SPANS_BOUND;
    // No spans: an empty bound that nothing starts within.
    this.upperInclusive = spans.length > 0 && upperInclusive;
    const only = spans.length === 1 ? (spans[0] as LatchSpan) : undefined;
    this.pointHash = only !== undefined && only.end === undefined ? hashKey(only.start) : -1;
    let hashes: number[] | undefined = [];
    for (let i = 0; i < spans.length && hashes !== undefined; i++) {
      const span = spans[i] as LatchSpan;
      if (span.end !== undefined) {
        hashes = undefined;
      } else {
        const hash = i === 0 && this.pointHash >= 0 ? this.pointHash : hashKey(span.start);
        if (!hashes.includes(hash)) hashes.push(hash);
      }
    }
    this.pointHashes = hashes;
  }

  release(): void {
    this.manager.releaseLatches(this);
  }

  /** Whether the two requests may not run at once: overlapping spans, one of them a write. */
  conflictsWith(other: Latches): boolean {
    if (!this.hasWrite && !other.hasWrite) {
      return false;
    }
    if (this.pointHash >= 0 && other.pointHash >= 0) {
      return this.pointHash === other.pointHash && compareKeys(this.lower, other.lower) === 0;
    }
    if (
      !startsWithin(this.lower, other.upper, other.upperInclusive) ||
      !startsWithin(other.lower, this.upper, this.upperInclusive)
    ) {
      return false;
    }
    const mine = this.spans;
    const theirs = other.spans;
    for (let i = 0; i < mine.length; i++) {
      const a = mine[i] as LatchSpan;
      for (let j = 0; j < theirs.length; j++) {
        const b = theirs[j] as LatchSpan;
        if ((a.write || b.write) && spansOverlap(a, b)) {
          return true;
        }
      }
    }
    return false;
  }
}

/**
 * Serializes the conflicting requests of one range, from before evaluation until their
 * writes are applied: a read conflicts with an overlapping write, a write with any
 * overlapping latch. Requests are served first come, first served: a request waits for
 * every earlier request it conflicts with, waiting or holding, so a stream of reads
 * cannot starve a write (nor the reverse).
 *
 * Requests whose spans are all single keys (gets, puts, a commit's record and point
 * refreshes: nearly all) are indexed by the hashes of their keys. Such a request is
 * checked only against those sharing a hash and those with a range span; a request
 * with a range span (a scan, a range resolution, a split) against every request in
 * flight, by the bounds of their spans first. On a range with a hundred writes in
 * flight, walking them all for every request cost 7% of a leaseholder's CPU. A request
 * with no conflict costs the guard object and no promise (`tryAcquire`). No timers: a
 * caller that gives up on waiting passes an AbortSignal.
 *
 * Typical use: `const guard = latches.tryAcquire(spans) ?? (await latches.acquire(spans, signal));`
 */
export class LatchManager {
  /** Requests in flight (holding or waiting), oldest first. */
  private head: Latches | undefined = undefined;
  private tail: Latches | undefined = undefined;
  /** Requests in flight whose spans are all single keys, by the hash of each key. */
  private readonly byKeyHash = new Map<number, Latches[]>();
  /** Requests in flight with a range span. */
  private readonly ranged = new Set<Latches>();
  private searches = 0;
  private held = 0;
  private waiting = 0;

  /** Requests holding their latches. */
  get heldCount(): number {
    return this.held;
  }

  /** Requests waiting for theirs. */
  get waitingCount(): number {
    return this.waiting;
  }

  /**
   * The latches, if no request in flight conflicts with them; otherwise undefined and
   * nothing changes (call `acquire` to wait in line).
   */
  tryAcquire(spans: readonly LatchSpan[]): LatchGuard | undefined {
    const latches = new Latches(this, spans);
    if (this.forEachConflict(latches, () => true)) {
      return undefined;
    }
    this.link(latches);
    this.held++;
    return latches;
  }

  /**
   * The latches, once every earlier conflicting request has released its own (or
   * stopped waiting). If `signal` aborts first, the request leaves the line and the
   * promise rejects with the signal's reason.
   */
  acquire(spans: readonly LatchSpan[], signal?: AbortSignal): Promise<LatchGuard> {
    if (signal?.aborted === true) {
      return Promise.reject(signal.reason);
    }
    const latches = new Latches(this, spans);
    this.forEachConflict(latches, (other) => {
      (other.dependents ??= []).push(latches);
      latches.blockers++;
      return false;
    });
    this.link(latches);
    if (latches.blockers === 0) {
      this.held++;
      return Promise.resolve(latches);
    }
    latches.state = 'waiting';
    this.waiting++;
    return new Promise<LatchGuard>((resolve, reject) => {
      latches.resolve = resolve;
      latches.reject = reject;
      if (signal !== undefined) {
        const onAbort = (): void => this.cancel(latches);
        latches.signal = signal;
        latches.onAbort = onAbort;
        signal.addEventListener('abort', onAbort, { once: true });
      }
    });
  }

  /** @internal Called through the guard: `guard.release()`. */
  releaseLatches(latches: Latches): void {
    assert(latches.state === 'held', () => `releasing latches that are ${latches.state}`);
    latches.state = 'released';
    this.held--;
    this.unlink(latches);
    this.wakeDependents(latches);
  }

  private cancel(latches: Latches): void {
    if (latches.state !== 'waiting') {
      return;
    }
    latches.state = 'cancelled';
    this.waiting--;
    this.unlink(latches);
    const reject = latches.reject as (reason: unknown) => void;
    const reason = (latches.signal as AbortSignal).reason;
    this.clearWaiter(latches);
    // Those behind it counted their own conflicts with every earlier request: without
    // this one in line, some may go.
    this.wakeDependents(latches);
    reject(reason);
  }

  private wakeDependents(latches: Latches): void {
    const dependents = latches.dependents;
    if (dependents === undefined) {
      return;
    }
    latches.dependents = undefined;
    for (let i = 0; i < dependents.length; i++) {
      const dependent = dependents[i] as Latches;
      // A dependent that stopped waiting is skipped.
      if (dependent.state === 'waiting' && --dependent.blockers === 0) {
        this.grant(dependent);
      }
    }
  }

  private grant(latches: Latches): void {
    latches.state = 'held';
    this.waiting--;
    this.held++;
    const resolve = latches.resolve as (guard: LatchGuard) => void;
    this.clearWaiter(latches);
    resolve(latches);
  }

  private clearWaiter(latches: Latches): void {
    if (latches.signal !== undefined) {
      latches.signal.removeEventListener('abort', latches.onAbort as () => void);
    }
    latches.resolve = undefined;
    latches.reject = undefined;
    latches.signal = undefined;
    latches.onAbort = undefined;
  }

  /**
   * Calls `found` with each request in flight that conflicts with `latches`, once, until
   * it returns true; whether it did.
   */
  private forEachConflict(latches: Latches, found: (other: Latches) => boolean): boolean {
    const hashes = latches.pointHashes;
    if (hashes === undefined) {
      for (let other = this.head; other !== undefined; other = other.next) {
        if (latches.conflictsWith(other) && found(other)) return true;
      }
      return false;
    }
    const search = ++this.searches;
    for (let i = 0; i < hashes.length; i++) {
      const bucket = this.byKeyHash.get(hashes[i] as number);
      if (bucket === undefined) continue;
      for (let j = 0; j < bucket.length; j++) {
        const other = bucket[j] as Latches;
        if (other.visited === search) continue;
        other.visited = search;
        if (latches.conflictsWith(other) && found(other)) return true;
      }
    }
    for (const other of this.ranged) {
      if (latches.conflictsWith(other) && found(other)) return true;
    }
    return false;
  }

  private link(latches: Latches): void {
    const hashes = latches.pointHashes;
    if (hashes === undefined) {
      this.ranged.add(latches);
    } else {
      for (let i = 0; i < hashes.length; i++) {
        const hash = hashes[i] as number;
        const bucket = this.byKeyHash.get(hash);
        if (bucket === undefined) this.byKeyHash.set(hash, [latches]);
        else bucket.push(latches);
      }
    }
    latches.prev = this.tail;
    if (this.tail === undefined) {
      this.head = latches;
    } else {
      this.tail.next = latches;
    }
    this.tail = latches;
  }

  private unlink(latches: Latches): void {
    const hashes = latches.pointHashes;
    if (hashes === undefined) {
      this.ranged.delete(latches);
    } else {
      for (let i = 0; i < hashes.length; i++) {
        const hash = hashes[i] as number;
        const bucket = this.byKeyHash.get(hash) as Latches[];
        if (bucket.length === 1) this.byKeyHash.delete(hash);
        else bucket.splice(bucket.indexOf(latches), 1);
      }
    }
    const { prev, next } = latches;
    if (prev === undefined) {
      this.head = next;
    } else {
      prev.next = next;
    }
    if (next === undefined) {
      this.tail = prev;
    } else {
      next.prev = prev;
    }
    latches.prev = undefined;
    latches.next = undefined;
  }
}
