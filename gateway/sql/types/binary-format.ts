import { AssertionFailedError, SqlError, SqlStates } from '../../../common/errors';
import {
  DATE_MAX_DAYS,
  DATE_MIN_DAYS,
  INT64_MAX,
  INT64_MIN,
  POSTGRES_EPOCH_DAYS,
  POSTGRES_EPOCH_MICROS,
  TIMESTAMP_INFINITY,
  TIMESTAMP_NEG_INFINITY,
  timestampInRange,
} from './civil-date';
import type { Datum, Interval, Jsonb, SqlType } from './datum';
import { TypeOids } from './datum';
import { formatJsonb, parseJsonb } from './jsonb';
import { Numeric, pow10 } from './numeric';
import { applyCharLength } from './text-format';
import { NAME_MAX_BYTES, typeName, typeOid } from './type-names';
import { uuidFromBytes, uuidToBytes } from './uuid';

/**
 * PostgreSQL binary send/recv formats (the wire's format code 1). Decoding is strict:
 * a wrong length or an impossible value raises 22P03, as PostgreSQL's recv functions do.
 */

function badBinary(type: SqlType, detail: string): SqlError {
  return new SqlError(SqlStates.invalidBinaryRepresentation, `incorrect binary data format for type ${typeName(type)}`, {
    detail,
  });
}

function expectLength(type: SqlType, buf: Uint8Array, n: number): void {
  if (buf.length !== n) {
    throw badBinary(type, `expected ${n} bytes, got ${buf.length}`);
  }
}

function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeUtf8(buf: Uint8Array): string {
  let text: string;
  try {
    text = utf8Decoder.decode(buf);
  } catch {
    throw new SqlError(SqlStates.characterNotInRepertoire, 'invalid byte sequence for encoding "UTF8"');
  }
  if (text.indexOf('\u0000') >= 0) {
    throw new SqlError(SqlStates.characterNotInRepertoire, 'invalid byte sequence for encoding "UTF8": 0x00');
  }
  return text;
}

// ---------------------------------------------------------------------------------------
// numeric: int16 ndigits, int16 weight, uint16 sign, uint16 dscale, int16 digits[] (base 10000)

const NUMERIC_POS = 0x0000;
const NUMERIC_NEG = 0x4000;
const NUMERIC_NAN = 0xc000;
const NUMERIC_PINF = 0xd000;
const NUMERIC_NINF = 0xf000;
const NUMERIC_DSCALE_MASK = 0x3fff;
/** numeric_recv's limit on ndigits (NUMERIC_MAX_PRECISION + NUMERIC_MAX_RESULT_SCALE). */
const NUMERIC_MAX_RECV_DIGITS = 3000;

export function encodeNumeric(n: Numeric): Buffer {
  if (n.kind !== 'finite') {
    const out = Buffer.alloc(8);
    out.writeUInt16BE(n.kind === 'nan' ? NUMERIC_NAN : n.kind === '+inf' ? NUMERIC_PINF : NUMERIC_NINF, 4);
    return out;
  }
  if (n.coef === 0n) {
    const out = Buffer.alloc(8);
    out.writeUInt16BE(n.scale, 6);
    return out;
  }
  const negative = n.coef < 0n;
  const digits = (negative ? -n.coef : n.coef).toString();
  const intLen = digits.length - n.scale; // decimal digits before the point (may be ≤ 0)
  // Align to groups of four on both sides of the point.
  const leftPad = intLen > 0 ? (4 - (intLen % 4)) % 4 : 0;
  const fracLen = n.scale;
  const rightPad = (4 - (fracLen % 4)) % 4;
  let padded = '0'.repeat(leftPad) + digits + '0'.repeat(rightPad);
  let weight: number;
  if (intLen > 0) {
    weight = (intLen + leftPad) / 4 - 1;
  } else {
    // All fractional: prepend the zeros between the point and the first digit.
    padded = '0'.repeat(-intLen) + padded;
    weight = -1;
  }
  const groups: number[] = [];
  for (let i = 0; i < padded.length; i += 4) {
    groups.push(Number(padded.slice(i, i + 4)));
  }
  let first = 0;
  while (first < groups.length && groups[first] === 0) {
    first++;
    weight--;
  }
  let last = groups.length;
  while (last > first && groups[last - 1] === 0) {
    last--;
  }
  const count = last - first;
  const out = Buffer.allocUnsafe(8 + 2 * count);
  out.writeUInt16BE(count, 0);
  out.writeInt16BE(weight, 2);
  out.writeUInt16BE(negative ? NUMERIC_NEG : NUMERIC_POS, 4);
  out.writeUInt16BE(n.scale, 6);
  for (let i = 0; i < count; i++) {
    out.writeUInt16BE(groups[first + i]!, 8 + 2 * i);
  }
  return out;
}

export function decodeNumeric(buf: Uint8Array, type: SqlType = NUMERIC_TYPE): Numeric {
  if (buf.length < 8) {
    throw badBinary(type, 'numeric header is 8 bytes');
  }
  const v = view(buf);
  const ndigits = v.getUint16(0);
  const weight = v.getInt16(2);
  const sign = v.getUint16(4);
  const dscale = v.getUint16(6);
  if (ndigits > NUMERIC_MAX_RECV_DIGITS) {
    throw new SqlError(SqlStates.invalidBinaryRepresentation, 'invalid length in external "numeric" value');
  }
  expectLength(type, buf, 8 + 2 * ndigits);
  switch (sign) {
    case NUMERIC_NAN:
      return Numeric.NAN;
    case NUMERIC_PINF:
      return Numeric.POSITIVE_INFINITY;
    case NUMERIC_NINF:
      return Numeric.NEGATIVE_INFINITY;
    case NUMERIC_POS:
    case NUMERIC_NEG:
      break;
    default:
      throw new SqlError(SqlStates.invalidBinaryRepresentation, 'invalid sign in external "numeric" value');
  }
  if ((dscale & NUMERIC_DSCALE_MASK) !== dscale) {
    throw new SqlError(SqlStates.invalidBinaryRepresentation, 'invalid scale in external "numeric" value');
  }
  let text = '';
  for (let i = 0; i < ndigits; i++) {
    const d = v.getInt16(8 + 2 * i);
    if (d < 0 || d >= 10000) {
      throw new SqlError(SqlStates.invalidBinaryRepresentation, 'invalid digit in external "numeric" value');
    }
    text += d < 10 ? `000${d}` : d < 100 ? `00${d}` : d < 1000 ? `0${d}` : String(d);
  }
  if (ndigits === 0) {
    return Numeric.of(0n, dscale);
  }
  // value = digits × 10^(4 (weight - ndigits + 1)); at display scale dscale, digits
  // hidden by the scale are truncated away (as numeric_recv does).
  const exp10 = 4 * (weight - ndigits + 1);
  let coef = BigInt(text);
  const shift = exp10 + dscale;
  coef = shift >= 0 ? coef * pow10(shift) : coef / pow10(-shift);
  return Numeric.of(sign === NUMERIC_NEG ? -coef : coef, dscale);
}

const NUMERIC_TYPE: SqlType = { kind: 'scalar', name: 'numeric', typmod: -1 };

// ---------------------------------------------------------------------------------------
// arrays: int32 ndim, int32 flags (has nulls), uint32 element oid, ndim × (int32 size,
// int32 lower bound), then per element int32 length (-1: NULL) and its bytes.

const MAX_ARRAY_DIMS = 6;
const MAX_ARRAY_ELEMENTS = 134_217_727;

function arrayDims(values: readonly Datum[]): number[] {
  const dims: number[] = [];
  let level: readonly Datum[] = values;
  for (;;) {
    dims.push(level.length);
    if (level.length === 0 || !Array.isArray(level[0])) {
      break;
    }
    level = level[0] as readonly Datum[];
  }
  if (dims.length === 1 && dims[0] === 0) {
    return [];
  }
  return dims;
}

function flatten(values: readonly Datum[], dims: readonly number[], depth: number, out: Datum[]): void {
  if (values.length !== dims[depth]) {
    throw new SqlError(
      SqlStates.arraySubscriptError,
      'multidimensional arrays must have array expressions with matching dimensions',
    );
  }
  for (const v of values) {
    if (depth + 1 < dims.length) {
      if (!Array.isArray(v)) {
        throw new SqlError(
          SqlStates.arraySubscriptError,
          'multidimensional arrays must have array expressions with matching dimensions',
        );
      }
      flatten(v as readonly Datum[], dims, depth + 1, out);
    } else {
      out.push(v);
    }
  }
}

function encodeArray(element: SqlType, values: readonly Datum[]): Buffer {
  const dims = arrayDims(values);
  if (dims.length > MAX_ARRAY_DIMS) {
    throw new SqlError(
      SqlStates.programLimitExceeded,
      `number of array dimensions (${dims.length}) exceeds the maximum allowed (${MAX_ARRAY_DIMS})`,
    );
  }
  const flat: Datum[] = [];
  if (dims.length > 0) {
    flatten(values, dims, 0, flat);
  }
  const parts: Buffer[] = [];
  let hasNull = false;
  let size = 12 + 8 * dims.length;
  for (const v of flat) {
    if (v === null) {
      hasNull = true;
      size += 4;
    } else {
      const b = encodeBinary(element, v);
      parts.push(b);
      size += 4 + b.length;
    }
  }
  const out = Buffer.allocUnsafe(size);
  out.writeInt32BE(dims.length, 0);
  out.writeInt32BE(hasNull ? 1 : 0, 4);
  out.writeUInt32BE(typeOid(element), 8);
  let off = 12;
  for (const d of dims) {
    out.writeInt32BE(d, off);
    out.writeInt32BE(1, off + 4);
    off += 8;
  }
  let p = 0;
  for (const v of flat) {
    if (v === null) {
      out.writeInt32BE(-1, off);
      off += 4;
    } else {
      const b = parts[p++]!;
      out.writeInt32BE(b.length, off);
      b.copy(out, off + 4);
      off += 4 + b.length;
    }
  }
  return out;
}

function decodeArray(type: SqlType & { kind: 'array' }, buf: Uint8Array): Datum[] {
  const element = type.element;
  if (buf.length < 12) {
    throw badBinary(type, 'array header is 12 bytes');
  }
  const v = view(buf);
  const ndim = v.getInt32(0);
  const flags = v.getInt32(4);
  const elementOid = v.getUint32(8);
  if (ndim < 0 || ndim > MAX_ARRAY_DIMS) {
    throw new SqlError(SqlStates.invalidBinaryRepresentation, `invalid number of dimensions: ${ndim}`);
  }
  if (flags !== 0 && flags !== 1) {
    throw new SqlError(SqlStates.invalidBinaryRepresentation, 'invalid array flags');
  }
  const expectedOid = typeOid(element);
  const jsonElements = elementOid === TypeOids.json && expectedOid === TypeOids.jsonb;
  if (elementOid !== expectedOid && !jsonElements) {
    throw new SqlError(
      SqlStates.datatypeMismatch,
      `binary data has array element type ${elementOid} instead of expected ${expectedOid} (${typeName(element)})`,
    );
  }
  if (buf.length < 12 + 8 * ndim) {
    throw badBinary(type, 'truncated array dimensions');
  }
  const dims: number[] = [];
  let total = ndim === 0 ? 0 : 1;
  for (let d = 0; d < ndim; d++) {
    const size = v.getInt32(12 + 8 * d);
    if (size < 0) {
      throw badBinary(type, 'negative array dimension');
    }
    dims.push(size);
    total *= size;
    if (total > MAX_ARRAY_ELEMENTS) {
      throw new SqlError(SqlStates.programLimitExceeded, 'array size exceeds the maximum allowed');
    }
  }
  let off = 12 + 8 * ndim;
  const flat: Datum[] = [];
  for (let k = 0; k < total; k++) {
    if (off + 4 > buf.length) {
      throw badBinary(type, 'truncated array element');
    }
    const len = v.getInt32(off);
    off += 4;
    if (len === -1) {
      flat.push(null); // the has-nulls flag is advisory, as in PostgreSQL
      continue;
    }
    if (len < 0 || off + len > buf.length) {
      throw badBinary(type, 'bad array element length');
    }
    const bytes = buf.subarray(off, off + len);
    flat.push(jsonElements ? parseJsonb(decodeUtf8(bytes)) : decodeBinary(element, bytes));
    off += len;
  }
  if (off !== buf.length) {
    throw badBinary(type, 'trailing bytes after the array');
  }
  if (total === 0) {
    return [];
  }
  // Rebuild nesting, last dimension innermost.
  let level: Datum[] = flat;
  for (let d = dims.length - 1; d > 0; d--) {
    const size = dims[d]!;
    const next: Datum[] = [];
    for (let i = 0; i < level.length; i += size) {
      next.push(level.slice(i, i + size));
    }
    level = next;
  }
  return level;
}

// ---------------------------------------------------------------------------------------
// Entry points

const INT32_MAX = 2147483647;
const INT32_MIN = -2147483648;

function wrongDatum(type: SqlType, datum: Datum): AssertionFailedError {
  const what = datum === null ? 'null' : typeof datum === 'object' ? datum.constructor.name : typeof datum;
  return new AssertionFailedError(`datum of type ${typeName(type)} is a ${what}`);
}

/** PostgreSQL binary send format of a non-null datum. */
export function encodeBinary(type: SqlType, datum: Datum): Buffer {
  if (datum === null) {
    throw wrongDatum(type, datum);
  }
  if (type.kind === 'array') {
    if (!Array.isArray(datum)) {
      throw wrongDatum(type, datum);
    }
    return encodeArray(type.element, datum as readonly Datum[]);
  }
  switch (type.name) {
    case 'bool': {
      if (typeof datum !== 'boolean') {
        throw wrongDatum(type, datum);
      }
      const out = Buffer.allocUnsafe(1);
      out[0] = datum ? 1 : 0;
      return out;
    }
    case 'int2': {
      if (typeof datum !== 'bigint') {
        throw wrongDatum(type, datum);
      }
      const out = Buffer.allocUnsafe(2);
      out.writeInt16BE(Number(datum), 0);
      return out;
    }
    case 'int4': {
      if (typeof datum !== 'bigint') {
        throw wrongDatum(type, datum);
      }
      const out = Buffer.allocUnsafe(4);
      out.writeInt32BE(Number(datum), 0);
      return out;
    }
    case 'oid': {
      if (typeof datum !== 'bigint') {
        throw wrongDatum(type, datum);
      }
      const out = Buffer.allocUnsafe(4);
      out.writeUInt32BE(Number(datum), 0);
      return out;
    }
    case 'int8': {
      if (typeof datum !== 'bigint') {
        throw wrongDatum(type, datum);
      }
      const out = Buffer.allocUnsafe(8);
      out.writeBigInt64BE(datum, 0);
      return out;
    }
    case 'float4': {
      if (typeof datum !== 'number') {
        throw wrongDatum(type, datum);
      }
      const out = Buffer.allocUnsafe(4);
      out.writeFloatBE(datum, 0);
      return out;
    }
    case 'float8': {
      if (typeof datum !== 'number') {
        throw wrongDatum(type, datum);
      }
      const out = Buffer.allocUnsafe(8);
      out.writeDoubleBE(datum, 0);
      return out;
    }
    case 'numeric':
      if (!(datum instanceof Numeric)) {
        throw wrongDatum(type, datum);
      }
      return encodeNumeric(datum);
    case 'text':
    case 'varchar':
    case 'bpchar':
    case 'name':
    case 'unknown':
      if (typeof datum !== 'string') {
        throw wrongDatum(type, datum);
      }
      return Buffer.from(datum, 'utf8');
    case 'bytea':
      if (!(datum instanceof Uint8Array)) {
        throw wrongDatum(type, datum);
      }
      return Buffer.from(datum);
    case 'date': {
      if (typeof datum !== 'number') {
        throw wrongDatum(type, datum);
      }
      const out = Buffer.allocUnsafe(4);
      out.writeInt32BE(
        datum === Infinity ? INT32_MAX : datum === -Infinity ? INT32_MIN : datum - POSTGRES_EPOCH_DAYS,
        0,
      );
      return out;
    }
    case 'timestamp':
    case 'timestamptz': {
      if (typeof datum !== 'bigint') {
        throw wrongDatum(type, datum);
      }
      const out = Buffer.allocUnsafe(8);
      const pg =
        datum === TIMESTAMP_INFINITY || datum === TIMESTAMP_NEG_INFINITY ? datum : datum - POSTGRES_EPOCH_MICROS;
      out.writeBigInt64BE(pg, 0);
      return out;
    }
    case 'interval': {
      if (typeof datum !== 'object' || !('months' in datum)) {
        throw wrongDatum(type, datum);
      }
      const iv = datum as Interval;
      const out = Buffer.allocUnsafe(16);
      out.writeBigInt64BE(iv.micros, 0);
      out.writeInt32BE(iv.days, 8);
      out.writeInt32BE(iv.months, 12);
      return out;
    }
    case 'uuid': {
      if (typeof datum !== 'string') {
        throw wrongDatum(type, datum);
      }
      const out = Buffer.allocUnsafe(16);
      uuidToBytes(datum, out);
      return out;
    }
    case 'jsonb': {
      if (typeof datum !== 'object' || !('json' in datum)) {
        throw wrongDatum(type, datum);
      }
      const text = formatJsonb(datum as Jsonb);
      const out = Buffer.allocUnsafe(1 + Buffer.byteLength(text, 'utf8'));
      out[0] = 1;
      out.write(text, 1, 'utf8');
      return out;
    }
  }
}

/** Decodes PostgreSQL's binary receive format; wrong sizes and values raise 22P03. */
export function decodeBinary(type: SqlType, buf: Uint8Array): Datum {
  if (type.kind === 'array') {
    return decodeArray(type, buf);
  }
  switch (type.name) {
    case 'bool':
      expectLength(type, buf, 1);
      return buf[0] !== 0;
    case 'int2':
      expectLength(type, buf, 2);
      return BigInt(view(buf).getInt16(0));
    case 'int4':
      expectLength(type, buf, 4);
      return BigInt(view(buf).getInt32(0));
    case 'oid':
      expectLength(type, buf, 4);
      return BigInt(view(buf).getUint32(0));
    case 'int8':
      expectLength(type, buf, 8);
      return view(buf).getBigInt64(0);
    case 'float4':
      expectLength(type, buf, 4);
      return view(buf).getFloat32(0);
    case 'float8':
      expectLength(type, buf, 8);
      return view(buf).getFloat64(0);
    case 'numeric':
      return decodeNumeric(buf, type).applyTypmod(type.typmod);
    case 'text':
    case 'unknown':
      return decodeUtf8(buf);
    case 'varchar':
    case 'bpchar':
      return applyCharLength(type.name, type.typmod, decodeUtf8(buf));
    case 'name':
      if (buf.length > NAME_MAX_BYTES) {
        throw new SqlError(SqlStates.nameTooLong, 'identifier too long', {
          detail: `Identifier must be less than ${NAME_MAX_BYTES + 1} characters.`,
        });
      }
      return decodeUtf8(buf);
    case 'bytea':
      return Buffer.from(buf);
    case 'date': {
      expectLength(type, buf, 4);
      const pg = view(buf).getInt32(0);
      if (pg === INT32_MAX) {
        return Infinity;
      }
      if (pg === INT32_MIN) {
        return -Infinity;
      }
      const days = pg + POSTGRES_EPOCH_DAYS;
      if (days < DATE_MIN_DAYS || days > DATE_MAX_DAYS) {
        throw new SqlError(SqlStates.datetimeFieldOverflow, 'date out of range');
      }
      return days;
    }
    case 'timestamp':
    case 'timestamptz': {
      expectLength(type, buf, 8);
      const pg = view(buf).getBigInt64(0);
      if (pg === INT64_MAX || pg === INT64_MIN) {
        return pg;
      }
      const micros = pg + POSTGRES_EPOCH_MICROS;
      if (!timestampInRange(micros)) {
        throw new SqlError(SqlStates.datetimeFieldOverflow, 'timestamp out of range');
      }
      return micros;
    }
    case 'interval': {
      expectLength(type, buf, 16);
      const v = view(buf);
      return { micros: v.getBigInt64(0), days: v.getInt32(8), months: v.getInt32(12) };
    }
    case 'uuid':
      expectLength(type, buf, 16);
      return uuidFromBytes(buf);
    case 'jsonb': {
      if (buf.length < 1) {
        throw badBinary(type, 'missing jsonb version byte');
      }
      if (buf[0] !== 1) {
        throw new SqlError(SqlStates.invalidBinaryRepresentation, `unsupported jsonb version number ${buf[0]}`);
      }
      return parseJsonb(decodeUtf8(buf.subarray(1)));
    }
  }
}
