import { assert } from '../../common/errors';
import * as pb from '../../proto/gen/cairn/raft/v1/raft';
import { BOOTSTRAP_INDEX, BOOTSTRAP_TERM, limitSize, LogCompactedError, LogUnavailableError } from '../raft';
import type { LogStorage } from '../raft';
import type { ConfState, Entry, HardState, Snapshot } from '../raft';
import type { Engine, WriteBatch } from '../storage';
import { forEachInSpan, storeLocalKey } from '../storage';
import {
  decodeEntry,
  decodeHardState,
  decodeLogState,
  encodeEntry,
  encodeHardState,
  snapshotMetadataFromProto,
  snapshotMetadataToProto,
} from './raft-codec';

/*
 * One group's Raft log, hard state and snapshot on the node's engine, in store-local
 * (unreplicated, non-MVCC) keys:
 *
 *   0x01 "raft/" groupId(8) 0x01           → HardState
 *   0x01 "raft/" groupId(8) 0x02           → LogState (snapshot metadata and data)
 *   0x01 "raft/" groupId(8) 0x03 index(8)  → Entry
 *
 * Changes are staged into a WriteBatch that the caller writes (RaftLogWriter writes
 * the batches of many groups with one fsync); the in-memory view moves only once the
 * write has succeeded, so Raft never reads what is not durable.
 */

const EMPTY_HARD_STATE: HardState = { term: 0, vote: 0, commit: 0 };
const HARD_STATE_SUFFIX = 0x01;
const LOG_STATE_SUFFIX = 0x02;
const ENTRY_SUFFIX = 0x03;
/** Recent entries kept decoded: the leader reads them to replicate. */
const TAIL_CACHE_ENTRIES = 1024;

function groupPrefix(groupId: number): Buffer {
  const suffix = Buffer.alloc(5 + 8);
  suffix.write('raft/', 0, 'latin1');
  suffix.writeBigUInt64BE(BigInt(groupId), 5);
  return storeLocalKey(suffix);
}

function withSuffix(prefix: Buffer, suffix: number, index?: number): Buffer {
  const key = Buffer.alloc(prefix.length + 1 + (index === undefined ? 0 : 8));
  prefix.copy(key, 0);
  key[prefix.length] = suffix;
  if (index !== undefined) {
    key.writeBigUInt64BE(BigInt(index), prefix.length + 1);
  }
  return key;
}

/** What a Ready asks to persist for one group. */
export interface LogChanges {
  readonly hardState?: HardState | undefined;
  readonly entries?: readonly Entry[];
  readonly snapshot?: Snapshot | undefined;
}

export class RaftLogStore implements LogStorage {
  private readonly prefix: Buffer;
  private hardState: HardState;
  private snapshotState: Snapshot;
  /** The last compacted entry: firstIndex is one past it. */
  private truncated: { readonly index: number; readonly term: number };
  private lastIndexValue: number;
  /** Decoded entries [tailStart, lastIndex]; tail[i - tailStart]. */
  private tail: Entry[] = [];
  private tailStart: number;
  private snapshotSource: (() => Snapshot) | undefined;

  private constructor(
    private readonly engine: Engine,
    readonly groupId: number,
    hardState: HardState,
    snapshot: Snapshot,
    truncated: { readonly index: number; readonly term: number },
    lastIndex: number,
  ) {
    this.prefix = groupPrefix(groupId);
    this.hardState = hardState;
    this.snapshotState = snapshot;
    this.truncated = truncated;
    this.lastIndexValue = lastIndex;
    this.tailStart = lastIndex + 1;
  }

  /**
   * Loads a group's log from the engine. With nothing stored, an initial member of a
   * new group (given `initialConfState`) starts from the bootstrap snapshot holding the
   * initial membership, as MemoryLogStorage does; a member joining later starts empty.
   */
  static open(engine: Engine, groupId: number, initialConfState?: ConfState): RaftLogStore {
    const prefix = groupPrefix(groupId);
    const rawHardState = engine.get(withSuffix(prefix, HARD_STATE_SUFFIX));
    const rawLogState = engine.get(withSuffix(prefix, LOG_STATE_SUFFIX));
    const hardState = rawHardState === undefined ? EMPTY_HARD_STATE : decodeHardState(rawHardState);
    const bootstrap = initialConfState === undefined ? { index: 0, term: 0 } : { index: BOOTSTRAP_INDEX, term: BOOTSTRAP_TERM };
    let snapshot: Snapshot = {
      metadata: { ...bootstrap, confState: initialConfState ?? { voters: [], learners: [] } },
      data: new Uint8Array(0),
    };
    let truncated = bootstrap;
    if (rawLogState !== undefined) {
      const logState = decodeLogState(rawLogState);
      snapshot = { metadata: snapshotMetadataFromProto(logState.snapshot), data: logState.snapshotData };
      truncated = { index: Number(logState.truncatedIndex), term: Number(logState.truncatedTerm) };
    }
    // The last entry: a reverse cursor from just past the entry keys.
    let lastIndex = snapshot.metadata.index;
    const cursor = engine.cursor({ reverse: true, expectedEntries: 1 });
    try {
      cursor.seek(withSuffix(prefix, ENTRY_SUFFIX + 1));
      if (cursor.valid()) {
        const key = cursor.key();
        const entryPrefix = withSuffix(prefix, ENTRY_SUFFIX);
        if (key.length === entryPrefix.length + 8 && key.subarray(0, entryPrefix.length).equals(entryPrefix)) {
          lastIndex = Math.max(lastIndex, Number(key.readBigUInt64BE(entryPrefix.length)));
        }
      }
    } finally {
      cursor.close();
    }
    return new RaftLogStore(engine, groupId, hardState, snapshot, truncated, lastIndex);
  }

  initialState(): { readonly hardState: HardState; readonly confState: ConfState } {
    return { hardState: this.hardState, confState: this.snapshotState.metadata.confState };
  }

  firstIndex(): number {
    return this.truncated.index + 1;
  }

  lastIndex(): number {
    return this.lastIndexValue;
  }

  term(i: number): number {
    if (i === this.truncated.index) {
      return this.truncated.term;
    }
    if (i < this.truncated.index) {
      throw new LogCompactedError(i, this.truncated.index + 1);
    }
    return this.entry(i).term;
  }

  /** Entries [lo, hi), cut after the first that takes their data past `maxBytes` (at least one). */
  entries(lo: number, hi: number, maxBytes = Infinity): readonly Entry[] {
    if (lo < this.firstIndex()) {
      throw new LogCompactedError(lo, this.firstIndex());
    }
    if (hi > this.lastIndexValue + 1) {
      throw new LogUnavailableError(hi - 1, this.lastIndexValue);
    }
    if (lo >= this.tailStart) {
      return limitSize(this.tail.slice(lo - this.tailStart, hi - this.tailStart), maxBytes);
    }
    const out: Entry[] = [];
    let bytes = 0;
    forEachInSpan(this.engine, this.entryKey(lo), this.entryKey(hi), (_key, value) => {
      const entry = decodeEntry(value);
      bytes += entry.data.length;
      if (bytes > maxBytes && out.length > 0) {
        return false;
      }
      out.push(entry);
      return true;
    });
    assert(
      out.length === hi - lo || bytes > maxBytes,
      `raft log of group ${this.groupId} has a hole in [${lo}, ${hi})`,
    );
    return out;
  }

  snapshot(): Snapshot {
    return this.snapshotSource?.() ?? this.snapshotState;
  }

  /**
   * Makes snapshots come from the state machine: `source` builds one of the applied
   * state when Raft needs to send it, and the log keeps only snapshot metadata, never
   * the data (a range's data lives in the engine already).
   */
  useSnapshotSource(source: () => Snapshot): void {
    this.snapshotSource = source;
  }

  /** Writes the current (bootstrap) snapshot's metadata, so a restart needs no initial conf state. */
  stageBootstrap(batch: WriteBatch): void {
    this.stageLogState(batch, this.snapshotState, this.truncated);
  }

  /**
   * Adds the writes for `changes` to `batch` and returns what to do once the batch is
   * written: move the in-memory view. Order within: a snapshot replaces the whole log,
   * then entries replace any existing ones from their first index on.
   */
  stage(batch: WriteBatch, changes: LogChanges): () => void {
    const steps: (() => void)[] = [];
    let lastIndex = this.lastIndexValue;
    if (changes.snapshot !== undefined && changes.snapshot.metadata.index > this.snapshotState.metadata.index) {
      // A snapshot from the leader replaces the whole log.
      const snapshot = changes.snapshot;
      const truncated = { index: snapshot.metadata.index, term: snapshot.metadata.term };
      this.stageDeleteEntries(batch, this.firstIndex(), lastIndex);
      this.stageLogState(batch, snapshot, truncated);
      lastIndex = snapshot.metadata.index;
      steps.push(() => {
        this.snapshotState = snapshot;
        this.truncated = truncated;
        this.tail = [];
        this.tailStart = snapshot.metadata.index + 1;
      });
    }
    const entries = changes.entries ?? [];
    const first = entries[0];
    if (first !== undefined) {
      assert(first.index <= lastIndex + 1, () => `raft append at ${first.index} leaves a gap after ${lastIndex}`);
      const newLast = first.index + entries.length - 1;
      for (const entry of entries) {
        batch.put(this.entryKey(entry.index), encodeEntry(entry));
      }
      // Entries past the new last index conflict with the appended ones: drop them.
      this.stageDeleteEntries(batch, newLast + 1, lastIndex);
      lastIndex = newLast;
      steps.push(() => this.appendToTail(entries));
    }
    if (changes.hardState !== undefined) {
      const hardState = changes.hardState;
      batch.put(withSuffix(this.prefix, HARD_STATE_SUFFIX), encodeHardState(hardState));
      steps.push(() => {
        this.hardState = hardState;
      });
    }
    const finalLast = lastIndex;
    return () => {
      for (const step of steps) {
        step();
      }
      this.lastIndexValue = finalLast;
    };
  }

  /**
   * Records a snapshot of the applied state at `index` and drops the entries it covers,
   * keeping `keepEntries` before it for followers that are only a little behind.
   */
  stageSnapshotAndCompact(
    batch: WriteBatch,
    index: number,
    confState: ConfState,
    data: Uint8Array,
    keepEntries = 0,
  ): () => void {
    assert(index > this.snapshotState.metadata.index, `snapshot at ${index} is not newer than ${this.snapshotState.metadata.index}`);
    assert(index <= this.lastIndexValue, `snapshot at ${index} is past the last index ${this.lastIndexValue}`);
    const snapshot: Snapshot = { metadata: { index, term: this.term(index), confState }, data };
    const compactTo = Math.max(this.truncated.index, index - keepEntries);
    const truncated = { index: compactTo, term: this.term(compactTo) };
    this.stageLogState(batch, snapshot, truncated);
    this.stageDeleteEntries(batch, this.firstIndex(), compactTo);
    return () => {
      this.snapshotState = snapshot;
      this.truncated = truncated;
      if (this.tailStart <= compactTo) {
        this.tail = this.tail.slice(compactTo + 1 - this.tailStart);
        this.tailStart = compactTo + 1;
      }
    };
  }

  /** Removes everything of the group (the replica is gone). */
  stageDestroy(batch: WriteBatch): void {
    this.stageDeleteEntries(batch, this.firstIndex(), this.lastIndexValue);
    batch.delete(withSuffix(this.prefix, HARD_STATE_SUFFIX));
    batch.delete(withSuffix(this.prefix, LOG_STATE_SUFFIX));
  }

  private stageLogState(
    batch: WriteBatch,
    snapshot: Snapshot,
    truncated: { readonly index: number; readonly term: number },
  ): void {
    const logState: pb.LogState = {
      snapshot: snapshotMetadataToProto(snapshot.metadata),
      snapshotData:
        this.snapshotSource === undefined
          ? Buffer.from(snapshot.data.buffer, snapshot.data.byteOffset, snapshot.data.byteLength)
          : Buffer.alloc(0),
      truncatedIndex: BigInt(truncated.index),
      truncatedTerm: BigInt(truncated.term),
    };
    batch.put(withSuffix(this.prefix, LOG_STATE_SUFFIX), Buffer.from(pb.LogState.encode(logState).finish()));
  }

  private stageDeleteEntries(batch: WriteBatch, from: number, to: number): void {
    for (let i = Math.max(from, 1); i <= to; i++) {
      batch.delete(this.entryKey(i));
    }
  }

  private appendToTail(entries: readonly Entry[]): void {
    const first = entries[0] as Entry;
    if (first.index < this.tailStart || first.index > this.tailStart + this.tail.length) {
      // Not contiguous with the cached tail: start the cache afresh.
      this.tail = [];
      this.tailStart = first.index;
    } else {
      this.tail.length = first.index - this.tailStart;
    }
    for (const entry of entries) {
      this.tail.push(entry);
    }
    if (this.tail.length > TAIL_CACHE_ENTRIES) {
      const drop = this.tail.length - TAIL_CACHE_ENTRIES;
      this.tail = this.tail.slice(drop);
      this.tailStart += drop;
    }
  }

  private entry(i: number): Entry {
    if (i > this.lastIndexValue) {
      throw new LogUnavailableError(i, this.lastIndexValue);
    }
    if (i >= this.tailStart) {
      return this.tail[i - this.tailStart] as Entry;
    }
    const raw = this.engine.get(this.entryKey(i));
    assert(raw !== undefined, () => `raft log of group ${this.groupId} lacks entry ${i}`);
    return decodeEntry(raw);
  }

  private entryKey(index: number): Buffer {
    return withSuffix(this.prefix, ENTRY_SUFFIX, index);
  }
}
