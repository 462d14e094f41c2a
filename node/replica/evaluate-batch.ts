import { assert, InvalidArgumentError } from '../../common/errors';
import type { Timestamp } from '../../common/hlc';
import { compareTimestamps, timestampEqual } from '../../common/hlc';
import { ConditionFailedError } from '../../kv/errors';
import type * as kv from '../../proto/gen/cairn/kv/v1/kv';
import type { WriteOp } from '../../proto/gen/cairn/node/v1/command';
import type { EngineLimits, EngineReader, MvccKeyValue, Span, WriteBatch } from '../storage';
import { DEFAULT_ENGINE_LIMITS, IndexedBatch, mvccGet, mvccPut, mvccScan, WriteTooOldError } from '../storage';
import type { LatchSpan } from './latch-manager';
import { compactWriteOps, RecordingBatch } from './recording-batch';

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
}

export interface EvaluateResult {
  /** One per request, in order. */
  readonly responses: kv.ResponseUnion[];
  /** The raw engine writes, in order; empty for a read-only batch. */
  readonly writes: WriteOp[];
  /** The timestamp the batch was evaluated at: the one asked for, or above it. */
  readonly timestamp: Timestamp;
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
      return false;
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
      checkSpan(request.value.startKey, request.value.endKey, index, request.$case);
      return false;
    case 'adminSplit':
    case 'adminChangeReplicas':
    case 'adminTransferLease':
    case 'rangeStats':
      throw new InvalidArgumentError(`request ${index}: ${request.$case} must be alone in its batch`);
  }
}

/** Whether no request of the batch writes (admin requests count as writes). */
export function isReadOnly(requests: readonly kv.RequestUnion[]): boolean {
  for (let i = 0; i < requests.length; i++) {
    const kind = (requests[i] as kv.RequestUnion).request?.$case;
    if (kind !== 'get' && kind !== 'scan' && kind !== 'reverseScan' && kind !== 'rangeStats') {
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
export function declareSpans(requests: readonly kv.RequestUnion[]): LatchSpan[] {
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
        spans.push({ start: request.value.key, write: false });
        break;
      case 'put':
      case 'conditionalPut':
      case 'delete':
        spans.push({ start: request.value.key, write: true });
        break;
      case 'deleteRange':
        spans.push({ start: request.value.startKey, end: request.value.endKey, write: true });
        break;
      case 'scan':
      case 'reverseScan':
        spans.push({ start: request.value.startKey, end: request.value.endKey, write: false });
        break;
      default:
        // checkRequest rejected the others.
        assert(false, `no latches for ${request.$case}`);
    }
  }
  return spans;
}

/**
 * Evaluates the batch against `reader` (the range's data: the engine, or a snapshot).
 * Throws the first error met, typed: InvalidArgumentError (bad keys or spans, a
 * request not evaluated here), ConditionFailedError, WriteIntentError (an intent is in
 * the way: there are no transactions yet to push), or the engine's size errors.
 */
export function evaluateBatch(
  reader: EngineReader,
  requests: readonly kv.RequestUnion[],
  options: EvaluateOptions,
): EvaluateResult {
  checkLimit(options.maxKeys, 'maxKeys');
  checkLimit(options.maxBytes, 'maxBytes');
  const writeKind = checkRequests(requests);
  const limits = options.limits ?? DEFAULT_ENGINE_LIMITS;
  let ts = options.timestamp;
  while (true) {
    const recording = writeKind === 'none' ? undefined : new RecordingBatch(limits);
    const evaluation = new Evaluation(reader, recording, writeKind === 'some', ts, options);
    try {
      const responses = evaluation.run(requests);
      let writes: WriteOp[] = [];
      if (recording !== undefined) {
        // A key written again left ops that the later ones overwrite: Raft need not carry them.
        writes = evaluation.rewroteKeys ? compactWriteOps(recording.ops) : recording.ops;
      }
      return { responses, writes, timestamp: ts };
    } catch (err) {
      if (!(err instanceof WriteTooOldError)) {
        throw err;
      }
      // Each restart lands above a version that stopped the last: it ends, since the
      // batch writes finitely many keys with finitely many versions.
      assert(compareTimestamps(err.actualTimestamp, ts) > 0, 'a write-too-old restart moves the timestamp up');
      ts = err.actualTimestamp;
    }
  }
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

/** One pass over the batch at one timestamp. */
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

  constructor(
    private readonly base: EngineReader,
    recording: RecordingBatch | undefined,
    readsOwnWrites: boolean,
    private readonly ts: Timestamp,
    options: EvaluateOptions,
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
      default:
        // checkRequests rejected the others.
        assert(false, `${request.$case} is not evaluated in a batch`);
    }
  }

  private get(request: kv.GetRequest): kv.GetResponse {
    const found = mvccGet(this.view, request.key, this.ts);
    return found === undefined ? {} : { value: found };
  }

  private conditionalPut(request: kv.ConditionalPutRequest): void {
    const actual = mvccGet(this.view, request.key, this.ts)?.value;
    // Write before judging the condition: a newer version moves the whole batch up,
    // and the condition is then judged against it (a failed condition fails the
    // batch, so the write is dropped with it).
    this.write(request.key, request.value);
    const expected = request.expectedValue;
    if (expected === undefined ? actual !== undefined : actual === undefined || !actual.equals(expected)) {
      throw new ConditionFailedError(actual === undefined ? undefined : Buffer.from(actual));
    }
  }

  /** Deleting a key with no live value writes nothing. */
  private delete(request: kv.DeleteRequest): kv.DeleteResponse {
    if (mvccGet(this.view, request.key, this.ts) === undefined) {
      return { deleted: false };
    }
    this.write(request.key, undefined);
    return { deleted: true };
  }

  private limitReached(): boolean {
    return (this.maxKeys > 0 && this.keysUsed >= this.maxKeys) || (this.maxBytes > 0 && this.bytesUsed >= this.maxBytes);
  }

  private deleteRange(request: kv.DeleteRangeRequest): kv.DeleteRangeResponse {
    if (this.limitReached()) {
      return { deletedCount: 0n, resumeSpan: { startKey: request.startKey, endKey: request.endKey } };
    }
    const live = mvccScan(this.view, request.startKey, request.endKey, this.ts, {
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
    const result = mvccScan(this.view, request.startKey, request.endKey, this.ts, {
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

  /** Writes a committed version of `key` at the batch's timestamp (undefined: a tombstone). */
  private write(key: Buffer, value: Buffer | undefined): void {
    const batch = this.batch as WriteBatch;
    try {
      mvccPut(this.view, batch, key, this.ts, value);
    } catch (err) {
      if (this.view === this.base || !(err instanceof WriteTooOldError) || !timestampEqual(err.existingTimestamp, this.ts)) {
        throw err;
      }
      // The version at the batch's own timestamp may be this batch's earlier write of
      // the key. The key gets one version: written again over the data as it was
      // before the batch, it passes the same checks and moves the same older version
      // down, and the newest entry now holds this value. A version at this timestamp
      // from before the batch fails again, and moves the batch up.
      mvccPut(this.base, batch, key, this.ts, value);
      this.rewroteKeys = true;
    }
  }
}
