import { appendEscapedBytes, decodeEscapedBytes, KeyWriter } from '../../common/encoding';
import { MalformedEncodingError } from '../../common/errors';
import type { Timestamp } from '../../common/hlc';

/**
 * The engine's raw keyspace, by first byte:
 *
 *   0x01 store-local keys: not MVCC, not replicated (store identity; later the Raft log)
 *   0x02 lock table: 0x02 esc(userKey) → Intent
 *   0x03 MVCC: 0x03 esc(userKey)                        → newest version: ts(12) + value
 *              0x03 esc(userKey) ~wallTime(8) ~logical(4) → each older version: value
 *   0x04 transaction records: 0x04 esc(anchorKey) txnId(16) → Transaction (kv.proto)
 *
 * esc() is the escaped-bytes encoding (0x00 → 0x00 0xFF, terminator 0x00 0x01), so the
 * entries of one user key are contiguous and sort before those of any longer key.
 *
 * The newest version of a key lives at the bare version prefix, its timestamp inside
 * the value: a read of current data — the common case — is one point lookup, as cheap
 * as a read of raw RocksDB. A newer write moves the previous newest down to its
 * timestamped key. Older versions carry bit-inverted timestamps, so within a key the
 * entries run from newest to oldest, and the bare entry, sorting first, is the newest.
 */
export const STORE_LOCAL_PREFIX = 0x01;
export const LOCK_TABLE_PREFIX = 0x02;
export const MVCC_PREFIX = 0x03;
export const TXN_RECORD_PREFIX = 0x04;

export const TIMESTAMP_SUFFIX_BYTES = 12;
const MAX_UINT64 = (1n << 64n) - 1n;

export function storeLocalKey(suffix: string | Uint8Array): Buffer {
  const bytes = typeof suffix === 'string' ? Buffer.from(suffix, 'utf8') : suffix;
  const key = Buffer.allocUnsafe(1 + bytes.length);
  key[0] = STORE_LOCAL_PREFIX;
  key.set(bytes, 1);
  return key;
}

function prefixedUserKey(prefix: number, userKey: Uint8Array): Buffer {
  const writer = new KeyWriter(userKey.length + 3);
  writer.appendByte(prefix);
  appendEscapedBytes(writer, userKey, 'asc');
  return writer.finish();
}

/**
 * The raw keys of one user key, built with one escaping pass: its lock table key and
 * its version prefix differ only in the first byte.
 */
export interface MvccKeysOf {
  readonly lockKey: Buffer;
  /** Also the key of the newest version. */
  readonly versionPrefix: Buffer;
}

export function mvccKeysOf(userKey: Uint8Array): MvccKeysOf {
  const versionPrefixBytes = prefixedUserKey(MVCC_PREFIX, userKey);
  const lockKey = Buffer.from(versionPrefixBytes);
  lockKey[0] = LOCK_TABLE_PREFIX;
  return { lockKey, versionPrefix: versionPrefixBytes };
}

export function lockTableKey(userKey: Uint8Array): Buffer {
  return prefixedUserKey(LOCK_TABLE_PREFIX, userKey);
}

/** The prefix shared by every version of `userKey`, and the key of its newest version. */
export function versionPrefix(userKey: Uint8Array): Buffer {
  return prefixedUserKey(MVCC_PREFIX, userKey);
}

/** The key of an older (not newest) version at `ts` under a version prefix. */
export function versionKeyFromPrefix(prefix: Uint8Array, ts: Timestamp): Buffer {
  const key = Buffer.allocUnsafe(prefix.length + TIMESTAMP_SUFFIX_BYTES);
  key.set(prefix, 0);
  writeTimestampSuffix(key, prefix.length, ts);
  return key;
}

/** The key of an older (not newest) version of `userKey` at `ts`. */
export function versionKey(userKey: Uint8Array, ts: Timestamp): Buffer {
  return versionKeyFromPrefix(versionPrefix(userKey), ts);
}

/** Writes ts into key[offset..offset+12), inverted so that newer sorts first. */
export function writeTimestampSuffix(key: Buffer, offset: number, ts: Timestamp): void {
  key.writeBigUInt64BE(MAX_UINT64 - ts.wallTime, offset);
  key.writeUInt32BE(0xffff_ffff - ts.logical, offset + 8);
}

export function readTimestampSuffix(key: Uint8Array, offset: number): Timestamp {
  if (key.length !== offset + TIMESTAMP_SUFFIX_BYTES) {
    throw new MalformedEncodingError('MVCC version key', offset, `expected a ${TIMESTAMP_SUFFIX_BYTES}-byte timestamp`);
  }
  const view = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  return {
    wallTime: MAX_UINT64 - view.readBigUInt64BE(offset),
    logical: 0xffff_ffff - view.readUInt32BE(offset + 8),
  };
}

/** The user key of a raw MVCC key whose version prefix is `prefixLength` bytes long. */
export function decodeMvccUserKey(raw: Uint8Array, prefixLength: number): Buffer {
  if (raw.length === 0 || raw[0] !== MVCC_PREFIX) {
    throw new MalformedEncodingError('MVCC key', 0, 'missing the MVCC prefix byte');
  }
  // Most keys hold no zero byte, so nothing is escaped: the key is a view of the raw
  // bytes between the prefix byte and the terminator, with no copy.
  const terminator = prefixLength - 2;
  if (terminator >= 1 && raw[terminator] === 0x00 && raw[terminator + 1] === 0x01 && raw.indexOf(0x00, 1) === terminator) {
    return Buffer.from(raw.buffer, raw.byteOffset + 1, terminator - 1);
  }
  const { value, next } = decodeEscapedBytes(raw, 1, 'asc');
  if (next !== prefixLength) {
    throw new MalformedEncodingError('MVCC key', next, 'the user key does not end where its terminator is');
  }
  return value;
}

export function decodeLockTableKey(raw: Uint8Array): Buffer {
  if (raw.length === 0 || raw[0] !== LOCK_TABLE_PREFIX) {
    throw new MalformedEncodingError('lock table key', 0, 'missing the lock table prefix byte');
  }
  const { value, next } = decodeEscapedBytes(raw, 1, 'asc');
  if (next !== raw.length) {
    throw new MalformedEncodingError('lock table key', next, 'trailing bytes after the user key');
  }
  return value;
}

/** Raw bounds [start, end) of the lock table entries of user keys in [start, end). */
export function lockTableSpan(start: Uint8Array, end: Uint8Array): [Buffer, Buffer] {
  return [lockTableKey(start), lockTableKey(end)];
}

/** Raw bounds [start, end) of the versions of user keys in [start, end). */
export function versionSpan(start: Uint8Array, end: Uint8Array): [Buffer, Buffer] {
  return [versionPrefix(start), versionPrefix(end)];
}

/**
 * The key of a transaction's record: it sorts with its anchor key, so the record
 * belongs to (and moves with) the range that holds the anchor.
 */
export function txnRecordKey(anchorKey: Uint8Array, txnId: Uint8Array): Buffer {
  const writer = new KeyWriter(anchorKey.length + txnId.length + 3);
  writer.appendByte(TXN_RECORD_PREFIX);
  appendEscapedBytes(writer, anchorKey, 'asc');
  writer.appendBytes(txnId);
  return writer.finish();
}

/** Raw bounds [start, end) of the records of transactions anchored in [start, end). */
export function txnRecordSpan(start: Uint8Array, end: Uint8Array): [Buffer, Buffer] {
  return [prefixedUserKey(TXN_RECORD_PREFIX, start), prefixedUserKey(TXN_RECORD_PREFIX, end)];
}

/**
 * Every raw span that holds replicated data of user keys in [start, end): intents,
 * versions and transaction records. A range's snapshot and its removal cover these.
 */
export function replicatedSpans(start: Uint8Array, end: Uint8Array): [Buffer, Buffer][] {
  return [lockTableSpan(start, end), versionSpan(start, end), txnRecordSpan(start, end)];
}

/**
 * The length of the version prefix of a raw MVCC key (prefix byte and escaped user
 * key), found without copying: every entry of one user key shares it. The key is that
 * prefix alone (the newest version) or the prefix and a timestamp.
 */
export function versionPrefixLength(raw: Uint8Array): number {
  for (let i = 1; i < raw.length - 1; i++) {
    if (raw[i] === 0x00) {
      const following = raw[i + 1];
      if (following === 0x01) {
        const length = i + 2;
        if (raw.length !== length && raw.length !== length + TIMESTAMP_SUFFIX_BYTES) {
          break;
        }
        return length;
      }
      if (following !== 0xff) {
        break;
      }
      i++;
    }
  }
  throw new MalformedEncodingError('MVCC key', 0, 'no well-formed user key and timestamp');
}

/** Whether raw[0..length) equals prefix. */
export function samePrefix(raw: Uint8Array, length: number, prefix: Uint8Array): boolean {
  if (length !== prefix.length || raw.length < length) {
    return false;
  }
  for (let i = length - 1; i >= 0; i--) {
    if (raw[i] !== prefix[i]) {
      return false;
    }
  }
  return true;
}

/** Whether raw is an older-version key of the user key whose version prefix is `prefix`. */
export function isOlderVersionOf(raw: Uint8Array, prefix: Uint8Array): boolean {
  return raw.length === prefix.length + TIMESTAMP_SUFFIX_BYTES && samePrefix(raw, prefix.length, prefix);
}

/** Whether raw is any version key (newest or older) of the key with version prefix `prefix`. */
export function isVersionOf(raw: Uint8Array, prefix: Uint8Array): boolean {
  return (
    (raw.length === prefix.length || raw.length === prefix.length + TIMESTAMP_SUFFIX_BYTES) &&
    samePrefix(raw, prefix.length, prefix)
  );
}
