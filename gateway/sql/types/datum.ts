import type { Numeric } from './numeric';

/**
 * SQL types and the JavaScript values that carry them (datums). A datum is always read
 * together with its static type (from the catalog or the planner), so the JavaScript value
 * alone need not say what it is: `bigint` is an int2, int4 or int8, `number` a float4 or
 * float8, and so on. NULL is `null` for every type.
 */

/** PostgreSQL type OIDs (pg_type.oid), as clients see them on the wire. */
export const TypeOids = {
  bool: 16,
  bytea: 17,
  char: 18,
  name: 19,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  oid: 26,
  json: 114,
  float4: 700,
  float8: 701,
  unknown: 705,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  numeric: 1700,
  regproc: 24,
  regclass: 2205,
  regtype: 2206,
  uuid: 2950,
  jsonb: 3802,
  void: 2278,
  record: 2249,
  // Arrays (only for catalog queries and ANY(array) parameters)
  boolArray: 1000,
  int2Array: 1005,
  int4Array: 1007,
  int8Array: 1016,
  textArray: 1009,
  varcharArray: 1015,
  float8Array: 1022,
  oidArray: 1028,
  int2vector: 22,
  oidvector: 30,
} as const;

export type ScalarTypeName =
  | 'bool'
  | 'int2'
  | 'int4'
  | 'int8'
  | 'float4'
  | 'float8'
  | 'numeric'
  | 'text'
  | 'varchar'
  | 'bpchar'
  | 'name'
  | 'bytea'
  | 'date'
  | 'timestamp'
  | 'timestamptz'
  | 'interval'
  | 'uuid'
  | 'jsonb'
  | 'oid'
  /** A string literal or parameter whose type is not known yet; resolved by context. */
  | 'unknown';

/**
 * A SQL type. `typmod` follows PostgreSQL: -1 when absent; for varchar(n) and char(n) it
 * is n (the length limit, in characters, without PostgreSQL's +4 header); for
 * numeric(p, s) it is `p << 16 | s`.
 */
export type SqlType =
  | { readonly kind: 'scalar'; readonly name: ScalarTypeName; readonly typmod: number }
  | { readonly kind: 'array'; readonly element: SqlType };

/**
 * The months/days/microseconds triple of a PostgreSQL interval. The three parts are kept
 * apart (1 month ≠ 30 days, 1 day ≠ 24 h across DST) and compared, like PostgreSQL, on
 * the total with months = 30 days and days = 24 h.
 */
export interface Interval {
  readonly months: number;
  readonly days: number;
  readonly micros: bigint;
}

/** A jsonb value: parsed JSON, with object keys deduplicated (last wins). */
export interface Jsonb {
  readonly json: JsonValue;
}

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/**
 * The value of a datum of each type:
 * - bool: boolean
 * - int2/int4/int8/oid: bigint (range-checked for the type)
 * - float4/float8: number (float4 rounded with Math.fround)
 * - numeric: Numeric (exact, with PostgreSQL's display scale: 1.50 stays 1.50)
 * - text/varchar/bpchar/name: string (bpchar padded to its length)
 * - bytea: Buffer
 * - date: number, days since 1970-01-01 (Infinity / -Infinity for 'infinity')
 * - timestamp/timestamptz: bigint, microseconds since 1970-01-01 00:00 UTC (the
 *   timestamp without zone is read as if it were UTC)
 * - interval: Interval
 * - uuid: string, canonical lowercase 8-4-4-4-12
 * - jsonb: Jsonb
 * - array: readonly Datum[]
 */
export type Datum = null | boolean | bigint | number | string | Buffer | Numeric | Interval | Jsonb | readonly Datum[];

export function scalarType(name: ScalarTypeName, typmod = -1): SqlType {
  return { kind: 'scalar', name, typmod };
}
