import { DEFAULT_COLLATION_OID, C_COLLATION_OID } from './oids';

/**
 * The rows of pg_type: every type a Cairn column, parameter or result can have, the
 * catalog's own column types, and their array types. OIDs, names, lengths and
 * categories are PostgreSQL's, because drivers map types by OID and some (pgjdbc,
 * psycopg) look rows up by name or by `typinput = 'array_in'`.
 */

export interface PgTypeFacts {
  readonly oid: number;
  readonly typname: string;
  readonly typlen: number;
  readonly typbyval: boolean;
  /** 'b' base, 'p' pseudo-type. */
  readonly typtype: 'b' | 'p';
  readonly typcategory: string;
  readonly typispreferred: boolean;
  /** Element type of an array (or of name / int2vector / oidvector, as in PostgreSQL). */
  readonly typelem: number;
  readonly typarray: number;
  readonly typinput: string;
  readonly typoutput: string;
  readonly typreceive: string;
  readonly typsend: string;
  readonly typmodin: string;
  readonly typmodout: string;
  readonly typalign: 'c' | 's' | 'i' | 'd';
  readonly typstorage: 'p' | 'x' | 'm';
  readonly typcollation: number;
}

interface BaseSpec {
  readonly oid: number;
  readonly name: string;
  readonly len: number;
  readonly byval: boolean;
  readonly category: string;
  readonly preferred?: boolean;
  readonly elem?: number;
  /** 0 when the type has no array type here. */
  readonly array: number;
  /** Prefix of the I/O function names: 'bool' → boolin, 'date_' → date_in. */
  readonly io: string;
  /** Prefix of the typmod functions: 'varchar' → varchartypmodin. */
  readonly modio?: string;
  readonly align: 'c' | 's' | 'i' | 'd';
  readonly storage: 'p' | 'x' | 'm';
  readonly collation?: number;
  readonly pseudo?: boolean;
}

const BASE_TYPES: readonly BaseSpec[] = [
  { oid: 16, name: 'bool', len: 1, byval: true, category: 'B', preferred: true, array: 1000, io: 'bool', align: 'c', storage: 'p' },
  { oid: 17, name: 'bytea', len: -1, byval: false, category: 'U', array: 1001, io: 'bytea', align: 'i', storage: 'x' },
  { oid: 18, name: 'char', len: 1, byval: true, category: 'Z', array: 1002, io: 'char', align: 'c', storage: 'p' },
  { oid: 19, name: 'name', len: 64, byval: false, category: 'S', elem: 18, array: 1003, io: 'name', align: 'c', storage: 'p', collation: C_COLLATION_OID },
  { oid: 20, name: 'int8', len: 8, byval: true, category: 'N', array: 1016, io: 'int8', align: 'd', storage: 'p' },
  { oid: 21, name: 'int2', len: 2, byval: true, category: 'N', array: 1005, io: 'int2', align: 's', storage: 'p' },
  { oid: 22, name: 'int2vector', len: -1, byval: false, category: 'A', elem: 21, array: 1006, io: 'int2vector', align: 'i', storage: 'p' },
  { oid: 23, name: 'int4', len: 4, byval: true, category: 'N', array: 1007, io: 'int4', align: 'i', storage: 'p' },
  { oid: 24, name: 'regproc', len: 4, byval: true, category: 'N', array: 1008, io: 'regproc', align: 'i', storage: 'p' },
  { oid: 25, name: 'text', len: -1, byval: false, category: 'S', preferred: true, array: 1009, io: 'text', align: 'i', storage: 'x', collation: DEFAULT_COLLATION_OID },
  { oid: 26, name: 'oid', len: 4, byval: true, category: 'N', preferred: true, array: 1028, io: 'oid', align: 'i', storage: 'p' },
  { oid: 30, name: 'oidvector', len: -1, byval: false, category: 'A', elem: 26, array: 1013, io: 'oidvector', align: 'i', storage: 'p' },
  { oid: 114, name: 'json', len: -1, byval: false, category: 'U', array: 199, io: 'json_', align: 'i', storage: 'x' },
  { oid: 700, name: 'float4', len: 4, byval: true, category: 'N', array: 1021, io: 'float4', align: 'i', storage: 'p' },
  { oid: 701, name: 'float8', len: 8, byval: true, category: 'N', preferred: true, array: 1022, io: 'float8', align: 'd', storage: 'p' },
  { oid: 705, name: 'unknown', len: -2, byval: false, category: 'X', array: 0, io: 'unknown', align: 'c', storage: 'p', pseudo: true },
  { oid: 1042, name: 'bpchar', len: -1, byval: false, category: 'S', array: 1014, io: 'bpchar', modio: 'bpchar', align: 'i', storage: 'x', collation: DEFAULT_COLLATION_OID },
  { oid: 1043, name: 'varchar', len: -1, byval: false, category: 'S', array: 1015, io: 'varchar', modio: 'varchar', align: 'i', storage: 'x', collation: DEFAULT_COLLATION_OID },
  { oid: 1082, name: 'date', len: 4, byval: true, category: 'D', array: 1182, io: 'date_', align: 'i', storage: 'p' },
  { oid: 1114, name: 'timestamp', len: 8, byval: true, category: 'D', array: 1115, io: 'timestamp_', modio: 'timestamp', align: 'd', storage: 'p' },
  { oid: 1184, name: 'timestamptz', len: 8, byval: true, category: 'D', preferred: true, array: 1185, io: 'timestamptz_', modio: 'timestamptz', align: 'd', storage: 'p' },
  { oid: 1186, name: 'interval', len: 16, byval: false, category: 'T', preferred: true, array: 1187, io: 'interval_', modio: 'interval', align: 'd', storage: 'p' },
  { oid: 1700, name: 'numeric', len: -1, byval: false, category: 'N', array: 1231, io: 'numeric_', modio: 'numeric', align: 'i', storage: 'm' },
  { oid: 2205, name: 'regclass', len: 4, byval: true, category: 'N', array: 2210, io: 'regclass', align: 'i', storage: 'p' },
  { oid: 2206, name: 'regtype', len: 4, byval: true, category: 'N', array: 2211, io: 'regtype', align: 'i', storage: 'p' },
  { oid: 2249, name: 'record', len: -1, byval: false, category: 'P', array: 2287, io: 'record_', align: 'd', storage: 'x', pseudo: true },
  { oid: 2278, name: 'void', len: 4, byval: true, category: 'P', array: 0, io: 'void_', align: 'i', storage: 'p', pseudo: true },
  { oid: 2950, name: 'uuid', len: 16, byval: false, category: 'U', array: 2951, io: 'uuid_', align: 'c', storage: 'p' },
  { oid: 3802, name: 'jsonb', len: -1, byval: false, category: 'U', array: 3807, io: 'jsonb_', align: 'i', storage: 'x' },
];

function ioNames(prefix: string): { typinput: string; typoutput: string; typreceive: string; typsend: string } {
  return { typinput: `${prefix}in`, typoutput: `${prefix}out`, typreceive: `${prefix}recv`, typsend: `${prefix}send` };
}

function baseFacts(b: BaseSpec): PgTypeFacts {
  return {
    oid: b.oid,
    typname: b.name,
    typlen: b.len,
    typbyval: b.byval,
    typtype: b.pseudo === true ? 'p' : 'b',
    typcategory: b.category,
    typispreferred: b.preferred ?? false,
    typelem: b.elem ?? 0,
    typarray: b.array,
    ...ioNames(b.io),
    typmodin: b.modio === undefined ? '-' : `${b.modio}typmodin`,
    typmodout: b.modio === undefined ? '-' : `${b.modio}typmodout`,
    typalign: b.align,
    typstorage: b.storage,
    typcollation: b.collation ?? 0,
  };
}

function arrayFacts(b: BaseSpec): PgTypeFacts {
  return {
    oid: b.array,
    typname: `_${b.name}`,
    typlen: -1,
    typbyval: false,
    typtype: b.pseudo === true ? 'p' : 'b',
    typcategory: b.pseudo === true ? 'P' : 'A',
    typispreferred: false,
    typelem: b.oid,
    typarray: 0,
    ...ioNames('array_'),
    typmodin: b.modio === undefined ? '-' : `${b.modio}typmodin`,
    typmodout: b.modio === undefined ? '-' : `${b.modio}typmodout`,
    typalign: b.align === 'd' ? 'd' : 'i',
    typstorage: 'x',
    typcollation: b.collation ?? 0,
  };
}

/** Every pg_type row, by OID. */
export const PG_TYPES: readonly PgTypeFacts[] = [
  ...BASE_TYPES.map(baseFacts),
  ...BASE_TYPES.filter((b) => b.array !== 0).map(arrayFacts),
].sort((a, b) => a.oid - b.oid);

const BY_OID: ReadonlyMap<number, PgTypeFacts> = new Map(PG_TYPES.map((t) => [t.oid, t]));

export function pgTypeByOid(oid: number): PgTypeFacts | undefined {
  return BY_OID.get(oid);
}
