/**
 * The SQL benchmark's tracing figures: point selects (C clients, prepared, as the
 * point-select figure) through three cairn-gateway processes of one three-node cluster
 * that differ only in their sampler: none at all (tracing off), 1% of statements, every
 * statement. A gateway decides whether a statement is traced; the nodes follow its
 * decision, and export what they record to the same Jaeger (built by
 * test/tracing/build-jaeger.sh, as for the tracing test) as the sampling gateways.
 *
 * The cost of 1% sampling is a few percent at most, and two runs of the same gateway a
 * minute apart differ by more on this machine. So tracing off and 1% sampling take
 * turns, a second each, for a minute or so (bench/sql-alternating-worker.ts): the ratio
 * compares slots a second apart, and comes with its standard error over the cycles.
 * Every statement traced costs so much that separate runs show it; they are interleaved
 * with runs of tracing off, and kept out of the turns because their spans leave the
 * processes after their own slot. Idle gateways cost next to nothing.
 *
 *   point-select-trace-0, point-select-trace-1   taking turns
 *   point-select-trace-100                       interleaved runs, ratio the median of
 *                                                each round's against tracing off
 *
 * Environment: CAIRN_BENCH_SQL_TRACE_CLIENTS (per gateway, default 64),
 * CAIRN_BENCH_SQL_TRACE_CYCLES (measured cycles of turns, default 60),
 * CAIRN_BENCH_SQL_TRACE_ROUNDS (rounds of runs for every statement traced, default 3),
 * CAIRN_BENCH_SQL_TRACE_SECONDS (their measured seconds, default 5);
 * CAIRN_BENCH_SQL_TRACING=0 skips these figures.
 */
import type { ExtraGateway, LocalCluster } from '../cli';
import type { TestJaeger } from '../test/tracing/jaeger';
import { startJaeger } from '../test/tracing/jaeger';
import { sleep, withLocalCluster } from './bench-cluster';
import type { Figure } from './report';
import { emit, progress, round } from './report';
import type { AlternatingTargetResult, AlternatingWorkerConfig } from './sql-alternating-worker';
import type { SqlTarget, SqlWorkerConfig, SqlWorkerResult } from './sql-worker';
import { loadBenchKv } from './sql-worker';
import { runWorkerProcess, workerScript } from './worker-process';
import { envNumber } from './workload';

const SQL_WORKER = workerScript(__dirname, 'sql-worker');
const ALTERNATING_WORKER = workerScript(__dirname, 'sql-alternating-worker');
/** Turns not counted, while each gateway's connections and JIT warm up. */
const ALTERNATION_WARMUP_CYCLES = 2;
/** Sampling figures: op suffix and ratio; 0 runs with no exporter at all. */
const SAMPLINGS = [
  { percent: 0, ratio: 0 },
  { percent: 1, ratio: 0.01 },
  { percent: 100, ratio: 1 },
] as const;
type Sampling = (typeof SAMPLINGS)[number];
/** 1% sampling may cost at most this share of tracing-off throughput. */
const TARGET_ONE_PERCENT_RATIO = 0.95;
/** Exported spans leave every process this often, as a deployment would set it. */
const EXPORT_DELAY_MS = 1_000;
/** Each run's own warm-up: its connections' first statements, the gateway's JIT after idling. */
const RUN_WARMUP_SECONDS = 1;

export interface TracingFigureSettings {
  readonly rows: number;
  readonly warmupSeconds: number;
}

export async function runTracingFigures(s: TracingFigureSettings, verdicts: string[]): Promise<void> {
  const clients = Math.max(1, envNumber('CAIRN_BENCH_SQL_TRACE_CLIENTS', 64));
  const cycles = Math.max(2, envNumber('CAIRN_BENCH_SQL_TRACE_CYCLES', 60));
  // A turn of one gateway: many times a statement's latency.
  const slotMs = Math.max(100, envNumber('CAIRN_BENCH_SQL_TRACE_SLOT_MS', 1_000));
  const rounds = Math.max(1, envNumber('CAIRN_BENCH_SQL_TRACE_ROUNDS', 3));
  const seconds = Math.max(1, envNumber('CAIRN_BENCH_SQL_TRACE_SECONDS', 5));
  progress('sql: tracing: starting Jaeger (built once per machine by test/tracing/build-jaeger.sh)');
  const jaeger: TestJaeger = await startJaeger();
  const exportTo: Record<string, string> = {
    OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpHttpEndpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_BSP_SCHEDULE_DELAY: String(EXPORT_DELAY_MS),
  };
  let alternating: AlternatingTargetResult[] = [];
  const offRuns: SqlWorkerResult[] = [];
  const everyRuns: SqlWorkerResult[] = [];
  try {
    await withLocalCluster(
      'sql-trace',
      async (cluster) => {
        const gateways: TracingGateway[] = [];
        try {
          for (const sampling of SAMPLINGS) {
            gateways.push(await startTracingGateway(cluster, sampling, exportTo));
          }
          const [off, onePercent, every] = gateways as [TracingGateway, TracingGateway, TracingGateway];
          const nodePids = cluster.nodes.flatMap((n) => (n.pid === undefined ? [] : [n.pid]));
          await loadBenchKv(off.target, s.rows);
          const solo = async (gateway: TracingGateway, warmupSeconds: number, measuredSeconds: number, label: string): Promise<SqlWorkerResult> => {
            progress(`sql: ${label}: ${warmupSeconds} s warm-up + ${measuredSeconds} s`);
            const config: SqlWorkerConfig = {
              target: gateway.target,
              op: 'point-select',
              clients,
              rows: s.rows,
              warmupSeconds,
              seconds: measuredSeconds,
              seed: clients,
              cpuPids: { gateway: [gateway.pid], nodes: nodePids },
            };
            const r = await runWorkerProcess<SqlWorkerResult>(SQL_WORKER, config);
            progress(
              `sql: ${label}: ${r.opsPerSec}/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, ${r.errors} errors, ` +
                `CPU µs per statement: gateway ${r.cpuUsPerOp.gateway ?? '?'}, nodes ${r.cpuUsPerOp.nodes ?? '?'}`,
            );
            return r;
          };
          for (const gateway of gateways) {
            await solo(gateway, s.warmupSeconds, 1, `point-select-trace-${gateway.sampling.percent}/${clients} warm-up`);
          }
          progress(`sql: point-select-trace-0 and -1/${clients}: taking turns, ${ALTERNATION_WARMUP_CYCLES} + ${cycles} cycles of ${slotMs} ms slots`);
          const config: AlternatingWorkerConfig = {
            targets: [off, onePercent].map((g) => ({ name: `point-select-trace-${g.sampling.percent}`, target: g.target, pid: g.pid })),
            sharedPids: nodePids,
            clients,
            rows: s.rows,
            slotMs,
            warmupCycles: ALTERNATION_WARMUP_CYCLES,
            cycles,
            seed: clients,
          };
          alternating = await runWorkerProcess<AlternatingTargetResult[]>(ALTERNATING_WORKER, config);
          for (const r of alternating) {
            progress(
              `sql: ${r.name}/${clients} (taking turns): ${r.opsPerSec}/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, ${r.errors} errors; ` +
                `per cycle: ${r.cycleOpsPerSec.join(' ')}`,
            );
          }
          for (let round = 0; round < rounds; round++) {
            const order = round % 2 === 0 ? [off, every] : [every, off];
            for (const gateway of order) {
              const r = await solo(gateway, RUN_WARMUP_SECONDS, seconds, `point-select-trace-${gateway.sampling.percent}/${clients} round ${round + 1}/${rounds}`);
              (gateway === off ? offRuns : everyRuns).push(r);
              // The last spans of every statement traced leave the processes before the next run.
              if (gateway === every) await sleep(2 * EXPORT_DELAY_MS);
            }
          }
        } finally {
          await Promise.all(gateways.map((g) => g.stop()));
        }
      },
      { env: { ...exportTo, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.01' } },
    );
  } finally {
    await jaeger.stop();
  }
  emitAlternatingFigures(alternating, clients, slotMs, verdicts);
  emitEveryStatementFigure(offRuns, everyRuns, clients);
}

/** Tracing off and 1% sampling, from the run in which they took turns. */
function emitAlternatingFigures(results: readonly AlternatingTargetResult[], clients: number, slotMs: number, verdicts: string[]): void {
  const [off, onePercent] = results;
  if (off === undefined || onePercent === undefined) return;
  const cycleRatios = off.cycleOpsPerSec.flatMap((o, c) => {
    const t = onePercent.cycleOpsPerSec[c];
    return o > 0 && t !== undefined ? [t / o] : [];
  });
  const ratio = off.opsPerSec > 0 ? onePercent.opsPerSec / off.opsPerSec : undefined;
  for (const [r, sampling] of [
    [off, SAMPLINGS[0]],
    [onePercent, SAMPLINGS[1]],
  ] as const) {
    const figure: Figure = {
      bench: 'sql',
      op: r.name,
      clients,
      ops_per_sec: r.opsPerSec,
      p50_ms: r.p50Ms,
      p99_ms: r.p99Ms,
      sample_ratio: sampling.ratio,
      method: 'taking turns',
      slot_ms: slotMs,
      cycles: r.cycleOpsPerSec.length,
      ...(r.cpuUsPerOp === undefined ? {} : { gateway_cpu_us_per_op: r.cpuUsPerOp }),
      ...(r.sharedCpuUsPerOp === undefined ? {} : { nodes_cpu_us_per_op: r.sharedCpuUsPerOp }),
      ...(r.errors > 0 ? { errors: r.errors } : {}),
      ...(r === onePercent && ratio !== undefined
        ? {
            baseline: off.name,
            baseline_ops_per_sec: off.opsPerSec,
            ratio: round(ratio),
            ratio_stderr: round(standardError(cycleRatios)),
            target_ratio: TARGET_ONE_PERCENT_RATIO,
          }
        : {}),
    };
    emit(figure);
  }
  if (ratio !== undefined) {
    verdicts.push(
      `point-select-trace-1/${clients} ${round(ratio)}× tracing off (± ${round(standardError(cycleRatios))}, ${cycleRatios.length} cycles taking turns) ` +
        `${ratio >= TARGET_ONE_PERCENT_RATIO ? 'meets' : 'misses'} the ≥ ${TARGET_ONE_PERCENT_RATIO}× target (1% sampling costs under 5%)`,
    );
  }
}

/** Every statement traced, from runs of its own interleaved with runs with tracing off. */
function emitEveryStatementFigure(offRuns: readonly SqlWorkerResult[], everyRuns: readonly SqlWorkerResult[], clients: number): void {
  if (everyRuns.length === 0) return;
  const roundRatios = everyRuns.flatMap((r, i) => {
    const off = offRuns[i];
    return off !== undefined && off.opsPerSec > 0 ? [r.opsPerSec / off.opsPerSec] : [];
  });
  const ratio = median(roundRatios);
  const cpu = (name: string, runs: readonly SqlWorkerResult[]): number | undefined =>
    median(runs.flatMap((r) => (r.cpuUsPerOp[name] === undefined ? [] : [r.cpuUsPerOp[name] as number])));
  const gatewayCpu = cpu('gateway', everyRuns);
  const nodesCpu = cpu('nodes', everyRuns);
  const errors = everyRuns.reduce((sum, r) => sum + r.errors, 0);
  emit({
    bench: 'sql',
    op: 'point-select-trace-100',
    clients,
    ops_per_sec: round(median(everyRuns.map((r) => r.opsPerSec)) ?? 0),
    p50_ms: median(everyRuns.map((r) => r.p50Ms)) ?? 0,
    p99_ms: median(everyRuns.map((r) => r.p99Ms)) ?? 0,
    sample_ratio: 1,
    method: 'interleaved runs',
    rounds: everyRuns.length,
    ...(gatewayCpu === undefined ? {} : { gateway_cpu_us_per_op: round(gatewayCpu) }),
    ...(nodesCpu === undefined ? {} : { nodes_cpu_us_per_op: round(nodesCpu) }),
    ...(errors > 0 ? { errors } : {}),
    ...(ratio === undefined
      ? {}
      : {
          baseline: 'point-select-trace-0',
          baseline_ops_per_sec: round(median(offRuns.map((r) => r.opsPerSec)) ?? 0),
          ratio: round(ratio),
        }),
  });
}

/** The standard error of the mean of `values` (0 for fewer than two). */
export function standardError(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1);
  return Math.sqrt(variance / values.length);
}

export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** A cairn-gateway process of the cluster with a sampler of its own. */
interface TracingGateway {
  readonly sampling: Sampling;
  readonly target: SqlTarget;
  readonly pid: number;
  stop(): Promise<unknown>;
}

/**
 * Adds a gateway whose environment has no OTEL_* but its own: no exporter for tracing
 * off, else the sampler's ratio and the Jaeger to export to.
 */
async function startTracingGateway(cluster: LocalCluster, sampling: Sampling, exportTo: Readonly<Record<string, string>>): Promise<TracingGateway> {
  const env: Record<string, string | undefined> = Object.fromEntries(
    [...Object.keys(process.env), ...Object.keys(exportTo), 'OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG']
      .filter((name) => name.startsWith('OTEL_'))
      .map((name) => [name, undefined]),
  );
  Object.assign(
    env,
    sampling.ratio === 0
      ? { OTEL_TRACES_EXPORTER: 'none' }
      : { ...exportTo, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: String(sampling.ratio) },
  );
  const gateway: ExtraGateway = await cluster.addGateway({ name: `trace-${sampling.percent}`, env, extraArgs: ['--max-connections', '200'] });
  if (gateway.pid === undefined) throw new Error(`the gateway with ${sampling.percent}% sampling is not running`);
  const colon = gateway.sqlAddress.lastIndexOf(':');
  return {
    sampling,
    target: { host: gateway.sqlAddress.slice(0, colon), port: Number(gateway.sqlAddress.slice(colon + 1)), user: 'root', database: 'defaultdb' },
    pid: gateway.pid,
    stop: () => gateway.stop(),
  };
}
