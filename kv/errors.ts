import type { ErrorCode } from '../common/errors';
import { CairnError, InvalidArgumentError } from '../common/errors';
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
 * answer before the deadline. The request may or may not have reached the node.
 */
export class NodeUnavailableError extends UnavailableError {
  constructor(
    readonly address: string,
    readonly reason: 'unreachable' | 'deadline' | 'closed',
    message: string,
    options: { readonly cause?: unknown } = {},
  ) {
    super(message, options);
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

/** A ConditionalPut found another value than expected. Not retryable: the caller decides. */
export class ConditionFailedError extends CairnError {
  constructor(
    readonly actualValue: Buffer | undefined,
    message = actualValue === undefined ? 'condition failed: the key is absent' : 'condition failed: the key holds another value',
  ) {
    super('CONDITION_FAILED', message);
  }
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
    super(code, message, { retryable });
  }
}

export function errorFromProto(error: pb.Error): CairnError {
  const detail = error.detail;
  switch (detail?.$case) {
    case 'notLeaseholder':
      return new NotLeaseholderError(Number(detail.value.rangeId), detail.value.leaseholder, error.message);
    case 'rangeKeyMismatch':
      return new RangeKeyMismatchError(Number(detail.value.requestedRangeId), detail.value.ranges, error.message);
    case 'conditionFailed':
      return new ConditionFailedError(detail.value.actualValue, error.message);
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
    default:
      return new RemoteKvError(error.code as ErrorCode, error.message, error.retryable, error.requestIndex);
  }
}
