/**
 * The SQL benchmark's planning micro-benchmark, in a process of its own (bench/sql.ts
 * starts it while the cluster is idle): the gateway's SQL engine (GatewaySqlEngine, as
 * cairn-gateway runs it) over a KV client to the benchmark's cluster, one session, and
 * for each statement, with the catalog cache warm:
 *
 *   parse     the parser alone (libpg-query)
 *   prepare   the session's Parse path for a text it has prepared before (its cache of
 *             planned texts: neither parsed nor planned again)
 *   uncached  the same path for a text it has not seen (the statement with a numbered
 *             comment): parse, analyze and plan
 *   bind      Bind of the statement once prepared: the plan is kept on the statement
 *             and reused by Execute while the catalog generation is unchanged
 *
 * Times are per call, median and mean over as many calls as fit in the time given.
 * KV requests sent during the timed calls are counted: a warm path sends none.
 */
import { createLogger } from '../common/logging';
import type { KvTransport } from '../kv';
import { GrpcKvTransport, KvClient } from '../kv';
import { GatewaySqlEngine } from '../gateway/sql/engine';
import { parseStatements } from '../gateway/sql/parser';
import { round } from './report';
import { closeWithin, workerMain } from './worker-process';

export interface PlanStatement {
  readonly name: string;
  readonly text: string;
  /** Parameter values in text format, as node-postgres and pgbench send them. */
  readonly params: readonly string[];
}

export interface PlanWorkerConfig {
  readonly addresses: readonly string[];
  readonly statements: readonly PlanStatement[];
  /** Most timed calls per measurement. */
  readonly iterations: number;
  /** Most seconds per measurement. */
  readonly seconds: number;
}

export interface Timing {
  readonly calls: number;
  readonly p50Us: number;
  readonly meanUs: number;
  readonly kvRequestsPerCall: number;
}

export interface PlanResult {
  readonly name: string;
  readonly parse: Timing;
  readonly prepare: Timing;
  readonly uncached: Timing;
  readonly bind: Timing;
}

const WARMUP_CALLS = 200;
const MIN_CALLS = 100;

/** Counts the KV batches sent while `counting` is on. */
class CountingTransport implements KvTransport {
  counting = false;
  batches = 0;
  private readonly inner = new GrpcKvTransport();

  sendBatch(...args: Parameters<KvTransport['sendBatch']>): ReturnType<KvTransport['sendBatch']> {
    if (this.counting) this.batches++;
    return this.inner.sendBatch(...args);
  }

  clusterInfo(...args: Parameters<KvTransport['clusterInfo']>): ReturnType<KvTransport['clusterInfo']> {
    return this.inner.clusterInfo(...args);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

async function time(transport: CountingTransport, config: PlanWorkerConfig, call: () => unknown): Promise<Timing> {
  for (let i = 0; i < WARMUP_CALLS; i++) await call();
  const samples = new Float64Array(Math.max(MIN_CALLS, config.iterations));
  const deadline = process.hrtime.bigint() + BigInt(Math.round(config.seconds * 1e9));
  let calls = 0;
  transport.batches = 0;
  transport.counting = true;
  try {
    while (calls < samples.length && (calls < MIN_CALLS || process.hrtime.bigint() < deadline)) {
      const before = process.hrtime.bigint();
      await call();
      samples[calls++] = Number(process.hrtime.bigint() - before);
    }
  } finally {
    transport.counting = false;
  }
  const taken = samples.subarray(0, calls);
  const total = taken.reduce((sum, ns) => sum + ns, 0);
  const sorted = Float64Array.from(taken).sort();
  return {
    calls,
    p50Us: round((sorted[Math.floor((calls - 1) / 2)] as number) / 1e3),
    meanUs: round(total / calls / 1e3),
    kvRequestsPerCall: round(transport.batches / calls),
  };
}

async function run(config: PlanWorkerConfig): Promise<PlanResult[]> {
  const transport = new CountingTransport();
  const kv = await KvClient.connect({ addresses: config.addresses, transport, requestTimeoutMs: 30_000 });
  const engine = await GatewaySqlEngine.create({ kv, log: createLogger({ name: 'sql-plan-worker', fd: 2, level: 'warn' }) });
  try {
    const session = await engine.openSession({ user: 'root', database: 'defaultdb', parameters: new Map(), remoteAddress: '127.0.0.1' });
    try {
      const results: PlanResult[] = [];
      let fresh = 0;
      for (const statement of config.statements) {
        const prepared = await session.prepare(statement.text, []);
        const params = statement.params.map((p) => Buffer.from(p));
        const paramFormats = statement.params.map(() => 0 as const);
        const resultFormats = (prepared.description.columns ?? []).map(() => 0 as const);
        results.push({
          name: statement.name,
          parse: await time(transport, config, () => parseStatements(statement.text)),
          prepare: await time(transport, config, () => session.prepare(statement.text, [])),
          uncached: await time(transport, config, () => session.prepare(`${statement.text} /* ${fresh++} */`, [])),
          bind: await time(transport, config, () => session.bind(prepared, params, paramFormats, resultFormats)),
        });
      }
      return results;
    } finally {
      await session.close();
    }
  } finally {
    engine.close();
    await closeWithin(kv.close());
  }
}

if (require.main === module) {
  workerMain('sql-plan-worker', run);
}
