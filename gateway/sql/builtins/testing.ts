import { castDatum } from '../types/cast';
import type { Datum, SqlType } from '../types/datum';
import { parseText, formatText } from '../types/text-format';
import { resolveTimeZone } from '../types/timezone';
import { typeFromName } from '../types/type-names';
import { resolveFunction, resolveOperator } from './catalogue';
import type { EvalContext } from './eval-context';
import { fixedEvalContext } from './eval-context';
import type { ResolvedScalar } from './resolve';
import { invokeScalar, runAggregate } from './resolve';
import { typeDisplayName } from './type-info';

/**
 * Test helpers: call built-ins the way SQL would, with arguments and results as
 * PostgreSQL text, so expected values can be written (and checked against a real
 * PostgreSQL) as psql prints them. Casts chosen by resolution are applied as the
 * planner would, through gateway/sql/types.
 */

/** An argument: [type name, text value or null]. 'unknown' is an untyped literal. */
export type TextArg = readonly [string, string | null];

export function sqlType(name: string): SqlType {
  if (name.endsWith('[]')) return { kind: 'array', element: sqlType(name.slice(0, -2)) };
  const mod = /^(\w+)\((\d+)(?:,(\d+))?\)$/.exec(name);
  if (mod !== null) {
    const base = typeFromName(mod[1] as string);
    if (base.kind !== 'scalar') throw new Error(`bad type ${name}`);
    const typmod = base.name === 'numeric' ? (Number(mod[2]) << 16) | Number(mod[3] ?? 0) : Number(mod[2]);
    return { ...base, typmod };
  }
  return name === 'unknown' ? { kind: 'scalar', name: 'unknown', typmod: -1 } : typeFromName(name);
}

function options(ctx: EvalContext): { timeZone: ReturnType<typeof resolveTimeZone>; nowMicros: bigint } {
  return { timeZone: resolveTimeZone(ctx.timeZone), nowMicros: ctx.transactionTimeMicros };
}

export function toDatum(type: SqlType, text: string | null, ctx: EvalContext = fixedEvalContext()): Datum {
  return text === null ? null : parseText(type, text, options(ctx));
}

export function fromDatum(type: SqlType, value: Datum, ctx: EvalContext = fixedEvalContext()): string | null {
  return value === null ? null : formatText(type, value, options(ctx));
}

function castArgs(
  args: readonly TextArg[],
  casts: readonly (SqlType | undefined)[],
  ctx: EvalContext,
): { types: SqlType[]; values: Datum[] } {
  const types = args.map(([t]) => sqlType(t));
  const values = args.map(([, text], i) => {
    const type = types[i] as SqlType;
    // An untyped literal stays text-shaped until a cast gives it a type.
    const value = type.kind === 'scalar' && type.name === 'unknown' ? text : toDatum(type, text, ctx);
    const target = casts[i];
    return target === undefined ? value : castDatum(value, type, target, 'implicit', options(ctx));
  });
  return { types, values };
}

function run(r: ResolvedScalar, args: readonly TextArg[], ctx: EvalContext): string | null {
  const { values } = castArgs(args, r.casts, ctx);
  return fromDatum(r.type, invokeScalar(r, values, ctx), ctx);
}

/** Calls a scalar function; returns its result as PostgreSQL text (null for NULL). */
export function callFunction(name: string, args: readonly TextArg[], ctx: EvalContext = fixedEvalContext()): string | null {
  const r = resolveFunction(
    name,
    args.map(([t]) => sqlType(t)),
  );
  if (r.kind !== 'function') throw new Error(`${name} is a ${r.kind}`);
  return run(r, args, ctx);
}

/** Evaluates `left op right` (or `op right`). */
export function callOperator(
  name: string,
  left: TextArg | undefined,
  right: TextArg,
  ctx: EvalContext = fixedEvalContext(),
): string | null {
  const r = resolveOperator(name, left === undefined ? undefined : sqlType(left[0]), sqlType(right[0]));
  return run(r, left === undefined ? [right] : [left, right], ctx);
}

/** The result type of a call, as PostgreSQL names it. */
export function functionResultType(name: string, argTypes: readonly string[]): string {
  return typeDisplayName(resolveFunction(name, argTypes.map(sqlType)).type);
}

export function operatorResultType(name: string, left: string | undefined, right: string): string {
  return typeDisplayName(resolveOperator(name, left === undefined ? undefined : sqlType(left), sqlType(right)).type);
}

/** Runs an aggregate over rows of text arguments; returns [result text, result type]. */
export function aggregate(
  name: string,
  argTypes: readonly string[],
  rows: readonly (readonly (string | null)[])[],
  ctx: EvalContext = fixedEvalContext(),
): [string | null, string] {
  const r = resolveFunction(name, argTypes.map(sqlType));
  if (r.kind !== 'aggregate') throw new Error(`${name} is not an aggregate`);
  const datums = rows.map((row) => castArgs(row.map((v, i) => [argTypes[i] as string, v] as const), r.casts, ctx).values);
  return [fromDatum(r.type, runAggregate(r, datums), ctx), typeDisplayName(r.type)];
}

/** Runs a set-returning function; returns its rows as text. */
export function setRows(name: string, args: readonly TextArg[], ctx: EvalContext = fixedEvalContext()): (string | null)[][] {
  const r = resolveFunction(
    name,
    args.map(([t]) => sqlType(t)),
  );
  if (r.kind !== 'set-returning') throw new Error(`${name} is not set-returning`);
  const { values } = castArgs(args, r.casts, ctx);
  if (r.strict && values.some((v) => v === null)) return [];
  return [...r.fn(values, ctx)].map((row) => row.map((v, i) => fromDatum((r.columns[i] as { type: SqlType }).type, v, ctx)));
}
