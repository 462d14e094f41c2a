import { assert } from '../../../common/errors';
import type { DatumComparator } from '../types/compare';
import { comparatorFor as typeComparator } from '../types/compare';
import type { Datum, ScalarTypeName, SqlType } from '../types/datum';
import { scalarType } from '../types/datum';
import { compareBpchar, compareCodePoints } from '../types/text-compare';
import { dateToTimestamp } from './datetime';
import { dateToTimestamptz, timestampToTimestamptz } from './datetime-ops';
import type { EvalContext } from './eval-context';
import { compareBigInts, compareFloats } from './numbers';
import type { ScalarDef, TypeSpec } from './registry';

/**
 * Comparison operators = <> < <= > >= for every type, and the cross-type pairs
 * pg_operator has (integer widths, float4/float8, date/timestamp/timestamptz,
 * name/text). Orders are PostgreSQL's: NaN above every float, code point order for text
 * (the C collation), trailing spaces ignored for char(n), jsonb's own order, intervals by
 * their 30-day-month span, arrays element by element (NULL elements last) then by length.
 */

export type Comparator = DatumComparator;

/** The total order of a type's non-NULL values (gateway/sql/types' btree order). */
export function comparatorFor(type: SqlType): Comparator {
  return typeComparator(type);
}

/** Equality of non-NULL values. */
export function equalityFor(type: SqlType): (a: Datum, b: Datum) => boolean {
  const cmp = typeComparator(type);
  return (a, b) => cmp(a, b) === 0;
}

const OPS = [
  ['=', (c: number) => c === 0],
  ['<>', (c: number) => c !== 0],
  ['<', (c: number) => c < 0],
  ['<=', (c: number) => c <= 0],
  ['>', (c: number) => c > 0],
  ['>=', (c: number) => c >= 0],
] as const;

function sixOps(left: TypeSpec, right: TypeSpec, cmp: (a: Datum, b: Datum, ctx: EvalContext) => number, stable = false): ScalarDef[] {
  return OPS.map(([name, test]) => ({
    name,
    args: [left, right],
    result: 'bool' as const,
    ...(stable ? { volatility: 'stable' as const } : {}),
    impl: (a: readonly Datum[], ctx: EvalContext) => test(cmp(a[0] as Datum, a[1] as Datum, ctx)),
  }));
}

const SAME_TYPE: readonly ScalarTypeName[] = [
  'bool',
  'float4',
  'float8',
  'numeric',
  'text',
  'bpchar',
  'name',
  'bytea',
  'date',
  'timestamp',
  'timestamptz',
  'interval',
  'uuid',
  'oid',
  'jsonb',
];

function dateAsTimestamp(d: Datum): bigint {
  return dateToTimestamp(d as number);
}

function timestampOrdering(
  left: 'date' | 'timestamp' | 'timestamptz',
  right: 'date' | 'timestamp' | 'timestamptz',
): (a: Datum, b: Datum, ctx: EvalContext) => number {
  const toInstant = (kind: 'date' | 'timestamp' | 'timestamptz', v: Datum, zone: string, other: typeof left): bigint => {
    // Compare in the richer type: timestamptz if either side is one, else timestamp.
    const asTz = kind === 'timestamptz' || other === 'timestamptz';
    if (kind === 'date') return asTz ? dateToTimestamptz(v as number, zone) : dateAsTimestamp(v);
    if (kind === 'timestamp' && asTz) return timestampToTimestamptz(v as bigint, zone);
    return v as bigint;
  };
  return (a, b, ctx) => compareBigInts(toInstant(left, a, ctx.timeZone, right), toInstant(right, b, ctx.timeZone, left));
}

function comparisonOperators(): ScalarDef[] {
  const defs: ScalarDef[] = [];
  for (const name of SAME_TYPE) {
    const cmp = typeComparator(scalarType(name));
    defs.push(...sixOps(name, name, (a, b) => cmp(a, b)));
  }
  // Integers: every pair of widths compares directly.
  const ints = ['int2', 'int4', 'int8'] as const;
  for (const l of ints) for (const r of ints) defs.push(...sixOps(l, r, (a, b) => compareBigInts(a as bigint, b as bigint)));
  defs.push(...sixOps('float4', 'float8', (a, b) => compareFloats(a as number, b as number)));
  defs.push(...sixOps('float8', 'float4', (a, b) => compareFloats(a as number, b as number)));
  defs.push(...sixOps('name', 'text', (a, b) => compareCodePoints(a as string, b as string)));
  defs.push(...sixOps('text', 'name', (a, b) => compareCodePoints(a as string, b as string)));
  const kinds = ['date', 'timestamp', 'timestamptz'] as const;
  for (const l of kinds) {
    for (const r of kinds) {
      if (l === r) continue;
      defs.push(...sixOps(l, r, timestampOrdering(l, r), l === 'timestamptz' || r === 'timestamptz'));
    }
  }
  // Arrays of any element type.
  for (const [name, test] of OPS) {
    defs.push({
      name,
      args: ['anyarray', 'anyarray'],
      result: 'bool',
      bind: (argTypes) => {
        const t = argTypes[0];
        assert(t !== undefined && t.kind === 'array', 'array comparison on a non-array');
        const cmp = comparatorFor(t);
        return (a) => test(cmp(a[0] as Datum, a[1] as Datum));
      },
    });
  }
  return defs;
}

/** text_pattern_ops' operators (~<~ etc.): code point order, as C collation text already is. */
function patternOperators(): ScalarDef[] {
  const pairs = [
    ['~<~', (c: number) => c < 0],
    ['~<=~', (c: number) => c <= 0],
    ['~>~', (c: number) => c > 0],
    ['~>=~', (c: number) => c >= 0],
  ] as const;
  const defs: ScalarDef[] = [];
  for (const [name, test] of pairs) {
    defs.push(
      { name, args: ['text', 'text'], result: 'bool', impl: (a) => test(compareCodePoints(a[0] as string, a[1] as string)) },
      { name, args: ['bpchar', 'bpchar'], result: 'bool', impl: (a) => test(compareBpchar(a[0] as string, a[1] as string)) },
    );
  }
  return defs;
}

export const comparisonOperatorDefs: readonly ScalarDef[] = [...comparisonOperators(), ...patternOperators()];
