import { InvalidArgumentError } from '../../common/errors';
import type { HybridLogicalClock } from '../../common/hlc';
import { META1_PREFIX, META2_PREFIX, prettyKey, rangeMetaKey, RANGE_ID_COUNTER_KEY } from '../../common/keys';
import type { Logger } from '../../common/logging';
import type { Span } from '../../common/tracing';
import { NO_SPAN } from '../../common/tracing';
import type { KvClient } from '../../kv';
import { requestSpan } from '../../kv';
import { NotLeaseholderError, RangeChangedError, RangeKeyMismatchError, RangeNotFoundError, UnavailableError } from '../../kv/errors';
import * as kvpb from '../../proto/gen/cairn/kv/v1/kv';
import type { ConfChange, Message } from '../raft';
import type { PendingResolution } from '../replica/evaluate-batch';
import { MAX_REFRESH_ENTRIES_PER_COMMAND } from '../replica/evaluate-batch';
import { recoverStagedTxn } from '../replica/conflict-waits';
import type { ReplicaHost } from '../replica/replica';
import { applyConfChangeToDescriptor, Replica, withDeadline } from '../replica/replica';
import type { RaftTiming } from '../replica/raft-timing';
import { RANGE_LOCAL_END, RANGE_LOCAL_PREFIX, rangeIdOfDescriptorKey } from '../replica/range-keys';
import type { Engine } from '../storage';
import { forEachInSpan } from '../storage';
import type { RaftEnvelope } from '../transport/raft-message-codec';
import type { RaftTransport, RaftTransportHandler } from '../transport/raft-transport';
import { allocateId } from './id-allocator';
import { IntentResolver } from './intent-resolver';
import type { NodeDirectory } from './node-directory';
import { RaftLogWriter } from './raft-log-writer';
import type { RaftMetrics } from './raft-metrics';
import type { RangeHealth, StoreMetrics } from './store-metrics';

export interface StoreOptions {
  readonly nodeId: number;
  readonly engine: Engine;
  readonly clock: HybridLogicalClock;
  readonly timing: RaftTiming;
  readonly raftMetrics: RaftMetrics;
  readonly metrics: StoreMetrics;
  readonly log: Logger;
  readonly directory: NodeDirectory;
  /** Called when the store cannot go on safely (a Raft write failed). */
  readonly onFatal: (err: unknown) => void;
  /** How many voters each range should have (capped by the live nodes). */
  readonly replicationFactor?: number;
  /** How long a node's liveness must have been expired before its replicas are replaced elsewhere. */
  readonly deadNodeTimeoutMs?: number;
  /** How far behind now leaseholders close timestamps (default 3 s). */
  readonly closedTimestampTargetMs?: number;
  /** Entries one command looks at refreshing reads (default MAX_REFRESH_ENTRIES_PER_COMMAND). */
  readonly maxRefreshEntriesPerCommand?: number;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** A removed replica's range ignores Raft traffic this long, so messages already in flight do not recreate it. */
const TOMBSTONE_MS = 1_000;
const REPLICATE_QUEUE_INTERVAL_MS = 2_000;
export const DEFAULT_DEAD_NODE_TIMEOUT_MS = 5 * 60_000;

/**
 * The key a range operation's transaction is anchored on: inside the range, so its
 * commit (and the change it carries) is evaluated there. The first range starts at the
 * empty key, which is no key; meta1's prefix is inside it.
 */
function rangeAnchorKey(desc: kvpb.RangeDescriptor): Buffer {
  return desc.startKey.length === 0 ? META1_PREFIX : Buffer.from(desc.startKey);
}
export const DEFAULT_CLOSED_TIMESTAMP_TARGET_MS = 3_000;
/** A split or replica change planned against a descriptor that changed is planned again this many times. */
const RANGE_PLAN_ATTEMPTS = 5;

/**
 * All replicas of one node: it routes KV batches to them, carries their Raft traffic
 * to and from the transport, ticks them, creates them (at bootstrap, from a split,
 * from a message of a range this node newly belongs to) and destroys them when they
 * are removed. It also runs the range operations that need the KV client: splits
 * (allocate a range ID, update meta), replica changes (learner, catch up, promote,
 * update meta), and the replicate queue that brings every range it leads to the
 * replication factor.
 */
export class Store implements ReplicaHost, RaftTransportHandler {
  readonly nodeId: number;
  readonly engine: Engine;
  readonly clock: HybridLogicalClock;
  readonly timing: RaftTiming;
  readonly raftMetrics: RaftMetrics;
  readonly writer: RaftLogWriter;
  readonly log: Logger;
  private readonly replicas = new Map<number, Replica>();
  private readonly tombstones = new Map<number, number>();
  private transport: RaftTransport | undefined;
  private kv: KvClient | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private replicateTimer: NodeJS.Timeout | undefined;
  private replicating = false;
  private draining = false;
  private stopped = false;
  readonly intentResolver: IntentResolver;
  readonly closedTimestampTargetMs: number;
  readonly maxRefreshEntriesPerCommand: number;

  constructor(private readonly options: StoreOptions) {
    this.nodeId = options.nodeId;
    this.engine = options.engine;
    this.clock = options.clock;
    this.timing = options.timing;
    this.raftMetrics = options.raftMetrics;
    this.log = options.log;
    this.writer = new RaftLogWriter(options.engine, { metrics: options.raftMetrics });
    this.intentResolver = new IntentResolver(() => this.kv, options.log, { metrics: options.metrics.intentResolver });
    options.metrics.intentResolutionsPending = () => this.intentResolver.pending;
    this.closedTimestampTargetMs = options.closedTimestampTargetMs ?? DEFAULT_CLOSED_TIMESTAMP_TARGET_MS;
    this.maxRefreshEntriesPerCommand = options.maxRefreshEntriesPerCommand ?? MAX_REFRESH_ENTRIES_PER_COMMAND;
  }

  /** Loads every replica the engine holds and starts ticking them. */
  start(transport: RaftTransport): void {
    this.transport = transport;
    const rangeIds: number[] = [];
    forEachInSpan(this.engine, RANGE_LOCAL_PREFIX, RANGE_LOCAL_END, (key) => {
      const rangeId = rangeIdOfDescriptorKey(key);
      if (rangeId !== undefined) rangeIds.push(rangeId);
    });
    for (const rangeId of rangeIds) {
      this.replicas.set(rangeId, Replica.load(this, rangeId));
    }
    this.log.info({ replicas: rangeIds.length }, 'store started');
    this.updateGauges();
    this.ticker = setInterval(() => {
      for (const replica of this.replicas.values()) replica.tick();
    }, this.timing.tickMs);
    this.replicateTimer = setInterval(() => void this.runReplicateQueue(), REPLICATE_QUEUE_INTERVAL_MS);
  }

  /** The client for what the store does through KV: ID allocation, meta records. */
  setKv(kv: KvClient): void {
    this.kv = kv;
  }

  get replicaCount(): number {
    return this.replicas.size;
  }

  /** The replicas this node holds, initialized ones only. */
  listReplicas(): Replica[] {
    return [...this.replicas.values()].filter((r) => r.isInitialized);
  }

  replica(rangeId: number): Replica | undefined {
    return this.replicas.get(rangeId);
  }

  /**
   * The node's share of the cluster's range gauges. A range is counted by one node: the
   * live voter with the lowest node ID (each node judges liveness for itself, so the
   * counts agree once liveness has settled). A range that lost its quorum, and with it
   * any lease, is still counted by a survivor. Under-replicated: fewer live voters than
   * the replication target (capped by the nodes the cluster has).
   */
  rangeHealth(): RangeHealth {
    const directory = this.options.directory;
    const target = Math.min(this.options.replicationFactor ?? 3, Math.max(1, directory.all().length));
    const nowNanos = this.options.clock.physicalNanos();
    let ranges = 0;
    let underReplicated = 0;
    let unavailable = 0;
    let lagNanos = 0n;
    for (const replica of this.replicas.values()) {
      const desc = replica.descriptor;
      if (desc === undefined) continue;
      const closed = replica.closedTimestamp.wallTime;
      if (closed > 0n && nowNanos - closed > lagNanos) lagNanos = nowNanos - closed;
      const voters = desc.replicas.filter((r) => r.type === kvpb.ReplicaType.REPLICA_TYPE_VOTER).map((r) => Number(r.nodeId));
      const live = voters.filter((id) => id === this.nodeId || directory.isLive(id));
      if (!live.includes(this.nodeId) || Math.min(...live) !== this.nodeId) continue;
      ranges++;
      if (live.length < target) underReplicated++;
      if (live.length <= voters.length / 2) unavailable++;
    }
    return { ranges, underReplicated, unavailable, closedTimestampLagSeconds: Number(lagNanos) / 1e9 };
  }

  leaseCount(): number {
    let leases = 0;
    const now = Date.now();
    for (const replica of this.replicas.values()) if (replica.isLeaseholder(now)) leases++;
    return leases;
  }

  // ---------------------------------------------------------------------------------
  // ReplicaHost

  sendRaft(toNode: number, rangeId: number, message: Message): void {
    this.transport?.send(toNode, { groupId: rangeId, message });
  }

  nodeDescriptor(nodeId: number): kvpb.NodeDescriptor | undefined {
    return this.options.directory.descriptor(nodeId);
  }

  onSplitApplied(_left: kvpb.RangeDescriptor, right: kvpb.RangeDescriptor, campaign: boolean): void {
    const rangeId = Number(right.rangeId);
    const existing = this.replicas.get(rangeId);
    if (existing !== undefined) {
      // Raft traffic for the new range arrived before the split applied here: the
      // placeholder replica (uninitialized) gives way to the one the split created.
      void existing.stop();
    }
    const replica = Replica.load(this, rangeId);
    this.replicas.set(rangeId, replica);
    this.options.metrics.splits.inc();
    this.updateGauges();
    if (campaign) {
      // The left side's leader leads the right side at once rather than after an
      // election timeout.
      replica.campaign();
    }
  }

  onRemoved(replica: Replica): void {
    if (this.replicas.get(replica.rangeId) !== replica) return;
    this.replicas.delete(replica.rangeId);
    this.tombstones.set(replica.rangeId, Date.now() + TOMBSTONE_MS);
    this.log.info({ range: replica.rangeId }, 'replica removed from this node; destroying it');
    // After the Ready that removed it has been handled.
    setImmediate(() => {
      replica.stop({ destroy: true }).catch((err: unknown) => this.log.error({ err, range: replica.rangeId }, 'destroying a replica failed'));
    });
    this.updateGauges();
  }

  onLeaseChanged(): void {
    this.updateGauges();
  }

  onLeaseTransferred(): void {
    this.options.metrics.leaseTransfers.inc();
  }

  onFatal(err: unknown): void {
    this.options.onFatal(err);
  }

  private updateGauges(): void {
    this.options.metrics.replicas.set(this.replicas.size);
    this.options.metrics.leases.set(this.leaseCount());
  }

  // ---------------------------------------------------------------------------------
  // RaftTransportHandler

  private replicaForMessage(rangeId: number): Replica | undefined {
    const existing = this.replicas.get(rangeId);
    if (existing !== undefined) return existing;
    const tombstone = this.tombstones.get(rangeId);
    if (tombstone !== undefined) {
      if (Date.now() < tombstone) return undefined;
      this.tombstones.delete(rangeId);
    }
    if (this.stopped) return undefined;
    // A range this node was added to: a placeholder until a snapshot (or the split
    // that creates it) initializes it.
    const replica = Replica.load(this, rangeId);
    this.replicas.set(rangeId, replica);
    this.updateGauges();
    return replica;
  }

  deliver(_fromNode: number, envelopes: readonly RaftEnvelope[]): void {
    for (const { groupId, message } of envelopes) {
      this.replicaForMessage(groupId)?.step(message);
    }
  }

  async receiveSnapshot(_fromNode: number, { groupId, message }: RaftEnvelope): Promise<void> {
    const desc = Replica.snapshotDescriptor(message);
    if (desc === undefined) {
      throw new InvalidArgumentError('a snapshot without a range descriptor');
    }
    for (const other of this.replicas.values()) {
      const otherDesc = other.descriptor;
      if (other.rangeId === groupId || otherDesc === undefined) continue;
      if (Buffer.compare(desc.startKey, otherDesc.endKey) < 0 && Buffer.compare(otherDesc.startKey, desc.endKey) < 0) {
        // The split that makes room for it has not applied here yet.
        throw new RangeKeyMismatchError(Number(desc.rangeId), [otherDesc], `snapshot of range ${groupId} overlaps range ${other.rangeId} here`);
      }
    }
    const replica = this.replicaForMessage(groupId);
    if (replica === undefined) {
      throw new RangeNotFoundError(groupId, `range ${groupId} was removed from this node`);
    }
    replica.step(message);
  }

  unreachable(nodeId: number, groupIds: readonly number[]): void {
    for (const groupId of groupIds) this.replicas.get(groupId)?.reportUnreachable(nodeId);
  }

  snapshotSent(_toNode: number, { groupId, message }: RaftEnvelope, ok: boolean): void {
    this.replicas.get(groupId)?.reportSnapshot(message.to, ok);
  }

  // ---------------------------------------------------------------------------------
  // Requests

  /** Serves one KV batch; throws typed KV errors. */
  async send(request: kvpb.BatchRequest, span: Span = NO_SPAN): Promise<kvpb.BatchResponse> {
    const header = request.header;
    const rangeId = Number(header?.rangeId ?? 0n);
    const deadline = Number(header?.deadlineUnixMs ?? 0n);
    const deadlineMs = deadline > 0 ? deadline : Date.now() + DEFAULT_REQUEST_TIMEOUT_MS;
    const replica = this.replicas.get(rangeId);
    if (replica === undefined || !replica.isInitialized) {
      throw new RangeNotFoundError(rangeId);
    }
    const first = request.requests[0]?.request;
    if (first?.$case === 'adminSplit' || first?.$case === 'adminChangeReplicas') {
      if (request.requests.length !== 1) {
        throw new InvalidArgumentError(`${first.$case} must be alone in its batch`);
      }
      const key = first.$case === 'adminSplit' ? first.value.splitKey : first.value.key;
      if (!replica.containsKey(key)) {
        throw new RangeKeyMismatchError(rangeId, replica.descriptor === undefined ? [] : [replica.descriptor]);
      }
      if (first.$case === 'adminSplit') {
        const { left, right } = await this.adminSplit(replica, Buffer.from(first.value.splitKey), deadlineMs);
        return { responses: [{ response: { $case: 'adminSplit', value: { left, right } } }] };
      }
      const change = first.value.change;
      if (change === undefined) {
        throw new InvalidArgumentError('adminChangeReplicas names no change');
      }
      const descriptor =
        change.$case === 'addNodeId'
          ? await this.addReplica(replica, Number(change.value), deadlineMs)
          : await this.removeReplica(replica, Number(change.value), deadlineMs);
      return { responses: [{ response: { $case: 'adminChangeReplicas', value: { descriptor } } }] };
    }
    try {
      return await replica.send(request, deadlineMs, span);
    } catch (err) {
      if (err instanceof RangeKeyMismatchError) {
        // Tell the client about every range here that the batch touches, so a stale
        // cache (or a stale meta record) is repaired in one round.
        throw new RangeKeyMismatchError(rangeId, this.descriptorsOverlapping(request.requests), err.message);
      }
      throw err;
    }
  }

  private descriptorsOverlapping(requests: readonly kvpb.RequestUnion[]): kvpb.RangeDescriptor[] {
    let start: Buffer | undefined;
    let end: Buffer | undefined;
    for (const { request } of requests) {
      if (request === undefined) continue;
      const span = requestSpan(request);
      if (start === undefined || Buffer.compare(span.start, start) < 0) start = span.start;
      if (end === undefined || Buffer.compare(span.end, end) > 0) end = span.end;
    }
    if (start === undefined || end === undefined) return [];
    const out: kvpb.RangeDescriptor[] = [];
    for (const replica of this.replicas.values()) {
      const desc = replica.descriptor;
      if (desc !== undefined && Buffer.compare(desc.startKey, end) < 0 && Buffer.compare(start, desc.endKey) < 0) {
        out.push(desc);
      }
    }
    return out;
  }

  /**
   * Rewrites the meta record of a range this node leads when it is missing or older
   * than the range's descriptor: meta is updated after a split or replica change
   * applies, not in the same step, so a crash or timeout in between leaves it stale.
   */
  private async maybeRepairMetaRecord(replica: Replica): Promise<void> {
    if (this.kv === undefined) return;
    // A transaction, so that a repair can never write back a descriptor that a split or
    // replica change committed past in the meantime: the read is refreshed at commit.
    await this.kv.txn(
      async (txn) => {
        const desc = replica.descriptor;
        if (desc === undefined) return;
        const raw = await txn.get(rangeMetaKey(desc.endKey));
        const recorded = raw === undefined ? undefined : kvpb.RangeDescriptor.decode(raw);
        if (recorded === undefined || recorded.rangeId !== desc.rangeId || recorded.generation < desc.generation) {
          this.log.info({ range: replica.rangeId, recordedGeneration: Number(recorded?.generation ?? 0n) }, 'repairing a stale meta record');
          await txn.put(rangeMetaKey(desc.endKey), Buffer.from(kvpb.RangeDescriptor.encode(desc).finish()));
        }
      },
      { maxAttempts: 5 },
    );
  }

  private requireKv(): KvClient {
    if (this.kv === undefined) throw new UnavailableError('the store is not started');
    return this.kv;
  }

  async adminSplit(replica: Replica, splitKey: Buffer, deadlineMs: number): Promise<{ left: kvpb.RangeDescriptor; right: kvpb.RangeDescriptor }> {
    if (!replica.isLeaseholder()) {
      throw new NotLeaseholderError(replica.rangeId, this.leaderHint(replica));
    }
    const kv = this.requireKv();
    const newRangeId = await allocateId(kv, RANGE_ID_COUNTER_KEY);
    const result = await this.withRangePlan(replica, deadlineMs, 'split', async (desc) => {
      if (Buffer.compare(splitKey, desc.startKey) <= 0 || Buffer.compare(splitKey, desc.endKey) >= 0) {
        throw new InvalidArgumentError(
          `split key ${prettyKey(splitKey)} is not inside range ${replica.rangeId} [${prettyKey(desc.startKey)}, ${prettyKey(desc.endKey)})`,
        );
      }
      if (Buffer.compare(splitKey, META2_PREFIX) < 0) {
        throw new InvalidArgumentError('meta1 cannot split: split keys start at the meta2 keyspace');
      }
      const left: kvpb.RangeDescriptor = { ...desc, endKey: splitKey, generation: desc.generation + 1n };
      const right: kvpb.RangeDescriptor = {
        rangeId: BigInt(newRangeId),
        startKey: splitKey,
        endKey: desc.endKey,
        replicas: desc.replicas,
        generation: desc.generation + 1n,
      };
      // One transaction: the two meta records (the left one new, under the split key;
      // the right one replacing the old record under the old end key) and, with its
      // commit on this range, the split itself. Either all of it happens or none.
      await kv.txn(
        async (txn) => {
          txn.setCommitTrigger({ split: { left, right } });
          await txn.put(rangeMetaKey(left.endKey), Buffer.from(kvpb.RangeDescriptor.encode(left).finish()));
          await txn.put(rangeMetaKey(right.endKey), Buffer.from(kvpb.RangeDescriptor.encode(right).finish()));
        },
        { anchorKey: rangeAnchorKey(desc), maxAttempts: 10 },
      );
      return { left, right };
    });
    this.log.info({ range: replica.rangeId, right: newRangeId }, 'range split');
    return result;
  }

  /**
   * Runs a range operation planned against the range's current descriptor; when the
   * range changed before it committed (a concurrent split or replica change), plans
   * it again against the new one, a few times, within the deadline.
   */
  private async withRangePlan<T>(
    replica: Replica,
    deadlineMs: number,
    what: string,
    run: (desc: kvpb.RangeDescriptor) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const desc = replica.descriptor;
      if (desc === undefined) throw new RangeNotFoundError(replica.rangeId);
      try {
        return await withDeadline(run(desc), deadlineMs, () =>
          new UnavailableError(`range ${replica.rangeId}: the ${what} did not commit before the deadline; it may still`),
        );
      } catch (err) {
        if (!(err instanceof RangeChangedError) || attempt >= RANGE_PLAN_ATTEMPTS || Date.now() >= deadlineMs) throw err;
        await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
      }
    }
  }

  /**
   * One membership change as a transaction anchored on the range: it writes the range's
   * new meta record, and its commit carries the change, so the Raft conf change entry
   * applies the commit with it. Resolves with the descriptor after the change.
   */
  private async changeReplicas(replica: Replica, cc: ConfChange, deadlineMs: number): Promise<kvpb.RangeDescriptor> {
    const type =
      cc.type === 'addLearner'
        ? kvpb.ReplicaChangeType.REPLICA_CHANGE_TYPE_ADD_LEARNER
        : cc.type === 'addVoter'
          ? kvpb.ReplicaChangeType.REPLICA_CHANGE_TYPE_ADD_VOTER
          : kvpb.ReplicaChangeType.REPLICA_CHANGE_TYPE_REMOVE;
    return this.withRangePlan(replica, deadlineMs, `replica change ${cc.type} ${cc.node}`, async (desc) => {
      const after = applyConfChangeToDescriptor(desc, cc);
      await this.requireKv().txn(
        async (txn) => {
          txn.setCommitTrigger({ changeReplicas: { type, nodeId: BigInt(cc.node), descriptor: after } });
          await txn.put(rangeMetaKey(after.endKey), Buffer.from(kvpb.RangeDescriptor.encode(after).finish()));
        },
        { anchorKey: rangeAnchorKey(desc), maxAttempts: 5 },
      );
      return after;
    });
  }

  private leaderHint(replica: Replica): kvpb.NodeDescriptor | undefined {
    const lead = replica.raftLeader;
    return lead !== 0 && lead !== this.nodeId ? this.nodeDescriptor(lead) : undefined;
  }

  /** Adds a voter on `nodeId`: a learner first, caught up (by snapshot), then promoted. */
  async addReplica(replica: Replica, nodeId: number, deadlineMs: number): Promise<kvpb.RangeDescriptor> {
    const desc = replica.descriptor;
    if (desc === undefined) throw new RangeNotFoundError(replica.rangeId);
    const existing = desc.replicas.find((r) => Number(r.nodeId) === nodeId);
    if (existing?.type === kvpb.ReplicaType.REPLICA_TYPE_VOTER) {
      throw new InvalidArgumentError(`range ${replica.rangeId} already has a replica on node ${nodeId}`);
    }
    if (this.nodeDescriptor(nodeId) === undefined) {
      throw new InvalidArgumentError(`node ${nodeId} is not a member of the cluster`);
    }
    if (existing === undefined) {
      await this.changeReplicas(replica, { type: 'addLearner', node: nodeId }, deadlineMs);
      this.log.info({ range: replica.rangeId, target: nodeId }, 'learner added');
    }
    // Catch up before voting, so that the new voter does not stall the quorum.
    const target = replica.appliedIndex;
    while (replica.followerMatch(nodeId) < target) {
      if (Date.now() >= deadlineMs) {
        throw new UnavailableError(`range ${replica.rangeId}: the learner on node ${nodeId} did not catch up before the deadline`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const after = await this.changeReplicas(replica, { type: 'addVoter', node: nodeId }, deadlineMs);
    this.log.info({ range: replica.rangeId, target: nodeId }, 'replica added');
    return after;
  }

  async removeReplica(replica: Replica, nodeId: number, deadlineMs: number): Promise<kvpb.RangeDescriptor> {
    const desc = replica.descriptor;
    if (desc === undefined) throw new RangeNotFoundError(replica.rangeId);
    if (!desc.replicas.some((r) => Number(r.nodeId) === nodeId)) {
      throw new InvalidArgumentError(`range ${replica.rangeId} has no replica on node ${nodeId}`);
    }
    if (nodeId === this.nodeId) {
      // A leader cannot remove itself safely: hand the lease over and let the new
      // leaseholder do it.
      const other = desc.replicas.find(
        (r) => Number(r.nodeId) !== nodeId && r.type === kvpb.ReplicaType.REPLICA_TYPE_VOTER && this.options.directory.isLive(Number(r.nodeId)),
      );
      if (other === undefined) {
        throw new InvalidArgumentError(`range ${replica.rangeId}: no other live voter to take over from node ${nodeId}`);
      }
      await replica.transferLease(Number(other.nodeId), deadlineMs);
      throw new NotLeaseholderError(replica.rangeId, this.nodeDescriptor(Number(other.nodeId)));
    }
    const after = await this.changeReplicas(replica, { type: 'removeNode', node: nodeId }, deadlineMs);
    this.log.info({ range: replica.rangeId, target: nodeId }, 'replica removed');
    return after;
  }

  /**
   * Brings every range this node leads to the replication factor (or as many live
   * nodes as there are), one replica at a time; replaces the replicas of nodes dead
   * for longer than the dead-node timeout; keeps each range's meta record current.
   */
  private async runReplicateQueue(): Promise<void> {
    if (this.replicating || this.stopped || this.draining || this.kv === undefined) return;
    this.replicating = true;
    try {
      const directory = this.options.directory;
      const live = directory.liveNodeIds();
      const factor = this.options.replicationFactor ?? 3;
      for (const replica of this.replicas.values()) {
        if (this.stopped) return;
        const desc = replica.descriptor;
        if (desc === undefined || !replica.isLeaseholder()) continue;
        await this.maybeRepairMetaRecord(replica).catch((err: unknown) => {
          this.log.warn({ err, range: replica.rangeId }, 'checking the meta record failed');
        });
        const want = Math.min(factor, Math.max(live.length, 1));
        const votersNow = desc.replicas.filter((r) => r.type === kvpb.ReplicaType.REPLICA_TYPE_VOTER).length;
        const learner = desc.replicas.find((r) => r.type === kvpb.ReplicaType.REPLICA_TYPE_LEARNER);
        const deadMs = this.options.deadNodeTimeoutMs ?? DEFAULT_DEAD_NODE_TIMEOUT_MS;
        const spare = live.find((id) => !desc.replicas.some((r) => Number(r.nodeId) === id));
        let target: number | undefined;
        let replace: number | undefined;
        if (learner !== undefined) {
          if (directory.isDeadFor(Number(learner.nodeId), deadMs)) {
            replace = Number(learner.nodeId);
          } else {
            target = Number(learner.nodeId);
          }
        } else if (votersNow < want) {
          target = spare;
        } else if (spare !== undefined) {
          // A voter on a node dead for longer than the timeout is replaced: the new
          // replica first, so the range never has fewer live voters than now.
          const dead = desc.replicas.find((r) => Number(r.nodeId) !== this.nodeId && directory.isDeadFor(Number(r.nodeId), deadMs));
          if (dead !== undefined) {
            target = spare;
            replace = Number(dead.nodeId);
          }
        }
        try {
          if (target !== undefined) {
            await this.addReplica(replica, target, Date.now() + 30_000);
            this.options.metrics.replicasAdded.inc();
          }
          if (replace !== undefined) {
            await this.removeReplica(replica, replace, Date.now() + 30_000);
            this.log.info({ range: replica.rangeId, dead: replace, replacement: target }, 'replaced the replica of a dead node');
          }
        } catch (err) {
          this.log.warn({ err, range: replica.rangeId, target, replace }, 'replication change failed; will retry');
        }
      }
      await this.maybeRebalanceLeases(live);
    } finally {
      this.replicating = false;
    }
  }

  /**
   * Moves one lease to a live voter on a node with at least two fewer leases, when
   * this node holds more than its share: leaseholders do the work of their ranges, so
   * leases spread over the nodes spread the load. One move per pass, as the others'
   * counts (published with their heartbeats) lag.
   */
  private async maybeRebalanceLeases(live: readonly number[]): Promise<void> {
    const directory = this.options.directory;
    const mine = this.leaseCount();
    const counts = new Map<number, number>();
    for (const id of live) {
      const count = id === this.nodeId ? mine : directory.leaseCount(id);
      if (count === undefined) return;
      counts.set(id, count);
    }
    if (counts.size < 2) return;
    const mean = [...counts.values()].reduce((a, b) => a + b, 0) / counts.size;
    if (mine <= mean) return;
    for (const replica of this.replicas.values()) {
      const desc = replica.descriptor;
      if (this.stopped || desc === undefined || !replica.isLeaseholder()) continue;
      let target: number | undefined;
      for (const r of desc.replicas) {
        const id = Number(r.nodeId);
        const count = counts.get(id);
        if (r.type !== kvpb.ReplicaType.REPLICA_TYPE_VOTER || id === this.nodeId || count === undefined || count >= mine - 1) continue;
        if (target === undefined || count < (counts.get(target) as number)) target = id;
      }
      if (target === undefined) continue;
      try {
        await replica.transferLease(target, Date.now() + 5_000);
        this.log.info({ range: replica.rangeId, target, leases: mine, mean }, 'lease moved to balance the load');
      } catch (err) {
        this.log.warn({ err, range: replica.rangeId, target }, 'lease rebalancing failed');
      }
      return;
    }
  }

  /**
   * Moves every lease this node holds to another live voter, so that stopping the
   * node costs clients no election timeout. Resolves when none is left or at the
   * deadline.
   */
  async drainLeases(deadlineMs: number): Promise<number> {
    this.draining = true;
    // Repeated: a lease may still arrive (a balancing move decided before the others
    // saw this node draining).
    while (this.leaseCount() > 0 && Date.now() < deadlineMs) {
      const moves: Promise<void>[] = [];
      for (const replica of this.replicas.values()) {
        const desc = replica.descriptor;
        if (desc === undefined || !replica.isLeaseholder()) continue;
        const target = desc.replicas.find(
          (r) =>
            Number(r.nodeId) !== this.nodeId &&
            r.type === kvpb.ReplicaType.REPLICA_TYPE_VOTER &&
            this.options.directory.isLive(Number(r.nodeId)),
        );
        if (target === undefined) continue;
        moves.push(
          replica.transferLease(Number(target.nodeId), deadlineMs).catch((err: unknown) => {
            this.log.warn({ err, range: replica.rangeId }, 'lease transfer on drain failed');
          }),
        );
      }
      if (moves.length === 0) break;
      await Promise.all(moves);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return this.leaseCount();
  }

  // ---------------------------------------------------------------------------------
  // Transactions: what replicas ask of other ranges

  async pushTxn(request: kvpb.PushTxnRequest, deadlineMs: number): Promise<kvpb.Transaction> {
    const [response] = await this.requireKv().batch([{ request: { $case: 'pushTxn', value: request } }], { deadlineUnixMs: deadlineMs });
    const r = response?.response;
    if (r?.$case !== 'pushTxn' || r.value.pushee === undefined) {
      throw new UnavailableError('pushTxn got no pushee back');
    }
    return r.value.pushee;
  }

  recoverTxn(record: kvpb.Transaction, deadlineMs: number): Promise<void> {
    return recoverStagedTxn(this.requireKv(), record, deadlineMs, this.log);
  }

  async queryTxn(anchorKey: Buffer, txnId: Buffer, deadlineMs: number): Promise<kvpb.QueryTxnResponse> {
    const [response] = await this.requireKv().batch([{ request: { $case: 'queryTxn', value: { key: anchorKey, txnId } } }], {
      deadlineUnixMs: deadlineMs,
    });
    const r = response?.response;
    if (r?.$case !== 'queryTxn') {
      throw new UnavailableError('queryTxn got no answer');
    }
    return r.value;
  }

  countFollowerRead(): void {
    this.options.metrics.followerReads.inc();
  }

  observeLockWait(seconds: number): void {
    this.options.metrics.lockWaits.inc();
    this.options.metrics.lockWaitSeconds.observe(seconds);
  }

  resolveIntentsLater(pending: PendingResolution): void {
    this.intentResolver.enqueue(pending);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.intentResolver.stop();
    if (this.ticker !== undefined) clearInterval(this.ticker);
    if (this.replicateTimer !== undefined) clearInterval(this.replicateTimer);
    await Promise.all([...this.replicas.values()].map((r) => r.stop()));
    this.replicas.clear();
  }
}
