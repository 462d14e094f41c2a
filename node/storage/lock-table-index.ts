import { LOCK_TABLE_PREFIX } from './mvcc-key';

/** Keys per chunk of the ordered index before it splits in two. */
const MAX_CHUNK_KEYS = 512;

/**
 * The set of raw lock table keys, kept in memory by the RocksDB engine, loaded when the
 * engine opens and updated after each batch is written. Two uses:
 * - a point read of a key with no intent — nearly every read and write — costs no trip
 *   into RocksDB;
 * - a walk over a span of the lock table visits only the live keys. In RocksDB, each
 *   resolved intent leaves a tombstone until compaction reaches it, and an iterator
 *   steps over every one: after a transaction of 100 000s of writes resolves, each seek
 *   into the lock table would cost as much as those writes.
 *
 * Keys are held as latin1 strings, whose `<` order is the byte order of the keys, in
 * sorted chunks (a flat B-tree): adding or removing costs a binary search and a splice
 * of one chunk.
 */
export class LockTableIndex {
  /** Each key with the ID of the transaction holding it (latin1; '' when unknown). */
  private readonly keys = new Map<string, string>();
  private readonly chunks: string[][] = [];

  static isLockTableKey(key: Uint8Array): boolean {
    return key[0] === LOCK_TABLE_PREFIX;
  }

  mayContain(key: Uint8Array): boolean {
    // With no intents at all (common), skip making the string.
    return this.keys.size > 0 && this.keys.has(toLatin1(key));
  }

  /** Adds `key`, held by the transaction `owner` (its ID; unknown when undefined). */
  add(key: Uint8Array, owner?: Uint8Array): void {
    const k = toLatin1(key);
    const had = this.keys.has(k);
    this.keys.set(k, owner === undefined ? '' : toLatin1(owner));
    if (had) return;
    if (this.chunks.length === 0) {
      this.chunks.push([k]);
      return;
    }
    const c = this.chunkFor(k);
    const chunk = this.chunks[c] as string[];
    chunk.splice(lowerBound(chunk, k), 0, k);
    if (chunk.length > MAX_CHUNK_KEYS) {
      this.chunks.splice(c + 1, 0, chunk.splice(chunk.length >> 1));
    }
  }

  remove(key: Uint8Array): void {
    const k = toLatin1(key);
    if (!this.keys.delete(k)) return;
    const c = this.chunkFor(k);
    const chunk = this.chunks[c] as string[];
    chunk.splice(lowerBound(chunk, k), 1);
    if (chunk.length === 0) this.chunks.splice(c, 1);
  }

  get size(): number {
    return this.keys.size;
  }

  /** The smallest key >= `key` (or > it, if `after`), or undefined. */
  ceiling(key: Uint8Array, after = false): Buffer | undefined {
    if (this.chunks.length === 0) return undefined;
    const k = toLatin1(key);
    for (let c = this.chunkFor(k); c < this.chunks.length; c++) {
      const chunk = this.chunks[c] as string[];
      let i = lowerBound(chunk, k);
      if (after && chunk[i] === k) i++;
      if (i < chunk.length) return Buffer.from(chunk[i] as string, 'latin1');
    }
    return undefined;
  }

  /**
   * Up to `max` keys from `from` on (after it, if `exclusive`) and below `end`, in
   * order, leaving out those held by the transaction `skipOwner`. Also returns the last
   * key looked at (held by anyone), for the walk to go on from, or undefined when it
   * reached `end` or the last key. A walk past a transaction's own intents costs a
   * string comparison each, with no read of their values.
   */
  walk(
    from: Uint8Array,
    exclusive: boolean,
    end: Uint8Array | undefined,
    max: number,
    skipOwner: Uint8Array | undefined,
  ): { keys: Buffer[]; last: Buffer | undefined } {
    const keys: Buffer[] = [];
    if (this.chunks.length === 0) return { keys, last: undefined };
    const k = toLatin1(from);
    const stop = end === undefined ? undefined : toLatin1(end);
    const skip = skipOwner === undefined ? undefined : toLatin1(skipOwner);
    // Bound the skipping too, so that one call never walks the whole index.
    let budget = max * 64;
    const first = this.chunkFor(k);
    for (let c = first; c < this.chunks.length; c++) {
      const chunk = this.chunks[c] as string[];
      let i = c === first ? lowerBound(chunk, k) : 0;
      if (exclusive && chunk[i] === k) i++;
      for (; i < chunk.length; i++) {
        const key = chunk[i] as string;
        if (stop !== undefined && key >= stop) return { keys, last: undefined };
        if (skip === undefined || this.keys.get(key) !== skip) keys.push(Buffer.from(key, 'latin1'));
        if (keys.length >= max || --budget <= 0) return { keys, last: Buffer.from(key, 'latin1') };
      }
    }
    return { keys, last: undefined };
  }

  /** The largest key <= `key` (or < it, if `before`), or undefined. */
  floor(key: Uint8Array, before = false): Buffer | undefined {
    if (this.chunks.length === 0) return undefined;
    const k = toLatin1(key);
    for (let c = this.chunkFor(k); c >= 0; c--) {
      const chunk = this.chunks[c] as string[];
      // The first position whose key is > k (or >= k, if before), minus one.
      let i = lowerBound(chunk, k);
      if (!before && chunk[i] === k) i++;
      if (i > 0) return Buffer.from(chunk[i - 1] as string, 'latin1');
    }
    return undefined;
  }

  /** The chunk whose range holds `k`: the first whose last key is >= k, else the last. */
  private chunkFor(k: string): number {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const chunk = this.chunks[mid] as string[];
      if ((chunk[chunk.length - 1] as string) < k) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function toLatin1(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

/** The first index in sorted `keys` whose key is >= k. */
function lowerBound(keys: readonly string[], k: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((keys[mid] as string) < k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
