import type { HybridLogicalClock } from '../../common/hlc';
import {
  CLUSTER_ID_KEY,
  INITIAL_SPLIT_KEYS,
  KEY_MAX,
  KEY_MIN,
  livenessKey,
  NODE_ID_COUNTER_KEY,
  nodeDescriptorKey,
  RANGE_ID_COUNTER_KEY,
  rangeMetaKey,
} from '../../common/keys';
import * as kvpb from '../../proto/gen/cairn/kv/v1/kv';
import * as adminpb from '../../proto/gen/cairn/node/v1/admin';
import { Replica } from '../replica/replica';
import { STORE_IDENT_KEY } from '../replica/range-keys';
import type { Engine } from '../storage';
import { mvccPut } from '../storage';

export interface StoreIdent {
  readonly clusterId: string;
  readonly nodeId: number;
}

export function readStoreIdent(engine: Engine): StoreIdent | undefined {
  const raw = engine.get(STORE_IDENT_KEY);
  if (raw === undefined) return undefined;
  const parsed = JSON.parse(raw.toString('utf8')) as { clusterId: string; nodeId: number };
  return { clusterId: parsed.clusterId, nodeId: parsed.nodeId };
}

export async function writeStoreIdent(engine: Engine, ident: StoreIdent): Promise<void> {
  const batch = engine.newBatch();
  batch.put(STORE_IDENT_KEY, Buffer.from(JSON.stringify(ident), 'utf8'));
  await engine.write(batch, { sync: true });
}

function uint64Value(value: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt(value));
  return out;
}

/** The ranges of a new cluster: meta, liveness, system, and the first user range. */
export function initialRangeDescriptors(nodeId: number): kvpb.RangeDescriptor[] {
  const bounds = [KEY_MIN, ...INITIAL_SPLIT_KEYS, KEY_MAX];
  const ranges: kvpb.RangeDescriptor[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    ranges.push({
      rangeId: BigInt(i + 1),
      startKey: bounds[i] as Buffer,
      endKey: bounds[i + 1] as Buffer,
      replicas: [{ nodeId: BigInt(nodeId), type: kvpb.ReplicaType.REPLICA_TYPE_VOTER }],
      generation: 1n,
    });
  }
  return ranges;
}

/**
 * Writes a new cluster onto the first node's empty engine, in one synced batch: the
 * system ranges and the first user range (each a one-replica Raft group that starts
 * from its bootstrap snapshot), their meta records, the cluster ID, the ID counters,
 * this node's descriptor and liveness record, and the store's identity. The replicate
 * queue spreads the ranges as other nodes join.
 */
export async function bootstrapCluster(
  engine: Engine,
  clock: HybridLogicalClock,
  clusterId: string,
  node: kvpb.NodeDescriptor,
): Promise<StoreIdent> {
  const nodeId = Number(node.nodeId);
  const ranges = initialRangeDescriptors(nodeId);
  const batch = engine.newBatch();
  for (const desc of ranges) {
    Replica.stageNewRange(engine, batch, desc);
  }
  const ts = clock.now();
  const put = (key: Buffer, value: Uint8Array): void => mvccPut(engine, batch, key, ts, value);
  for (const desc of ranges) {
    put(rangeMetaKey(desc.endKey), kvpb.RangeDescriptor.encode(desc).finish());
  }
  put(CLUSTER_ID_KEY, Buffer.from(clusterId, 'utf8'));
  put(NODE_ID_COUNTER_KEY, uint64Value(nodeId));
  put(RANGE_ID_COUNTER_KEY, uint64Value(ranges.length));
  put(nodeDescriptorKey(nodeId), kvpb.NodeDescriptor.encode(node).finish());
  put(livenessKey(nodeId), adminpb.NodeLiveness.encode({ nodeId: node.nodeId, epoch: 0n, expiration: ts, draining: false }).finish());
  const ident: StoreIdent = { clusterId, nodeId };
  batch.put(STORE_IDENT_KEY, Buffer.from(JSON.stringify(ident), 'utf8'));
  await engine.write(batch, { sync: true });
  return ident;
}
