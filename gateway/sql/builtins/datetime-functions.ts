import { SqlError, SqlStates } from '../../../common/errors';
import type { Datum, Interval } from '../types/datum';
import { Numeric } from '../types/numeric';
import { day, flt, int, ivl, str, ts } from './datum-access';
import {
  checkDate,
  checkTimestamp,
  civilFromDays,
  dateToTimestamp,
  dayOfWeek,
  dayOfYear,
  daysFromCivil,
  daysInMonth,
  isFiniteTimestamp,
  isoWeek,
  justifyDays,
  justifyHours,
  justifyInterval,
  makeInterval,
  MICROS_PER_DAY,
  MICROS_PER_HOUR,
  MICROS_PER_MINUTE,
  MICROS_PER_SECOND,
  splitTimestamp,
  symbolicAge,
  TIMESTAMP_INFINITY,
  TIMESTAMP_NEG_INFINITY,
  timestampFields,
  UNIX_EPOCH_JULIAN,
} from './datetime';
import { clockMicros } from './eval-context';
import { featureNotSupported, invalidParameter } from './errors';
import type { ScalarDef } from './registry';
import { checkTimeZone, localToUtc, utcToLocal, zoneOffsetSeconds } from './timezone';

/**
 * Date/time functions: the statement clock (now() and friends read the EvalContext, never
 * the machine clock), date_trunc, extract / date_part, age, make_*, to_timestamp,
 * justify_*, isfinite, AT TIME ZONE (timezone()).
 */

// ---------------------------------------------------------------------------------------
// Units

export type DatetimeUnit =
  | 'microseconds'
  | 'milliseconds'
  | 'second'
  | 'minute'
  | 'hour'
  | 'day'
  | 'week'
  | 'month'
  | 'quarter'
  | 'year'
  | 'decade'
  | 'century'
  | 'millennium'
  | 'epoch'
  | 'dow'
  | 'isodow'
  | 'doy'
  | 'isoyear'
  | 'julian'
  | 'timezone'
  | 'timezone_hour'
  | 'timezone_minute';

const UNIT_ALIASES: Readonly<Record<string, DatetimeUnit>> = (() => {
  const table: Record<string, DatetimeUnit> = {};
  const add = (unit: DatetimeUnit, ...names: string[]): void => {
    table[unit] = unit;
    for (const n of names) table[n] = unit;
  };
  add('microseconds', 'microsecond', 'us', 'usec', 'usecs', 'microsecon');
  add('milliseconds', 'millisecond', 'ms', 'msec', 'msecs', 'millisecon');
  add('second', 'seconds', 's', 'sec', 'secs');
  add('minute', 'minutes', 'm', 'min', 'mins');
  add('hour', 'hours', 'h', 'hr', 'hrs');
  add('day', 'days', 'd');
  add('week', 'weeks', 'w');
  add('month', 'months', 'mon', 'mons');
  add('quarter', 'qtr');
  add('year', 'years', 'y', 'yr', 'yrs');
  add('decade', 'decades', 'dec', 'decs');
  add('century', 'centuries', 'c', 'cent');
  add('millennium', 'millennia', 'mil', 'mils', 'millenniums');
  add('epoch');
  add('dow');
  add('isodow');
  add('doy');
  add('isoyear');
  add('julian', 'j');
  add('timezone');
  add('timezone_hour', 'timezone_h');
  add('timezone_minute', 'timezone_m');
  return table;
})();

type UnitTarget = 'date' | 'timestamp' | 'timestamptz' | 'interval';

const TARGET_NAMES: Readonly<Record<UnitTarget, string>> = {
  date: 'date',
  timestamp: 'timestamp without time zone',
  timestamptz: 'timestamp with time zone',
  interval: 'interval',
};

function parseUnit(text: string, target: UnitTarget): DatetimeUnit {
  const lower = text.toLowerCase();
  const unit = UNIT_ALIASES[lower];
  if (unit === undefined) throw invalidParameter(`unit "${lower}" not recognized for type ${TARGET_NAMES[target]}`);
  return unit;
}

function unsupportedUnit(text: string, target: UnitTarget): SqlError {
  return featureNotSupported(`unit "${text.toLowerCase()}" not supported for type ${TARGET_NAMES[target]}`);
}

// ---------------------------------------------------------------------------------------
// extract / date_part

/** PostgreSQL's year numbering: 1 BC is year -1 (there is no year 0). */
function displayYear(year: number): number {
  return year > 0 ? year : year - 1;
}

function decadeOf(year: number): number {
  return year >= 0 ? Math.trunc(year / 10) : -Math.trunc((8 - (year - 1)) / 10);
}

function centuryOf(year: number): number {
  return year > 0 ? Math.trunc((year + 99) / 100) : -Math.trunc((99 - (year - 1)) / 100);
}

function millenniumOf(year: number): number {
  return year > 0 ? Math.trunc((year + 999) / 1000) : -Math.trunc((999 - (year - 1)) / 1000);
}

function numInt(v: number | bigint): Numeric {
  return Numeric.fromBigInt(BigInt(v));
}

/** Units that are ±Infinity for an infinite value; the others are NULL. */
function infiniteUnitValue(unit: DatetimeUnit, positive: boolean): Numeric | null {
  switch (unit) {
    case 'epoch':
    case 'year':
    case 'decade':
    case 'century':
    case 'millennium':
    case 'julian':
    case 'isoyear':
      return positive ? Numeric.POSITIVE_INFINITY : Numeric.NEGATIVE_INFINITY;
    default:
      return null;
  }
}

/** Fields shared by dates and timestamps. */
function dateUnitValue(unit: DatetimeUnit, days: number): Numeric | undefined {
  const c = civilFromDays(days);
  switch (unit) {
    case 'day':
      return numInt(c.day);
    case 'month':
      return numInt(c.month);
    case 'quarter':
      return numInt(Math.trunc((c.month - 1) / 3) + 1);
    case 'year':
      return numInt(displayYear(c.year));
    case 'decade':
      return numInt(decadeOf(c.year));
    case 'century':
      return numInt(centuryOf(c.year));
    case 'millennium':
      return numInt(millenniumOf(c.year));
    case 'week':
      return numInt(isoWeek(days).week);
    case 'isoyear': {
      const y = isoWeek(days).isoYear;
      return numInt(y > 0 ? y : y - 1);
    }
    case 'dow':
      return numInt(dayOfWeek(days));
    case 'isodow':
      return numInt(dayOfWeek(days) || 7);
    case 'doy':
      return numInt(dayOfYear(days));
    default:
      return undefined;
  }
}

export function extractFromDate(unitText: string, d: number): Numeric | null {
  const unit = parseUnit(unitText, 'date');
  if (!Number.isFinite(d)) {
    const special = infiniteUnitValue(unit, d > 0);
    if (special === null && !isDateUnit(unit)) throw unsupportedUnit(unitText, 'date');
    return special;
  }
  if (unit === 'epoch') return numInt(BigInt(d) * 86400n);
  if (unit === 'julian') return numInt(d + UNIX_EPOCH_JULIAN);
  const v = dateUnitValue(unit, d);
  if (v === undefined) throw unsupportedUnit(unitText, 'date');
  return v;
}

function isDateUnit(unit: DatetimeUnit): boolean {
  return dateUnitValue(unit, 0) !== undefined || unit === 'epoch' || unit === 'julian';
}

/**
 * extract(unit from timestamp[tz]). `local` is the wall-clock time (for timestamptz, in
 * the session zone), `utc` the instant (equal to local for timestamp).
 */
function extractFromTimestampParts(
  unitText: string,
  target: 'timestamp' | 'timestamptz',
  local: bigint,
  utc: bigint,
  offsetSeconds: number,
): Numeric | null {
  const unit = parseUnit(unitText, target);
  if (!isFiniteTimestamp(utc)) {
    const special = infiniteUnitValue(unit, utc > 0n);
    if (special === null && (unit === 'timezone' || unit === 'timezone_hour' || unit === 'timezone_minute') && target === 'timestamp') {
      throw unsupportedUnit(unitText, target);
    }
    return special;
  }
  const { days, timeMicros } = splitTimestamp(local);
  const secondMicros = timeMicros % MICROS_PER_MINUTE;
  switch (unit) {
    case 'microseconds':
      return Numeric.of(secondMicros, 0);
    case 'milliseconds':
      return Numeric.of(secondMicros, 3);
    case 'second':
      return Numeric.of(secondMicros, 6);
    case 'minute':
      return numInt((timeMicros / MICROS_PER_MINUTE) % 60n);
    case 'hour':
      return numInt(timeMicros / MICROS_PER_HOUR);
    case 'epoch':
      return Numeric.of(utc, 6);
    case 'julian':
      return numInt(days + UNIX_EPOCH_JULIAN).add(Numeric.fromBigInt(timeMicros).div(Numeric.fromBigInt(MICROS_PER_DAY)));
    case 'timezone':
    case 'timezone_hour':
    case 'timezone_minute': {
      if (target === 'timestamp') throw unsupportedUnit(unitText, target);
      if (unit === 'timezone') return numInt(offsetSeconds);
      if (unit === 'timezone_hour') return numInt(Math.trunc(offsetSeconds / 3600));
      return numInt(Math.trunc((offsetSeconds % 3600) / 60));
    }
    default: {
      const v = dateUnitValue(unit, days);
      if (v === undefined) throw unsupportedUnit(unitText, target);
      return v;
    }
  }
}

export function extractFromTimestamp(unitText: string, t: bigint): Numeric | null {
  return extractFromTimestampParts(unitText, 'timestamp', t, t, 0);
}

export function extractFromTimestamptz(unitText: string, t: bigint, zone: string): Numeric | null {
  if (!isFiniteTimestamp(t)) return extractFromTimestampParts(unitText, 'timestamptz', t, t, 0);
  const offset = zoneOffsetSeconds(zone, t);
  return extractFromTimestampParts(unitText, 'timestamptz', t + BigInt(offset) * MICROS_PER_SECOND, t, offset);
}

export function extractFromInterval(unitText: string, iv: Interval): Numeric {
  const unit = parseUnit(unitText, 'interval');
  const years = Math.trunc(iv.months / 12);
  const months = iv.months % 12;
  const secondMicros = iv.micros % MICROS_PER_MINUTE;
  switch (unit) {
    case 'microseconds':
      return Numeric.of(secondMicros, 0);
    case 'milliseconds':
      return Numeric.of(secondMicros, 3);
    case 'second':
      return Numeric.of(secondMicros, 6);
    case 'minute':
      return numInt((iv.micros / MICROS_PER_MINUTE) % 60n);
    case 'hour':
      return numInt(iv.micros / MICROS_PER_HOUR);
    case 'day':
      return numInt(iv.days);
    case 'month':
      return numInt(months);
    case 'quarter':
      return numInt(Math.trunc(months / 3) + 1);
    case 'year':
      return numInt(years);
    case 'decade':
      return numInt(Math.trunc(years / 10));
    case 'century':
      return numInt(Math.trunc(years / 100));
    case 'millennium':
      return numInt(Math.trunc(years / 1000));
    case 'epoch': {
      // A year counts 365.25 days, a month 30 days.
      const seconds = BigInt(years) * 31_557_600n + BigInt(months) * 2_592_000n + BigInt(iv.days) * 86_400n;
      return Numeric.of(seconds * MICROS_PER_SECOND + iv.micros, 6);
    }
    default:
      throw unsupportedUnit(unitText, 'interval');
  }
}

function toFloat(n: Numeric | null): number | null {
  return n === null ? null : n.toNumber();
}

// ---------------------------------------------------------------------------------------
// date_trunc

function truncateYear(year: number, unit: DatetimeUnit): number {
  switch (unit) {
    case 'millennium':
      return year > 0 ? Math.trunc((year + 999) / 1000) * 1000 - 999 : -Math.trunc((999 - (year - 1)) / 1000) * 1000 + 1;
    case 'century':
      return year > 0 ? Math.trunc((year + 99) / 100) * 100 - 99 : -Math.trunc((99 - (year - 1)) / 100) * 100 + 1;
    case 'decade':
      return year > 0 ? Math.trunc(year / 10) * 10 : -Math.trunc((8 - (year - 1)) / 10) * 10;
    default:
      return year;
  }
}

/** Truncates a wall-clock timestamp; undefined when the unit does not apply. */
function truncateLocal(unit: DatetimeUnit, t: bigint): bigint | undefined {
  const { days, timeMicros } = splitTimestamp(t);
  const dayStart = t - timeMicros;
  switch (unit) {
    case 'microseconds':
      return t;
    case 'milliseconds':
      return dayStart + (timeMicros / 1000n) * 1000n;
    case 'second':
      return dayStart + (timeMicros / MICROS_PER_SECOND) * MICROS_PER_SECOND;
    case 'minute':
      return dayStart + (timeMicros / MICROS_PER_MINUTE) * MICROS_PER_MINUTE;
    case 'hour':
      return dayStart + (timeMicros / MICROS_PER_HOUR) * MICROS_PER_HOUR;
    case 'day':
      return dayStart;
    case 'week':
      return dayStart - BigInt((dayOfWeek(days) + 6) % 7) * MICROS_PER_DAY;
    default:
      break;
  }
  const c = civilFromDays(days);
  let month = c.month;
  let year = c.year;
  switch (unit) {
    case 'month':
      break;
    case 'quarter':
      month = Math.trunc((month - 1) / 3) * 3 + 1;
      break;
    case 'year':
    case 'decade':
    case 'century':
    case 'millennium':
      month = 1;
      year = truncateYear(year, unit);
      break;
    default:
      return undefined;
  }
  return BigInt(daysFromCivil(year, month, 1)) * MICROS_PER_DAY;
}

export function dateTruncTimestamp(unitText: string, t: bigint): bigint {
  const unit = parseUnit(unitText, 'timestamp');
  if (!isFiniteTimestamp(t)) return t;
  const r = truncateLocal(unit, t);
  if (r === undefined) throw unsupportedUnit(unitText, 'timestamp');
  return r;
}

/** date_trunc on a timestamptz truncates the session-zone wall-clock time. */
export function dateTruncTimestamptz(unitText: string, t: bigint, zone: string): bigint {
  const unit = parseUnit(unitText, 'timestamptz');
  if (!isFiniteTimestamp(t)) return t;
  const offset = BigInt(zoneOffsetSeconds(zone, t)) * MICROS_PER_SECOND;
  const r = truncateLocal(unit, t + offset);
  if (r === undefined) throw unsupportedUnit(unitText, 'timestamptz');
  // Below a day the offset stays; from a day up it is that of the truncated time.
  const subDay = unit === 'microseconds' || unit === 'milliseconds' || unit === 'second' || unit === 'minute' || unit === 'hour';
  return subDay ? r - offset : localToUtc(zone, r);
}

export function dateTruncInterval(unitText: string, iv: Interval): Interval {
  const unit = parseUnit(unitText, 'interval');
  const years = Math.trunc(iv.months / 12);
  let months = iv.months;
  let days = iv.days;
  let micros = iv.micros;
  switch (unit) {
    case 'millennium':
      months = Math.trunc(years / 1000) * 12000;
      days = 0;
      micros = 0n;
      break;
    case 'century':
      months = Math.trunc(years / 100) * 1200;
      days = 0;
      micros = 0n;
      break;
    case 'decade':
      months = Math.trunc(years / 10) * 120;
      days = 0;
      micros = 0n;
      break;
    case 'year':
      months = years * 12;
      days = 0;
      micros = 0n;
      break;
    case 'quarter':
      months = years * 12 + Math.trunc((iv.months % 12) / 3) * 3;
      days = 0;
      micros = 0n;
      break;
    case 'month':
      days = 0;
      micros = 0n;
      break;
    case 'day':
      micros = 0n;
      break;
    case 'hour':
      micros = (micros / MICROS_PER_HOUR) * MICROS_PER_HOUR;
      break;
    case 'minute':
      micros = (micros / MICROS_PER_MINUTE) * MICROS_PER_MINUTE;
      break;
    case 'second':
      micros = (micros / MICROS_PER_SECOND) * MICROS_PER_SECOND;
      break;
    case 'milliseconds':
      micros = (micros / 1000n) * 1000n;
      break;
    case 'microseconds':
      break;
    case 'week':
      throw featureNotSupported(`interval units "${unitText.toLowerCase()}" not supported because months usually have fractional weeks`);
    default:
      throw unsupportedUnit(unitText, 'interval');
  }
  return makeInterval(months || 0, days || 0, micros);
}

// ---------------------------------------------------------------------------------------
// Constructors

function dateFieldError(text: string): SqlError {
  return new SqlError(SqlStates.datetimeFieldOverflow, `date field value out of range: ${text}`);
}

function pad(n: number, width: number): string {
  return String(Math.abs(n)).padStart(width, '0');
}

/** make_date(year, month, day): negative years are BC. */
export function makeDate(year: number, month: number, dayOfMonth: number): number {
  const astronomical = year < 0 ? year + 1 : year;
  const text = `${year < 0 ? '-' : ''}${pad(year, 4)}-${pad(month, 2)}-${pad(dayOfMonth, 2)}`;
  if (year === 0 || month < 1 || month > 12 || dayOfMonth < 1 || dayOfMonth > daysInMonth(astronomical, month)) {
    throw dateFieldError(text);
  }
  return checkDate(daysFromCivil(astronomical, month, dayOfMonth));
}

export function makeTimestamp(year: number, month: number, d: number, hour: number, minute: number, seconds: number): bigint {
  const days = makeDate(year, month, d);
  if (hour < 0 || hour > 24 || minute < 0 || minute > 59 || !(seconds >= 0) || seconds > 60) {
    throw new SqlError(
      SqlStates.datetimeFieldOverflow,
      `time field value out of range: ${hour}:${pad(minute, 2)}:${pad(Math.trunc(seconds), 2)}`,
    );
  }
  const micros = BigInt(Math.round(seconds * 1e6));
  return checkTimestamp(
    BigInt(days) * MICROS_PER_DAY + BigInt(hour) * MICROS_PER_HOUR + BigInt(minute) * MICROS_PER_MINUTE + micros,
  );
}

/** make_interval(years, months, weeks, days, hours, mins, secs), every argument defaulting to 0. */
function makeIntervalFromArgs(a: readonly Datum[]): Interval {
  const n = (i: number): number => (a[i] === undefined ? 0 : Number(int(a[i])));
  const secs = a[6] === undefined ? 0 : flt(a[6]);
  if (!Number.isFinite(secs)) throw new SqlError(SqlStates.datetimeFieldOverflow, 'interval out of range');
  const micros =
    BigInt(n(4)) * MICROS_PER_HOUR + BigInt(n(5)) * MICROS_PER_MINUTE + BigInt(Math.round(secs * 1e6));
  return makeInterval(n(0) * 12 + n(1), n(2) * 7 + n(3), micros);
}

/** to_timestamp(seconds since the epoch). */
export function timestampFromEpochSeconds(seconds: number): bigint {
  if (Number.isNaN(seconds)) {
    throw new SqlError(SqlStates.datetimeFieldOverflow, 'timestamp cannot be NaN');
  }
  if (seconds === Infinity) return TIMESTAMP_INFINITY;
  if (seconds === -Infinity) return TIMESTAMP_NEG_INFINITY;
  const micros = Math.round(seconds * 1e6);
  if (!Number.isFinite(micros) || Math.abs(micros) > 9.2e18) {
    throw new SqlError(SqlStates.datetimeFieldOverflow, `timestamp out of range: "${seconds}"`);
  }
  return checkTimestamp(BigInt(micros));
}

// ---------------------------------------------------------------------------------------
// The statement clock

/** Rounds a timestamp to `precision` fractional digits (0..6), half away from zero. */
export function roundTimestamp(t: bigint, precision: bigint): bigint {
  if (!isFiniteTimestamp(t)) return t;
  if (precision < 0n) throw invalidParameter(`TIMESTAMP(${precision}) precision must not be negative`);
  if (precision >= 6n) return t;
  const unit = 10n ** (6n - precision);
  const half = unit / 2n;
  return t >= 0n ? ((t + half) / unit) * unit : -(((-t + half) / unit) * unit);
}

function localDate(utc: bigint, zone: string): number {
  return splitTimestamp(utcToLocal(zone, utc)).days;
}

function ageOf(a: bigint, b: bigint, zone: string | undefined): Interval {
  if (!isFiniteTimestamp(a) || !isFiniteTimestamp(b)) {
    throw new SqlError(SqlStates.datetimeFieldOverflow, 'interval out of range');
  }
  const fa = timestampFields(zone === undefined ? a : utcToLocal(zone, a));
  const fb = timestampFields(zone === undefined ? b : utcToLocal(zone, b));
  return symbolicAge(fa, fb, a < b);
}

export const datetimeFunctions: readonly ScalarDef[] = [
  // The statement clock: stable within a statement (clock_timestamp is volatile).
  { name: 'now', args: [], result: 'timestamptz', volatility: 'stable', impl: (_a, ctx) => ctx.transactionTimeMicros },
  {
    name: 'current_timestamp',
    args: [],
    result: 'timestamptz',
    volatility: 'stable',
    impl: (_a, ctx) => ctx.transactionTimeMicros,
  },
  {
    name: 'current_timestamp',
    args: ['int4'],
    result: 'timestamptz',
    volatility: 'stable',
    impl: (a, ctx) => roundTimestamp(ctx.transactionTimeMicros, int(a[0])),
  },
  {
    name: 'transaction_timestamp',
    args: [],
    result: 'timestamptz',
    volatility: 'stable',
    impl: (_a, ctx) => ctx.transactionTimeMicros,
  },
  {
    name: 'statement_timestamp',
    args: [],
    result: 'timestamptz',
    volatility: 'stable',
    impl: (_a, ctx) => ctx.statementTimeMicros,
  },
  { name: 'clock_timestamp', args: [], result: 'timestamptz', volatility: 'volatile', impl: (_a, ctx) => clockMicros(ctx) },
  {
    name: 'localtimestamp',
    args: [],
    result: 'timestamp',
    volatility: 'stable',
    impl: (_a, ctx) => utcToLocal(ctx.timeZone, ctx.transactionTimeMicros),
  },
  {
    name: 'localtimestamp',
    args: ['int4'],
    result: 'timestamp',
    volatility: 'stable',
    impl: (a, ctx) => roundTimestamp(utcToLocal(ctx.timeZone, ctx.transactionTimeMicros), int(a[0])),
  },
  {
    name: 'current_date',
    args: [],
    result: 'date',
    volatility: 'stable',
    impl: (_a, ctx) => localDate(ctx.transactionTimeMicros, ctx.timeZone),
  },
  // date_trunc
  { name: 'date_trunc', args: ['text', 'timestamp'], result: 'timestamp', impl: (a) => dateTruncTimestamp(str(a[0]), ts(a[1])) },
  {
    name: 'date_trunc',
    args: ['text', 'timestamptz'],
    result: 'timestamptz',
    volatility: 'stable',
    impl: (a, ctx) => dateTruncTimestamptz(str(a[0]), ts(a[1]), ctx.timeZone),
  },
  {
    name: 'date_trunc',
    args: ['text', 'timestamptz', 'text'],
    result: 'timestamptz',
    impl: (a) => {
      checkTimeZone(str(a[2]));
      return dateTruncTimestamptz(str(a[0]), ts(a[1]), str(a[2]));
    },
  },
  { name: 'date_trunc', args: ['text', 'interval'], result: 'interval', impl: (a) => dateTruncInterval(str(a[0]), ivl(a[1])) },
  // extract (numeric) and date_part (float8)
  { name: 'extract', args: ['text', 'date'], result: 'numeric', impl: (a) => extractFromDate(str(a[0]), day(a[1])) },
  { name: 'extract', args: ['text', 'timestamp'], result: 'numeric', impl: (a) => extractFromTimestamp(str(a[0]), ts(a[1])) },
  {
    name: 'extract',
    args: ['text', 'timestamptz'],
    result: 'numeric',
    volatility: 'stable',
    impl: (a, ctx) => extractFromTimestamptz(str(a[0]), ts(a[1]), ctx.timeZone),
  },
  { name: 'extract', args: ['text', 'interval'], result: 'numeric', impl: (a) => extractFromInterval(str(a[0]), ivl(a[1])) },
  {
    name: 'date_part',
    args: ['text', 'date'],
    result: 'float8',
    // date_part on a date reads it as a timestamp at midnight (hour is 0, not an error).
    impl: (a) => toFloat(extractFromTimestamp(str(a[0]), dateToTimestamp(day(a[1])))),
  },
  {
    name: 'date_part',
    args: ['text', 'timestamp'],
    result: 'float8',
    impl: (a) => toFloat(extractFromTimestamp(str(a[0]), ts(a[1]))),
  },
  {
    name: 'date_part',
    args: ['text', 'timestamptz'],
    result: 'float8',
    volatility: 'stable',
    impl: (a, ctx) => toFloat(extractFromTimestamptz(str(a[0]), ts(a[1]), ctx.timeZone)),
  },
  {
    name: 'date_part',
    args: ['text', 'interval'],
    result: 'float8',
    impl: (a) => extractFromInterval(str(a[0]), ivl(a[1])).toNumber(),
  },
  // age
  { name: 'age', args: ['timestamp', 'timestamp'], result: 'interval', impl: (a) => ageOf(ts(a[0]), ts(a[1]), undefined) },
  {
    name: 'age',
    args: ['timestamptz', 'timestamptz'],
    result: 'interval',
    volatility: 'stable',
    impl: (a, ctx) => ageOf(ts(a[0]), ts(a[1]), ctx.timeZone),
  },
  {
    name: 'age',
    args: ['timestamp'],
    result: 'interval',
    volatility: 'stable',
    impl: (a, ctx) => {
      const today = BigInt(localDate(ctx.transactionTimeMicros, ctx.timeZone)) * MICROS_PER_DAY;
      return ageOf(today, ts(a[0]), undefined);
    },
  },
  {
    name: 'age',
    args: ['timestamptz'],
    result: 'interval',
    volatility: 'stable',
    impl: (a, ctx) => {
      const today = localToUtc(ctx.timeZone, BigInt(localDate(ctx.transactionTimeMicros, ctx.timeZone)) * MICROS_PER_DAY);
      return ageOf(today, ts(a[0]), ctx.timeZone);
    },
  },
  // Constructors
  {
    name: 'make_date',
    args: ['int4', 'int4', 'int4'],
    result: 'date',
    impl: (a) => makeDate(Number(int(a[0])), Number(int(a[1])), Number(int(a[2]))),
  },
  {
    name: 'make_timestamp',
    args: ['int4', 'int4', 'int4', 'int4', 'int4', 'float8'],
    result: 'timestamp',
    impl: (a) =>
      makeTimestamp(Number(int(a[0])), Number(int(a[1])), Number(int(a[2])), Number(int(a[3])), Number(int(a[4])), flt(a[5])),
  },
  {
    name: 'make_timestamptz',
    args: ['int4', 'int4', 'int4', 'int4', 'int4', 'float8'],
    result: 'timestamptz',
    volatility: 'stable',
    impl: (a, ctx) =>
      localToUtc(
        ctx.timeZone,
        makeTimestamp(Number(int(a[0])), Number(int(a[1])), Number(int(a[2])), Number(int(a[3])), Number(int(a[4])), flt(a[5])),
      ),
  },
  {
    name: 'make_timestamptz',
    args: ['int4', 'int4', 'int4', 'int4', 'int4', 'float8', 'text'],
    result: 'timestamptz',
    impl: (a) => {
      checkTimeZone(str(a[6]));
      return localToUtc(
        str(a[6]),
        makeTimestamp(Number(int(a[0])), Number(int(a[1])), Number(int(a[2])), Number(int(a[3])), Number(int(a[4])), flt(a[5])),
      );
    },
  },
  ...makeIntervalOverloads(),
  { name: 'to_timestamp', args: ['float8'], result: 'timestamptz', impl: (a) => timestampFromEpochSeconds(flt(a[0])) },
  // Justification and finiteness
  { name: 'justify_days', args: ['interval'], result: 'interval', impl: (a) => justifyDays(ivl(a[0])) },
  { name: 'justify_hours', args: ['interval'], result: 'interval', impl: (a) => justifyHours(ivl(a[0])) },
  { name: 'justify_interval', args: ['interval'], result: 'interval', impl: (a) => justifyInterval(ivl(a[0])) },
  { name: 'isfinite', args: ['date'], result: 'bool', impl: (a) => Number.isFinite(day(a[0])) },
  { name: 'isfinite', args: ['timestamp'], result: 'bool', impl: (a) => isFiniteTimestamp(ts(a[0])) },
  { name: 'isfinite', args: ['timestamptz'], result: 'bool', impl: (a) => isFiniteTimestamp(ts(a[0])) },
  { name: 'isfinite', args: ['interval'], result: 'bool', impl: () => true },
  // AT TIME ZONE
  {
    name: 'timezone',
    args: ['text', 'timestamptz'],
    result: 'timestamp',
    impl: (a) => {
      const t = ts(a[1]);
      return isFiniteTimestamp(t) ? utcToLocal(zoneArg(str(a[0])), t) : t;
    },
  },
  {
    name: 'timezone',
    args: ['text', 'timestamp'],
    result: 'timestamptz',
    impl: (a) => {
      const t = ts(a[1]);
      return isFiniteTimestamp(t) ? localToUtc(zoneArg(str(a[0])), t) : t;
    },
  },
];

function zoneArg(zone: string): string {
  checkTimeZone(zone);
  return zone;
}

function makeIntervalOverloads(): ScalarDef[] {
  const names = ['int4', 'int4', 'int4', 'int4', 'int4', 'int4', 'float8'] as const;
  const defs: ScalarDef[] = [];
  for (let n = 0; n <= names.length; n++) {
    defs.push({ name: 'make_interval', args: names.slice(0, n), result: 'interval', impl: makeIntervalFromArgs });
  }
  return defs;
}
