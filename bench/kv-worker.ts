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
import { randomBytes } from 'node:crypto';
import { KvClient } from '../kv';
import { EtcdClient } from './etcd';
import { LatencyRecorder, round } from './report';

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

export function benchKey(prefix: string, i: number): Buffer {
  return Buffer.from(`${prefix}${String(i).padStart(9, '0')}`);
}

/** Incompressible values without a random draw per write: slices of a random pool. */
class Values {
  private readonly pool = randomBytes(4 * 1024 * 1024);

  constructor(private readonly valueBytes: number) {}

  next(random: () => number): Buffer {
    const offset = Math.floor(random() * (this.pool.length - this.valueBytes));
    return this.pool.subarray(offset, offset + this.valueBytes);
  }
}

/** xorshift32: seeded, so a run's key sequence can be repeated. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 0x9e3779b9;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x1_0000_0000;
  };
}

const now = (): number => Number(process.hrtime.bigint()) / 1e9;

async function writeAll(
  store: Store,
  target: WorkerConfig['target'],
  task: Extract<WorkerTask, { kind: 'write-all' }>,
): Promise<WriteAllResult> {
  const values = new Values(task.valueBytes);
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
  const values = new Values(task.valueBytes);
  const all = new LatencyRecorder();
  const reads = new LatencyRecorder();
  const writes = new LatencyRecorder();
  const readShare = task.workload === 'kv95' ? 0.95 : 0;
  const measureFrom = process.hrtime.bigint() + BigInt(Math.round(task.warmupSeconds * 1e9));
  const end = measureFrom + BigInt(Math.round(task.seconds * 1e9));
  let ops = 0;
  let readCount = 0;
  let writeCount = 0;
  let errors = 0;
  let firstError: string | undefined;
  await Promise.all(
    Array.from({ length: task.clients }, async (_, client) => {
      const random = seededRandom(task.seed * 1_000 + client + 1);
      while (true) {
        const before = process.hrtime.bigint();
        if (before >= end) {
          return;
        }
        const read = random() < readShare;
        const key = benchKey(task.prefix, Math.floor(random() * task.keys));
        let failure: unknown;
        try {
          if (read) {
            await store.get(key);
          } else {
            await store.put(key, values.next(random));
          }
        } catch (err) {
          failure = err ?? new Error('unknown error');
        }
        if (before < measureFrom) {
          continue;
        }
        if (failure !== undefined) {
          errors++;
          firstError ??= String((failure as Error).message ?? failure);
          continue;
        }
        const nanos = Number(process.hrtime.bigint() - before);
        all.record(nanos);
        (read ? reads : writes).record(nanos);
        ops++;
        if (read) {
          readCount++;
        } else {
          writeCount++;
        }
      }
    }),
  );
  return {
    kind: 'run',
    ops,
    opsPerSec: round(ops / task.seconds),
    p50Ms: all.percentileMs(50),
    p99Ms: all.percentileMs(99),
    readP99Ms: reads.percentileMs(99),
    writeP99Ms: writes.percentileMs(99),
    reads: readCount,
    writes: writeCount,
    errors,
    ...(firstError === undefined ? {} : { firstError }),
  };
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '') as WorkerConfig;
  const store = await openStore(config);
  try {
    const result = config.task.kind === 'write-all' ? await writeAll(store, config.target, config.task) : await run(store, config.task);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await store.close();
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`kv-worker failed: ${String((err as Error).stack ?? err)}\n`);
      process.exit(1);
    },
  );
}
