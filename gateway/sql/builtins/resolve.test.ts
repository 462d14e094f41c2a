import { SqlError } from '../../../common/errors';
import type { SqlType } from '../types/datum';
import { scalarType } from '../types/datum';
import { isAggregateName, resolveFunction, resolveOperator } from './catalogue';
import { functionResultType, operatorResultType, sqlType } from './testing';
import { typeDisplayName } from './type-info';

// Expected types are what PostgreSQL 15 reports (pg_typeof) for the same expressions.

function opType(left: string | undefined, name: string, right: string): string {
  return operatorResultType(name, left, right);
}

function expectSqlError(fn: () => unknown, sqlState: string, message: string, hint?: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SqlError);
    const e = err as SqlError;
    expect(e.sqlState).toBe(sqlState);
    expect(e.message).toBe(message);
    if (hint !== undefined) expect(e.hint).toBe(hint);
    return;
  }
  throw new Error('expected an error');
}

describe('operator resolution (PostgreSQL manual §10.2)', () => {
  it.each([
    ['int4', '+', 'int4', 'integer'],
    ['int4', '+', 'int8', 'bigint'],
    ['int2', '+', 'int2', 'smallint'],
    ['int2', '*', 'int4', 'integer'],
    ['int4', '+', 'numeric', 'numeric'],
    ['numeric', '-', 'int8', 'numeric'],
    ['int4', '+', 'float8', 'double precision'],
    ['float4', '+', 'float4', 'real'],
    ['float4', '*', 'float8', 'double precision'],
    ['numeric', '+', 'float8', 'double precision'],
    ['int4', '/', 'int4', 'integer'],
    ['int4', '^', 'int4', 'double precision'],
    ['int4', '^', 'numeric', 'numeric'],
    ['unknown', '+', 'int4', 'integer'],
    ['int8', '%', 'unknown', 'bigint'],
    ['text', '||', 'text', 'text'],
    ['unknown', '||', 'unknown', 'text'],
    ['varchar', '||', 'varchar', 'text'],
    ['text', '||', 'int4', 'text'],
    ['int4', '||', 'text', 'text'],
    ['int4[]', '||', 'int4', 'integer[]'],
    ['int4[]', '||', 'int4[]', 'integer[]'],
    ['unknown', '||', 'int4[]', 'integer[]'],
    ['jsonb', '||', 'jsonb', 'jsonb'],
    ['jsonb', '->', 'unknown', 'jsonb'],
    ['jsonb', '->>', 'int4', 'text'],
    ['date', '+', 'int4', 'date'],
    ['date', '-', 'date', 'integer'],
    ['date', '+', 'interval', 'timestamp without time zone'],
    ['timestamptz', '-', 'timestamptz', 'interval'],
    ['timestamp', '-', 'unknown', 'interval'],
    ['interval', '*', 'int4', 'interval'],
    ['float8', '*', 'interval', 'interval'],
    ['int4', '=', 'int8', 'boolean'],
    ['int4', '<', 'numeric', 'boolean'],
    ['date', '<', 'timestamptz', 'boolean'],
    ['varchar', '=', 'unknown', 'boolean'],
    ['text', '~~', 'unknown', 'boolean'],
    ['int4[]', '=', 'int4[]', 'boolean'],
  ])('%s %s %s is %s', (left, name, right, expected) => {
    expect(opType(left, name, right)).toBe(expected);
  });

  it('resolves prefix operators', () => {
    expect(opType(undefined, '-', 'int4')).toBe('integer');
    expect(opType(undefined, '-', 'numeric')).toBe('numeric');
    expect(opType(undefined, '-', 'interval')).toBe('interval');
    expect(opType(undefined, '~', 'int8')).toBe('bigint');
    expect(opType(undefined, '|/', 'int4')).toBe('double precision');
  });

  it('treats != as <>', () => {
    expect(opType('int4', '!=', 'int4')).toBe('boolean');
    expect(resolveOperator('!=', sqlType('text'), sqlType('text')).name).toBe('<>');
  });

  it('says which casts the planner must insert', () => {
    const r = resolveOperator('+', sqlType('int4'), sqlType('numeric'));
    expect(r.casts).toEqual([scalarType('numeric'), undefined]);
    const unknownLeft = resolveOperator('+', sqlType('unknown'), sqlType('int4'));
    expect(unknownLeft.casts[0]).toEqual(scalarType('int4'));
    const exact = resolveOperator('+', sqlType('int4'), sqlType('int4'));
    expect(exact.casts).toEqual([undefined, undefined]);
  });

  it('keeps typmods of arguments that need no cast', () => {
    const n102: SqlType = { kind: 'scalar', name: 'numeric', typmod: (10 << 16) | 2 };
    const r = resolveOperator('+', n102, n102);
    expect(r.argTypes[0]).toEqual(n102);
    expect(r.casts).toEqual([undefined, undefined]);
  });

  it('fails with 42883 and PostgreSQL’s wording when no operator fits', () => {
    const hint = 'No operator matches the given name and argument types. You might need to add explicit type casts.';
    expectSqlError(() => resolveOperator('+', sqlType('int4'), sqlType('text')), '42883', 'operator does not exist: integer + text', hint);
    expectSqlError(() => resolveOperator('+', sqlType('text'), sqlType('int4')), '42883', 'operator does not exist: text + integer');
    expectSqlError(() => resolveOperator('-', undefined, sqlType('text')), '42883', 'operator does not exist: - text');
    expectSqlError(
      () => resolveOperator('%', sqlType('float8'), sqlType('int4')),
      '42883',
      'operator does not exist: double precision % integer',
    );
    expectSqlError(() => resolveOperator('=', sqlType('int4'), sqlType('text')), '42883', 'operator does not exist: integer = text');
    expectSqlError(
      () => resolveOperator('+', sqlType('timestamp'), sqlType('timestamp')),
      '42883',
      'operator does not exist: timestamp without time zone + timestamp without time zone',
    );
  });

  it('fails with 42725 when candidates tie', () => {
    expectSqlError(
      () => resolveOperator('+', sqlType('unknown'), sqlType('unknown')),
      '42725',
      'operator is not unique: unknown + unknown',
      'Could not choose a best candidate operator. You might need to add explicit type casts.',
    );
  });
});

describe('function resolution (PostgreSQL manual §10.3)', () => {
  it.each([
    ['abs', ['int2'], 'smallint'],
    ['abs', ['int4'], 'integer'],
    ['abs', ['numeric'], 'numeric'],
    ['round', ['int4'], 'double precision'],
    ['round', ['numeric'], 'numeric'],
    ['round', ['numeric', 'int4'], 'numeric'],
    ['round', ['int4', 'int4'], 'numeric'],
    ['ceil', ['int4'], 'double precision'],
    ['sign', ['int4'], 'double precision'],
    ['sqrt', ['numeric'], 'numeric'],
    ['log', ['int4'], 'double precision'],
    ['mod', ['int4', 'int8'], 'bigint'],
    ['mod', ['int4', 'numeric'], 'numeric'],
    ['gcd', ['int4', 'int4'], 'integer'],
    ['length', ['varchar'], 'integer'],
    ['length', ['unknown'], 'integer'],
    ['upper', ['name'], 'text'],
    ['abs', ['unknown'], 'double precision'],
    ['substring', ['text', 'int4', 'int4'], 'text'],
    ['concat', ['text', 'int4', 'bool'], 'text'],
    ['greatest', ['int4', 'numeric'], 'numeric'],
    ['greatest', ['int4', 'int8', 'int2'], 'bigint'],
    ['least', ['unknown', 'unknown'], 'text'],
    ['greatest', ['date', 'timestamptz'], 'timestamp with time zone'],
    ['coalesce', ['int4', 'unknown'], 'integer'],
    ['nullif', ['int4', 'int8'], 'integer'],
    ['date_trunc', ['unknown', 'date'], 'timestamp with time zone'],
    ['date_trunc', ['text', 'timestamp'], 'timestamp without time zone'],
    ['date_part', ['text', 'date'], 'double precision'],
    ['extract', ['text', 'timestamp'], 'numeric'],
    ['age', ['date', 'date'], 'interval'],
    ['to_char', ['int4', 'unknown'], 'text'],
    ['to_char', ['timestamptz', 'text'], 'text'],
    ['to_jsonb', ['int4'], 'jsonb'],
    ['jsonb_build_object', ['unknown', 'int4'], 'jsonb'],
    ['jsonb_extract_path', ['jsonb', 'unknown', 'unknown'], 'jsonb'],
    ['array_length', ['text[]', 'int4'], 'integer'],
    ['array_append', ['int4[]', 'int8'], 'bigint[]'],
    ['pg_typeof', ['unknown'], 'text'],
    ['pg_typeof', ['int4'], 'text'],
    ['now', [], 'timestamp with time zone'],
    ['current_database', [], 'name'],
    ['sum', ['int4'], 'bigint'],
    ['sum', ['int8'], 'numeric'],
    ['sum', ['float4'], 'real'],
    ['avg', ['int2'], 'numeric'],
    ['avg', ['float4'], 'double precision'],
    ['count', [], 'bigint'],
    ['count', ['text'], 'bigint'],
    ['max', ['varchar'], 'text'],
    ['min', ['date'], 'date'],
    ['array_agg', ['int4'], 'integer[]'],
    ['stddev', ['int4'], 'numeric'],
    ['stddev', ['float4'], 'double precision'],
    ['generate_series', ['int4', 'int4'], 'integer'],
    ['generate_series', ['int4', 'int8'], 'bigint'],
    ['generate_series', ['numeric', 'int4'], 'numeric'],
    ['generate_series', ['timestamp', 'timestamp', 'interval'], 'timestamp without time zone'],
    ['unnest', ['text[]'], 'text'],
  ])('%s(%j) is %s', (name, args, expected) => {
    expect(functionResultType(name, args)).toBe(expected);
  });

  it('reports the kind of the resolved function', () => {
    expect(resolveFunction('sum', [sqlType('int4')]).kind).toBe('aggregate');
    expect(resolveFunction('generate_series', [sqlType('int4'), sqlType('int4')]).kind).toBe('set-returning');
    expect(resolveFunction('abs', [sqlType('int4')]).kind).toBe('function');
    expect(isAggregateName('count')).toBe(true);
    expect(isAggregateName('abs')).toBe(false);
  });

  it('reports volatility and strictness', () => {
    const random = resolveFunction('random', []);
    expect(random.kind === 'function' && random.volatile).toBe(true);
    const now = resolveFunction('now', []);
    expect(now.kind === 'function' && now.volatility).toBe('stable');
    const concat = resolveFunction('concat', [sqlType('text')]);
    expect(concat.kind === 'function' && concat.strict).toBe(false);
  });

  it('fails with 42883 and PostgreSQL’s wording when no function fits', () => {
    const hint = 'No function matches the given name and argument types. You might need to add explicit type casts.';
    expectSqlError(() => resolveFunction('foo', [sqlType('int4')]), '42883', 'function foo(integer) does not exist', hint);
    expectSqlError(() => resolveFunction('abs', [sqlType('text')]), '42883', 'function abs(text) does not exist');
    expectSqlError(() => resolveFunction('abs', []), '42883', 'function abs() does not exist');
    expectSqlError(() => resolveFunction('concat', []), '42883', 'function concat() does not exist');
    // int8 does not cast to int4 implicitly.
    expectSqlError(
      () => resolveFunction('substr', [sqlType('text'), sqlType('int8')]),
      '42883',
      'function substr(text, bigint) does not exist',
    );
    expectSqlError(
      () => resolveFunction('sum', [sqlType('text')]),
      '42883',
      'function sum(text) does not exist',
    );
    expectSqlError(
      () => resolveFunction('greatest', [sqlType('int4'), sqlType('text')]),
      '42883',
      'function greatest(integer, text) does not exist',
    );
  });

  it('fails with 42725 when candidates tie', () => {
    expectSqlError(
      () => resolveFunction('generate_series', [sqlType('unknown'), sqlType('unknown')]),
      '42725',
      'function generate_series(unknown, unknown) is not unique',
      'Could not choose a best candidate function. You might need to add explicit type casts.',
    );
  });

  it('prints type names as PostgreSQL does', () => {
    expect(typeDisplayName(sqlType('timestamptz'))).toBe('timestamp with time zone');
    expect(typeDisplayName(sqlType('int4[]'))).toBe('integer[]');
    expect(typeDisplayName(sqlType('bpchar'))).toBe('character');
  });
});
