import { assert, InvalidArgumentError } from '../../common/errors';
import type { Timestamp } from '../../common/hlc';
import { compareTimestamps, nextTimestamp, timestampEqual } from '../../common/hlc';
import { keyNext } from '../../common/keys';
import {
  ConditionFailedError,
  RangeChangedError,
  TransactionAbortedError,
  TransactionAlreadyFinalizedError,
  TransactionRetryError,
  TransactionUncertaintyError,
} from '../../kv/errors';
import { isFinalized, isPointSpan, mergeSpans, spansCovered, txnMeta, txnTimestamps } from '../../kv/transaction';
import * as kv from '../../proto/gen/cairn/kv/v1/kv';
import type { WriteOp } from '../../proto/gen/cairn/node/v1/command';
import type { EngineLimits, EngineReader, IntentResolution, MvccKeyValue, MvccReadOptions, RefreshSpanResult, Span, TxnMeta, WriteBatch } from '../storage';
import {
  DEFAULT_ENGINE_LIMITS,
  IndexedBatch,
  mvccFindRefreshConflict,
  mvccRefreshSpan,
  mvccGet,
  mvccGetIntent,
  mvccPut,
  mvccResolveIntent,
  mvccResolveIntentRange,
  mvccScan,
  ReadWithinUncertaintyIntervalError,
  txnRecordKey,
  WriteIntentError,
  WriteTooOldError,
} from '../storage';
import type { LatchSpan } from './latch-manager';
import { compactWriteOps, RecordingBatch } from './recording-batch';
import {
  deleteTxnRecord,
  isExpired,
  isPushedAbove,
  judgePush,
  pushedRecord,
  readTxnRecord,
  resolutionOf,
  storageMeta,
  synthesizeRecord,
  writeTxnRecord,
} from './txn-records';

const {
  TRANSACTION_STATUS_PENDING: PENDING,
  TRANSACTION_STATUS_COMMITTED: COMMITTED,
  TRANSACTION_STATUS_ABORTED: ABORTED,
  TRANSACTION_STATUS_STAGING: STAGING,
} = kv.TransactionStatus;

/*
 * Evaluation of a KV batch on the leaseholder (proposer-evaluated KV): the requests
 * run against the range's MVCC data and become responses plus the raw engine writes
 * that Raft carries to every replica. Pure and synchronous: nothing is written here.
 *
 * Ordering rules:
 * - Requests run in batch order; each sees the writes of the earlier ones (an
 *   IndexedBatch over the reader, its writes recorded underneath).
 * - Everything reads and writes at one timestamp. Writes are non-transactional
 *   committed versions, so they may move up: a write meeting a version at or above
 *   the timestamp restarts the whole batch just above that version, reads included,
 *   and the result reports the timestamp used.
 * - One batch writes one version per key: a key written twice holds the last write.
 *   A Delete (or DeleteRange) of a key with no live value writes nothing.
 * - A ConditionalPut writes before it judges its condition, so a newer version moves
 *   the batch up first and the condition is judged against that version.
 * - The batch's `maxKeys`/`maxBytes` are shared by its Scan, ReverseScan and
 *   DeleteRange requests in order; once either is used up, every later one of them
 *   does nothing and returns its whole span as its resume span.
 * - Any error fails the whole batch (nothing of it is applied); `failedRequestIndex`
 *   tells which request raised it.
 *
 * In a transaction (`txn`): reads run at its read timestamp with its uncertainty
 * limit and see its own intents; writes become its intents at its write timestamp,
 * which moves up past newer versions (reads stay put: the coordinator refreshes them
 * before it commits). EndTxn resolves the intents it can here in the same batch; when
 * the batch holds every write of the transaction it commits without a record (one
 * phase). An EndTxn naming writes in flight on other ranges (a parallel commit) makes
 * the record STAGING: committed once those are all found, which QueryIntent checks
 * (or prevents) and RecoverTxn records for a coordinator gone quiet. The record
 * requests (HeartbeatTxn, EndTxn, PushTxn, QueryTxn, RecoverTxn, GcTxnRecord) act on
 * the record of their anchor key.
 */

export interface EvaluateOptions {
  /** The timestamp to read and write at (writes may move it up). */
  readonly timestamp: Timestamp;
  /** Rows (and keys deleted) over the batch's Scan/ReverseScan/DeleteRange; 0 = no limit. */
  readonly maxKeys: number;
  /** Bytes of keys and values over the batch's scans (at least one row each); 0 = no limit. */
  readonly maxBytes: number;
  /**
   * The limits of the engines the writes will be applied to (default
   * DEFAULT_ENGINE_LIMITS): a write past them fails here, not on every replica.
   */
  readonly limits?: EngineLimits;
  /** The batch's transaction (kv.proto's BatchHeader.txn). */
  readonly txn?: kv.Transaction | undefined;
  /** Entries this command may look at refreshing reads (default MAX_REFRESH_ENTRIES_PER_COMMAND). */
  readonly maxRefreshEntries?: number;
  /** The transaction read nothing before: its read timestamp may move with its writes. */
  readonly canForwardReadTimestamp?: boolean | undefined;
  /**
   * Writes of user data land above this (the timestamp cache: later than every read
   * of the keys by others).
   */
  readonly minWriteTimestamp?: Timestamp | undefined;
  /** The leaseholder's clock now: for heartbeats and record expiry (default `timestamp`). */
  readonly now?: Timestamp | undefined;
  /** The range's span: EndTxn resolves here the intents inside it. */
  readonly rangeSpan?: { readonly start: Buffer; readonly end: Buffer };
  /** A PushTxn may succeed even though the pushee is alive (a deadlock to break). */
  readonly forcePush?: boolean | undefined;
  /** The range's descriptor: a commit with a split trigger must split exactly it. */
  readonly descriptor?: kv.RangeDescriptor | undefined;
  /** Read committed values, stepping over intents (kv.proto's BatchHeader.inconsistent). */
  readonly inconsistent?: boolean | undefined;
  /**
   * Outside a transaction: a version (or intent) in (timestamp, uncertaintyLimit] may
   * have been written before the batch arrived, by a node whose clock was ahead (a
   * previous leaseholder): the batch restarts at its timestamp. A transaction brings
   * its own limit.
   */
  readonly uncertaintyLimit?: Timestamp | undefined;
}

/**
 * Bytes of intent resolution one command writes at most (a commit resolving its own
 * intents, or ResolveIntentRange): the command is one Raft entry, which must stay well
 * under MAX_COMMAND_BYTES even for a transaction that wrote 100 000s of keys into one
 * range. What is left goes on in further commands (the intent resolver follows the
 * resume spans).
 */
export const MAX_RESOLVE_BYTES_PER_COMMAND = 1 << 20;

/**
 * Versions (and intents of others) one command looks at refreshing reads: a refresh of
 * a table-sized span goes page by page (RefreshRange's resume span), so that no single
 * evaluation holds the node's event loop for long.
 */
export const MAX_REFRESH_ENTRIES_PER_COMMAND = 100_000;

/** Intents of a finalized transaction that its anchor range could not resolve itself. */
export interface PendingResolution {
  readonly txn: kv.Transaction;
  readonly spans: kv.Span[];
  /** The record stays once they are resolved (an abort its coordinator has not seen). */
  readonly keepRecord?: boolean;
}

export interface EvaluateResult {
  /** One per request, in order. */
  readonly responses: kv.ResponseUnion[];
  /** The raw engine writes, in order; empty for a read-only batch. */
  readonly writes: WriteOp[];
  /** The timestamp the batch was evaluated at: the one asked for, or above it. */
  readonly timestamp: Timestamp;
  /** The header's transaction after the batch: its write (and read) timestamp may have moved. */
  readonly txn?: kv.Transaction | undefined;
  /** Spans whose intents this batch resolved or removed: waiters there may go on. */
  readonly releasedSpans?: kv.Span[];
  /** Records this batch finalized or pushed (their waiters may go on). */
  readonly changedRecords?: kv.Transaction[];
  /**
   * Left for after the batch applies: intents of finalized transactions on other ranges,
   * one entry per transaction (a batch of RecoverTxns finalizes many).
   */
  readonly pendingResolutions?: PendingResolution[];
  /** A PushTxn found its pushee alive and not to be forced: the pusher must wait. */
  readonly pushMustWait?: boolean;
  /**
   * A PushTxn that would succeed found its pushee's commit staged: whether it committed
   * must be decided first (recoverStagedTxn), then the push evaluated again.
   */
  readonly pushNeedsRecovery?: kv.Transaction;
  /**
   * The highest timestamp the batch's writes carry (a commit timestamp it resolved
   * intents at may lie above `timestamp`): every replica's clock moves past it.
   */
  readonly highestTimestamp: Timestamp;
  /** A committed split: the range splits as the batch's writes apply. */
  readonly split?: kv.SplitTrigger;
  /** A committed replica change: the writes must ride in its Raft conf change entry. */
  readonly changeReplicas?: kv.ChangeReplicasTrigger;
}

const failedIndexes = new WeakMap<object, number>();

/** The index of the request whose evaluation threw `err`, or -1 (the batch as a whole). */
export function failedRequestIndex(err: unknown): number {
  return typeof err === 'object' && err !== null ? (failedIndexes.get(err) ?? -1) : -1;
}

function noteFailedRequest(err: unknown, index: number): void {
  if (typeof err === 'object' && err !== null && !failedIndexes.has(err)) {
    failedIndexes.set(err, index);
  }
}

type RequestCase = NonNullable<kv.RequestUnion['request']>['$case'];
type TxnMetaProto = NonNullable<kv.Transaction['meta']>;

function checkKey(key: Buffer, index: number, what: RequestCase): void {
  if (key.length === 0) {
    throw new InvalidArgumentError(`request ${index} (${what}): the empty key is reserved`);
  }
}

function checkSpan(start: Buffer, end: Buffer, index: number, what: RequestCase): void {
  if (Buffer.compare(start, end) >= 0) {
    throw new InvalidArgumentError(
      `request ${index} (${what}): empty or inverted span [${start.toString('hex')}, ${end.toString('hex')})`,
    );
  }
}

/**
 * What checking a batch learned about its writes: none; only by the last request (so
 * no request reads after a write); or some request runs after a write and must see it.
 */
type Writes = 'none' | 'lastOnly' | 'some';

/**
 * Checks every request is one evaluated here, with valid keys and spans; throws
 * InvalidArgumentError otherwise (before anything is evaluated).
 */
function checkRequests(requests: readonly kv.RequestUnion[]): Writes {
  let writes: Writes = 'none';
  const last = requests.length - 1;
  for (let i = 0; i <= last; i++) {
    try {
      if (checkRequest(requests[i] as kv.RequestUnion, i)) {
        writes = i === last && writes === 'none' ? 'lastOnly' : 'some';
      }
    } catch (err) {
      noteFailedRequest(err, i);
      throw err;
    }
  }
  return writes;
}

/** Checks one request; returns whether it writes. */
function checkRequest(union: kv.RequestUnion, index: number): boolean {
  const request = union.request;
  if (request === undefined) {
    throw new InvalidArgumentError(`request ${index} is empty`);
  }
  switch (request.$case) {
    case 'get':
      checkKey(request.value.key, index, request.$case);
      return request.value.forUpdate;
    case 'put':
    case 'conditionalPut':
    case 'delete':
      checkKey(request.value.key, index, request.$case);
      return true;
    case 'deleteRange':
      checkSpan(request.value.startKey, request.value.endKey, index, request.$case);
      return true;
    case 'scan':
    case 'reverseScan':
    case 'refreshRange':
      checkSpan(request.value.startKey, request.value.endKey, index, request.$case);
      return false;
    case 'queryTxn':
    case 'refresh':
    case 'queryIntent':
      checkKey(request.value.key, index, request.$case);
      return false;
    case 'recoverTxn':
      checkKey(request.value.key, index, request.$case);
      if (request.value.txn === undefined) throw new InvalidArgumentError(`request ${index} (recoverTxn) names no transaction`);
      return true;
    case 'heartbeatTxn':
    case 'endTxn':
    case 'pushTxn':
    case 'resolveIntent':
    case 'gcTxnRecord':
      checkKey(request.value.key, index, request.$case);
      return true;
    case 'resolveIntentRange':
      checkSpan(request.value.startKey, request.value.endKey, index, request.$case);
      return true;
    case 'adminSplit':
    case 'adminChangeReplicas':
    case 'adminTransferLease':
    case 'rangeStats':
      throw new InvalidArgumentError(`request ${index}: ${request.$case} must be alone in its batch`);
  }
}

/** Requests that read the transaction's own view of the data (and need its header). */
function needsTxn(kind: RequestCase): boolean {
  return kind === 'heartbeatTxn' || kind === 'endTxn' || kind === 'refresh' || kind === 'refreshRange';
}

/** Whether the request writes user data (and so lands above the timestamp cache). */
export function writesUserData(request: NonNullable<kv.RequestUnion['request']>): boolean {
  const kind = request.$case;
  return (
    kind === 'put' || kind === 'conditionalPut' || kind === 'delete' || kind === 'deleteRange' || (kind === 'get' && request.value.forUpdate)
  );
}

/** Whether no request of the batch writes (admin requests count as writes). */
export function isReadOnly(requests: readonly kv.RequestUnion[]): boolean {
  for (let i = 0; i < requests.length; i++) {
    const request = (requests[i] as kv.RequestUnion).request;
    const kind = request?.$case;
    if (request?.$case === 'get' && request.value.forUpdate) return false;
    if (
      kind !== 'get' &&
      kind !== 'scan' &&
      kind !== 'reverseScan' &&
      kind !== 'rangeStats' &&
      kind !== 'queryTxn' &&
      kind !== 'queryIntent' &&
      kind !== 'refresh' &&
      kind !== 'refreshRange'
    ) {
      return false;
    }
  }
  return true;
}

/**
 * The latches the batch needs for its evaluation and until its writes are applied:
 * one per request, a write latch for each request that may write. Checks the requests
 * as `evaluateBatch` does (InvalidArgumentError).
 */
export function declareSpans(requests: readonly kv.RequestUnion[], txn?: kv.Transaction): LatchSpan[] {
  const spans: LatchSpan[] = [];
  for (let i = 0; i < requests.length; i++) {
    const union = requests[i] as kv.RequestUnion;
    try {
      checkRequest(union, i);
    } catch (err) {
      noteFailedRequest(err, i);
      throw err;
    }
    const request = union.request as NonNullable<kv.RequestUnion['request']>;
    switch (request.$case) {
      case 'get':
        spans.push({ start: request.value.key, write: request.value.forUpdate });
        break;
      case 'put':
      case 'conditionalPut':
      case 'delete':
        spans.push({ start: request.value.key, write: true });
        break;
      case 'deleteRange':
        spans.push(latchSpan(request.value.startKey, request.value.endKey, true));
        break;
      case 'scan':
      case 'reverseScan':
      case 'refreshRange':
        spans.push(latchSpan(request.value.startKey, request.value.endKey, false));
        break;
      case 'refresh':
        spans.push({ start: request.value.key, write: false });
        break;
      case 'resolveIntent':
        spans.push({ start: request.value.key, write: true });
        break;
      case 'resolveIntentRange':
        spans.push(latchSpan(request.value.startKey, request.value.endKey, true));
        break;
      case 'heartbeatTxn':
        // The record, under its own key: a transaction's requests on its record are
        // serialized with pushes of it.
        spans.push({ start: recordLatchKey(request.value.key, txnIdOf(txn, request.$case)), write: true });
        break;
      case 'endTxn': {
        spans.push({ start: recordLatchKey(request.value.key, txnIdOf(txn, request.$case)), write: true });
        const split = request.value.splitTrigger;
        if (split?.left !== undefined && split.right !== undefined) {
          // Nothing may evaluate anywhere in the range while it splits.
          spans.push({ start: Buffer.from(split.left.startKey), end: Buffer.from(split.right.endKey), write: true });
        }
        // What a commit may refresh here must not change while it does.
        for (const span of request.value.refreshSpans) {
          spans.push(latchSpan(span.startKey, span.endKey, false));
        }
        break;
      }
      case 'pushTxn':
        spans.push({ start: recordLatchKey(request.value.key, request.value.pushee?.id ?? Buffer.alloc(0)), write: true });
        break;
      case 'queryTxn':
        spans.push({ start: recordLatchKey(request.value.key, request.value.txnId), write: false });
        break;
      case 'queryIntent':
        // Waits for a write of the key being evaluated: it lands before, or is prevented.
        spans.push({ start: request.value.key, write: false });
        break;
      case 'recoverTxn':
        spans.push({ start: recordLatchKey(request.value.key, (request.value.txn as TxnMetaProto).id), write: true });
        break;
      case 'gcTxnRecord':
        spans.push({ start: recordLatchKey(request.value.key, request.value.txnId), write: true });
        break;
      default:
        // checkRequest rejected the others.
        assert(false, `no latches for ${request.$case}`);
    }
  }
  return spans;
}

/**
 * The latch of [start, end): the single key `start` when `end` is the key right after
 * it (a point read's refresh span), which the latch manager finds by its hash instead
 * of checking it against every request in flight.
 */
function latchSpan(start: Buffer, end: Buffer, write: boolean): LatchSpan {
  const point = end.length === start.length + 1 && end[start.length] === 0 && end.compare(start, 0, start.length, 0, start.length) === 0;
  return point ? { start, write } : { start, end, write };
}

function recordLatchKey(anchorKey: Buffer, txnId: Buffer): Buffer {
  return txnRecordKey(anchorKey, txnId);
}

function txnIdOf(txn: kv.Transaction | undefined, what: RequestCase): Buffer {
  if (txn?.meta === undefined) {
    throw new InvalidArgumentError(`${what} needs the transaction in the batch header`);
  }
  return txn.meta.id;
}

/**
 * Evaluates the batch against `reader` (the range's data: the engine, or a snapshot).
 * Throws the first error met, typed: InvalidArgumentError (bad keys or spans, a
 * request not evaluated here), ConditionFailedError, WriteIntentError (another
 * transaction's intent is in the way: the caller waits or pushes, then retries), the
 * transaction errors (TransactionRetryError, TransactionAbortedError,
 * TransactionUncertaintyError, TransactionAlreadyFinalizedError), or the engine's
 * size errors.
 */
export function evaluateBatch(
  reader: EngineReader,
  requests: readonly kv.RequestUnion[],
  options: EvaluateOptions,
): EvaluateResult {
  checkLimit(options.maxKeys, 'maxKeys');
  checkLimit(options.maxBytes, 'maxBytes');
  const writeKind = checkRequests(requests);
  const txn = options.txn;
  if (options.inconsistent === true && (writeKind !== 'none' || txn !== undefined)) {
    throw new InvalidArgumentError('an inconsistent read is a read-only batch outside any transaction');
  }
  for (let i = 0; i < requests.length; i++) {
    const kind = (requests[i] as kv.RequestUnion).request?.$case;
    if (kind !== undefined && needsTxn(kind) && txn?.meta === undefined) {
      const err = new InvalidArgumentError(`request ${i} (${kind}) needs the transaction in the batch header`);
      noteFailedRequest(err, i);
      throw err;
    }
  }
  const limits = options.limits ?? DEFAULT_ENGINE_LIMITS;
  const minWrite = options.minWriteTimestamp;
  let timestamps: BatchTimestamps;
  if (txn === undefined) {
    const ts = minWrite !== undefined && writeKind !== 'none' && compareTimestamps(minWrite, options.timestamp) > 0 ? minWrite : options.timestamp;
    timestamps = { read: ts, write: ts };
  } else {
    const own = txnTimestamps(txn);
    const write = minWrite !== undefined && compareTimestamps(minWrite, own.write) > 0 ? minWrite : own.write;
    timestamps = { read: options.canForwardReadTimestamp === true ? write : own.read, write };
  }
  // A batch holding every write of its transaction and the commit writes committed
  // versions at once, unless the transaction left intents of its own there earlier.
  // A record (heartbeated, or pushed by a reader) sends the commit the long way: its
  // timestamp may have moved, and committed versions written first could not follow.
  // An intent the transaction laid earlier on one of the keys (a locking read before an
  // UPDATE, say) also sends it the long way: found here, not by failing a first try.
  let onePhase =
    txn !== undefined &&
    isOnePhaseBatch(requests) &&
    readTxnRecord(reader, txnMeta(txn).anchorKey, txnMeta(txn).id) === undefined &&
    !holdsIntentOf(reader, requests, txnMeta(txn).id);
  while (true) {
    const recording = writeKind === 'none' ? undefined : new RecordingBatch(limits);
    // A one-phase batch of distinct keys reads none of its own writes (its commit reads
    // only the record): no indexed batch needed.
    const readsOwnWrites = writeKind === 'some' && !(onePhase && distinctKeys(requests));
    const evaluation = new Evaluation(reader, recording, readsOwnWrites, timestamps, options, onePhase);
    try {
      const responses = evaluation.run(requests);
      let writes: WriteOp[] = [];
      if (recording !== undefined) {
        // A key written again left ops that the later ones overwrite: Raft need not carry them.
        writes = evaluation.rewroteKeys ? compactWriteOps(recording.ops) : recording.ops;
      }
      return evaluation.result(responses, writes);
    } catch (err) {
      if (onePhase && err instanceof WriteIntentError && err.intents.some((i) => i.txnId.equals(txnMeta(txn as kv.Transaction).id))) {
        onePhase = false;
        continue;
      }
      if (err instanceof ReadWithinUncertaintyIntervalError && txn !== undefined) {
        const typed = new TransactionUncertaintyError(err.existingTimestamp, evaluation.updatedTxn());
        noteFailedRequest(typed, failedRequestIndex(err));
        throw typed;
      }
      if (err instanceof ReadWithinUncertaintyIntervalError) {
        // Outside a transaction the whole batch reads again above the version; each
        // restart lands on a later one below the fixed limit, so restarts end.
        assert(compareTimestamps(err.existingTimestamp, timestamps.read) > 0, 'an uncertainty restart moves the timestamp up');
        const at = err.existingTimestamp;
        timestamps = { read: at, write: compareTimestamps(at, timestamps.write) > 0 ? at : timestamps.write };
        continue;
      }
      if (!(err instanceof WriteTooOldError)) {
        throw err;
      }
      // Each restart lands above a version that stopped the last: it ends, since the
      // batch writes finitely many keys with finitely many versions.
      assert(compareTimestamps(err.actualTimestamp, timestamps.write) > 0, 'a write-too-old restart moves the timestamp up');
      const write = err.actualTimestamp;
      // Outside a transaction the whole batch moves; a transaction's reads stay at its
      // read timestamp unless it has read nothing yet.
      timestamps = txn === undefined || options.canForwardReadTimestamp === true ? { read: write, write } : { read: timestamps.read, write };
    }
  }
}

interface BatchTimestamps {
  readonly read: Timestamp;
  readonly write: Timestamp;
}

function checkLimit(limit: number, what: string): void {
  // Any whole number: a uint64 from the wire may be past 2^53 once a number.
  if (!Number.isInteger(limit) || limit < 0) {
    throw new InvalidArgumentError(`${what} must be a whole number of at least 0, not ${limit}`);
  }
}

function toSpan(span: Span): kv.Span {
  return { startKey: span.start, endKey: span.end };
}

/** One pass over the batch at one pair of timestamps. */
class Evaluation {
  /** Reads: the reader, or (when a request follows a write) an IndexedBatch over it. */
  private readonly view: EngineReader;
  /** Writes: the recording, or the IndexedBatch over it; undefined when read-only. */
  private readonly batch: WriteBatch | undefined;
  private readonly maxKeys: number;
  private readonly maxBytes: number;
  private keysUsed = 0;
  private bytesUsed = 0;
  /** Whether some key was written twice (its first write's ops are then overwritten). */
  rewroteKeys = false;
  private readonly txn: kv.Transaction | undefined;
  /** The transaction as intents carry it (at the write timestamp). */
  private readonly writeMeta: TxnMeta | undefined;
  private readonly readOptions: MvccReadOptions;
  /** Keys this batch wrote intents on (for a one-phase commit in the same batch). */
  private readonly written: kv.Span[] = [];
  private readonly released: kv.Span[] = [];
  private readonly changedRecords: kv.Transaction[] = [];
  private readonly pendingResolutions: PendingResolution[] = [];
  private pushMustWait = false;
  private pushNeedsRecovery: kv.Transaction | undefined;
  private split: kv.SplitTrigger | undefined;
  private changeReplicas: kv.ChangeReplicasTrigger | undefined;
  private committedAt: Timestamp | undefined;
  private highest: Timestamp;
  /** Bytes this command has written resolving intents (see MAX_RESOLVE_BYTES_PER_COMMAND). */
  private resolveBytes = 0;
  /** Entries this command has looked at refreshing (see MAX_REFRESH_ENTRIES_PER_COMMAND). */
  private refreshEntries = 0;

  constructor(
    private readonly base: EngineReader,
    recording: RecordingBatch | undefined,
    readsOwnWrites: boolean,
    private readonly ts: BatchTimestamps,
    private readonly options: EvaluateOptions,
    /** The batch commits its transaction in one phase: its writes are committed versions. */
    private readonly onePhase = false,
  ) {
    if (recording !== undefined && readsOwnWrites) {
      const indexed = new IndexedBatch(base, recording);
      this.view = indexed;
      this.batch = indexed;
    } else {
      this.view = base;
      this.batch = recording;
    }
    this.maxKeys = options.maxKeys;
    this.maxBytes = options.maxBytes;
    this.highest = ts.write;
    this.txn = options.txn;
    if (this.txn !== undefined) {
      this.writeMeta = storageMeta(this.txn, ts.write);
      this.readOptions = { txn: this.writeMeta, uncertaintyLimit: txnTimestamps(this.txn).uncertaintyLimit };
    } else {
      this.writeMeta = undefined;
      this.readOptions =
        options.inconsistent === true ? { ignoreIntents: true } : options.uncertaintyLimit === undefined ? {} : { uncertaintyLimit: options.uncertaintyLimit };
    }
  }

  run(requests: readonly kv.RequestUnion[]): kv.ResponseUnion[] {
    const responses: kv.ResponseUnion[] = [];
    for (let i = 0; i < requests.length; i++) {
      try {
        responses.push(this.evaluate(requests[i] as kv.RequestUnion));
      } catch (err) {
        noteFailedRequest(err, i);
        throw err;
      }
    }
    return responses;
  }

  /** The header's transaction at this pass's timestamps. */
  updatedTxn(): kv.Transaction | undefined {
    const txn = this.txn;
    if (txn === undefined) return undefined;
    const meta = txnMeta(txn);
    return { ...txn, readTimestamp: this.ts.read, meta: { ...meta, writeTimestamp: this.committedAt ?? this.ts.write } };
  }

  result(responses: kv.ResponseUnion[], writes: WriteOp[]): EvaluateResult {
    const txn = this.updatedTxn();
    return {
      responses,
      writes,
      timestamp: txn === undefined ? this.ts.write : writes.length > 0 ? this.ts.write : this.ts.read,
      ...(txn === undefined ? {} : { txn }),
      ...(this.released.length === 0 ? {} : { releasedSpans: this.released }),
      ...(this.changedRecords.length === 0 ? {} : { changedRecords: this.changedRecords }),
      ...(this.pendingResolutions.length === 0 ? {} : { pendingResolutions: this.pendingResolutions }),
      ...(this.pushMustWait ? { pushMustWait: true } : {}),
      ...(this.pushNeedsRecovery === undefined ? {} : { pushNeedsRecovery: this.pushNeedsRecovery }),
      highestTimestamp: this.highest,
      ...(this.split === undefined ? {} : { split: this.split }),
      ...(this.changeReplicas === undefined ? {} : { changeReplicas: this.changeReplicas }),
    };
  }

  private evaluate(union: kv.RequestUnion): kv.ResponseUnion {
    const request = union.request as NonNullable<kv.RequestUnion['request']>;
    switch (request.$case) {
      case 'get':
        return { response: { $case: 'get', value: this.get(request.value) } };
      case 'put':
        this.write(request.value.key, request.value.value);
        return { response: { $case: 'put', value: {} } };
      case 'conditionalPut':
        this.conditionalPut(request.value);
        return { response: { $case: 'conditionalPut', value: {} } };
      case 'delete':
        return { response: { $case: 'delete', value: this.delete(request.value) } };
      case 'deleteRange':
        return { response: { $case: 'deleteRange', value: this.deleteRange(request.value) } };
      case 'scan':
        return { response: { $case: 'scan', value: this.scan(request.value, false) } };
      case 'reverseScan':
        return { response: { $case: 'reverseScan', value: this.scan(request.value, true) } };
      case 'heartbeatTxn':
        return { response: { $case: 'heartbeatTxn', value: { txn: this.heartbeat(request.value) } } };
      case 'endTxn':
        return { response: { $case: 'endTxn', value: this.endTxn(request.value) } };
      case 'pushTxn':
        return { response: { $case: 'pushTxn', value: { pushee: this.push(request.value) } } };
      case 'queryIntent':
        return { response: { $case: 'queryIntent', value: { found: this.queryIntent(request.value) } } };
      case 'recoverTxn': {
        const txn = this.recoverTxn(request.value);
        return { response: { $case: 'recoverTxn', value: txn === undefined ? {} : { txn } } };
      }
      case 'queryTxn': {
        const txn = readTxnRecord(this.view, request.value.key, request.value.txnId);
        return { response: { $case: 'queryTxn', value: txn === undefined ? { waitingTxnIds: [] } : { txn, waitingTxnIds: [] } } };
      }
      case 'resolveIntent':
        this.resolveKey(request.value.key, request.value.txn);
        return { response: { $case: 'resolveIntent', value: {} } };
      case 'resolveIntentRange': {
        const { startKey, endKey } = request.value;
        const { resolved, resumeKey } = this.resolveSpan(startKey, endKey, request.value.txn);
        const value: kv.ResolveIntentRangeResponse = { resolvedCount: BigInt(resolved) };
        if (resumeKey !== undefined) value.resumeSpan = { startKey: resumeKey, endKey };
        return { response: { $case: 'resolveIntentRange', value } };
      }
      case 'gcTxnRecord':
        this.gcRecord(request.value);
        return { response: { $case: 'gcTxnRecord', value: {} } };
      case 'refresh':
        this.refresh(request.value.key, keyNext(request.value.key), request.value.refreshFrom, false);
        return { response: { $case: 'refresh', value: {} } };
      case 'refreshRange': {
        const resumeKey = this.refresh(request.value.startKey, request.value.endKey, request.value.refreshFrom, true);
        const resumeSpan = resumeKey === undefined ? undefined : { startKey: resumeKey, endKey: request.value.endKey };
        return { response: { $case: 'refreshRange', value: resumeSpan === undefined ? {} : { resumeSpan } } };
      }
      default:
        // checkRequests rejected the others.
        assert(false, `${request.$case} is not evaluated in a batch`);
    }
  }

  private read(key: Buffer): MvccKeyValue | undefined {
    return mvccGet(this.view, key, this.ts.read, this.readOptions);
  }

  private get(request: kv.GetRequest): kv.GetResponse {
    const found = this.read(request.key);
    if (request.forUpdate && this.writeMeta !== undefined) {
      this.lock(request.key, found);
    }
    return found === undefined ? {} : { value: found };
  }

  /**
   * Locks `key` for the transaction after reading `found` at its read timestamp: an
   * intent holding the value read (the transaction's own, if it wrote the key before),
   * so that committing it changes nothing. A version newer than the read means the
   * read is stale for a locking read: TXN_RETRY (WRITE_TOO_OLD) with the timestamp to
   * refresh to, and the coordinator reads again there.
   */
  private lock(key: Buffer, found: MvccKeyValue | undefined): void {
    const txn = this.requireTxn();
    const stale = (existing: Timestamp): TransactionRetryError =>
      new TransactionRetryError('WRITE_TOO_OLD', { ...txn, meta: { ...txnMeta(txn), writeTimestamp: existing } }, 'a locking read found a newer version');
    if (compareTimestamps(this.ts.write, this.ts.read) > 0) {
      const newer = mvccFindRefreshConflict(this.view, key, keyNext(key), this.ts.read, this.ts.write, txnMeta(txn).id);
      if (newer?.kind === 'version') throw stale(nextTimestamp(newer.timestamp));
    }
    try {
      this.write(key, found === undefined ? undefined : Buffer.from(found.value));
    } catch (err) {
      if (err instanceof WriteTooOldError) throw stale(err.actualTimestamp);
      throw err;
    }
  }

  private conditionalPut(request: kv.ConditionalPutRequest): void {
    const actual = this.read(request.key)?.value;
    // Write before judging the condition: a newer version moves the whole batch up,
    // and the condition is then judged against it (a failed condition fails the
    // batch, so the write is dropped with it).
    this.write(request.key, request.value);
    const expected = request.expectedValue;
    if (expected === undefined ? actual !== undefined : actual === undefined || !actual.equals(expected)) {
      throw new ConditionFailedError(actual === undefined ? undefined : Buffer.from(actual));
    }
  }

  /**
   * Outside a transaction, deleting a key with no live value writes nothing. In one,
   * the delete is a blind write (a tombstone intent): a value written after the
   * transaction's read timestamp must still be deleted at its commit.
   */
  private delete(request: kv.DeleteRequest): kv.DeleteResponse {
    const live = this.read(request.key) !== undefined;
    if (live || this.writeMeta !== undefined) {
      this.write(request.key, undefined);
    }
    return { deleted: live };
  }

  private limitReached(): boolean {
    return (this.maxKeys > 0 && this.keysUsed >= this.maxKeys) || (this.maxBytes > 0 && this.bytesUsed >= this.maxBytes);
  }

  private deleteRange(request: kv.DeleteRangeRequest): kv.DeleteRangeResponse {
    if (this.limitReached()) {
      return { deletedCount: 0n, resumeSpan: { startKey: request.startKey, endKey: request.endKey } };
    }
    const live = mvccScan(this.view, request.startKey, request.endKey, this.ts.read, {
      ...this.readOptions,
      maxKeys: this.maxKeys > 0 ? this.maxKeys - this.keysUsed : 0,
    });
    const rows = live.rows;
    for (let i = 0; i < rows.length; i++) {
      this.write((rows[i] as MvccKeyValue).key, undefined);
    }
    this.keysUsed += rows.length;
    const deletedCount = BigInt(rows.length);
    return live.resumeSpan === undefined ? { deletedCount } : { deletedCount, resumeSpan: toSpan(live.resumeSpan) };
  }

  private scan(request: kv.ScanRequest, reverse: boolean): kv.ScanResponse {
    if (this.limitReached()) {
      return { rows: [], resumeSpan: { startKey: request.startKey, endKey: request.endKey } };
    }
    const result = mvccScan(this.view, request.startKey, request.endKey, this.ts.read, {
      ...this.readOptions,
      reverse,
      maxKeys: this.maxKeys > 0 ? this.maxKeys - this.keysUsed : 0,
      targetBytes: this.maxBytes > 0 ? this.maxBytes - this.bytesUsed : 0,
    });
    // MVCC rows are KeyValues already: no copy.
    const rows: kv.KeyValue[] = result.rows;
    this.keysUsed += rows.length;
    if (this.maxBytes > 0) {
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i] as kv.KeyValue;
        this.bytesUsed += row.key.length + row.value.length;
      }
    }
    return result.resumeSpan === undefined ? { rows } : { rows, resumeSpan: toSpan(result.resumeSpan) };
  }

  /**
   * Writes `key` (undefined: a tombstone): a committed version at the batch's
   * timestamp, or in a transaction, its intent at its write timestamp.
   */
  private write(key: Buffer, value: Buffer | undefined): void {
    const batch = this.batch as WriteBatch;
    if (this.writeMeta !== undefined && !this.onePhase) {
      mvccPut(this.view, batch, key, this.ts.write, value, { txn: this.writeMeta });
      this.written.push({ startKey: key, endKey: keyNext(key) });
      return;
    }
    try {
      mvccPut(this.view, batch, key, this.ts.write, value);
    } catch (err) {
      if (this.view === this.base || !(err instanceof WriteTooOldError) || !timestampEqual(err.existingTimestamp, this.ts.write)) {
        throw err;
      }
      // The version at the batch's own timestamp may be this batch's earlier write of
      // the key. The key gets one version: written again over the data as it was
      // before the batch, it passes the same checks and moves the same older version
      // down, and the newest entry now holds this value. A version at this timestamp
      // from before the batch fails again, and moves the batch up.
      mvccPut(this.base, batch, key, this.ts.write, value);
      this.rewroteKeys = true;
    }
  }

  // -------------------------------------------------------------------------------
  // Transaction records and intents

  private requireTxn(): kv.Transaction {
    const txn = this.txn;
    assert(txn !== undefined, 'checked before evaluation');
    return txn;
  }

  private heartbeat(request: kv.HeartbeatTxnRequest): kv.Transaction {
    const txn = this.requireTxn();
    const meta = txnMeta(txn);
    checkAnchor(request.key, meta.anchorKey, 'heartbeatTxn');
    const now = this.options.now ?? this.options.timestamp;
    const record = readTxnRecord(this.view, meta.anchorKey, meta.id);
    if (record?.status === ABORTED) {
      throw new TransactionAbortedError('ABORTED_RECORD', record);
    }
    if (record?.status === COMMITTED) {
      return record;
    }
    const updated: kv.Transaction =
      record === undefined
        ? { meta, status: PENDING, readTimestamp: txn.readTimestamp, lastHeartbeat: now, lockSpans: [], inFlightWrites: [] }
        : { ...record, lastHeartbeat: now };
    writeTxnRecord(this.batch as WriteBatch, updated);
    return updated;
  }

  private endTxn(request: kv.EndTxnRequest): kv.EndTxnResponse {
    const txn = this.requireTxn();
    const meta = txnMeta(txn);
    checkAnchor(request.key, meta.anchorKey, 'endTxn');
    // A one-phase batch was chosen because the transaction has no record, and its writes
    // before this EndTxn write none: no need to read it again.
    const record = this.onePhase ? undefined : readTxnRecord(this.view, meta.anchorKey, meta.id);
    if (record?.status === ABORTED) {
      if (!request.commit) {
        // Rolling back an aborted transaction: clean up what it left here.
        return { txn: this.finalize(record, request.lockSpans, true), onePhaseCommit: false };
      }
      throw new TransactionAbortedError('ABORTED_RECORD', record);
    }
    if (record?.status === COMMITTED) {
      if (request.commit) {
        return { txn: record, onePhaseCommit: false };
      }
      throw new TransactionAlreadyFinalizedError(record, 'cannot roll back a committed transaction');
    }
    if (record?.status === STAGING && !request.commit && txnMeta(record).epoch >= meta.epoch) {
      // Its writes may all be in place, which makes it committed: only finding out
      // (recovery, once the record expires) may decide. A later epoch means the
      // coordinator saw the staged attempt fail and started over.
      throw new TransactionAlreadyFinalizedError(record, 'cannot roll back a transaction whose commit is staged; recovery decides it');
    }
    if (!request.commit) {
      return {
        txn: this.finalize({ ...(record ?? txn), meta: record?.meta ?? meta, status: ABORTED }, request.lockSpans, record !== undefined),
        onePhaseCommit: false,
      };
    }
    let write = this.ts.write;
    let reason: 'SERIALIZABLE' | 'PUSHED' = 'SERIALIZABLE';
    const pushed = record?.meta?.writeTimestamp;
    if (pushed !== undefined && compareTimestamps(pushed, write) > 0) {
      // A reader pushed the record: the transaction commits above that read.
      write = pushed;
      reason = 'PUSHED';
    }
    if (
      compareTimestamps(write, this.ts.read) > 0 &&
      this.options.canForwardReadTimestamp !== true &&
      !this.refreshesHere(request.refreshSpans, write)
    ) {
      // Its reads hold at the read timestamp only: they must be refreshed first.
      throw new TransactionRetryError(reason, { ...txn, readTimestamp: this.ts.read, meta: { ...meta, writeTimestamp: write } });
    }
    if (request.splitTrigger !== undefined) {
      this.split = checkSplitTrigger(request.splitTrigger, this.options.descriptor);
    }
    if (request.changeReplicasTrigger !== undefined) {
      if (this.split !== undefined) throw new InvalidArgumentError('a commit carries one range change at most');
      this.changeReplicas = checkChangeReplicasTrigger(request.changeReplicasTrigger, this.options.descriptor);
    }
    const inFlight = this.inFlightElsewhere(request.inFlightWrites);
    if (inFlight.length > 0 && (this.split !== undefined || this.changeReplicas !== undefined)) {
      throw new InvalidArgumentError('a commit with a range change cannot be a parallel commit');
    }
    this.committedAt = write;
    if (inFlight.length > 0 && !this.onePhase) {
      // A parallel commit: committed once every write in flight is found in place.
      const staged: kv.Transaction = {
        ...this.committedRecord(txn, write, record),
        status: STAGING,
        lastHeartbeat: this.options.now ?? this.options.timestamp,
        lockSpans: mergeSpans(request.lockSpans),
        inFlightWrites: inFlight,
      };
      writeTxnRecord(this.batch as WriteBatch, staged);
      return { txn: staged, onePhaseCommit: false };
    }
    if (this.onePhase) {
      // The writes went in as committed versions: nothing to resolve, no record kept.
      return { txn: this.finalize(this.committedRecord(txn, write, record), [], record !== undefined), onePhaseCommit: true };
    }
    const lockSpans = mergeSpans(request.lockSpans);
    // The written keys merged as the lock spans are: writes of adjacent keys (k, k\0)
    // make one lock span, which no single written key's span holds.
    const onePhase = spansCovered(lockSpans, mergeSpans(this.written));
    const final = this.finalize(this.committedRecord(txn, write, record), lockSpans, record !== undefined);
    // Intents left to resolve later keep the record: not one phase after all.
    return { txn: final, onePhaseCommit: onePhase && final.lockSpans.length === 0 };
  }

  private committedRecord(txn: kv.Transaction, write: Timestamp, record: kv.Transaction | undefined): kv.Transaction {
    return {
      meta: { ...txnMeta(txn), writeTimestamp: write },
      status: COMMITTED,
      readTimestamp: write,
      uncertaintyLimit: txn.uncertaintyLimit,
      lastHeartbeat: record?.lastHeartbeat,
      lockSpans: [],
      inFlightWrites: [],
    };
  }

  /** The keys of a parallel commit's writes outside this range (those inside are in this batch). */
  private inFlightElsewhere(keys: readonly Buffer[]): Buffer[] {
    const range = this.options.rangeSpan;
    if (range === undefined) return [...keys];
    return keys.filter((key) => Buffer.compare(key, range.start) < 0 || Buffer.compare(key, range.end) >= 0);
  }

  /**
   * Whether `asked` (its ID and epoch) holds an intent on the key at or below its write
   * timestamp. If not, it never will: the caller records the query in the timestamp
   * cache as a read at that timestamp, which pushes a later write of the key above it.
   */
  private queryIntent(request: kv.QueryIntentRequest): boolean {
    const asked = request.txn;
    if (asked?.writeTimestamp === undefined) throw new InvalidArgumentError('queryIntent names no transaction and timestamp');
    const intent = mvccGetIntent(this.view, request.key);
    return (
      intent !== undefined &&
      intent.txn.id.equals(asked.id) &&
      intent.txn.epoch === asked.epoch &&
      compareTimestamps(intent.txn.writeTimestamp, asked.writeTimestamp) <= 0
    );
  }

  /**
   * Decides a STAGING record as its recovery found: COMMITTED (every write in flight
   * was in place) or ABORTED, resolving its intents like a commit or abort would. A
   * record that is no longer the one recovery looked at (finalized, or staged again at
   * another epoch or timestamp) is left as it is.
   */
  private recoverTxn(request: kv.RecoverTxnRequest): kv.Transaction | undefined {
    const asked = request.txn as TxnMetaProto;
    checkAnchor(request.key, asked.anchorKey, 'recoverTxn');
    const record = readTxnRecord(this.view, asked.anchorKey, asked.id);
    if (record === undefined || record.status !== STAGING) return record;
    const meta = txnMeta(record);
    const ts = meta.writeTimestamp;
    if (meta.epoch !== asked.epoch || ts === undefined || asked.writeTimestamp === undefined || !timestampEqual(ts, asked.writeTimestamp)) {
      return record;
    }
    // An abort is kept on record: its coordinator may still be about to commit (its
    // write pushed above the staged timestamp), and must find it aborted, not missing.
    const status = request.implicitlyCommitted ? COMMITTED : ABORTED;
    return this.finalize({ ...record, status, inFlightWrites: [] }, record.lockSpans, true, status === ABORTED);
  }

  /**
   * Resolves the finalized transaction's intents inside this range (in this batch)
   * and keeps its record (listing the rest) only while intents elsewhere remain.
   */
  private finalize(record: kv.Transaction, lockSpans: readonly kv.Span[], recordExists: boolean, keepRecord = false): kv.Transaction {
    const meta = txnMeta(record);
    const range = this.options.rangeSpan;
    const remote: kv.Span[] = [];
    for (const span of mergeSpans(lockSpans)) {
      const local = range === undefined ? undefined : clipSpan(span, range.start, range.end);
      if (local !== undefined) {
        if (isPointSpan(local)) {
          if (this.resolveBytes < MAX_RESOLVE_BYTES_PER_COMMAND) this.resolveKey(local.startKey, record);
          else remote.push(local);
        } else {
          // A large transaction's intents here beyond this command's budget are left,
          // with the ones elsewhere, to the intent resolver.
          const { resumeKey } = this.resolveSpan(local.startKey, local.endKey, record);
          if (resumeKey !== undefined) remote.push({ startKey: resumeKey, endKey: local.endKey });
        }
      }
      for (const rest of subtractSpan(span, range)) remote.push(rest);
    }
    // One-phase writes were intents of this very batch, resolved again just now.
    this.rewroteKeys = true;
    const batch = this.batch as WriteBatch;
    const final: kv.Transaction = { ...record, lockSpans: remote };
    if (remote.length === 0 && !keepRecord) {
      // No record was written (a one-phase commit, say): nothing to delete.
      if (recordExists) deleteTxnRecord(batch, meta.anchorKey, meta.id);
    } else {
      writeTxnRecord(batch, final);
      if (remote.length > 0) this.pendingResolutions.push({ txn: final, spans: remote, ...(keepRecord ? { keepRecord } : {}) });
    }
    this.changedRecords.push(final);
    return final;
  }

  /**
   * Whether every read of the transaction lies in this range and still reads the same
   * at `to`: then the commit may move up to `to` here (its latches hold the spans).
   */
  private refreshesHere(spans: readonly kv.Span[], to: Timestamp): boolean {
    const range = this.options.rangeSpan;
    if (spans.length === 0 || range === undefined) return false;
    for (const span of spans) {
      if (Buffer.compare(span.startKey, range.start) < 0 || Buffer.compare(span.endKey, range.end) > 0) return false;
    }
    // A commit refreshes only as much as one refresh command would; beyond, the
    // coordinator refreshes page by page, and commits again.
    for (const span of spans) {
      const { conflict, resumeKey } = this.refreshWithinBudget(span.startKey, span.endKey, this.ts.read, to, true);
      if (conflict !== undefined || resumeKey !== undefined) return false;
    }
    return true;
  }

  /**
   * mvccRefreshSpan for the transaction, within what is left of this command's budget
   * when `limited` (with none left, it stops at `start`), counting what it looked at.
   */
  private refreshWithinBudget(start: Buffer, end: Buffer, from: Timestamp, to: Timestamp, limited: boolean): RefreshSpanResult {
    const budget = limited ? (this.options.maxRefreshEntries ?? MAX_REFRESH_ENTRIES_PER_COMMAND) - this.refreshEntries : 0;
    if (limited && budget <= 0) return { resumeKey: start, checked: 0 };
    const result = mvccRefreshSpan(this.view, start, end, from, to, txnMeta(this.requireTxn()).id, budget);
    this.refreshEntries += result.checked;
    return result;
  }

  private push(request: kv.PushTxnRequest): kv.Transaction {
    const pushee = request.pushee;
    if (pushee === undefined) {
      throw new InvalidArgumentError('pushTxn names no pushee');
    }
    checkAnchor(request.key, pushee.anchorKey, 'pushTxn');
    const record = readTxnRecord(this.view, pushee.anchorKey, pushee.id) ?? synthesizeRecord(pushee);
    if (isFinalized(record.status)) {
      return record;
    }
    const type = request.pushType;
    if (type === kv.PushType.PUSH_TYPE_TIMESTAMP && isPushedAbove(record, request.pushTo)) {
      return record;
    }
    const now = this.options.now ?? this.options.timestamp;
    if (record.status === STAGING) {
      // Its commit may already have happened (its writes all in place): it is waited
      // for while alive, whatever the priorities; once expired (or to break a deadlock)
      // its fate is found out, not chosen.
      if (this.options.forcePush === true || isExpired(record, now)) this.pushNeedsRecovery = record;
      else this.pushMustWait = true;
      return record;
    }
    if (judgePush(record, request.pusher, now, this.options.forcePush === true) === 'wait') {
      this.pushMustWait = true;
      return record;
    }
    // An abandoned transaction is aborted whatever the push asked for: readers would
    // otherwise push it again and again.
    const updated = pushedRecord(record, isExpired(record, now) ? kv.PushType.PUSH_TYPE_ABORT : type, request.pushTo);
    writeTxnRecord(this.batch as WriteBatch, updated);
    this.changedRecords.push(updated);
    return updated;
  }

  private gcRecord(request: kv.GcTxnRecordRequest): void {
    const record = readTxnRecord(this.view, request.key, request.txnId);
    if (record !== undefined && isFinalized(record.status)) {
      deleteTxnRecord(this.batch as WriteBatch, request.key, request.txnId);
    }
  }

  /** Resolves `txn`'s intent on `key` (if it has one) as its status says. */
  private resolveKey(key: Buffer, txn: kv.Transaction | undefined): void {
    const resolution = this.resolutionOf(txn);
    const batch = this.batch as WriteBatch;
    const before = batch.byteSize;
    mvccResolveIntent(this.view, batch, key, resolution);
    this.resolveBytes += batch.byteSize - before;
    this.released.push({ startKey: key, endKey: keyNext(key) });
  }

  /**
   * Resolves `txn`'s intents in [start, end) as its status says, until this command's
   * budget is spent; returns how many, and the key to resume from if it stopped early.
   */
  private resolveSpan(start: Buffer, end: Buffer, txn: kv.Transaction | undefined): { resolved: number; resumeKey?: Buffer } {
    const resolution = this.resolutionOf(txn);
    const batch = this.batch as WriteBatch;
    let resolved = 0;
    let from: Buffer | undefined = start;
    while (from !== undefined && this.resolveBytes < MAX_RESOLVE_BYTES_PER_COMMAND) {
      const before = batch.byteSize;
      const maxBytes = MAX_RESOLVE_BYTES_PER_COMMAND - this.resolveBytes;
      const result = mvccResolveIntentRange(this.view, batch, from, end, resolution, { maxBytes });
      this.resolveBytes += batch.byteSize - before;
      resolved += result.resolved;
      from = result.resumeSpan === undefined ? undefined : Buffer.from(result.resumeSpan.start);
    }
    // Waiters on keys not resolved yet keep waiting.
    if (from === undefined || Buffer.compare(start, from) < 0) this.released.push({ startKey: start, endKey: from ?? end });
    return from === undefined ? { resolved } : { resolved, resumeKey: from };
  }

  private resolutionOf(txn: kv.Transaction | undefined): IntentResolution {
    if (txn?.meta === undefined) {
      throw new InvalidArgumentError('resolving intents needs the transaction');
    }
    const resolution = resolutionOf(txn);
    if (resolution.status === 'committed' && compareTimestamps(resolution.commitTimestamp, this.highest) > 0) {
      this.highest = resolution.commitTimestamp;
    }
    return resolution;
  }

  /**
   * Refreshes [start, end) — if `mayStop`, only up to this command's budget, returning
   * where to go on from when it stopped.
   */
  private refresh(start: Buffer, end: Buffer, from: Timestamp | undefined, mayStop: boolean): Buffer | undefined {
    if (from === undefined) {
      throw new InvalidArgumentError('refresh needs the timestamp the reads were made at');
    }
    const to = this.ts.read;
    if (compareTimestamps(from, to) >= 0) return undefined;
    const { conflict, resumeKey } = this.refreshWithinBudget(start, end, from, to, mayStop);
    if (conflict !== undefined) {
      const what =
        conflict.kind === 'version'
          ? `key ${conflict.key.toString('hex')} was written at ${conflict.timestamp.wallTime}`
          : `key ${conflict.conflict.key.toString('hex')} holds an intent of another transaction`;
      throw new TransactionRetryError('REFRESH_FAILED', this.updatedTxn(), `transaction must retry (REFRESH_FAILED): ${what}`);
    }
    return resumeKey;
  }
}

/**
 * A split trigger must cut exactly the range as it is now into two adjacent ranges of
 * the next generation; otherwise the range changed since the split was planned.
 */
function checkSplitTrigger(trigger: kv.SplitTrigger, desc: kv.RangeDescriptor | undefined): kv.SplitTrigger {
  const { left, right } = trigger;
  if (left === undefined || right === undefined || desc === undefined) {
    throw new InvalidArgumentError('a split trigger names both sides, on a range with a descriptor');
  }
  const next = desc.generation + 1n;
  const exact =
    left.rangeId === desc.rangeId &&
    Buffer.compare(left.startKey, desc.startKey) === 0 &&
    Buffer.compare(right.endKey, desc.endKey) === 0 &&
    Buffer.compare(left.endKey, right.startKey) === 0 &&
    Buffer.compare(left.startKey, left.endKey) < 0 &&
    Buffer.compare(right.startKey, right.endKey) < 0 &&
    left.generation === next &&
    right.generation === next &&
    right.rangeId !== desc.rangeId;
  if (!exact) {
    throw new RangeChangedError(`range ${desc.rangeId} changed since the split was planned (generation ${desc.generation}); retry`);
  }
  return trigger;
}

/** A replica change must lead from the range as it is now to the next generation. */
function checkChangeReplicasTrigger(
  trigger: kv.ChangeReplicasTrigger,
  desc: kv.RangeDescriptor | undefined,
): kv.ChangeReplicasTrigger {
  const after = trigger.descriptor;
  if (after === undefined || desc === undefined || trigger.nodeId === 0n) {
    throw new InvalidArgumentError('a replica change names its node and the descriptor after it, on a range with a descriptor');
  }
  const same =
    after.rangeId === desc.rangeId &&
    Buffer.compare(after.startKey, desc.startKey) === 0 &&
    Buffer.compare(after.endKey, desc.endKey) === 0 &&
    after.generation === desc.generation + 1n;
  if (!same) {
    throw new RangeChangedError(`range ${desc.rangeId} changed since the replica change was planned (generation ${desc.generation}); retry`);
  }
  return trigger;
}

/**
 * Whether the batch is a whole transaction's writes and its commit: blind or
 * conditional writes of single keys, then EndTxn(commit) with no range trigger, whose
 * lock spans are exactly keys the batch writes.
 */
function isOnePhaseBatch(requests: readonly kv.RequestUnion[]): boolean {
  const last = requests[requests.length - 1]?.request;
  if (last?.$case !== 'endTxn' || !last.value.commit || last.value.splitTrigger !== undefined || last.value.changeReplicasTrigger !== undefined) {
    return false;
  }
  const written: kv.Span[] = [];
  for (let i = 0; i < requests.length - 1; i++) {
    const request = (requests[i] as kv.RequestUnion).request;
    if (request?.$case !== 'put' && request?.$case !== 'delete' && request?.$case !== 'conditionalPut') return false;
    written.push({ startKey: request.value.key, endKey: keyNext(request.value.key) });
  }
  return written.length > 0 && spansCovered(mergeSpans(last.value.lockSpans), mergeSpans(written));
}

/** Whether `txnId` holds an intent on a key one of the (point) requests writes. */
function holdsIntentOf(reader: EngineReader, requests: readonly kv.RequestUnion[], txnId: Buffer): boolean {
  for (const { request } of requests) {
    const key = request?.$case === 'endTxn' ? undefined : (request?.value as { key?: Buffer } | undefined)?.key;
    if (key === undefined) continue;
    if (mvccGetIntent(reader, key)?.txn.id.equals(txnId) === true) return true;
  }
  return false;
}

/** Whether the batch's point requests all name different keys. */
function distinctKeys(requests: readonly kv.RequestUnion[]): boolean {
  const seen = new Set<string>();
  for (const { request } of requests) {
    if (request === undefined || request.$case === 'endTxn') continue;
    const key = (request.value as { key?: Buffer }).key;
    if (key === undefined) return false;
    const k = key.toString('latin1');
    if (seen.has(k)) return false;
    seen.add(k);
  }
  return true;
}

function checkAnchor(key: Buffer, anchorKey: Buffer, what: string): void {
  if (!key.equals(anchorKey)) {
    throw new InvalidArgumentError(`${what} must be addressed to the transaction's anchor key`);
  }
}

function clipSpan(span: kv.Span, start: Buffer, end: Buffer): kv.Span | undefined {
  const from = Buffer.compare(span.startKey, start) >= 0 ? span.startKey : start;
  const to = Buffer.compare(span.endKey, end) <= 0 ? span.endKey : end;
  return Buffer.compare(from, to) < 0 ? { startKey: from, endKey: to } : undefined;
}

/** The parts of `span` outside the range (all of it when the range is unknown). */
function subtractSpan(span: kv.Span, range: { readonly start: Buffer; readonly end: Buffer } | undefined): kv.Span[] {
  if (range === undefined) return [span];
  const out: kv.Span[] = [];
  if (Buffer.compare(span.startKey, range.start) < 0) {
    const end = Buffer.compare(span.endKey, range.start) < 0 ? span.endKey : range.start;
    out.push({ startKey: span.startKey, endKey: end });
  }
  if (Buffer.compare(span.endKey, range.end) > 0) {
    const start = Buffer.compare(span.startKey, range.end) > 0 ? span.startKey : range.end;
    out.push({ startKey: start, endKey: span.endKey });
  }
  return out;
}
