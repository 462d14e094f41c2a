import { InvalidArgumentError } from '../../common/errors';
import type { Timestamp } from '../../common/hlc';
import { compareTimestamps } from '../../common/hlc';
import {
  TransactionAbortedError,
  TransactionAlreadyFinalizedError,
  TransactionRetryError,
  TransactionUncertaintyError,
} from '../../kv/errors';
import { MAX_TXN_PRIORITY, TXN_EXPIRY_MS } from '../../kv/transaction';
import * as kv from '../../proto/gen/cairn/kv/v1/kv';
import type { TxnMeta } from '../storage';
import { lockTableKey, MemoryEngine, mvccGet, mvccPut, WriteIntentError } from '../storage';
import type { EvaluateOptions, EvaluateResult } from './evaluate-batch';
import { evaluateBatch, failedRequestIndex } from './evaluate-batch';
import { applyWriteOps } from './recording-batch';
import { readTxnRecord, storageMeta, writeTxnRecord } from './txn-records';

/*
 * evaluateBatch in a transaction (DESIGN.md §7): intents, the record on the anchor
 * range, commits (one-phase and not), pushes, intent resolution and refreshes. Each
 * step's writes are applied to a MemoryEngine, as a replica would after Raft.
 */

/** A transaction's meta, as kv.proto's Transaction carries it. */
type KvTxnMeta = NonNullable<kv.Transaction['meta']>;

const {
  TRANSACTION_STATUS_PENDING: PENDING,
  TRANSACTION_STATUS_COMMITTED: COMMITTED,
  TRANSACTION_STATUS_ABORTED: ABORTED,
  TRANSACTION_STATUS_STAGING: STAGING,
} = kv.TransactionStatus;
const { PUSH_TYPE_TIMESTAMP: PUSH_TIMESTAMP, PUSH_TYPE_ABORT: PUSH_ABORT } = kv.PushType;

const b = (text: string): Buffer => Buffer.from(text);
const at = (wall: number, logical = 0): Timestamp => ({ wallTime: BigInt(wall), logical });
/** A clock reading in milliseconds (for heartbeats and expiry), as nanoseconds. */
const ms = (wallMs: number): Timestamp => ({ wallTime: BigInt(wallMs) * 1_000_000n, logical: 0 });
const span = (start: string, end: string): kv.Span => ({ startKey: b(start), endKey: b(end) });
const point = (key: string): kv.Span => span(key, `${key}\x00`);

/** The range under test holds [a, m); keys from m on live on other ranges. */
const RANGE = { start: b('a'), end: b('m') };
const NOW = ms(1_000_000);

interface TxnOptions {
  readonly id?: number;
  readonly anchor?: string;
  readonly write?: Timestamp;
  readonly uncertaintyLimit?: Timestamp;
  readonly priority?: number;
  readonly epoch?: number;
}

/** A transaction reading at `read` (writing there too unless told). */
function txnAt(read: Timestamp, options: TxnOptions = {}): kv.Transaction {
  return {
    meta: {
      id: Buffer.alloc(16, options.id ?? 0xaa),
      anchorKey: b(options.anchor ?? 'anchor'),
      epoch: options.epoch ?? 0,
      writeTimestamp: options.write ?? read,
      minTimestamp: read,
      priority: options.priority ?? 100,
      sequence: 0,
    },
    status: PENDING,
    readTimestamp: read,
    uncertaintyLimit: options.uncertaintyLimit ?? read,
    lockSpans: [],
    inFlightWrites: [],
  };
}

const idOf = (txn: kv.Transaction): Buffer => (txn.meta as KvTxnMeta).id;
const anchorOf = (txn: kv.Transaction): Buffer => (txn.meta as KvTxnMeta).anchorKey;

// --- Requests ---------------------------------------------------------------------

const get = (key: string): kv.RequestUnion => ({ request: { $case: 'get', value: { key: b(key), forUpdate: false } } });
const put = (key: string, value: string): kv.RequestUnion => ({ request: { $case: 'put', value: { key: b(key), value: b(value) } } });
const del = (key: string): kv.RequestUnion => ({ request: { $case: 'delete', value: { key: b(key) } } });
const delRange = (start: string, end: string): kv.RequestUnion => ({
  request: { $case: 'deleteRange', value: { startKey: b(start), endKey: b(end) } },
});
const scan = (start: string, end: string): kv.RequestUnion => ({ request: { $case: 'scan', value: { startKey: b(start), endKey: b(end) } } });
const heartbeat = (txn: kv.Transaction): kv.RequestUnion => ({ request: { $case: 'heartbeatTxn', value: { key: anchorOf(txn) } } });
const endTxn = (txn: kv.Transaction, commit: boolean, lockSpans: kv.Span[], refreshSpans: kv.Span[] = [], inFlightWrites: Buffer[] = []): kv.RequestUnion => ({
  request: { $case: 'endTxn', value: { key: anchorOf(txn), commit, lockSpans, refreshSpans, inFlightWrites } },
});
const push = (pushee: kv.Transaction, pushType: kv.PushType, options: { pusher?: kv.Transaction; pushTo?: Timestamp } = {}): kv.RequestUnion => ({
  request: {
    $case: 'pushTxn',
    value: { key: anchorOf(pushee), pushee: pushee.meta, pusher: options.pusher, pushType, pushTo: options.pushTo },
  },
});
const resolveIntent = (key: string, txn: kv.Transaction): kv.RequestUnion => ({ request: { $case: 'resolveIntent', value: { key: b(key), txn } } });
const resolveIntentRange = (start: string, end: string, txn: kv.Transaction): kv.RequestUnion => ({
  request: { $case: 'resolveIntentRange', value: { startKey: b(start), endKey: b(end), txn } },
});
const refresh = (key: string, from: Timestamp): kv.RequestUnion => ({ request: { $case: 'refresh', value: { key: b(key), refreshFrom: from } } });
const refreshRange = (start: string, end: string, from: Timestamp): kv.RequestUnion => ({
  request: { $case: 'refreshRange', value: { startKey: b(start), endKey: b(end), refreshFrom: from } },
});
const gcRecord = (txn: kv.Transaction): kv.RequestUnion => ({ request: { $case: 'gcTxnRecord', value: { key: anchorOf(txn), txnId: idOf(txn) } } });
const queryIntent = (key: string, txn: kv.Transaction): kv.RequestUnion => ({
  request: { $case: 'queryIntent', value: { key: b(key), txn: txn.meta } },
});
const recoverTxn = (txn: kv.Transaction, implicitlyCommitted: boolean): kv.RequestUnion => ({
  request: { $case: 'recoverTxn', value: { key: anchorOf(txn), txn: txn.meta, implicitlyCommitted } },
});
const queryTxn = (txn: kv.Transaction): kv.RequestUnion => ({ request: { $case: 'queryTxn', value: { key: anchorOf(txn), txnId: idOf(txn) } } });

// --- Responses --------------------------------------------------------------------

type AnyResponse = NonNullable<kv.ResponseUnion['response']>;
type ResponseOf<C extends AnyResponse['$case']> = Extract<AnyResponse, { $case: C }>['value'];

/** Response `index` of the batch, which must be of the kind given. */
function response<C extends AnyResponse['$case']>(result: EvaluateResult, index: number, kind: C): ResponseOf<C> {
  const union: AnyResponse | undefined = result.responses[index]?.response;
  if (union?.$case !== kind) throw new Error(`response ${index} is ${union?.$case}, not ${kind}`);
  const value: unknown = union.value;
  return value as ResponseOf<C>;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

const showTs = (ts: Timestamp | undefined): string =>
  ts === undefined ? '<none>' : ts.logical === 0 ? `${ts.wallTime}` : `${ts.wallTime}.${ts.logical}`;
const showSpans = (spans: readonly kv.Span[] | undefined): string[] =>
  (spans ?? []).map((s) => `[${s.startKey.toString('latin1')}, ${s.endKey.toString('latin1')})`);

describe('evaluateBatch in a transaction', () => {
  let engine: MemoryEngine;
  beforeEach(() => {
    engine = new MemoryEngine();
  });
  afterEach(async () => {
    await engine.close();
  });

  function options(txn: kv.Transaction | undefined, extra: Partial<EvaluateOptions> = {}): EvaluateOptions {
    return {
      timestamp: txn?.readTimestamp ?? at(1),
      maxKeys: 0,
      maxBytes: 0,
      txn,
      rangeSpan: RANGE,
      now: NOW,
      ...extra,
    };
  }

  /** Evaluates, then applies the writes to the engine (as every replica would). */
  async function run(requests: kv.RequestUnion[], txn: kv.Transaction | undefined, extra: Partial<EvaluateOptions> = {}): Promise<EvaluateResult> {
    const result = evaluateBatch(engine, requests, options(txn, extra));
    if (result.writes.length > 0) {
      const batch = engine.newBatch();
      applyWriteOps(batch, result.writes);
      await engine.write(batch);
    }
    return result;
  }

  /** Writes a committed version (undefined: tombstone), or an intent of `txn`. */
  async function seed(key: string, ts: Timestamp, value: string | undefined, txn?: TxnMeta): Promise<void> {
    const batch = engine.newBatch();
    mvccPut(engine, batch, b(key), ts, value === undefined ? undefined : b(value), txn === undefined ? {} : { txn });
    await engine.write(batch);
  }

  async function seedRecord(record: kv.Transaction): Promise<void> {
    const batch = engine.newBatch();
    writeTxnRecord(batch, record);
    await engine.write(batch);
  }

  const hasIntent = (key: string): boolean => engine.get(lockTableKey(b(key))) !== undefined;
  /** The committed value of `key` at `ts` as `value@ts` (throws on an intent in the way). */
  const committed = (key: string, ts: Timestamp): string => {
    const found = mvccGet(engine, b(key), ts);
    return found === undefined ? '<none>' : `${found.value.toString()}@${showTs(found.timestamp)}`;
  };
  /** What `txn` reads of `key`: its own intent as `value@ts`, or the committed value. */
  const seenBy = (txn: kv.Transaction, key: string): string => {
    const meta = storageMeta(txn, txn.meta?.writeTimestamp ?? at(0));
    const found = mvccGet(engine, b(key), txn.readTimestamp ?? at(0), { txn: meta });
    return found === undefined ? '<none>' : `${found.value.toString()}@${showTs(found.timestamp)}`;
  };
  const record = (txn: kv.Transaction): kv.Transaction | undefined => readTxnRecord(engine, anchorOf(txn), idOf(txn));

  describe('intents and reads', () => {
    it('writes intents at the write timestamp and reads its own intents, in the batch and after', async () => {
      await seed('b', at(5), 'b5');
      const txn = txnAt(at(10), { write: at(12) });
      const result = await run([put('b', 'mine'), get('b'), scan('a', 'm'), del('c'), get('c')], txn);
      expect(response(result, 1, 'get').value?.value).toEqual(b('mine'));
      expect(response(result, 1, 'get').value?.timestamp).toEqual(at(12));
      expect(response(result, 2, 'scan').rows.map((r) => r.value.toString())).toEqual(['mine']);
      expect(response(result, 3, 'delete').deleted).toBe(false);
      expect(response(result, 4, 'get').value).toBeUndefined();
      expect(result.txn?.meta?.writeTimestamp).toEqual(at(12));
      expect(result.txn?.readTimestamp).toEqual(at(10));
      expect(result.timestamp).toEqual(at(12));

      // Intents, not versions: invisible below their timestamp, in the way at or above it.
      expect(hasIntent('b')).toBe(true);
      expect(hasIntent('c')).toBe(true); // a blind delete is an intent too
      expect(committed('b', at(11))).toBe('b5@5');
      expect(() => committed('b', at(12))).toThrow(WriteIntentError);
      // The transaction sees them in its next batch.
      const next = await run([get('b'), get('c')], txn);
      expect(response(next, 0, 'get').value?.value).toEqual(b('mine'));
      expect(response(next, 1, 'get').value).toBeUndefined();
      expect(next.writes).toEqual([]);
    });

    it('deletes a range and puts conditionally with intents, judging against its own writes', async () => {
      await seed('b', at(5), 'b5');
      await seed('c', at(5), 'c5');
      await seed('d', at(15), 'd15'); // written after the read timestamp: not seen, not deleted
      const txn = txnAt(at(10));
      const cput: kv.RequestUnion = { request: { $case: 'conditionalPut', value: { key: b('e'), value: b('E2'), expectedValue: b('E1') } } };
      const result = await run([delRange('a', 'm'), get('b'), put('e', 'E1'), cput], txn);
      expect(response(result, 0, 'deleteRange').deletedCount).toBe(2n);
      expect(response(result, 1, 'get').value).toBeUndefined();
      expect(['b', 'c', 'd', 'e'].map(hasIntent)).toEqual([true, true, false, true]);
      await run([endTxn(txn, true, [span('a', 'm')])], txn);
      // Ordered before d's write at 15, the transaction did not delete it.
      expect(['b', 'c', 'd', 'e'].map((key) => committed(key, at(20)))).toEqual(['<none>', '<none>', 'd15@15', 'E2@10']);
      expect(committed('b', at(9))).toBe('b5@5');
      expect(['b', 'c', 'd', 'e'].map(hasIntent)).toEqual([false, false, false, false]);
    });

    it('commits only the intents of the epoch that commits', async () => {
      const first = txnAt(at(10));
      await run([put('b', 'B-epoch0'), put('c', 'C-epoch0')], first);
      // Restarted: epoch 1 sees neither intent of epoch 0, and writes b again.
      const second = txnAt(at(12), { epoch: 1 });
      const result = await run([get('c'), put('b', 'B-epoch1')], second);
      expect(response(result, 0, 'get').value).toBeUndefined();
      await run([endTxn(second, true, [point('b'), point('c')])], second);
      expect(hasIntent('b')).toBe(false);
      expect(hasIntent('c')).toBe(false);
      expect(committed('b', at(12))).toBe('B-epoch1@12');
      expect(committed('c', at(100))).toBe('<none>');
    });

    it('reads at the read timestamp even when writing higher', async () => {
      await seed('c', at(10), 'old');
      await seed('c', at(20), 'new');
      const txn = txnAt(at(15), { write: at(25) });
      const result = await run([get('c'), put('d', 'x'), scan('c', 'd')], txn);
      expect(response(result, 0, 'get').value?.value).toEqual(b('old'));
      expect(response(result, 2, 'scan').rows.map((r) => r.value.toString())).toEqual(['old']);
      expect(seenBy(txn, 'd')).toBe('x@25');
    });

    it("fails on another transaction's intent at or below its read timestamp", async () => {
      await seed('c', at(8), 'theirs', storageMeta(txnAt(at(8), { id: 0xbb }), at(8)));
      const err = thrown(() => evaluateBatch(engine, [get('b'), get('c')], options(txnAt(at(10)))));
      expect(err).toBeInstanceOf(WriteIntentError);
      expect(failedRequestIndex(err)).toBe(1);
      // Above the reader: invisible to it.
      await seed('d', at(30), 'later', storageMeta(txnAt(at(30), { id: 0xbb }), at(30)));
      expect(response(await run([get('d')], txnAt(at(10))), 0, 'get').value).toBeUndefined();
    });

    it('restarts above a version within its uncertainty interval, reporting that version', async () => {
      await seed('c', at(20), 'maybe-earlier');
      await seed('d', at(40), 'surely-later');
      const txn = txnAt(at(15), { uncertaintyLimit: at(25) });
      for (const request of [get('c'), scan('a', 'z')]) {
        const err = thrown(() => evaluateBatch(engine, [get('b'), request], options(txn)));
        expect(err).toBeInstanceOf(TransactionUncertaintyError);
        expect((err as TransactionUncertaintyError).existingTimestamp).toEqual(at(20));
        expect((err as TransactionUncertaintyError).txn?.readTimestamp).toEqual(at(15));
        expect((err as TransactionUncertaintyError).code).toBe('READ_WITHIN_UNCERTAINTY_INTERVAL');
        expect(failedRequestIndex(err)).toBe(1);
      }
      // A version past the limit was written later in real time: no uncertainty.
      expect(response(await run([get('d')], txn), 0, 'get').value).toBeUndefined();
      // Without an uncertainty window the version is simply in the future.
      expect(response(await run([get('c')], txnAt(at(15))), 0, 'get').value).toBeUndefined();
    });
  });

  describe('locking reads (Get with forUpdate)', () => {
    const getForUpdate = (key: string): kv.RequestUnion => ({ request: { $case: 'get', value: { key: b(key), forUpdate: true } } });

    it('reads the value and locks the key with an intent holding it, so committing changes nothing', async () => {
      await seed('k', at(5), 'v5');
      const txn = txnAt(at(10));
      const result = await run([getForUpdate('k')], txn);
      expect(response(result, 0, 'get').value?.value).toEqual(b('v5'));
      expect(hasIntent('k')).toBe(true);
      expect(seenBy(txn, 'k')).toBe('v5@10');
      // Another writer meets the lock.
      expect(thrown(() => evaluateBatch(engine, [put('k', 'other')], options(undefined, { timestamp: at(11) })))).toBeInstanceOf(WriteIntentError);
      await run([endTxn(txn, true, [{ startKey: b('k'), endKey: Buffer.from('k\0', 'latin1') }])], txn);
      expect(hasIntent('k')).toBe(false);
      expect(committed('k', at(20))).toBe('v5@10');
    });

    it('a locking read behind a newer version fails with WRITE_TOO_OLD naming the timestamp to read at', async () => {
      await seed('k', at(15), 'v15');
      const txn = txnAt(at(10));
      const err = thrown(() => evaluateBatch(engine, [getForUpdate('k')], options(txn)));
      expect(err).toBeInstanceOf(TransactionRetryError);
      expect((err as TransactionRetryError).reason).toBe('WRITE_TOO_OLD');
      expect(showTs((err as TransactionRetryError).txn?.meta?.writeTimestamp)).toBe('15.1');
      expect(hasIntent('k')).toBe(false);
    });

    it('a locking read whose write timestamp was pushed past a newer version fails the same way', async () => {
      await seed('k', at(12), 'v12');
      const txn = txnAt(at(10), { write: at(14) });
      const err = thrown(() => evaluateBatch(engine, [getForUpdate('k')], options(txn)));
      expect((err as TransactionRetryError).reason).toBe('WRITE_TOO_OLD');
      expect(showTs((err as TransactionRetryError).txn?.meta?.writeTimestamp)).toBe('12.1');
    });
  });

  describe('write timestamps', () => {
    it('moves only the write timestamp above a newer version (WriteTooOld); reads stay', async () => {
      await seed('b', at(20), 'newer');
      await seed('c', at(5), 'c5');
      await seed('c', at(15), 'c15');
      const txn = txnAt(at(10));
      const result = await run([get('c'), put('b', 'mine')], txn);
      expect(result.txn?.meta?.writeTimestamp).toEqual(at(20, 1));
      expect(result.txn?.readTimestamp).toEqual(at(10));
      expect(response(result, 0, 'get').value?.value).toEqual(b('c5'));
      expect(seenBy(result.txn as kv.Transaction, 'b')).toBe('mine@20.1');
      expect(result.timestamp).toEqual(at(20, 1));
    });

    it('moves both timestamps when the transaction may forward its reads', async () => {
      await seed('b', at(20), 'newer');
      await seed('c', at(5), 'c5');
      await seed('c', at(15), 'c15');
      const result = await run([get('c'), put('b', 'mine')], txnAt(at(10)), { canForwardReadTimestamp: true });
      expect(result.txn?.meta?.writeTimestamp).toEqual(at(20, 1));
      expect(result.txn?.readTimestamp).toEqual(at(20, 1));
      // The whole batch ran again at the new timestamp: the read sees c15.
      expect(response(result, 0, 'get').value?.value).toEqual(b('c15'));
    });

    it('writes above the timestamp cache (minWriteTimestamp), moving reads only if allowed', async () => {
      await seed('c', at(15), 'c15');
      const stay = await run([get('c'), put('b', 'x')], txnAt(at(10)), { minWriteTimestamp: at(30) });
      expect(stay.txn?.meta?.writeTimestamp).toEqual(at(30));
      expect(stay.txn?.readTimestamp).toEqual(at(10));
      expect(response(stay, 0, 'get').value).toBeUndefined();
      expect(seenBy(stay.txn as kv.Transaction, 'b')).toBe('x@30');

      const other = txnAt(at(10), { id: 0xbb });
      const moved = await run([get('c'), put('d', 'y')], other, { minWriteTimestamp: at(30), canForwardReadTimestamp: true });
      expect(moved.txn?.meta?.writeTimestamp).toEqual(at(30));
      expect(moved.txn?.readTimestamp).toEqual(at(30));
      expect(response(moved, 0, 'get').value?.value).toEqual(b('c15'));
      // Below the transaction's own write timestamp, the cache changes nothing.
      const high = await run([put('e', 'z')], txnAt(at(40), { id: 0xcc }), { minWriteTimestamp: at(30) });
      expect(high.txn?.meta?.writeTimestamp).toEqual(at(40));
    });
  });

  describe('HeartbeatTxn', () => {
    it('creates the pending record, then moves its heartbeat', async () => {
      const txn = txnAt(at(10));
      const first = await run([heartbeat(txn)], txn, { now: ms(1_000) });
      const created = response(first, 0, 'heartbeatTxn').txn;
      expect(created?.status).toBe(PENDING);
      expect(created?.lastHeartbeat).toEqual(ms(1_000));
      expect(record(txn)?.status).toBe(PENDING);
      expect(record(txn)?.meta?.id).toEqual(idOf(txn));

      const second = await run([heartbeat(txn)], txn, { now: ms(2_000) });
      expect(response(second, 0, 'heartbeatTxn').txn?.lastHeartbeat).toEqual(ms(2_000));
      expect(record(txn)?.lastHeartbeat).toEqual(ms(2_000));
    });

    it('returns a record pushed meanwhile, so the coordinator learns its new timestamp', async () => {
      const txn = txnAt(at(10));
      await seedRecord({ ...txnAt(at(10), { write: at(50) }), lastHeartbeat: ms(1_000) });
      const result = await run([heartbeat(txn)], txn, { now: ms(2_000) });
      expect(response(result, 0, 'heartbeatTxn').txn?.meta?.writeTimestamp).toEqual(at(50));
      expect(record(txn)?.meta?.writeTimestamp).toEqual(at(50));
    });

    it('returns a committed record as it is', async () => {
      const txn = txnAt(at(10));
      await seedRecord({ ...txn, status: COMMITTED, lockSpans: [point('x')] });
      const result = await run([heartbeat(txn)], txn);
      expect(response(result, 0, 'heartbeatTxn').txn?.status).toBe(COMMITTED);
      expect(result.writes).toEqual([]);
    });

    it('fails on an aborted record, and leaves it aborted', async () => {
      const txn = txnAt(at(10));
      await seedRecord({ ...txn, status: ABORTED });
      const err = thrown(() => evaluateBatch(engine, [heartbeat(txn)], options(txn)));
      expect(err).toBeInstanceOf(TransactionAbortedError);
      expect((err as TransactionAbortedError).code).toBe('TXN_ABORTED');
      expect(record(txn)?.status).toBe(ABORTED);
    });

    it('needs the transaction in the header, addressed to its anchor key', () => {
      const txn = txnAt(at(10));
      expect(() => evaluateBatch(engine, [heartbeat(txn)], options(undefined))).toThrow(InvalidArgumentError);
      const elsewhere: kv.RequestUnion = { request: { $case: 'heartbeatTxn', value: { key: b('other') } } };
      expect(() => evaluateBatch(engine, [elsewhere], options(txn))).toThrow(InvalidArgumentError);
    });
  });

  describe('EndTxn commit', () => {
    it('resolves the intents of this range and deletes the record when every lock is here', async () => {
      await seed('b', at(5), 'b5');
      const txn = txnAt(at(10));
      await run([heartbeat(txn), put('b', 'B'), put('c', 'C')], txn);
      expect(record(txn)?.status).toBe(PENDING);
      const result = await run([endTxn(txn, true, [point('b'), point('c')])], txn);
      const ended = response(result, 0, 'endTxn');
      expect(ended.txn?.status).toBe(COMMITTED);
      expect(ended.txn?.meta?.writeTimestamp).toEqual(at(10));
      expect(ended.onePhaseCommit).toBe(false);
      expect(hasIntent('b')).toBe(false);
      expect(hasIntent('c')).toBe(false);
      expect(committed('b', at(10))).toBe('B@10');
      expect(committed('b', at(9))).toBe('b5@5');
      expect(committed('c', at(10))).toBe('C@10');
      expect(record(txn)).toBeUndefined();
      expect(result.pendingResolutions).toBeUndefined();
      expect(showSpans(result.releasedSpans)).toEqual(['[b, b\x00)', '[c, c\x00)']);
      expect(result.changedRecords?.map((r) => r.status)).toEqual([COMMITTED]);
    });

    it('resolves a lock span that is a range of keys', async () => {
      const txn = txnAt(at(10));
      await run([put('b', 'B'), put('c', 'C'), put('d', 'D')], txn);
      const result = await run([endTxn(txn, true, [span('b', 'd\x00')])], txn);
      expect(['b', 'c', 'd'].map((key) => committed(key, at(10)))).toEqual(['B@10', 'C@10', 'D@10']);
      expect(showSpans(result.releasedSpans)).toEqual(['[b, d\x00)']);
    });

    it('keeps a committed record listing the locks on other ranges, for resolution after the batch', async () => {
      const txn = txnAt(at(10));
      await run([put('b', 'B'), put('k', 'K')], txn);
      const result = await run([endTxn(txn, true, [point('b'), span('k', 'q'), point('x')])], txn);
      // Local parts resolved now...
      expect(committed('b', at(10))).toBe('B@10');
      expect(committed('k', at(10))).toBe('K@10');
      expect(showSpans(result.releasedSpans)).toEqual(['[b, b\x00)', '[k, m)']);
      // ...the rest listed on the record and handed back.
      const kept = record(txn);
      expect(kept?.status).toBe(COMMITTED);
      expect(kept?.meta?.writeTimestamp).toEqual(at(10));
      expect(showSpans(kept?.lockSpans)).toEqual(['[m, q)', '[x, x\x00)']);
      expect(result.pendingResolutions?.[0]?.txn.status).toBe(COMMITTED);
      expect(showSpans(result.pendingResolutions?.[0]?.spans)).toEqual(['[m, q)', '[x, x\x00)']);
      // A retried commit finds it committed and changes nothing.
      const again = await run([endTxn(txn, true, [point('b'), span('k', 'q'), point('x')])], txn);
      expect(response(again, 0, 'endTxn').txn?.status).toBe(COMMITTED);
      expect(again.writes).toEqual([]);
      // Rolling it back is refused.
      expect(() => evaluateBatch(engine, [endTxn(txn, false, [])], options(txn))).toThrow(TransactionAlreadyFinalizedError);
    });

    it('resolves no more in one command than its budget allows, keeping the record with the rest to resolve', async () => {
      // 40 intents of 64 KiB: more than one command may resolve (MAX_RESOLVE_BYTES_PER_COMMAND).
      const keys = Array.from({ length: 40 }, (_, i) => `c${String(i).padStart(2, '0')}`);
      const big = 'v'.repeat(64 * 1024);
      const txn = txnAt(at(10));
      await run(keys.map((key) => put(key, big)), txn);
      const result = await run([endTxn(txn, true, [span('c', 'd')])], txn);
      expect(response(result, 0, 'endTxn').onePhaseCommit).toBe(false);
      const resolvedNow = keys.filter((key) => !hasIntent(key));
      expect(resolvedNow.length).toBeGreaterThan(0);
      expect(resolvedNow.length).toBeLessThan(keys.length);
      expect(resolvedNow).toEqual(keys.slice(0, resolvedNow.length));
      const resumeAt = keys[resolvedNow.length] as string;
      expect(showSpans(result.releasedSpans)).toEqual([`[c, ${resumeAt})`]);
      expect(showSpans(record(txn)?.lockSpans)).toEqual([`[${resumeAt}, d)`]);
      expect(showSpans(result.pendingResolutions?.[0]?.spans)).toEqual([`[${resumeAt}, d)`]);
      // The intent resolver goes on with ResolveIntentRange, command after command.
      const committedTxn = result.pendingResolutions?.[0]?.txn as kv.Transaction;
      let next: kv.Span | undefined = { startKey: b(resumeAt), endKey: b('d') };
      let commands = 0;
      while (next !== undefined) {
        const step = await run([resolveIntentRange(next.startKey.toString(), next.endKey.toString(), committedTxn)], undefined);
        next = response(step, 0, 'resolveIntentRange').resumeSpan;
        commands++;
      }
      expect(commands).toBeGreaterThan(1);
      expect(keys.filter(hasIntent)).toEqual([]);
      expect(keys.map((key) => committed(key, at(10)) === `${big}@10`)).toEqual(keys.map(() => true));
    });

    it('commits writes and EndTxn of one batch in one phase, leaving no intent or record', async () => {
      await seed('b', at(5), 'b5');
      const txn = txnAt(at(10));
      const result = await run([put('b', 'B'), put('c', 'C'), endTxn(txn, true, [point('b'), point('c')])], txn);
      expect(response(result, 2, 'endTxn').onePhaseCommit).toBe(true);
      expect(response(result, 2, 'endTxn').txn?.status).toBe(COMMITTED);
      expect(hasIntent('b')).toBe(false);
      expect(hasIntent('c')).toBe(false);
      expect(committed('b', at(10))).toBe('B@10');
      expect(committed('b', at(9))).toBe('b5@5');
      expect(committed('c', at(10))).toBe('C@10');
      expect(record(txn)).toBeUndefined();
    });

    it('commits adjacent keys (k, k\\0) written in the batch in one phase', async () => {
      const txn = txnAt(at(10));
      // The coordinator's merged lock spans make [b, b\0\0) of the two point spans.
      const result = await run([put('b', 'B'), put('b\x00', 'B0'), endTxn(txn, true, [span('b', 'b\x00\x00')])], txn);
      expect(response(result, 2, 'endTxn').onePhaseCommit).toBe(true);
      expect(committed('b', at(10))).toBe('B@10');
      expect(committed('b\x00', at(10))).toBe('B0@10');
      // A lock span wider than what the batch wrote is not one phase.
      const other = txnAt(at(10), { id: 0xbb });
      const wider = await run([put('c', 'C'), endTxn(other, true, [span('c', 'd')])], other);
      expect(response(wider, 1, 'endTxn').onePhaseCommit).toBe(false);
    });

    it('commits one phase above a push of its record when it may move its reads', async () => {
      const txn = txnAt(at(10));
      await run([heartbeat(txn)], txn);
      await run([push(txn, PUSH_TIMESTAMP, { pushTo: at(30) })], undefined, { forcePush: true });
      const result = await run([put('b', 'B'), endTxn(txn, true, [point('b')])], txn, { canForwardReadTimestamp: true });
      expect(response(result, 1, 'endTxn').txn?.meta?.writeTimestamp).toEqual(at(30, 1));
      expect(hasIntent('b')).toBe(false);
      expect(committed('b', at(30))).toBe('<none>');
      expect(committed('b', at(30, 1))).toBe('B@30.1');
      expect(record(txn)).toBeUndefined();
    });

    it('is not one phase when some lock was taken by an earlier batch', async () => {
      const txn = txnAt(at(10));
      await run([put('b', 'B')], txn);
      const result = await run([put('c', 'C'), endTxn(txn, true, [point('b'), point('c')])], txn);
      expect(response(result, 1, 'endTxn').onePhaseCommit).toBe(false);
      expect(committed('b', at(10))).toBe('B@10');
      expect(committed('c', at(10))).toBe('C@10');
    });

    it('fails with TXN_RETRY (SERIALIZABLE) when it writes above its reads and cannot move them', async () => {
      await seed('c', at(5), 'c5');
      const txn = txnAt(at(10), { write: at(15) });
      await run([put('b', 'B')], txn);
      const err = thrown(() => evaluateBatch(engine, [endTxn(txn, true, [point('b')])], options(txn)));
      expect(err).toBeInstanceOf(TransactionRetryError);
      expect((err as TransactionRetryError).reason).toBe('SERIALIZABLE');
      expect((err as TransactionRetryError).code).toBe('TXN_RETRY');
      expect((err as TransactionRetryError).txn?.meta?.writeTimestamp).toEqual(at(15));
      expect((err as TransactionRetryError).txn?.readTimestamp).toEqual(at(10));
      expect(hasIntent('b')).toBe(true);

      // When it has read nothing, the reads move with the writes and it commits.
      const result = await run([endTxn(txn, true, [point('b')])], txn, { canForwardReadTimestamp: true });
      expect(response(result, 0, 'endTxn').txn?.meta?.writeTimestamp).toEqual(at(15));
      expect(committed('b', at(15))).toBe('B@15');
    });

    it('fails a one-phase batch whose write met a newer version, applying none of it', async () => {
      await seed('b', at(20), 'newer');
      const txn = txnAt(at(10));
      const err = thrown(() => evaluateBatch(engine, [put('b', 'B'), endTxn(txn, true, [point('b')])], options(txn)));
      expect(err).toBeInstanceOf(TransactionRetryError);
      expect((err as TransactionRetryError).txn?.meta?.writeTimestamp).toEqual(at(20, 1));
      expect(failedRequestIndex(err)).toBe(1);
      // A blind write may move its (empty) reads instead.
      const result = await run([put('b', 'B'), endTxn(txn, true, [point('b')])], txn, { canForwardReadTimestamp: true });
      expect(response(result, 1, 'endTxn').onePhaseCommit).toBe(true);
      expect(committed('b', at(20, 1))).toBe('B@20.1');
    });

    it('refreshes its reads on the server when they all lie here and nothing changed', async () => {
      await seed('d', at(5), 'd5');
      await seed('e', at(20), 'e20'); // above the new commit timestamp: does not matter
      const txn = txnAt(at(10), { write: at(15) });
      await run([put('b', 'B')], txn);
      const result = await run([endTxn(txn, true, [point('b')], [span('d', 'f')])], txn);
      expect(response(result, 0, 'endTxn').txn?.status).toBe(COMMITTED);
      expect(response(result, 0, 'endTxn').txn?.meta?.writeTimestamp).toEqual(at(15));
      expect(result.txn?.meta?.writeTimestamp).toEqual(at(15));
      expect(committed('b', at(15))).toBe('B@15');
    });

    it.each([
      ['a version written in the window', async (s: typeof seed) => s('e', at(12), 'e12'), [span('d', 'f')]],
      ['a tombstone written in the window', async (s: typeof seed) => s('e', at(15), undefined), [span('d', 'f')]],
      ['an intent of another transaction', async (s: typeof seed) => s('e', at(12), 'x', storageMeta(txnAt(at(12), { id: 0xbb }), at(12))), [span('d', 'f')]],
      ['a read span on another range', async () => undefined, [span('d', 'f'), span('n', 'o')]],
    ])('does not refresh on the server past %s: TXN_RETRY', async (_what, prepare, refreshSpans) => {
      await seed('e', at(5), 'e5');
      await prepare(seed);
      const txn = txnAt(at(10), { write: at(15) });
      await run([put('b', 'B')], txn);
      const err = thrown(() => evaluateBatch(engine, [endTxn(txn, true, [point('b')], refreshSpans)], options(txn)));
      expect(err).toBeInstanceOf(TransactionRetryError);
      expect((err as TransactionRetryError).reason).toBe('SERIALIZABLE');
      expect(hasIntent('b')).toBe(true);
    });

    it('commits above a push of its record, or fails with TXN_RETRY (PUSHED) if its reads cannot move', async () => {
      const txn = txnAt(at(10));
      await run([heartbeat(txn), put('b', 'B')], txn);
      // A reader at 30 pushes the record (forced: the transaction is alive).
      const reader = txnAt(at(30), { id: 0xbb });
      const pushed = await run([push(txn, PUSH_TIMESTAMP, { pusher: reader, pushTo: at(30) })], undefined, { forcePush: true, timestamp: at(30) });
      expect(response(pushed, 0, 'pushTxn').pushee?.meta?.writeTimestamp).toEqual(at(30, 1));

      const err = thrown(() => evaluateBatch(engine, [endTxn(txn, true, [point('b')])], options(txn)));
      expect(err).toBeInstanceOf(TransactionRetryError);
      expect((err as TransactionRetryError).reason).toBe('PUSHED');
      expect((err as TransactionRetryError).txn?.meta?.writeTimestamp).toEqual(at(30, 1));

      const result = await run([endTxn(txn, true, [point('b')])], txn, { canForwardReadTimestamp: true });
      expect(response(result, 0, 'endTxn').txn?.meta?.writeTimestamp).toEqual(at(30, 1));
      expect(result.txn?.meta?.writeTimestamp).toEqual(at(30, 1));
      // Committed above the read it was pushed for: that read still sees nothing.
      expect(committed('b', at(30))).toBe('<none>');
      expect(committed('b', at(30, 1))).toBe('B@30.1');
      expect(result.highestTimestamp).toEqual(at(30, 1));
    });

    it('fails on an aborted record: the transaction can never commit', async () => {
      const txn = txnAt(at(10));
      await run([put('b', 'B')], txn);
      await seedRecord({ ...txn, status: ABORTED });
      const err = thrown(() => evaluateBatch(engine, [endTxn(txn, true, [point('b')])], options(txn)));
      expect(err).toBeInstanceOf(TransactionAbortedError);
      expect(hasIntent('b')).toBe(true);
    });
  });

  describe('EndTxn abort', () => {
    it('removes the intents of this range and the record', async () => {
      await seed('b', at(5), 'b5');
      const txn = txnAt(at(10));
      await run([heartbeat(txn), put('b', 'B'), put('c', 'C')], txn);
      const result = await run([endTxn(txn, false, [point('b'), point('c')])], txn);
      expect(response(result, 0, 'endTxn').txn?.status).toBe(ABORTED);
      expect(hasIntent('b')).toBe(false);
      expect(hasIntent('c')).toBe(false);
      expect(committed('b', at(100))).toBe('b5@5');
      expect(committed('c', at(100))).toBe('<none>');
      expect(record(txn)).toBeUndefined();
      expect(result.changedRecords?.map((r) => r.status)).toEqual([ABORTED]);
      expect(showSpans(result.releasedSpans)).toEqual(['[b, b\x00)', '[c, c\x00)']);
    });

    it('keeps an aborted record for intents on other ranges, and cleans up after a push aborted it', async () => {
      const txn = txnAt(at(10));
      await run([put('b', 'B')], txn);
      const result = await run([endTxn(txn, false, [point('b'), point('x')])], txn);
      expect(record(txn)?.status).toBe(ABORTED);
      expect(showSpans(result.pendingResolutions?.[0]?.spans)).toEqual(['[x, x\x00)']);
      expect(result.pendingResolutions?.[0]?.txn.status).toBe(ABORTED);
      // Rolling back again (the record is aborted) cleans up what is here.
      await run([put('c', 'C')], txnAt(at(10), { id: 0xbb })); // someone else's intent is left alone
      const again = await run([endTxn(txn, false, [point('b'), point('c')])], txn);
      expect(response(again, 0, 'endTxn').txn?.status).toBe(ABORTED);
      expect(hasIntent('c')).toBe(true);
      expect(record(txn)).toBeUndefined();
    });
  });

  describe('PushTxn', () => {
    const pusher = txnAt(at(50), { id: 0xbb, anchor: 'other' });

    it('returns a finalized pushee as it is, writing nothing', async () => {
      const txn = txnAt(at(10));
      await run([put('b', 'B')], txn);
      await run([endTxn(txn, true, [point('b'), point('x')])], txn); // the record stays (x is remote)
      const result = await run([push(txn, PUSH_ABORT, { pusher })], undefined);
      expect(response(result, 0, 'pushTxn').pushee?.status).toBe(COMMITTED);
      expect(result.writes).toEqual([]);
      expect(result.pushMustWait).toBeUndefined();
    });

    it('aborts an expired pushee, record or not', async () => {
      const withRecord = txnAt(at(10));
      await run([heartbeat(withRecord)], withRecord, { now: ms(1_000) });
      const later = ms(1_000 + TXN_EXPIRY_MS + 1);
      const result = await run([push(withRecord, PUSH_ABORT, { pusher })], undefined, { now: later });
      expect(response(result, 0, 'pushTxn').pushee?.status).toBe(ABORTED);
      expect(record(withRecord)?.status).toBe(ABORTED);
      expect(result.changedRecords?.map((r) => r.status)).toEqual([ABORTED]);
      expect(result.pushMustWait).toBeUndefined();

      // No record: the pusher assumes one last alive at the intent's timestamp, and
      // writes it ABORTED so the transaction cannot commit later.
      const recordless = txnAt(ms(1_000), { id: 0xcc, anchor: 'third' });
      await run([put('c', 'C')], recordless);
      await run([push(recordless, PUSH_ABORT, { pusher })], undefined, { now: later });
      expect(record(recordless)?.status).toBe(ABORTED);
      expect(() => evaluateBatch(engine, [endTxn(recordless, true, [point('c')])], options(recordless))).toThrow(TransactionAbortedError);
    });

    it('tells the pusher to wait for a live pushee, changing nothing', async () => {
      const txn = txnAt(at(10));
      await run([heartbeat(txn)], txn, { now: ms(1_000) });
      for (const type of [PUSH_ABORT, PUSH_TIMESTAMP]) {
        const result = await run([push(txn, type, { pusher, pushTo: at(50) })], undefined, { now: ms(2_000) });
        expect(result.pushMustWait).toBe(true);
        expect(response(result, 0, 'pushTxn').pushee?.status).toBe(PENDING);
        expect(result.writes).toEqual([]);
        expect(result.changedRecords).toBeUndefined();
      }
      expect(record(txn)?.status).toBe(PENDING);
    });

    it('forces a push of a live pushee (a deadlock to break)', async () => {
      const txn = txnAt(at(10));
      await run([heartbeat(txn)], txn, { now: ms(1_000) });
      const result = await run([push(txn, PUSH_ABORT, { pusher })], undefined, { now: ms(2_000), forcePush: true });
      expect(result.pushMustWait).toBeUndefined();
      expect(record(txn)?.status).toBe(ABORTED);
    });

    it('pushes the timestamp of a pushee above the pusher, or finds it there already', async () => {
      const txn = txnAt(at(10));
      await run([heartbeat(txn)], txn, { now: ms(1_000) });
      const result = await run([push(txn, PUSH_TIMESTAMP, { pusher, pushTo: at(50) })], undefined, { now: ms(2_000), forcePush: true });
      expect(record(txn)?.status).toBe(PENDING);
      expect(record(txn)?.meta?.writeTimestamp).toEqual(at(50, 1));
      expect(result.changedRecords?.map((r) => r.meta?.writeTimestamp)).toEqual([at(50, 1)]);

      // Already above (no force, alive): satisfied without waiting or writing.
      const again = await run([push(txn, PUSH_TIMESTAMP, { pusher, pushTo: at(40) })], undefined, { now: ms(2_000) });
      expect(again.pushMustWait).toBeUndefined();
      expect(again.writes).toEqual([]);
      expect(response(again, 0, 'pushTxn').pushee?.meta?.writeTimestamp).toEqual(at(50, 1));
    });

    it('needs a pushee, addressed to its anchor key', () => {
      const txn = txnAt(at(10));
      const noPushee: kv.RequestUnion = { request: { $case: 'pushTxn', value: { key: b('anchor'), pushType: PUSH_ABORT } } };
      expect(() => evaluateBatch(engine, [noPushee], options(undefined))).toThrow(InvalidArgumentError);
      const wrongKey: kv.RequestUnion = { request: { $case: 'pushTxn', value: { key: b('other'), pushee: txn.meta, pushType: PUSH_ABORT } } };
      expect(() => evaluateBatch(engine, [wrongKey], options(undefined))).toThrow(InvalidArgumentError);
    });
  });

  describe('ResolveIntent and ResolveIntentRange', () => {
    const owner = txnAt(at(10));
    const other = txnAt(at(10), { id: 0xbb });

    beforeEach(async () => {
      await seed('b', at(5), 'b5');
      await run([put('b', 'B'), put('c', 'C')], owner);
      await run([put('d', 'D')], other);
    });

    it('makes a committed intent a version at the commit timestamp', async () => {
      const commit = { ...owner, status: COMMITTED, meta: { ...(owner.meta as KvTxnMeta), writeTimestamp: at(20) } };
      const result = await run([resolveIntent('b', commit)], undefined, { timestamp: at(12) });
      expect(hasIntent('b')).toBe(false);
      expect(committed('b', at(19))).toBe('b5@5');
      expect(committed('b', at(20))).toBe('B@20');
      expect(showSpans(result.releasedSpans)).toEqual(['[b, b\x00)']);
      // Every replica's clock must pass the version it writes.
      expect(compareTimestamps(result.highestTimestamp, at(20))).toBeGreaterThanOrEqual(0);
    });

    it('removes an aborted intent', async () => {
      await run([resolveIntent('b', { ...owner, status: ABORTED })], undefined);
      expect(hasIntent('b')).toBe(false);
      expect(committed('b', at(100))).toBe('b5@5');
    });

    it('moves a pending intent up to the pushed timestamp', async () => {
      const pushedTo = { ...owner, meta: { ...(owner.meta as KvTxnMeta), writeTimestamp: at(30) } };
      expect(() => committed('b', at(25))).toThrow(WriteIntentError);
      await run([resolveIntent('b', pushedTo)], undefined);
      expect(committed('b', at(25))).toBe('b5@5'); // no longer in a read's way below 30
      expect(seenBy(pushedTo, 'b')).toBe('B@30');
    });

    it("resolves a range of the transaction's intents, leaving others' alone", async () => {
      const commit = { ...owner, status: COMMITTED };
      const result = await run([resolveIntentRange('a', 'm', commit)], undefined);
      expect(response(result, 0, 'resolveIntentRange').resolvedCount).toBe(2n);
      expect(committed('b', at(10))).toBe('B@10');
      expect(committed('c', at(10))).toBe('C@10');
      expect(hasIntent('d')).toBe(true);
      expect(showSpans(result.releasedSpans)).toEqual(['[a, m)']);
      // Resolving again finds nothing.
      const again = await run([resolveIntentRange('a', 'm', commit), resolveIntent('d', commit)], undefined);
      expect(response(again, 0, 'resolveIntentRange').resolvedCount).toBe(0n);
      expect(hasIntent('d')).toBe(true);
    });

    it('needs the transaction', () => {
      const bare: kv.RequestUnion = { request: { $case: 'resolveIntent', value: { key: b('b') } } };
      expect(() => evaluateBatch(engine, [bare], options(undefined))).toThrow(InvalidArgumentError);
    });
  });

  describe('Refresh and RefreshRange', () => {
    /** The transaction after moving its read timestamp from 10 to 20. */
    const refreshed = txnAt(at(20));

    it('succeeds when nothing was written in (from, to]', async () => {
      await seed('b', at(10), 'b10'); // at `from`: the reads saw it
      await seed('c', at(25), 'c25'); // above `to`
      const result = await run([refresh('b', at(10)), refreshRange('a', 'm', at(10))], refreshed);
      expect(result.responses.map((r) => r.response?.$case)).toEqual(['refresh', 'refreshRange']);
      expect(result.writes).toEqual([]);
    });

    it.each([
      ['a version', async (s: typeof seed) => s('c', at(15), 'c15')],
      ['a tombstone', async (s: typeof seed) => s('c', at(20), undefined)],
      ['an intent of another transaction', async (s: typeof seed) => s('c', at(18), 'x', storageMeta(txnAt(at(18), { id: 0xbb }), at(18)))],
      ['an old intent of another transaction', async (s: typeof seed) => s('c', at(5), 'x', storageMeta(txnAt(at(5), { id: 0xbb }), at(5)))],
    ])('fails with REFRESH_FAILED on %s in the window', async (_what, prepare) => {
      await prepare(seed);
      for (const request of [refresh('c', at(10)), refreshRange('a', 'm', at(10))]) {
        const err = thrown(() => evaluateBatch(engine, [refresh('b', at(10)), request], options(refreshed)));
        expect(err).toBeInstanceOf(TransactionRetryError);
        expect((err as TransactionRetryError).reason).toBe('REFRESH_FAILED');
        expect(failedRequestIndex(err)).toBe(1);
      }
      // Elsewhere the refresh holds.
      expect((await run([refresh('b', at(10)), refreshRange('d', 'm', at(10))], refreshed)).responses).toHaveLength(2);
    });

    it('ignores its own intents, and intents of others above the new timestamp', async () => {
      await seed('b', at(15), 'mine', storageMeta(refreshed, at(15)));
      await seed('c', at(25), 'theirs', storageMeta(txnAt(at(25), { id: 0xbb }), at(25)));
      const result = await run([refresh('b', at(10)), refreshRange('a', 'm', at(10))], refreshed);
      expect(result.responses).toHaveLength(2);
    });

    it('checks only its key (a point refresh)', async () => {
      await seed('b\x00', at(15), 'next');
      expect((await run([refresh('b', at(10))], refreshed)).responses).toHaveLength(1);
      expect(() => evaluateBatch(engine, [refreshRange('b', 'c', at(10))], options(refreshed))).toThrow(TransactionRetryError);
    });

    it('has nothing to check when the reads were at or above the new timestamp', async () => {
      await seed('c', at(15), 'c15');
      expect((await run([refresh('c', at(20))], refreshed)).responses).toHaveLength(1);
    });

    it('needs the transaction and the timestamp the reads were made at', () => {
      expect(() => evaluateBatch(engine, [refresh('b', at(10))], options(undefined))).toThrow(InvalidArgumentError);
      const noFrom: kv.RequestUnion = { request: { $case: 'refresh', value: { key: b('b') } } };
      expect(() => evaluateBatch(engine, [noFrom], options(refreshed))).toThrow(InvalidArgumentError);
    });
  });

  describe('GcTxnRecord and QueryTxn', () => {
    it('removes a finalized record only', async () => {
      const done = txnAt(at(10));
      await run([put('b', 'B')], done);
      await run([endTxn(done, true, [point('b'), point('x')])], done);
      const running = txnAt(at(10), { id: 0xbb });
      await run([heartbeat(running)], running);

      expect(response(await run([queryTxn(done)], undefined), 0, 'queryTxn').txn?.status).toBe(COMMITTED);
      await run([gcRecord(done), gcRecord(running)], undefined);
      expect(record(done)).toBeUndefined();
      expect(record(running)?.status).toBe(PENDING);
      expect(response(await run([queryTxn(done)], undefined), 0, 'queryTxn').txn).toBeUndefined();
      expect(response(await run([queryTxn(running)], undefined), 0, 'queryTxn').txn?.status).toBe(PENDING);
    });
  });

  describe('parallel commits', () => {
    /** A transaction that wrote `b` here and `x` elsewhere, staged with `x` in flight. */
    async function staged(options: TxnOptions = {}): Promise<{ txn: kv.Transaction; result: EvaluateResult }> {
      const txn = txnAt(at(10), options);
      await run([put('x', 'X')], txn);
      const result = await run([put('b', 'B'), endTxn(txn, true, [point('b'), point('x')], [], [b('b'), b('x')])], txn);
      return { txn, result };
    }

    it('stages the record with the writes in flight elsewhere, resolving nothing yet', async () => {
      const { txn, result } = await staged();
      const answer = response(result, 1, 'endTxn');
      expect(answer.txn?.status).toBe(STAGING);
      expect(answer.onePhaseCommit).toBe(false);
      const kept = record(txn);
      expect(kept?.status).toBe(STAGING);
      expect(kept?.meta?.writeTimestamp).toEqual(at(10));
      expect(kept?.lastHeartbeat).toEqual(NOW);
      // Only the write on another range is in flight; the one in this batch is here.
      expect(kept?.inFlightWrites.map((k) => k.toString())).toEqual(['x']);
      expect(showSpans(kept?.lockSpans)).toEqual(['[b, b\x00)', '[x, x\x00)']);
      expect(hasIntent('b')).toBe(true);
      expect(result.pendingResolutions).toBeUndefined();
    });

    it('commits without staging when every write in flight is in this range', async () => {
      const txn = txnAt(at(10));
      await run([put('c', 'C')], txn);
      const result = await run([put('b', 'B'), endTxn(txn, true, [point('b'), point('c')], [], [b('b')])], txn);
      expect(response(result, 1, 'endTxn').txn?.status).toBe(COMMITTED);
      expect(committed('b', at(10))).toBe('B@10');
      expect(record(txn)).toBeUndefined();
    });

    it('is made COMMITTED by the explicit commit, resolving as any commit does', async () => {
      const { txn } = await staged();
      const result = await run([endTxn(txn, true, [point('b'), point('x')])], txn);
      expect(response(result, 0, 'endTxn').txn?.status).toBe(COMMITTED);
      expect(committed('b', at(10))).toBe('B@10');
      expect(record(txn)?.status).toBe(COMMITTED);
      expect(record(txn)?.inFlightWrites).toEqual([]);
      expect(showSpans(result.pendingResolutions?.[0]?.spans)).toEqual(['[x, x\x00)']);
    });

    it('refuses a rollback of its epoch (it may have committed), not of a later one', async () => {
      const { txn } = await staged();
      expect(() => evaluateBatch(engine, [endTxn(txn, false, [point('b'), point('x')])], options(txn))).toThrow(TransactionAlreadyFinalizedError);
      expect(record(txn)?.status).toBe(STAGING);
      const restarted = txnAt(at(20), { epoch: 1 });
      await run([endTxn(restarted, false, [point('b'), point('x')])], restarted);
      expect(record(txn)?.status).toBe(ABORTED);
      expect(hasIntent('b')).toBe(false);
    });

    it('keeps pushers waiting while alive, whatever their priority; once expired or forced, sends them to recovery', async () => {
      const { txn } = await staged();
      const strong = txnAt(at(50), { id: 0xbb, anchor: 'other', priority: MAX_TXN_PRIORITY });
      const live = await run([push(txn, PUSH_ABORT, { pusher: strong })], undefined, { now: NOW });
      expect(live.pushMustWait).toBe(true);
      expect(live.pushNeedsRecovery).toBeUndefined();
      const forced = await run([push(txn, PUSH_ABORT, { pusher: strong })], undefined, { now: NOW, forcePush: true });
      expect(forced.pushNeedsRecovery?.status).toBe(STAGING);
      const later = { wallTime: NOW.wallTime + BigInt(TXN_EXPIRY_MS + 1) * 1_000_000n, logical: 0 };
      const expired = await run([push(txn, PUSH_TIMESTAMP, { pusher: strong, pushTo: at(50) })], undefined, { now: later });
      expect(expired.pushNeedsRecovery?.inFlightWrites.map((k) => k.toString())).toEqual(['x']);
      // A push changes nothing: only recovery decides.
      expect(expired.writes).toEqual([]);
      expect(record(txn)?.status).toBe(STAGING);
      expect(record(txn)?.meta?.writeTimestamp).toEqual(at(10));
    });

    it('QueryIntent finds an intent of the epoch at or below the timestamp, and nothing else', async () => {
      const { txn } = await staged();
      expect(response(await run([queryIntent('x', txn)], undefined), 0, 'queryIntent').found).toBe(true);
      expect(response(await run([queryIntent('y', txn)], undefined), 0, 'queryIntent').found).toBe(false);
      const nextEpoch: kv.Transaction = { ...txn, meta: { ...(txn.meta as KvTxnMeta), epoch: 1 } };
      expect(response(await run([queryIntent('x', nextEpoch)], undefined), 0, 'queryIntent').found).toBe(false);
      const earlier: kv.Transaction = { ...txn, meta: { ...(txn.meta as KvTxnMeta), writeTimestamp: at(9) } };
      expect(response(await run([queryIntent('x', earlier)], undefined), 0, 'queryIntent').found).toBe(false);
      const other = txnAt(at(10), { id: 0xbb });
      expect(response(await run([queryIntent('x', other)], undefined), 0, 'queryIntent').found).toBe(false);
    });

    it('RecoverTxn commits a staged record whose writes were all found', async () => {
      const { txn } = await staged();
      const result = await run([recoverTxn(txn, true)], undefined);
      expect(response(result, 0, 'recoverTxn').txn?.status).toBe(COMMITTED);
      expect(committed('b', at(10))).toBe('B@10');
      expect(record(txn)?.status).toBe(COMMITTED);
      expect(showSpans(result.pendingResolutions?.[0]?.spans)).toEqual(['[x, x\x00)']);
      expect(result.changedRecords?.map((r) => r.status)).toEqual([COMMITTED]);
    });

    it('RecoverTxn of several staged records in one batch leaves each one its intents elsewhere to resolve', async () => {
      // Coordinators' background commits share one batch (kv RequestCoalescer).
      const { txn: first } = await staged();
      const second = txnAt(at(12), { id: 0xcc });
      await run([put('y', 'Y')], second);
      await run([put('c', 'C'), endTxn(second, true, [point('c'), point('y')], [], [b('c'), b('y')])], second);
      const result = await run([recoverTxn(first, true), recoverTxn(second, true)], undefined);
      expect(committed('b', at(10))).toBe('B@10');
      expect(committed('c', at(12))).toBe('C@12');
      expect(result.pendingResolutions?.map((p) => [(p.txn.meta as KvTxnMeta).id[0], showSpans(p.spans)])).toEqual([
        [0xaa, ['[x, x\x00)']],
        [0xcc, ['[y, y\x00)']],
      ]);
    });

    it('RecoverTxn aborts a staged record with a write missing', async () => {
      const { txn } = await staged();
      const result = await run([recoverTxn(txn, false)], undefined);
      expect(response(result, 0, 'recoverTxn').txn?.status).toBe(ABORTED);
      expect(hasIntent('b')).toBe(false);
      expect(record(txn)?.status).toBe(ABORTED);
      expect(() => evaluateBatch(engine, [endTxn(txn, true, [point('b'), point('x')])], options(txn))).toThrow(TransactionAbortedError);
      // The record outlives the resolution of its intents: its coordinator may still try to commit.
      expect(result.pendingResolutions?.[0]?.keepRecord).toBe(true);
    });

    it('RecoverTxn leaves alone a record restaged at another timestamp or epoch, or finalized', async () => {
      const { txn } = await staged();
      for (const meta of [{ writeTimestamp: at(11) }, { epoch: 1 }]) {
        const stale: kv.Transaction = { ...txn, meta: { ...(txn.meta as KvTxnMeta), ...meta } };
        const result = await run([recoverTxn(stale, false)], undefined);
        expect(response(result, 0, 'recoverTxn').txn?.status).toBe(STAGING);
        expect(result.writes).toEqual([]);
      }
      await run([endTxn(txn, true, [point('b'), point('x')])], txn);
      const late = await run([recoverTxn(txn, false)], undefined);
      expect(response(late, 0, 'recoverTxn').txn?.status).toBe(COMMITTED);
      expect(committed('b', at(10))).toBe('B@10');
    });
  });
});
