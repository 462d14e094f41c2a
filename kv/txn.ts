import { randomFillSync, randomInt } from 'node:crypto';
import { CairnError, InvalidArgumentError } from '../common/errors';
import type { HybridLogicalClock, Timestamp } from '../common/hlc';
import { compareTimestamps, nextTimestamp } from '../common/hlc';
import { keyNext } from '../common/keys';
import type { RecordedSpan, Span } from '../common/tracing';
import { NO_SPAN } from '../common/tracing';
import * as pb from '../proto/gen/cairn/kv/v1/kv';
import { requestSpan } from './batch-split';
import type { DistSender, KvBatchHeader, KvBatchResult } from './dist-sender';
import { asBuffer } from './dist-sender';
import {
  AmbiguousResultError,
  DeadlineExceededError,
  OperationCancelledError,
  TransactionAbortedError,
  TransactionError,
  TransactionRetryError,
  TransactionUncertaintyError,
  UnavailableError,
} from './errors';
import type { ScanOptions, ScanResult } from './kv-client';
import type { InterruptSignal } from './interrupt';
import { expectCase, scanResult } from './responses';
import { condenseSpans, MAX_TXN_PRIORITY, MIN_TXN_PRIORITY, mergeSpans, TXN_HEARTBEAT_INTERVAL_MS, txnMeta } from './transaction';
import { WriteBuffer } from './write-buffer';

/*
 * The transaction coordinator (kv/OVERVIEW.md "Transactions"). A Txn carries its
 * timestamps and ID in every batch header; writes are buffered until a read needs
 * them or the commit, then sent as intents (or, when every write fits one range at
 * commit, sent with the commit in one batch: a one-phase commit). Reads are tracked,
 * so a pushed write timestamp can be reached by refreshing them instead of restarting.
 */

export type TxnPriority = 'low' | 'normal' | 'high';

export interface TxnOptions {
  readonly priority?: TxnPriority;
  /** Off only in tests that play an abandoned coordinator. */
  readonly heartbeat?: boolean;
  /**
   * A read-only transaction reading the data as of this past timestamp (AS OF SYSTEM
   * TIME): served by the nearest replica once its closed timestamp reaches it.
   */
  readonly asOf?: Timestamp;
  /**
   * Where the transaction's record lives (default: its first write's key). A range
   * operation anchors its transaction on the range it changes, so that the commit and
   * the change apply in one command there.
   */
  readonly anchorKey?: Buffer;
  /**
   * Commit across ranges in one round (default true): the commit goes out alongside
   * its writes, staged until they are all in place, instead of after them.
   */
  readonly parallelCommit?: boolean;
}

export interface RunTxnOptions extends TxnOptions {
  /** Attempts before giving up on retryable errors (default 100). */
  readonly maxAttempts?: number;
  /** Called before each retry, with the error that caused it (metrics, tests). */
  readonly onRetry?: (err: TransactionError, attempt: number) => void;
}

export interface GetOptions {
  /** Lock the keys read for this transaction (SELECT FOR UPDATE). */
  readonly forUpdate?: boolean;
  /**
   * With `forUpdate`, getMany reads this many of its first keys without locking them:
   * a plain read that rides in the same batch as the locking ones (default 0).
   */
  readonly unlockedLeadingKeys?: number;
}

/** A change of the anchor's range that takes effect with the commit. */
export interface CommitTrigger {
  readonly split?: pb.SplitTrigger;
  readonly changeReplicas?: pb.ChangeReplicasTrigger;
}

/** Writes buffered before they go out as intents anyway. */
const MAX_BUFFERED_WRITES = 4_000;
const MAX_BUFFERED_BYTES = 4 << 20;
/** Read spans sent with a commit for the range to refresh there; more are refreshed first. */
const MAX_SERVER_REFRESH_SPANS = 64;
/** Tracked lock and read spans are merged once there are more than this many… */
const MERGE_SPANS_OVER = 64;
/** …and condensed to at most this many covering spans (bounding a large transaction's commit). */
const MAX_TRACKED_SPANS = 1_024;
/**
 * Commits re-sent after being pushed before the transaction starts over. Each new lease
 * on a range the commit writes to pushes it once (the timestamp cache starts ahead of
 * the clock), so a few lease changes during a long transaction's commit are survived.
 */
const MAX_COMMIT_PUSHES = 10;
/**
 * Writes a parallel commit names as in flight at most; a larger commit sends its
 * writes first (recovering a staged commit queries each one).
 */
const MAX_IN_FLIGHT_WRITES = 128;

type TxnState = 'pending' | 'committed' | 'aborted';

/** What ends a caller's KV calls early (Txn.statementLimits). */
export interface StatementLimits {
  readonly signal?: InterruptSignal | undefined;
  readonly deadlineUnixMs?: number | undefined;
}

/** Whether the coordinator deals with `err` by refreshing, restarting or retrying the transaction. */
export function isRetryableTxnError(err: unknown): err is TransactionError {
  return err instanceof TransactionRetryError || err instanceof TransactionAbortedError || err instanceof TransactionUncertaintyError;
}

export class Txn {
  private id: Buffer = newTxnId();
  private epoch = 0;
  private readonly priorityValue: number;
  private minTs: Timestamp;
  private readTs: Timestamp;
  private writeTs: Timestamp;
  private uncertaintyLimit: Timestamp;
  private anchorKey: Buffer | undefined;
  /** Spans holding this transaction's intents (every epoch): resolved at the end. */
  private lockSpans: pb.Span[] = [];
  /** Spans read at readTs: refreshed if the transaction must move up. */
  private refreshSpans: pb.Span[] = [];
  private readonly buffered = new WriteBuffer();
  private state: TxnState = 'pending';
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private abortedByHeartbeat: TransactionAbortedError | undefined;
  /** Operations run one at a time, in call order. */
  private tail: Promise<unknown> = Promise.resolve();
  private restarts = 0;
  private commitTrigger: CommitTrigger = {};
  /** The span its batches are traced under: the running SQL statement's, say. */
  traceSpan: Span = NO_SPAN;
  /** Receives the spans nodes recorded for its traced batches (SHOW TRACE FOR SESSION). */
  traceRecorder: ((spans: readonly RecordedSpan[]) => void) | undefined;
  /**
   * Ends the batches the caller waits for (the running SQL statement's) early: when
   * `signal` aborts (OperationCancelledError), or at `deadlineUnixMs`, which the nodes
   * also keep (a lock wait ends there). A commit or rollback is never cut short: its
   * outcome would be unknown. A write cut short may still land, so the transaction can
   * then only be rolled back.
   */
  statementLimits: StatementLimits | undefined;
  /** A write was cut short by `statementLimits`: it may still land, so nothing may commit. */
  private writeCutShort: OperationCancelledError | DeadlineExceededError | undefined;
  /** Settle once the writes cut short have been answered or timed out on their nodes. */
  private readonly lateWrites: Promise<void>[] = [];

  constructor(
    private readonly sender: DistSender,
    private readonly clock: HybridLogicalClock,
    private readonly options: TxnOptions = {},
  ) {
    this.priorityValue = priorityOf(options.priority ?? 'normal');
    const now = options.asOf ?? clock.now();
    this.minTs = now;
    this.readTs = now;
    this.writeTs = now;
    // A historical read has no uncertainty: whatever was written by then is plainly before it.
    this.uncertaintyLimit = options.asOf ?? { wallTime: now.wallTime + clock.maxOffsetNanos, logical: now.logical };
    this.anchorKey = options.anchorKey;
  }

  /**
   * Makes the commit change the anchor's range as given — a split or a replica change
   * (a range operation's transaction: it writes the new meta records, and the change
   * applies with the commit, in one Raft command on that range).
   */
  setCommitTrigger(trigger: CommitTrigger): void {
    this.commitTrigger = trigger;
  }

  /** The transaction's ID (changes when an aborted transaction starts over). */
  get txnId(): Buffer {
    return this.id;
  }

  /** The timestamp the transaction reads at; its commit timestamp once committed. */
  get readTimestamp(): Timestamp {
    return this.readTs;
  }

  get commitTimestamp(): Timestamp | undefined {
    return this.state === 'committed' ? this.writeTs : undefined;
  }

  get status(): TxnState {
    return this.state;
  }

  /** How many times it restarted (a new epoch or a new transaction). */
  get restartCount(): number {
    return this.restarts;
  }

  // -------------------------------------------------------------------------------
  // Operations

  /**
   * Reads a key. With `forUpdate`, also locks it for this transaction (SELECT FOR
   * UPDATE): other writers of the key wait for this transaction rather than race it to
   * the commit — the way to read a value the transaction will write back.
   */
  get(key: Uint8Array, options: GetOptions = {}): Promise<Buffer | undefined> {
    return this.serial(async () => {
      const forUpdate = this.lockingRead(options);
      const [r] = await this.read([{ request: { $case: 'get', value: { key: asBuffer(key), forUpdate } } }]);
      return expectCase(r, 'get').value?.value;
    });
  }

  /** Several keys read (and with `forUpdate`, locked) in one batch, in parallel across ranges. */
  getMany(keys: readonly Uint8Array[], options: GetOptions = {}): Promise<(Buffer | undefined)[]> {
    return this.serial(async () => {
      const forUpdate = this.lockingRead(options);
      const unlocked = options.unlockedLeadingKeys ?? 0;
      const responses = await this.read(
        keys.map((key, i) => ({ request: { $case: 'get', value: { key: asBuffer(key), forUpdate: forUpdate && i >= unlocked } } })),
      );
      return responses.map((r) => expectCase(r, 'get').value?.value);
    });
  }

  private lockingRead(options: GetOptions): boolean {
    if (options.forUpdate !== true) return false;
    this.checkWritable();
    return true;
  }

  scan(start: Uint8Array, end: Uint8Array, options: ScanOptions = {}): Promise<ScanResult> {
    return this.serial(async () => {
      const [r] = await this.read([{ request: { $case: 'scan', value: { startKey: asBuffer(start), endKey: asBuffer(end) } } }], options);
      return scanResult(expectCase(r, 'scan'));
    });
  }

  reverseScan(start: Uint8Array, end: Uint8Array, options: ScanOptions = {}): Promise<ScanResult> {
    return this.serial(async () => {
      const [r] = await this.read(
        [{ request: { $case: 'reverseScan', value: { startKey: asBuffer(start), endKey: asBuffer(end) } } }],
        options,
      );
      return scanResult(expectCase(r, 'reverseScan'));
    });
  }

  /** Buffers the write; it is sent with the next read of the key, or the commit. */
  put(key: Uint8Array, value: Uint8Array): Promise<void> {
    return this.serial(async () => {
      await this.buffer({ request: { $case: 'put', value: { key: asBuffer(key), value: asBuffer(value) } } });
    });
  }

  /** Deletes the key (blind: buffered like a put). */
  delete(key: Uint8Array): Promise<void> {
    return this.serial(async () => {
      await this.buffer({ request: { $case: 'delete', value: { key: asBuffer(key) } } });
    });
  }

  /** Writes `value` if the key holds `expected` (absent when undefined); ConditionFailedError otherwise. */
  conditionalPut(key: Uint8Array, value: Uint8Array, expected: Uint8Array | undefined): Promise<void> {
    return this.serial(async () => {
      const request: pb.ConditionalPutRequest = { key: asBuffer(key), value: asBuffer(value) };
      if (expected !== undefined) request.expectedValue = asBuffer(expected);
      await this.read([{ request: { $case: 'conditionalPut', value: request } }]);
    });
  }

  /** Deletes every live key in [start, end); resolves with how many. */
  deleteRange(start: Uint8Array, end: Uint8Array): Promise<number> {
    return this.serial(async () => {
      const [r] = await this.read([{ request: { $case: 'deleteRange', value: { startKey: asBuffer(start), endKey: asBuffer(end) } } }]);
      return Number(expectCase(r, 'deleteRange').deletedCount);
    });
  }

  /**
   * Commits. Throws a retryable TransactionError when the transaction must start over
   * (the caller — `KvClient.txn` — runs it again), AmbiguousResultError when the
   * commit's outcome is unknown.
   */
  commit(): Promise<void> {
    return this.serial(() => this.commitNow());
  }

  /** Aborts: removes its intents. Safe to call in any state; never throws for a lost cause. */
  rollback(): Promise<void> {
    return this.serial(() => this.rollbackNow(), { rollingBack: true });
  }

  // -------------------------------------------------------------------------------
  // Restarts (driven by KvClient.txn)

  /**
   * Prepares another attempt after `err`: a new epoch above the timestamp the error
   * names, or (after an abort) a new transaction altogether.
   */
  async prepareRetry(err: TransactionError): Promise<void> {
    this.restarts++;
    this.buffered.clear();
    this.refreshSpans = [];
    if (err instanceof TransactionAbortedError || this.abortedByHeartbeat !== undefined) {
      // Clean up after the old transaction, in the background.
      const old = this.snapshotForCleanup();
      this.sender.inBackground(this.cleanUp(old).catch(() => undefined));
      this.stopHeartbeat();
      this.id = newTxnId();
      this.epoch = 0;
      this.anchorKey = this.options.anchorKey;
      this.lockSpans = [];
      this.abortedByHeartbeat = undefined;
      const now = this.clock.now();
      this.minTs = now;
      this.readTs = now;
      this.writeTs = now;
      this.uncertaintyLimit = { wallTime: now.wallTime + this.clock.maxOffsetNanos, logical: now.logical };
      this.state = 'pending';
      return;
    }
    this.epoch++;
    // A new epoch reads afresh: at least at the present, so that a transaction that fell
    // behind (waiting for locks) is not pushed above the closed timestamp forever.
    let ts = this.clock.now();
    if (compareTimestamps(this.writeTs, ts) > 0) ts = this.writeTs;
    const carried = err.txn?.meta?.writeTimestamp;
    if (carried !== undefined && compareTimestamps(carried, ts) > 0) ts = carried;
    if (err instanceof TransactionUncertaintyError) {
      const above = nextTimestamp(err.existingTimestamp);
      if (compareTimestamps(above, ts) > 0) ts = above;
    }
    this.readTs = ts;
    this.writeTs = ts;
    this.state = 'pending';
  }

  // -------------------------------------------------------------------------------
  // Internals

  private serial<T>(op: () => Promise<T>, options: { readonly rollingBack?: boolean } = {}): Promise<T> {
    const run = this.tail.then(() => {
      if (this.writeCutShort !== undefined && options.rollingBack !== true) {
        throw new InvalidArgumentError(`a write of the transaction was cut short (${this.writeCutShort.message}) and may still land: the transaction can only be rolled back`);
      }
      this.checkUsable();
      return op();
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  private checkWritable(): void {
    if (this.options.asOf !== undefined) {
      throw new InvalidArgumentError('a transaction reading AS OF SYSTEM TIME is read-only');
    }
  }

  private checkUsable(): void {
    if (this.abortedByHeartbeat !== undefined) throw this.abortedByHeartbeat;
    if (this.state !== 'pending') {
      throw new InvalidArgumentError(`the transaction is ${this.state}; start a new one`);
    }
  }

  /** The header form of the transaction. */
  private proto(): pb.Transaction {
    return {
      meta: {
        id: this.id,
        anchorKey: this.anchorKey ?? Buffer.alloc(0),
        epoch: this.epoch,
        writeTimestamp: this.writeTs,
        minTimestamp: this.minTs,
        priority: this.priorityValue,
        sequence: 0,
      },
      status: pb.TransactionStatus.TRANSACTION_STATUS_PENDING,
      readTimestamp: this.readTs,
      uncertaintyLimit: this.uncertaintyLimit,
      lockSpans: [],
      inFlightWrites: [],
    };
  }

  private async buffer(write: pb.RequestUnion): Promise<void> {
    this.checkWritable();
    const request = write.request as NonNullable<pb.RequestUnion['request']>;
    const span = requestSpan(request);
    const bytes = span.start.length + (request.$case === 'put' ? request.value.value.length : 0);
    this.buffered.add(write, span, request.$case !== 'deleteRange', bytes);
    if (this.buffered.length >= MAX_BUFFERED_WRITES || this.buffered.bytes >= MAX_BUFFERED_BYTES) {
      await this.flush();
    }
  }

  /** Sends the buffered writes as intents. */
  private async flush(): Promise<void> {
    if (this.buffered.length === 0) return;
    await this.send(this.buffered.take());
  }

  /** Whether a buffered write touches a span the requests read. */
  private bufferOverlaps(requests: readonly pb.RequestUnion[]): boolean {
    if (this.buffered.length === 0) return false;
    return requests.some(({ request }) => request !== undefined && this.buffered.overlaps(requestSpan(request), request.$case === 'get'));
  }

  /**
   * Sends requests that read (and maybe write): buffered writes they must see go
   * first; a version found in the uncertainty window is read past by refreshing.
   */
  private async read(requests: pb.RequestUnion[], options: ScanOptions = {}): Promise<pb.ResponseUnion[]> {
    if (this.bufferOverlaps(requests)) await this.flush();
    for (;;) {
      try {
        return await this.send(requests, options);
      } catch (err) {
        let above: Timestamp;
        if (err instanceof TransactionUncertaintyError) {
          above = nextTimestamp(err.existingTimestamp);
        } else if (err instanceof TransactionRetryError && err.reason === 'WRITE_TOO_OLD' && err.txn?.meta?.writeTimestamp !== undefined) {
          // A locking read behind a newer version (often: the lock holder it waited for
          // committed): read again at that version.
          above = err.txn.meta.writeTimestamp;
        } else {
          throw err;
        }
        // Read above it if what was read so far still holds there.
        const target = compareTimestamps(above, this.writeTs) > 0 ? above : this.writeTs;
        if (!(await this.tryRefresh(target))) throw err;
      }
    }
  }

  /** One batch of this transaction through DistSender; tracks locks and reads. */
  private async send(requests: pb.RequestUnion[], options: ScanOptions & { endTxn?: boolean } = {}): Promise<pb.ResponseUnion[]> {
    const writes = requests.some((r) => isWrite(r.request));
    if (this.options.asOf !== undefined) {
      if (writes) this.checkWritable();
      const { responses } = await this.sender.send(requests, {
        timestamp: this.options.asOf,
        followerRead: true,
        trace: this.traceSpan,
        onTraceRecording: this.traceRecorder,
        ...(options.maxKeys === undefined ? {} : { maxKeys: options.maxKeys }),
        ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
      });
      return responses;
    }
    if (writes && this.anchorKey === undefined) {
      const first = requests.find((r) => isWrite(r.request))?.request as NonNullable<pb.RequestUnion['request']>;
      this.anchorKey = requestSpan(first).start;
    }
    const reads = requests.some((r) => isRead(r.request?.$case));
    const limits = options.endTxn === true ? undefined : this.statementLimits;
    const header: KvBatchHeader = {
      txn: this.proto(),
      trace: this.traceSpan,
      onTraceRecording: this.traceRecorder,
      ...(limits?.signal === undefined ? {} : { signal: limits.signal }),
      ...(limits?.deadlineUnixMs === undefined ? {} : { deadlineUnixMs: limits.deadlineUnixMs }),
      canForwardReadTimestamp: this.refreshSpans.length === 0 && !reads,
      ...(options.maxKeys === undefined ? {} : { maxKeys: options.maxKeys }),
      ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
    };
    // Intents may be written even if the batch fails: record them first.
    for (const { request } of requests) {
      if (request !== undefined && isWrite(request) && request.$case !== 'endTxn') {
        const span = requestSpan(request);
        this.lockSpans.push({ startKey: span.start, endKey: span.end });
      }
    }
    if (writes && options.endTxn !== true) this.startHeartbeat();
    else if (writes && requests.length > 1) {
      // A commit with writes may lay intents on other ranges while its EndTxn waits
      // for a lock: heartbeat from then on, and create the record first if the
      // transaction is old enough to look abandoned (a heartbeat sent alongside could
      // land after the commit and leave a record behind).
      if (this.heartbeatTimer === undefined && this.ageMs() > TXN_HEARTBEAT_INTERVAL_MS) await this.heartbeatOnce();
      this.startHeartbeat({ now: false });
    }
    let result: KvBatchResult;
    try {
      result = await this.sender.send(requests, header);
    } catch (err) {
      if (writes && limits !== undefined && (err instanceof OperationCancelledError || err instanceof DeadlineExceededError)) {
        this.writeCutShort = err;
        if (err instanceof OperationCancelledError) this.lateWrites.push(err.abandoned);
      }
      throw err;
    }
    this.observe(result.timestamp);
    const returned = result.txn?.meta?.writeTimestamp;
    if (returned !== undefined && compareTimestamps(returned, this.writeTs) > 0) {
      this.writeTs = returned;
      if (header.canForwardReadTimestamp === true && this.refreshSpans.length === 0) this.readTs = returned;
    }
    requests.forEach(({ request }, i) => {
      if (request === undefined || !isRead(request.$case)) return;
      const span = requestSpan(request);
      const response = result.responses[i]?.response;
      const resume = response !== undefined && 'resumeSpan' in response.value ? (response.value as { resumeSpan?: pb.Span }).resumeSpan : undefined;
      // Only what was read needs refreshing: the span up to where a limit stopped it.
      if (resume !== undefined && request.$case === 'scan') {
        if (Buffer.compare(span.start, resume.startKey) < 0) this.refreshSpans.push({ startKey: span.start, endKey: resume.startKey });
      } else if (resume !== undefined && request.$case === 'reverseScan') {
        if (Buffer.compare(resume.endKey, span.end) < 0) this.refreshSpans.push({ startKey: resume.endKey, endKey: span.end });
      } else {
        this.refreshSpans.push({ startKey: span.start, endKey: span.end });
      }
    });
    if (this.refreshSpans.length > MERGE_SPANS_OVER) this.refreshSpans = this.condense(this.refreshSpans);
    if (this.lockSpans.length > MERGE_SPANS_OVER) this.lockSpans = this.condense(this.lockSpans);
    return result.responses;
  }

  /** Bounds a list of tracked spans, joining neighbours only within a range the sender knows. */
  private condense(spans: readonly pb.Span[]): pb.Span[] {
    const cache = this.sender.rangeCache;
    return condenseSpans(spans, MAX_TRACKED_SPANS, (key) => {
      const range = cache.lookup(key);
      return range === undefined ? `?${key[0] ?? ''}` : String(range.desc.rangeId);
    });
  }

  /** Moves the reads up to `to` if nothing read was written since; returns whether it could. */
  private async tryRefresh(to: Timestamp): Promise<boolean> {
    if (compareTimestamps(to, this.readTs) <= 0) return true;
    const spans = mergeSpans(this.refreshSpans);
    if (spans.length > 0) {
      const from = this.readTs;
      const requests: pb.RequestUnion[] = spans.map((span) =>
        isSingleKey(span)
          ? { request: { $case: 'refresh', value: { key: span.startKey, refreshFrom: from } } }
          : { request: { $case: 'refreshRange', value: { startKey: span.startKey, endKey: span.endKey, refreshFrom: from } } },
      );
      const txn = this.proto();
      txn.readTimestamp = to;
      if (txn.meta !== undefined && compareTimestamps(to, this.writeTs) > 0) txn.meta.writeTimestamp = to;
      try {
        // A range refreshes a large span page by page: send the rest again until done.
        for (let pending = requests; pending.length > 0; ) {
          const { responses } = await this.sender.send(pending, { txn, trace: this.traceSpan, onTraceRecording: this.traceRecorder });
          pending = [];
          for (const { response } of responses) {
            const resume = response?.$case === 'refreshRange' ? response.value.resumeSpan : undefined;
            if (resume !== undefined) {
              pending.push({ request: { $case: 'refreshRange', value: { startKey: resume.startKey, endKey: resume.endKey, refreshFrom: from } } });
            }
          }
        }
      } catch (err) {
        if (err instanceof TransactionRetryError && err.reason === 'REFRESH_FAILED') return false;
        throw err;
      }
    }
    this.refreshSpans = spans;
    this.readTs = to;
    if (compareTimestamps(to, this.writeTs) > 0) this.writeTs = to;
    return true;
  }

  private async commitNow(): Promise<void> {
    if (this.buffered.length === 0 && this.lockSpans.length === 0) {
      // Read-only: the reads stand at the read timestamp; nothing to commit.
      this.state = 'committed';
      this.writeTs = this.readTs;
      return;
    }
    let writes = this.buffered.take();
    for (let pushes = 0; ; pushes++) {
      if (pushes > MAX_COMMIT_PUSHES) {
        throw new TransactionRetryError('SERIALIZABLE', this.proto(), 'transaction must retry: its commit kept being pushed');
      }
      // The first try lets the anchor range refresh the reads itself (when they are all
      // there); after a push, they are refreshed from here.
      const refreshFirst = pushes > 0 || this.refreshSpans.length > MAX_SERVER_REFRESH_SPANS;
      if (refreshFirst && compareTimestamps(this.writeTs, this.readTs) > 0 && this.refreshSpans.length > 0 && !(await this.tryRefresh(this.writeTs))) {
        throw new TransactionRetryError('REFRESH_FAILED', this.proto(), 'transaction must retry: a key it read was written since');
      }
      if (this.refreshSpans.length === 0 && compareTimestamps(this.writeTs, this.readTs) > 0) this.readTs = this.writeTs;
      const anchor = this.anchorKey ?? requestSpan(writes[0]?.request as NonNullable<pb.RequestUnion['request']>).start;
      this.anchorKey = anchor;
      const lockSpans = this.condense([
        ...this.lockSpans,
        ...writes.map((w) => {
          const span = requestSpan(w.request as NonNullable<pb.RequestUnion['request']>);
          return { startKey: span.start, endKey: span.end };
        }),
      ]);
      const refreshSpans = mergeSpans(this.refreshSpans);
      const inFlightWrites = this.parallelCommitWrites(writes);
      const endTxn: pb.RequestUnion = {
        request: {
          $case: 'endTxn',
          value: {
            key: anchor,
            commit: true,
            lockSpans,
            refreshSpans: refreshSpans.length <= MAX_SERVER_REFRESH_SPANS ? refreshSpans : [],
            inFlightWrites,
            ...(this.commitTrigger.split === undefined ? {} : { splitTrigger: this.commitTrigger.split }),
            ...(this.commitTrigger.changeReplicas === undefined ? {} : { changeReplicasTrigger: this.commitTrigger.changeReplicas }),
          },
        },
      };
      try {
        const responses = await this.send([...writes, endTxn], { endTxn: true });
        const answer = responses[responses.length - 1]?.response;
        const record = answer?.$case === 'endTxn' ? answer.value.txn : undefined;
        const staged = record?.status === pb.TransactionStatus.TRANSACTION_STATUS_STAGING ? record.meta?.writeTimestamp : undefined;
        if (staged !== undefined && compareTimestamps(this.writeTs, staged) > 0) {
          // A write landed above the staged timestamp: not committed there. Everything
          // is written now; refresh up to it and commit explicitly.
          writes = [];
          continue;
        }
        this.state = 'committed';
        this.stopHeartbeat();
        // Staged with every write in place: committed. Recording it saves whoever meets
        // an intent from finding that out; the coordinator answers without waiting.
        // (Through the coalescer, which DistSender.close() drains.)
        if (staged !== undefined) void this.commitStaged(anchor, staged);
        return;
      } catch (err) {
        if (err instanceof TransactionRetryError && (err.reason === 'SERIALIZABLE' || err.reason === 'PUSHED')) {
          // Pushed above its reads: refresh them and commit again.
          const pushed = err.txn?.meta?.writeTimestamp;
          if (pushed !== undefined && compareTimestamps(pushed, this.writeTs) > 0) this.writeTs = pushed;
          if (writes.length > 0) {
            // Lay the last writes down on their own (at the present: a transaction behind
            // the closed timestamp is pushed there anyway), then commit with the EndTxn
            // alone, which the closed timestamp does not move. Re-sent with it, they
            // would be pushed again whenever refreshing took longer than the closed
            // timestamp's lag (a large transaction's reads), and never land.
            const now = this.clock.now();
            if (compareTimestamps(now, this.writeTs) > 0) this.writeTs = now;
            await this.send(writes);
            writes = [];
          }
          if (this.refreshSpans.length === 0) this.readTs = this.writeTs;
          continue;
        }
        if (err instanceof TransactionAbortedError) {
          this.state = 'aborted';
          this.stopHeartbeat();
          throw err;
        }
        if (err instanceof TransactionError) throw err;
        if (err instanceof UnavailableError || err instanceof AmbiguousResultError) {
          // Its outcome is for recovery to find out: no more heartbeats, no rollback.
          this.stopHeartbeat();
          this.state = 'aborted';
          throw err instanceof AmbiguousResultError ? err : new AmbiguousResultError(`the commit's outcome is unknown: ${err.message}`, { cause: err });
        }
        throw err;
      }
    }
  }

  /**
   * The writes of a commit batch to send alongside it as in flight, or none (the commit
   * then goes out after them): only point writes, not too many, on keys without an
   * earlier intent of this transaction — recovery finds a write by its intent, and an
   * earlier one on the key would pass for it.
   */
  private parallelCommitWrites(writes: readonly pb.RequestUnion[]): Buffer[] {
    if (this.options.parallelCommit === false || writes.length === 0 || writes.length > MAX_IN_FLIGHT_WRITES) return [];
    if (this.commitTrigger.split !== undefined || this.commitTrigger.changeReplicas !== undefined) return [];
    const keys: Buffer[] = [];
    for (const { request } of writes) {
      if (request?.$case !== 'put' && request?.$case !== 'conditionalPut' && request?.$case !== 'delete') return [];
      const key = request.value.key;
      for (const span of this.lockSpans) {
        if (Buffer.compare(span.startKey, key) <= 0 && Buffer.compare(key, span.endKey) < 0) return [];
      }
      keys.push(key);
    }
    return keys;
  }

  /**
   * Makes a staged (implicitly committed) record COMMITTED, as recovery would: the
   * request needs no transaction header, so the commits of many transactions share one
   * batch, one Raft command per anchor range. On failure, recovery does it later.
   */
  private async commitStaged(anchor: Buffer, staged: Timestamp): Promise<void> {
    const meta = { ...txnMeta(this.proto()), writeTimestamp: staged };
    try {
      await this.sender.coalescer.add({ request: { $case: 'recoverTxn', value: { key: anchor, txn: meta, implicitlyCommitted: true } } });
    } catch (err) {
      // The record stays STAGING: whoever meets an intent once it expires finds the
      // writes in place and records the commit.
      if (!(err instanceof CairnError)) throw err;
    }
  }

  private async rollbackNow(): Promise<void> {
    this.buffered.clear();
    this.stopHeartbeat();
    this.state = 'aborted';
    const old = this.snapshotForCleanup();
    await this.cleanUp(old);
    if (this.lateWrites.length > 0) {
      // A write (or lock) cut short may land after the cleanup, and then stay in others'
      // way until the transaction expires: once they are all answered, clean up again.
      const late = this.lateWrites.splice(0);
      this.sender.inBackground(
        Promise.all(late)
          .then(() => this.cleanUp(old))
          .catch(() => undefined),
      );
    }
  }

  private snapshotForCleanup(): { txn: pb.Transaction; lockSpans: pb.Span[] } | undefined {
    if (this.anchorKey === undefined || this.lockSpans.length === 0) return undefined;
    return { txn: this.proto(), lockSpans: mergeSpans(this.lockSpans) };
  }

  private async cleanUp(old: { txn: pb.Transaction; lockSpans: pb.Span[] } | undefined): Promise<void> {
    if (old === undefined || old.txn.meta === undefined) return;
    const endTxn: pb.RequestUnion = {
      request: { $case: 'endTxn', value: { key: old.txn.meta.anchorKey, commit: false, lockSpans: old.lockSpans, refreshSpans: [], inFlightWrites: [] } },
    };
    try {
      await this.sender.send([endTxn], { txn: old.txn });
    } catch (err) {
      // Already finalized, or unreachable: whoever meets the intents cleans them up.
      if (!(err instanceof CairnError)) throw err;
    }
  }

  private startHeartbeat(options: { readonly now: boolean } = { now: true }): void {
    if (this.heartbeatTimer !== undefined || this.options.heartbeat === false) return;
    this.heartbeatTimer = setInterval(() => void this.heartbeatOnce(), TXN_HEARTBEAT_INTERVAL_MS);
    this.heartbeatTimer.unref();
    // Until its record exists, a pusher judges the transaction's liveness by its
    // timestamps: an old transaction writing for the first time heartbeats at once.
    if (options.now && this.ageMs() > TXN_HEARTBEAT_INTERVAL_MS) setImmediate(() => void this.heartbeatOnce());
  }

  /** Milliseconds since the transaction (this attempt of it) began. */
  private ageMs(): number {
    return Number((this.clock.now().wallTime - this.minTs.wallTime) / 1_000_000n);
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  private async heartbeatOnce(): Promise<void> {
    const anchor = this.anchorKey;
    if (anchor === undefined || this.state !== 'pending') return;
    try {
      await this.sender.send([{ request: { $case: 'heartbeatTxn', value: { key: anchor } } }], { txn: this.proto() });
    } catch (err) {
      if (err instanceof TransactionAbortedError) {
        this.abortedByHeartbeat = err;
        this.stopHeartbeat();
      }
      // Other failures: the next heartbeat tries again; the record expires only after several.
    }
  }

  private observe(ts: Timestamp | undefined): void {
    if (ts === undefined) return;
    try {
      this.clock.update(ts);
    } catch {
      // A node's clock beyond the maximum offset: keep our own.
    }
  }
}

function isWrite(request: pb.RequestUnion['request']): boolean {
  if (request?.$case === 'get') return request.value.forUpdate;
  const kind = request?.$case;
  return kind === 'put' || kind === 'conditionalPut' || kind === 'delete' || kind === 'deleteRange' || kind === 'endTxn';
}

function isRead(kind: string | undefined): boolean {
  return (
    kind === 'get' ||
    kind === 'scan' ||
    kind === 'reverseScan' ||
    kind === 'conditionalPut' ||
    kind === 'deleteRange'
  );
}

function isSingleKey(span: pb.Span): boolean {
  return span.endKey.equals(keyNext(span.startKey));
}

function priorityOf(priority: TxnPriority): number {
  switch (priority) {
    case 'low':
      return MIN_TXN_PRIORITY;
    case 'high':
      return MAX_TXN_PRIORITY;
    case 'normal':
      // Random within the normal band: it only orders deadlock victims.
      return randomInt(MIN_TXN_PRIORITY + 1, MAX_TXN_PRIORITY - 1);
  }
}

/** Random bytes for transaction IDs, drawn a page at a time: one system call per 256 transactions. */
const idPool = Buffer.alloc(16 * 256);
let idPoolUsed = idPool.length;

/** A new random 16-byte transaction ID (a copy: the pool is reused). */
function newTxnId(): Buffer {
  if (idPoolUsed === idPool.length) {
    randomFillSync(idPool);
    idPoolUsed = 0;
  }
  const id = Buffer.from(idPool.subarray(idPoolUsed, idPoolUsed + 16));
  idPoolUsed += 16;
  return id;
}
