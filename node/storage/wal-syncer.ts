import { Worker } from 'node:worker_threads';
import { StorageIoError } from './errors';

/**
 * The worker's code, plain CommonJS so it runs the same under ts-node loaders, jest
 * and compiled output. It shares the main thread's open RocksDB (by handle) and does
 * one thing: a synced empty write, which fsyncs the WAL up to every write before it.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const native = require(workerData.bindingPath);
const db = native.db_init(workerData.handle);
parentPort.on('message', () => {
  try {
    native.batch_write(db, native.batch_init(), { sync: true });
    parentPort.postMessage({ ok: true });
  } catch (err) {
    parentPort.postMessage({ ok: false, error: String(err && err.message || err) });
  }
});
`;

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Makes writes durable without blocking the JavaScript thread: a write is applied at
 * once (visible to readers, in order with them) without sync, and `sync()` resolves
 * once a worker thread has fsynced the WAL past it. Calls that arrive while an fsync
 * runs share the next one (group commit).
 */
export class WalSyncer {
  private readonly worker: Worker;
  private queued: Waiter[] = [];
  private inFlight: Waiter[] | undefined;
  private failed: Error | undefined;
  private syncs = 0;

  constructor(handle: bigint, location: string) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { handle, bindingPath: require.resolve('@nxtedition/rocksdb/binding') },
    });
    // Idle, the thread must not keep the process alive; a sync in flight must (maybeStart).
    this.worker.unref();
    this.worker.on('message', (result: { ok: boolean; error?: string }) => {
      const done = this.inFlight ?? [];
      this.inFlight = undefined;
      this.syncs++;
      for (const waiter of done) {
        if (result.ok) {
          waiter.resolve();
        } else {
          waiter.reject(new StorageIoError(`cannot sync the WAL of ${location}: ${result.error ?? 'unknown error'}`));
        }
      }
      this.maybeStart();
    });
    this.worker.on('error', (err) => {
      this.failed = new StorageIoError(`the WAL sync thread of ${location} failed: ${err.message}`, err);
      for (const waiter of [...(this.inFlight ?? []), ...this.queued]) {
        waiter.reject(this.failed);
      }
      this.inFlight = undefined;
      this.queued = [];
    });
  }

  /** Resolves once every write applied before this call is on disk. */
  sync(): Promise<void> {
    if (this.failed !== undefined) {
      return Promise.reject(this.failed);
    }
    return new Promise<void>((resolve, reject) => {
      this.queued.push({ resolve, reject });
      this.maybeStart();
    });
  }

  /** fsyncs done so far. */
  get syncCount(): number {
    return this.syncs;
  }

  /** Waits for outstanding syncs, then stops the thread (before the database closes). */
  async close(): Promise<void> {
    if (this.inFlight !== undefined || this.queued.length > 0) {
      // Syncs run in order: one asked for now completes after every earlier one.
      await this.sync().catch(() => undefined);
    }
    await this.worker.terminate();
  }

  private maybeStart(): void {
    if (this.inFlight !== undefined || this.failed !== undefined) {
      return;
    }
    if (this.queued.length === 0) {
      this.worker.unref();
      return;
    }
    this.inFlight = this.queued;
    this.queued = [];
    // Someone awaits this fsync: the process must not exit before it answers.
    this.worker.ref();
    this.worker.postMessage(0);
  }
}
