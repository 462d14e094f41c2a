import type { Datum, Interval, JsonValue } from '../types/datum';
import { Numeric } from '../types/numeric';
import { arr, bool, int, ivl, json, jsonb, num, str, ts } from './datum-access';
import { compareIntervals, isFiniteTimestamp, timestampPlusInterval } from './datetime';
import { timestamptzPlusInterval } from './datetime-ops';
import type { IntTypeName } from './errors';
import { invalidParameter } from './errors';
import { isArrayValue, isObject, jsonText } from './jsonb-functions';
import { INT_MAX, INT_MIN } from './numbers';
import { regexpMatches, regexpSplit } from './regex';
import type { SetReturningDef } from './registry';
import { sortedKeys } from '../types/jsonb';

/**
 * Set-returning functions: each call yields rows (arrays of datums, one per declared
 * column). Generators are lazy, so LIMIT stops them early.
 */

function stepZero(): Error {
  return invalidParameter('step size cannot equal zero');
}

function* intSeries(start: bigint, stop: bigint, step: bigint, type: IntTypeName): Generator<Datum[]> {
  if (step === 0n) throw stepZero();
  // Stop before the next value would leave the type's range (no overflow error).
  for (let v = start; step > 0n ? v <= stop : v >= stop; v += step) {
    yield [v];
    if (v + step > INT_MAX[type] || v + step < INT_MIN[type]) return;
  }
}

function checkNumericBound(n: Numeric, what: string): void {
  if (n.isNaN()) throw invalidParameter(`${what} cannot be NaN`);
  if (!n.isFinite()) throw invalidParameter(`${what} cannot be infinity`);
}

function* numericSeries(start: Numeric, stop: Numeric, step: Numeric): Generator<Datum[]> {
  checkNumericBound(start, 'start value');
  checkNumericBound(stop, 'stop value');
  checkNumericBound(step, 'step size');
  if (step.isZero()) throw stepZero();
  const up = step.sign() > 0;
  for (let v = start; up ? v.cmp(stop) <= 0 : v.cmp(stop) >= 0; v = v.add(step)) yield [v];
}

const ZERO_INTERVAL: Interval = { months: 0, days: 0, micros: 0n };

function* timestampSeries(
  start: bigint,
  stop: bigint,
  step: Interval,
  add: (t: bigint, iv: Interval) => bigint,
): Generator<Datum[]> {
  const direction = compareIntervals(step, ZERO_INTERVAL);
  if (direction === 0) throw stepZero();
  if (!isFiniteTimestamp(start) || !isFiniteTimestamp(stop)) {
    throw invalidParameter('start value and stop value cannot be infinity');
  }
  // Repeated addition, as PostgreSQL: monthly steps from Jan 31 go Feb 28, Mar 28, ...
  for (let v = start; direction > 0 ? v <= stop : v >= stop; v = add(v, step)) yield [v];
}

function* subscripts(items: readonly Datum[], dim: bigint, reverse: boolean): Generator<Datum[]> {
  if (dim !== 1n) return;
  if (reverse) for (let i = items.length; i >= 1; i--) yield [BigInt(i)];
  else for (let i = 1; i <= items.length; i++) yield [BigInt(i)];
}

function arrayElements(v: JsonValue): readonly JsonValue[] {
  if (isArrayValue(v)) return v;
  throw invalidParameter(isObject(v) ? 'cannot extract elements from an object' : 'cannot extract elements from a scalar');
}

function objectEntries(v: JsonValue, fn: string): [string, JsonValue][] {
  if (!isObject(v)) throw invalidParameter(`cannot call ${fn} on a non-object`);
  return sortedKeys(v).map((k) => [k, v[k] as JsonValue]);
}

function objectKeys(v: JsonValue): string[] {
  if (isObject(v)) return sortedKeys(v);
  throw invalidParameter(`cannot call jsonb_object_keys on ${isArrayValue(v) ? 'an array' : 'a scalar'}`);
}

function intSeriesDefs(type: IntTypeName): SetReturningDef[] {
  return [
    {
      name: 'generate_series',
      args: [type, type],
      result: type,
      columns: [{ name: 'generate_series', type }],
      bind: () => (a) => intSeries(int(a[0]), int(a[1]), 1n, type),
    },
    {
      name: 'generate_series',
      args: [type, type, type],
      result: type,
      columns: [{ name: 'generate_series', type }],
      bind: () => (a) => intSeries(int(a[0]), int(a[1]), int(a[2]), type),
    },
  ];
}

export const setReturningDefs: readonly SetReturningDef[] = [
  ...intSeriesDefs('int4'),
  ...intSeriesDefs('int8'),
  {
    name: 'generate_series',
    args: ['numeric', 'numeric'],
    result: 'numeric',
    columns: [{ name: 'generate_series', type: 'numeric' }],
    bind: () => (a) => numericSeries(num(a[0]), num(a[1]), Numeric.ONE),
  },
  {
    name: 'generate_series',
    args: ['numeric', 'numeric', 'numeric'],
    result: 'numeric',
    columns: [{ name: 'generate_series', type: 'numeric' }],
    bind: () => (a) => numericSeries(num(a[0]), num(a[1]), num(a[2])),
  },
  {
    name: 'generate_series',
    args: ['timestamp', 'timestamp', 'interval'],
    result: 'timestamp',
    columns: [{ name: 'generate_series', type: 'timestamp' }],
    bind: () => (a) => timestampSeries(ts(a[0]), ts(a[1]), ivl(a[2]), timestampPlusInterval),
  },
  {
    name: 'generate_series',
    args: ['timestamptz', 'timestamptz', 'interval'],
    result: 'timestamptz',
    volatility: 'stable',
    columns: [{ name: 'generate_series', type: 'timestamptz' }],
    bind: () => (a, ctx) =>
      timestampSeries(ts(a[0]), ts(a[1]), ivl(a[2]), (t, iv) => timestamptzPlusInterval(t, iv, ctx.timeZone)),
  },
  {
    name: 'generate_subscripts',
    args: ['anyarray', 'int4'],
    result: 'int4',
    columns: [{ name: 'generate_subscripts', type: 'int4' }],
    bind: () => (a) => subscripts(arr(a[0]), int(a[1]), false),
  },
  {
    name: 'generate_subscripts',
    args: ['anyarray', 'int4', 'bool'],
    result: 'int4',
    columns: [{ name: 'generate_subscripts', type: 'int4' }],
    bind: () => (a) => subscripts(arr(a[0]), int(a[1]), bool(a[2])),
  },
  {
    name: 'unnest',
    args: ['anyarray'],
    result: 'anyelement',
    columns: [{ name: 'unnest', type: 'anyelement' }],
    bind: () => (a) => arr(a[0]).map((v) => [v]),
  },
  {
    name: 'jsonb_array_elements',
    args: ['jsonb'],
    result: 'jsonb',
    columns: [{ name: 'value', type: 'jsonb' }],
    bind: () => (a) => arrayElements(json(a[0])).map((v) => [jsonb(v)]),
  },
  {
    name: 'jsonb_array_elements_text',
    args: ['jsonb'],
    result: 'text',
    columns: [{ name: 'value', type: 'text' }],
    bind: () => (a) => arrayElements(json(a[0])).map((v) => [jsonText(v)]),
  },
  {
    name: 'jsonb_each',
    args: ['jsonb'],
    result: 'jsonb',
    columns: [
      { name: 'key', type: 'text' },
      { name: 'value', type: 'jsonb' },
    ],
    bind: () => (a) => objectEntries(json(a[0]), 'jsonb_each').map(([k, v]) => [k, jsonb(v)]),
  },
  {
    name: 'jsonb_each_text',
    args: ['jsonb'],
    result: 'text',
    columns: [
      { name: 'key', type: 'text' },
      { name: 'value', type: 'text' },
    ],
    bind: () => (a) => objectEntries(json(a[0]), 'jsonb_each_text').map(([k, v]) => [k, jsonText(v)]),
  },
  {
    name: 'jsonb_object_keys',
    args: ['jsonb'],
    result: 'text',
    columns: [{ name: 'jsonb_object_keys', type: 'text' }],
    bind: () => (a) => objectKeys(json(a[0])).map((k) => [k]),
  },
  {
    name: 'regexp_split_to_table',
    args: ['text', 'text'],
    result: 'text',
    columns: [{ name: 'regexp_split_to_table', type: 'text' }],
    bind: () => (a) => regexpSplit(str(a[0]), str(a[1]), '').map((p) => [p]),
  },
  {
    name: 'regexp_split_to_table',
    args: ['text', 'text', 'text'],
    result: 'text',
    columns: [{ name: 'regexp_split_to_table', type: 'text' }],
    bind: () => (a) => regexpSplit(str(a[0]), str(a[1]), str(a[2])).map((p) => [p]),
  },
  {
    name: 'regexp_matches',
    args: ['text', 'text'],
    result: 'text[]',
    columns: [{ name: 'regexp_matches', type: 'text[]' }],
    bind: () => (a) => regexpMatches(str(a[0]), str(a[1]), '').map((m) => [m]),
  },
  {
    name: 'regexp_matches',
    args: ['text', 'text', 'text'],
    result: 'text[]',
    columns: [{ name: 'regexp_matches', type: 'text[]' }],
    bind: () => (a) => regexpMatches(str(a[0]), str(a[1]), str(a[2])).map((m) => [m]),
  },
];
