import type { AlterSeqStmt, ColumnDef, Constraint, CreateSeqStmt, CreateStmt, DefElem, IndexElem, IndexStmt, Node, RangeVar } from '@pgsql/types';
import { SqlError, SqlStates } from '../../common/errors';
import type { SqlState } from '../../common/errors';
import type { Catalog, TxnLike } from './catalog/catalog';
import type {
  CheckConstraint,
  ColumnDescriptor,
  DatabaseDescriptor,
  ForeignKeyConstraint,
  IndexDescriptor,
  ReferentialAction,
  SequenceDataType,
  SequenceDescriptor,
  SortDirection,
  StoredExpr,
  TableDescriptor,
} from './catalog/descriptors';
import { PRIMARY_INDEX_ID } from './catalog/descriptors';
import type { SequenceOptionChanges } from './catalog/sequence-options';
import { resolveSequenceOptions } from './catalog/sequence-options';
import { startState } from './catalog/sequence-values';
import type { SessionSequences } from './catalog/session-sequences';
import { codecFor, indexPrefix, tableSpan } from './exec/table-codec';
import { DELETE_PAGE_KEYS, recordDroppedData, recordDroppedIndex } from './catalog/dropped-data';
import { prefixEndOf, sqlSequenceValueKey } from '../../common/keys';
import { stringOf } from './plan/analyze-expr';
import { typeFromTypeName } from './plan/functions-impl';
import { position } from './plan/scope';
import type { Datum, SqlType } from './types/datum';
import { scalarType } from './types/datum';
import { checkKeyEncodable, formatText } from './types';
import { parseQualifiedName } from './virtual';

/**
 * Schema changes: CREATE/DROP DATABASE, TABLE, INDEX and SEQUENCE, ALTER SEQUENCE,
 * TRUNCATE, ALTER TABLE ADD/DROP COLUMN. Each runs inside the session's transaction
 * (PostgreSQL's transactional DDL): descriptors and names are written next to any data
 * change (an index backfill, a table's rows removed), and commit together or not at all.
 * A sequence's value is the exception: it is set outside the transaction, as nextval
 * changes it (catalog/sequence-store.ts).
 */

export interface DdlEnv {
  readonly catalog: Catalog;
  readonly txn: TxnLike;
  readonly database: DatabaseDescriptor;
  readonly schemaId: number;
  readonly user: string;
  /** The statement's text, for keeping expressions' source. */
  readonly sql: string;
  /** The session's sequences: their values (set outside the transaction) and its caches of them. */
  readonly sequences: Pick<SessionSequences, 'readState' | 'writeState' | 'forget'>;
  /** A NOTICE for the client (IF [NOT] EXISTS skipping, DROP ... CASCADE). */
  readonly notice: (sqlState: SqlState, message: string) => void;
}

const MAX_NAME_BYTES = 63;
const MAX_COLUMNS = 1600;

export async function createDatabase(catalog: Catalog, txn: TxnLike, name: string, owner: string): Promise<void> {
  checkName(name);
  const id = await catalog.allocateId();
  const schemaId = await catalog.allocateId();
  await catalog.createName(txn, 0, name, id, new SqlError(SqlStates.duplicateDatabase, `database "${name}" already exists`));
  await catalog.writeDescriptor(txn, { kind: 'database', id, name, version: 1, owner });
  await catalog.createName(txn, id, 'public', schemaId, new SqlError(SqlStates.duplicateSchema, 'schema "public" already exists'));
  await catalog.writeDescriptor(txn, { kind: 'schema', id: schemaId, name: 'public', parentId: id, version: 1 });
}

export async function dropDatabase(catalog: Catalog, txn: TxnLike, name: string, missingOk: boolean, current: string): Promise<boolean> {
  const db = await catalog.database(txn, name);
  if (db === undefined) {
    if (missingOk) return false;
    throw new SqlError(SqlStates.invalidCatalogName, `database "${name}" does not exist`);
  }
  if (name === current) {
    throw new SqlError(SqlStates.objectInUse, 'cannot drop the currently open database');
  }
  for (const schema of await catalog.list(txn, db.id)) {
    for (const rel of await catalog.list(txn, schema.id)) {
      const desc = await catalog.descriptor(txn, rel.id);
      if (desc?.kind === 'table') await recordDroppedData(txn, desc.id);
      await catalog.dropName(txn, schema.id, rel.name);
      await catalog.deleteDescriptor(txn, rel.id);
    }
    await catalog.dropName(txn, db.id, schema.name);
    await catalog.deleteDescriptor(txn, schema.id);
  }
  await catalog.dropName(txn, 0, name);
  await catalog.deleteDescriptor(txn, db.id);
  return true;
}

/** CREATE TABLE; returns false when IF NOT EXISTS found the table. */
export async function createTable(env: DdlEnv, stmt: CreateStmt): Promise<boolean> {
  const rv = stmt.relation as RangeVar;
  checkSchema(rv);
  const name = rv.relname as string;
  checkName(name);
  if (stmt.inhRelations !== undefined || stmt.partspec !== undefined || stmt.ofTypename !== undefined) {
    throw new SqlError(SqlStates.featureNotSupported, 'table inheritance, partitioning and typed tables are not supported');
  }
  if ((await env.catalog.relation(env.txn, env.schemaId, name)) !== undefined) {
    if (stmt.if_not_exists === true) return false;
    throw new SqlError(SqlStates.duplicateTable, `relation "${name}" already exists`, position(rv.location));
  }
  const columns: ColumnDescriptor[] = [];
  const tableConstraints: Constraint[] = [];
  let nextColumnId = 1;
  for (const elt of stmt.tableElts ?? []) {
    if ('ColumnDef' in elt) {
      const def = elt.ColumnDef;
      const col = columnFromDef(env, def, nextColumnId++);
      if (columns.some((c) => c.name === col.name)) {
        throw new SqlError(SqlStates.duplicateColumn, `column "${col.name}" specified more than once`);
      }
      columns.push(col);
      for (const c of def.constraints ?? []) {
        const con = (c as { Constraint: Constraint }).Constraint;
        if (['CONSTR_PRIMARY', 'CONSTR_UNIQUE', 'CONSTR_CHECK', 'CONSTR_FOREIGN'].includes(con.contype ?? '')) {
          // Column constraints are table constraints on that one column.
          tableConstraints.push(
            con.contype === 'CONSTR_FOREIGN'
              ? { ...con, fk_attrs: [{ String: { sval: col.name } }] }
              : con.contype === 'CONSTR_CHECK'
                ? con
                : { ...con, keys: [{ String: { sval: col.name } }] },
          );
        }
      }
    } else if ('Constraint' in elt) {
      tableConstraints.push(elt.Constraint);
    } else {
      throw new SqlError(SqlStates.featureNotSupported, `table element ${Object.keys(elt)[0]} is not supported`);
    }
  }
  if (columns.length > MAX_COLUMNS) {
    throw new SqlError(SqlStates.tooManyColumns, `tables can have at most ${MAX_COLUMNS} columns`);
  }
  for (const col of columns) {
    if (col.defaultExpr !== undefined) await checkSequenceReferences(env, col.defaultExpr.ast);
  }
  const id = await env.catalog.allocateId();
  const findCol = (colName: string): ColumnDescriptor => {
    const col = columns.find((c) => c.name === colName);
    if (col === undefined) {
      throw new SqlError(SqlStates.undefinedColumn, `column "${colName}" named in key does not exist`);
    }
    return col;
  };
  // Primary key (or a hidden rowid).
  const pks = tableConstraints.filter((c) => c.contype === 'CONSTR_PRIMARY');
  if (pks.length > 1) {
    throw new SqlError(SqlStates.invalidTableDefinition, `multiple primary keys for table "${name}" are not allowed`);
  }
  let primaryIndex: IndexDescriptor;
  const pk = pks[0];
  if (pk !== undefined) {
    const keyCols = (pk.keys ?? []).map((k) => findCol(stringOf(k)));
    for (const col of keyCols) {
      const i = columns.indexOf(col);
      columns[i] = { ...col, nullable: false };
      checkKeyable(col);
    }
    const conname = pk.conname ?? `${name}_pkey`;
    primaryIndex = {
      id: PRIMARY_INDEX_ID,
      name: conname,
      unique: true,
      columnIds: keyCols.map((c) => c.id),
      directions: keyCols.map(() => 'asc'),
      storeColumnIds: [],
      constraintName: conname,
    };
  } else {
    const rowid: ColumnDescriptor = {
      id: nextColumnId++,
      name: uniqueColumnName(columns, 'rowid'),
      type: scalarType('int8'),
      nullable: false,
      hidden: true,
      defaultExpr: uniqueRowidDefault(),
    };
    columns.push(rowid);
    primaryIndex = { id: PRIMARY_INDEX_ID, name: `${name}_pkey`, unique: true, columnIds: [rowid.id], directions: ['asc'], storeColumnIds: [] };
  }
  // Unique constraints become unique indexes.
  const indexes: IndexDescriptor[] = [];
  let nextIndexId = PRIMARY_INDEX_ID + 1;
  for (const uq of tableConstraints.filter((c) => c.contype === 'CONSTR_UNIQUE')) {
    const keyCols = (uq.keys ?? []).map((k) => findCol(stringOf(k)));
    keyCols.forEach(checkKeyable);
    const conname = uq.conname ?? uniqueIndexName(indexes, `${name}_${keyCols.map((c) => c.name).join('_')}_key`);
    indexes.push({
      id: nextIndexId++,
      name: conname,
      unique: true,
      columnIds: keyCols.map((c) => c.id),
      directions: keyCols.map(() => 'asc'),
      storeColumnIds: [],
      constraintName: conname,
    });
  }
  const checks: CheckConstraint[] = [];
  for (const ck of tableConstraints.filter((c) => c.contype === 'CONSTR_CHECK')) {
    checks.push({
      name: ck.conname ?? uniqueCheckName(checks, `${name}_${checkColumnHint(ck.raw_expr, columns)}_check`),
      expr: storedExpr(ck.raw_expr as Node, env.sql),
    });
  }
  const foreignKeys: ForeignKeyConstraint[] = [];
  for (const fk of tableConstraints.filter((c) => c.contype === 'CONSTR_FOREIGN')) {
    foreignKeys.push(await foreignKey(env, fk, name, id, columns, primaryIndex, indexes));
  }
  const table: TableDescriptor = {
    kind: 'table',
    id,
    name,
    version: 1,
    parentId: env.database.id,
    schemaId: env.schemaId,
    columns,
    nextColumnId,
    primaryIndex,
    indexes,
    nextIndexId,
    checks,
    foreignKeys,
  };
  await env.catalog.createName(env.txn, env.schemaId, name, id, new SqlError(SqlStates.duplicateTable, `relation "${name}" already exists`));
  await env.catalog.writeDescriptor(env.txn, table);
  return true;
}

function columnFromDef(env: DdlEnv, def: ColumnDef, id: number): ColumnDescriptor {
  const name = def.colname as string;
  checkName(name);
  const typeNames = (def.typeName?.names ?? []).map(stringOf);
  const last = (typeNames[typeNames.length - 1] ?? '').toLowerCase();
  const serial = ['serial', 'serial4', 'bigserial', 'serial8', 'smallserial', 'serial2'].includes(last);
  // serial columns draw from unique_rowid(), as CockroachDB does by default: unique and
  // increasing per gateway without a sequence round trip per row; the type is int8.
  const type: SqlType = serial ? scalarType('int8') : typeFromTypeName(def.typeName as NonNullable<ColumnDef['typeName']>);
  let nullable = !(def.is_not_null === true) && !serial;
  let defaultExpr: StoredExpr | undefined = serial ? uniqueRowidDefault() : undefined;
  for (const c of def.constraints ?? []) {
    const con = (c as { Constraint: Constraint }).Constraint;
    switch (con.contype) {
      case 'CONSTR_NOTNULL':
        nullable = false;
        break;
      case 'CONSTR_NULL':
        nullable = true;
        break;
      case 'CONSTR_DEFAULT':
        defaultExpr = storedExpr(con.raw_expr as Node, env.sql);
        break;
      case 'CONSTR_IDENTITY':
        nullable = false;
        defaultExpr = uniqueRowidDefault();
        break;
      case 'CONSTR_GENERATED':
        throw new SqlError(SqlStates.featureNotSupported, 'generated columns are not supported');
      default:
        break;
    }
  }
  if (def.collClause !== undefined) {
    const coll = (def.collClause.collname ?? []).map(stringOf).join('.');
    if (!['C', 'POSIX', 'default'].includes(coll)) {
      throw new SqlError(SqlStates.undefinedObject, `collation "${coll}" for encoding "UTF8" does not exist`);
    }
  }
  return { id, name, type, nullable, ...(defaultExpr === undefined ? {} : { defaultExpr }) };
}

async function foreignKey(
  env: DdlEnv,
  fk: Constraint,
  tableName: string,
  tableId: number,
  columns: readonly ColumnDescriptor[],
  primaryIndex: IndexDescriptor,
  indexes: readonly IndexDescriptor[],
): Promise<ForeignKeyConstraint> {
  const refName = fk.pktable?.relname as string;
  if ((fk.fk_del_set_cols ?? []).length > 0) {
    throw new SqlError(SqlStates.featureNotSupported, 'ON DELETE SET NULL / SET DEFAULT with a column list is not supported');
  }
  const fkCols = (fk.fk_attrs ?? []).map((n) => {
    const col = columns.find((c) => c.name === stringOf(n));
    if (col === undefined) throw new SqlError(SqlStates.undefinedColumn, `column "${stringOf(n)}" referenced in foreign key constraint does not exist`);
    return col;
  });
  let refTable: TableDescriptor;
  let refColumns: readonly ColumnDescriptor[];
  if (refName === tableName) {
    refTable = { kind: 'table', id: tableId, name: tableName, columns, primaryIndex, indexes } as unknown as TableDescriptor;
  } else {
    const desc = await env.catalog.relation(env.txn, env.schemaId, refName);
    if (desc?.kind !== 'table') {
      throw new SqlError(SqlStates.undefinedTable, `relation "${refName}" does not exist`);
    }
    refTable = desc;
  }
  if ((fk.pk_attrs ?? []).length === 0) {
    refColumns = refTable.primaryIndex.columnIds.map((id) => refTable.columns.find((c) => c.id === id) as ColumnDescriptor);
  } else {
    refColumns = (fk.pk_attrs ?? []).map((n) => {
      const col = refTable.columns.find((c) => c.name === stringOf(n));
      if (col === undefined) throw new SqlError(SqlStates.undefinedColumn, `column "${stringOf(n)}" referenced in foreign key constraint does not exist`);
      return col;
    });
  }
  if (refColumns.length !== fkCols.length) {
    throw new SqlError(SqlStates.invalidForeignKey, 'number of referencing and referenced columns for foreign key disagree');
  }
  const refIds = refColumns.map((c) => c.id);
  const unique = [refTable.primaryIndex, ...refTable.indexes].some((i) => i.unique && i.columnIds.length === refIds.length && i.columnIds.every((id) => refIds.includes(id)));
  if (!unique) {
    throw new SqlError(SqlStates.invalidForeignKey, `there is no unique constraint matching given keys for referenced table "${refName}"`);
  }
  return {
    name: fk.conname ?? `${tableName}_${fkCols.map((c) => c.name).join('_')}_fkey`,
    columnIds: fkCols.map((c) => c.id),
    referencedTableId: refTable.id,
    referencedColumnIds: refIds,
    onDelete: referentialAction(fk.fk_del_action),
    onUpdate: referentialAction(fk.fk_upd_action),
  };
}

function referentialAction(code: string | undefined): ReferentialAction {
  switch (code) {
    case 'r':
      return 'restrict';
    case 'c':
      return 'cascade';
    case 'n':
      return 'set null';
    case 'd':
      return 'set default';
    default:
      return 'no action';
  }
}

/** DROP TABLE: the rows, then the name and descriptor. */
export async function dropTable(env: DdlEnv, rv: RangeVar, missingOk: boolean): Promise<boolean> {
  checkSchema(rv);
  const name = rv.relname as string;
  const desc = await env.catalog.relation(env.txn, env.schemaId, name);
  if (desc === undefined) {
    if (missingOk) return false;
    throw new SqlError(SqlStates.undefinedTable, `table "${name}" does not exist`);
  }
  if (desc.kind !== 'table') {
    throw new SqlError(SqlStates.wrongObjectType, `"${name}" is not a table`, { hint: 'Use DROP SEQUENCE to remove a sequence.' });
  }
  for (const entry of await env.catalog.list(env.txn, env.schemaId)) {
    const other = await env.catalog.descriptor(env.txn, entry.id);
    if (other?.kind === 'table' && other.id !== desc.id && other.foreignKeys.some((fk) => fk.referencedTableId === desc.id)) {
      throw new SqlError(SqlStates.dependentObjectsStillExist, `cannot drop table ${name} because other objects depend on it`, {
        detail: `constraint on table ${other.name} depends on table ${name}`,
      });
    }
  }
  // The rows are cleared once the DROP commits (catalog/dropped-data.ts).
  await recordDroppedData(env.txn, desc.id);
  await env.catalog.dropName(env.txn, env.schemaId, name);
  await env.catalog.deleteDescriptor(env.txn, desc.id);
  // Sequences owned by its columns (OWNED BY) go with it, as in PostgreSQL.
  for (const col of desc.columns) {
    const owned = col.ownedSequenceId === undefined ? undefined : await env.catalog.descriptor(env.txn, col.ownedSequenceId);
    if (owned?.kind === 'sequence') await removeSequence(env, owned);
  }
  return true;
}

/**
 * TRUNCATE t1, t2, ... [CASCADE]: a table referenced by a foreign key may only be
 * emptied together with the referencing tables — named in the same statement, or
 * added by CASCADE (transitively, with a NOTICE each), as in PostgreSQL.
 */
export async function truncateTables(env: DdlEnv, relations: readonly RangeVar[], cascade: boolean): Promise<void> {
  const tables = new Map<number, TableDescriptor>();
  for (const rv of relations) {
    checkSchema(rv);
    const desc = await env.catalog.relation(env.txn, env.schemaId, rv.relname as string);
    if (desc?.kind !== 'table') {
      throw new SqlError(SqlStates.undefinedTable, `relation "${rv.relname}" does not exist`);
    }
    tables.set(desc.id, desc);
  }
  const others: TableDescriptor[] = [];
  for (const entry of await env.catalog.list(env.txn, env.schemaId)) {
    const other = await env.catalog.descriptor(env.txn, entry.id);
    if (other?.kind === 'table') others.push(other);
  }
  for (let grown = true; grown; ) {
    grown = false;
    for (const other of others) {
      if (tables.has(other.id)) continue;
      const fk = other.foreignKeys.find((f) => tables.has(f.referencedTableId));
      if (fk === undefined) continue;
      const referenced = tables.get(fk.referencedTableId) as TableDescriptor;
      if (!cascade) {
        throw new SqlError(SqlStates.featureNotSupported, 'cannot truncate a table referenced in a foreign key constraint', {
          detail: `Table "${other.name}" references "${referenced.name}".`,
          hint: `Truncate table "${other.name}" at the same time, or use TRUNCATE ... CASCADE.`,
        });
      }
      env.notice(SqlStates.successfulCompletion, `truncate cascades to table "${other.name}"`);
      tables.set(other.id, other);
      grown = true;
    }
  }
  for (const table of tables.values()) {
    const span = tableSpan(table.id);
    await deleteSpan(env.txn, span.startKey, span.endKey);
  }
}

/**
 * Deletes every row in [start, end) in chunks of at most DELETE_PAGE_KEYS keys: one
 * DeleteRange over a large table writes a tombstone intent per key in a single command,
 * which can exceed the largest Raft entry a node accepts.
 */
export async function deleteSpan(txn: TxnLike, start: Buffer, end: Buffer): Promise<void> {
  let from = start;
  for (;;) {
    const page = await txn.scan(from, end, { maxKeys: DELETE_PAGE_KEYS });
    const resume = page.resumeSpan?.startKey;
    if (page.rows.length > 0) await txn.deleteRange(from, resume ?? end);
    if (resume === undefined) return;
    from = resume;
  }
}

/** CREATE [UNIQUE] INDEX: the descriptor, then a backfill of every row's entry. */
export async function createIndex(env: DdlEnv, stmt: IndexStmt): Promise<boolean> {
  const rv = stmt.relation as RangeVar;
  checkSchema(rv);
  const table = await env.catalog.relation(env.txn, env.schemaId, rv.relname as string);
  if (table?.kind !== 'table') {
    throw new SqlError(SqlStates.undefinedTable, `relation "${rv.relname}" does not exist`);
  }
  if (stmt.whereClause !== undefined) {
    throw new SqlError(SqlStates.featureNotSupported, 'partial indexes are not supported');
  }
  if (stmt.accessMethod !== undefined && stmt.accessMethod !== 'btree') {
    throw new SqlError(SqlStates.featureNotSupported, `access method "${stmt.accessMethod}" is not supported`);
  }
  const elems = (stmt.indexParams ?? []).map((n) => (n as { IndexElem: IndexElem }).IndexElem);
  const columns: ColumnDescriptor[] = [];
  const directions: SortDirection[] = [];
  for (const e of elems) {
    if (e.expr !== undefined || e.name === undefined) {
      throw new SqlError(SqlStates.featureNotSupported, 'expression indexes are not supported');
    }
    const col = table.columns.find((c) => c.name === e.name);
    if (col === undefined) {
      throw new SqlError(SqlStates.undefinedColumn, `column "${e.name}" does not exist`);
    }
    checkKeyable(col);
    columns.push(col);
    directions.push(e.ordering === 'SORTBY_DESC' ? 'desc' : 'asc');
  }
  const including = (stmt.indexIncludingParams ?? []).map((n) => {
    const e = (n as { IndexElem: IndexElem }).IndexElem;
    const col = table.columns.find((c) => c.name === e.name);
    if (col === undefined) throw new SqlError(SqlStates.undefinedColumn, `column "${e.name}" does not exist`);
    return col.id;
  });
  const name = stmt.idxname ?? uniqueIndexName([table.primaryIndex, ...table.indexes], `${table.name}_${columns.map((c) => c.name).join('_')}_idx`);
  checkName(name);
  const allNames = await env.catalog.list(env.txn, env.schemaId);
  const tables = await Promise.all(allNames.map((e) => env.catalog.descriptor(env.txn, e.id)));
  const taken = allNames.some((e) => e.name === name) || tables.some((d) => d?.kind === 'table' && [d.primaryIndex, ...d.indexes].some((i) => i.name === name));
  if (taken) {
    if (stmt.if_not_exists === true) return false;
    throw new SqlError(SqlStates.duplicateTable, `relation "${name}" already exists`);
  }
  const index: IndexDescriptor = {
    id: table.nextIndexId,
    name,
    unique: stmt.unique === true,
    columnIds: columns.map((c) => c.id),
    directions,
    storeColumnIds: including,
  };
  const updated: TableDescriptor = { ...table, version: table.version + 1, indexes: [...table.indexes, index], nextIndexId: table.nextIndexId + 1 };
  await backfillIndex(env, updated, index);
  await env.catalog.writeDescriptor(env.txn, updated);
  return true;
}

async function backfillIndex(env: DdlEnv, table: TableDescriptor, index: IndexDescriptor): Promise<void> {
  const codec = codecFor(table);
  const seen = new Set<string>();
  const start = codec.primaryPrefix;
  const span = { startKey: start, endKey: prefixEndOf(start) };
  let from = span.startKey;
  for (;;) {
    const page = await env.txn.scan(from, span.endKey, { maxKeys: 1000 });
    for (const kv of page.rows) {
      const row = codec.decodeRow(kv.key, kv.value);
      if (index.unique && index.columnIds.every((id) => row[codec.positionOf.get(id) as number] !== null)) {
        const prefix = codec.indexValuesPrefix(index, row).toString('latin1');
        if (seen.has(prefix)) {
          throw new SqlError(SqlStates.uniqueViolation, `could not create unique index "${index.name}"`, { detail: 'Key is duplicated.' });
        }
        seen.add(prefix);
      }
      await env.txn.put(codec.indexKey(index, row), codec.indexValue(index, row));
    }
    if (page.resumeSpan === undefined) return;
    from = page.resumeSpan.startKey;
  }
}

export async function dropIndex(env: DdlEnv, names: readonly string[], missingOk: boolean): Promise<boolean> {
  const name = names[names.length - 1] as string;
  for (const entry of await env.catalog.list(env.txn, env.schemaId)) {
    const desc = await env.catalog.descriptor(env.txn, entry.id);
    if (desc?.kind !== 'table') continue;
    if (desc.primaryIndex.name === name) {
      throw new SqlError(SqlStates.dependentObjectsStillExist, `cannot drop index ${name} because constraint ${name} on table ${desc.name} requires it`);
    }
    const index = desc.indexes.find((i) => i.name === name);
    if (index === undefined) continue;
    if (index.constraintName !== undefined) {
      throw new SqlError(SqlStates.dependentObjectsStillExist, `cannot drop index ${name} because constraint ${index.constraintName} on table ${desc.name} requires it`);
    }
    // Its entries are cleared once this commits (dropped-data.ts): no intent per entry.
    await recordDroppedIndex(env.txn, desc.id, index.id);
    await env.catalog.writeDescriptor(env.txn, { ...desc, version: desc.version + 1, indexes: desc.indexes.filter((i) => i !== index) });
    return true;
  }
  if (missingOk) return false;
  throw new SqlError(SqlStates.undefinedObject, `index "${name}" does not exist`);
}

/** ALTER TABLE ADD COLUMN / DROP COLUMN / ALTER COLUMN SET/DROP DEFAULT / SET/DROP NOT NULL. */
export async function alterTable(env: DdlEnv, rv: RangeVar, cmds: readonly Node[], missingOk: boolean): Promise<boolean> {
  checkSchema(rv);
  const found = await env.catalog.relation(env.txn, env.schemaId, rv.relname as string);
  if (found === undefined) {
    if (missingOk) return false;
    throw new SqlError(SqlStates.undefinedTable, `relation "${rv.relname}" does not exist`);
  }
  if (found.kind !== 'table') {
    throw new SqlError(SqlStates.wrongObjectType, `"${rv.relname}" is not a table`);
  }
  let table: TableDescriptor = found;
  for (const node of cmds) {
    const cmd = (node as { AlterTableCmd: import('@pgsql/types').AlterTableCmd }).AlterTableCmd;
    switch (cmd.subtype) {
      case 'AT_AddColumn': {
        const def = (cmd.def as { ColumnDef: ColumnDef }).ColumnDef;
        if (table.columns.some((c) => c.name === def.colname)) {
          if (cmd.missing_ok === true) continue;
          throw new SqlError(SqlStates.duplicateColumn, `column "${def.colname}" of relation "${table.name}" already exists`);
        }
        const col = columnFromDef(env, def, table.nextColumnId);
        if (col.defaultExpr !== undefined) await checkSequenceReferences(env, col.defaultExpr.ast);
        if ((def.constraints ?? []).some((c) => ['CONSTR_PRIMARY', 'CONSTR_UNIQUE', 'CONSTR_FOREIGN', 'CONSTR_CHECK'].includes((c as { Constraint: Constraint }).Constraint.contype ?? ''))) {
          throw new SqlError(SqlStates.featureNotSupported, 'constraints on an added column are not supported yet');
        }
        if (col.defaultExpr !== undefined || !col.nullable) {
          // Existing rows would need a backfill of the default: not yet.
          const { rows } = await env.txn.scan(codecFor(table).primaryPrefix, prefixEndOf(codecFor(table).primaryPrefix), { maxKeys: 1 });
          if (rows.length > 0) {
            throw new SqlError(SqlStates.featureNotSupported, 'adding a column with a default or NOT NULL to a table with rows is not supported yet');
          }
        }
        table = { ...table, columns: [...table.columns, col], nextColumnId: table.nextColumnId + 1 };
        break;
      }
      case 'AT_DropColumn': {
        const col = table.columns.find((c) => c.name === cmd.name);
        if (col === undefined) {
          if (cmd.missing_ok === true) continue;
          throw new SqlError(SqlStates.undefinedColumn, `column "${cmd.name}" of relation "${table.name}" does not exist`);
        }
        if ([table.primaryIndex, ...table.indexes].some((i) => i.columnIds.includes(col.id) || i.storeColumnIds.includes(col.id))) {
          throw new SqlError(SqlStates.dependentObjectsStillExist, `cannot drop column ${col.name} of table ${table.name} because an index depends on it`);
        }
        // Old rows keep the value under the column's ID; decoding skips unknown IDs.
        table = { ...table, columns: table.columns.filter((c) => c !== col) };
        break;
      }
      case 'AT_ColumnDefault': {
        const col = requireColumn(table, cmd.name as string);
        const rest: ColumnDescriptor = {
          id: col.id,
          name: col.name,
          type: col.type,
          nullable: col.nullable,
          ...(col.hidden === undefined ? {} : { hidden: col.hidden }),
          ...(col.ownedSequenceId === undefined ? {} : { ownedSequenceId: col.ownedSequenceId }),
        };
        if (cmd.def !== undefined) await checkSequenceReferences(env, cmd.def);
        const updated: ColumnDescriptor = cmd.def === undefined ? rest : { ...rest, defaultExpr: storedExpr(cmd.def, env.sql) };
        table = { ...table, columns: table.columns.map((c) => (c === col ? updated : c)) };
        break;
      }
      case 'AT_DropNotNull': {
        const col = requireColumn(table, cmd.name as string);
        if (table.primaryIndex.columnIds.includes(col.id)) {
          throw new SqlError(SqlStates.invalidTableDefinition, `column "${col.name}" is in a primary key`);
        }
        table = { ...table, columns: table.columns.map((c) => (c === col ? { ...c, nullable: true } : c)) };
        break;
      }
      case 'AT_SetNotNull': {
        const col = requireColumn(table, cmd.name as string);
        table = { ...table, columns: table.columns.map((c) => (c === col ? { ...c, nullable: false } : c)) };
        await verifyNotNull(env, table, col);
        break;
      }
      case 'AT_AddConstraint':
        table = await addConstraint(env, table, (cmd.def as { Constraint: Constraint }).Constraint);
        break;
      default:
        throw new SqlError(SqlStates.featureNotSupported, `ALTER TABLE ${String(cmd.subtype).replace('AT_', '')} is not supported`);
    }
  }
  await env.catalog.writeDescriptor(env.txn, { ...table, version: found.version + 1 });
  return true;
}

// ---------------------------------------------------------------------------------------
// Sequences

/** CREATE SEQUENCE; false when IF NOT EXISTS found the name taken. */
export async function createSequence(env: DdlEnv, stmt: CreateSeqStmt): Promise<boolean> {
  const rv = stmt.sequence as RangeVar;
  checkSchema(rv);
  const name = rv.relname as string;
  checkName(name);
  const duplicate = new SqlError(SqlStates.duplicateTable, `relation "${name}" already exists`, position(rv.location));
  if ((await env.catalog.relation(env.txn, env.schemaId, name)) !== undefined) {
    if (stmt.if_not_exists !== true) throw duplicate;
    env.notice(SqlStates.duplicateTable, `relation "${name}" already exists, skipping`);
    return false;
  }
  const parsed = sequenceOptionChanges(stmt.options ?? []);
  const { options, restartAt } = resolveSequenceOptions(parsed.changes);
  const id = await env.catalog.allocateId();
  const seq: SequenceDescriptor = { kind: 'sequence', id, name, version: 1, parentId: env.database.id, schemaId: env.schemaId, ...options };
  await env.catalog.createName(env.txn, env.schemaId, name, id, duplicate);
  await env.catalog.writeDescriptor(env.txn, seq);
  if (parsed.ownedBy !== undefined) await setSequenceOwner(env, seq, parsed.ownedBy);
  // Written now, outside the transaction: the key is the sequence's own from the start
  // (its ID is never reused), so an ALTER ... START WITH later does not move it.
  await env.sequences.writeState(seq, startState(restartAt ?? seq.start));
  return true;
}

/** ALTER SEQUENCE; false when IF EXISTS found no such relation. */
export async function alterSequence(env: DdlEnv, stmt: AlterSeqStmt): Promise<boolean> {
  const rv = stmt.sequence as RangeVar;
  checkSchema(rv);
  const name = rv.relname as string;
  const found = await env.catalog.relation(env.txn, env.schemaId, name);
  if (found === undefined) {
    if (stmt.missing_ok !== true) throw new SqlError(SqlStates.undefinedTable, `relation "${name}" does not exist`, position(rv.location));
    env.notice(SqlStates.successfulCompletion, `relation "${name}" does not exist, skipping`);
    return false;
  }
  if (found.kind !== 'sequence') {
    throw new SqlError(SqlStates.wrongObjectType, `"${name}" is not a sequence`);
  }
  const parsed = sequenceOptionChanges(stmt.options ?? []);
  const current = await env.sequences.readState(found);
  const { options, restartAt } = resolveSequenceOptions(parsed.changes, { options: found, lastValue: current.lastValue });
  const seq: SequenceDescriptor = { ...found, ...options, version: found.version + 1 };
  await env.catalog.writeDescriptor(env.txn, seq);
  if (parsed.ownedBy !== undefined) await setSequenceOwner(env, seq, parsed.ownedBy);
  // RESTART takes effect at once, like setval: nextval never waits on a transaction.
  if (restartAt !== undefined) await env.sequences.writeState(seq, startState(restartAt));
  env.sequences.forget(seq.id);
  return true;
}

/**
 * DROP SEQUENCE name (one of the statement's list). A column default that calls it is a
 * dependency (2BP01); CASCADE drops such defaults. False when IF EXISTS found nothing.
 */
export async function dropSequence(env: DdlEnv, names: readonly string[], missingOk: boolean, cascade: boolean): Promise<boolean> {
  const name = names[names.length - 1] as string;
  const schema = names.length > 1 ? names[names.length - 2] : undefined;
  if (schema !== undefined && schema !== 'public') {
    throw new SqlError(SqlStates.invalidSchemaName, `schema "${schema}" does not exist`);
  }
  const seq = await env.catalog.relation(env.txn, env.schemaId, name);
  if (seq === undefined) {
    if (!missingOk) throw new SqlError(SqlStates.undefinedTable, `sequence "${name}" does not exist`);
    env.notice(SqlStates.successfulCompletion, `sequence "${name}" does not exist, skipping`);
    return false;
  }
  if (seq.kind !== 'sequence') {
    throw new SqlError(SqlStates.wrongObjectType, `"${name}" is not a sequence`, { hint: 'Use DROP TABLE to remove a table.' });
  }
  const dependents: { table: TableDescriptor; column: ColumnDescriptor }[] = [];
  const owners: TableDescriptor[] = [];
  for (const entry of await env.catalog.list(env.txn, env.schemaId)) {
    const table = await env.catalog.descriptor(env.txn, entry.id);
    if (table?.kind !== 'table') continue;
    for (const column of table.columns) {
      if (column.defaultExpr !== undefined && sequenceReferences(column.defaultExpr.ast).some((ref) => refersTo(ref, seq))) {
        dependents.push({ table, column });
      }
    }
    if (table.columns.some((c) => c.ownedSequenceId === seq.id)) owners.push(table);
  }
  const what = dependents.map((d) => `default value for column ${d.column.name} of table ${d.table.name}`);
  if (dependents.length > 0 && !cascade) {
    throw new SqlError(SqlStates.dependentObjectsStillExist, `cannot drop sequence ${name} because other objects depend on it`, {
      detail: what.map((w) => `${w} depends on sequence ${name}`).join('\n'),
      hint: 'Use DROP ... CASCADE to drop the dependent objects too.',
    });
  }
  if (dependents.length > 0) {
    env.notice(SqlStates.successfulCompletion, what.length === 1 ? `drop cascades to ${what[0] as string}` : `drop cascades to ${what.length} other objects`);
  }
  // The defaults go (CASCADE), and OWNED BY links with them.
  const changed = new Set([...dependents.map((d) => d.table), ...owners]);
  for (const table of changed) {
    const columns = table.columns.map((c) => {
      const dropDefault = dependents.some((d) => d.column === c);
      if (!dropDefault && c.ownedSequenceId !== seq.id) return c;
      const { defaultExpr, ownedSequenceId, ...rest } = c;
      return {
        ...rest,
        ...(dropDefault || defaultExpr === undefined ? {} : { defaultExpr }),
        ...(ownedSequenceId === undefined || ownedSequenceId === seq.id ? {} : { ownedSequenceId }),
      };
    });
    await env.catalog.writeDescriptor(env.txn, { ...table, columns, version: table.version + 1 });
  }
  await removeSequence(env, seq);
  return true;
}

/** The sequence's name, descriptor and value go (the value in the transaction: a rollback keeps it). */
async function removeSequence(env: DdlEnv, seq: SequenceDescriptor): Promise<void> {
  await env.catalog.dropName(env.txn, seq.schemaId, seq.name);
  await env.catalog.deleteDescriptor(env.txn, seq.id);
  await env.txn.delete(sqlSequenceValueKey(seq.id));
  env.sequences.forget(seq.id);
}

/**
 * OWNED BY table.column or NONE: the column (one at most) records the sequence, which
 * then goes with its table.
 */
async function setSequenceOwner(env: DdlEnv, seq: SequenceDescriptor, ownedBy: readonly string[]): Promise<void> {
  const none = ownedBy.length === 1 && ownedBy[0] === 'none';
  if (!none && ownedBy.length < 2) {
    throw new SqlError(SqlStates.syntaxError, 'invalid OWNED BY option', { hint: 'Specify OWNED BY table.column or OWNED BY NONE.' });
  }
  const tableName = none ? undefined : (ownedBy[ownedBy.length - 2] as string);
  const columnName = none ? undefined : (ownedBy[ownedBy.length - 1] as string);
  const schema = ownedBy.length > 2 ? ownedBy[ownedBy.length - 3] : undefined;
  if (schema !== undefined && schema !== 'public') {
    throw new SqlError(SqlStates.featureNotSupported, 'sequence must be in same schema as table it is linked to');
  }
  let target: TableDescriptor | undefined;
  if (tableName !== undefined) {
    const found = await env.catalog.relation(env.txn, env.schemaId, tableName);
    if (found === undefined) throw new SqlError(SqlStates.undefinedTable, `relation "${tableName}" does not exist`);
    if (found.kind !== 'table') throw new SqlError(SqlStates.wrongObjectType, `referenced relation "${tableName}" is not a table`);
    target = found;
    requireColumn(found, columnName as string);
  }
  for (const entry of await env.catalog.list(env.txn, env.schemaId)) {
    const table = await env.catalog.descriptor(env.txn, entry.id);
    if (table?.kind !== 'table') continue;
    const owns = table.columns.some((c) => c.ownedSequenceId === seq.id);
    if (!owns && table.id !== target?.id) continue;
    const columns = table.columns.map((c): ColumnDescriptor => {
      if (table.id === target?.id && c.name === columnName) return { ...c, ownedSequenceId: seq.id };
      if (c.ownedSequenceId !== seq.id) return c;
      return withoutOwner(c);
    });
    await env.catalog.writeDescriptor(env.txn, { ...table, columns, version: table.version + 1 });
  }
}

function withoutOwner(column: ColumnDescriptor): ColumnDescriptor {
  const { ownedSequenceId, ...rest } = column;
  return ownedSequenceId === undefined ? column : rest;
}

/** CREATE / ALTER SEQUENCE options as written, checked for repeats (42601) and integer syntax. */
function sequenceOptionChanges(nodes: readonly Node[]): { changes: SequenceOptionChanges; ownedBy?: string[] } {
  const changes: { -readonly [K in keyof SequenceOptionChanges]: SequenceOptionChanges[K] } = {};
  let ownedBy: string[] | undefined;
  const seen = new Set<string>();
  for (const node of nodes) {
    const def = (node as { DefElem: DefElem }).DefElem;
    const name = def.defname ?? '';
    if (seen.has(name)) throw new SqlError(SqlStates.syntaxError, 'conflicting or redundant options', position(def.location));
    seen.add(name);
    switch (name) {
      case 'as':
        changes.dataType = sequenceDataType(def.arg);
        break;
      case 'increment':
        changes.increment = int64Option(def);
        break;
      case 'minvalue':
        changes.minValue = def.arg === undefined ? null : int64Option(def);
        break;
      case 'maxvalue':
        changes.maxValue = def.arg === undefined ? null : int64Option(def);
        break;
      case 'start':
        changes.start = int64Option(def);
        break;
      case 'restart':
        changes.restart = def.arg === undefined ? null : int64Option(def);
        break;
      case 'cache':
        changes.cache = int64Option(def);
        break;
      case 'cycle':
        changes.cycle = def.arg !== undefined && 'Boolean' in def.arg && def.arg.Boolean.boolval === true;
        break;
      case 'owned_by':
        ownedBy = ((def.arg as { List?: { items?: Node[] } } | undefined)?.List?.items ?? []).map(stringOf);
        break;
      default:
        throw new SqlError(SqlStates.featureNotSupported, `sequence option "${name}" is not supported`, position(def.location));
    }
  }
  return ownedBy === undefined ? { changes } : { changes, ownedBy };
}

/** An option's integer, as PostgreSQL's defGetInt64 reads it (22P02 / 22003 otherwise). */
function int64Option(def: DefElem): bigint {
  const arg = def.arg;
  let text: string;
  if (arg !== undefined && 'Integer' in arg) return BigInt(arg.Integer.ival ?? 0);
  if (arg !== undefined && 'Float' in arg) text = arg.Float.fval ?? '';
  else throw new SqlError(SqlStates.syntaxError, `${def.defname ?? 'option'} requires a numeric value`, position(def.location));
  if (!/^[+-]?\d+$/.test(text)) throw new SqlError(SqlStates.invalidTextRepresentation, `invalid input syntax for type bigint: "${text}"`);
  const value = BigInt(text);
  if (value < -(2n ** 63n) || value >= 2n ** 63n) throw new SqlError(SqlStates.numericValueOutOfRange, `value "${text}" is out of range for type bigint`);
  return value;
}

function sequenceDataType(arg: Node | undefined): SequenceDataType {
  const type = arg !== undefined && 'TypeName' in arg ? typeFromTypeName(arg.TypeName) : undefined;
  if (type?.kind === 'scalar' && (type.name === 'int2' || type.name === 'int4' || type.name === 'int8')) return type.name;
  throw new SqlError(SqlStates.invalidParameterValue, 'sequence type must be smallint, integer, or bigint');
}

/** Names given to nextval / currval / setval as literals in an expression ('s', 'public.s'), split. */
function sequenceReferences(ast: unknown): string[][] {
  const refs: string[][] = [];
  const visit = (n: unknown): void => {
    if (n === null || typeof n !== 'object') return;
    if (Array.isArray(n)) {
      n.forEach(visit);
      return;
    }
    const call = (n as { FuncCall?: { funcname?: Node[]; args?: Node[] } }).FuncCall;
    const fname = call?.funcname === undefined ? undefined : stringOf(call.funcname[call.funcname.length - 1] as Node).toLowerCase();
    if (fname === 'nextval' || fname === 'currval' || fname === 'setval') {
      let arg = call?.args?.[0] as Node | undefined;
      if (arg !== undefined && 'TypeCast' in arg) arg = arg.TypeCast.arg;
      const text = arg !== undefined && 'A_Const' in arg ? arg.A_Const.sval?.sval : undefined;
      const parts = text === undefined ? undefined : parseQualifiedName(text);
      if (parts !== undefined) refs.push(parts);
    }
    for (const v of Object.values(n)) visit(v);
  };
  visit(ast);
  return refs;
}

function refersTo(ref: readonly string[], seq: SequenceDescriptor): boolean {
  const schema = ref.length > 1 ? ref[ref.length - 2] : 'public';
  return ref[ref.length - 1] === seq.name && schema === 'public';
}

/** A default naming a sequence that does not exist fails now (42P01), as PostgreSQL's regclass cast does. */
async function checkSequenceReferences(env: DdlEnv, ast: unknown): Promise<void> {
  for (const ref of sequenceReferences(ast)) {
    const name = ref[ref.length - 1] as string;
    const schema = ref.length > 1 ? ref[ref.length - 2] : undefined;
    if (schema === 'pg_catalog' || schema === 'information_schema') continue;
    const found = schema === undefined || schema === 'public' ? await env.catalog.relation(env.txn, env.schemaId, name) : undefined;
    if (found === undefined) {
      throw new SqlError(SqlStates.undefinedTable, `relation "${ref.join('.')}" does not exist`);
    }
  }
}

/** ALTER TABLE ADD [CONSTRAINT name] PRIMARY KEY / UNIQUE / CHECK / FOREIGN KEY. */
async function addConstraint(env: DdlEnv, table: TableDescriptor, con: Constraint): Promise<TableDescriptor> {
  const names = [table.primaryIndex, ...table.indexes].map((i) => i.constraintName).filter((n) => n !== undefined);
  if (con.conname !== undefined && [...names, ...table.checks.map((c) => c.name), ...table.foreignKeys.map((f) => f.name)].includes(con.conname)) {
    throw new SqlError(SqlStates.duplicateObject, `constraint "${con.conname}" for relation "${table.name}" already exists`);
  }
  const keyColumns = (): ColumnDescriptor[] =>
    (con.keys ?? []).map((k) => {
      const col = table.columns.find((c) => c.name === stringOf(k) && c.hidden !== true);
      if (col === undefined) throw new SqlError(SqlStates.undefinedColumn, `column "${stringOf(k)}" named in key does not exist`);
      checkKeyable(col);
      return col;
    });
  switch (con.contype) {
    case 'CONSTR_PRIMARY':
      return addPrimaryKey(env, table, keyColumns(), con.conname ?? `${table.name}_pkey`);
    case 'CONSTR_UNIQUE': {
      const cols = keyColumns();
      const name = con.conname ?? uniqueIndexName([table.primaryIndex, ...table.indexes], `${table.name}_${cols.map((c) => c.name).join('_')}_key`);
      checkName(name);
      const index: IndexDescriptor = {
        id: table.nextIndexId,
        name,
        unique: true,
        columnIds: cols.map((c) => c.id),
        directions: cols.map(() => 'asc'),
        storeColumnIds: [],
        constraintName: name,
      };
      const updated: TableDescriptor = { ...table, indexes: [...table.indexes, index], nextIndexId: table.nextIndexId + 1 };
      await backfillIndex(env, updated, index);
      return updated;
    }
    case 'CONSTR_CHECK': {
      // Existing rows are not validated yet (the expression needs the planner); the
      // constraint holds for every row written from now on.
      const name = con.conname ?? uniqueCheckName(table.checks, `${table.name}_${checkColumnHint(con.raw_expr, table.columns)}_check`);
      return { ...table, checks: [...table.checks, { name, expr: storedExpr(con.raw_expr as Node, env.sql) }] };
    }
    case 'CONSTR_FOREIGN': {
      const fk = await foreignKey(env, con, table.name, table.id, table.columns, table.primaryIndex, table.indexes);
      if (table.foreignKeys.some((f) => f.name === fk.name)) {
        throw new SqlError(SqlStates.duplicateObject, `constraint "${fk.name}" for relation "${table.name}" already exists`);
      }
      await validateForeignKey(env, table, fk);
      return { ...table, foreignKeys: [...table.foreignKeys, fk] };
    }
    default:
      throw new SqlError(SqlStates.featureNotSupported, `ALTER TABLE ADD ${String(con.contype).replace('CONSTR_', '')} is not supported`);
  }
}

/** Pages of a table's rows, decoded with `codec`, in primary key order. */
async function* rowPages(txn: TxnLike, table: TableDescriptor): AsyncGenerator<Datum[][]> {
  const codec = codecFor(table);
  const end = prefixEndOf(codec.primaryPrefix);
  let from = codec.primaryPrefix;
  for (;;) {
    const page = await txn.scan(from, end, { maxKeys: REWRITE_PAGE_ROWS });
    yield page.rows.map((kv) => codec.decodeRow(kv.key, kv.value));
    if (page.resumeSpan === undefined) return;
    from = page.resumeSpan.startKey;
  }
}

const REWRITE_PAGE_ROWS = 1000;

/**
 * ADD PRIMARY KEY on a table keyed by its hidden rowid: every row is rewritten under the
 * new key, in the statement's transaction. The new primary index takes a fresh index ID,
 * so its span is disjoint from the old one: rows stream from the old span into the new
 * one, and the old span is cleared after the commit, as a dropped index's. Secondary
 * index entries embed the primary key columns, so they are rebuilt too. NULLs (23502)
 * and duplicates (23505) fail the statement.
 */
async function addPrimaryKey(env: DdlEnv, table: TableDescriptor, keyCols: readonly ColumnDescriptor[], name: string): Promise<TableDescriptor> {
  const oldKey = table.primaryIndex.columnIds.map((id) => table.columns.find((c) => c.id === id));
  const rowid = oldKey.length === 1 && oldKey[0]?.hidden === true ? oldKey[0] : undefined;
  if (rowid === undefined) {
    throw new SqlError(SqlStates.invalidTableDefinition, `multiple primary keys for table "${table.name}" are not allowed`);
  }
  checkName(name);
  const keyIds = keyCols.map((c) => c.id);
  const primaryIndex: IndexDescriptor = {
    id: table.nextIndexId,
    name,
    unique: true,
    columnIds: keyIds,
    directions: keyCols.map(() => 'asc'),
    storeColumnIds: [],
    constraintName: name,
  };
  const columns = table.columns.filter((c) => c !== rowid).map((c) => (keyIds.includes(c.id) ? { ...c, nullable: false } : c));
  const updated: TableDescriptor = { ...table, columns, primaryIndex, nextIndexId: table.nextIndexId + 1 };
  const oldCodec = codecFor(table);
  const newCodec = codecFor(updated);
  // Old rows → new rows: the same values without the rowid.
  const keep = columns.map((c) => oldCodec.positionOf.get(c.id) as number);
  const keyPositions = keyCols.map((c) => oldCodec.positionOf.get(c.id) as number);
  for (const index of table.indexes) {
    const span = indexPrefix(table.id, index.id);
    await deleteSpan(env.txn, span, prefixEndOf(span));
  }
  const seen = new Set<string>();
  for await (const page of rowPages(env.txn, table)) {
    for (const oldRow of page) {
      for (const [i, pos] of keyPositions.entries()) {
        if (oldRow[pos] === null) {
          throw new SqlError(SqlStates.notNullViolation, `column "${(keyCols[i] as ColumnDescriptor).name}" of relation "${table.name}" contains null values`);
        }
      }
      const row = keep.map((pos) => oldRow[pos] as Datum);
      const key = newCodec.primaryKey(row);
      const keyText = key.toString('latin1');
      if (seen.has(keyText)) {
        const values = keyPositions.map((pos, i) => formatText((keyCols[i] as ColumnDescriptor).type, oldRow[pos] as Datum)).join(', ');
        throw new SqlError(SqlStates.uniqueViolation, `could not create unique index "${name}"`, {
          detail: `Key (${keyCols.map((c) => c.name).join(', ')})=(${values}) is duplicated.`,
        });
      }
      seen.add(keyText);
      await env.txn.put(key, newCodec.primaryValue(row));
      for (const index of updated.indexes) {
        await env.txn.put(newCodec.indexKey(index, row), newCodec.indexValue(index, row));
      }
    }
  }
  // The old primary index is cleared once this commits, as a dropped index is.
  await recordDroppedIndex(env.txn, table.id, table.primaryIndex.id);
  return updated;
}

/** Every existing row's referenced key must exist (23503), NULL keys excepted (MATCH SIMPLE). */
async function validateForeignKey(env: DdlEnv, table: TableDescriptor, fk: ForeignKeyConstraint): Promise<void> {
  const refTable = fk.referencedTableId === table.id ? table : await env.catalog.descriptor(env.txn, fk.referencedTableId);
  if (refTable?.kind !== 'table') throw new SqlError(SqlStates.undefinedTable, 'referenced table does not exist');
  const codec = codecFor(table);
  const refCodec = codecFor(refTable);
  const fkPositions = fk.columnIds.map((id) => codec.positionOf.get(id) as number);
  const refPositions = fk.referencedColumnIds.map((id) => refCodec.positionOf.get(id) as number);
  const sameSet = (ids: readonly number[]): boolean => ids.length === fk.referencedColumnIds.length && ids.every((id) => fk.referencedColumnIds.includes(id));
  const byPrimary = sameSet(refTable.primaryIndex.columnIds);
  const index = byPrimary ? refTable.primaryIndex : refTable.indexes.find((i) => i.unique && sameSet(i.columnIds));
  if (index === undefined) throw new SqlError(SqlStates.invalidForeignKey, `there is no unique constraint matching given keys for referenced table "${refTable.name}"`);
  for await (const page of rowPages(env.txn, table)) {
    const rows = page.filter((row) => fkPositions.every((pos) => row[pos] !== null));
    const refRows = rows.map((row) => {
      const refRow: Datum[] = new Array<Datum>(refTable.columns.length).fill(null);
      refPositions.forEach((pos, i) => (refRow[pos] = row[fkPositions[i] as number] as Datum));
      return refRow;
    });
    let found: boolean[];
    if (byPrimary) {
      const values = rows.length === 0 ? [] : await env.txn.getMany(refRows.map((r) => refCodec.primaryKey(r)));
      found = values.map((v) => v !== undefined);
    } else {
      found = [];
      for (const refRow of refRows) {
        const prefix = refCodec.indexValuesPrefix(index, refRow);
        found.push((await env.txn.scan(prefix, prefixEndOf(prefix), { maxKeys: 1 })).rows.length > 0);
      }
    }
    const missing = found.indexOf(false);
    if (missing >= 0) {
      const row = rows[missing] as Datum[];
      const cols = fkPositions.map((pos) => table.columns[pos] as ColumnDescriptor);
      throw new SqlError(SqlStates.foreignKeyViolation, `insert or update on table "${table.name}" violates foreign key constraint "${fk.name}"`, {
        detail: `Key (${cols.map((c) => c.name).join(', ')})=(${fkPositions.map((pos, i) => formatText((cols[i] as ColumnDescriptor).type, row[pos] as Datum)).join(', ')}) is not present in table "${refTable.name}".`,
      });
    }
  }
}

async function verifyNotNull(env: DdlEnv, table: TableDescriptor, col: ColumnDescriptor): Promise<void> {
  const codec = codecFor(table);
  let from = codec.primaryPrefix;
  const end = prefixEndOf(from);
  const pos = codec.positionOf.get(col.id) as number;
  for (;;) {
    const page = await env.txn.scan(from, end, { maxKeys: 1000 });
    for (const kv of page.rows) {
      if (codec.decodeRow(kv.key, kv.value)[pos] === null) {
        throw new SqlError(SqlStates.notNullViolation, `column "${col.name}" of relation "${table.name}" contains null values`);
      }
    }
    if (page.resumeSpan === undefined) return;
    from = page.resumeSpan.startKey;
  }
}

function requireColumn(table: TableDescriptor, name: string): ColumnDescriptor {
  const col = table.columns.find((c) => c.name === name);
  if (col === undefined) {
    throw new SqlError(SqlStates.undefinedColumn, `column "${name}" of relation "${table.name}" does not exist`);
  }
  return col;
}

function checkSchema(rv: RangeVar): void {
  if (rv.schemaname !== undefined && rv.schemaname !== 'public') {
    throw new SqlError(SqlStates.invalidSchemaName, `schema "${rv.schemaname}" does not exist`, position(rv.location));
  }
  if (rv.relpersistence === 't') {
    throw new SqlError(SqlStates.featureNotSupported, 'temporary tables are not supported');
  }
}

export function checkName(name: string): void {
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) {
    throw new SqlError(SqlStates.nameTooLong, `identifier "${name}" is longer than ${MAX_NAME_BYTES} bytes`);
  }
  if (name.length === 0) {
    throw new SqlError(SqlStates.invalidName, 'zero-length delimited identifier');
  }
}

/** 0A000 for a column whose type cannot be part of a key (jsonb, interval, ...). */
function checkKeyable(col: ColumnDescriptor): void {
  checkKeyEncodable(col.type);
}

function uniqueColumnName(columns: readonly ColumnDescriptor[], base: string): string {
  let name = base;
  for (let i = 1; columns.some((c) => c.name === name); i++) name = `${base}_${i}`;
  return name;
}

function uniqueIndexName(indexes: readonly IndexDescriptor[], base: string): string {
  let name = base;
  for (let i = 1; indexes.some((x) => x.name === name); i++) name = `${base}${i}`;
  return name;
}

function uniqueCheckName(checks: readonly CheckConstraint[], base: string): string {
  let name = base;
  for (let i = 1; checks.some((x) => x.name === name); i++) name = `${base}${i}`;
  return name;
}

function checkColumnHint(expr: Node | undefined, columns: readonly ColumnDescriptor[]): string {
  const text = JSON.stringify(expr ?? {});
  const col = columns.find((c) => text.includes(`"sval":"${c.name}"`));
  return col?.name ?? 'check';
}

function uniqueRowidDefault(): StoredExpr {
  return { ast: { FuncCall: { funcname: [{ String: { sval: 'unique_rowid' } }], funcformat: 'COERCE_EXPLICIT_CALL' } }, sql: 'unique_rowid()' };
}

/** An expression's AST and its source text (from its location to the end of its clause). */
export function storedExpr(ast: Node, sql: string): StoredExpr {
  const location = findLocation(ast);
  return { ast, sql: location === undefined ? '' : sliceExpression(sql, location) };
}

function findLocation(node: unknown): number | undefined {
  let min: number | undefined;
  const visit = (n: unknown): void => {
    if (n === null || typeof n !== 'object') return;
    if (Array.isArray(n)) {
      n.forEach(visit);
      return;
    }
    for (const [k, v] of Object.entries(n)) {
      if (k === 'location' && typeof v === 'number' && v >= 0) min = min === undefined ? v : Math.min(min, v);
      else visit(v);
    }
  };
  visit(node);
  return min;
}

/** The text from `start` up to the first `,` or unbalanced `)` outside quotes and parentheses. */
function sliceExpression(sql: string, start: number): string {
  let depth = 0;
  let i = start;
  let quote: string | undefined;
  for (; i < sql.length; i++) {
    const ch = sql.charAt(i);
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')') {
      if (depth === 0) break;
      depth--;
    } else if ((ch === ',' || ch === ';') && depth === 0) break;
    else if (depth === 0 && /^\s+(not\s+null|null|primary|unique|check|references|constraint|default)\b/i.test(sql.slice(i, i + 16))) break;
  }
  // A CHECK expression starts after its opening parenthesis.
  return sql.slice(start, i).trim();
}
