import * as fc from 'fast-check';
import { SqlError } from '../../../common/errors';
import type { SequenceBounds, SequenceState } from './sequence-values';
import { checkSetval, decodeSequenceState, encodeSequenceState, nextState, reserve, startState } from './sequence-values';

const ascending: SequenceBounds = { name: 's', increment: 1n, minValue: 1n, maxValue: 9223372036854775807n, cycle: false };

function sqlError(fn: () => unknown): { code: string; message: string } | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof SqlError) return { code: err.sqlState, message: err.message };
    throw err;
  }
}

/** The values nextval would return `n` times from `state`. */
function take(seq: SequenceBounds, state: SequenceState, n: number): { values: bigint[]; state: SequenceState } {
  const values: bigint[] = [];
  let at = state;
  for (let i = 0; i < n; i++) {
    at = nextState(seq, at);
    values.push(at.lastValue);
  }
  return { values, state: at };
}

describe('nextState (PostgreSQL nextval_internal)', () => {
  test('a fresh sequence returns its start, then steps by the increment', () => {
    expect(take(ascending, startState(1n), 3).values).toEqual([1n, 2n, 3n]);
    expect(take({ ...ascending, increment: -3n, minValue: -10n, maxValue: -1n }, startState(-1n), 3).values).toEqual([-1n, -4n, -7n]);
  });

  test('at the bound: 2200H with the bound in the message, or a wrap with CYCLE', () => {
    const small: SequenceBounds = { name: 'small', increment: 2n, minValue: 1n, maxValue: 5n, cycle: false };
    const at5 = { lastValue: 5n, isCalled: true };
    expect(sqlError(() => nextState(small, at5))).toEqual({ code: '2200H', message: 'nextval: reached maximum value of sequence "small" (5)' });
    expect(sqlError(() => nextState({ ...small, increment: -2n }, { lastValue: 1n, isCalled: true }))).toEqual({
      code: '2200H',
      message: 'nextval: reached minimum value of sequence "small" (1)',
    });
    // A step that would pass the bound (4 + 2 > 5) counts as reaching it.
    expect(sqlError(() => nextState(small, { lastValue: 4n, isCalled: true }))?.code).toBe('2200H');
    expect(nextState({ ...small, cycle: true }, at5)).toEqual({ lastValue: 1n, isCalled: true });
    expect(nextState({ ...small, cycle: true, increment: -2n }, { lastValue: 1n, isCalled: true })).toEqual({ lastValue: 5n, isCalled: true });
  });

  test('int8 bounds do not overflow', () => {
    const top = { lastValue: 9223372036854775807n, isCalled: true };
    expect(sqlError(() => nextState(ascending, top))?.code).toBe('2200H');
  });
});

describe('reserve', () => {
  const seqArb = fc
    .record({
      increment: fc.bigInt(-5n, 5n).filter((n) => n !== 0n),
      minValue: fc.bigInt(-30n, 0n),
      span: fc.bigInt(1n, 40n),
      cycle: fc.boolean(),
    })
    .map(({ increment, minValue, span, cycle }): SequenceBounds => ({ name: 'p', increment, minValue, maxValue: minValue + span, cycle }));

  // A reservation is exactly what `granted` nextval calls would return, so handing out
  // from it and calling nextval on the store give the same values.
  test('stepping from the start `granted` times ends where the reservation says', () => {
    fc.assert(
      fc.property(seqArb, fc.nat(60), fc.boolean(), fc.integer({ min: 1, max: 100 }), (seq, offset, isCalled, want) => {
        const span = Number(seq.maxValue - seq.minValue);
        const state: SequenceState = { lastValue: seq.minValue + BigInt(offset % (span + 1)), isCalled };
        let r: ReturnType<typeof reserve>;
        try {
          r = reserve(seq, state, want);
        } catch (err) {
          // Only when nextval itself would fail.
          expect(sqlError(() => nextState(seq, state))?.code).toBe('2200H');
          expect((err as SqlError).sqlState).toBe('2200H');
          return;
        }
        expect(r.granted).toBeGreaterThanOrEqual(1);
        expect(r.granted).toBeLessThanOrEqual(want);
        const { values, state: end } = take(seq, state, r.granted);
        expect(end).toEqual(r.end);
        // No value twice inside one reservation, even when cycling.
        expect(new Set(values).size).toBe(values.length);
        if (r.granted < want) {
          // It stopped at the bound: the next step would wrap or fail.
          const next = end.lastValue + seq.increment;
          expect(next > seq.maxValue || next < seq.minValue).toBe(true);
        }
      }),
    );
  });

  test('a large reservation is computed, not stepped', () => {
    const r = reserve(ascending, startState(1n), 1_000_000);
    expect(r).toEqual({ granted: 1_000_000, end: { lastValue: 1_000_000n, isCalled: true } });
  });
});

describe('stored state', () => {
  test('round-trips', () => {
    fc.assert(
      fc.property(fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n), fc.boolean(), fc.bigInt(0n, 2n ** 64n - 1n), (lastValue, isCalled, stamp) => {
        expect(decodeSequenceState(encodeSequenceState({ lastValue, isCalled, stamp }))).toEqual({ lastValue, isCalled, stamp });
      }),
    );
  });

  test('a value of the wrong length is refused', () => {
    expect(() => decodeSequenceState(Buffer.alloc(9))).toThrow(/malformed sequence value/);
  });
});

test('setval outside the bounds is 22003 with the bounds', () => {
  expect(sqlError(() => checkSetval({ ...ascending, maxValue: 10n }, 11n))).toEqual({
    code: '22003',
    message: 'setval: value 11 is out of bounds for sequence "s" (1..10)',
  });
  expect(sqlError(() => checkSetval(ascending, 1n))).toBeUndefined();
});
