import { LogCompactedError, LogUnavailableError } from './errors';
import type { LogStorage } from './storage';
import { BOOTSTRAP_INDEX, BOOTSTRAP_TERM } from './storage';
import type { ConfState, Entry, HardState, Snapshot } from './types';

/**
 * How the compliance suite writes to a LogStorage implementation: each implementation
 * has its own write path (MemoryLogStorage's methods, a RocksDB batch), the read side is
 * the LogStorage contract the Raft core relies on.
 */
export interface LogStorageHarness {
  readonly storage: LogStorage;
  /** Persists entries, replacing any stored at or after the first one's index. */
  append(entries: readonly Entry[]): Promise<void>;
  setHardState(hs: HardState): Promise<void>;
  /** Persists a snapshot received from a leader (it replaces the whole log). */
  applySnapshot(snapshot: Snapshot): Promise<void>;
  /** Takes a snapshot of the applied state at `index` and compacts the log through it. */
  snapshotAndCompact(index: number, confState: ConfState, data: Uint8Array): Promise<void>;
  /** Reopens from what is durable; omit if the implementation is not durable. */
  reopen?(): Promise<LogStorageHarness>;
}

/**
 * The contract every LogStorage keeps (STYLE.md §11), run against each implementation:
 * storage.test.ts (MemoryLogStorage); the RocksDB-backed one can run it too.
 * `open(confState)` returns a harness over a fresh storage for an initial member.
 */
export function describeLogStorageCompliance(name: string, open: (confState: ConfState) => Promise<LogStorageHarness>): void {
  const cs: ConfState = { voters: [1, 2, 3], learners: [] };
  const ent = (index: number, term: number, text = `e${index}`): Entry => ({
    index,
    term,
    type: 'normal',
    data: new TextEncoder().encode(text),
  });
  const terms = (s: LogStorage, lo: number, hi: number): [number, number][] => s.entries(lo, hi).map((e) => [e.index, e.term]);

  describe(`LogStorage compliance: ${name}`, () => {
    test('a new initial member starts from the bootstrap snapshot with the initial membership', async () => {
      const h = await open(cs);
      const s = h.storage;
      expect(s.firstIndex()).toBe(BOOTSTRAP_INDEX + 1);
      expect(s.lastIndex()).toBe(BOOTSTRAP_INDEX);
      expect(s.term(BOOTSTRAP_INDEX)).toBe(BOOTSTRAP_TERM);
      expect(s.snapshot().metadata).toMatchObject({ index: BOOTSTRAP_INDEX, term: BOOTSTRAP_TERM, confState: cs });
      expect(s.initialState()).toEqual({ hardState: { term: 0, vote: 0, commit: 0 }, confState: cs });
      expect(s.entries(BOOTSTRAP_INDEX + 1, BOOTSTRAP_INDEX + 1)).toEqual([]);
    });

    test('appended entries read back; a later append replaces the conflicting suffix', async () => {
      const h = await open(cs);
      await h.append([ent(2, 1), ent(3, 1), ent(4, 2), ent(5, 2)]);
      expect(terms(h.storage, 2, 6)).toEqual([[2, 1], [3, 1], [4, 2], [5, 2]]);
      await h.append([ent(4, 3, 'new')]);
      expect(h.storage.lastIndex()).toBe(4);
      expect(terms(h.storage, 2, 5)).toEqual([[2, 1], [3, 1], [4, 3]]);
      expect(new TextDecoder().decode(h.storage.entries(4, 5)[0]?.data)).toBe('new');
    });

    test('reads outside [firstIndex - 1, lastIndex] throw the typed errors', async () => {
      const h = await open(cs);
      await h.append([ent(2, 1), ent(3, 1)]);
      expect(() => h.storage.entries(2, 5)).toThrow(LogUnavailableError);
      expect(() => h.storage.term(4)).toThrow(LogUnavailableError);
      await h.snapshotAndCompact(3, cs, new Uint8Array([1]));
      expect(() => h.storage.entries(3, 4)).toThrow(LogCompactedError);
      expect(() => h.storage.term(2)).toThrow(LogCompactedError);
      expect(h.storage.term(3)).toBe(1);
    });

    test('maxBytes limits entries, but at least one is returned', async () => {
      const h = await open(cs);
      await h.append([ent(2, 1, 'aaaa'), ent(3, 1, 'bbbb'), ent(4, 1, 'cccc')]);
      expect(h.storage.entries(2, 5, 1).map((e) => e.index)).toEqual([2]);
      expect(h.storage.entries(2, 5, 8).map((e) => e.index)).toEqual([2, 3]);
      expect(h.storage.entries(2, 5).map((e) => e.index)).toEqual([2, 3, 4]);
    });

    test('a snapshot from the leader replaces the log; its index and term become firstIndex - 1', async () => {
      const h = await open(cs);
      await h.append([ent(2, 1), ent(3, 1)]);
      const snap: Snapshot = { metadata: { index: 10, term: 4, confState: { voters: [1, 2], learners: [3] } }, data: new Uint8Array([7]) };
      await h.applySnapshot(snap);
      expect([h.storage.firstIndex(), h.storage.lastIndex(), h.storage.term(10)]).toEqual([11, 10, 4]);
      expect(h.storage.snapshot().metadata).toEqual(snap.metadata);
      expect(h.storage.initialState().confState).toEqual(snap.metadata.confState);
      await h.append([ent(11, 4)]);
      expect(terms(h.storage, 11, 12)).toEqual([[11, 4]]);
    });

    test('compaction keeps the snapshot at least as new as the compaction point', async () => {
      const h = await open(cs);
      await h.append([ent(2, 1), ent(3, 1), ent(4, 2)]);
      await h.snapshotAndCompact(3, cs, new Uint8Array([3]));
      expect(h.storage.firstIndex()).toBe(4);
      expect(h.storage.snapshot().metadata.index).toBeGreaterThanOrEqual(h.storage.firstIndex() - 1);
      expect(h.storage.snapshot().data).toEqual(new Uint8Array([3]));
    });

    test('restart recovers exactly the persisted hard state, snapshot and entries', async () => {
      const h = await open(cs);
      if (h.reopen === undefined) return;
      await h.append([ent(2, 1), ent(3, 2), ent(4, 2)]);
      await h.setHardState({ term: 2, vote: 3, commit: 3 });
      await h.snapshotAndCompact(2, cs, new Uint8Array([9]));
      const r = await h.reopen();
      expect(r.storage.initialState()).toEqual({ hardState: { term: 2, vote: 3, commit: 3 }, confState: cs });
      expect([r.storage.firstIndex(), r.storage.lastIndex()]).toEqual([3, 4]);
      expect(terms(r.storage, 3, 5)).toEqual([[3, 2], [4, 2]]);
      expect(r.storage.snapshot().metadata.index).toBe(2);
    });
  });
}
