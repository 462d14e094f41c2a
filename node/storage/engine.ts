import { assert } from '../../common/errors';
import { BatchTooLargeError, KeyTooLargeError, ValueTooLargeError } from './errors';

/**
 * The raw ordered key-value engine under MVCC: byte-string keys compared bytewise.
 * Two implementations share one compliance suite (engine.compliance.ts): RocksDB for
 * nodes, and an in-memory engine for the simulator and fast tests.
 *
 * Reads are synchronous: a point read or a seek is a few microseconds and costs more
 * through a promise than through the call itself. Writes are whole batches, applied
 * atomically; a write is visible to every reader created after it returns.
 */

export interface EngineLimits {
  /** Largest raw key (after MVCC encoding) the engine accepts. */
  readonly maxKeyBytes: number;
  /** Largest raw value the engine accepts. */
  readonly maxValueBytes: number;
  /** Largest total of keys and values in one write batch. */
  readonly maxBatchBytes: number;
}

export const DEFAULT_ENGINE_LIMITS: EngineLimits = Object.freeze({
  maxKeyBytes: 64 * 1024,
  maxValueBytes: 16 * 1024 * 1024,
  maxBatchBytes: 128 * 1024 * 1024,
});

/** A cursor over raw keys, positioned by `seek`. */
export interface EngineCursor {
  /** Positions at the first key >= target (forward) or the last key <= target (reverse). */
  seek(target: Uint8Array): void;
  valid(): boolean;
  /** The current key; only while valid(). The buffer is the cursor's: copy to keep. */
  key(): Buffer;
  value(): Buffer;
  next(): void;
  close(): void;
}

export interface CursorOptions {
  readonly reverse?: boolean;
  /**
   * How many entries the caller expects to read after a seek: 1 for point lookups,
   * more for scans. A hint for read-ahead only.
   */
  readonly expectedEntries?: number;
  /**
   * A transaction ID whose lock table entries (intents) the reader has no use for: the
   * cursor may leave them out, and a reader must still skip any it meets.
   */
  readonly skipIntentsOf?: Uint8Array;
  /** Forward cursors: keys at or past this are not wanted, and the cursor may stop before them. */
  readonly upperBound?: Uint8Array;
}

export interface EngineReader {
  /** The value of a raw key, or undefined. */
  get(key: Uint8Array): Buffer | undefined;
  /** The values of raw keys, in order: one read where the engine can (a native call costs µs). */
  getMany(keys: readonly Uint8Array[]): (Buffer | undefined)[];
  /** A cursor over this reader's view. Close it when done. */
  cursor(options?: CursorOptions): EngineCursor;
}

/**
 * A reader fixed at one point in time: later writes are invisible to it. Holds
 * resources (RocksDB pins the files it reads) until closed.
 */
export interface EngineSnapshot extends EngineReader {
  close(): void;
}

export interface WriteBatch {
  put(key: Uint8Array, value: Uint8Array): void;
  delete(key: Uint8Array): void;
  /** Operations added so far. */
  readonly count: number;
  /** Total bytes of keys and values added so far. */
  readonly byteSize: number;
}

export interface WriteOptions {
  /**
   * Resolve only once the batch is durable (the RocksDB WAL is fsynced), so it
   * survives a crash of the machine, not only of the process. Readers may see the
   * batch before that: acknowledge nothing that depends on it until the promise
   * resolves.
   */
  readonly sync?: boolean;
}

/**
 * What an engine's background work looks like now: compaction debt is where a write
 * load's cost goes after the write itself (a preloaded store rewrites each byte several
 * times on its way down the levels), and a stalled write is a node out of breath.
 */
export interface StorageStats {
  /** Bytes compaction estimates it must rewrite to bring every level within its target. */
  readonly pendingCompactionBytes: number;
  readonly runningCompactions: number;
  readonly runningFlushes: number;
  /** Bytes in the memtables (active and waiting to be flushed). */
  readonly memtableBytes: number;
  /** Bytes of every SST file, live or still referenced. */
  readonly sstBytes: number;
  /** Files in level 0: too many and RocksDB slows writes down, then stops them. */
  readonly level0Files: number;
  /** Whether RocksDB is stopping writes, or the rate it holds them to (0: not held). */
  readonly writesStopped: boolean;
  readonly delayedWriteBytesPerSecond: number;
}

export interface Engine extends EngineReader {
  readonly path: string;
  readonly limits: EngineLimits;
  newBatch(): WriteBatch;
  /** Applies the whole batch atomically, or nothing of it. */
  write(batch: WriteBatch, options?: WriteOptions): Promise<void>;
  /** A consistent point-in-time view. */
  snapshot(): EngineSnapshot;
  /** Flushes and compactions now, for engines that have them (RocksDB; not the in-memory one). */
  storageStats?(): StorageStats;
  close(): Promise<void>;
}

/**
 * Visits the raw entries of [start, end) in key order, in one synchronous stretch;
 * `visit` returns false to stop early. Key and value buffers are read-only.
 * `expectedEntries` sizes the first read: small by default, since many spans walked
 * this way (a lock table span, say) are empty, and reads grow as the walk goes on.
 */
export function forEachInSpan(
  reader: EngineReader,
  start: Uint8Array,
  end: Uint8Array,
  visit: (key: Buffer, value: Buffer) => boolean | void,
  expectedEntries = 4,
): void {
  const cursor = reader.cursor({ expectedEntries });
  try {
    for (cursor.seek(start); cursor.valid(); cursor.next()) {
      const key = cursor.key();
      if (Buffer.compare(key, end) >= 0 || visit(key, cursor.value()) === false) {
        break;
      }
    }
  } finally {
    cursor.close();
  }
}

/**
 * The size accounting and limits every WriteBatch applies as operations are added,
 * so that an oversized key, value or batch fails before anything is written.
 */
export class BatchAdmission {
  count = 0;
  byteSize = 0;
  written = false;

  constructor(private readonly limits: EngineLimits) {}

  admitPut(key: Uint8Array, value: Uint8Array): void {
    this.checkKey(key);
    if (value.length > this.limits.maxValueBytes) {
      throw new ValueTooLargeError(value.length, this.limits.maxValueBytes);
    }
    this.grow(key.length + value.length);
  }

  admitDelete(key: Uint8Array): void {
    this.checkKey(key);
    this.grow(key.length);
  }

  /** Marks the batch written; a batch is written once. */
  markWritten(): void {
    assert(!this.written, 'a write batch is written once');
    this.written = true;
  }

  private checkKey(key: Uint8Array): void {
    assert(!this.written, 'cannot add to a written batch');
    if (key.length === 0 || key.length > this.limits.maxKeyBytes) {
      throw new KeyTooLargeError(key.length, this.limits.maxKeyBytes);
    }
  }

  private grow(bytes: number): void {
    const next = this.byteSize + bytes;
    if (next > this.limits.maxBatchBytes) {
      throw new BatchTooLargeError(next, this.limits.maxBatchBytes);
    }
    this.byteSize = next;
    this.count++;
  }
}

/** The smallest key greater than every key that starts with `prefix` (undefined: none). */
export function prefixEnd(prefix: Uint8Array): Buffer | undefined {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    const byte = end[i] as number;
    if (byte !== 0xff) {
      end[i] = byte + 1;
      return end.subarray(0, i + 1);
    }
  }
  return undefined;
}
