import { InvalidArgumentError } from '../errors';

export type DecimalKind = 'finite' | 'nan' | '+inf' | '-inf';

/**
 * Largest exponent magnitude a Decimal may carry. The key encoding stores the exponent
 * as a sign-flipped int32 (negated for negative numbers), so both e and -e must fit.
 */
export const DECIMAL_MAX_EXPONENT = 0x7fff_ffff;

/** Decimals whose exponent lies in this range print without exponent notation. */
const PLAIN_MIN_EXPONENT = -20;
const PLAIN_MAX_EXPONENT = 40;

// sign? (digits [. digits?] | . digits) ([eE] sign? digits)?
const FINITE_SYNTAX = /^([+-]?)(?:(\d+)(?:\.(\d*))?|\.(\d+))(?:[eE]([+-]?\d+))?$/;
const INFINITY_SYNTAX = /^([+-]?)(?:inf|infinity)$/i;

/**
 * An immutable exact numeric (SQL `numeric`): ±0.digits × 10^exponent, or NaN, or
 * ±Infinity. Always normalised (no leading or trailing zeros in `digits`), so values
 * that are equal in SQL (1.0, 1.00) have identical fields. Display scale is not kept:
 * the key encoding must give equal keys for equal values.
 */
export class Decimal {
  static readonly ZERO = new Decimal('finite', false, '', 0);
  static readonly NAN = new Decimal('nan', false, '', 0);
  static readonly POSITIVE_INFINITY = new Decimal('+inf', false, '', 0);
  static readonly NEGATIVE_INFINITY = new Decimal('-inf', true, '', 0);

  /** 'finite' covers zero. */
  readonly kind: DecimalKind;
  /** True for negative finite numbers and -Infinity; never for zero or NaN. */
  readonly negative: boolean;
  /** Significant decimal digits, no leading or trailing zeros; '' for zero and non-finite. */
  readonly digits: string;
  /** value = 0.digits × 10^exponent; 0 for zero and non-finite. */
  readonly exponent: number;

  private constructor(kind: DecimalKind, negative: boolean, digits: string, exponent: number) {
    this.kind = kind;
    this.negative = negative;
    this.digits = digits;
    this.exponent = exponent;
  }

  /**
   * Builds a finite decimal from normalised parts (the key decoder's entry point).
   * Throws InvalidArgumentError if the parts are not normalised.
   */
  static fromParts(negative: boolean, digits: string, exponent: number): Decimal {
    if (digits === '') {
      if (negative || exponent !== 0) {
        throw new InvalidArgumentError('decimal zero must have negative=false and exponent=0');
      }
      return Decimal.ZERO;
    }
    if (!/^[1-9](?:\d*[1-9])?$/.test(digits)) {
      throw new InvalidArgumentError(`decimal digits ${JSON.stringify(digits)} are not normalised`);
    }
    checkExponent(exponent);
    return new Decimal('finite', negative, digits, exponent);
  }

  /**
   * Parses PostgreSQL numeric input: '-12.3400', '.5', '1e-5', '1.5E+10', 'NaN',
   * 'Infinity', '-Infinity' (also 'inf', any case), with optional surrounding blanks.
   */
  static parse(text: string): Decimal {
    const trimmed = text.trim();
    const m = FINITE_SYNTAX.exec(trimmed);
    if (m === null) {
      if (/^nan$/i.test(trimmed)) {
        return Decimal.NAN;
      }
      const inf = INFINITY_SYNTAX.exec(trimmed);
      if (inf !== null) {
        return inf[1] === '-' ? Decimal.NEGATIVE_INFINITY : Decimal.POSITIVE_INFINITY;
      }
      throw new InvalidArgumentError(`invalid input syntax for type numeric: ${JSON.stringify(text)}`);
    }
    const intPart = m[2] ?? '';
    const fracPart = m[3] ?? m[4] ?? '';
    const all = intPart + fracPart;
    let first = 0;
    while (first < all.length && all.charCodeAt(first) === 0x30) {
      first++;
    }
    if (first === all.length) {
      return Decimal.ZERO;
    }
    let last = all.length;
    while (all.charCodeAt(last - 1) === 0x30) {
      last--;
    }
    // Number() of a long exponent string saturates to ±Infinity, caught by checkExponent.
    const exp10 = m[5] === undefined ? 0 : Number(m[5]);
    const exponent = intPart.length - first + exp10;
    if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > DECIMAL_MAX_EXPONENT) {
      throw new InvalidArgumentError(`numeric value ${JSON.stringify(text)} is out of range`);
    }
    return new Decimal('finite', m[1] === '-', all.slice(first, last), exponent);
  }

  isZero(): boolean {
    return this.kind === 'finite' && this.digits === '';
  }

  /** PostgreSQL order: -Infinity < negatives < 0 < positives < Infinity < NaN; NaN = NaN. */
  compare(other: Decimal): -1 | 0 | 1 {
    const ra = rank(this);
    const rb = rank(other);
    if (ra !== rb) {
      return ra < rb ? -1 : 1;
    }
    if (ra !== RANK_NEGATIVE && ra !== RANK_POSITIVE) {
      return 0;
    }
    const magnitude = compareMagnitude(this, other);
    return ra === RANK_NEGATIVE ? ((0 - magnitude) as -1 | 0 | 1) : magnitude; // 0 - x: never -0
  }

  equals(other: Decimal): boolean {
    return this.compare(other) === 0;
  }

  /**
   * Canonical text: plain notation ('-12.34', '0.001', '1500') for moderate exponents,
   * otherwise '1.5e+300'. Parses back to an equal Decimal.
   */
  toString(): string {
    switch (this.kind) {
      case 'nan':
        return 'NaN';
      case '+inf':
        return 'Infinity';
      case '-inf':
        return '-Infinity';
      case 'finite':
        break;
    }
    const { digits, exponent } = this;
    if (digits === '') {
      return '0';
    }
    const sign = this.negative ? '-' : '';
    if (exponent < PLAIN_MIN_EXPONENT || exponent > PLAIN_MAX_EXPONENT) {
      const mantissa = digits.length === 1 ? digits : `${digits.charAt(0)}.${digits.slice(1)}`;
      const e = exponent - 1;
      return `${sign}${mantissa}e${e < 0 ? '-' : '+'}${Math.abs(e)}`;
    }
    if (exponent <= 0) {
      return `${sign}0.${'0'.repeat(-exponent)}${digits}`;
    }
    if (exponent >= digits.length) {
      return `${sign}${digits}${'0'.repeat(exponent - digits.length)}`;
    }
    return `${sign}${digits.slice(0, exponent)}.${digits.slice(exponent)}`;
  }

  toJSON(): string {
    return this.toString();
  }
}

const RANK_NEGATIVE_INFINITY = 0;
const RANK_NEGATIVE = 1;
const RANK_ZERO = 2;
const RANK_POSITIVE = 3;
const RANK_POSITIVE_INFINITY = 4;
const RANK_NAN = 5;

function rank(d: Decimal): number {
  switch (d.kind) {
    case '-inf':
      return RANK_NEGATIVE_INFINITY;
    case '+inf':
      return RANK_POSITIVE_INFINITY;
    case 'nan':
      return RANK_NAN;
    case 'finite':
      return d.digits === '' ? RANK_ZERO : d.negative ? RANK_NEGATIVE : RANK_POSITIVE;
  }
}

/** Compares |a| and |b| for non-zero finite a, b. */
function compareMagnitude(a: Decimal, b: Decimal): -1 | 0 | 1 {
  if (a.exponent !== b.exponent) {
    return a.exponent < b.exponent ? -1 : 1;
  }
  // Same exponent: digit strings compare lexicographically, a proper prefix being smaller
  // (trailing digits are non-zero), which is exactly JS string order for ASCII digits.
  return a.digits === b.digits ? 0 : a.digits < b.digits ? -1 : 1;
}

function checkExponent(exponent: number): void {
  if (!Number.isInteger(exponent) || Math.abs(exponent) > DECIMAL_MAX_EXPONENT) {
    throw new InvalidArgumentError(`decimal exponent ${exponent} is outside ±${DECIMAL_MAX_EXPONENT}`);
  }
}
