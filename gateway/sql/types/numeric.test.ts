import fc from 'fast-check';
import { SqlError } from '../../../common/errors';
import { Decimal } from '../../../common/encoding/decimal';
import { Numeric, numericTypmod, numericTypmodPrecision, numericTypmodScale } from './numeric';

const n = (text: string): Numeric => Numeric.parse(text);
const s = (x: Numeric): string => x.toString();

function sqlState(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof SqlError) {
      return e.sqlState;
    }
    throw e;
  }
  return undefined;
}

/** Exact oracle: a finite numeric as a rational coef / 10^scale. */
function cmpRational(a: { c: bigint; s: number }, b: { c: bigint; s: number }): number {
  const sc = Math.max(a.s, b.s);
  const x = a.c * 10n ** BigInt(sc - a.s);
  const y = b.c * 10n ** BigInt(sc - b.s);
  return x < y ? -1 : x > y ? 1 : 0;
}

const finiteArb = fc
  .record({ c: fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), s: fc.integer({ min: 0, max: 25 }) })
  .map(({ c, s: sc }) => ({ c, s: sc, v: Numeric.of(c, sc) }));

describe('Numeric.parse / toString (PostgreSQL numeric_in / numeric_out)', () => {
  test.each([
    ['1.50', '1.50'],
    ['  1e3  ', '1000'],
    ['1.5e-3', '0.0015'],
    ['1.50e-1', '0.150'],
    ['1.5E+2', '150'],
    ['-0.00', '0.00'],
    ['-0', '0'],
    ['.5', '0.5'],
    ['5.', '5'],
    ['+7', '7'],
    ['007.100', '7.100'],
    ['0e-5', '0.00000'],
    ['-12345678901234567890.123456789', '-12345678901234567890.123456789'],
    ['NaN', 'NaN'],
    ['nan', 'NaN'],
    [' Infinity ', 'Infinity'],
    ['+infinity', 'Infinity'],
    ['-Infinity', '-Infinity'],
    ['inf', 'Infinity'],
    ['-INF', '-Infinity'],
    ['\t\n1\r', '1'],
  ])('%j -> %s', (input, expected) => {
    expect(s(n(input))).toBe(expected);
  });

  test.each(['', ' ', '.', '-', '+-1', '1e', 'e5', '1e+', '1 2', '1..2', '0x10', '+NaN', 'NaNx', '1_000', 'infinit', '١'])(
    '%j is 22P02',
    (input) => {
      expect(sqlState(() => n(input))).toBe('22P02');
      expect(() => n(input)).toThrow(`invalid input syntax for type numeric: "${input}"`);
    },
  );

  test('out of numeric range is 22003', () => {
    expect(sqlState(() => n('1e131072'))).toBe('22003');
    expect(sqlState(() => n('1e-16384'))).toBe('22003');
    expect(sqlState(() => n('1e2000000000'))).toBe('22003');
    expect(s(n('1e-16383')).length).toBe(16385);
    expect(s(n('9e131071')).length).toBe(131072);
  });

  test('parse(toString(x)) keeps value and display scale', () => {
    fc.assert(
      fc.property(finiteArb, ({ v }) => {
        const back = n(s(v));
        expect(back.coef).toBe(v.coef);
        expect(back.scale).toBe(v.scale);
      }),
    );
  });
});

describe('arithmetic (checked against exact bigint arithmetic)', () => {
  test('add, sub, mul are exact with PostgreSQL display scales', () => {
    fc.assert(
      fc.property(finiteArb, finiteArb, (a, b) => {
        const sc = Math.max(a.s, b.s);
        const ac = a.c * 10n ** BigInt(sc - a.s);
        const bc = b.c * 10n ** BigInt(sc - b.s);
        const sum = a.v.add(b.v);
        expect([sum.coef, sum.scale]).toEqual([ac + bc, sc]);
        const diff = a.v.sub(b.v);
        expect([diff.coef, diff.scale]).toEqual([ac - bc, sc]);
        const prod = a.v.mul(b.v);
        expect([prod.coef, prod.scale]).toEqual([a.c * b.c, a.s + b.s]);
      }),
    );
  });

  test('div is within half a unit of the last place, rounded half away from zero', () => {
    fc.assert(
      fc.property(finiteArb, finiteArb, (a, b) => {
        fc.pre(b.c !== 0n);
        const q = a.v.div(b.v);
        // |q - a/b| ≤ ½ × 10^-q.scale  ⇔  |2·(q·b - a)| ≤ b·10^-q.scale, all scaled to integers.
        const sc = q.scale + a.s + b.s;
        const qb = q.coef * b.c * 10n ** BigInt(sc - q.scale - b.s);
        const av = a.c * 10n ** BigInt(sc - a.s);
        const err = 2n * (qb - av);
        const unit = b.c * 10n ** BigInt(sc - q.scale - b.s);
        const absErr = err < 0n ? -err : err;
        const absUnit = unit < 0n ? -unit : unit;
        expect(absErr <= absUnit).toBe(true);
        if (absErr === absUnit) {
          // A tie rounds away from zero: |q| ≥ |a/b|.
          expect(q.abs().cmp(a.v.abs().div(b.v.abs()).abs())).toBe(0);
        }
        expect(q.scale).toBeGreaterThanOrEqual(Math.max(a.s, b.s));
        expect(q.scale).toBeLessThanOrEqual(Math.max(1000, a.s, b.s));
      }),
    );
  });

  test('mod has the dividend sign and satisfies a = trunc(a/b)·b + a%b', () => {
    fc.assert(
      fc.property(finiteArb, finiteArb, (a, b) => {
        fc.pre(b.c !== 0n);
        const r = a.v.mod(b.v);
        const t = a.v.divTrunc(b.v);
        expect(t.mul(b.v).add(r).eq(a.v)).toBe(true);
        expect(r.abs().lt(b.v.abs())).toBe(true);
        if (!r.isZero()) {
          expect(r.sign()).toBe(a.v.sign());
        }
        expect(r.scale).toBe(Math.max(a.s, b.s));
      }),
    );
  });

  test('cmp agrees with rational comparison; equal values ignore display scale', () => {
    fc.assert(
      fc.property(finiteArb, finiteArb, (a, b) => {
        expect(a.v.cmp(b.v)).toBe(cmpRational(a, b));
        const widened = Numeric.of(a.c * 100n, a.s + 2);
        expect(widened.eq(a.v)).toBe(true);
        expect(widened.normalizedKey()).toBe(a.v.normalizedKey());
      }),
    );
  });

  test('toDecimal / fromDecimal keep the value and order', () => {
    fc.assert(
      fc.property(finiteArb, finiteArb, (a, b) => {
        const da = a.v.toDecimal();
        expect(Numeric.fromDecimal(da).eq(a.v)).toBe(true);
        expect(da.compare(b.v.toDecimal())).toBe(a.v.cmp(b.v));
        expect(da.toString()).toBe(Decimal.parse(s(a.v)).toString());
      }),
    );
    expect(Numeric.fromDecimal(Decimal.parse('1.50')).toString()).toBe('1.5');
    expect(Numeric.fromDecimal(Decimal.parse('1.5e3')).toString()).toBe('1500');
    expect(Numeric.fromDecimal(Decimal.NAN).isNaN()).toBe(true);
    expect(n('-Infinity').toDecimal()).toBe(Decimal.NEGATIVE_INFINITY);
  });

  test.each([
    ['1', '3', '0.33333333333333333333'],
    ['2', '3', '0.66666666666666666667'],
    ['10', '4', '2.5000000000000000'],
    ['100000', '3', '33333.333333333333'],
    ['1.0', '3', '0.33333333333333333333'],
    ['1', '8', '0.12500000000000000000'],
    ['-1', '3', '-0.33333333333333333333'],
    ['1.000000000000000000000000', '3', '0.333333333333333333333333'],
    ['12345678901234567890', '0.001', '12345678901234567890000.000'],
    ['0', '5', '0.00000000000000000000'],
    ['9999', '10000', '0.99990000000000000000'],
    ['10000', '9999', '1.0001000100010001'],
  ])('%s / %s = %s (select_div_scale)', (a, b, q) => {
    expect(s(n(a).div(n(b)))).toBe(q);
  });

  test.each([
    ['7', '3', '1'],
    ['-7', '3', '-1'],
    ['7', '-3', '1'],
    ['7.5', '2', '1.5'],
    ['5.00', '3', '2.00'],
  ])('%s %% %s = %s', (a, b, r) => {
    expect(s(n(a).mod(n(b)))).toBe(r);
  });

  test('products and sums keep display scales', () => {
    expect(s(n('1.1').mul(n('1.1')))).toBe('1.21');
    expect(s(n('1.10').mul(n('2')))).toBe('2.20');
    expect(s(n('1.10').add(n('2.005')))).toBe('3.105');
    expect(s(n('1.10').sub(n('1.1')))).toBe('0.00');
  });

  test('division by zero is 22012', () => {
    expect(sqlState(() => n('1').div(n('0.00')))).toBe('22012');
    expect(sqlState(() => n('1').mod(n('0')))).toBe('22012');
    expect(sqlState(() => n('Infinity').div(n('0')))).toBe('22012');
    expect(sqlState(() => n('0').divTrunc(n('0')))).toBe('22012');
    expect(n('NaN').div(n('0')).isNaN()).toBe(true);
  });

  test('NaN and infinities follow PostgreSQL 14+', () => {
    const inf = Numeric.POSITIVE_INFINITY;
    const ninf = Numeric.NEGATIVE_INFINITY;
    const nan = Numeric.NAN;
    expect(s(inf.add(n('1')))).toBe('Infinity');
    expect(s(inf.add(ninf))).toBe('NaN');
    expect(s(inf.sub(inf))).toBe('NaN');
    expect(s(inf.sub(ninf))).toBe('Infinity');
    expect(s(n('1').sub(inf))).toBe('-Infinity');
    expect(s(inf.mul(n('-2')))).toBe('-Infinity');
    expect(s(inf.mul(n('0')))).toBe('NaN');
    expect(s(n('5').div(inf))).toBe('0');
    expect(s(inf.div(inf))).toBe('NaN');
    expect(s(ninf.div(n('-2')))).toBe('Infinity');
    expect(s(inf.mod(n('3')))).toBe('NaN');
    expect(s(n('5.5').mod(ninf))).toBe('5.5');
    expect(s(nan.add(n('1')))).toBe('NaN');
    expect(s(ninf.abs())).toBe('Infinity');
    expect(s(ninf.neg())).toBe('Infinity');
    // Order: -Infinity < finite < Infinity < NaN, NaN = NaN.
    const sorted = [nan, n('1'), inf, ninf, n('-1e100'), nan].sort((a, b) => a.cmp(b)).map(s);
    expect(sorted).toEqual(['-Infinity', '-1' + '0'.repeat(100), '1', 'Infinity', 'NaN', 'NaN']);
    expect(nan.eq(Numeric.parse('nan'))).toBe(true);
    expect(nan.sign()).toBeNaN();
  });
});

describe('rounding', () => {
  test.each([
    ['2.5', 0, '3'],
    ['-2.5', 0, '-3'],
    ['2.4999', 0, '2'],
    ['1.2345', 2, '1.23'],
    ['1.235', 2, '1.24'],
    ['-1.235', 2, '-1.24'],
    ['1.5', 3, '1.500'],
    ['1234.5', -2, '1200'],
    ['1250', -2, '1300'],
    ['49', -2, '0'],
    ['99.99', 1, '100.0'],
  ])('round(%s, %d) = %s', (x, sc, expected) => {
    expect(s(n(x).round(sc))).toBe(expected);
  });

  test.each([
    ['2.9', 0, '2'],
    ['-2.9', 0, '-2'],
    ['1.2399', 2, '1.23'],
    ['1299', -2, '1200'],
    ['1.5', 3, '1.500'],
  ])('trunc(%s, %d) = %s', (x, sc, expected) => {
    expect(s(n(x).trunc(sc))).toBe(expected);
  });

  test('ceil and floor', () => {
    expect(s(n('1.2').ceil())).toBe('2');
    expect(s(n('-1.5').ceil())).toBe('-1');
    expect(s(n('-1.5').floor())).toBe('-2');
    expect(s(n('1.9').floor())).toBe('1');
    expect(s(n('3.000').floor())).toBe('3');
    expect(s(n('-0.5').ceil())).toBe('0');
    expect(s(Numeric.NEGATIVE_INFINITY.floor())).toBe('-Infinity');
  });

  test('toBigInt rounds half away from zero; NaN/Infinity are 0A000', () => {
    expect(n('2.5').toBigInt()).toBe(3n);
    expect(n('-2.5').toBigInt()).toBe(-3n);
    expect(n('2.49').toBigInt()).toBe(2n);
    expect(n('1e20').toBigInt()).toBe(10n ** 20n);
    expect(sqlState(() => Numeric.NAN.toBigInt('integer'))).toBe('0A000');
    expect(() => Numeric.NAN.toBigInt('integer')).toThrow('cannot convert NaN to integer');
    expect(() => Numeric.POSITIVE_INFINITY.toBigInt()).toThrow('cannot convert infinity to bigint');
  });

  test('withTypmod applies numeric(p, s) like PostgreSQL', () => {
    expect(s(n('123.456').withTypmod(5, 2))).toBe('123.46');
    expect(s(n('1').withTypmod(5, 2))).toBe('1.00');
    expect(s(n('0.001').withTypmod(3, 3))).toBe('0.001');
    expect(s(n('-0.0049').withTypmod(3, 2))).toBe('0.00');
    expect(s(n('12345').withTypmod(5, -2))).toBe('12300');
    expect(s(n('0.00012').withTypmod(2, 5))).toBe('0.00012');
    expect(s(n('NaN').withTypmod(5, 2))).toBe('NaN');
    expect(() => n('1234.5').withTypmod(5, 2)).toThrow('numeric field overflow');
    try {
      n('999.995').withTypmod(5, 2);
      throw new Error('expected overflow');
    } catch (e) {
      expect(e).toBeInstanceOf(SqlError);
      expect((e as SqlError).sqlState).toBe('22003');
      expect((e as SqlError).detail).toBe(
        'A field with precision 5, scale 2 must round to an absolute value less than 10^3.',
      );
    }
    expect(() => n('1').withTypmod(3, 3)).toThrow('numeric field overflow');
    try {
      n('1').withTypmod(3, 3);
    } catch (e) {
      expect((e as SqlError).detail).toBe('A field with precision 3, scale 3 must round to an absolute value less than 1.');
    }
    expect(sqlState(() => Numeric.POSITIVE_INFINITY.withTypmod(10, 2))).toBe('22003');
  });

  test('typmod packing keeps precision and (negative) scale', () => {
    for (const [p, sc] of [
      [10, 2],
      [1000, 1000],
      [5, -3],
      [1, -1000],
      [7, 0],
    ] as const) {
      const t = numericTypmod(p, sc);
      expect([numericTypmodPrecision(t), numericTypmodScale(t)]).toEqual([p, sc]);
    }
    expect(numericTypmod(10, 2)).toBe((10 << 16) | 2);
    expect(s(n('1.005').applyTypmod(numericTypmod(10, 2)))).toBe('1.01');
    expect(s(n('1.005').applyTypmod(-1))).toBe('1.005');
    expect(sqlState(() => numericTypmod(0, 0))).toBe('22023');
  });
});

describe('conversions', () => {
  test.each([
    [0.1, '0.1'],
    [0.1 + 0.2, '0.3'],
    [1 / 3, '0.333333333333333'],
    [123456789.12345679, '123456789.123457'],
    [-2.5e-10, '-0.00000000025'],
    [1e100, '1' + '0'.repeat(100)],
    [1234567890123456800, '1234567890123460000'],
    [5e-324, '0.' + '0'.repeat(323) + '494065645841247'],
    [-0, '0'],
    [100, '100'],
    [0.5, '0.5'],
    // %.15g on the exact binary value rounds half to even: 123456789012344.5 is exact.
    [123456789012344.5, '123456789012344'],
    [123456789012345.5, '123456789012346'],
  ])('fromNumber(%p) = %s (float8 → numeric)', (x, expected) => {
    expect(s(Numeric.fromNumber(x))).toBe(expected);
  });

  test('fromNumber with FLT_DIG digits for float4', () => {
    expect(s(Numeric.fromNumber(Math.fround(0.1), 6))).toBe('0.1');
    expect(s(Numeric.fromNumber(Math.fround(1.2345678), 6))).toBe('1.23457');
    expect(Numeric.fromNumber(NaN).isNaN()).toBe(true);
    expect(s(Numeric.fromNumber(-Infinity))).toBe('-Infinity');
  });

  test('fromNumberShortest keeps every double', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        expect(Numeric.fromNumberShortest(x).toNumber()).toBe(x === 0 ? 0 : x);
      }),
    );
  });

  test('toNumber is correctly rounded', () => {
    fc.assert(
      fc.property(finiteArb, ({ v }) => {
        expect(v.toNumber()).toBe(Number(s(v)));
      }),
    );
    expect(n('1e400').toNumber()).toBe(Infinity);
    expect(Numeric.NAN.toNumber()).toBeNaN();
  });

  test('fromBigInt and of', () => {
    expect(s(Numeric.fromBigInt(-(2n ** 70n)))).toBe((-(2n ** 70n)).toString());
    expect(s(Numeric.of(-5n, 3))).toBe('-0.005');
    expect(s(Numeric.of(0n, 2))).toBe('0.00');
  });

  test('sqrt uses PostgreSQL result scales', () => {
    expect(s(n('2').sqrt())).toBe('1.414213562373095');
    expect(s(n('100').sqrt())).toBe('10.000000000000000');
    expect(s(n('0').sqrt())).toBe('0.000000000000000');
    expect(s(n('1.0000000000000000000000').sqrt())).toBe('1.0000000000000000000000');
    expect(sqlState(() => n('-1').sqrt())).toBe('2201F');
  });

  test('isInteger, normalize', () => {
    expect(n('3.000').isInteger()).toBe(true);
    expect(n('3.001').isInteger()).toBe(false);
    expect(s(n('3.1400').normalize())).toBe('3.14');
    expect(n('-1.10').normalizedKey()).toBe(n('-1.1').normalizedKey());
  });
});
