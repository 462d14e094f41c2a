/**
 * gateway/sql/types: SQL values. What a type is (SqlType, names, OIDs), what its values
 * are (Datum, Numeric, Interval, Jsonb), and every way a value is written: PostgreSQL text
 * and binary formats, order-preserving keys, row values; plus comparison, hashing and
 * casts. See OVERVIEW.md.
 */

export type { Datum, Interval, Jsonb, JsonValue, ScalarTypeName, SqlType } from './datum';
export { scalarType, TypeOids } from './datum';

export type { NumericKind } from './numeric';
export {
  Numeric,
  NUMERIC_MAX_DSCALE,
  NUMERIC_MAX_INTEGER_DIGITS,
  NUMERIC_MAX_PRECISION,
  numericTypmod,
  numericTypmodPrecision,
  numericTypmodScale,
} from './numeric';

export type { TypeNameNode } from './type-names';
export {
  arrayElementOid,
  arrayOf,
  catalogTypeName,
  MAX_CHAR_LENGTH,
  MAX_TIMESTAMP_PRECISION,
  pgTypmod,
  resolveTypeName,
  sameBaseType,
  sameType,
  typeFromName,
  typeFromOid,
  typeLen,
  typeName,
  typeOid,
  typmodFromWire,
  wireTypmod,
} from './type-names';

export type { TextFormatOptions } from './text-format';
export { applyCharLength, formatText, parseText, truncateName } from './text-format';
export { decodeBinary, encodeBinary } from './binary-format';

export type { DatumComparator, DatumKey } from './compare';
export { comparatorFor, compareDatums, compareNullable, datumKey, datumsEqual, tupleKey } from './compare';

export type { CastContext, CastOptions } from './cast';
export { canCast, castDatum, commonSupertype } from './cast';

export { checkKeyEncodable, fromKeyDatum, isKeyEncodable, keyDatumPreservesValue, toKeyDatum } from './key-datum';

export type { RowColumn } from './value-codec';
export { decodeRowValue, encodeRowValue, ROW_VALUE_VERSION, rowValueColumnIds } from './value-codec';

export type { TimeZone } from './timezone';
export { fixedOffsetZone, formatOffset, resolveTimeZone, UTC } from './timezone';

export type { DateTimeContext } from './datetime';
export {
  formatDate,
  formatTimestamp,
  formatTimestamptz,
  localToUtc,
  parseDate,
  parseTimestamp,
  parseTimestamptz,
  roundTimestampToPrecision,
  utcToLocal,
} from './datetime';
export {
  civilFromDays,
  DATE_MAX_DAYS,
  DATE_MIN_DAYS,
  daysFromCivil,
  daysInMonth,
  isLeapYear,
  MICROS_PER_DAY,
  POSTGRES_EPOCH_DAYS,
  POSTGRES_EPOCH_MICROS,
  TIMESTAMP_END_MICROS,
  TIMESTAMP_INFINITY,
  TIMESTAMP_MIN_MICROS,
  TIMESTAMP_NEG_INFINITY,
} from './civil-date';
export {
  compareIntervals,
  formatInterval,
  intervalSpanMicros,
  makeInterval,
  negateInterval,
  parseInterval,
  ZERO_INTERVAL,
} from './interval';
export { compareJsonb, formatJsonb, jsonbEquals, parseJsonb, sortedKeys, toJsonb } from './jsonb';
export { formatFloat4, formatFloat8, parseFloat4, parseFloat8 } from './float-text';
export { codePointLength, compareBpchar, compareCodePoints, stripTrailingSpaces } from './text-compare';
export { parseUuid, uuidFromBytes, uuidToBytes } from './uuid';
