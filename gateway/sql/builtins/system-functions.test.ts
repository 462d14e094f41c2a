import { SqlError } from '../../../common/errors';
import { fixedEvalContext } from './eval-context';
import type { TextArg } from './testing';
import { callFunction, callOperator } from './testing';

// Expected values are PostgreSQL 15's where PostgreSQL has an answer.

const ctx = fixedEvalContext({
  database: 'shop',
  user: 'alice',
  sessionUser: 'bob',
  schema: 'app',
  version: 'PostgreSQL 15.0 (Cairn test)',
  backendPid: 4242,
  setting: (name) => (name === 'timezone' ? 'UTC' : undefined),
  userNameById: (oid) => (oid === 10 ? 'root' : undefined),
});

const fn = (name: string, ...args: TextArg[]): string | null => callFunction(name, args, ctx);
const i4 = (v: number): TextArg => ['int4', String(v)];
const oid = (v: number): TextArg => ['oid', String(v)];

describe('session information', () => {
  it('reads the context', () => {
    expect(fn('version')).toBe('PostgreSQL 15.0 (Cairn test)');
    expect(fn('current_database')).toBe('shop');
    expect(fn('current_schema')).toBe('app');
    expect(fn('current_schemas', ['bool', 'true'])).toBe('{pg_catalog,app}');
    expect(fn('current_user')).toBe('alice');
    expect(fn('session_user')).toBe('bob');
    expect(fn('pg_backend_pid')).toBe('4242');
    expect(fn('current_setting', ['text', 'timezone'])).toBe('UTC');
    expect(fn('current_setting', ['text', 'nope'], ['bool', 'true'])).toBeNull();
    expect(() => fn('current_setting', ['text', 'nope'])).toThrow(SqlError);
    try {
      fn('current_setting', ['text', 'nope']);
    } catch (err) {
      expect((err as SqlError).sqlState).toBe('42704');
      expect((err as SqlError).message).toBe('unrecognized configuration parameter "nope"');
    }
  });
});

describe('catalog helpers', () => {
  it('pg_typeof names the argument’s type', () => {
    expect(fn('pg_typeof', i4(1))).toBe('integer');
    expect(fn('pg_typeof', ['unknown', 'a'])).toBe('unknown');
    expect(fn('pg_typeof', ['timestamptz', null])).toBe('timestamp with time zone');
    expect(fn('pg_typeof', ['text[]', '{}'])).toBe('text[]');
  });

  it('format_type prints catalog types with modifiers', () => {
    expect(fn('format_type', oid(23), ['int4', null])).toBe('integer');
    expect(fn('format_type', oid(1043), i4(14))).toBe('character varying(10)');
    expect(fn('format_type', oid(1042), i4(9))).toBe('character(5)');
    expect(fn('format_type', oid(1042), ['int4', null])).toBe('character');
    expect(fn('format_type', oid(1042), i4(-1))).toBe('bpchar');
    expect(fn('format_type', oid(1043), i4(-1))).toBe('character varying');
    expect(fn('format_type', oid(1700), i4(655366))).toBe('numeric(10,2)');
    expect(fn('format_type', oid(1184), i4(3))).toBe('timestamp(3) with time zone');
    expect(fn('format_type', oid(1007), ['int4', null])).toBe('integer[]');
    expect(fn('format_type', oid(2205), ['int4', null])).toBe('regclass');
    expect(fn('format_type', oid(999999), ['int4', null])).toBe('???');
    expect(fn('format_type', ['oid', null], i4(1))).toBeNull();
  });

  it('answers the catalog queries of psql and drivers', () => {
    expect(fn('pg_get_userbyid', oid(10))).toBe('root');
    expect(fn('pg_get_userbyid', oid(77))).toBe('unknown (OID=77)');
    expect(fn('pg_table_is_visible', oid(16384))).toBe('t');
    expect(fn('has_table_privilege', ['text', 'alice'], ['text', 't'], ['text', 'SELECT'])).toBe('t');
    expect(fn('has_schema_privilege', ['oid', '2200'], ['text', 'USAGE'])).toBe('t');
    expect(fn('obj_description', oid(1), ['name', 'pg_class'])).toBeNull();
    expect(fn('col_description', oid(1), i4(1))).toBeNull();
    expect(fn('pg_encoding_to_char', i4(6))).toBe('UTF8');
  });
});

describe('conditional functions', () => {
  it('greatest and least ignore NULLs and use the common type', () => {
    expect(fn('greatest', i4(1), ['numeric', '2.5'], ['int4', null])).toBe('2.5');
    expect(fn('least', i4(3), ['int8', '2'], ['int2', '5'])).toBe('2');
    expect(fn('greatest', ['int4', null], ['int4', null])).toBeNull();
    expect(fn('least', ['unknown', 'b'], ['unknown', 'a'])).toBe('a');
  });

  it('nullif has the first argument’s type', () => {
    expect(fn('nullif', i4(1), i4(1))).toBeNull();
    expect(fn('nullif', i4(1), ['int8', '2'])).toBe('1');
    expect(fn('nullif', i4(1), ['numeric', '1.0'])).toBeNull();
    expect(fn('nullif', ['int4', null], i4(1))).toBeNull();
    expect(fn('nullif', ['unknown', 'a'], ['unknown', 'b'])).toBe('a');
  });

  it('coalesce, num_nulls, num_nonnulls', () => {
    expect(fn('coalesce', ['int4', null], i4(2), i4(3))).toBe('2');
    expect(fn('num_nulls', ['int4', null], ['text', 'a'], ['date', null])).toBe('2');
    expect(fn('num_nonnulls', ['int4', null], ['text', 'a'])).toBe('1');
  });

  it('gen_random_uuid is a version 4 UUID from the context’s random source', () => {
    const a = callFunction('gen_random_uuid', [], fixedEvalContext());
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // Same seed, same UUID: the function reads no global state.
    expect(callFunction('gen_random_uuid', [], fixedEvalContext())).toBe(a);
  });
});

describe('array functions', () => {
  const arr = (type: string, v: string): TextArg => [type, v];

  it('lengths and bounds of one-dimensional arrays', () => {
    expect(fn('array_length', arr('int4[]', '{1,2}'), i4(1))).toBe('2');
    expect(fn('array_length', arr('int4[]', '{}'), i4(1))).toBeNull();
    expect(fn('array_length', arr('int4[]', '{1}'), i4(2))).toBeNull();
    expect(fn('array_upper', arr('int4[]', '{1,2}'), i4(1))).toBe('2');
    expect(fn('array_lower', arr('int4[]', '{1,2}'), i4(1))).toBe('1');
    expect(fn('cardinality', arr('int4[]', '{1,2,3}'))).toBe('3');
    expect(fn('array_dims', arr('int4[]', '{1,2}'))).toBe('[1:2]');
    expect(fn('array_ndims', arr('int4[]', '{1}'))).toBe('1');
  });

  it('search and edit', () => {
    expect(fn('array_position', arr('text[]', '{a,b,a}'), ['unknown', 'a'], i4(2))).toBe('3');
    expect(fn('array_positions', arr('int4[]', '{1,NULL,1}'), i4(1))).toBe('{1,3}');
    expect(fn('array_remove', arr('int4[]', '{1,2,1}'), i4(1))).toBe('{2}');
    expect(fn('array_replace', arr('int4[]', '{1,2,1}'), i4(1), i4(9))).toBe('{9,2,9}');
    expect(fn('array_cat', arr('int4[]', null as unknown as string), arr('int4[]', '{1}'))).toBe('{1}');
    expect(fn('array_append', arr('int4[]', '{1}'), ['int8', '2'])).toBe('{1,2}');
  });

  it('containment and overlap operators', () => {
    expect(callOperator('@>', arr('int4[]', '{1,2}'), arr('int4[]', '{2}'))).toBe('t');
    expect(callOperator('&&', arr('int4[]', '{1,2}'), arr('int4[]', '{3}'))).toBe('f');
    expect(callOperator('@>', arr('int4[]', '{1,NULL}'), arr('int4[]', '{NULL}'))).toBe('f');
    expect(callOperator('<@', arr('int4[]', '{1}'), arr('int4[]', '{1,2}'))).toBe('t');
    expect(callOperator('||', arr('int4[]', '{1,2}'), i4(3))).toBe('{1,2,3}');
    expect(callOperator('||', ['unknown', '{1}'], arr('int4[]', '{2}'))).toBe('{1,2}');
    expect(callOperator('=', arr('int4[]', '{1,2}'), arr('int4[]', '{1,2}'))).toBe('t');
    expect(callOperator('<', arr('int4[]', '{1,2}'), arr('int4[]', '{1,3}'))).toBe('t');
  });
});
