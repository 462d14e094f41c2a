/**
 * `npm run bench -- txn`: distributed transactions on a three-node local cluster (real
 * cairn-node processes on loopback, every range on three replicas) from separate client
 * processes (bench/txn-worker.ts), against the raw KV put rate in the same run:
 *
 *   raw-put  non-transactional puts of one random key: the reference
 *   1pc      transactions putting one random key (one range: a one-phase commit)
 *   2range   transactions reading and writing one key in each of two ranges
 *   2range-plain  2range's reads and writes without a transaction (a batch reading both
 *            keys, then one putting both): what they cost the cluster without the
 *            protocol (intents, the record, resolution); no target. Its ratio to raw-put
 *            is the most 2range could reach with a protocol that cost nothing: 2range's
 *            figure carries its rate over 2range-plain's (`plain_ratio`) and the verdict
 *            both ratios
 *   bank     transfers between two random accounts (read both, write both) over
 *            accounts split into at least three ranges; the total balance is checked
 *            after each run, and a changed total fails the benchmark
 *
 * Uniformly chosen keys (1 KiB values by default, preloaded) split into two ranges at
 * the middle; 16 and 128 concurrent clients; for each concurrency the operations in
 * turn, each a warm-up then a measured period, with raw-put run again after each one.
 * Each figure carries `retry_rate` (retries per committed transaction),
 * `one_phase_share` (the share of commits that were one-phase) and the ratio to raw-put
 * at the same concurrency (to the mean of the raw-put runs just before and just after
 * the operation, which `baseline_runs_ops_per_sec` lists: this machine's speed drifts
 * by as much as 2× over minutes), and the CPU time per operation of the client process
 * (the coordinators) and of the nodes, with the part of the nodes' spent in RocksDB's
 * flushes and compactions on its own threads (`nodes_storage_cpu_us_per_op`: whether
 * one lands in a measured period moves its figures most from run to run). Each run
 * starts once the nodes' compactions are done (at most 2 minutes' wait): it pays for
 * the compaction of its own writes during its measured period, not for the preload's or
 * the previous operation's (only a memtable the preload left unflushed may be flushed
 * then: the binding has no call to flush it first). Targets (reported, not enforced):
 * 1pc ≥ 0.8× raw-put, 2range ≥ 0.4×, retry rate < 5% for uniform keys.
 *
 * Environment: CAIRN_BENCH_TXN_KEYS (default 100000), CAIRN_BENCH_TXN_PRELOAD (1: write
 * every key first, the default; 0: start empty), CAIRN_BENCH_TXN_ACCOUNTS (default 1000),
 * CAIRN_BENCH_TXN_BANK_RANGES (default 3, at least 3), CAIRN_BENCH_TXN_CONCURRENCIES
 * (default "16,128"), CAIRN_BENCH_TXN_SECONDS (measured seconds per run, default 10 or
 * --seconds if larger), CAIRN_BENCH_TXN_WARMUP_SECONDS (default 3), CAIRN_BENCH_TXN_OPS
 * (a subset, default "raw-put,1pc,2range,2range-plain,bank"), CAIRN_BENCH_TXN_VALUE_BYTES
 * (default 1024), CAIRN_BENCH_TXN_PARALLEL_COMMIT (0: multi-range commits after their
 * writes, as before parallel commits).
 */
import { KvClient } from '../kv';
import type { KeySplits } from './bench-cluster';
import { splitKeyspaces, storageBacklog, waitForQuietStorage, withLocalCluster } from './bench-cluster';
import { writeAll } from './kv';
import { firstError } from './load-loop';
import type { BenchOptions } from './main';
import type { Figure } from './report';
import { emit, progress, round } from './report';
import type { TxnOp, TxnWorkerConfig, TxnWorkerResult } from './txn-worker';
import { runWorkerProcess, workerScript } from './worker-process';
import { benchKey, envConcurrencies, envNumber } from './workload';

const WORKER_SCRIPT = workerScript(__dirname, 'txn-worker');
const OPS: readonly TxnOp[] = ['raw-put', '1pc', '2range', '2range-plain', 'bank'];
/** Non-transactional operations: no retries or commits to report. */
const RAW_OPS: ReadonlySet<TxnOp> = new Set(['raw-put', '2range-plain']);
const REFERENCE: TxnOp = 'raw-put';
/** Throughput targets as a share of raw-put's. */
const TARGET_RATIOS: Partial<Record<TxnOp, number>> = { '1pc': 0.8, '2range': 0.4 };
const TARGET_RETRY_RATE = 0.05;
/**
 * The same reads and writes without a transaction: what an operation's protocol is
 * compared with besides raw-put (its ratio to raw-put is the ceiling of the operation's).
 */
const PLAIN_OF: Partial<Record<TxnOp, TxnOp>> = { '2range': '2range-plain' };
const DEFAULT_VALUE_BYTES = 1024;
const KEY_PREFIX = 'txn/';
const BANK_PREFIX = 'bank/';
const INITIAL_BALANCE = 1_000;
const MAX_TRANSFER = 20;
/** Accounts written per batch when opening them. */
const OPEN_BATCH_ACCOUNTS = 256;
/** A run with more failed transactions than this fails the benchmark (after every figure is out). */
const MAX_ERROR_SHARE = 0.01;
const SPLIT_TIMEOUT_MS = 60_000;
/** The longest wait for the compactions of the preload or of the operation before to finish. */
const QUIET_STORAGE_TIMEOUT_MS = 120_000;
/** RocksDB names its background threads (flushes, compactions) so. */
const ROCKSDB_THREAD_PREFIX = 'rocksdb:';

interface Settings {
  readonly keys: number;
  readonly preload: boolean;
  readonly accounts: number;
  readonly bankRanges: number;
  readonly concurrencies: readonly number[];
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly ops: readonly TxnOp[];
  readonly parallelCommit: boolean;
  readonly valueBytes: number;
}

/** The run of an operation's plain counterpart (PLAIN_OF), with its own raw-put reference. */
interface PlainRun {
  readonly op: TxnOp;
  readonly r: TxnWorkerResult;
  readonly reference: Baseline | undefined;
}

function settings(options: BenchOptions): Settings {
  const bankRanges = Math.max(3, envNumber('CAIRN_BENCH_TXN_BANK_RANGES', 3));
  const opsText = process.env.CAIRN_BENCH_TXN_OPS;
  const ops = opsText === undefined || opsText === '' ? OPS : opsText.split(',');
  for (const op of ops) {
    if (!OPS.includes(op as TxnOp)) {
      throw new Error(`CAIRN_BENCH_TXN_OPS: unknown op '${op}'; known: ${OPS.join(', ')}`);
    }
  }
  return {
    keys: Math.max(2, envNumber('CAIRN_BENCH_TXN_KEYS', 100_000)),
    preload: envNumber('CAIRN_BENCH_TXN_PRELOAD', 1) !== 0,
    accounts: Math.max(2 * bankRanges, envNumber('CAIRN_BENCH_TXN_ACCOUNTS', 1_000)),
    bankRanges,
    parallelCommit: envNumber('CAIRN_BENCH_TXN_PARALLEL_COMMIT', 1) !== 0,
    concurrencies: envConcurrencies('CAIRN_BENCH_TXN_CONCURRENCIES', [16, 128]),
    seconds: Math.max(1, envNumber('CAIRN_BENCH_TXN_SECONDS', Math.max(10, options.seconds))),
    warmupSeconds: envNumber('CAIRN_BENCH_TXN_WARMUP_SECONDS', 3),
    valueBytes: Math.max(1, envNumber('CAIRN_BENCH_TXN_VALUE_BYTES', DEFAULT_VALUE_BYTES)),
    ops: OPS.filter((op) => ops.includes(op)),
  };
}

/**
 * The uniform keys in two ranges cut at the middle (the first also starts at the first
 * key, so that it holds nothing else), and the accounts in `bankRanges` ranges.
 */
function keySplits(s: Settings): KeySplits[] {
  const half = Math.floor(s.keys / 2);
  const spans: KeySplits[] = [
    { start: benchKey(KEY_PREFIX, 0), end: benchKey(KEY_PREFIX, s.keys), splitKeys: [benchKey(KEY_PREFIX, 0), benchKey(KEY_PREFIX, half)] },
    {
      start: benchKey(BANK_PREFIX, 0),
      end: benchKey(BANK_PREFIX, s.accounts),
      splitKeys: Array.from({ length: s.bankRanges }, (_, i) => benchKey(BANK_PREFIX, Math.floor((i * s.accounts) / s.bankRanges))),
    },
  ];
  return s.ops.includes('bank') ? spans : spans.slice(0, 1);
}

/** Opens every account with the initial balance (before any transfer runs). */
async function openAccounts(kv: KvClient, accounts: number): Promise<void> {
  for (let from = 0; from < accounts; from += OPEN_BATCH_ACCOUNTS) {
    const to = Math.min(accounts, from + OPEN_BATCH_ACCOUNTS);
    await kv.batch(
      Array.from({ length: to - from }, (_, i) => ({
        request: { $case: 'put', value: { key: benchKey(BANK_PREFIX, from + i), value: Buffer.from(String(INITIAL_BALANCE)) } },
      })),
    );
  }
}

/** The sum of every account, read in one transaction; throws if an account is missing. */
async function totalBalance(kv: KvClient, accounts: number): Promise<number> {
  return kv.txn(async (txn) => {
    let total = 0;
    let rows = 0;
    let start = benchKey(BANK_PREFIX, 0);
    const end = benchKey(BANK_PREFIX, accounts);
    for (;;) {
      const page = await txn.scan(start, end, { maxKeys: 1_000 });
      for (const row of page.rows) total += Number(row.value.toString());
      rows += page.rows.length;
      if (page.resumeSpan === undefined) break;
      start = page.resumeSpan.startKey;
    }
    if (rows !== accounts) {
      throw new Error(`the bank has ${rows} accounts, not ${accounts}`);
    }
    return total;
  });
}

function describeCounts(counts: Readonly<Record<string, number>>): string {
  return Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => `${n}× ${name}`)
    .join('; ');
}

interface Balance {
  readonly total: number;
  readonly expected: number;
}

/**
 * Raw-put at one concurrency, measured just before an operation and again just after
 * it: the machine's speed drifts over a run, and the operation is compared with their
 * mean.
 */
interface Baseline {
  readonly opsPerSec: number;
  readonly p99Ms: number;
  readonly runsOpsPerSec: readonly number[];
}

function baselineOf(runs: readonly TxnWorkerResult[]): Baseline | undefined {
  const first = runs[0];
  if (first === undefined) return undefined;
  const rates = runs.map((r) => r.opsPerSec);
  return { opsPerSec: round(rates.reduce((a, b) => a + b, 0) / rates.length), p99Ms: first.p99Ms, runsOpsPerSec: rates };
}

/** A run's rate as a share of its raw-put reference's. */
function ratioTo(r: TxnWorkerResult, reference: Baseline): number {
  return round(r.opsPerSec / reference.opsPerSec);
}

/** A run's rate as a share of its plain counterpart's, when that ran. */
function plainRatioOf(r: TxnWorkerResult, plain: PlainRun | undefined): number | undefined {
  return plain === undefined || plain.r.opsPerSec === 0 ? undefined : round(r.opsPerSec / plain.r.opsPerSec);
}

/** The run's JSON line (DESIGN.md §12), with raw-put at the same concurrency as the baseline. */
function figureOf(
  op: TxnOp,
  clients: number,
  r: TxnWorkerResult,
  reference: Baseline | undefined,
  balance: Balance | undefined,
  plain: PlainRun | undefined,
): Figure {
  const commits = r.onePhaseCommits + r.twoPhaseCommits;
  const target = TARGET_RATIOS[op];
  const plainRatio = plainRatioOf(r, plain);
  return {
    bench: 'txn',
    op,
    clients,
    ops_per_sec: r.opsPerSec,
    p50_ms: r.p50Ms,
    p99_ms: r.p99Ms,
    ...(RAW_OPS.has(op)
      ? {}
      : {
          retry_rate: r.ops === 0 ? 0 : round(r.retries / r.ops),
          one_phase_share: commits === 0 ? 0 : round(r.onePhaseCommits / commits),
        }),
    ...(r.cpuUsPerOp.client === undefined ? {} : { client_cpu_us_per_op: r.cpuUsPerOp.client }),
    ...(r.cpuUsPerOp.nodes === undefined ? {} : { nodes_cpu_us_per_op: r.cpuUsPerOp.nodes }),
    ...(r.cpuUsPerOp.nodes_storage === undefined ? {} : { nodes_storage_cpu_us_per_op: r.cpuUsPerOp.nodes_storage }),
    ...(r.errors > 0 ? { errors: r.errors } : {}),
    ...(r.unfinished > 0 ? { unfinished: r.unfinished } : {}),
    ...(balance === undefined ? {} : { total_balance: balance.total, expected_total_balance: balance.expected }),
    ...(reference === undefined
      ? {}
      : {
          baseline: REFERENCE,
          baseline_ops_per_sec: reference.opsPerSec,
          baseline_p99_ms: reference.p99Ms,
          // Just before and just after it, when both ran.
          ...(reference.runsOpsPerSec.length > 1 ? { baseline_runs_ops_per_sec: reference.runsOpsPerSec.join(',') } : {}),
          ratio: ratioTo(r, reference),
        }),
    ...(target === undefined ? {} : { target_ratio: target }),
    ...(plain === undefined || plainRatio === undefined ? {} : { plain_op: plain.op, plain_ratio: plainRatio }),
  };
}

/** Whether the run met the targets, in words. */
function verdictsOf(label: string, op: TxnOp, r: TxnWorkerResult, reference: Baseline | undefined, plain: PlainRun | undefined): string[] {
  const verdicts: string[] = [];
  const target = TARGET_RATIOS[op];
  if (target !== undefined && reference !== undefined) {
    const ratio = ratioTo(r, reference);
    const plainRatio = plainRatioOf(r, plain);
    const ceiling =
      plain === undefined || plainRatio === undefined
        ? ''
        : ` (${plainRatio} of the rate of ${plain.op}, the same reads and writes without a transaction` +
          (plain.reference === undefined ? ')' : `, itself ${ratioTo(plain.r, plain.reference)}× raw-put)`);
    verdicts.push(`${label} ${ratio}× raw-put ${ratio >= target ? 'meets' : 'misses'} the ${target}× target${ceiling}`);
  }
  if (op === '1pc' || op === '2range') {
    const rate = r.ops === 0 ? 0 : r.retries / r.ops;
    verdicts.push(`${label} retry rate ${round(rate)} ${rate < TARGET_RETRY_RATE ? 'meets' : 'misses'} the < ${TARGET_RETRY_RATE} target`);
  }
  return verdicts;
}

/** What the run saw besides its figure: retries, failures, stalls (on stderr). */
function logRun(label: string, op: TxnOp, r: TxnWorkerResult): void {
  progress(
    `txn: ${label}: ${r.opsPerSec}/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms` +
      (RAW_OPS.has(op) ? '' : `, ${r.retries} retries, commits ${r.onePhaseCommits} one-phase + ${r.twoPhaseCommits} two-phase`) +
      (r.cpuUsPerOp.nodes === undefined
        ? ''
        : `; CPU µs per operation: client ${r.cpuUsPerOp.client}, nodes ${r.cpuUsPerOp.nodes} (RocksDB's flushes and compactions ${r.cpuUsPerOp.nodes_storage ?? '?'})`),
  );
  if (r.slowOps > 0 || r.overrunMs >= 1_000) {
    progress(`txn: ${label}: stalls: ${r.slowOps} operations took ≥ 1 s, the slowest ${r.maxMs} ms; the last ended ${r.overrunMs} ms late`);
  }
  if (r.unfinished > 0) {
    progress(`txn: ${label}: ${r.unfinished} operations still running 10 s after the end were given up on`);
  }
  for (const sample of r.unfinishedSamples) progress(`txn: ${label}: stalled: ${sample}`);
  for (const sample of r.slowSamples) progress(`txn: ${label}: slow: ${sample}`);
  if (r.retries > 0) progress(`txn: ${label}: retries: ${describeCounts(r.retryReasons)}`);
  for (const [reason, message] of Object.entries(r.retryExamples)) progress(`txn: ${label}: a ${reason} retry: ${message}`);
  if (r.errors > 0) progress(`txn: ${label}: ${r.errors} failed: ${describeCounts(r.errorMessages)}`);
}

export async function runTxnBench(options: BenchOptions): Promise<void> {
  const s = settings(options);
  const failures: string[] = [];
  const verdicts: string[] = [];
  progress(
    `txn: ${s.keys} keys${s.preload ? ' (preloaded)' : ''}, ${s.accounts} accounts over ${s.bankRanges} ranges, ` +
      `clients ${s.concurrencies.join(', ')}, ${s.warmupSeconds} s warm-up + ${s.seconds} s per op`,
  );
  await withLocalCluster('txn', async (cluster) => {
    const addresses = cluster.addresses;
    const httpAddresses = cluster.nodes.map((n) => n.httpAddress);
    await splitKeyspaces('txn', addresses, keySplits(s), SPLIT_TIMEOUT_MS);
    if (s.preload && s.ops.some((op) => op !== 'bank')) {
      progress(`txn: preloading ${s.keys} keys of ${s.valueBytes} bytes`);
      const seconds = await writeAll('cairn', addresses, KEY_PREFIX, s.keys, s.valueBytes);
      progress(`txn: preloaded in ${seconds} s`);
    }
    const kv = await KvClient.connect({ addresses, requestTimeoutMs: 30_000 });
    try {
      const expectedTotal = s.accounts * INITIAL_BALANCE;
      if (s.ops.includes('bank')) {
        await openAccounts(kv, s.accounts);
        const opened = await totalBalance(kv, s.accounts);
        if (opened !== expectedTotal) {
          throw new Error(`the bank opened with a total of ${opened}, not ${expectedTotal}`);
        }
      }
      for (const clients of s.concurrencies) {
        const measured: {
          readonly op: TxnOp;
          readonly r: TxnWorkerResult;
          readonly balance: Balance | undefined;
          /** Raw-put just before and just after it. */
          readonly references: TxnWorkerResult[];
        }[] = [];
        let lastReference: TxnWorkerResult | undefined;
        const nodePids = cluster.nodes.flatMap((n) => (n.pid === undefined ? [] : [n.pid]));
        const runOp = async (op: TxnOp, again: boolean): Promise<TxnWorkerResult> => {
          const label = `${op}/${clients}${again ? ' (again)' : ''}`;
          const quiet = await waitForQuietStorage(`txn: ${label}`, httpAddresses, QUIET_STORAGE_TIMEOUT_MS);
          if (quiet.waitedMs >= 1_000) progress(`txn: ${label}: waited ${round(quiet.waitedMs / 1000)} s for the nodes' compactions to finish`);
          if (quiet.left.pendingCompactionBytes > 0 || quiet.left.running > 0) {
            progress(`txn: ${label}: starts with compactions still owed (${quiet.left.pendingCompactionBytes} bytes, ${quiet.left.running} running)`);
          }
          progress(`txn: ${op}${again ? ' again' : ''}, ${clients} clients, ${s.warmupSeconds} s warm-up + ${s.seconds} s`);
          const config: TxnWorkerConfig = {
            addresses,
            op,
            clients,
            warmupSeconds: s.warmupSeconds,
            seconds: s.seconds,
            seed: clients,
            prefix: KEY_PREFIX,
            keys: s.keys,
            valueBytes: s.valueBytes,
            bankPrefix: BANK_PREFIX,
            accounts: s.accounts,
            maxAmount: MAX_TRANSFER,
            parallelCommit: s.parallelCommit,
            cpuPids: { nodes: nodePids, nodes_storage: { pids: nodePids, threadPrefix: ROCKSDB_THREAD_PREFIX } },
          };
          const r = await runWorkerProcess<TxnWorkerResult>(WORKER_SCRIPT, config);
          logRun(label, op, r);
          const owed = await storageBacklog(httpAddresses);
          progress(`txn: ${label}: left ${round(owed.pendingCompactionBytes / (1024 * 1024))} MiB of compaction owed, ${owed.running} flushes and compactions running`);
          if (r.errors > MAX_ERROR_SHARE * (r.ops + r.errors)) {
            failures.push(`${label}: ${r.errors} of ${r.ops + r.errors} failed, mostly: ${firstError(r) ?? '?'}`);
          }
          return r;
        };
        for (const op of s.ops) {
          const r = await runOp(op, false);
          if (op === REFERENCE) {
            lastReference = r;
            emit(figureOf(op, clients, r, undefined, undefined, undefined));
            continue;
          }
          let balance: Balance | undefined;
          if (op === 'bank') {
            balance = { total: await totalBalance(kv, s.accounts), expected: expectedTotal };
            progress(`txn: ${op}/${clients}: total balance ${balance.total} (expected ${balance.expected})`);
            if (balance.total !== balance.expected) {
              failures.push(`${op}/${clients}: the total balance is ${balance.total}, not ${balance.expected}: transfers were lost or half applied`);
            }
          }
          const references = lastReference === undefined ? [] : [lastReference];
          if (lastReference !== undefined) {
            lastReference = await runOp(REFERENCE, true);
            references.push(lastReference);
          }
          measured.push({ op, r, balance, references });
        }
        const plainOf = (op: TxnOp): PlainRun | undefined => {
          const plain = measured.find((m) => m.op === PLAIN_OF[op]);
          return plain === undefined ? undefined : { op: plain.op, r: plain.r, reference: baselineOf(plain.references) };
        };
        for (const { op, r, balance, references } of measured) {
          const reference = baselineOf(references);
          const plain = plainOf(op);
          emit(figureOf(op, clients, r, reference, balance, plain));
          verdicts.push(...verdictsOf(`${op}/${clients}`, op, r, reference, plain));
        }
      }
    } finally {
      await kv.close();
    }
  });
  for (const verdict of verdicts) progress(`txn: ${verdict}`);
  if (failures.length > 0) {
    throw new Error(`the transaction benchmark failed:\n  ${failures.join('\n  ')}`);
  }
}
