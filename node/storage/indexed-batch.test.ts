import fc from 'fast-check';
import type { Timestamp } from '../../common/hlc';
import type { Engine } from './engine';
import { IndexedBatch } from './indexed-batch';
import { mvccGet, mvccPut, mvccResolveIntent, mvccScan } from './mvcc';
import type { TxnMeta } from './mvcc-value';
import { bothEngines, useTempDirs } from './test-support/temp-stores';

const engines = bothEngines(useTempDirs('cairn-indexed'));

/** Small runs: many of them, merged often; the default: rarely. */
const mergeAfterArb = fc.constantFrom(1, 2, 3, 256);

const ts = (wall: number): Timestamp => ({ wallTime: BigInt(wall), logical: 0 });
const b = (text: string): Buffer => Buffer.from(text);

function scan(reader: { cursor: Engine['cursor'] }, from: Buffer, reverse: boolean): string[] {
  const cursor = reader.cursor({ reverse, expectedEntries: 4 });
  const out: string[] = [];
  try {
    for (cursor.seek(from); cursor.valid(); cursor.next()) {
      out.push(`${cursor.key().toString('hex')}=${cursor.value().toString('hex')}`);
    }
  } finally {
    cursor.close();
  }
  return out;
}

describe.each(engines)('IndexedBatch over %s', (_name, open) => {
  it('reads its pending writes over the engine, in both directions, as the engine will after the write', async () => {
    // A small alphabet, so that pending and stored keys collide often.
    const keyArb = fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 3 }).map((k) => Buffer.from(k));
    const opArb = fc.record({ key: keyArb, value: fc.option(fc.uint8Array({ maxLength: 4 }), { nil: undefined }) });
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 20 }), fc.array(opArb, { maxLength: 20 }), keyArb, mergeAfterArb, async (stored, pending, seekTo, mergeAfter) => {
        const engine = await open();
        try {
          const setup = engine.newBatch();
          for (const op of stored) {
            if (op.value === undefined) {
              setup.delete(op.key);
            } else {
              setup.put(op.key, op.value);
            }
          }
          await engine.write(setup);
          const indexed = new IndexedBatch(engine, engine.newBatch(), { runSize: mergeAfter });
          for (const op of pending) {
            if (op.value === undefined) {
              indexed.delete(op.key);
            } else {
              indexed.put(op.key, op.value);
            }
          }
          const seen = {
            forward: scan(indexed, seekTo, false),
            reverse: scan(indexed, seekTo, true),
            all: scan(indexed, Buffer.alloc(0), false),
            gets: pending.map((op) => indexed.get(op.key)?.toString('hex')),
            // Pending and stored keys mixed in one read, in the order asked.
            many: indexed.getMany([seekTo, ...pending.map((op) => op.key), ...stored.map((op) => op.key)]).map((v) => v?.toString('hex')),
          };
          await engine.write(indexed.batch);
          expect(seen.forward).toEqual(scan(engine, seekTo, false));
          expect(seen.reverse).toEqual(scan(engine, seekTo, true));
          expect(seen.all).toEqual(scan(engine, Buffer.alloc(0), false));
          expect(seen.gets).toEqual(pending.map((op) => engine.get(op.key)?.toString('hex')));
          expect(seen.many).toEqual([seekTo, ...pending.map((op) => op.key), ...stored.map((op) => op.key)].map((k) => engine.get(k)?.toString('hex')));
        } finally {
          await engine.close();
        }
      }),
      { numRuns: 100 },
    );
  });

  it('gives each cursor the pending writes as they were when it was made, whatever came after', async () => {
    const keyArb = fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 2 }).map((k) => Buffer.from(k));
    const opArb = fc.record({ key: keyArb, value: fc.option(fc.uint8Array({ maxLength: 3 }), { nil: undefined }) });
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 12 }), fc.array(opArb, { minLength: 1, maxLength: 30 }), keyArb, fc.boolean(), mergeAfterArb, async (stored, ops, seekTo, reverse, mergeAfter) => {
        const engine = await open();
        try {
          const setup = engine.newBatch();
          const model = new Map<string, string>();
          for (const op of stored) {
            if (op.value === undefined) setup.delete(op.key);
            else setup.put(op.key, op.value);
          }
          await engine.write(setup);
          for (const row of scan(engine, Buffer.alloc(0), false)) model.set(row.split('=')[0] as string, row.split('=')[1] as string);
          const indexed = new IndexedBatch(engine, engine.newBatch(), { runSize: mergeAfter });
          const opened: { cursor: ReturnType<IndexedBatch['cursor']>; expected: string[] }[] = [];
          for (const op of ops) {
            const hex = op.key.toString('hex');
            if (op.value === undefined) {
              indexed.delete(op.key);
              model.delete(hex);
            } else {
              indexed.put(op.key, op.value);
              model.set(hex, Buffer.from(op.value).toString('hex'));
            }
            const target = seekTo.toString('hex');
            const keys = [...model.keys()].filter((k) => (reverse ? k <= target : k >= target)).sort();
            if (reverse) keys.reverse();
            opened.push({ cursor: indexed.cursor({ reverse }), expected: keys.map((k) => `${k}=${model.get(k)}`) });
          }
          for (const { cursor, expected } of opened) {
            const seen: string[] = [];
            try {
              for (cursor.seek(seekTo); cursor.valid(); cursor.next()) seen.push(`${cursor.key().toString('hex')}=${cursor.value().toString('hex')}`);
            } finally {
              cursor.close();
            }
            expect(seen).toEqual(expected);
          }
        } finally {
          await engine.close();
        }
      }),
      { numRuns: 100 },
    );
  });

  it('lets MVCC operations in one batch see each other', async () => {
    const engine = await open();
    try {
      const txn: TxnMeta = {
        id: Buffer.alloc(16, 7),
        anchorKey: b('a'),
        epoch: 0,
        writeTimestamp: ts(30),
        minTimestamp: ts(30),
        priority: 1,
        sequence: 0,
      };
      const indexed = new IndexedBatch(engine, engine.newBatch());
      mvccPut(indexed, indexed, b('k'), ts(10), b('v10'));
      mvccPut(indexed, indexed, b('k'), ts(20), b('v20'));
      // A write below what the batch already wrote is too old, as it would be after it.
      expect(() => mvccPut(indexed, indexed, b('k'), ts(15), b('late'))).toThrow(/too old/);
      mvccPut(indexed, indexed, b('t'), ts(30), b('provisional'), { txn });
      expect(mvccGet(indexed, b('t'), ts(30), { txn })?.value.toString()).toBe('provisional');
      mvccResolveIntent(indexed, indexed, b('t'), { status: 'committed', txnId: txn.id, epoch: 0, commitTimestamp: ts(31) });
      expect(mvccScan(indexed, b('a'), b('z'), ts(40)).rows.map((r) => `${r.key}=${r.value}`)).toEqual([
        'k=v20',
        't=provisional',
      ]);
      await engine.write(indexed.batch);
      expect(mvccGet(engine, b('k'), ts(15))?.value.toString()).toBe('v10');
      expect(mvccGet(engine, b('k'), ts(25))?.value.toString()).toBe('v20');
      expect(mvccGet(engine, b('t'), ts(31))?.value.toString()).toBe('provisional');
      expect(mvccGet(engine, b('t'), ts(30))).toBeUndefined();
    } finally {
      await engine.close();
    }
  });
});
