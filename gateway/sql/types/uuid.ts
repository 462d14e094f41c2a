import { SqlError, SqlStates } from '../../../common/errors';

/**
 * uuid datums are canonical strings ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'), which
 * compare like PostgreSQL's uuids (bytewise) and work as Map keys.
 */

const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) {
  HEX_VALUE[0x30 + i] = i;
}
for (let i = 0; i < 6; i++) {
  HEX_VALUE[0x41 + i] = 10 + i;
  HEX_VALUE[0x61 + i] = 10 + i;
}

export function hexValue(c: number): number {
  return c < 128 ? HEX_VALUE[c]! : -1;
}

const HEX_DIGITS = '0123456789abcdef';

/**
 * uuid input as PostgreSQL accepts it: 32 hex digits in any case, optionally in braces,
 * with an optional hyphen after any group of four digits. → canonical form.
 */
export function parseUuid(text: string): string {
  let i = 0;
  const n = text.length;
  const braced = text.charCodeAt(0) === 0x7b;
  if (braced) {
    i++;
  }
  let out = '';
  for (let byte = 0; byte < 16; byte++) {
    const hi = hexValue(text.charCodeAt(i));
    const lo = hexValue(text.charCodeAt(i + 1));
    if (hi < 0 || lo < 0) {
      throw badUuid(text);
    }
    out += HEX_DIGITS[hi]! + HEX_DIGITS[lo]!;
    i += 2;
    if (byte === 3 || byte === 5 || byte === 7 || byte === 9) {
      out += '-';
    }
    if (text.charCodeAt(i) === 0x2d && byte % 2 === 1 && byte < 15) {
      i++;
    }
  }
  if (braced) {
    if (text.charCodeAt(i) !== 0x7d) {
      throw badUuid(text);
    }
    i++;
  }
  if (i !== n) {
    throw badUuid(text);
  }
  return out;
}

function badUuid(text: string): SqlError {
  return new SqlError(SqlStates.invalidTextRepresentation, `invalid input syntax for type uuid: "${text}"`);
}

/** Canonical uuid string → 16 bytes. */
export function uuidToBytes(uuid: string, out: Uint8Array = new Uint8Array(16), offset = 0): Uint8Array {
  let j = 0;
  for (let byte = 0; byte < 16; byte++) {
    if (uuid.charCodeAt(j) === 0x2d) {
      j++;
    }
    const hi = hexValue(uuid.charCodeAt(j));
    const lo = hexValue(uuid.charCodeAt(j + 1));
    if (hi < 0 || lo < 0) {
      throw new SqlError(SqlStates.internalError, `uuid datum ${JSON.stringify(uuid)} is not canonical`);
    }
    out[offset + byte] = (hi << 4) | lo;
    j += 2;
  }
  return out;
}

/** 16 bytes → canonical uuid string. */
export function uuidFromBytes(bytes: Uint8Array, offset = 0): string {
  let out = '';
  for (let byte = 0; byte < 16; byte++) {
    const b = bytes[offset + byte]!;
    out += HEX_DIGITS[b >> 4]! + HEX_DIGITS[b & 15]!;
    if (byte === 3 || byte === 5 || byte === 7 || byte === 9) {
      out += '-';
    }
  }
  return out;
}
