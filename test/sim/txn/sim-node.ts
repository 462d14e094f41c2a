import pino from 'pino';
import { assert, InvalidArgumentError } from '../../../common/errors';
import type { HybridLogicalClock, Timestamp } from '../../../common/hlc';
import { compareTimestamps, formatTimestamp } from '../../../common/hlc';
import { prettyKey } from '../../../common/keys';
import {
  errorToProto,
  type KvClient,
  NotLeaseholderError,
  RangeKeyMismatchError,
  RangeNotFoundError,
  requestSpan,
  UnavailableError,
} from '../../../kv';
import * as kvpb from '../../../proto/gen/cairn/kv/v1/kv';
import type { EvaluateResult } from '../../../node/replica/evaluate-batch';
import { declareSpans, evaluateBatch, failedRequestIndex } from '../../../node/replica/evaluate-batch';
import type { LatchGuard } from '../../../node/replica/latch-manager';
import { LatchManager } from '../../../node/replica/latch-manager';
import type { LockWait, PushWait } from '../../../node/replica/lock-wait-queue';
import { LockWaitQueue, TxnWaitQueue } from '../../../node/replica/lock-wait-queue';
import { applyWriteOps } from '../../../node/replica/recording-batch';
import { closedTimestampFor, commitWait, withDeadline } from '../../../node/replica/replica';
import type { ConflictWaitHost } from '../../../node/replica/conflict-waits';
import { recoverStagedTxn, waitForConflict, waitForPushee } from '../../../node/replica/conflict-waits';
import { TimestampCache } from '../../../node/replica/timestamp-cache';
import type { IntentConflict, MemoryEngine } from '../../../node/storage';
import { WriteIntentError } from '../../../node/storage';
import { IntentResolver } from '../../../node/store/intent-resolver';

/*
 * A storage node of the transaction simulator, with the request path of a leaseholder
 * re-created without Raft. It mirrors these methods of node/replica/replica.ts — keep
 * them in step until a refactor shares the code:
 *   Replica.send               → SimNode.serve (after Store.send's range lookup)
 *   Replica.waitForLease       → RangeServer.waitForLease
 *   Replica.evaluateAndApply   → RangeServer.evaluateAndApply (proposeCommand → SimRange.propose)
 *   Replica.afterApplied, maybeResetTimestampCache
 *   Store.pushTxn / queryTxn / resolveIntentsLater (through this node's own KvClient).
 * The real parts run unchanged: evaluateBatch, declareSpans + LatchManager,
 * TimestampCache (with its batch rules), LockWaitQueue/TxnWaitQueue, the conflict
 * waits (conflict-waits.ts), commit wait, txn-records and the IntentResolver.
 *
 * Replication is one engine per range (SimRange) that every node shares: a command
 * applies once, after a simulated Raft delay, in proposal order, and is rejected if
 * the lease changed since it was evaluated (as a Raft command with a stale lease
 * sequence is). A lease transfer moves Raft leadership at once and the new lease
 * some milliseconds later; until then nobody serves.
 */

/** Replica.ts's constants, copied. */
const LEASE_WAIT_MS = 2_000;
const CLOSED_TIMESTAMP_TARGET_MS = 3_000;
const SILENT = pino({ level: 'silent' });

export interface SimRangeEvents {
  /** A command's writes were applied (clock updates on every node, waiters). */
  onApplied(range: SimRange, highest: Timestamp): void;
}

/** One range: its data, its lease, its Raft leader, its (simulated) log. */
export class SimRange {
  lease: { nodeId: number; sequence: bigint };
  /** The Raft leader: a node asked while another leads answers NOT_LEASEHOLDER with it as the hint. */
  leader: number;
  /** The closed timestamp as of the last applied command. */
  closedApplied: Timestamp = { wallTime: 0n, logical: 0 };
  private lastApplyAtMs = 0;
  private waiters: (() => void)[] = [];

  constructor(
    readonly desc: kvpb.RangeDescriptor,
    readonly engine: MemoryEngine,
    leaseholder: number,
    private readonly raftDelayMs: () => number,
    private readonly events: SimRangeEvents,
  ) {
    this.lease = { nodeId: leaseholder, sequence: 1n };
    this.leader = leaseholder;
  }

  get rangeId(): number {
    return Number(this.desc.rangeId);
  }

  /** Whether `nodeId` holds a lease it may serve under. */
  isLeaseholder(nodeId: number): boolean {
    return this.leader === nodeId && this.lease.nodeId === nodeId;
  }

  /**
   * Proposes a command evaluated under lease `sequence`: applied after the Raft delay
   * (never before an earlier proposal), or rejected if the lease moved meanwhile.
   */
  propose(sequence: bigint, writes: EvaluateResult['writes'], highest: Timestamp, closed: Timestamp): Promise<void> {
    const at = Math.max(Date.now() + this.raftDelayMs(), this.lastApplyAtMs);
    this.lastApplyAtMs = at;
    return new Promise<void>((resolve, reject) => {
      setTimeout(() => {
        if (this.lease.sequence !== sequence) {
          reject(new NotLeaseholderError(this.rangeId, undefined, `range ${this.rangeId}: the lease changed before the command applied`));
          return;
        }
        if (compareTimestamps(closed, this.closedApplied) > 0) this.closedApplied = closed;
        const batch = this.engine.newBatch();
        applyWriteOps(batch, writes);
        void this.engine.write(batch);
        this.events.onApplied(this, highest);
        resolve();
      }, at - Date.now());
    });
  }

  /** Leadership moves to `target` now; its lease applies after `gapMs`. */
  transferLease(target: number, gapMs: number, onNewLease: () => void): void {
    this.leader = target;
    this.notify();
    setTimeout(() => {
      if (this.leader !== target) return;
      this.lease = { nodeId: target, sequence: this.lease.sequence + 1n };
      onNewLease();
      this.notify();
    }, gapMs);
  }

  /** Resolves on the next lease or leadership change, or after `ms`. */
  waitForChange(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, ms));
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

type EvaluationOutcome =
  | { readonly kind: 'done'; readonly response: kvpb.BatchResponse }
  | { readonly kind: 'conflict'; readonly error: WriteIntentError; readonly waits: LockWait[] }
  | { readonly kind: 'pushWait'; readonly push: kvpb.PushTxnRequest; readonly wait: PushWait }
  | { readonly kind: 'recover'; readonly record: kvpb.Transaction };

/** The leaseholder-side state of one range on one node. */
class RangeServer {
  private readonly latches = new LatchManager();
  readonly lockWaits = new LockWaitQueue();
  readonly txnWaits = new TxnWaitQueue();
  private readonly timestampCache: TimestampCache;
  private timestampCacheLease = -1n;
  private closedProposed: Timestamp = { wallTime: 0n, logical: 0 };
  private nextPusherToken = 1;
  private readonly conflictWaitHost: ConflictWaitHost;

  constructor(
    private readonly node: SimNode,
    readonly range: SimRange,
  ) {
    this.timestampCache = new TimestampCache(node.clock.now());
    this.conflictWaitHost = {
      rangeId: range.rangeId,
      log: SILENT,
      nowMs: node.physicalMs,
      clockNow: () => node.clock.now(),
      pushTxn: (request, deadlineMs) => node.pushTxn(request, deadlineMs),
      queryTxn: (anchorKey, txnId, deadlineMs) => node.queryTxn(anchorKey, txnId, deadlineMs),
      send: (request, deadlineMs) => this.send(request, deadlineMs),
      recoverTxn: (record, deadlineMs) => node.recoverTxn(record, deadlineMs),
    };
  }

  private get rangeId(): number {
    return this.range.rangeId;
  }

  async send(request: kvpb.BatchRequest, deadlineMs: number): Promise<kvpb.BatchResponse> {
    this.checkKeys(request.requests);
    if (request.requests.length > 1 && request.requests.some((r) => r.request?.$case === 'pushTxn')) {
      throw new InvalidArgumentError('pushTxn must be alone in its batch');
    }
    this.observeTimestamps(request.header);
    let forcePush = false;
    for (;;) {
      const outcome = await this.evaluateAndApply(request, deadlineMs, forcePush);
      switch (outcome.kind) {
        case 'done':
          return outcome.response;
        case 'conflict':
          await waitForConflict(this.conflictWaitHost, outcome.error, outcome.waits, request, deadlineMs);
          break;
        case 'pushWait':
          forcePush = await waitForPushee(this.conflictWaitHost, outcome.push, outcome.wait, deadlineMs);
          break;
        case 'recover':
          await this.conflictWaitHost.recoverTxn(outcome.record, deadlineMs);
          break;
      }
    }
  }

  /** This node lost the lease: waiters retry and are sent to the new leaseholder. */
  releaseWaiters(): void {
    this.lockWaits.releaseAll();
    this.txnWaits.releaseAll();
  }

  private checkKeys(requests: readonly kvpb.RequestUnion[]): void {
    const desc = this.range.desc;
    for (const { request } of requests) {
      if (request === undefined) throw new InvalidArgumentError('empty request in batch');
      const { start, end } = requestSpan(request);
      if (Buffer.compare(start, desc.startKey) < 0 || Buffer.compare(end, desc.endKey) > 0) {
        throw new RangeKeyMismatchError(this.rangeId, [desc]);
      }
    }
  }

  private observeTimestamps(header: kvpb.BatchHeader | undefined): void {
    const ts = header?.txn?.meta?.writeTimestamp ?? header?.timestamp;
    if (ts === undefined) return;
    try {
      this.node.clock.update(ts);
    } catch {
      // Beyond the clock offset: ignored, as Replica does (with a warning).
    }
  }

  private notLeaseholder(): NotLeaseholderError {
    const lead = this.range.leader;
    return new NotLeaseholderError(this.rangeId, lead !== this.node.nodeId ? this.node.directory(lead) : undefined);
  }

  private async waitForLease(deadlineMs: number): Promise<void> {
    const giveUpAt = Math.min(deadlineMs, this.node.physicalMs() + LEASE_WAIT_MS);
    for (;;) {
      if (this.range.isLeaseholder(this.node.nodeId)) return;
      if (this.range.leader !== this.node.nodeId) throw this.notLeaseholder();
      const now = this.node.physicalMs();
      if (now >= giveUpAt) {
        if (now >= deadlineMs) throw new UnavailableError(`range ${this.rangeId}: no lease could be obtained before the deadline`);
        throw this.notLeaseholder();
      }
      await this.range.waitForChange(giveUpAt - now);
    }
  }

  private async evaluateAndApply(request: kvpb.BatchRequest, deadlineMs: number, forcePush: boolean): Promise<EvaluationOutcome> {
    await this.waitForLease(deadlineMs);
    const header = request.header;
    const txn = header?.txn;
    const guard = await this.acquireLatches(declareSpans(request.requests, txn), deadlineMs);
    let releaseNow = true;
    try {
      if (!this.range.isLeaseholder(this.node.nodeId)) throw this.notLeaseholder();
      this.maybeResetTimestampCache();
      const desc = this.range.desc;
      const now = this.node.clock.now();
      const closed = this.nextClosedTimestamp(now);
      let result: EvaluateResult;
      try {
        result = evaluateBatch(this.range.engine, request.requests, {
          timestamp: header?.timestamp ?? now,
          maxKeys: Number(header?.maxKeys ?? 0n),
          maxBytes: Number(header?.maxBytes ?? 0n),
          txn,
          canForwardReadTimestamp: header?.canForwardReadTimestamp === true,
          minWriteTimestamp: this.timestampCache.minWriteTimestampForBatch(request.requests, txn?.meta?.id, closed),
          now,
          rangeSpan: { start: Buffer.from(desc.startKey), end: Buffer.from(desc.endKey) },
          forcePush,
        });
      } catch (err) {
        if (err instanceof WriteIntentError && err.intents.length > 0) {
          const key = (err.intents[0] as IntentConflict).key;
          return { kind: 'conflict', error: err, waits: [this.lockWaits.wait(key)] };
        }
        throw err;
      }
      this.timestampCache.recordBatchReads(
        request.requests,
        result.txn?.readTimestamp ?? result.timestamp,
        result.txn?.meta?.writeTimestamp,
        txn?.meta?.id,
      );
      if (result.pushMustWait === true) {
        const push = (request.requests[0]?.request as Extract<kvpb.RequestUnion['request'], { $case: 'pushTxn' }>).value;
        return { kind: 'pushWait', push, wait: this.txnWaits.wait(push.pushee?.id ?? Buffer.alloc(0), this.pusherToken(push)) };
      }
      if (result.pushNeedsRecovery !== undefined) return { kind: 'recover', record: result.pushNeedsRecovery };
      // Waiters are found by the ID asked about: a transaction that has no record yet
      // (its commit still waiting, say) is pushed, and waits, all the same.
      result.responses.forEach((response, i) => {
        const asked = request.requests[i]?.request;
        if (response.response?.$case === 'queryTxn' && asked?.$case === 'queryTxn') {
          response.response.value.waitingTxnIds = this.txnWaits.waitingOn(Buffer.from(asked.value.txnId));
        }
      });
      if (result.writes.length > 0) {
        this.node.clock.forward(result.highestTimestamp);
        if (compareTimestamps(closed, this.closedProposed) > 0) this.closedProposed = closed;
        const applied = this.range.propose(this.range.lease.sequence, result.writes, result.highestTimestamp, closed);
        releaseNow = false;
        applied.then(
          () => {
            guard.release();
            this.afterApplied(result);
          },
          () => guard.release(),
        );
        await withDeadline(
          applied,
          deadlineMs,
          () => new UnavailableError(`range ${this.rangeId}: the write was not replicated before the deadline`),
          this.node.physicalMs,
        );
        if (txn === undefined || request.requests.some((r) => r.request?.$case === 'endTxn')) {
          await commitWait(result.highestTimestamp, this.node.physicalMs);
        }
      }
      const response: kvpb.BatchResponse = { responses: result.responses, timestamp: result.timestamp };
      if (result.txn !== undefined) response.txn = result.txn;
      return { kind: 'done', response };
    } finally {
      if (releaseNow) guard.release();
    }
  }

  private afterApplied(result: EvaluateResult): void {
    for (const span of result.releasedSpans ?? []) this.lockWaits.release(span.startKey, span.endKey);
    for (const record of result.changedRecords ?? []) {
      const id = record.meta?.id;
      if (id !== undefined) this.txnWaits.notify(id);
    }
    for (const pending of result.pendingResolutions ?? []) this.node.intentResolver.enqueue(pending);
  }

  private maybeResetTimestampCache(): void {
    const sequence = this.range.lease.sequence;
    if (sequence === this.timestampCacheLease) return;
    this.timestampCacheLease = sequence;
    const now = this.node.clock.now();
    this.timestampCache.reset({ wallTime: now.wallTime + this.node.clock.maxOffsetNanos, logical: now.logical });
  }

  private nextClosedTimestamp(now: Timestamp): Timestamp {
    return closedTimestampFor(now, CLOSED_TIMESTAMP_TARGET_MS, this.closedProposed, this.range.closedApplied);
  }

  private pusherToken(push: kvpb.PushTxnRequest): string {
    const id = push.pusher?.meta?.id;
    return id !== undefined ? id.toString('hex') : `request-${this.nextPusherToken++}`;
  }


  private acquireLatches(spans: ReturnType<typeof declareSpans>, deadlineMs: number): Promise<LatchGuard> | LatchGuard {
    const granted = this.latches.tryAcquire(spans);
    if (granted !== undefined) return granted;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Math.max(1, deadlineMs - this.node.physicalMs()));
    return this.latches.acquire(spans, controller.signal).then(
      (guard) => {
        clearTimeout(timer);
        return guard;
      },
      () => {
        throw new UnavailableError(`range ${this.rangeId}: waited past the deadline for conflicting requests`);
      },
    );
  }
}

/** A storage node: its clock, its view of each range, and its own KV client for pushes and resolution. */
export class SimNode {
  readonly address: string;
  private readonly servers = new Map<number, RangeServer>();
  readonly intentResolver: IntentResolver;
  private kvClient: KvClient | undefined;

  constructor(
    readonly nodeId: number,
    readonly clock: HybridLogicalClock,
    /** This node's physical clock, in Unix ms (offset from true time). */
    readonly physicalMs: () => number,
    private readonly ranges: readonly SimRange[],
    readonly directory: (nodeId: number) => kvpb.NodeDescriptor | undefined,
    private readonly trace?: (line: string) => void,
  ) {
    this.address = `n${nodeId}:26258`;
    this.intentResolver = new IntentResolver(() => this.kvClient, SILENT);
  }

  attachKv(kv: KvClient): void {
    this.kvClient = kv;
  }

  server(range: SimRange): RangeServer {
    let server = this.servers.get(range.rangeId);
    if (server === undefined) {
      server = new RangeServer(this, range);
      this.servers.set(range.rangeId, server);
    }
    return server;
  }

  /** Node-server's serveBatch and Store.send: errors become the response's error. */
  async serve(request: kvpb.BatchRequest): Promise<kvpb.BatchResponse> {
    try {
      const rangeId = Number(request.header?.rangeId ?? 0n);
      const range = this.ranges.find((r) => r.rangeId === rangeId);
      if (range === undefined) throw new RangeNotFoundError(rangeId);
      const deadline = Number(request.header?.deadlineUnixMs ?? 0n);
      const response = await this.server(range).send(request, deadline > 0 ? deadline : this.physicalMs() + 10_000);
      if (this.trace !== undefined) this.trace(`n${this.nodeId} ${describeBatch(request)} -> ${describeResponse(response)}`);
      return response;
    } catch (err) {
      const error = errorToProto(err, failedRequestIndex(err));
      if (this.trace !== undefined) this.trace(`n${this.nodeId} ${describeBatch(request)} -> ${error.code} ${error.message}`);
      return { responses: [], error };
    }
  }

  async pushTxn(request: kvpb.PushTxnRequest, deadlineMs: number): Promise<kvpb.Transaction> {
    const [response] = await this.kv().batch([{ request: { $case: 'pushTxn', value: request } }], { deadlineUnixMs: deadlineMs });
    const r = response?.response;
    if (r?.$case !== 'pushTxn' || r.value.pushee === undefined) throw new UnavailableError('pushTxn got no pushee back');
    return r.value.pushee;
  }

  recoverTxn(record: kvpb.Transaction, deadlineMs: number): Promise<void> {
    return recoverStagedTxn(this.kv(), record, deadlineMs, SILENT);
  }

  async queryTxn(anchorKey: Buffer, txnId: Buffer, deadlineMs: number): Promise<kvpb.QueryTxnResponse> {
    const [response] = await this.kv().batch([{ request: { $case: 'queryTxn', value: { key: anchorKey, txnId } } }], { deadlineUnixMs: deadlineMs });
    const r = response?.response;
    if (r?.$case !== 'queryTxn') throw new UnavailableError('queryTxn got no answer');
    return r.value;
  }

  private kv(): KvClient {
    assert(this.kvClient !== undefined, 'a node has its KV client before it serves');
    return this.kvClient;
  }
}


function ts(t: Timestamp | undefined): string {
  return t === undefined ? '-' : formatTimestamp(t);
}

function describeBatch(request: kvpb.BatchRequest): string {
  const h = request.header;
  const txn = h?.txn;
  const who =
    txn?.meta === undefined
      ? `ts=${ts(h?.timestamp)}`
      : `txn ${txn.meta.id.toString('hex').slice(0, 8)} e${txn.meta.epoch} r=${ts(txn.readTimestamp)} w=${ts(txn.meta.writeTimestamp)}${h?.canForwardReadTimestamp === true ? ' fwd' : ''}`;
  const reqs = request.requests.map(({ request: r }) => {
    if (r === undefined) return '?';
    const span = requestSpan(r);
    let extra = '';
    if (r.$case === 'endTxn') extra = `(commit=${r.value.commit} refresh=${r.value.refreshSpans.length} locks=${r.value.lockSpans.length})`;
    if (r.$case === 'pushTxn') extra = `(${r.value.pusher?.meta?.id.toString('hex').slice(0, 8) ?? '-'}->${r.value.pushee?.id.toString('hex').slice(0, 8)} type=${r.value.pushType} to=${ts(r.value.pushTo)})`;
    if (r.$case === 'resolveIntent') extra = `(${r.value.txn?.meta?.id.toString('hex').slice(0, 8)} ${r.value.txn?.status} ${ts(r.value.txn?.meta?.writeTimestamp)})`;
    if (r.$case === 'refresh' || r.$case === 'refreshRange') extra = `(from ${ts(r.value.refreshFrom)})`;
    return `${r.$case} ${prettyKey(span.start)}${extra}`;
  });
  return `r${h?.rangeId} ${who} [${reqs.join(', ')}]`;
}

function describeResponse(response: kvpb.BatchResponse): string {
  const txn = response.txn;
  const parts = response.responses.map(({ response: r }) => {
    if (r === undefined) return '?';
    switch (r.$case) {
      case 'get':
        return `get=${r.value.value?.value.toString() ?? '-'}@${ts(r.value.value?.timestamp)}`;
      case 'scan':
        return `scan=${r.value.rows.map((row) => row.value.toString()).join('|')}`;
      case 'endTxn':
        return `endTxn ${r.value.txn?.status} ${ts(r.value.txn?.meta?.writeTimestamp)} 1pc=${r.value.onePhaseCommit}`;
      case 'pushTxn':
        return `pushee ${r.value.pushee?.status} ${ts(r.value.pushee?.meta?.writeTimestamp)}`;
      case 'queryTxn':
        return `queryTxn ${r.value.txn?.status ?? 'none'} waiting=${r.value.waitingTxnIds.map((id) => id.toString('hex').slice(0, 8)).join('|')}`;
      default:
        return r.$case;
    }
  });
  return `ok ts=${ts(response.timestamp)}${txn === undefined ? '' : ` txn r=${ts(txn.readTimestamp)} w=${ts(txn.meta?.writeTimestamp)}`} [${parts.join(', ')}]`;
}
