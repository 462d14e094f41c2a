import { assert, InvalidArgumentError } from '../../common/errors';
import type { Timestamp } from '../../common/hlc';
import { compareTimestamps, nextTimestamp, ZERO_TIMESTAMP } from '../../common/hlc';
import type { EngineCursor, EngineReader, WriteBatch } from './engine';
import { forEachInSpan } from './engine';
import type { IntentConflict } from './errors';
import {
  ReadWithinUncertaintyIntervalError,
  TxnEpochMismatchError,
  WriteIntentError,
  WriteTooOldError,
} from './errors';
import {
  decodeLockTableKey,
  decodeMvccUserKey,
  isOlderVersionOf,
  isVersionOf,
  lockTableSpan,
  mvccKeysOf,
  readTimestampSuffix,
  versionKeyFromPrefix,
  versionPrefixLength,
  versionSpan,
} from './mvcc-key';
import type { Intent, TxnMeta } from './mvcc-value';
import {
  decodeIntent,
  intentTxnId,
  decodeVersionValue,
  encodeIntent,
  encodeNewestVersion,
  entryTimestamp,
  entryVersionValue,
  isTombstoneValue,
  newestVersionTimestamp,
  newestVersionValue,
} from './mvcc-value';

/*
 * MVCC evaluation: pure synchronous functions over an EngineReader (what is there) and
 * a WriteBatch (what to change). They never write to the engine themselves: the caller
 * (later, a replica applying a Raft command) decides when and how the batch is written.
 * They read only the reader they are given: to evaluate several operations on one key in
 * one batch, pass an IndexedBatch as both reader and batch, so each sees the others.
 *
 * Each user key has committed versions, newest first, in the MVCC keyspace (the newest
 * at the bare version prefix, see mvcc-key.ts), and at most one intent (a transaction's
 * provisional value) in the lock table keyspace. Values returned are read-only views.
 */

export interface MvccReadOptions {
  /** The reading transaction: it sees its own intents and conflicts with others'. */
  readonly txn?: TxnMeta;
  /**
   * The top of the reader's uncertainty interval (read timestamp + max clock offset).
   * A version in (read timestamp, limit] may have been written before the read began
   * in real time, so reading past it would not be linearizable: the read fails with
   * ReadWithinUncertaintyIntervalError and restarts higher.
   */
  readonly uncertaintyLimit?: Timestamp;
  /** Read committed values only, as if no other transaction's intent were there. */
  readonly ignoreIntents?: boolean;
}

export interface MvccKeyValue {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly timestamp: Timestamp;
}

export interface Span {
  readonly start: Buffer;
  readonly end: Buffer;
}

export interface MvccScanOptions extends MvccReadOptions {
  readonly reverse?: boolean;
  /** Stop after this many rows (0 or unset: no limit). */
  readonly maxKeys?: number;
  /** Stop once the rows' keys and values reach this many bytes (at least one row). */
  readonly targetBytes?: number;
}

export interface MvccScanResult {
  readonly rows: MvccKeyValue[];
  /** Set when a limit stopped the scan: the part of the span not yet read. */
  readonly resumeSpan: Span | undefined;
}

export type IntentResolution =
  | { readonly status: 'committed'; readonly txnId: Buffer; readonly epoch: number; readonly commitTimestamp: Timestamp }
  | { readonly status: 'aborted'; readonly txnId: Buffer }
  /** The transaction is still running but was pushed: its intents move up to `pushedTo`. */
  | { readonly status: 'pending'; readonly txnId: Buffer; readonly epoch: number; readonly pushedTo: Timestamp };

/** A versions cursor on a key with this many versions above the read timestamp seeks past them. */
const NEXTS_BEFORE_SEEK = 8;

function validateUserKey(key: Uint8Array, what: string): void {
  if (key.length === 0) {
    throw new InvalidArgumentError(`${what}: the empty key is reserved`);
  }
}

function validateSpan(start: Uint8Array, end: Uint8Array): void {
  if (Buffer.compare(start, end) >= 0) {
    throw new InvalidArgumentError(
      `empty or inverted span [${Buffer.from(start).toString('hex')}, ${Buffer.from(end).toString('hex')})`,
    );
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
}

/** `txn` writing at `ts` (spelled out: V8's object spread with overrides is slow). */
function withWriteTimestamp(txn: TxnMeta, ts: Timestamp): TxnMeta {
  return {
    id: txn.id,
    anchorKey: txn.anchorKey,
    epoch: txn.epoch,
    writeTimestamp: ts,
    minTimestamp: txn.minTimestamp,
    priority: txn.priority,
    sequence: txn.sequence,
  };
}

function sameTxn(a: TxnMeta | undefined, b: TxnMeta): boolean {
  return a !== undefined && a.id.equals(b.id);
}

function conflictOf(key: Buffer, intent: Intent): IntentConflict {
  return {
    key,
    txnId: intent.txn.id,
    txnAnchorKey: intent.txn.anchorKey,
    txnEpoch: intent.txn.epoch,
    txnPriority: intent.txn.priority,
    writeTimestamp: intent.txn.writeTimestamp,
  };
}

/** How a read at `ts` treats the intent on a key. */
type IntentVerdict =
  | { readonly kind: 'own'; readonly intent: Intent }
  | { readonly kind: 'conflict'; readonly conflict: IntentConflict }
  | { readonly kind: 'ignore' };

function judgeIntent(key: Buffer, intent: Intent, ts: Timestamp, options: MvccReadOptions): IntentVerdict {
  const txn = options.txn;
  if (txn !== undefined && sameTxn(txn, intent.txn)) {
    if (intent.txn.epoch === txn.epoch) {
      return { kind: 'own', intent };
    }
    if (intent.txn.epoch > txn.epoch) {
      throw new TxnEpochMismatchError(key, intent.txn.epoch, txn.epoch);
    }
    // An intent of an earlier epoch of this transaction: as if it were not there.
    return { kind: 'ignore' };
  }
  if (options.ignoreIntents === true) {
    return { kind: 'ignore' };
  }
  const limit = readLimit(ts, options);
  if (compareTimestamps(intent.txn.writeTimestamp, limit) <= 0) {
    return { kind: 'conflict', conflict: conflictOf(key, intent) };
  }
  return { kind: 'ignore' };
}

/** The highest timestamp a read can be affected by. */
function readLimit(ts: Timestamp, options: MvccReadOptions): Timestamp {
  const limit = options.uncertaintyLimit;
  return limit !== undefined && compareTimestamps(limit, ts) > 0 ? limit : ts;
}

function visibleRow(key: Buffer, versionValue: Buffer, timestamp: Timestamp): MvccKeyValue | undefined {
  const value = decodeVersionValue(versionValue);
  return value === undefined ? undefined : { key, value, timestamp };
}

/**
 * The value of `key` visible at `ts`, or undefined (never written, or deleted).
 * Throws WriteIntentError for another transaction's intent at or below the read's
 * limit, ReadWithinUncertaintyIntervalError for a version in the uncertainty window.
 */
export function mvccGet(
  reader: EngineReader,
  key: Uint8Array,
  ts: Timestamp,
  options: MvccReadOptions = {},
): MvccKeyValue | undefined {
  validateUserKey(key, 'get');
  const userKey = asBuffer(key);
  const { lockKey, versionPrefix: prefix } = mvccKeysOf(userKey);
  const [rawIntent, newest] = reader.getMany([lockKey, prefix]);
  if (rawIntent !== undefined) {
    const verdict = judgeIntent(userKey, decodeIntent(rawIntent), ts, options);
    if (verdict.kind === 'own') {
      const value = verdict.intent.value;
      return value === undefined ? undefined : { key: userKey, value, timestamp: verdict.intent.txn.writeTimestamp };
    }
    if (verdict.kind === 'conflict') {
      throw new WriteIntentError([verdict.conflict]);
    }
  }
  if (newest === undefined) {
    return undefined;
  }
  const newestTs = newestVersionTimestamp(newest);
  if (compareTimestamps(newestTs, ts) <= 0) {
    return visibleRow(userKey, newestVersionValue(newest), newestTs);
  }
  const limit = readLimit(ts, options);
  if (compareTimestamps(newestTs, limit) <= 0) {
    throw new ReadWithinUncertaintyIntervalError(userKey, ts, newestTs, limit);
  }
  // A read in the past: the seek lands on the newest older version at or below the
  // limit. Above the read timestamp it is uncertain; otherwise it is the answer.
  const cursor = reader.cursor({ expectedEntries: 1 });
  try {
    cursor.seek(versionKeyFromPrefix(prefix, limit));
    if (!cursor.valid() || !isOlderVersionOf(cursor.key(), prefix)) {
      return undefined;
    }
    const versionTs = readTimestampSuffix(cursor.key(), prefix.length);
    if (compareTimestamps(versionTs, ts) > 0) {
      throw new ReadWithinUncertaintyIntervalError(userKey, ts, versionTs, limit);
    }
    return visibleRow(userKey, cursor.value(), versionTs);
  } finally {
    cursor.close();
  }
}

export interface MvccWriteOptions {
  /** Write an intent of this transaction instead of a committed version. */
  readonly txn?: TxnMeta;
}

/**
 * Adds a committed version at `ts` to the batch: the previous newest version (raw
 * entry `newest`, if any) moves down to its timestamped key, and the new one takes
 * the bare key.
 */
function writeCommittedVersion(
  batch: WriteBatch,
  prefix: Buffer,
  newest: Buffer | undefined,
  ts: Timestamp,
  value: Uint8Array | undefined,
): void {
  if (newest !== undefined) {
    const newestTs = newestVersionTimestamp(newest);
    assert(compareTimestamps(newestTs, ts) < 0, 'a new version is newer than the newest one');
    batch.put(versionKeyFromPrefix(prefix, newestTs), newestVersionValue(newest));
  }
  batch.put(prefix, encodeNewestVersion(ts, value));
}

/**
 * Writes `value` (undefined: a delete) to `key` at `ts`: a committed version, or with
 * `txn`, that transaction's intent (replacing an earlier intent of the same
 * transaction). Throws WriteIntentError when another transaction holds the key and
 * WriteTooOldError when a committed version at or above `ts` exists.
 */
export function mvccPut(
  reader: EngineReader,
  batch: WriteBatch,
  key: Uint8Array,
  ts: Timestamp,
  value: Uint8Array | undefined,
  options: MvccWriteOptions = {},
): void {
  validateUserKey(key, 'put');
  const userKey = asBuffer(key);
  const { lockKey, versionPrefix: prefix } = mvccKeysOf(userKey);
  const txn = options.txn;
  // The lock and the newest version in one read: a native call costs more than a key.
  const [rawIntent, newest] = reader.getMany([lockKey, prefix]);
  if (rawIntent !== undefined) {
    const intent = decodeIntent(rawIntent);
    if (txn === undefined || !sameTxn(txn, intent.txn)) {
      throw new WriteIntentError([conflictOf(userKey, intent)]);
    }
    if (intent.txn.epoch > txn.epoch) {
      throw new TxnEpochMismatchError(userKey, intent.txn.epoch, txn.epoch);
    }
  }
  if (newest !== undefined) {
    const newestTs = newestVersionTimestamp(newest);
    if (compareTimestamps(newestTs, ts) >= 0) {
      throw new WriteTooOldError(userKey, ts, newestTs, nextTimestamp(newestTs));
    }
  }
  if (txn === undefined) {
    writeCommittedVersion(batch, prefix, newest, ts, value);
  } else {
    const provisional = value === undefined ? undefined : Buffer.from(value);
    batch.put(lockKey, encodeIntent({ txn: withWriteTimestamp(txn, ts), value: provisional }));
  }
}

/** A delete: a tombstone version, or a transaction's provisional delete. */
export function mvccDelete(
  reader: EngineReader,
  batch: WriteBatch,
  key: Uint8Array,
  ts: Timestamp,
  options: MvccWriteOptions = {},
): void {
  mvccPut(reader, batch, key, ts, undefined, options);
}

/**
 * Applies a resolution to one decoded intent. Returns whether anything changed.
 * `newest`: the key's newest version, when the caller read it with the lock.
 */
function resolveDecodedIntent(
  reader: EngineReader,
  batch: WriteBatch,
  userKey: Buffer,
  intent: Intent,
  resolution: IntentResolution,
  newest?: { readonly value: Buffer | undefined },
): boolean {
  if (!intent.txn.id.equals(resolution.txnId)) {
    return false;
  }
  const { lockKey, versionPrefix: prefix } = mvccKeysOf(userKey);
  switch (resolution.status) {
    case 'committed': {
      batch.delete(lockKey);
      if (intent.txn.epoch === resolution.epoch) {
        assert(
          compareTimestamps(resolution.commitTimestamp, intent.txn.writeTimestamp) >= 0,
          'a transaction commits at or above the timestamps of its intents',
        );
        writeCommittedVersion(batch, prefix, newest === undefined ? reader.get(prefix) : newest.value, resolution.commitTimestamp, intent.value);
      }
      // An intent of an earlier epoch was overwritten in the epoch that committed, or
      // not written again: it is not part of the committed transaction.
      return true;
    }
    case 'aborted':
      batch.delete(lockKey);
      return true;
    case 'pending': {
      if (intent.txn.epoch < resolution.epoch) {
        batch.delete(lockKey);
        return true;
      }
      if (compareTimestamps(resolution.pushedTo, intent.txn.writeTimestamp) <= 0) {
        return false;
      }
      batch.put(lockKey, encodeIntent({ txn: withWriteTimestamp(intent.txn, resolution.pushedTo), value: intent.value }));
      return true;
    }
  }
}

/** The intent on `key`, whoever's it is, or undefined. */
export function mvccGetIntent(reader: EngineReader, key: Uint8Array): Intent | undefined {
  validateUserKey(key, 'get intent');
  const raw = reader.get(mvccKeysOf(asBuffer(key)).lockKey);
  return raw === undefined ? undefined : decodeIntent(raw);
}

/**
 * Resolves the intent on `key` if it belongs to the resolution's transaction:
 * committed → rewritten as a version at the commit timestamp; aborted → removed;
 * pending → moved up to the pushed timestamp. Idempotent: resolving twice, or a key
 * with no intent or another transaction's, changes nothing and returns false.
 */
export function mvccResolveIntent(
  reader: EngineReader,
  batch: WriteBatch,
  key: Uint8Array,
  resolution: IntentResolution,
): boolean {
  validateUserKey(key, 'resolve intent');
  const userKey = asBuffer(key);
  const { lockKey, versionPrefix } = mvccKeysOf(userKey);
  // The lock and the newest version in one read: a native call costs more than a key.
  const [rawIntent, newest] = reader.getMany([lockKey, versionPrefix]);
  return rawIntent !== undefined && resolveDecodedIntent(reader, batch, userKey, decodeIntent(rawIntent), resolution, { value: newest });
}

export interface ResolveRangeResult {
  readonly resolved: number;
  readonly resumeSpan: Span | undefined;
}

/**
 * Resolves every intent of the transaction on keys in [start, end): at most `maxKeys`
 * of them, and stopping once about `maxBytes` of writes are estimated (keys, values and
 * per-entry overhead); what is left comes back as the resume span.
 */
export function mvccResolveIntentRange(
  reader: EngineReader,
  batch: WriteBatch,
  start: Uint8Array,
  end: Uint8Array,
  resolution: IntentResolution,
  options: { readonly maxKeys?: number; readonly maxBytes?: number } = {},
): ResolveRangeResult {
  validateSpan(start, end);
  const maxKeys = options.maxKeys ?? 0;
  const maxBytes = options.maxBytes ?? 0;
  let bytes = 0;
  // Gather first, resolve after: resolving reads the engine, which a snapshot reader
  // cannot do while its cursor is open.
  const owned: IntentEntry[] = [];
  let resumeKey: Buffer | undefined;
  const [lockStart, lockEnd] = lockTableSpan(start, end);
  // Stops at the first intent past the limit: a span may hold 100 000s of them.
  forEachInSpan(reader, lockStart, lockEnd, (rawKey, value) => {
    const intent = decodeIntent(value);
    if (!intent.txn.id.equals(resolution.txnId)) {
      return true;
    }
    const key = decodeLockTableKey(rawKey);
    if ((maxKeys > 0 && owned.length >= maxKeys) || (maxBytes > 0 && bytes >= maxBytes)) {
      resumeKey = key;
      return false;
    }
    owned.push({ key, intent });
    // What resolving it writes: the lock's deletion, the version (key and value).
    bytes += 2 * (rawKey.length + RESOLVE_OVERHEAD_BYTES) + (intent.value?.length ?? 0);
    return true;
  });
  let resolved = 0;
  for (const { key, intent } of owned) {
    if (resolveDecodedIntent(reader, batch, key, intent, resolution)) {
      resolved++;
    }
  }
  return { resolved, resumeSpan: resumeKey === undefined ? undefined : { start: resumeKey, end: asBuffer(end) } };
}

/** Bytes a batch spends per written key besides the key and value (timestamps, headers). */
const RESOLVE_OVERHEAD_BYTES = 24;

interface IntentEntry {
  readonly key: Buffer;
  readonly intent: Intent;
}

/**
 * The intents in [start, end), in key order. With `max` (0: all), only the `max`
 * nearest the side a scan starts from (the start, or the end in `reverse`), and the
 * key of the next one (`cut`) when more remain.
 */
function intentsInSpan(
  reader: EngineReader,
  start: Uint8Array,
  end: Uint8Array,
  max = 0,
  reverse = false,
): { entries: IntentEntry[]; cut?: Buffer } {
  const [lockStart, lockEnd] = lockTableSpan(start, end);
  const entries: IntentEntry[] = [];
  let cut: Buffer | undefined;
  if (!reverse || max === 0) {
    forEachInSpan(reader, lockStart, lockEnd, (key, value) => {
      if (max > 0 && entries.length >= max) {
        cut = decodeLockTableKey(key);
        return false;
      }
      entries.push({ key: decodeLockTableKey(key), intent: decodeIntent(value) });
      return undefined;
    });
    return cut === undefined ? { entries } : { entries, cut };
  }
  const cursor = reader.cursor({ reverse: true, expectedEntries: 4 });
  try {
    cursor.seek(lockEnd);
    if (cursor.valid() && Buffer.compare(cursor.key(), lockEnd) >= 0) cursor.next();
    for (; cursor.valid(); cursor.next()) {
      const key = cursor.key();
      if (Buffer.compare(key, lockStart) < 0) break;
      if (entries.length >= max) {
        cut = decodeLockTableKey(key);
        break;
      }
      entries.push({ key: decodeLockTableKey(key), intent: decodeIntent(cursor.value()) });
    }
  } finally {
    cursor.close();
  }
  entries.reverse();
  return cut === undefined ? { entries } : { entries, cut };
}

/** The key just after `key` in byte order. */
function keyAfter(key: Buffer): Buffer {
  return Buffer.concat([key, Buffer.from([0])]);
}

/**
 * The visible values of the keys in [start, end) at `ts`, in key order (or reverse
 * order), up to the limits. Conflicts with every intent it meets are gathered and
 * thrown together, so the caller can resolve them all before retrying.
 */
export function mvccScan(
  reader: EngineReader,
  start: Uint8Array,
  end: Uint8Array,
  ts: Timestamp,
  options: MvccScanOptions = {},
): MvccScanResult {
  validateSpan(start, end);
  const reverse = options.reverse === true;
  const maxKeys = options.maxKeys ?? 0;
  const targetBytes = options.targetBytes ?? 0;
  const limit = readLimit(ts, options);
  // Intents before versions: an intent resolved in between is then seen as a conflict
  // (safe) or, gone, with its committed version already in place. A scan with limits
  // reads only as many intents as it may return rows (or a floor of them), and stops
  // where they stop: a page of a table a large transaction wrote costs a page, not the
  // table's intents.
  const limited = maxKeys > 0 || targetBytes > 0;
  const { entries: intents, cut } = intentsInSpan(reader, start, end, limited ? Math.max(maxKeys, MIN_INTENTS_PER_LIMITED_SCAN) : 0, reverse);
  const conflicts: IntentConflict[] = [];
  const rows: MvccKeyValue[] = [];
  let bytes = 0;
  let resumeSpan: Span | undefined;

  const [rawStart, rawEnd] =
    cut === undefined ? versionSpan(start, end) : reverse ? versionSpan(keyAfter(cut), end) : versionSpan(start, cut);
  const cursor = reader.cursor({ reverse, expectedEntries: maxKeys > 0 ? maxKeys : 256 });
  // Intents are merged in by key; `intentIndex` walks them in the scan's direction.
  let intentIndex = reverse ? intents.length - 1 : 0;
  const step = reverse ? -1 : 1;

  try {
    if (reverse) {
      // The last entry at or before the end bound may be the end key's own newest one.
      cursor.seek(rawEnd);
      if (cursor.valid() && Buffer.compare(cursor.key(), rawEnd) >= 0) {
        cursor.next();
      }
    } else {
      cursor.seek(rawStart);
    }
    while (true) {
      const versionInRange = cursor.valid() && inRawSpan(cursor.key(), rawStart, rawEnd);
      const intentEntry = intents[intentIndex];
      if (!versionInRange && intentEntry === undefined) {
        break;
      }
      // The next user key to visit: the nearer of the next version's and next intent's.
      let userKey: Buffer;
      let prefix: Buffer | undefined;
      if (versionInRange) {
        const raw = cursor.key();
        const prefixLength = versionPrefixLength(raw);
        prefix = raw.subarray(0, prefixLength);
        userKey = decodeMvccUserKey(raw, prefixLength);
        if (intentEntry !== undefined) {
          const order = Buffer.compare(intentEntry.key, userKey);
          if (reverse ? order > 0 : order < 0) {
            userKey = intentEntry.key;
            prefix = undefined;
          }
        }
      } else {
        userKey = (intentEntry as IntentEntry).key;
      }

      if ((maxKeys > 0 && rows.length >= maxKeys) || (targetBytes > 0 && bytes >= targetBytes)) {
        resumeSpan = reverse
          ? { start: asBuffer(start), end: keyAfter(userKey) }
          : { start: userKey, end: asBuffer(end) };
        break;
      }

      // The intent on this key, if any, decides first.
      let row: MvccKeyValue | undefined;
      let decided = false;
      if (intentEntry !== undefined && intentEntry.key.equals(userKey)) {
        intentIndex += step;
        const verdict = judgeIntent(userKey, intentEntry.intent, ts, options);
        if (verdict.kind === 'own') {
          decided = true;
          const value = verdict.intent.value;
          row = value === undefined ? undefined : { key: userKey, value, timestamp: verdict.intent.txn.writeTimestamp };
        } else if (verdict.kind === 'conflict') {
          decided = true;
          conflicts.push(verdict.conflict);
        }
      }

      if (prefix !== undefined) {
        const visible = reverse
          ? visibleVersionReverse(cursor, prefix, userKey, ts, limit)
          : visibleVersionForward(cursor, prefix, userKey, ts, limit);
        if (!decided) {
          row = visible;
        }
      }
      if (row !== undefined) {
        rows.push(row);
        bytes += row.key.length + row.value.length;
      }
    }
  } finally {
    cursor.close();
  }
  if (conflicts.length > 0) {
    throw new WriteIntentError(conflicts);
  }
  if (resumeSpan === undefined && cut !== undefined) {
    resumeSpan = reverse ? { start: asBuffer(start), end: keyAfter(cut) } : { start: cut, end: asBuffer(end) };
  }
  return { rows, resumeSpan };
}

/** Intents a scan with limits reads at least (more when its key limit is higher). */
const MIN_INTENTS_PER_LIMITED_SCAN = 1_000;

function inRawSpan(raw: Buffer, rawStart: Buffer, rawEnd: Buffer): boolean {
  return Buffer.compare(raw, rawStart) >= 0 && Buffer.compare(raw, rawEnd) < 0;
}

/**
 * With the cursor on the newest version of a key, returns the version visible at
 * `ts` and leaves the cursor on the first entry of the next key.
 */
function visibleVersionForward(
  cursor: EngineCursor,
  prefix: Buffer,
  userKey: Buffer,
  ts: Timestamp,
  limit: Timestamp,
): MvccKeyValue | undefined {
  let found: MvccKeyValue | undefined;
  let searching = true;
  let nexts = 0;
  while (cursor.valid()) {
    const raw = cursor.key();
    if (!isVersionOf(raw, prefix)) {
      return found;
    }
    if (searching) {
      const versionTs = entryTimestamp(raw, cursor.value(), prefix.length);
      if (compareTimestamps(versionTs, ts) <= 0) {
        searching = false;
        found = visibleRow(userKey, entryVersionValue(raw, cursor.value(), prefix.length), versionTs);
      } else if (compareTimestamps(versionTs, limit) <= 0) {
        throw new ReadWithinUncertaintyIntervalError(userKey, ts, versionTs, limit);
      } else if (++nexts > NEXTS_BEFORE_SEEK) {
        // Many versions above the read: jump to the newest one within the limit.
        cursor.seek(versionKeyFromPrefix(prefix, limit));
        continue;
      }
    } else if (++nexts > NEXTS_BEFORE_SEEK) {
      // Many older versions left: jump past the oldest possible one.
      cursor.seek(versionKeyFromPrefix(prefix, ZERO_TIMESTAMP));
      if (cursor.valid() && isOlderVersionOf(cursor.key(), prefix)) {
        cursor.next();
      }
      return found;
    }
    cursor.next();
  }
  return found;
}

/**
 * Reverse iteration meets a key's versions oldest first, the newest (bare) entry
 * last: the visible one is the last at or below `ts`. Leaves the cursor on the oldest
 * version of the previous key.
 */
function visibleVersionReverse(
  cursor: EngineCursor,
  prefix: Buffer,
  userKey: Buffer,
  ts: Timestamp,
  limit: Timestamp,
): MvccKeyValue | undefined {
  let candidateTs: Timestamp | undefined;
  let candidateValue: Buffer | undefined;
  while (cursor.valid()) {
    const raw = cursor.key();
    if (!isVersionOf(raw, prefix)) {
      break;
    }
    const versionTs = entryTimestamp(raw, cursor.value(), prefix.length);
    if (compareTimestamps(versionTs, ts) <= 0) {
      candidateTs = versionTs;
      candidateValue = entryVersionValue(raw, cursor.value(), prefix.length);
    } else if (compareTimestamps(versionTs, limit) <= 0) {
      throw new ReadWithinUncertaintyIntervalError(userKey, ts, versionTs, limit);
    } else {
      // Every newer entry of this key is above the limit too: jump to the newest
      // (bare) entry, the last at or before the prefix, and step past it.
      cursor.seek(prefix);
      if (cursor.valid() && isVersionOf(cursor.key(), prefix)) {
        cursor.next();
      }
      break;
    }
    cursor.next();
  }
  return candidateTs === undefined || candidateValue === undefined
    ? undefined
    : visibleRow(userKey, candidateValue, candidateTs);
}

export interface GcResult {
  readonly versionsRemoved: number;
  readonly bytesRemoved: number;
  /** Set when `maxVersions` stopped the pass: where the next pass starts. */
  readonly resumeKey: Buffer | undefined;
}

/**
 * Removes the versions of keys in [start, end) that no read at or above `threshold`
 * can see: everything older than the newest version at or below the threshold, and
 * that version too when it is a tombstone. Intents are never touched.
 */
export function mvccGarbageCollect(
  reader: EngineReader,
  batch: WriteBatch,
  start: Uint8Array,
  end: Uint8Array,
  threshold: Timestamp,
  options: { readonly maxVersions?: number } = {},
): GcResult {
  validateSpan(start, end);
  const maxVersions = options.maxVersions ?? 0;
  const [rawStart, rawEnd] = versionSpan(start, end);
  let versionsRemoved = 0;
  let bytesRemoved = 0;
  let resumeKey: Buffer | undefined;
  let currentPrefix: Buffer | undefined;
  // Per key: whether the version visible at the threshold has been passed.
  let passedVisible = false;
  forEachInSpan(reader, rawStart, rawEnd, (raw, value) => {
    const prefixLength = versionPrefixLength(raw);
    if (currentPrefix === undefined || !isVersionOf(raw, currentPrefix)) {
      currentPrefix = raw.subarray(0, prefixLength);
      passedVisible = false;
      if (maxVersions > 0 && versionsRemoved >= maxVersions) {
        resumeKey = decodeMvccUserKey(raw, prefixLength);
        return false;
      }
    }
    if (compareTimestamps(entryTimestamp(raw, value, prefixLength), threshold) > 0) {
      return true;
    }
    let remove = passedVisible;
    if (!passedVisible) {
      passedVisible = true;
      // When the newest entry goes, it is a tombstone and every older one goes too,
      // so no key is left with older versions and no newest one.
      remove = isTombstoneValue(entryVersionValue(raw, value, prefixLength));
    }
    if (remove) {
      batch.delete(raw);
      versionsRemoved++;
      bytesRemoved += raw.length + value.length;
    }
    return true;
  });
  return { versionsRemoved, bytesRemoved, resumeKey };
}

/** What a span holds: the basis of range size estimates (splits) and of GC decisions. */
export interface MvccStats {
  /** User keys with at least one version. */
  readonly keyCount: number;
  /** User keys whose newest version is a value (not a tombstone). */
  readonly liveCount: number;
  readonly versionCount: number;
  /** Bytes of raw version keys. */
  readonly keyBytes: number;
  /** Bytes of raw version values. */
  readonly valueBytes: number;
  /** Bytes (key and value) of the newest versions that are values. */
  readonly liveBytes: number;
  readonly intentCount: number;
  /** Bytes of lock table keys and intents. */
  readonly intentBytes: number;
  /** All bytes the span uses: versions and intents. */
  readonly totalBytes: number;
}

/** Counts what [start, end) holds, by reading all of it. */
export function computeStats(reader: EngineReader, start: Uint8Array, end: Uint8Array): MvccStats {
  validateSpan(start, end);
  let keyCount = 0;
  let liveCount = 0;
  let versionCount = 0;
  let keyBytes = 0;
  let valueBytes = 0;
  let liveBytes = 0;
  let intentCount = 0;
  let intentBytes = 0;

  const [lockStart, lockEnd] = lockTableSpan(start, end);
  forEachInSpan(reader, lockStart, lockEnd, (key, value) => {
    intentCount++;
    intentBytes += key.length + value.length;
  });

  const [rawStart, rawEnd] = versionSpan(start, end);
  forEachInSpan(reader, rawStart, rawEnd, (raw, value) => {
    const prefixLength = versionPrefixLength(raw);
    versionCount++;
    keyBytes += raw.length;
    valueBytes += value.length;
    if (raw.length === prefixLength) {
      // The newest version of a new key.
      keyCount++;
      if (!isTombstoneValue(newestVersionValue(value))) {
        liveCount++;
        liveBytes += raw.length + value.length;
      }
    }
  });
  return {
    keyCount,
    liveCount,
    versionCount,
    keyBytes,
    valueBytes,
    liveBytes,
    intentCount,
    intentBytes,
    totalBytes: keyBytes + valueBytes + intentBytes,
  };
}

/** Why a refresh of a read span cannot move up: the first write found in the window. */
export type RefreshConflict =
  | { readonly kind: 'version'; readonly key: Buffer; readonly timestamp: Timestamp }
  | { readonly kind: 'intent'; readonly conflict: IntentConflict };

/**
 * Whether a read of [start, end) at `from` still reads the same at `to`: the first
 * committed version (tombstones included) with a timestamp in (from, to], or intent of
 * another transaction at or below `to`, or undefined when there is none. Intents of
 * `txnId` (the refreshing transaction's own writes) do not count.
 */
export function mvccFindRefreshConflict(
  reader: EngineReader,
  start: Uint8Array,
  end: Uint8Array,
  from: Timestamp,
  to: Timestamp,
  txnId: Buffer | undefined,
): RefreshConflict | undefined {
  return mvccRefreshSpan(reader, start, end, from, to, txnId, 0).conflict;
}

export interface RefreshSpanResult {
  /** The first write found in the window, if any. */
  readonly conflict?: RefreshConflict;
  /** Where the check stopped at its limit, with no conflict before: check on from here. */
  readonly resumeKey?: Buffer;
  /** Versions and intents of others looked at (what counts toward the limit). */
  readonly checked: number;
}

/**
 * mvccFindRefreshConflict over as much of [start, end) as `maxEntries` versions (and as
 * many intents of others) allow, 0 for no limit, stopping between two keys. The
 * refreshing transaction's own intents are passed over without reading them where the
 * engine can, so a span it wrote a million keys in costs little more than one it did not.
 */
export function mvccRefreshSpan(
  reader: EngineReader,
  start: Uint8Array,
  end: Uint8Array,
  from: Timestamp,
  to: Timestamp,
  txnId: Buffer | undefined,
  maxEntries: number,
): RefreshSpanResult {
  validateSpan(start, end);
  let resumeKey: Buffer | undefined;
  let found: RefreshConflict | undefined;
  let entries = 0;
  let lastKey: Buffer | undefined;
  const [rawStart, rawEnd] = versionSpan(start, end);
  forEachInSpan(
    reader,
    rawStart,
    rawEnd,
    (raw, value) => {
      const prefixLength = versionPrefixLength(raw);
      if (maxEntries > 0 && ++entries > maxEntries) {
        // Stop between keys: every version of a key is judged in one go.
        const key = decodeMvccUserKey(raw, prefixLength);
        if (lastKey === undefined || !key.equals(lastKey)) {
          resumeKey = key;
          return false;
        }
      }
      const ts = entryTimestamp(raw, value, prefixLength);
      if (compareTimestamps(ts, from) > 0 && compareTimestamps(ts, to) <= 0) {
        found = { kind: 'version', key: decodeMvccUserKey(raw, prefixLength), timestamp: ts };
        return false;
      }
      if (maxEntries > 0) lastKey = decodeMvccUserKey(raw, prefixLength);
      return undefined;
    },
    64,
  );
  // Intents only where versions were checked.
  const [lockStart, lockEnd] = lockTableSpan(start, resumeKey ?? end);
  let intentConflict: RefreshConflict | undefined;
  let intents = 0;
  forEachIntentOfOthers(reader, lockStart, lockEnd, txnId, (key, intent) => {
    if (compareTimestamps(intent.txn.writeTimestamp, to) <= 0) {
      intentConflict = { kind: 'intent', conflict: conflictOf(key, intent) };
      return false;
    }
    if (++intents > maxEntries && maxEntries > 0) {
      // Many intents of others above the window: check on from this one.
      resumeKey = key;
      if (found?.kind === 'version' && Buffer.compare(found.key, key) >= 0) found = undefined;
      return false;
    }
    return undefined;
  });
  // An intent is reported before a version: either fails the refresh, and the intent
  // also tells the caller whom to push.
  const checked = entries + intents;
  if (intentConflict !== undefined) return { conflict: intentConflict, checked };
  if (found !== undefined) return { conflict: found, checked };
  return resumeKey === undefined ? { checked } : { resumeKey, checked };
}

/**
 * Visits the intents in the lock table span [lockStart, lockEnd) not held by `txnId`,
 * leaving that transaction's own out, without reading them where the engine can.
 */
function forEachIntentOfOthers(
  reader: EngineReader,
  lockStart: Uint8Array,
  lockEnd: Uint8Array,
  txnId: Buffer | undefined,
  visit: (key: Buffer, intent: Intent) => boolean | void,
): void {
  const cursor = reader.cursor({ expectedEntries: 4, upperBound: lockEnd, ...(txnId === undefined ? {} : { skipIntentsOf: txnId }) });
  try {
    for (cursor.seek(lockStart); cursor.valid(); cursor.next()) {
      const raw = cursor.key();
      if (Buffer.compare(raw, lockEnd) >= 0) break;
      const value = cursor.value();
      if (txnId !== undefined) {
        const owner = intentTxnId(value);
        if (owner !== undefined && Buffer.compare(owner, txnId) === 0) continue;
      }
      const intent = decodeIntent(value);
      if (txnId !== undefined && intent.txn.id.equals(txnId)) continue;
      if (visit(decodeLockTableKey(raw), intent) === false) break;
    }
  } finally {
    cursor.close();
  }
}
