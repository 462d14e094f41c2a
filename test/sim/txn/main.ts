import type { TxnSimResult } from './txn-sim';
import { runTxnSim, TxnSimViolationError } from './txn-sim';

export interface TxnSimCliOptions {
  readonly seeds: number;
  readonly firstSeed: number;
  readonly workloadMs?: number;
  readonly verbose: boolean;
  readonly trace: boolean;
  readonly workload: 'mixed' | 'contended';
}

/** Parses `--seeds N [--seed S] [--workload-ms T] [--workload mixed|contended] [--verbose] [--trace]`. */
export function parseTxnSimArgs(args: readonly string[]): TxnSimCliOptions {
  let seeds = 20;
  let firstSeed = 1;
  let workloadMs: number | undefined;
  let verbose = false;
  let trace = false;
  let single = false;
  let workload: TxnSimCliOptions['workload'] = 'mixed';
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = (): number => {
      const v = Number(args[++i]);
      if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${arg} needs a non-negative integer`);
      return v;
    };
    if (arg === '--seeds') seeds = value();
    else if (arg === '--seed') {
      firstSeed = value();
      single = true;
    } else if (arg === '--workload-ms') workloadMs = value();
    else if (arg === '--workload') {
      const w = args[++i];
      if (w !== 'mixed' && w !== 'contended') throw new RangeError('--workload is mixed or contended');
      workload = w;
    } else if (arg === '--verbose') verbose = true;
    else if (arg === '--trace') trace = true;
    else throw new RangeError(`unknown argument ${arg}`);
  }
  if (single && !args.includes('--seeds')) seeds = 1;
  return { seeds, firstSeed, verbose, trace, workload, ...(workloadMs === undefined ? {} : { workloadMs }) };
}

/** Runs seeds [firstSeed, firstSeed + seeds); resolves with the process exit code. */
export async function txnSimMain(args: readonly string[], write: (line: string) => void, now: () => number): Promise<number> {
  const opts = parseTxnSimArgs(args);
  const started = now();
  const totals = { committed: 0, failed: 0, abandoned: 0, ambiguous: 0, transfers: 0, crashes: 0, retries: 0, answersLost: 0 };
  const latencies: number[] = [];
  for (let seed = opts.firstSeed; seed < opts.firstSeed + opts.seeds; seed++) {
    let result: TxnSimResult;
    try {
      result = await runTxnSim({
        seed,
        workload: opts.workload,
        ...(opts.workloadMs === undefined ? {} : { workloadMs: opts.workloadMs }),
        ...(opts.trace ? { trace: write } : {}),
      });
    } catch (e) {
      if (e instanceof TxnSimViolationError) {
        write(e.message);
        write(`FAILED: seed ${seed} (replay: npm run sim -- txn --seed ${seed} --trace)`);
        return 1;
      }
      throw e;
    }
    totals.committed += result.summary.committed;
    totals.failed += result.summary.failed;
    totals.abandoned += result.summary.abandoned;
    totals.ambiguous += result.summary.ambiguousCommitted + result.summary.ambiguousAborted;
    totals.transfers += result.leaseTransfers;
    totals.crashes += result.coordinatorCrashes;
    totals.retries += result.retries;
    totals.answersLost += result.answersLost;
    latencies.push(...result.commitLatenciesMs);
    if (opts.verbose) write(JSON.stringify(result));
  }
  const seconds = (now() - started) / 1000;
  write(
    `txn sim: ${opts.seeds} seeds from ${opts.firstSeed} passed; ${totals.committed} committed, ${totals.failed} failed or retried, ` +
      `${totals.abandoned} abandoned, ${totals.ambiguous} ambiguous; ${totals.transfers} lease transfers, ` +
      `${totals.crashes} coordinator crashes, ${totals.retries} retries, ${totals.answersLost} answers lost; ${seconds.toFixed(1)} s`,
  );
  if (latencies.length > 0) {
    latencies.sort((a, b) => a - b);
    const at = (q: number): string => (latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] as number).toFixed(0);
    write(`committed operations took (virtual ms, retries included): p50 ${at(0.5)}, p99 ${at(0.99)}, max ${at(1)}`);
  }
  return 0;
}
