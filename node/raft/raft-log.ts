import { assert } from '../../common/errors';
import { LogCompactedError } from './errors';
import type { LogStorage } from './storage';
import { limitSize } from './storage';
import type { Entry, Snapshot } from './types';

/**
 * The log as the core sees it: stable storage (read-only here) plus an unstable tail
 * (entries and possibly a snapshot) that the caller has not persisted yet. Unstable
 * entries at or after `unstableOffset` shadow anything storage holds at those indexes.
 */
export class RaftLog {
  /** Highest index known to be committed by a quorum. */
  committed: number;
  /** Highest index the caller has applied (acknowledged through advance). */
  applied: number;
  private unstableSnapshot: Snapshot | undefined = undefined;
  private unstable: Entry[] = [];
  private unstableOffset: number;

  constructor(
    readonly storage: LogStorage,
    committed: number,
  ) {
    const first = storage.firstIndex();
    this.unstableOffset = storage.lastIndex() + 1;
    this.applied = first - 1;
    this.committed = Math.max(committed, first - 1);
    assert(this.committed <= storage.lastIndex(), `commit ${committed} past last index ${storage.lastIndex()}`);
  }

  firstIndex(): number {
    if (this.unstableSnapshot !== undefined) return this.unstableSnapshot.metadata.index + 1;
    return this.storage.firstIndex();
  }

  lastIndex(): number {
    if (this.unstable.length > 0) return this.unstableOffset + this.unstable.length - 1;
    if (this.unstableSnapshot !== undefined) return this.unstableSnapshot.metadata.index;
    return this.storage.lastIndex();
  }

  lastTerm(): number {
    const t = this.term(this.lastIndex());
    assert(t !== undefined, 'term of last index unknown');
    return t;
  }

  /** Term of entry i, or undefined if it is compacted or past the end. */
  term(i: number): number | undefined {
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return undefined;
    if (i >= this.unstableOffset) {
      const e = this.unstable[i - this.unstableOffset];
      if (e !== undefined) return e.term;
    }
    const snap = this.unstableSnapshot;
    if (snap !== undefined) {
      if (i === snap.metadata.index) return snap.metadata.term;
      return undefined;
    }
    if (i === 0) return 0;
    return this.storage.term(i);
  }

  matchTerm(i: number, term: number): boolean {
    return this.term(i) === term;
  }

  /** Raft §5.4.1: a candidate's log is at least as up to date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Handles MsgApp's consistency check (Raft §5.3). Returns the last index of the new
   * entries if (prevIndex, prevTerm) matches, else undefined.
   */
  maybeAppend(prevIndex: number, prevTerm: number, committed: number, entries: readonly Entry[]): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      assert(conflict > this.committed, () => `entry ${conflict} conflicts with committed entry (commit ${this.committed})`);
      const first = entries[0];
      assert(first !== undefined, 'conflict without entries');
      this.append(entries.slice(conflict - first.index));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  /**
   * The index of the first entry that is new or whose term differs from ours, or 0 if
   * every entry is already in the log.
   */
  private findConflict(entries: readonly Entry[]): number {
    for (const e of entries) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `term` (or the first index - 1 if none
   * is known): the fast back-off guess of where two logs may still match.
   */
  findConflictByTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex());
    const floor = this.firstIndex() - 1;
    while (i > floor) {
      const t = this.term(i);
      if (t === undefined || t <= term) break;
      i--;
    }
    return i;
  }

  /** Appends to the unstable tail, truncating any conflicting suffix. Returns the new last index. */
  append(entries: readonly Entry[]): number {
    const first = entries[0];
    if (first === undefined) return this.lastIndex();
    assert(first.index > this.committed, () => `append at ${first.index} would overwrite committed ${this.committed}`);
    assert(first.index <= this.lastIndex() + 1, () => `append at ${first.index} leaves a gap after ${this.lastIndex()}`);
    const after = first.index;
    if (after === this.unstableOffset + this.unstable.length) {
      this.unstable.push(...entries);
    } else if (after <= this.unstableOffset) {
      // Replaces the whole unstable tail, and the storage suffix from `after` on once persisted.
      this.unstableOffset = after;
      this.unstable = [...entries];
    } else {
      this.unstable = [...this.unstable.slice(0, after - this.unstableOffset), ...entries];
    }
    return this.lastIndex();
  }

  /** Entries [lo, hi), at most `maxBytes` of data but always at least one. */
  entries(lo: number, hi: number, maxBytes = Infinity): Entry[] {
    if (lo >= hi) return [];
    const first = this.firstIndex();
    if (lo < first) throw new LogCompactedError(lo, first);
    assert(hi <= this.lastIndex() + 1, () => `entries(${lo}, ${hi}) past last index ${this.lastIndex()}`);
    const out: Entry[] = [];
    if (lo < this.unstableOffset) {
      const stable = this.storage.entries(lo, Math.min(hi, this.unstableOffset), maxBytes);
      out.push(...stable);
      // Storage stopped early: the size limit is reached.
      if (stable.length < Math.min(hi, this.unstableOffset) - lo) return out;
    }
    if (hi > this.unstableOffset) {
      const from = Math.max(lo, this.unstableOffset) - this.unstableOffset;
      out.push(...this.unstable.slice(from, hi - this.unstableOffset));
    }
    return limitSize(out, maxBytes);
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    assert(index <= this.lastIndex(), () => `commit ${index} past last index ${this.lastIndex()}`);
    this.committed = index;
  }

  /** Raft §5.4.2: a leader commits only entries of its own term by counting replicas. */
  maybeCommit(index: number, term: number): boolean {
    if (index > this.committed && this.term(index) === term) {
      this.commitTo(index);
      return true;
    }
    return false;
  }

  appliedTo(index: number): void {
    if (index === 0) return;
    assert(index <= this.committed && index >= this.applied, () => `applied ${index} outside [${this.applied}, ${this.committed}]`);
    this.applied = index;
  }

  hasNextCommittedEntries(): boolean {
    return this.committed > this.applied && this.applied + 1 >= this.firstIndex();
  }

  nextCommittedEntries(maxBytes: number): Entry[] {
    if (!this.hasNextCommittedEntries()) return [];
    return this.entries(this.applied + 1, this.committed + 1, maxBytes);
  }

  unstableEntries(): readonly Entry[] {
    return this.unstable;
  }

  pendingSnapshot(): Snapshot | undefined {
    return this.unstableSnapshot;
  }

  /** The caller persisted entries through (index, term). */
  stableTo(index: number, term: number): boolean {
    if (index < this.unstableOffset) return false;
    const e = this.unstable[index - this.unstableOffset];
    if (e === undefined || e.term !== term) return false;
    this.unstable = this.unstable.slice(index + 1 - this.unstableOffset);
    this.unstableOffset = index + 1;
    return true;
  }

  stableSnapshotTo(index: number): void {
    if (this.unstableSnapshot !== undefined && this.unstableSnapshot.metadata.index === index) {
      this.unstableSnapshot = undefined;
    }
  }

  /** Replaces the log with a snapshot (Raft §7); it becomes stable once the caller persists it. */
  restore(snap: Snapshot): void {
    this.committed = snap.metadata.index;
    this.unstableSnapshot = snap;
    this.unstable = [];
    this.unstableOffset = snap.metadata.index + 1;
  }

  /** The latest snapshot: the unstable one if any, else storage's. */
  snapshot(): Snapshot {
    return this.unstableSnapshot ?? this.storage.snapshot();
  }
}
