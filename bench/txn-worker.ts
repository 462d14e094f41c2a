/**
 * The transaction benchmark's client process (bench/txn.ts starts it; see bench/
 * worker-process.ts for why a process): one closed-loop run given as JSON in argv[2],
 * its result as one JSON line on stdout.
 *
 *   raw-put  a non-transactional put of one random key (the reference)
 *   1pc      a transaction that puts one random key: one range, a one-phase commit
 *   2range   a transaction that reads and writes one key in each half of the keyspace
 *            (each half its own range)
 *   2range-plain  2range's reads and writes without a transaction: a non-transactional
 *            batch reading both keys, then one putting both (a piece in each range, not
 *            atomic, not isolated): what any transaction protocol adds its cost to
 *   bank     a transfer between two random accounts: read both, write both
 *
 * Retries are counted through RunTxnOptions.onRetry; commits, one-phase or not, by
 * watching the EndTxn answers that pass through the transport.
 */
import type { KvTransport, RunTxnOptions } from '../kv';
import { GrpcKvTransport, KvClient, TransactionRetryError } from '../kv';
import type { TransactionError } from '../kv';
import { TransactionStatus } from '../proto/gen/cairn/kv/v1/kv';
import type { LoadLoopResult } from './load-loop';
import { runLoadLoop } from './load-loop';
import type { CpuPids } from './process-cpu';
import { sampleCpuDuring } from './process-cpu';
import { closeWithin, workerMain } from './worker-process';
import { benchKey, ValuePool } from './workload';

export type TxnOp = 'raw-put' | '1pc' | '2range' | '2range-plain' | 'bank';

export interface TxnWorkerConfig {
  readonly addresses: readonly string[];
  readonly op: TxnOp;
  readonly clients: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  readonly seed: number;
  /** raw-put, 1pc, 2range, 2range-plain: keys 0..keys-1 of `prefix`, split into ranges at keys/2. */
  readonly prefix: string;
  readonly keys: number;
  readonly valueBytes: number;
  /** bank: accounts 0..accounts-1 of `bankPrefix`, balances as decimal text. */
  readonly bankPrefix: string;
  readonly accounts: number;
  readonly maxAmount: number;
  /** Multi-range commits in one round (kv TxnOptions.parallelCommit). */
  readonly parallelCommit: boolean;
  /** Processes whose CPU time to report per transaction, by name (the nodes). */
  readonly cpuPids: CpuPids;
}

export interface TxnWorkerResult extends LoadLoopResult {
  /** Retries during the measured period (of any transaction, committed or not). */
  readonly retries: number;
  /** Retries by error code (and reason). */
  readonly retryReasons: Readonly<Record<string, number>>;
  /** The message of the first retry of each code (and reason). */
  readonly retryExamples: Readonly<Record<string, string>>;
  /** Commits answered during the measured period, by kind. */
  readonly onePhaseCommits: number;
  readonly twoPhaseCommits: number;
  /**
   * The slowest transactions that took a second or more, and the oldest still running
   * when the run gave up on them: how long, and what they retried on.
   */
  readonly slowSamples: readonly string[];
  readonly unfinishedSamples: readonly string[];
  /** CPU microseconds per measured transaction, by name; `client` is this process (the coordinators). */
  readonly cpuUsPerOp: Readonly<Record<string, number>>;
}

const SLOW_TXN_MS = 1_000;
const MAX_SLOW_SAMPLES = 8;

/** Watches commits go by: EndTxn answers that committed, one-phase or not. */
class CommitCountingTransport implements KvTransport {
  measuring: () => boolean = () => false;
  onePhase = 0;
  twoPhase = 0;
  private readonly inner = new GrpcKvTransport();

  async sendBatch(...args: Parameters<KvTransport['sendBatch']>): ReturnType<KvTransport['sendBatch']> {
    const response = await this.inner.sendBatch(...args);
    if (this.measuring()) {
      for (const r of response.responses) {
        if (r.response?.$case === 'endTxn' && r.response.value.txn?.status === TransactionStatus.TRANSACTION_STATUS_COMMITTED) {
          if (r.response.value.onePhaseCommit) this.onePhase++;
          else this.twoPhase++;
        }
        // A parallel commit's record made COMMITTED by its coordinator.
        if (r.response?.$case === 'recoverTxn' && r.response.value.txn?.status === TransactionStatus.TRANSACTION_STATUS_COMMITTED) this.twoPhase++;
      }
    }
    return response;
  }

  clusterInfo(...args: Parameters<KvTransport['clusterInfo']>): ReturnType<KvTransport['clusterInfo']> {
    return this.inner.clusterInfo(...args);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

function retryReason(err: TransactionError): string {
  return err instanceof TransactionRetryError ? `${err.code}/${err.reason}` : err.code;
}

/** Retry reasons in order, runs of the same one folded: "3× TXN_RETRY/SERIALIZABLE, TXN_ABORTED". */
function describeReasons(reasons: readonly string[]): string {
  const runs: string[] = [];
  let count = 0;
  for (const [i, reason] of reasons.entries()) {
    count++;
    if (reasons[i + 1] !== reason) {
      runs.push(count === 1 ? reason : `${count}× ${reason}`);
      count = 0;
    }
  }
  return runs.join(', ');
}

const balanceOf = (value: Buffer | undefined): number => (value === undefined ? 0 : Number(value.toString()));

async function run(config: TxnWorkerConfig): Promise<TxnWorkerResult> {
  const transport = new CommitCountingTransport();
  const client = await KvClient.connect({ addresses: config.addresses, transport, requestTimeoutMs: 30_000 });
  const values = new ValuePool(config.valueBytes);
  const half = Math.floor(config.keys / 2);
  let retries = 0;
  const retryReasons: Record<string, number> = {};
  const retryExamples: Record<string, string> = {};
  const slow: { ms: number; text: string }[] = [];
  const inFlight = new Set<{ started: number; reasons: string[]; measured: boolean }>();
  const describe = (ms: number, measured: boolean, reasons: readonly string[]): string =>
    `${Math.round(ms)} ms${measured ? '' : ' (started in the warm-up)'}, ${reasons.length} retries` +
    (reasons.length === 0 ? '' : ` (${describeReasons(reasons)})`);
  try {
    const runOne: Parameters<typeof runLoadLoop>[1] = async (random, _client, measured, measuring) => {
      transport.measuring = measuring;
      const started = performance.now();
      const reasons: string[] = [];
      const flight = { started, reasons, measured };
      inFlight.add(flight);
      const options = {
        parallelCommit: config.parallelCommit,
        onRetry: (err: TransactionError): void => {
          const reason = retryReason(err);
          reasons.push(reason);
          retryExamples[reason] ??= err.message.slice(0, 240);
          // Retries during the measured period count, whenever their transaction began.
          if (!measuring()) return;
          retries++;
          retryReasons[reason] = (retryReasons[reason] ?? 0) + 1;
        },
      };
      let failure: unknown;
      try {
        return await runOp(random, options);
      } catch (err) {
        failure = err;
        throw err;
      } finally {
        inFlight.delete(flight);
        const ms = performance.now() - started;
        if (ms >= SLOW_TXN_MS) {
          const text =
            describe(ms, measured, reasons) +
            (failure === undefined ? '' : `, failed: ${String((failure as Error).message ?? failure).slice(0, 160)}`);
          slow.push({ ms, text });
          slow.sort((a, b) => b.ms - a.ms);
          slow.length = Math.min(slow.length, MAX_SLOW_SAMPLES);
        }
      }
    };
    const { result, cpuUsPerOp } = await sampleCpuDuring(config, config.cpuPids, () => runLoadLoop(config, runOne));
    const now = performance.now();
    const unfinishedSamples = [...inFlight]
      .sort((a, b) => a.started - b.started)
      .slice(0, MAX_SLOW_SAMPLES)
      .map((f) => `running for ${describe(now - f.started, f.measured, f.reasons)}`);
    return {
      ...result,
      retries,
      retryReasons,
      retryExamples,
      onePhaseCommits: transport.onePhase,
      twoPhaseCommits: transport.twoPhase,
      slowSamples: slow.map((x) => x.text),
      unfinishedSamples,
      cpuUsPerOp,
    };
  } finally {
    await closeWithin(client.close());
  }

  /** A uniform key in each half of the keyspace (each half its own range). */
  function keyInEachRange(random: () => number): [Buffer, Buffer] {
    const a = benchKey(config.prefix, Math.floor(random() * half));
    return [a, benchKey(config.prefix, half + Math.floor(random() * (config.keys - half)))];
  }

  async function runOp(random: () => number, options: RunTxnOptions): Promise<string> {
    switch (config.op) {
      case 'raw-put':
        await client.put(benchKey(config.prefix, Math.floor(random() * config.keys)), values.next(random));
        return 'put';
      case '1pc': {
        const key = benchKey(config.prefix, Math.floor(random() * config.keys));
        const value = values.next(random);
        await client.txn((txn) => txn.put(key, value), options);
        return 'txn';
      }
      case '2range': {
        const [a, b] = keyInEachRange(random);
        const valueA = values.next(random);
        const valueB = values.next(random);
        await client.txn(async (txn) => {
          await txn.getMany([a, b]);
          await txn.put(a, valueA);
          await txn.put(b, valueB);
        }, options);
        return 'txn';
      }
      case '2range-plain': {
        const [a, b] = keyInEachRange(random);
        await client.batch([
          { request: { $case: 'get', value: { key: a, forUpdate: false } } },
          { request: { $case: 'get', value: { key: b, forUpdate: false } } },
        ]);
        await client.batch([
          { request: { $case: 'put', value: { key: a, value: values.next(random) } } },
          { request: { $case: 'put', value: { key: b, value: values.next(random) } } },
        ]);
        return 'plain';
      }
      case 'bank': {
        const from = Math.floor(random() * config.accounts);
        const to = (from + 1 + Math.floor(random() * (config.accounts - 1))) % config.accounts;
        const amount = 1 + Math.floor(random() * config.maxAmount);
        const fromKey = benchKey(config.bankPrefix, from);
        const toKey = benchKey(config.bankPrefix, to);
        // Balances may go below zero: only the total is checked. The reads lock the
        // accounts, as an UPDATE would.
        await client.txn(async (txn) => {
          const [a, b] = await txn.getMany([fromKey, toKey], { forUpdate: true });
          await txn.put(fromKey, Buffer.from(String(balanceOf(a) - amount)));
          await txn.put(toKey, Buffer.from(String(balanceOf(b) + amount)));
        }, options);
        return 'txn';
      }
    }
  }
}

if (require.main === module) {
  workerMain('txn-worker', run);
}
