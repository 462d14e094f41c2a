import fc from 'fast-check';
import { LogCompactedError, LogUnavailableError } from './errors';
import { describeLogStorageCompliance } from './log-storage.compliance';
import { RaftLog } from './raft-log';
import { BOOTSTRAP_INDEX, MemoryLogStorage } from './storage';
import type { Entry } from './types';

const cs = { voters: [1, 2, 3], learners: [] };
const ent = (index: number, term: number): Entry => ({ index, term, type: 'normal', data: new Uint8Array([index & 0xff]) });

describeLogStorageCompliance('MemoryLogStorage', async (confState) => {
  const storage = new MemoryLogStorage(confState);
  return {
    storage,
    append: async (entries) => storage.append(entries),
    setHardState: async (hs) => storage.setHardState(hs),
    applySnapshot: async (snap) => {
      storage.applySnapshot(snap);
    },
    snapshotAndCompact: async (index, cs, data) => {
      storage.createSnapshot(index, cs, data);
      storage.compact(index);
    },
  };
});

describe('MemoryLogStorage', () => {
  test('an initial member starts from the bootstrap snapshot holding the membership', () => {
    const s = new MemoryLogStorage(cs);
    expect(s.firstIndex()).toBe(BOOTSTRAP_INDEX + 1);
    expect(s.lastIndex()).toBe(BOOTSTRAP_INDEX);
    expect(s.initialState().confState).toEqual(cs);
    expect(new MemoryLogStorage().lastIndex()).toBe(0);
  });

  test('append replaces a conflicting suffix; reads outside the log throw typed errors', () => {
    const s = new MemoryLogStorage(cs);
    s.append([ent(2, 1), ent(3, 1), ent(4, 1)]);
    s.append([ent(3, 2)]);
    expect(s.lastIndex()).toBe(3);
    expect(s.term(3)).toBe(2);
    expect(() => s.entries(2, 5)).toThrow(LogUnavailableError);
    expect(() => s.append([ent(6, 2)])).toThrow(/gap/);
    s.createSnapshot(3, cs, new Uint8Array([9]));
    s.compact(2);
    expect(s.firstIndex()).toBe(3);
    expect(() => s.entries(2, 3)).toThrow(LogCompactedError);
    expect(s.term(2)).toBe(1);
    expect(() => s.compact(4)).toThrow(/beyond snapshot/);
  });

  test('applySnapshot replaces the log and refuses an older snapshot', () => {
    const s = new MemoryLogStorage(cs);
    s.append([ent(2, 1), ent(3, 1)]);
    const snap = { metadata: { index: 10, term: 3, confState: cs }, data: new Uint8Array() };
    expect(s.applySnapshot(snap)).toBe(true);
    expect([s.firstIndex(), s.lastIndex(), s.term(10)]).toEqual([11, 10, 3]);
    expect(s.applySnapshot({ ...snap, metadata: { ...snap.metadata, index: 5 } })).toBe(false);
  });
});

/**
 * Model check: after any sequence of appends (with truncation), persists (stableTo) and
 * compactions, RaftLog over MemoryLogStorage reads exactly what a plain array says.
 */
describe('RaftLog against a model', () => {
  type Op = { kind: 'append'; back: number; count: number; term: number } | { kind: 'persist' } | { kind: 'compact'; back: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('append' as const), back: fc.nat(5), count: fc.integer({ min: 1, max: 4 }), term: fc.nat(2) }),
    fc.record({ kind: fc.constant('persist' as const) }),
    fc.record({ kind: fc.constant('compact' as const), back: fc.nat(6) }),
  );

  test('reads match the model', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const storage = new MemoryLogStorage(cs);
        const log = new RaftLog(storage, 0);
        // model[i] = term of entry i, for i in [BOOTSTRAP_INDEX, last]
        const model: number[] = [];
        model[BOOTSTRAP_INDEX] = 1;
        let term = 1;
        for (const o of ops) {
          if (o.kind === 'append') {
            term += o.term;
            const last = model.length - 1;
            const from = Math.max(log.committed + 1, log.firstIndex(), last + 1 - o.back);
            const entries = Array.from({ length: o.count }, (_, k) => ent(from + k, term));
            log.append(entries);
            model.length = from;
            for (const e of entries) model[e.index] = e.term;
          } else if (o.kind === 'persist') {
            const unstable = log.unstableEntries();
            const lastE = unstable[unstable.length - 1];
            storage.append(unstable);
            if (lastE !== undefined) log.stableTo(lastE.index, lastE.term);
            log.commitTo(storage.lastIndex());
          } else {
            const upTo = log.committed - o.back;
            if (upTo > storage.snapshot().metadata.index && upTo <= storage.lastIndex()) {
              log.appliedTo(upTo);
              storage.createSnapshot(upTo, cs, new Uint8Array());
              storage.compact(upTo);
            }
          }
          expect(log.lastIndex()).toBe(model.length - 1);
          for (let i = log.firstIndex() - 1; i < model.length; i++) expect(log.term(i)).toBe(model[i]);
          const read = log.entries(log.firstIndex(), log.lastIndex() + 1).map((e) => [e.index, e.term]);
          expect(read).toEqual(model.map((t, i) => [i, t]).slice(log.firstIndex()));
        }
      }),
      { numRuns: 300 },
    );
  });

  test('findConflictByTerm returns the last index whose term is <= the given term', () => {
    const storage = new MemoryLogStorage(cs);
    storage.append([ent(2, 1), ent(3, 1), ent(4, 3), ent(5, 3), ent(6, 5)]);
    const log = new RaftLog(storage, 0);
    expect(log.findConflictByTerm(6, 4)).toBe(5);
    expect(log.findConflictByTerm(6, 2)).toBe(3);
    expect(log.findConflictByTerm(6, 0)).toBe(1);
    expect(log.findConflictByTerm(99, 9)).toBe(6);
  });
});
