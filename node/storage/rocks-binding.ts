/**
 * The narrow, typed slice of `@nxtedition/rocksdb` that Cairn uses. The package ships
 * no type declarations. Opening and closing go through its `RocksLevel` class; reads
 * and writes call the native binding directly: its synchronous paths (point reads,
 * iterator seeks, batch writes) without the abstract-level wrappers, which cost a few
 * microseconds per call and keep every batch and iterator in a set until closed
 * through them. Every such use is in this one file, so an upgrade of the binding is a
 * one-file review.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const rocksdb = require('@nxtedition/rocksdb') as { RocksLevel: RocksLevelConstructor };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const native = require('@nxtedition/rocksdb/binding') as NativeBinding;

export interface RocksOpenOptions {
  readonly createIfMissing?: boolean;
  readonly errorIfExists?: boolean;
  readonly infoLogLevel?: 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'header' | null;
  readonly cacheSize?: number;
  /** 'level': leveled compaction, no compression on L0 and L1, ZSTD below. */
  readonly compaction?: 'level' | 'universal';
  /** Memory for memtables; write buffers are a quarter of it. */
  readonly memtableMemoryBudget?: number;
  /** ZSTD-compress WAL records (the binding's default: true). */
  readonly walCompression?: boolean;
}

/** Opaque native handles. */
type DbContext = { readonly __brand: 'DbContext' };
type IteratorContext = { readonly __brand: 'IteratorContext' };
type BatchContext = { readonly __brand: 'BatchContext' };

interface NativeIteratorOptions {
  readonly keyEncoding: 'buffer';
  readonly valueEncoding: 'buffer';
  readonly reverse?: boolean;
  readonly tailing?: boolean;
  readonly fillCache?: boolean;
}

interface NativeBinding {
  db_init(handle: bigint): DbContext;
  db_get_many_sync(db: DbContext, keys: readonly Uint8Array[], options: object): (Buffer | undefined | null)[];
  iterator_init(db: DbContext, options: NativeIteratorOptions): IteratorContext;
  iterator_seek(iterator: IteratorContext, target: Uint8Array): void;
  iterator_nextv_sync(iterator: IteratorContext, count: number): { rows: Buffer[]; finished: boolean };
  iterator_close(iterator: IteratorContext): void;
  batch_init(): BatchContext;
  batch_put(batch: BatchContext, key: Uint8Array, value: Uint8Array, options: object): void;
  batch_del(batch: BatchContext, key: Uint8Array, options: object): void;
  batch_clear(batch: BatchContext): void;
  batch_write(db: DbContext, batch: BatchContext, options: { sync: boolean }): void;
}

interface RocksLevelInstance {
  readonly status: 'opening' | 'open' | 'closing' | 'closed';
  readonly handle: bigint;
  open(options?: RocksOpenOptions): Promise<void>;
  close(): Promise<void>;
  getProperty(name: string): string;
}

type RocksLevelConstructor = new (location: string) => RocksLevelInstance;

const NO_OPTIONS = Object.freeze({});
const GET_OPTIONS = Object.freeze({ valueEncoding: 'buffer' });

export type RocksIteratorKind = 'forward' | 'reverse' | 'tailing';

const ITERATOR_OPTIONS: Record<RocksIteratorKind, NativeIteratorOptions> = {
  forward: Object.freeze({ keyEncoding: 'buffer', valueEncoding: 'buffer' }),
  reverse: Object.freeze({ keyEncoding: 'buffer', valueEncoding: 'buffer', reverse: true }),
  // Sees writes made after it was created; cannot go backwards.
  tailing: Object.freeze({ keyEncoding: 'buffer', valueEncoding: 'buffer', tailing: true }),
};

/**
 * A native iterator. Created at a point in time (forward, reverse) or following the
 * latest data (tailing). The caller must not use it after the database closes: the
 * native side asserts, which would end the process.
 */
export class RocksIterator {
  private context: IteratorContext | undefined;

  constructor(db: DbContext, kind: RocksIteratorKind) {
    this.context = native.iterator_init(db, ITERATOR_OPTIONS[kind]);
  }

  seek(target: Uint8Array): void {
    native.iterator_seek(this.live(), target);
  }

  /** Up to `count` rows, alternating key and value. */
  next(count: number): { rows: Buffer[]; finished: boolean } {
    return native.iterator_nextv_sync(this.live(), count);
  }

  close(): void {
    if (this.context !== undefined) {
      native.iterator_close(this.context);
      this.context = undefined;
    }
  }

  private live(): IteratorContext {
    if (this.context === undefined) {
      throw new Error('RocksDB iterator is closed');
    }
    return this.context;
  }
}

/** A native write batch; written once. */
export class RocksBatch {
  private readonly context = native.batch_init();

  put(key: Uint8Array, value: Uint8Array): void {
    native.batch_put(this.context, key, value, NO_OPTIONS);
  }

  delete(key: Uint8Array): void {
    native.batch_del(this.context, key, NO_OPTIONS);
  }

  writeTo(db: DbContext, sync: boolean): void {
    native.batch_write(db, this.context, { sync });
  }

  clear(): void {
    native.batch_clear(this.context);
  }
}

/** One open RocksDB. */
export class RocksDatabase {
  private context: DbContext | undefined;

  private constructor(private readonly level: RocksLevelInstance) {}

  /** Opens (or creates) the database; rejects with the binding's error. */
  static async open(location: string, options: RocksOpenOptions): Promise<RocksDatabase> {
    const level = new rocksdb.RocksLevel(location);
    await level.open(options);
    const database = new RocksDatabase(level);
    database.context = native.db_init(level.handle);
    return database;
  }

  /** The native database pointer, for other threads of this process. */
  get handle(): bigint {
    return this.level.handle;
  }

  get isOpen(): boolean {
    return this.context !== undefined && this.level.status === 'open';
  }

  /** The values of `keys`, in order (undefined where absent), in one native call. */
  getMany(keys: readonly Uint8Array[]): (Buffer | undefined)[] {
    return native.db_get_many_sync(this.live(), keys, GET_OPTIONS).map((value) => value ?? undefined);
  }

  get(key: Uint8Array): Buffer | undefined {
    return native.db_get_many_sync(this.live(), [key], GET_OPTIONS)[0] ?? undefined;
  }

  iterator(kind: RocksIteratorKind): RocksIterator {
    return new RocksIterator(this.live(), kind);
  }

  batch(): RocksBatch {
    return new RocksBatch();
  }

  write(batch: RocksBatch, sync: boolean): void {
    batch.writeTo(this.live(), sync);
  }

  getProperty(name: string): string {
    return this.level.getProperty(name);
  }

  /** Closes the database; the native side closes iterators still open. */
  async close(): Promise<void> {
    if (this.context === undefined) {
      return;
    }
    this.context = undefined;
    await this.level.close();
  }

  private live(): DbContext {
    if (this.context === undefined) {
      throw new Error('RocksDB database is closed');
    }
    return this.context;
  }
}
