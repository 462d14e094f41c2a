import { AssertionFailedError } from '../../../common/errors';
import type { Datum, SqlType } from '../types/datum';
import { scalarType } from '../types/datum';
import { arrayOf } from '../types/type-names';

/**
 * Column lists of the virtual tables, written as compact specs
 * ('oid:oid relname:name relkind:char'), and the check that a built row has exactly
 * those columns.
 *
 * PostgreSQL catalog types Cairn has no SqlType for are carried as the nearest type a
 * client reads the same way in text format:
 *   "char"        → text   (relkind, contype, ...: one-character strings, '' for none)
 *   regproc       → text   (the function's name, '-' for none)
 *   regtype       → text
 *   int2vector    → text   ('1 2': PostgreSQL's text form)
 *   oidvector     → text
 *   pg_node_tree  → text   (the expression's SQL text, which is what pg_get_expr shows)
 *   aclitem[]     → text[] (always NULL: default privileges)
 *   inet, xid     → text   (pg_stat_activity only, which is empty)
 */

export interface VirtualColumn {
  readonly name: string;
  readonly type: SqlType;
}

const KINDS: Readonly<Record<string, SqlType>> = {
  oid: scalarType('oid'),
  name: scalarType('name'),
  text: scalarType('text'),
  varchar: scalarType('varchar'),
  bool: scalarType('bool'),
  int2: scalarType('int2'),
  int4: scalarType('int4'),
  int8: scalarType('int8'),
  float4: scalarType('float4'),
  float8: scalarType('float8'),
  timestamptz: scalarType('timestamptz'),
  bytea: scalarType('bytea'),
  char: scalarType('text'),
  regproc: scalarType('text'),
  regtype: scalarType('text'),
  int2vector: scalarType('text'),
  oidvector: scalarType('text'),
  node: scalarType('text'),
  'int2[]': arrayOf(scalarType('int2')),
  'oid[]': arrayOf(scalarType('oid')),
  'text[]': arrayOf(scalarType('text')),
  'char[]': arrayOf(scalarType('text')),
  'acl[]': arrayOf(scalarType('text')),
};

/** Parses 'name:kind name:kind ...' (whitespace separated). */
export function columns(spec: string): VirtualColumn[] {
  const out: VirtualColumn[] = [];
  for (const part of spec.trim().split(/\s+/)) {
    const [name, kind] = part.split(':');
    const type = kind === undefined ? undefined : KINDS[kind];
    if (name === undefined || name === '' || type === undefined) {
      throw new AssertionFailedError(`bad virtual column spec "${part}"`);
    }
    if (out.some((c) => c.name === name)) {
      throw new AssertionFailedError(`duplicate virtual column "${name}"`);
    }
    out.push({ name, type });
  }
  return out;
}

/** One row as built: a value for every column, by name. */
export type Row = Readonly<Record<string, Datum>>;

/**
 * Puts rows in column order. A row with a column missing or an unknown one is a bug in
 * its builder and fails loudly (a silently NULL column would mislead clients).
 */
export function toDatumRows(table: string, cols: readonly VirtualColumn[], rows: readonly Row[]): Datum[][] {
  const names = new Set(cols.map((c) => c.name));
  return rows.map((row) => {
    for (const key of Object.keys(row)) {
      if (!names.has(key)) {
        throw new AssertionFailedError(`${table}: row has unknown column "${key}"`);
      }
    }
    return cols.map((c) => {
      const value = row[c.name];
      if (value === undefined) {
        throw new AssertionFailedError(`${table}: row has no value for column "${c.name}"`);
      }
      return value;
    });
  });
}
