import type { IntTypeName } from './errors';
import { divisionByZero, floatOverflow, floatUnderflow, intOutOfRange } from './errors';

/**
 * Checked arithmetic on the datum representations of the numeric types, with
 * PostgreSQL's errors: integers are bigints checked against their type's range after
 * every operation (so int4 overflows at 32 bits), floats are numbers checked for
 * overflow (a finite input giving an infinite result) and underflow (a non-zero input
 * giving zero), float4 results rounded with Math.fround.
 */

export type FloatTypeName = 'float4' | 'float8';

export const INT_MIN: Readonly<Record<IntTypeName, bigint>> = {
  int2: -32768n,
  int4: -2147483648n,
  int8: -9223372036854775808n,
};

export const INT_MAX: Readonly<Record<IntTypeName, bigint>> = {
  int2: 32767n,
  int4: 2147483647n,
  int8: 9223372036854775807n,
};

const INT_RANK: Readonly<Record<IntTypeName, number>> = { int2: 0, int4: 1, int8: 2 };

export function widerInt(a: IntTypeName, b: IntTypeName): IntTypeName {
  return INT_RANK[a] >= INT_RANK[b] ? a : b;
}

export function checkInt(v: bigint, type: IntTypeName): bigint {
  if (v < INT_MIN[type] || v > INT_MAX[type]) throw intOutOfRange(type);
  return v;
}

export function intDiv(a: bigint, b: bigint, type: IntTypeName): bigint {
  if (b === 0n) throw divisionByZero();
  // BigInt division truncates towards zero, as C does; MIN / -1 fails the range check.
  return checkInt(a / b, type);
}

export function intMod(a: bigint, b: bigint): bigint {
  if (b === 0n) throw divisionByZero();
  // The remainder has the dividend's sign (C semantics); MIN % -1 is 0.
  return a % b;
}

/** Rounds a float8 result to float4 when the result type is float4. */
export function toFloatType(v: number, type: FloatTypeName): number {
  return type === 'float4' ? Math.fround(v) : v;
}

function checkOverflow(result: number, a: number, b: number): number {
  if (!Number.isFinite(result) && !Number.isNaN(result) && Number.isFinite(a) && Number.isFinite(b)) {
    throw floatOverflow();
  }
  return result;
}

export function floatAdd(a: number, b: number, type: FloatTypeName): number {
  return checkOverflow(toFloatType(a + b, type), a, b);
}

export function floatSub(a: number, b: number, type: FloatTypeName): number {
  return checkOverflow(toFloatType(a - b, type), a, b);
}

export function floatMul(a: number, b: number, type: FloatTypeName): number {
  const result = checkOverflow(toFloatType(a * b, type), a, b);
  if (result === 0 && a !== 0 && b !== 0) throw floatUnderflow();
  return result;
}

export function floatDiv(a: number, b: number, type: FloatTypeName): number {
  if (b === 0 && !Number.isNaN(a)) throw divisionByZero();
  const result = toFloatType(a / b, type);
  if (!Number.isFinite(result) && !Number.isNaN(result) && Number.isFinite(a)) throw floatOverflow();
  if (result === 0 && a !== 0 && Number.isFinite(b)) throw floatUnderflow();
  return result;
}

/** Checks a float function's result: overflow when the input was finite, underflow when it was not zero. */
export function checkFloatResult(result: number, input: number, type: FloatTypeName = 'float8'): number {
  const r = toFloatType(result, type);
  if (!Number.isFinite(r) && !Number.isNaN(r) && Number.isFinite(input)) throw floatOverflow();
  if (r === 0 && input !== 0) throw floatUnderflow();
  return r;
}

/** PostgreSQL's float ordering: NaN equals NaN and sorts above every other value. */
export function compareFloats(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
  if (Number.isNaN(b)) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareBigInts(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

