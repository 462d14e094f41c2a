import { assert } from '../../common/errors';
import type {
  CursorOptions,
  Engine,
  EngineCursor,
  EngineLimits,
  EngineReader,
  EngineSnapshot,
  WriteBatch,
  WriteOptions,
} from './engine';
import { BatchAdmission, DEFAULT_ENGINE_LIMITS } from './engine';
import { StorageClosedError } from './errors';

/** Sorted parallel arrays of keys and values; shared by snapshots until the next write. */
interface Table {
  readonly keys: Buffer[];
  readonly values: Buffer[];
}

/** Index of the first key >= target. */
function lowerBound(keys: readonly Buffer[], target: Uint8Array): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (Buffer.compare(keys[mid] as Buffer, target) < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

function tableGet(table: Table, key: Uint8Array): Buffer | undefined {
  const i = lowerBound(table.keys, key);
  const found = table.keys[i];
  return found !== undefined && Buffer.compare(found, key) === 0 ? table.values[i] : undefined;
}

class MemoryCursor implements EngineCursor {
  private index = -1;

  constructor(
    private readonly table: () => Table,
    private readonly reverse: boolean,
  ) {}

  seek(target: Uint8Array): void {
    const { keys } = this.table();
    const i = lowerBound(keys, target);
    if (!this.reverse) {
      this.index = i;
    } else {
      const exact = i < keys.length && Buffer.compare(keys[i] as Buffer, target) === 0;
      this.index = exact ? i : i - 1;
    }
  }

  valid(): boolean {
    return this.index >= 0 && this.index < this.table().keys.length;
  }

  key(): Buffer {
    return this.table().keys[this.index] as Buffer;
  }

  value(): Buffer {
    return this.table().values[this.index] as Buffer;
  }

  next(): void {
    this.index += this.reverse ? -1 : 1;
  }

  close(): void {
    this.index = -1;
  }
}

class MemoryReader implements EngineReader {
  constructor(protected readonly table: () => Table) {}

  get(key: Uint8Array): Buffer | undefined {
    return tableGet(this.table(), key);
  }

  getMany(keys: readonly Uint8Array[]): (Buffer | undefined)[] {
    return keys.map((key) => this.get(key));
  }

  cursor(options: CursorOptions = {}): EngineCursor {
    return new MemoryCursor(this.table, options.reverse === true);
  }
}

class MemorySnapshot extends MemoryReader implements EngineSnapshot {
  close(): void {}
}

type BatchOp = { readonly key: Buffer; readonly value: Buffer | undefined };

class MemoryWriteBatch implements WriteBatch {
  readonly ops: BatchOp[] = [];
  readonly admission: BatchAdmission;

  constructor(limits: EngineLimits) {
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
    this.ops.push({ key: Buffer.from(key), value: Buffer.from(value) });
  }

  delete(key: Uint8Array): void {
    this.admission.admitDelete(key);
    this.ops.push({ key: Buffer.from(key), value: undefined });
  }
}

/**
 * An in-memory engine with the same contract as RocksEngine: for the deterministic
 * simulator (no I/O) and for tests. Snapshots share the sorted arrays; the first
 * write after a snapshot copies them.
 */
export class MemoryEngine extends MemoryReader implements Engine {
  readonly limits: EngineLimits;
  private current: Table = { keys: [], values: [] };
  private shared = false;
  private closed = false;

  constructor(
    readonly path = ':memory:',
    limits: Partial<EngineLimits> = {},
  ) {
    super(() => this.current);
    this.limits = { ...DEFAULT_ENGINE_LIMITS, ...limits };
  }

  override get(key: Uint8Array): Buffer | undefined {
    this.checkOpen();
    return super.get(key);
  }

  override cursor(options: CursorOptions = {}): EngineCursor {
    this.checkOpen();
    return super.cursor(options);
  }

  snapshot(): EngineSnapshot {
    this.checkOpen();
    const table = this.current;
    this.shared = true;
    return new MemorySnapshot(() => table);
  }

  newBatch(): WriteBatch {
    this.checkOpen();
    return new MemoryWriteBatch(this.limits);
  }

  async write(batch: WriteBatch, _options: WriteOptions = {}): Promise<void> {
    this.checkOpen();
    assert(batch instanceof MemoryWriteBatch, 'a MemoryEngine writes only its own batches');
    batch.admission.markWritten();
    if (this.shared) {
      this.current = { keys: this.current.keys.slice(), values: this.current.values.slice() };
      this.shared = false;
    }
    const { keys, values } = this.current;
    for (const op of batch.ops) {
      const i = lowerBound(keys, op.key);
      const exists = i < keys.length && Buffer.compare(keys[i] as Buffer, op.key) === 0;
      if (op.value === undefined) {
        if (exists) {
          keys.splice(i, 1);
          values.splice(i, 1);
        }
      } else if (exists) {
        values[i] = op.value;
      } else {
        keys.splice(i, 0, op.key);
        values.splice(i, 0, op.value);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private checkOpen(): void {
    if (this.closed) {
      throw new StorageClosedError(this.path);
    }
  }
}
