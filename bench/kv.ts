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
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AdminClient, childExecArgv, LocalCluster, tsxLoaderUrl } from '../cli';
import { ReplicaType } from '../proto/gen/cairn/kv/v1/kv';
import { EtcdCluster, etcdVersion } from './etcd';
import { KvClient } from '../kv';
import type { RunResult, WorkerConfig, WorkerResult, WorkerTask, Workload } from './kv-worker';
import { benchKey } from './kv-worker';
import type { BenchOptions } from './main';
import type { Figure } from './report';
import { emit, progress, round } from './report';

const WORKER_SCRIPT = path.join(__dirname, 'kv-worker.ts');
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

function envNumber(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') {
    return fallback;
  }
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${name} needs a whole number, not '${text}'`);
  }
  return value;
}

function settings(options: BenchOptions): Settings {
  const seconds = Math.max(options.seconds, 5);
  const concurrencies = (process.env.CAIRN_BENCH_KV_CONCURRENCIES ?? '16,128').split(',').map(Number);
  if (concurrencies.some((c) => !Number.isInteger(c) || c < 1)) {
    throw new Error(`CAIRN_BENCH_KV_CONCURRENCIES needs whole numbers, not '${process.env.CAIRN_BENCH_KV_CONCURRENCIES}'`);
  }
  return {
    keys: Math.max(1, envNumber('CAIRN_BENCH_KV_KEYS', 100_000)),
    splits: Math.max(1, envNumber('CAIRN_BENCH_KV_RANGES', 1)),
    loadBytes: envNumber('CAIRN_BENCH_KV_LOAD_BYTES', GIB),
    concurrencies,
    seconds,
    warmupSeconds: Math.max(2, Math.round(seconds / 3)),
  };
}

/** Runs one task in a new client process and returns its result. */
async function runWorker(config: WorkerConfig): Promise<WorkerResult> {
  const child: ChildProcess = spawn(
    process.execPath,
    [...childExecArgv(WORKER_SCRIPT, process.execArgv, tsxLoaderUrl), WORKER_SCRIPT, JSON.stringify(config)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const kill = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', kill);
  try {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (c, s) => resolve([c, s]));
    });
    const line = out.trim().split('\n').pop() ?? '';
    if (code !== 0 || line === '') {
      throw new Error(`the client process failed (${code ?? signal}); its stderr is above`);
    }
    return JSON.parse(line) as WorkerResult;
  } finally {
    process.off('exit', kill);
    kill();
  }
}

async function writeAll(
  target: WorkerConfig['target'],
  addresses: readonly string[],
  prefix: string,
  count: number,
): Promise<number> {
  const task: WorkerTask = {
    kind: 'write-all',
    prefix,
    count,
    valueBytes: VALUE_BYTES,
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

/** Resident memory of a process, from /proc. */
export function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (match === null) {
    throw new Error(`no VmRSS for process ${pid}`);
  }
  return Number(match[1]) * 1024;
}

/** Writes `bytes` more in values of VALUE_BYTES; returns the seconds it took. */
async function bulkLoad(target: WorkerConfig['target'], addresses: readonly string[], bytes: number): Promise<number> {
  const count = Math.ceil(bytes / VALUE_BYTES);
  progress(`kv: ${target}: loading ${count} more keys (${round(bytes / GIB)} GiB)`);
  const seconds = await writeAll(target, addresses, LOAD_PREFIX, count);
  // Let flushes and compactions started by the load settle a little.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  return seconds;
}

/** Waits until every range has three voters and a leaseholder. */
async function waitForReplication(address: string, timeoutMs: number): Promise<void> {
  const admin = new AdminClient(address);
  const deadline = Date.now() + timeoutMs;
  let last = '';
  try {
    while (Date.now() < deadline) {
      try {
        const { ranges } = await admin.ranges();
        const under = ranges.filter(
          (r) =>
            r.leaseholderNodeId === 0n ||
            (r.descriptor?.replicas.filter((rep) => rep.type === ReplicaType.REPLICA_TYPE_VOTER).length ?? 0) < 3,
        );
        if (ranges.length > 0 && under.length === 0) {
          return;
        }
        last = `${under.length} of ${ranges.length} ranges without three voters and a lease`;
      } catch (err) {
        last = (err as Error).message;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    admin.close();
  }
  throw new Error(`the cluster did not replicate every range three ways in ${timeoutMs} ms: ${last}`);
}

/** The load size in an op name: rss_after_1gib, rss_after_64mib. */
function loadName(bytes: number): string {
  return bytes % GIB === 0 ? `${bytes / GIB}gib` : `${round(bytes / (1024 * 1024))}mib`;
}

interface Memory {
  readonly perNode: readonly number[];
  readonly loadSeconds: number;
}

/**
 * Splits the benchmark's keys into `ranges` ranges (as CockroachDB's `kv --splits`
 * does) and waits until lease balancing has put their leases on as many nodes as it
 * can, so the leaseholders' work is spread over the cluster.
 */
async function splitKeyspace(addresses: readonly string[], keys: number, ranges: number, timeoutMs: number): Promise<void> {
  if (ranges <= 1) return;
  const kv = await KvClient.connect({ addresses });
  const admin = new AdminClient(addresses[0] as string);
  try {
    const splitKeys = Array.from({ length: ranges - 1 }, (_, i) => benchKey(KV_PREFIX, Math.floor(((i + 1) * keys) / ranges)));
    for (const key of splitKeys) {
      await kv.adminSplit(key);
    }
    const first = benchKey(KV_PREFIX, 0);
    const end = benchKey(KV_PREFIX, keys);
    const deadline = Date.now() + timeoutMs;
    let holders: bigint[] = [];
    while (Date.now() < deadline) {
      const response = await admin.ranges();
      holders = response.ranges
        .filter((r) => Buffer.compare(r.descriptor?.endKey ?? Buffer.alloc(0), first) > 0 && Buffer.compare(r.descriptor?.startKey ?? Buffer.alloc(0), end) < 0)
        .map((r) => r.leaseholderNodeId);
      if (holders.every((h) => h !== 0n) && new Set(holders).size >= Math.min(ranges, addresses.length)) {
        progress(`kv: cairn: ${ranges} ranges, leases on nodes ${holders.join(', ')}`);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    progress(`kv: cairn: leases not spread after ${timeoutMs} ms (on nodes ${holders.join(', ')}); going on`);
  } finally {
    admin.close();
    await kv.close();
  }
}

async function measureCairn(s: Settings): Promise<{ results: Results; memory: Memory | undefined }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-kv-'));
  const cluster = new LocalCluster({ dataDir, nodes: 3, ports: 'free', log: (m) => progress(`kv: cairn: ${m}`) });
  try {
    progress(`kv: cairn: starting 3 nodes in ${dataDir}`);
    await cluster.start();
    await waitForReplication(cluster.addresses[0] as string, 120_000);
    await splitKeyspace(cluster.addresses, s.keys, s.splits, 60_000);
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
  } finally {
    await cluster.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
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
