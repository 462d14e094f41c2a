import { SqlError, SqlStates } from '../../../common/errors';
import { Decimal } from '../../../common/encoding/decimal';

/**
 * PostgreSQL `numeric`: an exact decimal with a display scale, or NaN, or ±Infinity.
 *
 * A finite value is `coef × 10^-scale` where `scale` (≥ 0) is PostgreSQL's display scale
 * (dscale): 1.50 is {coef 150, scale 2} and prints "1.50". Results follow PostgreSQL's
 * rules for the display scale of each operation (add/sub: the larger input scale; mul:
 * the sum; div: select_div_scale). Zero has no sign. Instances are immutable.
 */

export type NumericKind = 'finite' | 'nan' | '+inf' | '-inf';

/** PostgreSQL's limits (numeric.h): digits before the point and display scale. */
export const NUMERIC_MAX_INTEGER_DIGITS = 131072;
export const NUMERIC_MAX_DSCALE = 16383;
/** numeric(p, s): 1 ≤ p ≤ 1000, -1000 ≤ s ≤ 1000. */
export const NUMERIC_MAX_PRECISION = 1000;
export const NUMERIC_MIN_SCALE = -1000;
export const NUMERIC_MAX_SCALE = 1000;
/** Division and sqrt give at least this many significant digits. */
const NUMERIC_MIN_SIG_DIGITS = 16;
/** ... and never more than this display scale. */
const NUMERIC_MAX_DISPLAY_SCALE = 1000;
/** round()/trunc() clamp their scale argument to ±this. */
const NUMERIC_MAX_RESULT_SCALE = 2000;
/** Decimal digits per base-10000 digit of PostgreSQL's internal (and binary) format. */
const DEC_DIGITS = 4;

// ---------------------------------------------------------------------------------------
// Powers of ten and bigint helpers

const POW10: bigint[] = [1n];
const POW10_CACHE_MAX = 2100;

export function pow10(n: number): bigint {
  if (n < POW10.length) {
    return POW10[n]!;
  }
  if (n > POW10_CACHE_MAX) {
    return 10n ** BigInt(n);
  }
  let p = POW10[POW10.length - 1]!;
  for (let i = POW10.length; i <= n; i++) {
    p *= 10n;
    POW10.push(p);
  }
  return p;
}

function absBig(v: bigint): bigint {
  return v < 0n ? -v : v;
}

/** Number of decimal digits of |v| (1 for 0). */
export function digitCount(v: bigint): number {
  const a = absBig(v);
  if (a < 10_000_000_000_000_000n) {
    // Below 10^16: exact through a double.
    const n = Number(a);
    let d = 1;
    for (let p = 10; p <= n; p *= 10) {
      d++;
    }
    return d;
  }
  return a.toString().length;
}

/** n / d rounded half away from zero; d > 0. */
function divRoundHalfAway(n: bigint, d: bigint): bigint {
  const q = n / d;
  const r = n - q * d;
  if (r === 0n) {
    return q;
  }
  const twice = absBig(r) * 2n;
  if (twice >= d) {
    return n < 0n ? q - 1n : q + 1n;
  }
  return q;
}

/** floor(sqrt(n)) for n ≥ 0. */
function isqrt(n: bigint): bigint {
  if (n < 2n) {
    return n;
  }
  // Newton's method from an over-estimate.
  const bits = n.toString(16).length * 4;
  let x = 1n << BigInt(Math.ceil(bits / 2) + 1);
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) {
      return x;
    }
    x = y;
  }
}

let integerDigitLimit: bigint | undefined;

/** Raises 22003 if a finite value is outside what PostgreSQL's numeric can store. */
function checkLimits(coef: bigint, scale: number): void {
  if (scale > NUMERIC_MAX_DSCALE) {
    throw overflowsFormat();
  }
  // Only values with more than NUMERIC_MAX_INTEGER_DIGITS digits can overflow the weight.
  integerDigitLimit ??= pow10(NUMERIC_MAX_INTEGER_DIGITS);
  if (absBig(coef) >= integerDigitLimit && digitCount(coef) - scale > NUMERIC_MAX_INTEGER_DIGITS) {
    throw overflowsFormat();
  }
}

function overflowsFormat(): SqlError {
  return new SqlError(SqlStates.numericValueOutOfRange, 'value overflows numeric format');
}

function divisionByZero(): SqlError {
  return new SqlError(SqlStates.divisionByZero, 'division by zero');
}

function isSpace(c: number): boolean {
  // C isspace(): space, \t, \n, \v, \f, \r
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function startsWithIgnoreCase(text: string, at: number, word: string): boolean {
  if (text.length - at < word.length) {
    return false;
  }
  for (let i = 0; i < word.length; i++) {
    let c = text.charCodeAt(at + i);
    if (c >= 0x41 && c <= 0x5a) {
      c += 0x20;
    }
    if (c !== word.charCodeAt(i)) {
      return false;
    }
  }
  return true;
}

const FLOAT_VIEW = new DataView(new ArrayBuffer(8));

// ---------------------------------------------------------------------------------------

export class Numeric {
  static readonly ZERO = new Numeric('finite', 0n, 0);
  static readonly ONE = new Numeric('finite', 1n, 0);
  static readonly NAN = new Numeric('nan', 0n, 0);
  static readonly POSITIVE_INFINITY = new Numeric('+inf', 0n, 0);
  static readonly NEGATIVE_INFINITY = new Numeric('-inf', 0n, 0);

  readonly kind: NumericKind;
  /** Finite values: value = coef × 10^-scale. 0n for NaN and infinities. */
  readonly coef: bigint;
  /** Display scale: digits after the decimal point, ≥ 0. */
  readonly scale: number;

  private constructor(kind: NumericKind, coef: bigint, scale: number) {
    this.kind = kind;
    this.coef = coef;
    this.scale = scale;
  }

  /** A finite value coef × 10^-scale (scale is the display scale, 0..16383). */
  static of(coef: bigint, scale = 0): Numeric {
    if (!Number.isInteger(scale) || scale < 0) {
      throw new SqlError(SqlStates.internalError, `numeric scale ${scale} is not a non-negative integer`);
    }
    if (scale > NUMERIC_MAX_DSCALE) {
      throw overflowsFormat();
    }
    return new Numeric('finite', coef, scale);
  }

  static fromBigInt(v: bigint): Numeric {
    return v === 0n ? Numeric.ZERO : new Numeric('finite', v, 0);
  }

  /**
   * float8 → numeric as PostgreSQL casts it: the value printed with `%.15g` (DBL_DIG
   * significant digits, round-half-even on the exact binary value) and read back, so
   * 0.1::float8::numeric is 0.1 and (0.1+0.2)::numeric is 0.3. Pass 6 (FLT_DIG) for a
   * float4. NaN and ±Infinity map to their numeric counterparts.
   */
  static fromNumber(value: number, significantDigits = 15): Numeric {
    if (Number.isNaN(value)) {
      return Numeric.NAN;
    }
    if (value === Infinity) {
      return Numeric.POSITIVE_INFINITY;
    }
    if (value === -Infinity) {
      return Numeric.NEGATIVE_INFINITY;
    }
    if (value === 0) {
      return Numeric.ZERO;
    }
    // Exact value: mantissa × 2^exp.
    FLOAT_VIEW.setFloat64(0, value);
    const hi = FLOAT_VIEW.getUint32(0);
    const lo = FLOAT_VIEW.getUint32(4);
    const biased = (hi >>> 20) & 0x7ff;
    let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
    let exp2: number;
    if (biased === 0) {
      exp2 = -1074;
    } else {
      mantissa |= 1n << 52n;
      exp2 = biased - 1075;
    }
    let coef: bigint;
    let scale: number;
    if (exp2 >= 0) {
      coef = mantissa << BigInt(exp2);
      scale = 0;
    } else {
      coef = mantissa * 5n ** BigInt(-exp2);
      scale = -exp2;
    }
    const n = digitCount(coef);
    if (n > significantDigits) {
      const drop = n - significantDigits;
      const unit = pow10(drop);
      let q = coef / unit;
      const r = coef - q * unit;
      const half = unit / 2n;
      if (r > half || (r === half && (q & 1n) === 1n)) {
        q += 1n;
      }
      coef = q;
      scale -= drop;
      if (scale < 0) {
        coef *= pow10(-scale);
        scale = 0;
      }
    }
    // %g drops trailing zeros.
    while (scale > 0 && coef % 10n === 0n) {
      coef /= 10n;
      scale--;
    }
    return new Numeric('finite', value < 0 ? -coef : coef, scale);
  }

  /**
   * The shortest decimal that reads back as `value` (JavaScript's Number → string),
   * with the smallest display scale. Not PostgreSQL's float8 → numeric cast (see
   * fromNumber); used where the exact double should survive, such as JSON numbers.
   */
  static fromNumberShortest(value: number): Numeric {
    if (!Number.isFinite(value)) {
      return Numeric.fromNumber(value);
    }
    return Numeric.parse(String(value)).normalize();
  }

  /**
   * PostgreSQL numeric input: optional blanks, sign, digits with one optional point,
   * optional exponent ('1.5e-3'), blanks; or NaN / [+-]Infinity / [+-]inf in any case.
   * Bad syntax → 22P02; beyond numeric's limits → 22003.
   */
  static parse(text: string): Numeric {
    const len = text.length;
    let i = 0;
    while (i < len && isSpace(text.charCodeAt(i))) {
      i++;
    }
    let special: Numeric | undefined;
    if (startsWithIgnoreCase(text, i, 'nan')) {
      special = Numeric.NAN;
      i += 3;
    } else if (startsWithIgnoreCase(text, i, 'infinity')) {
      special = Numeric.POSITIVE_INFINITY;
      i += 8;
    } else if (startsWithIgnoreCase(text, i, '+infinity')) {
      special = Numeric.POSITIVE_INFINITY;
      i += 9;
    } else if (startsWithIgnoreCase(text, i, '-infinity')) {
      special = Numeric.NEGATIVE_INFINITY;
      i += 9;
    } else if (startsWithIgnoreCase(text, i, 'inf')) {
      special = Numeric.POSITIVE_INFINITY;
      i += 3;
    } else if (startsWithIgnoreCase(text, i, '+inf')) {
      special = Numeric.POSITIVE_INFINITY;
      i += 4;
    } else if (startsWithIgnoreCase(text, i, '-inf')) {
      special = Numeric.NEGATIVE_INFINITY;
      i += 4;
    }
    if (special !== undefined) {
      while (i < len && isSpace(text.charCodeAt(i))) {
        i++;
      }
      if (i !== len) {
        throw invalidNumericSyntax(text);
      }
      return special;
    }

    let negative = false;
    let c = text.charCodeAt(i);
    if (c === 0x2b || c === 0x2d) {
      negative = c === 0x2d;
      i++;
    }
    const intStart = i;
    while (i < len && isDigit(text.charCodeAt(i))) {
      i++;
    }
    const intEnd = i;
    let fracStart = i;
    let fracEnd = i;
    if (i < len && text.charCodeAt(i) === 0x2e) {
      i++;
      fracStart = i;
      while (i < len && isDigit(text.charCodeAt(i))) {
        i++;
      }
      fracEnd = i;
    }
    if (intEnd === intStart && fracEnd === fracStart) {
      throw invalidNumericSyntax(text);
    }
    let exponent = 0;
    c = text.charCodeAt(i);
    if (c === 0x65 || c === 0x45) {
      i++;
      let expNegative = false;
      c = text.charCodeAt(i);
      if (c === 0x2b || c === 0x2d) {
        expNegative = c === 0x2d;
        i++;
      }
      const expStart = i;
      while (i < len && isDigit(text.charCodeAt(i))) {
        // Saturate like strtol; anything this large is out of range anyway.
        if (exponent < 1e9) {
          exponent = exponent * 10 + (text.charCodeAt(i) - 0x30);
        }
        i++;
      }
      if (i === expStart) {
        throw invalidNumericSyntax(text);
      }
      if (exponent >= 0x3fff_ffff) {
        throw overflowsFormat();
      }
      if (expNegative) {
        exponent = -exponent;
      }
    }
    while (i < len && isSpace(text.charCodeAt(i))) {
      i++;
    }
    if (i !== len) {
      throw invalidNumericSyntax(text);
    }

    const fracDigits = fracEnd - fracStart;
    const digits =
      fracDigits === 0 ? text.slice(intStart, intEnd) : text.slice(intStart, intEnd) + text.slice(fracStart, fracEnd);
    let scale = fracDigits - exponent;
    // Leading zeros only: skip the bigint work and the limit checks for 0.
    let firstNonZero = 0;
    while (firstNonZero < digits.length && digits.charCodeAt(firstNonZero) === 0x30) {
      firstNonZero++;
    }
    if (scale > NUMERIC_MAX_DSCALE) {
      throw overflowsFormat();
    }
    if (firstNonZero === digits.length) {
      return scale <= 0 ? Numeric.ZERO : new Numeric('finite', 0n, scale);
    }
    const significant = digits.length - firstNonZero;
    if (significant - scale > NUMERIC_MAX_INTEGER_DIGITS) {
      throw overflowsFormat();
    }
    let coef = BigInt(firstNonZero === 0 ? digits : digits.slice(firstNonZero));
    if (scale < 0) {
      coef *= pow10(-scale);
      scale = 0;
    }
    return new Numeric('finite', negative ? -coef : coef, scale);
  }

  /**
   * A finite value from the key-encoding Decimal (which keeps no display scale): the
   * result has the smallest display scale that shows every digit.
   */
  static fromDecimal(d: Decimal): Numeric {
    switch (d.kind) {
      case 'nan':
        return Numeric.NAN;
      case '+inf':
        return Numeric.POSITIVE_INFINITY;
      case '-inf':
        return Numeric.NEGATIVE_INFINITY;
      case 'finite':
        break;
    }
    if (d.digits === '') {
      return Numeric.ZERO;
    }
    let coef = BigInt(d.digits);
    let scale = d.digits.length - d.exponent;
    if (scale < 0) {
      coef *= pow10(-scale);
      scale = 0;
    }
    checkLimits(coef, scale);
    return new Numeric('finite', d.negative ? -coef : coef, scale);
  }

  /** The key-encoding Decimal: the same value, normalised (display scale dropped). */
  toDecimal(): Decimal {
    switch (this.kind) {
      case 'nan':
        return Decimal.NAN;
      case '+inf':
        return Decimal.POSITIVE_INFINITY;
      case '-inf':
        return Decimal.NEGATIVE_INFINITY;
      case 'finite':
        break;
    }
    if (this.coef === 0n) {
      return Decimal.ZERO;
    }
    const text = absBig(this.coef).toString();
    let last = text.length;
    while (text.charCodeAt(last - 1) === 0x30) {
      last--;
    }
    return Decimal.fromParts(this.coef < 0n, last === text.length ? text : text.slice(0, last), text.length - this.scale);
  }

  // -------------------------------------------------------------------------------------
  // Predicates

  isNaN(): boolean {
    return this.kind === 'nan';
  }

  isFinite(): boolean {
    return this.kind === 'finite';
  }

  isInfinite(): boolean {
    return this.kind === '+inf' || this.kind === '-inf';
  }

  isZero(): boolean {
    return this.kind === 'finite' && this.coef === 0n;
  }

  /** Whether the value is a whole number (no non-zero digits after the point). */
  isInteger(): boolean {
    return this.kind === 'finite' && (this.scale === 0 || this.coef % pow10(this.scale) === 0n);
  }

  /** -1, 0 or 1; NaN for NaN. */
  sign(): number {
    switch (this.kind) {
      case 'nan':
        return NaN;
      case '+inf':
        return 1;
      case '-inf':
        return -1;
      case 'finite':
        return this.coef === 0n ? 0 : this.coef < 0n ? -1 : 1;
    }
  }

  // -------------------------------------------------------------------------------------
  // Comparison

  /**
   * PostgreSQL's total order: -Infinity < finite values < Infinity < NaN, NaN = NaN.
   * Display scale does not matter (1.0 = 1.00).
   */
  cmp(other: Numeric): -1 | 0 | 1 {
    const ra = RANK[this.kind];
    const rb = RANK[other.kind];
    if (ra !== rb) {
      return ra < rb ? -1 : 1;
    }
    if (ra !== RANK_FINITE) {
      return 0;
    }
    let a = this.coef;
    let b = other.coef;
    if (this.scale !== other.scale) {
      // Signs decide without scaling.
      if (a < 0n !== b < 0n || a === 0n || b === 0n) {
        return a < b ? -1 : a > b ? 1 : 0;
      }
      if (this.scale < other.scale) {
        a *= pow10(other.scale - this.scale);
      } else {
        b *= pow10(this.scale - other.scale);
      }
    }
    return a < b ? -1 : a > b ? 1 : 0;
  }

  eq(other: Numeric): boolean {
    return this.cmp(other) === 0;
  }

  lt(other: Numeric): boolean {
    return this.cmp(other) < 0;
  }

  gt(other: Numeric): boolean {
    return this.cmp(other) > 0;
  }

  /**
   * A string equal for equal values (1.0 and 1.00 alike), for hash keys: the coefficient
   * without trailing zeros and the matching exponent.
   */
  normalizedKey(): string {
    if (this.kind !== 'finite') {
      return this.kind;
    }
    if (this.coef === 0n) {
      return '0';
    }
    let coef = this.coef;
    let scale = this.scale;
    while (scale > 0 && coef % 10n === 0n) {
      coef /= 10n;
      scale--;
    }
    return scale === 0 ? coef.toString() : `${coef}e-${scale}`;
  }

  /** The same value with the smallest display scale (1.500 → 1.5, 2.0 → 2). */
  normalize(): Numeric {
    if (this.kind !== 'finite' || this.scale === 0) {
      return this;
    }
    let coef = this.coef;
    let scale = this.scale;
    while (scale > 0 && coef % 10n === 0n) {
      coef /= 10n;
      scale--;
    }
    return scale === this.scale ? this : new Numeric('finite', coef, scale);
  }

  // -------------------------------------------------------------------------------------
  // Arithmetic

  add(other: Numeric): Numeric {
    if (this.kind !== 'finite' || other.kind !== 'finite') {
      return addSpecial(this, other, false);
    }
    return addFinite(this.coef, this.scale, other.coef, other.scale);
  }

  sub(other: Numeric): Numeric {
    if (this.kind !== 'finite' || other.kind !== 'finite') {
      return addSpecial(this, other, true);
    }
    return addFinite(this.coef, this.scale, -other.coef, other.scale);
  }

  /** Exact product; the display scale is the sum of the inputs' (capped at 16383). */
  mul(other: Numeric): Numeric {
    if (this.kind !== 'finite' || other.kind !== 'finite') {
      if (this.kind === 'nan' || other.kind === 'nan') {
        return Numeric.NAN;
      }
      const sa = this.sign();
      const sb = other.sign();
      if (sa === 0 || sb === 0) {
        return Numeric.NAN; // Infinity × 0
      }
      return sa * sb > 0 ? Numeric.POSITIVE_INFINITY : Numeric.NEGATIVE_INFINITY;
    }
    let coef = this.coef * other.coef;
    let scale = this.scale + other.scale;
    if (scale > NUMERIC_MAX_DSCALE) {
      coef = divRoundHalfAway(coef, pow10(scale - NUMERIC_MAX_DSCALE));
      scale = NUMERIC_MAX_DSCALE;
    }
    checkLimits(coef, scale);
    return new Numeric('finite', coef, scale);
  }

  /**
   * Quotient rounded (half away from zero) to PostgreSQL's select_div_scale: at least 16
   * significant digits, at least either input's display scale, at most 1000 digits after
   * the point. Division by zero → 22012.
   */
  div(other: Numeric): Numeric {
    if (this.kind !== 'finite' || other.kind !== 'finite') {
      return divSpecial(this, other);
    }
    if (other.coef === 0n) {
      throw divisionByZero();
    }
    const rscale = selectDivScale(this, other);
    return divToScale(this.coef, this.scale, other.coef, other.scale, rscale);
  }

  /** Quotient truncated towards zero, display scale 0 (PostgreSQL's div()). */
  divTrunc(other: Numeric): Numeric {
    if (this.kind !== 'finite' || other.kind !== 'finite') {
      const q = divSpecial(this, other);
      return q.isFinite() ? q.trunc() : q;
    }
    if (other.coef === 0n) {
      throw divisionByZero();
    }
    const [a, b] = aligned(this, other);
    const q = a / b;
    return q === 0n ? Numeric.ZERO : new Numeric('finite', q, 0);
  }

  /** Remainder with the dividend's sign; display scale is the larger input scale. */
  mod(other: Numeric): Numeric {
    if (this.kind !== 'finite' || other.kind !== 'finite') {
      if (this.kind === 'nan' || other.kind === 'nan' || this.kind !== 'finite') {
        return Numeric.NAN;
      }
      return this; // finite % ±Infinity
    }
    if (other.coef === 0n) {
      throw divisionByZero();
    }
    const [a, b, scale] = aligned(this, other);
    return new Numeric('finite', a % b, scale);
  }

  neg(): Numeric {
    switch (this.kind) {
      case 'nan':
        return this;
      case '+inf':
        return Numeric.NEGATIVE_INFINITY;
      case '-inf':
        return Numeric.POSITIVE_INFINITY;
      case 'finite':
        return this.coef === 0n ? this : new Numeric('finite', -this.coef, this.scale);
    }
  }

  abs(): Numeric {
    if (this.kind === '-inf') {
      return Numeric.POSITIVE_INFINITY;
    }
    return this.kind === 'finite' && this.coef < 0n ? new Numeric('finite', -this.coef, this.scale) : this;
  }

  /**
   * Rounds half away from zero to `scale` digits after the point (negative: to tens,
   * hundreds, ...). The result's display scale is max(scale, 0): round(1.5, 3) = 1.500.
   */
  round(scale = 0): Numeric {
    return this.rescale(scale, true);
  }

  /** Like round() but truncating towards zero. */
  trunc(scale = 0): Numeric {
    return this.rescale(scale, false);
  }

  ceil(): Numeric {
    if (this.kind !== 'finite') {
      return this;
    }
    const t = this.trunc(0);
    return this.coef > 0n && !t.eq(this) ? t.add(Numeric.ONE) : t;
  }

  floor(): Numeric {
    if (this.kind !== 'finite') {
      return this;
    }
    const t = this.trunc(0);
    return this.coef < 0n && !t.eq(this) ? t.sub(Numeric.ONE) : t;
  }

  /**
   * Square root with PostgreSQL's result scale (at least 16 significant digits, at least
   * the input's display scale). Negative input → 2201F.
   */
  sqrt(): Numeric {
    switch (this.kind) {
      case 'nan':
      case '+inf':
        return this;
      case '-inf':
        throw negativeSqrt();
      case 'finite':
        break;
    }
    if (this.coef < 0n) {
      throw negativeSqrt();
    }
    // sweight: decimal weight of the result, from the base-10000 weight of the input.
    const weight = this.coef === 0n ? 0 : baseWeight(this);
    const sweight = Math.trunc(((weight + 1) * DEC_DIGITS) / 2) - 1;
    let rscale = NUMERIC_MIN_SIG_DIGITS - sweight;
    rscale = Math.min(Math.max(rscale, this.scale, 0), NUMERIC_MAX_DISPLAY_SCALE);
    if (this.coef === 0n) {
      return new Numeric('finite', 0n, rscale);
    }
    // sqrt(coef × 10^-scale) × 10^(rscale+1) = sqrt(coef × 10^(2 rscale + 2 - scale))
    const shift = 2 * rscale + 2 - this.scale;
    const n = shift >= 0 ? this.coef * pow10(shift) : this.coef / pow10(-shift);
    const root = isqrt(n);
    return new Numeric('finite', divRoundHalfAway(root, 10n), rscale);
  }

  /**
   * Applies numeric(precision, scale): rounds to `scale` and raises 22003 "numeric field
   * overflow" when more than precision - scale digits remain before the point. NaN passes;
   * infinities overflow.
   */
  withTypmod(precision: number, scale: number): Numeric {
    if (this.kind === 'nan') {
      return this;
    }
    if (this.kind !== 'finite') {
      throw new SqlError(SqlStates.numericValueOutOfRange, 'numeric field overflow', {
        detail: `A field with precision ${precision}, scale ${scale} cannot hold an infinite value.`,
      });
    }
    const rounded = this.scale === scale ? this : this.round(scale);
    if (rounded.coef !== 0n) {
      const maxDigits = precision - scale;
      const integerDigits = digitCount(rounded.coef) - rounded.scale;
      if (integerDigits > maxDigits) {
        throw new SqlError(SqlStates.numericValueOutOfRange, 'numeric field overflow', {
          detail:
            `A field with precision ${precision}, scale ${scale} must round to an absolute value less than ` +
            `${maxDigits === 0 ? '1' : `10^${maxDigits}`}.`,
        });
      }
    }
    return rounded;
  }

  /** withTypmod for a typmod as kept in SqlType (-1: no limit). */
  applyTypmod(typmod: number): Numeric {
    if (typmod < 0) {
      return this;
    }
    return this.withTypmod(numericTypmodPrecision(typmod), numericTypmodScale(typmod));
  }

  // -------------------------------------------------------------------------------------
  // Conversions

  /** PostgreSQL's output: '-12.340', 'NaN', 'Infinity', '-Infinity'. */
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
    if (this.scale === 0) {
      return this.coef.toString();
    }
    const negative = this.coef < 0n;
    let digits = (negative ? -this.coef : this.coef).toString();
    if (digits.length <= this.scale) {
      digits = '0'.repeat(this.scale - digits.length + 1) + digits;
    }
    const point = digits.length - this.scale;
    return `${negative ? '-' : ''}${digits.slice(0, point)}.${digits.slice(point)}`;
  }

  toJSON(): string {
    return this.toString();
  }

  /** The nearest double (NaN and ±Infinity map across; huge values give ±Infinity). */
  toNumber(): number {
    switch (this.kind) {
      case 'nan':
        return NaN;
      case '+inf':
        return Infinity;
      case '-inf':
        return -Infinity;
      case 'finite':
        break;
    }
    if (this.scale === 0) {
      return Number(this.coef);
    }
    // Both operands exact in a double: one correctly rounded division.
    if (this.scale <= 22 && this.coef < 9_007_199_254_740_992n && this.coef > -9_007_199_254_740_992n) {
      return Number(this.coef) / EXACT_POW10_NUMBERS[this.scale]!;
    }
    return Number(this.toString());
  }

  /**
   * Rounded half away from zero to an integer, as PostgreSQL's numeric → int casts do;
   * the caller checks the range. NaN / infinities → 0A000 ("cannot convert NaN to
   * <typeName>").
   */
  toBigInt(typeName = 'bigint'): bigint {
    switch (this.kind) {
      case 'nan':
        throw new SqlError(SqlStates.featureNotSupported, `cannot convert NaN to ${typeName}`);
      case '+inf':
      case '-inf':
        throw new SqlError(SqlStates.featureNotSupported, `cannot convert infinity to ${typeName}`);
      case 'finite':
        break;
    }
    return this.scale === 0 ? this.coef : divRoundHalfAway(this.coef, pow10(this.scale));
  }

  private rescale(requested: number, roundHalf: boolean): Numeric {
    if (this.kind !== 'finite') {
      return this;
    }
    const scale = Math.max(-NUMERIC_MAX_RESULT_SCALE, Math.min(NUMERIC_MAX_RESULT_SCALE, Math.trunc(requested)));
    if (scale >= this.scale) {
      if (scale === this.scale) {
        return this;
      }
      checkLimits(this.coef, scale);
      return new Numeric('finite', this.coef * pow10(scale - this.scale), scale);
    }
    const unit = pow10(this.scale - scale);
    let q = roundHalf ? divRoundHalfAway(this.coef, unit) : this.coef / unit;
    if (scale >= 0) {
      return new Numeric('finite', q, scale);
    }
    if (q !== 0n) {
      q *= pow10(-scale);
    }
    checkLimits(q, 0);
    return new Numeric('finite', q, 0);
  }
}

const RANK_FINITE = 1;
const RANK: Readonly<Record<NumericKind, number>> = { '-inf': 0, finite: RANK_FINITE, '+inf': 2, nan: 3 };

const EXACT_POW10_NUMBERS: readonly number[] = Array.from({ length: 23 }, (_, i) => 10 ** i);

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function invalidNumericSyntax(text: string): SqlError {
  return new SqlError(SqlStates.invalidTextRepresentation, `invalid input syntax for type numeric: "${text}"`);
}

function negativeSqrt(): SqlError {
  return new SqlError(SqlStates.invalidArgumentForPowerFunction, 'cannot take square root of a negative number');
}

function addFinite(a: bigint, sa: number, b: bigint, sb: number): Numeric {
  if (sa === sb) {
    return new NumericCtor('finite', a + b, sa);
  }
  if (sa < sb) {
    return new NumericCtor('finite', a * pow10(sb - sa) + b, sb);
  }
  return new NumericCtor('finite', a + b * pow10(sa - sb), sa);
}

/** Both coefficients at the larger scale. */
function aligned(x: Numeric, y: Numeric): [bigint, bigint, number] {
  if (x.scale === y.scale) {
    return [x.coef, y.coef, x.scale];
  }
  if (x.scale < y.scale) {
    return [x.coef * pow10(y.scale - x.scale), y.coef, y.scale];
  }
  return [x.coef, y.coef * pow10(x.scale - y.scale), x.scale];
}

function addSpecial(x: Numeric, y: Numeric, subtract: boolean): Numeric {
  if (x.kind === 'nan' || y.kind === 'nan') {
    return Numeric.NAN;
  }
  const yk = subtract ? y.neg().kind : y.kind;
  if (x.kind === 'finite') {
    return yk === '+inf' ? Numeric.POSITIVE_INFINITY : Numeric.NEGATIVE_INFINITY;
  }
  if (yk === 'finite' || yk === x.kind) {
    return x;
  }
  return Numeric.NAN; // Infinity - Infinity
}

function divSpecial(x: Numeric, y: Numeric): Numeric {
  if (x.kind === 'nan' || y.kind === 'nan') {
    return Numeric.NAN;
  }
  if (x.kind !== 'finite') {
    if (y.kind !== 'finite') {
      return Numeric.NAN; // Infinity / Infinity
    }
    const s = y.sign();
    if (s === 0) {
      throw divisionByZero();
    }
    return (x.kind === '+inf') === s > 0 ? Numeric.POSITIVE_INFINITY : Numeric.NEGATIVE_INFINITY;
  }
  return Numeric.ZERO; // finite / ±Infinity
}

/**
 * PostgreSQL's weight of a non-zero finite value: the exponent of its leading base-10000
 * digit (digits are grouped by four from the decimal point).
 */
function baseWeight(x: Numeric): number {
  const exp10 = digitCount(x.coef) - 1 - x.scale;
  return Math.floor(exp10 / DEC_DIGITS);
}

/** The leading base-10000 digit (1..9999) of a non-zero finite value. */
function firstBaseDigit(x: Numeric): number {
  const text = absBig(x.coef).toString();
  const exp10 = text.length - 1 - x.scale;
  const k = exp10 - Math.floor(exp10 / DEC_DIGITS) * DEC_DIGITS + 1;
  let d = 0;
  for (let i = 0; i < k; i++) {
    d = d * 10 + (i < text.length ? text.charCodeAt(i) - 0x30 : 0);
  }
  return d;
}

/** PostgreSQL's select_div_scale. */
function selectDivScale(x: Numeric, y: Numeric): number {
  const w1 = x.coef === 0n ? 0 : baseWeight(x);
  const d1 = x.coef === 0n ? 0 : firstBaseDigit(x);
  const w2 = y.coef === 0n ? 0 : baseWeight(y);
  const d2 = y.coef === 0n ? 0 : firstBaseDigit(y);
  let qweight = w1 - w2;
  if (d1 <= d2) {
    qweight--;
  }
  let rscale = NUMERIC_MIN_SIG_DIGITS - qweight * DEC_DIGITS;
  rscale = Math.max(rscale, x.scale, y.scale, 0);
  return Math.min(rscale, NUMERIC_MAX_DISPLAY_SCALE);
}

/** (a × 10^-sa) / (b × 10^-sb) rounded half away from zero to rscale digits. */
function divToScale(a: bigint, sa: number, b: bigint, sb: number, rscale: number): Numeric {
  // q = a × 10^(rscale + sb - sa) / b
  const shift = rscale + sb - sa;
  let n = a;
  let d = b;
  if (shift >= 0) {
    n *= pow10(shift);
  } else {
    d *= pow10(-shift);
  }
  if (d < 0n) {
    n = -n;
    d = -d;
  }
  const q = divRoundHalfAway(n, d);
  checkLimits(q, rscale);
  return new NumericCtor('finite', q, rscale);
}

// The module's helpers build instances through the private constructor.
const NumericCtor = Numeric as unknown as new (kind: NumericKind, coef: bigint, scale: number) => Numeric;

// ---------------------------------------------------------------------------------------
// numeric(p, s) typmods

/**
 * The typmod of numeric(precision, scale), as kept in SqlType.typmod: PostgreSQL's
 * layout without its 4-byte header offset, `precision << 16 | scale` with the scale in
 * 11 bits two's complement (PostgreSQL 15 allows -1000..1000).
 */
export function numericTypmod(precision: number, scale = 0): number {
  if (!Number.isInteger(precision) || precision < 1 || precision > NUMERIC_MAX_PRECISION) {
    throw new SqlError(
      SqlStates.invalidParameterValue,
      `NUMERIC precision ${precision} must be between 1 and ${NUMERIC_MAX_PRECISION}`,
    );
  }
  if (!Number.isInteger(scale) || scale < NUMERIC_MIN_SCALE || scale > NUMERIC_MAX_SCALE) {
    throw new SqlError(
      SqlStates.invalidParameterValue,
      `NUMERIC scale ${scale} must be between ${NUMERIC_MIN_SCALE} and ${NUMERIC_MAX_SCALE}`,
    );
  }
  return (precision << 16) | (scale & 0x7ff);
}

export function numericTypmodPrecision(typmod: number): number {
  return (typmod >> 16) & 0xffff;
}

export function numericTypmodScale(typmod: number): number {
  return ((typmod & 0x7ff) ^ 1024) - 1024;
}
