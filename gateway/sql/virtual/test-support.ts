import { SqlError, SqlStates } from '../../../common/errors';
import type { KvClient, ScanOptions, ScanResult } from '../../../kv';
import { ConditionFailedError } from '../../../kv/errors';
import type { TxnLike } from '../catalog/catalog';
import { Catalog } from '../catalog/catalog';
import type {
  ColumnDescriptor,
  DatabaseDescriptor,
  Descriptor,
  SchemaDescriptor,
  SequenceDescriptor,
  StoredExpr,
  TableDescriptor,
} from '../catalog/descriptors';
import { parseStatements } from '../parser';
import { scalarType } from '../types/datum';
import { arrayOf } from '../types/type-names';
import { numericTypmod } from '../types/numeric';
import type { UserRecord } from '../users';
import type { VirtualSource } from './snapshot';

/**
 * Test support for the virtual catalog: an in-memory transaction (a sorted map behind
 * the calls Catalog makes) and a fixture database written through the real Catalog.
 */

export class MemoryTxn implements TxnLike {
  private readonly data = new Map<string, { key: Buffer; value: Buffer }>();
  scans = 0;

  async get(key: Uint8Array): Promise<Buffer | undefined> {
    return this.data.get(Buffer.from(key).toString('hex'))?.value;
  }

  async getMany(keys: readonly Uint8Array[]): Promise<(Buffer | undefined)[]> {
    return Promise.all(keys.map((k) => this.get(k)));
  }

  async scan(start: Uint8Array, end: Uint8Array, options: ScanOptions = {}): Promise<ScanResult> {
    this.scans++;
    const rows = [...this.data.values()]
      .filter((r) => Buffer.compare(r.key, start) >= 0 && Buffer.compare(r.key, end) < 0)
      .sort((a, b) => Buffer.compare(a.key, b.key));
    const max = options.maxKeys ?? Infinity;
    if (rows.length <= max) {
      return { rows };
    }
    const next = rows[max];
    return { rows: rows.slice(0, max), resumeSpan: { startKey: (next as { key: Buffer }).key, endKey: Buffer.from(end) } };
  }

  async reverseScan(start: Uint8Array, end: Uint8Array, options: ScanOptions = {}): Promise<ScanResult> {
    this.scans++;
    const rows = [...this.data.values()]
      .filter((r) => Buffer.compare(r.key, start) >= 0 && Buffer.compare(r.key, end) < 0)
      .sort((a, b) => Buffer.compare(b.key, a.key));
    const max = options.maxKeys ?? Infinity;
    if (rows.length <= max) {
      return { rows };
    }
    const last = rows[max - 1] as { key: Buffer };
    return { rows: rows.slice(0, max), resumeSpan: { startKey: Buffer.from(start), endKey: last.key } };
  }

  async put(key: Uint8Array, value: Uint8Array): Promise<void> {
    this.data.set(Buffer.from(key).toString('hex'), { key: Buffer.from(key), value: Buffer.from(value) });
  }

  async delete(key: Uint8Array): Promise<void> {
    this.data.delete(Buffer.from(key).toString('hex'));
  }

  async deleteRange(start: Uint8Array, end: Uint8Array): Promise<number> {
    const doomed = [...this.data.entries()].filter(([, r]) => Buffer.compare(r.key, start) >= 0 && Buffer.compare(r.key, end) < 0);
    doomed.forEach(([k]) => this.data.delete(k));
    return doomed.length;
  }

  async conditionalPut(key: Uint8Array, value: Uint8Array, expected: Uint8Array | undefined): Promise<void> {
    const actual = await this.get(key);
    const same = actual === undefined || expected === undefined ? actual === expected : Buffer.compare(actual, Buffer.from(expected)) === 0;
    if (!same) {
      throw new ConditionFailedError(actual);
    }
    await this.put(key, value);
  }
}

/** The AST and text of one SQL expression (needs loadParser() first). */
export function expr(sql: string): StoredExpr {
  const stmt = parseStatements(`SELECT ${sql}`)[0];
  const select = (stmt?.ast as { SelectStmt?: { targetList?: { ResTarget: { val: unknown } }[] } }).SelectStmt;
  const ast = select?.targetList?.[0]?.ResTarget.val;
  if (ast === undefined) throw new Error(`not an expression: ${sql}`);
  return { ast, sql };
}

export const IDS = { shop: 100, shopPublic: 101, orders: 102, items: 103, itemsSeq: 104, other: 200, otherPublic: 201, secret: 202 } as const;

function col(id: number, name: string, type: ColumnDescriptor['type'], nullable: boolean, extra: Partial<ColumnDescriptor> = {}): ColumnDescriptor {
  return { id, name, type, nullable, ...extra };
}

/**
 * Database `shop` with:
 *   orders (region text NOT NULL, id int8 NOT NULL, qty int4 NOT NULL DEFAULT 1 CHECK (qty > 0),
 *           price numeric(10,2), note varchar(20) DEFAULT 'none', created timestamptz DEFAULT now(),
 *           PRIMARY KEY (region, id), CONSTRAINT orders_note_key UNIQUE (note))
 *   CREATE INDEX orders_qty_idx ON orders (qty DESC) INCLUDE (price)
 *   items (order_region text, order_id int8, tags text[], hidden rowid,
 *          FOREIGN KEY (order_region, order_id) REFERENCES orders ON DELETE CASCADE)
 *   sequence items_seq
 * and database `other` with a table `secret` that `shop`'s catalog must never show.
 */
export function fixtureDescriptors(): Descriptor[] {
  const shop: DatabaseDescriptor = { kind: 'database', id: IDS.shop, name: 'shop', version: 1, owner: 'root' };
  const shopPublic: SchemaDescriptor = { kind: 'schema', id: IDS.shopPublic, name: 'public', version: 1, parentId: IDS.shop };
  const orders: TableDescriptor = {
    kind: 'table',
    id: IDS.orders,
    name: 'orders',
    version: 1,
    parentId: IDS.shop,
    schemaId: IDS.shopPublic,
    columns: [
      col(1, 'region', scalarType('text'), false),
      col(2, 'id', scalarType('int8'), false),
      col(3, 'qty', scalarType('int4'), false, { defaultExpr: expr('1') }),
      col(4, 'price', scalarType('numeric', numericTypmod(10, 2)), true),
      col(5, 'note', scalarType('varchar', 20), true, { defaultExpr: expr("'none'") }),
      col(6, 'created', scalarType('timestamptz'), true, { defaultExpr: expr('now()') }),
    ],
    nextColumnId: 7,
    primaryIndex: {
      id: 1,
      name: 'orders_pkey',
      unique: true,
      columnIds: [1, 2],
      directions: ['asc', 'asc'],
      storeColumnIds: [],
      constraintName: 'orders_pkey',
    },
    indexes: [
      { id: 2, name: 'orders_note_key', unique: true, columnIds: [5], directions: ['asc'], storeColumnIds: [], constraintName: 'orders_note_key' },
      { id: 3, name: 'orders_qty_idx', unique: false, columnIds: [3], directions: ['desc'], storeColumnIds: [4] },
    ],
    nextIndexId: 4,
    checks: [{ name: 'orders_qty_check', expr: expr('qty > 0') }],
    foreignKeys: [],
  };
  const items: TableDescriptor = {
    kind: 'table',
    id: IDS.items,
    name: 'items',
    version: 1,
    parentId: IDS.shop,
    schemaId: IDS.shopPublic,
    columns: [
      col(1, 'order_region', scalarType('text'), true),
      col(2, 'order_id', scalarType('int8'), true),
      col(3, 'tags', arrayOf(scalarType('text')), true),
      col(4, 'rowid', scalarType('int8'), false, { hidden: true, defaultExpr: expr('unique_rowid()') }),
    ],
    nextColumnId: 5,
    primaryIndex: { id: 1, name: 'items_pkey', unique: true, columnIds: [4], directions: ['asc'], storeColumnIds: [] },
    indexes: [],
    nextIndexId: 2,
    checks: [],
    foreignKeys: [
      {
        name: 'items_order_region_order_id_fkey',
        columnIds: [1, 2],
        referencedTableId: IDS.orders,
        referencedColumnIds: [1, 2],
        onDelete: 'cascade',
        onUpdate: 'no action',
      },
    ],
  };
  const itemsSeq: SequenceDescriptor = {
    kind: 'sequence',
    id: IDS.itemsSeq,
    name: 'items_seq',
    version: 1,
    parentId: IDS.shop,
    schemaId: IDS.shopPublic,
    dataType: 'int8',
    start: 1n,
    increment: 1n,
    minValue: 1n,
    maxValue: 9223372036854775807n,
    cache: 1n,
    cycle: false,
  };
  const other: DatabaseDescriptor = { kind: 'database', id: IDS.other, name: 'other', version: 1, owner: 'alice' };
  const otherPublic: SchemaDescriptor = { kind: 'schema', id: IDS.otherPublic, name: 'public', version: 1, parentId: IDS.other };
  const secret: TableDescriptor = {
    ...items,
    id: IDS.secret,
    name: 'secret',
    parentId: IDS.other,
    schemaId: IDS.otherPublic,
    foreignKeys: [],
  };
  return [shop, shopPublic, orders, items, itemsSeq, other, otherPublic, secret];
}

function parentOf(desc: Descriptor): number {
  switch (desc.kind) {
    case 'database':
      return 0;
    case 'schema':
      return desc.parentId;
    case 'table':
    case 'sequence':
      return desc.schemaId;
  }
}

export const FIXTURE_USERS: readonly UserRecord[] = [
  { name: 'root', verifier: '', superuser: true, canLogin: true },
  { name: 'alice', verifier: 'SCRAM-SHA-256$4096:c2FsdA==$a:b', superuser: false, canLogin: true },
  { name: 'readers', verifier: '', superuser: false, canLogin: false },
];

export interface Fixture {
  readonly catalog: Catalog;
  readonly txn: MemoryTxn;
  readonly source: VirtualSource;
}

/** Writes the fixture through the real Catalog and returns a source for database `shop`. */
export async function buildFixture(): Promise<Fixture> {
  const catalog = new Catalog(undefined as unknown as KvClient);
  const txn = new MemoryTxn();
  const descriptors = fixtureDescriptors();
  for (const desc of descriptors) {
    await catalog.createName(txn, parentOf(desc), desc.name, desc.id, new SqlError(SqlStates.duplicateObject, `duplicate ${desc.name}`));
    await catalog.writeDescriptor(txn, desc);
  }
  catalog.transactionEnded(txn);
  const database = descriptors.find((d): d is DatabaseDescriptor => d.kind === 'database' && d.name === 'shop');
  if (database === undefined) throw new Error('no shop');
  const source: VirtualSource = {
    catalog,
    txn,
    database,
    user: 'root',
    settings: () => [
      ['application_name', 'psql'],
      ['datestyle', 'ISO, MDY'],
      ['statement_timeout', '0'],
      ['timezone', 'Europe/Paris'],
    ],
    users: { list: async () => [...FIXTURE_USERS] },
  };
  return { catalog, txn, source };
}
