import { MalformedEncodingError } from '../../common/errors';
import type { Timestamp } from '../../common/hlc';
import { compareTimestamps, nextTimestamp } from '../../common/hlc';
import { MAX_TXN_PRIORITY, MIN_TXN_PRIORITY, TXN_EXPIRY_MS, txnMeta } from '../../kv/transaction';
import * as kvpb from '../../proto/gen/cairn/kv/v1/kv';
import type { EngineReader, IntentResolution, TxnMeta, WriteBatch } from '../storage';
import { txnRecordKey } from '../storage';
import { encodeProto } from '../../common/encoding';

/*
 * Transaction records: one per transaction that wrote intents and lived long enough
 * to heartbeat, or that ended with intents outside its anchor range. The record is
 * the truth about the transaction: COMMITTED there is the commit point, ABORTED
 * there means no intent of it can ever become a version. Pure functions over an
 * engine reader and a batch.
 */

const { TRANSACTION_STATUS_PENDING: PENDING, TRANSACTION_STATUS_ABORTED: ABORTED } = kvpb.TransactionStatus;

const EXPIRY_NANOS = BigInt(TXN_EXPIRY_MS) * 1_000_000n;

export function readTxnRecord(reader: EngineReader, anchorKey: Uint8Array, txnId: Uint8Array): kvpb.Transaction | undefined {
  const raw = reader.get(txnRecordKey(anchorKey, txnId));
  if (raw === undefined) return undefined;
  try {
    return kvpb.Transaction.decode(raw);
  } catch (err) {
    throw new MalformedEncodingError('transaction record', 0, (err as Error).message);
  }
}

export function writeTxnRecord(batch: WriteBatch, record: kvpb.Transaction): void {
  const meta = txnMeta(record);
  batch.put(txnRecordKey(meta.anchorKey, meta.id), encodeProto(kvpb.Transaction, record));
}

export function deleteTxnRecord(batch: WriteBatch, anchorKey: Uint8Array, txnId: Uint8Array): void {
  batch.delete(txnRecordKey(anchorKey, txnId));
}

/**
 * The record a pusher assumes when there is none: a running transaction last seen
 * alive when it wrote the intent in question (its write timestamp) or started.
 */
export function synthesizeRecord(meta: kvpb.Transaction['meta']): kvpb.Transaction {
  const m = meta ?? { id: Buffer.alloc(0), anchorKey: Buffer.alloc(0), epoch: 0, priority: 0, sequence: 0 };
  const write = m.writeTimestamp;
  const min = m.minTimestamp;
  const lastActive = write === undefined ? min : min === undefined || compareTimestamps(write, min) > 0 ? write : min;
  return { meta: m, status: PENDING, lastHeartbeat: lastActive, lockSpans: [], inFlightWrites: [] };
}

/** Whether a pending transaction has not shown signs of life for the expiry period. */
export function isExpired(record: kvpb.Transaction, now: Timestamp): boolean {
  const last = record.lastHeartbeat;
  if (last === undefined) return true;
  return last.wallTime + EXPIRY_NANOS < now.wallTime;
}

/** What a push may do to a pending pushee without waiting. */
export type PushVerdict = 'push' | 'wait';

/**
 * A pushee that is expired can be aborted at once; so can one whose pusher has the
 * highest priority (or who has the lowest), or one chosen to break a deadlock (`force`).
 * Everything else waits for the pushee to finish.
 */
export function judgePush(
  record: kvpb.Transaction,
  pusher: kvpb.Transaction | undefined,
  now: Timestamp,
  force: boolean,
): PushVerdict {
  if (force || isExpired(record, now)) return 'push';
  const pusheePriority = txnMeta(record).priority;
  const pusherPriority = pusher?.meta?.priority ?? 0;
  if (pusherPriority >= MAX_TXN_PRIORITY && pusheePriority < MAX_TXN_PRIORITY) return 'push';
  if (pusheePriority <= MIN_TXN_PRIORITY && pusherPriority > MIN_TXN_PRIORITY) return 'push';
  return 'wait';
}

/**
 * Whether `a` gives way to `b` when both wait on each other: the lower priority
 * loses; equal priorities are ordered by ID, so both sides agree on one victim.
 */
export function losesDeadlockTo(a: kvpb.Transaction['meta'], b: kvpb.Transaction['meta']): boolean {
  const pa = a?.priority ?? 0;
  const pb = b?.priority ?? 0;
  if (pa !== pb) return pa < pb;
  return Buffer.compare(a?.id ?? Buffer.alloc(0), b?.id ?? Buffer.alloc(0)) < 0;
}

/** The record after a successful push of the given type. */
export function pushedRecord(record: kvpb.Transaction, type: kvpb.PushType, pushTo: Timestamp | undefined): kvpb.Transaction {
  if (type === kvpb.PushType.PUSH_TYPE_ABORT || pushTo === undefined) {
    return { ...record, status: ABORTED };
  }
  const meta = txnMeta(record);
  const target = nextTimestamp(pushTo);
  const write = meta.writeTimestamp;
  if (write !== undefined && compareTimestamps(write, target) >= 0) return record;
  return { ...record, meta: { ...meta, writeTimestamp: target } };
}

/** Whether a timestamp push is already satisfied: the pushee writes above `pushTo`. */
export function isPushedAbove(record: kvpb.Transaction, pushTo: Timestamp | undefined): boolean {
  const write = record.meta?.writeTimestamp;
  return pushTo !== undefined && write !== undefined && compareTimestamps(write, pushTo) > 0;
}

/** The resolution of a transaction's intents that its (finalized or pushed) record implies. */
export function resolutionOf(txn: kvpb.Transaction): IntentResolution {
  const meta = txnMeta(txn);
  const ts = meta.writeTimestamp ?? { wallTime: 0n, logical: 0 };
  switch (txn.status) {
    case kvpb.TransactionStatus.TRANSACTION_STATUS_COMMITTED:
      return { status: 'committed', txnId: meta.id, epoch: meta.epoch, commitTimestamp: ts };
    case kvpb.TransactionStatus.TRANSACTION_STATUS_ABORTED:
      return { status: 'aborted', txnId: meta.id };
    default:
      return { status: 'pending', txnId: meta.id, epoch: meta.epoch, pushedTo: ts };
  }
}

/** The storage form of a transaction's meta, writing at `writeTimestamp`. */
export function storageMeta(txn: kvpb.Transaction, writeTimestamp: Timestamp): TxnMeta {
  const meta = txnMeta(txn);
  return {
    id: meta.id,
    anchorKey: meta.anchorKey,
    epoch: meta.epoch,
    writeTimestamp,
    minTimestamp: meta.minTimestamp ?? writeTimestamp,
    priority: meta.priority,
    sequence: meta.sequence,
  };
}
