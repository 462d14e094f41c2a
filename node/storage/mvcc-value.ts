import { MalformedEncodingError } from '../../common/errors';
import type { Timestamp } from '../../common/hlc';
import { Intent as IntentProto } from '../../proto/gen/cairn/storage/v1/mvcc';
import { readTimestampSuffix } from './mvcc-key';
import { encodeProto } from '../../common/encoding';

/**
 * A committed version's value: one tag byte, then the value bytes.
 *   0x00  tombstone (the key was deleted at this timestamp)
 *   0x01  value
 */
const TOMBSTONE_TAG = 0x00;
const VALUE_TAG = 0x01;
const TOMBSTONE_BYTES = Buffer.from([TOMBSTONE_TAG]);

export function encodeVersionValue(value: Uint8Array | undefined): Buffer {
  if (value === undefined) {
    return TOMBSTONE_BYTES;
  }
  const out = Buffer.allocUnsafe(value.length + 1);
  out[0] = VALUE_TAG;
  out.set(value, 1);
  return out;
}

/** The value bytes, or undefined for a tombstone. */
export function decodeVersionValue(raw: Buffer): Buffer | undefined {
  const tag = raw[0];
  if (tag === VALUE_TAG) {
    return raw.subarray(1);
  }
  if (tag === TOMBSTONE_TAG && raw.length === 1) {
    return undefined;
  }
  throw new MalformedEncodingError('MVCC version value', 0, tag === undefined ? 'empty' : `unknown tag 0x${tag.toString(16)}`);
}

export function isTombstoneValue(raw: Buffer): boolean {
  return raw.length === 1 && raw[0] === TOMBSTONE_TAG;
}

/**
 * The newest version of a key, stored at its bare version prefix: the timestamp
 * (wall time 8 bytes and logical 4 bytes, big-endian), then the version value.
 */
const NEWEST_TIMESTAMP_BYTES = 12;

export function encodeNewestVersion(ts: Timestamp, value: Uint8Array | undefined): Buffer {
  const out = Buffer.allocUnsafe(NEWEST_TIMESTAMP_BYTES + 1 + (value?.length ?? 0));
  out.writeBigUInt64BE(ts.wallTime, 0);
  out.writeUInt32BE(ts.logical, 8);
  if (value === undefined) {
    out[NEWEST_TIMESTAMP_BYTES] = TOMBSTONE_TAG;
  } else {
    out[NEWEST_TIMESTAMP_BYTES] = VALUE_TAG;
    out.set(value, NEWEST_TIMESTAMP_BYTES + 1);
  }
  return out;
}

function checkNewest(raw: Buffer): void {
  if (raw.length <= NEWEST_TIMESTAMP_BYTES) {
    throw new MalformedEncodingError('MVCC newest version', 0, `${raw.length} bytes is too short`);
  }
}

export function newestVersionTimestamp(raw: Buffer): Timestamp {
  checkNewest(raw);
  return { wallTime: raw.readBigUInt64BE(0), logical: raw.readUInt32BE(8) };
}

/** The version value (tag and bytes) inside a newest-version entry. */
export function newestVersionValue(raw: Buffer): Buffer {
  checkNewest(raw);
  return raw.subarray(NEWEST_TIMESTAMP_BYTES);
}

/**
 * The timestamp of a version entry met by iteration (raw key and value, with the
 * length of its version prefix): the newest one (bare key) or an older one.
 */
export function entryTimestamp(raw: Buffer, value: Buffer, prefixLength: number): Timestamp {
  return raw.length === prefixLength ? newestVersionTimestamp(value) : readTimestampSuffix(raw, prefixLength);
}

/** The version value (tag and bytes) of a version entry met by iteration. */
export function entryVersionValue(raw: Buffer, value: Buffer, prefixLength: number): Buffer {
  return raw.length === prefixLength ? newestVersionValue(value) : value;
}

/** The transaction facts carried by each intent (see proto/cairn/storage/v1/mvcc.proto). */
export interface TxnMeta {
  /** 16 bytes. */
  readonly id: Buffer;
  readonly anchorKey: Buffer;
  readonly epoch: number;
  readonly writeTimestamp: Timestamp;
  readonly minTimestamp: Timestamp;
  readonly priority: number;
  readonly sequence: number;
}

export interface Intent {
  readonly txn: TxnMeta;
  /** The provisional value; undefined for a provisional delete. */
  readonly value: Buffer | undefined;
}

export const TXN_ID_BYTES = 16;

export function encodeIntent(intent: Intent): Buffer {
  const { txn } = intent;
  return encodeProto(IntentProto, {
    txn: {
      id: txn.id,
      anchorKey: txn.anchorKey,
      epoch: txn.epoch,
      writeTimestamp: { wallTime: txn.writeTimestamp.wallTime, logical: txn.writeTimestamp.logical },
      minTimestamp: { wallTime: txn.minTimestamp.wallTime, logical: txn.minTimestamp.logical },
      priority: txn.priority,
      sequence: txn.sequence,
    },
    value: intent.value,
  });
}

/**
 * The transaction ID of an encoded intent, read without decoding the rest: the intent
 * starts with its TxnMeta (field 1), which starts with the ID (field 1, 16 bytes), as
 * encodeIntent writes them. Undefined for any other layout.
 */
export function intentTxnId(raw: Uint8Array): Uint8Array | undefined {
  if (raw[0] !== 0x0a) return undefined;
  // Skip the TxnMeta's length (a varint).
  let i = 1;
  while (i < raw.length && ((raw[i] as number) & 0x80) !== 0) i++;
  i++;
  if (raw[i] !== 0x0a || raw[i + 1] !== TXN_ID_BYTES || i + 2 + TXN_ID_BYTES > raw.length) return undefined;
  return raw.subarray(i + 2, i + 2 + TXN_ID_BYTES);
}

export function decodeIntent(raw: Buffer): Intent {
  let decoded: IntentProto;
  try {
    decoded = IntentProto.decode(raw);
  } catch (err) {
    throw new MalformedEncodingError('intent', 0, (err as Error).message);
  }
  const txn = decoded.txn;
  if (txn === undefined || txn.id.length !== TXN_ID_BYTES || txn.writeTimestamp === undefined) {
    throw new MalformedEncodingError('intent', 0, 'missing transaction ID or write timestamp');
  }
  return {
    txn: {
      id: txn.id,
      anchorKey: txn.anchorKey,
      epoch: txn.epoch,
      writeTimestamp: txn.writeTimestamp,
      minTimestamp: txn.minTimestamp ?? txn.writeTimestamp,
      priority: txn.priority,
      sequence: txn.sequence,
    },
    value: decoded.value,
  };
}
