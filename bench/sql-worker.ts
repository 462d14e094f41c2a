/**
 * The SQL benchmark's client process (bench/sql.ts starts it, for Cairn and PostgreSQL
 * alike; see bench/worker-process.ts for why a process): one closed-loop run given as
 * JSON in argv[2], its result as one JSON line on stdout.
 *
 *   point-select  SELECT v FROM bench_kv WHERE k = $1
 *   update        UPDATE bench_kv SET v = v + 1 WHERE k = $1
 *
 * Each of `clients` connections runs the statement as a named prepared statement
 * (Parse once, then Bind/Execute), with uniformly chosen keys. It also reads the CPU
 * time that given processes (the gateway, the nodes) and this one spent in the measured
 * period, per operation.
 *
 * Against a KvRowsTarget it runs the statement's floor instead: no SQL, no gateway, the
 * row's primary-index key read (point-select) or written with the value it holds
 * (update) by `clients` KV clients straight on the nodes. That is the least an UPDATE
 * writes (one Raft write of the row) and the only read a point select needs.
 */
import { Client } from 'pg';
import { KvClient } from '../kv';
import type { LoadLoopResult } from './load-loop';
import { runLoadLoop } from './load-loop';
import type { CpuPids } from './process-cpu';
import { sampleCpuDuring } from './process-cpu';
import { round } from './report';
import { closeWithin, workerMain } from './worker-process';

export type SqlOp = 'point-select' | 'update';

export const SQL_OP_TEXT: Readonly<Record<SqlOp, string>> = {
  'point-select': 'SELECT v FROM bench_kv WHERE k = $1',
  update: 'UPDATE bench_kv SET v = v + 1 WHERE k = $1',
};

/** Where a system under test takes SQL connections. */
export interface SqlTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
}

/** A table's rows straight on the nodes: its primary index span (hex keys), its nodes' KV addresses. */
export interface KvRowsTarget {
  readonly kind: 'kv';
  readonly addresses: readonly string[];
  readonly startKeyHex: string;
  readonly endKeyHex: string;
}

export interface SqlWorkerConfig {
  readonly target: SqlTarget | KvRowsTarget;
  readonly op: SqlOp;
  readonly clients: number;
  /** Keys 0..rows-1 of bench_kv. */
  readonly rows: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  readonly seed: number;
  /** Processes whose CPU time (theirs and their descendants') to report per operation, by name. */
  readonly cpuPids: CpuPids;
}

export interface SqlWorkerResult extends LoadLoopResult {
  /** CPU microseconds per measured operation, by name; `client` is this process. */
  readonly cpuUsPerOp: Readonly<Record<string, number>>;
  readonly connectSeconds: number;
}

const LOAD_BATCH_ROWS = 500;

/** (Re)creates bench_kv with keys 0..rows-1, their values 0. */
export async function loadBenchKv(t: SqlTarget, rows: number): Promise<void> {
  const c = new Client({ host: t.host, port: t.port, user: t.user, database: t.database });
  await c.connect();
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

async function connect(t: SqlTarget): Promise<Client> {
  const c = new Client({ host: t.host, port: t.port, user: t.user, database: t.database });
  // A broken connection shows as failed queries; without a listener it would crash the process.
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

/** Every row of the span, in pages. */
async function readRows(kv: KvClient, target: KvRowsTarget): Promise<{ key: Buffer; value: Buffer }[]> {
  const rows: { key: Buffer; value: Buffer }[] = [];
  let start: Buffer = Buffer.from(target.startKeyHex, 'hex');
  const end = Buffer.from(target.endKeyHex, 'hex');
  for (;;) {
    const page = await kv.scan(start, end, { maxKeys: 1_000 });
    rows.push(...page.rows);
    if (page.resumeSpan === undefined) return rows;
    start = page.resumeSpan.startKey;
  }
}

export async function runKvFloor(config: SqlWorkerConfig, target: KvRowsTarget): Promise<SqlWorkerResult> {
  const started = performance.now();
  const kv = await KvClient.connect({ addresses: target.addresses, requestTimeoutMs: 30_000 });
  try {
    const rows = await readRows(kv, target);
    if (rows.length !== config.rows) throw new Error(`the table's span holds ${rows.length} rows, not ${config.rows}`);
    const connectSeconds = round((performance.now() - started) / 1_000);
    const { result, cpuUsPerOp } = await sampleCpuDuring(config, config.cpuPids, () =>
      runLoadLoop(config, async (random) => {
        const row = rows[Math.floor(random() * config.rows)] as { key: Buffer; value: Buffer };
        if (config.op === 'update') await kv.put(row.key, row.value);
        else await kv.get(row.key);
        return config.op;
      }),
    );
    return { ...result, cpuUsPerOp, connectSeconds };
  } finally {
    await closeWithin(kv.close());
  }
}

async function run(config: SqlWorkerConfig): Promise<SqlWorkerResult> {
  const target = config.target;
  if ('kind' in target) return runKvFloor(config, target);
  const started = performance.now();
  const conns = await Promise.all(Array.from({ length: config.clients }, () => connect(target)));
  const text = SQL_OP_TEXT[config.op];
  const name = config.op;
  try {
    // Every connection prepares its statement before the clock starts.
    await Promise.all(conns.map((c, i) => c.query({ name, text, values: [i % config.rows] })));
    const connectSeconds = round((performance.now() - started) / 1_000);
    const { result, cpuUsPerOp } = await sampleCpuDuring(config, config.cpuPids, () =>
      runLoadLoop(config, async (random, client) => {
        const key = Math.floor(random() * config.rows);
        await (conns[client] as Client).query({ name, text, values: [key] });
        return config.op;
      }),
    );
    return { ...result, cpuUsPerOp, connectSeconds };
  } finally {
    await Promise.all(conns.map((c) => closeWithin(c.end())));
  }
}

if (require.main === module) {
  workerMain('sql-worker', run);
}
