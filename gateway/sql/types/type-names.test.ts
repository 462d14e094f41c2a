import type { SqlType } from './datum';
import { scalarType, TypeOids } from './datum';
import { numericTypmod } from './numeric';
import { sqlErrorOf } from './test-util';
import type { TypeNameNode } from './type-names';
import {
  arrayOf,
  catalogTypeName,
  resolveTypeName,
  typeFromName,
  typeFromOid,
  typeLen,
  typeName,
  typeOid,
  typmodFromWire,
  wireTypmod,
} from './type-names';

/** A TypeName node shaped like libpg-query's output. */
function node(names: string[], typmods: number[] = [], dims = 0): TypeNameNode {
  return {
    names: names.map((sval) => ({ String: { sval } })),
    ...(typmods.length > 0 ? { typmods: typmods.map((v) => ({ A_Const: { ival: v === 0 ? {} : { ival: v } } })) } : {}),
    ...(dims > 0 ? { arrayBounds: Array.from({ length: dims }, () => ({ Integer: { ival: -1 } })) } : {}),
  };
}

describe('resolveTypeName', () => {
  test.each([
    [['pg_catalog', 'int4'], [], 'integer'],
    [['int4'], [], 'integer'],
    [['int'], [], 'integer'],
    [['serial'], [], 'integer'],
    [['bigserial'], [], 'bigint'],
    [['pg_catalog', 'int8'], [], 'bigint'],
    [['pg_catalog', 'int2'], [], 'smallint'],
    [['pg_catalog', 'float4'], [], 'real'],
    [['pg_catalog', 'float8'], [], 'double precision'],
    [['float'], [10], 'real'],
    [['float'], [25], 'double precision'],
    [['pg_catalog', 'numeric'], [], 'numeric'],
    [['pg_catalog', 'numeric'], [10, 2], 'numeric(10,2)'],
    [['pg_catalog', 'numeric'], [10, 0], 'numeric(10,0)'],
    [['pg_catalog', 'numeric'], [5], 'numeric(5,0)'],
    [['pg_catalog', 'numeric'], [3, -2], 'numeric(3,-2)'],
    [['decimal'], [4, 1], 'numeric(4,1)'],
    [['text'], [], 'text'],
    [['pg_catalog', 'varchar'], [10], 'character varying(10)'],
    [['pg_catalog', 'varchar'], [], 'character varying'],
    [['pg_catalog', 'bpchar'], [1], 'character(1)'],
    [['character'], [], 'character(1)'],
    [['bpchar'], [], 'bpchar'],
    [['name'], [], 'name'],
    [['bytea'], [], 'bytea'],
    [['pg_catalog', 'bool'], [], 'boolean'],
    [['date'], [], 'date'],
    [['pg_catalog', 'timestamp'], [], 'timestamp without time zone'],
    [['pg_catalog', 'timestamp'], [3], 'timestamp(3) without time zone'],
    [['pg_catalog', 'timestamp'], [0], 'timestamp(0) without time zone'],
    [['pg_catalog', 'timestamptz'], [], 'timestamp with time zone'],
    [['pg_catalog', 'timestamptz'], [9], 'timestamp(6) with time zone'],
    [['pg_catalog', 'interval'], [], 'interval'],
    [['pg_catalog', 'interval'], [3072], 'interval'],
    [['uuid'], [], 'uuid'],
    [['jsonb'], [], 'jsonb'],
    [['json'], [], 'jsonb'],
    [['oid'], [], 'oid'],
    [['_int4'], [], 'integer[]'],
    [['_text'], [], 'text[]'],
  ])('%j %j → %s', (names, mods, expected) => {
    expect(typeName(resolveTypeName(node(names, mods)))).toBe(expected);
  });

  test('arrays', () => {
    expect(typeName(resolveTypeName(node(['pg_catalog', 'int4'], [], 1)))).toBe('integer[]');
    expect(typeName(resolveTypeName(node(['text'], [], 2)))).toBe('text[]');
    expect(typeName(resolveTypeName(node(['pg_catalog', 'varchar'], [5], 1)))).toBe('character varying(5)[]');
  });

  test('errors', () => {
    let e = sqlErrorOf(() => resolveTypeName(node(['foo'])));
    expect([e.sqlState, e.message]).toEqual(['42704', 'type "foo" does not exist']);
    e = sqlErrorOf(() => resolveTypeName(node(['public', 'foo'])));
    expect(e.message).toBe('type "public.foo" does not exist');
    e = sqlErrorOf(() => resolveTypeName(node(['other', 'int4'])));
    expect(e.message).toBe('type "other.int4" does not exist');
    expect(sqlErrorOf(() => resolveTypeName(node(['pg_catalog', 'time']))).sqlState).toBe('0A000');
    expect(sqlErrorOf(() => resolveTypeName(node(['pg_catalog', 'varchar'], [0]))).message).toBe(
      'length for type varchar must be at least 1',
    );
    expect(sqlErrorOf(() => resolveTypeName(node(['pg_catalog', 'bpchar'], [20000000]))).message).toBe(
      'length for type char cannot exceed 10485760',
    );
    expect(sqlErrorOf(() => resolveTypeName(node(['pg_catalog', 'numeric'], [1001]))).sqlState).toBe('22023');
    expect(sqlErrorOf(() => resolveTypeName(node(['int4'], [3]))).sqlState).toBe('42601');
    expect(sqlErrorOf(() => resolveTypeName(node(['float'], [0]))).message).toBe(
      'precision for type float must be at least 1 bit',
    );
    expect(sqlErrorOf(() => resolveTypeName(node(['float'], [54]))).message).toBe(
      'precision for type float must be less than 54 bits',
    );
    expect(sqlErrorOf(() => resolveTypeName({ names: [] })).sqlState).toBe('42601');
  });

  test('typeFromName', () => {
    expect(typeFromName('INT4')).toEqual(scalarType('int4'));
    expect(typeFromName('character varying')).toEqual(scalarType('varchar'));
    expect(typeFromName('_oid')).toEqual(arrayOf(scalarType('oid')));
  });
});

describe('OIDs, names and lengths', () => {
  const cases: [SqlType, number, number, string][] = [
    [scalarType('bool'), 16, 1, 'bool'],
    [scalarType('int2'), 21, 2, 'int2'],
    [scalarType('int4'), 23, 4, 'int4'],
    [scalarType('int8'), 20, 8, 'int8'],
    [scalarType('float4'), 700, 4, 'float4'],
    [scalarType('float8'), 701, 8, 'float8'],
    [scalarType('numeric'), 1700, -1, 'numeric'],
    [scalarType('text'), 25, -1, 'text'],
    [scalarType('varchar', 5), 1043, -1, 'varchar'],
    [scalarType('bpchar', 5), 1042, -1, 'bpchar'],
    [scalarType('name'), 19, 64, 'name'],
    [scalarType('bytea'), 17, -1, 'bytea'],
    [scalarType('date'), 1082, 4, 'date'],
    [scalarType('timestamp'), 1114, 8, 'timestamp'],
    [scalarType('timestamptz'), 1184, 8, 'timestamptz'],
    [scalarType('interval'), 1186, 16, 'interval'],
    [scalarType('uuid'), 2950, 16, 'uuid'],
    [scalarType('jsonb'), 3802, -1, 'jsonb'],
    [scalarType('oid'), 26, 4, 'oid'],
    [scalarType('unknown'), 705, -2, 'unknown'],
    [arrayOf(scalarType('int4')), 1007, -1, '_int4'],
    [arrayOf(scalarType('text')), 1009, -1, '_text'],
    [arrayOf(scalarType('oid')), 1028, -1, '_oid'],
    [arrayOf(scalarType('varchar')), 1015, -1, '_varchar'],
    [arrayOf(scalarType('numeric')), 1231, -1, '_numeric'],
  ];

  test.each(cases)('%j: oid %d, typlen %d, typname %s', (type, oid, len, typname) => {
    expect(typeOid(type)).toBe(oid);
    expect(typeLen(type)).toBe(len);
    expect(catalogTypeName(type)).toBe(typname);
    const back = typeFromOid(oid)!;
    expect(typeOid(back)).toBe(oid);
  });

  test('json OIDs map to jsonb; unknown OIDs to undefined', () => {
    expect(typeFromOid(TypeOids.json)).toEqual(scalarType('jsonb'));
    expect(typeFromOid(199)).toEqual(arrayOf(scalarType('jsonb')));
    expect(typeFromOid(1083)).toBeUndefined();
    expect(typeFromOid(123456)).toBeUndefined();
  });

  test('wire typmods (atttypmod)', () => {
    expect(wireTypmod(scalarType('varchar', 10))).toBe(14);
    expect(wireTypmod(scalarType('numeric', numericTypmod(10, 2)))).toBe(655366);
    expect(wireTypmod(scalarType('timestamp', 3))).toBe(3);
    expect(wireTypmod(scalarType('text'))).toBe(-1);
    expect(wireTypmod(arrayOf(scalarType('bpchar', 2)))).toBe(6);
    expect(typmodFromWire('varchar', 14)).toBe(10);
    expect(typmodFromWire('numeric', 655366)).toBe(numericTypmod(10, 2));
    expect(typmodFromWire('int4', 8)).toBe(-1);
  });
});
