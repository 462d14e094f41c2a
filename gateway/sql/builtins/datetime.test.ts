import { SqlError } from '../../../common/errors';
import { fixedEvalContext } from './eval-context';
import type { TextArg } from './testing';
import { callFunction, callOperator, setRows } from './testing';

// Expected values are PostgreSQL 15's (DateStyle ISO, IntervalStyle postgres).

const UTC = fixedEvalContext();
const NEW_YORK = fixedEvalContext({ timeZone: 'America/New_York' });

const d = (v: string): TextArg => ['date', v];
const ts = (v: string): TextArg => ['timestamp', v];
const tstz = (v: string): TextArg => ['timestamptz', v];
const iv = (v: string): TextArg => ['interval', v];
const txt = (v: string): TextArg => ['text', v];
const i4 = (v: number): TextArg => ['int4', String(v)];
const f8 = (v: number): TextArg => ['float8', String(v)];

function op(left: TextArg, name: string, right: TextArg, ctx = UTC): string | null {
  return callOperator(name, left, right, ctx);
}

function fn(name: string, args: TextArg[], ctx = UTC): string | null {
  return callFunction(name, args, ctx);
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

describe('date arithmetic', () => {
  it('date ± integer and date - date', () => {
    expect(op(d('2021-02-28'), '+', i4(1))).toBe('2021-03-01');
    expect(op(i4(7), '+', d('2021-03-01'))).toBe('2021-03-08');
    expect(op(d('2021-03-01'), '-', i4(7))).toBe('2021-02-22');
    expect(op(d('2021-12-31'), '-', d('2021-01-01'))).toBe('364');
    expect(op(d('2021-03-01'), '-', d('2021-01-01'))).toBe('59');
    expect(op(d('infinity'), '+', i4(1))).toBe('infinity');
  });

  it('date ± interval is a timestamp', () => {
    expect(op(d('2021-01-31'), '+', iv('1 month 1 day'))).toBe('2021-03-01 00:00:00');
    expect(op(d('2021-03-01'), '-', iv('1 hour'))).toBe('2021-02-28 23:00:00');
  });
});

describe('timestamp and interval arithmetic', () => {
  it('adds months first, clamping to the month’s end, then days, then time', () => {
    expect(op(ts('2021-01-31'), '+', iv('1 month'))).toBe('2021-02-28 00:00:00');
    expect(op(ts('2020-02-29'), '+', iv('1 year'))).toBe('2021-02-28 00:00:00');
    expect(op(ts('2021-03-31'), '-', iv('1 month'))).toBe('2021-02-28 00:00:00');
    expect(op(ts('2020-02-29 12:00'), '+', iv('1 year 1 mon 1 day 1 hour'))).toBe('2021-03-30 13:00:00');
    expect(op(ts('2021-03-01 00:00:00'), '-', iv('1 mon 1 day 1 hour'))).toBe('2021-01-30 23:00:00');
  });

  it('timestamp - timestamp justifies whole days out of the time', () => {
    expect(op(ts('2021-03-01'), '-', ts('2021-01-01 12:00'))).toBe('58 days 12:00:00');
    expect(op(ts('2021-01-01'), '-', ts('2021-01-02 01:00'))).toBe('-1 days -01:00:00');
  });

  it('interval × and ÷ cascade fractions down', () => {
    expect(op(iv('1 month'), '*', ['numeric', '1.5'])).toBe('1 mon 15 days');
    expect(op(iv('1 day'), '*', ['numeric', '0.3'])).toBe('07:12:00');
    expect(op(iv('1 mon 1 day'), '/', i4(3))).toBe('10 days 08:00:00');
    expect(op(iv('2 hours'), '*', ['numeric', '2.5'])).toBe('05:00:00');
    expect(op(iv('1 year'), '/', i4(7))).toBe('1 mon 21 days 10:17:08.5344');
    expect(op(iv('1 month'), '*', ['numeric', '0.1'])).toBe('3 days');
    expect(op(iv('10 days'), '/', i4(4))).toBe('2 days 12:00:00');
    expect(op(iv('-1 day 2 hours'), '*', i4(-1))).toBe('1 day -02:00:00');
    expect(op(iv('1 hour'), '*', ['numeric', '1.0000001'])).toBe('01:00:00.00036');
    expect(op(f8(2), '*', iv('1 day'))).toBe('2 days');
    expect(sqlError(() => op(iv('1 day'), '/', i4(0)))).toEqual({ sqlState: '22012', message: 'division by zero' });
  });

  it('interval + - and unary minus', () => {
    expect(op(iv('1 day'), '+', iv('2 hours'))).toBe('1 day 02:00:00');
    expect(op(iv('1 mon'), '-', iv('1 day'))).toBe('1 mon -1 days');
    expect(callOperator('-', undefined, iv('1 day -02:00'))).toBe('-1 days +02:00:00');
  });

  it('moves timestamptz by days in the session’s zone (DST)', () => {
    expect(op(tstz('2021-03-13 12:00-05'), '+', iv('1 day'), NEW_YORK)).toBe('2021-03-14 12:00:00-04');
    expect(op(tstz('2021-03-13 12:00-05'), '+', iv('24 hours'), NEW_YORK)).toBe('2021-03-14 13:00:00-04');
    expect(op(tstz('2021-01-31 12:00-05'), '+', iv('1 month'), NEW_YORK)).toBe('2021-02-28 12:00:00-05');
    expect(op(tstz('2021-03-15 00:00-04'), '-', tstz('2021-03-13 12:00-05'), NEW_YORK)).toBe('1 day 11:00:00');
  });

  it('compares across date, timestamp and timestamptz in the session’s zone', () => {
    expect(op(ts('2021-07-01 12:00'), '=', tstz('2021-07-01 16:00+00'), NEW_YORK)).toBe('t');
    expect(op(d('2021-07-01'), '<', tstz('2021-07-01 03:00+00'), NEW_YORK)).toBe('f');
    expect(op(d('2021-07-01'), '<', tstz('2021-07-01 03:00+00'), UTC)).toBe('t');
    expect(op(d('2021-07-01'), '=', ts('2021-07-01 00:00'))).toBe('t');
    expect(op(iv('1 mon'), '=', iv('30 days'))).toBe('t');
    expect(op(iv('1 day'), '<', iv('25 hours'))).toBe('t');
  });
});

describe('extract and date_part', () => {
  it('extract returns numeric with PostgreSQL’s scales', () => {
    expect(fn('extract', [txt('second'), ts('2020-01-01 00:00:05.5')])).toBe('5.500000');
    expect(fn('extract', [txt('epoch'), ts('2020-01-01 00:00:05')])).toBe('1577836805.000000');
    expect(fn('extract', [txt('milliseconds'), ts('2020-01-01 00:00:05')])).toBe('5000.000');
    expect(fn('extract', [txt('microseconds'), ts('2020-01-01 00:00:05')])).toBe('5000000');
    expect(fn('extract', [txt('julian'), ts('2020-01-01 12:00')])).toBe('2458850.50000000000000000000');
    expect(fn('extract', [txt('epoch'), d('2020-01-01')])).toBe('1577836800');
    expect(fn('extract', [txt('dow'), d('2020-01-05')])).toBe('0');
    expect(fn('extract', [txt('isodow'), d('2021-01-03')])).toBe('7');
    expect(fn('extract', [txt('week'), d('2021-01-01')])).toBe('53');
    expect(fn('extract', [txt('isoyear'), d('2021-01-01')])).toBe('2020');
    expect(fn('extract', [txt('doy'), d('2021-12-31')])).toBe('365');
    expect(fn('extract', [txt('quarter'), d('2021-08-01')])).toBe('3');
    expect(fn('extract', [txt('century'), d('2000-12-31')])).toBe('20');
    expect(fn('extract', [txt('millennium'), d('2001-01-01')])).toBe('3');
    expect(fn('extract', [txt('decade'), d('1999-01-01')])).toBe('199');
    expect(fn('extract', [txt('YEAR'), d('0044-03-15 BC')])).toBe('-44');
    expect(fn('extract', [txt('century'), d('0044-03-15 BC')])).toBe('-1');
    expect(fn('extract', [txt('decade'), ts('0001-01-01 BC')])).toBe('0');
  });

  it('extract from intervals', () => {
    expect(fn('extract', [txt('epoch'), iv('1 year 2 days 3.5 seconds')])).toBe('31730403.500000');
    expect(fn('extract', [txt('month'), iv('14 months')])).toBe('2');
    expect(fn('extract', [txt('year'), iv('14 months')])).toBe('1');
    expect(fn('extract', [txt('second'), iv('65.5 seconds')])).toBe('5.500000');
    expect(fn('extract', [txt('day'), iv('40 days')])).toBe('40');
    expect(fn('extract', [txt('hour'), iv('-25 hours')])).toBe('-25');
    expect(fn('extract', [txt('epoch'), iv('-1 mon -2 days')])).toBe('-2764800.000000');
    expect(fn('extract', [txt('milliseconds'), iv('1 min 2.5 sec')])).toBe('2500.000');
  });

  it('extract from timestamptz reads the session’s zone', () => {
    expect(fn('extract', [txt('hour'), tstz('2021-07-01 12:00+00')], NEW_YORK)).toBe('8');
    expect(fn('extract', [txt('timezone'), tstz('2021-07-01 12:00+00')], NEW_YORK)).toBe('-14400');
    expect(fn('extract', [txt('timezone_hour'), tstz('2021-01-01 12:00+00')], NEW_YORK)).toBe('-5');
    expect(fn('date_part', [txt('epoch'), tstz('2021-07-01 12:00+00')], NEW_YORK)).toBe('1625140800');
  });

  it('date_part returns float8', () => {
    expect(fn('date_part', [txt('epoch'), ts('2020-01-01 00:00:05.5')])).toBe('1577836805.5');
    expect(fn('date_part', [txt('hour'), d('2020-01-01')])).toBe('0');
    expect(fn('date_part', [txt('month'), iv('14 months')])).toBe('2');
  });

  it('infinite values and bad units', () => {
    expect(fn('extract', [txt('epoch'), d('infinity')])).toBe('Infinity');
    expect(fn('extract', [txt('day'), d('infinity')])).toBeNull();
    expect(sqlError(() => fn('extract', [txt('hour'), d('2020-01-01')]))).toEqual({
      sqlState: '0A000',
      message: 'unit "hour" not supported for type date',
    });
    expect(sqlError(() => fn('extract', [txt('dow'), iv('1 day')]))).toEqual({
      sqlState: '0A000',
      message: 'unit "dow" not supported for type interval',
    });
    expect(sqlError(() => fn('extract', [txt('fortnight'), ts('2020-01-01')]))).toEqual({
      sqlState: '22023',
      message: 'unit "fortnight" not recognized for type timestamp without time zone',
    });
  });
});

describe('date_trunc', () => {
  it('on timestamps', () => {
    expect(fn('date_trunc', [txt('week'), ts('2021-01-03 10:00')])).toBe('2020-12-28 00:00:00');
    expect(fn('date_trunc', [txt('quarter'), ts('2021-05-03 10:00')])).toBe('2021-04-01 00:00:00');
    expect(fn('date_trunc', [txt('decade'), ts('2021-05-03')])).toBe('2020-01-01 00:00:00');
    expect(fn('date_trunc', [txt('century'), ts('2001-05-03')])).toBe('2001-01-01 00:00:00');
    expect(fn('date_trunc', [txt('century'), ts('2000-06-01')])).toBe('1901-01-01 00:00:00');
    expect(fn('date_trunc', [txt('millennium'), ts('2001-05-03')])).toBe('2001-01-01 00:00:00');
    expect(fn('date_trunc', [txt('millennium'), ts('0500-01-01 BC')])).toBe('1000-01-01 00:00:00 BC');
    expect(fn('date_trunc', [txt('milliseconds'), ts('2021-01-03 10:00:01.123456')])).toBe('2021-01-03 10:00:01.123');
    expect(fn('date_trunc', [txt('hour'), ts('2021-01-03 10:59:59')])).toBe('2021-01-03 10:00:00');
  });

  it('on dates (as timestamptz) and intervals', () => {
    expect(fn('date_trunc', [['unknown', 'month'], d('2021-05-17')])).toBe('2021-05-01 00:00:00+00');
    expect(fn('date_trunc', [txt('hour'), iv('1 day 5 hours 30 minutes')])).toBe('1 day 05:00:00');
    expect(fn('date_trunc', [txt('year'), iv('14 months 3 days')])).toBe('1 year');
  });

  it('on timestamptz, in the session’s zone', () => {
    expect(fn('date_trunc', [txt('day'), tstz('2021-03-14 12:00-04')], NEW_YORK)).toBe('2021-03-14 00:00:00-05');
    expect(fn('date_trunc', [txt('hour'), tstz('2021-11-07 01:30-04')], NEW_YORK)).toBe('2021-11-07 01:00:00-04');
    expect(fn('date_trunc', [txt('day'), tstz('2021-03-14 12:00+05')])).toBe('2021-03-14 00:00:00+00');
    expect(fn('date_trunc', [txt('day'), tstz('2021-03-14 12:00+05'), txt('Asia/Tokyo')])).toBe('2021-03-13 15:00:00+00');
  });
});

describe('age, justify, make_*, to_timestamp, isfinite, AT TIME ZONE', () => {
  it('age is symbolic', () => {
    expect(fn('age', [ts('2021-03-01'), ts('2020-01-31')])).toBe('1 year 1 mon 1 day');
    expect(fn('age', [ts('2020-01-31'), ts('2021-03-01')])).toBe('-1 years -1 mons -1 days');
    expect(fn('age', [ts('2021-03-31 10:00'), ts('2021-02-28 12:00')])).toBe('1 mon 2 days 22:00:00');
    expect(fn('age', [d('2021-03-01'), d('2021-01-31')])).toBe('1 mon 1 day');
    expect(fn('age', [tstz('2021-03-15 00:00-04'), tstz('2021-03-13 12:00-05')], NEW_YORK)).toBe('1 day 12:00:00');
  });

  it('justify_days / hours / interval', () => {
    expect(fn('justify_days', [iv('35 days')])).toBe('1 mon 5 days');
    expect(fn('justify_hours', [iv('27 hours')])).toBe('1 day 03:00:00');
    expect(fn('justify_interval', [iv('1 mon -1 hour')])).toBe('29 days 23:00:00');
    expect(fn('justify_days', [iv('-35 days')])).toBe('-1 mons -5 days');
    expect(fn('justify_hours', [iv('-27 hours')])).toBe('-1 days -03:00:00');
    expect(fn('justify_interval', [iv('-1 mon 35 days 27 hours')])).toBe('6 days 03:00:00');
  });

  it('make_date, make_timestamp, make_timestamptz, make_interval', () => {
    expect(fn('make_date', [i4(2021), i4(2), i4(28)])).toBe('2021-02-28');
    expect(fn('make_date', [i4(-44), i4(3), i4(15)])).toBe('0044-03-15 BC');
    expect(sqlError(() => fn('make_date', [i4(2021), i4(2), i4(29)]))).toEqual({
      sqlState: '22008',
      message: 'date field value out of range: 2021-02-29',
    });
    expect(fn('make_timestamp', [i4(2021), i4(1), i4(2), i4(3), i4(4), f8(5.5)])).toBe('2021-01-02 03:04:05.5');
    expect(fn('make_timestamptz', [i4(2021), i4(7), i4(1), i4(12), i4(0), f8(0)], NEW_YORK)).toBe('2021-07-01 12:00:00-04');
    expect(fn('make_timestamptz', [i4(2021), i4(7), i4(1), i4(12), i4(0), f8(0), txt('UTC')], NEW_YORK)).toBe(
      '2021-07-01 08:00:00-04',
    );
    expect(fn('make_interval', [i4(1), i4(2), i4(3), i4(4), i4(5), i4(6), f8(7.5)])).toBe('1 year 2 mons 25 days 05:06:07.5');
    expect(fn('make_interval', [i4(0), i4(0), i4(0), i4(10)])).toBe('10 days');
  });

  it('to_timestamp, isfinite, timezone()', () => {
    expect(fn('to_timestamp', [f8(1577836805.5)])).toBe('2020-01-01 00:00:05.5+00');
    expect(fn('to_timestamp', [f8(0)])).toBe('1970-01-01 00:00:00+00');
    expect(fn('isfinite', [d('infinity')])).toBe('f');
    expect(fn('isfinite', [ts('2021-01-01')])).toBe('t');
    expect(fn('timezone', [txt('UTC'), tstz('2021-07-01 12:00+00')], NEW_YORK)).toBe('2021-07-01 12:00:00');
    expect(fn('timezone', [txt('Asia/Kolkata'), ts('2021-07-01 12:00')], NEW_YORK)).toBe('2021-07-01 02:30:00-04');
    expect(sqlError(() => fn('timezone', [txt('Mars/Olympus'), ts('2021-07-01')])).message).toBe(
      'time zone "Mars/Olympus" not recognized',
    );
  });
});

describe('the statement clock', () => {
  // 2023-11-14 22:13:20 UTC
  const ctx = fixedEvalContext({ timeZone: 'America/New_York', statementTimeMicros: 1_700_000_000_500_000n });

  it('now() is the transaction’s time; statement_timestamp() the statement’s', () => {
    expect(fn('now', [], ctx)).toBe('2023-11-14 17:13:20-05');
    expect(fn('current_timestamp', [], ctx)).toBe('2023-11-14 17:13:20-05');
    expect(fn('transaction_timestamp', [], ctx)).toBe('2023-11-14 17:13:20-05');
    expect(fn('statement_timestamp', [], ctx)).toBe('2023-11-14 17:13:20.5-05');
    expect(fn('clock_timestamp', [], ctx)).toBe('2023-11-14 17:13:20.5-05');
    expect(fn('localtimestamp', [], ctx)).toBe('2023-11-14 17:13:20');
    expect(fn('current_date', [], ctx)).toBe('2023-11-14');
    expect(fn('current_date', [], fixedEvalContext({ timeZone: 'Asia/Tokyo' }))).toBe('2023-11-15');
    expect(fn('age', [ts('2023-11-13 12:00')], ctx)).toBe('12:00:00');
  });
});

describe('to_char', () => {
  it('formats timestamps with the common patterns', () => {
    expect(
      fn('to_char', [
        ts('2021-03-04 05:06:07.089123'),
        txt('YYYY-MM-DD HH24:MI:SS.MS US | HH HH12 AM am P.M. | Mon MON mon Month| Dy DAY day| D DDD Q WW IW J'),
      ]),
    ).toBe('2021-03-04 05:06:07.089 089123 | 05 05 AM am A.M. | Mar MAR mar March    | Thu THURSDAY  thursday | 5 063 1 09 09 2459278');
    expect(fn('to_char', [ts('2021-03-04 05:06:07'), txt('FMMonth FMDD | "quoted" YYYY | DDth FMDDth | Y YY YYY I IY IYYY CC')])).toBe(
      'March 4 | quoted 2021 | 04th 4th | 1 21 021 1 21 2021 21',
    );
    expect(fn('to_char', [ts('2021-03-04 15:06:07'), txt('HH:MI PM')])).toBe('03:06 PM');
    expect(fn('to_char', [ts('2021-03-04 00:06:07'), txt('HH12 am')])).toBe('12 am');
    expect(fn('to_char', [ts('2021-03-04 05:06:07'), txt('FF1 FF3 SSSS')])).toBe('0 000 18367');
  });

  it('formats timestamptz in the session’s zone, intervals by their fields', () => {
    expect(fn('to_char', [tstz('2021-07-01 12:00+00'), txt('YYYY-MM-DD HH24:MI TZ OF')], NEW_YORK)).toBe('2021-07-01 08:00 EDT -04');
    expect(fn('to_char', [tstz('2021-01-01 12:00+00'), txt('TZ OF TZH:TZM')], NEW_YORK)).toBe('EST -05 -05:00');
    expect(fn('to_char', [tstz('2021-03-04 00:06:07+00'), txt('YYYY TZ OF tz')])).toBe('2021 UTC +00 utc');
    expect(fn('to_char', [iv('1 day 03:04:05'), txt('HH24:MI:SS DD')])).toBe('03:04:05 01');
  });

  it('formats numbers', () => {
    const cases: [TextArg, string, string][] = [
      [i4(5), '999', '   5'],
      [i4(-5), '999', '  -5'],
      [['numeric', '1234.5'], '9,999.99', ' 1,234.50'],
      [['numeric', '1234.5'], 'FM9,999.99', '1,234.5'],
      [['numeric', '-1234.5'], 'FM9,999.99', '-1,234.5'],
      [['numeric', '0.5'], '0.00', ' 0.50'],
      [['numeric', '0.5'], '9.99', '  .50'],
      [i4(12345), '999', ' ###'],
      [['numeric', '-12.3'], 'S999.9', ' -12.3'],
      [['numeric', '12.3'], '999.9MI', ' 12.3 '],
      [['numeric', '-12.3'], '999.9MI', ' 12.3-'],
      [i4(12), '0009', ' 0012'],
      [['numeric', '1234.567'], 'FM999999.999', '1234.567'],
      [i4(3), 'FM9th', '3rd'],
      [['numeric', '1.0'], 'FM9.99', '1.'],
      [['numeric', '-0.1'], '9.9', ' -.1'],
      [i4(12), '99D9', ' 12.0'],
      [i4(1234567), '9G999G999', ' 1,234,567'],
      [i4(-5), '999PR', '  <5>'],
      [f8(5), '9.99', ' 5.00'],
      [['numeric', '1.5'], 'FM0.00', '1.50'],
      [['numeric', '-1.5'], 'FM0.00', '-1.50'],
      [f8(2.567), '9.9', ' 2.6'],
      [i4(12), 'S99', '+12'],
      [['numeric', '12.5'], '99V9', ' 125'],
      [i4(0), '9999', '    0'],
      [i4(0), 'FM9999', '0'],
      [['numeric', '0.01'], 'FM9.99', '.01'],
      [i4(100), 'FM999.', '100'],
      [i4(100), '999.', ' 100'],
      [i4(12), 'SG99', '+12'],
      [['numeric', '1.5'], '9.', ' 2'],
      [['numeric', '100.0'], '999.9', ' 100.0'],
      [i4(12), '9.9', ' #.#'],
      [i4(100), 'FM999.0', '100.0'],
      [i4(100), 'FM999.9', '100.'],
    ];
    for (const [value, pattern, expected] of cases) {
      expect([pattern, fn('to_char', [value, txt(pattern)])]).toEqual([pattern, expected]);
    }
  });
});

describe('to_date and to_timestamp(text, text)', () => {
  it('parse the common template fields', () => {
    expect(fn('to_date', [txt('2021-03-04'), txt('YYYY-MM-DD')])).toBe('2021-03-04');
    expect(fn('to_date', [txt('04 Mar 2021'), txt('DD Mon YYYY')])).toBe('2021-03-04');
    expect(fn('to_date', [txt('20210304'), txt('YYYYMMDD')])).toBe('2021-03-04');
    expect(fn('to_date', [txt('2021 063'), txt('YYYY DDD')])).toBe('2021-03-04');
    expect(fn('to_date', [txt('2021/3/4'), txt('YYYY-MM-DD')])).toBe('2021-03-04');
    expect(fn('to_date', [txt('  2021-03-04'), txt('YYYY-MM-DD')])).toBe('2021-03-04');
    expect(fn('to_date', [txt('March 4, 2021'), txt('Month DD, YYYY')])).toBe('2021-03-04');
    expect(fn('to_timestamp', [txt('2021-03-04 15:06:07.5'), txt('YYYY-MM-DD HH24:MI:SS.MS')])).toBe('2021-03-04 15:06:07.5+00');
    expect(fn('to_timestamp', [txt('03/04/2021 03:06 PM'), txt('MM/DD/YYYY HH:MI AM')])).toBe('2021-03-04 15:06:00+00');
    expect(fn('to_timestamp', [txt('2021-07-01 12:00'), txt('YYYY-MM-DD HH24:MI')], NEW_YORK)).toBe('2021-07-01 12:00:00-04');
  });

  it('reject impossible dates and non-numbers', () => {
    expect(sqlError(() => fn('to_date', [txt('2021-13-04'), txt('YYYY-MM-DD')]))).toEqual({
      sqlState: '22008',
      message: 'date/time field value out of range: "2021-13-04"',
    });
    expect(sqlError(() => fn('to_date', [txt('2021-02-30'), txt('YYYY-MM-DD')])).sqlState).toBe('22008');
    expect(sqlError(() => fn('to_date', [txt('abc'), txt('YYYY')]))).toEqual({
      sqlState: '22007',
      message: 'invalid value "abc" for "YYYY"',
    });
  });
});

describe('generate_series over timestamps', () => {
  it('steps by repeated addition, in the session’s zone for timestamptz', () => {
    expect(setRows('generate_series', [ts('2021-01-31'), ts('2021-05-01'), iv('1 month')])).toEqual([
      ['2021-01-31 00:00:00'],
      ['2021-02-28 00:00:00'],
      ['2021-03-28 00:00:00'],
      ['2021-04-28 00:00:00'],
    ]);
    expect(setRows('generate_series', [tstz('2021-03-13 00:00-05'), tstz('2021-03-16 00:00-04'), iv('1 day')], NEW_YORK)).toEqual([
      ['2021-03-13 00:00:00-05'],
      ['2021-03-14 00:00:00-05'],
      ['2021-03-15 00:00:00-04'],
      ['2021-03-16 00:00:00-04'],
    ]);
    expect(setRows('generate_series', [ts('2021-01-03'), ts('2021-01-01'), iv('-1 day')])).toEqual([
      ['2021-01-03 00:00:00'],
      ['2021-01-02 00:00:00'],
      ['2021-01-01 00:00:00'],
    ]);
    expect(sqlError(() => setRows('generate_series', [ts('2021-01-01'), ts('2021-01-02'), iv('0')]))).toEqual({
      sqlState: '22023',
      message: 'step size cannot equal zero',
    });
  });
});
