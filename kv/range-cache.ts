import { assert } from '../common/errors';
import type * as pb from '../proto/gen/cairn/kv/v1/kv';

/** A cached range: its descriptor and the node believed to hold its lease. */
export interface RangeCacheEntry {
  readonly desc: pb.RangeDescriptor;
  /** Undefined when unknown: the sender then tries the replicas in turn. */
  readonly leaseholderNodeId: number | undefined;
}

interface MutableEntry {
  readonly desc: pb.RangeDescriptor;
  leaseholderNodeId: number | undefined;
}

/**
 * The client's view of where ranges are: descriptors ordered by start key, never
 * overlapping. It may be stale — the node answering a request is the authority, and
 * RANGE_KEY_MISMATCH brings the current descriptors back.
 *
 * Descriptors of overlapping key spans are ordered by `generation`, which grows with
 * every split, merge and replica change: a descriptor replaces the overlapping entries
 * of a lower or equal generation, and is dropped if it overlaps a newer one (a late
 * answer from a lookup must not undo what a fresher one taught the cache).
 */
export class RangeCache {
  /** Sorted by start key; as entries never overlap, also by end key. */
  private readonly entries: MutableEntry[] = [];
  private readonly byRangeId = new Map<number, MutableEntry>();

  get size(): number {
    return this.entries.length;
  }

  /** The cached range holding `key` (start <= key < end). */
  lookup(key: Uint8Array): RangeCacheEntry | undefined {
    const entry = this.entries[this.firstEndingAfter(key)];
    return entry !== undefined && Buffer.compare(entry.desc.startKey, key) <= 0 ? entry : undefined;
  }

  /**
   * The cached range holding the keys just below `key` (start < key <= end): where a
   * reverse scan that ends at `key` starts.
   */
  lookupBefore(key: Uint8Array): RangeCacheEntry | undefined {
    const entry = this.entries[this.firstEndingAtOrAfter(key)];
    return entry !== undefined && Buffer.compare(entry.desc.startKey, key) < 0 ? entry : undefined;
  }

  /** The cached entry of a range, by its ID. */
  get(rangeId: number): RangeCacheEntry | undefined {
    return this.byRangeId.get(rangeId);
  }

  /**
   * Adds a descriptor, evicting the overlapping entries of a lower or equal generation.
   * Returns false (and changes nothing) when it overlaps a newer entry.
   */
  insert(desc: pb.RangeDescriptor): boolean {
    assert(
      Buffer.compare(desc.startKey, desc.endKey) < 0,
      `range ${desc.rangeId}: descriptor with an empty span [${desc.startKey.toString('hex')}, ${desc.endKey.toString('hex')})`,
    );
    const rangeId = Number(desc.rangeId);
    const from = this.firstEndingAfter(desc.startKey);
    let to = from;
    while (to < this.entries.length && Buffer.compare((this.entries[to] as MutableEntry).desc.startKey, desc.endKey) < 0) {
      if ((this.entries[to] as MutableEntry).desc.generation > desc.generation) {
        return false;
      }
      to++;
    }
    // The same range ID elsewhere (it cannot overlap and be outside [from, to)) is an
    // older or newer shape of this range, never a different one.
    const sameId = this.byRangeId.get(rangeId);
    if (sameId !== undefined && sameId.desc.generation > desc.generation) {
      return false;
    }
    let leaseholderNodeId: number | undefined;
    if (sameId !== undefined) {
      leaseholderNodeId = sameId.leaseholderNodeId;
      if (!this.isInRange(from, to, sameId)) {
        this.remove(sameId);
      }
    }
    if (leaseholderNodeId !== undefined && !desc.replicas.some((r) => Number(r.nodeId) === leaseholderNodeId)) {
      leaseholderNodeId = undefined;
    }
    const entry: MutableEntry = { desc, leaseholderNodeId };
    const start = this.firstEndingAfter(desc.startKey);
    let end = start;
    while (end < this.entries.length && Buffer.compare((this.entries[end] as MutableEntry).desc.startKey, desc.endKey) < 0) {
      this.byRangeId.delete(Number((this.entries[end] as MutableEntry).desc.rangeId));
      end++;
    }
    this.entries.splice(start, end - start, entry);
    this.byRangeId.set(rangeId, entry);
    return true;
  }

  /**
   * Removes the entry of `desc` if the cache still holds that version of it (same range
   * ID and generation): a newer descriptor learnt meanwhile stays.
   */
  evict(desc: pb.RangeDescriptor): boolean {
    const entry = this.byRangeId.get(Number(desc.rangeId));
    if (entry === undefined || entry.desc.generation !== desc.generation) {
      return false;
    }
    this.remove(entry);
    return true;
  }

  /** Records (or forgets, with undefined) the node holding a cached range's lease. */
  setLeaseholder(rangeId: number, nodeId: number | undefined): void {
    const entry = this.byRangeId.get(rangeId);
    if (entry !== undefined) {
      entry.leaseholderNodeId = nodeId;
    }
  }

  /** Every entry, in key order. */
  all(): readonly RangeCacheEntry[] {
    return [...this.entries];
  }

  clear(): void {
    this.entries.length = 0;
    this.byRangeId.clear();
  }

  /** Index of the first entry whose end is after `key` (entries.length if none). */
  private firstEndingAfter(key: Uint8Array): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (Buffer.compare((this.entries[mid] as MutableEntry).desc.endKey, key) > 0) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return lo;
  }

  /** Index of the first entry whose end is at or after `key`. */
  private firstEndingAtOrAfter(key: Uint8Array): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (Buffer.compare((this.entries[mid] as MutableEntry).desc.endKey, key) >= 0) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return lo;
  }

  private isInRange(from: number, to: number, entry: MutableEntry): boolean {
    for (let i = from; i < to; i++) {
      if (this.entries[i] === entry) {
        return true;
      }
    }
    return false;
  }

  private remove(entry: MutableEntry): void {
    const index = this.entries.indexOf(entry);
    assert(index >= 0, 'a range cache entry indexed by ID is in the ordered list');
    this.entries.splice(index, 1);
    this.byRangeId.delete(Number(entry.desc.rangeId));
  }
}
