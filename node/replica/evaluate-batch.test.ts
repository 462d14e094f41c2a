import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { CairnError, InvalidArgumentError } from '../../common/errors';
import type { Timestamp } from '../../common/hlc';
import { compareTimestamps, nextTimestamp } from '../../common/hlc';
import { ConditionFailedError } from '../../kv/errors';
import type { KeyValue, RequestUnion, ResponseUnion } from '../../proto/gen/cairn/kv/v1/kv';
import type { Engine, TxnMeta } from '../storage';
import { MemoryEngine, mvccGet, mvccPut, mvccScan, RocksEngine, ValueTooLargeError, WriteIntentError } from '../storage';
import { bothEngines, useTempDirs } from '../storage/test-support/temp-stores';
import type { EvaluateOptions, EvaluateResult } from './evaluate-batch';
import { declareSpans, evaluateBatch, failedRequestIndex, isReadOnly } from './evaluate-batch';
import { applyWriteOps } from './recording-batch';
import { parseDataDrivenFile } from '../../test/support/data-driven';

const b = (text: string): Buffer => Buffer.from(text);
const at = (wall: number, logical = 0): Timestamp => ({ wallTime: BigInt(wall), logical });

const get = (key: string): RequestUnion => ({ request: { $case: 'get', value: { key: b(key), forUpdate: false } } });
const put = (key: string, value: string): RequestUnion => ({ request: { $case: 'put', value: { key: b(key), value: b(value) } } });
const cput = (key: string, value: string, expected?: string): RequestUnion => ({
  request: {
    $case: 'conditionalPut',
    value: expected === undefined ? { key: b(key), value: b(value) } : { key: b(key), value: b(value), expectedValue: b(expected) },
  },
});
const del = (key: string): RequestUnion => ({ request: { $case: 'delete', value: { key: b(key) } } });
const delRange = (start: string, end: string): RequestUnion => ({
  request: { $case: 'deleteRange', value: { startKey: b(start), endKey: b(end) } },
});
const scan = (start: string, end: string): RequestUnion => ({ request: { $case: 'scan', value: { startKey: b(start), endKey: b(end) } } });
const rscan = (start: string, end: string): RequestUnion => ({
  request: { $case: 'reverseScan', value: { startKey: b(start), endKey: b(end) } },
});

function options(ts: Timestamp, limits: { maxKeys?: number; maxBytes?: number } = {}): EvaluateOptions {
  return { timestamp: ts, maxKeys: limits.maxKeys ?? 0, maxBytes: limits.maxBytes ?? 0 };
}

/** Bytes as text, with anything but printable ASCII escaped as \xNN. */
function show(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) {
    out += byte >= 0x20 && byte < 0x7f && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

function showTs(ts: Timestamp | undefined): string {
  if (ts === undefined) {
    return '<no timestamp>';
  }
  return ts.logical === 0 ? `${ts.wallTime}` : `${ts.wallTime}.${ts.logical}`;
}

function showRow(row: KeyValue): string {
  return `${show(row.key)}=${show(row.value)}@${showTs(row.timestamp)}`;
}

function showSpan(span: { startKey: Buffer; endKey: Buffer } | undefined): string {
  return span === undefined ? '' : ` resume [${show(span.startKey)}, ${show(span.endKey)})`;
}

/** One line per response: what a test expects to read. */
function describeResponse(union: ResponseUnion): string {
  const response = union.response;
  switch (response?.$case) {
    case 'get':
      return `get: ${response.value.value === undefined ? '<none>' : showRow(response.value.value)}`;
    case 'put':
      return 'put';
    case 'conditionalPut':
      return 'cput';
    case 'delete':
      return `delete: ${response.value.deleted ? 'deleted' : 'absent'}`;
    case 'deleteRange':
      return `delrange: ${response.value.deletedCount} deleted${showSpan(response.value.resumeSpan)}`;
    case 'scan':
    case 'reverseScan': {
      const rows = response.value.rows.map(showRow).join(' ');
      return `${response.$case === 'scan' ? 'scan' : 'rscan'}: ${rows === '' ? '<no rows>' : rows}${showSpan(response.value.resumeSpan)}`;
    }
    default:
      throw new Error(`unexpected response ${response?.$case}`);
  }
}

function describeResult(result: EvaluateResult): string[] {
  return result.responses.map(describeResponse);
}

/** Writes a committed version (undefined: tombstone), or an intent of `txn`. */
async function seed(engine: Engine, key: string, ts: Timestamp, value: string | undefined, txn?: TxnMeta): Promise<void> {
  const batch = engine.newBatch();
  mvccPut(engine, batch, b(key), ts, value === undefined ? undefined : b(value), txn === undefined ? {} : { txn });
  await engine.write(batch);
}

function txnNamed(name: string, ts: Timestamp): TxnMeta {
  const id = Buffer.alloc(16);
  id.write(name);
  return { id, anchorKey: b(name), epoch: 0, writeTimestamp: ts, minTimestamp: ts, priority: 1, sequence: 0 };
}

/** Evaluates the batch and applies its writes to the engine, as a replica would. */
async function evaluateAndApply(engine: Engine, requests: readonly RequestUnion[], opts: EvaluateOptions): Promise<EvaluateResult> {
  const result = evaluateBatch(engine, requests, opts);
  if (result.writes.length > 0) {
    const batch = engine.newBatch();
    applyWriteOps(batch, result.writes);
    await engine.write(batch);
  }
  return result;
}

/** What a later read at `ts` sees in [start, end), through MVCC. */
function readBack(engine: Engine, ts: Timestamp, start: string | Buffer = 'a', end: string | Buffer = 'z'): string[] {
  const bytes = (key: string | Buffer): Buffer => (typeof key === 'string' ? b(key) : key);
  return mvccScan(engine, bytes(start), bytes(end), ts).rows.map((row) => `${show(row.key)}=${show(row.value)}@${showTs(row.timestamp)}`);
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

const tempDir = useTempDirs('cairn-evaluate-batch');

describe.each(bothEngines(tempDir))('evaluateBatch on %s', (_name, open) => {
  let engine: Engine;
  beforeEach(async () => {
    engine = await open();
  });
  afterEach(async () => {
    await engine.close();
  });

  it('gets what is visible at the timestamp, and writes nothing for reads', async () => {
    await seed(engine, 'a', at(10), 'a10');
    await seed(engine, 'a', at(20), 'a20');
    await seed(engine, 'b', at(10), undefined);
    const result = evaluateBatch(engine, [get('a'), get('b'), get('c')], options(at(15)));
    expect(describeResult(result)).toEqual(['get: a=a10@10', 'get: <none>', 'get: <none>']);
    expect(result.writes).toEqual([]);
    expect(result.timestamp).toEqual(at(15));
    expect(describeResult(evaluateBatch(engine, [get('a')], options(at(20))))).toEqual(['get: a=a20@20']);
  });

  it('reads above a version inside its uncertainty limit, the whole batch, and never above the limit', async () => {
    await seed(engine, 'a', at(10), 'a10');
    await seed(engine, 'a', at(18), 'a18');
    await seed(engine, 'b', at(22), 'b22');
    await seed(engine, 'c', at(30), 'c30');
    // A version written by a node whose clock ran ahead may precede the read in real time.
    const result = evaluateBatch(engine, [get('a'), get('b'), get('c')], { ...options(at(15)), uncertaintyLimit: at(25) });
    expect(describeResult(result)).toEqual(['get: a=a18@18', 'get: b=b22@22', 'get: <none>']);
    expect(result.timestamp).toEqual(at(22));
    // Without a limit, the read stays at its timestamp.
    expect(describeResult(evaluateBatch(engine, [get('a'), get('b')], options(at(15))))).toEqual(['get: a=a10@10', 'get: <none>']);
  });

  it('puts versions at the timestamp, over the older ones', async () => {
    await seed(engine, 'a', at(10), 'old');
    const result = await evaluateAndApply(engine, [put('a', 'new'), put('b', 'b')], options(at(20)));
    expect(describeResult(result)).toEqual(['put', 'put']);
    expect(result.timestamp).toEqual(at(20));
    expect(readBack(engine, at(20))).toEqual(['a=new@20', 'b=b@20']);
    expect(readBack(engine, at(19))).toEqual(['a=old@10']);
    expect(mvccGet(engine, b('a'), at(25))?.value).toEqual(b('new'));
  });

  it('reads its own writes, in request order', async () => {
    await seed(engine, 'a', at(10), 'a10');
    await seed(engine, 'c', at(10), 'c10');
    const result = await evaluateAndApply(
      engine,
      [
        get('b'),
        put('b', 'b20'),
        get('b'),
        scan('a', 'z'),
        del('a'),
        get('a'),
        rscan('a', 'z'),
        put('a', 'again'),
        scan('a', 'b'),
      ],
      options(at(20)),
    );
    expect(describeResult(result)).toEqual([
      'get: <none>',
      'put',
      'get: b=b20@20',
      'scan: a=a10@10 b=b20@20 c=c10@10',
      'delete: deleted',
      'get: <none>',
      'rscan: c=c10@10 b=b20@20',
      'put',
      'scan: a=again@20',
    ]);
    expect(readBack(engine, at(20))).toEqual(['a=again@20', 'b=b20@20', 'c=c10@10']);
    expect(readBack(engine, at(15))).toEqual(['a=a10@10', 'c=c10@10']);
  });

  it('writes one version per key, the last write, however often the batch writes the key', async () => {
    await seed(engine, 'a', at(10), 'a10');
    const result = await evaluateAndApply(
      engine,
      [put('a', '1'), put('a', '2'), del('a'), put('a', '3'), put('n', 'x'), del('n')],
      options(at(20)),
    );
    // No restart: the batch's own version at 20 is not a newer write.
    expect(result.timestamp).toEqual(at(20));
    // Raft carries each raw key once: a's older version moved down, a's newest, n's newest.
    expect(result.writes.length).toBe(3);
    expect(readBack(engine, at(20))).toEqual(['a=3@20']);
    expect(readBack(engine, at(19))).toEqual(['a=a10@10']);
    // Key n: created and deleted in the batch, a tombstone at 20 and nothing before.
    expect(mvccGet(engine, b('n'), at(20))).toBeUndefined();
    // A later write goes above the batch's versions.
    await evaluateAndApply(engine, [put('a', '4')], options(at(30)));
    expect(readBack(engine, at(25))).toEqual(['a=3@20']);
    expect(readBack(engine, at(10))).toEqual(['a=a10@10']);
  });

  describe('conditional put', () => {
    it.each([
      ['absent, expected absent', undefined, undefined, undefined],
      ['present, expected its value', 'old', 'old', undefined],
      ['absent, expected a value', undefined, 'old', { actual: undefined }],
      ['present, expected absent', 'old', undefined, { actual: 'old' }],
      ['present, expected another value', 'old', 'other', { actual: 'old' }],
      ['deleted, expected absent', null, undefined, undefined],
    ])('%s', async (_what, current: string | undefined | null, expected, failure) => {
      if (current !== undefined) {
        await seed(engine, 'k', at(10), current ?? undefined);
      }
      const evaluate = (): EvaluateResult => evaluateBatch(engine, [get('x'), cput('k', 'new', expected)], options(at(20)));
      if (failure === undefined) {
        const result = await evaluateAndApply(engine, [cput('k', 'new', expected)], options(at(20)));
        expect(describeResult(result)).toEqual(['cput']);
        expect(mvccGet(engine, b('k'), at(20))?.value).toEqual(b('new'));
        return;
      }
      const err = thrown(evaluate);
      expect(err).toBeInstanceOf(ConditionFailedError);
      expect((err as ConditionFailedError).code).toBe('CONDITION_FAILED');
      expect((err as ConditionFailedError).actualValue).toEqual(failure.actual === undefined ? undefined : b(failure.actual));
      expect(failedRequestIndex(err)).toBe(1);
    });

    it("judges against the batch's own earlier writes", async () => {
      const result = await evaluateAndApply(engine, [put('k', 'mine'), cput('k', 'next', 'mine'), cput('j', 'new')], options(at(20)));
      expect(describeResult(result)).toEqual(['put', 'cput', 'cput']);
      expect(readBack(engine, at(20))).toEqual(['j=new@20', 'k=next@20']);
      expect(() => evaluateBatch(engine, [del('k'), cput('k', 'x', 'next')], options(at(30)))).toThrow(ConditionFailedError);
    });

    it('judges against a newer version after moving the batch up', async () => {
      await seed(engine, 'k', at(30), 'newer');
      // At 20 the key is absent, but the write cannot go in at 20: the batch moves above
      // the newer version, where the key holds it.
      expect(() => evaluateBatch(engine, [cput('k', 'x')], options(at(20)))).toThrow(ConditionFailedError);
      const result = evaluateBatch(engine, [cput('k', 'x', 'newer')], options(at(20)));
      expect(result.timestamp).toEqual(nextTimestamp(at(30)));
    });
  });

  it('deletes only live keys, and says whether there was one', async () => {
    await seed(engine, 'live', at(10), 'v');
    await seed(engine, 'dead', at(10), 'v');
    await seed(engine, 'dead', at(15), undefined);
    const result = await evaluateAndApply(engine, [del('live'), del('dead'), del('never')], options(at(20)));
    expect(describeResult(result)).toEqual(['delete: deleted', 'delete: absent', 'delete: absent']);
    // Only the live key got a tombstone (its old value moved down, the tombstone on top).
    expect(result.writes.length).toBe(2);
    expect(readBack(engine, at(20))).toEqual([]);
    expect(readBack(engine, at(12))).toEqual(['dead=v@10', 'live=v@10']);
  });

  it('deletes a range of live keys with tombstones', async () => {
    for (const key of ['a', 'b', 'c', 'd']) {
      await seed(engine, key, at(10), key);
    }
    await seed(engine, 'c', at(15), undefined);
    const result = await evaluateAndApply(engine, [delRange('b', 'd\x00'), get('b'), scan('a', 'z')], options(at(20)));
    expect(describeResult(result)).toEqual(['delrange: 2 deleted', 'get: <none>', 'scan: a=a@10']);
    expect(readBack(engine, at(20))).toEqual(['a=a@10']);
    expect(readBack(engine, at(19))).toEqual(['a=a@10', 'b=b@10', 'd=d@10']);
  });

  describe('limits', () => {
    beforeEach(async () => {
      for (const key of ['a', 'b', 'c', 'd', 'e', 'f']) {
        await seed(engine, key, at(10), `${key}${key}`);
      }
    });

    it.each([
      ['no limit', {}, [scan('a', 'z')], ['scan: a=aa@10 b=bb@10 c=cc@10 d=dd@10 e=ee@10 f=ff@10']],
      ['a key limit on one scan', { maxKeys: 2 }, [scan('a', 'z')], ['scan: a=aa@10 b=bb@10 resume [c, z)']],
      ['a key limit on one reverse scan', { maxKeys: 2 }, [rscan('a', 'z')], ['rscan: f=ff@10 e=ee@10 resume [a, d\\x00)']],
      ['a key limit the scan does not reach', { maxKeys: 6 }, [scan('a', 'z')], ['scan: a=aa@10 b=bb@10 c=cc@10 d=dd@10 e=ee@10 f=ff@10']],
      [
        'a key limit shared by the requests, in order',
        { maxKeys: 3 },
        [scan('a', 'c'), rscan('c', 'z'), scan('a', 'z'), get('a'), delRange('a', 'z')],
        ['scan: a=aa@10 b=bb@10', 'rscan: f=ff@10 resume [c, e\\x00)', 'scan: <no rows> resume [a, z)', 'get: a=aa@10', 'delrange: 0 deleted resume [a, z)'],
      ],
      [
        'a key limit used up exactly: later requests return their whole span',
        { maxKeys: 2 },
        [scan('a', 'c'), scan('x', 'z'), rscan('a', 'b')],
        ['scan: a=aa@10 b=bb@10', 'scan: <no rows> resume [x, z)', 'rscan: <no rows> resume [a, b)'],
      ],
      [
        'a byte limit (each row 3 bytes; at least one row)',
        { maxBytes: 7 },
        [scan('a', 'z'), scan('a', 'z')],
        ['scan: a=aa@10 b=bb@10 c=cc@10 resume [d, z)', 'scan: <no rows> resume [a, z)'],
      ],
      [
        'a byte limit reached within a reverse scan',
        { maxBytes: 4 },
        [rscan('a', 'c'), rscan('d', 'z')],
        ['rscan: b=bb@10 a=aa@10', 'rscan: <no rows> resume [d, z)'],
      ],
      [
        'a byte limit stops a later delete range too',
        { maxBytes: 3 },
        [scan('a', 'b'), delRange('a', 'z')],
        ['scan: a=aa@10', 'delrange: 0 deleted resume [a, z)'],
      ],
      [
        'both limits: whichever is first',
        { maxKeys: 4, maxBytes: 6 },
        [scan('a', 'z'), scan('e', 'z')],
        ['scan: a=aa@10 b=bb@10 resume [c, z)', 'scan: <no rows> resume [e, z)'],
      ],
      [
        'a delete range counting toward the key limit',
        { maxKeys: 3 },
        [delRange('b', 'z'), scan('a', 'z')],
        ['delrange: 3 deleted resume [e, z)', 'scan: <no rows> resume [a, z)'],
      ],
      [
        'a delete range after a scan',
        { maxKeys: 4 },
        [scan('a', 'c'), delRange('c', 'z'), get('e')],
        ['scan: a=aa@10 b=bb@10', 'delrange: 2 deleted resume [e, z)', 'get: e=ee@10'],
      ],
    ])('%s', async (_what, limits: { maxKeys?: number; maxBytes?: number }, requests, expected) => {
      const result = evaluateBatch(engine, requests, options(at(20), limits));
      expect(describeResult(result)).toEqual(expected);
    });

    it('leaves what a limited delete range did not reach, for its resume span', async () => {
      const first = await evaluateAndApply(engine, [delRange('a', 'z')], options(at(20), { maxKeys: 4 }));
      expect(describeResult(first)).toEqual(['delrange: 4 deleted resume [e, z)']);
      expect(readBack(engine, at(20))).toEqual(['e=ee@10', 'f=ff@10']);
      const second = await evaluateAndApply(engine, [delRange('e', 'z')], options(at(20), { maxKeys: 4 }));
      expect(describeResult(second)).toEqual(['delrange: 2 deleted']);
      expect(readBack(engine, at(20))).toEqual([]);
    });
  });

  describe('write too old', () => {
    it('moves the whole batch above a newer version, reads included', async () => {
      await seed(engine, 'a', at(10), 'a10');
      await seed(engine, 'a', at(30), 'a30');
      await seed(engine, 'b', at(25), 'b25');
      const result = await evaluateAndApply(engine, [get('b'), put('a', 'mine'), scan('a', 'z')], options(at(20)));
      const moved = nextTimestamp(at(30));
      expect(result.timestamp).toEqual(moved);
      expect(describeResult(result)).toEqual(['get: b=b25@25', 'put', 'scan: a=mine@30.1 b=b25@25']);
      expect(readBack(engine, moved)).toEqual(['a=mine@30.1', 'b=b25@25']);
      expect(readBack(engine, at(30))).toEqual(['a=a30@30', 'b=b25@25']);
    });

    it('moves above a version at exactly its timestamp, and above the newest of several', async () => {
      await seed(engine, 'a', at(20), 'a20');
      await seed(engine, 'b', at(40, 2), 'b40');
      const result = await evaluateAndApply(engine, [put('a', 'x'), put('b', 'y'), put('c', 'z')], options(at(20)));
      expect(result.timestamp).toEqual(at(40, 3));
      expect(readBack(engine, at(40, 3))).toEqual(['a=x@40.3', 'b=y@40.3', 'c=z@40.3']);
    });

    it('moves above a tombstone too', async () => {
      await seed(engine, 'a', at(10), 'a10');
      await seed(engine, 'a', at(30), undefined);
      const result = await evaluateAndApply(engine, [put('a', 'x')], options(at(20)));
      expect(result.timestamp).toEqual(at(30, 1));
    });

    it('does not move a read-only batch', async () => {
      await seed(engine, 'a', at(30), 'a30');
      const result = evaluateBatch(engine, [get('a'), scan('a', 'z')], options(at(20)));
      expect(result.timestamp).toEqual(at(20));
      expect(describeResult(result)).toEqual(['get: <none>', 'scan: <no rows>']);
    });
  });

  describe('intents', () => {
    beforeEach(async () => {
      await seed(engine, 'k', at(10), 'committed');
      await seed(engine, 'k', at(15), 'provisional', txnNamed('T', at(15)));
    });

    it.each([
      ['a get at or above it', [get('k')], 20, 0],
      ['a scan over it', [get('a'), scan('a', 'z')], 20, 1],
      ['a reverse scan over it', [rscan('a', 'z')], 20, 0],
      ['a put', [put('x', 'x'), put('k', 'v')], 20, 1],
      ['a put below it', [put('k', 'v')], 12, 0],
      ['a conditional put', [cput('k', 'v', 'committed')], 20, 0],
      ['a delete', [del('k')], 20, 0],
      ['a delete range', [delRange('a', 'z')], 20, 0],
    ])('fail %s with WriteIntentError', (_what, requests, wall, index) => {
      const err = thrown(() => evaluateBatch(engine, requests, options(at(wall))));
      expect(err).toBeInstanceOf(WriteIntentError);
      expect((err as WriteIntentError).intents.map((i) => i.key)).toEqual([b('k')]);
      expect(failedRequestIndex(err)).toBe(index);
    });

    it('do not stop reads below them', () => {
      const result = evaluateBatch(engine, [get('k'), scan('a', 'z')], options(at(12)));
      expect(describeResult(result)).toEqual(['get: k=committed@10', 'scan: k=committed@10']);
    });
  });

  it('fails a write past the engine limits during evaluation', () => {
    const err = thrown(() =>
      evaluateBatch(engine, [put('a', 'x'), put('b', 'too large')], {
        ...options(at(20)),
        // Raw values hold a 12-byte timestamp and a tag: 'x' takes 14 bytes, 'too large' 22.
        limits: { maxKeyBytes: 64, maxValueBytes: 20, maxBatchBytes: 1024 },
      }),
    );
    expect(err).toBeInstanceOf(ValueTooLargeError);
    expect(failedRequestIndex(err)).toBe(1);
  });
});

describe('evaluateBatch input checks', () => {
  const engine = new MemoryEngine();

  it.each([
    ['an empty key', [get('a'), put('', 'v')], 1, /request 1 \(put\): the empty key is reserved/],
    ['an empty get key', [get('')], 0, /request 0 \(get\)/],
    ['an empty delete key', [del('')], 0, /request 0 \(delete\)/],
    ['an empty cput key', [cput('', 'v')], 0, /request 0 \(conditionalPut\)/],
    ['an inverted span', [scan('b', 'a')], 0, /empty or inverted span \[62, 61\)/],
    ['an empty span', [get('a'), rscan('b', 'b')], 1, /empty or inverted/],
    ['an inverted delete range', [delRange('z', 'a')], 0, /request 0 \(deleteRange\)/],
    ['an empty request', [get('a'), {}], 1, /request 1 is empty/],
    ['an admin request', [{ request: { $case: 'adminSplit', value: { splitKey: b('m') } } }], 0, /adminSplit must be alone/],
    ['range stats', [get('a'), { request: { $case: 'rangeStats', value: { key: b('a') } } }], 1, /rangeStats/],
  ] as [string, RequestUnion[], number, RegExp][])('rejects %s before evaluating anything', (_what, requests, index, message) => {
    for (const check of [() => evaluateBatch(engine, requests, options(at(1))), () => declareSpans(requests)]) {
      const err = thrown(check);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as Error).message).toMatch(message);
      expect(failedRequestIndex(err)).toBe(index);
    }
  });

  it.each([
    ['a negative key limit', { maxKeys: -1 }],
    ['a fractional byte limit', { maxBytes: 1.5 }],
    ['a key limit of NaN', { maxKeys: NaN }],
  ])('rejects %s', (_what, limits) => {
    expect(() => evaluateBatch(engine, [scan('a', 'z')], options(at(1), limits))).toThrow(InvalidArgumentError);
  });

  it('takes limits past 2^53 (uint64s from the wire) as limits too large to reach', () => {
    const huge = Number(2n ** 64n - 1n);
    expect(describeResult(evaluateBatch(engine, [scan('a', 'z')], options(at(1), { maxKeys: huge, maxBytes: huge })))).toEqual(['scan: <no rows>']);
  });

  it('allows an empty start key for spans, and an empty batch', () => {
    expect(describeResult(evaluateBatch(engine, [scan('', 'z')], options(at(1))))).toEqual(['scan: <no rows>']);
    expect(evaluateBatch(engine, [], options(at(1)))).toEqual({ responses: [], writes: [], timestamp: at(1), highestTimestamp: at(1) });
  });

  it('knows no request index for errors it did not raise', () => {
    expect(failedRequestIndex(new Error('x'))).toBe(-1);
    expect(failedRequestIndex(undefined)).toBe(-1);
  });
});

describe('isReadOnly and declareSpans', () => {
  it.each([
    ['an empty batch', [], true],
    ['reads', [get('a'), scan('a', 'b'), rscan('a', 'b')], true],
    ['a read and a put', [get('a'), put('a', 'b')], false],
    ['a conditional put', [cput('a', 'b')], false],
    ['a delete', [del('a')], false],
    ['a delete range', [delRange('a', 'b')], false],
    ['an admin request', [{ request: { $case: 'adminTransferLease', value: { key: b('a'), targetNodeId: 2n } } }], false],
    ['range stats', [{ request: { $case: 'rangeStats', value: { key: b('a') } } }], true],
  ] as [string, RequestUnion[], boolean][])('isReadOnly: %s -> %s', (_what, requests, readOnly) => {
    expect(isReadOnly(requests)).toBe(readOnly);
  });

  it('declares one latch per request: points for keys, spans for ranges, writes for writes', () => {
    expect(declareSpans([get('a'), put('b', 'v'), cput('c', 'v'), del('d'), delRange('e', 'f'), scan('g', 'h'), rscan('i', 'j')])).toEqual([
      { start: b('a'), write: false },
      { start: b('b'), write: true },
      { start: b('c'), write: true },
      { start: b('d'), write: true },
      { start: b('e'), end: b('f'), write: true },
      { start: b('g'), end: b('h'), write: false },
      { start: b('i'), end: b('j'), write: false },
    ]);
  });

  it('declares a span of one key (a point read\'s refresh span) as that key', () => {
    expect(declareSpans([scan('a', 'a\u0000'), delRange('ab', 'ab\u0000\u0000')])).toEqual([
      { start: b('a'), write: false },
      { start: b('ab'), end: b('ab\u0000\u0000'), write: true },
    ]);
  });
});

/*
 * Random batches checked against a model (a map of live values per timestamp): the
 * responses, the limits and resume spans, one version per key, and what reads at every
 * earlier timestamp see once the writes are applied. Every batch is above every write
 * so far, so none moves up.
 */
describe('evaluateBatch (model)', () => {
  const KEYS = ['a', 'b', 'c', 'd', 'e'];
  const keyArb = fc.constantFrom(...KEYS);
  const valueArb = fc.constantFrom('x', 'yy', 'zzz');
  const spanArb = fc
    .tuple(fc.integer({ min: 0, max: KEYS.length - 1 }), fc.integer({ min: 1, max: KEYS.length }))
    .map(([from, width]) => [String.fromCharCode(97 + from), String.fromCharCode(97 + Math.min(from + width, KEYS.length))] as const);
  const requestArb: fc.Arbitrary<RequestUnion> = fc.oneof(
    keyArb.map(get),
    fc.tuple(keyArb, valueArb).map(([k, v]) => put(k, v)),
    fc.tuple(keyArb, valueArb, fc.option(valueArb, { nil: undefined })).map(([k, v, e]) => cput(k, v, e)),
    keyArb.map(del),
    spanArb.map(([s, e]) => delRange(s, e)),
    spanArb.map(([s, e]) => scan(s, e)),
    spanArb.map(([s, e]) => rscan(s, e)),
  );
  const batchArb = fc.record({
    requests: fc.array(requestArb, { minLength: 1, maxLength: 6 }),
    maxKeys: fc.constantFrom(0, 0, 1, 2, 4),
    maxBytes: fc.constantFrom(0, 0, 2, 5),
  });

  interface State {
    /** Live values. */
    readonly live: Map<string, { value: string; wall: number }>;
    /** Keys with any version, tombstones included: a limited scan stops at one. */
    readonly written: Set<string>;
  }

  /** The model's responses, or the error code, for the batch over `state` (changed in place). */
  function model(state: State, requests: readonly RequestUnion[], maxKeys: number, maxBytes: number, wall: number): string[] | string {
    const { live, written } = state;
    const out: string[] = [];
    let keys = 0;
    let bytes = 0;
    const reached = (): boolean => (maxKeys > 0 && keys >= maxKeys) || (maxBytes > 0 && bytes >= maxBytes);
    const row = (k: string): string => {
      const v = live.get(k) as { value: string; wall: number };
      return `${k}=${v.value}@${v.wall}`;
    };
    const set = (k: string, value: string): void => {
      live.set(k, { value, wall });
      written.add(k);
    };
    for (const union of requests) {
      const request = union.request as NonNullable<RequestUnion['request']>;
      switch (request.$case) {
        case 'get': {
          const k = request.value.key.toString();
          out.push(`get: ${live.has(k) ? row(k) : '<none>'}`);
          break;
        }
        case 'put':
          set(request.value.key.toString(), request.value.value.toString());
          out.push('put');
          break;
        case 'conditionalPut': {
          const k = request.value.key.toString();
          if (live.get(k)?.value !== request.value.expectedValue?.toString()) {
            return 'CONDITION_FAILED';
          }
          set(k, request.value.value.toString());
          out.push('cput');
          break;
        }
        case 'delete': {
          const k = request.value.key.toString();
          // Deleting nothing writes nothing.
          out.push(`delete: ${live.delete(k) ? 'deleted' : 'absent'}`);
          break;
        }
        case 'deleteRange':
        case 'scan':
        case 'reverseScan': {
          const start = request.value.startKey.toString();
          const end = request.value.endKey.toString();
          const isDelete = request.$case === 'deleteRange';
          const reverse = request.$case === 'reverseScan';
          const name = isDelete ? 'delrange' : reverse ? 'rscan' : 'scan';
          if (reached()) {
            out.push(isDelete ? `delrange: 0 deleted resume [${start}, ${end})` : `${name}: <no rows> resume [${start}, ${end})`);
            break;
          }
          const candidates = [...written].filter((k) => k >= start && k < end).sort();
          if (reverse) {
            candidates.reverse();
          }
          const rows: string[] = [];
          let resume = '';
          for (const k of candidates) {
            // A delete range counts keys only.
            if (isDelete ? maxKeys > 0 && keys >= maxKeys : reached()) {
              resume = reverse ? ` resume [${start}, ${k}\\x00)` : ` resume [${k}, ${end})`;
              break;
            }
            if (!live.has(k)) {
              continue;
            }
            rows.push(k);
            keys++;
            if (!isDelete) {
              bytes += k.length + (live.get(k) as { value: string }).value.length;
            }
          }
          if (isDelete) {
            rows.forEach((k) => live.delete(k));
            out.push(`delrange: ${rows.length} deleted${resume}`);
          } else {
            out.push(`${name}: ${rows.length === 0 ? '<no rows>' : rows.map(row).join(' ')}${resume}`);
          }
          break;
        }
        default:
          throw new Error('not generated');
      }
    }
    return out;
  }

  function snapshotOf(state: State): string[] {
    return [...state.live.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([k, v]) => `${k}=${v.value}@${v.wall}`);
  }

  it('matches the model, and later reads at every timestamp see what the model saw', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(batchArb, { minLength: 1, maxLength: 8 }), async (batches) => {
        const engine = new MemoryEngine();
        let state: State = { live: new Map(), written: new Set() };
        const history: { wall: number; snapshot: string[] }[] = [];
        for (const [i, batch] of batches.entries()) {
          const wall = 10 * (i + 1);
          const next: State = { live: new Map(state.live), written: new Set(state.written) };
          const expected = model(next, batch.requests, batch.maxKeys, batch.maxBytes, wall);
          let actual: string[] | string;
          try {
            const result = await evaluateAndApply(engine, batch.requests, options(at(wall), batch));
            expect(compareTimestamps(result.timestamp, at(wall))).toBe(0);
            if (isReadOnly(batch.requests)) {
              expect(result.writes).toEqual([]);
            }
            actual = describeResult(result);
          } catch (err) {
            if (!(err instanceof CairnError)) {
              throw err;
            }
            actual = err.code;
          }
          expect(actual).toEqual(expected);
          if (typeof expected !== 'string') {
            state = next;
          }
          history.push({ wall, snapshot: snapshotOf(state) });
        }
        for (const { wall, snapshot } of history) {
          expect(readBack(engine, at(wall))).toEqual(snapshot);
        }
      }),
      { numRuns: 300 },
    );
  });
});

/*
 * Data-driven evaluation histories (STYLE.md §9): each file in testdata/evaluate holds
 * cases of commands, a `----` line, and the expected output, run on both engines.
 * `REWRITE=1 npx jest node/replica/evaluate-batch` rewrites the expectations.
 *
 * Commands (timestamps are wall times, `10.2` is wall 10 logical 2):
 *   write k=K ts=T [v=V] [txn=NAME]     an MVCC write to set up (no v=: a tombstone;
 *                                       txn=: an intent of that transaction)
 *   eval ts=T [max=N] [bytes=N]         evaluates the requests on the indented lines
 *     get K | put K V | cput K V [EXPECTED] | del K | delrange S E | scan S E | rscan S E
 *                                       below it, then applies its writes
 *   read ts=T [k=S] [end=E]             what an MVCC scan at T sees afterwards
 * Keys and values are text; `\xNN` escapes a byte.
 */
const TESTDATA = path.join(__dirname, 'testdata', 'evaluate');

function unescape(text: string): Buffer {
  return Buffer.from(text.replace(/\\x([0-9a-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
}

function parseTs(text: string): Timestamp {
  const [wall, logical] = text.split('.');
  return at(Number(wall), Number(logical ?? 0));
}

const parseFile = parseDataDrivenFile;

function parseArgs(words: readonly string[]): Map<string, string> {
  const args = new Map<string, string>();
  for (const word of words) {
    const eq = word.indexOf('=');
    args.set(eq < 0 ? word : word.slice(0, eq), eq < 0 ? '' : word.slice(eq + 1));
  }
  return args;
}

function parseRequest(line: string): RequestUnion {
  const [verb, ...words] = line.trim().split(/\s+/);
  const word = (i: number): string => {
    const w = words[i];
    if (w === undefined) {
      throw new Error(`'${line}': missing argument ${i + 1}`);
    }
    return w;
  };
  const key = (i: number): Buffer => unescape(word(i));
  switch (verb) {
    case 'get':
      return { request: { $case: 'get', value: { key: key(0), forUpdate: false } } };
    case 'put':
      return { request: { $case: 'put', value: { key: key(0), value: key(1) } } };
    case 'cput':
      return {
        request: {
          $case: 'conditionalPut',
          value: words.length > 2 ? { key: key(0), value: key(1), expectedValue: key(2) } : { key: key(0), value: key(1) },
        },
      };
    case 'del':
      return { request: { $case: 'delete', value: { key: key(0) } } };
    case 'delrange':
      return { request: { $case: 'deleteRange', value: { startKey: key(0), endKey: key(1) } } };
    case 'scan':
      return { request: { $case: 'scan', value: { startKey: key(0), endKey: key(1) } } };
    case 'rscan':
      return { request: { $case: 'reverseScan', value: { startKey: key(0), endKey: key(1) } } };
    default:
      throw new Error(`unknown request '${line}'`);
  }
}

function describeError(err: unknown): string {
  if (!(err instanceof CairnError)) {
    throw err;
  }
  const index = failedRequestIndex(err);
  return `error: ${err.code}${index < 0 ? '' : ` (request ${index})`}${
    err instanceof ConditionFailedError ? `: actual ${err.actualValue === undefined ? '<absent>' : show(err.actualValue)}` : ''
  }`;
}

async function runCase(engine: Engine, commands: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const txns = new Map<string, TxnMeta>();
  for (let i = 0; i < commands.length; i++) {
    const line = commands[i] as string;
    const [verb, ...words] = line.trim().split(/\s+/);
    const args = parseArgs(words);
    const arg = (name: string): string => {
      const value = args.get(name);
      if (value === undefined) {
        throw new Error(`'${line}': ${name}= is required`);
      }
      return value;
    };
    switch (verb) {
      case 'write': {
        const name = args.get('txn');
        let txn: TxnMeta | undefined;
        if (name !== undefined) {
          txn = txns.get(name) ?? txnNamed(name, parseTs(arg('ts')));
          txns.set(name, txn);
        }
        const value = args.get('v');
        const batch = engine.newBatch();
        mvccPut(engine, batch, unescape(arg('k')), parseTs(arg('ts')), value === undefined ? undefined : unescape(value), txn === undefined ? {} : { txn });
        await engine.write(batch);
        break;
      }
      case 'eval': {
        const requests: RequestUnion[] = [];
        while (i + 1 < commands.length && (commands[i + 1] as string).startsWith('  ')) {
          i++;
          requests.push(parseRequest(commands[i] as string));
        }
        const opts: EvaluateOptions = {
          timestamp: parseTs(arg('ts')),
          maxKeys: Number(args.get('max') ?? 0),
          maxBytes: Number(args.get('bytes') ?? 0),
        };
        try {
          const result = await evaluateAndApply(engine, requests, opts);
          out.push(`eval: @${showTs(result.timestamp)}, ${result.writes.length} writes`);
          for (const response of result.responses) {
            out.push(`  ${describeResponse(response)}`);
          }
        } catch (err) {
          out.push(describeError(err));
        }
        break;
      }
      case 'read': {
        const start = args.get('k');
        const end = args.get('end');
        const rows = readBack(
          engine,
          parseTs(arg('ts')),
          start === undefined ? Buffer.from([0x01]) : unescape(start),
          end === undefined ? Buffer.from([0xff]) : unescape(end),
        );
        out.push(`read @${arg('ts')}: ${rows.length === 0 ? '<no rows>' : rows.join(' ')}`);
        break;
      }
      default:
        throw new Error(`unknown command '${line}'`);
    }
  }
  return out;
}

const files = fs.existsSync(TESTDATA) ? fs.readdirSync(TESTDATA).filter((f) => f.endsWith('.txt')) : [];

describe.each(files)('evaluation history %s', (file) => {
  it('prints what the file expects, on both engines', async () => {
    const filePath = path.join(TESTDATA, file);
    const { header, cases } = parseFile(fs.readFileSync(filePath, 'utf8'));
    const outputs: string[][] = [];
    for (const c of cases) {
      const memory = await runCase(new MemoryEngine(), c.commands);
      const rocks = await RocksEngine.open(tempDir());
      try {
        expect(await runCase(rocks, c.commands)).toEqual(memory);
      } finally {
        await rocks.close();
      }
      outputs.push(memory);
    }
    if (process.env.REWRITE === '1') {
      const body = cases.map((c, i) => [...c.commands, '----', ...(outputs[i] as string[])].join('\n'));
      fs.writeFileSync(filePath, [...(header.length > 0 ? [header.join('\n')] : []), ...body].join('\n\n') + '\n');
      return;
    }
    for (const [i, c] of cases.entries()) {
      expect({ commands: c.commands, output: outputs[i] }).toEqual({ commands: c.commands, output: c.expected });
    }
  });
});
