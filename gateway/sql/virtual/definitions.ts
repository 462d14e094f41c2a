import { assert } from '../../../common/errors';
import type {
  CheckConstraint,
  ColumnDescriptor,
  ForeignKeyConstraint,
  IndexDescriptor,
  ReferentialAction,
  TableDescriptor,
} from '../catalog/descriptors';
import { allIndexes } from '../catalog/descriptors';
import { exprText } from './expr-text';
import { checkConstraintOid, foreignKeyConstraintOid, indexOid } from './oids';
import { quoteIdent } from './quote';

/**
 * How a table descriptor looks through PostgreSQL's catalog: column numbers, which
 * indexes and constraints exist, and their definitions as pg_get_indexdef /
 * pg_get_constraintdef print them. Pure functions of descriptors.
 */

export const PUBLIC_SCHEMA = 'public';

export interface ShownColumn {
  readonly column: ColumnDescriptor;
  /** pg_attribute.attnum. */
  readonly attnum: number;
}

/**
 * A column's attnum: its 1-based position among the table's descriptor columns, which
 * is the column number RowDescription reports (plan/analyze.ts tableColumns), so
 * clients that look a result column up in pg_attribute find it. The hidden rowid
 * column is left out like a system column; it normally comes last, so the visible
 * columns of a table that never had ADD COLUMN are numbered 1..n without gaps.
 */
export function shownColumns(table: TableDescriptor): ShownColumn[] {
  const out: ShownColumn[] = [];
  table.columns.forEach((column, i) => {
    if (column.hidden !== true) {
      out.push({ column, attnum: i + 1 });
    }
  });
  return out;
}

export function attnumOf(table: TableDescriptor, columnId: number): number {
  const i = table.columns.findIndex((c) => c.id === columnId);
  assert(i >= 0, `table ${table.name} has no column ${columnId}`);
  return i + 1;
}

function column(table: TableDescriptor, columnId: number): ColumnDescriptor {
  const col = table.columns.find((c) => c.id === columnId);
  assert(col !== undefined, `table ${table.name} has no column ${columnId}`);
  return col;
}

function isVisible(table: TableDescriptor, columnId: number): boolean {
  return column(table, columnId).hidden !== true;
}

/**
 * The indexes PostgreSQL would show: all but a primary index over the hidden rowid
 * (a table without a PRIMARY KEY has none in PostgreSQL).
 */
export function shownIndexes(table: TableDescriptor): IndexDescriptor[] {
  return allIndexes(table).filter((index) => index.columnIds.every((id) => isVisible(table, id)));
}

/** The INCLUDE columns shown for an index (hidden ones left out). */
export function includedColumnIds(table: TableDescriptor, index: IndexDescriptor): number[] {
  return index.storeColumnIds.filter((id) => !index.columnIds.includes(id) && isVisible(table, id));
}

/** Key columns then INCLUDE columns: pg_index.indkey. */
export function indexColumnIds(table: TableDescriptor, index: IndexDescriptor): number[] {
  return [...index.columnIds, ...includedColumnIds(table, index)];
}

export type TableConstraint =
  | { readonly contype: 'p' | 'u'; readonly name: string; readonly oid: number; readonly index: IndexDescriptor }
  | { readonly contype: 'c'; readonly name: string; readonly oid: number; readonly check: CheckConstraint }
  | { readonly contype: 'f'; readonly name: string; readonly oid: number; readonly foreignKey: ForeignKeyConstraint };

/**
 * The rows a table has in pg_constraint: its PRIMARY KEY, the UNIQUE constraints (a
 * unique index made by CREATE UNIQUE INDEX is not a constraint, as in PostgreSQL), its
 * CHECKs and FOREIGN KEYs. NOT NULL is not a pg_constraint row in PostgreSQL 15.
 */
export function tableConstraints(table: TableDescriptor): TableConstraint[] {
  const out: TableConstraint[] = [];
  for (const index of shownIndexes(table)) {
    if (index.id === table.primaryIndex.id) {
      out.push({ contype: 'p', name: index.constraintName ?? index.name, oid: indexOid(table.id, index.id), index });
    } else if (index.unique && index.constraintName !== undefined) {
      out.push({ contype: 'u', name: index.constraintName, oid: indexOid(table.id, index.id), index });
    }
  }
  table.checks.forEach((check, i) => out.push({ contype: 'c', name: check.name, oid: checkConstraintOid(table.id, i), check }));
  table.foreignKeys.forEach((foreignKey, i) =>
    out.push({ contype: 'f', name: foreignKey.name, oid: foreignKeyConstraintOid(table.id, i), foreignKey }),
  );
  return out;
}

/** The constraint an index backs (its PRIMARY KEY or UNIQUE row), if any. */
export function indexConstraint(table: TableDescriptor, index: IndexDescriptor): TableConstraint | undefined {
  return tableConstraints(table).find((c) => (c.contype === 'p' || c.contype === 'u') && c.index.id === index.id);
}

function columnList(table: TableDescriptor, ids: readonly number[]): string {
  return ids.map((id) => quoteIdent(column(table, id).name)).join(', ');
}

function qualifiedName(schema: string, name: string, pretty: boolean): string {
  // Pretty, PostgreSQL leaves out a schema on the search path; Cairn's one schema always is.
  return pretty ? quoteIdent(name) : `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

export interface IndexdefOptions {
  /** The table's schema (default public). */
  readonly schema?: string;
  /** pg_get_indexdef's pretty flag: leaves the schema out. */
  readonly pretty?: boolean;
  /** pg_get_indexdef's column number: only that column's text (1-based; 0 or absent: the whole statement). */
  readonly column?: number;
}

/**
 * PostgreSQL's pg_get_indexdef: `CREATE UNIQUE INDEX t_pkey ON public.t USING btree (id)`.
 * Every Cairn index is shown as a btree (ordered, as Cairn's are); ASC and the default
 * null ordering are left out, as PostgreSQL does. With `column`, the text of that
 * column ('' past the last, as PostgreSQL returns).
 */
export function pgGetIndexdef(table: TableDescriptor, index: IndexDescriptor, options: IndexdefOptions = {}): string {
  const keys = index.columnIds.map((id, i) => {
    const name = quoteIdent(column(table, id).name);
    return index.directions[i] === 'desc' ? `${name} DESC` : name;
  });
  const included = includedColumnIds(table, index);
  if (options.column !== undefined && options.column > 0) {
    const id = [...index.columnIds, ...included][options.column - 1];
    return id === undefined ? '' : quoteIdent(column(table, id).name);
  }
  const on = qualifiedName(options.schema ?? PUBLIC_SCHEMA, table.name, options.pretty ?? false);
  const include = included.length === 0 ? '' : ` INCLUDE (${columnList(table, included)})`;
  return `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX ${quoteIdent(index.name)} ON ${on} USING btree (${keys.join(', ')})${include}`;
}

export interface ConstraintdefOptions {
  /** pg_get_constraintdef's pretty flag (fewer parentheses in CHECK expressions). */
  readonly pretty?: boolean;
  /** Finds the table a FOREIGN KEY references (the table itself needs no lookup). */
  readonly table?: (id: number) => TableDescriptor | undefined;
}

/**
 * PostgreSQL's pg_get_constraintdef: `PRIMARY KEY (a, b)`, `UNIQUE (b)`,
 * `CHECK (c > 0)`, `FOREIGN KEY (x) REFERENCES t(a) ON DELETE CASCADE`.
 */
export function pgGetConstraintdef(table: TableDescriptor, constraint: TableConstraint, options: ConstraintdefOptions = {}): string {
  const pretty = options.pretty ?? false;
  switch (constraint.contype) {
    case 'p':
    case 'u': {
      const index = constraint.index;
      const included = includedColumnIds(table, index);
      const include = included.length === 0 ? '' : ` INCLUDE (${columnList(table, included)})`;
      return `${constraint.contype === 'p' ? 'PRIMARY KEY' : 'UNIQUE'} (${columnList(table, index.columnIds)})${include}`;
    }
    case 'c': {
      const text = exprText(constraint.check.expr, { pretty });
      return `CHECK (${text})`;
    }
    case 'f': {
      const fk = constraint.foreignKey;
      const referenced = fk.referencedTableId === table.id ? table : options.table?.(fk.referencedTableId);
      assert(referenced !== undefined, `foreign key ${fk.name} references table ${fk.referencedTableId}, which was not given`);
      let text = `FOREIGN KEY (${columnList(table, fk.columnIds)}) REFERENCES ${quoteIdent(referenced.name)}(${columnList(referenced, fk.referencedColumnIds)})`;
      if (fk.onUpdate !== 'no action') text += ` ON UPDATE ${actionText(fk.onUpdate)}`;
      if (fk.onDelete !== 'no action') text += ` ON DELETE ${actionText(fk.onDelete)}`;
      return text;
    }
  }
}

function actionText(action: ReferentialAction): string {
  return action.toUpperCase();
}

/** pg_constraint's one-letter codes of referential actions (confupdtype, confdeltype). */
export function actionCode(action: ReferentialAction): string {
  switch (action) {
    case 'no action':
      return 'a';
    case 'restrict':
      return 'r';
    case 'cascade':
      return 'c';
    case 'set null':
      return 'n';
    case 'set default':
      return 'd';
  }
}
