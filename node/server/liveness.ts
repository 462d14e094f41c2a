import type { HybridLogicalClock } from '../../common/hlc';
import { LIVENESS_SPAN, livenessKey, NODE_DESCRIPTORS_SPAN, STORE_CAPACITY_SPAN, storeCapacityKey } from '../../common/keys';
import type { Logger } from '../../common/logging';
import type { KvClient } from '../../kv';
import { ConditionFailedError } from '../../kv/errors';
import * as kvpb from '../../proto/gen/cairn/kv/v1/kv';
import * as adminpb from '../../proto/gen/cairn/node/v1/admin';
import type { NodeDirectory } from '../store/node-directory';

export interface LivenessOptions {
  readonly nodeId: number;
  readonly kv: KvClient;
  readonly clock: HybridLogicalClock;
  readonly directory: NodeDirectory;
  readonly log: Logger;
  /** What this node holds now, published with each heartbeat. */
  readonly capacity: () => { readonly ranges: number; readonly leases: number };
  readonly heartbeatIntervalMs?: number;
  /** How long a heartbeat keeps the node live. */
  readonly livenessDurationMs?: number;
}

/**
 * Node liveness: the node's record in the liveness range says until when it is live.
 * The node bumps its epoch once per start and extends the expiration on every
 * heartbeat with a conditional put (so two processes claiming one node ID cannot
 * both succeed); others see it dead once the expiration passes. Each round also
 * publishes what the node holds (ranges, leases) and refreshes the node directory
 * (addresses, liveness and holdings of every node).
 */
export class NodeLivenessHeartbeat {
  private timer: NodeJS.Timeout | undefined;
  private current: Buffer | undefined;
  private epoch = 0n;
  private draining = false;
  private running = false;
  private stopped = false;

  constructor(private readonly options: LivenessOptions) {}

  get intervalMs(): number {
    return this.options.heartbeatIntervalMs ?? 1_000;
  }

  async start(): Promise<void> {
    const { kv, nodeId } = this.options;
    const existing = await kv.get(livenessKey(nodeId));
    this.current = existing;
    this.epoch = (existing === undefined ? 0n : adminpb.NodeLiveness.decode(existing).epoch) + 1n;
    await this.heartbeat();
    this.timer = setInterval(() => void this.round(), this.intervalMs);
  }

  private async round(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    try {
      await this.heartbeat();
      await this.publishCapacity();
      await this.refreshDirectory();
    } catch (err) {
      this.options.log.warn({ err }, 'liveness heartbeat failed');
    } finally {
      this.running = false;
    }
  }

  /** Extends this node's liveness (or marks it draining). */
  async heartbeat(): Promise<void> {
    const { kv, nodeId, clock } = this.options;
    const durationNanos = BigInt(this.options.livenessDurationMs ?? 4_500) * 1_000_000n;
    const now = clock.now();
    const record: adminpb.NodeLiveness = {
      nodeId: BigInt(nodeId),
      epoch: this.epoch,
      expiration: { wallTime: now.wallTime + durationNanos, logical: 0 },
      draining: this.draining,
    };
    const value = Buffer.from(adminpb.NodeLiveness.encode(record).finish());
    try {
      await kv.conditionalPut(livenessKey(nodeId), value, this.current);
      this.current = value;
      this.options.directory.updateLiveness([record]);
    } catch (err) {
      if (err instanceof ConditionFailedError) {
        // Someone else wrote our record (a previous incarnation's late write): take it
        // as the base of the next attempt.
        this.current = err.actualValue;
      }
      throw err;
    }
  }

  private async publishCapacity(): Promise<void> {
    const { kv, nodeId, directory } = this.options;
    const { ranges, leases } = this.options.capacity();
    const capacity: adminpb.StoreCapacity = { nodeId: BigInt(nodeId), ranges: BigInt(ranges), leases: BigInt(leases) };
    await kv.put(storeCapacityKey(nodeId), adminpb.StoreCapacity.encode(capacity).finish());
    directory.updateCapacity([capacity]);
  }

  async refreshDirectory(): Promise<void> {
    const { kv, directory } = this.options;
    const [nodes, liveness, capacity] = await Promise.all([
      kv.scan(NODE_DESCRIPTORS_SPAN.startKey, NODE_DESCRIPTORS_SPAN.endKey),
      kv.scan(LIVENESS_SPAN.startKey, LIVENESS_SPAN.endKey),
      kv.scan(STORE_CAPACITY_SPAN.startKey, STORE_CAPACITY_SPAN.endKey),
    ]);
    await directory.updateDescriptors(nodes.rows.map((row) => kvpb.NodeDescriptor.decode(row.value)));
    directory.updateLiveness(liveness.rows.map((row) => adminpb.NodeLiveness.decode(row.value)));
    directory.updateCapacity(capacity.rows.map((row) => adminpb.StoreCapacity.decode(row.value)));
  }

  /** Marks the node draining: others stop counting it live for new replicas. */
  async drain(): Promise<void> {
    this.draining = true;
    await this.heartbeat();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
  }
}
