import { CairnError } from '../../common/errors';
import type { Timestamp } from '../../common/hlc';
import { compareTimestamps } from '../../common/hlc';
import { keyNext, prettyKey } from '../../common/keys';
import type { Logger } from '../../common/logging';
import type { KvClient } from '../../kv';
import { DeadlineExceededError, LockWaitTimeoutError, TransactionAbortedError } from '../../kv/errors';
import { shortTxnId, txnMeta, txnTimestamps } from '../../kv/transaction';
import * as kvpb from '../../proto/gen/cairn/kv/v1/kv';
import type { IntentConflict, WriteIntentError } from '../storage';
import { writesUserData } from './evaluate-batch';
import type { LockWait, PushWait } from './lock-wait-queue';
import { losesDeadlockTo } from './txn-records';

/*
 * How a leaseholder's request waits for another transaction: behind a lock (an
 * intent), pushing its owner; and how a push waits at its pushee's record, watching
 * for deadlocks. Shared by Replica and the transaction simulator, which drives it in
 * virtual time.
 */

/** How often a waiting push looks again: expiry, deadlocks, its own pusher's fate. */
export const PUSH_POLL_MS = 150;
/**
 * A lock waiter's push asks for at most this long at a time, and asks again while the
 * lock is still held. A push cannot be called back once sent: when the lock is released
 * first, the push left behind waits at the pushee's record until its own deadline,
 * polling, and counts its pusher among the pushee's waiters, which can make a later
 * waiter see a deadlock that is not there. Short pushes bound how long that lasts.
 */
export const PUSH_SLICE_MS = 500;
/**
 * A request waiting for a lock gives up this long before its deadline (a push waiting
 * at the record, twice as long), so the typed error reaches the client in time.
 */
export const LOCK_WAIT_MARGIN_MS = 100;

/** What the waiting needs from the range that waits. */
export interface ConflictWaitHost {
  readonly rangeId: number;
  readonly log: Logger;
  /** The node's physical clock, Unix ms. */
  nowMs(): number;
  /** The node's hybrid clock. */
  clockNow(): Timestamp;
  /** PushTxn to the pushee's record, wherever its range is; resolves with the pushee. */
  pushTxn(request: kvpb.PushTxnRequest, deadlineMs: number): Promise<kvpb.Transaction>;
  /** QueryTxn of a record, wherever its range is. */
  queryTxn(anchorKey: Buffer, txnId: Buffer, deadlineMs: number): Promise<kvpb.QueryTxnResponse>;
  /** Serves a batch on this range (the resolution of intents found here). */
  send(request: kvpb.BatchRequest, deadlineMs: number): Promise<kvpb.BatchResponse>;
  /** Decides a STAGING transaction (recoverStagedTxn, through the node's KV client). */
  recoverTxn(record: kvpb.Transaction, deadlineMs: number): Promise<void>;
}

/**
 * Finds out whether a STAGING transaction committed — every write it staged its commit
 * with is in place as its intent at or below the staged timestamp — and records the
 * answer: COMMITTED or ABORTED. Each write not found is also made impossible at that
 * timestamp (QueryIntent), so a write still in flight cannot complete the commit
 * after the answer. A record restaged or finalized meanwhile is left alone.
 */
export async function recoverStagedTxn(kv: Pick<KvClient, 'batch'>, record: kvpb.Transaction, deadlineMs: number, log: Logger): Promise<void> {
  const meta = txnMeta(record);
  const header = { deadlineUnixMs: deadlineMs };
  const queries: kvpb.RequestUnion[] = record.inFlightWrites.map((key) => ({ request: { $case: 'queryIntent', value: { key, txn: meta } } }));
  const answers = queries.length === 0 ? [] : await kv.batch(queries, header);
  const implicitlyCommitted = answers.every((a) => a.response?.$case === 'queryIntent' && a.response.value.found);
  await kv.batch([{ request: { $case: 'recoverTxn', value: { key: meta.anchorKey, txn: meta, implicitlyCommitted } } }], header);
  log.info({ txn: shortTxnId(meta.id), committed: implicitlyCommitted, inFlightWrites: queries.length }, 'recovered a staged transaction');
}

/**
 * Waits behind another transaction's intent: in line for the key (`waits`, joined
 * before the latches were released) and pushing the owner. Returns when the lock was
 * released, or the owner was found finished (or pushed) and its intents here resolved;
 * throws if the request's own transaction was aborted meanwhile or the deadline passed.
 */
export async function waitForConflict(
  host: ConflictWaitHost,
  error: WriteIntentError,
  waits: readonly LockWait[],
  request: kvpb.BatchRequest,
  deadlineMs: number,
): Promise<void> {
  const conflict = error.intents[0] as IntentConflict;
  const txn = request.header?.txn;
  const writes = request.requests.some((r) => r.request !== undefined && writesUserData(r.request));
  const pushTo = txn === undefined ? (request.header?.timestamp ?? host.clockNow()) : readPushTarget(txn, conflict.writeTimestamp);
  const push: kvpb.PushTxnRequest = {
    key: conflict.txnAnchorKey,
    pushee: {
      id: conflict.txnId,
      anchorKey: conflict.txnAnchorKey,
      epoch: conflict.txnEpoch,
      writeTimestamp: conflict.writeTimestamp,
      priority: conflict.txnPriority,
      sequence: 0,
    },
    pusher: txn,
    pushType: writes ? kvpb.PushType.PUSH_TYPE_ABORT : kvpb.PushType.PUSH_TYPE_TIMESTAMP,
    pushTo,
  };
  const released = Promise.all(waits.map((w) => w.released)).then(() => 'released' as const);
  let waiting = true;
  const pushInSlices = async (): Promise<{ pushee: kvpb.Transaction }> => {
    for (;;) {
      try {
        return { pushee: await host.pushTxn(push, Math.min(deadlineMs, host.nowMs() + PUSH_SLICE_MS)) };
      } catch (err) {
        const sliceEnded = err instanceof LockWaitTimeoutError || err instanceof DeadlineExceededError;
        if (!waiting || !sliceEnded || host.nowMs() >= deadlineMs - LOCK_WAIT_MARGIN_MS) throw err;
      }
    }
  };
  const pushed = pushInSlices();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), Math.max(0, deadlineMs - LOCK_WAIT_MARGIN_MS - host.nowMs()));
  });
  try {
    const outcome = await Promise.race([released, pushed, timeout]);
    if (outcome === 'released') {
      pushed.catch(() => undefined);
      return;
    }
    if (outcome === 'timeout') {
      pushed.catch(() => undefined);
      throw lockTimeout(host.rangeId, conflict);
    }
    const found = error.intents.filter((i) => i.txnId.equals(conflict.txnId));
    // Its list of lock spans is not needed to resolve, and may be long.
    await resolveFound(host, found, { ...outcome.pushee, lockSpans: [] }, deadlineMs);
  } catch (err) {
    if (err instanceof TransactionAbortedError || err instanceof LockWaitTimeoutError) throw err;
    if (err instanceof CairnError && (err.code === 'UNAVAILABLE' || err.retryable) && host.nowMs() >= deadlineMs) {
      throw lockTimeout(host.rangeId, conflict);
    }
    throw err;
  } finally {
    waiting = false;
    clearTimeout(timer);
    for (const wait of waits) wait.cancel();
  }
}

/**
 * Where a transactional reader pushes a lock holder: above its read timestamp, or,
 * when the intent lies inside the reader's uncertainty window, above the window's end.
 * Pushed only to the read timestamp, such an intent would stay uncertain, and the
 * reader would push it again and again without waiting, until the holder finished.
 */
function readPushTarget(txn: kvpb.Transaction, intentTs: Timestamp): Timestamp {
  const { read, uncertaintyLimit } = txnTimestamps(txn);
  return compareTimestamps(intentTs, read) > 0 && compareTimestamps(uncertaintyLimit, read) > 0 ? uncertaintyLimit : read;
}

/** Conflicts past which one ResolveIntentRange over them all beats a request per key. */
const RESOLVE_AS_RANGE_OVER = 64;

/**
 * Resolves the intents of `pushee` that a request found here. Many of them (a scan
 * over a large transaction's writes) are resolved as one span, command after command
 * while the range stops at its per-command budget.
 */
async function resolveFound(host: ConflictWaitHost, found: readonly IntentConflict[], pushee: kvpb.Transaction, deadlineMs: number): Promise<void> {
  if (found.length <= RESOLVE_AS_RANGE_OVER) {
    const requests: kvpb.RequestUnion[] = found.map((c) => ({ request: { $case: 'resolveIntent', value: { key: c.key, txn: pushee } } }));
    await host.send({ header: undefined, requests }, deadlineMs);
    return;
  }
  const keys = found.map((c) => c.key).sort(Buffer.compare);
  let startKey: Buffer | undefined = keys[0] as Buffer;
  const endKey = keyNext(keys[keys.length - 1] as Buffer);
  while (startKey !== undefined) {
    const response = await host.send(
      { header: undefined, requests: [{ request: { $case: 'resolveIntentRange', value: { startKey, endKey, txn: pushee } } }] },
      deadlineMs,
    );
    const answer = response.responses[0]?.response;
    startKey = answer?.$case === 'resolveIntentRange' ? answer.value.resumeSpan?.startKey : undefined;
  }
}

function lockTimeout(rangeId: number, conflict: IntentConflict): LockWaitTimeoutError {
  return new LockWaitTimeoutError(
    `range ${rangeId}: waited until the deadline for transaction ${shortTxnId(conflict.txnId)} ` +
      `holding a lock on key ${prettyKey(conflict.key)}`,
  );
}

/**
 * Waits (without latches) for the pushee of a push that cannot succeed yet: until its
 * record changes, or a poll interval passes. Each poll checks the pusher's own record:
 * if it was aborted the push fails; if the pushee is among those waiting on the
 * pusher, that is a deadlock, and the weaker of the two is forced out. Returns whether
 * the next attempt should force the push.
 */
export async function waitForPushee(
  host: ConflictWaitHost,
  push: kvpb.PushTxnRequest,
  wait: PushWait,
  deadlineMs: number,
): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const remaining = deadlineMs - 2 * LOCK_WAIT_MARGIN_MS - host.nowMs();
    if (remaining <= 0) {
      throw new LockWaitTimeoutError(
        `range ${host.rangeId}: transaction ${shortTxnId(push.pushee?.id ?? Buffer.alloc(0))} did not finish before the deadline`,
      );
    }
    const poll = new Promise<'poll'>((resolve) => {
      timer = setTimeout(() => resolve('poll'), Math.min(PUSH_POLL_MS, remaining));
    });
    const outcome = await Promise.race([wait.changed.then(() => 'changed' as const), poll]);
    // A pusher that has written nothing has no record and holds no locks: it cannot be
    // part of a deadlock.
    if (outcome === 'changed' || push.pusher?.meta === undefined || push.pusher.meta.anchorKey.length === 0) return false;
    const pusher = txnMeta(push.pusher);
    const query = await host.queryTxn(pusher.anchorKey, pusher.id, deadlineMs);
    if (query.txn?.status === kvpb.TransactionStatus.TRANSACTION_STATUS_ABORTED) {
      throw new TransactionAbortedError('ABORTED_WHILE_WAITING', query.txn);
    }
    const dependents = new Set(query.waitingTxnIds.map((id) => id.toString('hex')));
    wait.setDependents(dependents);
    const pushee = push.pushee;
    if (pushee !== undefined && dependents.has(pushee.id.toString('hex')) && losesDeadlockTo(pushee, pusher)) {
      host.log.info({ range: host.rangeId, pusher: shortTxnId(pusher.id), pushee: shortTxnId(pushee.id) }, 'deadlock: aborting the pushee');
      return true;
    }
    return false;
  } finally {
    clearTimeout(timer);
    wait.cancel();
  }
}
