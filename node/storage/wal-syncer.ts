import fs from 'node:fs';
import path from 'node:path';
import { StorageIoError } from './errors';

/** An open file that can be made durable. */
export interface SyncableFile {
  datasync(): Promise<void>;
  close(): Promise<void>;
}

/** The file operations the syncer needs; tests give their own. */
export interface WalFileSystem {
  /** The names of the entries in `directory`. */
  list(directory: string): Promise<string[]>;
  /** Opens a file for syncing; rejects with code ENOENT when it is gone. */
  open(file: string): Promise<SyncableFile>;
  /** Makes the directory's entries (a new file's name) durable. */
  syncDirectory(directory: string): Promise<void>;
}

/** The real file system, through libuv's thread pool. */
export const NODE_WAL_FILE_SYSTEM: WalFileSystem = {
  list: (directory) => fs.promises.readdir(directory),
  open: (file) => fs.promises.open(file, 'r'),
  async syncDirectory(directory) {
    const handle = await fs.promises.open(directory, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/** RocksDB's WAL files: `<number>.log` in the database directory. */
const WAL_FILE = /^(\d+)\.log$/;

function walNumber(name: string): number {
  return Number(WAL_FILE.exec(name)?.[1] ?? 0);
}

/**
 * Makes writes durable without blocking the JavaScript thread: a write is applied at
 * once, unsynced (visible to readers, in order with them; RocksDB has handed its WAL
 * record to the OS by the time the write returns), and `sync()` resolves once the WAL
 * files holding it are fdatasynced. Calls that arrive while a sync runs share the next
 * one (group commit).
 *
 * The files are synced through descriptors of our own rather than by a synced RocksDB
 * write: such a write leads a RocksDB write group, and every write arriving during its
 * fsync queues behind it, on the event loop (an unsynced write's mean went from 13 to
 * 42 µs, its p99 from 24 to 343 µs, with a synced write running back to back).
 *
 * - A WAL file that is gone had its memtables flushed to table files, which RocksDB
 *   syncs itself.
 * - A file that a newer one superseded before a sync listed the directory gets no more
 *   writes: synced once more, it is final.
 * - A new file's name is made durable by an fsync of the directory.
 * - A failed fsync fails every later sync too: after one, Linux may report a later
 *   fsync of the same pages as successful though they never reached the disk.
 */
export class WalSyncer {
  private queued: Waiter[] = [];
  private running: Promise<void> | undefined;
  private failed: Error | undefined;
  private syncs = 0;
  /** Open WAL files that may still get writes or were not synced since their last one. */
  private readonly open = new Map<string, SyncableFile>();
  /** WAL files synced after a newer one appeared: nothing more to sync in them. */
  private readonly final = new Set<string>();
  /** The WAL files of the last listing, oldest first, and `walGeneration()` just before it. */
  private listed: string[] = [];
  private listedGeneration: number | undefined;

  /**
   * `walGeneration`, if given, is a number that changes whenever RocksDB may have
   * started a new WAL file (with one column family, its super version number: every
   * memtable switch moves it): while it stays, the last listing still holds.
   */
  constructor(
    private readonly location: string,
    private readonly files: WalFileSystem = NODE_WAL_FILE_SYSTEM,
    private readonly walGeneration?: () => number,
  ) {}

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

  /** Syncs done so far. */
  get syncCount(): number {
    return this.syncs;
  }

  /** Waits for outstanding syncs, then closes the files (before the database closes). */
  async close(): Promise<void> {
    if (this.running !== undefined || this.queued.length > 0) {
      // Syncs run in order: one asked for now completes after every earlier one.
      await this.sync().catch(() => undefined);
    }
    const files = [...this.open.values()];
    this.open.clear();
    await Promise.all(files.map((file) => file.close().catch(() => undefined)));
  }

  private maybeStart(): void {
    if (this.running !== undefined || this.failed !== undefined || this.queued.length === 0) {
      return;
    }
    const waiters = this.queued;
    this.queued = [];
    this.running = this.syncWalFiles().then(
      () => {
        this.running = undefined;
        this.syncs++;
        for (const waiter of waiters) waiter.resolve();
        this.maybeStart();
      },
      (err: unknown) => {
        this.running = undefined;
        const cause = err instanceof Error ? err : new Error(String(err));
        this.failed = new StorageIoError(`cannot sync the WAL of ${this.location}: ${cause.message}`, cause);
        for (const waiter of [...waiters, ...this.queued]) waiter.reject(this.failed);
        this.queued = [];
      },
    );
  }

  private async syncWalFiles(): Promise<void> {
    // Read before the listing: a WAL file started after it moves the generation, and
    // any write this sync covers went to a file started before the sync began.
    const generation = this.walGeneration?.();
    if (generation === undefined || generation !== this.listedGeneration) {
      await this.relist();
      this.listedGeneration = generation;
    }
    const names = this.listed.filter((name) => !this.final.has(name));
    let appeared = false;
    for (const name of names) {
      if (this.open.has(name)) continue;
      try {
        this.open.set(name, await this.files.open(path.join(this.location, name)));
        appeared = true;
      } catch (err) {
        // Gone since the listing: its data is in table files.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    await Promise.all([...this.open.values()].map((file) => file.datasync()));
    if (appeared) await this.files.syncDirectory(this.location);
    for (const name of names.slice(0, -1)) {
      const file = this.open.get(name);
      this.open.delete(name);
      this.final.add(name);
      await file?.close();
    }
  }

  /** Lists the WAL files (oldest first) and lets go of those gone since the last listing. */
  private async relist(): Promise<void> {
    this.listed = (await this.files.list(this.location)).filter((name) => WAL_FILE.test(name)).sort((a, b) => walNumber(a) - walNumber(b));
    const listed = new Set(this.listed);
    for (const name of this.final) {
      if (!listed.has(name)) this.final.delete(name);
    }
    for (const [name, file] of this.open) {
      if (!listed.has(name)) {
        this.open.delete(name);
        await file.close();
      }
    }
  }
}
