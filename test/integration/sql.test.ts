import type { Client } from 'pg';
import { prefixEndOf, SQL_DROPPED_DATA_SPAN, sqlDescriptorKey, sqlDroppedDataKey } from '../../common/keys';
import type { TableDescriptor } from '../../gateway/sql/catalog/descriptors';
import { decodeDescriptor } from '../../gateway/sql/catalog/descriptors';
import { indexPrefix, tableSpan } from '../../gateway/sql/exec/table-codec';
import { sendCancelRequest } from '../support/pg-cancel';
import { startSqlCluster, type SqlCluster } from '../support/sql-cluster';

/**
 * SQL through the gateway with node-postgres, on a real one-node cluster: what a
 * PostgreSQL user relies on first — tables, point reads and writes, constraints with
 * their SQLSTATEs, transactions, prepared statements, and the query shapes of a
 * typical application.
 */

let cluster: SqlCluster | undefined;
let db: Client;

beforeAll(async () => {
  cluster = await startSqlCluster('sql', { nodes: 1 });
  db = await cluster.client();
}, 120_000);

afterAll(async () => {
  await db?.end().catch(() => undefined);
  await cluster?.stop();
});

/** Sends a CancelRequest for `client`'s session to the gateway. */
function cancelRequest(client: Client): Promise<void> {
  return sendCancelRequest((cluster as SqlCluster).host, (cluster as SqlCluster).port, client);
}

async function sqlState(query: Promise<unknown>): Promise<string | undefined> {
  try {
    await query;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

describe('tables and rows', () => {
  test('create, insert, point select, update, delete', async () => {
    await db.query('CREATE TABLE accounts (id INT PRIMARY KEY, owner TEXT NOT NULL, balance NUMERIC(12,2) DEFAULT 0)');
    const inserted = await db.query("INSERT INTO accounts (id, owner, balance) VALUES (1, 'ann', 10.5), (2, 'bob', 20), (3, 'cy', DEFAULT)");
    expect(inserted.rowCount).toBe(3);
    expect(inserted.command).toBe('INSERT');

    const one = await db.query('SELECT id, owner, balance FROM accounts WHERE id = $1', [2]);
    expect(one.rows).toEqual([{ id: 2, owner: 'bob', balance: '20.00' }]);

    const updated = await db.query('UPDATE accounts SET balance = balance + 5 WHERE id = 1 RETURNING balance');
    expect(updated.rows).toEqual([{ balance: '15.50' }]);

    const deleted = await db.query('DELETE FROM accounts WHERE id = 3');
    expect(deleted.rowCount).toBe(1);

    const all = await db.query('SELECT id, balance FROM accounts ORDER BY id');
    expect(all.rows).toEqual([
      { id: 1, balance: '15.50' },
      { id: 2, balance: '20.00' },
    ]);
  });

  test('reads by exact primary key: several keys, order, filters, limits, missing keys', async () => {
    await db.query('CREATE TABLE pk_reads (a INT, b TEXT, v INT, PRIMARY KEY (a, b))');
    await db.query("INSERT INTO pk_reads VALUES (1, 'x', 10), (1, 'y', 11), (2, 'x', 20), (3, 'z', 30)");
    const q = async (sql: string, params: unknown[] = []): Promise<unknown[]> => (await db.query(sql, params)).rows;
    expect(await q("SELECT v FROM pk_reads WHERE a = $1 AND b = 'y'", [1])).toEqual([{ v: 11 }]);
    expect(await q("SELECT v FROM pk_reads WHERE a = 9 AND b = 'y'")).toEqual([]);
    expect(await q("SELECT a, v FROM pk_reads WHERE a IN (3, 1, 2) AND b = 'x'")).toEqual([
      { a: 1, v: 10 },
      { a: 2, v: 20 },
    ]);
    expect(await q("SELECT a FROM pk_reads WHERE a IN (1, 2, 3) AND b IN ('x', 'z') ORDER BY a DESC, b DESC")).toEqual([{ a: 3 }, { a: 2 }, { a: 1 }]);
    expect(await q("SELECT v FROM pk_reads WHERE a IN (1, 2) AND b = 'x' AND v > 15")).toEqual([{ v: 20 }]);
    expect(await q("SELECT v FROM pk_reads WHERE a IN (1, 2) AND b = 'x' LIMIT 1")).toEqual([{ v: 10 }]);
    expect(await q("SELECT v FROM pk_reads WHERE a = 1 AND b = 'x' LIMIT 0")).toEqual([]);
    await expect(db.query("SELECT v FROM pk_reads WHERE a = 1 AND b = 'x' LIMIT -1")).rejects.toMatchObject({ code: '2201W' });
    expect(await q("SELECT * FROM pk_reads WHERE a = 2 AND b = 'x'")).toEqual([{ a: 2, b: 'x', v: 20 }]);
    expect(await q("SELECT v + 1 AS w, (SELECT count(*) FROM pk_reads) AS n FROM pk_reads WHERE a = 3 AND b = 'z'")).toEqual([{ w: 31, n: '4' }]);
  });

  test('constraint violations carry their SQLSTATE', async () => {
    await db.query('CREATE TABLE users (id INT PRIMARY KEY, email TEXT UNIQUE, age INT CHECK (age >= 0))');
    await db.query("INSERT INTO users VALUES (1, 'a@x', 30)");
    expect(await sqlState(db.query("INSERT INTO users VALUES (1, 'b@x', 1)"))).toBe('23505');
    expect(await sqlState(db.query("INSERT INTO users VALUES (2, 'a@x', 1)"))).toBe('23505');
    expect(await sqlState(db.query("INSERT INTO users VALUES (3, 'c@x', -1)"))).toBe('23514');
    expect(await sqlState(db.query('INSERT INTO accounts (id) VALUES (9)'))).toBe('23502');
    expect(await sqlState(db.query('SELECT * FROM missing'))).toBe('42P01');
    expect(await sqlState(db.query('SELECT nope FROM users'))).toBe('42703');
    expect(await sqlState(db.query('SELEC 1'))).toBe('42601');
    expect(await sqlState(db.query("SELECT 'x'::int"))).toBe('22P02');
    expect(await sqlState(db.query('SELECT 1/0'))).toBe('22012');
  });

  test('ON CONFLICT DO NOTHING and DO UPDATE', async () => {
    await db.query('CREATE TABLE kv (k TEXT PRIMARY KEY, v INT)');
    await db.query("INSERT INTO kv VALUES ('a', 1)");
    const nothing = await db.query("INSERT INTO kv VALUES ('a', 2) ON CONFLICT DO NOTHING");
    expect(nothing.rowCount).toBe(0);
    const upsert = await db.query("INSERT INTO kv VALUES ('a', 5), ('b', 6) ON CONFLICT (k) DO UPDATE SET v = kv.v + excluded.v RETURNING k, v");
    expect(upsert.rows.sort((x, y) => (x.k < y.k ? -1 : 1))).toEqual([
      { k: 'a', v: 6 },
      { k: 'b', v: 6 },
    ]);
  });

  test('a secondary index serves lookups and stays in step with updates', async () => {
    await db.query('CREATE TABLE items (id INT PRIMARY KEY, sku TEXT, qty INT)');
    await db.query('CREATE INDEX items_sku ON items (sku)');
    await db.query("INSERT INTO items SELECT g, 'sku' || (g % 10), g FROM generate_series(1, 50) AS g");
    await db.query("UPDATE items SET sku = 'moved' WHERE id = 3");
    const bySku = await db.query("SELECT id FROM items WHERE sku = 'sku3' ORDER BY id");
    expect(bySku.rows.map((r) => r.id)).toEqual([13, 23, 33, 43]);
    const moved = await db.query("SELECT id FROM items WHERE sku = 'moved'");
    expect(moved.rows).toEqual([{ id: 3 }]);
    const plan = await db.query("EXPLAIN SELECT id FROM items WHERE sku = 'sku3'");
    expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/items@items_sku/);
  });

  test('DROP TABLE commits at once and its rows are cleared after, leaving no record behind', async () => {
    await db.query('CREATE TABLE bulky (id INT PRIMARY KEY, pad TEXT)');
    await db.query("INSERT INTO bulky SELECT g, repeat('x', 50) FROM generate_series(1, 3000) AS g");
    const tableId = Number((await db.query("SELECT 'bulky'::regclass::oid AS id")).rows[0].id);
    const kv = (cluster as SqlCluster).nodes.kv;
    const span = tableSpan(tableId);
    expect((await kv.scan(span.startKey, span.endKey, { maxKeys: 10 })).rows.length).toBe(10);
    // A DROP rolled back keeps both the table and its rows.
    await db.query('BEGIN');
    await db.query('DROP TABLE bulky');
    await db.query('ROLLBACK');
    expect((await db.query('SELECT count(*)::int AS n FROM bulky')).rows).toEqual([{ n: 3000 }]);
    await db.query('DROP TABLE bulky');
    expect(await sqlState(db.query('SELECT 1 FROM bulky'))).toBe('42P01');
    // The table's name is free at once; the new table has a new ID and no rows.
    await db.query('CREATE TABLE bulky (id INT PRIMARY KEY)');
    expect((await db.query('SELECT count(*)::int AS n FROM bulky')).rows).toEqual([{ n: 0 }]);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const rows = (await kv.scan(span.startKey, span.endKey, { maxKeys: 1 })).rows.length;
      const records = (await kv.scan(SQL_DROPPED_DATA_SPAN.startKey, SQL_DROPPED_DATA_SPAN.endKey)).rows.length;
      if (rows === 0 && records === 0) break;
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });

  test('ADD PRIMARY KEY and DROP INDEX leave the entries they stop using to be cleared after the commit', async () => {
    const kv = (cluster as SqlCluster).nodes.kv;
    await db.query('CREATE TABLE rekeyed (id INT NOT NULL, tag TEXT)');
    await db.query("INSERT INTO rekeyed SELECT g, 't' || (g % 7) FROM generate_series(1, 2000) AS g");
    const tableId = Number((await db.query("SELECT 'rekeyed'::regclass::oid AS id")).rows[0].id);
    const descriptor = async (): Promise<TableDescriptor> => decodeDescriptor((await kv.get(sqlDescriptorKey(tableId))) as Buffer) as TableDescriptor;
    // The rows sit under the hidden rowid's index.
    const oldIndex = indexPrefix(tableId, (await descriptor()).primaryIndex.id);
    expect((await kv.scan(oldIndex, prefixEndOf(oldIndex), { maxKeys: 10 })).rows.length).toBe(10);
    // Rolled back, nothing changes and nothing is cleared.
    await db.query('BEGIN');
    await db.query('ALTER TABLE rekeyed ADD PRIMARY KEY (id)');
    await db.query('ROLLBACK');
    expect((await kv.scan(SQL_DROPPED_DATA_SPAN.startKey, SQL_DROPPED_DATA_SPAN.endKey)).rows).toEqual([]);
    await db.query('ALTER TABLE rekeyed ADD PRIMARY KEY (id)');
    expect((await db.query('SELECT count(*)::int AS n, sum(id)::int AS s FROM rekeyed')).rows).toEqual([{ n: 2000, s: 2001000 }]);
    expect((await db.query('SELECT tag FROM rekeyed WHERE id = 15')).rows).toEqual([{ tag: 't1' }]);
    await db.query('CREATE INDEX rekeyed_tag ON rekeyed (tag)');
    expect((await db.query("SELECT count(*)::int AS n FROM rekeyed WHERE tag = 't3'")).rows).toEqual([{ n: 286 }]);
    const tagIndex = indexPrefix(tableId, (await descriptor()).indexes.find((i) => i.name === 'rekeyed_tag')?.id as number);
    expect((await kv.scan(tagIndex, prefixEndOf(tagIndex), { maxKeys: 10 })).rows.length).toBe(10);
    await db.query('DROP INDEX rekeyed_tag');
    expect((await db.query("SELECT count(*)::int AS n FROM rekeyed WHERE tag = 't3'")).rows).toEqual([{ n: 286 }]);
    // The old primary index and the dropped one are emptied, and their records go.
    const spans = [oldIndex, tagIndex];
    const deadline = Date.now() + 30_000;
    for (;;) {
      let left = 0;
      for (const start of spans) left += (await kv.scan(start, prefixEndOf(start), { maxKeys: 1 })).rows.length;
      const records = (await kv.scan(SQL_DROPPED_DATA_SPAN.startKey, SQL_DROPPED_DATA_SPAN.endKey)).rows.length;
      if (left === 0 && records === 0) break;
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect((await db.query('SELECT count(*)::int AS n FROM rekeyed')).rows).toEqual([{ n: 2000 }]);
  });

  test('a gateway also clears what a DROP elsewhere left behind (a gateway that died part way)', async () => {
    // Rows of a table no descriptor names any more, and its record, as a gateway that
    // stopped before clearing them would leave them.
    const kv = (cluster as SqlCluster).nodes.kv;
    const orphanId = 999_000;
    const span = tableSpan(orphanId);
    for (let i = 0; i < 50; i++) await kv.put(Buffer.concat([span.startKey, Buffer.from([0x88, i])]), Buffer.from('row'));
    await kv.put(sqlDroppedDataKey(orphanId), Buffer.from('{}'));
    // Any DROP committed here sets this gateway looking.
    await db.query('CREATE TABLE trigger_drop (id INT PRIMARY KEY)');
    await db.query('DROP TABLE trigger_drop');
    const deadline = Date.now() + 30_000;
    while ((await kv.scan(span.startKey, span.endKey, { maxKeys: 1 })).rows.length > 0 || (await kv.get(sqlDroppedDataKey(orphanId))) !== undefined) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });

  test('INSERT … SELECT from the same table reads the table as it was before the statement', async () => {
    // Keyed by the hidden rowid, every copy lands at a new key further along the table:
    // read while writing, the statement would copy its own copies.
    await db.query('CREATE TABLE doubling (n INT)');
    await db.query('INSERT INTO doubling SELECT g FROM generate_series(1, 2500) AS g');
    const inserted = await db.query('INSERT INTO doubling SELECT n + 10000 FROM doubling');
    expect(inserted.rowCount).toBe(2500);
    const after = await db.query('SELECT count(*)::int AS n, count(DISTINCT n)::int AS distinct_n FROM doubling');
    expect(after.rows).toEqual([{ n: 5000, distinct_n: 5000 }]);
    // Also when the table is read only in a subquery.
    await db.query('INSERT INTO doubling SELECT g FROM generate_series(1, 5) AS g WHERE g > (SELECT count(*) FROM doubling) - 5000');
    expect((await db.query('SELECT count(*)::int AS n FROM doubling')).rows).toEqual([{ n: 5005 }]);
  });
});

describe('queries', () => {
  beforeAll(async () => {
    await db.query('CREATE TABLE emp (id INT PRIMARY KEY, name TEXT, dept INT, salary INT)');
    await db.query('CREATE TABLE dept (id INT PRIMARY KEY, title TEXT)');
    await db.query("INSERT INTO dept VALUES (1, 'eng'), (2, 'ops'), (3, 'empty')");
    await db.query("INSERT INTO emp VALUES (1, 'a', 1, 100), (2, 'b', 1, 200), (3, 'c', 2, 50), (4, 'd', NULL, 70)");
  });

  test('an untyped NULL in a set operation takes the type of the other side', async () => {
    const ints = await db.query('SELECT 1 AS x UNION SELECT NULL ORDER BY 1');
    expect(ints.rows).toEqual([{ x: 1 }, { x: null }]);
    expect(ints.fields[0]?.dataTypeID).toBe(23);
    const nested = await db.query('SELECT NULL AS x UNION SELECT NULL UNION SELECT salary FROM emp WHERE id = 3 ORDER BY 1');
    expect(nested.rows).toEqual([{ x: 50 }, { x: null }]);
    expect(nested.fields[0]?.dataTypeID).toBe(23);
    // Two untyped NULLs alone are text, as in PostgreSQL.
    expect((await db.query('SELECT NULL AS x UNION SELECT NULL')).fields[0]?.dataTypeID).toBe(25);
  });

  test('joins of every kind', async () => {
    const inner = await db.query('SELECT e.name, d.title FROM emp e JOIN dept d ON e.dept = d.id ORDER BY e.name');
    expect(inner.rows).toEqual([
      { name: 'a', title: 'eng' },
      { name: 'b', title: 'eng' },
      { name: 'c', title: 'ops' },
    ]);
    const left = await db.query('SELECT e.name, d.title FROM emp e LEFT JOIN dept d ON e.dept = d.id WHERE d.id IS NULL');
    expect(left.rows).toEqual([{ name: 'd', title: null }]);
    const right = await db.query('SELECT d.title, count(e.id) AS n FROM emp e RIGHT JOIN dept d ON e.dept = d.id GROUP BY d.title ORDER BY d.title');
    expect(right.rows).toEqual([
      { title: 'empty', n: '0' },
      { title: 'eng', n: '2' },
      { title: 'ops', n: '1' },
    ]);
    const full = await db.query('SELECT count(*) AS n FROM emp e FULL JOIN dept d ON e.dept = d.id');
    expect(full.rows).toEqual([{ n: '5' }]);
  });

  test('aggregates, HAVING, DISTINCT, subqueries, CTEs and set operations', async () => {
    const agg = await db.query('SELECT dept, sum(salary) AS total, avg(salary) AS mean FROM emp WHERE dept IS NOT NULL GROUP BY dept HAVING sum(salary) > 60 ORDER BY dept');
    expect(agg.rows).toEqual([{ dept: 1, total: '300', mean: '150.0000000000000000' }]);
    const distinct = await db.query('SELECT DISTINCT dept FROM emp ORDER BY dept NULLS FIRST');
    expect(distinct.rows.map((r) => r.dept)).toEqual([null, 1, 2]);
    const sub = await db.query('SELECT name FROM emp WHERE salary > (SELECT avg(salary) FROM emp) ORDER BY name');
    expect(sub.rows.map((r) => r.name)).toEqual(['b']);
    const exists = await db.query('SELECT title FROM dept d WHERE NOT EXISTS (SELECT 1 FROM emp e WHERE e.dept = d.id)');
    expect(exists.rows).toEqual([{ title: 'empty' }]);
    const inList = await db.query('SELECT name FROM emp WHERE dept IN (SELECT id FROM dept WHERE title LIKE $1) ORDER BY 1', ['e%']);
    expect(inList.rows.map((r) => r.name)).toEqual(['a', 'b']);
    const cte = await db.query('WITH rich AS (SELECT * FROM emp WHERE salary >= 100) SELECT count(*) AS n FROM rich');
    expect(cte.rows).toEqual([{ n: '2' }]);
    const union = await db.query('SELECT id FROM emp UNION SELECT id FROM dept ORDER BY id');
    expect(union.rows.map((r) => r.id)).toEqual([1, 2, 3, 4]);
    const except = await db.query('SELECT id FROM emp EXCEPT SELECT id FROM dept');
    expect(except.rows).toEqual([{ id: 4 }]);
    const caseExpr = await db.query("SELECT name, CASE WHEN salary >= 100 THEN 'high' ELSE 'low' END AS band, coalesce(dept, 0) AS d FROM emp ORDER BY name LIMIT 2 OFFSET 2");
    expect(caseExpr.rows).toEqual([
      { name: 'c', band: 'low', d: 2 },
      { name: 'd', band: 'low', d: 0 },
    ]);
  });
});

describe('transactions', () => {
  test('BEGIN/COMMIT and ROLLBACK; a failed transaction refuses statements until ROLLBACK', async () => {
    await db.query('CREATE TABLE t (k INT PRIMARY KEY)');
    await db.query('BEGIN');
    await db.query('INSERT INTO t VALUES (1)');
    await db.query('COMMIT');
    await db.query('BEGIN');
    await db.query('INSERT INTO t VALUES (2)');
    await db.query('ROLLBACK');
    expect((await db.query('SELECT k FROM t')).rows).toEqual([{ k: 1 }]);

    await db.query('BEGIN');
    expect(await sqlState(db.query('INSERT INTO t VALUES (1)'))).toBe('23505');
    expect(await sqlState(db.query('SELECT 1'))).toBe('25P02');
    const end = await db.query('COMMIT');
    expect(end.command).toBe('ROLLBACK');
    expect((await db.query('SELECT count(*) AS n FROM t')).rows).toEqual([{ n: '1' }]);
  });

  test('concurrent increments through the gateway are all applied (conflicts retried inside)', async () => {
    await db.query('CREATE TABLE counter (id INT PRIMARY KEY, n INT)');
    await db.query('INSERT INTO counter VALUES (1, 0)');
    const clients = await Promise.all(Array.from({ length: 4 }, () => (cluster as SqlCluster).client()));
    try {
      await Promise.all(clients.map(async (c) => {
        for (let i = 0; i < 10; i++) await c.query('UPDATE counter SET n = n + 1 WHERE id = 1');
      }));
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
    expect((await db.query('SELECT n FROM counter')).rows).toEqual([{ n: 40 }]);
  });
});

describe('types and prepared statements', () => {
  test('preparing a text again reuses its plan only while the table and the block it was planned in stand', async () => {
    await db.query('CREATE TABLE replanned (id INT PRIMARY KEY, a TEXT)');
    await db.query("INSERT INTO replanned VALUES (1, 'x')");
    // node-postgres sends a Parse for each new statement name: the same text, prepared twice.
    const fields = async (name: string): Promise<string[]> =>
      (await db.query({ name, text: 'SELECT * FROM replanned WHERE id = $1', values: [1] })).fields.map((f) => f.name);
    expect(await fields('replanned_1')).toEqual(['id', 'a']);
    expect(await fields('replanned_2')).toEqual(['id', 'a']);
    await db.query('ALTER TABLE replanned ADD COLUMN b INT');
    expect(await fields('replanned_3')).toEqual(['id', 'a', 'b']);
    // Planned inside a block that adds a column, then rolled back: the column is gone again.
    await db.query('BEGIN');
    await db.query('ALTER TABLE replanned ADD COLUMN c INT');
    expect(await fields('replanned_4')).toEqual(['id', 'a', 'b', 'c']);
    await db.query('ROLLBACK');
    expect(await fields('replanned_5')).toEqual(['id', 'a', 'b']);
  });

  test('parameters and results of every supported type round-trip', async () => {
    await db.query(`CREATE TABLE typed (
      id INT8 PRIMARY KEY, b BOOL, s SMALLINT, i INT, f4 REAL, f8 DOUBLE PRECISION, n NUMERIC, t TEXT,
      vc VARCHAR(5), c CHAR(3), by BYTEA, d DATE, ts TIMESTAMP, tz TIMESTAMPTZ, iv INTERVAL, u UUID, j JSONB)`);
    const values = [
      7, true, 3, -42, 1.5, 2.25, '12345.678901234567890', 'héllo', 'abc', 'xy', Buffer.from([0, 1, 255]),
      '2024-02-29', '2024-01-31 12:34:56.789', '2024-01-31T12:34:56.789Z', '1 day 02:03:04', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', { a: [1, 'x'] },
    ];
    await db.query({ name: 'ins', text: 'INSERT INTO typed VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)', values });
    const row = (await db.query({ name: 'sel', text: 'SELECT * FROM typed WHERE id = $1', values: [7] })).rows[0];
    expect(row).toMatchObject({
      id: '7', b: true, s: 3, i: -42, f4: 1.5, f8: 2.25, n: '12345.678901234567890', t: 'héllo', vc: 'abc', c: 'xy ',
      iv: { days: 1, hours: 2, minutes: 3, seconds: 4 }, u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', j: { a: [1, 'x'] },
    });
    expect(row.by).toEqual(Buffer.from([0, 1, 255]));
    expect(row.tz.toISOString()).toBe('2024-01-31T12:34:56.789Z');
    expect(await sqlState(db.query('INSERT INTO typed (id, vc) VALUES (8, $1)', ['toolong']))).toBe('22001');
  });
});

describe('sessions', () => {
  test("pg_backend_pid() is the process ID of the session's BackendKeyData, one per session", async () => {
    const other = await (cluster as SqlCluster).client();
    try {
      const pids = [];
      for (const c of [db, other]) {
        const { rows } = await c.query('SELECT pg_backend_pid() AS pid');
        expect(rows[0].pid).toBe((c as unknown as { processID: number }).processID);
        pids.push(rows[0].pid);
      }
      expect(pids[0]).not.toBe(pids[1]);
    } finally {
      await other.end();
    }
  });
});

describe('session limits', () => {
  test('a statement past statement_timeout is cancelled with 57014', async () => {
    const c = await (cluster as SqlCluster).client();
    try {
      await c.query("SET statement_timeout = '50ms'");
      expect(await sqlState(c.query('SELECT count(*) FROM generate_series(1, 50000000)'))).toBe('57014');
      await c.query('SET statement_timeout = 0');
      expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await c.end();
    }
  });

  test('statement_timeout reaches into a join: pairs of two short sources are counted too', async () => {
    // Each side is under the 4096 rows after which a generate_series pauses, so only the
    // join's own pauses can see the deadline among its 16 million pairs.
    const c = await (cluster as SqlCluster).client();
    try {
      await c.query("SET statement_timeout = '50ms'");
      expect(await sqlState(c.query('SELECT count(*) FROM generate_series(1, 4000) a, generate_series(1, 4000) b'))).toBe('57014');
      await c.query('SET statement_timeout = 0');
      expect((await c.query('SELECT count(*) AS n FROM generate_series(1, 20) a, generate_series(1, 30) b')).rows).toEqual([{ n: '600' }]);
    } finally {
      await c.end();
    }
  });

  describe('a statement waiting for a lock', () => {
    /** Runs `fn` while another transaction holds row 1 of `waits` locked. */
    async function whileLocked(fn: (waiter: Client) => Promise<void>): Promise<void> {
      const holder = await (cluster as SqlCluster).client();
      const waiter = await (cluster as SqlCluster).client();
      try {
        await holder.query('CREATE TABLE IF NOT EXISTS waits (k INT PRIMARY KEY, v INT NOT NULL)');
        await holder.query('UPSERT INTO waits VALUES (1, 0)');
        await holder.query('BEGIN');
        await holder.query('UPDATE waits SET v = v + 1 WHERE k = 1');
        await fn(waiter);
        await holder.query('COMMIT');
        // Nothing the waiter was stopped from writing landed, and the lock its abandoned
        // request took once the holder let go is cleared at once, not when it expires.
        const started = Date.now();
        expect((await waiter.query('SELECT v FROM waits WHERE k = 1 FOR UPDATE')).rows).toEqual([{ v: 1 }]);
        expect(Date.now() - started).toBeLessThan(3_000);
        await holder.query('DROP TABLE waits');
      } finally {
        await Promise.all([holder.end(), waiter.end()]);
      }
    }

    /** The query's SQLSTATE and how long it took to fail. */
    async function timedFailure(query: Promise<unknown>): Promise<{ code: string | undefined; ms: number }> {
      const started = Date.now();
      const code = await sqlState(query);
      return { code, ms: Date.now() - started };
    }

    // Without interruption these end only when the KV call's own 10 s timeout does.
    test('ends at statement_timeout with 57014', async () => {
      await whileLocked(async (waiter) => {
        await waiter.query("SET statement_timeout = '300ms'");
        const { code, ms } = await timedFailure(waiter.query('UPDATE waits SET v = v + 100 WHERE k = 1'));
        expect(code).toBe('57014');
        expect(ms).toBeLessThan(5_000);
        await waiter.query('SET statement_timeout = 0');
      });
    });

    test('ends at a CancelRequest with 57014, inside a transaction block too, which then only rolls back', async () => {
      await whileLocked(async (waiter) => {
        const cancelSoon = (): NodeJS.Timeout => setTimeout(() => void cancelRequest(waiter), 300);
        cancelSoon();
        const implicit = await timedFailure(waiter.query('UPDATE waits SET v = v + 100 WHERE k = 1'));
        expect(implicit.code).toBe('57014');
        expect(implicit.ms).toBeLessThan(5_000);
        await waiter.query('BEGIN');
        await waiter.query('SELECT 1');
        cancelSoon();
        const inBlock = await timedFailure(waiter.query('UPDATE waits SET v = v + 100 WHERE k = 1'));
        expect(inBlock).toMatchObject({ code: '57014' });
        expect(inBlock.ms).toBeLessThan(5_000);
        expect(await sqlState(waiter.query('SELECT 1'))).toBe('25P02');
        await waiter.query('ROLLBACK');
      });
    });
  });

  test('a session idle inside a transaction past its timeout is closed with 25P03', async () => {
    const c = await (cluster as SqlCluster).client();
    const closed = new Promise<string | undefined>((resolve) => c.on('error', (err) => resolve((err as { code?: string }).code)));
    await c.query("SET idle_in_transaction_session_timeout = '200ms'");
    await c.query('BEGIN');
    await c.query('SELECT 1');
    expect(await closed).toBe('25P03');
    await c.end().catch(() => undefined);
  });

  test('a result larger than max_rows_in_memory fails with 53200 instead of exhausting the gateway', async () => {
    const c = await (cluster as SqlCluster).client();
    try {
      await c.query('SET max_rows_in_memory = 1000');
      expect(await sqlState(c.query('SELECT * FROM generate_series(1, 5000)'))).toBe('53200');
    } finally {
      await c.end();
    }
  });
});

describe('savepoints', () => {
  test('ROLLBACK TO SAVEPOINT recovers from an error when nothing was written since the savepoint', async () => {
    await db.query('CREATE TABLE sp (k INT PRIMARY KEY)');
    await db.query('BEGIN');
    await db.query('INSERT INTO sp VALUES (1)');
    await db.query('SAVEPOINT a');
    expect(await sqlState(db.query('SELECT * FROM no_such_table'))).toBe('42P01');
    expect(await sqlState(db.query('SELECT 1'))).toBe('25P02');
    await db.query('ROLLBACK TO SAVEPOINT a');
    await db.query('INSERT INTO sp VALUES (2)');
    await db.query('RELEASE SAVEPOINT a');
    await db.query('COMMIT');
    expect((await db.query('SELECT k FROM sp ORDER BY k')).rows).toEqual([{ k: 1 }, { k: 2 }]);
  });

  test('ROLLBACK TO SAVEPOINT undoes inserts, updates, deletes and index entries made since it; earlier writes commit', async () => {
    await db.query('CREATE TABLE sp2 (k INT PRIMARY KEY, v TEXT UNIQUE, n INT)');
    await db.query('CREATE INDEX sp2_n ON sp2 (n)');
    await db.query("INSERT INTO sp2 VALUES (1, 'one', 10), (2, 'two', 20)");
    await db.query('BEGIN');
    await db.query("INSERT INTO sp2 VALUES (3, 'three', 30)");
    await db.query('SAVEPOINT a');
    await db.query("INSERT INTO sp2 VALUES (4, 'four', 40)");
    await db.query('UPDATE sp2 SET n = n + 1, v = v || \'!\' WHERE k IN (1, 3)');
    await db.query('DELETE FROM sp2 WHERE k = 2');
    await db.query('SAVEPOINT b');
    await db.query('DELETE FROM sp2');
    expect((await db.query('SELECT count(*) AS n FROM sp2')).rows).toEqual([{ n: '0' }]);
    await db.query('ROLLBACK TO SAVEPOINT b');
    expect((await db.query('SELECT k FROM sp2 ORDER BY k')).rows).toEqual([{ k: 1 }, { k: 3 }, { k: 4 }]);
    await db.query('ROLLBACK TO SAVEPOINT a');
    // Back to what the transaction saw at SAVEPOINT a, through the table and its indexes.
    expect((await db.query('SELECT k, v, n FROM sp2 ORDER BY k')).rows).toEqual([
      { k: 1, v: 'one', n: 10 },
      { k: 2, v: 'two', n: 20 },
      { k: 3, v: 'three', n: 30 },
    ]);
    expect((await db.query('SELECT k FROM sp2 WHERE n = 41')).rows).toEqual([]);
    expect((await db.query("SELECT k FROM sp2 WHERE v = 'two'")).rows).toEqual([{ k: 2 }]);
    // The savepoint is still there, and the unique index lets 'four' in again.
    await db.query("INSERT INTO sp2 VALUES (4, 'four', 44)");
    await db.query('RELEASE SAVEPOINT a');
    await db.query('COMMIT');
    expect((await db.query('SELECT k, v, n FROM sp2 ORDER BY k')).rows).toEqual([
      { k: 1, v: 'one', n: 10 },
      { k: 2, v: 'two', n: 20 },
      { k: 3, v: 'three', n: 30 },
      { k: 4, v: 'four', n: 44 },
    ]);
    expect((await db.query('SELECT k FROM sp2 WHERE n = 44')).rows).toEqual([{ k: 4 }]);
  });

  test('ROLLBACK TO SAVEPOINT after a failed statement undoes its partial writes (psql ON_ERROR_ROLLBACK)', async () => {
    await db.query('CREATE TABLE sp3 (k INT PRIMARY KEY)');
    await db.query('BEGIN');
    await db.query('INSERT INTO sp3 VALUES (1)');
    await db.query('SAVEPOINT stmt');
    // Rows 2 and 3 are written before 1 collides.
    expect(await sqlState(db.query('INSERT INTO sp3 VALUES (2), (3), (1)'))).toBe('23505');
    expect(await sqlState(db.query('SELECT 1'))).toBe('25P02');
    await db.query('ROLLBACK TO SAVEPOINT stmt');
    await db.query('RELEASE SAVEPOINT stmt');
    await db.query('COMMIT');
    expect((await db.query('SELECT k FROM sp3 ORDER BY k')).rows).toEqual([{ k: 1 }]);
    expect(await sqlState(db.query('ROLLBACK TO SAVEPOINT nope'))).toBe('25P01');
  });

  test('ROLLBACK TO SAVEPOINT undoes a CREATE TABLE made since it', async () => {
    await db.query('BEGIN');
    await db.query('SAVEPOINT ddl');
    await db.query('CREATE TABLE sp_gone (k INT PRIMARY KEY)');
    await db.query('INSERT INTO sp_gone VALUES (1)');
    await db.query('ROLLBACK TO SAVEPOINT ddl');
    expect(await sqlState(db.query('SELECT * FROM sp_gone'))).toBe('42P01');
    await db.query('ROLLBACK');
    expect(await sqlState(db.query('SAVEPOINT x'))).toBe('25P01');
  });
});

describe('session time zone', () => {
  test('literals, casts and current_setting follow SET TIME ZONE, also in prepared statements', async () => {
    const c = await (cluster as SqlCluster).client();
    try {
      await c.query("SET TIME ZONE 'Europe/Paris'");
      const literal = await c.query("SELECT '2024-01-01 00:00:00'::timestamptz::text AS t, current_setting('TimeZone') AS z");
      expect(literal.rows).toEqual([{ t: '2024-01-01 00:00:00+01', z: 'Europe/Paris' }]);
      const text = { name: 'tz-text', text: 'SELECT $1::timestamptz::text AS t' };
      expect((await c.query({ ...text, values: ['2024-07-01 12:00:00+00'] })).rows).toEqual([{ t: '2024-07-01 14:00:00+02' }]);
      await c.query("SET TIME ZONE 'America/New_York'");
      expect((await c.query({ ...text, values: ['2024-07-01 12:00:00+00'] })).rows).toEqual([{ t: '2024-07-01 08:00:00-04' }]);
      expect((await c.query("SELECT current_setting('application_name') AS a")).rows).toEqual([{ a: '' }]);
    } finally {
      await c.end();
    }
  });
});

describe('ALTER TABLE', () => {
  test('ADD PRIMARY KEY rewrites a table keyed by the hidden rowid; ADD UNIQUE and FOREIGN KEY check existing rows', async () => {
    await db.query('CREATE TABLE branches (bid INT NOT NULL, name TEXT)');
    await db.query("INSERT INTO branches VALUES (1, 'a'), (2, 'b')");
    await db.query('CREATE INDEX branches_name ON branches (name)');
    await db.query('ALTER TABLE branches ADD PRIMARY KEY (bid)');
    expect(await sqlState(db.query("INSERT INTO branches VALUES (1, 'dup')"))).toBe('23505');
    const plan = await db.query('EXPLAIN SELECT * FROM branches WHERE bid = 2');
    expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/Point Lookup/);
    expect((await db.query("SELECT bid FROM branches WHERE name = 'b'")).rows).toEqual([{ bid: 2 }]);

    await db.query('CREATE TABLE dupes (k INT NOT NULL, v INT)');
    await db.query('INSERT INTO dupes VALUES (1, 1), (1, 2)');
    expect(await sqlState(db.query('ALTER TABLE dupes ADD PRIMARY KEY (k)'))).toBe('23505');
    expect(await sqlState(db.query('ALTER TABLE dupes ADD CONSTRAINT dupes_k_key UNIQUE (k)'))).toBe('23505');
    await db.query('ALTER TABLE dupes ADD CONSTRAINT dupes_v_key UNIQUE (v)');
    expect(await sqlState(db.query('INSERT INTO dupes VALUES (3, 2)'))).toBe('23505');

    await db.query('CREATE TABLE accounts_of (aid INT PRIMARY KEY, bid INT)');
    await db.query('INSERT INTO accounts_of VALUES (1, 1), (2, 9)');
    expect(await sqlState(db.query('ALTER TABLE accounts_of ADD FOREIGN KEY (bid) REFERENCES branches'))).toBe('23503');
    await db.query('DELETE FROM accounts_of WHERE aid = 2');
    await db.query('ALTER TABLE accounts_of ADD FOREIGN KEY (bid) REFERENCES branches');
    expect(await sqlState(db.query('INSERT INTO accounts_of VALUES (3, 9)'))).toBe('23503');
    await db.query('INSERT INTO accounts_of VALUES (3, 2), (4, NULL)');
    expect(await sqlState(db.query('UPDATE accounts_of SET bid = 7 WHERE aid = 3'))).toBe('23503');
    await db.query('CREATE TABLE orders_of (id INT PRIMARY KEY, aid INT REFERENCES accounts_of (aid))');
    expect(await sqlState(db.query('INSERT INTO orders_of VALUES (1, 99)'))).toBe('23503');
    await db.query('INSERT INTO orders_of VALUES (1, 3)');
    // The parent side: referenced rows cannot go away or change their key.
    expect(await sqlState(db.query('DELETE FROM branches WHERE bid = 2'))).toBe('23503');
    expect(await sqlState(db.query('UPDATE branches SET bid = 5 WHERE bid = 2'))).toBe('23503');
    await db.query("UPDATE branches SET name = 'renamed' WHERE bid = 2");
    expect(await sqlState(db.query('DELETE FROM accounts_of WHERE aid = 3'))).toBe('23503');
    await db.query('DELETE FROM orders_of');
    await db.query('DELETE FROM accounts_of WHERE aid = 3');
    expect(await sqlState(db.query('TRUNCATE branches'))).toBe('0A000');
  });
});

describe('names', () => {
  test('JOIN … USING merges the column: a bare name finds it, a qualified name each side, a join alias neither side', async () => {
    await db.query('CREATE TABLE ua (id INT PRIMARY KEY, a INT)');
    await db.query('CREATE TABLE ub (id INT PRIMARY KEY, b INT)');
    await db.query('INSERT INTO ua VALUES (1, 10), (2, 20)');
    await db.query('INSERT INTO ub VALUES (1, 100)');
    expect((await db.query('SELECT id, a, b FROM ua JOIN ub USING (id)')).rows).toEqual([{ id: 1, a: 10, b: 100 }]);
    expect((await db.query('SELECT * FROM ua LEFT JOIN ub USING (id) WHERE id > 0 ORDER BY id')).rows).toEqual([
      { id: 1, a: 10, b: 100 },
      { id: 2, a: 20, b: null },
    ]);
    expect((await db.query('SELECT ua.id AS l, ub.id AS r FROM ua LEFT JOIN ub USING (id) ORDER BY 1')).rows).toEqual([
      { l: 1, r: 1 },
      { l: 2, r: null },
    ]);
    expect((await db.query('SELECT j.id FROM (ua JOIN ub USING (id)) AS j')).rows).toEqual([{ id: 1 }]);
    expect(await sqlState(db.query('SELECT ua.id FROM (ua JOIN ub USING (id)) AS j'))).toBe('42P01');
  });

  test("'t'::regclass::oid is the table's OID, as pg_class has it", async () => {
    await db.query('CREATE TABLE regged (id INT PRIMARY KEY)');
    const { rows } = await db.query("SELECT 'regged'::regclass::oid AS cast, (SELECT oid FROM pg_class WHERE relname = 'regged') AS listed, 'regged'::regclass::text AS name");
    expect(String(rows[0].cast)).toMatch(/^\d+$/);
    expect(String(rows[0].cast)).toBe(String(rows[0].listed));
    expect(rows[0].name).toBe('regged');
  });
});

describe('keys', () => {
  test('a column whose type has no key encoding cannot be a key or be indexed', async () => {
    expect(await sqlState(db.query('CREATE TABLE jk (j JSONB PRIMARY KEY)'))).toBe('0A000');
    await db.query('CREATE TABLE jdoc (id INT PRIMARY KEY, j JSONB)');
    expect(await sqlState(db.query('CREATE INDEX jdoc_j ON jdoc (j)'))).toBe('0A000');
  });
});
