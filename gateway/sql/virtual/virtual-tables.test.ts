import type { ScalarTypeName } from '../types/datum';
import { scalarType } from '../types/datum';
import { loadParser } from '../parser';
import { arrayOf, typeLen, typeOid } from '../types/type-names';
import type { Datum } from '../types/datum';
import type { VirtualContext } from '../plan/plan';
import { checkConstraintOid, foreignKeyConstraintOid, indexOid, INFORMATION_SCHEMA_NAMESPACE_OID, PG_CATALOG_NAMESPACE_OID } from './oids';
import { pgGetConstraintdefByOid, pgGetIndexdefByOid, regclassName, regclassOid } from './regclass';
import { RELATIONS, virtualRelation } from './relations';
import type { Fixture } from './test-support';
import { buildFixture, IDS, MemoryTxn } from './test-support';
import { virtualTableFor } from './virtual-tables';

/**
 * The virtual tables over a fixture database (test-support.ts): the rows psql's `\d`
 * queries and the drivers' metadata queries read, checked against what PostgreSQL 15
 * returns for the same schema (captured from a real server with `psql -E`).
 */

type Obj = Record<string, Datum>;

let fixture: Fixture;

beforeAll(async () => {
  await loadParser();
  fixture = await buildFixture();
});

async function rowsOf(schema: string | undefined, name: string, ctx: object = { database: 'shop', txn: fixture.txn }): Promise<Obj[]> {
  const table = virtualTableFor(schema, name, fixture.source);
  if (table === undefined) throw new Error(`no virtual table ${name}`);
  const rows = await table.rows(ctx as VirtualContext);
  return rows.map((r) => {
    expect(r).toHaveLength(table.columns.length);
    return Object.fromEntries(table.columns.map((c, i) => [c.name, r[i] as Datum]));
  });
}

const ORDERS_PKEY = indexOid(IDS.orders, 1);
const ORDERS_NOTE_KEY = indexOid(IDS.orders, 2);
const ORDERS_QTY_IDX = indexOid(IDS.orders, 3);

describe('virtualTableFor', () => {
  test('pg_catalog names resolve qualified or not; information_schema only qualified', () => {
    expect(virtualTableFor(undefined, 'pg_class', fixture.source)).toBeDefined();
    expect(virtualTableFor('pg_catalog', 'pg_class', fixture.source)).toBeDefined();
    expect(virtualTableFor('information_schema', 'columns', fixture.source)).toBeDefined();
    expect(virtualTableFor(undefined, 'columns', fixture.source)).toBeUndefined();
    expect(virtualTableFor('public', 'pg_class', fixture.source)).toBeUndefined();
    expect(virtualTableFor('pg_catalog', 'orders', fixture.source)).toBeUndefined();
    expect(virtualTableFor('information_schema', 'pg_class', fixture.source)).toBeUndefined();
  });

  test('every relation psql 15 \\d, \\l, \\dt, \\di, \\ds, \\du and \\dn reads exists', () => {
    for (const name of [
      'pg_namespace', 'pg_class', 'pg_attribute', 'pg_type', 'pg_index', 'pg_constraint', 'pg_attrdef', 'pg_database',
      'pg_roles', 'pg_user', 'pg_auth_members', 'pg_settings', 'pg_am', 'pg_proc', 'pg_description', 'pg_inherits',
      'pg_collation', 'pg_tablespace', 'pg_extension', 'pg_tables', 'pg_indexes', 'pg_stat_activity', 'pg_enum',
      'pg_range', 'pg_trigger', 'pg_rewrite', 'pg_policy', 'pg_statistic_ext', 'pg_publication', 'pg_publication_rel',
      'pg_publication_namespace', 'pg_sequence', 'pg_depend',
    ]) {
      expect(virtualRelation('pg_catalog', name)).toBeDefined();
    }
    for (const name of ['schemata', 'tables', 'columns', 'table_constraints', 'key_column_usage']) {
      expect(virtualRelation('information_schema', name)).toBeDefined();
    }
  });

  test('every relation builds rows of its own width', async () => {
    for (const r of RELATIONS) {
      const rows = await rowsOf(r.schema, r.name);
      expect(Array.isArray(rows)).toBe(true);
    }
  });

  test('the columns psql selects have PostgreSQL 15 types (by OID)', () => {
    const typeOfColumn = (table: string, column: string): number => {
      const c = virtualRelation('pg_catalog', table)?.columns.find((x) => x.name === column);
      if (c === undefined) throw new Error(`${table}.${column} missing`);
      return typeOid(c.type);
    };
    expect(typeOfColumn('pg_class', 'oid')).toBe(26);
    expect(typeOfColumn('pg_class', 'relname')).toBe(19);
    expect(typeOfColumn('pg_class', 'relchecks')).toBe(21);
    expect(typeOfColumn('pg_class', 'reltuples')).toBe(700);
    expect(typeOfColumn('pg_attribute', 'attnum')).toBe(21);
    expect(typeOfColumn('pg_attribute', 'atttypmod')).toBe(23);
    expect(typeOfColumn('pg_constraint', 'conkey')).toBe(1005);
    expect(typeOfColumn('pg_roles', 'rolvaliduntil')).toBe(1184);
    expect(typeOfColumn('pg_database', 'encoding')).toBe(23);
  });
});

describe('pg_class, pg_namespace, pg_database', () => {
  test('tables, indexes and sequences of this database only, with their kinds', async () => {
    const rows = (await rowsOf('pg_catalog', 'pg_class')).filter((r) => r['relnamespace'] === BigInt(IDS.shopPublic));
    const byName = new Map(rows.map((r) => [r['relname'], r]));
    expect([...byName.keys()].sort()).toEqual(['items', 'items_seq', 'orders', 'orders_note_key', 'orders_pkey', 'orders_qty_idx']);
    expect(byName.get('orders')).toMatchObject({
      oid: BigInt(IDS.orders),
      relkind: 'r',
      relam: 2n,
      relnatts: 6n,
      relchecks: 1n,
      relhasindex: true,
      relpersistence: 'p',
      relhasrules: false,
      relhastriggers: true, // orders has a foreign key: PostgreSQL enforces it with triggers
      relrowsecurity: false,
      relispartition: false,
      reloptions: null,
      relacl: null,
    });
    // The hidden rowid is not a column, and its primary index is not shown.
    expect(byName.get('items')).toMatchObject({ relkind: 'r', relnatts: 3n, relhasindex: false, relchecks: 0n });
    expect(byName.get('orders_pkey')).toMatchObject({ oid: BigInt(ORDERS_PKEY), relkind: 'i', relam: 403n, relnatts: 2n });
    expect(byName.get('orders_qty_idx')).toMatchObject({ oid: BigInt(ORDERS_QTY_IDX), relkind: 'i', relnatts: 2n });
    expect(byName.get('items_seq')).toMatchObject({ oid: BigInt(IDS.itemsSeq), relkind: 'S' });
    const all = await rowsOf('pg_catalog', 'pg_class');
    expect(all.some((r) => r['relname'] === 'secret')).toBe(false);
    expect(all.find((r) => r['relname'] === 'pg_class')).toMatchObject({ relkind: 'r', relnamespace: BigInt(PG_CATALOG_NAMESPACE_OID) });
    expect(all.find((r) => r['relname'] === 'columns')).toMatchObject({ relkind: 'v', relnamespace: BigInt(INFORMATION_SCHEMA_NAMESPACE_OID) });
    expect(new Set(all.map((r) => r['oid'])).size).toBe(all.length);
  });

  test('pg_namespace has pg_catalog (11), information_schema and public (its descriptor ID)', async () => {
    const rows = await rowsOf('pg_catalog', 'pg_namespace');
    expect(rows.map((r) => [r['nspname'], r['oid']])).toEqual([
      ['pg_catalog', 11n],
      ['information_schema', BigInt(INFORMATION_SCHEMA_NAMESPACE_OID)],
      ['public', BigInt(IDS.shopPublic)],
    ]);
  });

  test('pg_database lists every database, as PostgreSQL does', async () => {
    const rows = await rowsOf('pg_catalog', 'pg_database');
    expect(rows.map((r) => r['datname'])).toEqual(['shop', 'other']);
    expect(rows[0]).toMatchObject({ oid: BigInt(IDS.shop), datdba: 10n, encoding: 6n, datcollate: 'C', datctype: 'C', datlocprovider: 'c', datistemplate: false, datallowconn: true, datacl: null, daticulocale: null });
  });
});

describe('pg_attribute', () => {
  test('columns with attnum, typmods as PostgreSQL reports them, NOT NULL and defaults', async () => {
    const rows = (await rowsOf('pg_catalog', 'pg_attribute')).filter((r) => r['attrelid'] === BigInt(IDS.orders));
    expect(rows.map((r) => [r['attname'], r['attnum'], r['atttypid'], r['atttypmod'], r['attlen'], r['attnotnull'], r['atthasdef']])).toEqual([
      ['region', 1n, 25n, -1n, -1n, true, false],
      ['id', 2n, 20n, -1n, 8n, true, false],
      ['qty', 3n, 23n, -1n, 4n, true, true],
      ['price', 4n, 1700n, 655366n, -1n, false, false], // ((10 << 16) | 2) + 4, as PostgreSQL
      ['note', 5n, 1043n, 24n, -1n, false, true], // 20 + 4
      ['created', 6n, 1184n, -1n, 8n, false, true],
    ]);
    expect(rows[0]).toMatchObject({ attisdropped: false, attidentity: '', attgenerated: '', attcollation: 100n, attstattarget: -1n });
    expect(rows[1]).toMatchObject({ attcollation: 0n, attbyval: true });
  });

  test('the hidden rowid is left out; arrays have attndims 1', async () => {
    const rows = (await rowsOf('pg_catalog', 'pg_attribute')).filter((r) => r['attrelid'] === BigInt(IDS.items));
    expect(rows.map((r) => r['attname'])).toEqual(['order_region', 'order_id', 'tags']);
    expect(rows[2]).toMatchObject({ atttypid: 1009n, attndims: 1n });
  });

  test('indexes have attributes 1..indnatts (psql \\d index)', async () => {
    const rows = (await rowsOf('pg_catalog', 'pg_attribute')).filter((r) => r['attrelid'] === BigInt(ORDERS_QTY_IDX));
    expect(rows.map((r) => [r['attname'], r['attnum']])).toEqual([
      ['qty', 1n],
      ['price', 2n],
    ]);
  });
});

describe('pg_index', () => {
  test('keys as int2vector text, options, and the primary/unique flags', async () => {
    const rows = await rowsOf('pg_catalog', 'pg_index');
    const byOid = new Map(rows.map((r) => [r['indexrelid'], r]));
    expect(byOid.get(BigInt(ORDERS_PKEY))).toMatchObject({
      indrelid: BigInt(IDS.orders),
      indnatts: 2n,
      indnkeyatts: 2n,
      indisunique: true,
      indisprimary: true,
      indisclustered: false,
      indisvalid: true,
      indimmediate: true,
      indkey: '1 2',
      indoption: '0 0',
      indcollation: '100 0',
      indexprs: null,
      indpred: null,
    });
    expect(byOid.get(BigInt(ORDERS_NOTE_KEY))).toMatchObject({ indkey: '5', indisunique: true, indisprimary: false });
    // DESC is PostgreSQL's option 3 (DESC, NULLS FIRST); INCLUDE columns count in indnatts only.
    expect(byOid.get(BigInt(ORDERS_QTY_IDX))).toMatchObject({ indkey: '3 4', indoption: '3', indnatts: 2n, indnkeyatts: 1n, indisunique: false });
    expect(rows).toHaveLength(3);
  });
});

describe('pg_constraint and pg_attrdef', () => {
  test('primary, unique, check and foreign key rows', async () => {
    const rows = await rowsOf('pg_catalog', 'pg_constraint');
    const byName = new Map(rows.map((r) => [r['conname'], r]));
    expect(byName.get('orders_pkey')).toMatchObject({
      oid: BigInt(ORDERS_PKEY),
      contype: 'p',
      conrelid: BigInt(IDS.orders),
      conindid: BigInt(ORDERS_PKEY),
      connamespace: BigInt(IDS.shopPublic),
      conkey: [1n, 2n],
      confkey: null,
      condeferrable: false,
      condeferred: false,
      convalidated: true,
      conparentid: 0n,
    });
    expect(byName.get('orders_note_key')).toMatchObject({ contype: 'u', conkey: [5n], conindid: BigInt(ORDERS_NOTE_KEY) });
    expect(byName.get('orders_qty_check')).toMatchObject({
      oid: BigInt(checkConstraintOid(IDS.orders, 0)),
      contype: 'c',
      conkey: [3n],
      conindid: 0n,
      conbin: 'qty > 0',
    });
    expect(byName.get('items_order_region_order_id_fkey')).toMatchObject({
      oid: BigInt(foreignKeyConstraintOid(IDS.items, 0)),
      contype: 'f',
      conrelid: BigInt(IDS.items),
      confrelid: BigInt(IDS.orders),
      conindid: BigInt(ORDERS_PKEY),
      conkey: [1n, 2n],
      confkey: [1n, 2n],
      confupdtype: 'a',
      confdeltype: 'c',
      confmatchtype: 's',
    });
    // CREATE INDEX makes no constraint; the rowid primary key makes none either.
    expect(rows).toHaveLength(4);
  });

  test('pg_attrdef shows defaults as pg_get_expr does', async () => {
    const rows = await rowsOf('pg_catalog', 'pg_attrdef');
    expect(rows.map((r) => [r['adrelid'], r['adnum'], r['adbin']])).toEqual([
      [BigInt(IDS.orders), 3n, '1'],
      [BigInt(IDS.orders), 5n, "'none'::character varying"],
      [BigInt(IDS.orders), 6n, 'now()'],
    ]);
  });

  test('pg_get_indexdef and pg_get_constraintdef by OID', async () => {
    const src = fixture.source;
    expect(await pgGetIndexdefByOid(src, ORDERS_PKEY)).toBe('CREATE UNIQUE INDEX orders_pkey ON public.orders USING btree (region, id)');
    expect(await pgGetIndexdefByOid(src, ORDERS_PKEY, { pretty: true })).toBe('CREATE UNIQUE INDEX orders_pkey ON orders USING btree (region, id)');
    expect(await pgGetIndexdefByOid(src, ORDERS_QTY_IDX)).toBe('CREATE INDEX orders_qty_idx ON public.orders USING btree (qty DESC) INCLUDE (price)');
    expect(await pgGetIndexdefByOid(src, ORDERS_PKEY, { column: 2 })).toBe('id');
    expect(await pgGetIndexdefByOid(src, indexOid(IDS.items, 1))).toBeUndefined();
    expect(await pgGetConstraintdefByOid(src, ORDERS_PKEY)).toBe('PRIMARY KEY (region, id)');
    expect(await pgGetConstraintdefByOid(src, ORDERS_NOTE_KEY)).toBe('UNIQUE (note)');
    expect(await pgGetConstraintdefByOid(src, checkConstraintOid(IDS.orders, 0), true)).toBe('CHECK (qty > 0)');
    expect(await pgGetConstraintdefByOid(src, checkConstraintOid(IDS.orders, 0), false)).toBe('CHECK ((qty > 0))');
    expect(await pgGetConstraintdefByOid(src, foreignKeyConstraintOid(IDS.items, 0))).toBe(
      'FOREIGN KEY (order_region, order_id) REFERENCES orders(region, id) ON DELETE CASCADE',
    );
    expect(await pgGetConstraintdefByOid(src, foreignKeyConstraintOid(IDS.secret, 0))).toBeUndefined();
  });
});

describe('OIDs join up across tables', () => {
  test('attrelid, indexrelid, conrelid, relnamespace and atttypid all point at rows', async () => {
    const classes = await rowsOf('pg_catalog', 'pg_class');
    const classByOid = new Map(classes.map((r) => [r['oid'], r]));
    const namespaces = new Set((await rowsOf('pg_catalog', 'pg_namespace')).map((r) => r['oid']));
    const types = new Set((await rowsOf('pg_catalog', 'pg_type')).map((r) => r['oid']));
    for (const c of classes) {
      expect(namespaces.has(c['relnamespace'] as bigint)).toBe(true);
    }
    for (const a of await rowsOf('pg_catalog', 'pg_attribute')) {
      expect(classByOid.has(a['attrelid'] as bigint)).toBe(true);
      expect(types.has(a['atttypid'] as bigint)).toBe(true);
    }
    for (const i of await rowsOf('pg_catalog', 'pg_index')) {
      expect(classByOid.get(i['indexrelid'] as bigint)?.['relkind']).toBe('i');
      expect(classByOid.get(i['indrelid'] as bigint)?.['relkind']).toBe('r');
    }
    for (const c of await rowsOf('pg_catalog', 'pg_constraint')) {
      expect(classByOid.get(c['conrelid'] as bigint)?.['relkind']).toBe('r');
      if (c['conindid'] !== 0n) expect(classByOid.get(c['conindid'] as bigint)?.['relkind']).toBe('i');
    }
    for (const d of await rowsOf('pg_catalog', 'pg_attrdef')) {
      expect(classByOid.has(d['adrelid'] as bigint)).toBe(true);
    }
    // pg_class.relnatts counts the pg_attribute rows of each relation.
    const attrs = await rowsOf('pg_catalog', 'pg_attribute');
    for (const c of classes) {
      expect(BigInt(attrs.filter((a) => a['attrelid'] === c['oid']).length)).toBe(c['relnatts']);
    }
  });

  test('regclass lookups agree with pg_class', async () => {
    const src = fixture.source;
    expect(await regclassOid(src, 'orders')).toBe(IDS.orders);
    expect(await regclassOid(src, 'public.orders')).toBe(IDS.orders);
    expect(await regclassOid(src, '"orders"')).toBe(IDS.orders);
    expect(await regclassOid(src, 'ORDERS')).toBe(IDS.orders);
    expect(await regclassOid(src, '"ORDERS"')).toBeUndefined();
    expect(await regclassOid(src, 'shop.public.orders')).toBe(IDS.orders);
    expect(await regclassOid(src, 'orders_pkey')).toBe(ORDERS_PKEY);
    expect(await regclassOid(src, 'items_seq')).toBe(IDS.itemsSeq);
    expect(await regclassOid(src, 'pg_class')).toBe(virtualRelation('pg_catalog', 'pg_class')?.oid);
    expect(await regclassOid(src, 'pg_catalog.pg_class')).toBe(virtualRelation('pg_catalog', 'pg_class')?.oid);
    expect(await regclassOid(src, 'information_schema.columns')).toBe(virtualRelation('information_schema', 'columns')?.oid);
    expect(await regclassOid(src, 'columns')).toBeUndefined();
    expect(await regclassOid(src, 'secret')).toBeUndefined();
    expect(await regclassOid(src, 'nope')).toBeUndefined();
    expect(await regclassOid(src, '16384')).toBe(16384);
    expect(await regclassName(src, IDS.orders)).toBe('orders');
    expect(await regclassName(src, ORDERS_PKEY)).toBe('orders_pkey');
    expect(await regclassName(src, virtualRelation('information_schema', 'tables')?.oid ?? 0)).toBe('information_schema.tables');
    expect(await regclassName(src, IDS.secret)).toBeUndefined();
  });
});

describe('pg_type', () => {
  test('every Cairn type and its array, with OIDs and lengths from types/type-names', async () => {
    const rows = await rowsOf('pg_catalog', 'pg_type');
    const byOid = new Map(rows.map((r) => [r['oid'], r]));
    const names: ScalarTypeName[] = ['bool', 'int2', 'int4', 'int8', 'float4', 'float8', 'numeric', 'text', 'varchar', 'bpchar', 'name', 'bytea', 'date', 'timestamp', 'timestamptz', 'interval', 'uuid', 'jsonb', 'oid'];
    for (const name of names) {
      const scalar = byOid.get(BigInt(typeOid(scalarType(name))));
      expect(scalar).toMatchObject({ typname: name, typlen: BigInt(typeLen(scalarType(name))), typnamespace: 11n, typdelim: ',', typbasetype: 0n, typtypmod: -1n, typnotnull: false, typrelid: 0n });
      const array = byOid.get(BigInt(typeOid(arrayOf(scalarType(name)))));
      expect(array).toMatchObject({ typname: `_${name}`, typelem: BigInt(typeOid(scalarType(name))), typinput: 'array_in', typcategory: 'A', typlen: -1n });
      expect(scalar?.['typarray']).toBe(array?.['oid']);
    }
    expect(byOid.get(1043n)).toMatchObject({ typinput: 'varcharin', typoutput: 'varcharout', typreceive: 'varcharrecv', typsend: 'varcharsend', typmodin: 'varchartypmodin', typcategory: 'S', typcollation: 100n, typtype: 'b', typbyval: false });
    expect(byOid.get(1700n)).toMatchObject({ typinput: 'numeric_in', typcategory: 'N' });
    expect(byOid.get(16n)).toMatchObject({ typbyval: true, typcategory: 'B', typispreferred: true });
    expect(byOid.get(705n)).toMatchObject({ typtype: 'p', typlen: -2n });
  });
});

describe('information_schema', () => {
  test('columns: standard type names, lengths, precisions, defaults, nullability', async () => {
    const rows = (await rowsOf('information_schema', 'columns')).filter((r) => r['table_schema'] === 'public');
    const pick = (r: Obj) => [
      r['column_name'],
      r['ordinal_position'],
      r['data_type'],
      r['is_nullable'],
      r['column_default'],
      r['character_maximum_length'],
      r['character_octet_length'],
      r['numeric_precision'],
      r['numeric_precision_radix'],
      r['numeric_scale'],
      r['datetime_precision'],
      r['udt_name'],
    ];
    expect(rows.filter((r) => r['table_name'] === 'orders').map(pick)).toEqual([
      ['region', 1n, 'text', 'NO', null, null, 1073741824n, null, null, null, null, 'text'],
      ['id', 2n, 'bigint', 'NO', null, null, null, 64n, 2n, 0n, null, 'int8'],
      ['qty', 3n, 'integer', 'NO', '1', null, null, 32n, 2n, 0n, null, 'int4'],
      ['price', 4n, 'numeric', 'YES', null, null, null, 10n, 10n, 2n, null, 'numeric'],
      ['note', 5n, 'character varying', 'YES', "'none'::character varying", 20n, 80n, null, null, null, null, 'varchar'],
      ['created', 6n, 'timestamp with time zone', 'YES', 'now()', null, null, null, null, null, 6n, 'timestamptz'],
    ]);
    expect(rows.filter((r) => r['table_name'] === 'items').map((r) => [r['column_name'], r['data_type'], r['udt_name']])).toEqual([
      ['order_region', 'text', 'text'],
      ['order_id', 'bigint', 'int8'],
      ['tags', 'ARRAY', '_text'],
    ]);
    expect(rows[0]).toMatchObject({ table_catalog: 'shop', udt_catalog: 'shop', udt_schema: 'pg_catalog', is_identity: 'NO', is_generated: 'NEVER', is_updatable: 'YES', dtd_identifier: '1' });
  });

  test('tables and schemata', async () => {
    const tables = (await rowsOf('information_schema', 'tables')).filter((r) => r['table_schema'] === 'public');
    expect(tables.map((r) => [r['table_catalog'], r['table_name'], r['table_type']])).toEqual([
      ['shop', 'orders', 'BASE TABLE'],
      ['shop', 'items', 'BASE TABLE'],
    ]);
    const schemata = await rowsOf('information_schema', 'schemata');
    expect(schemata.map((r) => r['schema_name'])).toEqual(['pg_catalog', 'information_schema', 'public']);
  });

  test('table_constraints and key_column_usage, with PostgreSQL 15 NOT NULL checks', async () => {
    const tc = (await rowsOf('information_schema', 'table_constraints')).filter((r) => r['table_name'] === 'orders');
    expect(tc.map((r) => [r['constraint_name'], r['constraint_type'], r['nulls_distinct']])).toEqual([
      ['orders_pkey', 'PRIMARY KEY', null],
      ['orders_note_key', 'UNIQUE', 'YES'],
      ['orders_qty_check', 'CHECK', null],
      [`${IDS.shopPublic}_${IDS.orders}_1_not_null`, 'CHECK', null],
      [`${IDS.shopPublic}_${IDS.orders}_2_not_null`, 'CHECK', null],
      [`${IDS.shopPublic}_${IDS.orders}_3_not_null`, 'CHECK', null],
    ]);
    const kcu = await rowsOf('information_schema', 'key_column_usage');
    expect(kcu.map((r) => [r['constraint_name'], r['table_name'], r['column_name'], r['ordinal_position'], r['position_in_unique_constraint']])).toEqual([
      ['orders_pkey', 'orders', 'region', 1n, null],
      ['orders_pkey', 'orders', 'id', 2n, null],
      ['orders_note_key', 'orders', 'note', 1n, null],
      ['items_order_region_order_id_fkey', 'items', 'order_region', 1n, 1n],
      ['items_order_region_order_id_fkey', 'items', 'order_id', 2n, 2n],
    ]);
    const rc = await rowsOf('information_schema', 'referential_constraints');
    expect(rc).toEqual([
      expect.objectContaining({ constraint_name: 'items_order_region_order_id_fkey', unique_constraint_name: 'orders_pkey', update_rule: 'NO ACTION', delete_rule: 'CASCADE', match_option: 'NONE' }),
    ]);
    const cc = await rowsOf('information_schema', 'check_constraints');
    expect(cc.find((r) => r['constraint_name'] === 'orders_qty_check')?.['check_clause']).toBe('((qty > 0))');
  });
});

describe('roles, settings, views', () => {
  test('pg_roles and pg_user hide passwords; root is OID 10', async () => {
    const roles = await rowsOf('pg_catalog', 'pg_roles');
    expect(roles.map((r) => [r['rolname'], r['rolsuper'], r['rolcanlogin'], r['rolpassword']])).toEqual([
      ['root', true, true, '********'],
      ['alice', false, true, '********'],
      ['readers', false, false, '********'],
    ]);
    expect(roles[0]?.['oid']).toBe(10n);
    const users = await rowsOf('pg_catalog', 'pg_user');
    expect(users.map((r) => r['usename'])).toEqual(['root', 'alice']);
    expect(users[1]?.['usesysid']).toBe(roles[1]?.['oid']);
  });

  test('pg_settings: display names, type metadata, source', async () => {
    const rows = await rowsOf('pg_catalog', 'pg_settings');
    const byName = new Map(rows.map((r) => [r['name'], r]));
    expect(byName.get('TimeZone')).toMatchObject({ setting: 'Europe/Paris', source: 'session', context: 'user', vartype: 'string', boot_val: 'UTC' });
    expect(byName.get('DateStyle')).toMatchObject({ setting: 'ISO, MDY', source: 'default' });
    expect(byName.get('statement_timeout')).toMatchObject({ unit: 'ms', vartype: 'integer' });
    expect(byName.get('application_name')).toMatchObject({ setting: 'psql', source: 'session' });
  });

  test('pg_indexes and pg_tables', async () => {
    const indexes = await rowsOf('pg_catalog', 'pg_indexes');
    expect(indexes.map((r) => [r['tablename'], r['indexname'], r['indexdef']])).toEqual([
      ['orders', 'orders_pkey', 'CREATE UNIQUE INDEX orders_pkey ON public.orders USING btree (region, id)'],
      ['orders', 'orders_note_key', 'CREATE UNIQUE INDEX orders_note_key ON public.orders USING btree (note)'],
      ['orders', 'orders_qty_idx', 'CREATE INDEX orders_qty_idx ON public.orders USING btree (qty DESC) INCLUDE (price)'],
    ]);
    const tables = (await rowsOf('pg_catalog', 'pg_tables')).filter((r) => r['schemaname'] === 'public');
    expect(tables.map((r) => [r['tablename'], r['tableowner'], r['hasindexes']])).toEqual([
      ['orders', 'root', true],
      ['items', 'root', false],
    ]);
  });

  test('pg_sequence and pg_am', async () => {
    expect(await rowsOf('pg_catalog', 'pg_sequence')).toEqual([
      { seqrelid: BigInt(IDS.itemsSeq), seqtypid: 20n, seqstart: 1n, seqincrement: 1n, seqmax: 9223372036854775807n, seqmin: 1n, seqcache: 1n, seqcycle: false },
    ]);
    expect((await rowsOf('pg_catalog', 'pg_am')).map((r) => [r['oid'], r['amname']])).toEqual([
      [2n, 'heap'],
      [403n, 'btree'],
    ]);
  });
});

describe('reads', () => {
  test('one execution reads the catalog once; the next execution reads it again', async () => {
    const ctx = { database: 'shop' };
    const before = fixture.txn.scans;
    await rowsOf('pg_catalog', 'pg_class', ctx);
    const once = fixture.txn.scans - before;
    expect(once).toBeGreaterThan(0);
    await rowsOf('pg_catalog', 'pg_attribute', ctx);
    await rowsOf('pg_catalog', 'pg_index', ctx);
    expect(fixture.txn.scans - before).toBe(once);
    await rowsOf('pg_catalog', 'pg_class', { database: 'shop' });
    expect(fixture.txn.scans - before).toBe(2 * once);
  });

  test('a transaction carried by the execution context is preferred to the planning one', async () => {
    const empty = new MemoryTxn();
    const rows = await rowsOf('pg_catalog', 'pg_class', { database: 'shop', txn: empty });
    expect(rows.some((r) => r['relname'] === 'orders')).toBe(false);
  });
});
