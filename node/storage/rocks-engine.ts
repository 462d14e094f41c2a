import * as fs from 'node:fs';
import * as path from 'node:path';
import { assert } from '../../common/errors';
import type {
  CursorOptions,
  Engine,
  EngineCursor,
  EngineLimits,
  EngineSnapshot,
  StorageStats,
  WriteBatch,
  WriteOptions,
} from './engine';
import { BatchAdmission, DEFAULT_ENGINE_LIMITS } from './engine';
import { StorageClosedError, StorageCorruptionError, StorageIoError, StorageLockedError } from './errors';
import { LockTableIndex } from './lock-table-index';
import { LOCK_TABLE_PREFIX } from './mvcc-key';
import { intentTxnId } from './mvcc-value';
import type { RocksIterator, RocksIteratorKind, RocksOpenOptions } from './rocks-binding';
import { RocksBatch, RocksDatabase } from './rocks-binding';
import { NODE_WAL_FILE_SYSTEM, WalSyncer } from './wal-syncer';

export interface RocksEngineOptions {
  readonly limits?: Partial<EngineLimits>;
  /** Create the store when the folder holds none (default true). */
  readonly createIfMissing?: boolean;
  /** Block cache size in bytes (default 256 MiB). */
  readonly cacheSizeBytes?: number;
}

export const DEFAULT_CACHE_SIZE_BYTES = 256 * 1024 * 1024;


/**
 * How a node's RocksDB is configured: a block cache big enough for a working set,
 * leveled compaction with the hot upper levels uncompressed (a read of recent data
 * should not pay for decompression), bloom filters (the binding's default), and an
 * uncompressed WAL: every write pays for compressing its WAL record on the event loop,
 * while what it saves is disk bandwidth, which a node does not run short of (the Raft
 * log already holds each command once, in the same WAL). Measured: an unsynced write of
 * 1 KiB + 100 B, 10.3 → 7.2 µs.
 */
export function rocksOpenOptions(options: RocksEngineOptions = {}): RocksOpenOptions {
  return {
    createIfMissing: options.createIfMissing ?? true,
    infoLogLevel: 'warn',
    cacheSize: options.cacheSizeBytes ?? DEFAULT_CACHE_SIZE_BYTES,
    compaction: 'level',
    memtableMemoryBudget: 256 * 1024 * 1024,
    walCompression: false,
  };
}

export interface CheckpointProgress {
  readonly entries: number;
  readonly bytes: number;
}

export interface CheckpointOptions {
  readonly onProgress?: (progress: CheckpointProgress) => void;
  /** Bytes per write batch of the copy (default 4 MiB). */
  readonly chunkBytes?: number;
}

export type CheckpointResult = CheckpointProgress;

const SCAN_CHUNK_ENTRIES = 256;
/**
 * Entries read right after a seek at most; chunks then grow eightfold. Each row read
 * costs about 3 µs (the binding copies key and value into new Buffers), and an MVCC
 * scan reads a key's newest version and at most 8 older ones before it seeks past the
 * rest: a scan-sized chunk would copy hundreds of old versions only to drop them.
 */
const FIRST_CHUNK_ENTRIES = 10;
const SMALLEST_KEY = Buffer.from([0x00]);
/** Every lock table key is at or above the start and below the end. */
const LOCK_TABLE_START = Buffer.from([LOCK_TABLE_PREFIX]);
const LOCK_TABLE_END = Buffer.from([LOCK_TABLE_PREFIX + 1]);

/** Turns an error of the binding into a typed storage error. */
export function toStorageError(err: unknown, location: string, doing: string): Error {
  const cause = (err as { cause?: { message?: string; code?: string } }).cause;
  const message = cause?.message ?? (err as Error).message ?? String(err);
  if (cause?.code === 'LEVEL_LOCKED' || (/lock/i.test(message) && /LOCK/.test(message))) {
    return new StorageLockedError(location, err);
  }
  if (/Corruption/i.test(message)) {
    return new StorageCorruptionError(`${doing} ${location}: ${message}`, err);
  }
  return new StorageIoError(`${doing} ${location}: ${message}`, err);
}

/**
 * The RocksDB engine of one node. All writes go through `write`, which the binding
 * performs synchronously on the JavaScript thread: no write can land between two
 * statements of synchronous code, which is what lets a snapshot open its forward and
 * reverse iterators one after the other at the same point in time.
 */
export class RocksEngine implements Engine {
  readonly limits: EngineLimits;
  private closed = false;
  /** A tailing iterator kept for point seeks on the latest data; see `cursor`. */
  private idleTailing: RocksIterator | undefined;
  /** Every native iterator still open: closed before the database, never used after. */
  private readonly openIterators = new Set<RocksIterator>();
  private readonly lockTable = new LockTableIndex();
  private readonly walSyncer: WalSyncer;

  private constructor(
    private readonly db: RocksDatabase,
    readonly path: string,
    limits: EngineLimits,
  ) {
    this.limits = limits;
    this.walSyncer = new WalSyncer(path, NODE_WAL_FILE_SYSTEM, () => Number(db.getProperty('rocksdb.current-super-version-number')));
  }

  /** The live lock table keys, for cursors (see RocksCursor.fillFromLockTable). */
  get lockTableIndex(): LockTableIndex {
    return this.lockTable;
  }

  static async open(location: string, options: RocksEngineOptions = {}): Promise<RocksEngine> {
    const limits = { ...DEFAULT_ENGINE_LIMITS, ...options.limits };
    const resolved = path.resolve(location);
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(resolved);
    } catch {
      stat = undefined;
    }
    if (stat !== undefined && !stat.isDirectory()) {
      throw new StorageIoError(`cannot open store ${resolved}: it is not a directory`);
    }
    if (stat === undefined && options.createIfMissing === false) {
      throw new StorageIoError(`cannot open store ${resolved}: no such directory`);
    }
    let db: RocksDatabase;
    try {
      db = await RocksDatabase.open(resolved, rocksOpenOptions(options));
    } catch (err) {
      throw toStorageError(err, resolved, 'cannot open store');
    }
    const engine = new RocksEngine(db, resolved, limits);
    engine.loadLockTableIndex();
    return engine;
  }

  /** Reads the lock table from RocksDB itself (cursors there read the index). */
  private loadLockTableIndex(): void {
    const iterator = this.newIterator('forward');
    try {
      iterator.seek(LOCK_TABLE_START);
      for (;;) {
        const { rows, finished } = iterator.next(SCAN_CHUNK_ENTRIES);
        for (let i = 0; i < rows.length; i += 2) {
          const key = rows[i] as Buffer;
          if (Buffer.compare(key, LOCK_TABLE_END) >= 0) return;
          this.lockTable.add(key, intentTxnId(rows[i + 1] as Buffer));
        }
        if (finished || rows.length === 0) return;
      }
    } catch (err) {
      throw toStorageError(err, this.path, 'cannot read from store');
    } finally {
      this.closeIterator(iterator);
    }
  }

  /**
   * The values of `keys` in one read (undefined where absent). Lock table keys the
   * index knows to be absent are not asked for: a RocksDB lookup of a missing key
   * searches every memtable, and most reads ask for a key's lock, which few keys have.
   */
  getMany(keys: readonly Uint8Array[]): (Buffer | undefined)[] {
    this.checkOpen();
    let asked: Uint8Array[] | undefined;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as Uint8Array;
      if (LockTableIndex.isLockTableKey(key) && !this.lockTable.mayContain(key)) {
        asked ??= keys.slice(0, i);
      } else if (asked !== undefined) {
        asked.push(key);
      }
    }
    try {
      if (asked === undefined) return this.db.getMany(keys);
      const found = asked.length === 0 ? [] : this.db.getMany(asked);
      const values: (Buffer | undefined)[] = new Array<Buffer | undefined>(keys.length);
      let next = 0;
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i] as Uint8Array;
        values[i] = key === asked[next] ? found[next++] : undefined;
      }
      return values;
    } catch (err) {
      throw toStorageError(err, this.path, 'cannot read from store');
    }
  }

  get(key: Uint8Array): Buffer | undefined {
    this.checkOpen();
    if (LockTableIndex.isLockTableKey(key) && !this.lockTable.mayContain(key)) {
      return undefined;
    }
    try {
      return this.db.get(key);
    } catch (err) {
      throw toStorageError(err, this.path, 'cannot read from store');
    }
  }

  /**
   * A cursor over the latest data. A forward cursor borrows a tailing iterator, which
   * sees every write as soon as it is applied and costs no snapshot per seek; it suits
   * point lookups and scans done in one synchronous stretch. Use `snapshot()` for a
   * view that must stay fixed across awaits.
   */
  cursor(options: CursorOptions = {}): EngineCursor {
    this.checkOpen();
    if (options.reverse === true) {
      const iterator = this.newIterator('reverse');
      return new RocksCursor(iterator, options, this, () => this.closeIterator(iterator));
    }
    const tailing = this.idleTailing ?? this.newIterator('tailing');
    this.idleTailing = undefined;
    return new RocksCursor(tailing, options, this, () => {
      if (this.idleTailing === undefined && !this.closed) {
        this.idleTailing = tailing;
      } else {
        this.closeIterator(tailing);
      }
    });
  }

  snapshot(): EngineSnapshot {
    this.checkOpen();
    // Both iterators are created in one synchronous stretch, so they see the same data.
    const forward = this.newIterator('forward');
    const reverse = this.newIterator('reverse');
    return new RocksSnapshot(forward, reverse, this);
  }

  newBatch(): WriteBatch {
    this.checkOpen();
    return new RocksWriteBatch(this.db.batch(), this.limits);
  }

  /**
   * Applies the batch at once, on this thread: readers see it as soon as this returns
   * control, in order with every other write. With `sync`, the promise resolves once
   * the WAL files holding it are fdatasynced off the event loop (WalSyncer), so an
   * fsync never blocks it, nor an unsynced write, and concurrent synced writes share one.
   */
  async write(batch: WriteBatch, options: WriteOptions = {}): Promise<void> {
    this.checkOpen();
    assert(batch instanceof RocksWriteBatch, 'a RocksEngine writes only its own batches');
    batch.writeTo(this.db, false, this.path, this.lockTable);
    if (options.sync === true) {
      await this.walSyncer.sync();
    }
  }

  /** fsyncs of the WAL so far. */
  get walSyncCount(): number {
    return this.walSyncer.syncCount;
  }

  /**
   * Writes a consistent copy of the whole store into `targetDir` (which must not hold
   * a store), for Raft snapshots and backups. It copies from a snapshot, so writes may
   * go on meanwhile; the copy is synced before the promise resolves. Progress is
   * reported after each chunk.
   */
  async checkpoint(targetDir: string, options: CheckpointOptions = {}): Promise<CheckpointResult> {
    this.checkOpen();
    const target = path.resolve(targetDir);
    if (fs.existsSync(target) && fs.readdirSync(target).length > 0) {
      throw new StorageIoError(`cannot checkpoint into ${target}: the directory is not empty`);
    }
    const chunkBytes = options.chunkBytes ?? 4 * 1024 * 1024;
    const snapshot = this.snapshot();
    let copy: RocksDatabase | undefined;
    let entries = 0;
    let bytes = 0;
    try {
      try {
        copy = await RocksDatabase.open(target, { ...rocksOpenOptions(), errorIfExists: true });
      } catch (err) {
        throw toStorageError(err, target, 'cannot create checkpoint');
      }
      const cursor = snapshot.cursor({ expectedEntries: SCAN_CHUNK_ENTRIES });
      try {
        cursor.seek(SMALLEST_KEY);
        while (cursor.valid()) {
          const batch = copy.batch();
          let batchBytes = 0;
          while (cursor.valid() && batchBytes < chunkBytes) {
            batch.put(cursor.key(), cursor.value());
            batchBytes += cursor.key().length + cursor.value().length;
            entries++;
            cursor.next();
          }
          copy.write(batch, false);
          bytes += batchBytes;
          options.onProgress?.({ entries, bytes });
          // Let the node serve other work between chunks.
          await new Promise<void>((resolve) => setImmediate(resolve));
          this.checkOpen();
        }
      } finally {
        cursor.close();
      }
      // One synced empty write makes everything before it durable in the WAL.
      copy.write(copy.batch(), true);
    } finally {
      snapshot.close();
      await copy?.close();
    }
    return { entries, bytes };
  }

  /** A RocksDB property such as `rocksdb.estimate-num-keys`. */
  property(name: string): string {
    this.checkOpen();
    return this.db.getProperty(name);
  }

  /** RocksDB's background work and write stalls now (cheap: it reads counters). */
  storageStats(): StorageStats {
    const int = (name: string): number => {
      const value = Number(this.property(name));
      return Number.isFinite(value) ? value : 0;
    };
    return {
      pendingCompactionBytes: int('rocksdb.estimate-pending-compaction-bytes'),
      runningCompactions: int('rocksdb.num-running-compactions'),
      runningFlushes: int('rocksdb.num-running-flushes'),
      memtableBytes: int('rocksdb.cur-size-all-mem-tables'),
      sstBytes: int('rocksdb.total-sst-files-size'),
      level0Files: int('rocksdb.num-files-at-level0'),
      writesStopped: int('rocksdb.is-write-stopped') !== 0,
      delayedWriteBytesPerSecond: int('rocksdb.actual-delayed-write-rate'),
    };
  }

  async close(): Promise<void> {
    if (this.closed) {
      return;
    }
    this.closed = true;
    this.idleTailing = undefined;
    for (const iterator of this.openIterators) {
      iterator.close();
    }
    this.openIterators.clear();
    await this.walSyncer.close();
    await this.db.close();
  }

  /** Throws StorageClosedError once the engine is closed. */
  checkOpen(): void {
    if (this.closed || !this.db.isOpen) {
      throw new StorageClosedError(this.path);
    }
  }

  private newIterator(kind: RocksIteratorKind): RocksIterator {
    try {
      const iterator = this.db.iterator(kind);
      this.openIterators.add(iterator);
      return iterator;
    } catch (err) {
      throw toStorageError(err, this.path, 'cannot read from store');
    }
  }

  closeIterator(iterator: RocksIterator): void {
    if (this.openIterators.delete(iterator)) {
      iterator.close();
    }
  }
}

class RocksWriteBatch implements WriteBatch {
  private readonly admission: BatchAdmission;
  /** Lock table keys this batch puts (with the value) or deletes (undefined), in order. */
  private lockTableChanges: [Uint8Array, Uint8Array | undefined][] | undefined;

  constructor(
    private readonly batch: RocksBatch,
    limits: EngineLimits,
  ) {
    this.admission = new BatchAdmission(limits);
  }

  get count(): number {
    return this.admission.count;
  }

  get byteSize(): number {
    return this.admission.byteSize;
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.admission.admitPut(key, value);
    this.batch.put(key, value);
    if (LockTableIndex.isLockTableKey(key)) {
      (this.lockTableChanges ??= []).push([key, value]);
    }
  }

  delete(key: Uint8Array): void {
    this.admission.admitDelete(key);
    this.batch.delete(key);
    if (LockTableIndex.isLockTableKey(key)) {
      (this.lockTableChanges ??= []).push([key, undefined]);
    }
  }

  writeTo(db: RocksDatabase, sync: boolean, location: string, lockTable: LockTableIndex): void {
    this.admission.markWritten();
    try {
      db.write(this.batch, sync);
    } catch (err) {
      throw toStorageError(err, location, 'cannot write to store');
    } finally {
      this.batch.clear();
    }
    // Only after the write: the index may never claim a key is absent while it is there.
    for (const [key, value] of this.lockTableChanges ?? []) {
      if (value !== undefined) {
        lockTable.add(key, intentTxnId(value));
      } else {
        lockTable.remove(key);
      }
    }
  }
}

/**
 * Reads from a RocksDB iterator in chunks: right after a seek as many entries as the
 * caller expects (point lookups read one) up to FIRST_CHUNK_ENTRIES, then chunks
 * growing eightfold.
 */
class RocksCursor implements EngineCursor {
  private rows: Buffer[] = [];
  private position = 0;
  private finished = true;
  private nextChunk = 1;
  private open = true;
  private readonly firstChunk: number;
  private readonly reverse: boolean;
  private readonly skipIntentsOf: Uint8Array | undefined;
  private readonly upperBound: Uint8Array | undefined;
  /** Inside the lock table: where the next chunk of live keys starts. */
  private lockFrom: { key: Uint8Array; exclusive: boolean } | undefined;

  constructor(
    private readonly iterator: RocksIterator,
    options: CursorOptions,
    private readonly engine: RocksEngine,
    private readonly release: () => void,
  ) {
    this.firstChunk = Math.max(1, Math.min(options.expectedEntries ?? 1, FIRST_CHUNK_ENTRIES));
    this.reverse = options.reverse === true;
    this.skipIntentsOf = options.skipIntentsOf;
    this.upperBound = options.upperBound;
  }

  seek(target: Uint8Array): void {
    assert(this.open, 'cursor is closed');
    this.engine.checkOpen();
    this.nextChunk = this.firstChunk;
    if (LockTableIndex.isLockTableKey(target)) {
      this.lockFrom = { key: target, exclusive: false };
      this.fillFromLockTable();
      return;
    }
    this.seekRocks(target);
  }

  valid(): boolean {
    return this.position < this.rows.length;
  }

  key(): Buffer {
    return this.rows[this.position] as Buffer;
  }

  value(): Buffer {
    return this.rows[this.position + 1] as Buffer;
  }

  next(): void {
    this.position += 2;
    if (this.position >= this.rows.length) {
      if (this.lockFrom !== undefined) this.fillFromLockTable();
      else this.fill();
    }
  }

  close(): void {
    if (this.open) {
      this.open = false;
      this.rows = [];
      this.lockFrom = undefined;
      this.release();
    }
  }

  /**
   * Inside the lock table the cursor walks the engine's index of live keys, reading
   * their values a chunk at a time, never RocksDB's iterator, which would step over the
   * tombstone of every intent resolved since the last compaction. Past the table's end
   * (or its start, in reverse), it goes on in RocksDB.
   */
  private fillFromLockTable(): void {
    const index = this.engine.lockTableIndex;
    this.rows = [];
    this.position = 0;
    while (this.lockFrom !== undefined && this.rows.length === 0) {
      let keys: Buffer[];
      let last: Buffer | undefined;
      if (this.reverse) {
        keys = [];
        let { key: from, exclusive } = this.lockFrom;
        while (keys.length < this.nextChunk) {
          const key = index.floor(from, exclusive);
          if (key === undefined || !LockTableIndex.isLockTableKey(key)) break;
          keys.push(key);
          from = key;
          exclusive = true;
        }
        last = keys[keys.length - 1];
      } else {
        ({ keys, last } = index.walk(this.lockFrom.key, this.lockFrom.exclusive, this.upperBound, this.nextChunk, this.skipIntentsOf));
      }
      if (keys.length === 0 && last === undefined) {
        // Past the table's end (or its start, or the upper bound): on in RocksDB.
        this.lockFrom = undefined;
        this.seekRocks(this.reverse ? LOCK_TABLE_START : LOCK_TABLE_END);
        // In reverse the seek lands at or below the table's first possible key: step off it.
        while (this.reverse && this.valid() && LockTableIndex.isLockTableKey(this.key())) this.next();
        return;
      }
      this.lockFrom = { key: last ?? (keys[keys.length - 1] as Buffer), exclusive: true };
      if (keys.length > 0) {
        const values = this.engine.getMany(keys);
        keys.forEach((key, i) => {
          const value = values[i];
          if (value !== undefined) this.rows.push(key, value);
        });
      }
      this.nextChunk = Math.min(this.nextChunk * 8, SCAN_CHUNK_ENTRIES);
    }
  }

  private seekRocks(target: Uint8Array): void {
    this.rows = [];
    this.position = 0;
    if (target.length === 0) {
      // No key is empty: forward, start at the smallest key; in reverse, there is none.
      if (this.reverse) {
        this.finished = true;
        return;
      }
      target = SMALLEST_KEY;
    }
    try {
      this.iterator.seek(target);
    } catch (err) {
      throw toStorageError(err, this.engine.path, 'cannot read from store');
    }
    this.finished = false;
    this.fill();
  }

  private fill(): void {
    this.rows = [];
    this.position = 0;
    if (this.finished) {
      return;
    }
    this.engine.checkOpen();
    try {
      const result = this.iterator.next(this.nextChunk);
      this.rows = result.rows;
      this.finished = result.finished;
    } catch (err) {
      throw toStorageError(err, this.engine.path, 'cannot read from store');
    }
    this.nextChunk = Math.min(this.nextChunk * 8, SCAN_CHUNK_ENTRIES);
  }
}

class RocksSnapshot implements EngineSnapshot {
  private forwardInUse = false;
  private reverseInUse = false;
  private closed = false;

  constructor(
    private readonly forward: RocksIterator,
    private readonly reverse: RocksIterator,
    private readonly engine: RocksEngine,
  ) {}

  getMany(keys: readonly Uint8Array[]): (Buffer | undefined)[] {
    return keys.map((key) => this.get(key));
  }

  get(key: Uint8Array): Buffer | undefined {
    const cursor = this.cursor({ expectedEntries: 1 });
    try {
      cursor.seek(key);
      return cursor.valid() && Buffer.compare(cursor.key(), key) === 0 ? cursor.value() : undefined;
    } finally {
      cursor.close();
    }
  }

  /** One cursor per direction at a time: each direction has one iterator on the snapshot. */
  cursor(options: CursorOptions = {}): EngineCursor {
    assert(!this.closed, 'snapshot is closed');
    if (options.reverse === true) {
      assert(!this.reverseInUse, 'a snapshot has one reverse cursor open at a time');
      this.reverseInUse = true;
      return new RocksCursor(this.reverse, options, this.engine, () => {
        this.reverseInUse = false;
      });
    }
    assert(!this.forwardInUse, 'a snapshot has one forward cursor open at a time');
    this.forwardInUse = true;
    return new RocksCursor(this.forward, options, this.engine, () => {
      this.forwardInUse = false;
    });
  }

  close(): void {
    if (!this.closed) {
      this.closed = true;
      this.engine.closeIterator(this.forward);
      this.engine.closeIterator(this.reverse);
    }
  }
}
