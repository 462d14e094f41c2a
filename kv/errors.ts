import type { ErrorCode, SqlState } from '../common/errors';
import { CairnError, InvalidArgumentError, SqlStates } from '../common/errors';
import type { Timestamp } from '../common/hlc';
import { formatTimestamp } from '../common/hlc';
import type * as pb from '../proto/gen/cairn/kv/v1/kv';

/**
 * The KV errors that travel on the wire (kv.proto's Error) as typed errors: each
 * carries what the client needs to act on it — a leaseholder hint, the current
 * descriptors, the value found.
 */

/** The replica asked does not hold the range's lease; `leaseholder` is its best guess. */
export class NotLeaseholderError extends CairnError {
  constructor(
    readonly rangeId: number,
    readonly leaseholder: pb.NodeDescriptor | undefined,
    message = `range ${rangeId}: this replica does not hold the lease` +
      (leaseholder === undefined ? '' : ` (try node ${leaseholder.nodeId})`),
  ) {
    super('NOT_LEASEHOLDER', message, { retryable: true });
  }
}

/** The batch's keys are not (all) in the range it was sent to: the sender's cache is stale. */
export class RangeKeyMismatchError extends CairnError {
  constructor(
    readonly requestedRangeId: number,
    readonly ranges: readonly pb.RangeDescriptor[],
    message = `range ${requestedRangeId} does not hold every key of the batch`,
  ) {
    super('RANGE_KEY_MISMATCH', message, { retryable: true });
  }
}

/** The node has no replica of the range. */
export class RangeNotFoundError extends CairnError {
  constructor(
    readonly rangeId: number,
    message = `range ${rangeId} has no replica on this node`,
  ) {
    super('RANGE_NOT_FOUND', message, { retryable: true });
  }
}

/** The range (or cluster) could not serve the request in time: no quorum, no lease, no node. */
export class UnavailableError extends CairnError {
  constructor(message: string, options: { readonly cause?: unknown } = {}) {
    super('UNAVAILABLE', message, { retryable: true, ...options });
  }
}

/**
 * A node could not be asked: no connection, a broken stream, the client closed, or no
 * answer before the deadline. `requestSent` is false only when the request certainly
 * never left this process; otherwise it may have reached the node and been applied.
 */
export class NodeUnavailableError extends UnavailableError {
  readonly requestSent: boolean;

  constructor(
    readonly address: string,
    readonly reason: 'unreachable' | 'deadline' | 'closed',
    message: string,
    options: { readonly cause?: unknown; readonly requestSent?: boolean } = {},
  ) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.requestSent = options.requestSent ?? true;
  }
}

/** A batch did not complete before its deadline; `cause` is the last error seen on the way. */
export class DeadlineExceededError extends UnavailableError {
  constructor(
    readonly timeoutMs: number,
    message: string,
    options: { readonly cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

/**
 * A range operation (a split, a replica change) was planned against a descriptor that
 * has changed since: plan again.
 */
export class RangeChangedError extends CairnError {
  constructor(message: string) {
    super('RANGE_CHANGED', message);
  }
}

/** A ConditionalPut found another value than expected. Not retryable: the caller decides. */
export class ConditionFailedError extends CairnError {
  constructor(
    readonly actualValue: Buffer | undefined,
    message = actualValue === undefined ? 'condition failed: the key is absent' : 'condition failed: the key holds another value',
  ) {
    super('CONDITION_FAILED', message);
  }
}

/**
 * Why a transaction must move its timestamp (refresh) or restart:
 * - SERIALIZABLE: its write timestamp is above its read timestamp at commit;
 * - WRITE_TOO_OLD: a write met a newer version (one-phase commit only);
 * - REFRESH_FAILED: a key it read was written after it read it;
 * - PUSHED: its record was pushed to a later timestamp by a reader.
 */
export type TxnRetryReason = 'SERIALIZABLE' | 'WRITE_TOO_OLD' | 'REFRESH_FAILED' | 'PUSHED';

/**
 * Errors a transaction coordinator handles itself (refresh, restart or give up). They
 * are final for DistSender: asking another replica would not help.
 */
export abstract class TransactionError extends CairnError {
  abstract readonly txn: pb.Transaction | undefined;
}

/** The transaction cannot commit at its current timestamps; the coordinator refreshes or restarts. */
export class TransactionRetryError extends TransactionError {
  constructor(
    readonly reason: TxnRetryReason,
    readonly txn: pb.Transaction | undefined,
    message = `transaction must retry (${reason})`,
  ) {
    super('TXN_RETRY', message, { sqlState: SqlStates.serializationFailure });
  }
}

/** The transaction's record is ABORTED (or was just aborted): it can never commit. */
export class TransactionAbortedError extends TransactionError {
  constructor(
    readonly reason: string,
    readonly txn: pb.Transaction | undefined,
    message = `transaction aborted (${reason})`,
  ) {
    super('TXN_ABORTED', message, { sqlState: SqlStates.serializationFailure });
  }
}

/** A transactional read found a version within its uncertainty interval: it must read above it. */
export class TransactionUncertaintyError extends TransactionError {
  constructor(
    readonly existingTimestamp: Timestamp,
    readonly txn: pb.Transaction | undefined,
    message = `read found a version at ${formatTimestamp(existingTimestamp)} within its uncertainty interval`,
  ) {
    super('READ_WITHIN_UNCERTAINTY_INTERVAL', message, { sqlState: SqlStates.serializationFailure });
  }
}

/** EndTxn on a transaction whose record is already COMMITTED or ABORTED by another path. */
export class TransactionAlreadyFinalizedError extends TransactionError {
  constructor(
    readonly txn: pb.Transaction | undefined,
    message = 'the transaction is already finalized',
  ) {
    super('TXN_ALREADY_FINALIZED', message, { sqlState: SqlStates.invalidTransactionState });
  }
}

/** A request waited for another transaction's lock until its deadline. */
/**
 * The caller gave up on the batch (its AbortSignal fired: a cancelled or timed-out SQL
 * statement). Answers still on their way are dropped; a write among them may still land.
 */
export class OperationCancelledError extends CairnError {
  /** Settles once the requests given up on have been answered or have timed out. */
  abandoned: Promise<void> = Promise.resolve();

  constructor(message = 'the operation was cancelled') {
    super('CANCELLED', message, { sqlState: SqlStates.queryCanceled });
  }
}

export class LockWaitTimeoutError extends CairnError {
  constructor(message: string) {
    super('LOCK_WAIT_TIMEOUT', message, { sqlState: SqlStates.lockNotAvailable });
  }
}

/**
 * A commit was sent but no answer came back (the node failed, or the deadline passed):
 * the transaction may or may not have committed. Never retried blindly.
 */
export class AmbiguousResultError extends CairnError {
  constructor(message: string, options: { readonly cause?: unknown } = {}) {
    super('AMBIGUOUS_RESULT', message, { sqlState: SqlStates.statementCompletionUnknown, ...options });
  }
}

function transactionDetail(err: TransactionError): pb.TransactionErrorDetail {
  return {
    txn: err.txn,
    reason: err instanceof TransactionRetryError || err instanceof TransactionAbortedError ? err.reason : '',
    existingTimestamp: err instanceof TransactionUncertaintyError ? err.existingTimestamp : undefined,
  };
}

/** The error as kv.proto carries it. */
export function errorToProto(err: unknown, requestIndex = -1): pb.Error {
  if (err instanceof NotLeaseholderError) {
    return {
      code: err.code,
      message: err.message,
      retryable: true,
      requestIndex,
      detail: { $case: 'notLeaseholder', value: { rangeId: BigInt(err.rangeId), leaseholder: err.leaseholder } },
    };
  }
  if (err instanceof RangeKeyMismatchError) {
    return {
      code: err.code,
      message: err.message,
      retryable: true,
      requestIndex,
      detail: {
        $case: 'rangeKeyMismatch',
        value: { requestedRangeId: BigInt(err.requestedRangeId), ranges: [...err.ranges] },
      },
    };
  }
  if (err instanceof ConditionFailedError) {
    return {
      code: err.code,
      message: err.message,
      retryable: false,
      requestIndex,
      detail: { $case: 'conditionFailed', value: { actualValue: err.actualValue } },
    };
  }
  if (err instanceof TransactionError) {
    return {
      code: err.code,
      message: err.message,
      retryable: false,
      requestIndex,
      detail: { $case: 'transaction', value: transactionDetail(err) },
    };
  }
  if (err instanceof CairnError) {
    return { code: err.code, message: err.message, retryable: err.retryable, requestIndex };
  }
  return { code: 'ASSERTION_FAILED', message: String((err as Error)?.message ?? err), retryable: false, requestIndex };
}

/** A CairnError carrying a kv.proto Error's code and message, of its typed class where there is one. */
export class RemoteKvError extends CairnError {
  constructor(
    code: ErrorCode,
    message: string,
    retryable: boolean,
    readonly requestIndex: number,
  ) {
    super(code, message, { retryable, sqlState: REMOTE_SQL_STATES[code] ?? SqlStates.internalError });
  }
}

/** What a SQL client sees for KV errors that carry no detail of their own. */
const REMOTE_SQL_STATES: Partial<Record<ErrorCode, SqlState>> = {
  BATCH_TOO_LARGE: SqlStates.programLimitExceeded,
  KEY_TOO_LARGE: SqlStates.programLimitExceeded,
  VALUE_TOO_LARGE: SqlStates.programLimitExceeded,
  STORAGE_IO: SqlStates.ioError,
  STORAGE_CORRUPTION: SqlStates.dataCorrupted,
};

export function errorFromProto(error: pb.Error): CairnError {
  const detail = error.detail;
  switch (detail?.$case) {
    case 'notLeaseholder':
      return new NotLeaseholderError(Number(detail.value.rangeId), detail.value.leaseholder, error.message);
    case 'rangeKeyMismatch':
      return new RangeKeyMismatchError(Number(detail.value.requestedRangeId), detail.value.ranges, error.message);
    case 'conditionFailed':
      return new ConditionFailedError(detail.value.actualValue, error.message);
    case 'transaction': {
      const { txn, reason, existingTimestamp } = detail.value;
      switch (error.code) {
        case 'TXN_RETRY':
          return new TransactionRetryError(reason as TxnRetryReason, txn, error.message);
        case 'TXN_ABORTED':
          return new TransactionAbortedError(reason, txn, error.message);
        case 'READ_WITHIN_UNCERTAINTY_INTERVAL':
          if (existingTimestamp !== undefined) {
            return new TransactionUncertaintyError(existingTimestamp, txn, error.message);
          }
          break;
        case 'TXN_ALREADY_FINALIZED':
          return new TransactionAlreadyFinalizedError(txn, error.message);
      }
      break;
    }
    case undefined:
      break;
  }
  switch (error.code) {
    case 'RANGE_NOT_FOUND':
      return new RangeNotFoundError(0, error.message);
    case 'UNAVAILABLE':
      return new UnavailableError(error.message);
    case 'INVALID_ARGUMENT':
      return new InvalidArgumentError(error.message);
    case 'LOCK_WAIT_TIMEOUT':
      return new LockWaitTimeoutError(error.message);
    case 'RANGE_CHANGED':
      return new RangeChangedError(error.message);
    default:
      return new RemoteKvError(error.code as ErrorCode, error.message, error.retryable, error.requestIndex);
  }
}
