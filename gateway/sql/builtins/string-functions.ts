import { createHash } from 'node:crypto';
import { SqlError, SqlStates } from '../../../common/errors';
import type { Datum, SqlType } from '../types/datum';
import { codePointLength, codePointOffset, lengthWithoutTrailingSpaces } from '../types/text-compare';
import { bytes, int, str } from './datum-access';
import type { EvalContext } from './eval-context';
import { invalidParameter, nullNotAllowed, programLimit } from './errors';
import { byteaLike, ilike, like, likeEscape, similarToEscape } from './like';
import { regexMatches, regexpCount, regexpMatch, regexpReplace, regexSubstring } from './regex';
import type { ScalarDef } from './registry';
import { castText, outputText } from './text-output';

/**
 * String functions and operators on text (PostgreSQL 15 names and semantics). Lengths
 * and positions count characters (code points), not UTF-16 units; case mapping is per
 * character (no 'ß' → 'SS'), as PostgreSQL's towupper-based functions do.
 */

/** The substring of code points [from, to) (0-based, clamped). */
function cpSlice(s: string, from: number, to?: number): string {
  const start = codePointOffset(s, Math.max(0, from));
  if (to === undefined) return s.slice(start);
  if (to <= from) return '';
  const end = start + codePointOffset(s.slice(start), to - Math.max(0, from));
  return s.slice(start, end);
}

function negativeLength(): SqlError {
  return new SqlError(SqlStates.substringError, 'negative substring length not allowed');
}

/** substring(s from start for count): characters start .. start+count-1, 1-based; start may be < 1. */
export function substring(s: string, start: bigint, count?: bigint): string {
  if (count !== undefined && count < 0n) throw negativeLength();
  const from = Number(start < 1n ? 1n : start) - 1;
  if (count === undefined) return cpSlice(s, from);
  const end = start + count; // exclusive, 1-based
  if (end <= 1n) return '';
  const to = Number(end) - 1;
  return cpSlice(s, from, to);
}

function bytesSubstring(b: Buffer, start: bigint, count?: bigint): Buffer {
  if (count !== undefined && count < 0n) throw negativeLength();
  const from = Number(start < 1n ? 1n : start) - 1;
  if (count === undefined) return b.subarray(Math.min(from, b.length));
  const end = start + count;
  if (end <= 1n) return Buffer.alloc(0);
  return b.subarray(Math.min(from, b.length), Math.min(Number(end) - 1, b.length));
}

/** 1-based character position of `needle` in `s`, 0 when absent. */
export function strpos(s: string, needle: string): number {
  const i = s.indexOf(needle);
  return i < 0 ? 0 : codePointLength(s.slice(0, i)) + 1;
}

function mapCodePoints(s: string, f: (c: string) => string): string {
  let out = '';
  for (const c of s) {
    const m = f(c);
    // Per-character mapping: a character whose mapping is several characters stays.
    out += [...m].length === 1 ? m : c === '\u0130' && m.startsWith('i') ? 'i' : c;
  }
  return out;
}

export function lower(s: string): string {
  const simple = s.toLowerCase();
  return simple.length === s.length && !s.includes('\u0130') ? simple : mapCodePoints(s, (c) => c.toLowerCase());
}

export function upper(s: string): string {
  const simple = s.toUpperCase();
  return simple.length === s.length ? simple : mapCodePoints(s, (c) => c.toUpperCase());
}

const ALNUM = /[\p{L}\p{N}]/u;

/** initcap: the first letter of each run of letters/digits upper case, the rest lower. */
export function initcap(s: string): string {
  let out = '';
  let inWord = false;
  for (const c of s) {
    out += inWord ? lower(c) : upper(c);
    inWord = ALNUM.test(c);
  }
  return out;
}

function left(s: string, n: bigint): string {
  if (n >= 0n) return cpSlice(s, 0, Number(n));
  const len = codePointLength(s);
  return cpSlice(s, 0, Math.max(0, len + Number(n)));
}

function right(s: string, n: bigint): string {
  const len = codePointLength(s);
  if (n >= 0n) return cpSlice(s, Math.max(0, len - Number(n)));
  return cpSlice(s, Math.min(len, -Number(n)));
}

const MAX_STRING_CHARS = 256 * 1024 * 1024;

function pad(s: string, length: bigint, fill: string, atStart: boolean): string {
  const target = length < 0n ? 0 : Number(length);
  if (target > MAX_STRING_CHARS) throw programLimit('requested length too large');
  const len = codePointLength(s);
  if (len >= target || fill === '') return cpSlice(s, 0, target);
  const fillChars = [...fill];
  let padding = '';
  for (let i = 0; i < target - len; i++) padding += fillChars[i % fillChars.length];
  return atStart ? padding + s : s + padding;
}

function trimChars(s: string, chars: string, start: boolean, end: boolean): string {
  const set = new Set(chars);
  const cps = [...s];
  let i = 0;
  let j = cps.length;
  if (start) while (i < j && set.has(cps[i] as string)) i++;
  if (end) while (j > i && set.has(cps[j - 1] as string)) j--;
  return cps.slice(i, j).join('');
}

function trimSpaces(s: string, start: boolean, end: boolean): string {
  let i = 0;
  let j = s.length;
  if (start) while (i < j && s.charCodeAt(i) === 0x20) i++;
  if (end) while (j > i && s.charCodeAt(j - 1) === 0x20) j--;
  return s.slice(i, j);
}

function repeat(s: string, n: bigint): string {
  if (n <= 0n || s === '') return '';
  if (BigInt(s.length) * n > BigInt(MAX_STRING_CHARS)) throw programLimit('requested length too large');
  return s.repeat(Number(n));
}

export function splitPart(s: string, delimiter: string, n: bigint): string {
  if (n === 0n) throw invalidParameter('field position must not be zero');
  if (delimiter === '') return n === 1n || n === -1n ? s : '';
  const parts = s.split(delimiter);
  const index = n > 0n ? Number(n) - 1 : parts.length + Number(n);
  return parts[index] ?? '';
}

function translate(s: string, from: string, to: string): string {
  const f = [...from];
  const t = [...to];
  const map = new Map<string, string | null>();
  f.forEach((c, i) => {
    if (!map.has(c)) map.set(c, t[i] ?? null);
  });
  let out = '';
  for (const c of s) {
    if (!map.has(c)) out += c;
    else {
      const r = map.get(c);
      if (r !== null && r !== undefined) out += r;
    }
  }
  return out;
}

/** Keywords quote_ident must quote (every category but unreserved), PostgreSQL 15. */
const QUOTED_KEYWORDS: ReadonlySet<string> = new Set(
  (
    'all analyse analyze and any array as asc asymmetric authorization between bigint binary bit boolean both case ' +
    'cast char character check coalesce collate collation column concurrently constraint create cross ' +
    'current_catalog current_date current_role current_schema current_time current_timestamp current_user dec ' +
    'decimal default deferrable desc distinct do else end except exists extract false fetch float for foreign ' +
    'freeze from full grant greatest group grouping having ilike in initially inner inout int integer intersect ' +
    'interval into is isnull join lateral leading least left like limit localtime localtimestamp national natural ' +
    'nchar none normalize not notnull null nullif numeric offset on only or order out outer overlaps overlay ' +
    'placing position precision primary real references returning right row select session_user setof similar ' +
    'smallint some substring symmetric table tablesample then time timestamp to trailing treat trim true union ' +
    'unique user using values varchar variadic verbose when where window with xmlattributes xmlconcat xmlelement ' +
    'xmlexists xmlforest xmlnamespaces xmlparse xmlpi xmlroot xmlserialize xmltable'
  ).split(' '),
);

export function quoteIdent(s: string): string {
  if (/^[a-z_][a-z0-9_]*$/.test(s) && !QUOTED_KEYWORDS.has(s)) return s;
  return `"${s.replace(/"/g, '""')}"`;
}

export function quoteLiteral(s: string): string {
  const body = s.replace(/'/g, "''");
  return s.includes('\\') ? `E'${body.replace(/\\/g, '\\\\')}'` : `'${body}'`;
}

function chr(n: bigint): string {
  if (n === 0n) throw programLimit('null character not permitted');
  if (n < 0n) throw programLimit('character number must be positive');
  if (n > 0x10ffffn) throw programLimit(`requested character too large for encoding: ${n}`);
  if (n >= 0xd800n && n <= 0xdfffn) throw programLimit(`requested character not valid for encoding: ${n}`);
  return String.fromCodePoint(Number(n));
}

function ascii(s: string): bigint {
  const cp = s.codePointAt(0);
  return BigInt(cp ?? 0);
}

function toHex(v: bigint, bits: 32 | 64): string {
  return BigInt.asUintN(bits, v).toString(16);
}

// ---------------------------------------------------------------------------------------
// encode / decode

function unrecognizedEncoding(name: string): SqlError {
  return invalidParameter(`unrecognized encoding: "${name}"`);
}

function base64Encode(b: Buffer): string {
  const text = b.toString('base64');
  // PostgreSQL breaks base64 output into lines of 76 characters.
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += 76) lines.push(text.slice(i, i + 76));
  return lines.join('\n');
}

function base64Decode(s: string): Buffer {
  const clean = s.replace(/[ \t\r\n]/g, '');
  const bad = /[^A-Za-z0-9+/=]/.exec(clean);
  if (bad !== null) throw invalidParameter(`invalid symbol "${bad[0]}" found while decoding base64 sequence`);
  if (/=[^=]/.test(clean) || clean.length % 4 !== 0) {
    throw invalidParameter('invalid base64 end sequence');
  }
  return Buffer.from(clean, 'base64');
}

function hexDecode(s: string): Buffer {
  const clean = s.replace(/[ \t\r\n]/g, '');
  const bad = /[^0-9a-fA-F]/.exec(clean);
  if (bad !== null) throw invalidParameter(`invalid hexadecimal digit: "${bad[0]}"`);
  if (clean.length % 2 !== 0) throw invalidParameter('invalid hexadecimal data: odd number of digits');
  return Buffer.from(clean, 'hex');
}

function escapeEncode(b: Buffer): string {
  let out = '';
  for (const byte of b) {
    if (byte === 0x5c) out += '\\\\';
    else if (byte === 0 || byte >= 0x80) out += `\\${byte.toString(8).padStart(3, '0')}`;
    else out += String.fromCharCode(byte);
  }
  return out;
}

function escapeDecode(s: string): Buffer {
  const src = Buffer.from(s, 'utf8');
  const out: number[] = [];
  for (let i = 0; i < src.length; i++) {
    const c = src[i] as number;
    if (c !== 0x5c) {
      out.push(c);
      continue;
    }
    if (src[i + 1] === 0x5c) {
      out.push(0x5c);
      i++;
      continue;
    }
    const oct = src.subarray(i + 1, i + 4).toString('latin1');
    if (!/^[0-3][0-7][0-7]$/.test(oct)) {
      throw new SqlError(SqlStates.invalidTextRepresentation, 'invalid input syntax for type bytea');
    }
    out.push(parseInt(oct, 8));
    i += 3;
  }
  return Buffer.from(out);
}

export function encode(b: Buffer, format: string): string {
  switch (format.toLowerCase()) {
    case 'hex':
      return b.toString('hex');
    case 'base64':
      return base64Encode(b);
    case 'escape':
      return escapeEncode(b);
    default:
      throw unrecognizedEncoding(format);
  }
}

export function decode(s: string, format: string): Buffer {
  switch (format.toLowerCase()) {
    case 'hex':
      return hexDecode(s);
    case 'base64':
      return base64Decode(s);
    case 'escape':
      return escapeDecode(s);
    default:
      throw unrecognizedEncoding(format);
  }
}

// ---------------------------------------------------------------------------------------
// concat / format

function concatValues(types: readonly SqlType[], args: readonly Datum[], from: number, ctx: EvalContext, sep: string): string {
  const parts: string[] = [];
  for (let i = from; i < args.length; i++) {
    const v = args[i];
    if (v === null || v === undefined) continue;
    parts.push(outputText(types[i] as SqlType, v, ctx));
  }
  return parts.join(sep);
}

function formatError(message: string): SqlError {
  return invalidParameter(message);
}

/** format(): %[n$][-][width]{s,I,L} and %%. */
export function format(fmt: string, types: readonly SqlType[], args: readonly Datum[], ctx: EvalContext): string {
  let out = '';
  let next = 1; // args[0] is the format string
  let i = 0;
  const readNumber = (): number | undefined => {
    const m = /^\d+/.exec(fmt.slice(i));
    if (m === null) return undefined;
    i += m[0].length;
    return Number(m[0]);
  };
  const argAt = (index: number): { value: Datum; type: SqlType } => {
    if (index >= args.length) throw formatError('too few arguments for format()');
    return { value: args[index] ?? null, type: types[index] as SqlType };
  };
  while (i < fmt.length) {
    const c = fmt[i] as string;
    if (c !== '%') {
      out += c;
      i++;
      continue;
    }
    i++;
    if (i >= fmt.length) throw formatError('unterminated format() type specifier');
    if (fmt[i] === '%') {
      out += '%';
      i++;
      continue;
    }
    // Optional argument position n$.
    let position: number | undefined;
    const save = i;
    const n = readNumber();
    if (n !== undefined && fmt[i] === '$') {
      if (n === 0) throw formatError('format specifies argument 0, but arguments are numbered from 1');
      position = n;
      i++;
    } else {
      i = save;
    }
    let leftAlign = false;
    while (fmt[i] === '-') {
      leftAlign = true;
      i++;
    }
    let width: number | undefined;
    if (fmt[i] === '*') {
      i++;
      const wn = readNumber();
      let widthArg: number;
      if (wn !== undefined && fmt[i] === '$') {
        i++;
        widthArg = wn;
      } else {
        widthArg = next++;
      }
      const w = argAt(widthArg).value;
      width = w === null ? undefined : Number(w);
      if (width !== undefined && width < 0) {
        leftAlign = true;
        width = -width;
      }
    } else {
      width = readNumber();
    }
    const type = fmt[i];
    if (type === undefined) throw formatError('unterminated format() type specifier');
    i++;
    const index = position ?? next;
    next = index + 1;
    const { value, type: valueType } = argAt(index);
    let text: string;
    switch (type) {
      case 's':
        text = value === null ? '' : outputText(valueType, value, ctx);
        break;
      case 'I':
        if (value === null) throw nullNotAllowed('null values cannot be formatted as an SQL identifier');
        text = quoteIdent(outputText(valueType, value, ctx));
        break;
      case 'L':
        text = value === null ? 'NULL' : quoteLiteral(outputText(valueType, value, ctx));
        break;
      default:
        throw formatError(`unrecognized format() type specifier "${type}"`);
    }
    if (width !== undefined) {
      const len = codePointLength(text);
      if (len < width) text = leftAlign ? text + ' '.repeat(width - len) : ' '.repeat(width - len) + text;
    }
    out += text;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// The table

const md5Hex = (b: Buffer | string): string => createHash('md5').update(b).digest('hex');
const digest = (algorithm: string) => (a: readonly Datum[]) => createHash(algorithm).update(bytes(a[0])).digest();

export const stringFunctions: readonly ScalarDef[] = [
  // Lengths
  { name: 'length', args: ['text'], result: 'int4', impl: (a) => BigInt(codePointLength(str(a[0]))) },
  { name: 'length', args: ['bpchar'], result: 'int4', impl: (a) => BigInt(bpcharLength(str(a[0]))) },
  { name: 'length', args: ['bytea'], result: 'int4', impl: (a) => BigInt(bytes(a[0]).length) },
  { name: 'char_length', args: ['text'], result: 'int4', impl: (a) => BigInt(codePointLength(str(a[0]))) },
  { name: 'char_length', args: ['bpchar'], result: 'int4', impl: (a) => BigInt(bpcharLength(str(a[0]))) },
  { name: 'character_length', args: ['text'], result: 'int4', impl: (a) => BigInt(codePointLength(str(a[0]))) },
  { name: 'character_length', args: ['bpchar'], result: 'int4', impl: (a) => BigInt(bpcharLength(str(a[0]))) },
  { name: 'octet_length', args: ['text'], result: 'int4', impl: (a) => BigInt(Buffer.byteLength(str(a[0]), 'utf8')) },
  { name: 'octet_length', args: ['bpchar'], result: 'int4', impl: (a) => BigInt(Buffer.byteLength(str(a[0]), 'utf8')) },
  { name: 'octet_length', args: ['bytea'], result: 'int4', impl: (a) => BigInt(bytes(a[0]).length) },
  { name: 'bit_length', args: ['text'], result: 'int4', impl: (a) => BigInt(Buffer.byteLength(str(a[0]), 'utf8') * 8) },
  { name: 'bit_length', args: ['bytea'], result: 'int4', impl: (a) => BigInt(bytes(a[0]).length * 8) },
  // Case
  { name: 'lower', args: ['text'], result: 'text', impl: (a) => lower(str(a[0])) },
  { name: 'upper', args: ['text'], result: 'text', impl: (a) => upper(str(a[0])) },
  { name: 'initcap', args: ['text'], result: 'text', impl: (a) => initcap(str(a[0])) },
  // Substrings
  { name: 'substr', args: ['text', 'int4'], result: 'text', impl: (a) => substring(str(a[0]), int(a[1])) },
  { name: 'substr', args: ['text', 'int4', 'int4'], result: 'text', impl: (a) => substring(str(a[0]), int(a[1]), int(a[2])) },
  { name: 'substring', args: ['text', 'int4'], result: 'text', impl: (a) => substring(str(a[0]), int(a[1])) },
  {
    name: 'substring',
    args: ['text', 'int4', 'int4'],
    result: 'text',
    impl: (a) => substring(str(a[0]), int(a[1]), int(a[2])),
  },
  { name: 'substring', args: ['text', 'text'], result: 'text', impl: (a) => regexSubstring(str(a[0]), str(a[1])) },
  {
    name: 'substring',
    args: ['text', 'text', 'text'],
    result: 'text',
    impl: (a) => regexSubstring(str(a[0]), similarToEscape(str(a[1]), str(a[2]))),
  },
  { name: 'substr', args: ['bytea', 'int4'], result: 'bytea', impl: (a) => bytesSubstring(bytes(a[0]), int(a[1])) },
  {
    name: 'substr',
    args: ['bytea', 'int4', 'int4'],
    result: 'bytea',
    impl: (a) => bytesSubstring(bytes(a[0]), int(a[1]), int(a[2])),
  },
  { name: 'substring', args: ['bytea', 'int4'], result: 'bytea', impl: (a) => bytesSubstring(bytes(a[0]), int(a[1])) },
  {
    name: 'substring',
    args: ['bytea', 'int4', 'int4'],
    result: 'bytea',
    impl: (a) => bytesSubstring(bytes(a[0]), int(a[1]), int(a[2])),
  },
  { name: 'left', args: ['text', 'int4'], result: 'text', impl: (a) => left(str(a[0]), int(a[1])) },
  { name: 'right', args: ['text', 'int4'], result: 'text', impl: (a) => right(str(a[0]), int(a[1])) },
  // position(substring IN string) reaches us as position(string, substring).
  { name: 'position', args: ['text', 'text'], result: 'int4', impl: (a) => BigInt(strpos(str(a[0]), str(a[1]))) },
  { name: 'strpos', args: ['text', 'text'], result: 'int4', impl: (a) => BigInt(strpos(str(a[0]), str(a[1]))) },
  {
    name: 'position',
    args: ['bytea', 'bytea'],
    result: 'int4',
    impl: (a) => BigInt(bytes(a[0]).indexOf(bytes(a[1])) + 1),
  },
  { name: 'starts_with', args: ['text', 'text'], result: 'bool', impl: (a) => str(a[0]).startsWith(str(a[1])) },
  // Padding and trimming
  { name: 'lpad', args: ['text', 'int4'], result: 'text', impl: (a) => pad(str(a[0]), int(a[1]), ' ', true) },
  { name: 'lpad', args: ['text', 'int4', 'text'], result: 'text', impl: (a) => pad(str(a[0]), int(a[1]), str(a[2]), true) },
  { name: 'rpad', args: ['text', 'int4'], result: 'text', impl: (a) => pad(str(a[0]), int(a[1]), ' ', false) },
  { name: 'rpad', args: ['text', 'int4', 'text'], result: 'text', impl: (a) => pad(str(a[0]), int(a[1]), str(a[2]), false) },
  { name: 'btrim', args: ['text'], result: 'text', impl: (a) => trimSpaces(str(a[0]), true, true) },
  { name: 'btrim', args: ['text', 'text'], result: 'text', impl: (a) => trimChars(str(a[0]), str(a[1]), true, true) },
  { name: 'ltrim', args: ['text'], result: 'text', impl: (a) => trimSpaces(str(a[0]), true, false) },
  { name: 'ltrim', args: ['text', 'text'], result: 'text', impl: (a) => trimChars(str(a[0]), str(a[1]), true, false) },
  { name: 'rtrim', args: ['text'], result: 'text', impl: (a) => trimSpaces(str(a[0]), false, true) },
  { name: 'rtrim', args: ['text', 'text'], result: 'text', impl: (a) => trimChars(str(a[0]), str(a[1]), false, true) },
  // Rewriting
  {
    name: 'replace',
    args: ['text', 'text', 'text'],
    result: 'text',
    impl: (a) => (str(a[1]) === '' ? str(a[0]) : str(a[0]).split(str(a[1])).join(str(a[2]))),
  },
  { name: 'repeat', args: ['text', 'int4'], result: 'text', impl: (a) => repeat(str(a[0]), int(a[1])) },
  { name: 'reverse', args: ['text'], result: 'text', impl: (a) => [...str(a[0])].reverse().join('') },
  { name: 'split_part', args: ['text', 'text', 'int4'], result: 'text', impl: (a) => splitPart(str(a[0]), str(a[1]), int(a[2])) },
  { name: 'translate', args: ['text', 'text', 'text'], result: 'text', impl: (a) => translate(str(a[0]), str(a[1]), str(a[2])) },
  // Quoting
  { name: 'quote_ident', args: ['text'], result: 'text', impl: (a) => quoteIdent(str(a[0])) },
  { name: 'quote_literal', args: ['text'], result: 'text', impl: (a) => quoteLiteral(str(a[0])) },
  {
    name: 'quote_literal',
    args: ['anyelement'],
    result: 'text',
    bind: (types) => (a, ctx) => quoteLiteral(castText(types[0] as SqlType, a[0] as Datum, ctx)),
  },
  {
    name: 'quote_nullable',
    args: ['text'],
    result: 'text',
    strict: false,
    impl: (a) => (a[0] === null ? 'NULL' : quoteLiteral(str(a[0]))),
  },
  {
    name: 'quote_nullable',
    args: ['anyelement'],
    result: 'text',
    strict: false,
    bind: (types) => (a, ctx) => (a[0] === null ? 'NULL' : quoteLiteral(castText(types[0] as SqlType, a[0] as Datum, ctx))),
  },
  // Characters and codes
  { name: 'ascii', args: ['text'], result: 'int4', impl: (a) => ascii(str(a[0])) },
  { name: 'chr', args: ['int4'], result: 'text', impl: (a) => chr(int(a[0])) },
  { name: 'to_hex', args: ['int4'], result: 'text', impl: (a) => toHex(int(a[0]), 32) },
  { name: 'to_hex', args: ['int8'], result: 'text', impl: (a) => toHex(int(a[0]), 64) },
  { name: 'md5', args: ['text'], result: 'text', impl: (a) => md5Hex(Buffer.from(str(a[0]), 'utf8')) },
  { name: 'md5', args: ['bytea'], result: 'text', impl: (a) => md5Hex(bytes(a[0])) },
  { name: 'sha224', args: ['bytea'], result: 'bytea', impl: digest('sha224') },
  { name: 'sha256', args: ['bytea'], result: 'bytea', impl: digest('sha256') },
  { name: 'sha384', args: ['bytea'], result: 'bytea', impl: digest('sha384') },
  { name: 'sha512', args: ['bytea'], result: 'bytea', impl: digest('sha512') },
  { name: 'encode', args: ['bytea', 'text'], result: 'text', impl: (a) => encode(bytes(a[0]), str(a[1])) },
  { name: 'decode', args: ['text', 'text'], result: 'bytea', impl: (a) => decode(str(a[0]), str(a[1])) },
  {
    name: 'convert_to',
    args: ['text', 'name'],
    result: 'bytea',
    impl: (a) => Buffer.from(str(a[0]), checkUtf8(str(a[1]))),
  },
  {
    name: 'convert_from',
    args: ['bytea', 'name'],
    result: 'text',
    impl: (a) => bytes(a[0]).toString(checkUtf8(str(a[1]))),
  },
  { name: 'pg_client_encoding', args: [], result: 'name', volatility: 'stable', impl: () => 'UTF8' },
  // concat and format take any types and print them with their output functions.
  {
    name: 'concat',
    args: ['any'],
    variadic: true,
    result: 'text',
    strict: false,
    volatility: 'stable',
    bind: (types) => (a, ctx) => concatValues(types, a, 0, ctx, ''),
  },
  {
    name: 'concat_ws',
    args: ['text', 'any'],
    variadic: true,
    result: 'text',
    strict: false,
    volatility: 'stable',
    bind: (types) => (a, ctx) => (a[0] === null ? null : concatValues(types, a, 1, ctx, str(a[0]))),
  },
  {
    name: 'format',
    args: ['text'],
    result: 'text',
    strict: false,
    volatility: 'stable',
    bind: (types) => (a, ctx) => (a[0] === null ? null : format(str(a[0]), types, a, ctx)),
  },
  {
    name: 'format',
    args: ['text', 'any'],
    variadic: true,
    result: 'text',
    strict: false,
    volatility: 'stable',
    bind: (types) => (a, ctx) => (a[0] === null ? null : format(str(a[0]), types, a, ctx)),
  },
  // Regular expressions
  {
    name: 'regexp_replace',
    args: ['text', 'text', 'text'],
    result: 'text',
    impl: (a) => regexpReplace(str(a[0]), str(a[1]), str(a[2]), ''),
  },
  {
    name: 'regexp_replace',
    args: ['text', 'text', 'text', 'text'],
    result: 'text',
    impl: (a) => regexpReplace(str(a[0]), str(a[1]), str(a[2]), str(a[3])),
  },
  { name: 'regexp_match', args: ['text', 'text'], result: 'text[]', impl: (a) => regexpMatch(str(a[0]), str(a[1]), '') },
  {
    name: 'regexp_match',
    args: ['text', 'text', 'text'],
    result: 'text[]',
    impl: (a) => regexpMatch(str(a[0]), str(a[1]), str(a[2])),
  },
  { name: 'regexp_like', args: ['text', 'text'], result: 'bool', impl: (a) => regexpMatch(str(a[0]), str(a[1]), '') !== null },
  {
    name: 'regexp_like',
    args: ['text', 'text', 'text'],
    result: 'bool',
    impl: (a) => regexpMatch(str(a[0]), str(a[1]), str(a[2])) !== null,
  },
  { name: 'regexp_count', args: ['text', 'text'], result: 'int4', impl: (a) => BigInt(regexpCount(str(a[0]), str(a[1]), '')) },
  { name: 'like_escape', args: ['text', 'text'], result: 'text', impl: (a) => likeEscape(str(a[0]), str(a[1])) },
  { name: 'similar_to_escape', args: ['text'], result: 'text', impl: (a) => similarToEscape(str(a[0])) },
  {
    name: 'similar_to_escape',
    args: ['text', 'text'],
    result: 'text',
    impl: (a) => similarToEscape(str(a[0]), str(a[1])),
  },
  // similar_escape(pattern, escape): the pre-PostgreSQL 13 spelling; a NULL escape means none.
  {
    name: 'similar_escape',
    args: ['text', 'text'],
    result: 'text',
    strict: false,
    impl: (a) => (a[0] === null ? null : similarToEscape(str(a[0]), a[1] === null ? null : str(a[1]))),
  },
];

function bpcharLength(s: string): number {
  return codePointLength(s.slice(0, lengthWithoutTrailingSpaces(s)));
}

function checkUtf8(encoding: string): 'utf8' {
  const e = encoding.toLowerCase().replace(/[-_]/g, '');
  if (e !== 'utf8' && e !== 'unicode') {
    throw invalidParameter(`invalid destination encoding name "${encoding}"`);
  }
  return 'utf8';
}

// ---------------------------------------------------------------------------------------
// Operators

export const stringOperators: readonly ScalarDef[] = [
  { name: '||', args: ['text', 'text'], result: 'text', impl: (a) => str(a[0]) + str(a[1]) },
  {
    name: '||',
    args: ['text', 'anynonarray'],
    result: 'text',
    volatility: 'stable',
    bind: (types) => (a, ctx) => str(a[0]) + castText(types[1] as SqlType, a[1] as Datum, ctx),
  },
  {
    name: '||',
    args: ['anynonarray', 'text'],
    result: 'text',
    volatility: 'stable',
    bind: (types) => (a, ctx) => castText(types[0] as SqlType, a[0] as Datum, ctx) + str(a[1]),
  },
  { name: '||', args: ['bytea', 'bytea'], result: 'bytea', impl: (a) => Buffer.concat([bytes(a[0]), bytes(a[1])]) },
  { name: '^@', args: ['text', 'text'], result: 'bool', impl: (a) => str(a[0]).startsWith(str(a[1])) },
  ...(['text', 'bpchar', 'name'] as const).flatMap((t): ScalarDef[] => [
    { name: '~~', args: [t, 'text'], result: 'bool', impl: (a) => like(str(a[0]), str(a[1])) },
    { name: '!~~', args: [t, 'text'], result: 'bool', impl: (a) => !like(str(a[0]), str(a[1])) },
    { name: '~~*', args: [t, 'text'], result: 'bool', impl: (a) => ilike(str(a[0]), str(a[1])) },
    { name: '!~~*', args: [t, 'text'], result: 'bool', impl: (a) => !ilike(str(a[0]), str(a[1])) },
    { name: '~', args: [t, 'text'], result: 'bool', impl: (a) => regexMatches(str(a[0]), str(a[1]), false) },
    { name: '!~', args: [t, 'text'], result: 'bool', impl: (a) => !regexMatches(str(a[0]), str(a[1]), false) },
    { name: '~*', args: [t, 'text'], result: 'bool', impl: (a) => regexMatches(str(a[0]), str(a[1]), true) },
    { name: '!~*', args: [t, 'text'], result: 'bool', impl: (a) => !regexMatches(str(a[0]), str(a[1]), true) },
  ]),
  { name: '~~', args: ['bytea', 'bytea'], result: 'bool', impl: (a) => byteaLike(bytes(a[0]), bytes(a[1])) },
  { name: '!~~', args: ['bytea', 'bytea'], result: 'bool', impl: (a) => !byteaLike(bytes(a[0]), bytes(a[1])) },
];
