import { SqlError } from '../../../common/errors';
import type { SequenceOptionChanges, SequenceOptions } from './sequence-options';
import { resolveSequenceOptions } from './sequence-options';

/** Expected values are PostgreSQL 15's for the same statements. */

function failure(changes: SequenceOptionChanges, current?: { options: SequenceOptions; lastValue: bigint }): { code: string; message: string } | undefined {
  try {
    resolveSequenceOptions(changes, current);
    return undefined;
  } catch (err) {
    if (err instanceof SqlError) return { code: err.sqlState, message: err.message };
    throw err;
  }
}

const INT8_MAX = 9223372036854775807n;
const INT8_MIN = -9223372036854775808n;

describe('CREATE SEQUENCE defaults', () => {
  test('ascending: 1 .. the type maximum, starting at MINVALUE', () => {
    expect(resolveSequenceOptions({})).toEqual({
      options: { dataType: 'int8', start: 1n, increment: 1n, minValue: 1n, maxValue: INT8_MAX, cache: 1n, cycle: false },
      restartAt: 1n,
    });
    expect(resolveSequenceOptions({ dataType: 'int2' }).options).toMatchObject({ minValue: 1n, maxValue: 32767n });
    expect(resolveSequenceOptions({ dataType: 'int4', minValue: 10n }).options).toMatchObject({ start: 10n, maxValue: 2147483647n });
  });

  test('descending: the type minimum .. -1, starting at MAXVALUE', () => {
    expect(resolveSequenceOptions({ increment: -1n }).options).toMatchObject({ minValue: INT8_MIN, maxValue: -1n, start: -1n });
    expect(resolveSequenceOptions({ increment: -2n, dataType: 'int2' }).options).toMatchObject({ minValue: -32768n, maxValue: -1n });
  });

  test('NO MINVALUE / NO MAXVALUE are the defaults', () => {
    expect(resolveSequenceOptions({ minValue: null, maxValue: null }).options).toMatchObject({ minValue: 1n, maxValue: INT8_MAX });
  });
});

describe('checks (22023)', () => {
  test.each<[string, SequenceOptionChanges, string]>([
    ['zero increment', { increment: 0n }, 'INCREMENT must not be zero'],
    ['min above max', { minValue: 10n, maxValue: 5n }, 'MINVALUE (10) must be less than MAXVALUE (5)'],
    ['min equal to max', { minValue: 5n, maxValue: 5n }, 'MINVALUE (5) must be less than MAXVALUE (5)'],
    ['start below min', { start: 0n }, 'START value (0) cannot be less than MINVALUE (1)'],
    ['start above max', { maxValue: 10n, start: 11n }, 'START value (11) cannot be greater than MAXVALUE (10)'],
    ['restart below min', { restart: 0n }, 'RESTART value (0) cannot be less than MINVALUE (1)'],
    ['zero cache', { cache: 0n }, 'CACHE (0) must be greater than zero'],
    ['max outside smallint', { dataType: 'int2', maxValue: 40000n }, 'MAXVALUE (40000) is out of range for sequence data type smallint'],
    ['min outside integer', { dataType: 'int4', minValue: -2147483649n }, 'MINVALUE (-2147483649) is out of range for sequence data type integer'],
  ])('%s', (_name, changes, message) => {
    expect(failure(changes)).toEqual({ code: '22023', message });
  });
});

describe('ALTER SEQUENCE', () => {
  const current = { options: resolveSequenceOptions({}).options, lastValue: 7n };

  test('unnamed options keep their values and nothing restarts', () => {
    expect(resolveSequenceOptions({ increment: 5n }, current)).toEqual({ options: { ...current.options, increment: 5n } });
  });

  test('RESTART without a value goes back to START; with one, to it', () => {
    expect(resolveSequenceOptions({ restart: null }, current).restartAt).toBe(1n);
    expect(resolveSequenceOptions({ restart: 50n, start: 20n }, current).restartAt).toBe(50n);
  });

  test('a new increment direction keeps the bounds (PostgreSQL does not recompute them)', () => {
    expect(resolveSequenceOptions({ increment: -1n }, current).options).toMatchObject({ minValue: 1n, maxValue: INT8_MAX });
  });

  test('AS moves bounds that were the old type default, and leaves chosen ones', () => {
    expect(resolveSequenceOptions({ dataType: 'int2' }, current).options).toMatchObject({ dataType: 'int2', minValue: 1n, maxValue: 32767n });
    const chosen = { options: resolveSequenceOptions({ maxValue: 1000n }).options, lastValue: 1n };
    expect(resolveSequenceOptions({ dataType: 'int4' }, chosen).options).toMatchObject({ maxValue: 1000n });
  });

  test('new bounds are checked against the current value', () => {
    expect(failure({ maxValue: 5n }, current)).toEqual({ code: '22023', message: 'RESTART value (7) cannot be greater than MAXVALUE (5)' });
    expect(failure({ maxValue: 5n, restart: 2n }, current)).toBeUndefined();
  });
});
