/**
 * Result values as sqllogictest prints them (../shared/sqllogictest/README.md, "Value
 * formatting"). The input is PostgreSQL's text output for a value (the runner asks the
 * client for raw text), so the declared column letter alone decides the format:
 * a numeric `avg()` in an `I` column prints truncated, a boolean prints as 1/0.
 * Pure: strings in, strings out.
 */
import type { ColumnType } from './parse';

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/** A leading number: sign, digits with an optional fraction, optional exponent. */
const NUMBER_PREFIX = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/;

export function formatValue(raw: string | null, type: ColumnType): string {
  if (raw === null) return 'NULL';
  if (raw === '') return '(empty)';
  switch (type) {
    case 'I':
      return formatInteger(raw);
    case 'R':
      return formatReal(raw);
    case 'T':
      return formatText(raw);
    default: {
      const never: never = type;
      throw new Error(`unknown column type ${String(never)}`);
    }
  }
}

/**
 * The value as a 64-bit integer: a fraction is truncated toward zero (exactly, on the
 * decimal text, so `0.99999999999999999999` is 0), text is read for a leading number
 * (none: 0), `t`/`f` (PostgreSQL's booleans) are 1/0, and values beyond 64 bits
 * (including ±Infinity) are clamped as a C conversion from double would.
 */
export function formatInteger(raw: string): string {
  if (raw === 't') return '1';
  if (raw === 'f') return '0';
  const special = specialFloat(raw.trim());
  if (special !== undefined) {
    if (Number.isNaN(special)) return '0';
    return (special > 0 ? INT64_MAX : INT64_MIN).toString();
  }
  const match = NUMBER_PREFIX.exec(raw.trimStart());
  if (match === null) return '0';
  return clampInt64(truncateDecimal(match[0])).toString();
}

/** printf `%.3f` of the value read as a double (t/f as 1/0, other text by its leading number). */
export function formatReal(raw: string): string {
  let value: number;
  if (raw === 't') value = 1;
  else if (raw === 'f') value = 0;
  else {
    const special = specialFloat(raw.trim());
    if (special !== undefined) value = special;
    else {
      const match = NUMBER_PREFIX.exec(raw.trimStart());
      value = match === null ? 0 : Number(match[0]);
    }
  }
  return printfFixed3(value);
}

/** The text with every byte outside printable ASCII (space to `~`) shown as `@`. */
export function formatText(raw: string): string {
  // Fast path: nothing to replace.
  if (/^[\x20-\x7e]*$/.test(raw)) return raw;
  let out = '';
  for (const byte of Buffer.from(raw, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e ? String.fromCharCode(byte) : '@';
  }
  return out;
}

/** PostgreSQL's text for float/numeric infinities and NaN. */
function specialFloat(text: string): number | undefined {
  switch (text) {
    case 'Infinity':
    case '+Infinity':
      return Infinity;
    case '-Infinity':
      return -Infinity;
    case 'NaN':
      return NaN;
    default:
      return undefined;
  }
}

/** The integer part of a decimal literal (`-12.7e1` -> -127), exactly. */
function truncateDecimal(literal: string): bigint {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(literal);
  if (m === null) throw new Error(`not a decimal literal: ${literal}`);
  const negative = m[1] === '-';
  const intDigits = m[2] ?? '';
  const fracDigits = m[3] ?? '';
  const exponent = m[4] === undefined ? 0 : Number(m[4]);
  const digits = intDigits + fracDigits;
  // The decimal point sits after `pointAt` digits; the exponent moves it.
  const pointAt = intDigits.length + exponent;
  let whole: bigint;
  if (!/[1-9]/.test(digits) || pointAt <= 0) whole = 0n;
  else if (pointAt > digits.length + 40) whole = INT64_MAX + 1n; // beyond 64 bits whatever the digits
  else whole = BigInt(pointAt >= digits.length ? digits + '0'.repeat(pointAt - digits.length) : digits.slice(0, pointAt));
  return negative ? -whole : whole;
}

function clampInt64(n: bigint): bigint {
  if (n > INT64_MAX) return INT64_MAX;
  if (n < INT64_MIN) return INT64_MIN;
  return n;
}

/**
 * C's printf("%.3f"): the exact binary value rounded to three decimals, ties to even
 * (glibc), `-` kept for negative zero, `inf`/`-inf`/`nan` for the specials. (JavaScript's
 * toFixed rounds ties up, and switches to exponents from 1e21.)
 */
export function printfFixed3(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  const negative = value < 0 || Object.is(value, -0);
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(value));
  const high = view.getUint32(0);
  const low = view.getUint32(4);
  const exponentBits = (high >>> 20) & 0x7ff;
  let mantissa = (BigInt(high & 0xfffff) << 32n) | BigInt(low);
  let exponent: number;
  if (exponentBits === 0) exponent = -1074;
  else {
    mantissa |= 1n << 52n;
    exponent = exponentBits - 1075;
  }
  // |value| * 1000 = mantissa * 1000 * 2^exponent, rounded half to even.
  const scaled = mantissa * 1000n;
  let thousandths: bigint;
  if (exponent >= 0) thousandths = scaled << BigInt(exponent);
  else {
    const divisor = 1n << BigInt(-exponent);
    thousandths = scaled / divisor;
    const twiceRemainder = (scaled % divisor) * 2n;
    if (twiceRemainder > divisor || (twiceRemainder === divisor && (thousandths & 1n) === 1n)) thousandths += 1n;
  }
  const digits = thousandths.toString().padStart(4, '0');
  return `${negative ? '-' : ''}${digits.slice(0, -3)}.${digits.slice(-3)}`;
}
