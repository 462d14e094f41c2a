import { comparatorFor, compareDatums, compareNullable, datumKey, datumsEqual, tupleKey } from './compare';
import type { Datum, SqlType } from './datum';
import { scalarType } from './datum';
import { Numeric } from './numeric';
import { compareCodePoints } from './text-compare';
import { parseText } from './text-format';
import { arrayOf } from './type-names';

const T = {
  int4: scalarType('int4'),
  float8: scalarType('float8'),
  numeric: scalarType('numeric'),
  text: scalarType('text'),
  bpchar: scalarType('bpchar', 3),
  bytea: scalarType('bytea'),
  interval: scalarType('interval'),
  jsonb: scalarType('jsonb'),
  date: scalarType('date'),
  uuid: scalarType('uuid'),
};

function sorted(type: SqlType, texts: readonly string[]): string[] {
  const values = texts.map((t) => ({ t, v: parseText(type, t) }));
  values.sort((a, b) => compareDatums(type, a.v, b.v));
  return values.map((x) => x.t);
}

describe('order as PostgreSQL btree', () => {
  test('floats: -Infinity < ... < Infinity < NaN; -0 = 0', () => {
    expect(sorted(T.float8, ['NaN', '1', '-Infinity', 'Infinity', '-1', '0'])).toEqual([
      '-Infinity',
      '-1',
      '0',
      '1',
      'Infinity',
      'NaN',
    ]);
    expect(datumsEqual(T.float8, -0, 0)).toBe(true);
    expect(datumsEqual(T.float8, NaN, NaN)).toBe(true);
    expect(datumKey(T.float8, -0) === datumKey(T.float8, 0)).toBe(true);
    expect(new Map([[datumKey(T.float8, NaN), 1]]).has(datumKey(T.float8, NaN))).toBe(true);
  });

  test('numeric ignores display scale; NaN is largest', () => {
    expect(datumsEqual(T.numeric, Numeric.parse('1.0'), Numeric.parse('1.00'))).toBe(true);
    expect(datumKey(T.numeric, Numeric.parse('1.0'))).toBe(datumKey(T.numeric, Numeric.parse('1')));
    expect(datumKey(T.numeric, Numeric.parse('10'))).not.toBe(datumKey(T.numeric, Numeric.parse('1')));
    expect(sorted(T.numeric, ['NaN', 'Infinity', '-Infinity', '0.5'])).toEqual(['-Infinity', '0.5', 'Infinity', 'NaN']);
  });

  test('text is code point order (C collation), not UTF-16 order', () => {
    expect(sorted(T.text, ['b', 'a', 'ab', '', 'B', '\uffff', '😀', 'é'])).toEqual(['', 'B', 'a', 'ab', 'b', 'é', '\uffff', '😀']);
    expect(compareCodePoints('\uffff', '😀')).toBe(-1);
    expect('\uffff' < '😀').toBe(false); // what a naive comparison would get wrong
  });

  test('char(n) ignores trailing spaces', () => {
    expect(datumsEqual(T.bpchar, 'a  ', 'a')).toBe(true);
    expect(datumKey(T.bpchar, 'a  ')).toBe(datumKey(T.bpchar, 'a'));
    // Compared without the padding: 'a' < 'a\u0001' (plain text would say 'a  ' > 'a\u0001').
    expect(compareDatums(T.bpchar, 'a  ', 'a\u0001')).toBeLessThan(0);
  });

  test('bytea is memcmp then length', () => {
    expect(compareDatums(T.bytea, Buffer.from([1]), Buffer.from([1, 0]))).toBeLessThan(0);
    expect(compareDatums(T.bytea, Buffer.from([2]), Buffer.from([1, 0]))).toBeGreaterThan(0);
    expect(datumKey(T.bytea, Buffer.from([0xff, 0]))).toBe(datumKey(T.bytea, Buffer.from([0xff, 0])));
  });

  test('intervals compare by their total (1 mon = 30 days = 720 hours)', () => {
    const a = parseText(T.interval, '1 mon');
    const b = parseText(T.interval, '30 days');
    const c = parseText(T.interval, '720 hours');
    expect(datumsEqual(T.interval, a, b) && datumsEqual(T.interval, b, c)).toBe(true);
    expect(datumKey(T.interval, a)).toBe(datumKey(T.interval, c));
    expect(sorted(T.interval, ['1 day', '-1 day', '23:59:59', '1 day 00:00:01'])).toEqual([
      '-1 day',
      '23:59:59',
      '1 day',
      '1 day 00:00:01',
    ]);
  });

  test('jsonb: object > array > boolean > number > string > null', () => {
    expect(sorted(T.jsonb, ['{}', '[0, 0]', 'true', '1', '"a"', 'null'])).toEqual(['null', '"a"', '1', 'true', '[0, 0]', '{}']);
    // A top-level scalar is a one-element array inside PostgreSQL: '[]' sorts below it.
    expect(sorted(T.jsonb, ['null', '[]'])).toEqual(['[]', 'null']);
    // More elements / pairs sort higher before contents.
    expect(sorted(T.jsonb, ['[2]', '[1, 1]', '[1]'])).toEqual(['[1]', '[2]', '[1, 1]']);
    expect(sorted(T.jsonb, ['{"b": 1}', '{"a": 1, "b": 1}', '{"a": 2}'])).toEqual(['{"a": 2}', '{"b": 1}', '{"a": 1, "b": 1}']);
    // A top-level scalar sorts before a one-element array, and after an empty one.
    expect(sorted(T.jsonb, ['[1]', '1', '[]'])).toEqual(['[]', '1', '[1]']);
    expect(datumsEqual(T.jsonb, parseText(T.jsonb, '{"a":1.0,"b":[1]}'), parseText(T.jsonb, '{"b":[1],"a":1}'))).toBe(true);
    expect(datumKey(T.jsonb, parseText(T.jsonb, '{"a":1.0,"b":[1]}'))).toBe(datumKey(T.jsonb, parseText(T.jsonb, '{"b":[1],"a":1}')));
  });

  test('dates with infinities', () => {
    expect(sorted(T.date, ['infinity', '2024-01-01', '-infinity', '0044-03-15 BC'])).toEqual([
      '-infinity',
      '0044-03-15 BC',
      '2024-01-01',
      'infinity',
    ]);
  });

  test('arrays: element by element, NULL above values, then length', () => {
    const t = arrayOf(T.int4);
    const cmp = comparatorFor(t);
    expect(cmp([1n, null], [1n, 2n])).toBeGreaterThan(0);
    expect(cmp([1n, 2n], [1n, 2n, 0n])).toBeLessThan(0);
    expect(cmp([2n], [1n, 9n])).toBeGreaterThan(0);
    expect(cmp([1n, 2n], [[1n], [2n]] as Datum)).not.toBe(0);
    expect(datumKey(t, [1n, null])).toBe(datumKey(t, [1n, null]));
    expect(datumKey(t, [1n, null])).not.toBe(datumKey(t, [1n]));
    const texts = arrayOf(T.text);
    expect(datumKey(texts, ['a,b'])).not.toBe(datumKey(texts, ['a', 'b']));
  });
});

describe('NULL handling', () => {
  test('compareNullable: NULLS LAST, NULL = NULL', () => {
    const values: Datum[] = [3n, null, 1n, null, 2n];
    values.sort((a, b) => compareNullable(T.int4, a, b));
    expect(values).toEqual([1n, 2n, 3n, null, null]);
    expect(compareNullable(comparatorFor(T.int4), null, null)).toBe(0);
  });

  test('compareDatums and datumKey refuse NULL loudly', () => {
    expect(() => compareDatums(T.int4, null, 1n)).toThrow('compareNullable');
    expect(() => datumKey(T.int4, null)).toThrow();
  });

  test('tupleKey groups NULL with NULL and keeps parts apart', () => {
    const types = [T.text, T.text];
    expect(tupleKey(types, [null, 'a'])).toBe(tupleKey(types, [null, 'a']));
    expect(tupleKey(types, ['ab', 'c'])).not.toBe(tupleKey(types, ['a', 'bc']));
    expect(tupleKey(types, ['N', 'a'])).not.toBe(tupleKey(types, [null, 'a']));
    expect(tupleKey([T.numeric, T.int4], [Numeric.parse('1.50'), 2n])).toBe(tupleKey([T.numeric, T.int4], [Numeric.parse('1.5'), 2n]));
  });
});
