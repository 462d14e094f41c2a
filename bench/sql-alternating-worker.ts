/**
 * A client process (see bench/worker-process.ts) that compares two SQL servers of one
 * cluster by taking turns: `clients` connections to each target run prepared point
 * selects, but only the target whose slot it is sends; slots of `slotMs` follow one
 * another without a pause. A cycle gives each target one slot, in turn first and
 * second (slotOrder), so each takes over from the other as often as from itself; the
 * first `warmupCycles` are not counted.
 *
 * Separate runs of a minute or so differ by several percent on a busy two-core machine;
 * slots a second apart share its state, so two targets that differ by a percent show
 * it. An operation counts in the slot it started in.
 */
import { Client } from 'pg';
import { treeCpuSeconds } from './process-cpu';
import { LatencyRecorder, round } from './report';
import type { SqlTarget } from './sql-worker';
import { SQL_OP_TEXT } from './sql-worker';
import { closeWithin, workerMain } from './worker-process';
import { seededRandom } from './workload';

export interface AlternatingTarget {
  readonly name: string;
  readonly target: SqlTarget;
  /** Its server process, whose CPU time in its own slots is reported per operation. */
  readonly pid: number;
}

export interface AlternatingWorkerConfig {
  readonly targets: readonly AlternatingTarget[];
  /** Processes every target shares (the nodes): their CPU time in each target's slots. */
  readonly sharedPids: readonly number[];
  /** Connections per target. */
  readonly clients: number;
  readonly rows: number;
  readonly slotMs: number;
  readonly warmupCycles: number;
  readonly cycles: number;
  readonly seed: number;
}

export interface AlternatingTargetResult {
  readonly name: string;
  readonly ops: number;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly cpuUsPerOp: number | undefined;
  readonly sharedCpuUsPerOp: number | undefined;
  /** Operations per second in each measured cycle. */
  readonly cycleOpsPerSec: readonly number[];
}

/**
 * The targets' order in cycle `c`: slots run 0 1 | 1 0 | 0 1 | ..., so each target's
 * slots start as often after the other's (whose last operations spill over into them)
 * as after its own.
 */
export function slotOrder(c: number): readonly [number, number] {
  return c % 2 === 0 ? [0, 1] : [1, 0];
}

interface TargetTally {
  ops: number;
  errors: number;
  readonly latency: LatencyRecorder;
  cpuSeconds: number;
  sharedCpuSeconds: number;
  cpuKnown: boolean;
  readonly cycleOps: number[];
  slots: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

async function run(config: AlternatingWorkerConfig): Promise<AlternatingTargetResult[]> {
  if (config.targets.length !== 2) throw new Error(`two targets take turns, not ${config.targets.length}`);
  const name = 'point-select';
  const text = SQL_OP_TEXT[name];
  const conns = await Promise.all(
    config.targets.map((t) =>
      Promise.all(
        Array.from({ length: config.clients }, async (_, i) => {
          const c = new Client({ host: t.target.host, port: t.target.port, user: t.target.user, database: t.target.database });
          c.on('error', () => undefined);
          await c.connect();
          await c.query({ name, text, values: [i % config.rows] });
          return c;
        }),
      ),
    ),
  );
  const tallies: TargetTally[] = config.targets.map(() => ({
    ops: 0,
    errors: 0,
    latency: new LatencyRecorder(),
    cpuSeconds: 0,
    sharedCpuSeconds: 0,
    cpuKnown: true,
    cycleOps: [],
    slots: 0,
  }));
  let active = -1;
  /** Measured cycle of the current slot, or -1 in warm-up. */
  let cycle = -1;
  let finished = false;
  let wake: (() => void)[] = [];
  const waitForSlot = (): Promise<void> => new Promise((resolve) => wake.push(resolve));
  const clientLoops = config.targets.flatMap((_, t) =>
    (conns[t] as Client[]).map(async (conn, i) => {
      const random = seededRandom(config.seed * 1_000 + t * config.clients + i + 1);
      while (!finished) {
        if (active !== t) {
          await waitForSlot();
          continue;
        }
        const countedIn = cycle;
        const tally = tallies[t] as TargetTally;
        const started = process.hrtime.bigint();
        try {
          await conn.query({ name, text, values: [Math.floor(random() * config.rows)] });
          if (countedIn >= 0) {
            tally.ops++;
            tally.cycleOps[countedIn] = (tally.cycleOps[countedIn] ?? 0) + 1;
            tally.latency.record(Number(process.hrtime.bigint() - started));
          }
        } catch {
          if (countedIn >= 0) tally.errors++;
        }
      }
    }),
  );
  try {
    let slotEnd = nowMs();
    for (let c = 0; c < config.warmupCycles + config.cycles; c++) {
      for (const t of slotOrder(c)) {
        const measured = c >= config.warmupCycles;
        const before = measured ? { own: treeCpuSeconds([config.targets[t]?.pid as number]), shared: treeCpuSeconds(config.sharedPids) } : undefined;
        active = t;
        cycle = measured ? c - config.warmupCycles : -1;
        const waiting = wake;
        wake = [];
        for (const resume of waiting) resume();
        slotEnd += config.slotMs;
        await sleep(Math.max(0, slotEnd - nowMs()));
        if (before !== undefined) {
          const tally = tallies[t] as TargetTally;
          const own = treeCpuSeconds([config.targets[t]?.pid as number]);
          const shared = treeCpuSeconds(config.sharedPids);
          if (before.own === undefined || before.shared === undefined || own === undefined || shared === undefined) tally.cpuKnown = false;
          else {
            tally.cpuSeconds += own - before.own;
            tally.sharedCpuSeconds += shared - before.shared;
          }
          tally.slots++;
        }
      }
    }
  } finally {
    finished = true;
    active = -1;
    for (const resume of wake) resume();
    await Promise.all(clientLoops);
    await Promise.all(conns.flat().map((c) => closeWithin(c.end())));
  }
  return config.targets.map((t, i) => {
    const tally = tallies[i] as TargetTally;
    const seconds = (tally.slots * config.slotMs) / 1000;
    const perOp = (cpu: number): number | undefined => (tally.cpuKnown && tally.ops > 0 ? round((cpu * 1e6) / tally.ops) : undefined);
    return {
      name: t.name,
      ops: tally.ops,
      opsPerSec: seconds > 0 ? round(tally.ops / seconds) : 0,
      p50Ms: tally.latency.percentileMs(50),
      p99Ms: tally.latency.percentileMs(99),
      errors: tally.errors,
      cpuUsPerOp: perOp(tally.cpuSeconds),
      sharedCpuUsPerOp: perOp(tally.sharedCpuSeconds),
      cycleOpsPerSec: Array.from({ length: config.cycles }, (_, c) => round(((tally.cycleOps[c] ?? 0) * 1000) / config.slotMs)),
    };
  });
}

if (require.main === module) {
  workerMain('sql-alternating-worker', run);
}
