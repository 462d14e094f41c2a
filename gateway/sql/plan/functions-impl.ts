import type { TypeName } from '@pgsql/types';
import { SqlError, SqlStates } from '../../../common/errors';
import * as builtins from '../builtins';
import type { Datum, SqlType } from '../types/datum';
import { scalarType } from '../types/datum';
import * as types from '../types';
import type { BuiltinImpl, EvalContext } from './expr';
import type { CastContext, ResolvedAggregate, ResolvedCall, ResolvedSetFunction } from './functions';
import { parseStatements } from '../parser';
import { resolveCatalogFunction } from './catalog-functions';
import { ExprAnalyzer } from './analyze-expr';
import { compileExpr } from './expr';
import { position, Scope } from './scope';

/**
 * The analyzer's bridge to gateway/sql/builtins (overload resolution, implementations)
 * and gateway/sql/types (casts, literals, type names). Errors keep the statement
 * position of the call they are about.
 */

function withPosition<T>(location: number | undefined, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof SqlError && err.position === undefined && location !== undefined) {
      throw new SqlError(err.sqlState, err.message, {
        ...position(location),
        ...(err.detail === undefined ? {} : { detail: err.detail }),
        ...(err.hint === undefined ? {} : { hint: err.hint }),
      });
    }
    throw err;
  }
}

export function resolveOperator(name: string, left: SqlType | undefined, right: SqlType, location?: number): ResolvedCall {
  return withPosition(location, () => {
    const r = builtins.resolveOperator(name, left, right);
    return { fn: r.fn as BuiltinImpl, argTypes: r.argTypes, type: r.type, strict: r.strict, volatile: r.volatile, immutable: r.volatility === 'immutable' };
  });
}

export function resolveFunction(name: string, argTypes: readonly SqlType[], location?: number): ResolvedCall {
  if (name === 'unique_rowid' && argTypes.length === 0) {
    return { fn: uniqueRowid, argTypes: [], type: scalarType('int8'), strict: false, volatile: true, immutable: false };
  }
  return withPosition(location, () => {
    const r = builtins.resolveFunction(name, argTypes);
    if (r.kind === 'aggregate') {
      throw new SqlError(SqlStates.groupingError, `aggregate function ${name} is not allowed here`);
    }
    if (r.kind === 'set-returning') {
      throw new SqlError(SqlStates.featureNotSupported, `set-returning function ${name}() is only supported in FROM`);
    }
    return { fn: r.fn as BuiltinImpl, argTypes: r.argTypes, type: r.type, strict: r.strict, volatile: r.volatile, immutable: r.volatility === 'immutable' };
  });
}

/** nextval / currval / setval: the first argument is a sequence, and a name given as text is read as regclass. */
export function takesSequenceArgument(name: string): boolean {
  return builtins.SEQUENCE_ARGUMENT_FUNCTIONS.has(name);
}

export function isAggregateName(name: string): boolean {
  return builtins.isAggregateName(name);
}

export function resolveAggregate(name: string, argTypes: readonly SqlType[], location?: number): ResolvedAggregate {
  return withPosition(location, () => {
    const r = builtins.resolveFunction(name, argTypes);
    if (r.kind !== 'aggregate') {
      throw new SqlError(SqlStates.wrongObjectType, `${name} is not an aggregate function`);
    }
    return {
      argTypes: r.argTypes,
      type: r.type,
      init: r.init,
      step: r.step as (state: unknown, args: Datum[]) => unknown,
      final: r.final,
      skipNulls: r.skipNulls,
    };
  });
}

export function resolveSetFunction(name: string, argTypes: readonly SqlType[], location?: number): ResolvedSetFunction {
  const catalogFn = resolveCatalogFunction(name, argTypes.length);
  if (catalogFn !== undefined && !catalogFn.needsCatalog) {
    // pg_partition_ancestors(oid) in FROM: one row, like any scalar function there.
    const fn = catalogFn.fn;
    return { argTypes: catalogFn.argTypes, columns: [{ name, type: catalogFn.type }], fn: (args: Datum[]) => [[fn(args, FROM_CONTEXT)]] };
  }
  return withPosition(location, () => {
    const r = builtins.resolveFunction(name, argTypes);
    if (r.kind === 'set-returning') {
      const fn = r.fn;
      const strict = r.strict;
      return {
        argTypes: r.argTypes,
        columns: r.columns.map((c) => ({ name: c.name, type: c.type })),
        fn: (args: Datum[]) => (strict && args.some((a) => a === null) ? [] : fn(args, FROM_CONTEXT)),
      };
    }
    if (r.kind === 'function') {
      // A scalar function in FROM is a one-row table.
      const fn = r.fn;
      return { argTypes: r.argTypes, columns: [{ name, type: r.type }], fn: (args: Datum[]) => [[fn(args, FROM_CONTEXT)]] };
    }
    throw new SqlError(SqlStates.groupingError, `aggregate functions are not allowed in functions in FROM`);
  });
}

const FROM_CONTEXT: EvalContext = {
  statementTimeMicros: 0n,
  transactionTimeMicros: 0n,
  timeZone: 'UTC',
  random: Math.random,
  database: '',
  user: '',
  setting: () => undefined,
};

/** The cast from one type to another in a context, or undefined when none is allowed. */
export function castFunction(from: SqlType, to: SqlType, context: CastContext): ((value: Datum, ctx: EvalContext) => Datum) | undefined {
  if (!types.canCast(from, to, context)) {
    return undefined;
  }
  return (value: Datum, ctx: EvalContext) => types.castDatum(value, from, to, context, textOptions(ctx));
}

let lastZoneSpec = 'UTC';
let lastZone: types.TimeZone = types.UTC;

/** Text I/O options for a context: its time zone (resolved once per zone name) and now. */
export function textOptions(ctx: EvalContext): types.TextFormatOptions {
  if (ctx.timeZone !== lastZoneSpec) {
    lastZone = types.resolveTimeZone(ctx.timeZone);
    lastZoneSpec = ctx.timeZone;
  }
  return { timeZone: lastZone, nowMicros: ctx.statementTimeMicros };
}

/** The type a set of values is resolved to (UNION, CASE, VALUES, IN); unknowns alone become text. */
export function commonType(list: readonly SqlType[], what: string, location?: number): SqlType {
  return withPosition(location, () => {
    const known = list.filter((t) => !(t.kind === 'scalar' && t.name === 'unknown'));
    if (known.length === 0) return scalarType('text');
    return types.commonSupertype(known, what);
  });
}

export function sameType(a: SqlType, b: SqlType): boolean {
  return types.sameType(a, b);
}

export function typeDisplayName(type: SqlType): string {
  return types.typeName(type);
}

export function typeFromTypeName(node: TypeName): SqlType {
  return types.resolveTypeName(node);
}

export function typeFromOid(oid: number): SqlType {
  const type = types.typeFromOid(oid);
  if (type === undefined) {
    throw new SqlError(SqlStates.undefinedObject, `type with OID ${oid} does not exist`);
  }
  return type;
}

/** A string literal read as `type` (PostgreSQL's input function), e.g. '12'::int. */
export function parseLiteral(type: SqlType, text: string, location?: number, ctx?: EvalContext): Datum {
  return withPosition(location, () => types.parseText(type, text, ctx === undefined ? {} : textOptions(ctx)));
}

/**
 * unique_rowid(): unique across gateways and roughly increasing, as CockroachDB's: the
 * wall clock in 10 µs units shifted left by 15 bits, plus 15 random-start counter bits.
 */
let rowidCounter = Math.floor(Math.random() * 0x8000);
let lastRowidTime = 0n;
const uniqueRowid: BuiltinImpl = () => {
  let time = BigInt(Date.now()) * 100n;
  if (time <= lastRowidTime) time = lastRowidTime;
  rowidCounter = (rowidCounter + 1) & 0x7fff;
  if (rowidCounter === 0) time += 1n;
  lastRowidTime = time;
  return (time << 15n) | BigInt(rowidCounter);
};

/** Evaluates a constant SQL expression (AS OF SYSTEM TIME's argument). */
export async function evaluateConstant(sql: string, ctx: EvalContext): Promise<{ type: SqlType; value: Datum }> {
  const [statement] = parseStatements(`SELECT ${sql}`);
  const select = statement === undefined || !('SelectStmt' in statement.ast) ? undefined : statement.ast.SelectStmt;
  const target = (select?.targetList?.[0] as { ResTarget?: { val?: import('@pgsql/types').Node } } | undefined)?.ResTarget?.val;
  if (target === undefined) {
    throw new SqlError(SqlStates.syntaxError, `not an expression: ${sql}`);
  }
  const analyzer = new ExprAnalyzer({ paramTypes: [], analyzeSubquery: () => Promise.reject(new SqlError(SqlStates.featureNotSupported, 'subqueries are not allowed here')) });
  let expr = await analyzer.analyze(target, { scope: new Scope([]), subqueries: [], clause: 'AS OF SYSTEM TIME' });
  if (expr.type.kind === 'scalar' && expr.type.name === 'unknown') {
    // A string: an interval if it reads as one ('-10s'), else a timestamp.
    try {
      expr = analyzer.coerceSync(expr, scalarType('interval'), 'implicit');
    } catch {
      expr = analyzer.coerceSync(expr, scalarType('timestamptz'), 'implicit');
    }
  }
  const value = compileExpr(expr)([], { params: [], outer: [], subqueries: [], ctx });
  return { type: expr.type, value };
}
