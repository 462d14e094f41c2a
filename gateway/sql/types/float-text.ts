import { SqlError, SqlStates } from '../../../common/errors';

/**
 * float4 / float8 text I/O as PostgreSQL 12+ (extra_float_digits = 1): the shortest
 * digits that read back exactly, in fixed notation when the decimal exponent is in
 * [-4, 15) for float8 ([-4, 6) for float4), else 'd.ddde+XX'.
 */

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

type FloatTypeName = 'real' | 'double precision';

function badSyntax(typeName: FloatTypeName, text: string): SqlError {
  return new SqlError(SqlStates.invalidTextRepresentation, `invalid input syntax for type ${typeName}: "${text}"`);
}

function outOfRange(typeName: FloatTypeName, text: string): SqlError {
  return new SqlError(SqlStates.numericValueOutOfRange, `"${text}" is out of range for type ${typeName}`);
}

const SPECIALS: ReadonlyMap<string, number> = new Map([
  ['nan', NaN],
  ['infinity', Infinity],
  ['+infinity', Infinity],
  ['-infinity', -Infinity],
  ['inf', Infinity],
  ['+inf', Infinity],
  ['-inf', -Infinity],
]);

/** strtod-style input with PostgreSQL's range checks; returns a double (not yet rounded to float4). */
function parseFloatText(text: string, typeName: FloatTypeName): number {
  let start = 0;
  let end = text.length;
  while (start < end && isSpace(text.charCodeAt(start))) {
    start++;
  }
  while (end > start && isSpace(text.charCodeAt(end - 1))) {
    end--;
  }
  if (start === end) {
    throw badSyntax(typeName, text);
  }
  let i = start;
  let c = text.charCodeAt(i);
  if (c === 0x2b || c === 0x2d) {
    i++;
  }
  let mantissaDigits = 0;
  let nonZeroDigit = false;
  while (i < end && isDigit((c = text.charCodeAt(i)))) {
    mantissaDigits++;
    nonZeroDigit ||= c !== 0x30;
    i++;
  }
  if (i < end && text.charCodeAt(i) === 0x2e) {
    i++;
    while (i < end && isDigit((c = text.charCodeAt(i)))) {
      mantissaDigits++;
      nonZeroDigit ||= c !== 0x30;
      i++;
    }
  }
  if (mantissaDigits === 0) {
    const special = SPECIALS.get(text.slice(start, end).toLowerCase());
    if (special === undefined) {
      throw badSyntax(typeName, text);
    }
    return special;
  }
  if (i < end && (text.charCodeAt(i) === 0x65 || text.charCodeAt(i) === 0x45)) {
    i++;
    c = text.charCodeAt(i);
    if (c === 0x2b || c === 0x2d) {
      i++;
    }
    const expStart = i;
    while (i < end && isDigit(text.charCodeAt(i))) {
      i++;
    }
    if (i === expStart) {
      throw badSyntax(typeName, text);
    }
  }
  if (i !== end) {
    throw badSyntax(typeName, text);
  }
  const v = Number(start === 0 && end === text.length ? text : text.slice(start, end));
  if (!Number.isFinite(v) || (v === 0 && nonZeroDigit)) {
    throw outOfRange(typeName, text);
  }
  return v;
}

export function parseFloat8(text: string): number {
  return parseFloatText(text, 'double precision');
}

export function parseFloat4(text: string): number {
  const v = parseFloatText(text, 'real');
  const f = Math.fround(v);
  if ((f === 0 && v !== 0) || (!Number.isFinite(f) && Number.isFinite(v))) {
    throw outOfRange('real', text);
  }
  return f;
}

/** Formats shortest digits `digits` (no sign, no dot) with decimal exponent `exp`. */
function layout(negative: boolean, digits: string, exp: number, fixedLimit: number): string {
  const sign = negative ? '-' : '';
  if (exp >= -4 && exp < fixedLimit) {
    if (exp < 0) {
      return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
    }
    if (exp >= digits.length - 1) {
      return `${sign}${digits}${'0'.repeat(exp - digits.length + 1)}`;
    }
    return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  }
  const mantissa = digits.length === 1 ? digits : `${digits.charAt(0)}.${digits.slice(1)}`;
  const absExp = Math.abs(exp);
  return `${sign}${mantissa}e${exp < 0 ? '-' : '+'}${absExp < 10 ? '0' : ''}${absExp}`;
}

/** Splits JavaScript's exponential form '-1.25e+2' into digits '125' and exponent 2. */
function splitExponential(s: string): { negative: boolean; digits: string; exp: number } {
  const negative = s.charCodeAt(0) === 0x2d;
  const body = negative ? s.slice(1) : s;
  const e = body.indexOf('e');
  const mantissa = body.slice(0, e);
  const digits = mantissa.length > 1 ? mantissa.charAt(0) + mantissa.slice(2) : mantissa;
  return { negative, digits, exp: Number(body.slice(e + 1)) };
}

function special(v: number): string | undefined {
  if (Number.isNaN(v)) {
    return 'NaN';
  }
  if (v === Infinity) {
    return 'Infinity';
  }
  if (v === -Infinity) {
    return '-Infinity';
  }
  if (v === 0) {
    return Object.is(v, -0) ? '-0' : '0';
  }
  return undefined;
}

/** float8 output. */
export function formatFloat8(v: number): string {
  const sp = special(v);
  if (sp !== undefined) {
    return sp;
  }
  const abs = v < 0 ? -v : v;
  if (abs >= 1e-4 && abs < 1e15) {
    // JavaScript prints these in fixed notation with the same shortest digits.
    return String(v);
  }
  const { negative, digits, exp } = splitExponential(v.toExponential());
  return layout(negative, digits, exp, 15);
}

/** float4 output: the shortest digits that read back as the same float4. */
export function formatFloat4(value: number): string {
  const v = Math.fround(value);
  const sp = special(v);
  if (sp !== undefined) {
    return sp;
  }
  for (let p = 1; p <= 9; p++) {
    const s = v.toExponential(p - 1);
    if (Math.fround(Number(s)) === v) {
      const { negative, digits, exp } = splitExponential(s);
      let end = digits.length;
      while (end > 1 && digits.charCodeAt(end - 1) === 0x30) {
        end--;
      }
      return layout(negative, digits.slice(0, end), exp, 6);
    }
  }
  return formatFloat8(v); // unreachable: 9 digits always identify a float4
}
