import type { Datum, SqlType } from './datum';
import { scalarType } from './datum';
import { Numeric, numericTypmod } from './numeric';
import { sqlErrorOf, sqlStateOf } from './test-util';
import { formatText, parseText } from './text-format';
import type { TextFormatOptions } from './text-format';
import { resolveTimeZone } from './timezone';
import { arrayOf } from './type-names';

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
  name: scalarType('name'),
  bytea: scalarType('bytea'),
  date: scalarType('date'),
  timestamp: scalarType('timestamp'),
  timestamptz: scalarType('timestamptz'),
  interval: scalarType('interval'),
  uuid: scalarType('uuid'),
  jsonb: scalarType('jsonb'),
};

/** text → datum → text, as `SELECT 'x'::type` shows it. */
function roundTrip(type: SqlType, input: string, options: TextFormatOptions = {}): string {
  return formatText(type, parseText(type, input, options), options);
}

describe('bool (boolin / boolout)', () => {
  test.each([
    ['true', 't'],
    ['TRUE', 't'],
    [' yes ', 't'],
    ['y', 't'],
    ['on', 't'],
    ['1', 't'],
    ['tr', 't'],
    ['false', 'f'],
    ['f', 'f'],
    ['no', 'f'],
    ['off', 'f'],
    ['of', 'f'],
    ['0', 'f'],
  ])('%j -> %s', (input, out) => {
    expect(roundTrip(T.bool, input)).toBe(out);
  });

  test.each(['o', '', 'truex', '2', 'yess', 'nope'])('%j is 22P02', (input) => {
    const e = sqlErrorOf(() => parseText(T.bool, input));
    expect(e.sqlState).toBe('22P02');
    expect(e.message).toBe(`invalid input syntax for type boolean: "${input}"`);
  });
});

describe('integers', () => {
  test('parse with blanks and sign', () => {
    expect(parseText(T.int4, ' 42 ')).toBe(42n);
    expect(parseText(T.int4, '-2147483648')).toBe(-2147483648n);
    expect(parseText(T.int4, '+7')).toBe(7n);
    expect(parseText(T.int2, '-32768')).toBe(-32768n);
    expect(parseText(T.int8, '-9223372036854775808')).toBe(-(2n ** 63n));
    expect(parseText(T.int8, '9223372036854775807')).toBe(2n ** 63n - 1n);
    expect(parseText(T.int8, '000000000000000000000000001')).toBe(1n);
  });

  test.each([
    [T.int2, '32768', 'smallint'],
    [T.int4, '2147483648', 'integer'],
    [T.int4, '-2147483649', 'integer'],
    [T.int8, '9223372036854775808', 'bigint'],
  ])('out of range: %j %s', (type, input, name) => {
    const e = sqlErrorOf(() => parseText(type, input));
    expect(e.sqlState).toBe('22003');
    expect(e.message).toBe(`value "${input}" is out of range for type ${name}`);
  });

  test.each(['12a', '', ' ', '-', '1.5', '1e3', '0x10', '1 2'])('%j is 22P02', (input) => {
    const e = sqlErrorOf(() => parseText(T.int4, input));
    expect(e.sqlState).toBe('22P02');
    expect(e.message).toBe(`invalid input syntax for type integer: "${input}"`);
  });

  test('oid wraps negative input and stays unsigned', () => {
    expect(parseText(T.oid, '4294967295')).toBe(4294967295n);
    expect(parseText(T.oid, '-1')).toBe(4294967295n);
    expect(sqlStateOf(() => parseText(T.oid, '4294967296'))).toBe('22003');
    expect(formatText(T.oid, 16384n)).toBe('16384');
  });
});

describe('float4 / float8', () => {
  test.each([
    [0.1, '0.1'],
    [1e15, '1e+15'],
    [123456789012345, '123456789012345'],
    [1e-5, '1e-05'],
    [0.0001, '0.0001'],
    [1.5e300, '1.5e+300'],
    [-0, '-0'],
    [1 / 3, '0.3333333333333333'],
    [100, '100'],
    [1e100, '1e+100'],
    [2.5e-7, '2.5e-07'],
    [-1.25e-5, '-1.25e-05'],
    [NaN, 'NaN'],
    [Infinity, 'Infinity'],
    [-Infinity, '-Infinity'],
    [5e-324, '5e-324'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
  ])('float8 %p -> %s', (v, out) => {
    expect(formatText(T.float8, v)).toBe(out);
  });

  test.each([
    [0.1, '0.1'],
    [1e6, '1e+06'],
    [123456, '123456'],
    [1.1, '1.1'],
    [3.4028234663852886e38, '3.4028235e+38'],
    [1 / 3, '0.33333334'],
    [-2.5, '-2.5'],
    [1e-10, '1e-10'],
  ])('float4 %p -> %s', (v, out) => {
    expect(formatText(T.float4, Math.fround(v))).toBe(out);
  });

  test('input', () => {
    expect(parseText(T.float8, ' 1.5 ')).toBe(1.5);
    expect(parseText(T.float8, 'NaN')).toBeNaN();
    expect(parseText(T.float8, '-inf')).toBe(-Infinity);
    expect(parseText(T.float8, 'Infinity')).toBe(Infinity);
    expect(parseText(T.float8, '4.9e-324')).toBe(5e-324);
    expect(parseText(T.float8, '.5e1')).toBe(5);
    expect(parseText(T.float8, '5.')).toBe(5);
    expect(parseText(T.float4, '0.1')).toBe(Math.fround(0.1));
    const e = sqlErrorOf(() => parseText(T.float8, '1e400'));
    expect([e.sqlState, e.message]).toEqual(['22003', '"1e400" is out of range for type double precision']);
    expect(sqlStateOf(() => parseText(T.float8, '1e-400'))).toBe('22003');
    expect(sqlErrorOf(() => parseText(T.float4, '1e39')).message).toBe('"1e39" is out of range for type real');
    expect(sqlStateOf(() => parseText(T.float4, '1e-50'))).toBe('22003');
    for (const bad of ['abc', '', '1e', '1.2.3', '0x10', 'infinityx', '- 1']) {
      expect(sqlErrorOf(() => parseText(T.float8, bad)).message).toBe(
        `invalid input syntax for type double precision: "${bad}"`,
      );
    }
  });

  test('output reads back exactly', () => {
    for (let i = 0; i < 2000; i++) {
      const bits = new Float64Array(1);
      const view = new Uint32Array(bits.buffer);
      view[0] = (i * 2654435761) >>> 0;
      view[1] = (i * 40503 * 65537) >>> 0;
      const v = bits[0]!;
      if (Number.isNaN(v)) {
        continue;
      }
      expect(Object.is(parseText(T.float8, formatText(T.float8, v)), v)).toBe(true);
      const f = Math.fround(v);
      expect(Object.is(parseText(T.float4, formatText(T.float4, f)), f)).toBe(true);
    }
  });
});

describe('numeric', () => {
  test('input applies the typmod', () => {
    const t = scalarType('numeric', numericTypmod(5, 2));
    expect(roundTrip(t, '1.005')).toBe('1.01');
    expect(roundTrip(t, '  12  ')).toBe('12.00');
    expect(sqlStateOf(() => parseText(t, '1000'))).toBe('22003');
    expect(roundTrip(T.numeric, '1.50')).toBe('1.50');
    expect(formatText(T.numeric, Numeric.parse('-0.0'))).toBe('0.0');
  });
});

describe('character types', () => {
  const varchar3 = scalarType('varchar', 3);
  const char3 = scalarType('bpchar', 3);

  test('varchar(n)', () => {
    expect(parseText(varchar3, 'abc')).toBe('abc');
    expect(parseText(varchar3, 'ab   ')).toBe('ab ');
    expect(parseText(varchar3, '日本語')).toBe('日本語');
    expect(parseText(varchar3, '😀😀😀')).toBe('😀😀😀');
    const e = sqlErrorOf(() => parseText(varchar3, 'abcd'));
    expect([e.sqlState, e.message]).toEqual(['22001', 'value too long for type character varying(3)']);
    expect(parseText(scalarType('varchar'), 'x'.repeat(100))).toHaveLength(100);
  });

  test('char(n) pads and checks', () => {
    expect(parseText(char3, 'a')).toBe('a  ');
    expect(parseText(char3, '😀')).toBe('😀  ');
    expect(parseText(char3, 'abc   ')).toBe('abc');
    expect(sqlErrorOf(() => parseText(char3, 'abcd')).message).toBe('value too long for type character(3)');
    expect(parseText(scalarType('bpchar'), 'a ')).toBe('a ');
  });

  test('name is cut at 63 bytes on a character boundary', () => {
    expect(parseText(T.name, 'x'.repeat(70))).toBe('x'.repeat(63));
    expect(parseText(T.name, 'é'.repeat(40))).toBe('é'.repeat(31));
  });

  test('NUL is rejected', () => {
    expect(sqlStateOf(() => parseText(T.text, 'a\u0000b'))).toBe('22021');
  });
});

describe('bytea', () => {
  test('hex and escape input, hex output', () => {
    expect(parseText(T.bytea, '\\x0aff')).toEqual(Buffer.from([0x0a, 0xff]));
    expect(parseText(T.bytea, '\\X0A FF')).toEqual(Buffer.from([0x0a, 0xff]));
    expect(parseText(T.bytea, '\\x')).toEqual(Buffer.alloc(0));
    expect(parseText(T.bytea, 'a\\\\b\\001é')).toEqual(Buffer.from([0x61, 0x5c, 0x62, 0x01, 0xc3, 0xa9]));
    expect(parseText(T.bytea, 'abc')).toEqual(Buffer.from('abc'));
    expect(formatText(T.bytea, Buffer.from([0xde, 0xad, 0xbe, 0xef]))).toBe('\\xdeadbeef');
    expect(formatText(T.bytea, Buffer.alloc(0))).toBe('\\x');
  });

  test('errors', () => {
    expect(sqlErrorOf(() => parseText(T.bytea, '\\x0g')).message).toBe('invalid hexadecimal digit: "g"');
    expect(sqlErrorOf(() => parseText(T.bytea, '\\x0')).message).toBe('invalid hexadecimal data: odd number of digits');
    expect(sqlErrorOf(() => parseText(T.bytea, 'a\\9')).message).toBe('invalid input syntax for type bytea');
  });
});

describe('date', () => {
  test.each([
    ['2024-01-31', '2024-01-31'],
    ['01/31/2024', '2024-01-31'],
    ['1/8/1999', '1999-01-08'],
    ['January 8, 1999', '1999-01-08'],
    ['Jan 8 1999', '1999-01-08'],
    ['8 January 1999', '1999-01-08'],
    ['08-Jan-1999', '1999-01-08'],
    ['Jan-08-1999', '1999-01-08'],
    ['1999-Jan-08', '1999-01-08'],
    ['19990108', '1999-01-08'],
    ['990108', '1999-01-08'],
    ['1/8/99', '1999-01-08'],
    ['1/8/69', '2069-01-08'],
    ['1999.01.08', '1999-01-08'],
    ['J2451187', '1999-01-08'],
    ['2024-01-31 23:59:59', '2024-01-31'],
    ['2024-01-31T10:00:00Z', '2024-01-31'],
    ['Wednesday 2024-01-31', '2024-01-31'],
    ['0044-03-15 BC', '0044-03-15 BC'],
    ['4714-11-24 BC', '4714-11-24 BC'],
    ['5874897-12-31', '5874897-12-31'],
    ['10000-01-01', '10000-01-01'],
    ['2000-02-29', '2000-02-29'],
    ['epoch', '1970-01-01'],
    ['infinity', 'infinity'],
    ['-infinity', '-infinity'],
    ['  2024-01-31  ', '2024-01-31'],
  ])('%j -> %s', (input, out) => {
    expect(roundTrip(T.date, input)).toBe(out);
  });

  test.each(['2024-02-30', '1900-02-29', '2024-13-01', '2024-00-10', '0000-01-01'])('%j is 22008', (input) => {
    const e = sqlErrorOf(() => parseText(T.date, input));
    expect([e.sqlState, e.message]).toEqual(['22008', `date/time field value out of range: "${input}"`]);
  });

  test.each(['garbage', '', '2024-01', '2024-01-31 xyz', '1/8', '12.5', '2024--01-31'])('%j is 22007', (input) => {
    const e = sqlErrorOf(() => parseText(T.date, input));
    expect([e.sqlState, e.message]).toEqual(['22007', `invalid input syntax for type date: "${input}"`]);
  });

  test('range', () => {
    expect(sqlErrorOf(() => parseText(T.date, '5874898-01-01')).message).toBe('date out of range: "5874898-01-01"');
    expect(sqlStateOf(() => parseText(T.date, '4714-11-23 BC'))).toBe('22008');
  });

  test('relative days need now', () => {
    const now = BigInt(Date.UTC(2024, 0, 31, 23, 30)) * 1000n;
    expect(formatText(T.date, parseText(T.date, 'today', { nowMicros: now }))).toBe('2024-01-31');
    expect(formatText(T.date, parseText(T.date, 'tomorrow', { nowMicros: now }))).toBe('2024-02-01');
    expect(formatText(T.date, parseText(T.date, 'yesterday', { nowMicros: now }))).toBe('2024-01-30');
    const tokyo = resolveTimeZone('Asia/Tokyo');
    expect(formatText(T.date, parseText(T.date, 'today', { nowMicros: now, timeZone: tokyo }))).toBe('2024-02-01');
    expect(sqlStateOf(() => parseText(T.date, 'today'))).toBe('0A000');
  });
});

describe('timestamp', () => {
  test.each([
    ['2024-01-31 12:34:56.789', '2024-01-31 12:34:56.789'],
    ['2024-01-31 12:34:56.789+05', '2024-01-31 12:34:56.789'],
    ['2024-01-31T12:34:56.789Z', '2024-01-31 12:34:56.789'],
    ['2024-01-31', '2024-01-31 00:00:00'],
    ['2024-01-31 24:00:00', '2024-02-01 00:00:00'],
    ['2024-01-31 12:00 pm', '2024-01-31 12:00:00'],
    ['2024-01-31 12:00 AM', '2024-01-31 00:00:00'],
    ['2024-01-31 1:05 PM', '2024-01-31 13:05:00'],
    ['2024-01-31 01:02:03.1234567', '2024-01-31 01:02:03.123457'],
    ['2024-01-31 01:02:03.000001', '2024-01-31 01:02:03.000001'],
    ['2024-01-31 01:02:03.10', '2024-01-31 01:02:03.1'],
    ['January 8 1999 04:05:06', '1999-01-08 04:05:06'],
    ['0001-01-01 00:00:00 BC', '0001-01-01 00:00:00 BC'],
    ['1970-01-01 00:00:00', '1970-01-01 00:00:00'],
    ['1969-12-31 23:59:59.999999', '1969-12-31 23:59:59.999999'],
    ['epoch', '1970-01-01 00:00:00'],
    ['infinity', 'infinity'],
    ['-infinity', '-infinity'],
    ['294247-01-01 00:00:00', '294247-01-01 00:00:00'],
  ])('%j -> %s', (input, out) => {
    expect(roundTrip(T.timestamp, input)).toBe(out);
  });

  test('errors', () => {
    expect(sqlErrorOf(() => parseText(T.timestamp, 'nope')).message).toBe('invalid input syntax for type timestamp: "nope"');
    expect(sqlErrorOf(() => parseText(T.timestamp, '2024-01-31 25:00')).message).toBe(
      'date/time field value out of range: "2024-01-31 25:00"',
    );
    expect(sqlStateOf(() => parseText(T.timestamp, '2024-01-31 12:60'))).toBe('22008');
    expect(sqlStateOf(() => parseText(T.timestamp, '2024-01-31 24:00:01'))).toBe('22008');
    expect(sqlStateOf(() => parseText(T.timestamp, '2024-01-31 13:00 pm'))).toBe('22008');
    expect(sqlErrorOf(() => parseText(T.timestamp, '294248-01-01')).message).toBe(
      'timestamp out of range: "294248-01-01"',
    );
    expect(sqlStateOf(() => parseText(T.timestamp, '4714-11-23 23:59:59 BC'))).toBe('22008');
  });

  test('timestamp(p) rounds like PostgreSQL (half away from zero, from 2000-01-01)', () => {
    const t0 = scalarType('timestamp', 0);
    const t2 = scalarType('timestamp', 2);
    expect(roundTrip(t0, '2024-01-31 12:34:56.5')).toBe('2024-01-31 12:34:57');
    expect(roundTrip(t0, '2024-01-31 12:34:56.4999')).toBe('2024-01-31 12:34:56');
    expect(roundTrip(t2, '2024-01-31 12:34:56.125')).toBe('2024-01-31 12:34:56.13');
    // Before 2000, a tie rounds towards the past (away from PostgreSQL's epoch).
    expect(roundTrip(t2, '1999-12-31 23:59:59.125')).toBe('1999-12-31 23:59:59.12');
    expect(roundTrip(t0, 'infinity')).toBe('infinity');
  });

  test('now uses the injected clock', () => {
    const now = BigInt(Date.UTC(2024, 0, 31, 12, 0, 0)) * 1000n + 5n;
    expect(roundTrip(T.timestamp, 'now', { nowMicros: now })).toBe('2024-01-31 12:00:00.000005');
    const ny = resolveTimeZone('America/New_York');
    expect(roundTrip(T.timestamp, 'now', { nowMicros: now, timeZone: ny })).toBe('2024-01-31 07:00:00.000005');
    expect(roundTrip(T.timestamp, 'today', { nowMicros: now })).toBe('2024-01-31 00:00:00');
    expect(roundTrip(T.timestamp, 'tomorrow 10:30', { nowMicros: now })).toBe('2024-02-01 10:30:00');
  });
});

describe('timestamptz', () => {
  const ny = resolveTimeZone('America/New_York');
  const kolkata = resolveTimeZone('Asia/Kolkata');

  test.each([
    ['2024-01-31 12:34:56.789+00', '2024-01-31 12:34:56.789+00'],
    ['2024-01-31 12:34:56+05:30', '2024-01-31 07:04:56+00'],
    ['2024-01-31 12:34:56 +0530', '2024-01-31 07:04:56+00'],
    ['2024-01-31 12:34:56-08', '2024-01-31 20:34:56+00'],
    ['2024-01-31T12:34:56Z', '2024-01-31 12:34:56+00'],
    ['2024-01-31 12:34:56 UTC', '2024-01-31 12:34:56+00'],
    ['2024-01-31 12:34:56 EST', '2024-01-31 17:34:56+00'],
    ['2024-07-01 12:00:00 America/New_York', '2024-07-01 16:00:00+00'],
    ['2024-01-31', '2024-01-31 00:00:00+00'],
    ['0001-01-01 00:00:00+00 BC', '0001-01-01 00:00:00+00 BC'],
    ['infinity', 'infinity'],
  ])('%j -> %s (TimeZone UTC)', (input, out) => {
    expect(roundTrip(T.timestamptz, input)).toBe(out);
  });

  test('output in the session zone', () => {
    const v = parseText(T.timestamptz, '2024-01-31 07:04:56+00');
    expect(formatText(T.timestamptz, v, { timeZone: ny })).toBe('2024-01-31 02:04:56-05');
    expect(formatText(T.timestamptz, v, { timeZone: kolkata })).toBe('2024-01-31 12:34:56+05:30');
    expect(formatText(T.timestamptz, v, { timeZone: resolveTimeZone('+03') })).toBe('2024-01-31 10:04:56+03');
    expect(formatText(T.timestamptz, v, { timeZone: resolveTimeZone('-7') })).toBe('2024-01-31 00:04:56-07');
    expect(formatText(T.timestamptz, v, { timeZone: resolveTimeZone('UTC+3') })).toBe('2024-01-31 04:04:56-03');
    const summer = parseText(T.timestamptz, '2024-07-01 16:00:00+00');
    expect(formatText(T.timestamptz, summer, { timeZone: ny })).toBe('2024-07-01 12:00:00-04');
  });

  test('input without a zone is read in the session zone; DST gaps and overlaps as PostgreSQL', () => {
    const opts = { timeZone: ny };
    expect(roundTrip(T.timestamptz, '2024-01-31 02:04:56', opts)).toBe('2024-01-31 02:04:56-05');
    // Spring forward: 02:30 does not exist; read as standard time.
    expect(roundTrip(T.timestamptz, '2018-03-11 02:30', opts)).toBe('2018-03-11 03:30:00-04');
    // Fall back: 01:30 happens twice; PostgreSQL takes the later (standard time).
    expect(roundTrip(T.timestamptz, '2018-11-04 01:30', opts)).toBe('2018-11-04 01:30:00-05');
    expect(roundTrip(T.timestamptz, '2018-11-04 00:30', opts)).toBe('2018-11-04 00:30:00-04');
    expect(roundTrip(T.timestamptz, '2018-11-04 02:30', opts)).toBe('2018-11-04 02:30:00-05');
    expect(roundTrip(T.timestamptz, '2018-11-04 01:30 EDT', opts)).toBe('2018-11-04 01:30:00-04');
  });

  test('local mean time offsets print seconds', () => {
    const v = parseText(T.timestamptz, '1800-01-01 00:00:00+00');
    expect(formatText(T.timestamptz, v, { timeZone: ny })).toBe('1799-12-31 19:03:58-04:56:02');
  });

  test('bad zones', () => {
    expect(sqlStateOf(() => parseText(T.timestamptz, '2024-01-31 12:00 Mars/Olympus'))).toBe('22007');
    expect(sqlErrorOf(() => resolveTimeZone('Mars/Olympus')).message).toBe(
      'invalid value for parameter "TimeZone": "Mars/Olympus"',
    );
    expect(sqlErrorOf(() => parseText(T.timestamptz, 'x')).message).toBe(
      'invalid input syntax for type timestamp with time zone: "x"',
    );
  });
});

describe('interval', () => {
  test.each([
    ['1 year 2 mons 3 days 04:05:06.5', '1 year 2 mons 3 days 04:05:06.5'],
    ['1 day', '1 day'],
    ['2 days', '2 days'],
    ['-1 hour', '-01:00:00'],
    ['01:02:03', '01:02:03'],
    ['P1Y2M', '1 year 2 mons'],
    ['P1Y2M3DT4H5M6S', '1 year 2 mons 3 days 04:05:06'],
    ['PT1.5S', '00:00:01.5'],
    ['P1W', '7 days'],
    ['P0001-02-03T04:05:06', '1 year 2 mons 3 days 04:05:06'],
    ['@ 1 minute ago', '-00:01:00'],
    ['1 day ago', '-1 days'],
    ['1 day -02:00:00', '1 day -02:00:00'],
    ['-1 days +02:00:00', '-1 days +02:00:00'],
    ['1.5 years', '1 year 6 mons'],
    ['1.5 months', '1 mon 15 days'],
    ['1.5 days', '1 day 12:00:00'],
    ['1.5 weeks', '10 days 12:00:00'],
    ['0', '00:00:00'],
    ['10', '00:00:10'],
    ['1 2:03:04', '1 day 02:03:04'],
    ['1-2', '1 year 2 mons'],
    ['-1-2', '-1 years -2 mons'],
    ['2 weeks', '14 days'],
    ['-1 year -2 mons', '-1 years -2 mons'],
    ['1 mon -1 day', '1 mon -1 days'],
    ['100:00:00', '100:00:00'],
    ['1:30.5', '00:01:30.5'],
    ['1 hour 30 minutes', '01:30:00'],
    ['1h30m', '01:30:00'],
    ['3 centuries', '300 years'],
    ['1 millennium 1 decade', '1010 years'],
    ['500 ms', '00:00:00.5'],
    ['7 us', '00:00:00.000007'],
    ['-00:00:01', '-00:00:01'],
    ['+1 day', '1 day'],
    ['1 year -1 mons', '11 mons'],
    ['-1 mons +1 day', '-1 mons +1 day'],
    ['1 Day 2 Hours', '1 day 02:00:00'],
  ])('%j -> %s', (input, out) => {
    expect(roundTrip(T.interval, input)).toBe(out);
  });

  test.each(['abc', '', '1 fortnight', '1 day 1 day', '1 hour 10:00', 'ago', 'P', 'P1X', '1:2:3:4'])(
    '%j is 22007',
    (input) => {
      const e = sqlErrorOf(() => parseText(T.interval, input));
      expect([e.sqlState, e.message]).toEqual(['22007', `invalid input syntax for type interval: "${input}"`]);
    },
  );

  test('field overflow is 22015', () => {
    expect(sqlStateOf(() => parseText(T.interval, '1:60'))).toBe('22015');
    expect(sqlStateOf(() => parseText(T.interval, '3000000000 days'))).toBe('22015');
  });

  test('output of constructed values', () => {
    expect(formatText(T.interval, { months: -1, days: 0, micros: 0n })).toBe('-1 mons');
    expect(formatText(T.interval, { months: 0, days: -1, micros: 7_200_000_000n })).toBe('-1 days +02:00:00');
    expect(formatText(T.interval, { months: 13, days: 1, micros: 1n })).toBe('1 year 1 mon 1 day 00:00:00.000001');
    expect(formatText(T.interval, { months: 0, days: 0, micros: -90_061_000_000n })).toBe('-25:01:01');
  });
});

describe('uuid', () => {
  const canonical = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';
  test.each([
    canonical,
    'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
    '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}',
    'a0eebc999c0b4ef8bb6d6bb9bd380a11',
    'a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11',
    '{a0eebc999c0b4ef8bb6d6bb9bd380a11}',
  ])('%j', (input) => {
    expect(roundTrip(T.uuid, input)).toBe(canonical);
  });

  test.each(['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111', '{a0eebc999c0b4ef8bb6d6bb9bd380a11', ' a0eebc999c0b4ef8bb6d6bb9bd380a11', 'a0e-ebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'g0eebc999c0b4ef8bb6d6bb9bd380a11'])(
    '%j is 22P02',
    (input) => {
      expect(sqlErrorOf(() => parseText(T.uuid, input)).message).toBe(`invalid input syntax for type uuid: "${input}"`);
    },
  );
});

describe('jsonb', () => {
  test.each([
    ['{"b": 1, "a": [1, 2.5, "x"], "aa": null}', '{"a": [1, 2.5, "x"], "b": 1, "aa": null}'],
    ['{"a":1,"a":2}', '{"a": 2}'],
    ['  [1,true,false,null,{}]  ', '[1, true, false, null, {}]'],
    ['1e2', '100'],
    ['-0', '0'],
    ['1e-7', '0.0000001'],
    ['1e21', '1000000000000000000000'],
    ['"a\\nb\\u0001/\\u00e9"', '"a\\nb\\u0001/é"'],
    ['{"é": 1, "z": 2, "zz": 3}', '{"z": 2, "zz": 3, "é": 1}'],
    ['{"__proto__": 1}', '{"__proto__": 1}'],
    ['[]', '[]'],
    ['"\\ud83d\\ude00"', '"😀"'],
  ])('%j -> %s', (input, out) => {
    expect(roundTrip(T.jsonb, input)).toBe(out);
  });

  test('errors', () => {
    expect(sqlErrorOf(() => parseText(T.jsonb, '{a:1}')).message).toBe('invalid input syntax for type json');
    expect(sqlStateOf(() => parseText(T.jsonb, '{a:1}'))).toBe('22P02');
    expect(sqlStateOf(() => parseText(T.jsonb, ''))).toBe('22P02');
    expect(sqlStateOf(() => parseText(T.jsonb, '"\\u0000"'))).toBe('22P05');
    expect(sqlStateOf(() => parseText(T.jsonb, '"\\ud83d"'))).toBe('22P02');
    expect(sqlStateOf(() => parseText(T.jsonb, '1e400'))).toBe('22003');
  });
});

describe('arrays', () => {
  const int4s = arrayOf(T.int4);
  const texts = arrayOf(T.text);

  test('int4[]', () => {
    expect(parseText(int4s, '{1,2,NULL}')).toEqual([1n, 2n, null]);
    expect(parseText(int4s, ' { 1 , 2 } ')).toEqual([1n, 2n]);
    expect(parseText(int4s, '{}')).toEqual([]);
    expect(parseText(int4s, '{{1,2},{3,4}}')).toEqual([
      [1n, 2n],
      [3n, 4n],
    ]);
    expect(parseText(int4s, '[1:2]={5,6}')).toEqual([5n, 6n]);
    expect(formatText(int4s, [1n, 2n, null])).toBe('{1,2,NULL}');
    expect(formatText(int4s, [])).toBe('{}');
    expect(formatText(int4s, [[1n, 2n], [3n, null]] as Datum)).toBe('{{1,2},{3,NULL}}');
  });

  test('text[] quoting', () => {
    const values = ['a b', 'c"d', null, 'NULL', '', 'x\\y', 'plain', '{}', 'a,b', 'null '];
    const text = formatText(texts, values);
    expect(text).toBe('{"a b","c\\"d",NULL,"NULL","","x\\\\y",plain,"{}","a,b","null "}');
    expect(parseText(texts, text)).toEqual(values);
    expect(parseText(texts, '{a b , c}')).toEqual(['a b', 'c']);
    expect(parseText(texts, '{"  x  "}')).toEqual(['  x  ']);
    expect(parseText(texts, '{a\\,b}')).toEqual(['a,b']);
  });

  test('other element types', () => {
    expect(formatText(arrayOf(T.bool), [true, false])).toBe('{t,f}');
    expect(formatText(arrayOf(T.date), [0, Infinity])).toBe('{1970-01-01,infinity}');
    expect(formatText(arrayOf(T.timestamp), [0n])).toBe('{"1970-01-01 00:00:00"}');
    expect(formatText(arrayOf(T.bytea), [Buffer.from([1])])).toBe('{"\\\\x01"}');
    expect(formatText(arrayOf(T.jsonb), [{ json: { a: 1 } }])).toBe('{"{\\"a\\": 1}"}');
    expect(formatText(arrayOf(T.float8), [NaN, 1.5])).toBe('{NaN,1.5}');
  });

  test.each(['{1,2', '1,2}', '{1,,2}', '{{1},2}', '{{1,2},{3}}', '{1}x', '{"a}', '{1 2 {3}}'])('%j is 22P02', (input) => {
    const e = sqlErrorOf(() => parseText(int4s, input));
    expect(e.sqlState).toBe('22P02');
  });

  test('element errors surface', () => {
    expect(sqlErrorOf(() => parseText(int4s, '{1,x}')).message).toBe('invalid input syntax for type integer: "x"');
  });
});

describe('formatText guards', () => {
  test('a datum of the wrong JavaScript type is a bug, not a SQL error', () => {
    expect(() => formatText(T.int4, 1 as unknown as Datum)).toThrow('datum of type integer is a number');
    expect(() => formatText(T.text, null)).toThrow();
  });
});
