import type { HybridLogicalClock } from '../../common/hlc';
import { compareTimestamps } from '../../common/hlc';
import * as kvpb from '../../proto/gen/cairn/kv/v1/kv';
import * as adminpb from '../../proto/gen/cairn/node/v1/admin';
import type { Engine } from '../storage';
import { storeLocalKey } from '../storage';

/** Where the node keeps its last view of the cluster's nodes, to find its peers after a restart. */
const DIRECTORY_KEY = storeLocalKey('node-directory');

/**
 * The node's view of the cluster's nodes: their addresses (from the node descriptors
 * in the system keyspace) and liveness (from the liveness records), refreshed by the
 * server from KV. Kept on disk so that a restarted node can reach its peers before KV
 * works again.
 */
export class NodeDirectory {
  private readonly descriptors = new Map<number, kvpb.NodeDescriptor>();
  private readonly liveness = new Map<number, adminpb.NodeLiveness>();
  private readonly capacities = new Map<number, adminpb.StoreCapacity>();

  constructor(
    private readonly engine: Engine,
    private readonly clock: HybridLogicalClock,
  ) {
    const raw = engine.get(DIRECTORY_KEY);
    if (raw !== undefined) {
      for (const desc of adminpb.JoinResponse.decode(raw).nodes) {
        this.descriptors.set(Number(desc.nodeId), desc);
      }
    }
  }

  descriptor(nodeId: number): kvpb.NodeDescriptor | undefined {
    return this.descriptors.get(nodeId);
  }

  address(nodeId: number): string | undefined {
    return this.descriptors.get(nodeId)?.address;
  }

  all(): kvpb.NodeDescriptor[] {
    return [...this.descriptors.values()].sort((a, b) => Number(a.nodeId - b.nodeId));
  }

  livenessOf(nodeId: number): adminpb.NodeLiveness | undefined {
    return this.liveness.get(nodeId);
  }

  /** Whether the node's liveness record has not expired by this node's clock. */
  isLive(nodeId: number): boolean {
    const record = this.liveness.get(nodeId);
    return record?.expiration !== undefined && !record.draining && compareTimestamps(record.expiration, this.clock.now()) > 0;
  }

  /** Whether the node's liveness expired more than `ms` ago (unknown nodes are not dead). */
  isDeadFor(nodeId: number, ms: number): boolean {
    const expiration = this.liveness.get(nodeId)?.expiration;
    if (expiration === undefined) return false;
    const deadline = { wallTime: expiration.wallTime + BigInt(ms) * 1_000_000n, logical: expiration.logical };
    return compareTimestamps(deadline, this.clock.now()) < 0;
  }

  liveNodeIds(): number[] {
    return [...this.descriptors.keys()].filter((id) => this.isLive(id)).sort((a, b) => a - b);
  }

  /** Adds or replaces node descriptors; persists the directory when it changed. */
  async updateDescriptors(descriptors: readonly kvpb.NodeDescriptor[]): Promise<void> {
    let changed = false;
    for (const desc of descriptors) {
      const id = Number(desc.nodeId);
      const before = this.descriptors.get(id);
      if (before === undefined || !Buffer.from(kvpb.NodeDescriptor.encode(before).finish()).equals(kvpb.NodeDescriptor.encode(desc).finish())) {
        this.descriptors.set(id, desc);
        changed = true;
      }
    }
    if (changed) {
      const batch = this.engine.newBatch();
      batch.put(DIRECTORY_KEY, adminpb.JoinResponse.encode({ clusterId: '', nodeId: 0n, nodes: this.all() }).finish());
      await this.engine.write(batch);
    }
  }

  /** The last published lease count of a node, if any. */
  leaseCount(nodeId: number): number | undefined {
    const capacity = this.capacities.get(nodeId);
    return capacity === undefined ? undefined : Number(capacity.leases);
  }

  updateCapacity(records: readonly adminpb.StoreCapacity[]): void {
    for (const record of records) {
      this.capacities.set(Number(record.nodeId), record);
    }
  }

  updateLiveness(records: readonly adminpb.NodeLiveness[]): void {
    for (const record of records) {
      this.liveness.set(Number(record.nodeId), record);
    }
  }
}
