import fc from 'fast-check';
import type { ConfState, Entry } from '../raft';
import { MemoryLogStorage } from '../raft';
import type { LogStorageHarness } from '../raft/log-storage.compliance';
import { describeLogStorageCompliance } from '../raft/log-storage.compliance';
import type { Engine } from '../storage';
import { useTempDirs } from '../storage/test-support/temp-stores';
import { MemoryEngine, RocksEngine } from '../storage';
import { RaftLogStore } from './raft-log-store';

const CONF: ConfState = { voters: [1, 2, 3], learners: [] };

function entry(index: number, term: number, text = `e${index}t${term}`): Entry {
  return { index, term, type: 'normal', data: Buffer.from(text) };
}

function range(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) {
    out.push(entry(i, term));
  }
  return out;
}

const openEngines: Engine[] = [];
afterAll(async () => {
  await Promise.all(openEngines.map((engine) => engine.close()));
});
const tempDir = useTempDirs('cairn-raftlog');

async function persist(engine: Engine, store: RaftLogStore, changes: Parameters<RaftLogStore['stage']>[1]): Promise<void> {
  const batch = engine.newBatch();
  const after = store.stage(batch, changes);
  await engine.write(batch, { sync: true });
  after();
}

// Most tests use a joining member's log (no bootstrap snapshot), which starts at index 1.
describe('RaftLogStore', () => {
  it('starts an initial member from the bootstrap snapshot, and a joining member empty', () => {
    const store = RaftLogStore.open(new MemoryEngine(), 7, CONF);
    const model = new MemoryLogStorage(CONF);
    expect(store.initialState()).toEqual(model.initialState());
    expect(store.firstIndex()).toBe(model.firstIndex());
    expect(store.lastIndex()).toBe(model.lastIndex());
    expect(store.term(store.lastIndex())).toBe(model.term(model.lastIndex()));
    expect(store.snapshot()).toEqual(model.snapshot());
    expect(() => store.term(store.lastIndex() + 1)).toThrow(/unavailable/);

    const joining = RaftLogStore.open(new MemoryEngine(), 8);
    const joiningModel = new MemoryLogStorage();
    expect(joining.initialState()).toEqual(joiningModel.initialState());
    expect([joining.firstIndex(), joining.lastIndex()]).toEqual([joiningModel.firstIndex(), joiningModel.lastIndex()]);
  });

  it('shows staged changes only once the batch is written', async () => {
    const engine = new MemoryEngine();
    const store = RaftLogStore.open(engine, 7);
    const batch = engine.newBatch();
    const after = store.stage(batch, { entries: range(1, 3, 1), hardState: { term: 1, vote: 2, commit: 0 } });
    expect(store.lastIndex()).toBe(0);
    await engine.write(batch);
    after();
    expect(store.lastIndex()).toBe(3);
    expect(store.entries(1, 4)).toEqual(range(1, 3, 1));
    expect(store.initialState().hardState).toEqual({ term: 1, vote: 2, commit: 0 });
  });

  it('replaces conflicting entries from the first appended index on (Raft §5.3)', async () => {
    const engine = new MemoryEngine();
    const store = RaftLogStore.open(engine, 7);
    await persist(engine, store, { entries: range(1, 5, 1) });
    await persist(engine, store, { entries: [entry(3, 2), entry(4, 2)] });
    expect(store.lastIndex()).toBe(4);
    expect(store.entries(1, 5).map((e) => e.term)).toEqual([1, 1, 2, 2]);
    const reopened = RaftLogStore.open(engine, 7);
    expect(reopened.lastIndex()).toBe(4);
    expect(reopened.entries(1, 5).map((e) => e.term)).toEqual([1, 1, 2, 2]);
  });

  it('recovers exactly what was persisted after the engine is closed and reopened', async () => {
    const dir = tempDir();
    let engine = await RocksEngine.open(dir);
    let store = RaftLogStore.open(engine, 42);
    await persist(engine, store, { entries: range(1, 2000, 3), hardState: { term: 3, vote: 1, commit: 1500 } });
    const batch = engine.newBatch();
    const after = store.stageSnapshotAndCompact(batch, 1200, CONF, Buffer.from('state at 1200'), 100);
    await engine.write(batch, { sync: true });
    after();
    const other = RaftLogStore.open(engine, 43);
    await persist(engine, other, { entries: range(1, 3, 1) });
    await engine.close();

    engine = await RocksEngine.open(dir);
    store = RaftLogStore.open(engine, 42);
    expect(store.initialState().hardState).toEqual({ term: 3, vote: 1, commit: 1500 });
    expect(store.firstIndex()).toBe(1101);
    expect(store.term(1100)).toBe(3);
    expect(() => store.entries(1100, 1101)).toThrow(/compacted/);
    expect(store.lastIndex()).toBe(2000);
    expect(store.entries(1101, 2001)).toEqual(range(1101, 2000, 3));
    expect(store.snapshot().metadata).toEqual({ index: 1200, term: 3, confState: CONF });
    expect(Buffer.from(store.snapshot().data).toString()).toBe('state at 1200');
    // Groups do not see each other's entries.
    expect(RaftLogStore.open(engine, 43).lastIndex()).toBe(3);
    await engine.close();
  });

  it('replaces the whole log with a snapshot from the leader', async () => {
    const engine = new MemoryEngine();
    const store = RaftLogStore.open(engine, 7);
    await persist(engine, store, { entries: range(1, 10, 1) });
    const snapshot = { metadata: { index: 50, term: 4, confState: { voters: [1, 2], learners: [3] } }, data: Buffer.from('s') };
    await persist(engine, store, { snapshot, entries: [entry(51, 4)], hardState: { term: 4, vote: 0, commit: 50 } });
    expect(store.firstIndex()).toBe(51);
    expect(store.lastIndex()).toBe(51);
    expect(store.term(50)).toBe(4);
    expect(store.initialState().confState).toEqual({ voters: [1, 2], learners: [3] });
    const reopened = RaftLogStore.open(engine, 7);
    expect(reopened.firstIndex()).toBe(51);
    expect(reopened.entries(51, 52)).toEqual([entry(51, 4)]);
    expect(() => reopened.term(10)).toThrow(/compacted/);
  });

  it('reads entries older than its cache from the engine', async () => {
    const engine = new MemoryEngine();
    const store = RaftLogStore.open(engine, 7);
    for (let start = 1; start <= 3000; start += 500) {
      await persist(engine, store, { entries: range(start, start + 499, 2) });
    }
    expect(store.entries(1, 3)).toEqual(range(1, 2, 2));
    expect(store.term(1)).toBe(2);
    expect(store.entries(2990, 3001)).toEqual(range(2990, 3000, 2));
  });

  it('answers like the in-memory log storage for any sequence of appends (property)', async () => {
    // Appends at random points (each replacing the suffix) must leave both storages
    // with the same entries, first and last index.
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ back: fc.nat(6), count: fc.integer({ min: 1, max: 5 }), term: fc.integer({ min: 1, max: 9 }) }), {
          maxLength: 30,
        }),
        async (appends) => {
          const engine = new MemoryEngine();
          const store = RaftLogStore.open(engine, 1);
          const model = new MemoryLogStorage();
          for (const { back, count, term } of appends) {
            const from = Math.max(1, model.lastIndex() + 1 - back);
            const entries = range(from, from + count - 1, term);
            model.append(entries);
            await persist(engine, store, { entries });
          }
          expect(store.lastIndex()).toBe(model.lastIndex());
          expect(store.firstIndex()).toBe(model.firstIndex());
          if (model.lastIndex() > 0) {
            expect(store.entries(1, model.lastIndex() + 1)).toEqual(model.entries(1, model.lastIndex() + 1));
            const reopened = RaftLogStore.open(engine, 1);
            expect(reopened.entries(1, model.lastIndex() + 1)).toEqual(model.entries(1, model.lastIndex() + 1));
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});

/** The Raft core's LogStorage contract, on RocksDB (with restarts) and in memory. */
function harness(engine: Engine, groupId: number, confState: ConfState | undefined, reopenEngine?: () => Promise<Engine>): LogStorageHarness {
  const store = RaftLogStore.open(engine, groupId, confState);
  const write = async (stage: (batch: ReturnType<Engine['newBatch']>) => () => void): Promise<void> => {
    const batch = engine.newBatch();
    const after = stage(batch);
    await engine.write(batch, { sync: true });
    after();
  };
  return {
    storage: store,
    append: (entries) => write((batch) => store.stage(batch, { entries })),
    setHardState: (hardState) => write((batch) => store.stage(batch, { hardState })),
    applySnapshot: (snapshot) => write((batch) => store.stage(batch, { snapshot })),
    snapshotAndCompact: (index, cs, data) => write((batch) => store.stageSnapshotAndCompact(batch, index, cs, data)),
    ...(reopenEngine === undefined
      ? {}
      : {
          reopen: async () => {
            const reopened = await reopenEngine();
            return harness(reopened, groupId, confState, reopenEngine);
          },
        }),
  };
}

describeLogStorageCompliance('RaftLogStore on MemoryEngine', async (confState) => harness(new MemoryEngine(), 1, confState));

describeLogStorageCompliance('RaftLogStore on RocksEngine', async (confState) => {
  const dir = tempDir();
  let engine: Engine = await RocksEngine.open(dir);
  openEngines.push(engine);
  const reopen = async (): Promise<Engine> => {
    await engine.close();
    engine = await RocksEngine.open(dir);
    openEngines.push(engine);
    return engine;
  };
  return harness(engine, 1, confState, reopen);
});
