import fc from 'fast-check';
import { SqlError } from '../../../common/errors';
import { fixedEvalContext } from './eval-context';
import { callFunction, callOperator } from './testing';

// Expected values and errors are PostgreSQL 15's for the same expressions.

function op(left: [string, string], name: string, right: [string, string]): string | null {
  return callOperator(name, left, right);
}

function prefix(name: string, arg: [string, string]): string | null {
  return callOperator(name, undefined, arg);
}

function fn(name: string, ...args: [string, string | null][]): string | null {
  return callFunction(name, args);
}

function sqlError(f: () => unknown): { sqlState: string; message: string } {
  try {
    f();
  } catch (err) {
    if (err instanceof SqlError) return { sqlState: err.sqlState, message: err.message };
    throw err;
  }
  throw new Error('expected an error');
}

describe('integer arithmetic', () => {
  it('computes in the wider type', () => {
    expect(op(['int4', '2'], '+', ['int4', '3'])).toBe('5');
    expect(op(['int2', '2'], '*', ['int8', '3'])).toBe('6');
    expect(op(['int4', '7'], '-', ['int2', '10'])).toBe('-3');
  });

  it('truncates division towards zero; % takes the dividend’s sign', () => {
    expect(op(['int4', '7'], '/', ['int4', '2'])).toBe('3');
    expect(op(['int4', '-7'], '/', ['int4', '2'])).toBe('-3');
    expect(op(['int4', '7'], '/', ['int4', '-2'])).toBe('-3');
    expect(op(['int4', '-7'], '%', ['int4', '3'])).toBe('-1');
    expect(op(['int4', '7'], '%', ['int4', '-3'])).toBe('1');
    expect(fn('mod', ['int4', '-7'], ['int4', '3'])).toBe('-1');
    expect(op(['int4', '-2147483648'], '%', ['int4', '-1'])).toBe('0');
  });

  it('overflows at the width of the result type (22003)', () => {
    expect(sqlError(() => op(['int4', '2147483647'], '+', ['int4', '1']))).toEqual({
      sqlState: '22003',
      message: 'integer out of range',
    });
    expect(sqlError(() => op(['int2', '32767'], '+', ['int2', '1']))).toEqual({
      sqlState: '22003',
      message: 'smallint out of range',
    });
    expect(sqlError(() => op(['int2', '-32768'], '/', ['int2', '-1']))).toEqual({
      sqlState: '22003',
      message: 'smallint out of range',
    });
    expect(sqlError(() => op(['int8', '9223372036854775807'], '*', ['int8', '2']))).toEqual({
      sqlState: '22003',
      message: 'bigint out of range',
    });
    expect(sqlError(() => op(['int4', '-2147483648'], '/', ['int4', '-1'])).message).toBe('integer out of range');
    expect(sqlError(() => prefix('-', ['int4', '-2147483648'])).message).toBe('integer out of range');
    expect(sqlError(() => fn('abs', ['int4', '-2147483648'])).message).toBe('integer out of range');
    // int4 + int8 computes in int8: no int4 overflow.
    expect(op(['int4', '2147483647'], '+', ['int8', '1'])).toBe('2147483648');
  });

  it('raises 22012 on division by zero', () => {
    expect(sqlError(() => op(['int4', '1'], '/', ['int4', '0']))).toEqual({ sqlState: '22012', message: 'division by zero' });
    expect(sqlError(() => op(['int8', '5'], '%', ['int8', '0']))).toEqual({ sqlState: '22012', message: 'division by zero' });
    expect(sqlError(() => op(['numeric', '5.0'], '/', ['numeric', '0']))).toEqual({
      sqlState: '22012',
      message: 'division by zero',
    });
    expect(sqlError(() => op(['float8', '1'], '/', ['float8', '0']))).toEqual({
      sqlState: '22012',
      message: 'division by zero',
    });
  });

  it('has bitwise operators with C shift semantics', () => {
    expect(op(['int4', '12'], '&', ['int4', '10'])).toBe('8');
    expect(op(['int4', '12'], '|', ['int4', '10'])).toBe('14');
    expect(op(['int4', '5'], '#', ['int4', '3'])).toBe('6');
    expect(prefix('~', ['int4', '5'])).toBe('-6');
    expect(op(['int4', '1'], '<<', ['int4', '31'])).toBe('-2147483648');
    expect(op(['int4', '1'], '<<', ['int4', '32'])).toBe('1');
    expect(op(['int2', '1'], '<<', ['int4', '16'])).toBe('0');
    expect(op(['int8', '1'], '<<', ['int4', '64'])).toBe('1');
    expect(op(['int4', '-8'], '>>', ['int4', '1'])).toBe('-4');
  });

  it('keeps int arithmetic exact for any operands in range (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (a, b) => {
        const sum = BigInt(a) + BigInt(b);
        const inRange = sum >= -(2n ** 31n) && sum < 2n ** 31n;
        if (inRange) expect(op(['int4', String(a)], '+', ['int4', String(b)])).toBe(String(sum));
        else expect(sqlError(() => op(['int4', String(a)], '+', ['int4', String(b)])).sqlState).toBe('22003');
      }),
    );
  });
});

describe('float arithmetic', () => {
  it('computes float8 and float4', () => {
    expect(op(['float8', '0.1'], '+', ['float8', '0.2'])).toBe('0.30000000000000004');
    expect(op(['float4', '0.1'], '+', ['float4', '0.2'])).toBe('0.3');
    expect(op(['int4', '1'], '/', ['float8', '4'])).toBe('0.25');
  });

  it('raises overflow and underflow as 22003', () => {
    expect(sqlError(() => op(['float8', '1e308'], '*', ['float8', '10']))).toEqual({
      sqlState: '22003',
      message: 'value out of range: overflow',
    });
    expect(sqlError(() => op(['float8', '1e-300'], '*', ['float8', '1e-300']))).toEqual({
      sqlState: '22003',
      message: 'value out of range: underflow',
    });
    expect(sqlError(() => op(['float4', '3e38'], '+', ['float4', '3e38'])).message).toBe('value out of range: overflow');
    // Denormal results are fine; infinite inputs are not an overflow.
    expect(op(['float8', '1e-308'], '*', ['float8', '1e-10'])).toBe('1e-318');
    expect(op(['float8', 'Infinity'], '+', ['float8', '1'])).toBe('Infinity');
  });

  it('follows PostgreSQL for ^ on floats', () => {
    expect(op(['int4', '2'], '^', ['int4', '3'])).toBe('8');
    expect(op(['float8', '2'], '^', ['float8', '0.5'])).toBe('1.4142135623730951');
    expect(sqlError(() => op(['float8', '0'], '^', ['float8', '-1']))).toEqual({
      sqlState: '2201F',
      message: 'zero raised to a negative power is undefined',
    });
    expect(sqlError(() => op(['float8', '-8'], '^', ['float8', '0.5']))).toEqual({
      sqlState: '2201F',
      message: 'a negative number raised to a non-integer power yields a complex result',
    });
    expect(op(['float8', '1'], '^', ['float8', 'NaN'])).toBe('1');
    expect(op(['float8', 'NaN'], '^', ['float8', '0'])).toBe('1');
  });
});

describe('numeric arithmetic', () => {
  it('keeps display scales as PostgreSQL', () => {
    expect(op(['numeric', '1.50'], '+', ['int4', '1'])).toBe('2.50');
    expect(op(['numeric', '1.5'], '*', ['numeric', '2.25'])).toBe('3.375');
    expect(op(['int4', '1'], '/', ['numeric', '3'])).toBe('0.33333333333333333333');
    expect(op(['numeric', '7.5'], '%', ['int4', '2'])).toBe('1.5');
    expect(fn('div', ['numeric', '-7.5'], ['numeric', '2'])).toBe('-3');
  });

  it('computes ^, exp, ln, log with PostgreSQL’s result scales', () => {
    expect(op(['numeric', '2.0'], '^', ['int4', '3'])).toBe('8.0000000000000000');
    expect(op(['int4', '2'], '^', ['numeric', '0.5'])).toBe('1.4142135623730950');
    expect(op(['numeric', '2.5'], '^', ['int4', '2'])).toBe('6.2500000000000000');
    expect(op(['numeric', '1.1'], '^', ['numeric', '2.5'])).toBe('1.2690587062858834');
    expect(op(['numeric', '1.5'], '^', ['int4', '100'])).toBe('406561177535215237.3972797075670417');
    expect(op(['numeric', '10.0'], '^', ['int4', '20'])).toBe('100000000000000000000.0000000000000000');
    expect(op(['numeric', '2.0'], '^', ['numeric', '-2.0'])).toBe('0.2500000000000000');
    expect(op(['numeric', '0.5'], '^', ['int4', '10'])).toBe('0.0009765625000000');
    expect(fn('power', ['numeric', '1.0001'], ['numeric', '10000'])).toBe('2.7181459268252249');
    // Integer exponents: scale max(16, the base's), whatever the magnitude.
    expect(op(['numeric', '0.5'], '^', ['int4', '100'])).toBe('0.0000000000000000');
    expect(op(['numeric', '-2.0'], '^', ['int4', '3'])).toBe('-8.0000000000000000');
    expect(op(['numeric', '3.0'], '^', ['int4', '-2'])).toBe('0.1111111111111111');
    expect(op(['numeric', '2.0'], '^', ['numeric', '3.00'])).toBe('8.0000000000000000');
    expect(op(['numeric', '2.00000000000000000001'], '^', ['int4', '2'])).toBe('4.00000000000000000004');
    expect(op(['numeric', '0.0'], '^', ['int4', '0'])).toBe('1.0000000000000000');
    expect(op(['numeric', '0.0'], '^', ['numeric', '2.5'])).toBe('0.0000000000000000');
    expect(op(['numeric', '2.0'], '^', ['numeric', '0.5000000000000000000001'])).toBe('1.4142135623730950488018');
    expect(fn('exp', ['numeric', '1.0'])).toBe('2.7182818284590452');
    expect(fn('exp', ['numeric', '10.5'])).toBe('36315.502674246638');
    expect(fn('exp', ['numeric', '-5.0'])).toBe('0.006737946999085467');
    expect(fn('exp', ['numeric', '0.0'])).toBe('1.0000000000000000');
    expect(fn('ln', ['numeric', '2.0'])).toBe('0.6931471805599453');
    expect(fn('ln', ['int4', '1000'])).toBe('6.907755278982137');
    expect(fn('ln', ['numeric', '1000.0'])).toBe('6.9077552789821371');
    expect(fn('ln', ['numeric', '1.05'])).toBe('0.048790164169432003');
    expect(fn('ln', ['numeric', '1.0'])).toBe('0.0000000000000000');
    expect(fn('ln', ['numeric', '10.0'])).toBe('2.3025850929940457');
    expect(fn('log', ['numeric', '100.0'])).toBe('2.0000000000000000');
    expect(fn('log', ['int4', '100'])).toBe('2');
    expect(fn('log', ['numeric', '2.0'], ['numeric', '8.0'])).toBe('3.0000000000000000');
    expect(fn('log', ['numeric', '10.0'], ['numeric', '1000.0'])).toBe('3.0000000000000000');
    expect(fn('log', ['numeric', '0.5'])).toBe('-0.3010299956639812');
    expect(fn('log', ['numeric', '8.0'], ['numeric', '2.0'])).toBe('0.3333333333333333');
    expect(fn('sqrt', ['numeric', '2.0'])).toBe('1.414213562373095');
    expect(fn('sqrt', ['numeric', '2.00000000000000000000'])).toBe('1.41421356237309504880');
  });

  it('raises PostgreSQL’s errors for ^ and logarithms', () => {
    expect(sqlError(() => op(['numeric', '0.0'], '^', ['int4', '-1']))).toEqual({
      sqlState: '2201F',
      message: 'zero raised to a negative power is undefined',
    });
    expect(sqlError(() => op(['numeric', '-8.0'], '^', ['numeric', '0.5'])).sqlState).toBe('2201F');
    expect(sqlError(() => fn('ln', ['numeric', '0']))).toEqual({ sqlState: '2201E', message: 'cannot take logarithm of zero' });
    expect(sqlError(() => fn('ln', ['numeric', '-1.0']))).toEqual({
      sqlState: '2201E',
      message: 'cannot take logarithm of a negative number',
    });
    expect(sqlError(() => fn('sqrt', ['int4', '-1']))).toEqual({
      sqlState: '2201F',
      message: 'cannot take square root of a negative number',
    });
  });
});

describe('math functions', () => {
  it('rounds as PostgreSQL: floats half to even, numerics half away from zero', () => {
    expect(fn('round', ['float8', '2.5'])).toBe('2');
    expect(fn('round', ['float8', '3.5'])).toBe('4');
    expect(fn('round', ['numeric', '2.5'])).toBe('3');
    expect(fn('round', ['numeric', '-2.5'])).toBe('-3');
    expect(fn('round', ['numeric', '2.345'], ['int4', '2'])).toBe('2.35');
    expect(fn('round', ['numeric', '1234.5'], ['int4', '-2'])).toBe('1200');
    expect(fn('trunc', ['numeric', '-2.7'])).toBe('-2');
    expect(fn('trunc', ['numeric', '2.789'], ['int4', '1'])).toBe('2.7');
    expect(fn('ceil', ['float8', '-2.5'])).toBe('-2');
    expect(fn('floor', ['numeric', '-2.5'])).toBe('-3');
    expect(fn('sign', ['numeric', '-3.5'])).toBe('-1');
    expect(fn('sign', ['int4', '-3'])).toBe('-1');
  });

  it('has gcd, lcm, width_bucket, cbrt, pi', () => {
    expect(fn('gcd', ['int4', '12'], ['int4', '18'])).toBe('6');
    expect(fn('lcm', ['int4', '4'], ['int4', '6'])).toBe('12');
    expect(fn('gcd', ['numeric', '1.5'], ['numeric', '0.25'])).toBe('0.25');
    expect(fn('width_bucket', ['numeric', '5.35'], ['numeric', '0.024'], ['numeric', '10.06'], ['int4', '5'])).toBe('3');
    expect(fn('width_bucket', ['float8', '5.35'], ['float8', '0.024'], ['float8', '10.06'], ['int4', '5'])).toBe('3');
    expect(fn('width_bucket', ['float8', '-1'], ['float8', '0'], ['float8', '10'], ['int4', '5'])).toBe('0');
    expect(fn('width_bucket', ['float8', '10'], ['float8', '0'], ['float8', '10'], ['int4', '5'])).toBe('6');
    expect(fn('pi')).toBe('3.141592653589793');
    expect(fn('cbrt', ['float8', '-8'])).toBe('-2');
    expect(sqlError(() => fn('lcm', ['int4', '2147483647'], ['int4', '2'])).message).toBe('integer out of range');
  });

  it('takes random() from the context', () => {
    const ctx = fixedEvalContext({ random: () => 0.25 });
    expect(callFunction('random', [], ctx)).toBe('0.25');
  });
});
