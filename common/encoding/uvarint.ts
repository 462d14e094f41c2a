import { InvalidArgumentError, MalformedEncodingError } from '../errors';

/**
 * An order-preserving unsigned varint for the small IDs at the front of SQL keys
 * (table and index IDs). Values below 110 take one byte, 136 + v (0x88..0xF5); larger
 * values take a length byte 0xF5 + n (0xF6..0xFD) and n big-endian bytes with no
 * leading zero byte. A longer encoding is a larger value, so bytes sort as numbers.
 * Every first byte lies in [0x88, 0xFD]: inside the user keyspace [0x10, 0xFF 0xFF).
 */

const SMALL_BASE = 0x88;
const SMALL_LIMIT = 110;
const LENGTH_BASE = 0xf5;

export function uvarintAscendingLength(value: number): number {
  if (value < SMALL_LIMIT) {
    return 1;
  }
  let n = 0;
  for (let v = value; v > 0; v = Math.floor(v / 256)) {
    n++;
  }
  return 1 + n;
}

/** Writes `value` (a safe non-negative integer) at `offset`; returns the offset after it. */
export function writeUvarintAscending(buf: Buffer, offset: number, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`uvarint value ${value} is not a non-negative safe integer`);
  }
  if (value < SMALL_LIMIT) {
    buf[offset] = SMALL_BASE + value;
    return offset + 1;
  }
  const n = uvarintAscendingLength(value) - 1;
  buf[offset] = LENGTH_BASE + n;
  let v = value;
  for (let i = n; i >= 1; i--) {
    buf[offset + i] = v % 256;
    v = Math.floor(v / 256);
  }
  return offset + 1 + n;
}

export function encodeUvarintAscending(value: number): Buffer {
  const buf = Buffer.allocUnsafe(uvarintAscendingLength(value));
  writeUvarintAscending(buf, 0, value);
  return buf;
}

export interface DecodedUvarint {
  readonly value: number;
  readonly next: number;
}

export function decodeUvarintAscending(buf: Uint8Array, offset = 0): DecodedUvarint {
  const first = buf[offset];
  if (first === undefined) {
    throw new MalformedEncodingError('uvarint', offset, 'no bytes');
  }
  if (first >= SMALL_BASE && first < SMALL_BASE + SMALL_LIMIT) {
    return { value: first - SMALL_BASE, next: offset + 1 };
  }
  const n = first - LENGTH_BASE;
  if (n < 1 || n > 7) {
    throw new MalformedEncodingError('uvarint', offset, `bad leading byte 0x${first.toString(16)}`);
  }
  if (offset + 1 + n > buf.length) {
    throw new MalformedEncodingError('uvarint', offset, 'truncated');
  }
  let value = 0;
  for (let i = 1; i <= n; i++) {
    value = value * 256 + (buf[offset + i] as number);
  }
  if (buf[offset + 1] === 0 || value < SMALL_LIMIT || !Number.isSafeInteger(value)) {
    throw new MalformedEncodingError('uvarint', offset, 'not canonical');
  }
  return { value, next: offset + 1 + n };
}
