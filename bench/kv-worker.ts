/**
 * The KV benchmark's client process (bench/kv.ts starts it), so that the client's CPU
 * is not the cluster's: one task given as JSON in argv[2], run against Cairn (the KV
 * client) or etcd (its gRPC API), and its result as one JSON line on stdout.
 *
 *   write-all: writes keys 0..count-1 of a prefix in batches of `batchSize`, `concurrency`
 *              batches at a time (preload, bulk load)
 *   run:       a closed loop of `clients` workers for warm-up then measured seconds:
 *              kv95 (95% reads, 5% writes) or kv0 (writes only), uniform keys
 */
import { KvClient } from '../kv';
import { EtcdClient } from './etcd';
import { firstError, runLoadLoop } from './load-loop';
import { round } from './report';
import { closeWithin, workerMain } from './worker-process';
import { benchKey, seededRandom, ValuePool } from './workload';

export type Workload = 'kv95' | 'kv0';

export type WorkerTask =
  | {
      readonly kind: 'write-all';
      readonly prefix: string;
      readonly count: number;
      readonly valueBytes: number;
      readonly batchSize: number;
      readonly concurrency: number;
    }
  | {
      readonly kind: 'run';
      readonly prefix: string;
      readonly workload: Workload;
      readonly clients: number;
      readonly keys: number;
      readonly valueBytes: number;
      readonly warmupSeconds: number;
      readonly seconds: number;
      readonly seed: number;
    };

export interface WorkerConfig {
  readonly target: 'cairn' | 'etcd';
  readonly addresses: readonly string[];
  readonly task: WorkerTask;
}

export interface WriteAllResult {
  readonly kind: 'write-all';
  readonly ops: number;
  readonly seconds: number;
  readonly errors: number;
  readonly firstError?: string;
}

export interface RunResult {
  readonly kind: 'run';
  readonly ops: number;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly readP99Ms: number;
  readonly writeP99Ms: number;
  readonly reads: number;
  readonly writes: number;
  readonly errors: number;
  readonly firstError?: string;
}

export type WorkerResult = WriteAllResult | RunResult;

type Entry = readonly [Buffer, Buffer];

interface Store {
  get(key: Buffer): Promise<unknown>;
  put(key: Buffer, value: Buffer): Promise<void>;
  /** One batch (Cairn) or transaction (etcd); atomic at least per range. */
  putMany(entries: readonly Entry[]): Promise<void>;
  close(): Promise<void>;
}

async function openStore(config: WorkerConfig): Promise<Store> {
  if (config.target === 'cairn') {
    const client = await KvClient.connect({ addresses: config.addresses, requestTimeoutMs: 30_000 });
    return {
      get: (key) => client.get(key),
      put: (key, value) => client.put(key, value),
      putMany: async (entries) => {
        await client.batch(entries.map(([key, value]) => ({ request: { $case: 'put', value: { key, value } } })));
      },
      close: () => client.close(),
    };
  }
  const client = new EtcdClient(config.addresses[0] as string);
  return {
    get: (key) => client.get(key),
    put: (key, value) => client.put(key, value),
    putMany: (entries) => client.putMany(entries),
    close: async () => client.close(),
  };
}

const now = (): number => Number(process.hrtime.bigint()) / 1e9;

async function writeAll(
  store: Store,
  target: WorkerConfig['target'],
  task: Extract<WorkerTask, { kind: 'write-all' }>,
): Promise<WriteAllResult> {
  const values = new ValuePool(task.valueBytes);
  const random = seededRandom(1);
  const start = now();
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;
  let lastReport = start;
  await Promise.all(
    Array.from({ length: task.concurrency }, async () => {
      while (next < task.count) {
        const from = next;
        next = Math.min(task.count, from + task.batchSize);
        const entries: Entry[] = [];
        for (let i = from; i < next; i++) {
          entries.push([benchKey(task.prefix, i), values.next(random)]);
        }
        try {
          await store.putMany(entries);
        } catch (err) {
          errors += entries.length;
          firstError ??= String((err as Error).message ?? err);
        }
        if (now() - lastReport > 10) {
          lastReport = now();
          process.stderr.write(`kv-worker (${target}): wrote ${next}/${task.count} keys\n`);
        }
      }
    }),
  );
  return { kind: 'write-all', ops: task.count, seconds: round(now() - start), errors, ...(firstError === undefined ? {} : { firstError }) };
}

async function run(store: Store, task: Extract<WorkerTask, { kind: 'run' }>): Promise<RunResult> {
  const values = new ValuePool(task.valueBytes);
  const readShare = task.workload === 'kv95' ? 0.95 : 0;
  const result = await runLoadLoop(task, async (random) => {
    const read = random() < readShare;
    const key = benchKey(task.prefix, Math.floor(random() * task.keys));
    if (read) {
      await store.get(key);
      return 'read';
    }
    await store.put(key, values.next(random));
    return 'write';
  });
  const first = firstError(result);
  return {
    kind: 'run',
    ops: result.ops,
    opsPerSec: result.opsPerSec,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    readP99Ms: result.kinds.read?.p99Ms ?? 0,
    writeP99Ms: result.kinds.write?.p99Ms ?? 0,
    reads: result.kinds.read?.ops ?? 0,
    writes: result.kinds.write?.ops ?? 0,
    errors: result.errors,
    ...(first === undefined ? {} : { firstError: first }),
  };
}

async function main(config: WorkerConfig): Promise<WorkerResult> {
  const store = await openStore(config);
  try {
    return config.task.kind === 'write-all' ? await writeAll(store, config.target, config.task) : await run(store, config.task);
  } finally {
    await closeWithin(store.close());
  }
}

if (require.main === module) {
  workerMain('kv-worker', main);
}
