import { AssertionFailedError, MalformedEncodingError, SqlError, SqlStates } from '../../../common/errors';
import type { KeyDatum } from '../../../common/encoding/key-encoding';
import type { Datum, SqlType } from './datum';
import { Numeric } from './numeric';
import { stripTrailingSpaces } from './text-compare';
import { typeName } from './type-names';
import { uuidFromBytes, uuidToBytes } from './uuid';

/**
 * SQL datums ↔ the order-preserving key datums of common/encoding. The key order is the
 * SQL order, and equal SQL values give equal keys: so numeric keys drop the display scale
 * (1.0 and 1.00 are one key), float keys fold -0 into 0 and char(n) keys drop trailing
 * spaces. Where that loses something a client could see, keyDatumPreservesValue is false
 * and the row value must also store the column.
 */

const NULL_KEY: KeyDatum = Object.freeze({ type: 'null' });
const DATE_INFINITY_KEY = 2147483647n;
const DATE_NEG_INFINITY_KEY = -2147483648n;

/** Whether values of the type can be key columns (primary keys, index columns). */
export function isKeyEncodable(type: SqlType): boolean {
  if (type.kind === 'array') {
    return false;
  }
  return type.name !== 'interval' && type.name !== 'jsonb';
}

/** Raises 0A000 when a column of this type cannot be part of a key or index. */
export function checkKeyEncodable(type: SqlType): void {
  if (!isKeyEncodable(type)) {
    throw new SqlError(SqlStates.featureNotSupported, `column of type ${typeName(type)} cannot be part of a key/index`);
  }
}

/**
 * Whether decoding a key gives back exactly the datum that was encoded. False for
 * numeric (display scale), floats (-0) and unpadded bpchar (trailing spaces).
 */
export function keyDatumPreservesValue(type: SqlType): boolean {
  if (type.kind === 'array') {
    return false;
  }
  switch (type.name) {
    case 'numeric':
    case 'float4':
    case 'float8':
      return false;
    case 'bpchar':
      return type.typmod >= 0;
    default:
      return true;
  }
}

/** The key datum of a datum (NULL → the null key). */
export function toKeyDatum(type: SqlType, d: Datum): KeyDatum {
  if (d === null) {
    return NULL_KEY;
  }
  if (type.kind === 'array') {
    checkKeyEncodable(type);
    throw new AssertionFailedError('unreachable');
  }
  switch (type.name) {
    case 'bool':
      return { type: 'bool', value: d as boolean };
    case 'int2':
    case 'int4':
    case 'int8':
    case 'oid':
      return { type: 'int', value: d as bigint };
    case 'float4':
    case 'float8':
      return { type: 'float', value: d as number };
    case 'numeric':
      if (!(d instanceof Numeric)) {
        throw new AssertionFailedError(`numeric datum is a ${typeof d}`);
      }
      return { type: 'decimal', value: d.toDecimal() };
    case 'text':
    case 'varchar':
    case 'name':
    case 'unknown':
      return { type: 'string', value: d as string };
    case 'bpchar':
      return { type: 'string', value: stripTrailingSpaces(d as string) };
    case 'bytea':
      return { type: 'bytes', value: d as Uint8Array };
    case 'date': {
      const days = d as number;
      return {
        type: 'int',
        value: days === Infinity ? DATE_INFINITY_KEY : days === -Infinity ? DATE_NEG_INFINITY_KEY : BigInt(days),
      };
    }
    case 'timestamp':
    case 'timestamptz':
      return { type: 'timestamp', value: d as bigint };
    case 'uuid':
      return { type: 'uuid', value: uuidToBytes(d as string) };
    case 'interval':
    case 'jsonb':
      checkKeyEncodable(type);
      throw new AssertionFailedError('unreachable');
  }
}

function mismatch(type: SqlType, k: KeyDatum): MalformedEncodingError {
  return new MalformedEncodingError('key datum', 0, `a ${k.type} key datum cannot hold ${typeName(type)}`);
}

/** The datum of a decoded key datum (the null key → null). */
export function fromKeyDatum(type: SqlType, k: KeyDatum): Datum {
  if (k.type === 'null') {
    return null;
  }
  if (type.kind === 'array') {
    throw mismatch(type, k);
  }
  switch (type.name) {
    case 'bool':
      if (k.type !== 'bool') {
        throw mismatch(type, k);
      }
      return k.value;
    case 'int2':
    case 'int4':
    case 'int8':
    case 'oid':
      if (k.type !== 'int') {
        throw mismatch(type, k);
      }
      return k.value;
    case 'float4':
    case 'float8':
      if (k.type !== 'float') {
        throw mismatch(type, k);
      }
      return type.name === 'float4' ? Math.fround(k.value) : k.value;
    case 'numeric':
      if (k.type !== 'decimal') {
        throw mismatch(type, k);
      }
      return Numeric.fromDecimal(k.value);
    case 'text':
    case 'varchar':
    case 'name':
    case 'unknown':
      if (k.type !== 'string') {
        throw mismatch(type, k);
      }
      return k.value;
    case 'bpchar': {
      if (k.type !== 'string') {
        throw mismatch(type, k);
      }
      return type.typmod > 0 ? padBpchar(k.value, type.typmod) : k.value;
    }
    case 'bytea':
      if (k.type !== 'bytes') {
        throw mismatch(type, k);
      }
      return Buffer.from(k.value.buffer, k.value.byteOffset, k.value.byteLength);
    case 'date':
      if (k.type !== 'int') {
        throw mismatch(type, k);
      }
      return k.value === DATE_INFINITY_KEY ? Infinity : k.value === DATE_NEG_INFINITY_KEY ? -Infinity : Number(k.value);
    case 'timestamp':
    case 'timestamptz':
      if (k.type !== 'timestamp') {
        throw mismatch(type, k);
      }
      return k.value;
    case 'uuid':
      if (k.type !== 'uuid' || k.value.length !== 16) {
        throw mismatch(type, k);
      }
      return uuidFromBytes(k.value);
    case 'interval':
    case 'jsonb':
      throw mismatch(type, k);
  }
}

function padBpchar(s: string, n: number): string {
  // Keys hold values already fitted to char(n): only the stripped spaces come back.
  let chars = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!(c >= 0xdc00 && c <= 0xdfff)) {
      chars++;
    }
  }
  return chars < n ? s + ' '.repeat(n - chars) : s;
}
