import { assert } from '../../../common/errors';
import type { SequenceDescriptor, TableDescriptor } from '../catalog/descriptors';
import { sequenceTypeName } from '../catalog/sequence-options';
import type { SequenceState } from '../catalog/sequence-values';
import type { Datum, SqlType } from '../types/datum';
import { TypeOids } from '../types/datum';
import { typeLen, typeOid, wireTypmod } from '../types/type-names';
import type { Row } from './columns';
import type { TableConstraint } from './definitions';
import {
  actionCode,
  attnumOf,
  indexColumnIds,
  pgGetIndexdef,
  shownColumns,
  shownIndexes,
  tableConstraints,
} from './definitions';
import { defaultText, exprText } from './expr-text';
import {
  attrdefOid,
  BTREE_AM_OID,
  BOOTSTRAP_SUPERUSER_OID,
  HEAP_AM_OID,
  indexOid,
  INFORMATION_SCHEMA_NAMESPACE_OID,
  PG_CATALOG_NAMESPACE_OID,
  roleOid,
} from './oids';
import type { PgTypeFacts } from './pg-types';
import { PG_TYPES, pgTypeByOid } from './pg-types';
import type { VirtualRelation } from './relations';
import { namespaceOidOf, PG_CLASS_OID, RELATIONS } from './relations';
import type { CatalogSnapshot } from './snapshot';

/**
 * Rows of the pg_catalog tables that describe one database's relations: pg_namespace,
 * pg_class, pg_attribute, pg_type, pg_index, pg_constraint, pg_attrdef, pg_depend,
 * pg_sequence and the pg_tables / pg_indexes / pg_sequences views. Pure functions of a
 * CatalogSnapshot; OIDs follow oids.ts, so the rows of different tables join up
 * (pg_attribute.attrelid = pg_class.oid, pg_index.indexrelid = pg_class.oid, ...).
 */

const oid = (n: number): bigint => BigInt(n);
const int = (n: number): bigint => BigInt(n);

function schemaName(snap: CatalogSnapshot, schemaId: number): string {
  const schema = snap.schemas.find((s) => s.id === schemaId);
  assert(schema !== undefined, `schema ${schemaId} is not in the snapshot`);
  return schema.name;
}

function ownerOid(snap: CatalogSnapshot): bigint {
  return oid(roleOid(snap.database.owner));
}

function typeFacts(type: SqlType): PgTypeFacts {
  const facts = pgTypeByOid(typeOid(type));
  assert(facts !== undefined, `type OID ${typeOid(type)} has no pg_type row`);
  return facts;
}

function columnType(t: TableDescriptor, columnId: number): SqlType {
  const column = t.columns.find((c) => c.id === columnId);
  assert(column !== undefined, `table ${t.name} has no column ${columnId}`);
  return column.type;
}

// ---------------------------------------------------------------------------------------
// pg_namespace

export function pgNamespaceRows(snap: CatalogSnapshot): Row[] {
  const superuser = oid(BOOTSTRAP_SUPERUSER_OID);
  return [
    { oid: oid(PG_CATALOG_NAMESPACE_OID), nspname: 'pg_catalog', nspowner: superuser, nspacl: null },
    { oid: oid(INFORMATION_SCHEMA_NAMESPACE_OID), nspname: 'information_schema', nspowner: superuser, nspacl: null },
    ...snap.schemas.map((s) => ({ oid: oid(s.id), nspname: s.name, nspowner: ownerOid(snap), nspacl: null })),
  ];
}

// ---------------------------------------------------------------------------------------
// pg_class

const CLASS_DEFAULTS: Row = {
  reltype: 0n,
  reloftype: 0n,
  reltablespace: 0n,
  relpages: 0n,
  // -1: never analysed (PostgreSQL 14+); planners and clients then assume nothing.
  reltuples: -1,
  relallvisible: 0n,
  reltoastrelid: 0n,
  relhasindex: false,
  relisshared: false,
  relpersistence: 'p',
  relchecks: 0n,
  relhasrules: false,
  relhastriggers: false,
  relhassubclass: false,
  relrowsecurity: false,
  relforcerowsecurity: false,
  relispopulated: true,
  relreplident: 'n',
  relispartition: false,
  relrewrite: 0n,
  relacl: null,
  reloptions: null,
  relpartbound: null,
};

export function pgClassRows(snap: CatalogSnapshot): Row[] {
  const owner = ownerOid(snap);
  const rows: Row[] = [];
  // PostgreSQL enforces foreign keys with triggers on both tables, so psql's \d lists
  // "Foreign-key constraints" and "Referenced by" only when relhastriggers is set.
  const referenced = new Set(snap.tables.flatMap((t) => t.foreignKeys.map((fk) => fk.referencedTableId)));
  for (const t of snap.tables) {
    const indexes = shownIndexes(t);
    rows.push({
      ...CLASS_DEFAULTS,
      oid: oid(t.id),
      relname: t.name,
      relnamespace: oid(t.schemaId),
      relowner: owner,
      relam: oid(HEAP_AM_OID),
      relfilenode: oid(t.id),
      relhasindex: indexes.length > 0,
      relkind: 'r',
      relnatts: int(shownColumns(t).length),
      relchecks: int(t.checks.length),
      relhastriggers: t.foreignKeys.length > 0 || referenced.has(t.id),
      relreplident: 'd',
    });
    for (const index of indexes) {
      rows.push({
        ...CLASS_DEFAULTS,
        oid: oid(indexOid(t.id, index.id)),
        relname: index.name,
        relnamespace: oid(t.schemaId),
        relowner: owner,
        relam: oid(BTREE_AM_OID),
        relfilenode: oid(indexOid(t.id, index.id)),
        relkind: 'i',
        relnatts: int(indexColumnIds(t, index).length),
      });
    }
  }
  for (const s of snap.sequences) {
    rows.push({
      ...CLASS_DEFAULTS,
      oid: oid(s.id),
      relname: s.name,
      relnamespace: oid(s.schemaId),
      relowner: owner,
      relam: 0n,
      relfilenode: oid(s.id),
      relkind: 'S',
      relnatts: 3n,
    });
  }
  for (const r of RELATIONS) {
    rows.push({
      ...CLASS_DEFAULTS,
      oid: oid(r.oid),
      relname: r.name,
      relnamespace: oid(namespaceOidOf(r.schema)),
      relowner: oid(BOOTSTRAP_SUPERUSER_OID),
      relam: oid(r.relkind === 'r' ? HEAP_AM_OID : 0),
      relfilenode: 0n,
      relkind: r.relkind,
      relnatts: int(r.columns.length),
    });
  }
  return rows;
}

// ---------------------------------------------------------------------------------------
// pg_attribute

const ATTRIBUTE_DEFAULTS: Row = {
  attstattarget: -1n,
  attcacheoff: -1n,
  attcompression: '',
  atthasdef: false,
  atthasmissing: false,
  attidentity: '',
  attgenerated: '',
  attisdropped: false,
  attislocal: true,
  attinhcount: 0n,
  attacl: null,
  attoptions: null,
  attfdwoptions: null,
};

function attributeRow(relid: number, name: string, type: SqlType, attnum: number, notNull: boolean, hasDefault: boolean): Row {
  const facts = typeFacts(type);
  return {
    ...ATTRIBUTE_DEFAULTS,
    attrelid: oid(relid),
    attname: name,
    atttypid: oid(facts.oid),
    attlen: int(typeLen(type)),
    attnum: int(attnum),
    attndims: type.kind === 'array' ? 1n : 0n,
    atttypmod: int(wireTypmod(type)),
    attbyval: facts.typbyval,
    attalign: facts.typalign,
    attstorage: facts.typstorage,
    attnotnull: notNull,
    atthasdef: hasDefault,
    attcollation: oid(facts.typcollation),
  };
}

const SEQUENCE_COLUMNS: readonly { readonly name: string; readonly type: SqlType }[] = [
  { name: 'last_value', type: { kind: 'scalar', name: 'int8', typmod: -1 } },
  { name: 'log_cnt', type: { kind: 'scalar', name: 'int8', typmod: -1 } },
  { name: 'is_called', type: { kind: 'scalar', name: 'bool', typmod: -1 } },
];

/**
 * Columns of tables (attnum as RowDescription reports it, hidden rowid left out),
 * indexes (1..indnatts, like PostgreSQL's index attributes), sequences and the virtual
 * relations themselves.
 */
export function pgAttributeRows(snap: CatalogSnapshot): Row[] {
  const rows: Row[] = [];
  for (const t of snap.tables) {
    for (const { column, attnum } of shownColumns(t)) {
      rows.push(attributeRow(t.id, column.name, column.type, attnum, !column.nullable, column.defaultExpr !== undefined));
    }
    for (const index of shownIndexes(t)) {
      indexColumnIds(t, index).forEach((id, i) => {
        const column = t.columns.find((c) => c.id === id);
        assert(column !== undefined, `index ${index.name} has no column ${id}`);
        rows.push(attributeRow(indexOid(t.id, index.id), column.name, column.type, i + 1, false, false));
      });
    }
  }
  for (const s of snap.sequences) {
    SEQUENCE_COLUMNS.forEach((c, i) => rows.push(attributeRow(s.id, c.name, c.type, i + 1, true, false)));
  }
  for (const r of RELATIONS) {
    r.columns.forEach((c, i) => rows.push(attributeRow(r.oid, c.name, c.type, i + 1, false, false)));
  }
  return rows;
}

// ---------------------------------------------------------------------------------------
// pg_type

export function pgTypeRows(): Row[] {
  return PG_TYPES.map((t) => ({
    oid: oid(t.oid),
    typname: t.typname,
    typnamespace: oid(PG_CATALOG_NAMESPACE_OID),
    typowner: oid(BOOTSTRAP_SUPERUSER_OID),
    typlen: int(t.typlen),
    typbyval: t.typbyval,
    typtype: t.typtype,
    typcategory: t.typcategory,
    typispreferred: t.typispreferred,
    typisdefined: true,
    typdelim: ',',
    typrelid: 0n,
    typsubscript: t.typcategory === 'A' && t.typinput === 'array_in' ? 'array_subscript_handler' : '-',
    typelem: oid(t.typelem),
    typarray: oid(t.typarray),
    typinput: t.typinput,
    typoutput: t.typoutput,
    typreceive: t.typreceive,
    typsend: t.typsend,
    typmodin: t.typmodin,
    typmodout: t.typmodout,
    typanalyze: t.typinput === 'array_in' ? 'array_typanalyze' : '-',
    typalign: t.typalign,
    typstorage: t.typstorage,
    typnotnull: false,
    typbasetype: 0n,
    typtypmod: -1n,
    typndims: 0n,
    typcollation: oid(t.typcollation),
    typdefaultbin: null,
    typdefault: null,
    typacl: null,
  }));
}

// ---------------------------------------------------------------------------------------
// pg_index

/** PostgreSQL's indoption bits: 1 = DESC, 2 = NULLS FIRST (the default with DESC). */
const INDOPTION_DESC = 3;

export function pgIndexRows(snap: CatalogSnapshot): Row[] {
  const rows: Row[] = [];
  for (const t of snap.tables) {
    for (const index of shownIndexes(t)) {
      const ids = indexColumnIds(t, index);
      const keyFacts = index.columnIds.map((id) => typeFacts(columnType(t, id)));
      rows.push({
        indexrelid: oid(indexOid(t.id, index.id)),
        indrelid: oid(t.id),
        indnatts: int(ids.length),
        indnkeyatts: int(index.columnIds.length),
        indisunique: index.unique,
        indnullsnotdistinct: false,
        indisprimary: index.id === t.primaryIndex.id,
        indisexclusion: false,
        indimmediate: true,
        indisclustered: false,
        indisvalid: true,
        indcheckxmin: false,
        indisready: true,
        indislive: true,
        indisreplident: false,
        indkey: ids.map((id) => attnumOf(t, id)).join(' '),
        indcollation: keyFacts.map((f) => f.typcollation).join(' '),
        // Operator classes are not modelled: 0 for each key column.
        indclass: index.columnIds.map(() => '0').join(' '),
        indoption: index.directions.map((d) => (d === 'desc' ? INDOPTION_DESC : 0)).join(' '),
        indexprs: null,
        indpred: null,
      });
    }
  }
  return rows;
}

// ---------------------------------------------------------------------------------------
// pg_constraint

/** Columns a stored expression names (a CHECK's conkey), in table order. */
export function referencedColumnIds(table: TableDescriptor, ast: unknown): number[] {
  const names = new Set<string>();
  const visit = (n: unknown): void => {
    if (n === null || typeof n !== 'object') return;
    if (Array.isArray(n)) {
      n.forEach(visit);
      return;
    }
    const ref = (n as { ColumnRef?: { fields?: unknown[] } }).ColumnRef;
    if (ref !== undefined) {
      const last = ref.fields?.[ref.fields.length - 1] as { String?: { sval?: unknown } } | undefined;
      if (typeof last?.String?.sval === 'string') names.add(last.String.sval);
      return;
    }
    Object.values(n).forEach(visit);
  };
  visit(ast);
  return table.columns.filter((c) => c.hidden !== true && names.has(c.name)).map((c) => c.id);
}

/** The unique index of `referenced` whose key columns are exactly `columnIds` (an FK's conindid). */
export function referencedIndexOid(referenced: TableDescriptor, columnIds: readonly number[]): number {
  const index = shownIndexes(referenced).find(
    (i) => i.unique && i.columnIds.length === columnIds.length && i.columnIds.every((id) => columnIds.includes(id)),
  );
  return index === undefined ? 0 : indexOid(referenced.id, index.id);
}

const CONSTRAINT_DEFAULTS: Row = {
  condeferrable: false,
  condeferred: false,
  convalidated: true,
  contypid: 0n,
  conindid: 0n,
  conparentid: 0n,
  confrelid: 0n,
  confupdtype: ' ',
  confdeltype: ' ',
  confmatchtype: ' ',
  conislocal: true,
  coninhcount: 0n,
  connoinherit: false,
  confkey: null,
  conpfeqop: null,
  conppeqop: null,
  conffeqop: null,
  confdelsetcols: null,
  conexclop: null,
  conbin: null,
};

function constraintRow(snap: CatalogSnapshot, t: TableDescriptor, c: TableConstraint): Row {
  const attnums = (ids: readonly number[], table: TableDescriptor = t): Datum[] => ids.map((id) => int(attnumOf(table, id)));
  const base = { ...CONSTRAINT_DEFAULTS, oid: oid(c.oid), conname: c.name, connamespace: oid(t.schemaId), contype: c.contype, conrelid: oid(t.id) };
  switch (c.contype) {
    case 'p':
    case 'u':
      return { ...base, conindid: oid(indexOid(t.id, c.index.id)), conkey: attnums(c.index.columnIds) };
    case 'c':
      return { ...base, conkey: attnums(referencedColumnIds(t, c.check.expr.ast)), conbin: exprText(c.check.expr) };
    case 'f': {
      const fk = c.foreignKey;
      const referenced = fk.referencedTableId === t.id ? t : snap.tables.find((x) => x.id === fk.referencedTableId);
      assert(referenced !== undefined, `foreign key ${fk.name} references table ${fk.referencedTableId}, not in the snapshot`);
      return {
        ...base,
        conindid: oid(referencedIndexOid(referenced, fk.referencedColumnIds)),
        confrelid: oid(referenced.id),
        confupdtype: actionCode(fk.onUpdate),
        confdeltype: actionCode(fk.onDelete),
        confmatchtype: 's',
        conkey: attnums(fk.columnIds),
        confkey: attnums(fk.referencedColumnIds, referenced),
      };
    }
  }
}

export function pgConstraintRows(snap: CatalogSnapshot): Row[] {
  return snap.tables.flatMap((t) => tableConstraints(t).map((c) => constraintRow(snap, t, c)));
}

// ---------------------------------------------------------------------------------------
// pg_attrdef, pg_depend, pg_sequence

export function pgAttrdefRows(snap: CatalogSnapshot): Row[] {
  const rows: Row[] = [];
  for (const t of snap.tables) {
    for (const { column, attnum } of shownColumns(t)) {
      if (column.defaultExpr !== undefined) {
        rows.push({
          oid: oid(attrdefOid(t.id, attnum)),
          adrelid: oid(t.id),
          adnum: int(attnum),
          adbin: defaultText(column.defaultExpr, column.type),
        });
      }
    }
  }
  return rows;
}

/** A sequence owned by a column depends on it automatically ('a'), as psql's `\d seq` shows. */
export function pgDependRows(snap: CatalogSnapshot): Row[] {
  const rows: Row[] = [];
  for (const t of snap.tables) {
    for (const { column, attnum } of shownColumns(t)) {
      if (column.ownedSequenceId !== undefined) {
        rows.push({
          classid: oid(PG_CLASS_OID),
          objid: oid(column.ownedSequenceId),
          objsubid: 0n,
          refclassid: oid(PG_CLASS_OID),
          refobjid: oid(t.id),
          refobjsubid: int(attnum),
          deptype: 'a',
        });
      }
    }
  }
  return rows;
}

export function pgSequenceRows(snap: CatalogSnapshot): Row[] {
  return snap.sequences.map((s) => ({
    seqrelid: oid(s.id),
    seqtypid: oid(TypeOids[s.dataType]),
    seqstart: s.start,
    seqincrement: s.increment,
    seqmax: s.maxValue,
    seqmin: s.minValue,
    seqcache: s.cache,
    seqcycle: s.cycle,
  }));
}

// ---------------------------------------------------------------------------------------
// Views over them

export function pgTablesRows(snap: CatalogSnapshot): Row[] {
  const owner = snap.database.owner;
  const userTables = snap.tables.map((t) => ({
    schemaname: schemaName(snap, t.schemaId),
    tablename: t.name,
    tableowner: owner,
    hasindexes: shownIndexes(t).length > 0,
  }));
  const catalogTables = RELATIONS.filter((r) => r.relkind === 'r').map((r: VirtualRelation) => ({
    schemaname: r.schema,
    tablename: r.name,
    tableowner: 'root',
    hasindexes: false,
  }));
  return [...userTables, ...catalogTables].map((r) => ({ ...r, tablespace: null, hasrules: false, hastriggers: false, rowsecurity: false }));
}

export function pgIndexesRows(snap: CatalogSnapshot): Row[] {
  return snap.tables.flatMap((t) => {
    const schema = schemaName(snap, t.schemaId);
    return shownIndexes(t).map((index) => ({
      schemaname: schema,
      tablename: t.name,
      indexname: index.name,
      tablespace: null,
      indexdef: pgGetIndexdef(t, index, { schema }),
    }));
  });
}

export function pgViewsRows(): Row[] {
  return RELATIONS.filter((r) => r.relkind === 'v').map((r) => ({ schemaname: r.schema, viewname: r.name, viewowner: 'root', definition: null }));
}

/**
 * `states`: each sequence's stored state by ID. last_value is what the store holds (with
 * CACHE n, possibly past what was handed out, as in PostgreSQL), NULL before the first nextval.
 */
export function pgSequencesRows(snap: CatalogSnapshot, states: ReadonlyMap<number, SequenceState>): Row[] {
  return snap.sequences.map((s: SequenceDescriptor) => {
    const state = states.get(s.id);
    return {
      schemaname: schemaName(snap, s.schemaId),
      sequencename: s.name,
      sequenceowner: snap.database.owner,
      data_type: sequenceTypeName(s.dataType),
      start_value: s.start,
      min_value: s.minValue,
      max_value: s.maxValue,
      increment_by: s.increment,
      cycle: s.cycle,
      cache_size: s.cache,
      last_value: state?.isCalled === true ? state.lastValue : null,
    };
  });
}
