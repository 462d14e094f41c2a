import fc from 'fast-check';
import { MalformedEncodingError } from '../../common/errors';
import type { Timestamp } from '../../common/hlc';
import { compareTimestamps } from '../../common/hlc';
import type { Engine } from './engine';
import {
  ReadWithinUncertaintyIntervalError,
  TxnEpochMismatchError,
  WriteIntentError,
  WriteTooOldError,
} from './errors';
import type { IntentResolution } from './mvcc';
import {
  computeStats,
  mvccDelete,
  mvccGarbageCollect,
  mvccGet,
  mvccPut,
  mvccResolveIntent,
  mvccResolveIntentRange,
  mvccScan,
} from './mvcc';
import { lockTableKey, versionKey, versionPrefix } from './mvcc-key';
import type { TxnMeta } from './mvcc-value';
import { bothEngines, useTempDirs } from './test-support/temp-stores';

const ts = (wall: number, logical = 0): Timestamp => ({ wallTime: BigInt(wall), logical });
const b = (text: string): Buffer => Buffer.from(text);

function txnMeta(idByte: number, writeTs: Timestamp, epoch = 0): TxnMeta {
  return {
    id: Buffer.alloc(16, idByte),
    anchorKey: b('anchor'),
    epoch,
    writeTimestamp: writeTs,
    minTimestamp: writeTs,
    priority: 1,
    sequence: 0,
  };
}

const engines = bothEngines(useTempDirs('cairn-mvcc'));

describe.each(engines)('MVCC on %s', (_name, openEngine) => {
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

  async function resolve(key: string, resolution: IntentResolution): Promise<boolean> {
    const batch = engine.newBatch();
    const changed = mvccResolveIntent(engine, batch, b(key), resolution);
    await engine.write(batch);
    return changed;
  }

  function get(key: string, at: Timestamp, txn?: TxnMeta): string | undefined {
    return mvccGet(engine, b(key), at, txn === undefined ? {} : { txn })?.value.toString();
  }

  function scanText(start: string, end: string, at: Timestamp, options: Parameters<typeof mvccScan>[4] = {}): string[] {
    return mvccScan(engine, b(start), b(end), at, options).rows.map((r) => `${r.key}=${r.value}`);
  }

  function catchError(fn: () => unknown): unknown {
    try {
      fn();
    } catch (err) {
      return err;
    }
    throw new Error('expected an error');
  }

  describe('versions', () => {
    it('reads the newest version at or below the read timestamp', async () => {
      await put('a', ts(10), 'v10');
      await put('a', ts(20), 'v20');
      await put('a', ts(20, 1), 'v20.1');
      expect(get('a', ts(5))).toBeUndefined();
      expect(get('a', ts(10))).toBe('v10');
      expect(get('a', ts(19))).toBe('v10');
      expect(get('a', ts(20))).toBe('v20');
      expect(get('a', ts(20, 1))).toBe('v20.1');
      expect(mvccGet(engine, b('a'), ts(99))?.timestamp).toEqual(ts(20, 1));
    });

    it('hides a key from its tombstone on, and keeps the history below it', async () => {
      await put('a', ts(10), 'v10');
      const batch = engine.newBatch();
      mvccDelete(engine, batch, b('a'), ts(20));
      await engine.write(batch);
      expect(get('a', ts(15))).toBe('v10');
      expect(get('a', ts(20))).toBeUndefined();
      expect(get('a', ts(30))).toBeUndefined();
      await put('a', ts(30), 'back');
      expect(get('a', ts(30))).toBe('back');
    });

    it('keeps keys that share a prefix or contain zero bytes apart', async () => {
      const keys = ['a', 'a\x00', 'a\x00\x00', 'a\x01', 'ab', 'b'];
      for (const [i, key] of keys.entries()) {
        await put(key, ts(10 + i), `v-${i}`);
      }
      for (const [i, key] of keys.entries()) {
        expect(get(key, ts(100))).toBe(`v-${i}`);
      }
      expect(scanText('a', 'b', ts(100)).map((row) => row.split('=')[1])).toEqual(['v-0', 'v-1', 'v-2', 'v-3', 'v-4']);
    });

    it('rejects a write at or below the newest version with the timestamp it could use', async () => {
      await put('a', ts(20), 'v20');
      for (const at of [ts(20), ts(10)]) {
        const err = catchError(() => mvccPut(engine, engine.newBatch(), b('a'), at, b('late')));
        expect(err).toBeInstanceOf(WriteTooOldError);
        expect((err as WriteTooOldError).existingTimestamp).toEqual(ts(20));
        expect((err as WriteTooOldError).actualTimestamp).toEqual(ts(20, 1));
        expect((err as WriteTooOldError).retryable).toBe(true);
      }
      expect(get('a', ts(99))).toBe('v20');
    });

    it('restarts a read that finds a version inside its uncertainty window', async () => {
      await put('a', ts(10), 'v10');
      await put('a', ts(20), 'v20');
      const err = catchError(() => mvccGet(engine, b('a'), ts(15), { uncertaintyLimit: ts(25) }));
      expect(err).toBeInstanceOf(ReadWithinUncertaintyIntervalError);
      expect((err as ReadWithinUncertaintyIntervalError).existingTimestamp).toEqual(ts(20));
      // A version above the window does not matter.
      expect(mvccGet(engine, b('a'), ts(15), { uncertaintyLimit: ts(19) })?.value.toString()).toBe('v10');
      expect(() => mvccScan(engine, b('a'), b('b'), ts(15), { uncertaintyLimit: ts(20) })).toThrow(
        ReadWithinUncertaintyIntervalError,
      );
      expect(() => mvccScan(engine, b('a'), b('b'), ts(15), { uncertaintyLimit: ts(20), reverse: true })).toThrow(
        ReadWithinUncertaintyIntervalError,
      );
    });

    it('rejects the empty key and inverted spans', async () => {
      expect(() => mvccGet(engine, Buffer.alloc(0), ts(1))).toThrow(/empty key/);
      expect(() => mvccScan(engine, b('b'), b('a'), ts(1))).toThrow(/inverted span/);
    });
  });

  describe('intents', () => {
    const txnA = txnMeta(0xaa, ts(10));
    const txnB = txnMeta(0xbb, ts(12));

    it('makes a read at or above the intent conflict with its transaction, and one below see the past', async () => {
      await put('k', ts(5), 'old');
      await put('k', ts(10), 'provisional', txnA);
      expect(get('k', ts(9))).toBe('old');
      for (const at of [ts(10), ts(50)]) {
        const err = catchError(() => mvccGet(engine, b('k'), at));
        expect(err).toBeInstanceOf(WriteIntentError);
        const [conflict] = (err as WriteIntentError).intents;
        expect(conflict?.txnId).toEqual(txnA.id);
        expect(conflict?.txnAnchorKey).toEqual(b('anchor'));
        expect(conflict?.writeTimestamp).toEqual(ts(10));
        expect(conflict?.key).toEqual(b('k'));
      }
      // An intent inside the uncertainty window conflicts too: it may commit below the limit.
      expect(() => mvccGet(engine, b('k'), ts(9), { uncertaintyLimit: ts(10) })).toThrow(WriteIntentError);
    });

    it('lets a transaction read its own intent, and blocks writers of other transactions', async () => {
      await put('k', ts(10), 'mine', txnA);
      expect(get('k', ts(10), txnA)).toBe('mine');
      expect(get('k', ts(1), txnA)).toBe('mine');
      expect(() => mvccPut(engine, engine.newBatch(), b('k'), ts(12), b('theirs'), { txn: txnB })).toThrow(
        WriteIntentError,
      );
      expect(() => mvccPut(engine, engine.newBatch(), b('k'), ts(12), b('plain'))).toThrow(WriteIntentError);
      // The owner may write again; the last write wins.
      await put('k', ts(11), 'mine again', txnA);
      expect(get('k', ts(11), txnA)).toBe('mine again');
      expect(mvccGet(engine, b('k'), ts(11), { txn: txnA })?.timestamp).toEqual(ts(11));
      await put('k', ts(11), undefined, txnA);
      expect(get('k', ts(11), txnA)).toBeUndefined();
    });

    it('ignores intents of an earlier epoch and refuses those of a later one', async () => {
      await put('k', ts(5), 'committed');
      await put('k', ts(10), 'epoch0', txnA);
      const epoch1 = { ...txnA, epoch: 1 };
      expect(get('k', ts(10), epoch1)).toBe('committed');
      await put('k', ts(11), 'epoch1', epoch1);
      expect(get('k', ts(11), epoch1)).toBe('epoch1');
      expect(() => get('k', ts(11), txnA)).toThrow(TxnEpochMismatchError);
      expect(() => mvccPut(engine, engine.newBatch(), b('k'), ts(12), b('x'), { txn: txnA })).toThrow(
        TxnEpochMismatchError,
      );
    });

    it('commits an intent as a version at the commit timestamp, once', async () => {
      await put('k', ts(5), 'old');
      await put('k', ts(10), 'new', txnA);
      const commit: IntentResolution = { status: 'committed', txnId: txnA.id, epoch: 0, commitTimestamp: ts(15) };
      expect(await resolve('k', commit)).toBe(true);
      expect(get('k', ts(12))).toBe('old');
      expect(get('k', ts(15))).toBe('new');
      expect(engine.get(lockTableKey(b('k')))).toBeUndefined();
      expect(await resolve('k', commit)).toBe(false);
      expect(await resolve('k', { status: 'committed', txnId: txnB.id, epoch: 0, commitTimestamp: ts(20) })).toBe(false);
      expect(get('k', ts(99))).toBe('new');
    });

    it('commits a provisional delete as a tombstone', async () => {
      await put('k', ts(5), 'old');
      await put('k', ts(10), undefined, txnA);
      await resolve('k', { status: 'committed', txnId: txnA.id, epoch: 0, commitTimestamp: ts(10) });
      expect(get('k', ts(9))).toBe('old');
      expect(get('k', ts(10))).toBeUndefined();
    });

    it('drops an intent of an older epoch at commit instead of committing it', async () => {
      await put('k', ts(10), 'stale', txnA);
      await resolve('k', { status: 'committed', txnId: txnA.id, epoch: 1, commitTimestamp: ts(20) });
      expect(get('k', ts(99))).toBeUndefined();
      expect(engine.get(lockTableKey(b('k')))).toBeUndefined();
    });

    it('removes an aborted intent and leaves the committed history as it was', async () => {
      await put('k', ts(5), 'old');
      await put('k', ts(10), 'doomed', txnA);
      expect(await resolve('k', { status: 'aborted', txnId: txnA.id })).toBe(true);
      expect(get('k', ts(99))).toBe('old');
      expect(await resolve('k', { status: 'aborted', txnId: txnA.id })).toBe(false);
    });

    it('moves a pushed intent up, out of the way of a reader below the new timestamp', async () => {
      await put('k', ts(5), 'old');
      await put('k', ts(10), 'pushed', txnA);
      expect(await resolve('k', { status: 'pending', txnId: txnA.id, epoch: 0, pushedTo: ts(30) })).toBe(true);
      expect(get('k', ts(20))).toBe('old');
      expect(() => get('k', ts(30))).toThrow(WriteIntentError);
      expect(mvccGet(engine, b('k'), ts(30), { txn: txnA })?.timestamp).toEqual(ts(30));
      // A push to a lower timestamp changes nothing.
      expect(await resolve('k', { status: 'pending', txnId: txnA.id, epoch: 0, pushedTo: ts(20) })).toBe(false);
    });

    it('resolves a transaction over a span, in pieces when limited', async () => {
      for (const key of ['a', 'b', 'c', 'd']) {
        await put(key, ts(10), `${key}1`, txnA);
      }
      await put('e', ts(10), 'e1', txnB);
      const commit: IntentResolution = { status: 'committed', txnId: txnA.id, epoch: 0, commitTimestamp: ts(11) };
      let batch = engine.newBatch();
      const first = mvccResolveIntentRange(engine, batch, b('a'), b('z'), commit, { maxKeys: 3 });
      await engine.write(batch);
      expect(first.resolved).toBe(3);
      expect(first.resumeSpan?.start).toEqual(b('d'));
      batch = engine.newBatch();
      const rest = mvccResolveIntentRange(engine, batch, first.resumeSpan!.start, first.resumeSpan!.end, commit);
      await engine.write(batch);
      expect(rest).toEqual({ resolved: 1, resumeSpan: undefined });
      expect(scanText('a', 'e', ts(11))).toEqual(['a=a1', 'b=b1', 'c=c1', 'd=d1']);
      expect(() => get('e', ts(11))).toThrow(WriteIntentError);
    });
  });

  describe('scans', () => {
    beforeEach(async () => {
      await put('a', ts(10), 'a10');
      await put('b', ts(10), 'b10');
      await put('b', ts(20), 'b20');
      await put('c', ts(30), 'c30');
      const batch = engine.newBatch();
      mvccDelete(engine, batch, b('a'), ts(25));
      await engine.write(batch);
      await put('d', ts(5), 'd5');
    });

    it('returns what is visible at the timestamp, in either direction', () => {
      expect(scanText('a', 'z', ts(15))).toEqual(['a=a10', 'b=b10', 'd=d5']);
      expect(scanText('a', 'z', ts(30))).toEqual(['b=b20', 'c=c30', 'd=d5']);
      expect(scanText('a', 'z', ts(30), { reverse: true })).toEqual(['d=d5', 'c=c30', 'b=b20']);
      expect(scanText('a', 'z', ts(15), { reverse: true })).toEqual(['d=d5', 'b=b10', 'a=a10']);
      expect(scanText('b', 'd', ts(30))).toEqual(['b=b20', 'c=c30']);
      expect(scanText('b', 'd', ts(30), { reverse: true })).toEqual(['c=c30', 'b=b20']);
      expect(scanText('0', '1', ts(30))).toEqual([]);
    });

    it('stops at a row limit and says where to resume', () => {
      const first = mvccScan(engine, b('a'), b('z'), ts(30), { maxKeys: 2 });
      expect(first.rows.map((r) => r.key.toString())).toEqual(['b', 'c']);
      expect(first.resumeSpan).toEqual({ start: b('d'), end: b('z') });
      const rest = mvccScan(engine, first.resumeSpan!.start, first.resumeSpan!.end, ts(30), { maxKeys: 2 });
      expect(rest.rows.map((r) => r.key.toString())).toEqual(['d']);
      expect(rest.resumeSpan).toBeUndefined();

      const back = mvccScan(engine, b('a'), b('z'), ts(30), { maxKeys: 2, reverse: true });
      expect(back.rows.map((r) => r.key.toString())).toEqual(['d', 'c']);
      expect(back.resumeSpan).toEqual({ start: b('a'), end: Buffer.from('b\x00') });
      const backRest = mvccScan(engine, back.resumeSpan!.start, back.resumeSpan!.end, ts(30), { reverse: true });
      expect(backRest.rows.map((r) => r.key.toString())).toEqual(['b']);
    });

    it('with limits, reads only a page of a large transaction’s intents, and pages through all rows in order', async () => {
      // The reader's own transaction deleted three keys of every four (4 500 intents);
      // the fourth holds a committed row.
      const mine = txnMeta(7, ts(40));
      const batch = engine.newBatch();
      const key = (i: number): string => `r${String(i).padStart(5, '0')}`;
      for (let i = 0; i < 6000; i++) {
        if (i % 4 === 0) mvccPut(engine, batch, b(key(i)), ts(10), b(`v${i}`));
        else mvccPut(engine, batch, b(key(i)), ts(40), undefined, { txn: mine });
      }
      await engine.write(batch);
      const expected = Array.from({ length: 1500 }, (_, i) => key(i * 4));
      for (const reverse of [false, true]) {
        const seen: string[] = [];
        let span: { start: Buffer; end: Buffer } | undefined = { start: b('r'), end: b('s') };
        let pages = 0;
        while (span !== undefined) {
          const page = mvccScan(engine, span.start, span.end, ts(40), { txn: mine, maxKeys: 1000, reverse });
          // The intents cut each page short of its key limit.
          expect(page.rows.length).toBeLessThan(1000);
          seen.push(...page.rows.map((r) => r.key.toString()));
          span = page.resumeSpan;
          pages++;
        }
        expect(pages).toBeGreaterThan(1);
        expect(seen).toEqual(reverse ? [...expected].reverse() : expected);
      }
      // Without limits, one scan reads them all.
      expect(mvccScan(engine, b('r'), b('s'), ts(40), { txn: mine }).rows).toHaveLength(1500);
    });

    it('stops once the byte target is reached, after at least one row', () => {
      const one = mvccScan(engine, b('a'), b('z'), ts(30), { targetBytes: 1 });
      expect(one.rows).toHaveLength(1);
      expect(one.resumeSpan?.start).toEqual(b('c'));
      const two = mvccScan(engine, b('a'), b('z'), ts(30), { targetBytes: 5 });
      expect(two.rows).toHaveLength(2);
    });

    it('merges the reader’s own intents and reports every conflicting intent at once', async () => {
      const txnA = txnMeta(0xaa, ts(40));
      const txnB = txnMeta(0xbb, ts(40));
      await put('b', ts(40), 'b-mine', txnA);
      await put('bb', ts(40), 'bb-mine', txnA);
      await put('c', ts(40), undefined, txnA);
      expect(scanText('a', 'z', ts(40), { txn: txnA })).toEqual(['b=b-mine', 'bb=bb-mine', 'd=d5']);
      expect(scanText('a', 'z', ts(40), { txn: txnA, reverse: true })).toEqual(['d=d5', 'bb=bb-mine', 'b=b-mine']);
      // Below the intents, other readers see the committed past.
      expect(scanText('a', 'z', ts(39))).toEqual(['b=b20', 'c=c30', 'd=d5']);
      const err = catchError(() => mvccScan(engine, b('a'), b('z'), ts(45), { txn: txnB }));
      expect(err).toBeInstanceOf(WriteIntentError);
      expect((err as WriteIntentError).intents.map((i) => i.key.toString())).toEqual(['b', 'bb', 'c']);
    });

    it('reads keys with many versions, above and below the read timestamp', async () => {
      for (let i = 1; i <= 40; i++) {
        await put('m', ts(100 + i), `m${100 + i}`);
      }
      await put('n', ts(1), 'n1');
      expect(scanText('m', 'o', ts(120))).toEqual(['m=m120', 'n=n1']);
      expect(scanText('m', 'o', ts(101))).toEqual(['m=m101', 'n=n1']);
      expect(scanText('m', 'o', ts(100))).toEqual(['n=n1']);
      expect(scanText('m', 'o', ts(200))).toEqual(['m=m140', 'n=n1']);
      expect(scanText('a', 'z', ts(120), { reverse: true })).toEqual(['n=n1', 'm=m120', 'd=d5', 'c=c30', 'b=b20']);
      expect(scanText('a', 'z', ts(100), { reverse: true })).toEqual(['n=n1', 'd=d5', 'c=c30', 'b=b20']);
    });
  });

  describe('garbage collection', () => {
    it('removes what no read at or above the threshold can see', async () => {
      await put('a', ts(10), 'a10');
      await put('a', ts(20), 'a20');
      await put('a', ts(30), 'a30');
      await put('a', ts(40), 'a40');
      await put('b', ts(10), 'b10');
      let batch = engine.newBatch();
      mvccDelete(engine, batch, b('b'), ts(20));
      await engine.write(batch);
      await put('c', ts(50), 'c50');
      const txn = txnMeta(0xcc, ts(60));
      await put('d', ts(60), 'pending', txn);

      const threshold = ts(35);
      const before = [35, 40, 45, 50, 99].map((t) => scanText('a', 'z', ts(t), { txn }));
      batch = engine.newBatch();
      const result = mvccGarbageCollect(engine, batch, b('a'), b('z'), threshold);
      await engine.write(batch);
      // a10, a20 (older than a30, visible at 35), b10 and the b tombstone itself.
      expect(result.versionsRemoved).toBe(4);
      expect(result.resumeKey).toBeUndefined();
      const after = [35, 40, 45, 50, 99].map((t) => scanText('a', 'z', ts(t), { txn }));
      expect(after).toEqual(before);
      expect(engine.get(versionKey(b('a'), ts(20)))).toBeUndefined();
      expect(engine.get(versionKey(b('a'), ts(30)))).toBeDefined();
      expect(engine.get(lockTableKey(b('d')))).toBeDefined();
      const stats = computeStats(engine, b('a'), b('z'));
      expect(stats.versionCount).toBe(3);
      expect(stats.intentCount).toBe(1);
    });

    it('works in passes when limited', async () => {
      for (const key of ['a', 'b', 'c']) {
        for (let t = 1; t <= 5; t++) {
          await put(key, ts(t), `${key}${t}`);
        }
      }
      let batch = engine.newBatch();
      const first = mvccGarbageCollect(engine, batch, b('a'), b('z'), ts(10), { maxVersions: 4 });
      await engine.write(batch);
      expect(first.versionsRemoved).toBe(4);
      expect(first.resumeKey).toEqual(b('b'));
      batch = engine.newBatch();
      const rest = mvccGarbageCollect(engine, batch, first.resumeKey!, b('z'), ts(10));
      await engine.write(batch);
      expect(rest.versionsRemoved).toBe(8);
      expect(computeStats(engine, b('a'), b('z')).versionCount).toBe(3);
      expect(scanText('a', 'z', ts(10))).toEqual(['a=a5', 'b=b5', 'c=c5']);
    });
  });

  describe('stats and bad data', () => {
    it('counts keys, versions, live data and intents of a span', async () => {
      await put('a', ts(10), 'xx');
      await put('a', ts(20), 'yyy');
      await put('b', ts(10), 'zz');
      const batch = engine.newBatch();
      mvccDelete(engine, batch, b('b'), ts(20));
      await engine.write(batch);
      await put('c', ts(10), 'p', txnMeta(1, ts(10)));
      const stats = computeStats(engine, b('a'), b('z'));
      expect(stats.keyCount).toBe(2);
      expect(stats.liveCount).toBe(1);
      expect(stats.versionCount).toBe(4);
      expect(stats.intentCount).toBe(1);
      // The newest version of 'a': its bare key, then timestamp (12), tag and value.
      expect(stats.liveBytes).toBe(versionPrefix(b('a')).length + 12 + 1 + 3);
      expect(stats.totalBytes).toBe(stats.keyBytes + stats.valueBytes + stats.intentBytes);
      expect(computeStats(engine, b('b'), b('c')).liveCount).toBe(0);
    });

    it('reports undecodable versions and intents as malformed, not as data', async () => {
      const batch = engine.newBatch();
      const newest = Buffer.alloc(14);
      newest.writeBigUInt64BE(10n, 0);
      newest[12] = 0x7e; // no such tag
      batch.put(versionPrefix(b('v')), newest);
      batch.put(versionPrefix(b('short')), Buffer.from([1, 2, 3]));
      batch.put(lockTableKey(b('i')), Buffer.from([0xff, 0xff, 0xff]));
      await engine.write(batch);
      expect(() => get('v', ts(20))).toThrow(MalformedEncodingError);
      expect(() => get('short', ts(20))).toThrow(MalformedEncodingError);
      expect(() => get('i', ts(20))).toThrow(MalformedEncodingError);
      expect(() => mvccScan(engine, b('a'), b('z'), ts(20))).toThrow(MalformedEncodingError);
    });
  });
});

/**
 * Random histories checked against a model: a map from key to its committed versions
 * and its intent. Every read through the engine must agree with the model.
 */
describe('MVCC against a model', () => {
  type Op =
    | { kind: 'put'; key: number; at: number; value: number | undefined }
    | { kind: 'intent'; key: number; at: number; value: number | undefined; txn: number }
    | { kind: 'resolve'; txn: number; commit: boolean; at: number }
    | { kind: 'gc'; at: number };

  const keyArb = fc.integer({ min: 0, max: 7 });
  const tsArb = fc.integer({ min: 1, max: 60 });
  const valueArb = fc.option(fc.integer({ min: 0, max: 999 }), { nil: undefined });
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('put' as const), key: keyArb, at: tsArb, value: valueArb }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('intent' as const),
        key: keyArb,
        at: tsArb,
        value: valueArb,
        txn: fc.integer({ min: 1, max: 3 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('resolve' as const),
        txn: fc.integer({ min: 1, max: 3 }),
        commit: fc.boolean(),
        at: tsArb,
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('gc' as const), at: tsArb }) },
  );

  const keyName = (k: number): Buffer => Buffer.from(`key/${k}`);

  /** A read: its timestamp, the key span [lo, hi], and a row limit per page (0: none). */
  interface Probe {
    at: number;
    lo: number;
    hi: number;
    maxKeys: number;
  }
  const probeArb: fc.Arbitrary<Probe> = fc.record({
    at: tsArb,
    lo: fc.integer({ min: 0, max: 8 }),
    hi: fc.integer({ min: 0, max: 8 }),
    maxKeys: fc.integer({ min: 0, max: 3 }),
  });

  interface ModelKey {
    versions: { at: number; value: number | undefined }[];
    intent: { txn: number; at: number; value: number | undefined } | undefined;
  }

  async function runHistory(engine: Engine, ops: Op[], probes: Probe[]): Promise<void> {
    const model = new Map<number, ModelKey>();
    let gcThreshold = 0;
    const entry = (k: number): ModelKey => {
      let found = model.get(k);
      if (found === undefined) {
        found = { versions: [], intent: undefined };
        model.set(k, found);
      }
      return found;
    };
    const newest = (m: ModelKey): number => m.versions.reduce((max, v) => Math.max(max, v.at), 0);

    for (const op of ops) {
      // Writes at or below the GC threshold never reach MVCC: the range refuses them,
      // since the history they would be checked against may be gone.
      if (op.kind !== 'gc' && op.at <= gcThreshold) {
        continue;
      }
      const batch = engine.newBatch();
      switch (op.kind) {
        case 'put':
        case 'intent': {
          const m = entry(op.key);
          const txn = op.kind === 'intent' ? txnMeta(op.txn, ts(op.at)) : undefined;
          const blocked = m.intent !== undefined && (op.kind === 'put' || m.intent.txn !== op.txn);
          const tooOld = newest(m) >= op.at;
          let thrown: unknown;
          try {
            mvccPut(
              engine,
              batch,
              keyName(op.key),
              ts(op.at),
              op.value === undefined ? undefined : Buffer.from(String(op.value)),
              txn === undefined ? {} : { txn },
            );
          } catch (err) {
            thrown = err;
          }
          if (blocked) {
            expect(thrown).toBeInstanceOf(WriteIntentError);
          } else if (tooOld) {
            expect(thrown).toBeInstanceOf(WriteTooOldError);
          } else {
            expect(thrown).toBeUndefined();
            if (op.kind === 'put') {
              m.versions.push({ at: op.at, value: op.value });
            } else {
              m.intent = { txn: op.txn, at: op.at, value: op.value };
            }
          }
          break;
        }
        case 'resolve': {
          const txnId = Buffer.alloc(16, op.txn);
          for (const [k, m] of model) {
            if (m.intent?.txn !== op.txn) {
              continue;
            }
            const commitAt = Math.max(op.at, m.intent.at);
            const resolution: IntentResolution = op.commit
              ? { status: 'committed', txnId, epoch: 0, commitTimestamp: ts(commitAt) }
              : { status: 'aborted', txnId };
            const canCommit = newest(m) < commitAt;
            if (op.commit && !canCommit) {
              continue;
            }
            expect(mvccResolveIntent(engine, batch, keyName(k), resolution)).toBe(true);
            if (op.commit) {
              m.versions.push({ at: commitAt, value: m.intent.value });
            }
            m.intent = undefined;
          }
          break;
        }
        case 'gc': {
          if (op.at <= gcThreshold) {
            break;
          }
          gcThreshold = op.at;
          mvccGarbageCollect(engine, batch, keyName(0), keyName(9), ts(op.at));
          break;
        }
      }
      await engine.write(batch);
    }

    const visible = (m: ModelKey, at: number): number | undefined => {
      let best: { at: number; value: number | undefined } | undefined;
      for (const v of m.versions) {
        if (v.at <= at && (best === undefined || v.at > best.at)) {
          best = v;
        }
      }
      return best?.value;
    };

    for (const probe of probes) {
      const at = Math.max(probe.at, gcThreshold);
      const lo = Math.min(probe.lo, probe.hi);
      const hi = Math.max(probe.lo, probe.hi) + 1;
      // Model: rows visible at `at` in [lo, hi), or the conflicts a non-transactional read meets.
      const expectedRows: string[] = [];
      const expectedConflicts: string[] = [];
      for (const k of [...model.keys()].sort((x, y) => x - y)) {
        if (k < lo || k >= hi) {
          continue;
        }
        const m = model.get(k)!;
        if (m.intent !== undefined && m.intent.at <= at) {
          expectedConflicts.push(keyName(k).toString());
          continue;
        }
        const value = visible(m, at);
        if (value !== undefined) {
          expectedRows.push(`${keyName(k)}=${value}`);
        }
      }
      for (const reverse of [false, true]) {
        // Page through the span with the probe's row limit, following resume spans.
        let rows: string[] = [];
        let conflicts: string[] = [];
        let span: { start: Buffer; end: Buffer } | undefined = { start: keyName(lo), end: keyName(hi) };
        try {
          while (span !== undefined) {
            const result = mvccScan(engine, span.start, span.end, ts(at), { reverse, maxKeys: probe.maxKeys });
            if (probe.maxKeys > 0) {
              expect(result.rows.length).toBeLessThanOrEqual(probe.maxKeys);
            }
            rows = rows.concat(result.rows.map((r) => `${r.key}=${r.value}`));
            span = result.resumeSpan;
          }
        } catch (err) {
          expect(err).toBeInstanceOf(WriteIntentError);
          conflicts = (err as WriteIntentError).intents.map((i) => i.key.toString());
        }
        if (expectedConflicts.length > 0) {
          // A paged scan stops at the first page that meets a conflict.
          expect(conflicts.length).toBeGreaterThan(0);
          const all = reverse ? [...expectedConflicts].reverse() : expectedConflicts;
          expect(all).toEqual(expect.arrayContaining(conflicts));
          if (probe.maxKeys === 0) {
            expect(conflicts).toEqual(all);
          }
        } else {
          expect(rows).toEqual(reverse ? [...expectedRows].reverse() : expectedRows);
        }
      }
      for (const k of model.keys()) {
        const m = model.get(k)!;
        if (m.intent !== undefined && m.intent.at <= at) {
          expect(() => mvccGet(engine, keyName(k), ts(at))).toThrow(WriteIntentError);
        } else {
          const got = mvccGet(engine, keyName(k), ts(at));
          const want = visible(m, at);
          expect(got?.value.toString()).toBe(want === undefined ? undefined : String(want));
          if (got !== undefined) {
            expect(compareTimestamps(got.timestamp, ts(at))).toBeLessThanOrEqual(0);
          }
        }
      }
    }
  }

  it.each(engines)('agrees with the model on random histories (%s)', async (_name, openEngine) => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: 60 }),
        fc.array(probeArb, { minLength: 1, maxLength: 5 }),
        async (ops, probes) => {
          const engine = await openEngine();
          try {
            await runHistory(engine, ops, probes);
          } finally {
            await engine.close();
          }
        },
      ),
      { numRuns: Number(process.env.MVCC_MODEL_RUNS ?? 60) },
    );
  });
});
