import { SqlError, SqlStates } from '../../../common/errors';
import type { CivilDate } from '../types/civil-date';
import {
  civilFromDays,
  dateInRange,
  dayOfWeek,
  daysFromCivil,
  daysInMonth,
  isFiniteTimestamp,
  isLeapYear,
  TIMESTAMP_INFINITY,
  TIMESTAMP_NEG_INFINITY,
  timestampInRange,
  UNIX_EPOCH_JULIAN,
} from '../types/civil-date';
import type { Interval } from '../types/datum';
import { compareIntervals, intervalSpanMicros, makeInterval } from '../types/interval';

/**
 * Calendar arithmetic on the datum representations: a date is a day number (days since
 * 1970-01-01, ±Infinity for ±infinity), a timestamp µs since 1970-01-01 00:00 (UTC for
 * timestamptz; the wall-clock time itself for timestamp). Proleptic Gregorian calendar,
 * as PostgreSQL uses; year 0 is 1 BC. Infinite timestamps are PostgreSQL's
 * DT_NOBEGIN / DT_NOEND (the int64 extremes). The calendar basics and interval
 * constructors are gateway/sql/types'; this file adds the arithmetic.
 */

export const MICROS_PER_SECOND = 1_000_000n;
export const MICROS_PER_MINUTE = 60_000_000n;
export const MICROS_PER_HOUR = 3_600_000_000n;
export const MICROS_PER_DAY = 86_400_000_000n;
export const DAYS_PER_MONTH = 30;

export {
  civilFromDays,
  dayOfWeek,
  daysFromCivil,
  daysInMonth,
  isFiniteTimestamp,
  isLeapYear,
  TIMESTAMP_INFINITY,
  TIMESTAMP_NEG_INFINITY,
  UNIX_EPOCH_JULIAN,
};
export type { CivilDate };

export function timestampOutOfRange(): SqlError {
  return new SqlError(SqlStates.datetimeFieldOverflow, 'timestamp out of range');
}

export function dateOutOfRange(): SqlError {
  return new SqlError(SqlStates.datetimeFieldOverflow, 'date out of range');
}

export function intervalOutOfRange(): SqlError {
  return new SqlError(SqlStates.datetimeFieldOverflow, 'interval out of range');
}

/** Range checks with the limits gateway/sql/types uses for timestamp and date values. */
export function checkTimestamp(ts: bigint): bigint {
  if (!timestampInRange(ts)) throw timestampOutOfRange();
  return ts;
}

export function checkDate(days: number): number {
  if (!Number.isFinite(days)) return days;
  if (!dateInRange(days)) throw dateOutOfRange();
  return days;
}

/** All the fields of a timestamp (as read on a wall clock). */
export interface TimestampFields extends CivilDate {
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  /** Microseconds within the second. */
  readonly micros: number;
}

export function splitTimestamp(ts: bigint): { days: number; timeMicros: bigint } {
  let days = ts / MICROS_PER_DAY;
  let time = ts - days * MICROS_PER_DAY;
  if (time < 0n) {
    days -= 1n;
    time += MICROS_PER_DAY;
  }
  return { days: Number(days), timeMicros: time };
}

export function timestampFields(ts: bigint): TimestampFields {
  const { days, timeMicros } = splitTimestamp(ts);
  const t = Number(timeMicros);
  const civil = civilFromDays(days);
  return {
    ...civil,
    hour: Math.floor(t / 3_600_000_000),
    minute: Math.floor(t / 60_000_000) % 60,
    second: Math.floor(t / 1_000_000) % 60,
    micros: t % 1_000_000,
  };
}

export function timestampFromFields(f: TimestampFields): bigint {
  const days = daysFromCivil(f.year, f.month, f.day);
  return (
    BigInt(days) * MICROS_PER_DAY +
    BigInt(f.hour) * MICROS_PER_HOUR +
    BigInt(f.minute) * MICROS_PER_MINUTE +
    BigInt(f.second) * MICROS_PER_SECOND +
    BigInt(f.micros)
  );
}

export function dateToTimestamp(days: number): bigint {
  if (days === Infinity) return TIMESTAMP_INFINITY;
  if (days === -Infinity) return TIMESTAMP_NEG_INFINITY;
  return checkTimestamp(BigInt(days) * MICROS_PER_DAY);
}

/** ISO 8601 week-numbering year and week of a date. */
export function isoWeek(days: number): { isoYear: number; week: number } {
  const dow = dayOfWeek(days);
  // The Thursday of this ISO week decides the year.
  const thursday = days - ((dow + 6) % 7) + 3;
  const isoYear = civilFromDays(thursday).year;
  const jan1 = daysFromCivil(isoYear, 1, 1);
  return { isoYear, week: Math.floor((thursday - jan1) / 7) + 1 };
}

/** Day of year, 1-based. */
export function dayOfYear(days: number): number {
  return days - daysFromCivil(civilFromDays(days).year, 1, 1) + 1;
}

// ---------------------------------------------------------------------------------------
// Intervals

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

export { compareIntervals, intervalSpanMicros, makeInterval };

export function intervalAdd(a: Interval, b: Interval): Interval {
  return makeInterval(a.months + b.months, a.days + b.days, a.micros + b.micros);
}

export function intervalSub(a: Interval, b: Interval): Interval {
  return makeInterval(a.months - b.months, a.days - b.days, a.micros - b.micros);
}

export function intervalNeg(a: Interval): Interval {
  return makeInterval(-a.months || 0, -a.days || 0, -a.micros);
}

/** Rounds to microsecond precision in seconds-or-days units (PostgreSQL's TSROUND). */
function tsRound(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

/** C's rint(): round half to even. */
export function rint(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function checkedInt32(v: number): number {
  if (Number.isNaN(v) || v < INT32_MIN || v > INT32_MAX) throw intervalOutOfRange();
  return Math.trunc(v) || 0;
}

/**
 * interval × factor and interval / divisor (PostgreSQL's interval_mul / interval_div):
 * whole months and days scale separately, and their fractional parts cascade down (a
 * month's fraction becomes days at 30 days a month, a day's fraction becomes time).
 */
export function intervalScale(a: Interval, factor: number, divide: boolean): Interval {
  const scale = (x: number): number => (divide ? x / factor : x * factor);
  const monthsExact = scale(a.months);
  const daysExact = scale(a.days);
  const months = checkedInt32(monthsExact);
  let days = checkedInt32(daysExact);
  const monthRemainderDays = tsRound((monthsExact - months) * DAYS_PER_MONTH);
  let secRemainder = tsRound((daysExact - days + monthRemainderDays - Math.trunc(monthRemainderDays)) * 86400);
  if (Math.abs(secRemainder) >= 86400) {
    const wholeDays = Math.trunc(secRemainder / 86400);
    days += wholeDays;
    secRemainder -= wholeDays * 86400;
  }
  days += Math.trunc(monthRemainderDays);
  const time = rint(scale(Number(a.micros)) + secRemainder * 1e6);
  if (!Number.isFinite(time) || time < -9.223372036854776e18 || time >= 9.223372036854776e18) throw intervalOutOfRange();
  return makeInterval(months, days, BigInt(time));
}

/** Moves whole 24-hour periods of the time part into days (justify_hours). */
export function justifyHours(a: Interval): Interval {
  let days = a.days;
  let time = a.micros;
  const wholeDays = time / MICROS_PER_DAY;
  time -= wholeDays * MICROS_PER_DAY;
  days += Number(wholeDays);
  if (days > 0 && time < 0n) {
    time += MICROS_PER_DAY;
    days--;
  } else if (days < 0 && time > 0n) {
    time -= MICROS_PER_DAY;
    days++;
  }
  return makeInterval(a.months, days, time);
}

/** Moves whole 30-day periods into months (justify_days). */
export function justifyDays(a: Interval): Interval {
  let months = a.months;
  let days = a.days;
  const wholeMonths = Math.trunc(days / DAYS_PER_MONTH);
  days -= wholeMonths * DAYS_PER_MONTH;
  months += wholeMonths;
  if (months > 0 && days < 0) {
    days += DAYS_PER_MONTH;
    months--;
  } else if (months < 0 && days > 0) {
    days -= DAYS_PER_MONTH;
    months++;
  }
  return makeInterval(months, days, a.micros);
}

/** justify_days and justify_hours together, with signs made consistent. */
export function justifyInterval(a: Interval): Interval {
  let months = a.months;
  let days = a.days;
  let time = a.micros;
  if ((days > 0 && time > 0n) || (days < 0 && time < 0n)) {
    const wholeMonths = Math.trunc(days / DAYS_PER_MONTH);
    days -= wholeMonths * DAYS_PER_MONTH;
    months += wholeMonths;
  }
  const wholeDays = time / MICROS_PER_DAY;
  time -= wholeDays * MICROS_PER_DAY;
  days += Number(wholeDays);
  const wholeMonths = Math.trunc(days / DAYS_PER_MONTH);
  days -= wholeMonths * DAYS_PER_MONTH;
  months += wholeMonths;
  if (months > 0 && (days < 0 || (days === 0 && time < 0n))) {
    days += DAYS_PER_MONTH;
    months--;
  } else if (months < 0 && (days > 0 || (days === 0 && time > 0n))) {
    days -= DAYS_PER_MONTH;
    months++;
  }
  if (days > 0 && time < 0n) {
    time += MICROS_PER_DAY;
    days--;
  } else if (days < 0 && time > 0n) {
    time -= MICROS_PER_DAY;
    days++;
  }
  return makeInterval(months, days, time);
}

/** Adds months to a civil date, clamping the day to the month's last (Jan 31 + 1 month = Feb 28). */
export function addMonths(date: CivilDate, months: number): CivilDate {
  const total = date.year * 12 + (date.month - 1) + months;
  const year = Math.floor(total / 12);
  const month = total - year * 12 + 1;
  return { year, month, day: Math.min(date.day, daysInMonth(year, month)) };
}

/**
 * timestamp + interval on a wall-clock timestamp: months first (clamping the day), then
 * days, then the time part.
 */
export function timestampPlusInterval(ts: bigint, iv: Interval): bigint {
  if (!isFiniteTimestamp(ts)) return ts;
  let result = ts;
  if (iv.months !== 0) {
    const f = timestampFields(result);
    const d = addMonths(f, iv.months);
    result = timestampFromFields({ ...f, ...d });
  }
  if (iv.days !== 0) result += BigInt(iv.days) * MICROS_PER_DAY;
  result += iv.micros;
  return checkTimestamp(result);
}

/** timestamp - timestamp: the difference in time, with whole days justified out of it. */
export function timestampDifference(a: bigint, b: bigint): Interval {
  if (!isFiniteTimestamp(a) || !isFiniteTimestamp(b)) {
    throw new SqlError(SqlStates.datetimeFieldOverflow, 'cannot subtract infinite timestamps');
  }
  return justifyHours(makeInterval(0, 0, a - b));
}

/**
 * age(): the symbolic difference in years, months and days of two wall-clock times
 * (field by field, borrowing from the next field up; a negative day count borrows the
 * length of the earlier timestamp's month).
 */
export function symbolicAge(a: TimestampFields, b: TimestampFields, aBeforeB: boolean): Interval {
  const sign = aBeforeB ? -1 : 1;
  let micros = sign * (a.micros - b.micros);
  let sec = sign * (a.second - b.second);
  let min = sign * (a.minute - b.minute);
  let hour = sign * (a.hour - b.hour);
  let mday = sign * (a.day - b.day);
  let mon = sign * (a.month - b.month);
  let year = sign * (a.year - b.year);
  while (micros < 0) {
    micros += 1_000_000;
    sec--;
  }
  while (sec < 0) {
    sec += 60;
    min--;
  }
  while (min < 0) {
    min += 60;
    hour--;
  }
  while (hour < 0) {
    hour += 24;
    mday--;
  }
  while (mday < 0) {
    const from = aBeforeB ? a : b;
    mday += daysInMonth(from.year, from.month);
    mon--;
  }
  while (mon < 0) {
    mon += 12;
    year--;
  }
  const time =
    BigInt(hour) * MICROS_PER_HOUR + BigInt(min) * MICROS_PER_MINUTE + BigInt(sec) * MICROS_PER_SECOND + BigInt(micros);
  return makeInterval(sign * (year * 12 + mon) || 0, sign * mday || 0, BigInt(sign) * time);
}
