import { AssertionFailedError, CairnError, InvalidArgumentError, MalformedEncodingError } from '../../../common/errors';
import { decodeBinary, encodeBinary } from './binary-format';
import type { Datum, Interval, Jsonb, SqlType } from './datum';
import { formatJsonb, parseJsonb } from './jsonb';
import { Numeric } from './numeric';
import { typeName } from './type-names';
import { uuidFromBytes, uuidToBytes } from './uuid';

/**
 * Row value encoding (DESIGN.md §3): the non-key columns of a row, each tagged with its
 * column ID, so that adding or dropping a column needs no rewrite of stored rows.
 *
 *   value  := version(0x01) entry*
 *   entry  := uvarint(column ID delta) tag payload
 *
 * Entries are in ascending column ID order; the first delta is the ID itself. NULLs are
 * left out. The tag says how the payload is laid out (not the SQL type), so a decoder can
 * skip a column it does not know (a dropped one) without its type:
 *
 *   0x01 false, 0x02 true                     (no payload)
 *   0x03 int      zigzag LEB128 varint, int64 (ints, oid, date, timestamps)
 *   0x04 float8   8 bytes big-endian IEEE
 *   0x05 float4   4 bytes
 *   0x06 numeric  uvarint scale, uvarint(magnitude bytes << 1 | negative), magnitude BE
 *   0x07 / 0x08 / 0x09  numeric NaN / +Infinity / -Infinity
 *   0x0A bytes    uvarint length, bytes       (text UTF-8, bytea, jsonb text, arrays in
 *                                              PostgreSQL's binary array format)
 *   0x0B uuid     16 bytes
 *   0x0C interval zigzag varints months, days, micros
 */

export const ROW_VALUE_VERSION = 1;

const TAG_FALSE = 0x01;
const TAG_TRUE = 0x02;
const TAG_INT = 0x03;
const TAG_FLOAT8 = 0x04;
const TAG_FLOAT4 = 0x05;
const TAG_NUMERIC = 0x06;
const TAG_NUMERIC_NAN = 0x07;
const TAG_NUMERIC_PINF = 0x08;
const TAG_NUMERIC_NINF = 0x09;
const TAG_BYTES = 0x0a;
const TAG_UUID = 0x0b;
const TAG_INTERVAL = 0x0c;

const DATE_INFINITY = 2147483647;
const DATE_NEG_INFINITY = -2147483648;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const WHAT = 'row value';

export interface RowColumn {
  readonly id: number;
  readonly type: SqlType;
}

// ---------------------------------------------------------------------------------------
// Writer

class ValueWriter {
  buf: Buffer;
  pos = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  reserve(n: number): void {
    if (this.pos + n > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
      this.buf.copy(next, 0, 0, this.pos);
      this.buf = next;
    }
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.pos++] = b;
  }

  uvarint(v: number): void {
    this.reserve(8);
    let x = v;
    while (x >= 0x80) {
      this.buf[this.pos++] = (x % 0x80) | 0x80;
      x = Math.floor(x / 0x80);
    }
    this.buf[this.pos++] = x;
  }

  /** Zigzag varint of an int64. */
  int(v: bigint): void {
    if (v >= -0x10_0000_0000_0000n && v < 0x10_0000_0000_0000n) {
      // |v| < 2^52: the zigzag value stays below 2^53, exact as a double.
      const n = Number(v);
      this.uvarint(n >= 0 ? n * 2 : -n * 2 - 1);
      return;
    }
    if (v < INT64_MIN || v > INT64_MAX) {
      throw new AssertionFailedError(`integer datum ${v} is outside int64`);
    }
    let z = v >= 0n ? v << 1n : ((-v) << 1n) - 1n;
    this.reserve(10);
    while (z >= 0x80n) {
      this.buf[this.pos++] = Number(z & 0x7fn) | 0x80;
      z >>= 7n;
    }
    this.buf[this.pos++] = Number(z);
  }

  intNumber(v: number): void {
    this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  bytes(b: Uint8Array): void {
    this.uvarint(b.length);
    this.reserve(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  utf8(s: string): void {
    // Upper bound 3 bytes per UTF-16 unit; write the length after measuring.
    const max = s.length * 3;
    if (max < 0x80) {
      this.reserve(1 + max);
      const n = this.buf.write(s, this.pos + 1, 'utf8');
      this.buf[this.pos] = n;
      this.pos += 1 + n;
      return;
    }
    const n = Buffer.byteLength(s, 'utf8');
    this.uvarint(n);
    this.reserve(n);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }
}

let scratch = new ValueWriter(256);
const SCRATCH_KEEP_BYTES = 64 * 1024;

function wrongDatum(type: SqlType, d: Datum): AssertionFailedError {
  const what = d === null ? 'null' : typeof d === 'object' ? d.constructor.name : typeof d;
  return new AssertionFailedError(`datum of type ${typeName(type)} is a ${what}`);
}

function writeDatum(w: ValueWriter, type: SqlType, d: Datum): void {
  if (type.kind === 'array') {
    w.byte(TAG_BYTES);
    w.bytes(encodeBinary(type, d));
    return;
  }
  switch (type.name) {
    case 'bool':
      if (typeof d !== 'boolean') {
        throw wrongDatum(type, d);
      }
      w.byte(d ? TAG_TRUE : TAG_FALSE);
      return;
    case 'int2':
    case 'int4':
    case 'int8':
    case 'oid':
    case 'timestamp':
    case 'timestamptz':
      if (typeof d !== 'bigint') {
        throw wrongDatum(type, d);
      }
      w.byte(TAG_INT);
      w.int(d);
      return;
    case 'date':
      if (typeof d !== 'number') {
        throw wrongDatum(type, d);
      }
      w.byte(TAG_INT);
      w.intNumber(d === Infinity ? DATE_INFINITY : d === -Infinity ? DATE_NEG_INFINITY : d);
      return;
    case 'float8':
      if (typeof d !== 'number') {
        throw wrongDatum(type, d);
      }
      w.byte(TAG_FLOAT8);
      w.reserve(8);
      w.pos = w.buf.writeDoubleBE(d, w.pos);
      return;
    case 'float4':
      if (typeof d !== 'number') {
        throw wrongDatum(type, d);
      }
      w.byte(TAG_FLOAT4);
      w.reserve(4);
      w.pos = w.buf.writeFloatBE(d, w.pos);
      return;
    case 'numeric':
      if (!(d instanceof Numeric)) {
        throw wrongDatum(type, d);
      }
      writeNumeric(w, d);
      return;
    case 'text':
    case 'varchar':
    case 'bpchar':
    case 'name':
    case 'unknown':
      if (typeof d !== 'string') {
        throw wrongDatum(type, d);
      }
      w.byte(TAG_BYTES);
      w.utf8(d);
      return;
    case 'bytea':
      if (!(d instanceof Uint8Array)) {
        throw wrongDatum(type, d);
      }
      w.byte(TAG_BYTES);
      w.bytes(d);
      return;
    case 'uuid':
      if (typeof d !== 'string') {
        throw wrongDatum(type, d);
      }
      w.byte(TAG_UUID);
      w.reserve(16);
      uuidToBytes(d, w.buf, w.pos);
      w.pos += 16;
      return;
    case 'interval': {
      if (typeof d !== 'object' || d === null || !('months' in d)) {
        throw wrongDatum(type, d);
      }
      const iv = d as Interval;
      w.byte(TAG_INTERVAL);
      w.intNumber(iv.months);
      w.intNumber(iv.days);
      w.int(iv.micros);
      return;
    }
    case 'jsonb':
      if (typeof d !== 'object' || d === null || !('json' in d)) {
        throw wrongDatum(type, d);
      }
      w.byte(TAG_BYTES);
      w.utf8(formatJsonb(d as Jsonb));
      return;
  }
}

function writeNumeric(w: ValueWriter, n: Numeric): void {
  switch (n.kind) {
    case 'nan':
      w.byte(TAG_NUMERIC_NAN);
      return;
    case '+inf':
      w.byte(TAG_NUMERIC_PINF);
      return;
    case '-inf':
      w.byte(TAG_NUMERIC_NINF);
      return;
    case 'finite':
      break;
  }
  w.byte(TAG_NUMERIC);
  w.uvarint(n.scale);
  const negative = n.coef < 0n;
  const mag = negative ? -n.coef : n.coef;
  if (mag === 0n) {
    w.uvarint(0);
    return;
  }
  if (mag < 0x1_0000_0000_0000n) {
    // Up to 6 bytes: plain arithmetic.
    let m = Number(mag);
    let len = 0;
    for (let x = m; x > 0; x = Math.floor(x / 256)) {
      len++;
    }
    w.uvarint(len * 2 + (negative ? 1 : 0));
    w.reserve(len);
    for (let i = len - 1; i >= 0; i--) {
      w.buf[w.pos + i] = m % 256;
      m = Math.floor(m / 256);
    }
    w.pos += len;
    return;
  }
  let hex = mag.toString(16);
  if (hex.length % 2 === 1) {
    hex = `0${hex}`;
  }
  const len = hex.length / 2;
  w.uvarint(len * 2 + (negative ? 1 : 0));
  w.reserve(len);
  w.pos += w.buf.write(hex, w.pos, 'hex');
}

/**
 * Encodes the non-NULL values of a row's non-key columns. `columns[i]` describes
 * `values[i]`; column IDs must be distinct (any order).
 */
export function encodeRowValue(columns: readonly RowColumn[], values: readonly Datum[]): Buffer {
  if (columns.length !== values.length) {
    throw new InvalidArgumentError(`encodeRowValue got ${columns.length} columns and ${values.length} values`);
  }
  let order: number[] | undefined;
  for (let i = 1; i < columns.length; i++) {
    if (columns[i]!.id <= columns[i - 1]!.id) {
      order = columns.map((_, k) => k).sort((a, b) => columns[a]!.id - columns[b]!.id);
      break;
    }
  }
  const w = scratch;
  w.pos = 0;
  w.byte(ROW_VALUE_VERSION);
  let prevId = -1;
  for (let k = 0; k < columns.length; k++) {
    const i = order === undefined ? k : order[k]!;
    const col = columns[i]!;
    if (!Number.isSafeInteger(col.id) || col.id < 0 || col.id === prevId) {
      throw new InvalidArgumentError(`bad or duplicate column ID ${col.id}`);
    }
    const v = values[i]!;
    if (v === null) {
      continue;
    }
    w.uvarint(prevId < 0 ? col.id : col.id - prevId);
    prevId = col.id;
    writeDatum(w, col.type, v);
  }
  const out = w.finish();
  if (w.buf.length > SCRATCH_KEEP_BYTES) {
    scratch = new ValueWriter(256);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Reader

class ValueReader {
  pos: number;
  private view: DataView | undefined;

  constructor(
    readonly buf: Uint8Array,
    start: number,
  ) {
    this.pos = start;
  }

  fail(detail: string, at = this.pos): never {
    throw new MalformedEncodingError(WHAT, at, detail);
  }

  byte(): number {
    const b = this.buf[this.pos];
    if (b === undefined) {
      this.fail('truncated');
    }
    this.pos++;
    return b;
  }

  uvarint(): number {
    let result = 0;
    let scale = 1;
    const start = this.pos;
    for (let i = 0; i < 8; i++) {
      const b = this.byte();
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (!Number.isSafeInteger(result)) {
          this.fail('varint too large', start);
        }
        return result;
      }
      scale *= 0x80;
    }
    return this.fail('varint too long', start);
  }

  int(): bigint {
    const start = this.pos;
    // Up to 8 bytes (56 bits) as a double while exact; longer or larger values as bigint.
    let small = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.byte();
      small += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) {
        if (small <= Number.MAX_SAFE_INTEGER) {
          return BigInt(small % 2 === 0 ? small / 2 : -(small + 1) / 2);
        }
        break;
      }
      mul *= 0x80;
    }
    this.pos = start;
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if ((b & 0x80) === 0) {
        if (result >= 1n << 64n) {
          this.fail('varint exceeds 64 bits', start);
        }
        return (result & 1n) === 0n ? result >> 1n : -((result + 1n) >> 1n);
      }
    }
    return this.fail('varint too long', start);
  }

  /** Skips n bytes, failing if fewer remain; returns the offset of the first. */
  advance(n: number): number {
    if (n > this.buf.length - this.pos) {
      this.fail('truncated');
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  dataView(): DataView {
    this.view ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    return this.view;
  }

  intNumber(min: number, max: number): number {
    const start = this.pos;
    const v = this.int();
    if (v < BigInt(min) || v > BigInt(max)) {
      this.fail(`integer ${v} out of range`, start);
    }
    return Number(v);
  }

  take(n: number): Uint8Array {
    if (n > this.buf.length - this.pos) {
      this.fail('truncated');
    }
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  lengthPrefixed(): Uint8Array {
    return this.take(this.uvarint());
  }

  /** Skips the payload of a tag. */
  skip(tag: number, at: number): void {
    switch (tag) {
      case TAG_FALSE:
      case TAG_TRUE:
      case TAG_NUMERIC_NAN:
      case TAG_NUMERIC_PINF:
      case TAG_NUMERIC_NINF:
        return;
      case TAG_INT:
        this.int();
        return;
      case TAG_FLOAT8:
        this.take(8);
        return;
      case TAG_FLOAT4:
        this.take(4);
        return;
      case TAG_NUMERIC:
        this.uvarint();
        this.take(Math.floor(this.uvarint() / 2));
        return;
      case TAG_BYTES:
        this.lengthPrefixed();
        return;
      case TAG_UUID:
        this.take(16);
        return;
      case TAG_INTERVAL:
        this.int();
        this.int();
        this.int();
        return;
      default:
        this.fail(`unknown tag 0x${tag.toString(16)}`, at);
    }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function readUtf8(r: ValueReader, at: number): string {
  const bytes = r.lengthPrefixed();
  // ASCII fast path: latin1 decoding is exact for bytes below 0x80.
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  }
  try {
    return utf8.decode(bytes);
  } catch {
    return r.fail('invalid UTF-8', at);
  }
}

function badTag(r: ValueReader, type: SqlType, tag: number, at: number): never {
  return r.fail(`tag 0x${tag.toString(16)} cannot hold ${typeName(type)}`, at);
}

function readDatum(r: ValueReader, type: SqlType, tag: number, at: number): Datum {
  if (type.kind === 'array') {
    if (tag !== TAG_BYTES) {
      badTag(r, type, tag, at);
    }
    const bytes = r.lengthPrefixed();
    try {
      return decodeBinary(type, bytes);
    } catch (e) {
      if (e instanceof CairnError) {
        return r.fail(`bad array: ${e.message}`, at);
      }
      throw e;
    }
  }
  switch (type.name) {
    case 'bool':
      if (tag === TAG_TRUE) {
        return true;
      }
      if (tag === TAG_FALSE) {
        return false;
      }
      return badTag(r, type, tag, at);
    case 'int2':
    case 'int4':
    case 'int8':
    case 'oid':
    case 'timestamp':
    case 'timestamptz':
      if (tag !== TAG_INT) {
        badTag(r, type, tag, at);
      }
      return r.int();
    case 'date': {
      if (tag !== TAG_INT) {
        badTag(r, type, tag, at);
      }
      const v = r.intNumber(DATE_NEG_INFINITY, DATE_INFINITY);
      return v === DATE_INFINITY ? Infinity : v === DATE_NEG_INFINITY ? -Infinity : v;
    }
    case 'float8': {
      if (tag !== TAG_FLOAT8) {
        badTag(r, type, tag, at);
      }
      return r.dataView().getFloat64(r.advance(8));
    }
    case 'float4': {
      if (tag !== TAG_FLOAT4) {
        badTag(r, type, tag, at);
      }
      return r.dataView().getFloat32(r.advance(4));
    }
    case 'numeric':
      switch (tag) {
        case TAG_NUMERIC_NAN:
          return Numeric.NAN;
        case TAG_NUMERIC_PINF:
          return Numeric.POSITIVE_INFINITY;
        case TAG_NUMERIC_NINF:
          return Numeric.NEGATIVE_INFINITY;
        case TAG_NUMERIC: {
          const scale = r.uvarint();
          const head = r.uvarint();
          const len = Math.floor(head / 2);
          const start = r.advance(len);
          let coef: bigint;
          if (len <= 6) {
            let m = 0;
            for (let i = 0; i < len; i++) {
              m = m * 256 + r.buf[start + i]!;
            }
            coef = BigInt(m);
          } else {
            coef = BigInt(`0x${Buffer.from(r.buf.buffer, r.buf.byteOffset + start, len).toString('hex')}`);
          }
          if (head % 2 === 1) {
            coef = -coef;
          }
          try {
            return Numeric.of(coef, scale);
          } catch {
            return r.fail(`numeric scale ${scale} out of range`, at);
          }
        }
        default:
          return badTag(r, type, tag, at);
      }
    case 'text':
    case 'varchar':
    case 'bpchar':
    case 'name':
    case 'unknown':
      if (tag !== TAG_BYTES) {
        badTag(r, type, tag, at);
      }
      return readUtf8(r, at);
    case 'bytea': {
      if (tag !== TAG_BYTES) {
        badTag(r, type, tag, at);
      }
      const b = r.lengthPrefixed();
      return Buffer.from(b);
    }
    case 'uuid':
      if (tag !== TAG_UUID) {
        badTag(r, type, tag, at);
      }
      return uuidFromBytes(r.buf, r.advance(16));
    case 'interval': {
      if (tag !== TAG_INTERVAL) {
        badTag(r, type, tag, at);
      }
      const months = r.intNumber(-2147483648, 2147483647);
      const days = r.intNumber(-2147483648, 2147483647);
      const micros = r.int();
      return { months, days, micros };
    }
    case 'jsonb': {
      if (tag !== TAG_BYTES) {
        badTag(r, type, tag, at);
      }
      const text = readUtf8(r, at);
      try {
        return parseJsonb(text);
      } catch (e) {
        if (e instanceof CairnError) {
          return r.fail(`bad jsonb: ${e.message}`, at);
        }
        throw e;
      }
    }
  }
}

/**
 * Decodes a row value into column ID → datum for the columns in `columnsById`;
 * entries of other IDs (dropped columns) are skipped. Columns missing from the value are
 * NULL (absent from the result). Malformed bytes → MalformedEncodingError.
 */
export function decodeRowValue(buf: Uint8Array, columnsById: ReadonlyMap<number, SqlType>): Map<number, Datum> {
  const out = new Map<number, Datum>();
  if (buf.length === 0) {
    throw new MalformedEncodingError(WHAT, 0, 'empty');
  }
  if (buf[0] !== ROW_VALUE_VERSION) {
    throw new MalformedEncodingError(WHAT, 0, `unknown version ${buf[0]}`);
  }
  const r = new ValueReader(buf, 1);
  let id = -1;
  while (r.pos < buf.length) {
    const entryStart = r.pos;
    const delta = r.uvarint();
    if (id >= 0 && delta === 0) {
      r.fail('column IDs not ascending', entryStart);
    }
    id = id < 0 ? delta : id + delta;
    const tagAt = r.pos;
    const tag = r.byte();
    const type = columnsById.get(id);
    if (type === undefined) {
      r.skip(tag, tagAt);
      continue;
    }
    out.set(id, readDatum(r, type, tag, tagAt));
  }
  return out;
}

/** Column IDs present in a row value, in order (for tooling and tests). */
export function rowValueColumnIds(buf: Uint8Array): number[] {
  if (buf.length === 0 || buf[0] !== ROW_VALUE_VERSION) {
    throw new MalformedEncodingError(WHAT, 0, 'bad version');
  }
  const r = new ValueReader(buf, 1);
  const ids: number[] = [];
  let id = -1;
  while (r.pos < buf.length) {
    const entryStart = r.pos;
    const delta = r.uvarint();
    if (id >= 0 && delta === 0) {
      r.fail('column IDs not ascending', entryStart);
    }
    id = id < 0 ? delta : id + delta;
    const tagAt = r.pos;
    r.skip(r.byte(), tagAt);
    ids.push(id);
  }
  return ids;
}
