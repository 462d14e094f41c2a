import { SqlError, SqlStates } from '../../../common/errors';
import { MICROS_PER_DAY_BIG, splitMicros, TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY, timestampInRange } from './civil-date';
import { localToUtc, roundTimestampToPrecision, utcToLocal } from './datetime';
import type { Datum, Jsonb, ScalarTypeName, SqlType } from './datum';
import { scalarType } from './datum';
import { parseFloat4, parseFloat8 } from './float-text';
import { Numeric } from './numeric';
import { stripTrailingSpaces } from './text-compare';
import { applyCharLength, formatText, parseText, truncateName } from './text-format';
import type { TextFormatOptions } from './text-format';
import { UTC } from './timezone';
import { sameBaseType, sameType, typeName } from './type-names';

/**
 * Casts between SQL types with PostgreSQL's semantics and contexts (pg_cast's castcontext:
 * i = implicit, a = assignment, e = explicit only), plus the type resolution of UNION,
 * CASE, COALESCE, ... (select_common_type).
 */

export type CastContext = 'explicit' | 'assignment' | 'implicit';

/** Session settings some casts read (timestamptz ↔ timestamp/date, 'now', text output). */
export type CastOptions = TextFormatOptions;

type Need = 'i' | 'a' | 'e';

const CONTEXT_LEVEL: Readonly<Record<CastContext, number>> = { implicit: 0, assignment: 1, explicit: 2 };
const NEED_LEVEL: Readonly<Record<Need, number>> = { i: 0, a: 1, e: 2 };

/** pg_cast among the built-in scalar types (other pairs: I/O conversion or nothing). */
const CASTS: Readonly<Partial<Record<ScalarTypeName, Readonly<Partial<Record<ScalarTypeName, Need>>>>>> = {
  int2: { int4: 'i', int8: 'i', float4: 'i', float8: 'i', numeric: 'i', oid: 'i' },
  int4: { int2: 'a', int8: 'i', float4: 'i', float8: 'i', numeric: 'i', oid: 'i', bool: 'e' },
  int8: { int2: 'a', int4: 'a', float4: 'i', float8: 'i', numeric: 'i', oid: 'i' },
  float4: { int2: 'a', int4: 'a', int8: 'a', float8: 'i', numeric: 'a' },
  float8: { int2: 'a', int4: 'a', int8: 'a', float4: 'a', numeric: 'a' },
  numeric: { int2: 'a', int4: 'a', int8: 'a', float4: 'i', float8: 'i' },
  oid: { int4: 'a', int8: 'a' },
  bool: { int4: 'e' },
  text: { varchar: 'i', bpchar: 'i', name: 'i' },
  varchar: { text: 'i', bpchar: 'i', name: 'i' },
  bpchar: { text: 'i', varchar: 'i', name: 'i' },
  name: { text: 'i', varchar: 'a', bpchar: 'a' },
  date: { timestamp: 'i', timestamptz: 'i' },
  timestamp: { date: 'a', timestamptz: 'i' },
  timestamptz: { date: 'a', timestamp: 'a' },
  jsonb: { bool: 'e', int2: 'e', int4: 'e', int8: 'e', float4: 'e', float8: 'e', numeric: 'e' },
};

const STRING_TYPES: ReadonlySet<ScalarTypeName> = new Set(['text', 'varchar', 'bpchar', 'name']);

/** The least context in which `from` converts to `to`, or undefined when it never does. */
function castNeed(from: SqlType, to: SqlType): Need | undefined {
  if (from.kind === 'scalar' && from.name === 'unknown') {
    return 'i'; // a literal: the target type's input function
  }
  if (sameBaseType(from, to)) {
    return 'i'; // length coercion (varchar(n), numeric(p,s), ...) applies in every context
  }
  if (from.kind === 'array' && to.kind === 'array') {
    return castNeed(from.element, to.element);
  }
  if (to.kind === 'scalar' && STRING_TYPES.has(to.name)) {
    if (from.kind === 'scalar') {
      const direct = CASTS[from.name]?.[to.name];
      if (direct !== undefined) {
        return direct;
      }
    }
    return 'a'; // I/O conversion to a string type
  }
  if (from.kind === 'scalar' && STRING_TYPES.has(from.name)) {
    return 'e'; // I/O conversion from a string type
  }
  if (from.kind === 'scalar' && to.kind === 'scalar') {
    return CASTS[from.name]?.[to.name];
  }
  return undefined;
}

/** Whether `from` casts to `to` in `context` (an explicit cast allows the most). */
export function canCast(from: SqlType, to: SqlType, context: CastContext): boolean {
  const need = castNeed(from, to);
  return need !== undefined && NEED_LEVEL[need] <= CONTEXT_LEVEL[context];
}

function cannotCast(from: SqlType, to: SqlType, context: CastContext): SqlError {
  const need = castNeed(from, to);
  if (need === undefined) {
    return new SqlError(SqlStates.cannotCoerce, `cannot cast type ${typeName(from)} to ${typeName(to)}`);
  }
  return new SqlError(
    SqlStates.datatypeMismatch,
    `${context === 'assignment' ? 'column' : 'value'} is of type ${typeName(to)} but expression is of type ${typeName(from)}`,
    { hint: 'You will need to rewrite or cast the expression.' },
  );
}

function outOfRange(what: 'smallint' | 'integer' | 'bigint' | 'OID'): SqlError {
  return new SqlError(SqlStates.numericValueOutOfRange, `${what} out of range`);
}

const INT_RANGE = {
  int2: [-32768n, 32767n, 'smallint'],
  int4: [-2147483648n, 2147483647n, 'integer'],
  int8: [-(1n << 63n), (1n << 63n) - 1n, 'bigint'],
} as const;

function checkInt(name: 'int2' | 'int4' | 'int8', v: bigint): bigint {
  const [min, max, sqlName] = INT_RANGE[name];
  if (v < min || v > max) {
    throw outOfRange(sqlName);
  }
  return v;
}

/** rint() of a double to an integer type (half to even), range-checked. */
function floatToInt(name: 'int2' | 'int4' | 'int8', v: number): bigint {
  const [min, max, sqlName] = INT_RANGE[name];
  if (!Number.isFinite(v)) {
    throw outOfRange(sqlName);
  }
  let r = Math.round(v);
  if (Math.abs(v - Math.trunc(v)) === 0.5) {
    r = 2 * Math.round(v / 2);
  }
  // For int8 compare as doubles first: 2^63 itself is out of range.
  if (name === 'int8' && (r >= 9223372036854775808 || r < -9223372036854775808)) {
    throw outOfRange(sqlName);
  }
  const b = BigInt(r);
  if (b < min || b > max) {
    throw outOfRange(sqlName);
  }
  return b;
}

function float8ToFloat4(v: number): number {
  const f = Math.fround(v);
  if (!Number.isFinite(f) && Number.isFinite(v)) {
    throw new SqlError(SqlStates.numericValueOutOfRange, 'value out of range: overflow');
  }
  if (f === 0 && v !== 0) {
    throw new SqlError(SqlStates.numericValueOutOfRange, 'value out of range: underflow');
  }
  return f;
}

function numericToFloat(n: Numeric, float4: boolean): number {
  const v = n.toNumber();
  if (n.isFinite() && (!Number.isFinite(v) || (v === 0 && !n.isZero()) || (float4 && !Number.isFinite(Math.fround(v))))) {
    // Out of range: the same error as reading its text as a float.
    return float4 ? parseFloat4(n.toString()) : parseFloat8(n.toString());
  }
  return float4 ? float8ToFloat4(v) : v;
}

function jsonbScalar(j: Jsonb, to: SqlType): number | boolean {
  const v = j.json;
  const wantBool = to.kind === 'scalar' && to.name === 'bool';
  if (wantBool ? typeof v === 'boolean' : typeof v === 'number') {
    return v as number | boolean;
  }
  const kind = v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
  throw new SqlError(SqlStates.invalidParameterValue, `cannot cast jsonb ${kind} to type ${typeName(to)}`);
}

/** Applies the target's typmod to a value already of the target's base type. */
function coerceTypmod(value: Datum, to: SqlType, explicit: boolean): Datum {
  if (to.kind === 'array') {
    return (value as readonly Datum[]).map((v) =>
      v === null ? null : Array.isArray(v) ? coerceTypmod(v, to, explicit) : coerceTypmod(v, to.element, explicit),
    );
  }
  if (to.typmod < 0) {
    return value;
  }
  switch (to.name) {
    case 'varchar':
    case 'bpchar':
      return applyCharLength(to.name, to.typmod, value as string, explicit);
    case 'numeric':
      return (value as Numeric).applyTypmod(to.typmod);
    case 'timestamp':
    case 'timestamptz':
      return checkTimestamp(roundTimestampToPrecision(value as bigint, to.typmod));
    default:
      return value;
  }
}

function checkTimestamp(v: bigint): bigint {
  if (v !== TIMESTAMP_INFINITY && v !== TIMESTAMP_NEG_INFINITY && !timestampInRange(v)) {
    throw new SqlError(SqlStates.datetimeFieldOverflow, 'timestamp out of range');
  }
  return v;
}

function dateToTimestamp(days: number): bigint {
  if (days === Infinity) {
    return TIMESTAMP_INFINITY;
  }
  if (days === -Infinity) {
    return TIMESTAMP_NEG_INFINITY;
  }
  return checkTimestamp(BigInt(days) * MICROS_PER_DAY_BIG);
}

function timestampToDate(micros: bigint): number {
  if (micros === TIMESTAMP_INFINITY) {
    return Infinity;
  }
  if (micros === TIMESTAMP_NEG_INFINITY) {
    return -Infinity;
  }
  return splitMicros(micros).days;
}

/** Conversion between two different scalar base types (typmod applied by the caller). */
function convertScalar(
  value: Datum,
  from: ScalarTypeName,
  to: ScalarTypeName,
  toType: SqlType,
  fromType: SqlType,
  options: CastOptions,
): Datum {
  const zone = options.timeZone ?? UTC;
  switch (from) {
    case 'int2':
    case 'int4':
    case 'int8': {
      const v = value as bigint;
      switch (to) {
        case 'int2':
        case 'int4':
        case 'int8':
          return checkInt(to, v);
        case 'float4':
          return Math.fround(Number(v));
        case 'float8':
          return Number(v);
        case 'numeric':
          return Numeric.fromBigInt(v);
        case 'oid':
          if (from === 'int8') {
            if (v < 0n || v > 4294967295n) {
              throw outOfRange('OID');
            }
            return v;
          }
          return v < 0n ? v + 4294967296n : v; // int4 → oid is binary coercion
        case 'bool':
          return v !== 0n;
        default:
          break;
      }
      break;
    }
    case 'oid': {
      const v = value as bigint;
      if (to === 'int8') {
        return v;
      }
      if (to === 'int4') {
        return v > 2147483647n ? v - 4294967296n : v; // binary coercion
      }
      break;
    }
    case 'float4':
    case 'float8': {
      const v = value as number;
      switch (to) {
        case 'int2':
        case 'int4':
        case 'int8':
          return floatToInt(to, v);
        case 'float8':
          return v;
        case 'float4':
          return float8ToFloat4(v);
        case 'numeric':
          return Numeric.fromNumber(v, from === 'float4' ? 6 : 15);
        default:
          break;
      }
      break;
    }
    case 'numeric': {
      const n = value as Numeric;
      switch (to) {
        case 'int2':
        case 'int4':
        case 'int8':
          return checkInt(to, n.toBigInt(INT_RANGE[to][2]));
        case 'float4':
          return numericToFloat(n, true);
        case 'float8':
          return numericToFloat(n, false);
        default:
          break;
      }
      break;
    }
    case 'bool':
      if (to === 'int4') {
        return value ? 1n : 0n;
      }
      break;
    case 'text':
    case 'varchar':
    case 'bpchar':
    case 'name':
      if (STRING_TYPES.has(to)) {
        // char(n) → other string types drops the padding.
        const s = from === 'bpchar' ? stripTrailingSpaces(value as string) : (value as string);
        return to === 'name' ? truncateName(s) : s;
      }
      break;
    case 'date':
      if (to === 'timestamp') {
        return dateToTimestamp(value as number);
      }
      if (to === 'timestamptz') {
        return checkTimestamp(localToUtc(dateToTimestamp(value as number), zone));
      }
      break;
    case 'timestamp':
      if (to === 'date') {
        return timestampToDate(value as bigint);
      }
      if (to === 'timestamptz') {
        return checkTimestamp(localToUtc(value as bigint, zone));
      }
      break;
    case 'timestamptz':
      if (to === 'date') {
        return timestampToDate(utcToLocal(value as bigint, zone));
      }
      if (to === 'timestamp') {
        return checkTimestamp(utcToLocal(value as bigint, zone));
      }
      break;
    case 'jsonb':
      switch (to) {
        case 'bool':
          return jsonbScalar(value as Jsonb, toType);
        case 'float8':
          return jsonbScalar(value as Jsonb, toType) as number;
        case 'float4':
          return float8ToFloat4(jsonbScalar(value as Jsonb, toType) as number);
        case 'numeric':
          return Numeric.fromNumberShortest(jsonbScalar(value as Jsonb, toType) as number);
        case 'int2':
        case 'int4':
        case 'int8': {
          const n = Numeric.fromNumberShortest(jsonbScalar(value as Jsonb, toType) as number);
          return checkInt(to, n.toBigInt(INT_RANGE[to][2]));
        }
        default:
          break;
      }
      break;
    default:
      break;
  }
  // I/O conversion: to a string type through the output function, from one through the
  // input function. bool is the exception: its cast to text spells the word out.
  if (STRING_TYPES.has(to)) {
    const s = from === 'bool' ? (value ? 'true' : 'false') : formatText(fromType, value, options);
    return to === 'name' ? truncateName(s) : s;
  }
  if (STRING_TYPES.has(from) || from === 'unknown') {
    return parseText(scalarType(to), value as string, options);
  }
  throw new SqlError(SqlStates.cannotCoerce, `cannot cast type ${typeName(fromType)} to ${typeName(toType)}`);
}

/**
 * Casts a datum from one type to another in a context, as PostgreSQL would (or raises
 * 42846 / 42804 if PostgreSQL would not allow the cast there). NULL casts to NULL.
 * Explicit casts to varchar(n) / char(n) cut long values; other contexts raise 22001.
 */
export function castDatum(
  value: Datum,
  from: SqlType,
  to: SqlType,
  context: CastContext,
  options: CastOptions = {},
): Datum {
  if (!canCast(from, to, context)) {
    throw cannotCast(from, to, context);
  }
  if (value === null) {
    return null;
  }
  const explicit = context === 'explicit';
  if (from.kind === 'scalar' && from.name === 'unknown' && !(to.kind === 'scalar' && to.name === 'unknown')) {
    // A literal: the type's input function, then the typmod as a cast in this context
    // applies it ('abcd'::varchar(3) is 'abc'; inserting 'abcd' into varchar(3) is 22001).
    const parsed = parseText(to.kind === 'scalar' ? scalarType(to.name) : to, value as string, options);
    return coerceTypmod(parsed, to, explicit);
  }
  if (sameBaseType(from, to)) {
    return coerceTypmod(value, to, explicit);
  }
  if (from.kind === 'array' && to.kind === 'array') {
    const convert = (v: Datum): Datum =>
      v === null
        ? null
        : Array.isArray(v)
          ? (v as readonly Datum[]).map(convert)
          : castDatum(v, from.element, to.element, context, options);
    return (value as readonly Datum[]).map(convert);
  }
  if (to.kind === 'array') {
    // From a string type: the array input function.
    return coerceTypmod(parseText({ kind: 'array', element: baseOf(to.element) }, value as string, options), to, explicit);
  }
  if (from.kind === 'array') {
    const s = formatText(from, value, options);
    return coerceTypmod(to.name === 'name' ? truncateName(s) : s, to, explicit);
  }
  const converted = convertScalar(value, from.name, to.name, to, from, options);
  return coerceTypmod(converted, to, explicit);
}

function baseOf(type: SqlType): SqlType {
  return type.kind === 'scalar' ? scalarType(type.name) : type;
}

// ---------------------------------------------------------------------------------------
// select_common_type

type Category = 'B' | 'N' | 'S' | 'D' | 'T' | 'U' | 'A' | 'X';

function category(type: SqlType): Category {
  if (type.kind === 'array') {
    return 'A';
  }
  switch (type.name) {
    case 'bool':
      return 'B';
    case 'int2':
    case 'int4':
    case 'int8':
    case 'float4':
    case 'float8':
    case 'numeric':
    case 'oid':
      return 'N';
    case 'text':
    case 'varchar':
    case 'bpchar':
    case 'name':
      return 'S';
    case 'date':
    case 'timestamp':
    case 'timestamptz':
      return 'D';
    case 'interval':
      return 'T';
    case 'unknown':
      return 'X';
    case 'bytea':
    case 'uuid':
    case 'jsonb':
      return 'U';
  }
}

function isPreferred(type: SqlType): boolean {
  return (
    type.kind === 'scalar' &&
    (type.name === 'float8' ||
      type.name === 'text' ||
      type.name === 'timestamptz' ||
      type.name === 'interval' ||
      type.name === 'bool' ||
      type.name === 'oid')
  );
}

function withoutTypmod(type: SqlType): SqlType {
  return type.kind === 'scalar' ? scalarType(type.name) : { kind: 'array', element: withoutTypmod(type.element) };
}

/**
 * The type UNION / CASE / COALESCE / VALUES / IN resolve their inputs to
 * (PostgreSQL's select_common_type): unknowns defer to the others (all unknown: text);
 * types of different categories are an error (42804 "<context> types a and b cannot be
 * matched"); within a category the preferred type, or else the type the others convert
 * to implicitly, wins. The typmod survives only if every input has the same one.
 */
export function commonSupertype(types: readonly SqlType[], context = 'UNION'): SqlType {
  const known = types.filter((t) => !(t.kind === 'scalar' && t.name === 'unknown'));
  if (known.length === 0) {
    return scalarType('text');
  }
  let ptype = known[0]!;
  let pcategory = category(ptype);
  let preferred = isPreferred(ptype);
  for (let i = 1; i < known.length; i++) {
    const ntype = known[i]!;
    if (sameBaseType(ntype, ptype)) {
      continue;
    }
    const ncategory = category(ntype);
    if (ncategory !== pcategory || pcategory === 'U' || pcategory === 'A') {
      const arraysCompatible =
        pcategory === 'A' && ncategory === 'A' && (canCast(ptype, ntype, 'implicit') || canCast(ntype, ptype, 'implicit'));
      if (!arraysCompatible) {
        throw new SqlError(
          SqlStates.datatypeMismatch,
          `${context} types ${typeName(withoutTypmod(ptype))} and ${typeName(withoutTypmod(ntype))} cannot be matched`,
        );
      }
    }
    if (!preferred && canCast(ptype, ntype, 'implicit') && !canCast(ntype, ptype, 'implicit')) {
      ptype = ntype;
      pcategory = ncategory;
      preferred = isPreferred(ntype);
    }
  }
  for (const t of known) {
    if (!canCast(t, ptype, 'implicit')) {
      throw new SqlError(
        SqlStates.cannotCoerce,
        `${context} could not convert type ${typeName(withoutTypmod(t))} to ${typeName(withoutTypmod(ptype))}`,
      );
    }
  }
  // Keep the typmod only when all inputs agree on it (and on the base type).
  const first = known[0]!;
  return known.every((t) => sameType(t, first)) ? first : withoutTypmod(ptype);
}
