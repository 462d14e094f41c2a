import type { DatabaseDescriptor } from '../catalog/descriptors';
import type { UserRecord } from '../users';
import type { Row } from './columns';
import {
  BOOTSTRAP_SUPERUSER_OID,
  BTREE_AM_OID,
  C_COLLATION_OID,
  DEFAULT_COLLATION_OID,
  DEFAULT_TABLESPACE_OID,
  HEAP_AM_OID,
  PG_CATALOG_NAMESPACE_OID,
  roleOid,
  UTF8_ENCODING,
} from './oids';

/**
 * Rows of the catalogs every database shares (pg_database, pg_roles, pg_user) and of the
 * fixed ones (pg_am, pg_collation, pg_tablespace). Pure functions.
 */

const oid = (n: number): bigint => BigInt(n);

/** Every database: `\l` lists them all, whichever one the session is in. */
export function pgDatabaseRows(databases: readonly DatabaseDescriptor[]): Row[] {
  return databases.map((d) => ({
    oid: oid(d.id),
    datname: d.name,
    datdba: oid(roleOid(d.owner)),
    encoding: BigInt(UTF8_ENCODING),
    datlocprovider: 'c',
    datistemplate: false,
    datallowconn: true,
    datconnlimit: -1n,
    dattablespace: oid(DEFAULT_TABLESPACE_OID),
    datcollate: 'C',
    datctype: 'C',
    daticulocale: null,
    datcollversion: null,
    datacl: null,
  }));
}

/** Passwords are never shown, as PostgreSQL's pg_roles does. */
const HIDDEN_PASSWORD = '********';

export function pgRolesRows(users: readonly UserRecord[]): Row[] {
  return users.map((u) => ({
    rolname: u.name,
    rolsuper: u.superuser,
    rolinherit: true,
    rolcreaterole: u.superuser,
    rolcreatedb: u.superuser,
    rolcanlogin: u.canLogin,
    rolreplication: false,
    rolconnlimit: -1n,
    rolpassword: HIDDEN_PASSWORD,
    rolvaliduntil: null,
    rolbypassrls: u.superuser,
    rolconfig: null,
    oid: oid(roleOid(u.name)),
  }));
}

/** pg_user: the roles that can log in. */
export function pgUserRows(users: readonly UserRecord[]): Row[] {
  return users
    .filter((u) => u.canLogin)
    .map((u) => ({
      usename: u.name,
      usesysid: oid(roleOid(u.name)),
      usecreatedb: u.superuser,
      usesuper: u.superuser,
      userepl: false,
      usebypassrls: u.superuser,
      passwd: HIDDEN_PASSWORD,
      valuntil: null,
      useconfig: null,
    }));
}

/** Tables show as heap, indexes as btree (`\d+` prints "Access method: heap"). */
export function pgAmRows(): Row[] {
  return [
    { oid: oid(HEAP_AM_OID), amname: 'heap', amhandler: 'heap_tableam_handler', amtype: 't' },
    { oid: oid(BTREE_AM_OID), amname: 'btree', amhandler: 'bthandler', amtype: 'i' },
  ];
}

/** Text compares by code point everywhere: the default collation is C. */
export function pgCollationRows(): Row[] {
  const row = (id: number, name: string, provider: string, locale: string | null): Row => ({
    oid: oid(id),
    collname: name,
    collnamespace: oid(PG_CATALOG_NAMESPACE_OID),
    collowner: oid(BOOTSTRAP_SUPERUSER_OID),
    collprovider: provider,
    collisdeterministic: true,
    collencoding: -1n,
    collcollate: locale,
    collctype: locale,
    colliculocale: null,
    collversion: null,
  });
  return [row(DEFAULT_COLLATION_OID, 'default', 'd', null), row(C_COLLATION_OID, 'C', 'c', 'C'), row(951, 'POSIX', 'c', 'POSIX')];
}

export function pgTablespaceRows(): Row[] {
  return [
    { oid: oid(DEFAULT_TABLESPACE_OID), spcname: 'pg_default', spcowner: oid(BOOTSTRAP_SUPERUSER_OID), spcacl: null, spcoptions: null },
    { oid: 1664n, spcname: 'pg_global', spcowner: oid(BOOTSTRAP_SUPERUSER_OID), spcacl: null, spcoptions: null },
  ];
}
