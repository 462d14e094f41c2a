import type { Datum, Interval, JsonValue, SqlType } from '../types/datum';
import { Numeric, pow10 } from '../types/numeric';
import { comparatorFor } from './compare-ops';
import { bool, bytes, flt, int, ivl, jsonb, num, str } from './datum-access';
import { intervalAdd, intervalScale } from './datetime';
import type { IntTypeName } from './errors';
import { floatOverflow, nullNotAllowed } from './errors';
import { fixedEvalContext } from './eval-context';
import { datumToJson } from './jsonb-functions';
import type { FloatTypeName } from './numbers';
import { checkInt, floatAdd } from './numbers';
import type { AggregateDef, AggregateImpl } from './registry';
import { outputText } from './text-output';

/**
 * Aggregates as state machines (registry.ts's AggregateImpl). Result types follow
 * PostgreSQL: sum(int2/int4) is int8, sum(int8) numeric, avg of integers numeric (with
 * division's display scale: avg(1, 2) = 1.5000000000000000), variance/stddev numeric for
 * exact inputs and float8 for floats. Empty input gives NULL, except count (0).
 * States are plain values; collection states (array_agg, string_agg, ...) are arrays the
 * step appends to (the caller hands over ownership, see AggregateImpl).
 */

function impl<S>(a: AggregateImpl<S>): AggregateImpl {
  return a as unknown as AggregateImpl;
}

// ---------------------------------------------------------------------------------------
// count

const countImpl = impl<bigint>({
  init: () => 0n,
  step: (n) => n + 1n,
  final: (n) => n,
  merge: (a, b) => a + b,
});

// ---------------------------------------------------------------------------------------
// sum

function intSumToInt8(): AggregateImpl {
  return impl<bigint | null>({
    init: () => null,
    step: (s, args) => checkInt((s ?? 0n) + int(args[0]), 'int8'),
    final: (s) => s,
    merge: (a, b) => (a === null ? b : b === null ? a : checkInt(a + b, 'int8')),
  });
}

function int8SumToNumeric(): AggregateImpl {
  return impl<bigint | null>({
    init: () => null,
    step: (s, args) => (s ?? 0n) + int(args[0]),
    final: (s) => (s === null ? null : Numeric.fromBigInt(s)),
    merge: (a, b) => (a === null ? b : b === null ? a : a + b),
  });
}

const numericSum = impl<Numeric | null>({
  init: () => null,
  step: (s, args) => (s === null ? num(args[0]) : s.add(num(args[0]))),
  final: (s) => s,
  merge: (a, b) => (a === null ? b : b === null ? a : a.add(b)),
});

function floatSum(type: FloatTypeName): AggregateImpl {
  return impl<number | null>({
    init: () => null,
    step: (s, args) => (s === null ? flt(args[0]) : floatAdd(s, flt(args[0]), type)),
    final: (s) => s,
    merge: (a, b) => (a === null ? b : b === null ? a : floatAdd(a, b, type)),
  });
}

const intervalSum = impl<Interval | null>({
  init: () => null,
  step: (s, args) => (s === null ? ivl(args[0]) : intervalAdd(s, ivl(args[0]))),
  final: (s) => s,
  merge: (a, b) => (a === null ? b : b === null ? a : intervalAdd(a, b)),
});

// ---------------------------------------------------------------------------------------
// avg

interface IntAvgState {
  readonly count: bigint;
  readonly sum: bigint;
}

const intAvg = impl<IntAvgState>({
  init: () => ({ count: 0n, sum: 0n }),
  step: (s, args) => ({ count: s.count + 1n, sum: s.sum + int(args[0]) }),
  final: (s) => (s.count === 0n ? null : Numeric.fromBigInt(s.sum).div(Numeric.fromBigInt(s.count))),
  merge: (a, b) => ({ count: a.count + b.count, sum: a.sum + b.sum }),
});

interface NumericAvgState {
  readonly count: bigint;
  readonly sum: Numeric;
}

const numericAvg = impl<NumericAvgState>({
  init: () => ({ count: 0n, sum: Numeric.ZERO }),
  step: (s, args) => ({ count: s.count + 1n, sum: s.sum.add(num(args[0])) }),
  final: (s) => (s.count === 0n ? null : s.sum.div(Numeric.fromBigInt(s.count))),
  merge: (a, b) => ({ count: a.count + b.count, sum: a.sum.add(b.sum) }),
});

interface IntervalAvgState {
  readonly count: number;
  readonly sum: Interval;
}

const intervalAvg = impl<IntervalAvgState>({
  init: () => ({ count: 0, sum: { months: 0, days: 0, micros: 0n } }),
  step: (s, args) => ({ count: s.count + 1, sum: intervalAdd(s.sum, ivl(args[0])) }),
  final: (s) => (s.count === 0 ? null : intervalScale(s.sum, s.count, true)),
  merge: (a, b) => ({ count: a.count + b.count, sum: intervalAdd(a.sum, b.sum) }),
});

// ---------------------------------------------------------------------------------------
// Moments over floats: Youngs-Cramer, as PostgreSQL's float8_accum

interface FloatMoments {
  readonly n: number;
  readonly sx: number;
  readonly sxx: number;
}

export function floatAccumulate(s: FloatMoments, x: number): FloatMoments {
  const n = s.n + 1;
  const sx = s.sx + x;
  let sxx = s.sxx;
  if (s.n > 0) {
    const tmp = x * n - sx;
    sxx += (tmp * tmp) / (n * s.n);
    if (!Number.isFinite(sx) || !Number.isFinite(sxx)) {
      if (Number.isFinite(s.sx) && Number.isFinite(x)) throw floatOverflow();
      sxx = NaN;
    }
  } else if (!Number.isFinite(x)) {
    sxx = NaN;
  }
  return { n, sx, sxx };
}

/** Combines two partial states (Chan et al.'s pairwise update). */
function floatMerge(a: FloatMoments, b: FloatMoments): FloatMoments {
  if (a.n === 0) return b;
  if (b.n === 0) return a;
  const n = a.n + b.n;
  const tmp = a.sx / a.n - b.sx / b.n;
  return { n, sx: a.sx + b.sx, sxx: a.sxx + b.sxx + (a.n * b.n * tmp * tmp) / n };
}

type MomentResult = 'avg' | 'var_pop' | 'var_samp' | 'stddev_pop' | 'stddev_samp';

function floatMoments(result: MomentResult): AggregateImpl {
  return impl<FloatMoments>({
    init: () => ({ n: 0, sx: 0, sxx: 0 }),
    step: (s, args) => floatAccumulate(s, flt(args[0])),
    final: (s) => {
      if (s.n === 0) return null;
      if (result === 'avg') return s.sx / s.n;
      const sample = result === 'var_samp' || result === 'stddev_samp';
      if (sample && s.n <= 1) return null;
      const variance = s.sxx / (sample ? s.n - 1 : s.n);
      return result.startsWith('stddev') ? Math.sqrt(variance) : variance;
    },
    merge: floatMerge,
  });
}

// ---------------------------------------------------------------------------------------
// Moments over exact values: numeric sums of x and x², as PostgreSQL's numeric_accum

interface ExactMoments {
  readonly n: bigint;
  readonly sx: Numeric;
  readonly sxx: Numeric;
}

/** √x rounded half away from zero to `scale` digits (PostgreSQL's sqrt_var at a given scale). */
function sqrtToScale(x: Numeric, scale: number): Numeric {
  if (x.isZero()) return Numeric.of(0n, scale);
  // √(coef × 10^-s) × 10^(scale+1) = √(coef × 10^(2 scale + 2 - s))
  const shift = 2 * scale + 2 - x.scale;
  const n = shift >= 0 ? x.coef * pow10(shift) : x.coef / pow10(-shift);
  let r = 1n << BigInt(Math.ceil((n.toString(2).length + 1) / 2));
  for (;;) {
    const next = (r + n / r) >> 1n;
    if (next >= r) break;
    r = next;
  }
  const q = r / 10n;
  return Numeric.of(r % 10n >= 5n ? q + 1n : q, scale);
}

function exactMoments(kind: 'int' | 'numeric', result: Exclude<MomentResult, 'avg'>): AggregateImpl {
  const toNumeric = kind === 'int' ? (d: Datum): Numeric => Numeric.fromBigInt(int(d)) : num;
  return impl<ExactMoments>({
    init: () => ({ n: 0n, sx: Numeric.ZERO, sxx: Numeric.ZERO }),
    step: (s, args) => {
      const x = toNumeric(args[0] as Datum);
      return { n: s.n + 1n, sx: s.sx.add(x), sxx: s.sxx.add(x.mul(x)) };
    },
    final: (s) => {
      const sample = result === 'var_samp' || result === 'stddev_samp';
      if (s.n === 0n || (sample && s.n === 1n)) return null;
      if (s.sx.isNaN() || s.sxx.isNaN()) return Numeric.NAN;
      const n = Numeric.fromBigInt(s.n);
      const numerator = n.mul(s.sxx).sub(s.sx.mul(s.sx));
      if (numerator.sign() <= 0) return Numeric.ZERO;
      const denominator = n.mul(Numeric.fromBigInt(sample ? s.n - 1n : s.n));
      const variance = numerator.div(denominator);
      return result.startsWith('stddev') ? sqrtToScale(variance, variance.scale) : variance;
    },
    merge: (a, b) => ({ n: a.n + b.n, sx: a.sx.add(b.sx), sxx: a.sxx.add(b.sxx) }),
  });
}

// ---------------------------------------------------------------------------------------
// min / max, bool_and / bool_or, bit_and / bit_or / bit_xor

function extremum(type: SqlType, max: boolean): AggregateImpl {
  const cmp = comparatorFor(type);
  const pick = (a: Datum, b: Datum): Datum => {
    const c = cmp(b, a);
    return (max ? c > 0 : c < 0) ? b : a;
  };
  return impl<Datum>({
    init: () => null,
    step: (s, args) => (s === null ? (args[0] as Datum) : pick(s, args[0] as Datum)),
    final: (s) => s,
    merge: (a, b) => (a === null ? b : b === null ? a : pick(a, b)),
  });
}

function boolFold(and: boolean): AggregateImpl {
  const combine = (a: boolean | null, b: boolean | null): boolean | null =>
    a === null ? b : b === null ? a : and ? a && b : a || b;
  return impl<boolean | null>({
    init: () => null,
    step: (s, args) => combine(s, bool(args[0])),
    final: (s) => s,
    merge: combine,
  });
}

function bitFold(op: '&' | '|' | '#'): AggregateImpl {
  const f = (a: bigint, b: bigint): bigint => (op === '&' ? a & b : op === '|' ? a | b : a ^ b);
  return impl<bigint | null>({
    init: () => null,
    step: (s, args) => (s === null ? int(args[0]) : f(s, int(args[0]))),
    final: (s) => s,
    merge: (a, b) => (a === null ? b : b === null ? a : f(a, b)),
  });
}

// ---------------------------------------------------------------------------------------
// Collecting aggregates

/** string_agg: rows with a NULL value are skipped; a NULL delimiter counts as ''. */
function stringAgg(): AggregateImpl {
  return impl<string[] | null>({
    init: () => null,
    step: (s, args) => {
      if (args[0] === null) return s;
      const parts = s ?? [];
      if (parts.length > 0) parts.push(args[1] === null ? '' : str(args[1]));
      parts.push(str(args[0]));
      return parts;
    },
    final: (s) => (s === null ? null : s.join('')),
    merge: (a, b) => (a === null ? b : b === null ? a : [...a, ...b]),
  });
}

function byteaAgg(): AggregateImpl {
  return impl<Buffer[] | null>({
    init: () => null,
    step: (s, args) => {
      if (args[0] === null) return s;
      const parts = s ?? [];
      if (parts.length > 0 && args[1] !== null) parts.push(bytes(args[1]));
      parts.push(bytes(args[0]));
      return parts;
    },
    final: (s) => (s === null ? null : Buffer.concat(s)),
    merge: (a, b) => (a === null ? b : b === null ? a : [...a, ...b]),
  });
}

/** array_agg keeps NULL elements; no rows gives NULL. */
const arrayAgg = impl<Datum[] | null>({
  init: () => null,
  step: (s, args) => {
    const items = s ?? [];
    items.push(args[0] ?? null);
    return items;
  },
  final: (s) => (s === null ? null : [...s]),
  merge: (a, b) => (a === null ? b : b === null ? a : [...a, ...b]),
});

// JSON conversion of timestamps needs a zone; aggregates have no context, so values are
// converted as UTC (the executor's session zone is applied by to_jsonb, not here).
const JSON_CONTEXT = fixedEvalContext();

function jsonbAgg(type: SqlType): AggregateImpl {
  return impl<JsonValue[] | null>({
    init: () => null,
    step: (s, args) => {
      const items = s ?? [];
      items.push(datumToJson(type, args[0] ?? null, JSON_CONTEXT));
      return items;
    },
    final: (s) => (s === null ? null : jsonb([...s])),
    merge: (a, b) => (a === null ? b : b === null ? a : [...a, ...b]),
  });
}

function jsonbObjectAgg(keyType: SqlType, valueType: SqlType): AggregateImpl {
  return impl<[string, JsonValue][] | null>({
    init: () => null,
    step: (s, args) => {
      const key = args[0] ?? null;
      if (key === null) throw nullNotAllowed('field name must not be null');
      const entries = s ?? [];
      entries.push([outputText(keyType, key, JSON_CONTEXT), datumToJson(valueType, args[1] ?? null, JSON_CONTEXT)]);
      return entries;
    },
    final: (s) => (s === null ? null : jsonb(Object.fromEntries(s) as JsonValue)),
    merge: (a, b) => (a === null ? b : b === null ? a : [...a, ...b]),
  });
}

// ---------------------------------------------------------------------------------------
// The table

const INTS: readonly IntTypeName[] = ['int2', 'int4', 'int8'];
const ORDERED = [
  'int2',
  'int4',
  'int8',
  'float4',
  'float8',
  'numeric',
  'text',
  'bpchar',
  'date',
  'timestamp',
  'timestamptz',
  'interval',
  'oid',
  'anyarray',
] as const;

const MOMENTS: readonly [string, Exclude<MomentResult, 'avg'>][] = [
  ['variance', 'var_samp'],
  ['var_samp', 'var_samp'],
  ['var_pop', 'var_pop'],
  ['stddev', 'stddev_samp'],
  ['stddev_samp', 'stddev_samp'],
  ['stddev_pop', 'stddev_pop'],
];

function fixed(a: AggregateImpl): () => AggregateImpl {
  return () => a;
}

export const aggregateDefs: readonly AggregateDef[] = [
  { name: 'count', args: [], result: 'int8', strict: false, bind: fixed(countImpl) },
  { name: 'count', args: ['any'], result: 'int8', bind: fixed(countImpl) },
  { name: 'sum', args: ['int2'], result: 'int8', bind: intSumToInt8 },
  { name: 'sum', args: ['int4'], result: 'int8', bind: intSumToInt8 },
  { name: 'sum', args: ['int8'], result: 'numeric', bind: int8SumToNumeric },
  { name: 'sum', args: ['numeric'], result: 'numeric', bind: fixed(numericSum) },
  { name: 'sum', args: ['float4'], result: 'float4', bind: () => floatSum('float4') },
  { name: 'sum', args: ['float8'], result: 'float8', bind: () => floatSum('float8') },
  { name: 'sum', args: ['interval'], result: 'interval', bind: fixed(intervalSum) },
  ...INTS.map((t): AggregateDef => ({ name: 'avg', args: [t], result: 'numeric', bind: fixed(intAvg) })),
  { name: 'avg', args: ['numeric'], result: 'numeric', bind: fixed(numericAvg) },
  { name: 'avg', args: ['float4'], result: 'float8', bind: () => floatMoments('avg') },
  { name: 'avg', args: ['float8'], result: 'float8', bind: () => floatMoments('avg') },
  { name: 'avg', args: ['interval'], result: 'interval', bind: fixed(intervalAvg) },
  ...MOMENTS.flatMap(([name, kind]): AggregateDef[] => [
    ...INTS.map((t): AggregateDef => ({ name, args: [t], result: 'numeric', bind: () => exactMoments('int', kind) })),
    { name, args: ['numeric'], result: 'numeric', bind: () => exactMoments('numeric', kind) },
    { name, args: ['float4'], result: 'float8', bind: () => floatMoments(kind) },
    { name, args: ['float8'], result: 'float8', bind: () => floatMoments(kind) },
  ]),
  ...ORDERED.flatMap((t): AggregateDef[] => [
    { name: 'min', args: [t], result: t, bind: (types) => extremum(types[0] as SqlType, false) },
    { name: 'max', args: [t], result: t, bind: (types) => extremum(types[0] as SqlType, true) },
  ]),
  { name: 'bool_and', args: ['bool'], result: 'bool', bind: () => boolFold(true) },
  { name: 'every', args: ['bool'], result: 'bool', bind: () => boolFold(true) },
  { name: 'bool_or', args: ['bool'], result: 'bool', bind: () => boolFold(false) },
  ...INTS.flatMap((t): AggregateDef[] => [
    { name: 'bit_and', args: [t], result: t, bind: () => bitFold('&') },
    { name: 'bit_or', args: [t], result: t, bind: () => bitFold('|') },
    { name: 'bit_xor', args: [t], result: t, bind: () => bitFold('#') },
  ]),
  { name: 'string_agg', args: ['text', 'text'], result: 'text', strict: false, bind: stringAgg },
  { name: 'string_agg', args: ['bytea', 'bytea'], result: 'bytea', strict: false, bind: byteaAgg },
  { name: 'array_agg', args: ['anynonarray'], result: 'anyarray', strict: false, bind: fixed(arrayAgg) },
  {
    name: 'jsonb_agg',
    args: ['anyelement'],
    result: 'jsonb',
    strict: false,
    bind: (types) => jsonbAgg(types[0] as SqlType),
  },
  {
    name: 'jsonb_object_agg',
    args: ['any', 'any'],
    result: 'jsonb',
    strict: false,
    bind: (types) => jsonbObjectAgg(types[0] as SqlType, types[1] as SqlType),
  },
];
