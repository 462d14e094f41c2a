import { CairnError, SqlStates } from '../../common/errors';
import type { Timestamp } from '../../common/hlc';
import { formatTimestamp } from '../../common/hlc';

/** The on-disk data is not what RocksDB or Cairn wrote: never guess, stop. */
export class StorageCorruptionError extends CairnError {
  constructor(message: string, cause?: unknown) {
    super('STORAGE_CORRUPTION', message, { sqlState: SqlStates.dataCorrupted, cause });
  }
}

/** Another process (or another engine in this one) holds the database folder's lock. */
export class StorageLockedError extends CairnError {
  constructor(readonly path: string, cause?: unknown) {
    super('STORAGE_LOCKED', `the store at ${path} is locked by another process or engine`, {
      sqlState: SqlStates.ioError,
      cause,
    });
  }
}

export class StorageIoError extends CairnError {
  constructor(message: string, cause?: unknown) {
    super('STORAGE_IO', message, { sqlState: SqlStates.ioError, cause });
  }
}

export class StorageClosedError extends CairnError {
  constructor(path: string) {
    super('STORAGE_CLOSED', `the store at ${path} is closed`, { sqlState: SqlStates.adminShutdown });
  }
}

export class KeyTooLargeError extends CairnError {
  constructor(readonly sizeBytes: number, readonly maxBytes: number) {
    super('KEY_TOO_LARGE', `key of ${sizeBytes} bytes exceeds the maximum of ${maxBytes} bytes`, {
      sqlState: SqlStates.programLimitExceeded,
    });
  }
}

export class ValueTooLargeError extends CairnError {
  constructor(readonly sizeBytes: number, readonly maxBytes: number) {
    super('VALUE_TOO_LARGE', `value of ${sizeBytes} bytes exceeds the maximum of ${maxBytes} bytes`, {
      sqlState: SqlStates.programLimitExceeded,
    });
  }
}

export class BatchTooLargeError extends CairnError {
  constructor(readonly sizeBytes: number, readonly maxBytes: number) {
    super('BATCH_TOO_LARGE', `write batch of ${sizeBytes} bytes exceeds the maximum of ${maxBytes} bytes`, {
      sqlState: SqlStates.programLimitExceeded,
    });
  }
}

/** What a reader or writer learns about an intent it ran into. */
export interface IntentConflict {
  readonly key: Buffer;
  readonly txnId: Buffer;
  readonly txnAnchorKey: Buffer;
  readonly txnEpoch: number;
  readonly txnPriority: number;
  readonly writeTimestamp: Timestamp;
}

/**
 * A read at or above an intent's timestamp, or a write to a key with another
 * transaction's intent. The caller must push or wait for the owning transactions
 * (found through their IDs and anchor keys) and then retry.
 */
export class WriteIntentError extends CairnError {
  constructor(readonly intents: readonly IntentConflict[]) {
    const first = intents[0];
    const what =
      first === undefined
        ? 'no intents'
        : `key ${first.key.toString('hex')} held by txn ${first.txnId.toString('hex')}` +
          (intents.length > 1 ? ` and ${intents.length - 1} more` : '');
    super('WRITE_INTENT', `conflicting write intent: ${what}`, {
      retryable: true,
      sqlState: SqlStates.serializationFailure,
    });
  }
}

/**
 * A write at or below the newest committed version of its key. The write could go in
 * at `actualTimestamp`, the first timestamp above that version.
 */
export class WriteTooOldError extends CairnError {
  constructor(
    readonly key: Buffer,
    readonly writeTimestamp: Timestamp,
    readonly existingTimestamp: Timestamp,
    readonly actualTimestamp: Timestamp,
  ) {
    super(
      'WRITE_TOO_OLD',
      `write at ${formatTimestamp(writeTimestamp)} is too old: key ${key.toString('hex')} ` +
        `has a version at ${formatTimestamp(existingTimestamp)}`,
      { retryable: true, sqlState: SqlStates.serializationFailure },
    );
  }
}

/**
 * A read found a committed version above its timestamp but within its uncertainty
 * window: that write may have happened before the read in real time, so the read must
 * restart above `existingTimestamp`.
 */
export class ReadWithinUncertaintyIntervalError extends CairnError {
  constructor(
    readonly key: Buffer,
    readonly readTimestamp: Timestamp,
    readonly existingTimestamp: Timestamp,
    readonly uncertaintyLimit: Timestamp,
  ) {
    super(
      'READ_WITHIN_UNCERTAINTY_INTERVAL',
      `read at ${formatTimestamp(readTimestamp)} encountered a version at ` +
        `${formatTimestamp(existingTimestamp)} within its uncertainty interval ` +
        `(limit ${formatTimestamp(uncertaintyLimit)}) on key ${key.toString('hex')}`,
      { retryable: true, sqlState: SqlStates.serializationFailure },
    );
  }
}

/** An intent written by a later epoch of the same transaction than the writer's. */
export class TxnEpochMismatchError extends CairnError {
  constructor(readonly key: Buffer, readonly intentEpoch: number, readonly txnEpoch: number) {
    super(
      'TXN_EPOCH_MISMATCH',
      `key ${key.toString('hex')} has an intent of epoch ${intentEpoch}, newer than the ` +
        `transaction's epoch ${txnEpoch}`,
      { sqlState: SqlStates.internalError },
    );
  }
}
