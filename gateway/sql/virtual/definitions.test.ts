import type { TableDescriptor } from '../catalog/descriptors';
import { loadParser } from '../parser';
import { scalarType } from '../types/datum';
import { attnumOf, pgGetConstraintdef, pgGetIndexdef, shownColumns, shownIndexes, tableConstraints } from './definitions';
import { expr } from './test-support';

/**
 * Definitions as PostgreSQL 15 prints them, checked against its output for the same
 * DDL: `CREATE TABLE "Mixed Case" ("Id" int PRIMARY KEY, "select" int UNIQUE)` and
 * `FOREIGN KEY (x, y) REFERENCES t(a, d) ON DELETE SET NULL ON UPDATE RESTRICT`.
 */

beforeAll(async () => {
  await loadParser();
});

function table(overrides: Partial<TableDescriptor> = {}): TableDescriptor {
  return {
    kind: 'table',
    id: 300,
    name: 'Mixed Case',
    version: 1,
    parentId: 100,
    schemaId: 101,
    columns: [
      { id: 1, name: 'Id', type: scalarType('int4'), nullable: false },
      { id: 2, name: 'select', type: scalarType('int4'), nullable: true },
    ],
    nextColumnId: 3,
    primaryIndex: { id: 1, name: 'Mixed Case_pkey', unique: true, columnIds: [1], directions: ['asc'], storeColumnIds: [], constraintName: 'Mixed Case_pkey' },
    indexes: [
      { id: 2, name: 'Mixed Case_select_key', unique: true, columnIds: [2], directions: ['asc'], storeColumnIds: [], constraintName: 'Mixed Case_select_key' },
    ],
    nextIndexId: 3,
    checks: [],
    foreignKeys: [],
    ...overrides,
  };
}

describe('pgGetIndexdef', () => {
  test('quotes names that need it, as PostgreSQL does', () => {
    const t = table();
    expect(pgGetIndexdef(t, t.primaryIndex)).toBe('CREATE UNIQUE INDEX "Mixed Case_pkey" ON public."Mixed Case" USING btree ("Id")');
    expect(pgGetIndexdef(t, t.indexes[0]!)).toBe('CREATE UNIQUE INDEX "Mixed Case_select_key" ON public."Mixed Case" USING btree ("select")');
    expect(pgGetIndexdef(t, t.primaryIndex, { pretty: true })).toBe('CREATE UNIQUE INDEX "Mixed Case_pkey" ON "Mixed Case" USING btree ("Id")');
    expect(pgGetIndexdef(t, t.primaryIndex, { column: 1 })).toBe('"Id"');
    expect(pgGetIndexdef(t, t.primaryIndex, { column: 2 })).toBe('');
  });
});

describe('pgGetConstraintdef', () => {
  test('PRIMARY KEY and UNIQUE', () => {
    const t = table();
    const [pk, uq] = tableConstraints(t);
    expect(pk && pgGetConstraintdef(t, pk)).toBe('PRIMARY KEY ("Id")');
    expect(uq && pgGetConstraintdef(t, uq)).toBe('UNIQUE ("select")');
  });

  test('FOREIGN KEY with actions in PostgreSQL order (ON UPDATE before ON DELETE), self-referencing', () => {
    const t = table({
      foreignKeys: [
        { name: 'fk', columnIds: [2], referencedTableId: 300, referencedColumnIds: [1], onDelete: 'set null', onUpdate: 'restrict' },
      ],
    });
    const fk = tableConstraints(t).find((c) => c.contype === 'f');
    expect(fk && pgGetConstraintdef(t, fk)).toBe('FOREIGN KEY ("select") REFERENCES "Mixed Case"("Id") ON UPDATE RESTRICT ON DELETE SET NULL');
  });

  test('CHECK, pretty and not', () => {
    const t = table({ checks: [{ name: 'c', expr: expr('"Id" > 0 AND "select" IS NOT NULL') }] });
    const check = tableConstraints(t).find((c) => c.contype === 'c');
    expect(check && pgGetConstraintdef(t, check, { pretty: true })).toBe('CHECK ("Id" > 0 AND "select" IS NOT NULL)');
    expect(check && pgGetConstraintdef(t, check)).toBe('CHECK ((("Id" > 0) AND ("select" IS NOT NULL)))');
  });
});

describe('column numbers', () => {
  test('attnum is the descriptor position (RowDescription), the hidden rowid a gap', () => {
    // CREATE TABLE t (a int); ALTER TABLE t ADD COLUMN b int: rowid sits between them.
    const t = table({
      columns: [
        { id: 1, name: 'a', type: scalarType('int4'), nullable: true },
        { id: 2, name: 'rowid', type: scalarType('int8'), nullable: false, hidden: true },
        { id: 3, name: 'b', type: scalarType('int4'), nullable: true },
      ],
      primaryIndex: { id: 1, name: 't_pkey', unique: true, columnIds: [2], directions: ['asc'], storeColumnIds: [] },
      indexes: [{ id: 2, name: 't_b_idx', unique: false, columnIds: [3], directions: ['asc'], storeColumnIds: [2] }],
    });
    expect(shownColumns(t).map((c) => [c.column.name, c.attnum])).toEqual([
      ['a', 1],
      ['b', 3],
    ]);
    expect(attnumOf(t, 3)).toBe(3);
    // No PRIMARY KEY in PostgreSQL's eyes, and the rowid is not an INCLUDE column.
    expect(shownIndexes(t).map((i) => i.name)).toEqual(['t_b_idx']);
    expect(tableConstraints(t)).toEqual([]);
    expect(pgGetIndexdef(t, t.indexes[0]!)).toBe('CREATE INDEX t_b_idx ON public."Mixed Case" USING btree (b)');
  });
});
