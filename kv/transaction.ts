import { assert } from '../common/errors';
import type { Timestamp } from '../common/hlc';
import { keyNext } from '../common/keys';
import * as pb from '../proto/gen/cairn/kv/v1/kv';

/*
 * The transaction message (kv.proto's Transaction) as both sides use it: the
 * coordinator carries it in batch headers, the anchor range keeps it as the record.
 */

/** A coordinator heartbeats its record this often... */
export const TXN_HEARTBEAT_INTERVAL_MS = 1_000;
/** ...and a record not heartbeated for this long is abandoned: any pusher may abort it. */
export const TXN_EXPIRY_MS = 5_000;

/** The priorities a user may ask for; normal transactions get a random one between. */
export const MIN_TXN_PRIORITY = 1;
export const MAX_TXN_PRIORITY = 0x7fff_ffff;

export interface TxnTimestamps {
  readonly read: Timestamp;
  readonly write: Timestamp;
  readonly min: Timestamp;
  readonly uncertaintyLimit: Timestamp;
}

/** A transaction's meta, which every well-formed Transaction has. */
export function txnMeta(txn: pb.Transaction): NonNullable<pb.Transaction['meta']> {
  const meta = txn.meta;
  assert(meta !== undefined, 'a transaction carries its meta');
  return meta;
}

export function txnTimestamps(txn: pb.Transaction): TxnTimestamps {
  const meta = txnMeta(txn);
  const write = meta.writeTimestamp;
  assert(write !== undefined, 'a transaction has a write timestamp');
  const read = txn.readTimestamp ?? write;
  const min = meta.minTimestamp ?? read;
  return { read, write, min, uncertaintyLimit: txn.uncertaintyLimit ?? read };
}

export function isFinalized(status: pb.TransactionStatus): boolean {
  return status === pb.TransactionStatus.TRANSACTION_STATUS_COMMITTED || status === pb.TransactionStatus.TRANSACTION_STATUS_ABORTED;
}

/** A short form of a transaction ID, for messages and logs. */
export function shortTxnId(id: Buffer): string {
  return id.toString('hex').slice(0, 8);
}

/** The span [key, key\0) of one key. */
export function pointSpan(key: Buffer): pb.Span {
  return { startKey: key, endKey: keyNext(key) };
}

/** Whether the span holds exactly one key. */
export function isPointSpan(span: pb.Span): boolean {
  const { startKey, endKey } = span;
  return endKey.length === startKey.length + 1 && endKey[startKey.length] === 0 && endKey.subarray(0, startKey.length).equals(startKey);
}

/**
 * Sorted, merged spans: overlapping or touching spans become one. Keeps the lists a
 * transaction carries (its locks, its reads) from growing with repeated keys.
 */
export function mergeSpans(spans: readonly pb.Span[]): pb.Span[] {
  if (spans.length <= 1) return [...spans];
  const sorted = [...spans].sort((a, b) => Buffer.compare(a.startKey, b.startKey));
  const out: pb.Span[] = [];
  let current = sorted[0] as pb.Span;
  for (let i = 1; i < sorted.length; i++) {
    const next = sorted[i] as pb.Span;
    if (Buffer.compare(next.startKey, current.endKey) <= 0) {
      if (Buffer.compare(next.endKey, current.endKey) > 0) {
        current = { startKey: current.startKey, endKey: next.endKey };
      }
    } else {
      out.push(current);
      current = next;
    }
  }
  out.push(current);
  return out;
}

/**
 * About `max` sorted spans covering `spans`: merged, then runs of neighbours joined into
 * one span from the first's start to the last's end — only neighbours in the same
 * group (`groupOf`, say the range a key is in), so that a joined span stays within one
 * range and does not reach into unrelated keys. A transaction that wrote 100 000s of
 * keys thus tracks, and hands its commit, a bounded list (at most `max` plus the number
 * of groups); covering more keys than were written costs nothing wrong (resolving or
 * refreshing a span only looks at what is there), only some extra reading.
 */
export function condenseSpans(spans: readonly pb.Span[], max: number, groupOf: (key: Buffer) => string = (key) => String(key[0])): pb.Span[] {
  const merged = mergeSpans(spans);
  if (merged.length <= max) return merged;
  const run = Math.ceil(merged.length / max);
  const out: pb.Span[] = [];
  let first: pb.Span | undefined;
  let last: pb.Span | undefined;
  let group = '';
  let joined = 0;
  for (const span of merged) {
    const spanGroup = groupOf(span.startKey);
    if (first !== undefined && last !== undefined && (joined === run || spanGroup !== group)) {
      out.push({ startKey: first.startKey, endKey: last.endKey });
      first = undefined;
    }
    if (first === undefined) {
      first = span;
      group = spanGroup;
      joined = 0;
    }
    last = span;
    joined++;
  }
  if (first !== undefined && last !== undefined) out.push({ startKey: first.startKey, endKey: last.endKey });
  return out;
}

/**
 * Whether every span of `inner` lies inside some span of `outer` (merged: sorted and
 * disjoint). A binary search per inner span: a one-phase commit of thousands of writes
 * checks its lock spans against as many written spans.
 */
export function spansCovered(inner: readonly pb.Span[], outer: readonly pb.Span[]): boolean {
  return inner.every((span) => {
    // The only candidate: the last outer span starting at or before the inner one.
    let lo = 0;
    let hi = outer.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (Buffer.compare((outer[mid] as pb.Span).startKey, span.startKey) <= 0) lo = mid + 1;
      else hi = mid;
    }
    const candidate = outer[lo - 1];
    return candidate !== undefined && Buffer.compare(span.endKey, candidate.endKey) <= 0;
  });
}

