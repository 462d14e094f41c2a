import pino from 'pino';
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
