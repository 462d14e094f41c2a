import { SqlError, SqlStates } from '../../../common/errors';
import { daysFromCivil, daysInMonth, MICROS_PER_DAY, MICROS_PER_HOUR, MICROS_PER_MINUTE, MICROS_PER_SECOND } from './datetime';
import { str } from './datum-access';
import type { ScalarDef } from './registry';
import { localToUtc } from './timezone';

/**
 * to_date(text, template) and to_timestamp(text, template): the parsing side of the
 * to_char templates, for the common fields (YYYY YYY YY Y MM Mon Month DD DDD HH HH12
 * HH24 MI SS MS US AM/PM J, FM and quoted text), in PostgreSQL's lenient mode: blanks
 * are skipped, and a separator in the template matches any one separator in the input.
 */

interface ParsedFields {
  year?: number;
  month?: number;
  day?: number;
  dayOfYear?: number;
  julian?: number;
  hour?: number;
  hour12?: boolean;
  pm?: boolean;
  minute?: number;
  second?: number;
  micros?: number;
}

const MONTH_NAMES = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];

/** Keywords (upper case), longest first; the number is the most digits the field takes. */
const FIELDS: readonly (readonly [string, number])[] = [
  ['YYYY', 4],
  ['HH24', 2],
  ['HH12', 2],
  ['MONTH', 0],
  ['A.M.', 0],
  ['P.M.', 0],
  ['YYY', 3],
  ['DDD', 3],
  ['MON', 0],
  ['YY', 2],
  ['MM', 2],
  ['DD', 2],
  ['HH', 2],
  ['MI', 2],
  ['SS', 2],
  ['MS', 3],
  ['US', 6],
  ['AM', 0],
  ['PM', 0],
  ['Y', 1],
  ['J', 9],
];

function invalidValue(value: string, field: string): SqlError {
  return new SqlError(SqlStates.invalidDatetimeFormat, `invalid value "${value}" for "${field}"`, {
    detail: 'Value must be an integer.',
  });
}

function outOfRange(text: string): SqlError {
  return new SqlError(SqlStates.datetimeFieldOverflow, `date/time field value out of range: "${text}"`);
}

function isSeparator(c: string | undefined): boolean {
  return c !== undefined && !/[\p{L}\p{N}]/u.test(c);
}

function parseTemplate(input: string, template: string): ParsedFields {
  const f: ParsedFields = {};
  let i = 0; // input position
  let k = 0; // template position
  const skipBlanks = (): void => {
    while (i < input.length && input[i] === ' ') i++;
  };
  while (k < template.length) {
    const tc = template[k] as string;
    if (tc === '"') {
      // Quoted text in the template skips as many input characters.
      const end = template.indexOf('"', k + 1);
      const literal = end === -1 ? template.slice(k + 1) : template.slice(k + 1, end);
      i += literal.length;
      k = end === -1 ? template.length : end + 1;
      continue;
    }
    const rest = template.slice(k).toUpperCase();
    if (rest.startsWith('FM') || rest.startsWith('FX') || rest.startsWith('TM')) {
      k += 2;
      continue;
    }
    const field = FIELDS.find(([name]) => rest.startsWith(name));
    if (field === undefined) {
      // A separator or space in the template matches one separator in the input.
      if (tc === ' ') skipBlanks();
      else if (isSeparator(input[i])) i++;
      k++;
      continue;
    }
    const [name, width] = field;
    k += name.length;
    skipBlanks();
    if (width === 0) {
      const word = /^[\p{L}.]+/u.exec(input.slice(i))?.[0] ?? '';
      const lower = word.toLowerCase();
      if (name === 'MONTH' || name === 'MON') {
        const index = MONTH_NAMES.findIndex((m) => (name === 'MON' ? m.slice(0, 3) === lower.slice(0, 3) : m === lower));
        if (index < 0) throw new SqlError(SqlStates.invalidDatetimeFormat, `invalid value "${word}" for "${name}"`);
        f.month = index + 1;
        i += name === 'MON' ? 3 : word.length;
      } else {
        const pm = lower.startsWith('p');
        if (!/^[ap]\.?m\.?$/.test(lower)) throw new SqlError(SqlStates.invalidDatetimeFormat, `invalid value "${word}" for "${name}"`);
        f.pm = pm;
        i += word.length;
      }
      continue;
    }
    const digits = /^[+-]?\d+/.exec(input.slice(i))?.[0] ?? '';
    // A field followed by a separator (or the end) takes all its digits; one followed by
    // another field ('YYYYMMDD') only its width.
    const next = template[k];
    const max = next === undefined || !/[A-Za-z]/.test(next) ? Math.max(width, 9) : width;
    const taken = digits.slice(0, digits.startsWith('-') || digits.startsWith('+') ? max + 1 : max);
    if (taken === '' || taken === '-' || taken === '+') throw invalidValue(input.slice(i, i + Math.max(width, 1)), name);
    i += taken.length;
    const n = Number(taken);
    switch (name) {
      case 'YYYY':
        f.year = n;
        break;
      case 'YYY':
        f.year = taken.length < 3 ? n : n < 100 ? 2000 + n : 1000 + n;
        break;
      case 'YY':
        f.year = n < 70 ? 2000 + n : 1900 + n;
        break;
      case 'Y':
        f.year = 2000 + n;
        break;
      case 'MM':
        f.month = n;
        break;
      case 'DD':
        f.day = n;
        break;
      case 'DDD':
        f.dayOfYear = n;
        break;
      case 'J':
        f.julian = n;
        break;
      case 'HH':
      case 'HH12':
        f.hour = n;
        f.hour12 = true;
        break;
      case 'HH24':
        f.hour = n;
        break;
      case 'MI':
        f.minute = n;
        break;
      case 'SS':
        f.second = n;
        break;
      case 'MS':
        f.micros = Number(taken.padEnd(3, '0')) * 1000;
        break;
      case 'US':
        f.micros = Number(taken.padEnd(6, '0'));
        break;
      default:
        break;
    }
  }
  return f;
}

/** The day number and time of day the fields describe (wall-clock). */
function resolveFields(input: string, f: ParsedFields): { days: number; micros: bigint } {
  let days: number;
  if (f.julian !== undefined) {
    days = f.julian - 2440588;
  } else {
    // year 0 does not exist: negative years are BC.
    const year = f.year === undefined ? 1 : f.year < 0 ? f.year + 1 : f.year;
    if (f.dayOfYear !== undefined && f.month === undefined && f.day === undefined) {
      days = daysFromCivil(year, 1, 1) + f.dayOfYear - 1;
    } else {
      const month = f.month ?? 1;
      const day = f.day ?? 1;
      if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) throw outOfRange(input);
      days = daysFromCivil(year, month, day);
    }
  }
  let hour = f.hour ?? 0;
  if (f.hour12 === true || f.pm !== undefined) {
    if (hour < 1 || hour > 12) {
      throw new SqlError(SqlStates.invalidDatetimeFormat, `hour "${hour}" is invalid for the 12-hour clock`, {
        hint: 'Use the 24-hour clock, or give an hour between 1 and 12.',
      });
    }
    hour = (hour % 12) + (f.pm === true ? 12 : 0);
  }
  const minute = f.minute ?? 0;
  const second = f.second ?? 0;
  if (hour > 24 || minute > 59 || second > 60) throw outOfRange(input);
  const micros =
    BigInt(hour) * MICROS_PER_HOUR + BigInt(minute) * MICROS_PER_MINUTE + BigInt(second) * MICROS_PER_SECOND + BigInt(f.micros ?? 0);
  return { days, micros };
}

export function toDate(input: string, template: string): number {
  return resolveFields(input, parseTemplate(input, template)).days;
}

/** The wall-clock timestamp (µs) the input describes. */
export function toLocalTimestamp(input: string, template: string): bigint {
  const { days, micros } = resolveFields(input, parseTemplate(input, template));
  return BigInt(days) * MICROS_PER_DAY + micros;
}

export const toDateFunctions: readonly ScalarDef[] = [
  { name: 'to_date', args: ['text', 'text'], result: 'date', volatility: 'stable', impl: (a) => toDate(str(a[0]), str(a[1])) },
  {
    name: 'to_timestamp',
    args: ['text', 'text'],
    result: 'timestamptz',
    volatility: 'stable',
    impl: (a, ctx) => localToUtc(ctx.timeZone, toLocalTimestamp(str(a[0]), str(a[1]))),
  },
];
