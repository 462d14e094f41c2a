import { SqlError, SqlStates } from '../../../common/errors';

/**
 * The OIDs the virtual catalog gives Cairn's objects. PostgreSQL only promises that an
 * OID is unique within one system catalog (pg_class, pg_constraint, ...), and that is
 * all clients rely on; these are unique within each catalog too, and stable for as long
 * as the object exists (they are computed from descriptor and index IDs, which are never
 * reused).
 *
 *   catalog         object                          OID
 *   pg_database     database                        its descriptor ID
 *   pg_namespace    public                          its schema descriptor ID
 *                   pg_catalog                      11 (PostgreSQL's)
 *                   information_schema              12
 *   pg_class        table, sequence                 its descriptor ID (always < 2^31)
 *                   index i of table t              2^31 + t·1024 + i
 *                   virtual relation number k       2^31 + k        (the block of "table 0")
 *   pg_constraint   PRIMARY KEY / UNIQUE            the OID of its index
 *                   the k-th CHECK of table t       t·1024 + k
 *                   the k-th FOREIGN KEY of t       t·1024 + 512 + k
 *   pg_attrdef      default of column attnum a      t·1024 + a
 *   pg_authid       root                            10 (PostgreSQL's bootstrap superuser)
 *                   any other role                  2^31 + FNV-1a(name) mod 2^31
 *   pg_type, pg_am, pg_collation, pg_tablespace     PostgreSQL's own OIDs
 *
 * Descriptor IDs start at 100 (FIRST_USER_DESCRIPTOR_ID) and stay below 2^31, so index
 * OIDs never meet table OIDs in pg_class, and no table has ID 0, so the block of table 0
 * is free for the catalog's own relations. The formula needs table IDs below 2^21 and
 * per-table numbers below 1024 (index IDs, attnums) or 512 (CHECKs, FKs); past those a
 * query of the virtual tables fails with 54000 rather than show colliding OIDs.
 */

export const PG_CATALOG_NAMESPACE_OID = 11;
export const INFORMATION_SCHEMA_NAMESPACE_OID = 12;
/** The bootstrap superuser's OID in PostgreSQL; Cairn's `root`. */
export const BOOTSTRAP_SUPERUSER_OID = 10;
export const BOOTSTRAP_SUPERUSER = 'root';
export const HEAP_AM_OID = 2;
export const BTREE_AM_OID = 403;
export const DEFAULT_COLLATION_OID = 100;
export const C_COLLATION_OID = 950;
export const DEFAULT_TABLESPACE_OID = 1663;
/** pg_encoding_to_char(6) = 'UTF8'. */
export const UTF8_ENCODING = 6;

const DERIVED_BASE = 2 ** 31;
const PER_TABLE = 1024;
const FOREIGN_KEY_BASE = 512;
/** Table IDs must stay below this for the formulas to stay collision-free. */
export const MAX_TABLE_ID_FOR_OIDS = 2 ** 21 - 1;

function checkTable(tableId: number): void {
  if (!Number.isInteger(tableId) || tableId < 1 || tableId > MAX_TABLE_ID_FOR_OIDS) {
    throw new SqlError(SqlStates.programLimitExceeded, `table ID ${tableId} is beyond the OID scheme of the virtual catalog`);
  }
}

function checkSub(what: string, n: number, limit: number): void {
  if (!Number.isInteger(n) || n < 0 || n >= limit) {
    throw new SqlError(SqlStates.programLimitExceeded, `${what} ${n} is beyond the OID scheme of the virtual catalog (limit ${limit - 1})`);
  }
}

/** pg_class.oid of index `indexId` of table `tableId` (pg_index.indexrelid). */
export function indexOid(tableId: number, indexId: number): number {
  checkTable(tableId);
  checkSub('index ID', indexId, PER_TABLE);
  return DERIVED_BASE + tableId * PER_TABLE + indexId;
}

/** pg_constraint.oid of a table's `ordinal`-th CHECK (0-based, in descriptor order). */
export function checkConstraintOid(tableId: number, ordinal: number): number {
  checkTable(tableId);
  checkSub('CHECK constraint number', ordinal, FOREIGN_KEY_BASE);
  return tableId * PER_TABLE + ordinal;
}

/** pg_constraint.oid of a table's `ordinal`-th FOREIGN KEY (0-based, in descriptor order). */
export function foreignKeyConstraintOid(tableId: number, ordinal: number): number {
  checkTable(tableId);
  checkSub('FOREIGN KEY constraint number', ordinal, PER_TABLE - FOREIGN_KEY_BASE);
  return tableId * PER_TABLE + FOREIGN_KEY_BASE + ordinal;
}

/** pg_attrdef.oid of the default of column `attnum`. */
export function attrdefOid(tableId: number, attnum: number): number {
  checkTable(tableId);
  checkSub('column number', attnum, PER_TABLE);
  return tableId * PER_TABLE + attnum;
}

/** pg_class.oid of the catalog's own relation number `k` (1-based, see relations.ts). */
export function virtualRelationOid(k: number): number {
  checkSub('virtual relation number', k, PER_TABLE);
  return DERIVED_BASE + k;
}

/** The OID of a role (pg_roles.oid, relowner, datdba). */
export function roleOid(name: string): number {
  if (name === BOOTSTRAP_SUPERUSER) {
    return BOOTSTRAP_SUPERUSER_OID;
  }
  // FNV-1a, 32 bits: stable across gateways and restarts, no stored ID needed.
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(name, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return DERIVED_BASE + (hash % DERIVED_BASE);
}

/** The table and index an index OID stands for, or undefined if it is not one. */
export function decodeIndexOid(oid: number): { readonly tableId: number; readonly indexId: number } | undefined {
  if (!Number.isInteger(oid) || oid < DERIVED_BASE + PER_TABLE || oid >= 2 ** 32) {
    return undefined;
  }
  const rest = oid - DERIVED_BASE;
  return { tableId: Math.floor(rest / PER_TABLE), indexId: rest % PER_TABLE };
}

export type DecodedConstraintOid =
  | { readonly kind: 'index'; readonly tableId: number; readonly indexId: number }
  | { readonly kind: 'check'; readonly tableId: number; readonly ordinal: number }
  | { readonly kind: 'foreignKey'; readonly tableId: number; readonly ordinal: number };

/** What a pg_constraint OID stands for (the constraint may no longer exist). */
export function decodeConstraintOid(oid: number): DecodedConstraintOid | undefined {
  const index = decodeIndexOid(oid);
  if (index !== undefined) {
    return { kind: 'index', ...index };
  }
  if (!Number.isInteger(oid) || oid < PER_TABLE || oid >= DERIVED_BASE) {
    return undefined;
  }
  const tableId = Math.floor(oid / PER_TABLE);
  const sub = oid % PER_TABLE;
  return sub < FOREIGN_KEY_BASE ? { kind: 'check', tableId, ordinal: sub } : { kind: 'foreignKey', tableId, ordinal: sub - FOREIGN_KEY_BASE };
}
