/**
 * `npm run bench -- sql`: the SQL gateway over a local three-node cluster against
 * PostgreSQL 15 (started here on a loopback port, fsync and synchronous_commit on), on
 * the same machine in the same run. Cairn runs as deployed: three cairn-node processes
 * and a cairn-gateway process. Clients run in processes of their own, the same for both
 * systems, so that neither the gateway nor PostgreSQL shares an event loop with them:
 *
 *   point-select   SELECT v FROM bench_kv WHERE k = $1, a named prepared statement per
 *                  connection (bench/sql-worker.ts), warm-up then measured seconds
 *   update         UPDATE bench_kv SET v = v + 1 WHERE k = $1, likewise
 *   prepared-plan  for point-select's statement (prepared-plan-update: update's):
 *                  `us_per_op`, the gateway engine's Parse path for text it has prepared
 *                  before (the session's cache of planned texts), catalog cache warm;
 *                  `uncached_us` the same for text it has not seen (parse + analyze +
 *                  plan); `parse_us` the parser alone; `bind_us` Bind of the statement
 *                  once prepared, whose plan Execute reuses (bench/sql-plan-worker.ts)
 *   pgbench-load   `pgbench -i` at the configured scale: seconds, per step for Cairn;
 *                  then `settle_s`, one read of every row (see settlePgbench), and for
 *                  Cairn `cleanup_s`, the wait for the old primary indexes that ADD
 *                  PRIMARY KEY left to be cleared in the background (waitForCleanup)
 *   pgbench-S      `pgbench -S -M prepared` (select-only)
 *   pgbench-tpcb   `pgbench -M prepared` (TPC-B-like)
 *   point-select-trace-0, -1, -100
 *                  point-select with tracing off, 1% and 100% of statements traced:
 *                  three gateways of one cluster, exporting to Jaeger, off and 1%
 *                  taking turns a second each (bench/sql-tracing.ts)
 *
 * Throughput figures carry p50/p99 latency (pgbench's from its per-transaction log) and
 * the ratio to PostgreSQL; point-select and update also the servers' CPU time per
 * statement (Cairn's gateway plus nodes, PostgreSQL's postmaster and its children), and
 * their KV floor, taking its turns with the two systems: the row's key read or written
 * straight on the nodes with KV clients, no SQL and no gateway (bench/sql-worker.ts), as
 * `kv_floor_ops_per_sec`, `kv_floor_nodes_cpu_us_per_op` and `kv_floor_ratio` (to
 * PostgreSQL): the most the statement could reach were everything above the KV layer
 * free (an UPDATE also reads its row first). Targets (reported, not enforced):
 * point-select ≥ 0.5× PostgreSQL, update ≥ 0.3×, prepared-plan < 20 µs. A step that
 * fails is reported (on stderr, and in its figure as `error`) and the others still run;
 * the benchmark then exits non-zero.
 *
 * Environment: CAIRN_BENCH_SQL_SECONDS (measured seconds per system and figure, default
 * 10 or --seconds if larger), CAIRN_BENCH_SQL_ROUNDS (turns the systems take at each
 * prepared figure, Cairn and PostgreSQL alternating A B B A, the seconds split among
 * them; default 2), CAIRN_BENCH_SQL_WARMUP_SECONDS (default 2, before every turn),
 * CAIRN_BENCH_SQL_CONCURRENCIES (default "16,64"), CAIRN_BENCH_SQL_OPS (the prepared
 * runs, default "point-select,update"), CAIRN_BENCH_SQL_KV_FLOOR (0: no KV floor turns),
 * CAIRN_BENCH_SQL_RANGES (ranges bench_kv is cut into on Cairn, their leases spread over
 * the nodes, default 1: as the cluster left it), CAIRN_BENCH_SQL_ROWS (rows of
 * bench_kv, default 10000), CAIRN_BENCH_SQL_SCALE (pgbench scale, default 10; 0 skips
 * pgbench), CAIRN_BENCH_SQL_PGBENCH_INIT_STEPS (pgbench -I steps for Cairn, default
 * "dtgvp"), CAIRN_BENCH_SQL_LOAD_TIMEOUT_SECONDS (default 300 + 180 per scale unit),
 * CAIRN_BENCH_SQL_SETTLE (0: run pgbench right after its load, without reading every row
 * first), CAIRN_BENCH_SQL_PLAN_ITERATIONS (most timed calls per planning figure, default
 * 20000), CAIRN_BENCH_SQL_TRACING (0: no tracing figures; only: nothing else), and
 * bench/sql-tracing.ts's own.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { SQL_DROPPED_DATA_SPAN, sqlDescriptorKey } from '../common/keys';
import { decodeDescriptor } from '../gateway/sql/catalog/descriptors';
import { codecFor, tableSpan } from '../gateway/sql/exec/table-codec';
import { KvClient } from '../kv';
import type { PostgresServer } from '../test/support/postgres-server';
import { startPostgres } from '../test/support/postgres-server';
import { splitKeyspaces, withLocalCluster } from './bench-cluster';
import { runTracingFigures } from './sql-tracing';
import { firstError } from './load-loop';
import type { BenchOptions } from './main';
import type { PgbenchRun } from './pgbench';
import { errorSummary, failedOf, initStepsOf, latencyAvgOf, pgbench, tpsOf, transactionLog } from './pgbench';
import type { Figure } from './report';
import { emit, progress, round } from './report';
import type { PlanResult, PlanWorkerConfig } from './sql-plan-worker';
import type { KvRowsTarget, SqlOp, SqlTarget, SqlWorkerConfig, SqlWorkerResult } from './sql-worker';
import { loadBenchKv, SQL_OP_TEXT } from './sql-worker';
import { runWorkerProcess, workerScript } from './worker-process';
import { envConcurrencies, envNumber } from './workload';

const SQL_WORKER = workerScript(__dirname, 'sql-worker');
const PLAN_WORKER = workerScript(__dirname, 'sql-plan-worker');
const OPS: readonly SqlOp[] = ['point-select', 'update'];
const TARGET_RATIOS: Readonly<Record<SqlOp, number>> = { 'point-select': 0.5, update: 0.3 };
const TARGET_PLAN_US = 20;
const BASELINE = 'postgres-15';
/** A run with more failed statements than this share fails the benchmark. */
const MAX_ERROR_SHARE = 0.01;
/** How often a long pgbench load says it is still running. */
const LOAD_HEARTBEAT_MS = 60_000;
/** pgbench -i's row counts (every 5 s with -q) are passed on at most this often. */
const LOAD_ROWS_PROGRESS_MS = 30_000;
const PLAN_SECONDS = 3;
const SPLIT_TIMEOUT_MS = 60_000;
const PGBENCH_ACCOUNTS_PER_SCALE = 100_000;
const SETTLE_SLICE_ROWS = 10_000;
const SETTLE_ATTEMPTS = 5;

interface Settings {
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly concurrencies: readonly number[];
  readonly rows: number;
  readonly scale: number;
  readonly initSteps: string;
  /** The prepared-statement runs, in order. */
  readonly ops: readonly SqlOp[];
  /** Ranges bench_kv is cut into on Cairn. */
  readonly ranges: number;
  readonly loadTimeoutSeconds: number;
  /** Read every pgbench row once after the load, before the runs. */
  readonly settle: boolean;
  readonly planIterations: number;
  /** Turns each system takes at a prepared figure, in the order A B B A … (seconds split among them). */
  readonly rounds: number;
  /** The KV floor takes turns too. */
  readonly kvFloor: boolean;
}

function envOps(value: string | undefined): readonly SqlOp[] {
  if (value === undefined || value.trim() === '') return OPS;
  const ops = value.split(',').map((op) => op.trim());
  for (const op of ops) {
    if (!(OPS as readonly string[]).includes(op)) {
      throw new Error(`CAIRN_BENCH_SQL_OPS: unknown op ${JSON.stringify(op)} (known: ${OPS.join(', ')})`);
    }
  }
  return ops as SqlOp[];
}

function settings(options: BenchOptions): Settings {
  const scale = envNumber('CAIRN_BENCH_SQL_SCALE', 10);
  return {
    seconds: Math.max(1, envNumber('CAIRN_BENCH_SQL_SECONDS', Math.max(10, options.seconds))),
    warmupSeconds: envNumber('CAIRN_BENCH_SQL_WARMUP_SECONDS', 2),
    concurrencies: envConcurrencies('CAIRN_BENCH_SQL_CONCURRENCIES', [16, 64]),
    ops: envOps(process.env.CAIRN_BENCH_SQL_OPS),
    ranges: Math.max(1, envNumber('CAIRN_BENCH_SQL_RANGES', 1)),
    rows: Math.max(1, envNumber('CAIRN_BENCH_SQL_ROWS', 10_000)),
    scale,
    initSteps: process.env.CAIRN_BENCH_SQL_PGBENCH_INIT_STEPS ?? 'dtgvp',
    loadTimeoutSeconds: Math.max(1, envNumber('CAIRN_BENCH_SQL_LOAD_TIMEOUT_SECONDS', 300 + 180 * scale)),
    settle: envNumber('CAIRN_BENCH_SQL_SETTLE', 1) !== 0,
    planIterations: Math.max(1, envNumber('CAIRN_BENCH_SQL_PLAN_ITERATIONS', 20_000)),
    rounds: Math.max(1, Math.floor(envNumber('CAIRN_BENCH_SQL_ROUNDS', 2))),
    kvFloor: envNumber('CAIRN_BENCH_SQL_KV_FLOOR', 1) !== 0,
  };
}

/** What takes turns at a prepared figure: a system under test, or Cairn's KV floor. */
interface Contender {
  readonly name: 'cairn' | 'postgres' | 'cairn-kv';
  readonly target: SqlTarget | KvRowsTarget;
  readonly cpuPids: SqlWorkerConfig['cpuPids'];
}

/** A system under test: where it listens, and its server processes (for their CPU time). */
interface System extends Contender {
  readonly name: 'cairn' | 'postgres';
  readonly target: SqlTarget;
  /** Cairn: its nodes' addresses, to see what is still being cleared in the background. */
  readonly kvAddresses?: readonly string[];
}

/** What went wrong, collected so that one failed step does not hide the others' figures. */
class Outcome {
  readonly failures: string[] = [];
  readonly verdicts: string[] = [];

  fail(message: string): void {
    progress(`sql: FAILED: ${message}`);
    this.failures.push(message);
  }

  /** Runs `fn`; a throw is a failure of `label`, and undefined comes back. */
  async attempt<T>(label: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (err) {
      this.fail(`${label}: ${String((err as Error).message ?? err)}`);
      return undefined;
    }
  }
}

/**
 * Cuts bench_kv's primary index into `ranges` ranges of as many keys each and spreads
 * their leases over the nodes (bench-cluster.ts), as a deployment would split a hot
 * table (CockroachDB: ALTER TABLE … SPLIT AT).
 */
async function splitBenchKv(addresses: readonly string[], t: SqlTarget, rows: number, ranges: number): Promise<void> {
  const tableId = await benchKvTableId(t);
  const kv = await KvClient.connect({ addresses: [...addresses] });
  let splitKeys: Buffer[];
  try {
    const raw = await kv.get(sqlDescriptorKey(tableId));
    const desc = raw === undefined ? undefined : decodeDescriptor(raw);
    if (desc?.kind !== 'table' || desc.name !== 'bench_kv') throw new Error(`descriptor ${tableId} is not bench_kv's`);
    const codec = codecFor(desc);
    splitKeys = Array.from({ length: ranges - 1 }, (_, i) => codec.primaryKey([BigInt(Math.floor(((i + 1) * rows) / ranges)), 0n]));
  } finally {
    await kv.close();
  }
  const span = tableSpan(tableId);
  progress(`sql: cutting bench_kv (table ${tableId}) into ${ranges} ranges`);
  await splitKeyspaces('sql', addresses, [{ start: span.startKey, end: span.endKey, splitKeys }], SPLIT_TIMEOUT_MS);
}

/** bench_kv's descriptor ID on Cairn. */
async function benchKvTableId(t: SqlTarget): Promise<number> {
  const c = new Client({ host: t.host, port: t.port, user: t.user, database: t.database });
  await c.connect();
  try {
    return Number((await c.query<{ id: string }>("SELECT 'bench_kv'::regclass::oid AS id")).rows[0]?.id);
  } finally {
    await c.end();
  }
}

/** bench_kv's rows on Cairn's nodes, for the KV floor turns: its primary index span. */
async function kvFloorOf(ours: System): Promise<Contender> {
  const span = tableSpan(await benchKvTableId(ours.target));
  return {
    name: 'cairn-kv',
    target: {
      kind: 'kv',
      addresses: ours.kvAddresses ?? [],
      startKeyHex: span.startKey.toString('hex'),
      endKeyHex: span.endKey.toString('hex'),
    },
    cpuPids: { nodes: ours.cpuPids.nodes ?? [] },
  };
}

/** PostgreSQL's server processes, for their CPU time: the postmaster (its children are counted with it). */
function postmasterPid(dataDir: string): SqlWorkerConfig['cpuPids'] {
  try {
    const pid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? { server: [pid] } : {};
  } catch {
    progress(`sql: cannot read PostgreSQL's postmaster.pid; its CPU time is not reported`);
    return {};
  }
}

function hostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}

export async function runSqlBench(options: BenchOptions): Promise<void> {
  const s = settings(options);
  const outcome = new Outcome();
  const tracing = process.env.CAIRN_BENCH_SQL_TRACING ?? '1';
  if (tracing !== 'only') await runComparisons(s, outcome);
  if (tracing !== '0') {
    await outcome.attempt('tracing figures', () => runTracingFigures(s, outcome.verdicts));
  }
  for (const v of outcome.verdicts) progress(`sql: ${v}`);
  if (outcome.failures.length > 0) {
    throw new Error(`the SQL benchmark failed:\n  ${outcome.failures.join('\n  ')}`);
  }
}

/** Every figure against PostgreSQL: the prepared runs, planning, and pgbench. */
async function runComparisons(s: Settings, outcome: Outcome): Promise<void> {
  progress(
    `sql: ${s.rows} rows, clients ${s.concurrencies.join(', ')}, ${s.warmupSeconds} s warm-up + ${s.seconds} s per run, ` +
      `pgbench scale ${s.scale}`,
  );
  let postgres: PostgresServer | undefined;
  try {
    postgres = await startPostgres({ fsync: true, synchronousCommit: 'on', settings: { max_connections: 200 } });
    progress(`sql: ${postgres.version} on port ${postgres.port}`);
    const pg: System = {
      name: 'postgres',
      target: { host: postgres.host, port: postgres.port, user: postgres.user, database: postgres.database },
      cpuPids: postmasterPid(postgres.dataDir),
    };
    await withLocalCluster(
      'sql',
      async (cluster) => {
        const gateway = cluster.gateway;
        if (gateway?.pid === undefined) throw new Error('the local cluster did not start its gateway');
        const ours: System = {
          name: 'cairn',
          target: { ...hostPort(gateway.sqlAddress), user: 'root', database: 'defaultdb' },
          cpuPids: { gateway: [gateway.pid], nodes: cluster.nodes.flatMap((n) => (n.pid === undefined ? [] : [n.pid])) },
          kvAddresses: cluster.addresses,
        };
        progress(`sql: cairn-gateway (pid ${gateway.pid}) on ${gateway.sqlAddress}`);
        const loaded = new Set<string>();
        for (const sys of [ours, pg]) {
          progress(`sql: loading ${s.rows} rows into ${sys.name}`);
          await outcome.attempt(`loading bench_kv into ${sys.name}`, async () => {
            await loadBenchKv(sys.target, s.rows);
            loaded.add(sys.name);
          });
        }
        if (loaded.has('cairn') && s.ranges > 1) {
          await outcome.attempt('splitting bench_kv', () => splitBenchKv(cluster.addresses, ours.target, s.rows, s.ranges));
        }
        if (loaded.has('cairn')) {
          await outcome.attempt('prepared-plan', () => runPlanFigures(s, cluster.addresses, outcome));
        }
        const floor =
          s.kvFloor && loaded.has('cairn') ? await outcome.attempt('finding bench_kv on the nodes', () => kvFloorOf(ours)) : undefined;
        for (const clients of s.concurrencies) {
          for (const op of s.ops) {
            const systems = [ours, pg].filter((sys) => loaded.has(sys.name));
            await runPreparedFigure(s, op, clients, floor === undefined ? systems : [...systems, floor], outcome);
          }
        }
        if (s.scale > 0) await runPgbenchFigures(s, ours, pg, outcome);
      },
      { gateway: { extraArgs: ['--max-connections', '200'] } },
    );
  } finally {
    await postgres?.stop();
  }
}

async function runPlanFigures(s: Settings, addresses: readonly string[], outcome: Outcome): Promise<void> {
  progress(`sql: prepared-plan: timing the gateway engine's Parse and Bind paths (up to ${s.planIterations} calls or ${PLAN_SECONDS} s each)`);
  const config: PlanWorkerConfig = {
    addresses,
    statements: OPS.map((op) => ({ name: op, text: SQL_OP_TEXT[op], params: ['42'] })),
    iterations: s.planIterations,
    seconds: PLAN_SECONDS,
  };
  const results = await runWorkerProcess<PlanResult[]>(PLAN_WORKER, config);
  for (const r of results) {
    emit({
      bench: 'sql',
      // One op name per statement, so that runs compare line by line.
      op: r.name === 'point-select' ? 'prepared-plan' : `prepared-plan-${r.name}`,
      statement: r.name,
      us_per_op: r.prepare.p50Us,
      mean_us: r.prepare.meanUs,
      uncached_us: r.uncached.p50Us,
      uncached_kv_requests_per_op: r.uncached.kvRequestsPerCall,
      parse_us: r.parse.p50Us,
      bind_us: r.bind.p50Us,
      calls: r.prepare.calls,
      kv_requests_per_op: r.prepare.kvRequestsPerCall,
      target_us: TARGET_PLAN_US,
    });
    progress(
      `sql: prepared-plan/${r.name}: cached ${r.prepare.p50Us} µs (mean ${r.prepare.meanUs}), new text parsed and planned ${r.uncached.p50Us} µs (parse alone ${r.parse.p50Us}), ` +
        `bind of the prepared statement ${r.bind.p50Us} µs; KV requests per call: ${r.prepare.kvRequestsPerCall} (prepare), ${r.bind.kvRequestsPerCall} (bind)`,
    );
    outcome.verdicts.push(
      `prepared-plan/${r.name} ${r.prepare.p50Us} µs ${r.prepare.p50Us < TARGET_PLAN_US ? 'meets' : 'misses'} the < ${TARGET_PLAN_US} µs target`,
    );
  }
}

/** CPU per statement for the progress line: "client 41, gateway 310, nodes 520 µs". */
function describeCpu(r: SqlWorkerResult): string {
  const parts = Object.entries(r.cpuUsPerOp).map(([name, us]) => `${name} ${us}`);
  return parts.length === 0 ? '' : `; CPU µs per statement: ${parts.join(', ')}`;
}

/**
 * One system's turns as one run: operations over the time they took; CPU per operation
 * and the latency percentiles averaged over the turns, weighted by their operations.
 */
function combineTurns(turns: readonly SqlWorkerResult[]): SqlWorkerResult {
  if (turns.length === 1) return turns[0] as SqlWorkerResult;
  const ops = turns.reduce((n, t) => n + t.ops, 0);
  const seconds = turns.reduce((n, t) => n + (t.opsPerSec > 0 ? t.ops / t.opsPerSec : 0), 0);
  const weighted = (value: (t: SqlWorkerResult) => number): number =>
    ops === 0 ? 0 : round(turns.reduce((n, t) => n + value(t) * t.ops, 0) / ops);
  const cpuUsPerOp: Record<string, number> = {};
  for (const name of new Set(turns.flatMap((t) => Object.keys(t.cpuUsPerOp)))) {
    cpuUsPerOp[name] = weighted((t) => t.cpuUsPerOp[name] ?? 0);
  }
  const kinds: Record<string, { ops: number; p99Ms: number }> = {};
  const errorMessages: Record<string, number> = {};
  for (const t of turns) {
    for (const [kind, k] of Object.entries(t.kinds)) {
      const sum = kinds[kind] ?? { ops: 0, p99Ms: 0 };
      kinds[kind] = { ops: sum.ops + k.ops, p99Ms: Math.max(sum.p99Ms, k.p99Ms) };
    }
    for (const [message, n] of Object.entries(t.errorMessages)) errorMessages[message] = (errorMessages[message] ?? 0) + n;
  }
  return {
    ops,
    opsPerSec: seconds > 0 ? Math.round(ops / seconds) : 0,
    p50Ms: weighted((t) => t.p50Ms),
    p99Ms: weighted((t) => t.p99Ms),
    maxMs: Math.max(...turns.map((t) => t.maxMs)),
    slowOps: turns.reduce((n, t) => n + t.slowOps, 0),
    overrunMs: Math.max(...turns.map((t) => t.overrunMs)),
    unfinished: turns.reduce((n, t) => n + t.unfinished, 0),
    kinds,
    errors: turns.reduce((n, t) => n + t.errors, 0),
    errorMessages,
    cpuUsPerOp,
    connectSeconds: turns.reduce((n, t) => n + t.connectSeconds, 0),
  };
}

async function runPreparedFigure(s: Settings, op: SqlOp, clients: number, systems: readonly Contender[], outcome: Outcome): Promise<void> {
  const label = `${op}/${clients}`;
  const turnsBySystem = new Map<string, SqlWorkerResult[]>();
  const errors = new Map<string, string>();
  // The systems take turns, A B B A …: this machine's speed drifts between runs a minute
  // apart (by a third, at times), and a drift then weighs on both alike.
  const seconds = Math.max(1, s.seconds / s.rounds);
  for (let turn = 0; turn < s.rounds; turn++) {
    for (const sys of turn % 2 === 0 ? systems : [...systems].reverse()) {
      if (errors.has(sys.name)) continue;
      const turnLabel = s.rounds > 1 ? ` (turn ${turn + 1} of ${s.rounds})` : '';
      progress(`sql: ${label}, ${sys.name}${turnLabel}: ${s.warmupSeconds} s warm-up + ${seconds} s`);
      const config: SqlWorkerConfig = {
        target: sys.target,
        op,
        clients,
        rows: s.rows,
        warmupSeconds: s.warmupSeconds,
        seconds,
        seed: clients * 1_000 + turn,
        cpuPids: sys.cpuPids,
      };
      let r: SqlWorkerResult;
      try {
        r = await runWorkerProcess<SqlWorkerResult>(SQL_WORKER, config);
      } catch (err) {
        errors.set(sys.name, String((err as Error).message ?? err));
        outcome.fail(`${label} on ${sys.name}: ${errors.get(sys.name) ?? ''}`);
        continue;
      }
      turnsBySystem.set(sys.name, [...(turnsBySystem.get(sys.name) ?? []), r]);
      progress(`sql: ${label}, ${sys.name}${turnLabel}: ${r.opsPerSec}/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms${describeCpu(r)}`);
    }
  }
  const results = new Map<string, SqlWorkerResult>();
  for (const sys of systems) {
    const turns = turnsBySystem.get(sys.name);
    if (turns === undefined || errors.has(sys.name)) continue;
    const r = combineTurns(turns);
    results.set(sys.name, r);
    if (turns.length > 1) progress(`sql: ${label}, ${sys.name}, all turns: ${r.opsPerSec}/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms${describeCpu(r)}`);
    if (r.errors > 0) progress(`sql: ${label}, ${sys.name}: ${r.errors} failed, mostly: ${firstError(r) ?? '?'}`);
    if (r.unfinished > 0) progress(`sql: ${label}, ${sys.name}: ${r.unfinished} statements still running 10 s after the end were given up on`);
    if (r.errors > MAX_ERROR_SHARE * (r.ops + r.errors)) {
      outcome.fail(`${label} on ${sys.name}: ${r.errors} of ${r.ops + r.errors} failed, mostly: ${firstError(r) ?? '?'}`);
    }
  }
  const a = results.get('cairn');
  const b = results.get('postgres');
  const floor = results.get('cairn-kv');
  const target = TARGET_RATIOS[op];
  const ratio = a !== undefined && b !== undefined && b.opsPerSec > 0 ? round(a.opsPerSec / b.opsPerSec) : undefined;
  const floorRatio = floor !== undefined && b !== undefined && b.opsPerSec > 0 ? round(floor.opsPerSec / b.opsPerSec) : undefined;
  const figure: Figure = {
    bench: 'sql',
    op,
    clients,
    ...(a === undefined
      ? { error: errors.get('cairn') ?? 'not run: bench_kv did not load' }
      : {
          ops_per_sec: a.opsPerSec,
          p50_ms: a.p50Ms,
          p99_ms: a.p99Ms,
          ...(a.cpuUsPerOp.gateway === undefined || a.cpuUsPerOp.nodes === undefined
            ? {}
            : {
                server_cpu_us_per_op: round(a.cpuUsPerOp.gateway + a.cpuUsPerOp.nodes),
                gateway_cpu_us_per_op: a.cpuUsPerOp.gateway,
                nodes_cpu_us_per_op: a.cpuUsPerOp.nodes,
              }),
          ...(a.errors > 0 ? { errors: a.errors } : {}),
        }),
    ...(b === undefined
      ? errors.has('postgres') ? { baseline_error: errors.get('postgres') as string } : {}
      : {
          baseline: BASELINE,
          baseline_ops_per_sec: b.opsPerSec,
          baseline_p50_ms: b.p50Ms,
          baseline_p99_ms: b.p99Ms,
          ...(b.cpuUsPerOp.server === undefined ? {} : { baseline_server_cpu_us_per_op: b.cpuUsPerOp.server }),
          ...(b.errors > 0 ? { baseline_errors: b.errors } : {}),
        }),
    ...(ratio === undefined ? {} : { ratio }),
    target_ratio: target,
    ...(floor === undefined
      ? {}
      : {
          kv_floor_ops_per_sec: floor.opsPerSec,
          ...(floor.cpuUsPerOp.nodes === undefined ? {} : { kv_floor_nodes_cpu_us_per_op: floor.cpuUsPerOp.nodes }),
          ...(floorRatio === undefined ? {} : { kv_floor_ratio: floorRatio }),
        }),
    turns: s.rounds,
  };
  emit(figure);
  if (ratio !== undefined) {
    outcome.verdicts.push(`${label} ${ratio}× PostgreSQL ${ratio >= target ? 'meets' : 'misses'} the ${target}× target`);
  }
  if (floorRatio !== undefined) {
    outcome.verdicts.push(
      `${label}: the row's bare KV ${op === 'update' ? 'put' : 'get'} ran at ${floorRatio}× PostgreSQL` +
        (floorRatio < target ? `, below the ${target}× target before any SQL` : ''),
    );
  }
}

/**
 * `pgbench -i` on one system, its progress passed on while it runs (a large scale takes
 * minutes on Cairn): its run, or what went wrong (also reported as a failure).
 */
async function loadPgbench(s: Settings, sys: System, steps: string, outcome: Outcome): Promise<PgbenchRun | string> {
  const what = `pgbench -i -s ${s.scale} -I ${steps} on ${sys.name}`;
  progress(`sql: ${what} (gives up after ${s.loadTimeoutSeconds} s)`);
  const started = Date.now();
  let lastStep = 'starting';
  let lastPassedOn = started;
  let lastRowsPassedOn = 0;
  const pass = (message: string): void => {
    lastPassedOn = Date.now();
    progress(`sql: pgbench -i on ${sys.name} (${Math.round((lastPassedOn - started) / 1000)} s): ${message}`);
  };
  const heartbeat = setInterval(() => {
    if (Date.now() - lastPassedOn >= LOAD_HEARTBEAT_MS) pass(`still running; last: ${lastStep}`);
  }, LOAD_HEARTBEAT_MS / 4);
  let run: PgbenchRun;
  try {
    run = await pgbench(sys.target, ['-i', '-s', String(s.scale), '-I', steps, '-q'], {
      timeoutSeconds: s.loadTimeoutSeconds,
      onLine: (line) => {
        lastStep = line.trim();
        // Row counts come every 5 s; steps ("creating primary keys...") always pass.
        const rows = /tuples \(\d+%\) done/.test(line);
        if (rows && Date.now() - lastRowsPassedOn < LOAD_ROWS_PROGRESS_MS) return;
        if (rows) lastRowsPassedOn = Date.now();
        pass(lastStep);
      },
    });
  } catch (err) {
    const error = `${what} could not run: ${String((err as Error).message ?? err)}`;
    outcome.fail(error);
    return error;
  } finally {
    clearInterval(heartbeat);
  }
  if (run.code !== 0) {
    const error = `${what} ${errorSummary(run)}`;
    outcome.fail(error);
    return error;
  }
  return run;
}

/**
 * Reads every row of the loaded tables once; the seconds it took, or undefined when it
 * failed (reported). Cairn's load commits with most of its intents left to be resolved
 * by whoever meets them next, which made point reads take seconds for minutes after
 * the load; the runs should measure the settled tables, as PostgreSQL's are after its
 * load's VACUUM. Both systems get the same reads: pgbench_accounts in slices of its key
 * (a read that meets many intents can pass the gateway's KV deadline; a slice that
 * fails is read again, and what the failed read resolved stays resolved).
 */
async function settlePgbench(s: Settings, sys: System, outcome: Outcome): Promise<number | undefined> {
  const accounts = PGBENCH_ACCOUNTS_PER_SCALE * s.scale;
  progress(`sql: reading every pgbench row once on ${sys.name} (${accounts} accounts in slices of ${SETTLE_SLICE_ROWS})`);
  const started = Date.now();
  return outcome.attempt(`reading the pgbench tables on ${sys.name}`, async () => {
    const c = new Client({ ...sys.target });
    await c.connect();
    let lastProgress = started;
    const read = async (what: string, sql: string, params: unknown[] = []): Promise<void> => {
      for (let attempt = 1; ; attempt++) {
        try {
          await c.query(sql, params);
          return;
        } catch (err) {
          if (attempt >= SETTLE_ATTEMPTS) throw err;
          progress(`sql: reading ${what} on ${sys.name} failed (attempt ${attempt}): ${(err as Error).message}; reading it again`);
        }
      }
    };
    try {
      for (let from = 1; from <= accounts; from += SETTLE_SLICE_ROWS) {
        const to = Math.min(accounts, from + SETTLE_SLICE_ROWS - 1);
        await read(`accounts ${from}..${to}`, 'SELECT count(*) FROM pgbench_accounts WHERE aid BETWEEN $1 AND $2', [from, to]);
        if (Date.now() - lastProgress >= LOAD_ROWS_PROGRESS_MS) {
          lastProgress = Date.now();
          progress(`sql: read ${to} of ${accounts} accounts on ${sys.name} (${Math.round((lastProgress - started) / 1000)} s)`);
        }
      }
      for (const table of ['pgbench_branches', 'pgbench_tellers', 'pgbench_history']) {
        await read(table, `SELECT count(*) FROM ${table}`);
      }
    } finally {
      await c.end();
    }
    const seconds = round((Date.now() - started) / 1000);
    progress(`sql: read every pgbench row on ${sys.name} in ${seconds} s`);
    return seconds;
  });
}

/** How long the cleanup of a load runs on (its background work would share the runs' machine), at most. */
const CLEANUP_WAIT_MS = 20 * 60_000;
const CLEANUP_POLL_MS = 1_000;

/**
 * Waits until the background clearing of what the load dropped is done: ADD PRIMARY KEY
 * leaves the rows under the hidden rowid to the dropped-data collector, whose deletes
 * would otherwise run during the measured runs. The seconds it took, or undefined when
 * there is nothing to wait for or the wait failed (reported).
 */
async function waitForCleanup(sys: System, outcome: Outcome): Promise<number | undefined> {
  const addresses = sys.kvAddresses;
  if (addresses === undefined) return undefined;
  const started = Date.now();
  return outcome.attempt(`waiting for the background cleanup on ${sys.name}`, async () => {
    const kv = await KvClient.connect({ addresses });
    try {
      const left = async (): Promise<number> => (await kv.scan(SQL_DROPPED_DATA_SPAN.startKey, SQL_DROPPED_DATA_SPAN.endKey)).rows.length;
      let lastProgress = started;
      for (let records = await left(); records > 0; records = await left()) {
        if (Date.now() - started > CLEANUP_WAIT_MS) throw new Error(`${records} dropped tables or indexes still not cleared after ${CLEANUP_WAIT_MS / 1000} s`);
        if (Date.now() - lastProgress >= LOAD_ROWS_PROGRESS_MS) {
          lastProgress = Date.now();
          progress(`sql: ${records} dropped tables or indexes still being cleared on ${sys.name} (${Math.round((lastProgress - started) / 1000)} s)`);
        }
        await new Promise((resolve) => setTimeout(resolve, CLEANUP_POLL_MS));
      }
    } finally {
      await kv.close();
    }
    const seconds = round((Date.now() - started) / 1000);
    progress(`sql: background cleanup on ${sys.name} done after ${seconds} s more`);
    return seconds;
  });
}

async function runPgbenchFigures(s: Settings, ours: System, pg: System, outcome: Outcome): Promise<void> {
  const oursLoad = await loadPgbench(s, ours, s.initSteps, outcome);
  const pgLoad = await loadPgbench(s, pg, 'dtgvp', outcome);
  const oursSettle = typeof oursLoad === 'string' || !s.settle ? undefined : await settlePgbench(s, ours, outcome);
  const pgSettle = typeof pgLoad === 'string' || !s.settle ? undefined : await settlePgbench(s, pg, outcome);
  const oursCleanup = typeof oursLoad === 'string' || !s.settle ? undefined : await waitForCleanup(ours, outcome);
  emit({
    bench: 'sql',
    op: 'pgbench-load',
    scale: s.scale,
    ...(typeof oursLoad === 'string' ? { error: oursLoad } : { load_s: round(oursLoad.seconds), ...initStepsOf(oursLoad.stderr) }),
    ...(oursSettle === undefined ? {} : { settle_s: oursSettle }),
    ...(oursCleanup === undefined ? {} : { cleanup_s: oursCleanup }),
    ...(typeof pgLoad === 'string' ? {} : { baseline: BASELINE, baseline_load_s: round(pgLoad.seconds) }),
    ...(pgSettle === undefined ? {} : { baseline_settle_s: pgSettle }),
  });
  const loaded = [...(typeof oursLoad === 'string' ? [] : [ours]), ...(typeof pgLoad === 'string' ? [] : [pg])];
  if (loaded.length === 0) return;
  for (const clients of s.concurrencies) {
    for (const [op, extra] of [
      ['pgbench-S', ['-S']],
      ['pgbench-tpcb', []],
    ] as const) {
      await runPgbenchFigure(s, op, extra, clients, loaded, typeof oursLoad === 'string' ? oursLoad : undefined, outcome);
    }
  }
}

interface PgbenchResult {
  readonly tps: number;
  readonly avgMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly failed: number;
}

async function runPgbenchFigure(
  s: Settings,
  op: string,
  extra: readonly string[],
  clients: number,
  systems: readonly System[],
  /** Why Cairn has no tables to run on, if it has none. */
  oursLoadError: string | undefined,
  outcome: Outcome,
): Promise<void> {
  const label = `${op}/${clients}`;
  const results = new Map<string, PgbenchResult>();
  const errors = new Map<string, string>();
  for (const sys of systems) {
    progress(`sql: ${label}, ${sys.name}: ${s.seconds} s`);
    const log = transactionLog();
    try {
      const args = [...extra, '-c', String(clients), '-j', String(Math.min(clients, 4)), '-T', String(s.seconds), '-M', 'prepared', ...log.args];
      let run: PgbenchRun;
      try {
        run = await pgbench(sys.target, args, { timeoutSeconds: s.seconds + 120 });
      } catch (err) {
        errors.set(sys.name, `pgbench could not run: ${String((err as Error).message ?? err)}`);
        outcome.fail(`${label} on ${sys.name}: ${errors.get(sys.name) ?? ''}`);
        continue;
      }
      const tps = tpsOf(run.stdout);
      if (run.code !== 0 || tps === 0) {
        errors.set(sys.name, `pgbench ${errorSummary(run)}`);
        outcome.fail(`${label} on ${sys.name}: ${errors.get(sys.name) ?? ''}`);
        continue;
      }
      const { p50Ms, p99Ms } = log.percentiles();
      const r: PgbenchResult = { tps: round(tps), avgMs: latencyAvgOf(run.stdout), p50Ms, p99Ms, failed: failedOf(run.stdout) };
      results.set(sys.name, r);
      progress(`sql: ${label}, ${sys.name}: ${r.tps} tps, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms${r.failed > 0 ? `, ${r.failed} failed` : ''}`);
    } finally {
      log.dispose();
    }
  }
  const a = results.get('cairn');
  const b = results.get('postgres');
  emit({
    bench: 'sql',
    op,
    clients,
    scale: s.scale,
    ...(a === undefined
      ? { error: oursLoadError ?? errors.get('cairn') ?? 'no figure' }
      : { ops_per_sec: a.tps, p50_ms: a.p50Ms, p99_ms: a.p99Ms, avg_ms: a.avgMs, ...(a.failed > 0 ? { failed: a.failed } : {}) }),
    ...(b === undefined
      ? errors.has('postgres') ? { baseline_error: errors.get('postgres') as string } : {}
      : {
          baseline: BASELINE,
          baseline_ops_per_sec: b.tps,
          baseline_p50_ms: b.p50Ms,
          baseline_p99_ms: b.p99Ms,
          baseline_avg_ms: b.avgMs,
          ...(b.failed > 0 ? { baseline_failed: b.failed } : {}),
        }),
    ...(a !== undefined && b !== undefined && b.tps > 0 ? { ratio: round(a.tps / b.tps) } : {}),
  });
}
