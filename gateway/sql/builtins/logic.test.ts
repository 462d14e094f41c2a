import type { Bool3 } from './logic';
import { and3, not3, or3 } from './logic';

// SQL standard / PostgreSQL manual §9.1: the truth tables of AND, OR and NOT with NULL.
const VALUES: readonly Bool3[] = [true, false, null];

describe('three-valued logic', () => {
  it.each([
    [true, true, true],
    [true, false, false],
    [true, null, null],
    [false, true, false],
    [false, false, false],
    [false, null, false],
    [null, true, null],
    [null, false, false],
    [null, null, null],
  ] as const)('%s AND %s = %s', (a, b, expected) => {
    expect(and3(a, b)).toBe(expected);
  });

  it.each([
    [true, true, true],
    [true, false, true],
    [true, null, true],
    [false, true, true],
    [false, false, false],
    [false, null, null],
    [null, true, true],
    [null, false, null],
    [null, null, null],
  ] as const)('%s OR %s = %s', (a, b, expected) => {
    expect(or3(a, b)).toBe(expected);
  });

  it('NOT', () => {
    expect(not3(true)).toBe(false);
    expect(not3(false)).toBe(true);
    expect(not3(null)).toBe(null);
  });

  it('AND and OR are commutative and dual under NOT (De Morgan)', () => {
    for (const a of VALUES) {
      for (const b of VALUES) {
        expect(and3(a, b)).toBe(and3(b, a));
        expect(or3(a, b)).toBe(or3(b, a));
        expect(not3(and3(a, b))).toBe(or3(not3(a), not3(b)));
        expect(not3(or3(a, b))).toBe(and3(not3(a), not3(b)));
      }
    }
  });
});
