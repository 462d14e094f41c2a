import { SqlError, SqlStates } from '../../../common/errors';
import { INT64_MAX, INT64_MIN, MICROS_PER_DAY_BIG } from './civil-date';
import { formatFraction, fractionToMicros } from './datetime';
import type { Interval } from './datum';

/**
 * interval: text input (postgres style '1 year 2 mons -3 days 04:05:06.5', '@ 1 hour ago',
 * SQL standard '1-2' and '3 4:05:06', ISO 8601 'P1Y2M3DT4H5M6S' and 'P0001-02-03T04:05:06'),
 * output in IntervalStyle postgres, and the span PostgreSQL compares intervals by.
 */

const INT32_MAX = 2147483647;
const INT32_MIN = -2147483648;
const MICROS_PER_HOUR = 3_600_000_000;
const MICROS_PER_MINUTE = 60_000_000;
const DAYS_PER_MONTH = 30;
const MONTHS_PER_YEAR = 12;

export const ZERO_INTERVAL: Interval = Object.freeze({ months: 0, days: 0, micros: 0n });

export function makeInterval(months: number, days: number, micros: bigint): Interval {
  if (
    !Number.isInteger(months) ||
    !Number.isInteger(days) ||
    months > INT32_MAX ||
    months < INT32_MIN ||
    days > INT32_MAX ||
    days < INT32_MIN ||
    micros > INT64_MAX ||
    micros < INT64_MIN
  ) {
    throw new SqlError(SqlStates.datetimeFieldOverflow, 'interval out of range');
  }
  return { months, days, micros };
}

/**
 * The total PostgreSQL orders and compares intervals by: months as 30 days, days as 24
 * hours, in µs. '1 mon' = '30 days' = '720 hours'.
 */
export function intervalSpanMicros(iv: Interval): bigint {
  return (BigInt(iv.months) * 30n + BigInt(iv.days)) * MICROS_PER_DAY_BIG + iv.micros;
}

export function compareIntervals(a: Interval, b: Interval): -1 | 0 | 1 {
  const x = intervalSpanMicros(a);
  const y = intervalSpanMicros(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

// ---------------------------------------------------------------------------------------
// Output

function plural(value: number, unit: string, state: { zero: boolean; before: boolean }): string {
  if (value === 0) {
    return '';
  }
  const out = `${state.zero ? '' : ' '}${state.before && value > 0 ? '+' : ''}${value} ${unit}${value !== 1 ? 's' : ''}`;
  // Each non-zero field decides whether the next positive one shows its '+'.
  state.before = value < 0;
  state.zero = false;
  return out;
}

/** IntervalStyle postgres: '1 year 2 mons 3 days 04:05:06.5', '-1 days +02:00:00', '00:00:00'. */
export function formatInterval(iv: Interval): string {
  const state = { zero: true, before: false };
  const years = Math.trunc(iv.months / MONTHS_PER_YEAR);
  const months = iv.months - years * MONTHS_PER_YEAR;
  let out = plural(years, 'year', state) + plural(months, 'mon', state) + plural(iv.days, 'day', state);
  const micros = iv.micros;
  if (state.zero || micros !== 0n) {
    const negative = micros < 0n;
    const abs = negative ? -micros : micros;
    const hours = abs / 3_600_000_000n;
    const rest = Number(abs - hours * 3_600_000_000n);
    const minutes = Math.floor(rest / MICROS_PER_MINUTE);
    const secMicros = rest - minutes * MICROS_PER_MINUTE;
    const seconds = Math.floor(secMicros / 1_000_000);
    const fraction = secMicros - seconds * 1_000_000;
    const sign = negative ? '-' : state.before ? '+' : '';
    const hh = hours < 10n ? `0${hours}` : String(hours);
    out += `${state.zero ? '' : ' '}${sign}${hh}:${minutes < 10 ? '0' : ''}${minutes}:${seconds < 10 ? '0' : ''}${seconds}`;
    if (fraction !== 0) {
      out += `.${formatFraction(fraction)}`;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Input

type Unit =
  | 'microsecond'
  | 'millisecond'
  | 'second'
  | 'minute'
  | 'hour'
  | 'day'
  | 'week'
  | 'month'
  | 'year'
  | 'decade'
  | 'century'
  | 'millennium';

const UNITS: ReadonlyMap<string, Unit> = new Map<string, Unit>([
  ['us', 'microsecond'],
  ['usec', 'microsecond'],
  ['usecs', 'microsecond'],
  ['usecond', 'microsecond'],
  ['useconds', 'microsecond'],
  ['microsecon', 'microsecond'],
  ['microsecond', 'microsecond'],
  ['microseconds', 'microsecond'],
  ['ms', 'millisecond'],
  ['msec', 'millisecond'],
  ['msecs', 'millisecond'],
  ['msecond', 'millisecond'],
  ['mseconds', 'millisecond'],
  ['millisecon', 'millisecond'],
  ['millisecond', 'millisecond'],
  ['milliseconds', 'millisecond'],
  ['s', 'second'],
  ['sec', 'second'],
  ['secs', 'second'],
  ['second', 'second'],
  ['seconds', 'second'],
  ['m', 'minute'],
  ['min', 'minute'],
  ['mins', 'minute'],
  ['minute', 'minute'],
  ['minutes', 'minute'],
  ['h', 'hour'],
  ['hr', 'hour'],
  ['hrs', 'hour'],
  ['hour', 'hour'],
  ['hours', 'hour'],
  ['d', 'day'],
  ['day', 'day'],
  ['days', 'day'],
  ['w', 'week'],
  ['week', 'week'],
  ['weeks', 'week'],
  ['mon', 'month'],
  ['mons', 'month'],
  ['month', 'month'],
  ['months', 'month'],
  ['y', 'year'],
  ['yr', 'year'],
  ['yrs', 'year'],
  ['year', 'year'],
  ['years', 'year'],
  ['dec', 'decade'],
  ['decs', 'decade'],
  ['decade', 'decade'],
  ['decades', 'decade'],
  ['c', 'century'],
  ['cent', 'century'],
  ['century', 'century'],
  ['centuries', 'century'],
  ['mil', 'millennium'],
  ['mils', 'millennium'],
  ['millennium', 'millennium'],
  ['millennia', 'millennium'],
]);

const UNIT_FIELD: Readonly<Record<Unit, number>> = {
  microsecond: 1 << 0,
  millisecond: 1 << 1,
  second: 1 << 2,
  minute: 1 << 3,
  hour: 1 << 4,
  day: 1 << 5,
  week: 1 << 6,
  month: 1 << 7,
  year: 1 << 8,
  decade: 1 << 9,
  century: 1 << 10,
  millennium: 1 << 11,
};
const SUBSECOND_FIELDS = UNIT_FIELD.millisecond | UNIT_FIELD.microsecond;
const TIME_FIELDS = UNIT_FIELD.hour | UNIT_FIELD.minute | UNIT_FIELD.second | SUBSECOND_FIELDS;

class BadInterval extends Error {
  constructor(readonly kind: 'syntax' | 'range') {
    super(kind);
  }
}

/** Accumulates interval fields in exact integers (bigint µs) with overflow checks at the end. */
class Acc {
  months = 0n;
  days = 0n;
  micros = 0n;

  addMicros(val: bigint, frac: number, scale: number): void {
    this.micros += val * BigInt(scale) + BigInt(roundHalfEven(frac * scale));
  }

  addFractDays(frac: number, scale: number): void {
    if (frac === 0) {
      return;
    }
    const f = frac * scale;
    const whole = Math.trunc(f);
    this.days += BigInt(whole);
    this.addMicros(0n, f - whole, 86_400_000_000);
  }

  addFractYears(frac: number, scale: number): void {
    if (frac !== 0) {
      this.months += BigInt(roundHalfEven(frac * scale * MONTHS_PER_YEAR));
    }
  }

  apply(unit: Unit, val: bigint, frac: number): void {
    switch (unit) {
      case 'microsecond':
        this.addMicros(val, frac, 1);
        return;
      case 'millisecond':
        this.addMicros(val, frac, 1000);
        return;
      case 'second':
        this.addMicros(val, frac, 1_000_000);
        return;
      case 'minute':
        this.addMicros(val, frac, MICROS_PER_MINUTE);
        return;
      case 'hour':
        this.addMicros(val, frac, MICROS_PER_HOUR);
        return;
      case 'day':
        this.days += val;
        this.addMicros(0n, frac, 86_400_000_000);
        return;
      case 'week':
        this.days += val * 7n;
        this.addFractDays(frac, 7);
        return;
      case 'month':
        this.months += val;
        this.addFractDays(frac, DAYS_PER_MONTH);
        return;
      case 'year':
        this.months += val * 12n;
        this.addFractYears(frac, 1);
        return;
      case 'decade':
        this.months += val * 120n;
        this.addFractYears(frac, 10);
        return;
      case 'century':
        this.months += val * 1200n;
        this.addFractYears(frac, 100);
        return;
      case 'millennium':
        this.months += val * 12000n;
        this.addFractYears(frac, 1000);
        return;
    }
  }

  toInterval(): Interval {
    if (
      this.months > BigInt(INT32_MAX) ||
      this.months < BigInt(INT32_MIN) ||
      this.days > BigInt(INT32_MAX) ||
      this.days < BigInt(INT32_MIN) ||
      this.micros > INT64_MAX ||
      this.micros < INT64_MIN
    ) {
      throw new BadInterval('range');
    }
    return { months: Number(this.months), days: Number(this.days), micros: this.micros };
  }
}

/** rint(): round half to even, as C's default rounding mode does. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  if (Math.abs(x - Math.trunc(x)) === 0.5) {
    return 2 * Math.round(x / 2);
  }
  return r;
}

interface SignedNumber {
  readonly val: bigint;
  /** Fractional part, with the number's sign. */
  readonly frac: number;
}

/** '[+-]digits[.digits]' or '[+-].digits' → integer part and signed fraction. */
function parseSignedNumber(text: string): SignedNumber {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text);
  if (m === null || (m[2] === '' && (m[3] === undefined || m[3] === ''))) {
    throw new BadInterval('syntax');
  }
  const negative = m[1] === '-';
  const whole = m[2] === '' ? 0n : BigInt(m[2]!);
  const frac = m[3] === undefined || m[3] === '' ? 0 : Number(`0.${m[3]}`);
  return { val: negative ? -whole : whole, frac: negative ? -frac : frac };
}

/** 'h:m', 'h:m:s[.f]' or 'm:s.f' → µs (unsigned). */
function parseIntervalTime(text: string): bigint {
  const fields = text.split(':');
  if (fields.length < 2 || fields.length > 3 || fields.some((f) => f === '')) {
    throw new BadInterval('syntax');
  }
  let hours: string;
  let minutes: string;
  let seconds: string;
  if (fields.length === 2 && fields[1]!.includes('.')) {
    hours = '0';
    minutes = fields[0]!;
    seconds = fields[1]!;
  } else {
    hours = fields[0]!;
    minutes = fields[1]!;
    seconds = fields[2] ?? '0';
  }
  if (!/^\d+$/.test(hours) || !/^\d+$/.test(minutes) || !/^\d+(\.\d*)?$/.test(seconds)) {
    throw new BadInterval('syntax');
  }
  const dot = seconds.indexOf('.');
  const wholeSeconds = Number(dot < 0 ? seconds : seconds.slice(0, dot));
  const micros = dot < 0 ? 0 : fractionToMicros(seconds.slice(dot + 1));
  const m = Number(minutes);
  if (m > 59 || wholeSeconds > 59) {
    throw new BadInterval('range');
  }
  return BigInt(hours) * 3_600_000_000n + BigInt(m * MICROS_PER_MINUTE + wholeSeconds * 1_000_000 + micros);
}

type Field =
  | { readonly t: 'number'; readonly text: string }
  | { readonly t: 'time'; readonly text: string; readonly negative: boolean }
  | { readonly t: 'yearMonth'; readonly text: string }
  | { readonly t: 'word'; readonly text: string };

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isLetter(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function splitFields(s: string): Field[] {
  const fields: Field[] = [];
  let i = 0;
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (isSpace(c) || c === 0x2c) {
      i++;
      continue;
    }
    if (c === 0x40) {
      i++; // '@'
      continue;
    }
    if (isDigit(c) || c === 0x2b || c === 0x2d || c === 0x2e) {
      const start = i;
      let negative = false;
      if (c === 0x2b || c === 0x2d) {
        negative = c === 0x2d;
        i++;
      }
      const bodyStart = i;
      while (i < n && (isDigit(s.charCodeAt(i)) || s.charCodeAt(i) === 0x2e)) {
        i++;
      }
      if (s.charCodeAt(i) === 0x3a) {
        while (i < n && (isDigit(s.charCodeAt(i)) || s.charCodeAt(i) === 0x3a || s.charCodeAt(i) === 0x2e)) {
          i++;
        }
        fields.push({ t: 'time', text: s.slice(bodyStart, i), negative });
        continue;
      }
      if (s.charCodeAt(i) === 0x2d && isDigit(s.charCodeAt(i + 1))) {
        i++;
        while (i < n && isDigit(s.charCodeAt(i))) {
          i++;
        }
        fields.push({ t: 'yearMonth', text: s.slice(start, i) });
        continue;
      }
      if (i === bodyStart) {
        throw new BadInterval('syntax');
      }
      fields.push({ t: 'number', text: s.slice(start, i) });
      continue;
    }
    if (isLetter(c)) {
      const start = i;
      while (i < n && isLetter(s.charCodeAt(i))) {
        i++;
      }
      fields.push({ t: 'word', text: s.slice(start, i).toLowerCase() });
      continue;
    }
    throw new BadInterval('syntax');
  }
  return fields;
}

function decodePostgresStyle(s: string): Interval {
  const fields = splitFields(s);
  if (fields.length === 0) {
    throw new BadInterval('syntax');
  }
  const acc = new Acc();
  let ago = false;
  let sawValue = false;
  // Each field may be given once ('1 day 2 days' and '1 hour 10:00' are errors).
  let fieldMask = 0;
  const claim = (mask: number): void => {
    if ((fieldMask & mask) !== 0) {
      throw new BadInterval('syntax');
    }
    fieldMask |= mask;
  };
  // Right to left, as PostgreSQL reads it: a unit names the number on its left; a number
  // left of a time is days; the rightmost bare number is seconds.
  let unit: Unit | undefined;
  for (let i = fields.length - 1; i >= 0; i--) {
    const f = fields[i]!;
    switch (f.t) {
      case 'word': {
        if (f.text === 'ago') {
          if (i !== fields.length - 1 || ago) {
            throw new BadInterval('syntax');
          }
          ago = true;
          break;
        }
        const u = UNITS.get(f.text);
        if (u === undefined) {
          throw new BadInterval('syntax');
        }
        unit = u;
        break;
      }
      case 'time': {
        claim(TIME_FIELDS);
        sawValue = true;
        const micros = parseIntervalTime(f.text);
        acc.micros += f.negative ? -micros : micros;
        unit = 'day';
        break;
      }
      case 'yearMonth': {
        const m = /^([+-]?)(\d+)-(\d+)$/.exec(f.text);
        if (m === null) {
          throw new BadInterval('syntax');
        }
        const months = BigInt(m[2]!) * 12n + BigInt(m[3]!);
        acc.months += m[1] === '-' ? -months : months;
        claim(UNIT_FIELD.year | UNIT_FIELD.month);
        sawValue = true;
        unit = undefined;
        break;
      }
      case 'number': {
        const num = parseSignedNumber(f.text);
        const u = unit ?? 'second';
        claim(UNIT_FIELD[u] | (u === 'second' && num.frac !== 0 ? SUBSECOND_FIELDS : 0));
        acc.apply(u, num.val, num.frac);
        sawValue = true;
        break;
      }
    }
  }
  if (!sawValue) {
    throw new BadInterval('syntax');
  }
  const iv = acc.toInterval();
  return ago ? negateInterval(iv) : iv;
}

function decodeIso8601(s: string): Interval {
  // s starts after 'P'.
  const acc = new Acc();
  let i = 0;
  let inTime = false;
  const n = s.length;
  if (n === 0) {
    throw new BadInterval('syntax');
  }
  // Alternative format: P0001-02-03T04:05:06
  const alt = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2}(?:\.\d*)?))?$/.exec(s);
  if (alt !== null) {
    acc.months += BigInt(alt[1]!) * 12n + BigInt(alt[2]!);
    acc.days += BigInt(alt[3]!);
    if (alt[4] !== undefined) {
      acc.micros += parseIntervalTime(`${alt[4]}:${alt[5]}:${alt[6]}`);
    }
    return acc.toInterval();
  }
  let sawField = false;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 0x54 || c === 0x74) {
      if (inTime) {
        throw new BadInterval('syntax');
      }
      inTime = true;
      i++;
      continue;
    }
    const start = i;
    if (c === 0x2b || c === 0x2d) {
      i++;
    }
    while (i < n && (isDigit(s.charCodeAt(i)) || s.charCodeAt(i) === 0x2e)) {
      i++;
    }
    if (i === start || i >= n) {
      throw new BadInterval('syntax');
    }
    const num = parseSignedNumber(s.slice(start, i));
    const designator = s.charAt(i).toUpperCase();
    i++;
    sawField = true;
    if (!inTime) {
      switch (designator) {
        case 'Y':
          acc.apply('year', num.val, num.frac);
          break;
        case 'M':
          acc.apply('month', num.val, num.frac);
          break;
        case 'W':
          acc.apply('week', num.val, num.frac);
          break;
        case 'D':
          acc.apply('day', num.val, num.frac);
          break;
        default:
          throw new BadInterval('syntax');
      }
    } else {
      switch (designator) {
        case 'H':
          acc.apply('hour', num.val, num.frac);
          break;
        case 'M':
          acc.apply('minute', num.val, num.frac);
          break;
        case 'S':
          acc.apply('second', num.val, num.frac);
          break;
        default:
          throw new BadInterval('syntax');
      }
    }
  }
  if (!sawField) {
    throw new BadInterval('syntax');
  }
  return acc.toInterval();
}

export function negateInterval(iv: Interval): Interval {
  return makeInterval(-iv.months || 0, -iv.days || 0, -iv.micros);
}

/** interval text input. Bad syntax → 22007; out of range → 22015. */
export function parseInterval(text: string): Interval {
  const s = text.trim();
  try {
    if (s.charCodeAt(0) === 0x50 || s.charCodeAt(0) === 0x70) {
      return decodeIso8601(s.slice(1));
    }
    return decodePostgresStyle(s);
  } catch (e) {
    if (e instanceof BadInterval) {
      if (e.kind === 'range') {
        throw new SqlError(SqlStates.intervalFieldOverflow, `interval field value out of range: "${text}"`);
      }
      throw new SqlError(SqlStates.invalidDatetimeFormat, `invalid input syntax for type interval: "${text}"`);
    }
    if (e instanceof SqlError) {
      throw new SqlError(SqlStates.intervalFieldOverflow, `interval field value out of range: "${text}"`);
    }
    throw e;
  }
}
