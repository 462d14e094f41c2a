import fc from 'fast-check';
import { InvalidArgumentError } from '../../common/errors';
import type { Timestamp } from '../../common/hlc';
import { compareTimestamps } from '../../common/hlc';
import type { Engine } from './engine';
import { MemoryEngine } from './memory-engine';
import type { RefreshConflict } from './mvcc';
import { mvccFindRefreshConflict, mvccPut, mvccRefreshSpan, mvccResolveIntent } from './mvcc';
import type { TxnMeta } from './mvcc-value';
import { bothEngines, useTempDirs } from './test-support/temp-stores';

const ts = (wall: number, logical = 0): Timestamp => ({ wallTime: BigInt(wall), logical });
const b = (text: string): Buffer => Buffer.from(text);

function txnMeta(idByte: number, writeTs: Timestamp): TxnMeta {
  return {
    id: Buffer.alloc(16, idByte),
    anchorKey: b('anchor'),
    epoch: 0,
    writeTimestamp: writeTs,
    minTimestamp: writeTs,
    priority: 1,
    sequence: 0,
  };
}

const ME = Buffer.alloc(16, 1);

/** The conflict as a line: what a refresh that fails reports. */
function show(conflict: RefreshConflict | undefined): string {
  if (conflict === undefined) return 'none';
  if (conflict.kind === 'version') {
    const t = conflict.timestamp;
    return `version ${conflict.key.toString()}@${t.wallTime}${t.logical === 0 ? '' : `.${t.logical}`}`;
  }
  return `intent ${conflict.conflict.key.toString()} of ${conflict.conflict.txnId.toString('hex').slice(0, 2)}`;
}

/*
 * A refresh moves a transaction's reads from `from` up to `to`: allowed only if the
 * reads would return the same at `to` (DESIGN.md §7, read refresh): no committed write
 * (a tombstone is one) in (from, to] and no other transaction's intent at or below
 * `to` (it may commit there). The transaction's own intents are its own writes.
 */
describe.each(bothEngines(useTempDirs('cairn-mvcc-refresh')))('mvccFindRefreshConflict on %s', (_name, openEngine) => {
  let engine: Engine;
  beforeEach(async () => {
    engine = await openEngine();
  });
  afterEach(async () => {
    await engine.close();
  });

  async function put(key: string, at: Timestamp, value: string | undefined, txn?: TxnMeta): Promise<void> {
    const batch = engine.newBatch();
    mvccPut(engine, batch, b(key), at, value === undefined ? undefined : b(value), txn === undefined ? {} : { txn });
    await engine.write(batch);
  }

  /** Refreshes [start, end) from `from` to `to` as transaction `txnId` (ME unless given; null: none). */
  const find = (start: string, end: string, from: Timestamp, to: Timestamp, txnId: Buffer | null = ME): string =>
    show(mvccFindRefreshConflict(engine, b(start), b(end), from, to, txnId ?? undefined));

  it('finds nothing in an empty span, or where every version is at or below `from`', async () => {
    expect(find('a', 'z', ts(10), ts(20))).toBe('none');
    await put('k', ts(5), 'v5');
    await put('k', ts(10), 'v10'); // exactly `from`: the read saw it
    expect(find('a', 'z', ts(10), ts(20))).toBe('none');
  });

  it('finds a version in the window (from, to], up to and including `to`', async () => {
    await put('k', ts(15), 'v15');
    expect(find('a', 'z', ts(10), ts(20))).toBe('version k@15');
    expect(find('a', 'z', ts(10), ts(15))).toBe('version k@15');
    expect(find('a', 'z', ts(10), ts(14, 9))).toBe('none');
    expect(find('a', 'z', ts(15), ts(20))).toBe('none');
    expect(find('a', 'z', ts(14, 9), ts(15))).toBe('version k@15');
  });

  it('ignores versions above `to`: a refresh to a lower timestamp does not see them', async () => {
    await put('k', ts(30), 'v30');
    expect(find('a', 'z', ts(10), ts(20))).toBe('none');
    expect(find('a', 'z', ts(10), ts(30))).toBe('version k@30');
  });

  it('counts a tombstone as a write', async () => {
    await put('k', ts(5), 'v5');
    await put('k', ts(15), undefined);
    expect(find('a', 'z', ts(10), ts(20))).toBe('version k@15');
  });

  it('finds an older version in the window below a newer one above it', async () => {
    await put('k', ts(5), 'v5');
    await put('k', ts(15), 'v15');
    await put('k', ts(30), 'v30');
    await put('k', ts(40), undefined);
    expect(find('a', 'z', ts(10), ts(20))).toBe('version k@15');
    expect(find('a', 'z', ts(20), ts(35))).toBe('version k@30');
    expect(find('a', 'z', ts(16), ts(29))).toBe('none');
  });

  it('looks only inside [start, end), at keys that share a prefix too', async () => {
    await put('b', ts(15), 'b');
    await put('d', ts(15), 'd');
    await put('c\x00', ts(15), 'c0');
    expect(find('c', 'c\x00', ts(10), ts(20))).toBe('none'); // only the key c
    expect(find('c', 'd', ts(10), ts(20))).toBe('version c\x00@15');
    expect(find('b\x00', 'c\x00', ts(10), ts(20))).toBe('none');
    expect(find('a', 'b', ts(10), ts(20))).toBe('none');
    expect(find('a', 'b\x00', ts(10), ts(20))).toBe('version b@15');
  });

  it("finds another transaction's intent at or below `to`, wherever it lies below", async () => {
    await put('k', ts(5), 'v5');
    await put('k', ts(8), 'theirs', txnMeta(2, ts(8))); // below `from`: it may still commit in the window
    expect(find('a', 'z', ts(10), ts(20))).toBe('intent k of 02');
    expect(find('a', 'z', ts(6), ts(8))).toBe('intent k of 02');
    expect(find('a', 'z', ts(6), ts(7, 9))).toBe('none');
  });

  it("ignores another transaction's intent above `to`", async () => {
    await put('k', ts(25), 'theirs', txnMeta(2, ts(25)));
    expect(find('a', 'z', ts(10), ts(20))).toBe('none');
    expect(find('a', 'z', ts(10), ts(25))).toBe('intent k of 02');
  });

  it('ignores the refreshing transaction’s own intents, but not when no transaction is given', async () => {
    await put('k', ts(15), 'mine', txnMeta(1, ts(15)));
    expect(find('a', 'z', ts(10), ts(20), ME)).toBe('none');
    expect(find('a', 'z', ts(10), ts(20), Buffer.alloc(16, 3))).toBe('intent k of 01');
    expect(find('a', 'z', ts(10), ts(20), null)).toBe('intent k of 01');
  });

  it('sees a committed intent as a version at its commit timestamp', async () => {
    await put('k', ts(12), 'theirs', txnMeta(2, ts(12)));
    const batch = engine.newBatch();
    mvccResolveIntent(engine, batch, b('k'), { status: 'committed', txnId: Buffer.alloc(16, 2), epoch: 0, commitTimestamp: ts(18) });
    await engine.write(batch);
    expect(find('a', 'z', ts(10), ts(17))).toBe('none');
    expect(find('a', 'z', ts(10), ts(18))).toBe('version k@18');
  });

  it('rejects an empty or inverted span', () => {
    expect(() => find('k', 'k', ts(10), ts(20))).toThrow(InvalidArgumentError);
    expect(() => find('z', 'a', ts(10), ts(20))).toThrow(InvalidArgumentError);
  });
});

describe('mvccFindRefreshConflict against a model', () => {
  interface Write {
    readonly key: string;
    readonly wall: number;
    readonly tombstone: boolean;
    /** 0: committed; otherwise the writing transaction's ID byte (1 is the refresher). */
    readonly txn: number;
  }
  const KEYS = ['a', 'b', 'b\x00', 'c'];
  const writeArb: fc.Arbitrary<Write> = fc.record({
    key: fc.constantFrom(...KEYS),
    wall: fc.integer({ min: 1, max: 12 }),
    tombstone: fc.boolean(),
    txn: fc.constantFrom(0, 0, 0, 1, 2),
  });

  it('fails a refresh exactly when the model finds a write in the window or a foreign intent at or below `to`', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(writeArb, { maxLength: 12 }),
        fc.integer({ min: 0, max: 12 }),
        fc.integer({ min: 0, max: 12 }),
        fc.constantFrom(['a', 'c'], ['a', 'b'], ['b', 'c'], ['b', 'b\x00'], ['a', 'd']),
        async (writes, x, y, [start, end]) => {
          const from = ts(Math.min(x, y));
          const to = ts(Math.max(x, y));
          const engine = new MemoryEngine();
          // Keep what MVCC accepted: versions only move up, one intent per key.
          const versions: { key: string; ts: Timestamp }[] = [];
          const intents = new Map<string, { txn: number; ts: Timestamp }>();
          for (const write of writes) {
            if (write.txn === 0 && intents.has(write.key)) continue;
            const held = intents.get(write.key);
            if (held !== undefined && held.txn !== write.txn) continue;
            const newest = versions.filter((v) => v.key === write.key).reduce((m, v) => Math.max(m, Number(v.ts.wallTime)), 0);
            if (write.wall <= newest) continue;
            const batch = engine.newBatch();
            const txn = write.txn === 0 ? undefined : txnMeta(write.txn, ts(write.wall));
            mvccPut(engine, batch, b(write.key), ts(write.wall), write.tombstone ? undefined : b('v'), txn === undefined ? {} : { txn });
            await engine.write(batch);
            if (write.txn === 0) versions.push({ key: write.key, ts: ts(write.wall) });
            else intents.set(write.key, { txn: write.txn, ts: ts(write.wall) });
          }
          const inSpan = (key: string): boolean => key >= start && key < end;
          const expected =
            versions.some((v) => inSpan(v.key) && compareTimestamps(v.ts, from) > 0 && compareTimestamps(v.ts, to) <= 0) ||
            [...intents].some(([key, i]) => inSpan(key) && i.txn !== 1 && compareTimestamps(i.ts, to) <= 0);
          const found = mvccFindRefreshConflict(engine, b(start), b(end), from, to, ME);
          expect(found !== undefined).toBe(expected);
          if (found?.kind === 'version') {
            expect(inSpan(found.key.toString())).toBe(true);
            expect(compareTimestamps(found.timestamp, from)).toBeGreaterThan(0);
            expect(compareTimestamps(found.timestamp, to)).toBeLessThanOrEqual(0);
          }
          await engine.close();
        },
      ),
      { numRuns: 200 },
    );
  });
});

/*
 * A refresh of a large span goes page by page (mvccRefreshSpan with a limit): the pages
 * together must judge the span exactly as one unlimited check does, whatever the limit,
 * and on RocksDB, where the lock table index passes over the refresher's own intents
 * without reading them.
 */
describe.each(bothEngines(useTempDirs('cairn-mvcc-refresh-pages')))('mvccRefreshSpan page by page on %s', (_name, openEngine) => {
  it('reaches the verdict of an unlimited check, stopping only between keys and always moving on', async () => {
    const engine = await openEngine();
    let run = 0;
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              key: fc.integer({ min: 0, max: 30 }),
              wall: fc.integer({ min: 1, max: 12 }),
              txn: fc.constantFrom(0, 0, 1, 1, 1, 2),
            }),
            { maxLength: 40 },
          ),
          fc.integer({ min: 0, max: 12 }),
          fc.integer({ min: 0, max: 12 }),
          fc.integer({ min: 1, max: 4 }),
          async (writes, x, y, limit) => {
            // Each run writes under its own prefix of the one store.
            const prefix = `r${String(run++).padStart(5, '0')}/`;
            const key = (n: number): Buffer => b(`${prefix}${String(n).padStart(2, '0')}`);
            const from = ts(Math.min(x, y));
            const to = ts(Math.max(x, y));
            for (const write of writes) {
              const batch = engine.newBatch();
              const txn = write.txn === 0 ? undefined : txnMeta(write.txn, ts(write.wall));
              try {
                mvccPut(engine, batch, key(write.key), ts(write.wall), b('v'), txn === undefined ? {} : { txn });
              } catch {
                continue; // MVCC refused it (an older version, another's intent): not written.
              }
              await engine.write(batch);
            }
            const start = b(prefix);
            const end = b(`${prefix}~`);
            const whole = mvccFindRefreshConflict(engine, start, end, from, to, ME);
            let at = start;
            let paged: RefreshConflict | undefined;
            for (let pages = 0; ; pages++) {
              expect(pages).toBeLessThan(200);
              const page = mvccRefreshSpan(engine, at, end, from, to, ME, limit);
              if (page.conflict !== undefined) {
                paged = page.conflict;
                break;
              }
              if (page.resumeKey === undefined) break;
              expect(Buffer.compare(page.resumeKey, at)).toBeGreaterThan(0);
              at = page.resumeKey;
            }
            expect(paged !== undefined).toBe(whole !== undefined);
          },
        ),
        { numRuns: 150 },
      );
    } finally {
      await engine.close();
    }
  });

  it('passes over thousands of its own intents to find another transaction’s intent after them', async () => {
    const engine = await openEngine();
    try {
      const batch = engine.newBatch();
      for (let i = 0; i < 5000; i++) {
        mvccPut(engine, batch, b(`k${String(i).padStart(5, '0')}`), ts(10), b('mine'), { txn: txnMeta(1, ts(10)) });
      }
      mvccPut(engine, batch, b('k99999'), ts(12), b('theirs'), { txn: txnMeta(2, ts(12)) });
      await engine.write(batch);
      expect(show(mvccFindRefreshConflict(engine, b('k'), b('l'), ts(5), ts(20), ME))).toBe('intent k99999 of 02');
      expect(show(mvccFindRefreshConflict(engine, b('k'), b('k99999'), ts(5), ts(20), ME))).toBe('none');
      // Another transaction refreshing the same span meets the first of these intents.
      expect(show(mvccFindRefreshConflict(engine, b('k'), b('l'), ts(5), ts(20), Buffer.alloc(16, 3)))).toBe('intent k00000 of 01');
    } finally {
      await engine.close();
    }
  });
});
