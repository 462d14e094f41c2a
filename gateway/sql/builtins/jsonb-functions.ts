import { SqlError, SqlStates } from '../../../common/errors';
import type { Datum, JsonValue, SqlType } from '../types/datum';
import { formatJsonb, jsonbEquals, sortedKeys, toJsonb } from '../types/jsonb';
import type { Numeric } from '../types/numeric';
import { arr, bool, int, json, jsonb, str } from './datum-access';
import type { EvalContext } from './eval-context';
import { invalidParameter, nullNotAllowed } from './errors';
import type { ScalarDef } from './registry';
import { outputText } from './text-output';

/**
 * jsonb operators and functions (PostgreSQL 15 §9.16). Values are JsonValue trees;
 * objects are built with Object.fromEntries so that any key (even "__proto__") is an own
 * property. Key order is the output's business (types/jsonb sorts keys as jsonb does).
 */

type JsonObject = { readonly [key: string]: JsonValue };

export function isObject(v: JsonValue): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function isArrayValue(v: JsonValue): v is readonly JsonValue[] {
  return Array.isArray(v);
}

function hasKey(o: JsonObject, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key);
}

function field(o: JsonObject, key: string): JsonValue | undefined {
  return hasKey(o, key) ? o[key] : undefined;
}

function objectFrom(entries: Iterable<readonly [string, JsonValue]>): JsonObject {
  return Object.fromEntries(entries) as JsonObject;
}

/** ->> and #>>: strings unquoted, JSON null as SQL NULL, anything else as jsonb text. */
export function jsonText(v: JsonValue | undefined): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  return formatJsonb({ json: v });
}

function arrayIndex(a: readonly JsonValue[], i: number): JsonValue | undefined {
  const index = i < 0 ? a.length + i : i;
  return index >= 0 && index < a.length ? a[index] : undefined;
}

export function getField(v: JsonValue, key: string): JsonValue | undefined {
  return isObject(v) ? field(v, key) : undefined;
}

export function getElement(v: JsonValue, index: bigint): JsonValue | undefined {
  return isArrayValue(v) ? arrayIndex(v, Number(index)) : undefined;
}

/** #> path: object keys, or array indexes (a non-integer step into an array finds nothing). */
export function getPath(v: JsonValue, path: readonly Datum[]): JsonValue | undefined {
  let cur: JsonValue | undefined = v;
  for (const step of path) {
    if (cur === undefined || step === null) return undefined;
    const key = step as string;
    if (isObject(cur)) cur = field(cur, key);
    else if (isArrayValue(cur)) {
      if (!/^\s*-?\d+\s*$/.test(key)) return undefined;
      cur = arrayIndex(cur, Number(key));
    } else return undefined;
  }
  return cur;
}

function wrap(v: JsonValue | undefined): Datum {
  return v === undefined ? null : jsonb(v);
}

// ---------------------------------------------------------------------------------------
// Containment and existence

function isScalar(v: JsonValue): boolean {
  return v === null || typeof v !== 'object';
}

function scalarEquals(a: JsonValue, b: JsonValue): boolean {
  return jsonbEquals({ json: a }, { json: b });
}

/** a @> b, PostgreSQL's rules: objects by key, arrays by element (order and count ignored). */
export function jsonContains(a: JsonValue, b: JsonValue, topLevel = true): boolean {
  if (isObject(a)) {
    if (!isObject(b)) return false;
    for (const key of Object.keys(b)) {
      const av = field(a, key);
      if (av === undefined) return false;
      const bv = b[key] as JsonValue;
      if (isScalar(bv) ? !scalarEquals(av, bv) : !jsonContains(av, bv, false)) return false;
    }
    return true;
  }
  if (isArrayValue(a)) {
    // A top-level array contains a bare scalar that is one of its elements.
    if (isScalar(b)) return topLevel && a.some((x) => isScalar(x) && scalarEquals(x, b));
    if (!isArrayValue(b)) return false;
    return b.every((bv) =>
      isScalar(bv) ? a.some((av) => isScalar(av) && scalarEquals(av, bv)) : a.some((av) => !isScalar(av) && jsonContains(av, bv, false)),
    );
  }
  return isScalar(b) && scalarEquals(a, b);
}

/** ?: a top-level key, or a string element of a top-level array (or the string itself). */
export function jsonExists(v: JsonValue, key: string): boolean {
  if (isObject(v)) return hasKey(v, key);
  if (isArrayValue(v)) return v.some((e) => e === key);
  return v === key;
}

// ---------------------------------------------------------------------------------------
// Building and editing

/** jsonb || jsonb: objects merge (right wins); otherwise both sides as arrays, concatenated. */
export function jsonConcat(a: JsonValue, b: JsonValue): JsonValue {
  if (isObject(a) && isObject(b)) return objectFrom([...Object.entries(a), ...Object.entries(b)]);
  const left = isArrayValue(a) ? a : [a];
  const right = isArrayValue(b) ? b : [b];
  return [...left, ...right];
}

function cannotDeleteFromScalar(): SqlError {
  return invalidParameter('cannot delete from scalar');
}

export function jsonDeleteKey(v: JsonValue, key: string): JsonValue {
  if (isObject(v)) return objectFrom(Object.entries(v).filter(([k]) => k !== key));
  if (isArrayValue(v)) return v.filter((e) => e !== key);
  throw cannotDeleteFromScalar();
}

export function jsonDeleteKeys(v: JsonValue, keys: readonly Datum[]): JsonValue {
  const drop = new Set(keys.filter((k): k is string => typeof k === 'string'));
  if (isObject(v)) return objectFrom(Object.entries(v).filter(([k]) => !drop.has(k)));
  if (isArrayValue(v)) return v.filter((e) => typeof e !== 'string' || !drop.has(e));
  throw cannotDeleteFromScalar();
}

export function jsonDeleteIndex(v: JsonValue, index: bigint): JsonValue {
  if (isObject(v)) throw invalidParameter('cannot delete from object using integer index');
  if (!isArrayValue(v)) throw cannotDeleteFromScalar();
  const i = Number(index) < 0 ? v.length + Number(index) : Number(index);
  return v.filter((_e, k) => k !== i);
}

function pathIndex(step: string, position: number): number {
  if (!/^\s*[+-]?\d+\s*$/.test(step)) {
    throw new SqlError(
      SqlStates.invalidTextRepresentation,
      `path element at position ${position} is not an integer: "${step}"`,
    );
  }
  return Number(step);
}

/** #- path: deletes the element the path names, if it exists. */
export function jsonDeletePath(v: JsonValue, path: readonly Datum[]): JsonValue {
  if (isScalar(v)) throw invalidParameter('cannot delete path in scalar');
  const steps = path.map((p) => {
    if (p === null) throw nullNotAllowed('path element at position 1 is null');
    return p as string;
  });
  const go = (cur: JsonValue, depth: number): JsonValue => {
    const step = steps[depth] as string;
    const last = depth === steps.length - 1;
    if (isObject(cur)) {
      const child = field(cur, step);
      if (child === undefined) return cur;
      if (last) return objectFrom(Object.entries(cur).filter(([k]) => k !== step));
      return objectFrom(Object.entries(cur).map(([k, val]) => [k, k === step ? go(val, depth + 1) : val] as const));
    }
    if (isArrayValue(cur)) {
      const n = pathIndex(step, depth + 1);
      const i = n < 0 ? cur.length + n : n;
      if (i < 0 || i >= cur.length) return cur;
      if (last) return cur.filter((_e, k) => k !== i);
      return cur.map((e, k) => (k === i ? go(e, depth + 1) : e));
    }
    return cur;
  };
  return steps.length === 0 ? v : go(v, 0);
}

/** jsonb_set(target, path, value, create_missing). */
export function jsonSet(target: JsonValue, path: readonly Datum[], value: JsonValue, createMissing: boolean): JsonValue {
  if (isScalar(target)) throw invalidParameter('cannot set path in scalar');
  const steps = path.map((p, i) => {
    if (p === null) throw nullNotAllowed(`path element at position ${i + 1} is null`);
    return p as string;
  });
  const go = (cur: JsonValue, depth: number): JsonValue => {
    const step = steps[depth] as string;
    const last = depth === steps.length - 1;
    if (isObject(cur)) {
      const child = field(cur, step);
      if (last) {
        if (child === undefined && !createMissing) return cur;
        return child === undefined
          ? objectFrom([...Object.entries(cur), [step, value]])
          : objectFrom(Object.entries(cur).map(([k, val]) => [k, k === step ? value : val] as const));
      }
      if (child === undefined) return cur;
      return objectFrom(Object.entries(cur).map(([k, val]) => [k, k === step ? go(val, depth + 1) : val] as const));
    }
    if (isArrayValue(cur)) {
      const n = pathIndex(step, depth + 1);
      const i = n < 0 ? cur.length + n : n;
      if (i < 0 || i >= cur.length) {
        if (!last || !createMissing) return cur;
        return i < 0 ? [value, ...cur] : [...cur, value];
      }
      return cur.map((e, k) => (k === i ? (last ? value : go(e, depth + 1)) : e));
    }
    return cur;
  };
  return steps.length === 0 ? target : go(target, 0);
}

export function stripNulls(v: JsonValue): JsonValue {
  if (isObject(v)) {
    return objectFrom(
      Object.entries(v)
        .filter(([, val]) => val !== null)
        .map(([k, val]) => [k, stripNulls(val)] as const),
    );
  }
  if (isArrayValue(v)) return v.map(stripNulls);
  return v;
}

export function jsonTypeof(v: JsonValue): string {
  if (v === null) return 'null';
  if (isArrayValue(v)) return 'array';
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    default:
      return 'object';
  }
}

export function arrayLength(v: JsonValue): bigint {
  if (isArrayValue(v)) return BigInt(v.length);
  throw invalidParameter(isObject(v) ? 'cannot get array length of a non-array' : 'cannot get array length of a scalar');
}

/** jsonb_pretty: one value per line, four spaces per level. */
export function jsonPretty(v: JsonValue): string {
  const out: string[] = [];
  const indent = (depth: number): string => '    '.repeat(depth);
  const write = (val: JsonValue, depth: number): void => {
    if (isArrayValue(val)) {
      out.push('[');
      val.forEach((e, i) => {
        out.push(i === 0 ? '\n' : ',\n', indent(depth + 1));
        write(e, depth + 1);
      });
      out.push('\n', indent(depth), ']');
      return;
    }
    if (isObject(val)) {
      out.push('{');
      sortedKeys(val).forEach((k, i) => {
        out.push(i === 0 ? '\n' : ',\n', indent(depth + 1), JSON.stringify(k), ': ');
        write(val[k] as JsonValue, depth + 1);
      });
      out.push('\n', indent(depth), '}');
      return;
    }
    out.push(formatJsonb({ json: val }));
  };
  write(v, 0);
  return out.join('');
}

// ---------------------------------------------------------------------------------------
// SQL values → JSON

function numberOrString(n: number): JsonValue {
  if (Number.isFinite(n)) return n;
  return Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity';
}

/** to_jsonb's conversion of a SQL value of a known type. */
export function datumToJson(type: SqlType, value: Datum, ctx: EvalContext): JsonValue {
  if (value === null) return null;
  if (type.kind === 'array') {
    return (value as readonly Datum[]).map((e) => datumToJson(type.element, e, ctx));
  }
  switch (type.name) {
    case 'bool':
      return value as boolean;
    case 'int2':
    case 'int4':
    case 'int8':
    case 'oid':
      return Number(value as bigint);
    case 'float4':
    case 'float8':
      return numberOrString(value as number);
    case 'numeric': {
      const n = value as Numeric;
      return n.isFinite() ? n.toNumber() : n.toString();
    }
    case 'jsonb':
      return json(value);
    case 'timestamp':
    case 'timestamptz':
    case 'date': {
      const text = outputText(type, value, ctx);
      if (!/^\d{4,}-\d\d-\d\d/.test(text)) return text; // infinity
      const iso = text.replace(' ', 'T');
      // ISO 8601 offsets carry minutes: +00 → +00:00.
      return type.name === 'timestamptz' ? iso.replace(/([+-]\d\d)$/, '$1:00') : iso;
    }
    default:
      return outputText(type, value, ctx);
  }
}

/** A jsonb_build_object key: any non-NULL value, as its text. */
function keyText(type: SqlType, value: Datum, position: number, ctx: EvalContext): string {
  if (value === null) throw nullNotAllowed(`argument ${position}: key must not be null`);
  if (type.kind === 'scalar' && type.name === 'jsonb') {
    const j = json(value);
    if (!isScalar(j)) {
      throw invalidParameter('key value must be scalar, not array, composite, or json');
    }
    return jsonText(j) ?? '';
  }
  return outputText(type, value, ctx);
}

function buildObject(types: readonly SqlType[], args: readonly Datum[], ctx: EvalContext): JsonValue {
  if (args.length % 2 !== 0) {
    throw new SqlError(SqlStates.invalidParameterValue, 'argument list must have even number of elements', {
      hint: 'The arguments of jsonb_build_object() must consist of alternating keys and values.',
    });
  }
  const entries: [string, JsonValue][] = [];
  for (let i = 0; i < args.length; i += 2) {
    const key = keyText(types[i] as SqlType, args[i] ?? null, i + 1, ctx);
    entries.push([key, datumToJson(types[i + 1] as SqlType, args[i + 1] ?? null, ctx)]);
  }
  return objectFrom(entries);
}

/** jsonb_object(text[]): alternating keys and values. */
function objectFromTextArray(items: readonly Datum[]): JsonValue {
  if (items.length % 2 !== 0) throw new SqlError(SqlStates.arraySubscriptError, 'array must have even number of elements');
  const entries: [string, JsonValue][] = [];
  for (let i = 0; i < items.length; i += 2) {
    const k = items[i];
    if (k === null || k === undefined) throw nullNotAllowed('null value not allowed for object key');
    entries.push([k as string, (items[i + 1] ?? null) as JsonValue]);
  }
  return objectFrom(entries);
}

// ---------------------------------------------------------------------------------------
// The table

export const jsonbOperators: readonly ScalarDef[] = [
  { name: '->', args: ['jsonb', 'text'], result: 'jsonb', impl: (a) => wrap(getField(json(a[0]), str(a[1]))) },
  { name: '->', args: ['jsonb', 'int4'], result: 'jsonb', impl: (a) => wrap(getElement(json(a[0]), int(a[1]))) },
  { name: '->>', args: ['jsonb', 'text'], result: 'text', impl: (a) => jsonText(getField(json(a[0]), str(a[1]))) },
  { name: '->>', args: ['jsonb', 'int4'], result: 'text', impl: (a) => jsonText(getElement(json(a[0]), int(a[1]))) },
  { name: '#>', args: ['jsonb', 'text[]'], result: 'jsonb', impl: (a) => wrap(getPath(json(a[0]), arr(a[1]))) },
  { name: '#>>', args: ['jsonb', 'text[]'], result: 'text', impl: (a) => jsonText(getPath(json(a[0]), arr(a[1]))) },
  { name: '@>', args: ['jsonb', 'jsonb'], result: 'bool', impl: (a) => jsonContains(json(a[0]), json(a[1])) },
  { name: '<@', args: ['jsonb', 'jsonb'], result: 'bool', impl: (a) => jsonContains(json(a[1]), json(a[0])) },
  { name: '?', args: ['jsonb', 'text'], result: 'bool', impl: (a) => jsonExists(json(a[0]), str(a[1])) },
  {
    name: '?|',
    args: ['jsonb', 'text[]'],
    result: 'bool',
    impl: (a) => arr(a[1]).some((k) => k !== null && jsonExists(json(a[0]), k as string)),
  },
  {
    name: '?&',
    args: ['jsonb', 'text[]'],
    result: 'bool',
    impl: (a) => arr(a[1]).every((k) => k === null || jsonExists(json(a[0]), k as string)),
  },
  { name: '||', args: ['jsonb', 'jsonb'], result: 'jsonb', impl: (a) => jsonb(jsonConcat(json(a[0]), json(a[1]))) },
  { name: '-', args: ['jsonb', 'text'], result: 'jsonb', impl: (a) => jsonb(jsonDeleteKey(json(a[0]), str(a[1]))) },
  { name: '-', args: ['jsonb', 'text[]'], result: 'jsonb', impl: (a) => jsonb(jsonDeleteKeys(json(a[0]), arr(a[1]))) },
  { name: '-', args: ['jsonb', 'int4'], result: 'jsonb', impl: (a) => jsonb(jsonDeleteIndex(json(a[0]), int(a[1]))) },
  { name: '#-', args: ['jsonb', 'text[]'], result: 'jsonb', impl: (a) => jsonb(jsonDeletePath(json(a[0]), arr(a[1]))) },
];

export const jsonbFunctions: readonly ScalarDef[] = [
  { name: 'jsonb_typeof', args: ['jsonb'], result: 'text', impl: (a) => jsonTypeof(json(a[0])) },
  { name: 'jsonb_array_length', args: ['jsonb'], result: 'int4', impl: (a) => arrayLength(json(a[0])) },
  { name: 'jsonb_build_object', args: [], result: 'jsonb', strict: false, impl: () => jsonb(objectFrom([])) },
  {
    name: 'jsonb_build_object',
    args: ['any'],
    variadic: true,
    result: 'jsonb',
    strict: false,
    volatility: 'stable',
    bind: (types) => (a, ctx) => jsonb(buildObject(types, a, ctx)),
  },
  { name: 'jsonb_build_array', args: [], result: 'jsonb', strict: false, impl: () => jsonb([]) },
  {
    name: 'jsonb_build_array',
    args: ['any'],
    variadic: true,
    result: 'jsonb',
    strict: false,
    volatility: 'stable',
    bind: (types) => (a, ctx) => jsonb(a.map((v, i) => datumToJson(types[i] as SqlType, v, ctx))),
  },
  {
    name: 'jsonb_extract_path',
    args: ['jsonb', 'text'],
    variadic: true,
    result: 'jsonb',
    impl: (a) => wrap(getPath(json(a[0]), a.slice(1))),
  },
  {
    name: 'jsonb_extract_path_text',
    args: ['jsonb', 'text'],
    variadic: true,
    result: 'text',
    impl: (a) => jsonText(getPath(json(a[0]), a.slice(1))),
  },
  { name: 'jsonb_strip_nulls', args: ['jsonb'], result: 'jsonb', impl: (a) => jsonb(stripNulls(json(a[0]))) },
  {
    name: 'jsonb_set',
    args: ['jsonb', 'text[]', 'jsonb'],
    result: 'jsonb',
    impl: (a) => jsonb(jsonSet(json(a[0]), arr(a[1]), json(a[2]), true)),
  },
  {
    name: 'jsonb_set',
    args: ['jsonb', 'text[]', 'jsonb', 'bool'],
    result: 'jsonb',
    impl: (a) => jsonb(jsonSet(json(a[0]), arr(a[1]), json(a[2]), bool(a[3]))),
  },
  {
    name: 'to_jsonb',
    args: ['anyelement'],
    result: 'jsonb',
    volatility: 'stable',
    bind: (types) => (a, ctx) => toJsonb(datumToJson(types[0] as SqlType, a[0] as Datum, ctx)),
  },
  { name: 'jsonb_pretty', args: ['jsonb'], result: 'text', impl: (a) => jsonPretty(json(a[0])) },
  { name: 'jsonb_object', args: ['text[]'], result: 'jsonb', impl: (a) => jsonb(objectFromTextArray(arr(a[0]))) },
];
