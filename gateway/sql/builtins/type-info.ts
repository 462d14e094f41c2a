import type { ScalarTypeName, SqlType } from '../types/datum';
import { scalarType } from '../types/datum';

/**
 * What overload resolution needs to know about types: PostgreSQL's type categories and
 * preferred types (pg_type.typcategory / typispreferred), its implicit casts
 * (pg_cast.castcontext = 'i') and the names its error messages use (format_type).
 */

/** Shared type values, so the tables below do not allocate one per entry. */
export const T = {
  bool: scalarType('bool'),
  int2: scalarType('int2'),
  int4: scalarType('int4'),
  int8: scalarType('int8'),
  float4: scalarType('float4'),
  float8: scalarType('float8'),
  numeric: scalarType('numeric'),
  text: scalarType('text'),
  varchar: scalarType('varchar'),
  bpchar: scalarType('bpchar'),
  name: scalarType('name'),
  bytea: scalarType('bytea'),
  date: scalarType('date'),
  timestamp: scalarType('timestamp'),
  timestamptz: scalarType('timestamptz'),
  interval: scalarType('interval'),
  uuid: scalarType('uuid'),
  jsonb: scalarType('jsonb'),
  oid: scalarType('oid'),
  unknown: scalarType('unknown'),
} as const;

export function arrayOf(element: SqlType): SqlType {
  return { kind: 'array', element };
}

/** PostgreSQL's pg_type.typcategory letters. */
export type TypeCategory = 'A' | 'B' | 'D' | 'N' | 'S' | 'T' | 'U' | 'X';

const SCALAR_CATEGORY: Readonly<Record<ScalarTypeName, TypeCategory>> = {
  bool: 'B',
  int2: 'N',
  int4: 'N',
  int8: 'N',
  float4: 'N',
  float8: 'N',
  numeric: 'N',
  oid: 'N',
  text: 'S',
  varchar: 'S',
  bpchar: 'S',
  name: 'S',
  bytea: 'U',
  date: 'D',
  timestamp: 'D',
  timestamptz: 'D',
  interval: 'T',
  uuid: 'U',
  jsonb: 'U',
  unknown: 'X',
};

const PREFERRED: ReadonlySet<ScalarTypeName> = new Set<ScalarTypeName>([
  'bool',
  'float8',
  'oid',
  'text',
  'timestamptz',
  'interval',
]);

/** pg_cast entries with castcontext 'i' between the scalar types we have. */
const IMPLICIT_CASTS: Readonly<Partial<Record<ScalarTypeName, readonly ScalarTypeName[]>>> = {
  int2: ['int4', 'int8', 'float4', 'float8', 'numeric', 'oid'],
  int4: ['int8', 'float4', 'float8', 'numeric', 'oid'],
  int8: ['float4', 'float8', 'numeric', 'oid'],
  float4: ['float8'],
  numeric: ['float4', 'float8'],
  text: ['bpchar', 'varchar', 'name'],
  varchar: ['text', 'bpchar', 'name'],
  bpchar: ['text', 'varchar', 'name'],
  name: ['text'],
  date: ['timestamp', 'timestamptz'],
  timestamp: ['timestamptz'],
};

export function typeCategory(type: SqlType): TypeCategory {
  return type.kind === 'array' ? 'A' : SCALAR_CATEGORY[type.name];
}

export function isPreferredType(type: SqlType): boolean {
  return type.kind === 'scalar' && PREFERRED.has(type.name);
}

export function isUnknown(type: SqlType): boolean {
  return type.kind === 'scalar' && type.name === 'unknown';
}

export function isArray(type: SqlType): type is Extract<SqlType, { kind: 'array' }> {
  return type.kind === 'array';
}

export function isScalar(type: SqlType, name: ScalarTypeName): boolean {
  return type.kind === 'scalar' && type.name === name;
}

/** The same type, ignoring typmods (varchar(10) and varchar are the same type). */
export function sameType(a: SqlType, b: SqlType): boolean {
  if (a.kind === 'scalar') return b.kind === 'scalar' && a.name === b.name;
  return b.kind === 'array' && sameType(a.element, b.element);
}

/** Whether a value of `from` may be passed where `to` is expected without an explicit cast. */
export function canImplicitlyCast(from: SqlType, to: SqlType): boolean {
  if (sameType(from, to) || isUnknown(from)) return true;
  if (from.kind === 'scalar' && to.kind === 'scalar') {
    return IMPLICIT_CASTS[from.name]?.includes(to.name) ?? false;
  }
  // Arrays cast element-wise when their elements do (array_coerce).
  if (from.kind === 'array' && to.kind === 'array') return canImplicitlyCast(from.element, to.element);
  return false;
}

const DISPLAY_NAMES: Readonly<Record<ScalarTypeName, string>> = {
  bool: 'boolean',
  int2: 'smallint',
  int4: 'integer',
  int8: 'bigint',
  float4: 'real',
  float8: 'double precision',
  numeric: 'numeric',
  text: 'text',
  varchar: 'character varying',
  bpchar: 'character',
  name: 'name',
  bytea: 'bytea',
  date: 'date',
  timestamp: 'timestamp without time zone',
  timestamptz: 'timestamp with time zone',
  interval: 'interval',
  uuid: 'uuid',
  jsonb: 'jsonb',
  oid: 'oid',
  unknown: 'unknown',
};

/** The type's name as PostgreSQL's messages and pg_typeof print it (no typmod). */
export function typeDisplayName(type: SqlType): string {
  if (type.kind === 'array') return `${typeDisplayName(type.element)}[]`;
  return DISPLAY_NAMES[type.name];
}

/**
 * The common type of several inputs (select_common_type, used by anycompatible, CASE,
 * UNION, greatest/least): unknowns take the others' type (text when all are unknown);
 * within one category the preferred type, or the type the others cast to implicitly,
 * wins. Undefined when the inputs are of different categories.
 */
export function commonType(types: readonly SqlType[]): SqlType | undefined {
  let chosen: SqlType | undefined;
  for (const type of types) {
    if (isUnknown(type)) continue;
    if (chosen === undefined) {
      chosen = type;
      continue;
    }
    if (sameType(chosen, type)) continue;
    if (typeCategory(chosen) !== typeCategory(type)) return undefined;
    if (!isPreferredType(chosen) && canImplicitlyCast(chosen, type) && !canImplicitlyCast(type, chosen)) {
      chosen = type;
    }
  }
  if (chosen === undefined) return T.text;
  // Every input must reach the chosen type implicitly.
  for (const type of types) {
    if (!canImplicitlyCast(type, chosen)) return undefined;
  }
  return chosen;
}
