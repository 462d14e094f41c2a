import { SqlError } from '../../../common/errors';
import type { Datum } from '../types/datum';
import { Numeric } from '../types/numeric';
import { resolveFunction } from './catalogue';
import { aggregate, sqlType } from './testing';

// Results and result types are PostgreSQL 15's for the same rows.

const ints = [['1'], ['2'], [null], ['4']];

function agg(name: string, types: string[], rows: (string | null)[][]): string | null {
  return aggregate(name, types, rows)[0];
}

describe('count, sum, avg', () => {
  it('on integers', () => {
    expect(aggregate('sum', ['int4'], ints)).toEqual(['7', 'bigint']);
    expect(aggregate('sum', ['int2'], ints)).toEqual(['7', 'bigint']);
    expect(aggregate('sum', ['int8'], ints)).toEqual(['7', 'numeric']);
    expect(aggregate('avg', ['int4'], ints)).toEqual(['2.3333333333333333', 'numeric']);
    expect(aggregate('count', ['int4'], ints)).toEqual(['3', 'bigint']);
    expect(aggregate('count', [], ints.map(() => []))).toEqual(['4', 'bigint']);
  });

  it('avg of integers has division’s display scale', () => {
    expect(agg('avg', ['int4'], [['1'], ['2']])).toBe('1.5000000000000000');
    expect(agg('avg', ['int8'], [['1'], ['2'], ['9223372036854775807']])).toBe('3074457345618258603');
    expect(agg('sum', ['int8'], [['1'], ['2'], ['9223372036854775807']])).toBe('9223372036854775810');
  });

  it('sum(int4) does not overflow at 32 bits; sum(int8) is exact', () => {
    expect(agg('sum', ['int4'], [['2147483647'], ['1']])).toBe('2147483648');
  });

  it('on numerics and floats', () => {
    expect(aggregate('avg', ['numeric'], [['1.5'], ['2.25'], ['3.125']])).toEqual(['2.2916666666666667', 'numeric']);
    expect(aggregate('sum', ['numeric'], [['1.50'], ['2.25']])).toEqual(['3.75', 'numeric']);
    expect(aggregate('sum', ['float4'], [['1.5'], ['2.25']])).toEqual(['3.75', 'real']);
    expect(aggregate('avg', ['float4'], [['1'], ['2.5']])).toEqual(['1.75', 'double precision']);
    expect(aggregate('avg', ['float8'], [['1'], ['2'], ['4']])).toEqual(['2.3333333333333335', 'double precision']);
    expect(agg('sum', ['numeric'], [['NaN'], ['1']])).toBe('NaN');
  });

  it('on intervals', () => {
    const rows = [['1 day'], ['02:00:00'], ['1 mon']];
    expect(aggregate('sum', ['interval'], rows)).toEqual(['1 mon 1 day 02:00:00', 'interval']);
    expect(aggregate('avg', ['interval'], rows)).toEqual(['10 days 08:40:00', 'interval']);
  });

  it('give NULL on no rows, except count', () => {
    for (const [name, type] of [
      ['sum', 'int4'],
      ['sum', 'int8'],
      ['sum', 'numeric'],
      ['sum', 'float8'],
      ['avg', 'int4'],
      ['avg', 'float8'],
      ['min', 'text'],
      ['max', 'int4'],
      ['stddev', 'int4'],
      ['variance', 'float8'],
      ['bool_and', 'bool'],
      ['array_agg', 'int4'],
      ['jsonb_agg', 'int4'],
      ['string_agg', 'text'],
    ] as const) {
      const types = name === 'string_agg' ? [type, 'text'] : [type];
      expect(agg(name, types, [])).toBeNull();
    }
    expect(agg('count', ['int4'], [])).toBe('0');
    expect(agg('count', [], [])).toBe('0');
    // Only NULLs: as no rows.
    expect(agg('sum', ['int4'], [[null], [null]])).toBeNull();
    expect(agg('count', ['int4'], [[null], [null]])).toBe('0');
  });
});

describe('variance and standard deviation', () => {
  it('are numeric for exact inputs, with PostgreSQL’s scales', () => {
    expect(aggregate('stddev', ['int4'], ints)).toEqual(['1.5275252316519467', 'numeric']);
    expect(agg('variance', ['int4'], ints)).toBe('2.3333333333333333');
    expect(agg('var_pop', ['int4'], ints)).toBe('1.5555555555555556');
    expect(agg('stddev_pop', ['int4'], ints)).toBe('1.2472191289246471');
    expect(agg('var_samp', ['int4'], [['1'], ['2'], ['3'], ['4']])).toBe('1.6666666666666667');
    expect(agg('var_pop', ['int4'], [['1'], ['2'], ['3'], ['4']])).toBe('1.2500000000000000');
    const nums = [['1.5'], ['2.25'], ['3.125']];
    expect(agg('stddev', ['numeric'], nums)).toBe('0.81330088733096395985');
    expect(agg('variance', ['numeric'], nums)).toBe('0.66145833333333333333');
    expect(agg('var_pop', ['numeric'], nums)).toBe('0.44097222222222222222');
  });

  it('are float8 for floats (Youngs-Cramer, as PostgreSQL)', () => {
    const rows = [['1'], ['2'], ['4']];
    expect(aggregate('stddev', ['float8'], rows)).toEqual(['1.5275252316519468', 'double precision']);
    expect(agg('variance', ['float8'], rows)).toBe('2.3333333333333335');
    expect(agg('stddev_pop', ['float8'], rows)).toBe('1.247219128924647');
  });

  it('handle one row and equal values', () => {
    expect(agg('stddev', ['int4'], [['5']])).toBeNull();
    expect(agg('var_pop', ['int4'], [['5']])).toBe('0');
    expect(agg('variance', ['int4'], [['1'], ['1']])).toBe('0');
    expect(agg('stddev', ['numeric'], [['1.5'], ['1.5']])).toBe('0');
  });
});

describe('min, max, bool and bit aggregates', () => {
  it('order as the type does', () => {
    expect(aggregate('max', ['varchar'], [['b'], ['a'], ['é']])).toEqual(['é', 'text']);
    expect(agg('min', ['varchar'], [['b'], ['a'], ['é']])).toBe('a');
    expect(aggregate('max', ['int4[]'], [['{1,2}'], ['{1,3}'], ['{1}']])).toEqual(['{1,3}', 'integer[]']);
    expect(agg('min', ['int4[]'], [['{1,2}'], ['{1,3}'], ['{1}']])).toBe('{1}');
    expect(agg('max', ['float8'], [['1'], ['NaN'], ['2']])).toBe('NaN');
    expect(agg('min', ['date'], [['2020-01-02'], ['2019-12-31']])).toBe('2019-12-31');
    expect(agg('max', ['numeric'], [['1.50'], ['1.5'], ['-3']])).toBe('1.50');
  });

  it('bool_and / bool_or / every skip NULLs', () => {
    const rows = [['true'], [null], ['false']];
    expect(agg('bool_and', ['bool'], rows)).toBe('f');
    expect(agg('bool_or', ['bool'], rows)).toBe('t');
    expect(agg('every', ['bool'], rows)).toBe('f');
    expect(agg('bool_and', ['bool'], [['true'], [null]])).toBe('t');
  });

  it('bit_and / bit_or / bit_xor', () => {
    const rows = [['12'], ['10'], ['6']];
    expect(agg('bit_and', ['int4'], rows)).toBe('0');
    expect(agg('bit_or', ['int4'], rows)).toBe('14');
    expect(agg('bit_xor', ['int4'], rows)).toBe('0');
  });
});

describe('collecting aggregates', () => {
  const rows = [['a', '1'], [null, '2'], ['c', null]];

  it('string_agg skips NULL values; a NULL delimiter is empty', () => {
    expect(agg('string_agg', ['text', 'text'], rows.map(([x]) => [x ?? null, '-']))).toBe('a-c');
    expect(agg('string_agg', ['text', 'text'], rows.map(([x]) => [x ?? null, null]))).toBe('ac');
    expect(agg('string_agg', ['bytea', 'bytea'], [['\\x01', '\\xff'], ['\\x02', '\\xff']])).toBe('\\x01ff02');
  });

  it('array_agg and jsonb_agg keep NULLs', () => {
    expect(aggregate('array_agg', ['text'], rows.map(([x]) => [x ?? null]))).toEqual(['{a,NULL,c}', 'text[]']);
    expect(aggregate('jsonb_agg', ['text'], rows.map(([x]) => [x ?? null]))).toEqual(['["a", null, "c"]', 'jsonb']);
    expect(agg('jsonb_agg', ['timestamptz'], [['2020-01-01 00:00+00'], [null]])).toBe('["2020-01-01T00:00:00+00:00", null]');
  });

  it('jsonb_object_agg takes NULL values but not NULL keys', () => {
    expect(agg('jsonb_object_agg', ['text', 'int4'], [['a', '1'], ['z', '2'], ['c', null]])).toBe('{"a": 1, "c": null, "z": 2}');
    expect(() => agg('jsonb_object_agg', ['text', 'int4'], [[null, '1']])).toThrow(SqlError);
  });
});

describe('state machine contract', () => {
  it('merge combines partial states as one pass would', () => {
    const r = resolveFunction('avg', [sqlType('int4')]);
    if (r.kind !== 'aggregate' || r.merge === undefined) throw new Error('avg(int4) must merge');
    let a = r.init();
    let b = r.init();
    for (const v of [1n, 2n]) a = r.step(a, [v]);
    for (const v of [3n, 4n, 5n]) b = r.step(b, [v]);
    expect((r.final(r.merge(a, b)) as Numeric).toString()).toBe('3.0000000000000000');
  });

  it('float moments merge to the same variance', () => {
    const r = resolveFunction('var_samp', [sqlType('float8')]);
    if (r.kind !== 'aggregate' || r.merge === undefined) throw new Error('var_samp must merge');
    const values = [1, 2, 4, 8, 16];
    let whole = r.init();
    for (const v of values) whole = r.step(whole, [v]);
    let left = r.init();
    let right = r.init();
    for (const v of values.slice(0, 2)) left = r.step(left, [v]);
    for (const v of values.slice(2)) right = r.step(right, [v]);
    expect(r.final(r.merge(left, right)) as number).toBeCloseTo(r.final(whole) as number, 12);
  });

  it('init gives a fresh state each time (DISTINCT and GROUP BY run many)', () => {
    const r = resolveFunction('array_agg', [sqlType('int4')]);
    if (r.kind !== 'aggregate') throw new Error('array_agg is an aggregate');
    const s1 = r.step(r.init(), [1n]);
    const s2 = r.step(r.init(), [2n]);
    expect(r.final(s1)).toEqual([1n]);
    expect(r.final(s2)).toEqual([2n]);
    expect(r.skipNulls).toBe(false);
    const sum = resolveFunction('sum', [sqlType('int4')]);
    expect(sum.kind === 'aggregate' && sum.skipNulls).toBe(true);
  });

  it('final does not consume the state', () => {
    const r = resolveFunction('string_agg', [sqlType('text'), sqlType('text')]);
    if (r.kind !== 'aggregate') throw new Error('string_agg is an aggregate');
    let s = r.step(r.init(), ['a', ',']);
    expect(r.final(s)).toBe('a');
    s = r.step(s, ['b', ',']);
    expect(r.final(s) as Datum).toBe('a,b');
  });
});
