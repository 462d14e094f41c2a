import type { Interval } from '../types/datum';
import { Numeric } from '../types/numeric';
import {
  civilFromDays,
  dayOfWeek,
  dayOfYear,
  daysFromCivil,
  isFiniteTimestamp,
  isoWeek,
  MICROS_PER_HOUR,
  MICROS_PER_MINUTE,
  splitTimestamp,
  UNIX_EPOCH_JULIAN,
} from './datetime';
import { zoneOffsetSeconds } from './timezone';

/**
 * to_char: formatting dates, timestamps, intervals and numbers with PostgreSQL's
 * template patterns (formatting.c's keywords). Date/time patterns: YYYY YYY YY Y Y,YYY
 * IYYY.. MM Mon Month DD DDD D ID IDDD W WW IW Q CC J HH HH12 HH24 MI SS SSSS MS US FF1-6
 * AM/PM/A.M./P.M. BC/AD RM TZ OF TZH TZM, in their upper/lower/capitalised spellings,
 * with the FM prefix and TH/th suffixes and "quoted" literal text. Number patterns: 9 0
 * . D , G S MI PL SG PR V FM TH.
 */

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
] as const;
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;
const ROMAN_MONTHS = ['I', 'II', 'III', 'IV', 'V', 'VI', 'VII', 'VIII', 'IX', 'X', 'XI', 'XII'] as const;

/** Keywords, longest first so that prefixes (HH before HH24) do not win. */
const DATE_KEYWORDS = [
  'Y,YYY', 'y,yyy',
  'A.M.', 'a.m.', 'P.M.', 'p.m.', 'A.D.', 'a.d.', 'B.C.', 'b.c.',
  'SSSSS', 'sssss', 'MONTH', 'Month', 'month',
  'HH24', 'hh24', 'HH12', 'hh12', 'YYYY', 'yyyy', 'IYYY', 'iyyy', 'IDDD', 'iddd', 'SSSS', 'ssss',
  'YYY', 'yyy', 'IYY', 'iyy', 'MON', 'Mon', 'mon', 'DAY', 'Day', 'day', 'DDD', 'ddd', 'FF1', 'FF2', 'FF3',
  'FF4', 'FF5', 'FF6', 'ff1', 'ff2', 'ff3', 'ff4', 'ff5', 'ff6', 'TZH', 'tzh', 'TZM', 'tzm',
  'YY', 'yy', 'IY', 'iy', 'MM', 'mm', 'DD', 'dd', 'DY', 'Dy', 'dy', 'ID', 'id', 'WW', 'ww', 'IW', 'iw', 'CC', 'cc',
  'HH', 'hh', 'MI', 'mi', 'SS', 'ss', 'MS', 'ms', 'US', 'us', 'AM', 'am', 'PM', 'pm', 'AD', 'ad', 'BC', 'bc',
  'RM', 'rm', 'TZ', 'tz', 'OF', 'of',
  'Y', 'y', 'I', 'i', 'D', 'd', 'W', 'w', 'Q', 'q', 'J', 'j',
] as const;

/** The broken-down value to_char formats: a wall-clock time, or an interval's parts. */
export interface CharFields {
  /** Astronomical year (0 = 1 BC); for intervals, whole years. */
  readonly year: number;
  readonly month: number;
  readonly day: number;
  /** Days since 1970-01-01, for week/weekday patterns (undefined for intervals). */
  readonly epochDays: number | undefined;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly micros: number;
  /** For timestamptz: the zone offset (seconds east) and abbreviation. */
  readonly offsetSeconds: number | undefined;
  readonly zoneAbbrev: string;
}

function ordinalSuffix(n: number): string {
  const abs = Math.abs(n);
  const lastTwo = abs % 100;
  if (lastTwo >= 11 && lastTwo <= 13) return 'th';
  switch (abs % 10) {
    case 1:
      return 'st';
    case 2:
      return 'nd';
    case 3:
      return 'rd';
    default:
      return 'th';
  }
}

function zeroPad(n: number, width: number, fill: boolean): string {
  const s = String(Math.abs(n));
  const body = fill ? s : s.padStart(width, '0');
  return n < 0 ? `-${body}` : body;
}

function applyCase(word: string, keyword: string): string {
  if (keyword === keyword.toUpperCase()) return word.toUpperCase();
  if (keyword === keyword.toLowerCase()) return word.toLowerCase();
  return word;
}

function formatOffset(seconds: number, withMinutes: 'always' | 'when-nonzero'): string {
  const sign = seconds < 0 ? '-' : '+';
  const abs = Math.abs(seconds);
  const h = String(Math.floor(abs / 3600)).padStart(2, '0');
  const m = Math.floor((abs % 3600) / 60);
  if (withMinutes === 'when-nonzero' && m === 0) return `${sign}${h}`;
  return `${sign}${h}:${String(m).padStart(2, '0')}`;
}

function displayYear(year: number): number {
  return year > 0 ? year : 1 - year;
}

function formatDateKeyword(kw: string, f: CharFields, fm: boolean): { text: string; number?: number } {
  const upper = kw.toUpperCase();
  const days = f.epochDays;
  const iso = days === undefined ? undefined : isoWeek(days);
  const num = (n: number, width: number): { text: string; number: number } => ({ text: zeroPad(n, width, fm), number: n });
  switch (upper) {
    case 'Y,YYY': {
      const y = displayYear(f.year);
      const s = String(y).padStart(4, '0');
      return { text: `${s.slice(0, -3)},${s.slice(-3)}`, number: y };
    }
    case 'YYYY':
      return num(displayYear(f.year), 4);
    case 'YYY':
      return num(displayYear(f.year) % 1000, 3);
    case 'YY':
      return num(displayYear(f.year) % 100, 2);
    case 'Y':
      return num(displayYear(f.year) % 10, 1);
    case 'IYYY':
      return num(iso === undefined ? f.year : displayYear(iso.isoYear), 4);
    case 'IYY':
      return num((iso === undefined ? f.year : displayYear(iso.isoYear)) % 1000, 3);
    case 'IY':
      return num((iso === undefined ? f.year : displayYear(iso.isoYear)) % 100, 2);
    case 'I':
      return num((iso === undefined ? f.year : displayYear(iso.isoYear)) % 10, 1);
    case 'A.D.':
    case 'B.C.':
      return { text: applyCase(f.year > 0 ? 'A.D.' : 'B.C.', kw) };
    case 'AD':
    case 'BC':
      return { text: applyCase(f.year > 0 ? 'AD' : 'BC', kw) };
    case 'MONTH': {
      const name = applyCase(MONTHS[f.month - 1] ?? '', kw);
      return { text: fm ? name : name.padEnd(9, ' ') };
    }
    case 'MON':
      return { text: applyCase((MONTHS[f.month - 1] ?? '').slice(0, 3), kw) };
    case 'MM':
      return num(f.month, 2);
    case 'RM': {
      const r = applyCase(ROMAN_MONTHS[f.month - 1] ?? '', kw);
      return { text: fm ? r : r.padEnd(4, ' ') };
    }
    case 'DAY': {
      const name = applyCase(days === undefined ? '' : (DAYS[dayOfWeek(days)] as string), kw);
      return { text: fm ? name : name.padEnd(9, ' ') };
    }
    case 'DY':
      return { text: applyCase(days === undefined ? '' : (DAYS[dayOfWeek(days)] as string).slice(0, 3), kw) };
    case 'DDD':
      return num(days === undefined ? f.day : dayOfYear(days), 3);
    case 'IDDD': {
      if (days === undefined || iso === undefined) return num(f.day, 3);
      const isoStart = isoYearStart(iso.isoYear);
      return num(days - isoStart + 1, 3);
    }
    case 'DD':
      return num(f.day, 2);
    case 'D':
      return num(days === undefined ? 0 : dayOfWeek(days) + 1, 1);
    case 'ID':
      return num(days === undefined ? 0 : dayOfWeek(days) || 7, 1);
    case 'W':
      return num(Math.floor((f.day - 1) / 7) + 1, 1);
    case 'WW':
      return num(days === undefined ? 0 : Math.floor((dayOfYear(days) - 1) / 7) + 1, 2);
    case 'IW':
      return num(iso === undefined ? 0 : iso.week, 2);
    case 'Q':
      return num(Math.floor((f.month - 1) / 3) + 1, 1);
    case 'CC': {
      const y = f.year;
      const cc = y > 0 ? Math.floor((y + 99) / 100) : -Math.floor((99 - (y - 1)) / 100);
      return num(cc, 2);
    }
    case 'J':
      return num(days === undefined ? 0 : days + UNIX_EPOCH_JULIAN, 1);
    case 'HH':
    case 'HH12':
      return num(f.hour % 12 === 0 ? 12 : f.hour % 12, 2);
    case 'HH24':
      return num(f.hour, 2);
    case 'MI':
      return num(f.minute, 2);
    case 'SS':
      return num(f.second, 2);
    case 'SSSS':
    case 'SSSSS':
      return num(f.hour * 3600 + f.minute * 60 + f.second, 1);
    case 'MS':
      return num(Math.floor(f.micros / 1000), 3);
    case 'US':
      return num(f.micros, 6);
    case 'FF1':
    case 'FF2':
    case 'FF3':
    case 'FF4':
    case 'FF5':
    case 'FF6': {
      const digits = Number(upper.slice(2));
      return { text: String(f.micros).padStart(6, '0').slice(0, digits) };
    }
    case 'AM':
    case 'PM':
      return { text: applyCase(f.hour < 12 ? 'AM' : 'PM', kw) };
    case 'A.M.':
    case 'P.M.':
      return { text: applyCase(f.hour < 12 ? 'A.M.' : 'P.M.', kw) };
    case 'TZ':
      return { text: applyCase(f.zoneAbbrev, kw) };
    case 'OF':
      return { text: f.offsetSeconds === undefined ? '' : formatOffset(f.offsetSeconds, 'when-nonzero') };
    case 'TZH':
      return { text: f.offsetSeconds === undefined ? '' : formatOffset(f.offsetSeconds, 'always').slice(0, 3) };
    case 'TZM':
      return {
        text: f.offsetSeconds === undefined ? '' : String(Math.floor((Math.abs(f.offsetSeconds) % 3600) / 60)).padStart(2, '0'),
      };
    default:
      return { text: kw };
  }
}

function isoYearStart(isoYear: number): number {
  const jan4 = daysFromCivil(isoYear, 1, 4);
  return jan4 - ((dayOfWeek(jan4) + 6) % 7);
}

/** Formats broken-down date/time fields with a to_char template. */
export function formatDateTemplate(template: string, f: CharFields): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const ch = template[i] as string;
    if (ch === '"') {
      // Quoted literal text; a backslash escapes a quote inside.
      i++;
      while (i < template.length && template[i] !== '"') {
        if (template[i] === '\\' && i + 1 < template.length) i++;
        out += template[i];
        i++;
      }
      i++;
      continue;
    }
    if (ch === '\\' && template[i + 1] === '"') {
      out += '"';
      i += 2;
      continue;
    }
    let fm = false;
    let j = i;
    // Prefixes: FM (fill mode), FX (exact, parse only), TM (translation: we have English only).
    for (;;) {
      const two = template.slice(j, j + 2).toUpperCase();
      if (two === 'FM') fm = true;
      else if (two !== 'FX' && two !== 'TM') break;
      j += 2;
    }
    const kw = DATE_KEYWORDS.find((k) => template.startsWith(k, j));
    if (kw === undefined) {
      if (j > i) {
        // A prefix with no keyword after it is printed as is... except FX/FM/TM, which PostgreSQL drops.
        i = j;
        continue;
      }
      out += ch;
      i++;
      continue;
    }
    const { text, number } = formatDateKeyword(kw, f, fm);
    out += text;
    j += kw.length;
    const suffix = template.slice(j, j + 2);
    if (number !== undefined && (suffix === 'TH' || suffix === 'th')) {
      const s = ordinalSuffix(number);
      out += suffix === 'TH' ? s.toUpperCase() : s;
      j += 2;
    }
    i = j;
  }
  return out;
}

function zoneAbbreviation(zone: string, utcMicros: bigint, offsetSeconds: number): string {
  if (/^(utc|etc\/utc|z|zulu|universal)$/i.test(zone)) return 'UTC';
  if (/^(gmt|etc\/gmt)$/i.test(zone)) return 'GMT';
  try {
    const parts = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'short' }).formatToParts(
      Number(utcMicros / 1000n),
    );
    const name = parts.find((p) => p.type === 'timeZoneName')?.value;
    if (name !== undefined && !name.startsWith('GMT')) return name;
  } catch {
    // fixed offsets: fall through
  }
  return formatOffset(offsetSeconds, 'when-nonzero');
}

function wallClockFields(local: bigint): Omit<CharFields, 'offsetSeconds' | 'zoneAbbrev'> {
  const { days, timeMicros } = splitTimestamp(local);
  const t = Number(timeMicros);
  const c = civilFromDays(days);
  return {
    year: c.year,
    month: c.month,
    day: c.day,
    epochDays: days,
    hour: Math.floor(t / 3_600_000_000),
    minute: Math.floor(t / 60_000_000) % 60,
    second: Math.floor(t / 1_000_000) % 60,
    micros: t % 1_000_000,
  };
}

/** to_char(timestamp, template); infinite timestamps give NULL as in PostgreSQL. */
export function toCharTimestamp(t: bigint, template: string): string | null {
  if (!isFiniteTimestamp(t)) return null;
  return formatDateTemplate(template, { ...wallClockFields(t), offsetSeconds: undefined, zoneAbbrev: '' });
}

export function toCharTimestamptz(t: bigint, template: string, zone: string): string | null {
  if (!isFiniteTimestamp(t)) return null;
  const offset = zoneOffsetSeconds(zone, t);
  const local = t + BigInt(offset) * 1_000_000n;
  return formatDateTemplate(template, {
    ...wallClockFields(local),
    offsetSeconds: offset,
    zoneAbbrev: zoneAbbreviation(zone, t, offset),
  });
}

export function toCharInterval(iv: Interval, template: string): string {
  const hours = iv.micros / MICROS_PER_HOUR;
  const rest = iv.micros - hours * MICROS_PER_HOUR;
  const minutes = rest / MICROS_PER_MINUTE;
  const secMicros = rest - minutes * MICROS_PER_MINUTE;
  return formatDateTemplate(template, {
    year: Math.trunc(iv.months / 12),
    month: iv.months % 12,
    day: iv.days,
    epochDays: undefined,
    hour: Number(hours),
    minute: Number(minutes),
    second: Number(secMicros / 1_000_000n),
    micros: Number(secMicros % 1_000_000n),
    offsetSeconds: undefined,
    zoneAbbrev: '',
  });
}

// ---------------------------------------------------------------------------------------
// Numbers

interface NumberTemplate {
  readonly items: readonly string[];
  readonly intDigits: number;
  readonly fracDigits: number;
  readonly vDigits: number;
  readonly fm: boolean;
  /** Where the sign goes: a floating slot before the digits, or a fixed keyword. */
  readonly sign: 'float' | 'S-lead' | 'S-trail' | 'MI' | 'PL' | 'SG' | 'PR';
  readonly ordinal: 'TH' | 'th' | undefined;
}

function parseNumberTemplate(template: string): NumberTemplate {
  const items: string[] = [];
  let intDigits = 0;
  let fracDigits = 0;
  let vDigits = 0;
  let fm = false;
  let seenPoint = false;
  let seenV = false;
  let seenDigit = false;
  let sign: NumberTemplate['sign'] = 'float';
  let ordinal: NumberTemplate['ordinal'];
  let i = 0;
  while (i < template.length) {
    const rest = template.slice(i);
    const upper2 = rest.slice(0, 2).toUpperCase();
    const c = rest[0] as string;
    if (upper2 === 'FM') {
      fm = true;
      i += 2;
    } else if (upper2 === 'MI' || upper2 === 'PL' || upper2 === 'SG' || upper2 === 'PR') {
      sign = upper2;
      items.push(upper2);
      i += 2;
    } else if (upper2 === 'TH') {
      ordinal = rest.slice(0, 2) === 'th' ? 'th' : 'TH';
      i += 2;
    } else if (c === '9' || c === '0') {
      seenDigit = true;
      // Digits after V multiply the value by 10 each and print as integer digits.
      if (seenV) vDigits++;
      if (seenPoint && !seenV) fracDigits++;
      else intDigits++;
      items.push(c);
      i++;
    } else if (c === '.' || c === 'D' || c === 'd') {
      // A point with no digit positions after it is not printed.
      if (/[90]/.test(template.slice(i + 1))) {
        seenPoint = true;
        items.push('.');
      }
      i++;
    } else if (c === ',' || c === 'G' || c === 'g') {
      items.push(',');
      i++;
    } else if (c === 'S' || c === 's') {
      sign = seenDigit ? 'S-trail' : 'S-lead';
      items.push('S');
      i++;
    } else if (c === 'V' || c === 'v') {
      seenV = true;
      i++;
    } else {
      items.push(`lit:${c}`);
      i++;
    }
  }
  return { items, intDigits, fracDigits, vDigits, fm, sign, ordinal };
}

/** to_char(number, template) for the common number patterns. */
export function toCharNumber(value: Numeric, template: string): string {
  const t = parseNumberTemplate(template);
  let v = value;
  if (t.vDigits > 0) v = v.mul(Numeric.of(10n ** BigInt(t.vDigits), 0));
  const negative = v.sign() < 0;
  const rounded = v.isFinite() ? v.abs().round(t.fracDigits) : v.abs();
  const [intText = '', fracText = ''] = rounded.isFinite() ? rounded.toString().split('.') : [''];
  const overflow = !rounded.isFinite() || (intText !== '0' && intText.length > t.intDigits);
  // The integer digits, right-aligned in the template's integer positions ('' = no digit there).
  const significant = intText === '0' ? '' : intText;
  const firstSignificant = t.intDigits - significant.length;
  const frac = fracText.padEnd(t.fracDigits, '0');
  const zeroStart = t.items.indexOf('0');
  const floating = t.sign === 'float' || t.sign === 'S-lead' || t.sign === 'PL' || t.sign === 'PR';
  const signGlyph = ((): string => {
    switch (t.sign) {
      case 'S-lead':
        return negative ? '-' : '+';
      case 'PR':
        return negative ? '<' : t.fm ? '' : ' ';
      default:
        return negative ? '-' : t.fm ? '' : ' ';
    }
  })();

  let out = '';
  let started = false;
  let intPos = 0;
  let fracPos = 0;
  let afterPoint = false;
  let fracRun = '';
  // Which fraction digits came from '9' (FM may drop them when trailing zeros).
  let fracOptional: boolean[] = [];
  const startNumber = (): void => {
    if (!started) {
      started = true;
      if (floating) out += overflow ? (t.fm ? '' : ' ') : signGlyph;
    }
  };
  const flushFraction = (): void => {
    // FM drops trailing zeros in '9' positions ('0' positions always print).
    let end = fracRun.length;
    if (t.fm) while (end > 0 && fracRun[end - 1] === '0' && fracOptional[end - 1] === true) end--;
    out += fracRun.slice(0, end);
    fracRun = '';
    fracOptional = [];
  };
  t.items.forEach((item, k) => {
    if (item === '9' || item === '0') {
      if (afterPoint) {
        fracRun += overflow ? '#' : (frac[fracPos] ?? '0');
        fracOptional.push(item === '9');
        fracPos++;
        return;
      }
      const position = intPos++;
      let glyph: string | undefined;
      if (overflow) glyph = '#';
      else if (position >= firstSignificant) glyph = significant[position - firstSignificant];
      else if (zeroStart !== -1 && k >= zeroStart) glyph = '0';
      else if (position === t.intDigits - 1 && t.fracDigits === 0) glyph = '0';
      if (glyph === undefined) {
        if (!t.fm) out += ' ';
        return;
      }
      startNumber();
      out += glyph;
      return;
    }
    if (afterPoint) flushFraction();
    switch (item) {
      case '.':
        startNumber();
        out += '.';
        afterPoint = true;
        break;
      case ',':
        if (started) out += ',';
        else if (!t.fm) out += ' ';
        break;
      case 'MI':
        out += negative ? '-' : t.fm ? '' : ' ';
        break;
      case 'PL':
        out += negative ? (t.fm ? '' : ' ') : '+';
        break;
      case 'SG':
        out += negative ? '-' : '+';
        break;
      case 'S':
        if (t.sign === 'S-trail') out += negative ? '-' : '+';
        break;
      case 'PR':
        break;
      default:
        out += item.slice(4);
    }
  });
  flushFraction();
  startNumber();
  if (t.sign === 'PR') out += negative ? '>' : t.fm ? '' : ' ';
  if (t.ordinal !== undefined && !overflow) {
    const suffix = ordinalSuffix(Number(intText || '0'));
    out += t.ordinal === 'th' ? suffix : suffix.toUpperCase();
  }
  return out;
}
