import { decideLease } from './leader-election';

describe('decideLease', () => {
  const record = { holder: 'a', leaseDurationMs: 15_000, transitions: 2, observedAtMs: 1_000 };

  test('creates a Lease that does not exist', () => {
    expect(decideLease(undefined, 'b', 0)).toEqual({ kind: 'create' });
  });

  test('the holder renews', () => {
    expect(decideLease(record, 'a', 100_000)).toEqual({ kind: 'renew' });
  });

  test('others wait a whole lease duration after they first saw the record, on their own clock', () => {
    expect(decideLease(record, 'b', 15_999)).toEqual({ kind: 'wait', holder: 'a' });
    expect(decideLease(record, 'b', 16_000)).toEqual({ kind: 'take-over', transitions: 3 });
  });

  test('a released Lease (no holder) is taken at once', () => {
    expect(decideLease({ ...record, holder: '' }, 'b', 1_000)).toEqual({ kind: 'take-over', transitions: 3 });
  });
});
