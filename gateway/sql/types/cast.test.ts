import fc from 'fast-check';
import { ALL_TEST_TYPES, datumArbitrary } from './arbitraries';
import { canCast, castDatum, commonSupertype } from './cast';
import type { CastContext } from './cast';
import { compareDatums } from './compare';
import type { Datum, SqlType } from './datum';
import { scalarType } from './datum';
import { SqlError } from '../../../common/errors';
import { Numeric, numericTypmod } from './numeric';
import { sqlErrorOf, sqlStateOf } from './test-util';
import { formatText, parseText } from './text-format';
import { resolveTimeZone } from './timezone';
import { arrayOf, typeName } from './type-names';

const T = {
  bool: scalarType('bool'),
  int2: scalarType('int2'),
  int4: scalarType('int4'),
  int8: scalarType('int8'),
  oid: scalarType('oid'),
  float4: scalarType('float4'),
  float8: scalarType('float8'),
  numeric: scalarType('numeric'),
  text: scalarType('text'),
  varchar: scalarType('varchar'),
  bpchar: scalarType('bpchar'),
  name: scalarType('name'),
  bytea: scalarType('bytea'),
  date: scalarType('date'),
  timestamp: scalarType('timestamp'),
  timestamptz: scalarType('timestamptz'),
  interval: scalarType('interval'),
  uuid: scalarType('uuid'),
  jsonb: scalarType('jsonb'),
  unknown: scalarType('unknown'),
};

const cast = (v: Datum, from: SqlType, to: SqlType, ctx: CastContext = 'explicit'): Datum =>
  castDatum(v, from, to, ctx);
const show = (type: SqlType, v: Datum): string => (v === null ? 'NULL' : formatText(type, v));

describe('numeric casts', () => {
  test('integer narrowing checks the range', () => {
    expect(cast(40n, T.int4, T.int2, 'assignment')).toBe(40n);
    const e = sqlErrorOf(() => cast(40000n, T.int4, T.int2, 'assignment'));
    expect([e.sqlState, e.message]).toEqual(['22003', 'smallint out of range']);
    expect(sqlErrorOf(() => cast(2n ** 40n, T.int8, T.int4)).message).toBe('integer out of range');
  });

  test('float → int rounds half to even (rint)', () => {
    expect(cast(2.5, T.float8, T.int4)).toBe(2n);
    expect(cast(3.5, T.float8, T.int4)).toBe(4n);
    expect(cast(-2.5, T.float8, T.int4)).toBe(-2n);
    expect(cast(-2.6, T.float8, T.int4)).toBe(-3n);
    expect(cast(Math.fround(1.5), T.float4, T.int2)).toBe(2n);
    expect(sqlErrorOf(() => cast(1e10, T.float8, T.int4)).message).toBe('integer out of range');
    expect(sqlErrorOf(() => cast(NaN, T.float8, T.int8)).message).toBe('bigint out of range');
    expect(sqlErrorOf(() => cast(2 ** 63, T.float8, T.int8)).message).toBe('bigint out of range');
    expect(cast(-(2 ** 63), T.float8, T.int8)).toBe(-(2n ** 63n));
  });

  test('numeric → int rounds half away from zero', () => {
    expect(cast(Numeric.parse('2.5'), T.numeric, T.int4)).toBe(3n);
    expect(cast(Numeric.parse('-2.5'), T.numeric, T.int8)).toBe(-3n);
    expect(sqlErrorOf(() => cast(Numeric.parse('32767.5'), T.numeric, T.int2)).message).toBe('smallint out of range');
    expect(sqlErrorOf(() => cast(Numeric.NAN, T.numeric, T.int4)).message).toBe('cannot convert NaN to integer');
  });

  test('float ↔ numeric', () => {
    expect(show(T.numeric, cast(0.1, T.float8, T.numeric))).toBe('0.1');
    expect(show(T.numeric, cast(0.1 + 0.2, T.float8, T.numeric))).toBe('0.3');
    expect(show(T.numeric, cast(Math.fround(0.1), T.float4, T.numeric))).toBe('0.1');
    expect(show(T.numeric, cast(NaN, T.float8, T.numeric))).toBe('NaN');
    expect(show(T.numeric, cast(1.005, T.float8, scalarType('numeric', numericTypmod(5, 2))))).toBe('1.01');
    expect(cast(Numeric.parse('0.1'), T.numeric, T.float8)).toBe(0.1);
    expect(cast(Numeric.parse('0.1'), T.numeric, T.float4)).toBe(Math.fround(0.1));
    expect(cast(Numeric.NEGATIVE_INFINITY, T.numeric, T.float8)).toBe(-Infinity);
    const big = Numeric.parse('1e400');
    expect(sqlErrorOf(() => cast(big, T.numeric, T.float8)).message).toBe(
      `"1${'0'.repeat(400)}" is out of range for type double precision`,
    );
    expect(sqlStateOf(() => cast(Numeric.parse('1e39'), T.numeric, T.float4))).toBe('22003');
  });

  test('numeric typmod and float narrowing', () => {
    expect(show(T.numeric, cast(Numeric.parse('123.456'), T.numeric, scalarType('numeric', numericTypmod(5, 2)), 'assignment'))).toBe('123.46');
    expect(sqlStateOf(() => cast(Numeric.parse('1234.5'), T.numeric, scalarType('numeric', numericTypmod(5, 2))))).toBe('22003');
    expect(sqlErrorOf(() => cast(1e300, T.float8, T.float4)).message).toBe('value out of range: overflow');
    expect(sqlErrorOf(() => cast(1e-300, T.float8, T.float4)).message).toBe('value out of range: underflow');
    expect(cast(Math.fround(0.1), T.float4, T.float8)).toBe(0.10000000149011612);
  });

  test('ints to floats, oid and bool', () => {
    expect(cast(2n ** 53n + 1n, T.int8, T.float8, 'implicit')).toBe(9007199254740992);
    expect(cast(16777217n, T.int4, T.float4, 'implicit')).toBe(16777216);
    expect(cast(-1n, T.int4, T.oid, 'implicit')).toBe(4294967295n);
    expect(cast(4294967295n, T.oid, T.int4, 'assignment')).toBe(-1n);
    expect(cast(4294967295n, T.oid, T.int8, 'assignment')).toBe(4294967295n);
    expect(sqlErrorOf(() => cast(-1n, T.int8, T.oid)).message).toBe('OID out of range');
    expect(cast(0n, T.int4, T.bool)).toBe(false);
    expect(cast(-5n, T.int4, T.bool)).toBe(true);
    expect(cast(true, T.bool, T.int4)).toBe(1n);
    expect(sqlStateOf(() => cast(true, T.bool, T.int4, 'assignment'))).toBe('42804');
    expect(sqlStateOf(() => cast(true, T.bool, T.int8))).toBe('42846');
  });
});

describe('string casts', () => {
  const varchar3 = scalarType('varchar', 3);
  const char5 = scalarType('bpchar', 5);

  test('varchar(n): explicit cuts, assignment raises 22001 unless the rest is spaces', () => {
    expect(cast('abcd', T.text, varchar3, 'explicit')).toBe('abc');
    expect(cast('abcd', T.unknown, varchar3, 'explicit')).toBe('abc');
    const e = sqlErrorOf(() => cast('abcd', T.text, varchar3, 'assignment'));
    expect([e.sqlState, e.message]).toEqual(['22001', 'value too long for type character varying(3)']);
    expect(sqlStateOf(() => cast('abcd', T.unknown, varchar3, 'assignment'))).toBe('22001');
    expect(cast('abc   ', T.text, varchar3, 'assignment')).toBe('abc');
    expect(cast('abcde', scalarType('varchar', 5), varchar3, 'explicit')).toBe('abc');
  });

  test('char(n) pads, cuts on explicit casts, and loses padding when cast away', () => {
    expect(cast('ab', T.text, char5, 'assignment')).toBe('ab   ');
    expect(cast('abcdefg', T.text, char5, 'explicit')).toBe('abcde');
    expect(sqlErrorOf(() => cast('abcdefg', T.text, char5, 'assignment')).message).toBe(
      'value too long for type character(5)',
    );
    expect(cast('ab   ', char5, T.text, 'implicit')).toBe('ab');
    expect(cast('ab   ', char5, T.varchar, 'implicit')).toBe('ab');
    expect(cast(12n, T.int4, char5, 'explicit')).toBe('12   ');
    expect(cast(123456n, T.int4, char5, 'explicit')).toBe('12345');
  });

  test('anything → text through output functions (assignment), text → anything explicit', () => {
    expect(cast(42n, T.int4, T.text, 'assignment')).toBe('42');
    expect(cast(true, T.bool, T.text, 'assignment')).toBe('true');
    expect(cast(false, T.bool, T.varchar, 'explicit')).toBe('false');
    expect(cast(1.5, T.float8, T.text)).toBe('1.5');
    expect(cast(Buffer.from([1, 2]), T.bytea, T.text)).toBe('\\x0102');
    expect(cast([1n, null], arrayOf(T.int4), T.text, 'assignment')).toBe('{1,NULL}');
    expect(cast('x'.repeat(70), T.text, T.name, 'implicit')).toBe('x'.repeat(63));
    expect(cast(' 42 ', T.text, T.int4, 'explicit')).toBe(42n);
    expect(cast('{1,2}', T.text, arrayOf(T.int8), 'explicit')).toEqual([1n, 2n]);
    expect(sqlStateOf(() => cast('42', T.text, T.int4, 'implicit'))).toBe('42804');
    expect(sqlStateOf(() => cast('42', T.text, T.int4, 'assignment'))).toBe('42804');
    expect(sqlErrorOf(() => cast('x', T.text, T.int4)).message).toBe('invalid input syntax for type integer: "x"');
    const tz = { timeZone: resolveTimeZone('America/New_York') };
    const ts = parseText(T.timestamptz, '2024-01-31 12:00:00+00');
    expect(castDatum(ts, T.timestamptz, T.text, 'assignment', tz)).toBe('2024-01-31 07:00:00-05');
  });

  test('unknown literals go through the input function in any context', () => {
    expect(cast('2024-01-31', T.unknown, T.date, 'implicit')).toBe(parseText(T.date, '2024-01-31'));
    expect(show(T.numeric, cast('1.005', T.unknown, scalarType('numeric', numericTypmod(3, 2)), 'implicit'))).toBe('1.01');
    expect(cast('t', T.unknown, T.bool, 'implicit')).toBe(true);
  });
});

describe('date and time casts', () => {
  const ny = { timeZone: resolveTimeZone('America/New_York') };

  test('date ↔ timestamp ↔ timestamptz', () => {
    const d = parseText(T.date, '2024-01-31');
    expect(show(T.timestamp, cast(d, T.date, T.timestamp, 'implicit'))).toBe('2024-01-31 00:00:00');
    expect(formatText(T.timestamptz, castDatum(d, T.date, T.timestamptz, 'implicit', ny))).toBe('2024-01-31 05:00:00+00');
    const ts = parseText(T.timestamp, '2024-01-31 23:30:00');
    expect(show(T.date, cast(ts, T.timestamp, T.date, 'assignment'))).toBe('2024-01-31');
    expect(formatText(T.timestamptz, castDatum(ts, T.timestamp, T.timestamptz, 'implicit', ny))).toBe(
      '2024-02-01 04:30:00+00',
    );
    const tstz = parseText(T.timestamptz, '2024-02-01 03:00:00+00');
    expect(show(T.timestamp, castDatum(tstz, T.timestamptz, T.timestamp, 'assignment', ny))).toBe('2024-01-31 22:00:00');
    expect(show(T.date, castDatum(tstz, T.timestamptz, T.date, 'assignment', ny))).toBe('2024-01-31');
    expect(show(T.date, cast(tstz, T.timestamptz, T.date, 'assignment'))).toBe('2024-02-01');
    expect(show(T.timestamp, cast(Infinity, T.date, T.timestamp))).toBe('infinity');
    expect(show(T.date, cast(parseText(T.timestamp, '-infinity'), T.timestamp, T.date))).toBe('-infinity');
    expect(sqlStateOf(() => cast(ts, T.timestamp, T.date, 'implicit'))).toBe('42804');
  });

  test('timestamp(p) rounding on cast', () => {
    const ts = parseText(T.timestamp, '2024-01-31 12:34:56.789');
    expect(show(T.timestamp, cast(ts, T.timestamp, scalarType('timestamp', 1), 'assignment'))).toBe('2024-01-31 12:34:56.8');
    expect(show(T.timestamp, cast(ts, T.timestamp, scalarType('timestamp', 0), 'assignment'))).toBe('2024-01-31 12:34:57');
  });
});

describe('jsonb casts', () => {
  test('scalars out of jsonb', () => {
    const j = (text: string): Datum => parseText(T.jsonb, text);
    expect(show(T.numeric, cast(j('1.5'), T.jsonb, T.numeric))).toBe('1.5');
    expect(cast(j('1.5'), T.jsonb, T.int4)).toBe(2n);
    expect(cast(j('2.5'), T.jsonb, T.float8)).toBe(2.5);
    expect(cast(j('true'), T.jsonb, T.bool)).toBe(true);
    const e = sqlErrorOf(() => cast(j('"x"'), T.jsonb, T.numeric));
    expect([e.sqlState, e.message]).toEqual(['22023', 'cannot cast jsonb string to type numeric']);
    expect(sqlErrorOf(() => cast(j('null'), T.jsonb, T.int4)).message).toBe('cannot cast jsonb null to type integer');
    expect(sqlErrorOf(() => cast(j('[1]'), T.jsonb, T.bool)).message).toBe('cannot cast jsonb array to type boolean');
    expect(sqlErrorOf(() => cast(j('{}'), T.jsonb, T.float8)).message).toBe(
      'cannot cast jsonb object to type double precision',
    );
    expect(cast(j('{"a": [1]}'), T.jsonb, T.text, 'assignment')).toBe('{"a": [1]}');
    expect(sqlStateOf(() => cast(j('1'), T.jsonb, T.int4, 'assignment'))).toBe('42804');
  });
});

describe('arrays', () => {
  test('element-wise', () => {
    expect(cast([1n, null, 3n], arrayOf(T.int4), arrayOf(T.int8), 'implicit')).toEqual([1n, null, 3n]);
    expect(cast(['1', '2'], arrayOf(T.text), arrayOf(T.int4), 'explicit')).toEqual([1n, 2n]);
    expect(cast([[1.5, 2.5]], arrayOf(T.float8), arrayOf(T.int4), 'assignment')).toEqual([[2n, 2n]]);
    expect(cast(['abcd'], arrayOf(T.text), arrayOf(scalarType('varchar', 2)), 'explicit')).toEqual(['ab']);
    expect(sqlStateOf(() => cast(['1'], arrayOf(T.text), arrayOf(T.int4), 'implicit'))).toBe('42804');
  });
});

describe('canCast', () => {
  test.each([
    [T.int4, T.int8, 'implicit', true],
    [T.int8, T.int4, 'implicit', false],
    [T.int8, T.int4, 'assignment', true],
    [T.float8, T.numeric, 'implicit', false],
    [T.float8, T.numeric, 'assignment', true],
    [T.numeric, T.float8, 'implicit', true],
    [T.text, T.varchar, 'implicit', true],
    [T.varchar, T.text, 'implicit', true],
    [T.int4, T.text, 'implicit', false],
    [T.int4, T.text, 'assignment', true],
    [T.text, T.int4, 'assignment', false],
    [T.text, T.int4, 'explicit', true],
    [T.unknown, T.uuid, 'implicit', true],
    [T.uuid, T.int4, 'explicit', false],
    [T.interval, T.int8, 'explicit', false],
    [T.date, T.timestamptz, 'implicit', true],
    [T.timestamptz, T.timestamp, 'implicit', false],
    [T.bool, T.int4, 'explicit', true],
    [T.bool, T.int4, 'assignment', false],
    [T.jsonb, T.numeric, 'explicit', true],
    [T.bytea, T.uuid, 'explicit', false],
    [arrayOf(T.int4), arrayOf(T.int8), 'implicit', true],
    [arrayOf(T.int4), T.int4, 'explicit', false],
  ] as const)('%j → %j in %s: %s', (from, to, ctx, ok) => {
    expect(canCast(from, to, ctx)).toBe(ok);
  });

  test('every cast canCast allows either works or raises a SQL error (never a crash)', () => {
    const contexts: CastContext[] = ['explicit', 'assignment', 'implicit'];
    let tried = 0;
    for (const from of ALL_TEST_TYPES) {
      const samples = fc.sample(datumArbitrary(from), { numRuns: 6, seed: 7 });
      for (const to of ALL_TEST_TYPES) {
        for (const ctx of contexts) {
          if (!canCast(from, to, ctx)) {
            expect(sqlStateOf(() => castDatum(null, from, to, ctx))).toMatch(/^(42846|42804)$/);
            continue;
          }
          for (const v of samples) {
            tried++;
            try {
              expect(castDatum(v, from, to, ctx)).not.toBeUndefined();
            } catch (e) {
              expect(e).toBeInstanceOf(SqlError);
            }
          }
        }
      }
    }
    expect(tried).toBeGreaterThan(1000);
  });

  test('casting to the same type is the identity; to text and back is too', () => {
    for (const type of ALL_TEST_TYPES) {
      fc.assert(
        fc.property(datumArbitrary(type), (v) => {
          expect(compareDatums(type, castDatum(v, type, type, 'implicit'), v)).toBe(0);
          const text = castDatum(v, type, T.text, 'assignment');
          if (!(type.kind === 'scalar' && type.name === 'bool')) {
            expect(compareDatums(type, castDatum(text, T.text, type, 'explicit'), v)).toBe(0);
          }
        }),
        { numRuns: 30 },
      );
    }
  });
});

describe('commonSupertype (select_common_type)', () => {
  test.each([
    [[T.int4, T.int8], 'bigint'],
    [[T.int4, T.numeric], 'numeric'],
    [[T.int8, T.float4], 'real'],
    [[T.numeric, T.float8], 'double precision'],
    [[T.float8, T.int2], 'double precision'],
    [[T.unknown, T.int4], 'integer'],
    [[T.unknown], 'text'],
    [[T.unknown, T.unknown], 'text'],
    [[T.text, T.varchar], 'text'],
    [[T.varchar, T.text], 'character varying'],
    [[scalarType('varchar', 5), scalarType('varchar', 5)], 'character varying(5)'],
    [[scalarType('varchar', 5), scalarType('varchar', 10)], 'character varying'],
    [[scalarType('numeric', numericTypmod(10, 2)), T.int4], 'numeric'],
    [[T.date, T.timestamptz], 'timestamp with time zone'],
    [[T.date, T.timestamp], 'timestamp without time zone'],
    [[T.timestamp, T.timestamptz], 'timestamp with time zone'],
    [[T.bpchar, T.text], 'bpchar'],
    [[T.text, T.bpchar], 'text'],
    [[T.uuid, T.uuid], 'uuid'],
    [[arrayOf(T.int4), arrayOf(T.int8)], 'bigint[]'],
    [[T.bool, T.unknown, T.bool], 'boolean'],
  ])('%j → %s', (types, expected) => {
    expect(typeName(commonSupertype(types))).toBe(expected);
  });

  test('mismatched categories are 42804', () => {
    const e = sqlErrorOf(() => commonSupertype([T.int4, T.text]));
    expect([e.sqlState, e.message]).toEqual(['42804', 'UNION types integer and text cannot be matched']);
    expect(sqlErrorOf(() => commonSupertype([T.bool, T.int4], 'CASE')).message).toBe(
      'CASE types boolean and integer cannot be matched',
    );
    expect(sqlStateOf(() => commonSupertype([T.uuid, T.bytea], 'COALESCE'))).toBe('42804');
    expect(sqlStateOf(() => commonSupertype([T.date, T.interval]))).toBe('42804');
  });
});
