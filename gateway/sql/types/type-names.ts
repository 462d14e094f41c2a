import { SqlError, SqlStates } from '../../../common/errors';
import type { ScalarTypeName, SqlType } from './datum';
import { scalarType, TypeOids } from './datum';
import { numericTypmod, numericTypmodPrecision, numericTypmodScale } from './numeric';

/**
 * Type names: from the parser's TypeName node to SqlType, and from SqlType to what
 * clients see (OID, format_type text, typlen, the atttypmod of RowDescription).
 */

/** The parts of libpg-query's TypeName node read here (structurally compatible with @pgsql/types). */
export interface TypeNameNode {
  readonly names?: readonly unknown[];
  readonly typmods?: readonly unknown[];
  readonly arrayBounds?: readonly unknown[];
  readonly setof?: boolean;
  readonly pct_type?: boolean;
}

/** varchar(n) / char(n) limit (PostgreSQL's MaxAttrSize in characters). */
export const MAX_CHAR_LENGTH = 10_485_760;
/** Largest fractional-second precision of timestamp(p). */
export const MAX_TIMESTAMP_PRECISION = 6;
/** name is at most NAMEDATALEN - 1 bytes. */
export const NAME_MAX_BYTES = 63;

/** The catalog name (pg_type.typname) and the SQL-standard spellings the grammar leaves alone. */
const SCALAR_BY_NAME: ReadonlyMap<string, ScalarTypeName> = new Map<string, ScalarTypeName>([
  ['bool', 'bool'],
  ['boolean', 'bool'],
  ['int2', 'int2'],
  ['smallint', 'int2'],
  ['smallserial', 'int2'],
  ['serial2', 'int2'],
  ['int4', 'int4'],
  ['int', 'int4'],
  ['integer', 'int4'],
  ['serial', 'int4'],
  ['serial4', 'int4'],
  ['int8', 'int8'],
  ['bigint', 'int8'],
  ['bigserial', 'int8'],
  ['serial8', 'int8'],
  ['float4', 'float4'],
  ['real', 'float4'],
  ['float8', 'float8'],
  ['double precision', 'float8'],
  ['float', 'float8'],
  ['numeric', 'numeric'],
  ['decimal', 'numeric'],
  ['text', 'text'],
  ['varchar', 'varchar'],
  ['character varying', 'varchar'],
  ['bpchar', 'bpchar'],
  ['char', 'bpchar'],
  ['character', 'bpchar'],
  ['name', 'name'],
  ['bytea', 'bytea'],
  ['date', 'date'],
  ['timestamp', 'timestamp'],
  ['timestamp without time zone', 'timestamp'],
  ['timestamptz', 'timestamptz'],
  ['timestamp with time zone', 'timestamptz'],
  ['interval', 'interval'],
  ['uuid', 'uuid'],
  ['jsonb', 'jsonb'],
  ['json', 'jsonb'],
  ['oid', 'oid'],
  ['unknown', 'unknown'],
]);

/** PostgreSQL types Cairn knows of but does not implement: 0A000 rather than "does not exist". */
const UNSUPPORTED_TYPES: ReadonlySet<string> = new Set([
  'time',
  'timetz',
  'bit',
  'varbit',
  'money',
  'inet',
  'cidr',
  'macaddr',
  'macaddr8',
  'xml',
  'point',
  'line',
  'lseg',
  'box',
  'path',
  'polygon',
  'circle',
  'tsvector',
  'tsquery',
  'int4range',
  'int8range',
  'numrange',
  'tsrange',
  'tstzrange',
  'daterange',
  'regclass',
  'regtype',
  'regproc',
  'regprocedure',
  'regoper',
  'regoperator',
  'regnamespace',
  'regrole',
  'regconfig',
  'regdictionary',
  'int2vector',
  'oidvector',
  'record',
  'void',
  'anyelement',
  'anyarray',
  'cstring',
  'pg_lsn',
  'txid_snapshot',
  'pg_snapshot',
  'xid',
  'xid8',
  'cid',
  'tid',
  'jsonpath',
]);

function nameParts(node: TypeNameNode): string[] {
  const parts: string[] = [];
  for (const n of node.names ?? []) {
    const s = (n as { String?: { sval?: unknown } }).String?.sval;
    if (typeof s !== 'string') {
      throw new SqlError(SqlStates.syntaxError, 'improper type name');
    }
    parts.push(s);
  }
  if (parts.length === 0) {
    throw new SqlError(SqlStates.syntaxError, 'improper type name');
  }
  return parts;
}

function typmodArgs(node: TypeNameNode): number[] {
  const out: number[] = [];
  for (const t of node.typmods ?? []) {
    const c = (t as { A_Const?: { ival?: { ival?: unknown } } }).A_Const;
    if (c?.ival === undefined) {
      throw new SqlError(SqlStates.syntaxError, 'type modifiers must be simple constants or identifiers');
    }
    const v = c.ival.ival ?? 0; // protobuf JSON leaves out zero
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      throw new SqlError(SqlStates.syntaxError, 'type modifiers must be simple constants or identifiers');
    }
    out.push(v);
  }
  return out;
}

/**
 * Resolves a TypeName as libpg-query gives it (`integer` → ["pg_catalog", "int4"],
 * `varchar(10)` with typmods [10], `int[]` with arrayBounds) to a SqlType.
 * Unknown names → 42704; known but unimplemented PostgreSQL types → 0A000.
 */
export function resolveTypeName(node: TypeNameNode): SqlType {
  if (node.setof === true || node.pct_type === true) {
    throw new SqlError(SqlStates.featureNotSupported, 'SETOF and %TYPE are not supported');
  }
  const parts = nameParts(node);
  if (parts.length > 2 || (parts.length === 2 && parts[0] !== 'pg_catalog' && parts[0] !== 'public')) {
    throw new SqlError(SqlStates.undefinedObject, `type "${parts.join('.')}" does not exist`);
  }
  const name = parts[parts.length - 1]!;
  const mods = typmodArgs(node);
  let type = resolveScalarName(name, mods, parts.join('.'));
  const dims = node.arrayBounds?.length ?? 0;
  if (dims > 0 && type.kind === 'array') {
    // int4[] of an `_int4`: PostgreSQL arrays of arrays are still one array type.
    return type;
  }
  if (dims > 0) {
    type = arrayOf(type);
  }
  return type;
}

/** Resolves a bare type name such as 'int4', 'character varying' or '_text' (no typmods). */
export function typeFromName(name: string): SqlType {
  return resolveScalarName(name.toLowerCase(), [], name);
}

export function arrayOf(element: SqlType): SqlType {
  if (element.kind === 'array') {
    return element;
  }
  return { kind: 'array', element };
}

function resolveScalarName(name: string, mods: readonly number[], display: string): SqlType {
  if (name.startsWith('_') && mods.length === 0) {
    // pg_type names of array types: _int4, _text, _json.
    const elementName = name === '_json' ? 'jsonb' : name.slice(1);
    if (isScalarTypeName(elementName) && elementName !== 'unknown') {
      return arrayOf(scalarType(elementName));
    }
  }
  const scalar = SCALAR_BY_NAME.get(name);
  if (scalar === undefined) {
    if (UNSUPPORTED_TYPES.has(name)) {
      throw new SqlError(SqlStates.featureNotSupported, `type ${name} is not supported`);
    }
    throw new SqlError(SqlStates.undefinedObject, `type "${display}" does not exist`);
  }
  if (name === 'float' && mods.length > 0) {
    return floatWithPrecision(mods);
  }
  return scalarType(scalar, typmodFor(scalar, name, mods));
}

function floatWithPrecision(mods: readonly number[]): SqlType {
  if (mods.length !== 1) {
    throw new SqlError(SqlStates.syntaxError, 'invalid type modifier');
  }
  const p = mods[0]!;
  if (p < 1) {
    throw new SqlError(SqlStates.invalidParameterValue, 'precision for type float must be at least 1 bit');
  }
  if (p > 53) {
    throw new SqlError(SqlStates.invalidParameterValue, 'precision for type float must be less than 54 bits');
  }
  return scalarType(p <= 24 ? 'float4' : 'float8');
}

function typmodFor(scalar: ScalarTypeName, spelled: string, mods: readonly number[]): number {
  switch (scalar) {
    case 'varchar':
    case 'bpchar': {
      if (mods.length === 0) {
        // CHARACTER alone is CHARACTER(1); bpchar alone has no limit.
        return scalar === 'bpchar' && spelled !== 'bpchar' ? 1 : -1;
      }
      if (mods.length > 1) {
        throw new SqlError(SqlStates.syntaxError, 'invalid type modifier');
      }
      const n = mods[0]!;
      const what = scalar === 'varchar' ? 'varchar' : 'char';
      if (n < 1) {
        throw new SqlError(SqlStates.invalidParameterValue, `length for type ${what} must be at least 1`);
      }
      if (n > MAX_CHAR_LENGTH) {
        throw new SqlError(SqlStates.invalidParameterValue, `length for type ${what} cannot exceed ${MAX_CHAR_LENGTH}`);
      }
      return n;
    }
    case 'numeric': {
      if (mods.length === 0) {
        return -1;
      }
      if (mods.length > 2) {
        throw new SqlError(SqlStates.syntaxError, 'invalid NUMERIC type modifier');
      }
      return numericTypmod(mods[0]!, mods[1] ?? 0);
    }
    case 'timestamp':
    case 'timestamptz': {
      if (mods.length === 0) {
        return -1;
      }
      if (mods.length > 1) {
        throw new SqlError(SqlStates.syntaxError, 'invalid type modifier');
      }
      const p = mods[0]!;
      const what = scalar === 'timestamp' ? 'TIMESTAMP' : 'TIMESTAMP WITH TIME ZONE';
      if (p < 0) {
        throw new SqlError(SqlStates.invalidParameterValue, `${what}(${p}) precision must not be negative`);
      }
      return Math.min(p, MAX_TIMESTAMP_PRECISION);
    }
    case 'interval':
      // Field restrictions (YEAR TO MONTH, ...) and interval(p) are accepted and not kept.
      return -1;
    default:
      if (mods.length > 0) {
        throw new SqlError(SqlStates.syntaxError, `type modifier is not allowed for type "${scalar}"`);
      }
      return -1;
  }
}

// ---------------------------------------------------------------------------------------
// From SqlType

const SCALAR_OID: Readonly<Record<ScalarTypeName, number>> = {
  bool: TypeOids.bool,
  int2: TypeOids.int2,
  int4: TypeOids.int4,
  int8: TypeOids.int8,
  float4: TypeOids.float4,
  float8: TypeOids.float8,
  numeric: TypeOids.numeric,
  text: TypeOids.text,
  varchar: TypeOids.varchar,
  bpchar: TypeOids.bpchar,
  name: TypeOids.name,
  bytea: TypeOids.bytea,
  date: TypeOids.date,
  timestamp: TypeOids.timestamp,
  timestamptz: TypeOids.timestamptz,
  interval: TypeOids.interval,
  uuid: TypeOids.uuid,
  jsonb: TypeOids.jsonb,
  oid: TypeOids.oid,
  unknown: TypeOids.unknown,
};

/** pg_type.typarray of each scalar (0: none). */
const ARRAY_OID: Readonly<Record<ScalarTypeName, number>> = {
  bool: 1000,
  int2: 1005,
  int4: 1007,
  int8: 1016,
  float4: 1021,
  float8: 1022,
  numeric: 1231,
  text: 1009,
  varchar: 1015,
  bpchar: 1014,
  name: 1003,
  bytea: 1001,
  date: 1182,
  timestamp: 1115,
  timestamptz: 1185,
  interval: 1187,
  uuid: 2951,
  jsonb: 3807,
  oid: 1028,
  unknown: 0,
};

const TYPLEN: Readonly<Record<ScalarTypeName, number>> = {
  bool: 1,
  int2: 2,
  int4: 4,
  int8: 8,
  float4: 4,
  float8: 8,
  numeric: -1,
  text: -1,
  varchar: -1,
  bpchar: -1,
  name: 64,
  bytea: -1,
  date: 4,
  timestamp: 8,
  timestamptz: 8,
  interval: 16,
  uuid: 16,
  jsonb: -1,
  oid: 4,
  unknown: -2,
};

const SCALAR_NAMES = Object.keys(SCALAR_OID) as ScalarTypeName[];
const SCALAR_BY_OID: ReadonlyMap<number, ScalarTypeName> = new Map([
  ...SCALAR_NAMES.map((n) => [SCALAR_OID[n], n] as const),
  [TypeOids.json, 'jsonb' as const],
]);
const ARRAY_ELEMENT_BY_OID: ReadonlyMap<number, ScalarTypeName> = new Map([
  ...SCALAR_NAMES.filter((n) => ARRAY_OID[n] !== 0).map((n) => [ARRAY_OID[n], n] as const),
  [199, 'jsonb' as const], // json[]
]);

/** pg_type.oid of a type (arrays: the element's array type). */
export function typeOid(type: SqlType): number {
  if (type.kind === 'scalar') {
    return SCALAR_OID[type.name];
  }
  const element = type.element;
  if (element.kind !== 'scalar' || ARRAY_OID[element.name] === 0) {
    throw new SqlError(SqlStates.featureNotSupported, `arrays of ${typeName(element)} are not supported`);
  }
  return ARRAY_OID[element.name];
}

/** The element OID of an array type, or 0 for a scalar. */
export function arrayElementOid(type: SqlType): number {
  return type.kind === 'array' ? typeOid(type.element) : 0;
}

/** The type of an OID (json maps to jsonb), or undefined for OIDs Cairn does not implement. */
export function typeFromOid(oid: number): SqlType | undefined {
  const scalar = SCALAR_BY_OID.get(oid);
  if (scalar !== undefined) {
    return scalarType(scalar);
  }
  const element = ARRAY_ELEMENT_BY_OID.get(oid);
  return element === undefined ? undefined : arrayOf(scalarType(element));
}

/** pg_type.typlen: bytes of a fixed-length type, -1 variable length, -2 C string. */
export function typeLen(type: SqlType): number {
  return type.kind === 'scalar' ? TYPLEN[type.name] : -1;
}

function isScalarTypeName(name: string): name is ScalarTypeName {
  return Object.prototype.hasOwnProperty.call(SCALAR_OID, name);
}

/** pg_type.typname ('int4', 'varchar', '_int4'). */
export function catalogTypeName(type: SqlType): string {
  return type.kind === 'scalar' ? type.name : `_${catalogTypeName(type.element)}`;
}

/**
 * PostgreSQL's format_type(oid, typmod) text: 'integer', 'character varying(10)',
 * 'numeric(10,2)', 'timestamp(3) with time zone', 'integer[]'.
 */
export function typeName(type: SqlType): string {
  if (type.kind === 'array') {
    return `${typeName(type.element)}[]`;
  }
  const t = type.typmod;
  switch (type.name) {
    case 'bool':
      return 'boolean';
    case 'int2':
      return 'smallint';
    case 'int4':
      return 'integer';
    case 'int8':
      return 'bigint';
    case 'float4':
      return 'real';
    case 'float8':
      return 'double precision';
    case 'numeric':
      return t < 0 ? 'numeric' : `numeric(${numericTypmodPrecision(t)},${numericTypmodScale(t)})`;
    case 'varchar':
      return t < 0 ? 'character varying' : `character varying(${t})`;
    case 'bpchar':
      return t < 0 ? 'bpchar' : `character(${t})`;
    case 'timestamp':
      return t < 0 ? 'timestamp without time zone' : `timestamp(${t}) without time zone`;
    case 'timestamptz':
      return t < 0 ? 'timestamp with time zone' : `timestamp(${t}) with time zone`;
    case 'text':
    case 'name':
    case 'bytea':
    case 'date':
    case 'interval':
    case 'uuid':
    case 'jsonb':
    case 'oid':
    case 'unknown':
      return type.name;
  }
}

/**
 * pg_attribute.atttypmod as PostgreSQL reports it in RowDescription: the typmod plus
 * the 4-byte header for varchar, bpchar and numeric; the precision for timestamps; -1
 * when there is none.
 */
export function wireTypmod(type: SqlType): number {
  if (type.kind === 'array') {
    return wireTypmod(type.element);
  }
  if (type.typmod < 0) {
    return -1;
  }
  switch (type.name) {
    case 'varchar':
    case 'bpchar':
    case 'numeric':
      return type.typmod + 4;
    case 'timestamp':
    case 'timestamptz':
      return type.typmod;
    default:
      return -1;
  }
}

/** PostgreSQL's name for it: the atttypmod clients see (alias of wireTypmod). */
export const pgTypmod = wireTypmod;

/** The SqlType typmod from a wire/catalog atttypmod (inverse of wireTypmod). */
export function typmodFromWire(name: ScalarTypeName, atttypmod: number): number {
  if (atttypmod < 0) {
    return -1;
  }
  switch (name) {
    case 'varchar':
    case 'bpchar':
    case 'numeric':
      return atttypmod >= 4 ? atttypmod - 4 : -1;
    case 'timestamp':
    case 'timestamptz':
      return Math.min(atttypmod, MAX_TIMESTAMP_PRECISION);
    default:
      return -1;
  }
}

/** Same type and typmod. */
export function sameType(a: SqlType, b: SqlType): boolean {
  if (a.kind === 'scalar') {
    return b.kind === 'scalar' && a.name === b.name && a.typmod === b.typmod;
  }
  return b.kind === 'array' && sameType(a.element, b.element);
}

/** Same type ignoring typmods (varchar(5) and varchar(10) are both varchar). */
export function sameBaseType(a: SqlType, b: SqlType): boolean {
  if (a.kind === 'scalar') {
    return b.kind === 'scalar' && a.name === b.name;
  }
  return b.kind === 'array' && sameBaseType(a.element, b.element);
}
