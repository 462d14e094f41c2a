/**
 * The global keyspace's layout (DESIGN.md §3). Every key is a byte string compared as
 * bytes. Below the user keyspace lie the system keys:
 *
 *   [0x02, 0x03)  meta1: one record per meta2 range, keyed by 0x02 + its end key
 *   [0x03, 0x04)  meta2: one record per other range, keyed by 0x03 + its end key
 *   [0x04, 0x05)  node liveness records
 *   [0x05, 0x10)  system data: cluster ID, ID counters, node descriptors, settings,
 *                 SQL descriptors, namespace entries, users, sequence values
 *   [0x10, 0xff 0xff)  user data
 *
 * A range's record sits under its END key, so the range holding key k is found by
 * reading the first record after k: a scan from `rangeMetaKey(k) + 0x00`.
 * meta1 never splits; it lives in the first range, which every node can name.
 */

export const KEY_MIN: Buffer = Buffer.alloc(0);
/** No key is at or above KEY_MAX; it ends the last range. */
export const KEY_MAX: Buffer = Buffer.from([0xff, 0xff]);

export const META1_PREFIX: Buffer = Buffer.from([0x02]);
export const META2_PREFIX: Buffer = Buffer.from([0x03]);
/** The end of the meta keyspace; the first range always ends at or before it. */
export const META_END: Buffer = Buffer.from([0x04]);
export const LIVENESS_PREFIX: Buffer = Buffer.from([0x04]);
export const LIVENESS_END: Buffer = Buffer.from([0x05]);
export const SYSTEM_PREFIX: Buffer = Buffer.from([0x05]);
export const USER_KEY_MIN: Buffer = Buffer.from([0x10]);

export const CLUSTER_ID_KEY: Buffer = Buffer.from('\x05cluster-id', 'latin1');
export const NODE_ID_COUNTER_KEY: Buffer = Buffer.from('\x05id/node', 'latin1');
export const RANGE_ID_COUNTER_KEY: Buffer = Buffer.from('\x05id/range', 'latin1');
const NODE_DESCRIPTOR_PREFIX = Buffer.from('\x05node/', 'latin1');
const SETTING_PREFIX = Buffer.from('\x05setting/', 'latin1');
const STORE_CAPACITY_PREFIX = Buffer.from('\x05capacity/', 'latin1');
export const DESCRIPTOR_ID_COUNTER_KEY: Buffer = Buffer.from('\x05id/descriptor', 'latin1');
const SQL_DESCRIPTOR_PREFIX = Buffer.from('\x05sql/desc/', 'latin1');
const SQL_NAMESPACE_PREFIX = Buffer.from('\x05sql/ns/', 'latin1');
const SQL_USER_PREFIX = Buffer.from('\x05sql/user/', 'latin1');
const SQL_SEQUENCE_PREFIX = Buffer.from('\x05sql/seq/', 'latin1');
const SQL_DROPPED_DATA_PREFIX = Buffer.from('\x05sql/dropped/', 'latin1');

/** The split points of a new cluster: meta | liveness | system | user. */
export const INITIAL_SPLIT_KEYS: readonly Buffer[] = [META_END, LIVENESS_END, USER_KEY_MIN];

function uint64Key(prefix: Buffer, id: number): Buffer {
  const key = Buffer.alloc(prefix.length + 8);
  prefix.copy(key);
  key.writeBigUInt64BE(BigInt(id), prefix.length);
  return key;
}

export function livenessKey(nodeId: number): Buffer {
  return uint64Key(LIVENESS_PREFIX, nodeId);
}

export function nodeDescriptorKey(nodeId: number): Buffer {
  return uint64Key(NODE_DESCRIPTOR_PREFIX, nodeId);
}

export function storeCapacityKey(nodeId: number): Buffer {
  return uint64Key(STORE_CAPACITY_PREFIX, nodeId);
}

export const STORE_CAPACITY_SPAN = { startKey: STORE_CAPACITY_PREFIX, endKey: prefixEndOf(STORE_CAPACITY_PREFIX) };
export const NODE_DESCRIPTORS_SPAN = { startKey: NODE_DESCRIPTOR_PREFIX, endKey: prefixEndOf(NODE_DESCRIPTOR_PREFIX) };
export const LIVENESS_SPAN = { startKey: LIVENESS_PREFIX, endKey: LIVENESS_END };

/** A SQL descriptor (database, schema, table, sequence) by ID. */
export function sqlDescriptorKey(id: number): Buffer {
  return uint64Key(SQL_DESCRIPTOR_PREFIX, id);
}

export const SQL_DESCRIPTORS_SPAN = { startKey: SQL_DESCRIPTOR_PREFIX, endKey: prefixEndOf(SQL_DESCRIPTOR_PREFIX) };

/**
 * A name → descriptor ID entry: databases under parent 0, schemas under their database,
 * tables and sequences under their schema. Names are unique per parent because the key is.
 */
export function sqlNamespaceKey(parentId: number, name: string): Buffer {
  return Buffer.concat([uint64Key(SQL_NAMESPACE_PREFIX, parentId), Buffer.from(name, 'utf8')]);
}

/** Every namespace entry under one parent. */
export function sqlNamespaceSpan(parentId: number): { startKey: Buffer; endKey: Buffer } {
  const startKey = uint64Key(SQL_NAMESPACE_PREFIX, parentId);
  return { startKey, endKey: prefixEndOf(startKey) };
}

export function sqlUserKey(name: string): Buffer {
  return Buffer.concat([SQL_USER_PREFIX, Buffer.from(name, 'utf8')]);
}

export const SQL_USERS_SPAN = { startKey: SQL_USER_PREFIX, endKey: prefixEndOf(SQL_USER_PREFIX) };

/** The current value of a sequence (non-transactional, as in PostgreSQL). */
export function sqlSequenceValueKey(sequenceId: number): Buffer {
  return uint64Key(SQL_SEQUENCE_PREFIX, sequenceId);
}

/** A dropped table whose rows are still to be cleared (written by the DROP's transaction). */
export function sqlDroppedDataKey(tableId: number): Buffer {
  return uint64Key(SQL_DROPPED_DATA_PREFIX, tableId);
}

export const SQL_DROPPED_DATA_SPAN = { startKey: SQL_DROPPED_DATA_PREFIX, endKey: prefixEndOf(SQL_DROPPED_DATA_PREFIX) };

/**
 * A dropped index whose entries are still to be cleared: the table's key, then the index
 * ID. It sorts right after sqlDroppedDataKey(tableId), so one scan finds both kinds.
 */
export function sqlDroppedIndexKey(tableId: number, indexId: number): Buffer {
  return uint64Key(sqlDroppedDataKey(tableId), indexId);
}

/** The table ID a sqlDroppedDataKey or sqlDroppedIndexKey names. */
export function droppedDataTableId(key: Uint8Array): number {
  return Number(Buffer.from(key).readBigUInt64BE(SQL_DROPPED_DATA_PREFIX.length));
}

/** The index ID a sqlDroppedIndexKey names; undefined for a whole table's sqlDroppedDataKey. */
export function droppedDataIndexId(key: Uint8Array): number | undefined {
  const at = SQL_DROPPED_DATA_PREFIX.length + 8;
  return key.length >= at + 8 ? Number(Buffer.from(key).readBigUInt64BE(at)) : undefined;
}

export function settingKey(name: string): Buffer {
  return Buffer.concat([SETTING_PREFIX, Buffer.from(name, 'utf8')]);
}

/** Keys below meta2 (meta1 and under) live in the first range; no record addresses them. */
export function isAddressedByFirstRange(key: Uint8Array): boolean {
  return Buffer.compare(key, META2_PREFIX) < 0;
}

/**
 * Where the record of the range that ends at `rangeEnd` lives: meta1 for ranges that
 * end inside the meta keyspace (meta2 ranges), meta2 for every other range.
 */
export function rangeMetaKey(rangeEnd: Uint8Array): Buffer {
  const prefix = Buffer.compare(rangeEnd, META_END) <= 0 ? META1_PREFIX : META2_PREFIX;
  return Buffer.concat([prefix, rangeEnd]);
}

/**
 * The first key to scan from to find the range holding `key`: records are keyed by end
 * keys, and the range holding `key` is the first whose end is after `key`.
 */
export function metaLookupKey(key: Uint8Array): Buffer {
  if (isAddressedByFirstRange(key)) {
    throw new RangeError('keys below meta2 are addressed by the first range, not by a meta record');
  }
  const prefix = Buffer.compare(key, META_END) < 0 ? META1_PREFIX : META2_PREFIX;
  return Buffer.concat([prefix, key, Buffer.from([0x00])]);
}

/** The end of the meta level that `metaLookupKey(key)` falls in. */
export function metaLookupEnd(key: Uint8Array): Buffer {
  return Buffer.compare(key, META_END) < 0 ? META2_PREFIX : META_END;
}

/** The smallest key after every key that starts with `prefix`. */
export function prefixEndOf(prefix: Uint8Array): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] !== 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return KEY_MAX;
}

/** The smallest key after `key`. */
export function keyNext(key: Uint8Array): Buffer {
  // Every point request's span ends here: one allocation, not Buffer.concat's three.
  const next = Buffer.allocUnsafe(key.length + 1);
  next.set(key);
  next[key.length] = 0x00;
  return next;
}

/** A key for people: printable ASCII as is, other bytes as \xNN. */
export function prettyKey(key: Uint8Array): string {
  let out = '';
  for (const byte of key) {
    out += byte >= 0x20 && byte < 0x7f && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}
