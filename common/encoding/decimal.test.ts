import fc from 'fast-check';
import { InvalidArgumentError } from '../errors';
import { Decimal, DECIMAL_MAX_EXPONENT } from './decimal';

/** Exact value of a finite decimal as n × 10^e (a test oracle independent of Decimal.compare). */
function rational(d: Decimal): { n: bigint; e: number } {
  if (d.digits === '') {
    return { n: 0n, e: 0 };
  }
  const n = BigInt(d.digits);
  return { n: d.negative ? -n : n, e: d.exponent - d.digits.length };
}

function compareRationals(a: { n: bigint; e: number }, b: { n: bigint; e: number }): number {
  const e = Math.min(a.e, b.e);
  const x = a.n * 10n ** BigInt(a.e - e);
  const y = b.n * 10n ** BigInt(b.e - e);
  return x === y ? 0 : x < y ? -1 : 1;
}

const RANK: Record<Decimal['kind'], number> = { '-inf': 0, finite: 1, '+inf': 2, nan: 3 };

function oracleCompare(a: Decimal, b: Decimal): number {
  if (a.kind !== b.kind) {
    return RANK[a.kind] < RANK[b.kind] ? -1 : 1;
  }
  return a.kind === 'finite' ? compareRationals(rational(a), rational(b)) : 0;
}

const digitChar = fc.oneof(
  fc.constantFrom('0', '1', '9'),
  fc.integer({ min: 0, max: 9 }).map(String),
);

/** Decimal text in the finite grammar, with its exact value as an oracle. */
const decimalTextArb = fc
  .record({
    sign: fc.constantFrom('', '-', '+'),
    int: fc.string({ unit: digitChar, maxLength: 12 }),
    frac: fc.option(fc.string({ unit: digitChar, maxLength: 12 }), { nil: undefined }),
    exp: fc.option(
      fc.record({
        letter: fc.constantFrom('e', 'E'),
        sign: fc.constantFrom('', '-', '+'),
        value: fc.integer({ min: 0, max: 40 }),
        zeros: fc.constantFrom('', '0', '00'),
      }),
      { nil: undefined },
    ),
  })
  .filter((r) => r.int.length > 0 || (r.frac !== undefined && r.frac.length > 0))
  .map((r) => {
    const text =
      r.sign +
      r.int +
      (r.frac === undefined ? '' : `.${r.frac}`) +
      (r.exp === undefined ? '' : `${r.exp.letter}${r.exp.sign}${r.exp.zeros}${r.exp.value}`);
    const frac = r.frac ?? '';
    const expValue = r.exp === undefined ? 0 : r.exp.sign === '-' ? -r.exp.value : r.exp.value;
    const magnitude = BigInt(`${r.int}${frac}` || '0');
    return { text, n: r.sign === '-' ? -magnitude : magnitude, e: expValue - frac.length };
  });

const finiteDecimalArb = fc
  .record({
    negative: fc.boolean(),
    digits: fc.string({ unit: digitChar, minLength: 1, maxLength: 24 }),
    exponent: fc.integer({ min: -40, max: 40 }),
  })
  .map(({ negative, digits, exponent }) => {
    const lead = digits.length - digits.replace(/^0+/, '').length;
    const trimmed = digits.replace(/^0+/, '').replace(/0+$/, '');
    return trimmed === '' ? Decimal.ZERO : Decimal.fromParts(negative, trimmed, exponent - lead);
  });

const decimalArb = fc.oneof(
  { arbitrary: finiteDecimalArb, weight: 8 },
  {
    arbitrary: fc.constantFrom(
      Decimal.NAN,
      Decimal.POSITIVE_INFINITY,
      Decimal.NEGATIVE_INFINITY,
      Decimal.ZERO,
    ),
    weight: 1,
  },
);

describe('Decimal.parse', () => {
  it.each([
    ['-12.3400', true, '1234', 2, '-12.34'],
    ['1e-5', false, '1', -4, '0.00001'],
    ['1.5E+10', false, '15', 11, '15000000000'],
    ['0', false, '', 0, '0'],
    ['-0', false, '', 0, '0'],
    ['-0.000e5', false, '', 0, '0'],
    ['.5', false, '5', 0, '0.5'],
    ['5.', false, '5', 1, '5'],
    ['+007.0100', false, '701', 1, '7.01'],
    ['-0.001', true, '1', -2, '-0.001'],
    ['100', false, '1', 3, '100'],
    ['99.99', false, '9999', 2, '99.99'],
    ['1e-300', false, '1', -299, '1e-300'],
    ['-1.25e300', true, '125', 301, '-1.25e+300'],
    ['  42  ', false, '42', 2, '42'],
  ])('parses %j', (text, negative, digits, exponent, canonical) => {
    const d = Decimal.parse(text);
    expect(d.kind).toBe('finite');
    expect(d.negative).toBe(negative);
    expect(d.digits).toBe(digits);
    expect(d.exponent).toBe(exponent);
    expect(d.toString()).toBe(canonical);
  });

  it.each([
    ['NaN', 'nan', false, 'NaN'],
    ['nan', 'nan', false, 'NaN'],
    ['Infinity', '+inf', false, 'Infinity'],
    ['+Infinity', '+inf', false, 'Infinity'],
    ['inf', '+inf', false, 'Infinity'],
    ['-Infinity', '-inf', true, '-Infinity'],
    ['-INF', '-inf', true, '-Infinity'],
  ])('parses the special value %j', (text, kind, negative, canonical) => {
    const d = Decimal.parse(text);
    expect(d.kind).toBe(kind);
    expect(d.negative).toBe(negative);
    expect(d.digits).toBe('');
    expect(d.exponent).toBe(0);
    expect(d.toString()).toBe(canonical);
  });

  it.each([
    '',
    ' ',
    '.',
    '-',
    '+.',
    'e5',
    '.e5',
    '1e',
    '1e+',
    '1.2.3',
    '--1',
    '+-1',
    '1 2',
    'abc',
    '0x10',
    '1_000',
    '-NaN',
    'Infinityy',
    '١٢', // non-ASCII digits
    '1e99999999999999999999',
  ])('rejects %j', (text) => {
    expect(() => Decimal.parse(text)).toThrow(InvalidArgumentError);
  });

  it('accepts exponents up to the encodable limit and rejects beyond', () => {
    expect(Decimal.parse(`1e${DECIMAL_MAX_EXPONENT - 1}`).exponent).toBe(DECIMAL_MAX_EXPONENT);
    expect(Decimal.parse(`1e-${DECIMAL_MAX_EXPONENT + 1}`).exponent).toBe(-DECIMAL_MAX_EXPONENT);
    expect(() => Decimal.parse(`1e${DECIMAL_MAX_EXPONENT}`)).toThrow(InvalidArgumentError);
    expect(() => Decimal.parse(`1e-${DECIMAL_MAX_EXPONENT + 2}`)).toThrow(InvalidArgumentError);
    // Zero has no exponent, so any exponent is fine.
    expect(Decimal.parse('0e99999999999').isZero()).toBe(true);
  });

  it('parses any text in the grammar to its exact value', () => {
    fc.assert(
      fc.property(decimalTextArb, ({ text, n, e }) => {
        const d = Decimal.parse(text);
        expect(d.kind).toBe('finite');
        expect(compareRationals(rational(d), { n, e })).toBe(0);
        expect(d.negative).toBe(n < 0n);
      }),
      { numRuns: 500 },
    );
  });
});

describe('Decimal.fromParts', () => {
  it('rejects parts that are not normalised', () => {
    expect(() => Decimal.fromParts(false, '10', 2)).toThrow(InvalidArgumentError);
    expect(() => Decimal.fromParts(false, '01', 2)).toThrow(InvalidArgumentError);
    expect(() => Decimal.fromParts(false, '1a', 2)).toThrow(InvalidArgumentError);
    expect(() => Decimal.fromParts(true, '', 0)).toThrow(InvalidArgumentError);
    expect(() => Decimal.fromParts(false, '', 3)).toThrow(InvalidArgumentError);
    expect(() => Decimal.fromParts(false, '1', 1.5)).toThrow(InvalidArgumentError);
    expect(() => Decimal.fromParts(false, '1', DECIMAL_MAX_EXPONENT + 1)).toThrow(InvalidArgumentError);
    expect(Decimal.fromParts(false, '', 0)).toBe(Decimal.ZERO);
  });
});

describe('Decimal.toString', () => {
  it('round-trips through parse to identical fields', () => {
    const wide = fc.record({
      negative: fc.boolean(),
      digits: fc.constantFrom('1', '12', '105', '9999999'),
      exponent: fc.oneof(
        fc.integer({ min: -60, max: 60 }),
        fc.constantFrom(DECIMAL_MAX_EXPONENT, -DECIMAL_MAX_EXPONENT),
      ),
    });
    fc.assert(
      fc.property(fc.oneof(decimalArb, wide.map((p) => Decimal.fromParts(p.negative, p.digits, p.exponent))), (d) => {
        const back = Decimal.parse(d.toString());
        expect(back.kind).toBe(d.kind);
        expect(back.negative).toBe(d.negative);
        expect(back.digits).toBe(d.digits);
        expect(back.exponent).toBe(d.exponent);
      }),
      { numRuns: 500 },
    );
  });

  it('uses plain notation for moderate exponents', () => {
    expect(Decimal.parse('123456789012345678901234567890.5').toString()).toBe('123456789012345678901234567890.5');
    expect(Decimal.parse('0.000000000000000001').toString()).toBe('0.000000000000000001');
    expect(JSON.stringify({ d: Decimal.parse('1.50') })).toBe('{"d":"1.5"}');
  });
});

describe('Decimal.compare', () => {
  it('orders special values as PostgreSQL does', () => {
    const sorted = ['-Infinity', '-1e300', '-100', '-99.99', '-0.123', '-0.12', '-1e-300', '0', '1e-300', '0.12', '0.123', '99.99', '100', '1e300', 'Infinity', 'NaN'].map((t) => Decimal.parse(t));
    for (let i = 0; i < sorted.length; i++) {
      for (let j = 0; j < sorted.length; j++) {
        expect([sorted[i]!.toString(), sorted[j]!.toString(), sorted[i]!.compare(sorted[j]!)]).toEqual([
          sorted[i]!.toString(),
          sorted[j]!.toString(),
          Math.sign(i - j),
        ]);
      }
    }
  });

  it('treats equal values with different trailing zeros as equal', () => {
    expect(Decimal.parse('1.0').equals(Decimal.parse('1.00'))).toBe(true);
    expect(Decimal.parse('1.0').compare(Decimal.parse('1'))).toBe(0);
    expect(Decimal.parse('NaN').equals(Decimal.NAN)).toBe(true);
    expect(Decimal.parse('-0').equals(Decimal.parse('0.000'))).toBe(true);
    expect(Decimal.parse('10').equals(Decimal.parse('1e1'))).toBe(true);
  });

  it('agrees with exact rational comparison', () => {
    fc.assert(
      fc.property(decimalArb, decimalArb, (a, b) => {
        expect(a.compare(b)).toBe(oracleCompare(a, b));
        expect(b.compare(a)).toBe(0 - oracleCompare(a, b));
        expect(a.compare(a)).toBe(0);
      }),
      { numRuns: 1000 },
    );
  });
});
