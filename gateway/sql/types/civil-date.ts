/**
 * Proleptic Gregorian calendar arithmetic on day numbers (days since 1970-01-01) with
 * astronomical years (year 0 is 1 BC), and the ranges and epochs of PostgreSQL's date
 * and timestamp types.
 */

export const MICROS_PER_SECOND = 1_000_000;
export const MICROS_PER_DAY = 86_400_000_000;
export const MICROS_PER_DAY_BIG = 86_400_000_000n;
export const MICROS_PER_HOUR_BIG = 3_600_000_000n;

/** Days from 1970-01-01 to PostgreSQL's epoch 2000-01-01 (binary formats count from it). */
export const POSTGRES_EPOCH_DAYS = 10957;
export const POSTGRES_EPOCH_MICROS = 946_684_800_000_000n;

/** Julian day number of 1970-01-01. */
export const UNIX_EPOCH_JULIAN = 2440588;

/** date range: 4714-11-24 BC (Julian day 0) to 5874897-12-31. */
export const DATE_MIN_DAYS = -UNIX_EPOCH_JULIAN;
export const DATE_MAX_DAYS = 2147483494 - UNIX_EPOCH_JULIAN - 1;

export const INT64_MAX = (1n << 63n) - 1n;
export const INT64_MIN = -(1n << 63n);

/** timestamp 'infinity' / '-infinity': the int64 extremes, as PostgreSQL keeps them. */
export const TIMESTAMP_INFINITY = INT64_MAX;
export const TIMESTAMP_NEG_INFINITY = INT64_MIN;

/**
 * timestamp range: from 4714-11-24 00:00 BC, like PostgreSQL, to just below the int64
 * limit in Unix microseconds (294247-01-10 AD; PostgreSQL, counting from 2000, reaches
 * 294276 AD). Keeping every finite value inside int64 lets keys encode it directly.
 */
export const TIMESTAMP_MIN_MICROS = BigInt(DATE_MIN_DAYS) * MICROS_PER_DAY_BIG;
export const TIMESTAMP_END_MICROS = INT64_MAX; // exclusive: INT64_MAX itself is infinity

export function floorDiv(a: number, b: number): number {
  return Math.floor(a / b);
}

/** Day number of a civil date; month 1..12. */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const shiftedMonth = (month + 9) % 12; // March = 0
  const dayOfYear = Math.floor((153 * shiftedMonth + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

export interface CivilDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

/** Civil date of a day number. */
export function civilFromDays(days: number): CivilDate {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const dayOfEra = z - era * 146097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36524) - Math.floor(dayOfEra / 146096)) / 365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * shiftedMonth + 2) / 5) + 1;
  const month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
  return { year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

export function daysInMonth(year: number, month: number): number {
  return month === 2 && isLeapYear(year) ? 29 : MONTH_DAYS[month - 1]!;
}

/** 0 = Sunday. */
export function dayOfWeek(days: number): number {
  return (((days + 4) % 7) + 7) % 7;
}

/** Splits µs since 1970 into a day number and µs since midnight. */
export function splitMicros(micros: bigint): { days: number; microsOfDay: number } {
  let days = micros / MICROS_PER_DAY_BIG;
  let rest = micros - days * MICROS_PER_DAY_BIG;
  if (rest < 0n) {
    days -= 1n;
    rest += MICROS_PER_DAY_BIG;
  }
  return { days: Number(days), microsOfDay: Number(rest) };
}

export function isFiniteTimestamp(micros: bigint): boolean {
  return micros !== TIMESTAMP_INFINITY && micros !== TIMESTAMP_NEG_INFINITY;
}

export function timestampInRange(micros: bigint): boolean {
  return micros >= TIMESTAMP_MIN_MICROS && micros < TIMESTAMP_END_MICROS;
}

export function dateInRange(days: number): boolean {
  return days >= DATE_MIN_DAYS && days <= DATE_MAX_DAYS;
}
