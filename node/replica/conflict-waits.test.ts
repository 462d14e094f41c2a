import pino from 'pino';
import type { Timestamp } from '../../common/hlc';
import { LockWaitTimeoutError } from '../../kv/errors';
import * as kvpb from '../../proto/gen/cairn/kv/v1/kv';
import { WriteIntentError } from '../storage';
import type { ConflictWaitHost } from './conflict-waits';
import { PUSH_SLICE_MS, waitForConflict } from './conflict-waits';
import type { LockWait } from './lock-wait-queue';

const id = (byte: number): Buffer => Buffer.alloc(16, byte);

/** A host whose pushes wait at the pushee until their deadline, as a live pushee's do. */
function hostWithStuckPushee(): { host: ConflictWaitHost; pushes: { sentAt: number; deadlineMs: number }[] } {
  const pushes: { sentAt: number; deadlineMs: number }[] = [];
  const host: ConflictWaitHost = {
    rangeId: 7,
    log: pino({ level: 'silent' }),
    nowMs: () => Date.now(),
    clockNow: () => ({ wallTime: BigInt(Date.now()) * 1_000_000n, logical: 0 }),
    pushTxn: (_request, deadlineMs) => {
      pushes.push({ sentAt: Date.now(), deadlineMs });
      return new Promise((_resolve, reject) => setTimeout(() => reject(new LockWaitTimeoutError('the pushee is still running')), deadlineMs - Date.now()));
    },
    queryTxn: () => Promise.reject(new Error('not asked here')),
    send: () => Promise.reject(new Error('nothing to resolve here')),
    recoverTxn: () => Promise.reject(new Error('nothing staged here')),
  };
  return { host, pushes };
}

function lockReleasedAfter(ms: number): LockWait {
  let timer: NodeJS.Timeout | undefined;
  return {
    released: new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
    cancel: () => clearTimeout(timer),
  };
}

describe('waitForConflict', () => {
  test('pushes the lock holder in slices while it waits, and sends no push once the lock is released', async () => {
    const { host, pushes } = hostWithStuckPushee();
    const conflict = new WriteIntentError([
      { key: Buffer.from('k'), txnId: id(2), txnAnchorKey: Buffer.from('a'), txnEpoch: 0, txnPriority: 1, writeTimestamp: { wallTime: 1n, logical: 0 } },
    ]);
    const pusher: kvpb.Transaction = {
      meta: { id: id(1), anchorKey: Buffer.from('b'), epoch: 0, priority: 1, sequence: 1, writeTimestamp: { wallTime: 1n, logical: 0 } },
      status: kvpb.TransactionStatus.TRANSACTION_STATUS_PENDING,
      readTimestamp: { wallTime: 1n, logical: 0 },
      lockSpans: [],
      inFlightWrites: [],
    } as unknown as kvpb.Transaction;
    const request: kvpb.BatchRequest = {
      header: { txn: pusher } as kvpb.BatchHeader,
      requests: [{ request: { $case: 'put', value: { key: Buffer.from('k'), value: Buffer.from('v') } } }],
    } as unknown as kvpb.BatchRequest;

    const started = Date.now();
    await waitForConflict(host, conflict, [lockReleasedAfter(2.5 * PUSH_SLICE_MS)], request, started + 10_000);
    const releasedAt = Date.now();
    expect(releasedAt - started).toBeGreaterThanOrEqual(2.5 * PUSH_SLICE_MS - 20);
    // One push per slice, none asking for longer than a slice (not the request's 10 s).
    const sent = pushes.length;
    expect(sent).toBeGreaterThanOrEqual(2);
    for (const push of pushes) expect(push.deadlineMs - push.sentAt).toBeLessThanOrEqual(PUSH_SLICE_MS);

    // The push in flight at the release ends with its slice, and none follows it.
    await new Promise((resolve) => setTimeout(resolve, PUSH_SLICE_MS + 100));
    expect(pushes.length).toBe(sent);
    expect(Math.max(...pushes.map((p) => p.deadlineMs))).toBeLessThanOrEqual(releasedAt + PUSH_SLICE_MS);
  });
});

describe('a reader pushing a lock holder', () => {
  const ts = (wallTime: bigint): Timestamp => ({ wallTime, logical: 0 });
  const readerAt = (read: bigint, uncertaintyLimit: bigint): kvpb.BatchRequest =>
    ({
      header: {
        txn: {
          meta: { id: id(1), anchorKey: Buffer.alloc(0), epoch: 0, priority: 1, sequence: 0, writeTimestamp: ts(read) },
          status: kvpb.TransactionStatus.TRANSACTION_STATUS_PENDING,
          readTimestamp: ts(read),
          uncertaintyLimit: ts(uncertaintyLimit),
          lockSpans: [],
        },
      },
      requests: [{ request: { $case: 'get', value: { key: Buffer.from('k'), forUpdate: false } } }],
    }) as unknown as kvpb.BatchRequest;
  const intentAt = (wallTime: bigint): WriteIntentError =>
    new WriteIntentError([{ key: Buffer.from('k'), txnId: id(2), txnAnchorKey: Buffer.from('a'), txnEpoch: 0, txnPriority: 1, writeTimestamp: ts(wallTime) }]);

  async function pushTargetOf(request: kvpb.BatchRequest, conflict: WriteIntentError): Promise<kvpb.PushTxnRequest> {
    const pushes: kvpb.PushTxnRequest[] = [];
    const host: ConflictWaitHost = {
      ...hostWithStuckPushee().host,
      pushTxn: (push) => {
        pushes.push(push);
        // Pushed: the holder now writes above the target, and its intent moves there.
        return Promise.resolve({ meta: { ...conflict.intents[0], id: id(2), writeTimestamp: push.pushTo }, status: kvpb.TransactionStatus.TRANSACTION_STATUS_PENDING } as unknown as kvpb.Transaction);
      },
      send: () => Promise.resolve({ responses: [] } as unknown as kvpb.BatchResponse),
    };
    const never: LockWait = { released: new Promise<void>(() => undefined), cancel: () => undefined };
    await waitForConflict(host, conflict, [never], request, Date.now() + 5_000);
    expect(pushes).toHaveLength(1);
    return pushes[0] as kvpb.PushTxnRequest;
  }

  test('moves an intent inside its uncertainty window past the window, so the read can go on', async () => {
    const push = await pushTargetOf(readerAt(100n, 350n), intentAt(200n));
    expect(push.pushType).toBe(kvpb.PushType.PUSH_TYPE_TIMESTAMP);
    expect(push.pushTo).toEqual(ts(350n));
  });

  test('moves an intent below its read timestamp only past the read timestamp', async () => {
    const push = await pushTargetOf(readerAt(100n, 350n), intentAt(50n));
    expect(push.pushTo).toEqual(ts(100n));
  });
});
