import { Client } from 'pg';
import { tableSpan } from '../gateway/sql/exec/table-codec';
import { startSqlCluster, type SqlCluster } from '../test/support/sql-cluster';
import type { KvRowsTarget, SqlWorkerConfig } from './sql-worker';
import { loadBenchKv, runKvFloor } from './sql-worker';

/**
 * The SQL benchmark's KV floor on a real one-node cluster: it reads and writes bench_kv's
 * own rows straight on the nodes, and leaves the table as it found it for the SQL turns
 * that follow.
 */

const ROWS = 40;
let cluster: SqlCluster | undefined;
let target: KvRowsTarget;

beforeAll(async () => {
  cluster = await startSqlCluster('bench-sql-worker', { nodes: 1 });
  await loadBenchKv({ host: cluster.host, port: cluster.port, user: 'root', database: 'defaultdb' }, ROWS);
  const db = await cluster.client();
  try {
    await db.query('UPDATE bench_kv SET v = k * 10');
    const id = Number((await db.query<{ id: string }>("SELECT 'bench_kv'::regclass::oid AS id")).rows[0]?.id);
    const span = tableSpan(id);
    target = { kind: 'kv', addresses: cluster.nodes.cluster.addresses, startKeyHex: span.startKey.toString('hex'), endKeyHex: span.endKey.toString('hex') };
  } finally {
    await db.end();
  }
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

function config(op: SqlWorkerConfig['op'], rows = ROWS): SqlWorkerConfig {
  return { target, op, clients: 4, rows, warmupSeconds: 0, seconds: 1, seed: 7, cpuPids: {} };
}

async function table(): Promise<{ k: number; v: number }[]> {
  const db: Client = await (cluster as SqlCluster).client();
  try {
    return (await db.query<{ k: number; v: number }>('SELECT k, v FROM bench_kv ORDER BY k')).rows;
  } finally {
    await db.end();
  }
}

test('the update floor puts every row back as it was, and SQL still reads the table', async () => {
  const before = await table();
  const result = await runKvFloor(config('update'), target);
  expect(result.errors).toBe(0);
  expect(result.ops).toBeGreaterThan(0);
  expect(await table()).toEqual(before);
  expect(before.map((r) => r.v)).toEqual(Array.from({ length: ROWS }, (_, k) => k * 10));
}, 60_000);

test('the point-select floor reads the rows', async () => {
  const result = await runKvFloor(config('point-select'), target);
  expect(result.errors).toBe(0);
  expect(result.ops).toBeGreaterThan(0);
}, 60_000);

test('a span that does not hold the table is refused before any load runs', async () => {
  await expect(runKvFloor(config('update', ROWS + 1), target)).rejects.toThrow(`the table's span holds ${ROWS} rows, not ${ROWS + 1}`);
}, 60_000);
