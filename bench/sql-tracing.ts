/**
 * The SQL benchmark's tracing figures: point selects (C clients, prepared, as the
 * point-select figure) on three fresh clusters that differ only in their OTEL_*
 * variables — no exporter (tracing off), 1% of statements sampled, every statement
 * sampled — the sampled ones exporting over OTLP to a Jaeger on loopback (built by
 * test/tracing/build-jaeger.sh, as for the tracing test). Each figure's `ratio` is its
 * throughput over tracing off's; the target: 1% sampling costs under 5%.
 *
 *   point-select-trace-0, point-select-trace-1, point-select-trace-100
 *
 * Environment: CAIRN_BENCH_SQL_TRACE_CLIENTS (default 64); CAIRN_BENCH_SQL_TRACING=0
 * skips these figures.
 */
import type { TestJaeger } from '../test/tracing/jaeger';
import { startJaeger } from '../test/tracing/jaeger';
import { withLocalCluster } from './bench-cluster';
import type { Figure } from './report';
import { emit, progress, round } from './report';
import type { SqlWorkerConfig, SqlWorkerResult } from './sql-worker';
import { loadBenchKv } from './sql-worker';
import { runWorkerProcess, workerScript } from './worker-process';
import { envNumber } from './workload';

const SQL_WORKER = workerScript(__dirname, 'sql-worker');
/** Sampling figures: op suffix and ratio; 0 runs with no exporter at all. */
const SAMPLINGS = [
  { percent: 0, ratio: 0 },
  { percent: 1, ratio: 0.01 },
  { percent: 100, ratio: 1 },
] as const;
/** 1% sampling may cost at most this share of tracing-off throughput. */
const TARGET_ONE_PERCENT_RATIO = 0.95;
/** Exported spans leave every process this often, as a deployment would set it. */
const EXPORT_DELAY_MS = 1_000;

export interface TracingFigureSettings {
  readonly rows: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
}

export async function runTracingFigures(s: TracingFigureSettings, verdicts: string[]): Promise<void> {
  const clients = Math.max(1, envNumber('CAIRN_BENCH_SQL_TRACE_CLIENTS', 64));
  progress('sql: tracing: starting Jaeger (built once per machine by test/tracing/build-jaeger.sh)');
  const jaeger: TestJaeger = await startJaeger();
  const results = new Map<number, SqlWorkerResult>();
  try {
    for (const sampling of SAMPLINGS) {
      const env: Record<string, string> =
        sampling.ratio === 0
          ? { OTEL_TRACES_EXPORTER: 'none' }
          : {
              OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpHttpEndpoint,
              OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
              OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
              OTEL_TRACES_SAMPLER_ARG: String(sampling.ratio),
              OTEL_BSP_SCHEDULE_DELAY: String(EXPORT_DELAY_MS),
            };
      const label = `point-select-trace-${sampling.percent}/${clients}`;
      await withLocalCluster(
        'sql-trace',
        async (cluster) => {
          const gateway = cluster.gateway;
          if (gateway?.pid === undefined) throw new Error('the local cluster did not start its gateway');
          const colon = gateway.sqlAddress.lastIndexOf(':');
          const target = { host: gateway.sqlAddress.slice(0, colon), port: Number(gateway.sqlAddress.slice(colon + 1)), user: 'root', database: 'defaultdb' };
          await loadBenchKv(target, s.rows);
          progress(`sql: ${label}: ${s.warmupSeconds} s warm-up + ${s.seconds} s`);
          const config: SqlWorkerConfig = {
            target,
            op: 'point-select',
            clients,
            rows: s.rows,
            warmupSeconds: s.warmupSeconds,
            seconds: s.seconds,
            seed: clients,
            cpuPids: { gateway: [gateway.pid], nodes: cluster.nodes.flatMap((n) => (n.pid === undefined ? [] : [n.pid])) },
          };
          const r = await runWorkerProcess<SqlWorkerResult>(SQL_WORKER, config);
          progress(`sql: ${label}: ${r.opsPerSec}/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, ${r.errors} errors`);
          results.set(sampling.percent, r);
        },
        { gateway: { extraArgs: ['--max-connections', '200'] }, env },
      );
    }
  } finally {
    await jaeger.stop();
  }
  const off = results.get(0);
  for (const sampling of SAMPLINGS) {
    const r = results.get(sampling.percent);
    if (r === undefined) continue;
    const ratio = off !== undefined && off.opsPerSec > 0 && sampling.percent > 0 ? round(r.opsPerSec / off.opsPerSec) : undefined;
    const figure: Figure = {
      bench: 'sql',
      op: `point-select-trace-${sampling.percent}`,
      clients,
      ops_per_sec: r.opsPerSec,
      p50_ms: r.p50Ms,
      p99_ms: r.p99Ms,
      sample_ratio: sampling.ratio,
      ...(r.cpuUsPerOp.gateway === undefined ? {} : { gateway_cpu_us_per_op: r.cpuUsPerOp.gateway }),
      ...(r.cpuUsPerOp.nodes === undefined ? {} : { nodes_cpu_us_per_op: r.cpuUsPerOp.nodes }),
      ...(r.errors > 0 ? { errors: r.errors } : {}),
      ...(ratio === undefined ? {} : { baseline: 'point-select-trace-0', baseline_ops_per_sec: off?.opsPerSec ?? 0, ratio }),
      ...(sampling.percent === 1 ? { target_ratio: TARGET_ONE_PERCENT_RATIO } : {}),
    };
    emit(figure);
    if (sampling.percent === 1 && ratio !== undefined) {
      verdicts.push(
        `point-select-trace-1/${clients} ${ratio}× tracing off ${ratio >= TARGET_ONE_PERCENT_RATIO ? 'meets' : 'misses'} the ≥ ${TARGET_ONE_PERCENT_RATIO}× target (1% sampling costs under 5%)`,
      );
    }
  }
}
