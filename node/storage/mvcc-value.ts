import { MalformedEncodingError } from '../../common/errors';
import type { Timestamp } from '../../common/hlc';
import { Intent as IntentProto } from '../../proto/gen/cairn/storage/v1/mvcc';

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
  const bytes = IntentProto.encode({
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
  }).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
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
