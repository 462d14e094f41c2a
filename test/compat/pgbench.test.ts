/**
 * pgbench against the gateway (DESIGN.md §8: "pgbench must work"): `pgbench -i -s 1`
 * (client-side COPY load, then ALTER TABLE ADD PRIMARY KEY on tables keyed by their
 * hidden rowid), then `pgbench -c 8 -j 2 -T 20` with the default TPC-B-like script.
 * Each transaction adds one delta to an account, its teller and its branch and records
 * it in pgbench_history, so the sums must agree (the bank invariant).
 * pgbench comes with postgresql-client, which .ci/run installs.
 */
import { spawn } from 'node:child_process';
import type { SqlCluster } from '../support/sql-cluster';
import { startSqlCluster } from '../support/sql-cluster';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function pgbench(cluster: SqlCluster, args: readonly string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('pgbench', [...args, '-h', cluster.host, '-p', String(cluster.port), '-U', 'root', 'defaultdb'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** stderr lines that report an error (pgbench prints progress there too). */
function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => /error|fatal/i.test(line));
}

describe('pgbench', () => {
  let cluster: SqlCluster;

  beforeAll(async () => {
    cluster = await startSqlCluster('pgbench', { nodes: 1 });
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  test('pgbench -i -s 1 loads the tables', async () => {
    const run = await pgbench(cluster, ['-i', '-s', '1']);
    expect(errorLines(run.stderr)).toEqual([]);
    expect(run.code).toBe(0);
    const c = await cluster.client();
    const { rows } = await c.query<{ n: string }>('SELECT count(*) AS n FROM pgbench_accounts');
    expect(rows[0]?.n).toBe('100000');
    // The primary key replaced the hidden rowid: a point lookup finds the row.
    const one = await c.query<{ aid: number }>('SELECT aid FROM pgbench_accounts WHERE aid = 4242');
    expect(one.rows).toEqual([{ aid: 4242 }]);
    await expect(c.query('INSERT INTO pgbench_branches (bid, bbalance) VALUES (1, 0)')).rejects.toMatchObject({ code: '23505' });
  }, 600_000);

  test('pgbench -c 8 -j 2 -T 20 runs without errors and keeps the balances', async () => {
    const run = await pgbench(cluster, ['-c', '8', '-j', '2', '-T', '20']);
    expect(errorLines(run.stderr)).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/number of transactions actually processed: [1-9]/);
    const c = await cluster.client();
    const sum = async (sql: string): Promise<string> => (await c.query<{ s: string | null }>(sql)).rows[0]?.s ?? '0';
    const history = await sum('SELECT coalesce(sum(delta), 0) AS s FROM pgbench_history');
    expect(await sum('SELECT coalesce(sum(abalance), 0) AS s FROM pgbench_accounts')).toBe(history);
    expect(await sum('SELECT coalesce(sum(tbalance), 0) AS s FROM pgbench_tellers')).toBe(history);
    expect(await sum('SELECT coalesce(sum(bbalance), 0) AS s FROM pgbench_branches')).toBe(history);
  }, 120_000);
});
