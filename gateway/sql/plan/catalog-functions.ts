import { SqlError, SqlStates } from '../../../common/errors';
import type { Node, TypeName } from '@pgsql/types';
import type { Datum, SqlType } from '../types/datum';
import * as types from '../types';
import { parseStatements } from '../parser';
import { scalarType } from '../types/datum';
import type { BuiltinImpl, EvalContext } from './expr';
import type { ResolvedCall } from './functions';

/**
 * Built-ins that read the catalog: pg_get_indexdef(oid), pg_get_constraintdef(oid),
 * pg_get_userbyid(oid), pg_table_is_visible(oid), and regclass output (`c.oid::regclass`
 * as a name). Built-ins are synchronous, catalog reads are not, so these read a
 * per-statement prefetched `CatalogLookup`:
 *
 * 1. The analyzer resolves such a call through `resolveCatalogFunction` and records that
 *    the statement needs the catalog (`AnalyzedQuery.needsCatalog`).
 * 2. Before executing a plan that needs it, the session reads the lookup once
 *    (gateway/sql/virtual `loadCatalogLookup`, in the executing transaction) and puts it
 *    on the statement's `EvalContext.catalog`.
 * 3. The implementations below read `ctx.catalog`; without one (constant folding, a plan
 *    run by a path that did not load it) they fail with 0A000 rather than guess.
 *
 * Functions whose answer needs no catalog data (format_type, obj_description, ...) stay
 * in gateway/sql/builtins.
 */

/** Synchronous catalog answers for one statement (implemented by gateway/sql/virtual). */
export interface CatalogLookup {
  /** pg_class OID → the name regclass prints (qualified when not visible), undefined if unknown. */
  relationName(oid: number): string | undefined;
  /** A relation name as regclass input reads it (`t`, `public.t`, `"T"`) → its OID. */
  relationOid(name: string): number | undefined;
  indexdef(oid: number, column: number, pretty: boolean): string | undefined;
  constraintdef(oid: number, pretty: boolean): string | undefined;
  userName(oid: number): string | undefined;
  /** pg_namespace OID → the schema's name. */
  namespaceName(oid: number): string | undefined;
  tableIsVisible(oid: number): boolean;
}

const OID = scalarType('oid');
const INT4 = scalarType('int4');
const BOOL = scalarType('bool');
const TEXT = scalarType('text');
const NAME = scalarType('name');
const INT8 = scalarType('int8');

function lookup(ctx: EvalContext): CatalogLookup {
  if (ctx.catalog === undefined) {
    throw new SqlError(SqlStates.featureNotSupported, 'catalog functions are not available in this context');
  }
  return ctx.catalog;
}

function oidOf(d: Datum): number {
  return Number(d as bigint);
}

interface CatalogFunction {
  readonly args: readonly SqlType[];
  readonly type: SqlType;
  /** True when the implementation reads `ctx.catalog`. */
  readonly needsCatalog: boolean;
  readonly fn: BuiltinImpl;
}

const indexdef: BuiltinImpl = (a, ctx) => lookup(ctx).indexdef(oidOf(a[0] ?? null), Number((a[1] ?? 0n) as bigint), a[2] === true) ?? null;
const constraintdef: BuiltinImpl = (a, ctx) => lookup(ctx).constraintdef(oidOf(a[0] ?? null), a[1] === true) ?? null;
/** Cairn's pg_node_tree columns (adbin, conbin) already hold the printed expression. */
const getExpr: BuiltinImpl = (a) => a[0] ?? null;
const zeroSize: BuiltinImpl = () => 0n;

const FUNCTIONS: ReadonlyMap<string, readonly CatalogFunction[]> = new Map<string, readonly CatalogFunction[]>([
  [
    'pg_get_indexdef',
    [
      { args: [OID], type: TEXT, needsCatalog: true, fn: indexdef },
      { args: [OID, INT4, BOOL], type: TEXT, needsCatalog: true, fn: indexdef },
    ],
  ],
  [
    'pg_get_constraintdef',
    [
      { args: [OID], type: TEXT, needsCatalog: true, fn: constraintdef },
      { args: [OID, BOOL], type: TEXT, needsCatalog: true, fn: constraintdef },
    ],
  ],
  [
    'pg_get_expr',
    [
      { args: [TEXT, OID], type: TEXT, needsCatalog: false, fn: getExpr },
      { args: [TEXT, OID, BOOL], type: TEXT, needsCatalog: false, fn: getExpr },
    ],
  ],
  [
    'pg_get_userbyid',
    [{ args: [OID], type: NAME, needsCatalog: true, fn: (a, ctx) => lookup(ctx).userName(oidOf(a[0] ?? null)) ?? `unknown (OID=${oidOf(a[0] ?? null)})` }],
  ],
  ['pg_table_is_visible', [{ args: [OID], type: BOOL, needsCatalog: true, fn: (a, ctx) => lookup(ctx).tableIsVisible(oidOf(a[0] ?? null)) }]],
  // Sizes: ranges are not tied to one table's bytes; PostgreSQL's answer for an empty table.
  ['pg_relation_size', [{ args: [OID], type: INT8, needsCatalog: false, fn: zeroSize }]],
  ['pg_table_size', [{ args: [OID], type: INT8, needsCatalog: false, fn: zeroSize }]],
  ['pg_total_relation_size', [{ args: [OID], type: INT8, needsCatalog: false, fn: zeroSize }]],
  ['pg_indexes_size', [{ args: [OID], type: INT8, needsCatalog: false, fn: zeroSize }]],
  ['pg_size_pretty', [{ args: [INT8], type: TEXT, needsCatalog: false, fn: (a) => sizePretty(a[0] as bigint) }]],
  // Every Cairn table could be published (there are no publications to list it in).
  ['pg_relation_is_publishable', [{ args: [OID], type: BOOL, needsCatalog: false, fn: () => true }]],
  // Set-returning in PostgreSQL; without partitions its only row is the relation itself.
  ['pg_partition_ancestors', [{ args: [OID], type: OID, needsCatalog: false, fn: (a) => a[0] ?? null }]],
  ['pg_get_triggerdef', [{ args: [OID], type: TEXT, needsCatalog: false, fn: () => null }, { args: [OID, BOOL], type: TEXT, needsCatalog: false, fn: () => null }]],
  ['to_regtype', [{ args: [TEXT], type: OID, needsCatalog: false, fn: (a) => maybeRegtypeOid(a[0] as string) }]],
  [
    'to_regclass',
    [{ args: [TEXT], type: OID, needsCatalog: true, fn: (a, ctx) => { const oid = lookup(ctx).relationOid(a[0] as string); return oid === undefined ? null : BigInt(oid); } }],
  ],
  ['pg_get_statisticsobjdef_columns', [{ args: [OID], type: TEXT, needsCatalog: false, fn: () => null }]],
  ['pg_get_viewdef', [{ args: [OID], type: TEXT, needsCatalog: false, fn: () => null }, { args: [OID, BOOL], type: TEXT, needsCatalog: false, fn: () => null }]],
]);

/** PostgreSQL 15's units for pg_size_pretty: a unit is used below its limit. */
const SIZE_UNITS: readonly { readonly name: string; readonly limit: bigint; readonly round: boolean; readonly bits: number }[] = [
  { name: 'bytes', limit: 10n * 1024n, round: false, bits: 0 },
  { name: 'kB', limit: 20n * 1024n - 1n, round: true, bits: 10 },
  { name: 'MB', limit: 20n * 1024n - 1n, round: true, bits: 20 },
  { name: 'GB', limit: 20n * 1024n - 1n, round: true, bits: 30 },
  { name: 'TB', limit: 20n * 1024n - 1n, round: true, bits: 40 },
  { name: 'PB', limit: 20n * 1024n - 1n, round: true, bits: 50 },
];

/** pg_size_pretty(bigint): '0 bytes', '10 kB', '20 MB' (half-rounded, as PostgreSQL). */
export function sizePretty(bytes: bigint): string {
  let size = bytes;
  for (let i = 0; i < SIZE_UNITS.length; i++) {
    const unit = SIZE_UNITS[i] as (typeof SIZE_UNITS)[number];
    const next = SIZE_UNITS[i + 1];
    const abs = size < 0n ? -size : size;
    if (next === undefined || abs < unit.limit) {
      if (unit.round) size = (size + (size < 0n ? -1n : 1n)) / 2n;
      return `${size} ${unit.name}`;
    }
    const shift = next.bits - unit.bits - (next.round ? 1 : 0) + (unit.round ? 1 : 0);
    size /= 1n << BigInt(shift);
  }
  return `${size} bytes`;
}

/**
 * The catalog function `name` taking `argCount` arguments, or undefined when it is not
 * one (the caller then asks gateway/sql/builtins). Arguments are cast to `argTypes`
 * by the caller like any call's.
 */
export function resolveCatalogFunction(name: string, argCount: number): (ResolvedCall & { readonly needsCatalog: boolean }) | undefined {
  const f = FUNCTIONS.get(name)?.find((c) => c.args.length === argCount);
  if (f === undefined) return undefined;
  return { fn: f.fn, argTypes: f.args, type: f.type, strict: true, volatile: true, immutable: false, needsCatalog: f.needsCatalog };
}

/** `oid::regclass` shown as text: the relation's name, or the number for an unknown OID. */
export const regclassOut: BuiltinImpl = (a, ctx) => {
  const oid = oidOf(a[0] ?? null);
  return lookup(ctx).relationName(oid) ?? String(oid);
};

/** `text::regclass` at run time (the text is not a constant): 42P01 for an unknown name. */
export const regclassIn: BuiltinImpl = (a, ctx) => {
  const name = a[0] as string;
  const oid = lookup(ctx).relationOid(name);
  if (oid === undefined) {
    throw new SqlError(SqlStates.undefinedTable, `relation "${name}" does not exist`);
  }
  return BigInt(oid);
};

/** `oid::regnamespace` shown as text. */
export const regnamespaceOut: BuiltinImpl = (a, ctx) => {
  const oid = oidOf(a[0] ?? null);
  return lookup(ctx).namespaceName(oid) ?? String(oid);
};

/** `oid::regrole` shown as text. */
export const regroleOut: BuiltinImpl = (a, ctx) => {
  const oid = oidOf(a[0] ?? null);
  return lookup(ctx).userName(oid) ?? String(oid);
};

/** `'int4'::regtype`: the type's OID, 42704 when there is no such type. */
export function regtypeOid(text: string): number {
  if (/^\s*\d+\s*$/.test(text)) return Number(text);
  const unknown = (): SqlError => new SqlError(SqlStates.undefinedObject, `type "${text}" does not exist`);
  let typeName: TypeName | undefined;
  try {
    const [statement] = parseStatements(`SELECT NULL::${text}`);
    const select = statement !== undefined && 'SelectStmt' in statement.ast ? statement.ast.SelectStmt : undefined;
    const val = (select?.targetList?.[0] as { ResTarget?: { val?: Node } } | undefined)?.ResTarget?.val;
    typeName = val !== undefined && 'TypeCast' in val ? val.TypeCast.typeName : undefined;
  } catch {
    throw unknown();
  }
  if (typeName === undefined) throw unknown();
  try {
    return types.typeOid(types.resolveTypeName(typeName));
  } catch {
    throw unknown();
  }
}


function maybeRegtypeOid(text: string): Datum {
  try {
    return BigInt(regtypeOid(text));
  } catch {
    return null;
  }
}

/** `text::regtype` at run time (pgx sends `$1::text::regtype`). */
export const regtypeIn: BuiltinImpl = (a) => BigInt(regtypeOid(a[0] as string));
