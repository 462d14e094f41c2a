import { assert, CairnError, InvalidArgumentError } from '../../common/errors';
import type { HybridLogicalClock, Timestamp } from '../../common/hlc';
import { compareTimestamps } from '../../common/hlc';
import { prettyKey } from '../../common/keys';
import type { Logger } from '../../common/logging';
import type { Span } from '../../common/tracing';
import { NO_SPAN, endSpan, inChildSpan, startChildSpan, traceparentOf } from '../../common/tracing';
import { isAdminRequest, NotLeaseholderError, RangeKeyMismatchError, requestSpan, UnavailableError } from '../../kv';
import * as kvpb from '../../proto/gen/cairn/kv/v1/kv';
import * as cmdpb from '../../proto/gen/cairn/node/v1/command';
import type { ConfChange, ConfState, Entry, Message, ReadState, Snapshot, SoftState } from '../raft';
import { confChangeContext, confChangeProblem, decodeConfChange, ProposalDroppedError, RaftNode } from '../raft';
import type { Engine, IntentConflict, WriteBatch } from '../storage';
import { computeStats, forEachInSpan, replicatedSpans, WriteIntentError } from '../storage';
import type { RaftLogWriter } from '../store/raft-log-writer';
import type { RaftMetrics } from '../store/raft-metrics';
import type { ConflictWaitHost } from './conflict-waits';
import { LOCK_WAIT_MARGIN_MS, waitForConflict, waitForPushee } from './conflict-waits';
import type { EvaluateResult, PendingResolution } from './evaluate-batch';
import { isMergeable, mergeCommands, mergeRuns } from './command-merge';
import { declareSpans, evaluateBatch, isReadOnly } from './evaluate-batch';
import { LatchManager } from './latch-manager';
import type { LatchGuard } from './latch-manager';
import type { LockWait } from './lock-wait-queue';
import { LockWaitQueue, TxnWaitQueue } from './lock-wait-queue';
import { RaftGroup } from './raft-group';
import { RaftLogStore } from './raft-log-store';
import type { RaftTiming } from './raft-timing';
import { appliedIndexKey, decodeAppliedIndex, descriptorKey, encodeAppliedIndex, leaseKey } from './range-keys';
import { TimestampCache } from './timestamp-cache';
import { BatchTooLargeError } from '../storage/errors';
import { encodeProto } from '../../common/encoding';

/** The largest command a replica proposes: well under the engine's 16 MiB value limit, which bounds a log entry. */
export const MAX_COMMAND_BYTES = 12 * 1024 * 1024;

/** What a replica needs from the store that hosts it. */
export interface ReplicaHost {
  readonly nodeId: number;
  readonly engine: Engine;
  readonly clock: HybridLogicalClock;
  readonly writer: RaftLogWriter;
  readonly timing: RaftTiming;
  readonly raftMetrics: RaftMetrics;
  readonly log: Logger;
  sendRaft(toNode: number, rangeId: number, message: Message): void;
  nodeDescriptor(nodeId: number): kvpb.NodeDescriptor | undefined;
  /** The split at `right.startKey` applied here: host the new right-hand range. */
  onSplitApplied(left: kvpb.RangeDescriptor, right: kvpb.RangeDescriptor, campaign: boolean): void;
  /** This replica was removed from its range: destroy it. */
  onRemoved(replica: Replica): void;
  onLeaseChanged(replica: Replica): void;
  /** This replica handed its lease to another. */
  onLeaseTransferred(replica: Replica): void;
  onFatal(err: unknown): void;
  /** Sends a PushTxn to the pushee's record (wherever its range is); resolves with the pushee. */
  pushTxn(request: kvpb.PushTxnRequest, deadlineMs: number): Promise<kvpb.Transaction>;
  /** Reads a transaction's record and who waits on it, wherever its range is. */
  queryTxn(anchorKey: Buffer, txnId: Buffer, deadlineMs: number): Promise<kvpb.QueryTxnResponse>;
  /** A finalized transaction's intents on other ranges, to resolve in the background. */
  resolveIntentsLater(pending: PendingResolution): void;
  /** Decides a STAGING transaction (conflict-waits.ts recoverStagedTxn). */
  recoverTxn(record: kvpb.Transaction, deadlineMs: number): Promise<void>;
  /** How far behind now a leaseholder closes timestamps (DESIGN.md §7; default 3 s). */
  readonly closedTimestampTargetMs: number;
  /** Entries one command looks at refreshing reads (evaluate-batch.ts MAX_REFRESH_ENTRIES_PER_COMMAND). */
  readonly maxRefreshEntriesPerCommand: number;
  /** A read was served here by a follower (for metrics). */
  countFollowerRead(): void;
  /** A request here waited this long for another transaction's lock (for metrics). */
  observeLockWait(seconds: number): void;
}

/** How long a request waits for a lease to appear before telling the client to look elsewhere. */
const LEASE_WAIT_MS = 2_000;
/** Raft entries kept behind the applied index when the log is truncated. */
const LOG_ENTRIES_KEPT = 200;
const LOG_TRUNCATE_EVERY = 1_000;
/** A leaseholder with nothing to propose proposes an empty command this often, to close timestamps. */
const CLOSED_TIMESTAMP_REFRESH_MS = 1_000;

interface TurnProposal {
  readonly command: cmdpb.RaftCommand;
  readonly span: Span;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

interface Waiter {
  readonly resolve: () => void;
}

export interface ReplicaStats {
  readonly liveBytes: number;
  readonly liveCount: number;
  readonly totalBytes: number;
}

function descriptorContains(desc: kvpb.RangeDescriptor, key: Uint8Array): boolean {
  return Buffer.compare(key, desc.startKey) >= 0 && Buffer.compare(key, desc.endKey) < 0;
}

function voters(desc: kvpb.RangeDescriptor): number[] {
  return desc.replicas.filter((r) => r.type === kvpb.ReplicaType.REPLICA_TYPE_VOTER).map((r) => Number(r.nodeId));
}

function learners(desc: kvpb.RangeDescriptor): number[] {
  return desc.replicas.filter((r) => r.type === kvpb.ReplicaType.REPLICA_TYPE_LEARNER).map((r) => Number(r.nodeId));
}

export function confStateOf(desc: kvpb.RangeDescriptor): ConfState {
  return { voters: voters(desc).sort((a, b) => a - b), learners: learners(desc).sort((a, b) => a - b) };
}

/** The descriptor after a membership change: the same rule on every replica. */
export function applyConfChangeToDescriptor(desc: kvpb.RangeDescriptor, cc: ConfChange): kvpb.RangeDescriptor {
  const others = desc.replicas.filter((r) => Number(r.nodeId) !== cc.node);
  const replicas =
    cc.type === 'removeNode'
      ? others
      : [
          ...others,
          {
            nodeId: BigInt(cc.node),
            type: cc.type === 'addVoter' ? kvpb.ReplicaType.REPLICA_TYPE_VOTER : kvpb.ReplicaType.REPLICA_TYPE_LEARNER,
          },
        ].sort((a, b) => Number(a.nodeId - b.nodeId));
  return { rangeId: desc.rangeId, startKey: desc.startKey, endKey: desc.endKey, replicas, generation: desc.generation + 1n };
}

/**
 * One replica of a range on this node: a Raft group member whose state machine is the
 * range's slice of the MVCC engine. The Raft leader takes the range's lease (a leader
 * lease, see OVERVIEW.md) and is the only replica that evaluates requests: it turns a
 * batch into the engine writes it makes, proposes them, and answers once they apply.
 * Overlapping requests are serialized by latches from evaluation until their writes
 * apply.
 */
export class Replica {
  private descriptorValue: kvpb.RangeDescriptor | undefined;
  private leaseValue: kvpb.Lease | undefined;
  private appliedIndexValue: number;
  private readonly raftLog: RaftLogStore;
  private readonly node: RaftNode;
  private readonly group: RaftGroup;
  private readonly latches = new LatchManager();
  private readonly lockWaits = new LockWaitQueue();
  private readonly txnWaits = new TxnWaitQueue();
  private readonly timestampCache: TimestampCache;
  private readonly conflictWaitHost: ConflictWaitHost;
  /** The lease sequence the timestamp cache was started for. */
  private timestampCacheLease = -1n;
  private nextPusherToken = 1;
  /** The closed timestamp as of the applied index: followers serve reads at or below it. */
  private closedApplied: Timestamp = { wallTime: 0n, logical: 0 };
  /** The highest closed timestamp this leaseholder proposed (its writes stay above it). */
  private closedProposed: Timestamp = { wallTime: 0n, logical: 0 };
  /** Commands evaluated this turn, proposed together at its end (proposeThisTurn). */
  private turnProposals: TurnProposal[] = [];
  private turnFlush: NodeJS.Immediate | undefined;
  private lastProposalMs = 0;
  private softState: SoftState = { lead: 0, state: 'follower' };
  private leaderTerm = 0;
  /** The lease is valid until this Date.now() value (the last quorum confirmation, plus the safe window). */
  private leaseConfirmedUntilMs = 0;
  private leaseProposalPending = false;
  private readonly leaseChecks = new Map<string, number>();
  private nextLeaseCheck = 1;
  private waiters: Waiter[] = [];
  /** Proposals of this replica whose commands were rejected as they applied, by index. */
  private readonly rejected = new Map<number, string>();
  private readonly proposedIndexes = new Set<number>();
  private pendingSnapshot: cmdpb.RangeSnapshot | undefined;
  private lastTruncateIndex = 0;
  private destroyed = false;

  private constructor(
    private readonly host: ReplicaHost,
    readonly rangeId: number,
    initialConfState: ConfState | undefined,
  ) {
    const engine = host.engine;
    const rawDesc = engine.get(descriptorKey(rangeId));
    this.descriptorValue = rawDesc === undefined ? undefined : kvpb.RangeDescriptor.decode(rawDesc);
    const rawLease = engine.get(leaseKey(rangeId));
    this.leaseValue = rawLease === undefined ? undefined : kvpb.Lease.decode(rawLease);
    const rawApplied = engine.get(appliedIndexKey(rangeId));
    this.appliedIndexValue = rawApplied === undefined ? 0 : decodeAppliedIndex(rawApplied);
    this.timestampCache = new TimestampCache(host.clock.now());
    this.conflictWaitHost = {
      rangeId,
      log: host.log,
      nowMs: () => Date.now(),
      clockNow: () => host.clock.now(),
      pushTxn: (request, deadlineMs) => host.pushTxn(request, deadlineMs),
      queryTxn: (anchorKey, txnId, deadlineMs) => host.queryTxn(anchorKey, txnId, deadlineMs),
      send: (request, deadlineMs) => this.send(request, deadlineMs),
      recoverTxn: (record, deadlineMs) => host.recoverTxn(record, deadlineMs),
    };
    this.raftLog = RaftLogStore.open(engine, rangeId, initialConfState);
    this.raftLog.useSnapshotSource(() => this.buildSnapshot());
    this.lastTruncateIndex = this.raftLog.firstIndex();
    const { timing } = host;
    this.node = new RaftNode({
      id: host.nodeId,
      storage: this.raftLog,
      random: Math.random,
      electionTicks: timing.electionTicks,
      electionJitterTicks: timing.electionJitterTicks,
      heartbeatTicks: timing.heartbeatTicks,
      deferCommitNotices: true,
    });
    this.group = new RaftGroup({
      groupId: rangeId,
      node: this.node,
      log: this.raftLog,
      writer: host.writer,
      metrics: host.raftMetrics,
      send: (message) => host.sendRaft(message.to, rangeId, message),
      apply: (entries, snapshot) => this.apply(entries, snapshot),
      stageSnapshot: (batch, snapshot) => this.stageSnapshot(batch, snapshot),
      onSoftState: (state) => this.onSoftState(state),
      onReadStates: (states) => this.onReadStates(states),
      onFatal: (err) => host.onFatal(err),
    });
  }

  /** Opens a replica from what the engine holds (possibly nothing: an uninitialized replica). */
  static load(host: ReplicaHost, rangeId: number): Replica {
    return new Replica(host, rangeId, undefined);
  }

  /**
   * Stages the state of a new range (at bootstrap or on the right of a split): its
   * descriptor, an empty lease, the applied index of the bootstrap entry, and a Raft log
   * that starts from a snapshot holding the initial membership.
   */
  static stageNewRange(engine: Engine, batch: WriteBatch, desc: kvpb.RangeDescriptor): void {
    const rangeId = Number(desc.rangeId);
    batch.put(descriptorKey(rangeId), kvpb.RangeDescriptor.encode(desc).finish());
    batch.put(appliedIndexKey(rangeId), encodeAppliedIndex(1));
    RaftLogStore.open(engine, rangeId, confStateOf(desc)).stageBootstrap(batch);
  }

  get descriptor(): kvpb.RangeDescriptor | undefined {
    return this.descriptorValue;
  }

  get lease(): kvpb.Lease | undefined {
    return this.leaseValue;
  }

  get appliedIndex(): number {
    return this.appliedIndexValue;
  }

  get isInitialized(): boolean {
    return this.descriptorValue !== undefined;
  }

  /** The Raft leader this replica knows of, or 0. */
  get raftLeader(): number {
    return this.softState.lead;
  }

  /** Raft's view of the group here (for status pages; builds a status, so not per request). */
  get raftStatus(): { readonly lead: number; readonly state: string; readonly term: number } {
    return { lead: this.softState.lead, state: this.softState.state, term: this.node.status().term };
  }

  containsKey(key: Uint8Array): boolean {
    return this.descriptorValue !== undefined && descriptorContains(this.descriptorValue, key);
  }

  /** Whether this replica holds a valid lease now. */
  isLeaseholder(nowMs = Date.now()): boolean {
    const lease = this.leaseValue;
    return (
      this.softState.state === 'leader' &&
      lease !== undefined &&
      Number(lease.nodeId) === this.host.nodeId &&
      Number(lease.term) === this.leaderTerm &&
      nowMs < this.leaseConfirmedUntilMs
    );
  }

  tick(): void {
    if (this.softState.state === 'leader' && !this.destroyed) this.checkLeadership();
    this.group.tick();
    if (this.softState.state !== 'leader' || this.destroyed) {
      return;
    }
    this.maybeAcquireLease();
    this.maybeCloseTimestamp();
  }

  /**
   * Confirms leadership with a quorum every tick: the lease stays valid for a safe
   * window after each confirmation (see leaseWindowMs). Asked just before the tick, the
   * confirmation rides the tick's heartbeat round rather than sending one of its own.
   */
  private checkLeadership(): void {
    const context = `lease:${this.nextLeaseCheck++}`;
    this.leaseChecks.set(context, Date.now());
    try {
      this.node.readIndex(context, { withNextHeartbeat: true });
    } catch {
      this.leaseChecks.delete(context);
    }
    if (this.leaseChecks.size > 64) {
      const oldest = this.leaseChecks.keys().next().value;
      if (oldest !== undefined) this.leaseChecks.delete(oldest);
    }
  }

  /** The closed timestamp as of the applied index. */
  get closedTimestamp(): Timestamp {
    return this.closedApplied;
  }

  /**
   * The timestamp the next command will close: `now` minus the target, never below
   * what was closed before. Writes evaluated for that command land above it.
   */
  private nextClosedTimestamp(now: Timestamp): Timestamp {
    return closedTimestampFor(now, this.host.closedTimestampTargetMs, this.closedProposed, this.closedApplied);
  }

  /** An idle leaseholder proposes an empty command now and then, so its closed timestamp moves on. */
  private maybeCloseTimestamp(): void {
    if (Date.now() - this.lastProposalMs < CLOSED_TIMESTAMP_REFRESH_MS || !this.isLeaseholder()) return;
    const lease = this.leaseValue;
    if (lease === undefined) return;
    const closed = this.nextClosedTimestamp(this.host.clock.now());
    this.proposeCommand({ leaseSequence: lease.sequence, writes: [], closedTimestamp: closed }).catch(() => undefined);
  }

  step(message: Message): void {
    this.group.step(message);
  }

  reportUnreachable(nodeId: number): void {
    this.group.reportUnreachable(nodeId);
  }

  reportSnapshot(nodeId: number, ok: boolean): void {
    this.group.reportSnapshot(nodeId, ok);
  }

  campaign(): void {
    this.group.campaign();
  }

  /**
   * How long a confirmed leader may serve from its lease: no other member can win an
   * election before its election timeout has passed since it last heard from this
   * leader, less one tick for timer granularity and the clock offset allowance.
   */
  private leaseWindowMs(): number {
    const { timing } = this.host;
    const electionMs = timing.electionTicks * timing.tickMs;
    return electionMs - timing.tickMs - Number(this.host.clock.maxOffsetNanos / 1_000_000n);
  }

  private onReadStates(states: readonly ReadState[]): void {
    let confirmed = false;
    for (const state of states) {
      const sentAt = this.leaseChecks.get(state.requestContext);
      if (sentAt !== undefined) {
        // A confirmation of one check confirms every earlier one too.
        for (const context of this.leaseChecks.keys()) {
          this.leaseChecks.delete(context);
          if (context === state.requestContext) break;
        }
        this.leaseConfirmedUntilMs = Math.max(this.leaseConfirmedUntilMs, sentAt + this.leaseWindowMs());
        confirmed = true;
      }
    }
    if (confirmed) {
      this.notifyWaiters();
    }
  }

  private onSoftState(state: SoftState): void {
    const wasLeader = this.softState.state === 'leader';
    this.softState = state;
    if (state.state === 'leader' && !wasLeader) {
      this.leaderTerm = this.node.status().term;
      this.leaseConfirmedUntilMs = 0;
      this.leaseChecks.clear();
      this.maybeAcquireLease();
    } else if (state.state !== 'leader') {
      this.leaseConfirmedUntilMs = 0;
      this.leaseChecks.clear();
      // Waiters retry and are sent to the new leaseholder.
      this.lockWaits.releaseAll();
      this.txnWaits.releaseAll();
    }
    this.host.onLeaseChanged(this);
    this.notifyWaiters();
  }

  /** A new leader proposes a lease for its term; once it applies, the leader serves. */
  private maybeAcquireLease(): void {
    const lease = this.leaseValue;
    if (
      this.softState.state !== 'leader' ||
      this.leaseProposalPending ||
      (lease !== undefined && Number(lease.term) === this.leaderTerm && Number(lease.nodeId) === this.host.nodeId)
    ) {
      return;
    }
    const command: cmdpb.RaftCommand = {
      leaseSequence: 0n,
      writes: [],
      lease: { nodeId: BigInt(this.host.nodeId), term: BigInt(this.leaderTerm), start: this.host.clock.now(), sequence: 0n },
    };
    this.leaseProposalPending = true;
    let proposal: Promise<unknown>;
    try {
      proposal = this.group.propose(encodeProto(cmdpb.RaftCommand, command));
    } catch {
      this.leaseProposalPending = false;
      return;
    }
    proposal.then(
      () => {
        this.leaseProposalPending = false;
      },
      () => {
        this.leaseProposalPending = false;
      },
    );
  }

  private notifyWaiters(): void {
    const waiters = this.waiters;
    if (waiters.length === 0) return;
    this.waiters = [];
    for (const waiter of waiters) waiter.resolve();
  }

  /** Resolves on the next change of lease or Raft role, or after `ms`. */
  private waitForChange(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, ms));
      this.waiters.push({
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  private notLeaseholder(): NotLeaseholderError {
    const lead = this.softState.lead;
    const hint = lead !== 0 && lead !== this.host.nodeId ? this.host.nodeDescriptor(lead) : undefined;
    return new NotLeaseholderError(this.rangeId, hint);
  }

  /** Waits until this replica holds a valid lease, or throws where to go instead. */
  private async waitForLease(deadlineMs: number): Promise<void> {
    const giveUpAt = Math.min(deadlineMs, Date.now() + LEASE_WAIT_MS);
    for (;;) {
      if (this.destroyed) {
        throw new UnavailableError(`range ${this.rangeId}: the replica was removed from this node`);
      }
      if (this.isLeaseholder()) return;
      const lead = this.softState.lead;
      if (lead !== 0 && lead !== this.host.nodeId) {
        throw this.notLeaseholder();
      }
      const now = Date.now();
      if (now >= giveUpAt) {
        if (now >= deadlineMs) {
          throw new UnavailableError(`range ${this.rangeId}: no lease could be obtained before the deadline (no quorum?)`);
        }
        throw this.notLeaseholder();
      }
      await this.waitForChange(giveUpAt - now);
    }
  }

  private checkKeys(requests: readonly kvpb.RequestUnion[]): void {
    const desc = this.descriptorValue;
    assert(desc !== undefined, 'an uninitialized replica serves no requests');
    for (const { request } of requests) {
      if (request === undefined) {
        throw new InvalidArgumentError('empty request in batch');
      }
      const { start, end } = requestSpan(request);
      if (Buffer.compare(start, desc.startKey) < 0 || Buffer.compare(end, desc.endKey) > 0) {
        throw new RangeKeyMismatchError(this.rangeId, [desc]);
      }
    }
  }

  /** Serves a batch whose keys all lie in this range. Throws typed KV errors. */
  async send(request: kvpb.BatchRequest, deadlineMs: number, span: Span = NO_SPAN): Promise<kvpb.BatchResponse> {
    if (this.descriptorValue === undefined) {
      throw new UnavailableError(`range ${this.rangeId} is not initialized on this node yet`);
    }
    this.checkKeys(request.requests);
    const first = request.requests[0]?.request;
    if (first !== undefined && isAdminRequest(first.$case)) {
      if (request.requests.length !== 1) {
        throw new InvalidArgumentError(`${first.$case} must be alone in its batch`);
      }
      return this.sendAdmin(first, deadlineMs);
    }
    if (request.requests.length > 1 && request.requests.some((r) => r.request?.$case === 'pushTxn')) {
      throw new InvalidArgumentError('pushTxn must be alone in its batch');
    }
    this.observeTimestamps(request.header);
    if (request.header?.followerRead === true) {
      const served = await this.maybeServeFollowerRead(request, deadlineMs);
      if (served !== undefined) return served;
    }
    let forcePush = false;
    for (;;) {
      const outcome = await this.evaluateAndApply(request, deadlineMs, forcePush, span);
      switch (outcome.kind) {
        case 'done':
          return outcome.response;
        case 'conflict': {
          const waitStarted = performance.now();
          try {
            await inChildSpan('kv.lock_wait', span, () => waitForConflict(this.conflictWaitHost, outcome.error, outcome.waits, request, deadlineMs), {
              'cairn.range_id': this.rangeId,
              'cairn.lock_holder_txn_id': (outcome.error.intents[0] as IntentConflict).txnId.toString('hex'),
            });
          } finally {
            this.host.observeLockWait((performance.now() - waitStarted) / 1000);
          }
          break;
        }
        case 'pushWait':
          forcePush = await inChildSpan('kv.push_wait', span, () => waitForPushee(this.conflictWaitHost, outcome.push, outcome.wait, deadlineMs), {
            'cairn.range_id': this.rangeId,
          });
          break;
        case 'recover':
          await inChildSpan('kv.recover_txn', span, () => this.conflictWaitHost.recoverTxn(outcome.record, deadlineMs), {
            'cairn.range_id': this.rangeId,
          });
          break;
      }
    }
  }

  /**
   * A historical read-only batch, served here without the lease once the closed
   * timestamp reaches its timestamp (waiting for that, within the deadline). Returns
   * undefined when the leaseholder path should serve it (this replica holds the lease);
   * throws NotLeaseholder (with a hint) when it cannot be served here in time or meets
   * an intent, so the client asks the leaseholder.
   */
  private async maybeServeFollowerRead(request: kvpb.BatchRequest, deadlineMs: number): Promise<kvpb.BatchResponse | undefined> {
    const header = request.header;
    const ts = header?.timestamp;
    if (ts === undefined || header?.txn !== undefined || !isReadOnly(request.requests)) {
      throw new InvalidArgumentError('a follower read is a read-only, non-transactional batch with a timestamp');
    }
    const giveUpAt = deadlineMs - LOCK_WAIT_MARGIN_MS;
    while (compareTimestamps(this.closedApplied, ts) < 0) {
      if (this.isLeaseholder()) return undefined;
      if (this.destroyed || Date.now() >= giveUpAt) throw this.notLeaseholder();
      await this.waitForChange(Math.min(100, giveUpAt - Date.now()));
    }
    if (this.isLeaseholder()) return undefined;
    let result: EvaluateResult;
    try {
      result = evaluateBatch(this.host.engine, request.requests, {
        timestamp: ts,
        maxKeys: Number(header?.maxKeys ?? 0n),
        maxBytes: Number(header?.maxBytes ?? 0n),
      });
    } catch (err) {
      // An intent below the read: only the leaseholder can find out what became of it.
      if (err instanceof WriteIntentError) throw this.notLeaseholder();
      throw err;
    }
    this.host.countFollowerRead();
    return { responses: result.responses, timestamp: result.timestamp };
  }

  /** Moves this node's clock past the request's timestamps (ignoring any beyond the offset). */
  private observeTimestamps(header: kvpb.BatchHeader | undefined): void {
    const ts = header?.txn?.meta?.writeTimestamp ?? header?.timestamp;
    if (ts === undefined) return;
    try {
      this.host.clock.update(ts);
    } catch (err) {
      this.host.log.warn({ err, range: this.rangeId }, 'a request carries a timestamp beyond the clock offset');
    }
  }

  /** One evaluation under latches; writes proposed and awaited. */
  private async evaluateAndApply(request: kvpb.BatchRequest, deadlineMs: number, forcePush: boolean, span: Span): Promise<EvaluationOutcome> {
    await this.waitForLease(deadlineMs);
    const header = request.header;
    const txn = header?.txn;
    const spans = declareSpans(request.requests, txn);
    const latched = this.acquireLatches(spans, deadlineMs);
    const guard = latched instanceof Promise ? await inChildSpan('kv.latch_wait', span, () => latched, { 'cairn.range_id': this.rangeId }) : latched;
    let releaseNow = true;
    try {
      if (!this.isLeaseholder()) {
        throw this.notLeaseholder();
      }
      this.maybeResetTimestampCache();
      const desc = this.descriptorValue;
      assert(desc !== undefined, 'a leaseholder is initialized');
      const now = this.host.clock.now();
      const closed = this.nextClosedTimestamp(now);
      let result: EvaluateResult;
      // Guarded: the attributes would be built for nothing on every untraced batch.
      const evaluation = span === NO_SPAN ? NO_SPAN : startChildSpan('kv.evaluate', span, { 'cairn.range_id': this.rangeId, 'cairn.requests': request.requests.length });
      try {
        result = evaluateBatch(this.host.engine, request.requests, {
          timestamp: header?.timestamp ?? now,
          maxKeys: Number(header?.maxKeys ?? 0n),
          maxBytes: Number(header?.maxBytes ?? 0n),
          txn,
          canForwardReadTimestamp: header?.canForwardReadTimestamp === true,
          minWriteTimestamp: this.timestampCache.minWriteTimestampForBatch(request.requests, txn?.meta?.id, closed),
          now,
          rangeSpan: { start: Buffer.from(desc.startKey), end: Buffer.from(desc.endKey) },
          forcePush,
          descriptor: desc,
          inconsistent: header?.inconsistent === true,
          maxRefreshEntries: this.host.maxRefreshEntriesPerCommand,
          // At this clock's now, a write a previous leaseholder acknowledged may still
          // lie ahead (its clock was ahead): within the offset, the batch reads above it.
          uncertaintyLimit: txn === undefined && header?.timestamp === undefined ? { wallTime: now.wallTime + this.host.clock.maxOffsetNanos, logical: now.logical } : undefined,
        });
        if (evaluation !== NO_SPAN) evaluation.setAttribute('cairn.writes', result.writes.length);
        endSpan(evaluation);
      } catch (err) {
        endSpan(evaluation, err);
        if (err instanceof WriteIntentError && err.intents.length > 0) {
          // Line up behind the lock before the latches go, so its release is not missed.
          const key = (err.intents[0] as IntentConflict).key;
          return { kind: 'conflict', error: err, waits: [this.lockWaits.wait(key)] };
        }
        throw err;
      }
      // An inconsistent read promises nothing to anyone: it leaves no trace.
      if (header?.inconsistent !== true) {
        this.timestampCache.recordBatchReads(
          request.requests,
          result.txn?.readTimestamp ?? result.timestamp,
          result.txn?.meta?.writeTimestamp,
          txn?.meta?.id,
        );
      }
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
      if (result.writes.length > 0 || result.split !== undefined) {
        const lease = this.leaseValue;
        assert(lease !== undefined, 'a leaseholder has a lease');
        const command: cmdpb.RaftCommand = {
          leaseSequence: lease.sequence,
          writes: result.writes,
          timestamp: result.highestTimestamp,
          closedTimestamp: closed,
        };
        if (result.split !== undefined) command.split = result.split;
        // A write placed above the clock (past the timestamp cache's low-water mark)
        // must be visible to the reads this node serves after it.
        this.host.clock.forward(result.highestTimestamp);
        const applied = this.proposeCommand(command, result.changeReplicas, span);
        // Latches stay held until the command applies or fails, even when the caller
        // stops waiting: a later request must see the outcome.
        releaseNow = false;
        applied.then(
          () => {
            guard.release();
            this.afterApplied(result);
          },
          () => guard.release(),
        );
        await withDeadline(applied, deadlineMs, () =>
          new UnavailableError(`range ${this.rangeId}: the write was not replicated before the deadline (no quorum?); its outcome is unknown`),
        );
        if (txn === undefined || request.requests.some((r) => r.request?.$case === 'endTxn')) {
          await commitWait(result.highestTimestamp);
        }
      }
      const response: kvpb.BatchResponse = { responses: result.responses, timestamp: result.timestamp };
      if (result.txn !== undefined) response.txn = result.txn;
      return { kind: 'done', response };
    } finally {
      if (releaseNow) {
        guard.release();
      }
    }
  }

  /** A batch's effects on waiters, once it applied here. */
  private afterApplied(result: EvaluateResult): void {
    for (const span of result.releasedSpans ?? []) {
      this.lockWaits.release(span.startKey, span.endKey);
    }
    for (const record of result.changedRecords ?? []) {
      const id = record.meta?.id;
      if (id !== undefined) this.txnWaits.notify(id);
    }
    for (const pending of result.pendingResolutions ?? []) {
      this.host.resolveIntentsLater(pending);
    }
  }

  /** Starts the timestamp cache afresh under a new lease, above anything the last holder served. */
  private maybeResetTimestampCache(): void {
    const lease = this.leaseValue;
    if (lease === undefined || lease.sequence === this.timestampCacheLease) return;
    this.timestampCacheLease = lease.sequence;
    // The last holder served reads no later than its clock, at most the maximum offset
    // ahead of this one's physical clock. From the physical clock, not this clock's
    // `now`: writes placed above the cache move `now` ahead, and each lease change would
    // add another offset until other nodes refuse the timestamps.
    const clock = this.host.clock;
    const bound = { wallTime: clock.physicalNanos() + clock.maxOffsetNanos, logical: 0 };
    const now = clock.now();
    this.timestampCache.reset(compareTimestamps(now, bound) > 0 ? now : bound);
  }

  private pusherToken(push: kvpb.PushTxnRequest): string {
    const id = push.pusher?.meta?.id;
    return id !== undefined ? id.toString('hex') : `request-${this.nextPusherToken++}`;
  }

  private acquireLatches(spans: ReturnType<typeof declareSpans>, deadlineMs: number): Promise<LatchGuard> | LatchGuard {
    const granted = this.latches.tryAcquire(spans);
    if (granted !== undefined) return granted;
    const remaining = deadlineMs - Date.now();
    const timeout = new UnavailableError(`range ${this.rangeId}: waited past the deadline for conflicting requests`);
    // Leaves the line at the deadline, so a timed-out request holds nobody up.
    return this.latches.acquire(spans, AbortSignal.timeout(Math.max(1, remaining))).catch((err: unknown) => {
      throw err instanceof DOMException || (err as Error)?.name === 'TimeoutError' ? timeout : err;
    });
  }

  /** Proposes a command; resolves once it applied here, rejects if it did not take effect. */
  private async proposeCommand(command: cmdpb.RaftCommand, change?: kvpb.ChangeReplicasTrigger, parent: Span = NO_SPAN): Promise<void> {
    const span = parent === NO_SPAN ? NO_SPAN : startChildSpan('raft.propose', parent, { 'cairn.range_id': this.rangeId, 'cairn.writes': command.writes.length });
    try {
      if (change === undefined && isMergeable(command)) {
        await this.proposeThisTurn(command, span);
      } else {
        // In order behind what this turn proposed before it.
        this.flushTurnProposals();
        await this.proposeAndWait(command, change, [span]);
      }
    } catch (err) {
      endSpan(span, err);
      throw err;
    }
    endSpan(span);
  }

  /**
   * Queues a plain command to go out, at the end of this turn of the event loop, in one
   * entry with the others the turn evaluated (command-merge.ts).
   */
  private proposeThisTurn(command: cmdpb.RaftCommand, span: Span): Promise<void> {
    return new Promise((resolve, reject) => {
      this.turnProposals.push({ command, span, resolve, reject });
      if (this.turnFlush === undefined) this.turnFlush = setImmediate(() => this.flushTurnProposals());
    });
  }

  private flushTurnProposals(): void {
    if (this.turnFlush !== undefined) clearImmediate(this.turnFlush);
    this.turnFlush = undefined;
    const queued = this.turnProposals;
    if (queued.length === 0) return;
    this.turnProposals = [];
    for (const run of mergeRuns(queued)) {
      const merged = mergeCommands(run.map((p) => p.command));
      this.proposeAndWait(merged, undefined, run.map((p) => p.span)).then(
        () => {
          for (const p of run) p.resolve();
        },
        (err: unknown) => {
          for (const p of run) p.reject(err);
        },
      );
    }
  }

  /** `spans`: the requests' `raft.propose` spans, whose traces follow the entry on every member. */
  private async proposeAndWait(command: cmdpb.RaftCommand, change: kvpb.ChangeReplicasTrigger | undefined, spans: readonly Span[]): Promise<void> {
    this.lastProposalMs = Date.now();
    const closed = command.closedTimestamp;
    if (closed !== undefined && compareTimestamps(closed, this.closedProposed) > 0) this.closedProposed = closed;
    let receipt: Promise<{ readonly index: number }>;
    try {
      const data = encodeProto(cmdpb.RaftCommand, command);
      if (data.length > MAX_COMMAND_BYTES) {
        // A Raft entry is one engine value: refuse here, before it could reach the log,
        // rather than have every replica fail to append it.
        throw new BatchTooLargeError(data.length, MAX_COMMAND_BYTES);
      }
      const traceContext = spans.map(traceparentOf).filter((context) => context !== '').join(',');
      receipt = change === undefined ? this.group.propose(data, traceContext || undefined) : this.group.proposeConfChange(confChangeOf(change), data);
    } catch (err) {
      if (err instanceof ProposalDroppedError) {
        if (change !== undefined && err.reason === 'conf-change-pending') {
          throw new UnavailableError(`range ${this.rangeId}: another replica change is in progress; retry`);
        }
        throw this.notLeaseholder();
      }
      throw err;
    }
    const index = this.group.lastProposedIndex;
    for (const span of spans) if (span !== NO_SPAN) span.setAttribute('raft.index', index);
    this.proposedIndexes.add(index);
    try {
      const { index: appliedAt } = await receipt;
      const rejection = this.rejected.get(appliedAt);
      if (rejection !== undefined) {
        this.rejected.delete(appliedAt);
        throw new NotLeaseholderError(this.rangeId, undefined, `range ${this.rangeId}: ${rejection}`);
      }
    } catch (err) {
      if (err instanceof CairnError && err.code === 'RAFT_PROPOSAL_FAILED') {
        throw new NotLeaseholderError(this.rangeId, undefined, `range ${this.rangeId}: the proposal was lost in a leadership change`);
      }
      throw err;
    } finally {
      this.proposedIndexes.delete(index);
      this.rejected.delete(index);
    }
  }

  // ---------------------------------------------------------------------------------
  // Applying the log

  private apply(entries: readonly Entry[], snapshot: Snapshot | undefined): void {
    if (snapshot !== undefined) {
      const state = this.pendingSnapshot;
      this.pendingSnapshot = undefined;
      if (state !== undefined) {
        this.descriptorValue = state.descriptor;
        this.leaseValue = state.lease;
        this.appliedIndexValue = snapshot.metadata.index;
        this.host.log.info({ range: this.rangeId, index: snapshot.metadata.index }, 'applied a snapshot');
        this.host.onLeaseChanged(this);
      }
    }
    if (entries.length === 0) return;
    const engine = this.host.engine;
    const batch = engine.newBatch();
    let desc = this.descriptorValue;
    let lease = this.leaseValue;
    let applied = this.appliedIndexValue;
    const splits: { left: kvpb.RangeDescriptor; right: kvpb.RangeDescriptor }[] = [];
    let leaseChanged = false;
    let removed = false;
    let closedApplied = this.closedApplied;
    /** A command evaluated by a leaseholder: its writes and triggers, if its lease still holds. */
    const applyCommand = (command: cmdpb.RaftCommand, index: number): void => {
      if (lease === undefined || command.leaseSequence !== lease.sequence) {
        // Evaluated under another lease: its reads may be stale. No replica applies it.
        if (this.proposedIndexes.has(index)) {
          this.rejected.set(index, 'the lease changed before the command applied');
        }
        return;
      }
      if (command.closedTimestamp !== undefined && compareTimestamps(command.closedTimestamp, closedApplied) > 0) {
        closedApplied = command.closedTimestamp;
      }
      if (command.timestamp !== undefined) {
        try {
          this.host.clock.update(command.timestamp);
        } catch (err) {
          this.host.log.warn({ err, range: this.rangeId }, 'a command carries a timestamp beyond the clock offset');
        }
      }
      for (const op of command.writes) {
        if (op.delete) {
          batch.delete(op.key);
        } else {
          batch.put(op.key, op.value);
        }
      }
      if (command.split !== undefined && desc !== undefined) {
        const { left, right } = command.split;
        assert(left !== undefined && right !== undefined, 'a split trigger names both sides');
        desc = left;
        batch.put(descriptorKey(this.rangeId), kvpb.RangeDescriptor.encode(left).finish());
        Replica.stageNewRange(engine, batch, right);
        splits.push({ left, right });
      }
    };
    for (const entry of entries) {
      if (entry.index <= applied) continue;
      applied = entry.index;
      if (entry.type === 'confChange') {
        if (desc === undefined) continue;
        const cc = decodeConfChange(entry.data);
        const problem = confChangeProblem(confStateOf(desc), cc);
        const context = confChangeContext(entry.data);
        if (problem !== undefined) {
          // Raft applies it as a no-op on every member; so do the writes riding in it.
          if (this.proposedIndexes.has(entry.index)) this.rejected.set(entry.index, `the replica change did not apply: ${problem}`);
          continue;
        }
        // A replica change made by a transaction carries the commit's writes: they
        // apply with it, or (under a stale lease) not at all, on every replica alike.
        if (context.length > 0) applyCommand(cmdpb.RaftCommand.decode(context), entry.index);
        desc = applyConfChangeToDescriptor(desc, cc);
        batch.put(descriptorKey(this.rangeId), kvpb.RangeDescriptor.encode(desc).finish());
        if (cc.type === 'removeNode' && cc.node === this.host.nodeId) {
          removed = true;
        }
        continue;
      }
      if (entry.data.length === 0) continue;
      const command = cmdpb.RaftCommand.decode(entry.data);
      if (command.lease !== undefined) {
        if (lease === undefined || command.lease.term >= lease.term) {
          lease = {
            nodeId: command.lease.nodeId,
            term: command.lease.term,
            start: command.lease.start,
            sequence: (lease?.sequence ?? 0n) + 1n,
          };
          batch.put(leaseKey(this.rangeId), kvpb.Lease.encode(lease).finish());
          leaseChanged = true;
        } else if (this.proposedIndexes.has(entry.index)) {
          this.rejected.set(entry.index, 'a newer lease was already in place');
        }
        continue;
      }
      applyCommand(command, entry.index);
    }
    batch.put(appliedIndexKey(this.rangeId), encodeAppliedIndex(applied));
    // The write is applied synchronously; its durability rests on the Raft log, which
    // is replayed from the applied index after a crash.
    void engine.write(batch).catch((err: unknown) => this.host.onFatal(err));
    this.descriptorValue = desc;
    this.leaseValue = lease;
    this.appliedIndexValue = applied;
    if (compareTimestamps(closedApplied, this.closedApplied) > 0) {
      this.closedApplied = closedApplied;
      // Follower reads waiting to catch up look again.
      if (!leaseChanged) this.notifyWaiters();
    }
    if (leaseChanged) {
      this.host.onLeaseChanged(this);
      this.notifyWaiters();
    }
    const isLeaseholder = this.softState.state === 'leader';
    for (const { left, right } of splits) {
      this.host.log.info({ range: this.rangeId, right: Number(right.rangeId), splitKey: prettyKey(right.startKey) }, 'split applied');
      this.host.onSplitApplied(left, right, isLeaseholder);
    }
    if (removed) {
      this.host.onRemoved(this);
    }
    this.maybeTruncateLog();
  }

  private maybeTruncateLog(): void {
    const applied = this.appliedIndexValue;
    if (applied - this.lastTruncateIndex < LOG_TRUNCATE_EVERY) return;
    this.lastTruncateIndex = applied;
    const desc = this.descriptorValue;
    if (desc === undefined) return;
    // The membership as of the applied index: the descriptor changes with each applied
    // conf change, before Raft's own view does (at advance).
    const confState = confStateOf(desc);
    void this.host.writer
      .persist((batch) => this.raftLog.stageSnapshotAndCompact(batch, applied, confState, new Uint8Array(0), LOG_ENTRIES_KEPT))
      .catch((err: unknown) => this.host.log.warn({ err, range: this.rangeId }, 'raft log truncation failed'));
  }

  /** The range's state at the applied index, for a member too far behind for the log. */
  private buildSnapshot(): Snapshot {
    const desc = this.descriptorValue;
    assert(desc !== undefined, 'an uninitialized replica has no snapshot to send');
    const entries: cmdpb.WriteOp[] = [];
    const engine = this.host.engine;
    for (const [start, end] of replicatedSpans(desc.startKey, desc.endKey)) {
      forEachInSpan(
        engine,
        start,
        end,
        (key, value) => {
          entries.push({ key: Buffer.from(key), value: Buffer.from(value), delete: false });
        },
        256,
      );
    }
    const data = cmdpb.RangeSnapshot.encode({ descriptor: desc, lease: this.leaseValue, entries }).finish();
    const index = this.appliedIndexValue;
    return {
      metadata: { index, term: this.raftLog.term(index), confState: confStateOf(desc) },
      data,
    };
  }

  /** Stages a snapshot from the leader: the range's data and state replaced whole. */
  private stageSnapshot(batch: WriteBatch, snapshot: Snapshot): void {
    const state = cmdpb.RangeSnapshot.decode(snapshot.data);
    assert(state.descriptor !== undefined, 'a range snapshot carries its descriptor');
    stageClearRangeData(this.host.engine, batch, state.descriptor);
    if (this.descriptorValue !== undefined) {
      stageClearRangeData(this.host.engine, batch, this.descriptorValue);
    }
    for (const op of state.entries) {
      batch.put(op.key, op.value);
    }
    batch.put(descriptorKey(this.rangeId), kvpb.RangeDescriptor.encode(state.descriptor).finish());
    if (state.lease !== undefined) {
      batch.put(leaseKey(this.rangeId), kvpb.Lease.encode(state.lease).finish());
    } else {
      batch.delete(leaseKey(this.rangeId));
    }
    batch.put(appliedIndexKey(this.rangeId), encodeAppliedIndex(snapshot.metadata.index));
    this.pendingSnapshot = state;
  }

  /** The descriptor a snapshot message would install, if it is one. */
  static snapshotDescriptor(message: Message): kvpb.RangeDescriptor | undefined {
    if (message.type !== 'MsgSnap') return undefined;
    return cmdpb.RangeSnapshot.decode(message.snapshot.data).descriptor;
  }

  // ---------------------------------------------------------------------------------
  // Admin

  private async sendAdmin(request: NonNullable<kvpb.RequestUnion['request']>, deadlineMs: number): Promise<kvpb.BatchResponse> {
    await this.waitForLease(deadlineMs);
    switch (request.$case) {
      case 'rangeStats': {
        const stats = this.stats();
        return {
          responses: [
            {
              response: {
                $case: 'rangeStats',
                value: {
                  descriptor: this.descriptorValue,
                  lease: this.leaseValue,
                  liveBytes: BigInt(stats.liveBytes),
                  liveCount: BigInt(stats.liveCount),
                  totalBytes: BigInt(stats.totalBytes),
                  raftAppliedIndex: BigInt(this.appliedIndexValue),
                },
              },
            },
          ],
        };
      }
      case 'adminTransferLease': {
        await this.transferLease(Number(request.value.targetNodeId), deadlineMs);
        return { responses: [{ response: { $case: 'adminTransferLease', value: {} } }] };
      }
      default:
        // Splits and replica changes are run by the store: they allocate IDs and
        // update meta records through KV.
        throw new InvalidArgumentError(`${request.$case} is not an admin request`);
    }
  }

  stats(): ReplicaStats {
    const desc = this.descriptorValue;
    if (desc === undefined) return { liveBytes: 0, liveCount: 0, totalBytes: 0 };
    const start = desc.startKey.length === 0 ? Buffer.from([0x00]) : desc.startKey;
    const stats = computeStats(this.host.engine, start, desc.endKey);
    return { liveBytes: stats.liveBytes, liveCount: stats.liveCount, totalBytes: stats.totalBytes };
  }

  /** Hands the lease (with Raft leadership) to `target`; resolves once this replica let go. */
  async transferLease(target: number, deadlineMs: number): Promise<void> {
    const desc = this.descriptorValue;
    if (desc === undefined || !voters(desc).includes(target)) {
      throw new InvalidArgumentError(`range ${this.rangeId}: node ${target} holds no voting replica`);
    }
    if (target === this.host.nodeId) return;
    this.group.transferLeadership(target);
    while (this.softState.state === 'leader' && Date.now() < deadlineMs) {
      await this.waitForChange(Math.min(200, deadlineMs - Date.now()));
      if (this.softState.state === 'leader' && this.node.status().leadTransferee === 0) {
        this.group.transferLeadership(target);
      }
    }
    if (this.softState.state === 'leader') {
      throw new UnavailableError(`range ${this.rangeId}: the lease did not move to node ${target} before the deadline`);
    }
    this.host.onLeaseTransferred(this);
  }

  /** The Raft progress of `nodeId` (how much of the log it holds), as the leader sees it. */
  followerMatch(nodeId: number): number {
    return this.node.status().progress.get(nodeId)?.match ?? 0;
  }

  /** Stops the replica; with `destroy`, deletes its data and Raft state too. */
  async stop(options: { readonly destroy?: boolean } = {}): Promise<void> {
    this.destroyed = true;
    // Queued proposals go to the group, which fails them as it stops.
    this.flushTurnProposals();
    const stopped = this.group.stop();
    this.notifyWaiters();
    this.lockWaits.releaseAll();
    this.txnWaits.releaseAll();
    // The deletion must land after the group's last persist, not under it.
    await stopped;
    if (options.destroy === true) {
      const engine = this.host.engine;
      const batch = engine.newBatch();
      if (this.descriptorValue !== undefined) {
        stageClearRangeData(engine, batch, this.descriptorValue);
      }
      batch.delete(descriptorKey(this.rangeId));
      batch.delete(leaseKey(this.rangeId));
      batch.delete(appliedIndexKey(this.rangeId));
      this.raftLog.stageDestroy(batch);
      await engine.write(batch, { sync: true });
    }
  }
}

/** The Raft membership change a replica-change trigger makes. */
export function confChangeOf(trigger: kvpb.ChangeReplicasTrigger): ConfChange {
  const node = Number(trigger.nodeId);
  switch (trigger.type) {
    case kvpb.ReplicaChangeType.REPLICA_CHANGE_TYPE_ADD_LEARNER:
      return { type: 'addLearner', node };
    case kvpb.ReplicaChangeType.REPLICA_CHANGE_TYPE_ADD_VOTER:
      return { type: 'addVoter', node };
    case kvpb.ReplicaChangeType.REPLICA_CHANGE_TYPE_REMOVE:
      return { type: 'removeNode', node };
    default:
      throw new InvalidArgumentError(`unknown replica change type ${trigger.type}`);
  }
}

type EvaluationOutcome =
  | { readonly kind: 'done'; readonly response: kvpb.BatchResponse }
  /** Another transaction's intent is in the way; `waits` are the lines joined. */
  | { readonly kind: 'conflict'; readonly error: WriteIntentError; readonly waits: LockWait[] }
  /** A PushTxn whose pushee is alive: wait in its record's queue. */
  | { readonly kind: 'pushWait'; readonly push: kvpb.PushTxnRequest; readonly wait: ReturnType<TxnWaitQueue['wait']> }
  /** A PushTxn whose pushee's commit is staged and must be decided first. */
  | { readonly kind: 'recover'; readonly record: kvpb.Transaction };

/** Stages the deletion of every MVCC version, intent and transaction record in the range's span. */
function stageClearRangeData(engine: Engine, batch: WriteBatch, desc: kvpb.RangeDescriptor): void {
  for (const [start, end] of replicatedSpans(desc.startKey, desc.endKey)) {
    forEachInSpan(
      engine,
      start,
      end,
      (key) => {
        batch.delete(Buffer.from(key));
      },
      256,
    );
  }
}

/**
 * The timestamp a leaseholder's next command closes: `targetMs` behind `now`, never
 * below what it or an earlier leaseholder closed before.
 */
export function closedTimestampFor(now: Timestamp, targetMs: number, proposed: Timestamp, applied: Timestamp): Timestamp {
  const target: Timestamp = { wallTime: now.wallTime - BigInt(targetMs) * 1_000_000n, logical: 0 };
  const closed = compareTimestamps(applied, proposed) > 0 ? applied : proposed;
  return compareTimestamps(target, closed) > 0 ? target : closed;
}

/**
 * Waits until the physical clock has passed `ts` before a write placed in the future
 * (above the timestamp cache's low-water mark) is acknowledged: whoever hears of the
 * write afterwards reads at or above it, or within its uncertainty interval.
 */
export async function commitWait(ts: Timestamp, nowMs: () => number = Date.now): Promise<void> {
  const aheadMs = Number(ts.wallTime / 1_000_000n) - nowMs();
  if (aheadMs > 0) await new Promise((resolve) => setTimeout(resolve, aheadMs + 1));
}

/** Races `promise` against a deadline (Unix ms); `onTimeout` builds the error. */
export function withDeadline<T>(promise: Promise<T>, deadlineMs: number, onTimeout: () => Error, nowMs: () => number = Date.now): Promise<T> {
  const remaining = deadlineMs - nowMs();
  if (remaining <= 0) {
    void promise.catch(() => undefined);
    return Promise.reject(onTimeout());
  }
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), remaining);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
