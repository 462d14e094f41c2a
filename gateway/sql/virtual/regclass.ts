import type { TableDescriptor } from '../catalog/descriptors';
import type { IndexdefOptions } from './definitions';
import { pgGetConstraintdef, pgGetIndexdef, PUBLIC_SCHEMA, shownIndexes, tableConstraints } from './definitions';
import { decodeConstraintOid, decodeIndexOid, indexOid, roleOid } from './oids';
import { quoteIdent } from './quote';
import { RELATIONS, virtualRelation } from './relations';
import type { VirtualSource } from './snapshot';

/**
 * Lookups by name and by OID for the planner's regclass casts and pg_get_* functions
 * (psql's `\d` runs `'t'::regclass`, `conrelid::regclass`, pg_get_indexdef(oid),
 * pg_get_constraintdef(oid)). They read the catalog through the session's source.
 */

/**
 * Splits a relation name as regclass input reads it: `t`, `public.t`, `"My Table"`;
 * unquoted parts fold to lower case. Undefined when it is not a valid name.
 */
export function parseQualifiedName(text: string): string[] | undefined {
  const parts: string[] = [];
  let i = 0;
  const s = text.trim();
  while (i <= s.length) {
    if (s[i] === '"') {
      let part = '';
      i++;
      for (;;) {
        if (i >= s.length) return undefined;
        if (s[i] === '"') {
          if (s[i + 1] === '"') {
            part += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        part += s[i];
        i++;
      }
      parts.push(part);
    } else {
      const m = /^[^."\s]+/.exec(s.slice(i));
      if (m === null) return undefined;
      parts.push(m[0].toLowerCase());
      i += m[0].length;
    }
    if (i === s.length) break;
    if (s[i] !== '.') return undefined;
    i++;
  }
  return parts.length >= 1 && parts.length <= 3 ? parts : undefined;
}

async function schemaIdByName(source: VirtualSource, name: string): Promise<number | undefined> {
  const entries = await source.catalog.list(source.txn, source.database.id);
  return entries.find((e) => e.name === name)?.id;
}

async function tablesOf(source: VirtualSource, schemaId: number): Promise<TableDescriptor[]> {
  const tables: TableDescriptor[] = [];
  for (const entry of await source.catalog.list(source.txn, schemaId)) {
    const desc = await source.catalog.descriptor(source.txn, entry.id);
    if (desc?.kind === 'table') tables.push(desc);
  }
  return tables;
}

/** A relation (table, sequence or index) of one schema by name. */
async function relationInSchema(source: VirtualSource, schemaId: number, name: string): Promise<number | undefined> {
  const entry = (await source.catalog.list(source.txn, schemaId)).find((e) => e.name === name);
  if (entry !== undefined) {
    const desc = await source.catalog.descriptor(source.txn, entry.id);
    if (desc?.kind === 'table' || desc?.kind === 'sequence') return desc.id;
  }
  for (const table of await tablesOf(source, schemaId)) {
    const index = shownIndexes(table).find((i) => i.name === name);
    if (index !== undefined) return indexOid(table.id, index.id);
  }
  return undefined;
}

/**
 * `'name'::regclass`: the pg_class OID of a relation, or undefined when there is none
 * (the caller raises 42P01). A number is taken as an OID, as PostgreSQL does.
 * Unqualified names are looked up in pg_catalog, then in public.
 */
export async function regclassOid(source: VirtualSource, name: string): Promise<number | undefined> {
  if (/^\s*\d+\s*$/.test(name)) {
    return Number(name);
  }
  const parts = parseQualifiedName(name);
  if (parts === undefined) return undefined;
  if (parts.length === 3 && parts[0] !== source.database.name) return undefined;
  const rel = parts[parts.length - 1] as string;
  const schema = parts.length >= 2 ? (parts[parts.length - 2] as string) : undefined;
  if (schema === undefined || schema === 'pg_catalog') {
    const found = virtualRelation('pg_catalog', rel);
    if (found !== undefined) return found.oid;
  }
  if (schema === 'information_schema') {
    return virtualRelation('information_schema', rel)?.oid;
  }
  if (schema === 'pg_catalog') return undefined;
  const schemaId = await schemaIdByName(source, schema ?? PUBLIC_SCHEMA);
  return schemaId === undefined ? undefined : relationInSchema(source, schemaId, rel);
}

/**
 * `oid::regclass` as text: the relation's name, schema-qualified when it is not on the
 * search path (information_schema); undefined for an unknown OID (PostgreSQL then
 * prints the number).
 */
export async function regclassName(source: VirtualSource, oid: number): Promise<string | undefined> {
  const virtual = RELATIONS.find((r) => r.oid === oid);
  if (virtual !== undefined) {
    return virtual.schema === 'pg_catalog' ? quoteIdent(virtual.name) : `${virtual.schema}.${quoteIdent(virtual.name)}`;
  }
  const index = decodeIndexOid(oid);
  const desc = await source.catalog.descriptor(source.txn, index === undefined ? oid : index.tableId);
  if (desc === undefined || (desc.kind !== 'table' && desc.kind !== 'sequence') || desc.parentId !== source.database.id) {
    return undefined;
  }
  if (index === undefined) return quoteIdent(desc.name);
  if (desc.kind !== 'table') return undefined;
  const found = shownIndexes(desc).find((i) => i.id === index.indexId);
  return found === undefined ? undefined : quoteIdent(found.name);
}

async function tableById(source: VirtualSource, id: number): Promise<TableDescriptor | undefined> {
  const desc = await source.catalog.descriptor(source.txn, id);
  return desc?.kind === 'table' && desc.parentId === source.database.id ? desc : undefined;
}

/** pg_get_indexdef(oid [, column, pretty]) for an index OID; undefined if there is no such index. */
export async function pgGetIndexdefByOid(source: VirtualSource, oid: number, options: IndexdefOptions = {}): Promise<string | undefined> {
  const decoded = decodeIndexOid(oid);
  if (decoded === undefined) return undefined;
  const table = await tableById(source, decoded.tableId);
  const index = table === undefined ? undefined : shownIndexes(table).find((i) => i.id === decoded.indexId);
  return table === undefined || index === undefined ? undefined : pgGetIndexdef(table, index, options);
}

/** pg_get_constraintdef(oid [, pretty]) for a pg_constraint OID; undefined if there is no such constraint. */
export async function pgGetConstraintdefByOid(source: VirtualSource, oid: number, pretty = false): Promise<string | undefined> {
  const decoded = decodeConstraintOid(oid);
  if (decoded === undefined) return undefined;
  const table = await tableById(source, decoded.tableId);
  if (table === undefined) return undefined;
  const constraint = tableConstraints(table).find((c) => c.oid === oid);
  if (constraint === undefined) return undefined;
  let referenced: TableDescriptor | undefined;
  if (constraint.contype === 'f' && constraint.foreignKey.referencedTableId !== table.id) {
    referenced = await tableById(source, constraint.foreignKey.referencedTableId);
    if (referenced === undefined) return undefined;
  }
  return pgGetConstraintdef(table, constraint, { pretty, table: (id) => (id === referenced?.id ? referenced : undefined) });
}

/**
 * pg_get_userbyid(oid): the role's name, or `unknown (OID=n)` as PostgreSQL prints for
 * an OID no role has (role OIDs are in oids.ts: root is 10, others a hash of the name).
 */
export async function pgGetUserbyid(source: VirtualSource, oid: number): Promise<string> {
  const users = await source.users.list(source.txn);
  return users.find((u) => roleOid(u.name) === oid)?.name ?? `unknown (OID=${oid})`;
}

/**
 * pg_table_is_visible(oid): whether the relation can be named without a schema. The
 * search path is pg_catalog then public, and a database has only those two.
 */
export async function pgTableIsVisible(source: VirtualSource, oid: number): Promise<boolean> {
  const virtual = RELATIONS.find((r) => r.oid === oid);
  if (virtual !== undefined) {
    return virtual.schema === 'pg_catalog';
  }
  const name = await regclassName(source, oid);
  if (name === undefined) return false;
  // A public relation named like a pg_catalog one is hidden behind it.
  const parts = parseQualifiedName(name);
  const rel = parts?.[parts.length - 1];
  return rel !== undefined && virtualRelation('pg_catalog', rel) === undefined;
}
