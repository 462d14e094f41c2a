import { SqlError, SqlStates } from '../../../common/errors';
import {
  civilFromDays,
  dateInRange,
  daysFromCivil,
  daysInMonth,
  MICROS_PER_DAY,
  MICROS_PER_DAY_BIG,
  POSTGRES_EPOCH_MICROS,
  splitMicros,
  TIMESTAMP_INFINITY,
  TIMESTAMP_NEG_INFINITY,
  timestampInRange,
  UNIX_EPOCH_JULIAN,
} from './civil-date';
import type { TimeZone } from './timezone';
import { fixedOffsetZone, formatOffset, parseIsoOffset, UTC, zoneFromInput } from './timezone';

/**
 * Text input and output of date, timestamp and timestamptz as PostgreSQL 15 does it with
 * DateStyle 'ISO, MDY'. Input accepts the common forms: ISO 8601 ('2024-01-31',
 * '2024-01-31T12:34:56.5+01:00'), 'MM/DD/YYYY', month names ('Jan 31 2024',
 * '31-Jan-2024', 'January 31, 2024'), 'YYYYMMDD', Julian days ('J2451187'), BC, AM/PM,
 * zone offsets, abbreviations and IANA names, and the special values epoch, infinity,
 * -infinity, now, today, tomorrow, yesterday.
 */

export interface DateTimeContext {
  /** The session TimeZone; UTC when absent. */
  readonly timeZone?: TimeZone;
  /** The statement's timestamp, for 'now', 'today', ...; those inputs fail without it. */
  readonly nowMicros?: bigint;
}

type DateTimeTypeName = 'date' | 'timestamp' | 'timestamp with time zone';

interface DecodedFields {
  readonly special: 'epoch' | 'infinity' | '-infinity' | undefined;
  /** Day number of the date part. */
  readonly days: number;
  /** µs since local midnight (0..86_400_000_000 inclusive: 24:00:00 is allowed). */
  readonly timeMicros: number;
  /** An explicit zone in the input. */
  readonly zone: TimeZone | undefined;
  /** Relative day ('today', 'now', ...) to resolve in the session zone. */
  readonly relative: 'now' | 'today' | 'tomorrow' | 'yesterday' | undefined;
}

const MONTHS: ReadonlyMap<string, number> = new Map([
  ['jan', 1],
  ['january', 1],
  ['feb', 2],
  ['february', 2],
  ['mar', 3],
  ['march', 3],
  ['apr', 4],
  ['april', 4],
  ['may', 5],
  ['jun', 6],
  ['june', 6],
  ['jul', 7],
  ['july', 7],
  ['aug', 8],
  ['august', 8],
  ['sep', 9],
  ['sept', 9],
  ['september', 9],
  ['oct', 10],
  ['october', 10],
  ['nov', 11],
  ['november', 11],
  ['dec', 12],
  ['december', 12],
]);

const IGNORED_WORDS: ReadonlySet<string> = new Set([
  'sun',
  'sunday',
  'mon',
  'monday',
  'tue',
  'tues',
  'tuesday',
  'wed',
  'wednesday',
  'thu',
  'thur',
  'thurs',
  'thursday',
  'fri',
  'friday',
  'sat',
  'saturday',
  'at',
  'on',
  'ad',
]);

type Token =
  | { readonly t: 'num'; readonly text: string }
  | { readonly t: 'date'; readonly parts: readonly string[] }
  | { readonly t: 'time'; readonly text: string }
  | { readonly t: 'word'; readonly text: string }
  | { readonly t: 'tz'; readonly text: string };

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isLetter(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

class BadSyntax extends Error {}

function tokenize(s: string): Token[] {
  const tokens: Token[] = [];
  let sawTime = false;
  let i = 0;
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (isSpace(c) || c === 0x2c) {
      i++;
      continue;
    }
    if (isDigit(c)) {
      const start = i;
      while (i < n && isDigit(s.charCodeAt(i))) {
        i++;
      }
      const next = s.charCodeAt(i);
      if (next === 0x3a) {
        // hh:mm[:ss[.frac]]
        while (i < n && (isDigit(s.charCodeAt(i)) || s.charCodeAt(i) === 0x3a || s.charCodeAt(i) === 0x2e)) {
          i++;
        }
        tokens.push({ t: 'time', text: s.slice(start, i) });
        sawTime = true;
        continue;
      }
      if ((next === 0x2d || next === 0x2f || next === 0x2e) && i + 1 < n && (isDigit(s.charCodeAt(i + 1)) || isLetter(s.charCodeAt(i + 1)))) {
        const delim = next;
        const parts = [s.slice(start, i)];
        while (i < n && s.charCodeAt(i) === delim && parts.length < 3) {
          i++;
          const ps = i;
          if (isDigit(s.charCodeAt(i))) {
            while (i < n && isDigit(s.charCodeAt(i))) {
              i++;
            }
          } else {
            while (i < n && isLetter(s.charCodeAt(i))) {
              i++;
            }
          }
          if (i === ps) {
            throw new BadSyntax();
          }
          parts.push(s.slice(ps, i));
        }
        if (delim === 0x2e && parts.length === 2) {
          throw new BadSyntax(); // '12.5' is not a date
        }
        tokens.push({ t: 'date', parts });
        continue;
      }
      tokens.push({ t: 'num', text: s.slice(start, i) });
      continue;
    }
    if (isLetter(c)) {
      const start = i;
      while (i < n && (isLetter(s.charCodeAt(i)) || s.charCodeAt(i) === 0x5f || s.charCodeAt(i) === 0x2f)) {
        i++;
      }
      let word = s.slice(start, i);
      if (word.includes('/')) {
        // An IANA zone name may carry digits and signs ('Etc/GMT+5').
        while (i < n && !isSpace(s.charCodeAt(i))) {
          i++;
        }
        word = s.slice(start, i);
        tokens.push({ t: 'word', text: word });
        continue;
      }
      const lower = word.toLowerCase();
      const delim = s.charCodeAt(i);
      if ((delim === 0x2d || delim === 0x2f || delim === 0x2e) && MONTHS.has(lower) && isDigit(s.charCodeAt(i + 1))) {
        // 'Jan-08-1999'
        const parts = [word];
        while (i < n && s.charCodeAt(i) === delim && parts.length < 3) {
          i++;
          const ps = i;
          while (i < n && isDigit(s.charCodeAt(i))) {
            i++;
          }
          if (i === ps) {
            throw new BadSyntax();
          }
          parts.push(s.slice(ps, i));
        }
        tokens.push({ t: 'date', parts });
        continue;
      }
      if (lower === 't' && isDigit(s.charCodeAt(i))) {
        continue; // ISO 8601 date/time separator
      }
      if (lower === 'j' && isDigit(s.charCodeAt(i))) {
        const ds = i;
        while (i < n && isDigit(s.charCodeAt(i))) {
          i++;
        }
        tokens.push({ t: 'word', text: `j${s.slice(ds, i)}` });
        continue;
      }
      tokens.push({ t: 'word', text: lower });
      continue;
    }
    if (c === 0x2b || c === 0x2d) {
      const next = s.charCodeAt(i + 1);
      if (isDigit(next) && sawTime) {
        const start = i;
        i++;
        while (i < n && (isDigit(s.charCodeAt(i)) || s.charCodeAt(i) === 0x3a)) {
          i++;
        }
        tokens.push({ t: 'tz', text: s.slice(start, i) });
        continue;
      }
      if (isLetter(next)) {
        const start = i;
        i++;
        while (i < n && isLetter(s.charCodeAt(i))) {
          i++;
        }
        tokens.push({ t: 'word', text: s.slice(start, i).toLowerCase() });
        continue;
      }
      throw new BadSyntax();
    }
    throw new BadSyntax();
  }
  return tokens;
}

/** Parses 'h:m[:s[.frac]]' into µs; undefined when malformed. */
function parseTimeOfDay(text: string): number | undefined {
  const fields = text.split(':');
  if (fields.length < 2 || fields.length > 3) {
    return undefined;
  }
  const h = fields[0]!;
  const m = fields[1]!;
  if (h === '' || m === '' || !/^\d+$/.test(h) || !/^\d+$/.test(m)) {
    return undefined;
  }
  let secondsMicros = 0;
  if (fields.length === 3) {
    const parsed = parseSecondsMicros(fields[2]!);
    if (parsed === undefined) {
      return undefined;
    }
    secondsMicros = parsed;
  }
  const hour = Number(h);
  const minute = Number(m);
  if (hour > 24 || minute > 59 || secondsMicros > 60 * 1_000_000) {
    return -1; // field out of range
  }
  const total = (hour * 3600 + minute * 60) * 1_000_000 + secondsMicros;
  if (hour === 24 && total !== MICROS_PER_DAY) {
    return -1;
  }
  return total;
}

/** 'ss' or 'ss.ffffff...' → µs, fraction rounded to the microsecond (half to even). */
export function parseSecondsMicros(text: string): number | undefined {
  const dot = text.indexOf('.');
  const whole = dot < 0 ? text : text.slice(0, dot);
  const frac = dot < 0 ? '' : text.slice(dot + 1);
  if ((whole === '' && frac === '') || !/^\d*$/.test(whole) || !/^\d*$/.test(frac)) {
    return undefined;
  }
  return Number(whole === '' ? '0' : whole) * 1_000_000 + fractionToMicros(frac);
}

/** Digits after a decimal point → µs, rounded half to even at the seventh digit. */
export function fractionToMicros(frac: string): number {
  if (frac.length <= 6) {
    return frac === '' ? 0 : Number(frac.padEnd(6, '0'));
  }
  let micros = Number(frac.slice(0, 6));
  const rest = frac.slice(6);
  const first = rest.charCodeAt(0) - 0x30;
  if (first > 5 || (first === 5 && (/[1-9]/.test(rest.slice(1)) || micros % 2 === 1))) {
    micros++;
  }
  return micros;
}

function decode(text: string): DecodedFields | 'range' {
  const tokens = tokenize(text);
  if (tokens.length === 0) {
    throw new BadSyntax();
  }
  let year: number | undefined;
  let yearDigits = 0;
  let month: number | undefined;
  let day: number | undefined;
  let julianDays: number | undefined;
  let timeMicros: number | undefined;
  let bc = false;
  let ampm: 'am' | 'pm' | undefined;
  let zone: TimeZone | undefined;
  let relative: DecodedFields['relative'];
  const loose: string[] = [];
  let special: DecodedFields['special'];

  const setYmd = (y: string, m: number, d: string): void => {
    if (year !== undefined || julianDays !== undefined) {
      throw new BadSyntax();
    }
    year = Number(y);
    yearDigits = y.length;
    month = m;
    day = Number(d);
  };

  for (const tok of tokens) {
    switch (tok.t) {
      case 'date': {
        const p = tok.parts;
        if (p.length !== 3) {
          throw new BadSyntax();
        }
        const [a, b, c] = p as [string, string, string];
        const aMonth = MONTHS.get(a.toLowerCase());
        const bMonth = MONTHS.get(b.toLowerCase());
        if (isDigit(a.charCodeAt(0)) && isDigit(b.charCodeAt(0)) && isDigit(c.charCodeAt(0))) {
          if (a.length >= 3 || Number(a) > 31) {
            setYmd(a, Number(b), c);
          } else {
            setYmd(c, Number(a), b); // DateStyle MDY
          }
        } else if (aMonth !== undefined && isDigit(b.charCodeAt(0)) && isDigit(c.charCodeAt(0))) {
          setYmd(c, aMonth, b);
        } else if (bMonth !== undefined && isDigit(a.charCodeAt(0)) && isDigit(c.charCodeAt(0))) {
          if (a.length >= 3 || Number(a) > 31) {
            setYmd(a, bMonth, c);
          } else {
            setYmd(c, bMonth, a);
          }
        } else {
          throw new BadSyntax();
        }
        break;
      }
      case 'time': {
        if (timeMicros !== undefined) {
          throw new BadSyntax();
        }
        const t = parseTimeOfDay(tok.text);
        if (t === undefined) {
          throw new BadSyntax();
        }
        if (t < 0) {
          return 'range';
        }
        timeMicros = t;
        break;
      }
      case 'num': {
        const d = tok.text;
        if (year === undefined && month === undefined && loose.length === 0 && (d.length === 8 || d.length === 6)) {
          const yLen = d.length - 4;
          setYmd(d.slice(0, yLen), Number(d.slice(yLen, yLen + 2)), d.slice(yLen + 2));
        } else {
          loose.push(d);
        }
        break;
      }
      case 'tz': {
        const off = parseIsoOffset(tok.text);
        if (off === undefined || zone !== undefined) {
          throw new BadSyntax();
        }
        zone = off === 0 ? UTC : fixedOffsetZone(off, tok.text);
        break;
      }
      case 'word': {
        const w = tok.text;
        const m = MONTHS.get(w);
        if (m !== undefined) {
          if (month !== undefined) {
            throw new BadSyntax();
          }
          month = m;
        } else if (w === 'bc') {
          bc = true;
        } else if (w === 'am' || w === 'pm' || w === 'a.m.' || w === 'p.m.') {
          ampm = w.charAt(0) === 'a' ? 'am' : 'pm';
        } else if (w === 'epoch' || w === 'infinity' || w === '-infinity' || w === '+infinity') {
          if (tokens.length !== 1) {
            throw new BadSyntax();
          }
          special = w === '+infinity' ? 'infinity' : w;
        } else if (w === 'now' || w === 'today' || w === 'tomorrow' || w === 'yesterday') {
          if (relative !== undefined) {
            throw new BadSyntax();
          }
          relative = w;
        } else if (w.charAt(0) === 'j' && w.length > 1 && isDigit(w.charCodeAt(1))) {
          if (julianDays !== undefined || year !== undefined) {
            throw new BadSyntax();
          }
          julianDays = Number(w.slice(1)) - UNIX_EPOCH_JULIAN;
        } else if (IGNORED_WORDS.has(w)) {
          // day names and noise words carry nothing
        } else {
          const z = zoneFromInput(w);
          if (z === undefined || zone !== undefined) {
            throw new BadSyntax();
          }
          zone = z;
        }
        break;
      }
    }
  }
  if (special !== undefined) {
    return { special, days: 0, timeMicros: 0, zone: undefined, relative: undefined };
  }

  if (month !== undefined && year === undefined) {
    // A month name with loose numbers: 'Jan 31 2024', '31 January 2024', '2024 Jan 31'.
    if (loose.length !== 2) {
      throw new BadSyntax();
    }
    const [a, b] = loose as [string, string];
    if (a.length >= 3 || Number(a) > 31) {
      year = Number(a);
      yearDigits = a.length;
      day = Number(b);
    } else {
      day = Number(a);
      year = Number(b);
      yearDigits = b.length;
    }
    loose.length = 0;
  }
  if (loose.length > 0) {
    throw new BadSyntax();
  }
  if (ampm !== undefined) {
    if (timeMicros === undefined) {
      throw new BadSyntax();
    }
    const hour = Math.floor(timeMicros / 3_600_000_000);
    if (hour < 1 || hour > 12) {
      return 'range';
    }
    if (ampm === 'am' && hour === 12) {
      timeMicros -= 12 * 3_600_000_000;
    } else if (ampm === 'pm' && hour !== 12) {
      timeMicros += 12 * 3_600_000_000;
    }
  }

  let days: number;
  if (julianDays !== undefined) {
    days = julianDays;
  } else if (year !== undefined) {
    if (yearDigits <= 2 && !bc) {
      year += year < 70 ? 2000 : 1900;
    }
    if (bc) {
      if (year < 1) {
        return 'range';
      }
      year = 1 - year;
    } else if (year === 0) {
      return 'range';
    }
    const m = month!;
    const d = day!;
    if (m < 1 || m > 12 || d < 1 || d > daysInMonth(year, m)) {
      return 'range';
    }
    days = daysFromCivil(year, m, d);
  } else if (relative !== undefined) {
    days = 0; // filled in by the caller from now
  } else {
    throw new BadSyntax();
  }
  if (relative !== undefined && (year !== undefined || julianDays !== undefined)) {
    throw new BadSyntax();
  }
  if (relative === 'now' && timeMicros !== undefined) {
    throw new BadSyntax();
  }
  return { special: undefined, days, timeMicros: timeMicros ?? 0, zone, relative };
}

function syntaxError(typeName: DateTimeTypeName, text: string): SqlError {
  return new SqlError(SqlStates.invalidDatetimeFormat, `invalid input syntax for type ${typeName}: "${text}"`);
}

function fieldRangeError(text: string): SqlError {
  return new SqlError(SqlStates.datetimeFieldOverflow, `date/time field value out of range: "${text}"`);
}

function digitsAt(s: string, at: number, count: number): number {
  let v = 0;
  for (let i = at; i < at + count; i++) {
    const c = s.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) {
      return -1;
    }
    v = v * 10 + c;
  }
  return v;
}

/**
 * The canonical ISO forms clients send ('2024-01-31', '2024-01-31 12:34:56.789',
 * '2024-01-31T12:34:56.789+00:00'), read with a char loop; anything else → undefined
 * (the general decoder takes it).
 */
function decodeIsoFast(s: string): DecodedFields | undefined {
  const n = s.length;
  if (n < 10 || s.charCodeAt(4) !== 0x2d || s.charCodeAt(7) !== 0x2d) {
    return undefined;
  }
  const year = digitsAt(s, 0, 4);
  const month = digitsAt(s, 5, 2);
  const day = digitsAt(s, 8, 2);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return undefined;
  }
  const days = daysFromCivil(year, month, day);
  if (n === 10) {
    return { special: undefined, days, timeMicros: 0, zone: undefined, relative: undefined };
  }
  const sep = s.charCodeAt(10);
  if ((sep !== 0x20 && sep !== 0x54) || n < 19 || s.charCodeAt(13) !== 0x3a || s.charCodeAt(16) !== 0x3a) {
    return undefined;
  }
  const hour = digitsAt(s, 11, 2);
  const minute = digitsAt(s, 14, 2);
  const second = digitsAt(s, 17, 2);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) {
    return undefined;
  }
  let i = 19;
  let micros = 0;
  if (s.charCodeAt(i) === 0x2e) {
    const start = ++i;
    while (i < n && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) {
      i++;
    }
    if (i === start) {
      return undefined;
    }
    micros = fractionToMicros(s.slice(start, i));
  }
  let zone: TimeZone | undefined;
  if (i < n) {
    const c = s.charCodeAt(i);
    if ((c === 0x5a || c === 0x7a) && i + 1 === n) {
      zone = UTC;
    } else if (c === 0x2b || c === 0x2d) {
      const off = parseIsoOffset(s.slice(i));
      if (off === undefined) {
        return undefined;
      }
      zone = off === 0 ? UTC : fixedOffsetZone(off, s.slice(i));
    } else {
      return undefined;
    }
  }
  const timeMicros = (hour * 3600 + minute * 60 + second) * 1_000_000 + micros;
  return { special: undefined, days, timeMicros, zone, relative: undefined };
}

function decodeOrThrow(text: string, typeName: DateTimeTypeName): DecodedFields {
  const fast = decodeIsoFast(text);
  if (fast !== undefined) {
    return fast;
  }
  let fields: DecodedFields | 'range';
  try {
    fields = decode(text);
  } catch (e) {
    if (e instanceof BadSyntax) {
      throw syntaxError(typeName, text);
    }
    throw e;
  }
  if (fields === 'range') {
    throw fieldRangeError(text);
  }
  return fields;
}

function needNow(ctx: DateTimeContext, text: string): bigint {
  if (ctx.nowMicros === undefined) {
    throw new SqlError(SqlStates.featureNotSupported, `"${text}" needs the current time, which is not available here`);
  }
  return ctx.nowMicros;
}

/** The local day number of an instant in a zone. */
function localDays(utcMicros: bigint, zone: TimeZone): number {
  const local = utcMicros + BigInt(zone.offsetAtUtc(utcMicros)) * 1_000_000n;
  return splitMicros(local).days;
}

const RELATIVE_DAY_SHIFT = { today: 0, tomorrow: 1, yesterday: -1 } as const;

/** Wall-clock µs (local) of decoded fields; 'now' is returned as an instant instead. */
function resolveLocal(
  f: DecodedFields,
  ctx: DateTimeContext,
  text: string,
): { localMicros: bigint; instant: false } | { utcMicros: bigint; instant: true } {
  if (f.relative === 'now') {
    return { utcMicros: needNow(ctx, text), instant: true };
  }
  let days = f.days;
  if (f.relative !== undefined) {
    const zone = f.zone ?? ctx.timeZone ?? UTC;
    days = localDays(needNow(ctx, text), zone) + RELATIVE_DAY_SHIFT[f.relative];
  }
  return { localMicros: BigInt(days) * MICROS_PER_DAY_BIG + BigInt(f.timeMicros), instant: false };
}

// ---------------------------------------------------------------------------------------
// date

/** date input → day number (±Infinity for infinity). */
export function parseDate(text: string, ctx: DateTimeContext = {}): number {
  const f = decodeOrThrow(text, 'date');
  if (f.special !== undefined) {
    return f.special === 'epoch' ? 0 : f.special === 'infinity' ? Infinity : -Infinity;
  }
  let days: number;
  if (f.relative === 'now') {
    days = localDays(needNow(ctx, text), f.zone ?? ctx.timeZone ?? UTC);
  } else if (f.relative !== undefined) {
    days = localDays(needNow(ctx, text), ctx.timeZone ?? UTC) + RELATIVE_DAY_SHIFT[f.relative];
  } else {
    days = f.days;
  }
  if (!dateInRange(days)) {
    throw new SqlError(SqlStates.datetimeFieldOverflow, `date out of range: "${text}"`);
  }
  return days;
}

function pad2(v: number): string {
  return v < 10 ? `0${v}` : String(v);
}

function pad4(v: number): string {
  return v >= 1000 ? String(v) : String(v).padStart(4, '0');
}

function appendDate(days: number): { text: string; bc: boolean } {
  const { year, month, day } = civilFromDays(days);
  const bc = year <= 0;
  return { text: `${pad4(bc ? 1 - year : year)}-${pad2(month)}-${pad2(day)}`, bc };
}

/** date output: '2024-01-31', '0044-03-15 BC', 'infinity'. */
export function formatDate(days: number): string {
  if (days === Infinity) {
    return 'infinity';
  }
  if (days === -Infinity) {
    return '-infinity';
  }
  const d = appendDate(days);
  return d.bc ? `${d.text} BC` : d.text;
}

// ---------------------------------------------------------------------------------------
// timestamp / timestamptz

/**
 * Rounds to timestamp(p) precision (half away from zero, counted from PostgreSQL's
 * 2000-01-01 epoch as PostgreSQL does).
 */
export function roundTimestampToPrecision(micros: bigint, precision: number): bigint {
  if (precision < 0 || precision >= 6 || micros === TIMESTAMP_INFINITY || micros === TIMESTAMP_NEG_INFINITY) {
    return micros;
  }
  const scale = 10n ** BigInt(6 - precision);
  const half = scale / 2n;
  const pg = micros - POSTGRES_EPOCH_MICROS;
  const rounded = pg >= 0n ? ((pg + half) / scale) * scale : -(((-pg + half) / scale) * scale);
  return rounded + POSTGRES_EPOCH_MICROS;
}

function checkTimestamp(micros: bigint, text: string): bigint {
  if (!timestampInRange(micros)) {
    throw new SqlError(SqlStates.datetimeFieldOverflow, `timestamp out of range: "${text}"`);
  }
  return micros;
}

/** timestamp input → µs since 1970 as wall-clock time; any zone in the text is ignored. */
export function parseTimestamp(text: string, typmod = -1, ctx: DateTimeContext = {}): bigint {
  const f = decodeOrThrow(text, 'timestamp');
  if (f.special !== undefined) {
    return f.special === 'epoch' ? 0n : f.special === 'infinity' ? TIMESTAMP_INFINITY : TIMESTAMP_NEG_INFINITY;
  }
  const r = resolveLocal(f, ctx, text);
  let local: bigint;
  if (r.instant) {
    const zone = ctx.timeZone ?? UTC;
    local = r.utcMicros + BigInt(zone.offsetAtUtc(r.utcMicros)) * 1_000_000n;
  } else {
    local = r.localMicros;
  }
  return checkTimestamp(roundTimestampToPrecision(checkTimestamp(local, text), typmod), text);
}

/** timestamptz input → µs since 1970 UTC; a time without zone is read in the session zone. */
export function parseTimestamptz(text: string, typmod = -1, ctx: DateTimeContext = {}): bigint {
  const f = decodeOrThrow(text, 'timestamp with time zone');
  if (f.special !== undefined) {
    return f.special === 'epoch' ? 0n : f.special === 'infinity' ? TIMESTAMP_INFINITY : TIMESTAMP_NEG_INFINITY;
  }
  const r = resolveLocal(f, ctx, text);
  let utc: bigint;
  if (r.instant) {
    utc = r.utcMicros;
  } else {
    checkTimestamp(r.localMicros, text);
    const zone = f.zone ?? ctx.timeZone ?? UTC;
    utc = r.localMicros - BigInt(zone.offsetForLocal(r.localMicros)) * 1_000_000n;
  }
  return checkTimestamp(roundTimestampToPrecision(checkTimestamp(utc, text), typmod), text);
}

function formatWallClock(local: bigint, offsetSuffix: string): string {
  const { days, microsOfDay } = splitMicros(local);
  const d = appendDate(days);
  const totalSeconds = Math.floor(microsOfDay / 1_000_000);
  const fraction = microsOfDay - totalSeconds * 1_000_000;
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  let out = `${d.text} ${pad2(h)}:${pad2(m)}:${pad2(s)}`;
  if (fraction !== 0) {
    out += `.${formatFraction(fraction)}`;
  }
  out += offsetSuffix;
  return d.bc ? `${out} BC` : out;
}

/** µs (1..999999) → '5', '000001', '123456' (six digits, trailing zeros dropped). */
export function formatFraction(micros: number): string {
  let digits = String(micros).padStart(6, '0');
  let end = digits.length;
  while (end > 1 && digits.charCodeAt(end - 1) === 0x30) {
    end--;
  }
  if (end !== digits.length) {
    digits = digits.slice(0, end);
  }
  return digits;
}

/** timestamp output: '2024-01-31 12:34:56.789', 'infinity'. */
export function formatTimestamp(micros: bigint): string {
  if (micros === TIMESTAMP_INFINITY) {
    return 'infinity';
  }
  if (micros === TIMESTAMP_NEG_INFINITY) {
    return '-infinity';
  }
  return formatWallClock(micros, '');
}

/** timestamptz output in a zone: '2024-01-31 12:34:56.789+00', '... 07:34:56-05'. */
export function formatTimestamptz(micros: bigint, zone: TimeZone = UTC): string {
  if (micros === TIMESTAMP_INFINITY) {
    return 'infinity';
  }
  if (micros === TIMESTAMP_NEG_INFINITY) {
    return '-infinity';
  }
  const offset = zone.fixedOffsetSeconds ?? zone.offsetAtUtc(micros);
  return formatWallClock(micros + BigInt(offset) * 1_000_000n, formatOffset(offset));
}

/** The wall-clock time of an instant in a zone (timestamptz → timestamp). */
export function utcToLocal(utcMicros: bigint, zone: TimeZone): bigint {
  if (utcMicros === TIMESTAMP_INFINITY || utcMicros === TIMESTAMP_NEG_INFINITY) {
    return utcMicros;
  }
  return utcMicros + BigInt(zone.offsetAtUtc(utcMicros)) * 1_000_000n;
}

/** The instant of a wall-clock time in a zone (timestamp → timestamptz). */
export function localToUtc(localMicros: bigint, zone: TimeZone): bigint {
  if (localMicros === TIMESTAMP_INFINITY || localMicros === TIMESTAMP_NEG_INFINITY) {
    return localMicros;
  }
  return localMicros - BigInt(zone.offsetForLocal(localMicros)) * 1_000_000n;
}
