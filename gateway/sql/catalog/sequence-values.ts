import { assert, MalformedEncodingError, SqlError, SqlStates } from '../../../common/errors';
import type { SqlState } from '../../../common/errors';
import type { SequenceDescriptor } from './descriptors';

/**
 * A sequence's value and how nextval moves it, as PostgreSQL's sequence.c does. Pure:
 * the KV reads and writes are sequence-store.ts's, the per-session caches
 * session-sequences.ts's.
 *
 * The state is PostgreSQL's (last_value, is_called): the next nextval returns
 * `lastValue` itself when `isCalled` is false (a fresh or restarted sequence, or
 * setval(..., false)), else `lastValue + increment`, wrapping with CYCLE or failing
 * with 2200H at the bound.
 */

export interface SequenceState {
  readonly lastValue: bigint;
  readonly isCalled: boolean;
}

/**
 * The stored form adds a counter bumped by every write, so that a compare-and-set
 * against a value read earlier cannot succeed after the state went away and came back.
 */
export interface StoredSequenceState extends SequenceState {
  readonly stamp: bigint;
}

export type SequenceBounds = Pick<SequenceDescriptor, 'name' | 'increment' | 'minValue' | 'maxValue' | 'cycle'>;

/** 2200H sequence_generator_limit_exceeded. */
export const SEQUENCE_LIMIT_EXCEEDED: SqlState = SqlStates.sequenceGeneratorLimitExceeded;

const ENCODED_BYTES = 17;

export function encodeSequenceState(state: StoredSequenceState): Buffer {
  const out = Buffer.alloc(ENCODED_BYTES);
  out.writeBigInt64BE(state.lastValue, 0);
  out.writeUInt8(state.isCalled ? 1 : 0, 8);
  out.writeBigUInt64BE(state.stamp, 9);
  return out;
}

export function decodeSequenceState(bytes: Uint8Array): StoredSequenceState {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length !== ENCODED_BYTES || (buf[8] !== 0 && buf[8] !== 1)) {
    throw new MalformedEncodingError('sequence value', 0, `expected ${ENCODED_BYTES} bytes, got ${buf.length}`);
  }
  return { lastValue: buf.readBigInt64BE(0), isCalled: buf[8] === 1, stamp: buf.readBigUInt64BE(9) };
}

/** Where a new (or restarted) sequence stands: its next nextval returns `first`. */
export function startState(first: bigint): SequenceState {
  return { lastValue: first, isCalled: false };
}

export function limitError(seq: SequenceBounds, which: 'max' | 'min'): SqlError {
  const bound = which === 'max' ? seq.maxValue : seq.minValue;
  return new SqlError(SEQUENCE_LIMIT_EXCEEDED, `nextval: reached ${which === 'max' ? 'maximum' : 'minimum'} value of sequence "${seq.name}" (${bound})`);
}

/**
 * The value the next nextval returns from `state` without wrapping, or undefined when
 * the step would pass the bound.
 */
function stepWithin(seq: SequenceBounds, state: SequenceState): bigint | undefined {
  if (!state.isCalled) return state.lastValue;
  const next = state.lastValue + seq.increment;
  return next > seq.maxValue || next < seq.minValue ? undefined : next;
}

/** nextval: the state after it (its `lastValue` is the value returned); 2200H at the bound without CYCLE. */
export function nextState(seq: SequenceBounds, state: SequenceState): SequenceState {
  const within = stepWithin(seq, state);
  if (within !== undefined) return { lastValue: within, isCalled: true };
  if (!seq.cycle) throw limitError(seq, seq.increment > 0n ? 'max' : 'min');
  return { lastValue: seq.increment > 0n ? seq.minValue : seq.maxValue, isCalled: true };
}

export interface Reservation {
  /** How many nextval steps from the starting state the reservation covers (≥ 1). */
  readonly granted: number;
  /** The state after those steps: what the store holds once the values are taken. */
  readonly end: SequenceState;
}

/**
 * Takes up to `want` values from `state`. Like PostgreSQL filling its cache, it stops
 * early at the bound rather than wrap inside one reservation, so a reservation never
 * holds a value twice; only its first value may be a wrap (CYCLE). Throws 2200H when
 * not even one value is left.
 */
export function reserve(seq: SequenceBounds, state: SequenceState, want: number): Reservation {
  assert(Number.isSafeInteger(want) && want >= 1, `bad reservation size ${want}`);
  let first = stepWithin(seq, state);
  if (first === undefined) {
    first = nextState(seq, state).lastValue;
  }
  const step = seq.increment;
  // Values first, first + step, ... that stay within the bound.
  const room = step > 0n ? (seq.maxValue - first) / step + 1n : (first - seq.minValue) / -step + 1n;
  if (room < 1n) {
    // Only a state left outside the bounds (not reachable through ALTER's checks) gets here.
    throw limitError(seq, step > 0n ? 'max' : 'min');
  }
  const granted = room < BigInt(want) ? room : BigInt(want);
  return { granted: Number(granted), end: { lastValue: first + (granted - 1n) * step, isCalled: true } };
}

/** 22003 unless `value` is within the sequence's bounds (setval). */
export function checkSetval(seq: SequenceBounds, value: bigint): void {
  if (value < seq.minValue || value > seq.maxValue) {
    throw new SqlError(SqlStates.numericValueOutOfRange, `setval: value ${value} is out of bounds for sequence "${seq.name}" (${seq.minValue}..${seq.maxValue})`);
  }
}
