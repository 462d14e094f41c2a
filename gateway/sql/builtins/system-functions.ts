import { SqlError, SqlStates } from '../../../common/errors';
import { castDatum } from '../types/cast';
import type { Datum, ScalarTypeName, SqlType } from '../types/datum';
import { typeFromOid, typeName, typmodFromWire } from '../types/type-names';
import { comparatorFor } from './compare-ops';
import { bool, int, str } from './datum-access';
import { DEFAULT_VERSION } from './eval-context';
import type { ScalarDef, ScalarImpl } from './registry';
import { operatorDoesNotExist } from './resolve';
import { commonType, isUnknown, sameType, T, typeDisplayName } from './type-info';

/**
 * Session and catalog information functions (§9.26), conditional functions that are
 * also callable by name (nullif, greatest, least, coalesce, num_nulls), and
 * gen_random_uuid. Privilege checks answer true: access control is not enforced through
 * them.
 */

function unrecognizedSetting(name: string): SqlError {
  return new SqlError(SqlStates.undefinedObject, `unrecognized configuration parameter "${name}"`);
}

/** Type OIDs format_type knows that are not SQL types of ours. */
const OTHER_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [18, '"char"'],
  [22, 'int2vector'],
  [24, 'regproc'],
  [30, 'oidvector'],
  [114, 'json'],
  [142, 'xml'],
  [194, 'pg_node_tree'],
  [199, 'json[]'],
  [705, 'unknown'],
  [1083, 'time without time zone'],
  [1266, 'time with time zone'],
  [2205, 'regclass'],
  [2206, 'regtype'],
  [2249, 'record'],
  [2275, 'cstring'],
  [2276, '"any"'],
  [2277, 'anyarray'],
  [2278, 'void'],
  [2283, 'anyelement'],
  [3614, 'tsvector'],
]);

/** format_type(oid, typmod): the type's SQL name with its modifier (a catalog atttypmod). */
export function formatType(oid: bigint, typmod: bigint | null): string {
  const n = Number(oid);
  const other = OTHER_TYPE_NAMES.get(n);
  if (other !== undefined) return other;
  const t = typeFromOid(n);
  if (t === undefined) return '???';
  // char without a modifier prints as 'character' (typmod NULL) or 'bpchar' (typmod -1).
  if (t.kind === 'scalar' && t.name === 'bpchar' && typmod === null) return 'character';
  if (t.kind === 'array' || typmod === null) return typeName(t);
  const name: ScalarTypeName = t.name;
  return typeName({ kind: 'scalar', name, typmod: typmodFromWire(name, Number(typmod)) });
}

const ENCODINGS: ReadonlyMap<number, string> = new Map([
  [0, 'SQL_ASCII'],
  [6, 'UTF8'],
  [8, 'LATIN1'],
]);

const PRIVILEGE_FUNCTIONS = [
  'has_table_privilege',
  'has_schema_privilege',
  'has_database_privilege',
  'has_column_privilege',
  'has_any_column_privilege',
  'has_function_privilege',
  'has_sequence_privilege',
  'has_type_privilege',
  'has_language_privilege',
  'has_tablespace_privilege',
  'has_foreign_data_wrapper_privilege',
  'has_server_privilege',
  'pg_has_role',
] as const;

function privilegeFunctions(): ScalarDef[] {
  const defs: ScalarDef[] = [];
  for (const name of PRIVILEGE_FUNCTIONS) {
    for (let n = 2; n <= 4; n++) {
      defs.push({
        name,
        args: Array.from({ length: n }, () => 'any' as const),
        result: 'bool',
        volatility: 'stable',
        impl: () => true,
      });
    }
  }
  return defs;
}

function randomUuid(random: () => number): string {
  const bytes = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) bytes[i] = Math.floor(random() * 256) & 0xff;
  // Version 4, variant 10.
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function resultOfFirst(types: readonly SqlType[]): SqlType {
  const t = types[0] as SqlType;
  return isUnknown(t) ? T.text : t;
}

function nullif(left: SqlType, right: SqlType): ScalarImpl {
  const common = commonType([left, right]);
  if (common === undefined) throw operatorDoesNotExist('=', left, right);
  const cmp = comparatorFor(common);
  const toCommon = (v: Datum, t: SqlType): Datum =>
    sameType(t, common) ? v : castDatum(v, t, common, 'implicit');
  return (a) => {
    const x = a[0] ?? null;
    const y = a[1] ?? null;
    if (x === null || y === null) return x;
    return cmp(toCommon(x, left), toCommon(y, right)) === 0 ? null : x;
  };
}

/** greatest / least: NULLs are ignored; NULL only when every argument is NULL. */
function extremum(type: SqlType, greatest: boolean): (args: readonly Datum[]) => Datum {
  const cmp = comparatorFor(type);
  return (args) => {
    let best: Datum = null;
    for (const v of args) {
      if (v === null) continue;
      if (best === null || (greatest ? cmp(v, best) > 0 : cmp(v, best) < 0)) best = v;
    }
    return best;
  };
}

export const systemFunctions: readonly ScalarDef[] = [
  { name: 'version', args: [], result: 'text', volatility: 'stable', impl: (_a, ctx) => ctx.version ?? DEFAULT_VERSION },
  { name: 'current_database', args: [], result: 'name', volatility: 'stable', impl: (_a, ctx) => ctx.database },
  { name: 'current_catalog', args: [], result: 'name', volatility: 'stable', impl: (_a, ctx) => ctx.database },
  { name: 'current_schema', args: [], result: 'name', volatility: 'stable', impl: (_a, ctx) => ctx.schema ?? 'public' },
  {
    name: 'current_schemas',
    args: ['bool'],
    result: 'name[]',
    volatility: 'stable',
    impl: (a, ctx) => (bool(a[0]) ? ['pg_catalog', ctx.schema ?? 'public'] : [ctx.schema ?? 'public']),
  },
  { name: 'current_user', args: [], result: 'name', volatility: 'stable', impl: (_a, ctx) => ctx.user },
  { name: 'current_role', args: [], result: 'name', volatility: 'stable', impl: (_a, ctx) => ctx.user },
  { name: 'user', args: [], result: 'name', volatility: 'stable', impl: (_a, ctx) => ctx.user },
  {
    name: 'session_user',
    args: [],
    result: 'name',
    volatility: 'stable',
    impl: (_a, ctx) => ctx.sessionUser ?? ctx.user,
  },
  { name: 'pg_backend_pid', args: [], result: 'int4', volatility: 'stable', impl: (_a, ctx) => BigInt(ctx.backendPid ?? 0) },
  {
    name: 'current_setting',
    args: ['text'],
    result: 'text',
    volatility: 'stable',
    impl: (a, ctx) => {
      const v = ctx.setting(str(a[0]));
      if (v === undefined) throw unrecognizedSetting(str(a[0]));
      return v;
    },
  },
  {
    name: 'current_setting',
    args: ['text', 'bool'],
    result: 'text',
    volatility: 'stable',
    impl: (a, ctx) => {
      const v = ctx.setting(str(a[0]));
      if (v === undefined) {
        if (bool(a[1])) return null;
        throw unrecognizedSetting(str(a[0]));
      }
      return v;
    },
  },
  {
    name: 'pg_typeof',
    args: ['any'],
    result: 'text',
    strict: false,
    volatility: 'stable',
    bind: (types) => {
      const name = typeDisplayName(types[0] as SqlType);
      return () => name;
    },
  },
  ...privilegeFunctions(),
  {
    name: 'pg_get_userbyid',
    args: ['oid'],
    result: 'name',
    volatility: 'stable',
    impl: (a, ctx) => {
      const oid = Number(int(a[0]));
      return ctx.userNameById?.(oid) ?? `unknown (OID=${oid})`;
    },
  },
  {
    name: 'format_type',
    args: ['oid', 'int4'],
    result: 'text',
    strict: false,
    volatility: 'stable',
    impl: (a) => (a[0] === null ? null : formatType(int(a[0]), a[1] === null ? null : int(a[1]))),
  },
  { name: 'pg_table_is_visible', args: ['oid'], result: 'bool', volatility: 'stable', impl: () => true },
  { name: 'pg_type_is_visible', args: ['oid'], result: 'bool', volatility: 'stable', impl: () => true },
  { name: 'pg_function_is_visible', args: ['oid'], result: 'bool', volatility: 'stable', impl: () => true },
  { name: 'obj_description', args: ['oid'], result: 'text', strict: false, volatility: 'stable', impl: () => null },
  { name: 'obj_description', args: ['oid', 'name'], result: 'text', strict: false, volatility: 'stable', impl: () => null },
  { name: 'col_description', args: ['oid', 'int4'], result: 'text', strict: false, volatility: 'stable', impl: () => null },
  { name: 'shobj_description', args: ['oid', 'name'], result: 'text', strict: false, volatility: 'stable', impl: () => null },
  {
    name: 'pg_encoding_to_char',
    args: ['int4'],
    result: 'name',
    volatility: 'stable',
    impl: (a) => ENCODINGS.get(Number(int(a[0]))) ?? '',
  },
  { name: 'pg_is_in_recovery', args: [], result: 'bool', volatility: 'volatile', impl: () => false },
  {
    name: 'gen_random_uuid',
    args: [],
    result: 'uuid',
    volatility: 'volatile',
    impl: (_a, ctx) => randomUuid(ctx.random),
  },
  // Conditional expressions callable as functions.
  // NULLIF(a, b): a's type; a and b compare in their common type.
  {
    name: 'nullif',
    args: ['any', 'any'],
    result: (types) => resultOfFirst(types),
    strict: false,
    bind: (types) => nullif(types[0] as SqlType, types[1] as SqlType),
  },
  {
    name: 'coalesce',
    args: ['anycompatible'],
    variadic: true,
    result: 'anycompatible',
    strict: false,
    impl: (a) => a.find((v) => v !== null) ?? null,
  },
  {
    name: 'greatest',
    args: ['anycompatible'],
    variadic: true,
    result: 'anycompatible',
    strict: false,
    bind: (types) => extremum(types[0] as SqlType, true),
  },
  {
    name: 'least',
    args: ['anycompatible'],
    variadic: true,
    result: 'anycompatible',
    strict: false,
    bind: (types) => extremum(types[0] as SqlType, false),
  },
  {
    name: 'num_nulls',
    args: ['any'],
    variadic: true,
    result: 'int4',
    strict: false,
    impl: (a) => BigInt(a.filter((v) => v === null).length),
  },
  {
    name: 'num_nonnulls',
    args: ['any'],
    variadic: true,
    result: 'int4',
    strict: false,
    impl: (a) => BigInt(a.filter((v) => v !== null).length),
  },
];
