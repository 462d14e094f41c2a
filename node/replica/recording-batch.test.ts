import type { Engine } from '../storage';
import { DEFAULT_ENGINE_LIMITS, KeyTooLargeError, BatchTooLargeError, ValueTooLargeError } from '../storage';
import { bothEngines, useTempDirs } from '../storage/test-support/temp-stores';
import { applyWriteOps, compactWriteOps, RecordingBatch } from './recording-batch';

const b = (text: string): Buffer => Buffer.from(text);

describe('RecordingBatch', () => {
  it('records puts and deletes in order, as WriteOps, with count and byte size', () => {
    const batch = new RecordingBatch();
    batch.put(b('k1'), b('v1'));
    batch.delete(b('k2'));
    batch.put(new Uint8Array([1, 2, 3]), new Uint8Array([4]));
    batch.put(b('k1'), b('again'));
    expect(batch.ops).toEqual([
      { key: b('k1'), value: b('v1'), delete: false },
      { key: b('k2'), value: Buffer.alloc(0), delete: true },
      { key: Buffer.from([1, 2, 3]), value: Buffer.from([4]), delete: false },
      { key: b('k1'), value: b('again'), delete: false },
    ]);
    // Plain Uint8Arrays are recorded as Buffers (views, not copies).
    expect(Buffer.isBuffer(batch.ops[2]?.key)).toBe(true);
    expect(batch.count).toBe(4);
    expect(batch.byteSize).toBe(4 + 2 + 4 + 7);
  });

  it.each([
    ['an empty key', (batch: RecordingBatch) => batch.put(Buffer.alloc(0), b('v')), KeyTooLargeError],
    ['an empty key (delete)', (batch: RecordingBatch) => batch.delete(Buffer.alloc(0)), KeyTooLargeError],
    ['a key over the limit', (batch: RecordingBatch) => batch.put(Buffer.alloc(9), b('v')), KeyTooLargeError],
    ['a value over the limit', (batch: RecordingBatch) => batch.put(b('k'), Buffer.alloc(17)), ValueTooLargeError],
    [
      'a batch over the limit',
      (batch: RecordingBatch) => {
        batch.put(b('k1'), Buffer.alloc(16));
        batch.put(b('k2'), Buffer.alloc(16));
      },
      BatchTooLargeError,
    ],
  ])('rejects %s with the engine limits, recording nothing of it', (_what, act, errorClass) => {
    const batch = new RecordingBatch({ maxKeyBytes: 8, maxValueBytes: 16, maxBatchBytes: 32 });
    expect(() => act(batch)).toThrow(errorClass);
    expect(batch.ops.length).toBe(batch.count);
  });

  it('defaults to the default engine limits', () => {
    const batch = new RecordingBatch();
    expect(() => batch.put(Buffer.alloc(DEFAULT_ENGINE_LIMITS.maxKeyBytes + 1), b('v'))).toThrow(KeyTooLargeError);
  });
});

describe('compactWriteOps', () => {
  it('keeps the last op of each key, in the order of those last ops', () => {
    const batch = new RecordingBatch();
    batch.put(b('a'), b('1'));
    batch.put(b('b'), b('1'));
    batch.delete(b('a'));
    batch.put(b('c'), b('1'));
    batch.put(b('b'), b('2'));
    expect(compactWriteOps(batch.ops)).toEqual([
      { key: b('a'), value: Buffer.alloc(0), delete: true },
      { key: b('c'), value: b('1'), delete: false },
      { key: b('b'), value: b('2'), delete: false },
    ]);
  });

  it('returns the ops themselves when no key repeats', () => {
    const batch = new RecordingBatch();
    batch.put(b('a'), b('1'));
    batch.delete(b('b'));
    expect(compactWriteOps(batch.ops)).toBe(batch.ops);
    expect(compactWriteOps([])).toEqual([]);
  });
});

const tempDir = useTempDirs('cairn-recording-batch');

describe.each(bothEngines(tempDir))('applyWriteOps on %s', (_name, open) => {
  let engine: Engine;
  beforeEach(async () => {
    engine = await open();
  });
  afterEach(async () => {
    await engine.close();
  });

  it('applies recorded ops in order, atomically in one engine batch', async () => {
    const setup = engine.newBatch();
    setup.put(b('gone'), b('old'));
    setup.put(b('kept'), b('old'));
    await engine.write(setup);

    const recording = new RecordingBatch();
    recording.put(b('a'), b('1'));
    recording.delete(b('gone'));
    recording.put(b('a'), b('2'));
    recording.put(b('b'), b('3'));
    recording.delete(b('b'));

    const batch = engine.newBatch();
    applyWriteOps(batch, recording.ops);
    expect(batch.count).toBe(recording.count);
    expect(batch.byteSize).toBe(recording.byteSize);
    await engine.write(batch);

    expect(engine.get(b('a'))).toEqual(b('2'));
    expect(engine.get(b('b'))).toBeUndefined();
    expect(engine.get(b('gone'))).toBeUndefined();
    expect(engine.get(b('kept'))).toEqual(b('old'));
  });
});
