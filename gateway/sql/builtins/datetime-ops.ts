import { SqlError, SqlStates } from '../../../common/errors';
import type { Interval } from '../types/datum';
import { day, flt, int, ivl, ts } from './datum-access';
import {
  addMonths,
  checkDate,
  checkTimestamp,
  dateOutOfRange,
  dateToTimestamp,
  intervalAdd,
  intervalNeg,
  intervalScale,
  intervalSub,
  isFiniteTimestamp,
  MICROS_PER_DAY,
  timestampDifference,
  timestampFields,
  timestampFromFields,
  timestampPlusInterval,
} from './datetime';
import { divisionByZero } from './errors';
import type { ScalarDef } from './registry';
import { localToUtc, utcToLocal } from './timezone';

/**
 * Date, timestamp and interval arithmetic (pg_operator's datetime rows). Month and day
 * steps of an interval move a timestamptz in the session's time zone (so adding 1 day
 * across a DST change keeps the wall-clock time), the time part moves the instant.
 */

function dateAddDays(d: number, n: bigint): number {
  if (!Number.isFinite(d)) return d;
  const result = d + Number(n);
  if (!Number.isSafeInteger(result)) throw dateOutOfRange();
  return checkDate(result);
}

function dateDiff(a: number, b: number): bigint {
  if (!Number.isFinite(a) || !Number.isFinite(b)) {
    throw new SqlError(SqlStates.datetimeFieldOverflow, 'cannot subtract infinite dates');
  }
  return BigInt(a - b);
}

/** timestamptz + interval: months, then days, in the zone's wall-clock time; then the time part. */
export function timestamptzPlusInterval(t: bigint, iv: Interval, zone: string): bigint {
  if (!isFiniteTimestamp(t)) return t;
  let result = t;
  if (iv.months !== 0) {
    const f = timestampFields(utcToLocal(zone, result));
    result = localToUtc(zone, timestampFromFields({ ...f, ...addMonths(f, iv.months) }));
  }
  if (iv.days !== 0) {
    const local = utcToLocal(zone, result);
    result = localToUtc(zone, local + BigInt(iv.days) * MICROS_PER_DAY);
  }
  return checkTimestamp(result + iv.micros);
}

function negate(iv: Interval): Interval {
  return intervalNeg(iv);
}

function checkFactor(f: number): number {
  if (Number.isNaN(f)) throw new SqlError(SqlStates.datetimeFieldOverflow, 'interval out of range');
  return f;
}

export const datetimeOperators: readonly ScalarDef[] = [
  { name: '+', args: ['date', 'int4'], result: 'date', impl: (a) => dateAddDays(day(a[0]), int(a[1])) },
  { name: '+', args: ['int4', 'date'], result: 'date', impl: (a) => dateAddDays(day(a[1]), int(a[0])) },
  { name: '-', args: ['date', 'int4'], result: 'date', impl: (a) => dateAddDays(day(a[0]), -int(a[1])) },
  { name: '-', args: ['date', 'date'], result: 'int4', impl: (a) => dateDiff(day(a[0]), day(a[1])) },
  {
    name: '+',
    args: ['date', 'interval'],
    result: 'timestamp',
    impl: (a) => timestampPlusInterval(dateToTimestamp(day(a[0])), ivl(a[1])),
  },
  {
    name: '+',
    args: ['interval', 'date'],
    result: 'timestamp',
    impl: (a) => timestampPlusInterval(dateToTimestamp(day(a[1])), ivl(a[0])),
  },
  {
    name: '-',
    args: ['date', 'interval'],
    result: 'timestamp',
    impl: (a) => timestampPlusInterval(dateToTimestamp(day(a[0])), negate(ivl(a[1]))),
  },
  {
    name: '+',
    args: ['timestamp', 'interval'],
    result: 'timestamp',
    impl: (a) => timestampPlusInterval(ts(a[0]), ivl(a[1])),
  },
  {
    name: '+',
    args: ['interval', 'timestamp'],
    result: 'timestamp',
    impl: (a) => timestampPlusInterval(ts(a[1]), ivl(a[0])),
  },
  {
    name: '-',
    args: ['timestamp', 'interval'],
    result: 'timestamp',
    impl: (a) => timestampPlusInterval(ts(a[0]), negate(ivl(a[1]))),
  },
  {
    name: '+',
    args: ['timestamptz', 'interval'],
    result: 'timestamptz',
    volatility: 'stable',
    impl: (a, ctx) => timestamptzPlusInterval(ts(a[0]), ivl(a[1]), ctx.timeZone),
  },
  {
    name: '+',
    args: ['interval', 'timestamptz'],
    result: 'timestamptz',
    volatility: 'stable',
    impl: (a, ctx) => timestamptzPlusInterval(ts(a[1]), ivl(a[0]), ctx.timeZone),
  },
  {
    name: '-',
    args: ['timestamptz', 'interval'],
    result: 'timestamptz',
    volatility: 'stable',
    impl: (a, ctx) => timestamptzPlusInterval(ts(a[0]), negate(ivl(a[1])), ctx.timeZone),
  },
  {
    name: '-',
    args: ['timestamp', 'timestamp'],
    result: 'interval',
    impl: (a) => timestampDifference(ts(a[0]), ts(a[1])),
  },
  {
    name: '-',
    args: ['timestamptz', 'timestamptz'],
    result: 'interval',
    impl: (a) => timestampDifference(ts(a[0]), ts(a[1])),
  },
  { name: '+', args: ['interval', 'interval'], result: 'interval', impl: (a) => intervalAdd(ivl(a[0]), ivl(a[1])) },
  { name: '-', args: ['interval', 'interval'], result: 'interval', impl: (a) => intervalSub(ivl(a[0]), ivl(a[1])) },
  { name: '-', args: ['interval'], result: 'interval', impl: (a) => intervalNeg(ivl(a[0])) },
  { name: '+', args: ['interval'], result: 'interval', impl: (a) => ivl(a[0]) },
  {
    name: '*',
    args: ['interval', 'float8'],
    result: 'interval',
    impl: (a) => intervalScale(ivl(a[0]), checkFactor(flt(a[1])), false),
  },
  {
    name: '*',
    args: ['float8', 'interval'],
    result: 'interval',
    impl: (a) => intervalScale(ivl(a[1]), checkFactor(flt(a[0])), false),
  },
  {
    name: '/',
    args: ['interval', 'float8'],
    result: 'interval',
    impl: (a) => {
      const divisor = checkFactor(flt(a[1]));
      if (divisor === 0) throw divisionByZero();
      return intervalScale(ivl(a[0]), divisor, true);
    },
  },
];

/** date → timestamptz at local midnight in the zone (the implicit cast's meaning). */
export function dateToTimestamptz(d: number, zone: string): bigint {
  const local = dateToTimestamp(d);
  return isFiniteTimestamp(local) ? localToUtc(zone, local) : local;
}

/** timestamp → timestamptz: the wall-clock time read in the zone. */
export function timestampToTimestamptz(t: bigint, zone: string): bigint {
  return isFiniteTimestamp(t) ? localToUtc(zone, t) : t;
}
