import { SqlError, SqlStates } from '../../../common/errors';
import type { Jsonb, JsonValue } from './datum';
import { Numeric } from './numeric';
import { compareCodePoints } from './text-compare';

/**
 * jsonb: input (JSON text, 22P02 on bad JSON), output in PostgreSQL's jsonb form (object
 * keys by length then bytes, ', ' and ': ' separators, numbers in numeric notation),
 * and PostgreSQL's btree order. Numbers are kept as doubles (see OVERVIEW.md).
 */

function jsonSyntaxError(detail?: string): SqlError {
  return new SqlError(
    SqlStates.invalidTextRepresentation,
    'invalid input syntax for type json',
    detail === undefined ? {} : { detail },
  );
}

/** Checks what JSON.parse lets through but PostgreSQL's jsonb does not. */
function validate(v: unknown): void {
  switch (typeof v) {
    case 'number':
      if (!Number.isFinite(v)) {
        throw new SqlError(SqlStates.numericValueOutOfRange, 'value overflows numeric format');
      }
      return;
    case 'string':
      validateString(v);
      return;
    case 'object':
      if (v === null) {
        return;
      }
      if (Array.isArray(v)) {
        for (const e of v) {
          validate(e);
        }
        return;
      }
      for (const k of Object.keys(v)) {
        validateString(k);
        validate((v as Record<string, unknown>)[k]);
      }
      return;
    default:
      return;
  }
}

function validateString(s: string): void {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) {
      throw new SqlError(SqlStates.untranslatableCharacter, 'unsupported Unicode escape sequence', {
        detail: '\\u0000 cannot be converted to text.',
      });
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      if (c <= 0xdbff) {
        const next = s.charCodeAt(i + 1);
        if (next >= 0xdc00 && next <= 0xdfff) {
          i++;
          continue;
        }
        throw jsonSyntaxError('Unicode high surrogate must not follow a high surrogate.');
      }
      throw jsonSyntaxError('Unicode low surrogate must follow a high surrogate.');
    }
  }
}

/** jsonb input. */
export function parseJsonb(text: string): Jsonb {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw jsonSyntaxError(e instanceof Error ? e.message : undefined);
  }
  validate(value);
  return { json: value as JsonValue };
}

/** Wraps a JavaScript value as jsonb after checking it is JSON (no undefined, no NaN). */
export function toJsonb(value: JsonValue): Jsonb {
  validate(value);
  return { json: value };
}

// ---------------------------------------------------------------------------------------
// Output

/** Object keys in jsonb storage order: shorter (in UTF-8 bytes) first, then bytewise. */
export function sortedKeys(obj: { readonly [key: string]: JsonValue }): string[] {
  const keys = Object.keys(obj);
  if (keys.length > 1) {
    keys.sort(compareKeys);
  }
  return keys;
}

function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) {
      // 2 bytes below 0x800, 3 otherwise; a surrogate pair (2 units) is 4 bytes.
      n += c < 0x800 ? 1 : c >= 0xd800 && c <= 0xdbff ? 0 : 2;
    }
  }
  return n;
}

function compareKeys(a: string, b: string): number {
  if (a.length === b.length && a === b) {
    return 0;
  }
  const la = utf8Length(a);
  const lb = utf8Length(b);
  if (la !== lb) {
    return la - lb;
  }
  return compareCodePoints(a, b);
}

/** A JSON number in PostgreSQL numeric notation (1e+21 → 1000000000000000000000). */
export function formatJsonNumber(v: number): string {
  if (Number.isSafeInteger(v)) {
    return v === 0 ? '0' : String(v);
  }
  const s = String(v);
  if (!s.includes('e')) {
    return s;
  }
  return Numeric.fromNumberShortest(v).toString();
}

function appendValue(out: string[], v: JsonValue): void {
  if (v === null) {
    out.push('null');
    return;
  }
  switch (typeof v) {
    case 'boolean':
      out.push(v ? 'true' : 'false');
      return;
    case 'number':
      out.push(formatJsonNumber(v));
      return;
    case 'string':
      out.push(JSON.stringify(v));
      return;
    default:
      break;
  }
  if (Array.isArray(v)) {
    const arr = v as readonly JsonValue[];
    out.push('[');
    for (let i = 0; i < arr.length; i++) {
      if (i > 0) {
        out.push(', ');
      }
      appendValue(out, arr[i]!);
    }
    out.push(']');
    return;
  }
  const obj = v as { readonly [key: string]: JsonValue };
  const keys = sortedKeys(obj);
  out.push('{');
  for (let i = 0; i < keys.length; i++) {
    if (i > 0) {
      out.push(', ');
    }
    out.push(JSON.stringify(keys[i]!), ': ');
    appendValue(out, obj[keys[i]!]!);
  }
  out.push('}');
}

/** jsonb output: '{"a": 1, "bb": [true, null]}'. */
export function formatJsonb(j: Jsonb): string {
  const v = j.json;
  if (typeof v === 'string') {
    return JSON.stringify(v);
  }
  if (typeof v === 'number') {
    return formatJsonNumber(v);
  }
  const out: string[] = [];
  appendValue(out, v);
  return out.join('');
}

// ---------------------------------------------------------------------------------------
// Order

/** PostgreSQL's jsonb type order for values of different kinds. */
function kindRank(v: JsonValue): number {
  if (v === null) {
    return 0;
  }
  switch (typeof v) {
    case 'string':
      return 1;
    case 'number':
      return 2;
    case 'boolean':
      return 3;
    default:
      return Array.isArray(v) ? 4 : 5;
  }
}

function compareValues(a: JsonValue, b: JsonValue): number {
  const ra = kindRank(a);
  const rb = kindRank(b);
  if (ra !== rb) {
    return ra < rb ? -1 : 1;
  }
  switch (ra) {
    case 0:
      return 0;
    case 1:
      return compareCodePoints(a as string, b as string);
    case 2: {
      const x = a as number;
      const y = b as number;
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 3:
      return a === b ? 0 : a ? 1 : -1;
    case 4:
      return compareArrays(a as readonly JsonValue[], b as readonly JsonValue[]);
    default:
      return compareObjects(a as { readonly [k: string]: JsonValue }, b as { readonly [k: string]: JsonValue });
  }
}

function compareArrays(a: readonly JsonValue[], b: readonly JsonValue[]): number {
  if (a.length !== b.length) {
    return a.length < b.length ? -1 : 1;
  }
  for (let i = 0; i < a.length; i++) {
    const c = compareValues(a[i]!, b[i]!);
    if (c !== 0) {
      return c;
    }
  }
  return 0;
}

function compareObjects(a: { readonly [k: string]: JsonValue }, b: { readonly [k: string]: JsonValue }): number {
  const ka = sortedKeys(a);
  const kb = sortedKeys(b);
  if (ka.length !== kb.length) {
    return ka.length < kb.length ? -1 : 1;
  }
  for (let i = 0; i < ka.length; i++) {
    const c = compareCodePoints(ka[i]!, kb[i]!);
    if (c !== 0) {
      return c;
    }
    const v = compareValues(a[ka[i]!]!, b[kb[i]!]!);
    if (v !== 0) {
      return v;
    }
  }
  return 0;
}

/**
 * PostgreSQL's jsonb btree order: object > array > boolean > number > string > null;
 * more pairs / elements sort higher before contents are compared; a top-level scalar
 * (stored as a one-element "raw scalar" array) sorts before arrays of its length.
 */
export function compareJsonb(x: Jsonb, y: Jsonb): number {
  const a = x.json;
  const b = y.json;
  const aScalar = a === null || typeof a !== 'object';
  const bScalar = b === null || typeof b !== 'object';
  if (!aScalar && !bScalar) {
    return compareValues(a, b);
  }
  const aArr: readonly JsonValue[] | undefined = aScalar ? [a] : Array.isArray(a) ? (a as readonly JsonValue[]) : undefined;
  const bArr: readonly JsonValue[] | undefined = bScalar ? [b] : Array.isArray(b) ? (b as readonly JsonValue[]) : undefined;
  if (aArr === undefined || bArr === undefined) {
    // An object against a (raw scalar) array: arrays sort first.
    return aArr === undefined ? 1 : -1;
  }
  if (aArr.length !== bArr.length) {
    return aArr.length < bArr.length ? -1 : 1;
  }
  if (aScalar !== bScalar) {
    return aScalar ? -1 : 1;
  }
  return compareArrays(aArr, bArr);
}

export function jsonbEquals(a: Jsonb, b: Jsonb): boolean {
  return compareJsonb(a, b) === 0;
}
