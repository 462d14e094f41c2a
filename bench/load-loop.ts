/**
 * The workers' closed loop: `clients` concurrent loops, each waiting for its previous
 * operation, for a warm-up and then a measured period. Only operations that start in
 * the measured period count; a failure is counted, not thrown.
 */
import { LatencyRecorder, round } from './report';
import { seededRandom } from './workload';

export interface LoadLoopOptions {
  readonly clients: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  /** Each client draws from its own random source seeded from this. */
  readonly seed: number;
}

export interface LoadLoopResult {
  /** Operations that succeeded. */
  readonly ops: number;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** The slowest operation, warm-up included (as are the slow ones below). */
  readonly maxMs: number;
  /** Operations that took a second or more (a stall, not a slow path). */
  readonly slowOps: number;
  /** How long after the measured period the last operation finished (stragglers). */
  readonly overrunMs: number;
  /** Operations still running GRACE_SECONDS after the measured period: given up on. */
  readonly unfinished: number;
  /** Per kind: how many succeeded, and their p99. */
  readonly kinds: Readonly<Record<string, { readonly ops: number; readonly p99Ms: number }>>;
  readonly errors: number;
  /** Failures by message (the first 160 characters): what went wrong, how often. */
  readonly errorMessages: Readonly<Record<string, number>>;
}

const MAX_ERROR_KINDS = 20;
const SLOW_OP_NANOS = 1e9;
/**
 * How long operations still running at the end are waited for; then the loop returns
 * without them (a stall is a finding, but it must not hold the benchmark up for
 * minutes). The caller's process should exit soon after, abandoning them.
 */
const GRACE_SECONDS = 10;

/**
 * Runs the loop. `op` resolves with the operation's kind (latencies are also kept per
 * kind); `measured` says whether it counts, and `measuring()` whether the measured
 * period is on now, for figures of its own (events during the period, like retries).
 */
export async function runLoadLoop(
  options: LoadLoopOptions,
  op: (random: () => number, client: number, measured: boolean, measuring: () => boolean) => Promise<string>,
): Promise<LoadLoopResult> {
  const all = new LatencyRecorder();
  const byKind = new Map<string, { recorder: LatencyRecorder; ops: number }>();
  const errorMessages: Record<string, number> = {};
  const measureFrom = process.hrtime.bigint() + BigInt(Math.round(options.warmupSeconds * 1e9));
  const end = measureFrom + BigInt(Math.round(options.seconds * 1e9));
  const measuring = (): boolean => {
    const now = process.hrtime.bigint();
    return now >= measureFrom && now < end;
  };
  let ops = 0;
  let errors = 0;
  let maxNanos = 0;
  let slowOps = 0;
  let running = 0;
  const clients = Promise.all(
    Array.from({ length: options.clients }, async (_, client) => {
      const clientRandom = seededRandom(options.seed * 1_000 + client + 1);
      while (true) {
        const before = process.hrtime.bigint();
        if (before >= end) {
          return;
        }
        const measured = before >= measureFrom;
        let outcome: string | undefined;
        let failure: unknown;
        running++;
        try {
          outcome = await op(clientRandom, client, measured, measuring);
        } catch (err) {
          failure = err ?? new Error('unknown error');
        } finally {
          running--;
        }
        const nanos = Number(process.hrtime.bigint() - before);
        maxNanos = Math.max(maxNanos, nanos);
        if (nanos >= SLOW_OP_NANOS) slowOps++;
        if (!measured) {
          continue;
        }
        if (outcome === undefined) {
          errors++;
          const message = String((failure as Error).message ?? failure).slice(0, 160);
          if (message in errorMessages || Object.keys(errorMessages).length < MAX_ERROR_KINDS) {
            errorMessages[message] = (errorMessages[message] ?? 0) + 1;
          }
          continue;
        }
        all.record(nanos);
        let kind = byKind.get(outcome);
        if (kind === undefined) {
          kind = { recorder: new LatencyRecorder(), ops: 0 };
          byKind.set(outcome, kind);
        }
        kind.recorder.record(nanos);
        kind.ops++;
        ops++;
      }
    }),
  );
  let graceTimer: NodeJS.Timeout | undefined;
  const grace = new Promise<void>((resolve) => {
    const untilEndMs = Number(end - process.hrtime.bigint()) / 1e6;
    graceTimer = setTimeout(resolve, Math.max(0, untilEndMs) + GRACE_SECONDS * 1_000);
  });
  try {
    await Promise.race([clients, grace]);
  } finally {
    clearTimeout(graceTimer);
  }
  const unfinished = running;
  const overrunMs = Math.max(0, Number(process.hrtime.bigint() - end) / 1e6);
  return {
    ops,
    opsPerSec: round(ops / options.seconds),
    p50Ms: all.percentileMs(50),
    p99Ms: all.percentileMs(99),
    maxMs: round(maxNanos / 1e6, 4),
    slowOps,
    overrunMs: round(overrunMs, 4),
    unfinished,
    kinds: Object.fromEntries([...byKind].map(([name, k]) => [name, { ops: k.ops, p99Ms: k.recorder.percentileMs(99) }])),
    errors,
    errorMessages,
  };
}

/** The most frequent failure, for a one-line report. */
export function firstError(result: LoadLoopResult): string | undefined {
  const entries = Object.entries(result.errorMessages).sort((a, b) => b[1] - a[1]);
  return entries[0]?.[0];
}
