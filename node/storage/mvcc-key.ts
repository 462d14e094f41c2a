import { appendEscapedBytes, decodeEscapedBytes, KeyWriter } from '../../common/encoding';
import { MalformedEncodingError } from '../../common/errors';
import type { Timestamp } from '../../common/hlc';

/**
 * The engine's raw keyspace, by first byte:
 *
 *   0x01 store-local keys: not MVCC, not replicated (store identity; later the Raft log)
 *   0x02 lock table: 0x02 esc(userKey) → Intent
 *   0x03 MVCC versions: 0x03 esc(userKey) ~wallTime(8) ~logical(4) → version value
 *
 * esc() is the escaped-bytes encoding (0x00 → 0x00 0xFF, terminator 0x00 0x01), so the
 * versions of one user key are contiguous and sort before those of any longer key.
 * Timestamps are stored bit-inverted so that the newest version of a key comes first.
 */
export const STORE_LOCAL_PREFIX = 0x01;
export const LOCK_TABLE_PREFIX = 0x02;
export const MVCC_PREFIX = 0x03;

export const TIMESTAMP_SUFFIX_BYTES = 12;
const MAX_UINT64 = (1n << 64n) - 1n;

export function storeLocalKey(suffix: string | Uint8Array): Buffer {
  const bytes = typeof suffix === 'string' ? Buffer.from(suffix, 'utf8') : suffix;
  const key = Buffer.allocUnsafe(1 + bytes.length);
  key[0] = STORE_LOCAL_PREFIX;
  key.set(bytes, 1);
  return key;
}

function prefixedUserKey(prefix: number, userKey: Uint8Array, extra: number): KeyWriter {
  const writer = new KeyWriter(userKey.length + 3 + extra);
  writer.appendByte(prefix);
  appendEscapedBytes(writer, userKey, 'asc');
  return writer;
}

export function lockTableKey(userKey: Uint8Array): Buffer {
  return prefixedUserKey(LOCK_TABLE_PREFIX, userKey, 0).finish();
}

/** The prefix shared by every version of `userKey`. */
export function versionPrefix(userKey: Uint8Array): Buffer {
  return prefixedUserKey(MVCC_PREFIX, userKey, 0).finish();
}

const suffixScratch = Buffer.alloc(TIMESTAMP_SUFFIX_BYTES);

/** The raw key of the version of `userKey` at `ts`. */
export function versionKey(userKey: Uint8Array, ts: Timestamp): Buffer {
  const writer = prefixedUserKey(MVCC_PREFIX, userKey, TIMESTAMP_SUFFIX_BYTES);
  writeTimestampSuffix(suffixScratch, 0, ts);
  writer.appendBytes(suffixScratch);
  return writer.finish();
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

export interface DecodedVersionKey {
  readonly userKey: Buffer;
  readonly timestamp: Timestamp;
  /** Length of the version prefix (everything before the timestamp). */
  readonly prefixLength: number;
}

export function decodeVersionKey(raw: Uint8Array): DecodedVersionKey {
  if (raw.length === 0 || raw[0] !== MVCC_PREFIX) {
    throw new MalformedEncodingError('MVCC version key', 0, 'missing the MVCC prefix byte');
  }
  const { value, next } = decodeEscapedBytes(raw, 1, 'asc');
  return { userKey: value, timestamp: readTimestampSuffix(raw, next), prefixLength: next };
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

/** Whether raw key `raw` starts with `prefix`. */
export function hasPrefix(raw: Uint8Array, prefix: Uint8Array): boolean {
  if (raw.length < prefix.length) {
    return false;
  }
  return Buffer.compare(raw.subarray(0, prefix.length), prefix) === 0;
}

/**
 * The length of the version prefix of a raw MVCC key (prefix byte and escaped user
 * key), found without copying: versions of one user key share it.
 */
export function versionPrefixLength(raw: Uint8Array): number {
  for (let i = 1; i < raw.length - 1; i++) {
    if (raw[i] === 0x00) {
      const following = raw[i + 1];
      if (following === 0x01) {
        if (raw.length !== i + 2 + TIMESTAMP_SUFFIX_BYTES) {
          break;
        }
        return i + 2;
      }
      if (following !== 0xff) {
        break;
      }
      i++;
    }
  }
  throw new MalformedEncodingError('MVCC version key', 0, 'no well-formed user key and timestamp');
}

/** Whether raw[0..length) equals prefix. */
export function samePrefix(raw: Uint8Array, length: number, prefix: Uint8Array): boolean {
  if (length !== prefix.length) {
    return false;
  }
  for (let i = length - 1; i >= 0; i--) {
    if (raw[i] !== prefix[i]) {
      return false;
    }
  }
  return true;
}

/** Whether raw is a version key of the user key whose version prefix is `prefix`. */
export function isVersionOf(raw: Uint8Array, prefix: Uint8Array): boolean {
  return raw.length === prefix.length + TIMESTAMP_SUFFIX_BYTES && samePrefix(raw, prefix.length, prefix);
}
