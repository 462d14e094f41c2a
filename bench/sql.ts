/**
 * `npm run bench -- sql`: the SQL gateway over a local three-node cluster against
 * PostgreSQL 15 (started here on a loopback port, fsync and synchronous_commit on), on
 * the same machine in the same run:
 *
 *   point-select  SELECT v FROM bench_kv WHERE k = $1, a named prepared statement
 *   update        UPDATE bench_kv SET v = v + 1 WHERE k = $1, likewise
 *   pgbench-S     `pgbench -S` (select-only) at the configured scale
 *   pgbench-tpcb  default pgbench (TPC-B-like) at the configured scale
 *
 * Targets (reported, not enforced): point-select ≥ 0.5× PostgreSQL, update ≥ 0.3×.
 * pgbench's load time is its own figure (`op` = `pgbench-load`, `load_s`).
 *
 * Environment: CAIRN_BENCH_SQL_SECONDS (measured seconds per run, default 10 or
 * --seconds if larger), CAIRN_BENCH_SQL_CONCURRENCIES (default "16,64"),
 * CAIRN_BENCH_SQL_ROWS (rows of bench_kv, default 10000), CAIRN_BENCH_SQL_SCALE (pgbench
 * scale, default 10; 0 skips the pgbench figures), CAIRN_BENCH_SQL_PGBENCH_INIT_STEPS
 * (pgbench -I steps for Cairn, default "dtgvp").
 */
import { spawn } from 'node:child_process';
import { Client } from 'pg';
import { createLogger } from '../common/logging';
import { createRegistry } from '../common/metrics';
import { GatewayServer } from '../gateway/server/gateway-server';
import type { PostgresServer } from '../test/support/postgres-server';
import { startPostgres } from '../test/support/postgres-server';
import { withLocalCluster } from './bench-cluster';
import type { BenchOptions } from './main';
import type { Figure, Measurement } from './report';
import { closedLoop, emit, progress, round } from './report';
import { envConcurrencies, envNumber } from './workload';

const TARGET_RATIOS: Record<string, number> = { 'point-select': 0.5, update: 0.3 };
const LOAD_BATCH_ROWS = 500;

interface Settings {
  readonly seconds: number;
  readonly concurrencies: readonly number[];
  readonly rows: number;
  readonly scale: number;
  readonly initSteps: string;
}

function settings(options: BenchOptions): Settings {
  return {
    seconds: Math.max(1, envNumber('CAIRN_BENCH_SQL_SECONDS', Math.max(10, options.seconds))),
    concurrencies: envConcurrencies('CAIRN_BENCH_SQL_CONCURRENCIES', [16, 64]),
    rows: Math.max(1, envNumber('CAIRN_BENCH_SQL_ROWS', 10_000)),
    scale: envNumber('CAIRN_BENCH_SQL_SCALE', 10),
    initSteps: process.env.CAIRN_BENCH_SQL_PGBENCH_INIT_STEPS ?? 'dtgvp',
  };
}

/** Where a system under test listens, as pgbench and `pg` need it. */
interface Target {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
}

async function connect(t: Target): Promise<Client> {
  const c = new Client({ host: t.host, port: t.port, user: t.user, database: t.database });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

async function loadKv(t: Target, rows: number): Promise<void> {
  const c = await connect(t);
  try {
    await c.query('DROP TABLE IF EXISTS bench_kv');
    await c.query('CREATE TABLE bench_kv (k INT PRIMARY KEY, v INT NOT NULL)');
    // Batches in transactions of their own: a bounded write set per commit.
    for (let from = 0; from < rows; from += LOAD_BATCH_ROWS) {
      const to = Math.min(rows, from + LOAD_BATCH_ROWS);
      const values = Array.from({ length: to - from }, (_, i) => `(${from + i}, 0)`).join(',');
      await c.query(`INSERT INTO bench_kv VALUES ${values}`);
    }
  } finally {
    await c.end();
  }
}

/** A closed loop of `clients` connections running one named prepared statement each. */
async function runPrepared(t: Target, op: 'point-select' | 'update', clients: number, seconds: number, rows: number): Promise<Measurement & { errors: number }> {
  const conns = await Promise.all(Array.from({ length: clients }, () => connect(t)));
  const text = op === 'point-select' ? 'SELECT v FROM bench_kv WHERE k = $1' : 'UPDATE bench_kv SET v = v + 1 WHERE k = $1';
  let errors = 0;
  let seed = clients * 7919;
  const nextKey = (): number => {
    // A small LCG: reproducible keys without Math.random().
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % rows;
  };
  try {
    // Warm-up: every connection prepares its statement.
    await Promise.all(conns.map((c) => c.query({ name: op, text, values: [0] })));
    const m = await closedLoop(clients, seconds, async (_seq, client) => {
      try {
        await (conns[client] as Client).query({ name: op, text, values: [nextKey()] });
      } catch {
        errors++;
      }
    });
    return { ...m, errors };
  } finally {
    await Promise.all(conns.map((c) => c.end().catch(() => undefined)));
  }
}

interface PgbenchResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

function pgbench(t: Target, args: readonly string[]): Promise<PgbenchResult> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn('pgbench', [...args, '-h', t.host, '-p', String(t.port), '-U', t.user, t.database], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr, seconds: Number(process.hrtime.bigint() - started) / 1e9 }));
  });
}

function tpsOf(out: string): number {
  const m = /tps = ([\d.]+) \(without initial connection time\)/.exec(out);
  return m === null ? 0 : Number(m[1]);
}

function latencyAvgOf(out: string): number {
  const m = /latency average = ([\d.]+) ms/.exec(out);
  return m === null ? 0 : Number(m[1]);
}

function failedOf(out: string): number {
  const m = /number of failed transactions: (\d+)/.exec(out);
  return m === null ? 0 : Number(m[1]);
}

async function startGateway(addresses: readonly string[]): Promise<GatewayServer> {
  const gateway = new GatewayServer({
    join: [...addresses],
    listen: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0 },
    auth: 'trust',
    registry: createRegistry({ process: 'cairn-gateway' }),
    log: createLogger({ name: 'cairn-gateway-bench', fd: 2, level: 'warn' }),
  });
  await gateway.start();
  return gateway;
}

export async function runSqlBench(options: BenchOptions): Promise<void> {
  const s = settings(options);
  const verdicts: string[] = [];
  const failures: string[] = [];
  progress(`sql: ${s.rows} rows, clients ${s.concurrencies.join(', ')}, ${s.seconds} s per run, pgbench scale ${s.scale}`);
  let postgres: PostgresServer | undefined;
  try {
    postgres = await startPostgres({ fsync: true, synchronousCommit: 'on', settings: { max_connections: 200 } });
    progress(`sql: ${postgres.version} on port ${postgres.port}`);
    const pg: Target = { name: 'postgres', host: postgres.host, port: postgres.port, user: postgres.user, database: postgres.database };
    await withLocalCluster('sql', async (cluster) => {
      const gateway = await startGateway(cluster.addresses);
      try {
        const ours: Target = { name: 'cairn', host: '127.0.0.1', port: gateway.sqlAddress.port, user: 'root', database: 'defaultdb' };
        for (const t of [ours, pg]) {
          progress(`sql: loading ${s.rows} rows into ${t.name}`);
          await loadKv(t, s.rows);
        }
        for (const clients of s.concurrencies) {
          for (const op of ['point-select', 'update'] as const) {
            const results: Record<string, Measurement & { errors: number }> = {};
            for (const t of [ours, pg]) {
              progress(`sql: ${op}, ${clients} clients, ${t.name}, ${s.seconds} s`);
              results[t.name] = await runPrepared(t, op, clients, s.seconds, s.rows);
            }
            const a = results.cairn as Measurement & { errors: number };
            const b = results.postgres as Measurement & { errors: number };
            const ratio = round(a.opsPerSec / b.opsPerSec);
            const target = TARGET_RATIOS[op] as number;
            const figure: Figure = {
              bench: 'sql',
              op,
              clients,
              ops_per_sec: a.opsPerSec,
              p50_ms: a.p50Ms,
              p99_ms: a.p99Ms,
              ...(a.errors > 0 ? { errors: a.errors } : {}),
              baseline: 'postgres-15',
              baseline_ops_per_sec: b.opsPerSec,
              baseline_p50_ms: b.p50Ms,
              baseline_p99_ms: b.p99Ms,
              ratio,
              target_ratio: target,
            };
            emit(figure);
            verdicts.push(`${op}/${clients} ${ratio}× PostgreSQL ${ratio >= target ? 'meets' : 'misses'} the ${target}× target`);
            if (a.errors > 0.01 * (a.ops + a.errors)) failures.push(`${op}/${clients}: ${a.errors} errors`);
          }
        }
        if (s.scale > 0) await runPgbench(s, ours, pg, failures);
      } finally {
        await gateway.stop();
      }
    });
  } finally {
    await postgres?.stop();
  }
  for (const v of verdicts) progress(`sql: ${v}`);
  if (failures.length > 0) throw new Error(`the SQL benchmark failed:\n  ${failures.join('\n  ')}`);
}

async function runPgbench(s: Settings, ours: Target, pg: Target, failures: string[]): Promise<void> {
  const load: Record<string, number> = {};
  for (const t of [ours, pg]) {
    progress(`sql: pgbench -i -s ${s.scale} on ${t.name}`);
    const r = await pgbench(t, ['-i', '-s', String(s.scale), '-I', t === ours ? s.initSteps : 'dtgvp', '-q']);
    if (r.code !== 0) {
      failures.push(`pgbench -i on ${t.name} exited ${String(r.code)}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      return;
    }
    load[t.name] = round(r.seconds);
  }
  emit({ bench: 'sql', op: 'pgbench-load', scale: s.scale, load_s: load.cairn, baseline: 'postgres-15', baseline_load_s: load.postgres });
  for (const clients of s.concurrencies) {
    for (const [op, extra] of [
      ['pgbench-S', ['-S']],
      ['pgbench-tpcb', []],
    ] as const) {
      const tps: Record<string, PgbenchResult> = {};
      for (const t of [ours, pg]) {
        progress(`sql: ${op}, ${clients} clients, ${t.name}, ${s.seconds} s`);
        tps[t.name] = await pgbench(t, [...extra, '-c', String(clients), '-j', String(Math.min(clients, 4)), '-T', String(s.seconds), '-M', 'prepared']);
      }
      const a = tps.cairn as PgbenchResult;
      const b = tps.postgres as PgbenchResult;
      if (a.code !== 0) failures.push(`${op}/${clients} on cairn exited ${String(a.code)}: ${a.stderr.trim().split('\n').slice(-2).join(' | ')}`);
      const ours_ = tpsOf(a.stdout);
      const theirs = tpsOf(b.stdout);
      emit({
        bench: 'sql',
        op,
        clients,
        scale: s.scale,
        ops_per_sec: round(ours_),
        avg_ms: latencyAvgOf(a.stdout),
        ...(failedOf(a.stdout) > 0 ? { failed: failedOf(a.stdout) } : {}),
        ...(a.code !== 0 ? { exit_code: a.code ?? -1 } : {}),
        baseline: 'postgres-15',
        baseline_ops_per_sec: round(theirs),
        baseline_avg_ms: latencyAvgOf(b.stdout),
        ratio: theirs === 0 ? 0 : round(ours_ / theirs),
      });
    }
  }
}
