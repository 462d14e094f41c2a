import { Client } from 'pg';
import type { GatewayServer } from '../../gateway/server';
import { startExtraGateway, startSqlCluster, type SqlCluster } from '../support/sql-cluster';

/**
 * Sequences through the gateway with node-postgres, on a one-node cluster with two
 * gateways: CREATE / ALTER / DROP SEQUENCE with PostgreSQL's errors, nextval / currval /
 * setval / lastval, values never handed out twice (across rollbacks, sessions and
 * gateways), DEFAULT nextval(...) in tables, and the catalog rows psql and drivers read.
 */

let cluster: SqlCluster | undefined;
let second: GatewayServer | undefined;
let db: Client;
const extra: Client[] = [];

beforeAll(async () => {
  cluster = await startSqlCluster('sequences', { nodes: 1 });
  second = await startExtraGateway(cluster, 'sequences-second');
  db = await cluster.client();
}, 120_000);

afterAll(async () => {
  await Promise.all(extra.map((c) => c.end().catch(() => undefined)));
  await db?.end().catch(() => undefined);
  await second?.stop();
  await cluster?.stop();
});

/** Another client: on the first gateway, or on the second. */
async function connect(gateway: 'first' | 'second'): Promise<Client> {
  if (gateway === 'first') return (cluster as SqlCluster).client();
  const c = new Client({ host: '127.0.0.1', port: (second as GatewayServer).sqlAddress.port, user: 'root', database: 'defaultdb' });
  c.on('error', () => undefined);
  await c.connect();
  extra.push(c);
  return c;
}

async function failure(query: Promise<unknown>): Promise<{ code?: string; message?: string; detail?: string } | undefined> {
  try {
    await query;
    return undefined;
  } catch (err) {
    const e = err as { code?: string; message?: string; detail?: string };
    return { ...(e.code === undefined ? {} : { code: e.code }), ...(e.message === undefined ? {} : { message: e.message }), ...(e.detail === undefined ? {} : { detail: e.detail }) };
  }
}

async function one(client: Client, sql: string): Promise<unknown> {
  const { rows } = await client.query(sql);
  return Object.values(rows[0] as Record<string, unknown>)[0];
}

describe('nextval, currval, setval, lastval', () => {
  test('a new sequence counts from 1; currval and lastval repeat the last value', async () => {
    await db.query('CREATE SEQUENCE s1');
    expect(await failure(db.query("SELECT currval('s1')"))).toEqual({ code: '55000', message: 'currval of sequence "s1" is not yet defined in this session' });
    expect(await one(db, "SELECT nextval('s1')")).toBe('1');
    expect(await one(db, "SELECT nextval('s1')")).toBe('2');
    expect(await one(db, "SELECT currval('s1')")).toBe('2');
    expect(await one(db, 'SELECT lastval()')).toBe('2');
    // Schema-qualified, an explicit regclass cast, and text.
    expect(await one(db, "SELECT nextval('public.s1')")).toBe('3');
    expect(await one(db, "SELECT nextval('s1'::regclass)")).toBe('4');
    expect(await one(db, "SELECT nextval('s1'::text)")).toBe('5');
    expect((await db.query('SELECT nextval($1) AS v', ['s1'])).rows).toEqual([{ v: '6' }]);
  });

  test('lastval before any nextval is 55000 in a new session', async () => {
    const c = await connect('first');
    expect(await failure(c.query('SELECT lastval()'))).toEqual({ code: '55000', message: 'lastval is not yet defined in this session' });
  });

  test('several values in one statement, in order', async () => {
    await db.query('CREATE SEQUENCE s2');
    const { rows } = await db.query("SELECT nextval('s2') AS v FROM generate_series(1, 50)");
    expect(rows.map((r: { v: string }) => Number(r.v))).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(await one(db, "SELECT nextval('s2')")).toBe('51');
  });

  test('setval, with and without is_called', async () => {
    await db.query('CREATE SEQUENCE s3');
    expect(await one(db, "SELECT setval('s3', 42)")).toBe('42');
    expect(await one(db, "SELECT currval('s3')")).toBe('42');
    expect(await one(db, "SELECT nextval('s3')")).toBe('43');
    expect(await one(db, "SELECT setval('s3', 7, false)")).toBe('7');
    expect(await one(db, "SELECT nextval('s3')")).toBe('7');
    expect(await failure(db.query("SELECT setval('s3', 0)"))).toEqual({
      code: '22003',
      message: 'setval: value 0 is out of bounds for sequence "s3" (1..9223372036854775807)',
    });
  });

  test('increments, bounds and CYCLE', async () => {
    await db.query('CREATE SEQUENCE s4 INCREMENT BY 5 START WITH 10 MAXVALUE 20');
    expect([await one(db, "SELECT nextval('s4')"), await one(db, "SELECT nextval('s4')"), await one(db, "SELECT nextval('s4')")]).toEqual(['10', '15', '20']);
    expect(await failure(db.query("SELECT nextval('s4')"))).toEqual({ code: '2200H', message: 'nextval: reached maximum value of sequence "s4" (20)' });

    await db.query('CREATE SEQUENCE s5 INCREMENT BY -1 MINVALUE -2 MAXVALUE 0');
    expect(await one(db, "SELECT nextval('s5')")).toBe('0');
    expect(await one(db, "SELECT nextval('s5')")).toBe('-1');
    expect(await one(db, "SELECT nextval('s5')")).toBe('-2');
    expect(await failure(db.query("SELECT nextval('s5')"))).toEqual({ code: '2200H', message: 'nextval: reached minimum value of sequence "s5" (-2)' });

    await db.query('CREATE SEQUENCE s6 MINVALUE 1 MAXVALUE 3 CYCLE');
    const { rows } = await db.query("SELECT nextval('s6') AS v FROM generate_series(1, 7)");
    expect(rows.map((r: { v: string }) => Number(r.v))).toEqual([1, 2, 3, 1, 2, 3, 1]);

    await db.query('CREATE SEQUENCE s7 AS smallint');
    expect(await one(db, "SELECT max_value FROM pg_sequences WHERE sequencename = 's7'")).toBe('32767');
  });

  test('ALTER SEQUENCE RESTART, INCREMENT and bounds', async () => {
    await db.query('CREATE SEQUENCE s8');
    await db.query("SELECT nextval('s8') FROM generate_series(1, 3)");
    await db.query('ALTER SEQUENCE s8 RESTART WITH 100');
    expect(await one(db, "SELECT nextval('s8')")).toBe('100');
    await db.query('ALTER SEQUENCE s8 INCREMENT BY 10');
    expect(await one(db, "SELECT nextval('s8')")).toBe('110');
    await db.query('ALTER SEQUENCE s8 RESTART');
    expect(await one(db, "SELECT nextval('s8')")).toBe('1');
    await db.query('ALTER SEQUENCE s8 MAXVALUE 25 NO CYCLE');
    expect(await one(db, "SELECT nextval('s8')")).toBe('11');
    expect(await one(db, "SELECT nextval('s8')")).toBe('21');
    expect((await failure(db.query("SELECT nextval('s8')")))?.code).toBe('2200H');
    await db.query('ALTER SEQUENCE s8 CYCLE');
    expect(await one(db, "SELECT nextval('s8')")).toBe('1');
  });

  test('CACHE: a session keeps reserved values; another session takes the next ones', async () => {
    await db.query('CREATE SEQUENCE s9 CACHE 10');
    const other = await connect('first');
    expect(await one(db, "SELECT nextval('s9')")).toBe('1');
    expect(await one(other, "SELECT nextval('s9')")).toBe('11');
    expect(await one(db, "SELECT nextval('s9')")).toBe('2');
    expect(await one(db, "SELECT cache_size FROM pg_sequences WHERE sequencename = 's9'")).toBe('10');
  });
});

describe('errors', () => {
  test('DDL errors carry PostgreSQL SQLSTATEs and messages', async () => {
    await db.query('CREATE SEQUENCE e1');
    expect(await failure(db.query('CREATE SEQUENCE e1'))).toEqual({ code: '42P07', message: 'relation "e1" already exists' });
    await db.query('CREATE SEQUENCE IF NOT EXISTS e1');
    expect(await failure(db.query('CREATE SEQUENCE e2 INCREMENT 0'))).toEqual({ code: '22023', message: 'INCREMENT must not be zero' });
    expect(await failure(db.query('CREATE SEQUENCE e2 MINVALUE 10 MAXVALUE 5'))).toEqual({ code: '22023', message: 'MINVALUE (10) must be less than MAXVALUE (5)' });
    expect(await failure(db.query('CREATE SEQUENCE e2 START 0'))).toEqual({ code: '22023', message: 'START value (0) cannot be less than MINVALUE (1)' });
    expect(await failure(db.query('CREATE SEQUENCE e2 CACHE 0'))).toEqual({ code: '22023', message: 'CACHE (0) must be greater than zero' });
    expect(await failure(db.query('CREATE SEQUENCE e2 AS smallint MAXVALUE 40000'))).toEqual({
      code: '22023',
      message: 'MAXVALUE (40000) is out of range for sequence data type smallint',
    });
    expect(await failure(db.query('CREATE SEQUENCE e2 AS text'))).toEqual({ code: '22023', message: 'sequence type must be smallint, integer, or bigint' });
    expect((await failure(db.query('CREATE SEQUENCE e2 INCREMENT 1 INCREMENT 2')))?.code).toBe('42601');
    expect(await failure(db.query('ALTER SEQUENCE e1 RESTART WITH 0'))).toEqual({ code: '22023', message: 'RESTART value (0) cannot be less than MINVALUE (1)' });
    expect(await failure(db.query('ALTER SEQUENCE missing RESTART'))).toEqual({ code: '42P01', message: 'relation "missing" does not exist' });
    await db.query('ALTER SEQUENCE IF EXISTS missing RESTART');
    expect(await failure(db.query('DROP SEQUENCE missing'))).toEqual({ code: '42P01', message: 'sequence "missing" does not exist' });
    await db.query('DROP SEQUENCE IF EXISTS missing');
  });

  test('calls on what is not a sequence', async () => {
    await db.query('CREATE TABLE not_seq (id INT PRIMARY KEY)');
    expect(await failure(db.query("SELECT nextval('missing')"))).toMatchObject({ code: '42P01', message: 'relation "missing" does not exist' });
    expect(await failure(db.query("SELECT nextval('not_seq')"))).toEqual({ code: '42809', message: '"not_seq" is not a sequence' });
    expect(await failure(db.query('DROP SEQUENCE not_seq'))).toEqual({ code: '42809', message: '"not_seq" is not a sequence' });
    expect((await failure(db.query('ALTER SEQUENCE not_seq RESTART')))?.code).toBe('42809');
  });
});

describe('values are never handed out twice', () => {
  test('a rolled-back transaction does not give its values back', async () => {
    await db.query('CREATE SEQUENCE r1');
    await db.query('BEGIN');
    expect(await one(db, "SELECT nextval('r1')")).toBe('1');
    expect(await one(db, "SELECT nextval('r1')")).toBe('2');
    await db.query('ROLLBACK');
    expect(await one(db, "SELECT nextval('r1')")).toBe('3');
    // Another session too.
    const other = await connect('second');
    expect(await one(other, "SELECT nextval('r1')")).toBe('4');
  });

  test('a sequence created, used and restarted inside one transaction', async () => {
    await db.query('BEGIN');
    await db.query('CREATE SEQUENCE t1');
    expect(await one(db, "SELECT nextval('t1')")).toBe('1');
    await db.query('ALTER SEQUENCE t1 RESTART WITH 10');
    expect(await one(db, "SELECT nextval('t1')")).toBe('10');
    await db.query('COMMIT');
    expect(await one(db, "SELECT nextval('t1')")).toBe('11');
    await db.query('BEGIN');
    await db.query('CREATE SEQUENCE t2');
    await db.query("SELECT nextval('t2')");
    await db.query('ROLLBACK');
    expect((await failure(db.query("SELECT nextval('t2')")))?.code).toBe('42P01');
  });

  test('a failed statement inside BEGIN keeps its values taken', async () => {
    await db.query('CREATE SEQUENCE r2');
    await db.query('CREATE TABLE r2_rows (id INT8 PRIMARY KEY DEFAULT nextval(\'r2\'), v INT)');
    await db.query('BEGIN');
    await db.query('INSERT INTO r2_rows (v) VALUES (1), (2)');
    expect((await failure(db.query('INSERT INTO r2_rows (id, v) VALUES (1, 3)')))?.code).toBe('23505');
    await db.query('ROLLBACK');
    await db.query('INSERT INTO r2_rows (v) VALUES (4)');
    expect((await db.query('SELECT id, v FROM r2_rows')).rows).toEqual([{ id: '3', v: 4 }]);
  });

  test('two clients on two gateways, 200 nextval each, concurrently: all distinct', async () => {
    await db.query('CREATE SEQUENCE c1');
    const a = await connect('first');
    const b = await connect('second');
    const run = async (c: Client): Promise<number[]> => {
      const got: number[] = [];
      for (let i = 0; i < 200; i++) got.push(Number(await one(c, "SELECT nextval('c1')")));
      return got;
    };
    const [fromA, fromB] = await Promise.all([run(a), run(b)]);
    const all = [...fromA, ...fromB];
    expect(new Set(all).size).toBe(400);
    // Each session sees its own values increase.
    expect(fromA).toEqual([...fromA].sort((x, y) => x - y));
    expect(fromB).toEqual([...fromB].sort((x, y) => x - y));
    // CACHE 1: nothing reserved is left unused, so the values are exactly 1..400.
    expect(all.sort((x, y) => x - y)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
  }, 120_000);

  test('concurrent multi-row inserts through both gateways draw distinct keys', async () => {
    await db.query('CREATE SEQUENCE c2');
    await db.query("CREATE TABLE c2_rows (id INT8 PRIMARY KEY DEFAULT nextval('c2'), g INT)");
    const a = await connect('first');
    const b = await connect('second');
    const insert = async (c: Client, g: number): Promise<void> => {
      for (let i = 0; i < 10; i++) await c.query(`INSERT INTO c2_rows (g) SELECT ${g} FROM generate_series(1, 30)`);
    };
    await Promise.all([insert(a, 1), insert(b, 2)]);
    expect(await one(db, 'SELECT count(*) FROM c2_rows')).toBe('600');
    expect(await one(db, 'SELECT count(DISTINCT id) FROM c2_rows')).toBe('600');
  }, 120_000);
});

describe('DEFAULT nextval in tables', () => {
  test('CREATE TABLE ... DEFAULT nextval, INSERT, RETURNING, and ALTER COLUMN SET DEFAULT', async () => {
    await db.query('CREATE SEQUENCE d1 START 100');
    await db.query("CREATE TABLE d1_rows (id INT8 PRIMARY KEY DEFAULT nextval('d1'), name TEXT)");
    const inserted = await db.query("INSERT INTO d1_rows (name) VALUES ('a'), ('b') RETURNING id");
    expect(inserted.rows).toEqual([{ id: '100' }, { id: '101' }]);
    await db.query("INSERT INTO d1_rows VALUES (DEFAULT, 'c')");
    // A prepared statement, run several times.
    for (const name of ['d', 'e']) await db.query({ name: 'ins_d1', text: 'INSERT INTO d1_rows (name) VALUES ($1)', values: [name] });
    const rows = await db.query('SELECT id, name FROM d1_rows ORDER BY id');
    expect(rows.rows).toEqual([
      { id: '100', name: 'a' },
      { id: '101', name: 'b' },
      { id: '102', name: 'c' },
      { id: '103', name: 'd' },
      { id: '104', name: 'e' },
    ]);
    expect(await one(db, "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_class c ON c.oid = d.adrelid WHERE c.relname = 'd1_rows'")).toMatch(/nextval\('d1'/);

    await db.query('CREATE SEQUENCE d2');
    await db.query('CREATE TABLE d2_rows (id INT8 PRIMARY KEY, n INT)');
    await db.query("ALTER TABLE d2_rows ALTER COLUMN n SET DEFAULT nextval('d2')");
    await db.query('INSERT INTO d2_rows (id) VALUES (1), (2)');
    expect((await db.query('SELECT n FROM d2_rows ORDER BY id')).rows).toEqual([{ n: 1 }, { n: 2 }]);
    expect((await failure(db.query("CREATE TABLE d3_rows (id INT8 DEFAULT nextval('no_such_seq'))")))?.code).toBe('42P01');
  });

  test('a large INSERT ... SELECT inside BEGIN draws one value per row', async () => {
    await db.query('CREATE SEQUENCE d4');
    await db.query("CREATE TABLE d4_rows (id INT8 PRIMARY KEY DEFAULT nextval('d4'), g INT)");
    await db.query('BEGIN');
    await db.query('INSERT INTO d4_rows (g) SELECT g FROM generate_series(1, 2000) AS g');
    await db.query('COMMIT');
    expect((await db.query('SELECT count(*) AS n, min(id) AS lo, max(id) AS hi FROM d4_rows')).rows).toEqual([{ n: '2000', lo: '1', hi: '2000' }]);
    await db.query("UPDATE d4_rows SET id = nextval('d4') + 10000 WHERE g <= 300");
    expect(await one(db, 'SELECT count(DISTINCT id) FROM d4_rows')).toBe('2000');
  }, 120_000);
});

describe('catalog', () => {
  test("psql's \\ds, \\d seq, information_schema.sequences and pg_sequences", async () => {
    await db.query('CREATE SEQUENCE cat_seq INCREMENT 2 START 5 CACHE 3 CYCLE AS integer');
    const ds = await db.query(`
      SELECT n.nspname as "Schema", c.relname as "Name",
        CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index'
          WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table'
          WHEN 'I' THEN 'partitioned index' END as "Type",
        pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
      FROM pg_catalog.pg_class c
           LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
           LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
      WHERE c.relkind IN ('S','')
            AND n.nspname <> 'pg_catalog'
            AND n.nspname !~ '^pg_toast'
            AND n.nspname <> 'information_schema'
        AND pg_catalog.pg_table_is_visible(c.oid)
      ORDER BY 1,2`);
    expect(ds.rows).toContainEqual({ Schema: 'public', Name: 'cat_seq', Type: 'sequence', Owner: 'root' });

    const oid = await one(db, "SELECT oid FROM pg_class WHERE relname = 'cat_seq'");
    const d = await db.query(`
      SELECT pg_catalog.format_type(seqtypid, NULL) AS "Type", seqstart AS "Start", seqmin AS "Minimum", seqmax AS "Maximum",
             seqincrement AS "Increment", CASE WHEN seqcycle THEN 'yes' ELSE 'no' END AS "Cycles?", seqcache AS "Cache"
      FROM pg_catalog.pg_sequence WHERE seqrelid = '${String(oid)}'`);
    expect(d.rows).toEqual([{ Type: 'integer', Start: '5', Minimum: '1', Maximum: '2147483647', Increment: '2', 'Cycles?': 'yes', Cache: '3' }]);

    const info = await db.query("SELECT * FROM information_schema.sequences WHERE sequence_name = 'cat_seq'");
    expect(info.rows).toEqual([
      {
        sequence_catalog: 'defaultdb',
        sequence_schema: 'public',
        sequence_name: 'cat_seq',
        data_type: 'integer',
        numeric_precision: 32,
        numeric_precision_radix: 2,
        numeric_scale: 0,
        start_value: '5',
        minimum_value: '1',
        maximum_value: '2147483647',
        increment: '2',
        cycle_option: 'YES',
      },
    ]);

    expect(await one(db, "SELECT last_value FROM pg_sequences WHERE sequencename = 'cat_seq'")).toBeNull();
    await db.query("SELECT nextval('cat_seq')");
    // CACHE 3: the session reserved 5, 7 and 9.
    expect((await db.query("SELECT data_type, last_value, cache_size FROM pg_sequences WHERE sequencename = 'cat_seq'")).rows).toEqual([
      { data_type: 'integer', last_value: '9', cache_size: '3' },
    ]);
    expect(await one(db, "SELECT relkind FROM pg_class WHERE relname = 'cat_seq'")).toBe('S');
  });
});

describe('DROP SEQUENCE', () => {
  test('a sequence a default uses: 2BP01 unless CASCADE, which drops the default', async () => {
    await db.query('CREATE SEQUENCE dep1');
    await db.query("CREATE TABLE dep1_rows (id INT8 PRIMARY KEY DEFAULT nextval('dep1'), v INT)");
    expect(await failure(db.query('DROP SEQUENCE dep1'))).toEqual({
      code: '2BP01',
      message: 'cannot drop sequence dep1 because other objects depend on it',
      detail: 'default value for column id of table dep1_rows depends on sequence dep1',
    });
    await db.query('DROP SEQUENCE dep1 CASCADE');
    expect(await one(db, "SELECT count(*) FROM pg_class WHERE relname = 'dep1'")).toBe('0');
    expect((await failure(db.query('INSERT INTO dep1_rows (v) VALUES (1)')))?.code).toBe('23502');
    expect((await failure(db.query("SELECT nextval('dep1')")))?.code).toBe('42P01');
  });

  test('DROP SEQUENCE a, b; IF EXISTS; a re-created sequence starts over', async () => {
    await db.query('CREATE SEQUENCE drop_a');
    await db.query('CREATE SEQUENCE drop_b');
    await db.query("SELECT nextval('drop_a'), nextval('drop_a')");
    await db.query('DROP SEQUENCE drop_a, public.drop_b');
    expect(await one(db, "SELECT count(*) FROM information_schema.sequences WHERE sequence_name IN ('drop_a', 'drop_b')")).toBe('0');
    await db.query('DROP SEQUENCE IF EXISTS drop_a, drop_b');
    await db.query('CREATE SEQUENCE drop_a');
    expect(await one(db, "SELECT nextval('drop_a')")).toBe('1');
  });

  test('a sequence OWNED BY a column goes with its table', async () => {
    await db.query('CREATE TABLE owner_rows (id INT8 PRIMARY KEY)');
    await db.query('CREATE SEQUENCE owned_seq OWNED BY owner_rows.id');
    await db.query("ALTER TABLE owner_rows ALTER COLUMN id SET DEFAULT nextval('owned_seq')");
    await db.query('INSERT INTO owner_rows DEFAULT VALUES');
    await db.query('DROP TABLE owner_rows');
    expect(await one(db, "SELECT count(*) FROM pg_class WHERE relname = 'owned_seq'")).toBe('0');
  });
});
