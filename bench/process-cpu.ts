/**
 * CPU time of other processes, from /proc: how busy the systems under test were during
 * a measured period (per operation, it shows where the work went).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { round } from './report';

let ticksPerSecond: number | undefined;

/** The kernel's clock tick (USER_HZ), in which /proc reports CPU times. */
function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const value = Number(out.stdout?.trim());
    ticksPerSecond = Number.isInteger(value) && value > 0 ? value : 100;
  }
  return ticksPerSecond;
}

/**
 * A /proc stat file of a process or thread: its command name (field 2) and the fields
 * after it (fields[0] is field 3), or undefined when it is gone.
 */
function readStat(path: string): { name: string; fields: string[] } | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  // The command name may hold spaces and parentheses: count from after it.
  const nameEnd = stat.lastIndexOf(')');
  return { name: stat.slice(stat.indexOf('(') + 1, nameEnd), fields: stat.slice(nameEnd + 2).split(' ') };
}

/** User plus system CPU seconds (fields 14 and 15) of one process, all its threads. */
function ownCpuSeconds(fields: readonly string[]): number {
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond();
}

/**
 * CPU seconds of the processes `pids` and all their descendants (PostgreSQL serves each
 * connection from a child of its postmaster); undefined if one of `pids` is gone.
 */
export function treeCpuSeconds(pids: readonly number[]): number | undefined {
  const parentOf = new Map<number, number>();
  const cpuOf = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = readStat(`/proc/${entry}/stat`)?.fields;
    if (fields === undefined) continue;
    parentOf.set(Number(entry), Number(fields[1]));
    cpuOf.set(Number(entry), ownCpuSeconds(fields));
  }
  if (pids.some((pid) => !cpuOf.has(pid))) return undefined;
  const roots = new Set(pids);
  let total = 0;
  for (const [pid, cpu] of cpuOf) {
    // Walk up to a root, or to init.
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parentOf.get(p)) {
      if (roots.has(p)) {
        total += cpu;
        break;
      }
    }
  }
  return total;
}

/**
 * CPU seconds of the threads of `pids` whose name starts with `prefix` (RocksDB names its
 * background threads `rocksdb:low`, `rocksdb:high`); undefined if one of `pids` is gone.
 */
export function threadCpuSeconds(pids: readonly number[], prefix: string): number | undefined {
  let total = 0;
  for (const pid of pids) {
    let threads: string[];
    try {
      threads = fs.readdirSync(`/proc/${pid}/task`);
    } catch {
      return undefined;
    }
    for (const tid of threads) {
      // A thread that ended meanwhile counts no more.
      const stat = readStat(`/proc/${pid}/task/${tid}/stat`);
      if (stat !== undefined && stat.name.startsWith(prefix)) total += ownCpuSeconds(stat.fields);
    }
  }
  return total;
}

/** Some threads of processes: those whose name starts with `threadPrefix`. */
export interface ThreadsOf {
  readonly pids: readonly number[];
  readonly threadPrefix: string;
}

/**
 * What CPU time to report, by name: processes (theirs and their descendants'), or some
 * of their threads.
 */
export type CpuPids = Readonly<Record<string, readonly number[] | ThreadsOf>>;

function cpuSecondsOf(what: readonly number[] | ThreadsOf): number | undefined {
  return 'threadPrefix' in what ? threadCpuSeconds(what.pids, what.threadPrefix) : treeCpuSeconds(what);
}

interface CpuSample {
  readonly atSeconds: number;
  readonly clientSeconds: number;
  readonly bySystem: Readonly<Record<string, number | undefined>>;
}

function sampleCpu(cpuPids: CpuPids): CpuSample {
  const usage = process.cpuUsage();
  return {
    atSeconds: Number(process.hrtime.bigint()) / 1e9,
    clientSeconds: (usage.user + usage.system) / 1e6,
    bySystem: Object.fromEntries(Object.entries(cpuPids).map(([name, what]) => [name, cpuSecondsOf(what)])),
  };
}

/**
 * CPU per operation from samples at the ends of the measured period: the CPU rate over
 * the samples' own interval (timers may fire late), divided by the operation rate.
 */
function cpuPerOp(from: CpuSample, to: CpuSample, opsPerSec: number): Record<string, number> {
  const wall = to.atSeconds - from.atSeconds;
  if (wall <= 0 || opsPerSec <= 0) return {};
  const perOp = (cpu: number): number => round(((cpu / wall) * 1e6) / opsPerSec);
  const result: Record<string, number> = { client: perOp(to.clientSeconds - from.clientSeconds) };
  for (const [name, end] of Object.entries(to.bySystem)) {
    const start = from.bySystem[name];
    if (start !== undefined && end !== undefined) result[name] = perOp(end - start);
  }
  return result;
}

/**
 * Runs a closed-loop run (`warmupSeconds`, then `seconds` measured) and the CPU
 * microseconds per measured operation of this process (`client`) and of `cpuPids`,
 * sampled when the measured period starts and ends. Empty when a sample is missing
 * (the run ended early).
 */
export async function sampleCpuDuring<T extends { readonly opsPerSec: number }>(
  timing: { readonly warmupSeconds: number; readonly seconds: number },
  cpuPids: CpuPids,
  run: () => Promise<T>,
): Promise<{ result: T; cpuUsPerOp: Record<string, number> }> {
  let first: CpuSample | undefined;
  let last: CpuSample | undefined;
  const firstTimer = setTimeout(() => (first = sampleCpu(cpuPids)), timing.warmupSeconds * 1_000);
  const lastTimer = setTimeout(() => (last = sampleCpu(cpuPids)), (timing.warmupSeconds + timing.seconds) * 1_000);
  try {
    const result = await run();
    const cpuUsPerOp = first !== undefined && last !== undefined ? cpuPerOp(first, last, result.opsPerSec) : {};
    return { result, cpuUsPerOp };
  } finally {
    clearTimeout(firstTimer);
    clearTimeout(lastTimer);
  }
}
