import { MalformedEncodingError } from '../../../common/errors';
import type { SqlType } from '../types/datum';

/**
 * SQL descriptors: what the catalog knows about databases, schemas, tables and
 * sequences. Stored as JSON under `sqlDescriptorKey(id)` (common/keys); every change
 * bumps `version`. Expressions (defaults, CHECKs) are kept as the parser's AST, which
 * is what the planner consumes; `sql` keeps their text for people (`\d`, pg_get_expr).
 */

export const DESCRIPTOR_FORMAT_VERSION = 1;

/** IDs below this are reserved for system objects (pg_catalog tables, ...). */
export const FIRST_USER_DESCRIPTOR_ID = 100;

/** The primary index of every table has this ID: row keys are /Table/<id>/1/<pk>. */
export const PRIMARY_INDEX_ID = 1;

export type SortDirection = 'asc' | 'desc';

export interface StoredExpr {
  /** The parser's AST node (libpg-query JSON). */
  readonly ast: unknown;
  /** The expression's text. */
  readonly sql: string;
}

export interface ColumnDescriptor {
  readonly id: number;
  readonly name: string;
  readonly type: SqlType;
  readonly nullable: boolean;
  readonly defaultExpr?: StoredExpr;
  /** Hidden columns (the implicit rowid) do not appear in SELECT *. */
  readonly hidden?: boolean;
  /** A serial column: the sequence its default draws from. */
  readonly ownedSequenceId?: number;
}

export interface IndexDescriptor {
  readonly id: number;
  readonly name: string;
  readonly unique: boolean;
  /** The indexed columns, in key order. */
  readonly columnIds: readonly number[];
  readonly directions: readonly SortDirection[];
  /** Non-key columns copied into the index entry's value (INCLUDE). */
  readonly storeColumnIds: readonly number[];
  /** The constraint that created it (UNIQUE / PRIMARY KEY), if any. */
  readonly constraintName?: string;
}

export interface CheckConstraint {
  readonly name: string;
  readonly expr: StoredExpr;
}

export type ReferentialAction = 'no action' | 'restrict' | 'cascade' | 'set null' | 'set default';

export interface ForeignKeyConstraint {
  readonly name: string;
  /** Referencing columns, in the constraint's order (paired with `referencedColumnIds`). */
  readonly columnIds: readonly number[];
  readonly referencedTableId: number;
  readonly referencedColumnIds: readonly number[];
  /** What a DELETE / an UPDATE of a referenced row does to the referencing rows (exec/dml.ts). */
  readonly onDelete: ReferentialAction;
  readonly onUpdate: ReferentialAction;
}

interface DescriptorBase {
  readonly id: number;
  readonly name: string;
  readonly version: number;
}

export interface DatabaseDescriptor extends DescriptorBase {
  readonly kind: 'database';
  readonly owner: string;
}

export interface SchemaDescriptor extends DescriptorBase {
  readonly kind: 'schema';
  readonly parentId: number;
}

export interface TableDescriptor extends DescriptorBase {
  readonly kind: 'table';
  /** The database. */
  readonly parentId: number;
  readonly schemaId: number;
  readonly columns: readonly ColumnDescriptor[];
  readonly nextColumnId: number;
  readonly primaryIndex: IndexDescriptor;
  readonly indexes: readonly IndexDescriptor[];
  readonly nextIndexId: number;
  readonly checks: readonly CheckConstraint[];
  readonly foreignKeys: readonly ForeignKeyConstraint[];
}

/** The integer type bounding a sequence's values (`AS smallint | integer | bigint`). */
export type SequenceDataType = 'int2' | 'int4' | 'int8';

/**
 * A sequence's options. Its current value is not here: it lives under
 * `sqlSequenceValueKey(id)` and changes outside transactions (catalog/sequence-values.ts).
 */
export interface SequenceDescriptor extends DescriptorBase {
  readonly kind: 'sequence';
  /** The database. */
  readonly parentId: number;
  readonly schemaId: number;
  readonly dataType: SequenceDataType;
  readonly start: bigint;
  readonly increment: bigint;
  readonly minValue: bigint;
  readonly maxValue: bigint;
  /** Values a session reserves at a time (CACHE). */
  readonly cache: bigint;
  readonly cycle: boolean;
}

export type Descriptor = DatabaseDescriptor | SchemaDescriptor | TableDescriptor | SequenceDescriptor;

export function encodeDescriptor(desc: Descriptor): Buffer {
  return Buffer.from(
    JSON.stringify({ formatVersion: DESCRIPTOR_FORMAT_VERSION, desc }, (_key, value: unknown) =>
      typeof value === 'bigint' ? { $bigint: value.toString() } : value,
    ),
    'utf8',
  );
}

export function decodeDescriptor(bytes: Uint8Array): Descriptor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'), (_key, value: unknown) =>
      value !== null && typeof value === 'object' && '$bigint' in value ? BigInt((value as { $bigint: string }).$bigint) : value,
    );
  } catch (err) {
    throw new MalformedEncodingError('descriptor', 0, (err as Error).message);
  }
  const envelope = parsed as { formatVersion?: unknown; desc?: { kind?: unknown; id?: unknown } };
  if (envelope.formatVersion !== DESCRIPTOR_FORMAT_VERSION || typeof envelope.desc !== 'object' || envelope.desc === null) {
    throw new MalformedEncodingError('descriptor', 0, `unknown format ${String(envelope.formatVersion)}`);
  }
  const kind = envelope.desc.kind;
  if (kind !== 'database' && kind !== 'schema' && kind !== 'table' && kind !== 'sequence') {
    throw new MalformedEncodingError('descriptor', 0, `unknown kind ${String(kind)}`);
  }
  if (typeof envelope.desc.id !== 'number') {
    throw new MalformedEncodingError('descriptor', 0, 'no id');
  }
  const desc = envelope.desc as Descriptor;
  return desc.kind === 'table' ? withReferentialActions(desc) : desc;
}

/** Foreign keys stored before referential actions were recorded have NO ACTION on both sides. */
function withReferentialActions(table: TableDescriptor): TableDescriptor {
  const stored = table.foreignKeys as readonly Partial<ForeignKeyConstraint>[];
  if (stored.every((fk) => fk.onDelete !== undefined && fk.onUpdate !== undefined)) return table;
  const foreignKeys = stored.map((fk) => ({ ...fk, onDelete: fk.onDelete ?? 'no action', onUpdate: fk.onUpdate ?? 'no action' }) as ForeignKeyConstraint);
  return { ...table, foreignKeys };
}

/** Visible columns in their declared order (what SELECT * returns). */
export function visibleColumns(table: TableDescriptor): ColumnDescriptor[] {
  return table.columns.filter((c) => c.hidden !== true);
}

export function columnById(table: TableDescriptor, id: number): ColumnDescriptor {
  const col = table.columns.find((c) => c.id === id);
  if (col === undefined) {
    throw new MalformedEncodingError('descriptor', 0, `table ${table.name} has no column ${id}`);
  }
  return col;
}

/** Every index of the table, the primary first. */
export function allIndexes(table: TableDescriptor): IndexDescriptor[] {
  return [table.primaryIndex, ...table.indexes];
}
