import fc from 'fast-check';
import type { Timestamp } from '../../common/hlc';
import { MAX_TXN_PRIORITY, MIN_TXN_PRIORITY, TXN_EXPIRY_MS } from '../../kv/transaction';
import * as kv from '../../proto/gen/cairn/kv/v1/kv';
import { MemoryEngine } from '../storage';
import {
  isExpired,
  isPushedAbove,
  judgePush,
  losesDeadlockTo,
  pushedRecord,
  readTxnRecord,
  resolutionOf,
  storageMeta,
  synthesizeRecord,
  writeTxnRecord,
} from './txn-records';

/** A transaction's meta, as kv.proto's Transaction carries it. */
type KvTxnMeta = NonNullable<kv.Transaction['meta']>;

const { TRANSACTION_STATUS_PENDING: PENDING, TRANSACTION_STATUS_COMMITTED: COMMITTED, TRANSACTION_STATUS_ABORTED: ABORTED } =
  kv.TransactionStatus;
const { PUSH_TYPE_TIMESTAMP: PUSH_TIMESTAMP, PUSH_TYPE_ABORT: PUSH_ABORT } = kv.PushType;

/** Wall times in milliseconds, as nanoseconds. */
const ms = (wallMs: number, logical = 0): Timestamp => ({ wallTime: BigInt(wallMs) * 1_000_000n, logical });
const at = (wall: number, logical = 0): Timestamp => ({ wallTime: BigInt(wall), logical });

function meta(idByte: number, options: { priority?: number; write?: Timestamp; min?: Timestamp; epoch?: number } = {}): KvTxnMeta {
  return {
    id: Buffer.alloc(16, idByte),
    anchorKey: Buffer.from(`anchor-${idByte}`),
    epoch: options.epoch ?? 0,
    writeTimestamp: options.write,
    minTimestamp: options.min,
    priority: options.priority ?? 100,
    sequence: 0,
  };
}

function record(idByte: number, options: { priority?: number; write?: Timestamp; heartbeat?: Timestamp; status?: kv.TransactionStatus } = {}): kv.Transaction {
  return {
    meta: meta(idByte, { priority: options.priority ?? 100, write: options.write ?? ms(1_000) }),
    status: options.status ?? PENDING,
    lastHeartbeat: options.heartbeat,
    lockSpans: [],
    inFlightWrites: [],
  };
}

describe('isExpired', () => {
  it('expires a pending record once no heartbeat came for the expiry period', () => {
    const r = record(1, { heartbeat: ms(10_000) });
    expect(isExpired(r, ms(10_000))).toBe(false);
    expect(isExpired(r, ms(10_000 + TXN_EXPIRY_MS))).toBe(false); // exactly the period: still alive
    expect(isExpired(r, { wallTime: ms(10_000 + TXN_EXPIRY_MS).wallTime + 1n, logical: 0 })).toBe(true);
    expect(isExpired(r, ms(10_000 + 10 * TXN_EXPIRY_MS))).toBe(true);
  });

  it('treats a record that never heartbeated as expired', () => {
    expect(isExpired(record(1), ms(0))).toBe(true);
  });
});

describe('judgePush', () => {
  const now = ms(100_000);
  const alive = (priority: number): kv.Transaction => record(1, { priority, heartbeat: now });
  const pusher = (priority: number): kv.Transaction => record(2, { priority });

  it('waits for a live pushee of ordinary priority', () => {
    expect(judgePush(alive(100), pusher(100), now, false)).toBe('wait');
    expect(judgePush(alive(100), pusher(5_000), now, false)).toBe('wait'); // higher, but not the highest
    expect(judgePush(alive(100), undefined, now, false)).toBe('wait'); // a non-transactional pusher
  });

  it('pushes an expired pushee, or any pushee when forced (a deadlock to break)', () => {
    const stale = record(1, { priority: MAX_TXN_PRIORITY, heartbeat: ms(100_000 - TXN_EXPIRY_MS - 1) });
    expect(judgePush(stale, pusher(100), now, false)).toBe('push');
    expect(judgePush(alive(MAX_TXN_PRIORITY), pusher(MIN_TXN_PRIORITY), now, true)).toBe('push');
  });

  it('lets the highest priority push anyone below it, and anyone push the lowest', () => {
    expect(judgePush(alive(100), pusher(MAX_TXN_PRIORITY), now, false)).toBe('push');
    expect(judgePush(alive(MAX_TXN_PRIORITY), pusher(MAX_TXN_PRIORITY), now, false)).toBe('wait');
    expect(judgePush(alive(MIN_TXN_PRIORITY), pusher(100), now, false)).toBe('push');
    expect(judgePush(alive(MIN_TXN_PRIORITY), pusher(MIN_TXN_PRIORITY), now, false)).toBe('wait');
  });
});

describe('losesDeadlockTo', () => {
  it('gives way by lower priority first, then by lower ID', () => {
    expect(losesDeadlockTo(meta(9, { priority: 1 }), meta(1, { priority: 2 }))).toBe(true);
    expect(losesDeadlockTo(meta(1, { priority: 2 }), meta(9, { priority: 1 }))).toBe(false);
    expect(losesDeadlockTo(meta(1, { priority: 5 }), meta(2, { priority: 5 }))).toBe(true);
    expect(losesDeadlockTo(meta(2, { priority: 5 }), meta(1, { priority: 5 }))).toBe(false);
    expect(losesDeadlockTo(meta(3, { priority: 5 }), meta(3, { priority: 5 }))).toBe(false); // not distinct
  });

  it('picks exactly one victim of two distinct transactions, whichever side asks', () => {
    const txn = fc.record({
      id: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((bytes) => Buffer.from(bytes)),
      priority: fc.integer({ min: MIN_TXN_PRIORITY, max: 4 }),
    });
    fc.assert(
      fc.property(txn, txn, (a, c) => {
        fc.pre(!a.id.equals(c.id));
        const ma = { ...meta(0, { priority: a.priority }), id: a.id };
        const mc = { ...meta(0, { priority: c.priority }), id: c.id };
        expect(losesDeadlockTo(ma, mc)).not.toBe(losesDeadlockTo(mc, ma));
      }),
    );
  });

  it('orders any three transactions consistently (no cycle of victims)', () => {
    const txn = fc.record({ idByte: fc.integer({ min: 0, max: 3 }), priority: fc.integer({ min: 1, max: 3 }) });
    fc.assert(
      fc.property(txn, txn, txn, (x, y, z) => {
        const [mx, my, mz] = [x, y, z].map((t) => meta(t.idByte, { priority: t.priority })) as [KvTxnMeta, KvTxnMeta, KvTxnMeta];
        if (losesDeadlockTo(mx, my) && losesDeadlockTo(my, mz)) {
          expect(losesDeadlockTo(mx, mz)).toBe(true);
        }
      }),
    );
  });
});

describe('pushedRecord and isPushedAbove', () => {
  it('aborts on an abort push (or a push with no target)', () => {
    const r = record(1, { write: at(10) });
    expect(pushedRecord(r, PUSH_ABORT, at(50)).status).toBe(ABORTED);
    expect(pushedRecord(r, PUSH_TIMESTAMP, undefined).status).toBe(ABORTED);
    expect(pushedRecord(r, PUSH_ABORT, undefined).meta).toEqual(r.meta);
  });

  it('moves the write timestamp just above the target, and never down', () => {
    const r = record(1, { write: at(10) });
    const pushed = pushedRecord(r, PUSH_TIMESTAMP, at(50));
    expect(pushed.status).toBe(PENDING);
    expect(pushed.meta?.writeTimestamp).toEqual(at(50, 1));
    expect(isPushedAbove(pushed, at(50))).toBe(true);
    expect(isPushedAbove(r, at(50))).toBe(false);
    // Already above: unchanged.
    const high = record(1, { write: at(80) });
    expect(pushedRecord(high, PUSH_TIMESTAMP, at(50))).toBe(high);
    // Exactly at the target is not above it: one tick up.
    expect(pushedRecord(record(1, { write: at(50) }), PUSH_TIMESTAMP, at(50)).meta?.writeTimestamp).toEqual(at(50, 1));
    expect(isPushedAbove(record(1, { write: at(50) }), at(50))).toBe(false);
    expect(isPushedAbove(record(1, { write: at(50) }), undefined)).toBe(false);
  });

  it('after a timestamp push, the pushee writes above the target', () => {
    const ts = fc.record({ wall: fc.integer({ min: 0, max: 20 }), logical: fc.integer({ min: 0, max: 3 }) }).map((t) => at(t.wall, t.logical));
    fc.assert(
      fc.property(ts, ts, (write, pushTo) => {
        const pushed = pushedRecord(record(1, { write }), PUSH_TIMESTAMP, pushTo);
        expect(isPushedAbove(pushed, pushTo)).toBe(true);
        expect(pushed.status).toBe(PENDING);
      }),
    );
  });
});

describe('synthesizeRecord', () => {
  it('assumes a pending transaction last alive at the later of its write and start timestamps', () => {
    const m = meta(1, { write: ms(2_000), min: ms(1_000) });
    const synthesized = synthesizeRecord(m);
    expect(synthesized.status).toBe(PENDING);
    expect(synthesized.meta).toEqual(m);
    expect(synthesized.lastHeartbeat).toEqual(ms(2_000));
    expect(synthesized.lockSpans).toEqual([]);
    expect(synthesizeRecord(meta(1, { write: ms(1_000), min: ms(3_000) })).lastHeartbeat).toEqual(ms(3_000));
    expect(synthesizeRecord(meta(1, { min: ms(3_000) })).lastHeartbeat).toEqual(ms(3_000));
    expect(synthesizeRecord(meta(1, { write: ms(4_000) })).lastHeartbeat).toEqual(ms(4_000));
  });

  it('so a pusher finds it expired only once its last sign of life is old', () => {
    const synthesized = synthesizeRecord(meta(1, { write: ms(2_000), min: ms(1_000) }));
    expect(isExpired(synthesized, ms(2_000 + TXN_EXPIRY_MS))).toBe(false);
    expect(isExpired(synthesized, ms(2_001 + TXN_EXPIRY_MS))).toBe(true);
    expect(isExpired(synthesizeRecord(meta(1)), ms(0))).toBe(true);
  });
});

describe('resolutionOf', () => {
  it('commits at the write timestamp, aborts, or moves pending intents to the write timestamp', () => {
    const m = meta(7, { write: at(30, 2), epoch: 3 });
    expect(resolutionOf({ meta: m, status: COMMITTED, lockSpans: [], inFlightWrites: [] })).toEqual({
      status: 'committed',
      txnId: m.id,
      epoch: 3,
      commitTimestamp: at(30, 2),
    });
    expect(resolutionOf({ meta: m, status: ABORTED, lockSpans: [], inFlightWrites: [] })).toEqual({ status: 'aborted', txnId: m.id });
    expect(resolutionOf({ meta: m, status: PENDING, lockSpans: [], inFlightWrites: [] })).toEqual({
      status: 'pending',
      txnId: m.id,
      epoch: 3,
      pushedTo: at(30, 2),
    });
  });

  it('throws on a record without its meta', () => {
    expect(() => resolutionOf({ status: COMMITTED, lockSpans: [], inFlightWrites: [] })).toThrow();
  });
});

describe('records in the engine', () => {
  it('round-trips a record under its anchor key and ID, separately per transaction', async () => {
    const engine = new MemoryEngine();
    const one = { ...record(1, { write: at(10), heartbeat: at(11) }), lockSpans: [{ startKey: Buffer.from('a'), endKey: Buffer.from('b') }] };
    const two = record(2, { write: at(20), status: COMMITTED });
    const batch = engine.newBatch();
    writeTxnRecord(batch, one);
    writeTxnRecord(batch, two);
    await engine.write(batch);
    expect(readTxnRecord(engine, Buffer.from('anchor-1'), Buffer.alloc(16, 1))).toEqual(one);
    expect(readTxnRecord(engine, Buffer.from('anchor-2'), Buffer.alloc(16, 2))?.status).toBe(COMMITTED);
    expect(readTxnRecord(engine, Buffer.from('anchor-1'), Buffer.alloc(16, 2))).toBeUndefined();
    await engine.close();
  });
});

describe('storageMeta', () => {
  it('carries the transaction at the given write timestamp, its start defaulting to it', () => {
    const m = meta(1, { write: at(10), min: at(5) });
    const stored = storageMeta({ meta: m, status: PENDING, lockSpans: [], inFlightWrites: [] }, at(12));
    expect(stored.writeTimestamp).toEqual(at(12));
    expect(stored.minTimestamp).toEqual(at(5));
    expect(stored.id).toEqual(m.id);
    expect(storageMeta({ meta: meta(1, { write: at(10) }), status: PENDING, lockSpans: [], inFlightWrites: [] }, at(12)).minTimestamp).toEqual(at(12));
  });
});
