import { InvalidArgumentError, MalformedEncodingError, unreachable } from '../errors';
import { Decimal } from './decimal';
import { KeyWriter } from './key-writer';

export { KeyWriter } from './key-writer';

/**
 * Order-preserving key encoding: for datums of one type, the byte order of encodings is
 * the SQL (PostgreSQL) order of values, and a composite key (the concatenation of its
 * datums' encodings) sorts as the tuple. See OVERVIEW.md for the format and its reasons.
 */

export type Direction = 'asc' | 'desc';

export type KeyDatum =
  | { readonly type: 'null' }
  | { readonly type: 'bool'; readonly value: boolean }
  /** int64 */
  | { readonly type: 'int'; readonly value: bigint }
  /** uint64 */
  | { readonly type: 'uint'; readonly value: bigint }
  /** float64 */
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'decimal'; readonly value: Decimal }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'bytes'; readonly value: Uint8Array }
  /** Microseconds since the Unix epoch, signed int64. */
  | { readonly type: 'timestamp'; readonly value: bigint }
  /** 16 bytes. */
  | { readonly type: 'uuid'; readonly value: Uint8Array };

export type KeyDatumType = KeyDatum['type'];

export interface DecodedDatum {
  readonly datum: KeyDatum;
  readonly direction: Direction;
  /** Offset of the byte after the datum. */
  readonly next: number;
}

export interface DecodedKey {
  readonly datums: KeyDatum[];
  readonly directions: Direction[];
}

/**
 * Ascending type tags. All are >= 0x80, so their descending (inverted) forms are all
 * < 0x80 and the tag alone tells the decoder the direction. 0x80 and 0xFF (and so 0x7F
 * and 0x00) are never tags. Within a type whose values use several tags (decimal, and
 * NULL beside any type), the tags' order is the values' order.
 */
export const KEY_TAGS = Object.freeze({
  bool: 0x81,
  int: 0x82,
  uint: 0x83,
  float: 0x84,
  decimalNegativeInfinity: 0x85,
  decimalNegative: 0x86,
  decimalZero: 0x87,
  decimalPositive: 0x88,
  decimalPositiveInfinity: 0x89,
  decimalNaN: 0x8a,
  string: 0x8b,
  bytes: 0x8c,
  timestamp: 0x8d,
  uuid: 0x8e,
  /** After every non-null tag: NULLS LAST ascending, NULLS FIRST descending. */
  null: 0xfe,
} as const);

const TAG_BOOL = KEY_TAGS.bool;
const TAG_INT = KEY_TAGS.int;
const TAG_UINT = KEY_TAGS.uint;
const TAG_FLOAT = KEY_TAGS.float;
const TAG_DECIMAL_NEG_INF = KEY_TAGS.decimalNegativeInfinity;
const TAG_DECIMAL_NEG = KEY_TAGS.decimalNegative;
const TAG_DECIMAL_ZERO = KEY_TAGS.decimalZero;
const TAG_DECIMAL_POS = KEY_TAGS.decimalPositive;
const TAG_DECIMAL_POS_INF = KEY_TAGS.decimalPositiveInfinity;
const TAG_DECIMAL_NAN = KEY_TAGS.decimalNaN;
const TAG_STRING = KEY_TAGS.string;
const TAG_BYTES = KEY_TAGS.bytes;
const TAG_TIMESTAMP = KEY_TAGS.timestamp;
const TAG_UUID = KEY_TAGS.uuid;
const TAG_NULL = KEY_TAGS.null;

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;
const UUID_LENGTH = 16;

/** Escaped-bytes framing (ascending): 0x00 is written 0x00 0xFF; the value ends 0x00 0x01. */
const ESCAPE = 0x00;
const ESCAPED_ZERO = 0xff;
const TERMINATOR = 0x01;

/** XOR masks: descending is every ascending byte inverted. */
const MASK_ASC = 0x00;
const MASK_DESC = 0xff;

const WHAT = 'key';

/** Canonical NaN (0x7FF8000000000000): every NaN is encoded with these bits. */
const NAN_HI = 0x7ff8_0000;
const SIGN_BIT = 0x8000_0000;

const floatView = new DataView(new ArrayBuffer(8));
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** '00'..'99', for turning base-100 decimal mantissa bytes back into digits. */
const PAIR_TEXT: readonly string[] = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));

/** Writer reused by encodeKey; dropped if one huge key made it large. */
let scratch = new KeyWriter(256);
const SCRATCH_KEEP_BYTES = 64 * 1024;

function directionMask(direction: Direction): number {
  if (direction === 'asc') {
    return MASK_ASC;
  }
  if (direction === 'desc') {
    return MASK_DESC;
  }
  throw new InvalidArgumentError(`key direction ${JSON.stringify(direction)} is not 'asc' or 'desc'`);
}

// ---------------------------------------------------------------------------------------
// Encoding

/** Encodes a composite key; `directions` defaults to all ascending. */
export function encodeKey(datums: readonly KeyDatum[], directions?: readonly Direction[]): Buffer {
  if (directions !== undefined && directions.length !== datums.length) {
    throw new InvalidArgumentError(
      `encodeKey got ${datums.length} datums but ${directions.length} directions`,
    );
  }
  const writer = scratch;
  writer.reset();
  for (let i = 0; i < datums.length; i++) {
    appendDatum(writer, datums[i]!, directions === undefined ? 'asc' : directions[i]!);
  }
  const out = writer.finish();
  if (writer.capacity > SCRATCH_KEEP_BYTES) {
    scratch = new KeyWriter(256);
  }
  return out;
}

/** Appends one tagged datum. */
export function appendDatum(writer: KeyWriter, datum: KeyDatum, direction: Direction): void {
  const mask = directionMask(direction);
  switch (datum.type) {
    case 'null':
      writer.appendByte(TAG_NULL ^ mask);
      return;
    case 'bool': {
      const value: unknown = datum.value;
      if (typeof value !== 'boolean') {
        throw new InvalidArgumentError(`bool key datum has a ${typeof value} value`);
      }
      writer.appendByte(TAG_BOOL ^ mask);
      writer.appendByte((value ? 1 : 0) ^ mask);
      return;
    }
    case 'int':
      appendInt64(writer, TAG_INT, datum.value, mask, 'int');
      return;
    case 'timestamp':
      appendInt64(writer, TAG_TIMESTAMP, datum.value, mask, 'timestamp');
      return;
    case 'uint':
      appendUint64(writer, datum.value, mask);
      return;
    case 'float':
      appendFloat(writer, datum.value, mask);
      return;
    case 'decimal':
      appendDecimal(writer, datum.value, mask);
      return;
    case 'string': {
      const value: unknown = datum.value;
      if (typeof value !== 'string') {
        throw new InvalidArgumentError(`string key datum has a ${typeof value} value`);
      }
      writer.appendByte(TAG_STRING ^ mask);
      appendUtf8Escaped(writer, value, mask);
      return;
    }
    case 'bytes':
      checkBytes(datum.value, 'bytes');
      writer.appendByte(TAG_BYTES ^ mask);
      appendEscaped(writer, datum.value, mask);
      return;
    case 'uuid':
      checkBytes(datum.value, 'uuid');
      if (datum.value.length !== UUID_LENGTH) {
        throw new InvalidArgumentError(`uuid key datum has ${datum.value.length} bytes, not ${UUID_LENGTH}`);
      }
      writer.reserve(1 + UUID_LENGTH);
      writer.appendByte(TAG_UUID ^ mask);
      for (let i = 0; i < UUID_LENGTH; i++) {
        writer.appendByte(datum.value[i]! ^ mask);
      }
      return;
    default:
      unreachable(datum, 'key datum type');
  }
}

/**
 * Appends `bytes` escaped and terminated, without a tag (the MVCC layer delimits user
 * keys this way). Ascending: 0x00 → 0x00 0xFF, then 0x00 0x01; descending: all inverted.
 */
export function appendEscapedBytes(writer: KeyWriter, bytes: Uint8Array, direction: Direction): void {
  const mask = directionMask(direction);
  checkBytes(bytes, 'escaped bytes');
  appendEscaped(writer, bytes, mask);
}

function checkBytes(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new InvalidArgumentError(`${what} key datum value is not a Uint8Array`);
  }
}

function appendUint32(writer: KeyWriter, v: number, mask: number): void {
  writer.appendByte((v >>> 24) ^ mask);
  writer.appendByte(((v >>> 16) & 0xff) ^ mask);
  writer.appendByte(((v >>> 8) & 0xff) ^ mask);
  writer.appendByte((v & 0xff) ^ mask);
}

function appendInt64(writer: KeyWriter, tag: number, v: bigint, mask: number, what: string): void {
  if (typeof v !== 'bigint' || v < INT64_MIN || v > INT64_MAX) {
    throw new InvalidArgumentError(`${what} key datum ${String(v)} is not a bigint in the int64 range`);
  }
  writer.reserve(9);
  writer.appendByte(tag ^ mask);
  // The high word is signed; flipping its sign bit makes two's complement sort unsigned.
  appendUint32(writer, (Number(v >> 32n) ^ SIGN_BIT) >>> 0, mask);
  appendUint32(writer, Number(v & 0xffff_ffffn), mask);
}

function appendUint64(writer: KeyWriter, v: bigint, mask: number): void {
  if (typeof v !== 'bigint' || v < 0n || v > UINT64_MAX) {
    throw new InvalidArgumentError(`uint key datum ${String(v)} is not a bigint in the uint64 range`);
  }
  writer.reserve(9);
  writer.appendByte(TAG_UINT ^ mask);
  appendUint32(writer, Number(v >> 32n), mask);
  appendUint32(writer, Number(v & 0xffff_ffffn), mask);
}

function appendFloat(writer: KeyWriter, v: number, mask: number): void {
  if (typeof v !== 'number') {
    throw new InvalidArgumentError(`float key datum has a ${typeof v} value`);
  }
  let hi: number;
  let lo: number;
  if (Number.isNaN(v)) {
    hi = NAN_HI;
    lo = 0;
  } else {
    // `v === 0` also holds for -0: both encode as +0, since SQL says they are equal.
    floatView.setFloat64(0, v === 0 ? 0 : v);
    hi = floatView.getUint32(0);
    lo = floatView.getUint32(4);
  }
  if (hi >= SIGN_BIT) {
    // Negative: larger magnitudes must sort lower, so invert everything.
    hi = ~hi >>> 0;
    lo = ~lo >>> 0;
  } else {
    hi = (hi | SIGN_BIT) >>> 0;
  }
  writer.reserve(9);
  writer.appendByte(TAG_FLOAT ^ mask);
  appendUint32(writer, hi, mask);
  appendUint32(writer, lo, mask);
}

function appendDecimal(writer: KeyWriter, d: Decimal, mask: number): void {
  if (!(d instanceof Decimal)) {
    throw new InvalidArgumentError('decimal key datum value is not a Decimal');
  }
  switch (d.kind) {
    case 'nan':
      writer.appendByte(TAG_DECIMAL_NAN ^ mask);
      return;
    case '+inf':
      writer.appendByte(TAG_DECIMAL_POS_INF ^ mask);
      return;
    case '-inf':
      writer.appendByte(TAG_DECIMAL_NEG_INF ^ mask);
      return;
    case 'finite':
      break;
    default:
      unreachable(d.kind, 'decimal kind');
  }
  const digits = d.digits;
  const n = digits.length;
  if (n === 0) {
    writer.appendByte(TAG_DECIMAL_ZERO ^ mask);
    return;
  }
  const negative = d.negative;
  writer.reserve(5 + ((n + 1) >> 1));
  writer.appendByte((negative ? TAG_DECIMAL_NEG : TAG_DECIMAL_POS) ^ mask);
  // A larger exponent means a larger magnitude (the first digit is non-zero); negated
  // for negative numbers, whose larger magnitudes sort lower.
  const e = negative ? -d.exponent : d.exponent;
  appendUint32(writer, (e ^ SIGN_BIT) >>> 0, mask);
  const mantissaMask = negative ? mask ^ 0xff : mask;
  for (let i = 0; i < n; i += 2) {
    const tens = digits.charCodeAt(i) - 0x30;
    const units = i + 1 < n ? digits.charCodeAt(i + 1) - 0x30 : 0;
    const pair = tens * 10 + units;
    // Odd bytes continue, the even byte ends: a shorter mantissa that is a prefix of a
    // longer one ends with 2p, below the longer one's 2p+1, so it sorts first.
    const b = i + 2 < n ? pair * 2 + 1 : pair * 2;
    writer.appendByte(b ^ mantissaMask);
  }
}

function appendEscaped(writer: KeyWriter, bytes: Uint8Array, mask: number): void {
  const n = bytes.length;
  if (mask === MASK_ASC && bytes.indexOf(ESCAPE) === -1) {
    // Common case: nothing to escape, one native copy.
    writer.reserve(n + 2);
    writer.appendBytes(bytes);
  } else {
    writer.reserve(2 * n + 2);
    for (let i = 0; i < n; i++) {
      const b = bytes[i]!;
      writer.appendByte(b ^ mask);
      if (b === ESCAPE) {
        writer.appendByte(ESCAPED_ZERO ^ mask);
      }
    }
  }
  writer.appendByte(ESCAPE ^ mask);
  writer.appendByte(TERMINATOR ^ mask);
}

/** UTF-8 encodes and escapes in one pass, rejecting lone surrogates (not valid text). */
function appendUtf8Escaped(writer: KeyWriter, s: string, mask: number): void {
  const n = s.length;
  // Each UTF-16 unit becomes at most 3 bytes (NUL: 2, a surrogate pair: 4 for 2 units).
  writer.reserve(3 * n + 2);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      writer.appendByte(c ^ mask);
      if (c === ESCAPE) {
        writer.appendByte(ESCAPED_ZERO ^ mask);
      }
    } else if (c < 0x800) {
      writer.appendByte((0xc0 | (c >> 6)) ^ mask);
      writer.appendByte((0x80 | (c & 0x3f)) ^ mask);
    } else if (c < 0xd800 || c > 0xdfff) {
      writer.appendByte((0xe0 | (c >> 12)) ^ mask);
      writer.appendByte((0x80 | ((c >> 6) & 0x3f)) ^ mask);
      writer.appendByte((0x80 | (c & 0x3f)) ^ mask);
    } else {
      const c2 = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c > 0xdbff || c2 < 0xdc00 || c2 > 0xdfff) {
        throw new InvalidArgumentError(`string key datum has a lone surrogate at index ${i}`);
      }
      i++;
      const cp = 0x10000 + ((c - 0xd800) << 10) + (c2 - 0xdc00);
      writer.appendByte((0xf0 | (cp >> 18)) ^ mask);
      writer.appendByte((0x80 | ((cp >> 12) & 0x3f)) ^ mask);
      writer.appendByte((0x80 | ((cp >> 6) & 0x3f)) ^ mask);
      writer.appendByte((0x80 | (cp & 0x3f)) ^ mask);
    }
  }
  writer.appendByte(ESCAPE ^ mask);
  writer.appendByte(TERMINATOR ^ mask);
}

// ---------------------------------------------------------------------------------------
// Decoding

function checkRange(buf: Uint8Array, offset: number, end: number): void {
  if (!(buf instanceof Uint8Array)) {
    throw new InvalidArgumentError('key to decode is not a Uint8Array');
  }
  if (
    !Number.isSafeInteger(offset) ||
    !Number.isSafeInteger(end) ||
    offset < 0 ||
    offset > end ||
    end > buf.length
  ) {
    throw new InvalidArgumentError(
      `key decode range [${offset}, ${end}) is not inside a buffer of ${buf.length} bytes`,
    );
  }
}

/** Decodes a whole composite key in [offset, end). */
export function decodeKey(buf: Uint8Array, offset = 0, end: number = buf.length): DecodedKey {
  checkRange(buf, offset, end);
  const datums: KeyDatum[] = [];
  const directions: Direction[] = [];
  let pos = offset;
  while (pos < end) {
    const d = decodeTagged(buf, pos, end);
    datums.push(d.datum);
    directions.push(d.direction);
    pos = d.next;
  }
  return { datums, directions };
}

/** Decodes the one tagged datum at `offset` (not reading at or past `end`). */
export function decodeDatum(buf: Uint8Array, offset: number, end: number = buf.length): DecodedDatum {
  checkRange(buf, offset, end);
  return decodeTagged(buf, offset, end);
}

/** Decodes an untagged value written by appendEscapedBytes. */
export function decodeEscapedBytes(
  buf: Uint8Array,
  offset: number,
  direction: Direction,
  end: number = buf.length,
): { value: Buffer; next: number } {
  const mask = directionMask(direction);
  checkRange(buf, offset, end);
  const term = scanEscaped(buf, offset, end, mask);
  return { value: unescape(buf, offset, term, scannedEscapes, mask), next: term + 2 };
}

function truncated(offset: number, what: string): MalformedEncodingError {
  return new MalformedEncodingError(WHAT, offset, `truncated ${what}`);
}

function need(pos: number, n: number, end: number, what: string): void {
  if (end - pos < n) {
    throw truncated(pos, `${what}: needs ${n} bytes, ${end - pos} left`);
  }
}

function readUint32(buf: Uint8Array, pos: number, mask: number): number {
  const v = (buf[pos]! << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!;
  // mask is 0x00 or 0xFF per byte; as a 32-bit word that is 0 or all ones (-1).
  return (v ^ (mask === MASK_ASC ? 0 : -1)) >>> 0;
}

function decodeTagged(buf: Uint8Array, offset: number, end: number): DecodedDatum {
  if (offset >= end) {
    throw truncated(offset, 'key: expected a type tag');
  }
  const raw = buf[offset]!;
  const mask = raw >= 0x80 ? MASK_ASC : MASK_DESC;
  const tag = raw ^ mask;
  const direction: Direction = mask === MASK_ASC ? 'asc' : 'desc';
  let pos = offset + 1;
  let datum: KeyDatum;
  switch (tag) {
    case TAG_NULL:
      datum = { type: 'null' };
      break;
    case TAG_BOOL: {
      need(pos, 1, end, 'bool');
      const b = buf[pos]! ^ mask;
      if (b > 1) {
        throw new MalformedEncodingError(WHAT, pos, `bool byte 0x${hex(b)} is not 0x00 or 0x01`);
      }
      datum = { type: 'bool', value: b === 1 };
      pos += 1;
      break;
    }
    case TAG_INT:
    case TAG_TIMESTAMP: {
      need(pos, 8, end, tag === TAG_INT ? 'int' : 'timestamp');
      const hi = (readUint32(buf, pos, mask) ^ SIGN_BIT) | 0;
      const lo = readUint32(buf, pos + 4, mask);
      const value = (BigInt(hi) << 32n) | BigInt(lo);
      datum = tag === TAG_INT ? { type: 'int', value } : { type: 'timestamp', value };
      pos += 8;
      break;
    }
    case TAG_UINT: {
      need(pos, 8, end, 'uint');
      const hi = readUint32(buf, pos, mask);
      const lo = readUint32(buf, pos + 4, mask);
      datum = { type: 'uint', value: (BigInt(hi) << 32n) | BigInt(lo) };
      pos += 8;
      break;
    }
    case TAG_FLOAT:
      need(pos, 8, end, 'float');
      datum = { type: 'float', value: decodeFloat(buf, pos, mask) };
      pos += 8;
      break;
    case TAG_DECIMAL_NAN:
      datum = { type: 'decimal', value: Decimal.NAN };
      break;
    case TAG_DECIMAL_POS_INF:
      datum = { type: 'decimal', value: Decimal.POSITIVE_INFINITY };
      break;
    case TAG_DECIMAL_NEG_INF:
      datum = { type: 'decimal', value: Decimal.NEGATIVE_INFINITY };
      break;
    case TAG_DECIMAL_ZERO:
      datum = { type: 'decimal', value: Decimal.ZERO };
      break;
    case TAG_DECIMAL_POS:
    case TAG_DECIMAL_NEG:
      pos = decodeFiniteDecimal(buf, pos, end, mask, tag === TAG_DECIMAL_NEG);
      datum = { type: 'decimal', value: decodedDecimal };
      break;
    case TAG_STRING: {
      const term = scanEscaped(buf, pos, end, mask);
      const bytes =
        scannedEscapes === 0 && mask === MASK_ASC
          ? buf.subarray(pos, term)
          : unescape(buf, pos, term, scannedEscapes, mask);
      let value: string;
      try {
        value = utf8.decode(bytes);
      } catch {
        throw new MalformedEncodingError(WHAT, pos, 'string datum is not valid UTF-8');
      }
      datum = { type: 'string', value };
      pos = term + 2;
      break;
    }
    case TAG_BYTES: {
      const term = scanEscaped(buf, pos, end, mask);
      datum = { type: 'bytes', value: unescape(buf, pos, term, scannedEscapes, mask) };
      pos = term + 2;
      break;
    }
    case TAG_UUID: {
      need(pos, UUID_LENGTH, end, 'uuid');
      const value = Buffer.allocUnsafe(UUID_LENGTH);
      for (let i = 0; i < UUID_LENGTH; i++) {
        value[i] = buf[pos + i]! ^ mask;
      }
      datum = { type: 'uuid', value };
      pos += UUID_LENGTH;
      break;
    }
    default:
      throw new MalformedEncodingError(WHAT, offset, `unknown type tag 0x${hex(raw)}`);
  }
  return { datum, direction, next: pos };
}

function decodeFloat(buf: Uint8Array, pos: number, mask: number): number {
  let hi = readUint32(buf, pos, mask);
  let lo = readUint32(buf, pos + 4, mask);
  if (hi >= SIGN_BIT) {
    hi = (hi ^ SIGN_BIT) >>> 0;
  } else {
    hi = ~hi >>> 0;
    lo = ~lo >>> 0;
  }
  // Only canonical forms are valid, so every decodable key re-encodes to itself.
  if (hi === SIGN_BIT && lo === 0) {
    throw new MalformedEncodingError(WHAT, pos, 'float -0 is not canonical (encoded as 0)');
  }
  floatView.setUint32(0, hi);
  floatView.setUint32(4, lo);
  const value = floatView.getFloat64(0);
  if (Number.isNaN(value) && (hi !== NAN_HI || lo !== 0)) {
    throw new MalformedEncodingError(WHAT, pos, 'float NaN is not the canonical NaN');
  }
  return value;
}

/** Out-parameter of decodeFiniteDecimal, so the decoder allocates no result object. */
let decodedDecimal: Decimal = Decimal.ZERO;

/** Decodes exponent and mantissa at `pos`; sets decodedDecimal, returns the next offset. */
function decodeFiniteDecimal(buf: Uint8Array, pos: number, end: number, mask: number, negative: boolean): number {
  need(pos, 4, end, 'decimal exponent');
  const field = (readUint32(buf, pos, mask) ^ SIGN_BIT) | 0;
  if (field === -0x8000_0000) {
    throw new MalformedEncodingError(WHAT, pos, 'decimal exponent is out of range');
  }
  // `0 - field` rather than `-field`: never -0.
  const exponent = negative ? 0 - field : field;
  pos += 4;
  const mantissaMask = negative ? mask ^ 0xff : mask;
  let digits = '';
  const start = pos;
  for (;;) {
    if (pos >= end) {
      throw truncated(pos, 'decimal mantissa: no final byte');
    }
    const b = buf[pos]! ^ mantissaMask;
    const pair = b >> 1;
    if (b > 199 || (pos === start && pair < 10) || b === 0) {
      throw new MalformedEncodingError(WHAT, pos, `decimal mantissa byte 0x${hex(b)} is not canonical`);
    }
    pos++;
    if ((b & 1) === 1) {
      digits += PAIR_TEXT[pair]!;
    } else {
      // The last pair; a units digit of 0 is the padding of an odd digit count.
      digits += pair % 10 === 0 ? String.fromCharCode(0x30 + pair / 10) : PAIR_TEXT[pair]!;
      break;
    }
  }
  decodedDecimal = Decimal.fromParts(negative, digits, exponent);
  return pos;
}

/** Escapes counted by the last scanEscaped call (an out-parameter, to avoid allocating). */
let scannedEscapes = 0;

/**
 * Finds the terminator of an escaped value starting at `offset`; returns its position
 * and sets scannedEscapes. Rejects a bad escape or a missing terminator.
 */
function scanEscaped(buf: Uint8Array, offset: number, end: number, mask: number): number {
  const marker = ESCAPE ^ mask;
  let pos = offset;
  let escapes = 0;
  for (;;) {
    const z = buf.indexOf(marker, pos);
    if (z === -1 || z >= end) {
      throw truncated(end, 'escaped bytes: no terminator');
    }
    if (z + 1 >= end) {
      throw truncated(end, 'escaped bytes: escape at the end');
    }
    const next = buf[z + 1]! ^ mask;
    if (next === TERMINATOR) {
      scannedEscapes = escapes;
      return z;
    }
    if (next !== ESCAPED_ZERO) {
      throw new MalformedEncodingError(WHAT, z + 1, `escaped bytes: bad escape 0x00 0x${hex(next)}`);
    }
    escapes++;
    pos = z + 2;
  }
}

function unescape(buf: Uint8Array, offset: number, term: number, escapes: number, mask: number): Buffer {
  const out = Buffer.allocUnsafe(term - offset - escapes);
  if (escapes === 0 && mask === MASK_ASC) {
    out.set(buf.subarray(offset, term));
    return out;
  }
  let o = 0;
  for (let i = offset; i < term; i++) {
    const b = buf[i]! ^ mask;
    out[o++] = b;
    if (b === ESCAPE) {
      i++; // skip the 0xFF that follows an escaped zero (checked by scanEscaped)
    }
  }
  return out;
}

function hex(b: number): string {
  return b.toString(16).padStart(2, '0');
}

// ---------------------------------------------------------------------------------------
// Ordering

/**
 * The SQL (PostgreSQL) sort order of two datums of one type, ascending: NULL sorts last
 * and equals NULL (sort order, not three-valued equality); float and decimal NaN sort
 * after +Infinity and equal each other; -0 = 0; strings compare by code point (the C
 * collation, which is UTF-8 byte order). Returns -1, 0 or 1.
 */
export function compareDatums(a: KeyDatum, b: KeyDatum): number {
  if (a.type === 'null' || b.type === 'null') {
    return a.type === b.type ? 0 : a.type === 'null' ? 1 : -1;
  }
  if (a.type !== b.type) {
    throw new InvalidArgumentError(`cannot compare a ${a.type} datum with a ${b.type} datum`);
  }
  switch (a.type) {
    case 'bool': {
      const y = (b as typeof a).value;
      return a.value === y ? 0 : a.value ? 1 : -1;
    }
    case 'int':
    case 'uint':
    case 'timestamp': {
      const y = (b as typeof a).value;
      return a.value === y ? 0 : a.value < y ? -1 : 1;
    }
    case 'float':
      return compareFloats(a.value, (b as typeof a).value);
    case 'decimal':
      return a.value.compare((b as typeof a).value);
    case 'string':
      return compareStringsByCodePoint(a.value, (b as typeof a).value);
    case 'bytes':
    case 'uuid':
      return Buffer.compare(a.value, (b as typeof a).value);
    default:
      return unreachable(a, 'key datum type');
  }
}

function compareFloats(x: number, y: number): number {
  const xNaN = Number.isNaN(x);
  const yNaN = Number.isNaN(y);
  if (xNaN || yNaN) {
    return xNaN === yNaN ? 0 : xNaN ? 1 : -1;
  }
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Code point order, which is UTF-8 byte order. Plain UTF-16 order differs: a surrogate
 * (a code point >= U+10000) must sort above U+E000..U+FFFF, so such units are remapped.
 */
function compareStringsByCodePoint(x: string, y: string): number {
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    let cx = x.charCodeAt(i);
    let cy = y.charCodeAt(i);
    if (cx !== cy) {
      if (cx >= 0xd800 && cy >= 0xd800) {
        cx = cx >= 0xe000 ? cx - 0x800 : cx + 0x2000;
        cy = cy >= 0xe000 ? cy - 0x800 : cy + 0x2000;
      }
      return cx < cy ? -1 : 1;
    }
  }
  return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
}
