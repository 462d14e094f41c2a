import { SqlError } from '../../../common/errors';
import { sqlSequenceValueKey } from '../../../common/keys';
import type { KvClient } from '../../../kv';
import { ConditionFailedError } from '../../../kv';
import type { SequenceDescriptor } from './descriptors';
import type { SequenceState, StoredSequenceState } from './sequence-values';
import { decodeSequenceState, encodeSequenceState, reserve, SEQUENCE_LIMIT_EXCEEDED, startState } from './sequence-values';

/**
 * A sequence's value in KV, under `sqlSequenceValueKey(id)`, changed by compare-and-set
 * outside any transaction: what nextval took is never taken again, by any gateway, and
 * no rollback gives it back (PostgreSQL's sequences are non-transactional too). A
 * sequence whose key is absent stands at its start.
 */

/** The KV calls a sequence's value needs: single-key reads and compare-and-set. */
export type SequenceKv = Pick<KvClient, 'get' | 'conditionalPut'>;

export interface ReservedValues {
  /** The state the values are stepped from (nextval from here gives the first one). */
  readonly from: SequenceState;
  readonly granted: number;
  /** What the store holds after the reservation. */
  readonly end: StoredSequenceState;
}

function decodeOrStart(seq: SequenceDescriptor, raw: Buffer | undefined): StoredSequenceState {
  return raw === undefined ? { ...startState(seq.start), stamp: 0n } : decodeSequenceState(raw);
}

/**
 * Replaces the stored state with `change(current)` by compare-and-set, starting from
 * `guess` (what the caller last wrote, likely still there: one round trip) or a read,
 * and trying again with what the store holds after losing to another writer. `change`
 * returning undefined leaves it as it is.
 */
async function update(
  kv: SequenceKv,
  seq: SequenceDescriptor,
  change: (current: StoredSequenceState) => SequenceState | undefined,
  guess?: Buffer,
): Promise<{ readonly before: StoredSequenceState; readonly after: StoredSequenceState } | undefined> {
  const key = sqlSequenceValueKey(seq.id);
  let raw = guess ?? (await kv.get(key));
  for (;;) {
    const before = decodeOrStart(seq, raw);
    const next = change(before);
    if (next === undefined) return undefined;
    const after: StoredSequenceState = { lastValue: next.lastValue, isCalled: next.isCalled, stamp: before.stamp + 1n };
    try {
      await kv.conditionalPut(key, encodeSequenceState(after), raw);
      return { before, after };
    } catch (err) {
      if (!(err instanceof ConditionFailedError)) throw err;
      raw = err.actualValue;
    }
  }
}

export async function readSequenceState(kv: SequenceKv, seq: SequenceDescriptor): Promise<StoredSequenceState> {
  return decodeOrStart(seq, await kv.get(sqlSequenceValueKey(seq.id)));
}

/**
 * Takes up to `want` values for the caller alone; undefined when the sequence has none
 * left (its bound reached without CYCLE).
 */
export async function reserveValues(kv: SequenceKv, seq: SequenceDescriptor, want: number, guess?: Buffer): Promise<ReservedValues | undefined> {
  let granted = 0;
  const done = await update(
    kv,
    seq,
    (current) => {
      try {
        const r = reserve(seq, current, want);
        granted = r.granted;
        return r.end;
      } catch (err) {
        if (err instanceof SqlError && err.sqlState === SEQUENCE_LIMIT_EXCEEDED) return undefined;
        throw err;
      }
    },
    guess,
  );
  return done === undefined ? undefined : { from: done.before, granted, end: done.after };
}

/** Sets the state (setval, RESTART, a new sequence's start); resolves with what is stored. */
export async function writeSequenceState(kv: SequenceKv, seq: SequenceDescriptor, state: SequenceState): Promise<StoredSequenceState> {
  const done = await update(kv, seq, () => state);
  return (done as NonNullable<typeof done>).after;
}

/**
 * Returns unused values: puts `state` back if the store still holds `reservedEnd`, i.e.
 * nobody reserved or set anything since, and resolves with what is stored then;
 * undefined when someone did (the values stay unused).
 */
export async function giveBack(kv: SequenceKv, seq: SequenceDescriptor, reservedEnd: StoredSequenceState, state: SequenceState): Promise<StoredSequenceState | undefined> {
  const after: StoredSequenceState = { lastValue: state.lastValue, isCalled: state.isCalled, stamp: reservedEnd.stamp + 1n };
  try {
    await kv.conditionalPut(sqlSequenceValueKey(seq.id), encodeSequenceState(after), encodeSequenceState(reservedEnd));
    return after;
  } catch (err) {
    if (err instanceof ConditionFailedError) return undefined;
    throw err;
  }
}
