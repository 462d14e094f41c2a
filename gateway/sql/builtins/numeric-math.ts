import { SqlError, SqlStates } from '../../../common/errors';
import { digitCount, Numeric, pow10 } from '../types/numeric';
import { BuiltinStates, divisionByZero } from './errors';

/**
 * ln, exp, log and power on numeric, which the Numeric class leaves out. Results carry
 * PostgreSQL's display scales (at least 16 significant digits, at least the inputs'
 * scales, derived from an estimate of the result's magnitude) and are computed in
 * fixed-point bigint arithmetic with guard digits, then rounded half away from zero.
 */

const MIN_SIG_DIGITS = 16;
const MAX_DISPLAY_SCALE = 1000;
const LOG10_E = 0.434294481903252;

function clampScale(rscale: number): number {
  return Math.min(Math.max(rscale, 0), MAX_DISPLAY_SCALE);
}

function absBig(v: bigint): bigint {
  return v < 0n ? -v : v;
}

/** n / d rounded half away from zero; d > 0. */
function divRound(n: bigint, d: bigint): bigint {
  const q = n / d;
  const r = n - q * d;
  if (r === 0n) return q;
  return absBig(r) * 2n >= d ? (n < 0n ? q - 1n : q + 1n) : q;
}

function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil((n.toString(16).length * 4) / 2) + 1);
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/** floor(log10(|x|)) of a non-zero finite value: the decimal weight of its leading digit. */
function decimalWeight(x: Numeric): number {
  return digitCount(absBig(x.coef)) - 1 - x.scale;
}

/** |x| ≈ m × 10^w with m in [1, 10), m as a double from the leading digits. */
function approxLog10(x: Numeric): number {
  const digits = absBig(x.coef).toString();
  const lead = Number(`${digits.slice(0, 1)}.${digits.slice(1, 17) || '0'}`);
  return Math.log10(lead) + decimalWeight(x);
}

/** A finite value as a fixed-point bigint at `p` digits after the point (truncated). */
function toFixed(x: Numeric, p: number): bigint {
  return p >= x.scale ? x.coef * pow10(p - x.scale) : x.coef / pow10(x.scale - p);
}

function fromFixed(v: bigint, p: number, rscale: number): Numeric {
  const coef = rscale >= p ? v * pow10(rscale - p) : divRound(v, pow10(p - rscale));
  return Numeric.of(coef, rscale);
}

const ONE = Numeric.ONE;
const POINT_NINE = Numeric.of(9n, 1);
const ONE_POINT_ONE = Numeric.of(11n, 1);

/** PostgreSQL's estimate_ln_dweight: the decimal weight of ln(x), for choosing result scales. */
export function estimateLnDweight(x: Numeric): number {
  if (!x.isFinite() || x.sign() <= 0) return 0;
  if (x.cmp(POINT_NINE) >= 0 && x.cmp(ONE_POINT_ONE) <= 0) {
    const d = x.sub(ONE);
    return d.isZero() ? 0 : decimalWeight(d);
  }
  const ln = approxLog10(x) * Math.LN10;
  return Math.trunc(Math.log10(Math.abs(ln)));
}

/** ln(m) for a fixed-point m in (0, 10^p · 10], at precision p. */
function lnFixedSmall(m: bigint, p: number): bigint {
  const wp = p + 12;
  const one = pow10(wp);
  let v = m * pow10(12);
  let k = 0;
  const upper = (one * 101n) / 100n;
  const lower = (one * 99n) / 100n;
  // Square roots bring m near 1, where the atanh series converges fast.
  while (v > upper || v < lower) {
    v = isqrt(v * one);
    k++;
  }
  const z = ((v - one) * one) / (v + one);
  const z2 = (z * z) / one;
  let term = z;
  let sum = z;
  for (let n = 3n; ; n += 2n) {
    term = (term * z2) / one;
    const t = term / n;
    if (t === 0n) break;
    sum += t;
  }
  const result = (sum * 2n) << BigInt(k);
  return result / pow10(12);
}

const ln10Cache = new Map<number, bigint>();

function ln10Fixed(p: number): bigint {
  let v = ln10Cache.get(p);
  if (v === undefined) {
    v = lnFixedSmall(10n * pow10(p), p);
    ln10Cache.set(p, v);
  }
  return v;
}

/** ln(x) for a positive finite x, fixed-point at precision p. */
function lnFixed(x: Numeric, p: number): bigint {
  const w = decimalWeight(x);
  const wp = p + 4;
  // m = x / 10^w lies in [1, 10).
  const shift = wp - x.scale - w;
  const m = shift >= 0 ? x.coef * pow10(shift) : x.coef / pow10(-shift);
  const lnm = lnFixedSmall(m, wp);
  return (lnm + BigInt(w) * ln10Fixed(wp)) / pow10(4);
}

/** exp(v / 10^p) at precision p (absolute). */
function expFixed(v: bigint, p: number): bigint {
  const negative = v < 0n;
  const a = absBig(v);
  const approx = Number(a) / 10 ** p;
  const weight = Math.max(0, Math.ceil(approx * LOG10_E));
  // Halve the argument until it is below 0.01; squaring back loses ~k × 0.3 digits.
  const k = approx > 0.01 ? Math.ceil(Math.log2(approx / 0.01)) : 0;
  const wp = p + weight + 12 + Math.ceil(k * 0.302);
  const one = pow10(wp);
  const r = (a * pow10(wp - p)) >> BigInt(k);
  let sum = one;
  let term = one;
  for (let n = 1n; ; n++) {
    term = (term * r) / (one * n);
    if (term === 0n) break;
    sum += term;
  }
  for (let i = 0; i < k; i++) sum = (sum * sum) / one;
  if (negative) {
    // exp(-a) = 1 / exp(a)
    return divRound(pow10(wp + p), sum);
  }
  return divRound(sum, pow10(wp - p));
}

function logOfZero(): SqlError {
  return new SqlError(BuiltinStates.invalidArgumentForLogarithm, 'cannot take logarithm of zero');
}

function logOfNegative(): SqlError {
  return new SqlError(BuiltinStates.invalidArgumentForLogarithm, 'cannot take logarithm of a negative number');
}

function overflow(): SqlError {
  return new SqlError(SqlStates.numericValueOutOfRange, 'value overflows numeric format');
}

function checkLogArgument(x: Numeric): void {
  if (x.kind === '-inf' || (x.isFinite() && x.sign() < 0)) throw logOfNegative();
  if (x.isZero()) throw logOfZero();
}

export function numericLn(x: Numeric): Numeric {
  if (x.isNaN()) return x;
  checkLogArgument(x);
  if (x.kind === '+inf') return x;
  const rscale = clampScale(Math.max(MIN_SIG_DIGITS - estimateLnDweight(x), x.scale));
  return fromFixed(lnFixed(x, rscale + 4), rscale + 4, rscale);
}

/** log(base, x) = ln(x) / ln(base). */
export function numericLog(base: Numeric, x: Numeric): Numeric {
  if (base.isNaN() || x.isNaN()) return Numeric.NAN;
  checkLogArgument(base);
  checkLogArgument(x);
  if (base.kind === '+inf') {
    if (x.kind === '+inf') return Numeric.NAN;
    return Numeric.ZERO;
  }
  if (x.kind === '+inf') {
    const s = base.cmp(ONE);
    if (s === 0) throw divisionByZero();
    return s > 0 ? Numeric.POSITIVE_INFINITY : Numeric.NEGATIVE_INFINITY;
  }
  const baseDweight = estimateLnDweight(base);
  const xDweight = estimateLnDweight(x);
  const rscale = clampScale(Math.max(MIN_SIG_DIGITS - (xDweight - baseDweight), base.scale, x.scale));
  const p = rscale + 12 + Math.max(0, -baseDweight) + Math.max(0, xDweight);
  const lnBase = lnFixed(base, p);
  if (lnBase === 0n) throw divisionByZero();
  const lnX = lnFixed(x, p);
  let n = lnX * pow10(rscale);
  let d = lnBase;
  if (d < 0n) {
    n = -n;
    d = -d;
  }
  return Numeric.of(divRound(n, d), rscale);
}

export function numericExp(x: Numeric): Numeric {
  switch (x.kind) {
    case 'nan':
    case '+inf':
      return x;
    case '-inf':
      return Numeric.ZERO;
    case 'finite':
      break;
  }
  let val = x.toNumber();
  if (Math.abs(val) > MAX_DISPLAY_SCALE * 3) {
    if (val > 0) throw overflow();
    return Numeric.of(0n, MAX_DISPLAY_SCALE);
  }
  val *= LOG10_E;
  const rscale = clampScale(Math.max(MIN_SIG_DIGITS - Math.trunc(val), x.scale));
  const p = rscale + 4;
  return fromFixed(expFixed(toFixed(x, p + 4) / pow10(4), p), p, rscale);
}

function powerErrorZeroNegative(): SqlError {
  return new SqlError(BuiltinStates.invalidArgumentForPowerFunction, 'zero raised to a negative power is undefined');
}

function powerErrorComplex(): SqlError {
  return new SqlError(
    BuiltinStates.invalidArgumentForPowerFunction,
    'a negative number raised to a non-integer power yields a complex result',
  );
}

const INT32_MIN = -2147483648n;
const INT32_MAX = 2147483647n;

/** base ^ exp with PostgreSQL's special cases and result scales. */
export function numericPower(base: Numeric, exp: Numeric): Numeric {
  if (base.isNaN() || exp.isNaN()) {
    if (base.isNaN()) return exp.isZero() ? Numeric.ONE : Numeric.NAN;
    return base.eq(ONE) ? Numeric.ONE : Numeric.NAN;
  }
  if (base.isZero() && exp.sign() < 0) throw powerErrorZeroNegative();
  if (base.isFinite() && base.sign() < 0 && exp.isFinite() && !exp.isInteger()) throw powerErrorComplex();
  if (!base.isFinite() || !exp.isFinite()) return powerInfinite(base, exp);

  if (exp.isInteger()) {
    const n = exp.trunc(0).coef;
    if (n >= INT32_MIN && n <= INT32_MAX) return powerInt(base, Number(n));
  }
  if (base.isZero()) return Numeric.of(0n, MIN_SIG_DIGITS);
  // Negative bases only reach here with integer exponents beyond int32.
  const negate = base.sign() < 0 && exp.isInteger() && (exp.trunc(0).coef & 1n) === 1n;
  const absBase = base.abs();
  let val = approxLog10(absBase) * Math.LN10 * exp.toNumber();
  if (Math.abs(val) > MAX_DISPLAY_SCALE * 3.01) {
    if (val > 0) throw overflow();
    return Numeric.of(0n, MAX_DISPLAY_SCALE);
  }
  val *= LOG10_E;
  const rscale = clampScale(Math.max(MIN_SIG_DIGITS - Math.trunc(val), base.scale, exp.scale));
  const result = expOfProduct(absBase, exp, rscale, Math.trunc(val));
  return negate ? result.neg() : result;
}

/** exp(y × ln(base)) rounded to rscale; `weight` estimates the result's decimal weight. */
function expOfProduct(base: Numeric, y: Numeric, rscale: number, weight: number): Numeric {
  const p = rscale + Math.max(0, weight) + 8;
  const yDigits = Math.max(0, digitCount(absBig(y.coef)) - y.scale);
  const lnBase = lnFixed(base, p + yDigits + 4);
  // y × ln(base), fixed at p + 4.
  const product = (lnBase * y.coef) / pow10(y.scale + yDigits);
  return fromFixed(expFixed(product, p + 4), p + 4, rscale);
}

/** Exact digits are computed up to this size; beyond, exp/ln approximations. */
const MAX_EXACT_POWER_DIGITS = 100_000;

/**
 * base ^ n for an integer n: PostgreSQL 15 gives these the scale max(16, base's scale)
 * whatever the result's magnitude (0.5 ^ 100 is 0.0000000000000000).
 */
function powerInt(base: Numeric, n: number): Numeric {
  const f = base.isZero() ? 0 : n * approxLog10(base);
  if (f > 32768 * 4) throw overflow();
  const rscale = clampScale(Math.max(MIN_SIG_DIGITS, base.scale));
  if (f + 1 < -rscale - 1) return Numeric.of(0n, rscale);
  if (n === 0) return Numeric.of(pow10(rscale), rscale);
  const m = Math.abs(n);
  if (m * digitCount(absBig(base.coef) || 1n) <= MAX_EXACT_POWER_DIGITS) {
    const coef = base.coef ** BigInt(m);
    const scale = base.scale * m;
    if (n > 0) {
      return Numeric.of(rscale >= scale ? coef * pow10(rscale - scale) : divRound(coef, pow10(scale - rscale)), rscale);
    }
    let num = pow10(rscale + scale);
    let den = coef;
    if (den < 0n) {
      num = -num;
      den = -den;
    }
    return Numeric.of(divRound(num, den), rscale);
  }
  const result = expOfProduct(base.abs(), Numeric.fromBigInt(BigInt(n)), rscale, Math.trunc(f));
  return base.sign() < 0 && m % 2 === 1 ? result.neg() : result;
}

/** Powers where an argument is infinite (PostgreSQL 15 follows POSIX pow()). */
function powerInfinite(base: Numeric, exp: Numeric): Numeric {
  if (exp.isZero()) return Numeric.ONE;
  if (!exp.isFinite()) {
    const cmp = base.abs().cmp(ONE);
    if (cmp === 0) return Numeric.ONE;
    const grows = (cmp > 0) === (exp.kind === '+inf');
    if (!grows) return Numeric.ZERO;
    if (base.isZero()) throw powerErrorZeroNegative();
    return Numeric.POSITIVE_INFINITY;
  }
  // base is ±Infinity, exp finite and non-zero.
  if (exp.sign() < 0) return Numeric.ZERO;
  if (base.kind === '-inf') {
    const odd = exp.isInteger() && (exp.trunc(0).coef & 1n) === 1n;
    return odd ? Numeric.NEGATIVE_INFINITY : Numeric.POSITIVE_INFINITY;
  }
  return Numeric.POSITIVE_INFINITY;
}
