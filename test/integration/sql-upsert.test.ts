import type { Client, QueryResult } from 'pg';
import { startSqlCluster, type SqlCluster } from '../support/sql-cluster';

/**
 * CockroachDB's UPSERT through the gateway on a real one-node cluster: INSERT ... ON
 * CONFLICT (primary key) DO UPDATE of the named columns (of every column when none are
 * named), indexes kept in step, other unique indexes still enforced, and the command
 * tag `INSERT 0 <n>` CockroachDB reports.
 */

let cluster: SqlCluster | undefined;
let db: Client;

beforeAll(async () => {
  cluster = await startSqlCluster('sql-upsert', { nodes: 1 });
  db = await cluster.client();
}, 120_000);

afterAll(async () => {
  await db?.end().catch(() => undefined);
  await cluster?.stop();
});

async function failure(query: Promise<unknown>): Promise<{ code?: string; position?: string; message?: string } | undefined> {
  try {
    await query;
    return undefined;
  } catch (err) {
    return err as { code?: string; position?: string; message?: string };
  }
}

async function rows(sql: string): Promise<unknown[]> {
  return (await db.query(sql)).rows;
}

function expectTag(result: QueryResult, count: number): void {
  // node-postgres splits the tag `INSERT <oid> <count>`.
  expect(result.command).toBe('INSERT');
  expect(result.oid).toBe(0);
  expect(result.rowCount).toBe(count);
}

describe('UPSERT', () => {
  beforeAll(async () => {
    await db.query("CREATE TABLE kv (k INT PRIMARY KEY, a INT, b TEXT DEFAULT 'dflt')");
  });

  beforeEach(async () => {
    await db.query('DELETE FROM kv');
    await db.query("INSERT INTO kv VALUES (1, 1, 'one')");
  });

  test('with a column list: named columns are updated, others kept; new rows get defaults', async () => {
    const result = await db.query('UPSERT INTO kv (k, a) VALUES (1, 10), (2, 20)');
    expectTag(result, 2);
    expect(await rows('SELECT k, a, b FROM kv ORDER BY k')).toEqual([
      { k: 1, a: 10, b: 'one' },
      { k: 2, a: 20, b: 'dflt' },
    ]);
  });

  test('without a column list: every column is written, the ones left out go to their default', async () => {
    expectTag(await db.query('UPSERT INTO kv VALUES (1, 100)'), 1);
    expectTag(await db.query("UPSERT INTO kv VALUES (3, 3, 'three')"), 1);
    expect(await rows('SELECT k, a, b FROM kv ORDER BY k')).toEqual([
      { k: 1, a: 100, b: 'dflt' },
      { k: 3, a: 3, b: 'three' },
    ]);
    expectTag(await db.query('UPSERT INTO kv VALUES (3, DEFAULT)'), 1);
    expect(await rows('SELECT k, a, b FROM kv WHERE k = 3')).toEqual([{ k: 3, a: null, b: 'dflt' }]);
    // Trailing values may be left out, as PostgreSQL allows for INSERT.
    expectTag(await db.query('UPSERT INTO kv VALUES (1)'), 1);
    expectTag(await db.query('INSERT INTO kv SELECT 5'), 1);
    expect(await rows('SELECT k, a, b FROM kv WHERE k IN (1, 5) ORDER BY k')).toEqual([
      { k: 1, a: null, b: 'dflt' },
      { k: 5, a: null, b: 'dflt' },
    ]);
  });

  test('RETURNING gives the rows as written', async () => {
    const result = await db.query('UPSERT INTO kv (k, a) VALUES (1, 5), (4, 4) RETURNING k, a, b, a * 2 AS twice');
    expectTag(result, 2);
    expect(result.rows).toEqual([
      { k: 1, a: 5, b: 'one', twice: 10 },
      { k: 4, a: 4, b: 'dflt', twice: 8 },
    ]);
  });

  test('from a SELECT, many rows over existing and new keys', async () => {
    await db.query('INSERT INTO kv (k, a) SELECT g, 0 FROM generate_series(2, 300, 2) AS g');
    const result = await db.query('UPSERT INTO kv (k, a) SELECT g, g * 10 FROM generate_series(1, 300) AS g');
    expectTag(result, 300);
    expect(await rows('SELECT count(*)::INT AS n, sum(a)::INT AS total FROM kv')).toEqual([{ n: 300, total: 451500 }]);
    expect(await rows('SELECT k, a, b FROM kv WHERE k IN (1, 2, 3) ORDER BY k')).toEqual([
      { k: 1, a: 10, b: 'one' },
      { k: 2, a: 20, b: 'dflt' },
      { k: 3, a: 30, b: 'dflt' },
    ]);
  });

  test('with parameters, prepared, and beside the equivalent INSERT text', async () => {
    const upsert = { name: 'upsert-kv', text: 'UPSERT INTO kv (k, a) VALUES ($1, $2)' };
    const insert = { name: 'insert-kv', text: 'INSERT INTO kv (k, a) VALUES ($1, $2)' };
    expect((await failure(db.query({ ...insert, values: [1, 2] })))?.code).toBe('23505');
    expectTag(await db.query({ ...upsert, values: [1, 2] }), 1);
    expectTag(await db.query({ ...upsert, values: [1, 3] }), 1);
    // The INSERT is not planned as the UPSERT of the same shape, nor the reverse.
    expect((await failure(db.query({ ...insert, values: [1, 4] })))?.code).toBe('23505');
    expect((await failure(db.query('INSERT INTO kv (k, a) VALUES (1, 5)')))?.code).toBe('23505');
    expectTag(await db.query('UPSERT INTO kv (k, a) VALUES (1, 6)'), 1);
    expect(await rows('SELECT a FROM kv WHERE k = 1')).toEqual([{ a: 6 }]);
  });

  test('in a multi-statement query string, with comments and any case', async () => {
    const results = (await db.query(
      "SELECT 'upsert' AS word; /* upsert */ upsert INTO kv (k, b) VALUES (1, 'x'); -- upsert\n  UpSeRt INTO kv (k, b) VALUES (1, 'y'), (6, 'z'); SELECT k, a, b FROM kv ORDER BY k",
    )) as unknown as QueryResult[];
    expect(results.map((r) => r.command)).toEqual(['SELECT', 'INSERT', 'INSERT', 'SELECT']);
    expect(results.map((r) => r.rowCount)).toEqual([1, 1, 2, 2]);
    expect(results[3]?.rows).toEqual([
      { k: 1, a: 1, b: 'y' },
      { k: 6, a: null, b: 'z' },
    ]);
  });

  test('inside a transaction, rolled back with it', async () => {
    await db.query('BEGIN');
    expectTag(await db.query('UPSERT INTO kv (k, a) VALUES (1, 50), (7, 70)'), 2);
    expect(await rows('SELECT k, a FROM kv ORDER BY k')).toEqual([
      { k: 1, a: 50 },
      { k: 7, a: 70 },
    ]);
    await db.query('ROLLBACK');
    expect(await rows('SELECT k, a, b FROM kv ORDER BY k')).toEqual([{ k: 1, a: 1, b: 'one' }]);
  });

  test('the same key twice in one statement is 21000', async () => {
    expect((await failure(db.query('UPSERT INTO kv (k, a) VALUES (8, 1), (8, 2)')))?.code).toBe('21000');
    expect(await rows('SELECT k FROM kv ORDER BY k')).toEqual([{ k: 1 }]);
  });

  test('syntax errors are 42601 at their position', async () => {
    const onConflict = 'UPSERT INTO kv VALUES (1, 1) ON CONFLICT DO NOTHING';
    const err = await failure(db.query(onConflict));
    expect(err?.code).toBe('42601');
    expect(err?.position).toBe(String(onConflict.indexOf('ON CONFLICT') + 1));
    const typo = 'SELECT 1; UPSERT INTO kv VALUES (1, 1) RETURNIN k';
    const typoErr = await failure(db.query(typo));
    expect(typoErr?.code).toBe('42601');
    expect(typoErr?.position).toBe(String(typo.indexOf('RETURNIN') + 1));
    expect((await failure(db.query('EXPLAIN UPSERT INTO kv VALUES (1, 1)')))?.code).toBe('42601');
    expect((await failure(db.query('UPSERT INTO kv (k, nope) VALUES (1, 1)')))?.code).toBe('42703');
    expect((await failure(db.query('UPSERT INTO kv (k, a) VALUES (1, 1, 1)')))?.code).toBe('42601');
    const uneven = "UPSERT INTO kv VALUES (1, 1), (2, 2, 'two')";
    const unevenErr = await failure(db.query(uneven));
    expect(unevenErr?.code).toBe('42601');
    expect(unevenErr?.message).toBe('VALUES lists must all be the same length');
    expect(unevenErr?.position).toBe(String(uneven.indexOf('2, 2') + 1));
  });
});

describe('UPSERT and indexes', () => {
  beforeAll(async () => {
    await db.query('CREATE TABLE users (id INT PRIMARY KEY, email TEXT UNIQUE, city TEXT, visits INT DEFAULT 0)');
    await db.query('CREATE INDEX users_city ON users (city)');
    await db.query("INSERT INTO users VALUES (1, 'ann@x', 'paris', 1), (2, 'bob@x', 'oslo', 2)");
  });

  test('a secondary index finds the updated row and no longer the old one', async () => {
    expectTag(await db.query("UPSERT INTO users (id, email, city) VALUES (1, 'ann@y', 'rome'), (3, 'cy@x', 'paris')"), 2);
    const plan = (await rows("EXPLAIN SELECT id FROM users WHERE city = 'paris'")) as { 'QUERY PLAN': string }[];
    expect(plan.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/users@users_city/);
    expect(await rows("SELECT id, email, visits FROM users WHERE city = 'paris'")).toEqual([{ id: 3, email: 'cy@x', visits: 0 }]);
    expect(await rows("SELECT id, email, visits FROM users WHERE city = 'rome'")).toEqual([{ id: 1, email: 'ann@y', visits: 1 }]);
    // The unique index moved with the row: the old email is free, the new one is taken.
    expect(await rows("SELECT id FROM users WHERE email = 'ann@x'")).toEqual([]);
    expect(await rows("SELECT id FROM users WHERE email = 'ann@y'")).toEqual([{ id: 1 }]);
    expectTag(await db.query("INSERT INTO users (id, email) VALUES (4, 'ann@x')"), 1);
    // Counting through each index agrees with counting the table.
    expect(await rows("SELECT count(*)::INT AS n FROM users WHERE city IN ('paris', 'rome', 'oslo')")).toEqual([{ n: 3 }]);
    expect(await rows('SELECT count(*)::INT AS n FROM users')).toEqual([{ n: 4 }]);
  });

  test('a conflict on another unique index is 23505, not an update', async () => {
    // A new key whose email belongs to another row.
    expect((await failure(db.query("UPSERT INTO users (id, email) VALUES (9, 'bob@x')")))?.code).toBe('23505');
    // An existing key moved onto another row's email.
    expect((await failure(db.query("UPSERT INTO users (id, email) VALUES (1, 'bob@x')")))?.code).toBe('23505');
    expect(await rows("SELECT id, email FROM users WHERE email = 'bob@x'")).toEqual([{ id: 2, email: 'bob@x' }]);
    expect(await rows('SELECT id FROM users WHERE id = 9')).toEqual([]);
  });

  test('a table keyed by its hidden rowid only inserts', async () => {
    await db.query('CREATE TABLE events (name TEXT, n INT)');
    expectTag(await db.query("UPSERT INTO events VALUES ('a', 1)"), 1);
    expectTag(await db.query("UPSERT INTO events VALUES ('a', 1), ('a', 2)"), 2);
    expectTag(await db.query('UPSERT INTO events (n) VALUES (3)'), 1);
    expect(await rows('SELECT name, n FROM events ORDER BY n, name')).toEqual([
      { name: 'a', n: 1 },
      { name: 'a', n: 1 },
      { name: 'a', n: 2 },
      { name: null, n: 3 },
    ]);
  });

  test('a composite primary key is the arbiter', async () => {
    await db.query('CREATE TABLE stock (shop INT, item TEXT, qty INT NOT NULL, PRIMARY KEY (shop, item))');
    expectTag(await db.query("UPSERT INTO stock VALUES (1, 'pen', 5), (2, 'pen', 7)"), 2);
    const result = await db.query("UPSERT INTO stock VALUES (1, 'pen', 6), (1, 'ink', 1) RETURNING shop, item, qty");
    expectTag(result, 2);
    expect(await rows('SELECT shop, item, qty FROM stock ORDER BY shop, item')).toEqual([
      { shop: 1, item: 'ink', qty: 1 },
      { shop: 1, item: 'pen', qty: 6 },
      { shop: 2, item: 'pen', qty: 7 },
    ]);
  });

  test('NOT NULL and CHECK hold for the row UPSERT leaves, so an omitted column keeps its value', async () => {
    await db.query('CREATE TABLE ledger (id INT PRIMARY KEY, owner TEXT NOT NULL, balance INT CHECK (balance >= 0))');
    await db.query("INSERT INTO ledger VALUES (1, 'ann', 10)");
    // owner is omitted: the existing row keeps 'ann', so nothing is NULL.
    expectTag(await db.query('UPSERT INTO ledger (id, balance) VALUES (1, 20)'), 1);
    expect(await rows('SELECT id, owner, balance FROM ledger')).toEqual([{ id: 1, owner: 'ann', balance: 20 }]);
    // A new row without owner is NULL there: 23502; a failing CHECK on an existing row: 23514.
    await expect(db.query('UPSERT INTO ledger (id, balance) VALUES (2, 5)')).rejects.toMatchObject({ code: '23502' });
    await expect(db.query('UPSERT INTO ledger (id, balance) VALUES (1, -1)')).rejects.toMatchObject({ code: '23514' });
    // INSERT … ON CONFLICT still checks the proposed row first, as PostgreSQL does.
    await expect(db.query('INSERT INTO ledger (id, balance) VALUES (1, 30) ON CONFLICT (id) DO UPDATE SET balance = excluded.balance')).rejects.toMatchObject({
      code: '23502',
    });
  });
});
