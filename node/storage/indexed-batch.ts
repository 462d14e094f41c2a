import type { CursorOptions, EngineCursor, EngineReader, WriteBatch } from './engine';

interface Pending {
  readonly key: Buffer;
  /** undefined: deleted by this batch. */
  readonly value: Buffer | undefined;
}

function latin1(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

/** Writes gathered before they are sorted into a run of their own. */
const DEFAULT_RUN_SIZE = 256;

/**
 * A write batch that reads its own writes: `get` and cursors see the batch's pending
 * puts and deletes over the reader beneath, so a sequence of MVCC operations on one
 * key (two writes, a write then a read) evaluates as if each were already applied.
 * Write it with `engine.write(indexed.batch)`.
 *
 * A cursor sees the pending writes as they were when it was made. They are kept as a
 * few sorted runs, each at most half the size of the one before (every `runSize`
 * writes become a run, and runs of like size merge, as in a binary counter), plus the
 * writes since; a cursor sorts only those recent writes on its side of its seek and
 * merges the runs as it goes. Writes cost O(log n) amortised and a cursor O(log n) runs.
 * Sorting every pending write for every cursor, as before, made a command of many
 * requests quadratic in its writes.
 */
export class IndexedBatch implements EngineReader, WriteBatch {
  private readonly pending = new Map<string, Pending>();
  /** Sorted runs, oldest (and largest) first, one entry per key each. Replaced, never changed. */
  private runs: readonly (readonly Pending[])[] = [];
  /** Writes since the last run was made, oldest first (a key may repeat). Replaced, never cut. */
  private recent: Pending[] = [];
  private readonly runSize: number;

  constructor(
    private readonly base: EngineReader,
    readonly batch: WriteBatch,
    options: { readonly runSize?: number } = {},
  ) {
    this.runSize = options.runSize ?? DEFAULT_RUN_SIZE;
  }

  get count(): number {
    return this.batch.count;
  }

  get byteSize(): number {
    return this.batch.byteSize;
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.batch.put(key, value);
    this.remember({ key: Buffer.from(key), value: Buffer.from(value) });
  }

  delete(key: Uint8Array): void {
    this.batch.delete(key);
    this.remember({ key: Buffer.from(key), value: undefined });
  }

  get(key: Uint8Array): Buffer | undefined {
    const own = this.pending.get(latin1(key));
    return own === undefined ? this.base.get(key) : own.value;
  }

  /** This batch's own values where it has them; the rest in one read of the base. */
  getMany(keys: readonly Uint8Array[]): (Buffer | undefined)[] {
    const values: (Buffer | undefined)[] = new Array<Buffer | undefined>(keys.length);
    const fromBase: Uint8Array[] = [];
    const at: number[] = [];
    keys.forEach((key, i) => {
      const own = this.pending.get(latin1(key));
      if (own === undefined) {
        fromBase.push(key);
        at.push(i);
      } else {
        values[i] = own.value;
      }
    });
    if (fromBase.length > 0) {
      const found = this.base.getMany(fromBase);
      at.forEach((i, j) => {
        values[i] = found[j];
      });
    }
    return values;
  }

  cursor(options: CursorOptions = {}): EngineCursor {
    if (this.pending.size === 0) {
      return this.base.cursor(options);
    }
    const reverse = options.reverse === true;
    return new MergedCursor(this.base.cursor(options), new PendingStream(this.runs, this.recent, this.recent.length, reverse), reverse);
  }

  private remember(entry: Pending): void {
    this.pending.set(latin1(entry.key), entry);
    this.recent.push(entry);
    if (this.recent.length < this.runSize) return;
    let run = latestInOrder(this.recent, this.recent.length, () => true, false);
    const runs = [...this.runs];
    while (runs.length > 0 && (runs[runs.length - 1] as readonly Pending[]).length <= 2 * run.length) {
      run = mergeRuns(runs.pop() as readonly Pending[], run);
    }
    runs.push(run);
    // New arrays: cursors made before keep the ones they were given.
    this.runs = runs;
    this.recent = [];
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

/** The last write of each key among `writes[0, count)` that `wanted` keeps, in key order (descending for `reverse`). */
function latestInOrder(writes: readonly Pending[], count: number, wanted: (key: Buffer) => boolean, reverse: boolean): Pending[] {
  const latest = new Map<string, Pending>();
  for (let n = 0; n < count; n++) {
    const entry = writes[n] as Pending;
    if (wanted(entry.key)) latest.set(latin1(entry.key), entry);
  }
  const out = [...latest.values()];
  return out.sort(reverse ? (a, b) => Buffer.compare(b.key, a.key) : (a, b) => Buffer.compare(a.key, b.key));
}

/** Two key-ordered runs as one; on equal keys the newer run's entry wins. */
function mergeRuns(older: readonly Pending[], newer: readonly Pending[]): Pending[] {
  const out: Pending[] = [];
  let i = 0;
  let j = 0;
  while (i < older.length || j < newer.length) {
    const a = older[i];
    const b = newer[j];
    const order = a === undefined ? 1 : b === undefined ? -1 : Buffer.compare(a.key, b.key);
    if (order < 0) {
      out.push(a as Pending);
      i++;
    } else {
      out.push(b as Pending);
      j++;
      if (order === 0) i++;
    }
  }
  return out;
}

/**
 * A cursor's view of the pending entries, one per key in its direction: the sorted runs
 * and the recent writes it was given, merged as it moves; on equal keys the newest
 * source wins (the recent writes, then the later runs).
 */
class PendingStream {
  /** Oldest first; the last is the cursor's own sort of the recent writes. */
  private sources: (readonly Pending[])[] = [];
  private positions: number[] = [];

  constructor(
    private readonly runs: readonly (readonly Pending[])[],
    private readonly recent: readonly Pending[],
    private readonly recentCount: number,
    private readonly reverse: boolean,
  ) {}

  seek(target: Uint8Array): void {
    const reverse = this.reverse;
    const overlay = latestInOrder(this.recent, this.recentCount, (key) => (reverse ? Buffer.compare(key, target) <= 0 : Buffer.compare(key, target) >= 0), reverse);
    this.sources = [...this.runs, overlay];
    this.positions = this.runs.map((run) => {
      const i = lowerBound(run, target);
      if (!reverse) return i;
      return i < run.length && Buffer.compare((run[i] as Pending).key, target) === 0 ? i : i - 1;
    });
    this.positions.push(0);
  }

  private head(source: number): Pending | undefined {
    const position = this.positions[source] as number;
    return position < 0 ? undefined : (this.sources[source] as readonly Pending[])[position];
  }

  current(): Pending | undefined {
    let best: Pending | undefined;
    for (let source = 0; source < this.sources.length; source++) {
      const entry = this.head(source);
      if (entry === undefined) continue;
      if (best === undefined) {
        best = entry;
        continue;
      }
      const order = Buffer.compare(entry.key, best.key);
      // A later source holds newer writes: it wins a tie.
      if (order === 0 || (this.reverse ? order > 0 : order < 0)) best = entry;
    }
    return best;
  }

  /** Moves past the current key, in every source that holds it. */
  advance(): void {
    const current = this.current();
    if (current === undefined) return;
    for (let source = 0; source < this.sources.length; source++) {
      const entry = this.head(source);
      if (entry !== undefined && entry.key.equals(current.key)) {
        this.positions[source] = (this.positions[source] as number) + (this.reverse && source < this.runs.length ? -1 : 1);
      }
    }
  }
}

/**
 * The batch's pending entries merged over a cursor of the reader beneath: where both
 * hold a key, the pending entry wins; a pending delete hides the key.
 */
class MergedCursor implements EngineCursor {
  /** Whether the current entry is the pending one (else the base cursor's). */
  private onPending = false;
  private onBase = false;

  constructor(
    private readonly base: EngineCursor,
    private readonly pending: PendingStream,
    private readonly reverse: boolean,
  ) {}

  seek(target: Uint8Array): void {
    this.base.seek(target);
    this.pending.seek(target);
    this.settle();
  }

  valid(): boolean {
    return this.onPending || this.onBase;
  }

  key(): Buffer {
    return this.onPending ? (this.pending.current() as Pending).key : this.base.key();
  }

  value(): Buffer {
    return this.onPending ? ((this.pending.current() as Pending).value as Buffer) : this.base.value();
  }

  next(): void {
    if (this.onPending) {
      this.pending.advance();
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
      const pending = this.pending.current();
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
        this.pending.advance();
        continue;
      }
      this.onPending = true;
      return;
    }
  }
}
