import type { Direction, KeyDatum } from '../../../common/encoding';
import { appendDatum, decodeDatum, KeyWriter, uvarintAscendingLength, writeUvarintAscending } from '../../../common/encoding';
import { prefixEndOf } from '../../../common/keys';
import type { ColumnDescriptor, IndexDescriptor, TableDescriptor } from '../catalog/descriptors';
import type { Datum, SqlType } from '../types/datum';
import { decodeRowValue, encodeRowValue, fromKeyDatum, keyDatumPreservesValue, toKeyDatum } from '../types';

/**
 * Table rows and index entries as KV pairs (DESIGN.md §3):
 *
 *   primary:   /<tableID>/<1>/<pk columns>                   → the other columns (+ key columns whose key form loses the value, like numeric's display scale)
 *   secondary: /<tableID>/<indexID>/<index columns>/<pk columns not among them> → stored columns
 *
 * IDs are order-preserving uvarints (common/encoding/uvarint.ts), so a table is one key
 * span and an index a sub-span of it. Row values carry a column ID per value, so
 * adding or dropping a column rewrites nothing.
 */

export function indexPrefix(tableId: number, indexId: number): Buffer {
  const buf = Buffer.allocUnsafe(uvarintAscendingLength(tableId) + uvarintAscendingLength(indexId));
  writeUvarintAscending(buf, writeUvarintAscending(buf, 0, tableId), indexId);
  return buf;
}

export function tablePrefix(tableId: number): Buffer {
  const buf = Buffer.allocUnsafe(uvarintAscendingLength(tableId));
  writeUvarintAscending(buf, 0, tableId);
  return buf;
}

export function tableSpan(tableId: number): { startKey: Buffer; endKey: Buffer } {
  const startKey = tablePrefix(tableId);
  return { startKey, endKey: prefixEndOf(startKey) };
}

/**
 * Everything one table needs to turn rows into KV pairs and back, computed once per
 * descriptor version.
 */
export class TableCodec {
  /** Row position of each column ID. */
  readonly positionOf: ReadonlyMap<number, number>;
  readonly primaryPrefix: Buffer;
  private readonly pkPositions: number[];
  private readonly pkDirections: Direction[];
  /** Columns stored in the primary row value. */
  private readonly valueColumns: { id: number; type: SqlType; position: number }[];
  private readonly valueTypes: ReadonlyMap<number, SqlType>;
  private readonly writer = new KeyWriter(128);

  constructor(readonly table: TableDescriptor) {
    const positions = new Map<number, number>();
    table.columns.forEach((c, i) => positions.set(c.id, i));
    this.positionOf = positions;
    this.primaryPrefix = indexPrefix(table.id, table.primaryIndex.id);
    this.pkPositions = table.primaryIndex.columnIds.map((id) => positions.get(id) as number);
    this.pkDirections = [...table.primaryIndex.directions];
    const pkIds = new Set(table.primaryIndex.columnIds);
    this.valueColumns = table.columns
      .map((c, position) => ({ id: c.id, type: c.type, position }))
      .filter((c) => !pkIds.has(c.id) || !keyDatumPreservesValue(c.type));
    this.valueTypes = new Map(this.valueColumns.map((c) => [c.id, c.type]));
  }

  get columns(): readonly ColumnDescriptor[] {
    return this.table.columns;
  }

  primaryKey(row: readonly Datum[]): Buffer {
    const w = this.writer;
    w.reset();
    w.appendBytes(this.primaryPrefix);
    for (let i = 0; i < this.pkPositions.length; i++) {
      const pos = this.pkPositions[i] as number;
      appendDatum(w, toKeyDatum((this.table.columns[pos] as ColumnDescriptor).type, row[pos] as Datum), this.pkDirections[i] as Direction);
    }
    return w.finish();
  }

  primaryValue(row: readonly Datum[]): Buffer {
    return encodeRowValue(
      this.valueColumns,
      this.valueColumns.map((c) => row[c.position] as Datum),
    );
  }

  /** A full row (descriptor order) from a primary KV pair. */
  decodeRow(key: Buffer, value: Buffer): Datum[] {
    const row: Datum[] = new Array<Datum>(this.table.columns.length).fill(null);
    let pos = this.primaryPrefix.length;
    for (const position of this.pkPositions) {
      const d = decodeDatum(key, pos);
      row[position] = fromKeyDatum((this.table.columns[position] as ColumnDescriptor).type, d.datum);
      pos = d.next;
    }
    const values = decodeRowValue(value, this.valueTypes);
    for (const c of this.valueColumns) {
      const v = values.get(c.id);
      row[c.position] = v === undefined ? null : v;
    }
    return row;
  }

  /** The key of a row's entry in a secondary index. */
  indexKey(index: IndexDescriptor, row: readonly Datum[]): Buffer {
    const w = this.writer;
    w.reset();
    this.appendIndexValues(index, row);
    this.table.primaryIndex.columnIds.forEach((id, i) => {
      if (index.columnIds.includes(id)) return;
      const pos = this.positionOf.get(id) as number;
      appendDatum(w, toKeyDatum((this.table.columns[pos] as ColumnDescriptor).type, row[pos] as Datum), this.pkDirections[i] as Direction);
    });
    return w.finish();
  }

  /** The key prefix of a unique index's entries equal to this row on the index columns. */
  indexValuesPrefix(index: IndexDescriptor, row: readonly Datum[]): Buffer {
    this.writer.reset();
    this.appendIndexValues(index, row);
    return this.writer.finish();
  }

  /** Appends the index's prefix and the row's values of its columns to the writer. */
  private appendIndexValues(index: IndexDescriptor, row: readonly Datum[]): void {
    const w = this.writer;
    w.appendBytes(indexPrefix(this.table.id, index.id));
    index.columnIds.forEach((id, i) => {
      const pos = this.positionOf.get(id) as number;
      appendDatum(w, toKeyDatum((this.table.columns[pos] as ColumnDescriptor).type, row[pos] as Datum), index.directions[i] ?? 'asc');
    });
  }

  indexValue(index: IndexDescriptor, row: readonly Datum[]): Buffer {
    const stored = index.storeColumnIds.map((id) => {
      const pos = this.positionOf.get(id) as number;
      return { id, type: (this.table.columns[pos] as ColumnDescriptor).type, position: pos };
    });
    return encodeRowValue(stored, stored.map((c) => row[c.position] as Datum));
  }

  /**
   * The primary key of the row an index entry points to: its index column values and
   * the extra primary key columns, re-encoded in the primary index's order.
   */
  primaryKeyFromIndexKey(index: IndexDescriptor, key: Buffer): Buffer {
    const byId = new Map<number, KeyDatum>();
    let pos = indexPrefix(this.table.id, index.id).length;
    for (const id of index.columnIds) {
      const d = decodeDatum(key, pos);
      byId.set(id, d.datum);
      pos = d.next;
    }
    for (const id of this.table.primaryIndex.columnIds) {
      if (byId.has(id)) continue;
      const d = decodeDatum(key, pos);
      byId.set(id, d.datum);
      pos = d.next;
    }
    const w = this.writer;
    w.reset();
    w.appendBytes(this.primaryPrefix);
    this.table.primaryIndex.columnIds.forEach((id, i) => appendDatum(w, byId.get(id) as KeyDatum, this.pkDirections[i] as Direction));
    return w.finish();
  }

  /** Key bytes for values of a prefix of an index's columns (for spans). */
  spanKey(index: IndexDescriptor, values: readonly Datum[]): Buffer {
    const w = this.writer;
    w.reset();
    w.appendBytes(indexPrefix(this.table.id, index.id));
    values.forEach((v, i) => {
      const id = index.columnIds[i] as number;
      const pos = this.positionOf.get(id) as number;
      appendDatum(w, toKeyDatum((this.table.columns[pos] as ColumnDescriptor).type, v), index.directions[i] ?? 'asc');
    });
    return w.finish();
  }
}

const codecs = new WeakMap<TableDescriptor, TableCodec>();

/** The codec of a descriptor (cached per descriptor object). */
export function codecFor(table: TableDescriptor): TableCodec {
  let codec = codecs.get(table);
  if (codec === undefined) {
    codec = new TableCodec(table);
    codecs.set(table, codec);
  }
  return codec;
}
