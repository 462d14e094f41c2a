import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import postgres from 'postgres';
import { startSqlCluster, type SqlCluster } from '../../support/sql-cluster';

/**
 * postgres.js against a one-node cluster through the real gateway. Its habits differ from
 * node-postgres: every tagged template is a named prepared statement (Parse once, then
 * Bind/Execute), it describes statements to learn parameter types and sends some of
 * them in binary, it fetches array types from pg_type at connect, and it runs `.simple()`
 * queries and COPY through streams.
 */

let cluster: SqlCluster | undefined;
let sql: postgres.Sql;
const notices: postgres.Notice[] = [];

beforeAll(async () => {
  cluster = await startSqlCluster('compat-postgres-js', { nodes: 1 });
  sql = postgres(cluster.url, { max: 2, connect_timeout: 10, onnotice: (n) => notices.push(n) });
}, 120_000);

afterAll(async () => {
  await sql?.end({ timeout: 5 });
  await cluster?.stop();
});

describe('tagged templates (prepared statements)', () => {
  test('parameters of the common types round-trip and come back as JavaScript values', async () => {
    const [row] = await sql`
      SELECT ${true}::bool AS b, ${-7}::int4 AS i, ${'9007199254740993'}::int8 AS big, ${1.25}::float8 AS f,
             ${'12.500'}::numeric AS n, ${'héllo ✓'}::text AS t, ${Buffer.from([0, 1, 0])}::bytea AS by,
             ${new Date('2024-02-29T10:20:30.456Z')}::timestamptz AS tz, ${'2024-02-29'}::date AS d,
             ${'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'}::uuid AS u, ${sql.json({ a: [1, 'x'] })}::jsonb AS j,
             ${null}::int4 AS nothing`;
    expect(row).toMatchObject({
      b: true,
      i: -7,
      big: '9007199254740993',
      f: 1.25,
      n: '12.500',
      t: 'héllo ✓',
      u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      j: { a: [1, 'x'] },
      nothing: null,
    });
    expect(row?.['by']).toEqual(Buffer.from([0, 1, 0]));
    expect((row?.['tz'] as Date).toISOString()).toBe('2024-02-29T10:20:30.456Z');
    expect((row?.['d'] as Date).toISOString()).toMatch(/^2024-02-2[89]/);
  });

  test('the same template runs many times with different values', async () => {
    await sql`CREATE TABLE pj_items (id INT PRIMARY KEY, name TEXT NOT NULL)`;
    for (let i = 1; i <= 20; i++) {
      await sql`INSERT INTO pj_items VALUES (${i}, ${`item ${i}`})`;
    }
    const rows = await sql`SELECT id, name FROM pj_items WHERE id > ${15} ORDER BY id`;
    expect(rows.map((r) => r['id'])).toEqual([16, 17, 18, 19, 20]);
    expect(rows.count).toBe(5);
  });

  test('helpers: multi-row insert from objects, IN lists from arrays, RETURNING', async () => {
    await sql`CREATE TABLE pj_people (id INT PRIMARY KEY, name TEXT, age INT)`;
    const people = [
      { id: 1, name: 'ann', age: 30 },
      { id: 2, name: 'bob', age: null },
      { id: 3, name: 'cy', age: 7 },
    ];
    const inserted = await sql`INSERT INTO pj_people ${sql(people, 'id', 'name', 'age')} RETURNING id`;
    expect(inserted.map((r) => r['id'])).toEqual([1, 2, 3]);
    const some = await sql`SELECT name FROM pj_people WHERE id IN ${sql([1, 3])} ORDER BY id`;
    expect(some.map((r) => r['name'])).toEqual(['ann', 'cy']);
    const updated = await sql`UPDATE pj_people SET ${sql({ age: 31 }, 'age')} WHERE id = ${1} RETURNING age`;
    expect(updated).toEqual([{ age: 31 }]);
  });

  test('an array parameter binds as an array', async () => {
    const [row] = await sql`SELECT ${sql.array([1, 2, 3])}::int4[] AS a, array_length(${sql.array(['x', 'y'])}::text[], 1) AS n`;
    expect(row).toEqual({ a: [1, 2, 3], n: 2 });
  });

  test('errors carry SQLSTATE, message and position; the pool is fine afterwards', async () => {
    await sql`CREATE TABLE pj_unique (id INT PRIMARY KEY)`;
    await sql`INSERT INTO pj_unique VALUES (1)`;
    await expect(sql`INSERT INTO pj_unique VALUES (${1})`).rejects.toMatchObject({ code: '23505', severity: 'ERROR' });
    await expect(sql`SELECT * FROM pj_missing`).rejects.toMatchObject({ code: '42P01' });
    await expect(sql`SELECT ${'abc'}::int4`).rejects.toMatchObject({ code: '22P02' });
    await expect(sql`SELECT 1 / ${0}::int4`).rejects.toMatchObject({ code: '22012' });
    await expect(sql`SELEKT 1`).rejects.toMatchObject({ code: '42601', position: '1' });
    expect(await sql`SELECT 1 AS one`).toEqual([{ one: 1 }]);
  });
});

describe('transactions', () => {
  test('sql.begin commits on success and rolls back on a throw', async () => {
    await sql`CREATE TABLE pj_tx (k INT PRIMARY KEY, v TEXT)`;
    const result = await sql.begin(async (tx) => {
      await tx`INSERT INTO pj_tx VALUES (1, 'a')`;
      return tx`SELECT count(*)::int AS n FROM pj_tx`;
    });
    expect(result).toEqual([{ n: 1 }]);
    await expect(
      sql.begin(async (tx) => {
        await tx`INSERT INTO pj_tx VALUES (2, 'b')`;
        throw new Error('application says no');
      }),
    ).rejects.toThrow('application says no');
    await expect(
      sql.begin(async (tx) => {
        await tx`INSERT INTO pj_tx VALUES (3, 'c')`;
        await tx`INSERT INTO pj_tx VALUES (1, 'dup')`;
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await sql`SELECT k FROM pj_tx ORDER BY k`).toEqual([{ k: 1 }]);
  });

  test('sql.begin with an isolation level; a failed statement inside is 25P02 for the next', async () => {
    // postgres.js rejects the whole block with the first error and sends ROLLBACK.
    const codes: string[] = [];
    await expect(
      sql.begin('isolation level serializable', async (tx) => {
        await tx`SELECT 1 / ${0}::int4`.catch((e: { code: string }) => codes.push(e.code));
        await tx`SELECT 1`.catch((e: { code: string }) => codes.push(e.code));
      }),
    ).rejects.toMatchObject({ code: '22012' });
    expect(codes).toEqual(['22012', '25P02']);
    expect(await sql`SELECT 2 AS two`).toEqual([{ two: 2 }]);
  });
});

describe('simple protocol', () => {
  test('.simple() runs several statements and returns each result', async () => {
    const results = (await sql`SELECT 1 AS a; SELECT 'x' AS b, NULL AS c`.simple()) as unknown as postgres.RowList<postgres.Row[]>[];
    expect(results.map((r) => [...r])).toEqual([[{ a: 1 }], [{ b: 'x', c: null }]]);
  });

  test('sql.unsafe with parameters and without', async () => {
    expect(await sql.unsafe('SELECT $1::int + 1 AS n', [41])).toEqual([{ n: 42 }]);
    expect(await sql.unsafe('SELECT 7 AS n')).toEqual([{ n: 7 }]);
  });

  test('notices arrive through onnotice', async () => {
    notices.length = 0;
    await sql`COMMIT`.simple();
    expect(notices.map((n) => n['code'])).toEqual(['25P01']);
  });
});

describe('COPY FROM STDIN', () => {
  test('a writable stream loads a table; the count and the values are right', async () => {
    await sql`CREATE TABLE pj_copy (id INT PRIMARY KEY, name TEXT, score NUMERIC, at DATE)`;
    const writable = await sql`COPY pj_copy (id, name, score, at) FROM STDIN`.writable();
    const lines = Array.from({ length: 2000 }, (_, i) => `${i + 1}\tname ${i + 1}\t${(i + 1) / 4}\t${i % 2 === 0 ? '2024-01-01' : '\\N'}\n`);
    // Chunks that cut lines in the middle.
    const text = lines.join('');
    const chunks: string[] = [];
    for (let i = 0; i < text.length; i += 777) chunks.push(text.slice(i, i + 777));
    await pipeline(Readable.from(chunks), writable);
    expect(await sql`SELECT count(*)::int AS n, count(at)::int AS dated, sum(score)::text AS total FROM pj_copy`).toEqual([
      { n: 2000, dated: 1000, total: `${(2000 * 2001) / 2 / 4}.00` },
    ]);
    expect(await sql`SELECT name FROM pj_copy WHERE id = 1234`).toEqual([{ name: 'name 1234' }]);
  });

  test('a bad row fails the COPY with its SQLSTATE and loads nothing', async () => {
    await sql`CREATE TABLE pj_copy_bad (id INT PRIMARY KEY, n INT)`;
    const writable = await sql`COPY pj_copy_bad FROM STDIN`.writable();
    const done = pipeline(Readable.from(['1\t1\n', '2\tnot a number\n', '3\t3\n']), writable);
    await expect(done).rejects.toMatchObject({ code: '22P02' });
    expect(await sql`SELECT count(*)::int AS n FROM pj_copy_bad`).toEqual([{ n: 0 }]);
  });
});
