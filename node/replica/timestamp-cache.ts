import type { Timestamp } from '../../common/hlc';
import { compareTimestamps, nextTimestamp } from '../../common/hlc';
import { requestSpan } from '../../kv/batch-split';
import { isPointSpan } from '../../kv/transaction';
import type * as kvpb from '../../proto/gen/cairn/kv/v1/kv';
import { writesUserData } from './evaluate-batch';

/*
 * The timestamp cache of a leaseholder: for keys and spans read recently, the highest
 * timestamp they were read at (and by which transaction). A write lands above every
 * read of its key by someone else, so no read is invalidated after it was served —
 * the heart of serializability together with refreshes.
 *
 * Bounded: when it holds too many entries, the oldest are dropped and the low-water
 * mark rises to cover them (a dropped entry's timestamp is still promised to every
 * key). A new lease starts with the low-water mark at the lease's start plus the
 * maximum clock offset, above every read the previous holder could have served.
 */

/** An ID that matches no transaction: reads outside a transaction. */
const NO_TXN = '';

interface Entry {
  ts: Timestamp;
  /** The reading transaction's ID (hex), NO_TXN for several or none. */
  txn: string;
}

/** A point read; `seq` says when it was last read, so the stalest go first. */
interface PointEntry extends Entry {
  seq: number;
}

/** A read span, its bounds as latin1 strings (whose `<` order is the keys' byte order). */
interface SpanEntry extends Entry {
  readonly start: string;
  readonly end: string;
  /** When it was added: the oldest go first. */
  readonly seq: number;
}

export interface TimestampCacheOptions {
  /** Point entries kept before the oldest are folded into the low-water mark. */
  readonly maxPoints?: number;
  /** Span entries kept likewise (each is checked by every lookup). */
  readonly maxSpans?: number;
}

export class TimestampCache {
  private lowWater: Timestamp;
  private readonly points = new Map<string, PointEntry>();
  /** Sorted by start. */
  private spans: SpanEntry[] = [];
  /** maxEnd[i]: the greatest end among spans[0..i], so a lookup stops walking back early. */
  private maxEnd: string[] = [];
  private nextSeq = 0;
  private readonly maxPoints: number;
  private readonly maxSpans: number;

  constructor(lowWater: Timestamp, options: TimestampCacheOptions = {}) {
    this.lowWater = lowWater;
    this.maxPoints = options.maxPoints ?? 100_000;
    this.maxSpans = options.maxSpans ?? 256;
  }

  /** Forgets every entry and promises `lowWater` to every key (a new lease). */
  reset(lowWater: Timestamp): void {
    this.points.clear();
    this.spans = [];
    this.maxEnd = [];
    this.lowWater = lowWater;
  }

  get lowWaterMark(): Timestamp {
    return this.lowWater;
  }

  /** Records a read of `key` (or of [key, end)) at `ts` by `txnId` (undefined: not in a transaction). */
  add(key: Buffer, end: Buffer | undefined, ts: Timestamp, txnId: Buffer | undefined): void {
    if (compareTimestamps(ts, this.lowWater) <= 0) return;
    const txn = txnId === undefined ? NO_TXN : txnId.toString('hex');
    // A span of one key (a commit's refresh span of a point read) is a point entry: the
    // few span entries are checked by every write and, evicted, raise the low-water mark.
    if (end === undefined || isPointSpan({ startKey: key, endKey: end })) {
      const k = key.toString('latin1');
      const existing = this.points.get(k);
      if (existing !== undefined) {
        // Updated in place: deleting and re-adding a key of a large Map (to keep it in
        // recency order) cost several times more than the rest of a read.
        merge(existing, ts, txn);
        existing.seq = this.nextSeq++;
      } else {
        this.points.set(k, { ts, txn, seq: this.nextSeq++ });
        if (this.points.size > this.maxPoints) this.evictPoints();
      }
      return;
    }
    const entry: SpanEntry = { start: key.toString('latin1'), end: end.toString('latin1'), ts, txn, seq: this.nextSeq++ };
    const at = this.startingBelow(entry.start, true);
    this.spans.splice(at, 0, entry);
    this.maxEnd.splice(at, 0, entry.end);
    this.fixMaxEnd(at);
    if (this.spans.length > this.maxSpans) this.evictSpans();
  }

  /** How many spans start below `key` (or at it too, if `orAt`): sorted, they come first. */
  private startingBelow(key: string, orAt: boolean): number {
    let lo = 0;
    let hi = this.spans.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const start = (this.spans[mid] as SpanEntry).start;
      if (start < key || (orAt && start === key)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private fixMaxEnd(from: number): void {
    for (let i = from; i < this.spans.length; i++) {
      const end = (this.spans[i] as SpanEntry).end;
      const before = i === 0 ? '' : (this.maxEnd[i - 1] as string);
      this.maxEnd[i] = end > before ? end : before;
    }
  }

  /** Calls `visit` for each span entry overlapping [from, to) (to undefined: the key `from`). */
  private forEachOverlapping(from: string, to: string | undefined, visit: (entry: SpanEntry) => void): void {
    // Spans starting at or below the last key looked up, walked back until no earlier
    // span reaches past `from`.
    const last = to === undefined ? this.startingBelow(from, true) : this.startingBelow(to, false);
    for (let i = last - 1; i >= 0 && (this.maxEnd[i] as string) > from; i--) {
      const span = this.spans[i] as SpanEntry;
      if (span.end > from) visit(span);
    }
  }

  /**
   * The lowest timestamp a write of `key` (or of keys in [key, end)) by `txnId` may
   * take: just above the latest read of it by anyone else.
   */
  minWriteTimestamp(key: Buffer, end: Buffer | undefined, txnId: Buffer | undefined): Timestamp {
    const txn = txnId === undefined ? undefined : txnId.toString('hex');
    let max = this.lowWater;
    const consider = (entry: Entry): void => {
      if (txn !== undefined && entry.txn === txn) return;
      if (compareTimestamps(entry.ts, max) > 0) max = entry.ts;
    };
    if (end === undefined) {
      const k = key.toString('latin1');
      const point = this.points.get(k);
      if (point !== undefined) consider(point);
      if (this.spans.length > 0) this.forEachOverlapping(k, undefined, consider);
    } else {
      // latin1 strings order as the bytes do: no Buffer per entry (there may be 100 000).
      const from = key.toString('latin1');
      const to = end.toString('latin1');
      for (const [k, entry] of this.points) {
        if (from <= k && k < to) consider(entry);
      }
      this.forEachOverlapping(from, to, consider);
    }
    return nextTimestamp(max);
  }

  /**
   * Records what a batch read: its reads at `readTs`, and — for a commit that refreshed
   * its reads on this range — its refresh spans at `commitTs`, where they now stand.
   */
  recordBatchReads(requests: readonly kvpb.RequestUnion[], readTs: Timestamp, commitTs: Timestamp | undefined, txnId: Buffer | undefined): void {
    for (const { request } of requests) {
      switch (request?.$case) {
        case 'get':
        case 'conditionalPut':
        case 'delete':
        case 'refresh':
          this.add(request.value.key, undefined, readTs, txnId);
          break;
        case 'scan':
        case 'reverseScan':
        case 'deleteRange':
        case 'refreshRange':
          this.add(request.value.startKey, request.value.endKey, readTs, txnId);
          break;
        case 'queryIntent': {
          // Whether found or not, the key's writes from now on land above the asked
          // timestamp: a write still in flight can no longer complete a staged commit.
          const asked = request.value.txn?.writeTimestamp;
          if (asked !== undefined) this.add(request.value.key, undefined, asked, undefined);
          break;
        }
        case 'endTxn':
          if (commitTs === undefined || !request.value.commit) break;
          for (const span of request.value.refreshSpans) this.add(span.startKey, span.endKey, commitTs, txnId);
          break;
        default:
          break;
      }
    }
  }

  /**
   * The lowest timestamp the batch's writes of user data may take — above `floor` (the
   * closed timestamp) and every read of their keys by others — or undefined when it
   * writes no user data (reads, refreshes and record requests are never moved).
   */
  minWriteTimestampForBatch(requests: readonly kvpb.RequestUnion[], txnId: Buffer | undefined, floor: Timestamp): Timestamp | undefined {
    let min: Timestamp | undefined;
    for (const { request } of requests) {
      if (request === undefined || !writesUserData(request)) continue;
      if (min === undefined) min = nextTimestamp(floor);
      const span = requestSpan(request);
      const ts = this.minWriteTimestamp(span.start, request.$case === 'deleteRange' ? span.end : undefined, txnId);
      if (compareTimestamps(ts, min) > 0) min = ts;
    }
    return min;
  }

  private evictPoints(): void {
    // The stalest quarter (least recently read) goes.
    const drop = Math.max(1, Math.floor(this.points.size / 4));
    const seqs = new Float64Array(this.points.size);
    let i = 0;
    for (const entry of this.points.values()) seqs[i++] = entry.seq;
    const cutoff = seqs.sort()[drop - 1] as number;
    for (const [k, entry] of this.points) {
      if (entry.seq > cutoff) continue;
      this.raiseLowWater(entry.ts);
      this.points.delete(k);
    }
  }

  private evictSpans(): void {
    // The oldest quarter goes.
    const drop = Math.max(1, Math.floor(this.spans.length / 4));
    const cutoff = this.spans.map((span) => span.seq).sort((a, b) => a - b)[drop - 1] as number;
    const kept: SpanEntry[] = [];
    for (const span of this.spans) {
      if (span.seq <= cutoff) this.raiseLowWater(span.ts);
      else kept.push(span);
    }
    this.spans = kept;
    this.maxEnd = new Array<string>(kept.length);
    this.fixMaxEnd(0);
  }

  private raiseLowWater(ts: Timestamp): void {
    if (compareTimestamps(ts, this.lowWater) > 0) this.lowWater = ts;
  }

  get size(): number {
    return this.points.size + this.spans.length;
  }
}

/** Folds a read at `ts` by `txn` into `entry`: the later read wins; a tie between two readers belongs to neither. */
function merge(entry: Entry, ts: Timestamp, txn: string): void {
  const cmp = compareTimestamps(ts, entry.ts);
  if (cmp > 0) {
    entry.ts = ts;
    entry.txn = txn;
  } else if (cmp === 0 && entry.txn !== txn) {
    entry.txn = NO_TXN;
  }
}
