import type { RaftSimResult } from './raft-sim';
import { runRaftSim, SimViolationError } from './raft-sim';

export interface RaftSimCliOptions {
  readonly seeds: number;
  readonly firstSeed: number;
  readonly safetyTicks?: number;
  readonly verbose: boolean;
  readonly deferCommitNotices: boolean;
}

/** Parses `--seeds N [--seed S] [--ticks T] [--defer-commit-notices] [--verbose]`. */
export function parseRaftSimArgs(args: readonly string[]): RaftSimCliOptions {
  let seeds = 100;
  let firstSeed = 1;
  let safetyTicks: number | undefined;
  let verbose = false;
  let deferCommitNotices = false;
  let single = false;
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
    } else if (arg === '--ticks') safetyTicks = value();
    else if (arg === '--verbose') verbose = true;
    else if (arg === '--defer-commit-notices') deferCommitNotices = true;
    else throw new RangeError(`unknown argument ${arg}`);
  }
  if (single && !args.includes('--seeds')) seeds = 1;
  return { seeds, firstSeed, verbose, deferCommitNotices, ...(safetyTicks === undefined ? {} : { safetyTicks }) };
}

/** Runs seeds [firstSeed, firstSeed + seeds); returns the process exit code. */
export function raftSimMain(args: readonly string[], write: (line: string) => void, now: () => number): number {
  const opts = parseRaftSimArgs(args);
  const started = now();
  let totalTicks = 0;
  let maxRecovery = 0;
  let committed = 0;
  for (let seed = opts.firstSeed; seed < opts.firstSeed + opts.seeds; seed++) {
    let result: RaftSimResult;
    try {
      result = runRaftSim({ seed, deferCommitNotices: opts.deferCommitNotices, ...(opts.safetyTicks === undefined ? {} : { safetyTicks: opts.safetyTicks }) });
    } catch (e) {
      if (e instanceof SimViolationError) {
        write(e.message);
        write(`FAILED: seed ${seed} (replay: npm run sim -- raft --seed ${seed})`);
        return 1;
      }
      throw e;
    }
    totalTicks += result.ticks;
    maxRecovery = Math.max(maxRecovery, result.recoveryTicks);
    committed += result.proposals.committed;
    if (opts.verbose) write(JSON.stringify(result));
  }
  const seconds = (now() - started) / 1000;
  write(
    `raft sim: ${opts.seeds} seeds from ${opts.firstSeed} passed; ${totalTicks} ticks, ${committed} proposals committed, ` +
      `max recovery ${maxRecovery} ticks, ${seconds.toFixed(1)} s`,
  );
  return 0;
}
