import type { CursorOptions, EngineCursor, EngineReader, WriteBatch } from './engine';

interface Pending {
  readonly key: Buffer;
  /** undefined: deleted by this batch. */
  readonly value: Buffer | undefined;
}

function latin1(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

/**
 * A write batch that reads its own writes: `get` and cursors see the batch's pending
 * puts and deletes over the reader beneath, so a sequence of MVCC operations on one
 * key (two writes, a write then a read) evaluates as if each were already applied.
 * Write it with `engine.write(indexed.batch)`.
 */
export class IndexedBatch implements EngineReader, WriteBatch {
  private readonly pending = new Map<string, Pending>();
  /** Pending entries in key order, built when a cursor needs them. */
  private sorted: Pending[] | undefined;

  constructor(
    private readonly base: EngineReader,
    readonly batch: WriteBatch,
  ) {}

  get count(): number {
    return this.batch.count;
  }

  get byteSize(): number {
    return this.batch.byteSize;
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.batch.put(key, value);
    this.pending.set(latin1(key), { key: Buffer.from(key), value: Buffer.from(value) });
    this.sorted = undefined;
  }

  delete(key: Uint8Array): void {
    this.batch.delete(key);
    this.pending.set(latin1(key), { key: Buffer.from(key), value: undefined });
    this.sorted = undefined;
  }

  get(key: Uint8Array): Buffer | undefined {
    const own = this.pending.get(latin1(key));
    return own === undefined ? this.base.get(key) : own.value;
  }

  cursor(options: CursorOptions = {}): EngineCursor {
    if (this.pending.size === 0) {
      return this.base.cursor(options);
    }
    this.sorted ??= [...this.pending.values()].sort((a, b) => Buffer.compare(a.key, b.key));
    return new MergedCursor(this.base.cursor(options), this.sorted, options.reverse === true);
  }
}

/** Index of the first entry with key >= target. */
function lowerBound(entries: readonly Pending[], target: Uint8Array): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (Buffer.compare((entries[mid] as Pending).key, target) < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

/**
 * The batch's pending entries merged over a cursor of the reader beneath: where both
 * hold a key, the pending entry wins; a pending delete hides the key.
 */
class MergedCursor implements EngineCursor {
  private index = -1;
  /** Whether the current entry is the pending one (else the base cursor's). */
  private onPending = false;
  private onBase = false;

  constructor(
    private readonly base: EngineCursor,
    private readonly entries: readonly Pending[],
    private readonly reverse: boolean,
  ) {}

  seek(target: Uint8Array): void {
    this.base.seek(target);
    if (!this.reverse) {
      this.index = lowerBound(this.entries, target);
    } else {
      const i = lowerBound(this.entries, target);
      const exact = i < this.entries.length && Buffer.compare((this.entries[i] as Pending).key, target) === 0;
      this.index = exact ? i : i - 1;
    }
    this.settle();
  }

  valid(): boolean {
    return this.onPending || this.onBase;
  }

  key(): Buffer {
    return this.onPending ? (this.entries[this.index] as Pending).key : this.base.key();
  }

  value(): Buffer {
    return this.onPending ? ((this.entries[this.index] as Pending).value as Buffer) : this.base.value();
  }

  next(): void {
    if (this.onPending) {
      this.index += this.reverse ? -1 : 1;
    } else if (this.onBase) {
      this.base.next();
    }
    this.settle();
  }

  close(): void {
    this.base.close();
  }

  /** Chooses the current entry: the nearer of the two in the cursor's direction. */
  private settle(): void {
    this.onPending = false;
    this.onBase = false;
    while (true) {
      const pending = this.index >= 0 ? this.entries[this.index] : undefined;
      const baseValid = this.base.valid();
      if (pending === undefined) {
        this.onBase = baseValid;
        return;
      }
      if (baseValid) {
        const order = Buffer.compare(this.base.key(), pending.key);
        if (order === 0) {
          // The pending entry shadows the stored one.
          this.base.next();
          continue;
        }
        if (this.reverse ? order > 0 : order < 0) {
          this.onBase = true;
          return;
        }
      }
      if (pending.value === undefined) {
        this.index += this.reverse ? -1 : 1;
        continue;
      }
      this.onPending = true;
      return;
    }
  }
}
