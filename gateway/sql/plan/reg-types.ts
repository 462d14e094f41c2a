import type { TypeName } from '@pgsql/types';
import { SqlError, SqlStates } from '../../../common/errors';
import type { Datum, SqlType } from '../types/datum';
import { scalarType } from '../types/datum';
import { regclassOut, regnamespaceOut, regroleOut } from './catalog-functions';
export { regtypeOid } from './catalog-functions';
import type { BuiltinImpl, Expr } from './expr';
import { resolveFunction } from './functions-impl';

/**
 * The OID alias types psql and drivers cast to: regclass, regtype, regproc, and
 * regnamespace / regrole (output only: `oid::regnamespace::text`).
 *
 * Cairn has no SQL type for them. Instead:
 * - regclass and regtype values are `oid` values inside expressions (comparisons, joins,
 *   ORDER BY work on the number, as PostgreSQL's do), and the analyzer remembers which
 *   expressions are of a reg type. Where such a value turns into text — a cast to
 *   text/name/varchar, or a result column — it is printed as PostgreSQL's output
 *   function would: the relation's name (regclass, needs the catalog, see
 *   catalog-functions.ts) or format_type's name (regtype). Result columns are therefore
 *   of type text on the wire, not regclass (2205): clients read both the same way.
 * - regproc is text (the function's name): Cairn's catalog columns of type regproc
 *   (pg_type.typinput, ...) are text too, so `typinput = 'array_in'::regproc` compares names.
 * - A constant name cast (`'t'::regclass`, `'int4'::regtype`) is resolved when the
 *   statement is analyzed; a relation name that is not constant is looked up at run
 *   time in the statement's catalog lookup.
 */
export type RegType = 'regclass' | 'regtype' | 'regproc' | 'regnamespace' | 'regrole';

const TEXT = scalarType('text');

/** The reg type a cast names, or undefined for any other type. */
export function regTypeOf(node: TypeName): RegType | undefined {
  const parts = (node.names ?? []).map((n) => ('String' in n ? (n.String.sval ?? '') : ''));
  if (parts.length > 2 || (parts.length === 2 && parts[0] !== 'pg_catalog')) return undefined;
  const name = parts[parts.length - 1];
  if (name !== 'regclass' && name !== 'regtype' && name !== 'regproc' && name !== 'regprocedure' && name !== 'regnamespace' && name !== 'regrole') {
    return undefined;
  }
  if ((node.arrayBounds?.length ?? 0) > 0) {
    throw new SqlError(SqlStates.featureNotSupported, `type ${name}[] is not supported`);
  }
  return name === 'regprocedure' ? 'regproc' : name;
}

export function isTextual(type: SqlType): boolean {
  return type.kind === 'scalar' && (type.name === 'text' || type.name === 'varchar' || type.name === 'name' || type.name === 'bpchar');
}

/** `'pg_catalog.array_in'::regproc`: the function's bare name (Cairn's regproc is text). */
export function regprocName(text: string): string {
  const trimmed = text.trim();
  return trimmed.startsWith('pg_catalog.') ? trimmed.slice('pg_catalog.'.length) : trimmed;
}

/** regtypeout: format_type(oid, NULL), or the number for an OID no type has. */
function regtypeOut(): BuiltinImpl {
  const formatType = resolveFunction('format_type', [scalarType('oid'), scalarType('int4')]).fn;
  return (a, ctx) => {
    const oid = a[0] as Datum;
    const name = formatType([oid, null], ctx);
    return name === '???' || name === null ? String(oid) : name;
  };
}

/**
 * A reg-typed value as text (its output function). `needsCatalog` is called when the
 * text comes from the catalog at run time.
 */
export function regText(expr: Expr, reg: RegType, needsCatalog: () => void): Expr {
  switch (reg) {
    case 'regclass':
      needsCatalog();
      return { k: 'call', name: 'regclassout', fn: regclassOut, strict: true, volatile: true, args: [expr], type: TEXT };
    case 'regtype':
      return { k: 'call', name: 'regtypeout', fn: regtypeOut(), strict: true, volatile: false, args: [expr], type: TEXT };
    case 'regnamespace':
      needsCatalog();
      return { k: 'call', name: 'regnamespaceout', fn: regnamespaceOut, strict: true, volatile: true, args: [expr], type: TEXT };
    case 'regrole':
      needsCatalog();
      return { k: 'call', name: 'regroleout', fn: regroleOut, strict: true, volatile: true, args: [expr], type: TEXT };
    case 'regproc':
      return expr;
  }
}
