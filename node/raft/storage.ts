import { assert } from '../../common/errors';
import { LogCompactedError, LogUnavailableError } from './errors';
import type { ConfState, Entry, HardState, Snapshot } from './types';
import { EMPTY_HARD_STATE } from './types';

/**
 * What the Raft core reads from stable storage. The core never writes through it: the
 * caller persists each Ready (hard state, entries, snapshot) and then calls `advance`.
 * Implementations: MemoryLogStorage (tests, simulator); a RocksDB one in node/replica.
 *
 * Indexes: entries [firstIndex, lastIndex] are readable; firstIndex - 1 is the index of
 * the latest snapshot (or compaction point), whose term `term()` still answers.
 */
export interface LogStorage {
  initialState(): { readonly hardState: HardState; readonly confState: ConfState };
  /**
   * Entries [lo, hi), stopping early once `maxBytes` of entry data is exceeded (but
   * always at least one entry). Throws LogCompactedError below firstIndex,
   * LogUnavailableError past lastIndex.
   */
  entries(lo: number, hi: number, maxBytes?: number): readonly Entry[];
  /** Term of entry i, for i in [firstIndex - 1, lastIndex]. */
  term(i: number): number;
  firstIndex(): number;
  lastIndex(): number;
  /** The most recent snapshot; its index is >= firstIndex - 1. */
  snapshot(): Snapshot;
}

export const BOOTSTRAP_INDEX = 1;
export const BOOTSTRAP_TERM = 1;

/** An in-memory LogStorage the caller writes to in the order a Ready demands. */
export class MemoryLogStorage implements LogStorage {
  private hardState: HardState = EMPTY_HARD_STATE;
  private snap: Snapshot;
  /** ents[0] is a placeholder holding the index and term of the compaction point. */
  private ents: Entry[];

  /**
   * A storage for an initial member of a new group (`confState` lists the initial
   * members), or, with no argument, for a member that will join an existing group.
   *
   * Initial members start from a bootstrap snapshot at (BOOTSTRAP_INDEX, BOOTSTRAP_TERM)
   * holding the initial membership, so the log proper starts after it. A member added
   * later starts empty; the entries it lacks are compacted on every initial member, so
   * the leader sends it a snapshot, and with it the membership it needs.
   */
  constructor(confState?: ConfState) {
    const index = confState === undefined ? 0 : BOOTSTRAP_INDEX;
    const term = confState === undefined ? 0 : BOOTSTRAP_TERM;
    this.snap = { metadata: { index, term, confState: confState ?? { voters: [], learners: [] } }, data: new Uint8Array(0) };
    this.ents = [placeholder(index, term)];
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hardState, confState: this.snap.metadata.confState };
  }

  setHardState(hs: HardState): void {
    this.hardState = hs;
  }

  firstIndex(): number {
    return this.offset() + 1;
  }

  lastIndex(): number {
    return this.offset() + this.ents.length - 1;
  }

  term(i: number): number {
    const offset = this.offset();
    if (i < offset) throw new LogCompactedError(i, offset + 1);
    const e = this.ents[i - offset];
    if (e === undefined) throw new LogUnavailableError(i, this.lastIndex());
    return e.term;
  }

  entries(lo: number, hi: number, maxBytes = Infinity): readonly Entry[] {
    const offset = this.offset();
    if (lo <= offset) throw new LogCompactedError(lo, offset + 1);
    if (hi > this.lastIndex() + 1) throw new LogUnavailableError(hi - 1, this.lastIndex());
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxBytes);
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /**
   * Appends entries, first discarding any existing entries at or after the first new
   * index (they conflict with the new ones: the core only sends what must replace them).
   */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    const offset = this.offset();
    assert(first.index <= this.lastIndex() + 1, () => `append at ${first.index} leaves a gap after ${this.lastIndex()}`);
    const kept = entries.filter((e) => e.index > offset);
    const head = kept[0];
    if (head === undefined) return;
    this.ents.length = head.index - offset;
    for (const e of kept) this.ents.push(e);
  }

  /** Replaces the whole log with a snapshot. Returns false (and does nothing) if it is older than ours. */
  applySnapshot(snap: Snapshot): boolean {
    if (snap.metadata.index <= this.snap.metadata.index) return false;
    this.snap = snap;
    this.ents = [placeholder(snap.metadata.index, snap.metadata.term)];
    return true;
  }

  /** Records a snapshot of the applied state at `index` (<= lastIndex). */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    assert(index > this.snap.metadata.index, `snapshot at ${index} is not newer than ${this.snap.metadata.index}`);
    const term = this.term(index);
    this.snap = { metadata: { index, term, confState }, data };
    return this.snap;
  }

  /**
   * Discards entries up to and including `index`. Only entries covered by the latest
   * snapshot may go, so a follower needing them can always be sent that snapshot.
   */
  compact(index: number): void {
    const offset = this.offset();
    if (index <= offset) return;
    assert(index <= this.snap.metadata.index, `compact(${index}) beyond snapshot ${this.snap.metadata.index}`);
    const e = this.ents[index - offset];
    assert(e !== undefined, `compact(${index}) beyond last index ${this.lastIndex()}`);
    this.ents = [placeholder(e.index, e.term), ...this.ents.slice(index - offset + 1)];
  }

  private offset(): number {
    const head = this.ents[0];
    assert(head !== undefined, 'memory log storage lost its placeholder');
    return head.index;
  }
}

/** The longest prefix of `entries` within `maxBytes` of data, but at least one entry. */
export function limitSize<T extends Entry>(entries: T[], maxBytes: number): T[] {
  if (maxBytes === Infinity) return entries;
  let size = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (e === undefined) break;
    size += e.data.length;
    if (size > maxBytes && i > 0) return entries.slice(0, i);
  }
  return entries;
}

function placeholder(index: number, term: number): Entry {
  return { index, term, type: 'normal', data: new Uint8Array(0) };
}
