import type { SqlState } from './sqlstate';
import { SqlStates } from './sqlstate';

/**
 * Stable error codes. A code never changes meaning once released: clients, logs and
 * tests match on it, never on the message.
 */
export type ErrorCode =
  // storage
  | 'STORAGE_CORRUPTION'
  | 'STORAGE_LOCKED'
  | 'STORAGE_IO'
  | 'STORAGE_CLOSED'
  | 'KEY_TOO_LARGE'
  | 'VALUE_TOO_LARGE'
  | 'BATCH_TOO_LARGE'
  | 'INVALID_ARGUMENT'
  | 'MALFORMED_ENCODING'
  // MVCC and transactions
  | 'WRITE_INTENT'
  | 'WRITE_TOO_OLD'
  | 'READ_WITHIN_UNCERTAINTY_INTERVAL'
  | 'TXN_EPOCH_MISMATCH'
  | 'TXN_RETRY'
  | 'TXN_ABORTED'
  | 'TXN_ALREADY_FINALIZED'
  | 'LOCK_WAIT_TIMEOUT'
  | 'AMBIGUOUS_RESULT'
  // time
  | 'CLOCK_OFFSET'
  // anything that is a bug in Cairn itself
  | 'ASSERTION_FAILED'
  // raft (node/raft)
  | 'RAFT_PROPOSAL_DROPPED'
  | 'RAFT_LOG_COMPACTED'
  | 'RAFT_LOG_UNAVAILABLE'
  | 'RAFT_TRANSPORT'
  | 'RAFT_PROPOSAL_FAILED'
  // KV routing and ranges (node/, kv/)
  | 'NOT_LEASEHOLDER'
  | 'RANGE_KEY_MISMATCH'
  | 'RANGE_NOT_FOUND'
  | 'RANGE_CHANGED'
  | 'UNAVAILABLE'
  | 'CONDITION_FAILED'
  | 'CLUSTER_ALREADY_INITIALIZED'
  | 'CLUSTER_NOT_INITIALIZED'
  | 'NODE_DRAINING'
  // the caller gave up on the operation (kv/: a cancelled or timed-out statement)
  | 'CANCELLED'
  // SQL (gateway/): the SQLSTATE says which
  | 'SQL';

export interface CairnErrorOptions {
  /** Whether the same request may succeed if retried (after backing off or refreshing). */
  readonly retryable?: boolean;
  readonly sqlState?: SqlState;
  readonly cause?: unknown;
}

/** The root of every error Cairn raises on purpose. */
export class CairnError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly sqlState: SqlState;

  constructor(code: ErrorCode, message: string, options: CairnErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.sqlState = options.sqlState ?? SqlStates.internalError;
  }
}

/** A broken invariant: the process must stop rather than write bad data. */
export class AssertionFailedError extends CairnError {
  constructor(message: string) {
    super('ASSERTION_FAILED', message, { sqlState: SqlStates.internalError });
  }
}

/**
 * Asserts an invariant. Stays on in production (STYLE.md §16). On hot paths, pass the
 * message as a function: a template with values in it is built on every call otherwise.
 */
export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) {
    throw new AssertionFailedError(typeof message === 'string' ? message : message());
  }
}

/** Exhaustiveness check for discriminated unions. */
export function unreachable(value: never, what = 'value'): never {
  throw new AssertionFailedError(`unexpected ${what}: ${JSON.stringify(value)}`);
}

export class InvalidArgumentError extends CairnError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message, { sqlState: SqlStates.invalidParameterValue });
  }
}

/** Bytes that do not decode as the encoding they claim to be. */
export class MalformedEncodingError extends CairnError {
  readonly offset: number;

  constructor(what: string, offset: number, detail: string) {
    super('MALFORMED_ENCODING', `malformed ${what} at byte ${offset}: ${detail}`, {
      sqlState: SqlStates.dataCorrupted,
    });
    this.offset = offset;
  }
}

export interface SqlErrorOptions {
  readonly detail?: string;
  readonly hint?: string;
  /** 1-based character offset into the statement text, as PostgreSQL reports it. */
  readonly position?: number;
  readonly cause?: unknown;
  readonly retryable?: boolean;
}

/**
 * An error a SQL client sees: its SQLSTATE decides what the client does (retry on
 * 40001, report 23505 as a duplicate, ...), the message says why in words.
 */
export class SqlError extends CairnError {
  readonly detail: string | undefined;
  readonly hint: string | undefined;
  readonly position: number | undefined;

  constructor(sqlState: SqlState, message: string, options: SqlErrorOptions = {}) {
    super('SQL', message, {
      sqlState,
      ...(options.cause === undefined ? {} : { cause: options.cause }),
      retryable: options.retryable ?? sqlState === SqlStates.serializationFailure,
    });
    this.detail = options.detail;
    this.hint = options.hint;
    this.position = options.position;
  }
}
