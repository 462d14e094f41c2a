import { num } from './datum-access';
import type { IntTypeName } from './errors';
import { BuiltinStates, floatOverflow, floatUnderflow } from './errors';
import type { FloatTypeName } from './numbers';
import { checkInt, floatAdd, floatDiv, floatMul, floatSub, intDiv, intMod, widerInt } from './numbers';
import { numericPower } from './numeric-math';
import type { ScalarDef } from './registry';
import { SqlError } from '../../../common/errors';

/**
 * Arithmetic and bitwise operators on the numeric types, one entry per pg_operator row:
 * integers of every pair of widths (the result has the wider type and overflows at its
 * width), float4/float8 pairs, numeric. Mixed integer/float/numeric expressions reach
 * these through implicit casts chosen by resolution.
 */

const INTS: readonly IntTypeName[] = ['int2', 'int4', 'int8'];
const FLOATS: readonly FloatTypeName[] = ['float4', 'float8'];

function intOps(): ScalarDef[] {
  const defs: ScalarDef[] = [];
  for (const l of INTS) {
    for (const r of INTS) {
      const t = widerInt(l, r);
      defs.push(
        { name: '+', args: [l, r], result: t, impl: (a) => checkInt((a[0] as bigint) + (a[1] as bigint), t) },
        { name: '-', args: [l, r], result: t, impl: (a) => checkInt((a[0] as bigint) - (a[1] as bigint), t) },
        { name: '*', args: [l, r], result: t, impl: (a) => checkInt((a[0] as bigint) * (a[1] as bigint), t) },
        { name: '/', args: [l, r], result: t, impl: (a) => intDiv(a[0] as bigint, a[1] as bigint, t) },
      );
    }
    defs.push(
      { name: '%', args: [l, l], result: l, impl: (a) => intMod(a[0] as bigint, a[1] as bigint) },
      { name: '-', args: [l], result: l, impl: (a) => checkInt(-(a[0] as bigint), l) },
      { name: '+', args: [l], result: l, impl: (a) => a[0] as bigint },
      { name: '@', args: [l], result: l, impl: (a) => intAbs(a[0] as bigint, l) },
      { name: '&', args: [l, l], result: l, impl: (a) => (a[0] as bigint) & (a[1] as bigint) },
      { name: '|', args: [l, l], result: l, impl: (a) => (a[0] as bigint) | (a[1] as bigint) },
      { name: '#', args: [l, l], result: l, impl: (a) => (a[0] as bigint) ^ (a[1] as bigint) },
      { name: '~', args: [l], result: l, impl: (a) => ~(a[0] as bigint) },
      { name: '<<', args: [l, 'int4'], result: l, impl: (a) => shiftLeft(a[0] as bigint, a[1] as bigint, l) },
      { name: '>>', args: [l, 'int4'], result: l, impl: (a) => shiftRight(a[0] as bigint, a[1] as bigint, l) },
    );
  }
  return defs;
}

export function intAbs(v: bigint, type: IntTypeName): bigint {
  return checkInt(v < 0n ? -v : v, type);
}

/**
 * Shifts behave as PostgreSQL's C code does on x86: the count is taken modulo the
 * operand width (32 for int2 and int4, which compute in int, 64 for int8) and the result
 * wraps to the type's width instead of raising an error.
 */
function shiftLeft(v: bigint, count: bigint, type: IntTypeName): bigint {
  if (type === 'int8') return BigInt.asIntN(64, v << (count & 63n));
  const wide = BigInt.asIntN(32, v << (count & 31n));
  return type === 'int2' ? BigInt.asIntN(16, wide) : wide;
}

function shiftRight(v: bigint, count: bigint, type: IntTypeName): bigint {
  const result = v >> (count & (type === 'int8' ? 63n : 31n));
  return type === 'int2' ? BigInt.asIntN(16, result) : result;
}

function floatOps(): ScalarDef[] {
  const defs: ScalarDef[] = [];
  for (const l of FLOATS) {
    for (const r of FLOATS) {
      const t: FloatTypeName = l === 'float8' || r === 'float8' ? 'float8' : 'float4';
      defs.push(
        { name: '+', args: [l, r], result: t, impl: (a) => floatAdd(a[0] as number, a[1] as number, t) },
        { name: '-', args: [l, r], result: t, impl: (a) => floatSub(a[0] as number, a[1] as number, t) },
        { name: '*', args: [l, r], result: t, impl: (a) => floatMul(a[0] as number, a[1] as number, t) },
        { name: '/', args: [l, r], result: t, impl: (a) => floatDiv(a[0] as number, a[1] as number, t) },
      );
    }
    defs.push(
      { name: '-', args: [l], result: l, impl: (a) => -(a[0] as number) },
      { name: '+', args: [l], result: l, impl: (a) => a[0] as number },
      { name: '@', args: [l], result: l, impl: (a) => Math.abs(a[0] as number) },
    );
  }
  defs.push(
    { name: '^', args: ['float8', 'float8'], result: 'float8', impl: (a) => floatPower(a[0] as number, a[1] as number) },
    { name: '|/', args: ['float8'], result: 'float8', impl: (a) => floatSqrt(a[0] as number) },
    { name: '||/', args: ['float8'], result: 'float8', impl: (a) => Math.cbrt(a[0] as number) },
  );
  return defs;
}

export function floatSqrt(v: number): number {
  if (v < 0) {
    throw new SqlError(BuiltinStates.invalidArgumentForPowerFunction, 'cannot take square root of a negative number');
  }
  return Math.sqrt(v);
}

/** PostgreSQL's dpow: POSIX pow() semantics plus its errors. */
export function floatPower(x: number, y: number): number {
  if (Number.isNaN(x) || Number.isNaN(y)) {
    if (Number.isNaN(x)) return y === 0 ? 1 : NaN;
    return x === 1 ? 1 : NaN;
  }
  if (x === 0 && y < 0) {
    throw new SqlError(BuiltinStates.invalidArgumentForPowerFunction, 'zero raised to a negative power is undefined');
  }
  if (x < 0 && Number.isFinite(x) && Number.isFinite(y) && !Number.isInteger(y)) {
    throw new SqlError(
      BuiltinStates.invalidArgumentForPowerFunction,
      'a negative number raised to a non-integer power yields a complex result',
    );
  }
  // JavaScript gives NaN where POSIX gives 1 for (±1) ^ ±Infinity.
  if ((x === 1 || x === -1) && !Number.isFinite(y)) return 1;
  const result = Math.pow(x, y);
  if (!Number.isFinite(result) && Number.isFinite(x) && Number.isFinite(y)) throw floatOverflow();
  if (result === 0 && x !== 0 && Number.isFinite(x) && Number.isFinite(y)) throw floatUnderflow();
  return result;
}

function numericOps(): ScalarDef[] {
  return [
    { name: '+', args: ['numeric', 'numeric'], result: 'numeric', impl: (a) => num(a[0]).add(num(a[1])) },
    { name: '-', args: ['numeric', 'numeric'], result: 'numeric', impl: (a) => num(a[0]).sub(num(a[1])) },
    { name: '*', args: ['numeric', 'numeric'], result: 'numeric', impl: (a) => num(a[0]).mul(num(a[1])) },
    { name: '/', args: ['numeric', 'numeric'], result: 'numeric', impl: (a) => num(a[0]).div(num(a[1])) },
    { name: '%', args: ['numeric', 'numeric'], result: 'numeric', impl: (a) => num(a[0]).mod(num(a[1])) },
    { name: '^', args: ['numeric', 'numeric'], result: 'numeric', impl: (a) => numericPower(num(a[0]), num(a[1])) },
    { name: '-', args: ['numeric'], result: 'numeric', impl: (a) => num(a[0]).neg() },
    { name: '+', args: ['numeric'], result: 'numeric', impl: (a) => num(a[0]) },
    { name: '@', args: ['numeric'], result: 'numeric', impl: (a) => num(a[0]).abs() },
  ];
}

export const arithmeticOperators: readonly ScalarDef[] = [...intOps(), ...floatOps(), ...numericOps()];
