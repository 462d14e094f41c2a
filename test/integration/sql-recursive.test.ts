import type { Client } from 'pg';
import { startSqlCluster, type SqlCluster } from '../support/sql-cluster';

/**
 * WITH RECURSIVE through the gateway, checked against what PostgreSQL does (the
 * "WITH Queries" chapter of its manual and parse_cte.c's errors): the working-table
 * iteration, UNION dropping rows seen before (so a walk over a cycle ends), column
 * types fixed by the non-recursive term, the places a recursive reference may not
 * appear (42P19), a LIMIT stopping an endless recursion, and the gateway's own bounds
 * (max_rows_in_memory, statement_timeout) ending a runaway one.
 */

let cluster: SqlCluster | undefined;
let db: Client;

beforeAll(async () => {
  cluster = await startSqlCluster('sql-recursive', { nodes: 1 });
  db = await cluster.client();
  await db.query('CREATE TABLE tree (id INT PRIMARY KEY, parent INT, name TEXT NOT NULL)');
  // 1 root ─┬─ 2 a ─┬─ 4 a1 ── 7 a1x
  //         │       └─ 5 a2
  //         └─ 3 b ─── 6 b1
  await db.query(
    "INSERT INTO tree VALUES (1, NULL, 'root'), (2, 1, 'a'), (3, 1, 'b'), (4, 2, 'a1'), (5, 2, 'a2'), (6, 3, 'b1'), (7, 4, 'a1x')",
  );
  // A cycle 1 → 2 → 3 → 1, with 3 → 4 leaving it.
  await db.query('CREATE TABLE edges (src INT, dst INT, PRIMARY KEY (src, dst))');
  await db.query('INSERT INTO edges VALUES (1, 2), (2, 3), (3, 1), (3, 4)');
}, 120_000);

afterAll(async () => {
  await db?.end().catch(() => undefined);
  await cluster?.stop();
});

async function failure(query: Promise<unknown>): Promise<{ code?: string; message?: string }> {
  try {
    await query;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return { ...(e.code === undefined ? {} : { code: e.code }), ...(e.message === undefined ? {} : { message: e.message }) };
  }
  throw new Error('the statement succeeded');
}

/** A fresh connection with its own settings, ended afterwards. */
async function withClient(run: (c: Client) => Promise<void>): Promise<void> {
  const c = await (cluster as SqlCluster).client();
  try {
    await run(c);
  } finally {
    await c.end();
  }
}

describe('iteration', () => {
  test('generates 1..100 with UNION ALL', async () => {
    const r = await db.query('WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 100) SELECT n FROM t');
    expect(r.rows.map((row) => row.n)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(r.fields.map((f) => f.name)).toEqual(['n']);
    const sum = await db.query('WITH RECURSIVE t(n) AS (VALUES (1) UNION ALL SELECT n + 1 FROM t WHERE n < 100) SELECT sum(n) AS s FROM t');
    expect(sum.rows).toEqual([{ s: '5050' }]);
  });

  test('column names come from the non-recursive term when no list is given', async () => {
    const r = await db.query('WITH RECURSIVE t AS (SELECT 1 AS x UNION ALL SELECT x + 1 FROM t WHERE x < 3) SELECT * FROM t');
    expect(r.rows).toEqual([{ x: 1 }, { x: 2 }, { x: 3 }]);
  });

  test('descendants of a node, with their depth and path', async () => {
    const r = await db.query(`
      WITH RECURSIVE sub(id, name, depth, path) AS (
        SELECT id, name, 0, name FROM tree WHERE id = 2
        UNION ALL
        SELECT c.id, c.name, s.depth + 1, s.path || '/' || c.name FROM tree c JOIN sub s ON c.parent = s.id
      )
      SELECT id, name, depth, path FROM sub ORDER BY path`);
    expect(r.rows).toEqual([
      { id: 2, name: 'a', depth: 0, path: 'a' },
      { id: 4, name: 'a1', depth: 1, path: 'a/a1' },
      { id: 7, name: 'a1x', depth: 2, path: 'a/a1/a1x' },
      { id: 5, name: 'a2', depth: 1, path: 'a/a2' },
    ]);
  });

  test('ancestors of a leaf, nearest first', async () => {
    const r = await db.query(
      `WITH RECURSIVE up(id, parent, name, depth) AS (
         SELECT id, parent, name, 0 FROM tree WHERE id = $1
         UNION ALL
         SELECT t.id, t.parent, t.name, up.depth + 1 FROM up JOIN tree t ON t.id = up.parent
       )
       SELECT name, depth FROM up ORDER BY depth`,
      [7],
    );
    expect(r.rows).toEqual([
      { name: 'a1x', depth: 0 },
      { name: 'a1', depth: 1 },
      { name: 'a', depth: 2 },
      { name: 'root', depth: 3 },
    ]);
  });

  test('a correlated subquery runs the recursion once per outer row', async () => {
    const r = await db.query(`
      SELECT o.name, (
        WITH RECURSIVE up(id, parent) AS (
          SELECT id, parent FROM tree WHERE id = o.id
          UNION ALL
          SELECT t.id, t.parent FROM tree t JOIN up ON t.id = up.parent
        )
        SELECT count(*) - 1 FROM up
      ) AS depth
      FROM tree o ORDER BY o.id`);
    expect(r.rows.map((row) => [row.name, Number(row.depth)])).toEqual([
      ['root', 0],
      ['a', 1],
      ['b', 1],
      ['a1', 2],
      ['a2', 2],
      ['b1', 2],
      ['a1x', 3],
    ]);
  });

  test('UNION ends a walk over a cycle; UNION ALL goes round it until a LIMIT stops it', async () => {
    const reach = `WITH RECURSIVE r(n) AS (
      SELECT 1 UNION SELECT e.dst FROM edges e JOIN r ON e.src = r.n
    ) SELECT n FROM r ORDER BY n`;
    expect((await db.query(reach)).rows.map((row) => row.n)).toEqual([1, 2, 3, 4]);

    const walk = await db.query(`WITH RECURSIVE w(n) AS (
      SELECT 1 UNION ALL SELECT e.dst FROM edges e JOIN w ON e.src = w.n
    ) SELECT n FROM w LIMIT 12`);
    expect(walk.rows.map((row) => row.n)).toEqual([1, 2, 3, 1, 4, 2, 3, 1, 4, 2, 3, 1]);
  });

  test('UNION also drops duplicates within the non-recursive term and within one run', async () => {
    const r = await db.query(`WITH RECURSIVE t(n) AS (
      VALUES (1), (1), (2)
      UNION
      SELECT n % 3 + 1 FROM t
    ) SELECT n FROM t ORDER BY n`);
    expect(r.rows.map((row) => row.n)).toEqual([1, 2, 3]);
  });

  test('Fibonacci in bigint', async () => {
    const r = await db.query(`WITH RECURSIVE fib(i, a, b) AS (
      SELECT 1, 0::bigint, 1::bigint
      UNION ALL
      SELECT i + 1, b, a + b FROM fib WHERE i < 91
    ) SELECT i, a FROM fib WHERE i IN (1, 2, 10, 91) ORDER BY i`);
    expect(r.rows).toEqual([
      { i: 1, a: '0' },
      { i: 2, a: '1' },
      { i: 10, a: '34' },
      { i: 91, a: '2880067194370816120' },
    ]);
  });

  test('text grows from an untyped literal (text, as in PostgreSQL)', async () => {
    const r = await db.query("WITH RECURSIVE s(x) AS (SELECT 'a' UNION ALL SELECT x || 'b' FROM s WHERE length(x) < 3) SELECT x FROM s");
    expect(r.rows.map((row) => row.x)).toEqual(['a', 'ab', 'abb']);
  });

  test('a LIMIT on the outer query stops an endless recursion', async () => {
    await withClient(async (c) => {
      // Low enough that running the recursion to its bound would fail.
      await c.query('SET max_rows_in_memory = 200');
      const r = await c.query('WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT n FROM t LIMIT 5');
      expect(r.rows.map((row) => row.n)).toEqual([1, 2, 3, 4, 5]);
      const filtered = await c.query('WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT n FROM t WHERE n % 10 = 0 LIMIT 3');
      expect(filtered.rows.map((row) => row.n)).toEqual([10, 20, 30]);
    });
  });
});

describe('several queries in one WITH', () => {
  test('later queries read earlier ones, and the recursive one is read twice', async () => {
    const r = await db.query(`WITH RECURSIVE
      nums(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM nums WHERE n < 10),
      evens AS (SELECT n FROM nums WHERE n % 2 = 0),
      pairs AS (SELECT a.n AS half, b.n AS whole FROM nums a JOIN evens b ON b.n = a.n * 2)
      SELECT half, whole, (SELECT count(*) FROM nums) AS total FROM pairs ORDER BY half`);
    expect(r.rows.map((row) => [row.half, row.whole, Number(row.total)])).toEqual([
      [1, 2, 10],
      [2, 4, 10],
      [3, 6, 10],
      [4, 8, 10],
      [5, 10, 10],
    ]);
    const cross = await db.query('WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 10) SELECT count(*) AS c FROM t a, t b WHERE a.n < b.n');
    expect(cross.rows).toEqual([{ c: '45' }]);
  });

  test('under RECURSIVE a query may read one written after it', async () => {
    const r = await db.query(`WITH RECURSIVE
      doubled AS (SELECT n * 2 AS d FROM base),
      base(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM base WHERE n < 3)
      SELECT d FROM doubled ORDER BY d`);
    expect(r.rows.map((row) => row.d)).toEqual([2, 4, 6]);
  });

  test('two recursive queries, the second starting from the first', async () => {
    const r = await db.query(`WITH RECURSIVE
      a(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM a WHERE n < 3),
      b(n, k) AS (SELECT n, 0 FROM a UNION ALL SELECT n, k + 1 FROM b WHERE k < n - 1)
      SELECT n, count(*) AS c FROM b GROUP BY n ORDER BY n`);
    expect(r.rows.map((row) => [row.n, Number(row.c)])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
  });

  test('WITH RECURSIVE without a self-reference is an ordinary WITH', async () => {
    const r = await db.query('WITH RECURSIVE t AS (SELECT 1 AS one) SELECT one FROM t');
    expect(r.rows).toEqual([{ one: 1 }]);
  });
});

describe('types', () => {
  test('a recursive term of a wider type is 42804, as in PostgreSQL; a cast in the non-recursive term fixes it', async () => {
    const bad = await failure(db.query('WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1::bigint FROM t WHERE n < 5) SELECT * FROM t'));
    expect(bad).toEqual({ code: '42804', message: 'recursive query "t" column 1 has type integer in non-recursive term but type bigint overall' });
    const good = await db.query('WITH RECURSIVE t(n) AS (SELECT 1::bigint UNION ALL SELECT n + 1 FROM t WHERE n < 5) SELECT sum(n) AS s FROM t');
    expect(good.rows).toEqual([{ s: '15' }]);
    // A narrower recursive term is cast to the non-recursive term's type.
    const narrower = await db.query('WITH RECURSIVE t(n) AS (SELECT 10::bigint UNION ALL SELECT 1 FROM t WHERE n > 1) SELECT pg_typeof(n)::text AS ty, n FROM t');
    expect(narrower.rows).toEqual([
      { ty: 'bigint', n: '10' },
      { ty: 'bigint', n: '1' },
    ]);
  });

  test('a typmod lost by the recursive term is 42804 too', async () => {
    const bad = await failure(db.query("WITH RECURSIVE t(x) AS (SELECT 'a'::varchar(5) UNION ALL SELECT x || 'b' FROM t WHERE length(x) < 3) SELECT * FROM t"));
    expect(bad.code).toBe('42804');
    expect(bad.message).toMatch(/^recursive query "t" column 1 has type character varying\(5\) in non-recursive term but type .* overall$/);
  });

  test('too many column names is 42P10', async () => {
    const bad = await failure(db.query('WITH RECURSIVE t(a, b) AS (SELECT 1 UNION ALL SELECT a + 1 FROM t WHERE a < 2) SELECT * FROM t'));
    expect(bad).toEqual({ code: '42P10', message: 'WITH query "t" has 1 columns available but 2 columns specified' });
  });
});

describe("PostgreSQL's errors", () => {
  const cases: [string, string, string][] = [
    [
      'WITH RECURSIVE t(n) AS (SELECT n FROM t) SELECT * FROM t',
      '42P19',
      'recursive query "t" does not have the form non-recursive-term UNION [ALL] recursive-term',
    ],
    [
      'WITH RECURSIVE t(n) AS (SELECT n FROM t UNION ALL SELECT 1) SELECT * FROM t',
      '42P19',
      'recursive reference to query "t" must not appear within its non-recursive term',
    ],
    [
      'WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT 2 WHERE EXISTS (SELECT 1 FROM t)) SELECT * FROM t',
      '42P19',
      'recursive reference to query "t" must not appear within a subquery',
    ],
    [
      'WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT e.dst FROM edges e LEFT JOIN t ON e.src = t.n) SELECT * FROM t',
      '42P19',
      'recursive reference to query "t" must not appear within an outer join',
    ],
    [
      'WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT e.dst FROM t FULL JOIN edges e ON e.src = t.n) SELECT * FROM t',
      '42P19',
      'recursive reference to query "t" must not appear within an outer join',
    ],
    [
      'WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT max(n) + 1 FROM t HAVING max(n) < 5) SELECT * FROM t',
      '42P19',
      "aggregate functions are not allowed in a recursive query's recursive term",
    ],
    [
      'WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT a.n + 1 FROM t a, t b WHERE a.n < 5) SELECT * FROM t',
      '42P19',
      'recursive reference to query "t" must not appear more than once',
    ],
    [
      'WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL (SELECT src FROM edges EXCEPT SELECT n FROM t)) SELECT * FROM t',
      '42P19',
      'recursive reference to query "t" must not appear within EXCEPT',
    ],
    [
      'WITH RECURSIVE a(n) AS (SELECT 1 UNION ALL SELECT n FROM b), b(n) AS (SELECT 1 UNION ALL SELECT n FROM a) SELECT * FROM a',
      '0A000',
      'mutual recursion between WITH items is not implemented',
    ],
    [
      'WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3 ORDER BY 1) SELECT * FROM t',
      '0A000',
      'ORDER BY in a recursive query is not implemented',
    ],
  ];
  test.each(cases)('%s', async (sql, code, message) => {
    expect(await failure(db.query(sql))).toEqual({ code, message });
  });

  test('a reference on the outer join side that keeps its rows is allowed', async () => {
    const r = await db.query(`WITH RECURSIVE r(n) AS (
      SELECT 1 UNION SELECT e.dst FROM r LEFT JOIN edges e ON e.src = r.n WHERE e.dst IS NOT NULL
    ) SELECT n FROM r ORDER BY n`);
    expect(r.rows.map((row) => row.n)).toEqual([1, 2, 3, 4]);
  });
});

describe('bounds', () => {
  test('a recursion that never ends fails with 53200 at max_rows_in_memory', async () => {
    await withClient(async (c) => {
      await c.query('SET max_rows_in_memory = 1000');
      const endless = await failure(c.query('WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) FROM t'));
      expect(endless.code).toBe('53200');
      expect(endless.message).toMatch(/^recursive query "t" produced more than 1000 rows/);
      const cycle = await failure(c.query('WITH RECURSIVE w(n) AS (SELECT 1 UNION ALL SELECT e.dst FROM edges e JOIN w ON e.src = w.n) SELECT max(n) FROM w'));
      expect(cycle.code).toBe('53200');
      // The session is still usable, and UNION ends the same walk.
      const reach = await c.query('WITH RECURSIVE w(n) AS (SELECT 1 UNION SELECT e.dst FROM edges e JOIN w ON e.src = w.n) SELECT max(n) AS m FROM w');
      expect(reach.rows).toEqual([{ m: 4 }]);
    });
  });

  test('statement_timeout ends a long recursion with 57014', async () => {
    await withClient(async (c) => {
      await c.query('SET max_rows_in_memory = 100000000');
      await c.query("SET statement_timeout = '200ms'");
      const slow = await failure(c.query('WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) FROM t'));
      expect(slow.code).toBe('57014');
      await c.query('SET statement_timeout = 0');
      expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    });
  });
});

describe('EXPLAIN', () => {
  test('shows the recursive union and its working table', async () => {
    const plan = await db.query('EXPLAIN WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3) SELECT n FROM t');
    const text = plan.rows.map((r) => r['QUERY PLAN'] as string).join('\n');
    expect(text).toMatch(/With Recursive/);
    expect(text).toMatch(/Recursive Union All \(t\)/);
    expect(text).toMatch(/WorkTable Scan on t/);
  });
});
