import { AssertionFailedError } from '../../../common/errors';
import type { Datum, Interval, Jsonb, SqlType } from './datum';
import { intervalSpanMicros } from './interval';
import { compareJsonb, formatJsonb } from './jsonb';
import type { Numeric } from './numeric';
import { compareBpchar, compareCodePoints, stripTrailingSpaces } from './text-compare';
import { typeName } from './type-names';

/**
 * PostgreSQL's btree order and equality for datums of one type, and hash keys that are
 * equal exactly when the SQL values are equal (for hash joins, GROUP BY, DISTINCT).
 * Strings use the C collation (code point order, the key encoding's byte order).
 */

export type DatumComparator = (a: Datum, b: Datum) => number;

function compareBigints(a: Datum, b: Datum): number {
  return (a as bigint) < (b as bigint) ? -1 : (a as bigint) > (b as bigint) ? 1 : 0;
}

/** Floats: NaN equals NaN and sorts above every number; -0 = 0. */
function compareFloats(a: Datum, b: Datum): number {
  const x = a as number;
  const y = b as number;
  if (x < y) {
    return -1;
  }
  if (x > y) {
    return 1;
  }
  if (x === y) {
    return 0;
  }
  const xNaN = Number.isNaN(x);
  const yNaN = Number.isNaN(y);
  return xNaN === yNaN ? 0 : xNaN ? 1 : -1;
}

/** Dates are numbers with ±Infinity, which compare correctly as they are. */
function compareNumbers(a: Datum, b: Datum): number {
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

function compareBools(a: Datum, b: Datum): number {
  return a === b ? 0 : a ? 1 : -1;
}

function compareStrings(a: Datum, b: Datum): number {
  return a === b ? 0 : compareCodePoints(a as string, b as string);
}

function compareBytes(a: Datum, b: Datum): number {
  return Buffer.compare(a as Uint8Array, b as Uint8Array);
}

function compareNumerics(a: Datum, b: Datum): number {
  return (a as Numeric).cmp(b as Numeric);
}

function compareIntervalDatums(a: Datum, b: Datum): number {
  const x = intervalSpanMicros(a as Interval);
  const y = intervalSpanMicros(b as Interval);
  return x < y ? -1 : x > y ? 1 : 0;
}

function flattenArray(values: readonly Datum[], out: Datum[]): Datum[] {
  for (const v of values) {
    if (Array.isArray(v)) {
      flattenArray(v as readonly Datum[], out);
    } else {
      out.push(v);
    }
  }
  return out;
}

function arrayDims(values: readonly Datum[]): number[] {
  const dims: number[] = [];
  let level: readonly Datum[] = values;
  for (;;) {
    dims.push(level.length);
    if (level.length === 0 || !Array.isArray(level[0])) {
      return dims;
    }
    level = level[0] as readonly Datum[];
  }
}

function arrayComparator(element: SqlType): DatumComparator {
  const cmp = comparatorFor(element);
  return (a, b) => {
    const xa = flattenArray(a as readonly Datum[], []);
    const xb = flattenArray(b as readonly Datum[], []);
    const n = Math.min(xa.length, xb.length);
    for (let i = 0; i < n; i++) {
      const c = compareNullable(cmp, xa[i]!, xb[i]!);
      if (c !== 0) {
        return c;
      }
    }
    if (xa.length !== xb.length) {
      return xa.length < xb.length ? -1 : 1;
    }
    // Same elements: arrays of different shapes still differ ({1,2} vs {{1},{2}}).
    const da = arrayDims(a as readonly Datum[]);
    const db = arrayDims(b as readonly Datum[]);
    if (da.length !== db.length) {
      return da.length < db.length ? -1 : 1;
    }
    for (let i = 0; i < da.length; i++) {
      if (da[i] !== db[i]) {
        return da[i]! < db[i]! ? -1 : 1;
      }
    }
    return 0;
  };
}

const SCALAR_COMPARATORS = {
  bool: compareBools,
  int2: compareBigints,
  int4: compareBigints,
  int8: compareBigints,
  oid: compareBigints,
  timestamp: compareBigints,
  timestamptz: compareBigints,
  float4: compareFloats,
  float8: compareFloats,
  date: compareNumbers,
  numeric: compareNumerics,
  text: compareStrings,
  varchar: compareStrings,
  name: compareStrings,
  unknown: compareStrings,
  uuid: compareStrings,
  bpchar: (a: Datum, b: Datum) => compareBpchar(a as string, b as string),
  bytea: compareBytes,
  interval: compareIntervalDatums,
  jsonb: (a: Datum, b: Datum) => compareJsonb(a as Jsonb, b as Jsonb),
} as const satisfies Record<string, DatumComparator>;

/** A comparator for non-null datums of a type (pick once per operator, call per row). */
export function comparatorFor(type: SqlType): DatumComparator {
  return type.kind === 'array' ? arrayComparator(type.element) : SCALAR_COMPARATORS[type.name];
}

/** PostgreSQL btree order of two non-null datums of one type: negative, 0 or positive. */
export function compareDatums(type: SqlType, a: Datum, b: Datum): number {
  if (a === null || b === null) {
    throw new AssertionFailedError(`compareDatums(${typeName(type)}) got NULL; use compareNullable`);
  }
  return comparatorFor(type)(a, b);
}

/**
 * Order with NULLs: NULLS LAST (ascending; DESC NULLS FIRST is its negation), NULL =
 * NULL. Accepts a type or a comparator from comparatorFor.
 */
export function compareNullable(typeOrCmp: SqlType | DatumComparator, a: Datum, b: Datum): number {
  if (a === null) {
    return b === null ? 0 : 1;
  }
  if (b === null) {
    return -1;
  }
  return typeof typeOrCmp === 'function' ? typeOrCmp(a, b) : comparatorFor(typeOrCmp)(a, b);
}

/** SQL equality of two non-null datums (1.0 = 1.00, NaN = NaN, 'a ' = 'a' for char(n)). */
export function datumsEqual(type: SqlType, a: Datum, b: Datum): boolean {
  return compareDatums(type, a, b) === 0;
}

// ---------------------------------------------------------------------------------------
// Hash keys

export type DatumKey = string | number | bigint;

/**
 * A Map key for a non-null datum: equal SQL values give equal keys (under Map's
 * SameValueZero, which already treats -0 = 0 and NaN = NaN), different values different
 * keys. Keys of different types may collide; key one type per Map.
 */
export function datumKey(type: SqlType, d: Datum): DatumKey {
  if (d === null) {
    throw new AssertionFailedError(`datumKey(${typeName(type)}) got NULL; callers handle NULL`);
  }
  if (type.kind === 'array') {
    return arrayKey(type.element, d as readonly Datum[]);
  }
  switch (type.name) {
    case 'bool':
      return d ? 1 : 0;
    case 'int2':
    case 'int4':
    case 'int8':
    case 'oid':
    case 'timestamp':
    case 'timestamptz':
    case 'float4':
    case 'float8':
    case 'date':
    case 'text':
    case 'varchar':
    case 'name':
    case 'unknown':
    case 'uuid':
      return d as DatumKey;
    case 'bpchar':
      return stripTrailingSpaces(d as string);
    case 'numeric':
      return (d as Numeric).normalizedKey();
    case 'bytea':
      return Buffer.from((d as Uint8Array).buffer, (d as Uint8Array).byteOffset, (d as Uint8Array).byteLength).toString(
        'latin1',
      );
    case 'interval':
      return intervalSpanMicros(d as Interval);
    case 'jsonb':
      return formatJsonb(d as Jsonb);
  }
}

function arrayKey(element: SqlType, values: readonly Datum[]): string {
  let out = '[';
  for (const v of values) {
    out += v === null ? 'N,' : Array.isArray(v) ? `${arrayKey(element, v as readonly Datum[])},` : `${keyPart(datumKey(element, v))},`;
  }
  return `${out}]`;
}

/** A self-delimiting rendering of one key, so that concatenations cannot collide. */
function keyPart(k: DatumKey): string {
  switch (typeof k) {
    case 'string':
      return `s${k.length}:${k}`;
    case 'bigint':
      return `i${k}`;
    default:
      return `f${k === 0 ? 0 : k}`; // String(-0) is '0' anyway; NaN prints 'NaN'
  }
}

/**
 * One string key for a tuple of nullable datums (GROUP BY a, b; DISTINCT; composite
 * join keys): equal tuples (NULL grouping with NULL) give equal strings.
 */
export function tupleKey(types: readonly SqlType[], values: readonly Datum[]): string {
  let out = '';
  for (let i = 0; i < types.length; i++) {
    const v = values[i];
    out += v === null || v === undefined ? 'N' : keyPart(datumKey(types[i]!, v));
    out += ';';
  }
  return out;
}
