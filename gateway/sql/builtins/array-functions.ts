import { SqlError, SqlStates } from '../../../common/errors';
import type { Datum, SqlType } from '../types/datum';
import { equalityFor } from './compare-ops';
import { arr, int, str } from './datum-access';
import type { EvalContext } from './eval-context';
import type { ScalarDef } from './registry';
import { outputText } from './text-output';

/**
 * Array functions and operators for one-dimensional arrays (the only kind Cairn keeps;
 * lower bound 1), as catalog queries and ANY(array) parameters use them.
 */

function elementType(t: SqlType | undefined): SqlType {
  if (t === undefined || t.kind !== 'array') throw new SqlError(SqlStates.datatypeMismatch, 'argument must be an array');
  return t.element;
}

/** array_length / array_upper for dimension `dim` of a one-dimensional array. */
function dimensionLength(a: readonly Datum[], dim: bigint): bigint | null {
  return dim === 1n && a.length > 0 ? BigInt(a.length) : null;
}

export function arrayToString(
  element: SqlType,
  items: readonly Datum[],
  delimiter: string,
  nullText: string | null,
  ctx: EvalContext,
): string {
  const parts: string[] = [];
  for (const v of items) {
    if (v === null) {
      if (nullText !== null) parts.push(nullText);
    } else {
      parts.push(outputText(element, v, ctx));
    }
  }
  return parts.join(delimiter);
}

/** string_to_array: a NULL delimiter splits into characters, '' keeps the string whole. */
export function stringToArray(s: string, delimiter: string | null, nullText: string | null): Datum[] {
  if (s === '') return [];
  let parts: string[];
  if (delimiter === null) parts = [...s];
  else if (delimiter === '') parts = [s];
  else parts = s.split(delimiter);
  return parts.map((p) => (nullText !== null && p === nullText ? null : p));
}

function contains(eq: (a: Datum, b: Datum) => boolean, haystack: readonly Datum[], needles: readonly Datum[]): boolean {
  // NULL elements never match (as PostgreSQL's array containment).
  return needles.every((n) => n !== null && haystack.some((h) => h !== null && eq(h, n)));
}

function elementEquality(types: readonly SqlType[]): (a: Datum, b: Datum) => boolean {
  return equalityFor(elementType(types[0]));
}

/** Finds `v` in the array (IS NOT DISTINCT FROM: NULL finds NULL), 1-based, from `start`. */
function position(eq: (a: Datum, b: Datum) => boolean, items: readonly Datum[], v: Datum, start = 1): bigint | null {
  for (let i = Math.max(0, start - 1); i < items.length; i++) {
    const x = items[i] as Datum;
    if (x === null ? v === null : v !== null && eq(x, v)) return BigInt(i + 1);
  }
  return null;
}

function asArray(d: Datum | undefined): readonly Datum[] {
  return d === null || d === undefined ? [] : arr(d);
}

export const arrayFunctions: readonly ScalarDef[] = [
  { name: 'array_length', args: ['anyarray', 'int4'], result: 'int4', impl: (a) => dimensionLength(arr(a[0]), int(a[1])) },
  { name: 'array_upper', args: ['anyarray', 'int4'], result: 'int4', impl: (a) => dimensionLength(arr(a[0]), int(a[1])) },
  {
    name: 'array_lower',
    args: ['anyarray', 'int4'],
    result: 'int4',
    impl: (a) => (int(a[1]) === 1n && arr(a[0]).length > 0 ? 1n : null),
  },
  { name: 'array_ndims', args: ['anyarray'], result: 'int4', impl: (a) => (arr(a[0]).length > 0 ? 1n : null) },
  {
    name: 'array_dims',
    args: ['anyarray'],
    result: 'text',
    impl: (a) => (arr(a[0]).length > 0 ? `[1:${arr(a[0]).length}]` : null),
  },
  { name: 'cardinality', args: ['anyarray'], result: 'int4', impl: (a) => BigInt(arr(a[0]).length) },
  {
    name: 'array_to_string',
    args: ['anyarray', 'text'],
    result: 'text',
    volatility: 'stable',
    bind: (types) => {
      const element = elementType(types[0]);
      return (a, ctx) => arrayToString(element, arr(a[0]), str(a[1]), null, ctx);
    },
  },
  {
    name: 'array_to_string',
    args: ['anyarray', 'text', 'text'],
    result: 'text',
    strict: false,
    volatility: 'stable',
    bind: (types) => {
      const element = elementType(types[0]);
      return (a, ctx) =>
        a[0] === null || a[1] === null ? null : arrayToString(element, arr(a[0]), str(a[1]), a[2] === null ? null : str(a[2]), ctx);
    },
  },
  {
    name: 'string_to_array',
    args: ['text', 'text'],
    result: 'text[]',
    strict: false,
    impl: (a) => (a[0] === null ? null : stringToArray(str(a[0]), a[1] === null ? null : str(a[1]), null)),
  },
  {
    name: 'string_to_array',
    args: ['text', 'text', 'text'],
    result: 'text[]',
    strict: false,
    impl: (a) =>
      a[0] === null ? null : stringToArray(str(a[0]), a[1] === null ? null : str(a[1]), a[2] === null ? null : str(a[2])),
  },
  // Building: a NULL array acts as an empty one.
  {
    name: 'array_append',
    args: ['anycompatiblearray', 'anycompatible'],
    result: 'anycompatiblearray',
    strict: false,
    impl: (a) => [...asArray(a[0]), a[1] ?? null],
  },
  {
    name: 'array_prepend',
    args: ['anycompatible', 'anycompatiblearray'],
    result: 'anycompatiblearray',
    strict: false,
    impl: (a) => [a[0] ?? null, ...asArray(a[1])],
  },
  {
    name: 'array_cat',
    args: ['anycompatiblearray', 'anycompatiblearray'],
    result: 'anycompatiblearray',
    strict: false,
    impl: (a) => (a[0] === null && a[1] === null ? null : [...asArray(a[0]), ...asArray(a[1])]),
  },
  {
    name: 'array_position',
    args: ['anycompatiblearray', 'anycompatible'],
    result: 'int4',
    strict: false,
    bind: (types) => {
      const eq = elementEquality(types);
      return (a) => (a[0] === null ? null : position(eq, arr(a[0]), a[1] ?? null));
    },
  },
  {
    name: 'array_position',
    args: ['anycompatiblearray', 'anycompatible', 'int4'],
    result: 'int4',
    strict: false,
    bind: (types) => {
      const eq = elementEquality(types);
      return (a) => (a[0] === null || a[2] === null ? null : position(eq, arr(a[0]), a[1] ?? null, Number(int(a[2]))));
    },
  },
  {
    name: 'array_positions',
    args: ['anycompatiblearray', 'anycompatible'],
    result: 'int4[]',
    strict: false,
    bind: (types) => {
      const eq = elementEquality(types);
      return (a) => {
        if (a[0] === null) return null;
        const v = a[1] ?? null;
        const out: Datum[] = [];
        arr(a[0]).forEach((x, i) => {
          if (x === null ? v === null : v !== null && eq(x, v)) out.push(BigInt(i + 1));
        });
        return out;
      };
    },
  },
  {
    name: 'array_remove',
    args: ['anycompatiblearray', 'anycompatible'],
    result: 'anycompatiblearray',
    strict: false,
    bind: (types) => {
      const eq = elementEquality(types);
      return (a) => {
        if (a[0] === null) return null;
        const v = a[1] ?? null;
        return arr(a[0]).filter((x) => !(x === null ? v === null : v !== null && eq(x, v)));
      };
    },
  },
  {
    name: 'array_replace',
    args: ['anycompatiblearray', 'anycompatible', 'anycompatible'],
    result: 'anycompatiblearray',
    strict: false,
    bind: (types) => {
      const eq = elementEquality(types);
      return (a) => {
        if (a[0] === null) return null;
        const v = a[1] ?? null;
        return arr(a[0]).map((x) => ((x === null ? v === null : v !== null && eq(x, v)) ? (a[2] ?? null) : x));
      };
    },
  },
];

export const arrayOperators: readonly ScalarDef[] = [
  {
    name: '||',
    args: ['anycompatiblearray', 'anycompatiblearray'],
    result: 'anycompatiblearray',
    strict: false,
    impl: (a) => (a[0] === null && a[1] === null ? null : [...asArray(a[0]), ...asArray(a[1])]),
  },
  {
    name: '||',
    args: ['anycompatiblearray', 'anycompatible'],
    result: 'anycompatiblearray',
    strict: false,
    impl: (a) => [...asArray(a[0]), a[1] ?? null],
  },
  {
    name: '||',
    args: ['anycompatible', 'anycompatiblearray'],
    result: 'anycompatiblearray',
    strict: false,
    impl: (a) => [a[0] ?? null, ...asArray(a[1])],
  },
  {
    name: '@>',
    args: ['anyarray', 'anyarray'],
    result: 'bool',
    bind: (types) => {
      const eq = elementEquality(types);
      return (a) => contains(eq, arr(a[0]), arr(a[1]));
    },
  },
  {
    name: '<@',
    args: ['anyarray', 'anyarray'],
    result: 'bool',
    bind: (types) => {
      const eq = elementEquality(types);
      return (a) => contains(eq, arr(a[1]), arr(a[0]));
    },
  },
  {
    name: '&&',
    args: ['anyarray', 'anyarray'],
    result: 'bool',
    bind: (types) => {
      const eq = elementEquality(types);
      return (a) => arr(a[0]).some((x) => x !== null && arr(a[1]).some((y) => y !== null && eq(x, y)));
    },
  },
];
