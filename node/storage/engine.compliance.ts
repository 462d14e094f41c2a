import type { Engine } from './engine';
import { prefixEnd } from './engine';
import { LOCK_TABLE_PREFIX } from './mvcc-key';
import { BatchTooLargeError, KeyTooLargeError, StorageClosedError, ValueTooLargeError } from './errors';

/**
 * The contract every Engine implementation keeps, run against each of them
 * (memory-engine.test.ts, rocks-engine.test.ts).
 */
export function describeEngineCompliance(
  name: string,
  open: (limits?: { maxKeyBytes?: number; maxValueBytes?: number; maxBatchBytes?: number }) => Promise<Engine>,
): void {
  const b = (text: string): Buffer => Buffer.from(text);

  async function put(engine: Engine, entries: Record<string, string>): Promise<void> {
    const batch = engine.newBatch();
    for (const [k, v] of Object.entries(entries)) {
      batch.put(b(k), b(v));
    }
    await engine.write(batch);
  }

  function scan(engine: Pick<Engine, 'cursor'>, from: string, reverse = false): string[] {
    const cursor = engine.cursor({ reverse, expectedEntries: 4 });
    const seen: string[] = [];
    try {
      for (cursor.seek(b(from)); cursor.valid(); cursor.next()) {
        seen.push(`${cursor.key().toString()}=${cursor.value().toString()}`);
      }
    } finally {
      cursor.close();
    }
    return seen;
  }

  describe(`${name}: engine compliance`, () => {
    let engine: Engine;
    afterEach(async () => {
      await engine.close();
    });

    it('reads back what a batch wrote, and nothing it deleted', async () => {
      engine = await open();
      await put(engine, { a: '1', b: '2', c: '3' });
      const batch = engine.newBatch();
      batch.delete(b('b'));
      batch.put(b('d'), b('4'));
      expect(batch.count).toBe(2);
      expect(batch.byteSize).toBe(1 + 2);
      await engine.write(batch);
      expect(engine.get(b('a'))?.toString()).toBe('1');
      expect(engine.get(b('b'))).toBeUndefined();
      expect(engine.get(b('zz'))).toBeUndefined();
      expect(engine.getMany([b('d'), b('b'), b('a'), b('zz')]).map((v) => v?.toString())).toEqual(['4', undefined, '1', undefined]);
      expect(scan(engine, '')).toEqual(['a=1', 'c=3', 'd=4']);
    });

    it('reads lock table keys among others in one getMany, held or not', async () => {
      engine = await open();
      const lock = (name: string): Buffer => Buffer.concat([Buffer.from([LOCK_TABLE_PREFIX]), b(name)]);
      const batch = engine.newBatch();
      batch.put(lock('held'), b('intent'));
      batch.put(lock('gone'), b('intent'));
      batch.put(b('a'), b('1'));
      await engine.write(batch);
      const removal = engine.newBatch();
      removal.delete(lock('gone'));
      await engine.write(removal);
      const free = lock('free');
      const values = engine.getMany([free, b('a'), lock('held'), lock('gone'), free, b('zz'), lock('held')]);
      expect(values.map((v) => v?.toString())).toEqual([undefined, '1', 'intent', undefined, undefined, undefined, 'intent']);
      expect(engine.getMany([lock('free'), lock('gone')])).toEqual([undefined, undefined]);
    });

    it('seeks forward to the first key at or after, and in reverse to the last at or before', async () => {
      engine = await open();
      await put(engine, { b: '1', d: '2', f: '3' });
      expect(scan(engine, 'c')).toEqual(['d=2', 'f=3']);
      expect(scan(engine, 'd')).toEqual(['d=2', 'f=3']);
      expect(scan(engine, 'e', true)).toEqual(['d=2', 'b=1']);
      expect(scan(engine, 'd', true)).toEqual(['d=2', 'b=1']);
      expect(scan(engine, 'a', true)).toEqual([]);
      expect(scan(engine, 'g')).toEqual([]);
    });

    it('orders keys bytewise, unsigned', async () => {
      engine = await open();
      const batch = engine.newBatch();
      for (const key of [[0xff], [0x00], [0x7f], [0x80], [0x00, 0x00], [0x01]]) {
        batch.put(Buffer.from(key), b('v'));
      }
      await engine.write(batch);
      const cursor = engine.cursor({ expectedEntries: 10 });
      const keys: string[] = [];
      for (cursor.seek(Buffer.from([0x00])); cursor.valid(); cursor.next()) {
        keys.push(cursor.key().toString('hex'));
      }
      cursor.close();
      expect(keys).toEqual(['00', '0000', '01', '7f', '80', 'ff']);
    });

    it('keeps a snapshot fixed while later writes land', async () => {
      engine = await open();
      await put(engine, { a: '1', b: '2' });
      const snapshot = engine.snapshot();
      try {
        const batch = engine.newBatch();
        batch.put(b('a'), b('changed'));
        batch.delete(b('b'));
        batch.put(b('c'), b('new'));
        await engine.write(batch);
        expect(snapshot.get(b('a'))?.toString()).toBe('1');
        expect(snapshot.get(b('b'))?.toString()).toBe('2');
        expect(snapshot.get(b('c'))).toBeUndefined();
        expect(snapshot.getMany([b('c'), b('b')]).map((v) => v?.toString())).toEqual([undefined, '2']);
        expect(scan(snapshot, '')).toEqual(['a=1', 'b=2']);
        expect(scan(snapshot, 'z', true)).toEqual(['b=2', 'a=1']);
        expect(scan(engine, '')).toEqual(['a=changed', 'c=new']);
      } finally {
        snapshot.close();
      }
    });

    it('shows the latest data to cursors opened after a write', async () => {
      engine = await open();
      await put(engine, { a: '1' });
      expect(scan(engine, '')).toEqual(['a=1']);
      await put(engine, { b: '2' });
      expect(scan(engine, '')).toEqual(['a=1', 'b=2']);
      const batch = engine.newBatch();
      batch.delete(b('a'));
      await engine.write(batch);
      expect(scan(engine, '')).toEqual(['b=2']);
    });

    it('reads many keys across chunk boundaries', async () => {
      engine = await open();
      const batch = engine.newBatch();
      for (let i = 0; i < 3000; i++) {
        batch.put(b(`k${String(i).padStart(5, '0')}`), b(String(i)));
      }
      await engine.write(batch);
      const forward = scan(engine, 'k');
      expect(forward).toHaveLength(3000);
      expect(forward[2999]).toBe('k02999=2999');
      const backward = scan(engine, 'l', true);
      expect(backward[0]).toBe('k02999=2999');
      expect(backward[2999]).toBe('k00000=0');
    });

    it('rejects oversized keys, values and batches before writing anything', async () => {
      engine = await open({ maxKeyBytes: 8, maxValueBytes: 16, maxBatchBytes: 40 });
      const batch = engine.newBatch();
      batch.put(b('ok'), b('fine'));
      expect(() => batch.put(b('k'.repeat(9)), b('v'))).toThrow(KeyTooLargeError);
      expect(() => batch.put(b('k'), b('v'.repeat(17)))).toThrow(ValueTooLargeError);
      expect(() => batch.put(Buffer.alloc(0), b('v'))).toThrow(KeyTooLargeError);
      batch.put(b('k2'), b('v'.repeat(16)));
      expect(() => batch.put(b('k3'), b('v'.repeat(16)))).toThrow(BatchTooLargeError);
      expect(engine.get(b('ok'))).toBeUndefined();
      await engine.write(batch);
      expect(engine.get(b('ok'))?.toString()).toBe('fine');
      expect(engine.get(b('k3'))).toBeUndefined();
    });

    it('fails with a typed error once closed', async () => {
      engine = await open();
      await engine.close();
      expect(() => engine.get(b('a'))).toThrow(StorageClosedError);
      expect(() => engine.newBatch()).toThrow(StorageClosedError);
      expect(() => engine.snapshot()).toThrow(StorageClosedError);
    });
  });

  describe('prefixEnd', () => {
    it('is the first key after every key with the prefix', () => {
      expect(prefixEnd(Buffer.from([1, 2]))).toEqual(Buffer.from([1, 3]));
      expect(prefixEnd(Buffer.from([1, 0xff]))).toEqual(Buffer.from([2]));
      expect(prefixEnd(Buffer.from([0xff, 0xff]))).toBeUndefined();
    });
  });
}
