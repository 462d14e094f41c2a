import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSqlCluster, type SqlCluster } from '../support/sql-cluster';

/**
 * psql 15 against the gateway: its describe commands (\l, \dt, \d, \d+, \di, \dn, \du)
 * send the catalog queries of psql's describe.c, and must print what PostgreSQL 15
 * prints for the same schema. Expected texts below are PostgreSQL 15's for the same DDL,
 * except where noted (Cairn-specific: the owner is `root`; CHECK text is printed from
 * the constraint as written, without PostgreSQL's implicit casts, so `e > 0` where
 * PostgreSQL prints `e > 0::numeric`; sizes are 0 bytes).
 *
 * A second test runs a script with `psql -f`: statements, command tags and aligned
 * results as PostgreSQL prints them.
 */

const PSQL = '/usr/bin/psql';

let cluster: SqlCluster | undefined;
let dir: string;

interface PsqlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function psql(args: readonly string[]): Promise<PsqlResult> {
  const c = cluster as SqlCluster;
  return new Promise((resolve) => {
    execFile(
      PSQL,
      ['-X', '-h', c.host, '-p', String(c.port), '-U', 'root', '-v', 'ON_ERROR_STOP=1', ...args, 'defaultdb'],
      { env: { ...process.env, PGCONNECT_TIMEOUT: '10', PGSSLMODE: 'disable', PAGER: '', PGTZ: 'UTC' }, timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Runs one backslash command; fails the test with psql's error text if psql fails. */
async function describe_(command: string): Promise<string> {
  const result = await psql(['-c', command]);
  expect({ command, code: result.code, stderr: result.stderr }).toEqual({ command, code: 0, stderr: '' });
  return result.stdout;
}

beforeAll(async () => {
  cluster = await startSqlCluster('psql', { nodes: 1 });
  dir = await mkdtemp(join(tmpdir(), 'cairn-psql-'));
  const db = await cluster.client();
  await db.query('CREATE TABLE parent (id INT PRIMARY KEY, name TEXT)');
  await db.query(
    `CREATE TABLE t (
       a INT NOT NULL, b TEXT NOT NULL, c INT DEFAULT 7, d VARCHAR(10) UNIQUE,
       e NUMERIC(10,2) CHECK (e > 0), p INT REFERENCES parent(id),
       PRIMARY KEY (a, b))`,
  );
  await db.query('CREATE INDEX t_c_idx ON t (c)');
  await db.end();
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('psql describe commands', () => {
  test('\\d t: columns, indexes, check and foreign-key constraints', async () => {
    // PostgreSQL 15 prints the CHECK as `CHECK (e > 0::numeric)`.
    expect(await describe_('\\d t')).toBe(
      [
        '                        Table "public.t"',
        ' Column |         Type          | Collation | Nullable | Default ',
        '--------+-----------------------+-----------+----------+---------',
        ' a      | integer               |           | not null | ',
        ' b      | text                  |           | not null | ',
        ' c      | integer               |           |          | 7',
        ' d      | character varying(10) |           |          | ',
        ' e      | numeric(10,2)         |           |          | ',
        ' p      | integer               |           |          | ',
        'Indexes:',
        '    "t_pkey" PRIMARY KEY, btree (a, b)',
        '    "t_c_idx" btree (c)',
        '    "t_d_key" UNIQUE CONSTRAINT, btree (d)',
        'Check constraints:',
        '    "t_e_check" CHECK (e > 0)',
        'Foreign-key constraints:',
        '    "t_p_fkey" FOREIGN KEY (p) REFERENCES parent(id)',
        '',
        '',
      ].join('\n'),
    );
  });

  test('\\d parent: "Referenced by"', async () => {
    expect(await describe_('\\d parent')).toBe(
      [
        '               Table "public.parent"',
        ' Column |  Type   | Collation | Nullable | Default ',
        '--------+---------+-----------+----------+---------',
        ' id     | integer |           | not null | ',
        ' name   | text    |           |          | ',
        'Indexes:',
        '    "parent_pkey" PRIMARY KEY, btree (id)',
        'Referenced by:',
        '    TABLE "t" CONSTRAINT "t_p_fkey" FOREIGN KEY (p) REFERENCES parent(id)',
        '',
        '',
      ].join('\n'),
    );
  });

  test('\\d+ t: storage columns and the access method', async () => {
    const out = await describe_('\\d+ t');
    expect(out).toContain(' Column |         Type          | Collation | Nullable | Default | Storage  | Compression | Stats target | Description ');
    expect(out).toContain(' a      | integer               |           | not null |         | plain    |             |              | ');
    expect(out).toContain(' b      | text                  |           | not null |         | extended |             |              | ');
    expect(out).toContain(' e      | numeric(10,2)         |           |          |         | main     |             |              | ');
    expect(out).toContain('    "t_pkey" PRIMARY KEY, btree (a, b)\n');
    expect(out).toContain('    "t_p_fkey" FOREIGN KEY (p) REFERENCES parent(id)\n');
    expect(out).toContain('Access method: heap\n');
  });

  test('\\d on an index', async () => {
    expect(await describe_('\\d t_pkey')).toBe(
      [
        '        Index "public.t_pkey"',
        ' Column |  Type   | Key? | Definition ',
        '--------+---------+------+------------',
        ' a      | integer | yes  | a',
        ' b      | text    | yes  | b',
        'primary key, btree, for table "public.t"',
        '',
        '',
      ].join('\n'),
    );
  });

  test('\\dt and \\di list relations with their owner', async () => {
    const tables = await describe_('\\dt');
    expect(tables).toContain(' public | parent | table | root\n');
    expect(tables).toContain(' public | t      | table | root\n');
    const indexes = await describe_('\\di');
    expect(indexes).toContain(' public | parent_pkey | index | root  | parent\n');
    expect(indexes).toContain(' public | t_c_idx     | index | root  | t\n');
    expect(indexes).toContain(' public | t_d_key     | index | root  | t\n');
    expect(indexes).toContain(' public | t_pkey      | index | root  | t\n');
    // \dt+ computes sizes with pg_size_pretty(pg_table_size(oid)).
    expect(await describe_('\\dt+ t')).toContain(' public | t    | table | root  | permanent   | heap          | 0 bytes | ');
  });

  test('\\l, \\dn and \\du', async () => {
    expect(await describe_('\\l')).toMatch(/^ defaultdb \| root {2}\| UTF8 {5}\| C {7}\| C {5}\| {12}\| libc {12}\| $/m);
    expect(await describe_('\\dn')).toContain(' public | root\n');
    // PostgreSQL's bootstrap superuser also has Replication; Cairn's root has no replication.
    expect(await describe_('\\du')).toMatch(/^ root {6}\| Superuser, Create role, Create DB, Bypass RLS \| \{\}$/m);
  });

  test('unquoted output with -A -t, as scripts read it', async () => {
    expect(await describe_('\\dt')).not.toContain('ERROR');
    const result = await psql(['-A', '-t', '-c', "SELECT 't'::regclass, 't'::regclass::oid = c.oid FROM pg_class c WHERE relname = 't'"]);
    expect(result).toEqual({ code: 0, stdout: 't|t\n', stderr: '' });
  });
});

describe('psql -f script', () => {
  test('DDL, DML, a transaction and queries print as in PostgreSQL', async () => {
    const script = [
      'CREATE TABLE accounts (id INT PRIMARY KEY, owner TEXT NOT NULL, balance NUMERIC(12,2) DEFAULT 0);',
      "INSERT INTO accounts VALUES (1, 'ann', 10.50), (2, 'bob', 20), (3, 'cy', DEFAULT);",
      'SELECT * FROM accounts ORDER BY id;',
      'BEGIN;',
      'UPDATE accounts SET balance = balance - 5 WHERE id = 1;',
      'UPDATE accounts SET balance = balance + 5 WHERE id = 2;',
      'COMMIT;',
      'BEGIN;',
      'DELETE FROM accounts WHERE id = 3;',
      'ROLLBACK;',
      'SELECT owner, balance FROM accounts WHERE balance > 0 ORDER BY balance DESC;',
      'SELECT count(*) AS n, sum(balance) AS total FROM accounts;',
      '',
    ].join('\n');
    const file = join(dir, 'script.sql');
    await writeFile(file, script);
    const result = await psql(['-f', file]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        'CREATE TABLE',
        'INSERT 0 3',
        ' id | owner | balance ',
        '----+-------+---------',
        '  1 | ann   |   10.50',
        '  2 | bob   |   20.00',
        '  3 | cy    |    0.00',
        '(3 rows)',
        '',
        'BEGIN',
        'UPDATE 1',
        'UPDATE 1',
        'COMMIT',
        'BEGIN',
        'DELETE 1',
        'ROLLBACK',
        ' owner | balance ',
        '-------+---------',
        ' bob   |   25.00',
        ' ann   |    5.50',
        '(2 rows)',
        '',
        ' n | total ',
        '---+-------',
        ' 3 | 30.50',
        '(1 row)',
        '',
        '',
      ].join('\n'),
    );
  });

  test('an error stops the script with ON_ERROR_STOP and exit code 3', async () => {
    const file = join(dir, 'error.sql');
    await writeFile(file, 'SELECT 1 AS one;\nSELECT * FROM no_such_table;\nSELECT 2;\n');
    const result = await psql(['-f', file]);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe(' one \n-----\n   1\n(1 row)\n\n');
    expect(result.stderr).toContain('ERROR:  relation "no_such_table" does not exist');
  });
});
