import type { SequenceDescriptor, TableDescriptor } from '../catalog/descriptors';
import type { CatalogLookup } from '../plan/catalog-functions';
import type { UserRecord } from '../users';
import { pgGetConstraintdef, pgGetIndexdef, PUBLIC_SCHEMA, shownIndexes, tableConstraints } from './definitions';
import { decodeConstraintOid, decodeIndexOid, indexOid, INFORMATION_SCHEMA_NAMESPACE_OID, PG_CATALOG_NAMESPACE_OID, roleOid } from './oids';
import { quoteIdent } from './quote';
import { parseQualifiedName } from './regclass';
import { RELATIONS, virtualRelation } from './relations';
import type { CatalogSnapshot, VirtualSource } from './snapshot';
import { loadSnapshot } from './snapshot';

/**
 * The synchronous catalog answers a statement's built-ins read (plan/catalog-functions.ts):
 * the database's snapshot and the roles, read once before the statement runs, then
 * answered from memory. Pure over its inputs (`catalogLookup`); `loadCatalogLookup` reads.
 */

/** Reads the snapshot and the roles in the source's transaction. */
export async function loadCatalogLookup(source: VirtualSource): Promise<CatalogLookup> {
  const [snapshot, users] = await Promise.all([loadSnapshot(source.catalog, source.txn, source.database), source.users.list(source.txn)]);
  return catalogLookup(snapshot, users);
}

export function catalogLookup(snapshot: CatalogSnapshot, users: readonly UserRecord[]): CatalogLookup {
  const tables = new Map<number, TableDescriptor>(snapshot.tables.map((t) => [t.id, t]));
  const sequences = new Map<number, SequenceDescriptor>(snapshot.sequences.map((s) => [s.id, s]));
  const schemaNames = new Map<number, string>(snapshot.schemas.map((s) => [s.id, s.name]));

  /** The relation's schema and bare name, for user relations (tables, sequences, indexes). */
  const userRelation = (oid: number): { schema: string; name: string } | undefined => {
    const index = decodeIndexOid(oid);
    if (index !== undefined) {
      const table = tables.get(index.tableId);
      const found = table === undefined ? undefined : shownIndexes(table).find((i) => i.id === index.indexId);
      return table === undefined || found === undefined ? undefined : { schema: schemaNames.get(table.schemaId) ?? PUBLIC_SCHEMA, name: found.name };
    }
    const rel = tables.get(oid) ?? sequences.get(oid);
    return rel === undefined ? undefined : { schema: schemaNames.get(rel.schemaId) ?? PUBLIC_SCHEMA, name: rel.name };
  };

  /** Visible: named without a schema on the search path (pg_catalog, then public). */
  const visible = (schema: string, name: string): boolean =>
    schema === 'pg_catalog' || (schema === PUBLIC_SCHEMA && virtualRelation('pg_catalog', name) === undefined);

  const relationName = (oid: number): string | undefined => {
    const virtual = RELATIONS.find((r) => r.oid === oid);
    const rel = virtual ?? userRelation(oid);
    if (rel === undefined) return undefined;
    return visible(rel.schema, rel.name) ? quoteIdent(rel.name) : `${quoteIdent(rel.schema)}.${quoteIdent(rel.name)}`;
  };

  const relationOid = (text: string): number | undefined => {
    if (/^\s*\d+\s*$/.test(text)) return Number(text);
    const parts = parseQualifiedName(text);
    if (parts === undefined || (parts.length === 3 && parts[0] !== snapshot.database.name)) return undefined;
    const name = parts[parts.length - 1] as string;
    const schema = parts.length >= 2 ? parts[parts.length - 2] : undefined;
    if (schema === undefined || schema === 'pg_catalog' || schema === 'information_schema') {
      const found = virtualRelation(schema ?? 'pg_catalog', name);
      if (found !== undefined || schema !== undefined) return found?.oid;
    }
    const schemaId = snapshot.schemas.find((s) => s.name === (schema ?? PUBLIC_SCHEMA))?.id;
    if (schemaId === undefined) return undefined;
    for (const rel of [...snapshot.tables, ...snapshot.sequences]) {
      if (rel.schemaId === schemaId && rel.name === name) return rel.id;
    }
    for (const table of snapshot.tables) {
      if (table.schemaId !== schemaId) continue;
      const index = shownIndexes(table).find((i) => i.name === name);
      if (index !== undefined) return indexOid(table.id, index.id);
    }
    return undefined;
  };

  return {
    relationName,
    relationOid,
    indexdef(oid, column, pretty) {
      const decoded = decodeIndexOid(oid);
      const table = decoded === undefined ? undefined : tables.get(decoded.tableId);
      const index = table === undefined ? undefined : shownIndexes(table).find((i) => i.id === decoded?.indexId);
      if (table === undefined || index === undefined) return undefined;
      return pgGetIndexdef(table, index, { schema: schemaNames.get(table.schemaId) ?? PUBLIC_SCHEMA, pretty, column });
    },
    constraintdef(oid, pretty) {
      const decoded = decodeConstraintOid(oid);
      const table = decoded === undefined ? undefined : tables.get(decoded.tableId);
      const constraint = table === undefined ? undefined : tableConstraints(table).find((c) => c.oid === oid);
      if (table === undefined || constraint === undefined) return undefined;
      return pgGetConstraintdef(table, constraint, { pretty, table: (id) => tables.get(id) });
    },
    userName(oid) {
      return users.find((u) => roleOid(u.name) === oid)?.name;
    },
    namespaceName(oid) {
      if (oid === PG_CATALOG_NAMESPACE_OID) return 'pg_catalog';
      if (oid === INFORMATION_SCHEMA_NAMESPACE_OID) return 'information_schema';
      return schemaNames.get(oid);
    },
    tableIsVisible(oid) {
      const virtual = RELATIONS.find((r) => r.oid === oid);
      const rel = virtual ?? userRelation(oid);
      return rel !== undefined && visible(rel.schema, rel.name);
    },
  };
}
