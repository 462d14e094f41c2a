/**
 * pgbench as the SQL benchmark runs it: a child process against one target, its output
 * kept (and its progress lines passed on while it runs), and what the output says: TPS,
 * average latency, failed transactions, the load's per-step times, and latency
 * percentiles from its per-transaction log (`-l`).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { round } from './report';
import type { SqlTarget } from './sql-worker';

export interface PgbenchRun {
  /** Exit status; null when it was killed (see `timedOut`). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
  readonly timedOut: boolean;
}

export interface PgbenchOptions {
  /** Each line pgbench prints on stderr (its progress), as it comes. */
  readonly onLine?: (line: string) => void;
  /** Kill it after this long. */
  readonly timeoutSeconds?: number;
}

export function pgbench(t: SqlTarget, args: readonly string[], options: PgbenchOptions = {}): Promise<PgbenchRun> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn('pgbench', [...args, '-h', t.host, '-p', String(t.port), '-U', t.user, t.database], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Never leave pgbench running against a server this benchmark is about to stop.
    const kill = (): void => {
      child.kill('SIGKILL');
    };
    process.once('exit', kill);
    let stdout = '';
    let stderr = '';
    let partial = '';
    let timedOut = false;
    const timer =
      options.timeoutSeconds === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            kill();
          }, options.timeoutSeconds * 1_000);
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => {
      const text = b.toString();
      stderr += text;
      // pgbench -i ends its progress lines with \r on a terminal and \n otherwise.
      const lines = (partial + text).split(/[\r\n]/);
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') options.onLine?.(line);
    });
    const done = (): void => {
      clearTimeout(timer);
      process.off('exit', kill);
    };
    child.once('error', (err) => {
      done();
      reject(err);
    });
    child.once('close', (code) => {
      done();
      if (partial.trim() !== '') options.onLine?.(partial);
      resolve({ code, stdout, stderr, seconds: Number(process.hrtime.bigint() - started) / 1e9, timedOut });
    });
  });
}

/** TPS as pgbench reports it, connection time excluded; 0 when absent. */
export function tpsOf(out: string): number {
  const m = /tps = ([\d.]+) \(without initial connection time\)/.exec(out);
  return m === null ? 0 : Number(m[1]);
}

export function latencyAvgOf(out: string): number {
  const m = /latency average = ([\d.]+) ms/.exec(out);
  return m === null ? 0 : Number(m[1]);
}

export function failedOf(out: string): number {
  const m = /number of failed transactions: (\d+)/.exec(out);
  return m === null ? 0 : Number(m[1]);
}

/**
 * The load's time per step from pgbench -i's last line, e.g. "done in 70.12 s (drop
 * tables 0.00 s, ..., primary keys 18.80 s)." as { drop_tables_s: 0, ..., primary_keys_s: 18.8 }.
 */
export function initStepsOf(stderr: string): Record<string, number> {
  const m = /done in [\d.]+ s \(([^)]*)\)/.exec(stderr);
  const steps: Record<string, number> = {};
  for (const part of m?.[1]?.split(',') ?? []) {
    const step = /^\s*(.+?) ([\d.]+) s\s*$/.exec(part);
    if (step !== null) steps[`${(step[1] as string).replace(/[^a-z0-9]+/gi, '_').toLowerCase()}_s`] = Number(step[2]);
  }
  return steps;
}

/** The last lines of pgbench's stderr that report an error, or else its last lines. */
export function errorSummary(run: PgbenchRun): string {
  if (run.timedOut) return `killed after ${round(run.seconds)} s (timeout)`;
  const lines = run.stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const errors = lines.filter((l) => /error|fatal|abort/i.test(l));
  return `exited ${String(run.code)}: ${(errors.length > 0 ? errors : lines).slice(-3).join(' | ')}`;
}

/** A folder for one run's per-transaction logs, removed by `dispose`. */
export interface TransactionLog {
  /** pgbench's arguments that write the log there. */
  readonly args: readonly string[];
  /** Latency percentiles of the logged transactions that succeeded. */
  percentiles(): { readonly p50Ms: number; readonly p99Ms: number; readonly transactions: number };
  dispose(): void;
}

export function transactionLog(): TransactionLog {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-pgbench-'));
  const prefix = 'txn';
  return {
    args: ['-l', '--log-prefix', path.join(dir, prefix)],
    percentiles() {
      // One file per thread; each line: client_id transaction_no time script_no
      // time_epoch time_us, where time is the latency in µs (or "failed"/"skipped").
      const latencies: number[] = [];
      for (const file of fs.readdirSync(dir)) {
        if (!file.startsWith(prefix)) continue;
        for (const line of fs.readFileSync(path.join(dir, file), 'utf8').split('\n')) {
          const us = Number(line.split(' ')[2]);
          if (line !== '' && Number.isFinite(us)) latencies.push(us);
        }
      }
      const sorted = Float64Array.from(latencies).sort();
      const at = (p: number): number =>
        sorted.length === 0 ? 0 : round((sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number) / 1e3, 4);
      return { p50Ms: at(0.5), p99Ms: at(0.99), transactions: sorted.length };
    },
    dispose() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
