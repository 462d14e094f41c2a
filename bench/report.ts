/**
 * Benchmark output as DESIGN.md §12 fixes it: progress on stderr, one JSON object per
 * figure on stdout.
 */

export interface Figure {
  readonly bench: string;
  readonly op: string;
  readonly clients?: number;
  readonly ops_per_sec?: number;
  readonly p50_ms?: number;
  readonly p99_ms?: number;
  readonly baseline?: string;
  readonly baseline_ops_per_sec?: number;
  readonly baseline_p99_ms?: number;
  readonly ratio?: number;
  readonly [extra: string]: string | number | undefined;
}

export function emit(figure: Figure): void {
  process.stdout.write(`${JSON.stringify(figure)}\n`);
}

export function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** Rounds to a few significant digits for readable output. */
export function round(value: number, digits = 3): number {
  if (value === 0 || !Number.isFinite(value)) {
    return value;
  }
  const scale = 10 ** Math.max(0, digits - Math.ceil(Math.log10(Math.abs(value))));
  return Math.round(value * scale) / scale;
}

/** Latency samples in nanoseconds, summarised. */
export class LatencyRecorder {
  private samples: number[] = [];

  record(nanos: number): void {
    this.samples.push(nanos);
  }

  percentileMs(p: number): number {
    if (this.samples.length === 0) {
      return 0;
    }
    const sorted = Float64Array.from(this.samples).sort();
    const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return round((sorted[index] as number) / 1e6, 4);
  }
}

export interface Measurement {
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly ops: number;
}

/**
 * Runs `op` one call at a time until `seconds` have passed (and at least `minOps`
 * calls), timing each call.
 */
export async function measure(
  seconds: number,
  op: (i: number) => unknown | Promise<unknown>,
  minOps = 100,
): Promise<Measurement> {
  const latencies = new LatencyRecorder();
  const deadline = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  const start = process.hrtime.bigint();
  let ops = 0;
  let now = start;
  while (now < deadline || ops < minOps) {
    const before = now;
    const result = op(ops);
    if (result instanceof Promise) {
      await result;
    }
    now = process.hrtime.bigint();
    latencies.record(Number(now - before));
    ops++;
  }
  const elapsedSeconds = Number(now - start) / 1e9;
  return {
    opsPerSec: round(ops / elapsedSeconds),
    p50Ms: latencies.percentileMs(50),
    p99Ms: latencies.percentileMs(99),
    ops,
  };
}

export function compared(
  bench: string,
  op: string,
  ours: Measurement,
  baselineName: string,
  baseline: Measurement,
  extra: Record<string, string | number> = {},
): Figure {
  return {
    bench,
    op,
    clients: 1,
    ops_per_sec: ours.opsPerSec,
    p50_ms: ours.p50Ms,
    p99_ms: ours.p99Ms,
    baseline: baselineName,
    baseline_ops_per_sec: baseline.opsPerSec,
    baseline_p99_ms: baseline.p99Ms,
    ratio: round(ours.opsPerSec / baseline.opsPerSec),
    ...extra,
  };
}

/**
 * Runs `clients` loops of `op` for `seconds`, each loop waiting for its previous call:
 * a closed-loop load at a fixed concurrency.
 */
export async function closedLoop(
  clients: number,
  seconds: number,
  op: (sequence: number, client: number) => Promise<void>,
): Promise<Measurement> {
  const latencies = new LatencyRecorder();
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(seconds * 1e9));
  let ops = 0;
  let sequence = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      while (process.hrtime.bigint() < deadline) {
        const before = process.hrtime.bigint();
        await op(sequence++, client);
        latencies.record(Number(process.hrtime.bigint() - before));
        ops++;
      }
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  return { opsPerSec: round(ops / elapsed), p50Ms: latencies.percentileMs(50), p99Ms: latencies.percentileMs(99), ops };
}
