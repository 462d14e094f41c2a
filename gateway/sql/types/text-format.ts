import { AssertionFailedError, SqlError, SqlStates } from '../../../common/errors';
import { dateInRange } from './civil-date';
import type { DateTimeContext } from './datetime';
import {
  formatDate,
  formatTimestamp,
  formatTimestamptz,
  parseDate,
  parseTimestamp,
  parseTimestamptz,
} from './datetime';
import type { Datum, Interval, Jsonb, ScalarTypeName, SqlType } from './datum';
import { formatFloat4, formatFloat8, parseFloat4, parseFloat8 } from './float-text';
import { formatInterval, parseInterval } from './interval';
import { formatJsonb, parseJsonb } from './jsonb';
import { Numeric } from './numeric';
import { codePointLength, codePointOffset } from './text-compare';
import { UTC } from './timezone';
import { NAME_MAX_BYTES, typeName } from './type-names';
import { hexValue, parseUuid } from './uuid';

/**
 * Text input and output of every type, as PostgreSQL 15 with DateStyle 'ISO, MDY',
 * IntervalStyle postgres, bytea_output hex and the session TimeZone (UTC by default).
 */

/** The session settings text I/O depends on. */
export type TextFormatOptions = DateTimeContext;

// ---------------------------------------------------------------------------------------
// Integers

const INT_LIMITS: Readonly<Record<'int2' | 'int4', readonly [number, number]>> = {
  int2: [-32768, 32767],
  int4: [-2147483648, 2147483647],
};
const INT8_MIN = -(1n << 63n);
const INT8_MAX = (1n << 63n) - 1n;

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function intSyntaxError(sqlName: string, text: string): SqlError {
  return new SqlError(SqlStates.invalidTextRepresentation, `invalid input syntax for type ${sqlName}: "${text}"`);
}

export function intOutOfRange(sqlName: string, text: string): SqlError {
  return new SqlError(SqlStates.numericValueOutOfRange, `value "${text}" is out of range for type ${sqlName}`);
}

/** Integer input: blanks, optional sign, decimal digits, blanks. */
export function parseInteger(name: 'int2' | 'int4' | 'int8', text: string): bigint {
  const sqlName = name === 'int2' ? 'smallint' : name === 'int4' ? 'integer' : 'bigint';
  let i = 0;
  let end = text.length;
  while (i < end && isSpace(text.charCodeAt(i))) {
    i++;
  }
  while (end > i && isSpace(text.charCodeAt(end - 1))) {
    end--;
  }
  let negative = false;
  const c = text.charCodeAt(i);
  if (c === 0x2b || c === 0x2d) {
    negative = c === 0x2d;
    i++;
  }
  if (i === end) {
    throw intSyntaxError(sqlName, text);
  }
  const digitsStart = i;
  let value = 0;
  for (; i < end; i++) {
    const d = text.charCodeAt(i);
    if (!isDigit(d)) {
      throw intSyntaxError(sqlName, text);
    }
    value = value * 10 + (d - 0x30);
  }
  if (name !== 'int8') {
    const v = negative ? -value : value;
    const [min, max] = INT_LIMITS[name];
    if (v < min || v > max) {
      throw intOutOfRange(sqlName, text);
    }
    return BigInt(v);
  }
  if (value <= Number.MAX_SAFE_INTEGER) {
    return BigInt(negative ? -value : value);
  }
  const big = BigInt(text.slice(digitsStart, end));
  const v = negative ? -big : big;
  if (v < INT8_MIN || v > INT8_MAX) {
    throw intOutOfRange(sqlName, text);
  }
  return v;
}

/** oid input: an unsigned 32-bit number; negative input wraps as in PostgreSQL (-1 → 4294967295). */
export function parseOid(text: string): bigint {
  const t = text.trim();
  if (!/^[+-]?\d+$/.test(t)) {
    throw intSyntaxError('oid', text);
  }
  const v = BigInt(t);
  if (v < -2147483648n || v > 4294967295n) {
    throw intOutOfRange('oid', text);
  }
  return v < 0n ? v + 4294967296n : v;
}

// ---------------------------------------------------------------------------------------
// Booleans

const BOOL_WORDS: readonly (readonly [string, number, boolean])[] = [
  // word, shortest accepted prefix, value
  ['true', 1, true],
  ['false', 1, false],
  ['yes', 1, true],
  ['no', 1, false],
  ['on', 2, true],
  ['off', 2, false],
];

/** boolean input: true/false/yes/no/on/off and unique prefixes, 1/0, any case, blanks around. */
export function parseBool(text: string): boolean {
  const t = text.trim().toLowerCase();
  if (t === '1') {
    return true;
  }
  if (t === '0') {
    return false;
  }
  if (t.length > 0) {
    for (const [word, minLength, value] of BOOL_WORDS) {
      if (t.length >= minLength && t.length <= word.length && word.startsWith(t)) {
        return value;
      }
    }
  }
  throw new SqlError(SqlStates.invalidTextRepresentation, `invalid input syntax for type boolean: "${text}"`);
}

// ---------------------------------------------------------------------------------------
// Character types

function checkNoNul(text: string): void {
  if (text.indexOf('\u0000') >= 0) {
    throw new SqlError(SqlStates.characterNotInRepertoire, 'invalid byte sequence for encoding "UTF8": 0x00');
  }
}

/**
 * varchar(n) / char(n) length rule: a longer value is an error (22001) unless every
 * character past n is a space, in which case it is cut (SQL standard). `explicit`
 * (an explicit cast) cuts silently instead.
 */
export function applyCharLength(
  name: 'varchar' | 'bpchar',
  typmod: number,
  text: string,
  explicit = false,
): string {
  if (typmod < 0) {
    return text;
  }
  let out = text;
  if (text.length > typmod) {
    const chars = codePointLength(text);
    if (chars > typmod) {
      const cut = codePointOffset(text, typmod);
      if (!explicit) {
        for (let i = cut; i < text.length; i++) {
          if (text.charCodeAt(i) !== 0x20) {
            const what = name === 'varchar' ? 'character varying' : 'character';
            throw new SqlError(SqlStates.stringDataRightTruncation, `value too long for type ${what}(${typmod})`);
          }
        }
      }
      out = text.slice(0, cut);
    }
  }
  if (name === 'bpchar') {
    const chars = codePointLength(out);
    if (chars < typmod) {
      out += ' '.repeat(typmod - chars);
    }
  }
  return out;
}

/** name: cut to 63 UTF-8 bytes at a character boundary. */
export function truncateName(text: string): string {
  if (text.length <= NAME_MAX_BYTES / 3) {
    return text;
  }
  if (Buffer.byteLength(text, 'utf8') <= NAME_MAX_BYTES) {
    return text;
  }
  let bytes = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    const isPair = c >= 0xd800 && c <= 0xdbff && i + 1 < text.length;
    const size = c < 0x80 ? 1 : c < 0x800 ? 2 : isPair ? 4 : 3;
    if (bytes + size > NAME_MAX_BYTES) {
      break;
    }
    bytes += size;
    i += isPair ? 2 : 1;
  }
  return text.slice(0, i);
}

// ---------------------------------------------------------------------------------------
// bytea

function badBytea(): SqlError {
  return new SqlError(SqlStates.invalidTextRepresentation, 'invalid input syntax for type bytea');
}

/** bytea input: hex ('\x0a0b', blanks allowed between bytes) or escape format ('a\\b\001'). */
export function parseBytea(text: string): Buffer {
  if (text.charCodeAt(0) === 0x5c && (text.charCodeAt(1) === 0x78 || text.charCodeAt(1) === 0x58)) {
    const out = Buffer.allocUnsafe((text.length - 2) >> 1);
    let n = 0;
    let i = 2;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d) {
        i++;
        continue;
      }
      const hi = hexValue(c);
      if (hi < 0) {
        throw new SqlError(SqlStates.invalidTextRepresentation, `invalid hexadecimal digit: "${text.charAt(i)}"`);
      }
      if (i + 1 >= text.length) {
        throw new SqlError(SqlStates.invalidTextRepresentation, 'invalid hexadecimal data: odd number of digits');
      }
      const lo = hexValue(text.charCodeAt(i + 1));
      if (lo < 0) {
        throw new SqlError(SqlStates.invalidTextRepresentation, `invalid hexadecimal digit: "${text.charAt(i + 1)}"`);
      }
      out[n++] = (hi << 4) | lo;
      i += 2;
    }
    return n === out.length ? out : out.subarray(0, n);
  }
  if (text.indexOf('\\') < 0) {
    return Buffer.from(text, 'utf8');
  }
  const bytes: number[] = [];
  const utf8 = Buffer.from(text, 'utf8');
  for (let i = 0; i < utf8.length; ) {
    const b = utf8[i]!;
    if (b !== 0x5c) {
      bytes.push(b);
      i++;
      continue;
    }
    const next = utf8[i + 1];
    if (next === 0x5c) {
      bytes.push(0x5c);
      i += 2;
      continue;
    }
    const d1 = utf8[i + 1];
    const d2 = utf8[i + 2];
    const d3 = utf8[i + 3];
    if (
      d1 !== undefined &&
      d2 !== undefined &&
      d3 !== undefined &&
      d1 >= 0x30 &&
      d1 <= 0x33 &&
      d2 >= 0x30 &&
      d2 <= 0x37 &&
      d3 >= 0x30 &&
      d3 <= 0x37
    ) {
      bytes.push(((d1 - 0x30) << 6) | ((d2 - 0x30) << 3) | (d3 - 0x30));
      i += 4;
      continue;
    }
    throw badBytea();
  }
  return Buffer.from(bytes);
}

export function formatBytea(b: Uint8Array): string {
  return `\\x${Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')}`;
}

// ---------------------------------------------------------------------------------------
// Arrays

function malformedArray(text: string, detail: string): SqlError {
  return new SqlError(SqlStates.invalidTextRepresentation, `malformed array literal: "${text}"`, { detail });
}

function isArraySpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c;
}

/** Array input: '{1,2,NULL}', '{{1,2},{3,4}}', '{"a b","c\\"d"}', optional '[1:2]=' prefix. */
export function parseArrayText(element: SqlType, text: string, options: TextFormatOptions): Datum[] {
  let i = 0;
  const n = text.length;
  const skipSpace = (): void => {
    while (i < n && isArraySpace(text.charCodeAt(i))) {
      i++;
    }
  };
  skipSpace();
  if (text.charCodeAt(i) === 0x5b) {
    // Dimension decoration '[lo:hi][lo:hi]=': bounds are not kept.
    const eq = text.indexOf('=', i);
    if (eq < 0 || !/^(\[\s*[+-]?\d+\s*(:\s*[+-]?\d+\s*)?\]\s*)+$/.test(text.slice(i, eq))) {
      throw malformedArray(text, 'Array value must start with "{" or dimension information.');
    }
    i = eq + 1;
    skipSpace();
  }
  if (text.charCodeAt(i) !== 0x7b) {
    throw malformedArray(text, 'Array value must start with "{" or dimension information.');
  }
  const parseLevel = (): Datum[] => {
    i++; // '{'
    const items: Datum[] = [];
    let nested: boolean | undefined;
    skipSpace();
    if (text.charCodeAt(i) === 0x7d) {
      i++;
      return items;
    }
    for (;;) {
      skipSpace();
      const c = text.charCodeAt(i);
      if (c === 0x7b) {
        if (nested === false) {
          throw malformedArray(text, 'Unexpected "{" character.');
        }
        nested = true;
        items.push(parseLevel());
      } else {
        if (nested === true) {
          throw malformedArray(text, 'Unexpected array element.');
        }
        nested = false;
        items.push(parseElement());
      }
      skipSpace();
      const sep = text.charCodeAt(i);
      if (sep === 0x2c) {
        i++;
        continue;
      }
      if (sep === 0x7d) {
        i++;
        break;
      }
      throw malformedArray(text, i >= n ? 'Unexpected end of input.' : `Unexpected "${text.charAt(i)}" character.`);
    }
    if (nested === true) {
      const len = (items[0] as Datum[]).length;
      for (const sub of items) {
        if ((sub as Datum[]).length !== len) {
          throw malformedArray(text, 'Multidimensional arrays must have sub-arrays with matching dimensions.');
        }
      }
    }
    return items;
  };
  const parseElement = (): Datum => {
    let raw = '';
    if (text.charCodeAt(i) === 0x22) {
      i++;
      for (;;) {
        if (i >= n) {
          throw malformedArray(text, 'Unexpected end of input.');
        }
        const c = text.charCodeAt(i);
        if (c === 0x22) {
          i++;
          break;
        }
        if (c === 0x5c) {
          i++;
          if (i >= n) {
            throw malformedArray(text, 'Unexpected end of input.');
          }
        }
        raw += text.charAt(i);
        i++;
      }
    } else {
      let lastNonSpace = 0;
      for (;;) {
        if (i >= n) {
          throw malformedArray(text, 'Unexpected end of input.');
        }
        const c = text.charCodeAt(i);
        if (c === 0x2c || c === 0x7d) {
          break;
        }
        if (c === 0x7b || c === 0x22) {
          throw malformedArray(text, `Unexpected "${text.charAt(i)}" character.`);
        }
        if (c === 0x5c) {
          i++;
          if (i >= n) {
            throw malformedArray(text, 'Unexpected end of input.');
          }
          raw += text.charAt(i);
          lastNonSpace = raw.length;
        } else {
          raw += text.charAt(i);
          if (!isArraySpace(c)) {
            lastNonSpace = raw.length;
          }
        }
        i++;
      }
      raw = raw.slice(0, lastNonSpace);
      if (raw === '') {
        throw malformedArray(text, 'Unexpected "," character.');
      }
      if (raw.length === 4 && raw.toLowerCase() === 'null') {
        return null;
      }
    }
    return parseText(element, raw, options);
  };
  const result = parseLevel();
  skipSpace();
  if (i !== n) {
    throw malformedArray(text, 'Junk after closing right brace.');
  }
  if (result.length === 1 && Array.isArray(result[0]) && (result[0] as Datum[]).length === 0) {
    return []; // '{{}}' is the empty array
  }
  return result;
}

/** Whether an element needs double quotes in array output. */
function needsQuotes(s: string): boolean {
  if (s.length === 0) {
    return true;
  }
  if (s.length === 4 && s.toLowerCase() === 'null') {
    return true;
  }
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5c || c === 0x7b || c === 0x7d || c === 0x2c || isArraySpace(c)) {
      return true;
    }
  }
  return false;
}

/** Types whose text never needs quoting inside an array. */
const UNQUOTED_ELEMENT_TYPES: ReadonlySet<ScalarTypeName> = new Set([
  'bool',
  'int2',
  'int4',
  'int8',
  'float4',
  'float8',
  'numeric',
  'oid',
  'uuid',
]);

/** Array output: '{1,2,NULL}', '{"a b",c}', '{{1,2},{3,4}}'. */
export function formatArrayText(element: SqlType, values: readonly Datum[], options: TextFormatOptions): string {
  const plain = element.kind === 'scalar' && UNQUOTED_ELEMENT_TYPES.has(element.name);
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) {
      out += ',';
    }
    const v = values[i]!;
    if (v === null) {
      out += 'NULL';
    } else if (Array.isArray(v)) {
      out += formatArrayText(element, v as readonly Datum[], options);
    } else {
      const s = formatText(element, v, options);
      if (plain || !needsQuotes(s)) {
        out += s;
      } else {
        out += '"';
        for (let j = 0; j < s.length; j++) {
          const c = s.charCodeAt(j);
          if (c === 0x22 || c === 0x5c) {
            out += '\\';
          }
          out += s.charAt(j);
        }
        out += '"';
      }
    }
  }
  return `${out}}`;
}

// ---------------------------------------------------------------------------------------
// Entry points

/**
 * Parses PostgreSQL text input for a type, applying the type's typmod as PostgreSQL's
 * input functions do (varchar(n) length, char(n) padding, numeric(p,s), timestamp(p)).
 */
export function parseText(type: SqlType, text: string, options: TextFormatOptions = {}): Datum {
  if (type.kind === 'array') {
    return parseArrayText(type.element, text, options);
  }
  switch (type.name) {
    case 'bool':
      return parseBool(text);
    case 'int2':
    case 'int4':
    case 'int8':
      return parseInteger(type.name, text);
    case 'oid':
      return parseOid(text);
    case 'float4':
      return parseFloat4(text);
    case 'float8':
      return parseFloat8(text);
    case 'numeric':
      return Numeric.parse(text).applyTypmod(type.typmod);
    case 'text':
    case 'unknown':
      checkNoNul(text);
      return text;
    case 'varchar':
    case 'bpchar':
      checkNoNul(text);
      return applyCharLength(type.name, type.typmod, text);
    case 'name':
      checkNoNul(text);
      return truncateName(text);
    case 'bytea':
      return parseBytea(text);
    case 'date':
      return parseDate(text, options);
    case 'timestamp':
      return parseTimestamp(text, type.typmod, options);
    case 'timestamptz':
      return parseTimestamptz(text, type.typmod, options);
    case 'interval':
      return parseInterval(text);
    case 'uuid':
      return parseUuid(text);
    case 'jsonb':
      return parseJsonb(text);
  }
}

function wrongDatum(type: SqlType, datum: Datum): AssertionFailedError {
  const what = datum === null ? 'null' : typeof datum === 'object' ? datum.constructor.name : typeof datum;
  return new AssertionFailedError(`datum of type ${typeName(type)} is a ${what}`);
}

/** PostgreSQL text output of a non-null datum. */
export function formatText(type: SqlType, datum: Datum, options: TextFormatOptions = {}): string {
  if (datum === null) {
    throw wrongDatum(type, datum);
  }
  if (type.kind === 'array') {
    if (!Array.isArray(datum)) {
      throw wrongDatum(type, datum);
    }
    return formatArrayText(type.element, datum as readonly Datum[], options);
  }
  switch (type.name) {
    case 'bool':
      if (typeof datum !== 'boolean') {
        throw wrongDatum(type, datum);
      }
      return datum ? 't' : 'f';
    case 'int2':
    case 'int4':
    case 'int8':
    case 'oid':
      if (typeof datum !== 'bigint') {
        throw wrongDatum(type, datum);
      }
      return datum.toString();
    case 'float4':
      if (typeof datum !== 'number') {
        throw wrongDatum(type, datum);
      }
      return formatFloat4(datum);
    case 'float8':
      if (typeof datum !== 'number') {
        throw wrongDatum(type, datum);
      }
      return formatFloat8(datum);
    case 'numeric':
      if (!(datum instanceof Numeric)) {
        throw wrongDatum(type, datum);
      }
      return datum.toString();
    case 'text':
    case 'varchar':
    case 'bpchar':
    case 'name':
    case 'unknown':
    case 'uuid':
      if (typeof datum !== 'string') {
        throw wrongDatum(type, datum);
      }
      return datum;
    case 'bytea':
      if (!(datum instanceof Uint8Array)) {
        throw wrongDatum(type, datum);
      }
      return formatBytea(datum);
    case 'date':
      if (typeof datum !== 'number' || (!dateInRange(datum) && Number.isFinite(datum))) {
        throw wrongDatum(type, datum);
      }
      return formatDate(datum);
    case 'timestamp':
      if (typeof datum !== 'bigint') {
        throw wrongDatum(type, datum);
      }
      return formatTimestamp(datum);
    case 'timestamptz':
      if (typeof datum !== 'bigint') {
        throw wrongDatum(type, datum);
      }
      return formatTimestamptz(datum, options.timeZone ?? UTC);
    case 'interval':
      if (typeof datum !== 'object' || !('months' in datum)) {
        throw wrongDatum(type, datum);
      }
      return formatInterval(datum as Interval);
    case 'jsonb':
      if (typeof datum !== 'object' || !('json' in datum)) {
        throw wrongDatum(type, datum);
      }
      return formatJsonb(datum as Jsonb);
  }
}
