import { SqlError, SqlStates } from '../../../common/errors';
import { Numeric, pow10 } from '../types/numeric';
import { floatPower, floatSqrt, intAbs } from './arith-ops';
import { flt, int, num } from './datum-access';
import { rint } from './datetime';
import type { IntTypeName } from './errors';
import { BuiltinStates, floatOverflow, floatUnderflow, invalidParameter } from './errors';
import { checkFloatResult, checkInt, intMod } from './numbers';
import { numericExp, numericLn, numericLog, numericPower } from './numeric-math';
import type { ScalarDef } from './registry';

/**
 * Mathematical functions (PostgreSQL 15 §9.3): one overload per type PostgreSQL has, so
 * that resolution picks the same one (round(2) is the float8 version, round(2.5) the
 * numeric one).
 */

function logError(x: number): void {
  if (x === 0) throw new SqlError(BuiltinStates.invalidArgumentForLogarithm, 'cannot take logarithm of zero');
  if (x < 0) throw new SqlError(BuiltinStates.invalidArgumentForLogarithm, 'cannot take logarithm of a negative number');
}

function floatLn(x: number): number {
  logError(x);
  return checkFloatResult(Math.log(x), x);
}

function floatLog10(x: number): number {
  logError(x);
  return checkFloatResult(Math.log10(x), x);
}

function floatExp(x: number): number {
  if (Number.isNaN(x)) return x;
  if (!Number.isFinite(x)) return x > 0 ? x : 0;
  const r = Math.exp(x);
  if (!Number.isFinite(r)) throw floatOverflow();
  if (r === 0) throw floatUnderflow();
  return r;
}

function outOfRange(): SqlError {
  return new SqlError(SqlStates.numericValueOutOfRange, 'input is out of range');
}

function trig(f: (x: number) => number, domain?: (x: number) => boolean): (a: readonly unknown[]) => number {
  return (a) => {
    const x = a[0] as number;
    if (Number.isNaN(x)) return NaN;
    if (!Number.isFinite(x) || (domain !== undefined && !domain(x))) throw outOfRange();
    return f(x);
  };
}

function gcdBig(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

function intGcd(a: bigint, b: bigint, type: IntTypeName): bigint {
  return checkInt(gcdBig(a, b), type);
}

function intLcm(a: bigint, b: bigint, type: IntTypeName): bigint {
  if (a === 0n || b === 0n) return 0n;
  const g = gcdBig(a, b);
  const l = (a / g) * b;
  return checkInt(l < 0n ? -l : l, type);
}

/** Numeric gcd/lcm on the values scaled to a common display scale. */
function numericGcdLcm(a: Numeric, b: Numeric, lcm: boolean): Numeric {
  if (!a.isFinite() || !b.isFinite()) return Numeric.NAN;
  const scale = Math.max(a.scale, b.scale);
  const x = a.coef * pow10(scale - a.scale);
  const y = b.coef * pow10(scale - b.scale);
  if (!lcm) return Numeric.of(gcdBig(x, y), scale);
  if (x === 0n || y === 0n) return Numeric.of(0n, scale);
  const l = (x / gcdBig(x, y)) * y;
  return Numeric.of(l < 0n ? -l : l, scale);
}

function widthBucketError(message: string): SqlError {
  return new SqlError(BuiltinStates.invalidArgumentForWidthBucket, message);
}

function floatWidthBucket(op: number, lo: number, hi: number, count: bigint): bigint {
  if (count <= 0n) throw widthBucketError('count must be greater than zero');
  if (Number.isNaN(op) || Number.isNaN(lo) || Number.isNaN(hi)) {
    throw widthBucketError('operand, lower bound, and upper bound cannot be NaN');
  }
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw widthBucketError('lower and upper bounds must be finite');
  if (lo === hi) throw widthBucketError('lower bound cannot equal upper bound');
  const n = Number(count);
  let bucket: number;
  if (lo < hi) {
    if (op < lo) bucket = 0;
    else if (op >= hi) bucket = n + 1;
    else bucket = Math.trunc((n * (op - lo)) / (hi - lo)) + 1;
  } else if (op > lo) bucket = 0;
  else if (op <= hi) bucket = n + 1;
  else bucket = Math.trunc((n * (lo - op)) / (lo - hi)) + 1;
  return checkInt(BigInt(bucket), 'int4');
}

function numericWidthBucket(op: Numeric, lo: Numeric, hi: Numeric, count: bigint): bigint {
  if (count <= 0n) throw widthBucketError('count must be greater than zero');
  if (op.isNaN() || lo.isNaN() || hi.isNaN()) throw widthBucketError('operand, lower bound, and upper bound cannot be NaN');
  if (!lo.isFinite() || !hi.isFinite()) throw widthBucketError('lower and upper bounds must be finite');
  const c = lo.cmp(hi);
  if (c === 0) throw widthBucketError('lower bound cannot equal upper bound');
  const n = Numeric.fromBigInt(count);
  let bucket: bigint;
  if (c < 0) {
    if (op.lt(lo)) bucket = 0n;
    else if (op.cmp(hi) >= 0) bucket = count + 1n;
    else bucket = n.mul(op.sub(lo)).divTrunc(hi.sub(lo)).toBigInt() + 1n;
  } else if (op.gt(lo)) bucket = 0n;
  else if (op.cmp(hi) <= 0) bucket = count + 1n;
  else bucket = n.mul(lo.sub(op)).divTrunc(lo.sub(hi)).toBigInt() + 1n;
  return checkInt(bucket, 'int4');
}

function factorial(n: bigint): Numeric {
  if (n < 0n) throw invalidParameter('factorial of a negative number is undefined');
  if (n > 32177n) throw new SqlError(SqlStates.numericValueOutOfRange, 'value overflows numeric format');
  let r = 1n;
  for (let i = 2n; i <= n; i++) r *= i;
  return Numeric.fromBigInt(r);
}

/** The number of digits after the point without trailing zeros (min_scale). */
function minScale(x: Numeric): number {
  return x.isFinite() ? x.normalize().scale : 0;
}

const INTS: readonly IntTypeName[] = ['int2', 'int4', 'int8'];

export const mathFunctions: readonly ScalarDef[] = [
  ...INTS.map((t): ScalarDef => ({ name: 'abs', args: [t], result: t, impl: (a) => intAbs(int(a[0]), t) })),
  { name: 'abs', args: ['float4'], result: 'float4', impl: (a) => Math.abs(flt(a[0])) },
  { name: 'abs', args: ['float8'], result: 'float8', impl: (a) => Math.abs(flt(a[0])) },
  { name: 'abs', args: ['numeric'], result: 'numeric', impl: (a) => num(a[0]).abs() },
  ...(['ceil', 'ceiling'] as const).flatMap((name): ScalarDef[] => [
    { name, args: ['float8'], result: 'float8', impl: (a) => Math.ceil(flt(a[0])) },
    { name, args: ['numeric'], result: 'numeric', impl: (a) => num(a[0]).ceil() },
  ]),
  { name: 'floor', args: ['float8'], result: 'float8', impl: (a) => Math.floor(flt(a[0])) },
  { name: 'floor', args: ['numeric'], result: 'numeric', impl: (a) => num(a[0]).floor() },
  // float8 rounds half to even (rint); numeric half away from zero.
  { name: 'round', args: ['float8'], result: 'float8', impl: (a) => rint(flt(a[0])) },
  { name: 'round', args: ['numeric'], result: 'numeric', impl: (a) => num(a[0]).round(0) },
  { name: 'round', args: ['numeric', 'int4'], result: 'numeric', impl: (a) => num(a[0]).round(Number(int(a[1]))) },
  { name: 'trunc', args: ['float8'], result: 'float8', impl: (a) => Math.trunc(flt(a[0])) },
  { name: 'trunc', args: ['numeric'], result: 'numeric', impl: (a) => num(a[0]).trunc(0) },
  { name: 'trunc', args: ['numeric', 'int4'], result: 'numeric', impl: (a) => num(a[0]).trunc(Number(int(a[1]))) },
  { name: 'sign', args: ['float8'], result: 'float8', impl: (a) => signOf(flt(a[0])) },
  {
    name: 'sign',
    args: ['numeric'],
    result: 'numeric',
    impl: (a) => {
      const s = num(a[0]).sign();
      return Number.isNaN(s) ? Numeric.NAN : Numeric.fromBigInt(BigInt(s));
    },
  },
  { name: 'sqrt', args: ['float8'], result: 'float8', impl: (a) => floatSqrt(flt(a[0])) },
  { name: 'sqrt', args: ['numeric'], result: 'numeric', impl: (a) => num(a[0]).sqrt() },
  { name: 'cbrt', args: ['float8'], result: 'float8', impl: (a) => Math.cbrt(flt(a[0])) },
  ...(['power', 'pow'] as const).flatMap((name): ScalarDef[] => [
    { name, args: ['float8', 'float8'], result: 'float8', impl: (a) => floatPower(flt(a[0]), flt(a[1])) },
    { name, args: ['numeric', 'numeric'], result: 'numeric', impl: (a) => numericPower(num(a[0]), num(a[1])) },
  ]),
  { name: 'exp', args: ['float8'], result: 'float8', impl: (a) => floatExp(flt(a[0])) },
  { name: 'exp', args: ['numeric'], result: 'numeric', impl: (a) => numericExp(num(a[0])) },
  { name: 'ln', args: ['float8'], result: 'float8', impl: (a) => floatLn(flt(a[0])) },
  { name: 'ln', args: ['numeric'], result: 'numeric', impl: (a) => numericLn(num(a[0])) },
  { name: 'log', args: ['float8'], result: 'float8', impl: (a) => floatLog10(flt(a[0])) },
  { name: 'log', args: ['numeric'], result: 'numeric', impl: (a) => numericLog(Numeric.fromBigInt(10n), num(a[0])) },
  { name: 'log', args: ['numeric', 'numeric'], result: 'numeric', impl: (a) => numericLog(num(a[0]), num(a[1])) },
  { name: 'log10', args: ['float8'], result: 'float8', impl: (a) => floatLog10(flt(a[0])) },
  { name: 'log10', args: ['numeric'], result: 'numeric', impl: (a) => numericLog(Numeric.fromBigInt(10n), num(a[0])) },
  ...INTS.map((t): ScalarDef => ({ name: 'mod', args: [t, t], result: t, impl: (a) => intMod(int(a[0]), int(a[1])) })),
  { name: 'mod', args: ['numeric', 'numeric'], result: 'numeric', impl: (a) => num(a[0]).mod(num(a[1])) },
  { name: 'div', args: ['numeric', 'numeric'], result: 'numeric', impl: (a) => num(a[0]).divTrunc(num(a[1])) },
  ...(['int4', 'int8'] as const).flatMap((t): ScalarDef[] => [
    { name: 'gcd', args: [t, t], result: t, impl: (a) => intGcd(int(a[0]), int(a[1]), t) },
    { name: 'lcm', args: [t, t], result: t, impl: (a) => intLcm(int(a[0]), int(a[1]), t) },
  ]),
  { name: 'gcd', args: ['numeric', 'numeric'], result: 'numeric', impl: (a) => numericGcdLcm(num(a[0]), num(a[1]), false) },
  { name: 'lcm', args: ['numeric', 'numeric'], result: 'numeric', impl: (a) => numericGcdLcm(num(a[0]), num(a[1]), true) },
  {
    name: 'width_bucket',
    args: ['float8', 'float8', 'float8', 'int4'],
    result: 'int4',
    impl: (a) => floatWidthBucket(flt(a[0]), flt(a[1]), flt(a[2]), int(a[3])),
  },
  {
    name: 'width_bucket',
    args: ['numeric', 'numeric', 'numeric', 'int4'],
    result: 'int4',
    impl: (a) => numericWidthBucket(num(a[0]), num(a[1]), num(a[2]), int(a[3])),
  },
  { name: 'pi', args: [], result: 'float8', impl: () => Math.PI },
  { name: 'random', args: [], result: 'float8', volatility: 'volatile', impl: (_a, ctx) => ctx.random() },
  { name: 'degrees', args: ['float8'], result: 'float8', impl: (a) => checkFloatResult((flt(a[0]) * 180) / Math.PI, flt(a[0])) },
  { name: 'radians', args: ['float8'], result: 'float8', impl: (a) => checkFloatResult((flt(a[0]) * Math.PI) / 180, flt(a[0])) },
  { name: 'sin', args: ['float8'], result: 'float8', impl: trig(Math.sin) },
  { name: 'cos', args: ['float8'], result: 'float8', impl: trig(Math.cos) },
  { name: 'tan', args: ['float8'], result: 'float8', impl: trig(Math.tan) },
  { name: 'cot', args: ['float8'], result: 'float8', impl: trig((x) => 1 / Math.tan(x)) },
  { name: 'asin', args: ['float8'], result: 'float8', impl: trig(Math.asin, (x) => x >= -1 && x <= 1) },
  { name: 'acos', args: ['float8'], result: 'float8', impl: trig(Math.acos, (x) => x >= -1 && x <= 1) },
  {
    name: 'atan',
    args: ['float8'],
    result: 'float8',
    impl: (a) => (Number.isNaN(flt(a[0])) ? NaN : Math.atan(flt(a[0]))),
  },
  { name: 'atan2', args: ['float8', 'float8'], result: 'float8', impl: (a) => Math.atan2(flt(a[0]), flt(a[1])) },
  { name: 'scale', args: ['numeric'], result: 'int4', impl: (a) => (num(a[0]).isFinite() ? BigInt(num(a[0]).scale) : null) },
  { name: 'min_scale', args: ['numeric'], result: 'int4', impl: (a) => (num(a[0]).isFinite() ? BigInt(minScale(num(a[0]))) : null) },
  { name: 'trim_scale', args: ['numeric'], result: 'numeric', impl: (a) => num(a[0]).normalize() },
  { name: 'factorial', args: ['int8'], result: 'numeric', impl: (a) => factorial(int(a[0])) },
];

function signOf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  return x > 0 ? 1 : x < 0 ? -1 : 0;
}
