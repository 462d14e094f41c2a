import { storeLocalKey } from '../storage';

/*
 * A range's own replicated state, beside its Raft log in store-local keys:
 *
 *   0x01 "range/" rangeId(8) 0x01  → applied index (8 bytes)
 *   0x01 "range/" rangeId(8) 0x02  → RangeDescriptor
 *   0x01 "range/" rangeId(8) 0x03  → Lease
 *
 * They change only as Raft commands apply (or a snapshot lands), in the same batch as
 * the data they describe, so after a crash the applied index says exactly which
 * entries the engine holds.
 */

const APPLIED_SUFFIX = 0x01;
const DESCRIPTOR_SUFFIX = 0x02;
const LEASE_SUFFIX = 0x03;

export const RANGE_LOCAL_PREFIX: Buffer = storeLocalKey('range/');
export const RANGE_LOCAL_END: Buffer = storeLocalKey('range0');

function rangeKey(rangeId: number, suffix: number): Buffer {
  const key = Buffer.alloc(RANGE_LOCAL_PREFIX.length + 9);
  RANGE_LOCAL_PREFIX.copy(key);
  key.writeBigUInt64BE(BigInt(rangeId), RANGE_LOCAL_PREFIX.length);
  key[key.length - 1] = suffix;
  return key;
}

export function appliedIndexKey(rangeId: number): Buffer {
  return rangeKey(rangeId, APPLIED_SUFFIX);
}

export function descriptorKey(rangeId: number): Buffer {
  return rangeKey(rangeId, DESCRIPTOR_SUFFIX);
}

export function leaseKey(rangeId: number): Buffer {
  return rangeKey(rangeId, LEASE_SUFFIX);
}

/** The range ID of a descriptor key, or undefined for any other key. */
export function rangeIdOfDescriptorKey(key: Uint8Array): number | undefined {
  if (key.length !== RANGE_LOCAL_PREFIX.length + 9 || key[key.length - 1] !== DESCRIPTOR_SUFFIX) {
    return undefined;
  }
  return Number(Buffer.from(key.buffer, key.byteOffset, key.byteLength).readBigUInt64BE(RANGE_LOCAL_PREFIX.length));
}

export function encodeAppliedIndex(index: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt(index));
  return out;
}

export function decodeAppliedIndex(raw: Buffer): number {
  return Number(raw.readBigUInt64BE(0));
}

/** The store-local key of the node's identity: cluster and node IDs. */
export const STORE_IDENT_KEY: Buffer = storeLocalKey('store-ident');
