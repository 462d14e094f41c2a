/**
 * `npm run bench -- kv`: key-value workloads on a three-node local cluster (real
 * cairn-node processes on loopback, every range on three replicas) from a separate
 * client process, against the same workloads on a three-member etcd cluster in the
 * same run (linearizable reads, as ours are):
 *
 *   kv95  95% point reads, 5% writes;  kv0  writes only
 *
 * 1 KiB values over 100 000 uniformly chosen keys, preloaded first; 16 and 128
 * concurrent clients; a warm-up, then `--seconds` measured (at least 5). Then a bulk
 * load of 1 GiB more and each node's resident memory.
 *
 * Environment: CAIRN_BENCH_KV_RANGES (ranges the keys are split into, default 1),
 * CAIRN_BENCH_KV_KEYS (default 100000), CAIRN_BENCH_KV_LOAD_BYTES (default
 * 1 GiB; 0 skips the load), CAIRN_BENCH_KV_CONCURRENCIES (default "16,128").
 */
import { EtcdCluster, etcdVersion } from './etcd';
import type { KeySplits } from './bench-cluster';
import { rssBytes, sleep, splitKeyspaces, withLocalCluster } from './bench-cluster';
import type { RunResult, WorkerConfig, WorkerResult, WorkerTask, Workload } from './kv-worker';
import type { BenchOptions } from './main';
import type { Figure } from './report';
import { emit, progress, round } from './report';
import { runWorkerProcess, workerScript } from './worker-process';
import { benchKey, envConcurrencies, envNumber } from './workload';

const WORKER_SCRIPT = workerScript(__dirname, 'kv-worker');
const WORKLOADS: readonly Workload[] = ['kv95', 'kv0'];
const VALUE_BYTES = 1024;
/** Preload and bulk load: batches of this many keys (etcd takes up to 128 per txn)... */
const WRITE_BATCH_KEYS = 64;
/** ...this many at a time. */
const WRITE_BATCH_CONCURRENCY = 16;
const KV_PREFIX = 'kv/';
const LOAD_PREFIX = 'load/';
const GIB = 1024 * 1024 * 1024;
/** More than the default 2 GiB, which the bulk load and the overwrites would pass. */
const ETCD_QUOTA_BYTES = 8 * GIB;
/** A run with more failed operations than this fails the benchmark. */
const MAX_ERROR_SHARE = 0.01;

interface Settings {
  readonly keys: number;
  /** Ranges the keys are split into before the workloads (cairn only). */
  readonly splits: number;
  readonly loadBytes: number;
  readonly concurrencies: readonly number[];
  readonly seconds: number;
  readonly warmupSeconds: number;
}

function settings(options: BenchOptions): Settings {
  const seconds = Math.max(options.seconds, 5);
  return {
    keys: Math.max(1, envNumber('CAIRN_BENCH_KV_KEYS', 100_000)),
    splits: Math.max(1, envNumber('CAIRN_BENCH_KV_RANGES', 1)),
    loadBytes: envNumber('CAIRN_BENCH_KV_LOAD_BYTES', GIB),
    concurrencies: envConcurrencies('CAIRN_BENCH_KV_CONCURRENCIES', [16, 128]),
    seconds,
    warmupSeconds: Math.max(2, Math.round(seconds / 3)),
  };
}

/** Runs one task in a new client process and returns its result. */
function runWorker(config: WorkerConfig): Promise<WorkerResult> {
  return runWorkerProcess<WorkerResult>(WORKER_SCRIPT, config);
}

/**
 * Writes keys 0..count-1 of `prefix` (random values of `valueBytes`) in batches from a
 * client process; returns the seconds it took. The transaction benchmark preloads with it too.
 */
export async function writeAll(
  target: WorkerConfig['target'],
  addresses: readonly string[],
  prefix: string,
  count: number,
  valueBytes = VALUE_BYTES,
): Promise<number> {
  const task: WorkerTask = {
    kind: 'write-all',
    prefix,
    count,
    valueBytes,
    batchSize: WRITE_BATCH_KEYS,
    concurrency: WRITE_BATCH_CONCURRENCY,
  };
  const result = await runWorker({ target, addresses, task });
  if (result.kind !== 'write-all') {
    throw new Error(`expected a write-all result, got ${result.kind}`);
  }
  if (result.errors > 0) {
    throw new Error(`${target}: ${result.errors} of ${count} writes failed, the first: ${result.firstError ?? '?'}`);
  }
  return result.seconds;
}

type Results = Map<string, RunResult>;
const resultKey = (workload: Workload, clients: number): string => `${workload}/${clients}`;

/** Preloads the keys, then every workload at every concurrency. */
async function runWorkloads(target: WorkerConfig['target'], addresses: readonly string[], s: Settings): Promise<Results> {
  progress(`kv: ${target}: preloading ${s.keys} keys of ${VALUE_BYTES} bytes in batches of ${WRITE_BATCH_KEYS}`);
  const preloadSeconds = await writeAll(target, addresses, KV_PREFIX, s.keys);
  progress(`kv: ${target}: preloaded in ${preloadSeconds} s`);
  const results: Results = new Map();
  for (const workload of WORKLOADS) {
    for (const clients of s.concurrencies) {
      progress(`kv: ${target}: ${workload}, ${clients} clients, ${s.warmupSeconds} s warm-up + ${s.seconds} s`);
      const task: WorkerTask = {
        kind: 'run',
        prefix: KV_PREFIX,
        workload,
        clients,
        keys: s.keys,
        valueBytes: VALUE_BYTES,
        warmupSeconds: s.warmupSeconds,
        seconds: s.seconds,
        seed: clients,
      };
      const result = await runWorker({ target, addresses, task });
      if (result.kind !== 'run') {
        throw new Error(`expected a run result, got ${result.kind}`);
      }
      if (result.errors > MAX_ERROR_SHARE * (result.ops + result.errors)) {
        throw new Error(
          `${target} ${workload}/${clients}: ${result.errors} of ${result.ops + result.errors} operations failed, ` +
            `the first: ${result.firstError ?? '?'}`,
        );
      }
      progress(`kv: ${target}: ${workload}/${clients}: ${result.opsPerSec} ops/s, p99 ${result.p99Ms} ms`);
      results.set(resultKey(workload, clients), result);
    }
  }
  return results;
}

/** Writes `bytes` more in values of VALUE_BYTES; returns the seconds it took. */
async function bulkLoad(target: WorkerConfig['target'], addresses: readonly string[], bytes: number): Promise<number> {
  const count = Math.ceil(bytes / VALUE_BYTES);
  progress(`kv: ${target}: loading ${count} more keys (${round(bytes / GIB)} GiB)`);
  const seconds = await writeAll(target, addresses, LOAD_PREFIX, count);
  // Let flushes and compactions started by the load settle a little.
  await sleep(2_000);
  return seconds;
}

/** The load size in an op name: rss_after_1gib, rss_after_64mib. */
function loadName(bytes: number): string {
  return bytes % GIB === 0 ? `${bytes / GIB}gib` : `${round(bytes / (1024 * 1024))}mib`;
}

interface Memory {
  readonly perNode: readonly number[];
  readonly loadSeconds: number;
}

/** The benchmark's keys cut into `ranges` ranges of equal key counts. */
function kvSplits(keys: number, ranges: number): KeySplits {
  return {
    start: benchKey(KV_PREFIX, 0),
    end: benchKey(KV_PREFIX, keys),
    splitKeys: Array.from({ length: ranges - 1 }, (_, i) => benchKey(KV_PREFIX, Math.floor(((i + 1) * keys) / ranges))),
  };
}

async function measureCairn(s: Settings): Promise<{ results: Results; memory: Memory | undefined }> {
  return withLocalCluster('kv', async (cluster) => {
    await splitKeyspaces('kv', cluster.addresses, [kvSplits(s.keys, s.splits)], 60_000);
    const results = await runWorkloads('cairn', cluster.addresses, s);
    let memory: Memory | undefined;
    if (s.loadBytes > 0) {
      const loadSeconds = await bulkLoad('cairn', cluster.addresses, s.loadBytes);
      memory = {
        perNode: cluster.nodes.map((n) => {
          if (n.pid === undefined) {
            throw new Error(`node ${n.index} is not running after the load`);
          }
          return rssBytes(n.pid);
        }),
        loadSeconds,
      };
    }
    return { results, memory };
  });
}

async function measureEtcd(s: Settings): Promise<{ results: Results; memory: Memory | undefined }> {
  const cluster = await EtcdCluster.start(3, { quotaBackendBytes: ETCD_QUOTA_BYTES });
  try {
    const leader = await cluster.waitForLeader(30_000);
    const results = await runWorkloads('etcd', [leader], s);
    let memory: Memory | undefined;
    if (s.loadBytes > 0) {
      const loadSeconds = await bulkLoad('etcd', [leader], s.loadBytes);
      memory = { perNode: cluster.pids.map(rssBytes), loadSeconds };
    }
    return { results, memory };
  } finally {
    await cluster.stop();
  }
}

export async function runKvBench(options: BenchOptions): Promise<void> {
  const s = settings(options);
  const baseline = `etcd-${etcdVersion()}`;
  const ours = await measureCairn(s);
  const theirs = await measureEtcd(s);
  for (const workload of WORKLOADS) {
    for (const clients of s.concurrencies) {
      const a = ours.results.get(resultKey(workload, clients)) as RunResult;
      const b = theirs.results.get(resultKey(workload, clients)) as RunResult;
      const figure: Figure = {
        bench: 'kv',
        op: workload,
        clients,
        ops_per_sec: a.opsPerSec,
        p50_ms: a.p50Ms,
        p99_ms: a.p99Ms,
        ...(a.reads > 0 ? { read_p99_ms: a.readP99Ms } : {}),
        ...(a.writes > 0 ? { write_p99_ms: a.writeP99Ms } : {}),
        ...(a.errors > 0 ? { errors: a.errors } : {}),
        baseline,
        baseline_ops_per_sec: b.opsPerSec,
        baseline_p99_ms: b.p99Ms,
        ...(b.reads > 0 ? { baseline_read_p99_ms: b.readP99Ms } : {}),
        ...(b.writes > 0 ? { baseline_write_p99_ms: b.writeP99Ms } : {}),
        ratio: round(a.opsPerSec / b.opsPerSec),
      };
      emit(figure);
    }
  }
  if (ours.memory !== undefined) {
    const perNode = Object.fromEntries(ours.memory.perNode.map((rss, i) => [`node${i + 1}_rss_bytes`, rss]));
    emit({
      bench: 'kv',
      op: `rss_after_${loadName(s.loadBytes)}`,
      loaded_bytes: s.loadBytes,
      value_bytes: VALUE_BYTES,
      load_s: ours.memory.loadSeconds,
      rss_bytes: Math.max(...ours.memory.perNode),
      ...perNode,
      ...(theirs.memory === undefined
        ? {}
        : {
            baseline,
            baseline_load_s: theirs.memory.loadSeconds,
            baseline_rss_bytes: Math.max(...theirs.memory.perNode),
          }),
    });
  }
}
