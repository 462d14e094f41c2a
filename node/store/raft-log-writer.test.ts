import { RaftLogStore } from '../replica/raft-log-store';
import type { Engine, WriteBatch, WriteOptions } from '../storage';
import { KeyTooLargeError, MemoryEngine } from '../storage';
import { RaftLogWriter } from './raft-log-writer';

/** Counts synced writes. */
function countingEngine(): { engine: MemoryEngine; syncedWrites: () => number } {
  const engine = new MemoryEngine();
  let synced = 0;
  const write = engine.write.bind(engine);
  engine.write = async (batch: WriteBatch, options?: WriteOptions): Promise<void> => {
    if (options?.sync === true) {
      synced++;
    }
    return write(batch, options);
  };
  return { engine, syncedWrites: () => synced };
}

describe('RaftLogWriter', () => {
  it('makes the appends of many groups durable with one synced write', async () => {
    const { engine, syncedWrites } = countingEngine();
    const writer = new RaftLogWriter(engine);
    const stores = Array.from({ length: 50 }, (_, i) => RaftLogStore.open(engine, i + 1));
    await Promise.all(
      stores.map((store, i) =>
        writer.persist((batch) =>
          store.stage(batch, { entries: [{ index: 1, term: 1, type: 'normal', data: Buffer.from(`g${i}`) }] }),
        ),
      ),
    );
    expect(syncedWrites()).toBe(1);
    expect(writer.stats()).toEqual({ syncs: 1, persists: 50 });
    for (const store of stores) {
      expect(store.lastIndex()).toBe(1);
      expect(RaftLogStore.open(engine as Engine, store.groupId).lastIndex()).toBe(1);
    }
  });

  it('writes a change that need not survive a crash at once, without an fsync', async () => {
    const { engine, syncedWrites } = countingEngine();
    const writer = new RaftLogWriter(engine);
    const store = RaftLogStore.open(engine, 1);
    await writer.persist((batch) => store.stage(batch, { hardState: { term: 0, vote: 0, commit: 5 } }), { sync: false });
    expect(syncedWrites()).toBe(0);
    expect(store.initialState().hardState.commit).toBe(5);
    expect(RaftLogStore.open(engine, 1).initialState().hardState.commit).toBe(5);
  });

  it('rejects only the request that failed to stage, and writes the others', async () => {
    const { engine } = countingEngine();
    const writer = new RaftLogWriter(engine);
    const good = RaftLogStore.open(engine, 1);
    const results = await Promise.allSettled([
      writer.persist((batch) => good.stage(batch, { entries: [{ index: 1, term: 1, type: 'normal', data: Buffer.from('a') }] })),
      writer.persist((batch) => {
        batch.put(Buffer.from('partial'), Buffer.from('x'));
        batch.put(Buffer.alloc(engine.limits.maxKeyBytes + 1), Buffer.from('too big'));
      }),
    ]);
    expect(results[0].status).toBe('fulfilled');
    expect(results[1].status).toBe('rejected');
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(KeyTooLargeError);
    expect(good.lastIndex()).toBe(1);
    // Nothing of the failed request was written.
    expect(engine.get(Buffer.from('partial'))).toBeUndefined();
  });

  it('splits very large rounds into several writes without splitting a request', async () => {
    const { engine, syncedWrites } = countingEngine();
    const writer = new RaftLogWriter(engine, { maxBatchBytes: 500 });
    const stores = Array.from({ length: 10 }, (_, i) => RaftLogStore.open(engine, i + 1));
    await Promise.all(
      stores.map((store) =>
        writer.persist((batch) =>
          store.stage(batch, {
            entries: Array.from({ length: 5 }, (_, j) => ({ index: j + 1, term: 1, type: 'normal' as const, data: Buffer.alloc(100) })),
          }),
        ),
      ),
    );
    expect(syncedWrites()).toBe(10);
    for (const store of stores) {
      expect(store.lastIndex()).toBe(5);
    }
  });
});
