import { assert, SqlError, SqlStates, unreachable } from '../../../common/errors';
import type { Datum, SqlType } from '../types/datum';
import type { CatalogLookup } from './catalog-functions';

/**
 * Typed scalar expressions, as the analyzer produces them from the parser's AST, and
 * their compilation into closures. Column references are positions in the input row;
 * references to an enclosing query's row (correlated subqueries) go through `outer`.
 * Subqueries are not evaluated here: their operator runs them first and leaves the
 * result in a slot of `EvalEnv.subqueries`, so evaluation stays synchronous.
 */

/** Calls a built-in; `args` are already cast to the overload's argument types. */
export type BuiltinImpl = (args: Datum[], ctx: EvalContext) => Datum;

export interface EvalContext {
  /** The statement's timestamp (now(), current_timestamp), µs since the epoch. */
  readonly statementTimeMicros: bigint;
  readonly transactionTimeMicros: bigint;
  readonly timeZone: string;
  readonly random: () => number;
  readonly database: string;
  readonly user: string;
  readonly setting: (name: string) => string | undefined;
  /**
   * The statement's prefetched catalog answers, present when the plan needs them
   * (AnalyzedQuery.needsCatalog; see catalog-functions.ts).
   */
  readonly catalog?: CatalogLookup;
}

export type Expr =
  | { readonly k: 'const'; readonly type: SqlType; readonly value: Datum }
  | { readonly k: 'param'; readonly index: number; readonly type: SqlType }
  | { readonly k: 'col'; readonly index: number; readonly type: SqlType }
  | { readonly k: 'outer'; readonly depth: number; readonly index: number; readonly type: SqlType }
  | {
      readonly k: 'call';
      readonly name: string;
      readonly fn: BuiltinImpl;
      readonly strict: boolean;
      readonly volatile: boolean;
      /** False for stable built-ins (now(), current_setting()): never folded at planning. */
      readonly immutable?: boolean;
      readonly args: readonly Expr[];
      readonly type: SqlType;
    }
  /** The cast may read the session's time zone (timestamptz ↔ text), hence the context. */
  | { readonly k: 'cast'; readonly arg: Expr; readonly cast: (value: Datum, ctx: EvalContext) => Datum; readonly type: SqlType }
  | { readonly k: 'and' | 'or'; readonly args: readonly Expr[]; readonly type: SqlType }
  | { readonly k: 'not'; readonly arg: Expr; readonly type: SqlType }
  | { readonly k: 'isnull'; readonly arg: Expr; readonly negate: boolean; readonly type: SqlType }
  | {
      readonly k: 'booltest';
      readonly arg: Expr;
      readonly test: 'true' | 'false' | 'unknown';
      readonly negate: boolean;
      readonly type: SqlType;
    }
  | {
      readonly k: 'case';
      readonly whens: readonly { readonly when: Expr; readonly then: Expr }[];
      readonly otherwise: Expr;
      readonly type: SqlType;
    }
  | { readonly k: 'coalesce'; readonly args: readonly Expr[]; readonly type: SqlType }
  /**
   * `arg op ANY/ALL (list)`: IN is ANY with =. Three-valued: ANY is true if some
   * comparison is true, else NULL if some is NULL, else false; ALL the dual.
   */
  | {
      readonly k: 'quantified';
      readonly arg: Expr;
      readonly list: readonly Expr[] | { readonly slot: number };
      readonly compare: BuiltinImpl;
      /** The comparison operator's name (`=` for IN). */
      readonly op: string;
      readonly all: boolean;
      readonly type: SqlType;
    }
  /** IS [NOT] DISTINCT FROM: never NULL. */
  | { readonly k: 'distinct'; readonly left: Expr; readonly right: Expr; readonly equals: BuiltinImpl; readonly negate: boolean; readonly type: SqlType }
  /** A subquery's value, computed by the operator into a slot (scalar: the value; EXISTS: a bool). */
  | { readonly k: 'subquery'; readonly slot: number; readonly type: SqlType }
  | { readonly k: 'array'; readonly elements: readonly Expr[]; readonly type: SqlType };

export interface EvalEnv {
  readonly params: readonly Datum[];
  /** Rows of the enclosing queries, innermost first (for correlated references). */
  readonly outer: readonly (readonly Datum[])[];
  /** Subquery results of the operator being evaluated. */
  readonly subqueries: unknown[];
  readonly ctx: EvalContext;
}

export type Compiled = (row: readonly Datum[], env: EvalEnv) => Datum;

export function exprType(expr: Expr): SqlType {
  return expr.type;
}

/** Turns an expression into a closure; done once per plan, run once per row. */
export function compileExpr(expr: Expr): Compiled {
  switch (expr.k) {
    case 'const': {
      const value = expr.value;
      return () => value;
    }
    case 'param': {
      const index = expr.index;
      return (_row, env) => env.params[index] ?? null;
    }
    case 'col': {
      const index = expr.index;
      return (row) => row[index] as Datum;
    }
    case 'outer': {
      const { depth, index } = expr;
      return (_row, env) => {
        const outerRow = env.outer[depth];
        assert(outerRow !== undefined, `no outer row at depth ${depth}`);
        return outerRow[index] as Datum;
      };
    }
    case 'call': {
      const fn = expr.fn;
      const args = expr.args.map(compileExpr);
      if (expr.strict) {
        if (args.length === 1) {
          const a0 = args[0] as Compiled;
          return (row, env) => {
            const v = a0(row, env);
            return v === null ? null : fn([v], env.ctx);
          };
        }
        if (args.length === 2) {
          const a0 = args[0] as Compiled;
          const a1 = args[1] as Compiled;
          return (row, env) => {
            const v0 = a0(row, env);
            if (v0 === null) return null;
            const v1 = a1(row, env);
            return v1 === null ? null : fn([v0, v1], env.ctx);
          };
        }
        return (row, env) => {
          const values: Datum[] = [];
          for (const arg of args) {
            const v = arg(row, env);
            if (v === null) return null;
            values.push(v);
          }
          return fn(values, env.ctx);
        };
      }
      return (row, env) => fn(args.map((a) => a(row, env)), env.ctx);
    }
    case 'cast': {
      const arg = compileExpr(expr.arg);
      const cast = expr.cast;
      return (row, env) => {
        const v = arg(row, env);
        return v === null ? null : cast(v, env.ctx);
      };
    }
    case 'and': {
      const args = expr.args.map(compileExpr);
      return (row, env) => {
        let sawNull = false;
        for (const arg of args) {
          const v = arg(row, env);
          if (v === false) return false;
          if (v === null) sawNull = true;
        }
        return sawNull ? null : true;
      };
    }
    case 'or': {
      const args = expr.args.map(compileExpr);
      return (row, env) => {
        let sawNull = false;
        for (const arg of args) {
          const v = arg(row, env);
          if (v === true) return true;
          if (v === null) sawNull = true;
        }
        return sawNull ? null : false;
      };
    }
    case 'not': {
      const arg = compileExpr(expr.arg);
      return (row, env) => {
        const v = arg(row, env);
        return v === null ? null : !v;
      };
    }
    case 'isnull': {
      const arg = compileExpr(expr.arg);
      const negate = expr.negate;
      return (row, env) => (arg(row, env) === null) !== negate;
    }
    case 'booltest': {
      const arg = compileExpr(expr.arg);
      const { test, negate } = expr;
      return (row, env) => {
        const v = arg(row, env);
        const hit = test === 'unknown' ? v === null : test === 'true' ? v === true : v === false;
        return hit !== negate;
      };
    }
    case 'case': {
      const whens = expr.whens.map((w) => ({ when: compileExpr(w.when), then: compileExpr(w.then) }));
      const otherwise = compileExpr(expr.otherwise);
      return (row, env) => {
        for (const w of whens) {
          if (w.when(row, env) === true) return w.then(row, env);
        }
        return otherwise(row, env);
      };
    }
    case 'coalesce': {
      const args = expr.args.map(compileExpr);
      return (row, env) => {
        for (const arg of args) {
          const v = arg(row, env);
          if (v !== null) return v;
        }
        return null;
      };
    }
    case 'quantified': {
      const arg = compileExpr(expr.arg);
      const { compare, all } = expr;
      const list = expr.list;
      const items = Array.isArray(list) ? (list as readonly Expr[]).map(compileExpr) : undefined;
      const slot = Array.isArray(list) ? -1 : (list as { slot: number }).slot;
      return (row, env) => {
        const left = arg(row, env);
        const values: readonly Datum[] =
          items === undefined ? (env.subqueries[slot] as readonly Datum[]) : items.map((item) => item(row, env));
        if (values.length === 0) return all;
        if (left === null) return null;
        let sawNull = false;
        for (const right of values) {
          if (right === null) {
            sawNull = true;
            continue;
          }
          const r = compare([left, right], env.ctx);
          if (r === null) sawNull = true;
          else if (r === !all) return !all;
        }
        return sawNull ? null : all;
      };
    }
    case 'distinct': {
      const left = compileExpr(expr.left);
      const right = compileExpr(expr.right);
      const { equals, negate } = expr;
      return (row, env) => {
        const a = left(row, env);
        const b = right(row, env);
        const distinct = a === null || b === null ? (a === null) !== (b === null) : equals([a, b], env.ctx) !== true;
        return distinct !== negate;
      };
    }
    case 'subquery': {
      const slot = expr.slot;
      return (_row, env) => env.subqueries[slot] as Datum;
    }
    case 'array': {
      const elements = expr.elements.map(compileExpr);
      return (row, env) => elements.map((e) => e(row, env));
    }
    default:
      return unreachable(expr, 'expression');
  }
}

/** Evaluates a WHERE/ON/HAVING condition: only true passes (NULL and false do not). */
export function compilePredicate(expr: Expr): (row: readonly Datum[], env: EvalEnv) => boolean {
  const compiled = compileExpr(expr);
  return (row, env) => compiled(row, env) === true;
}

/** Walks every sub-expression (pre-order). */
export function walkExpr(expr: Expr, visit: (e: Expr) => void): void {
  visit(expr);
  switch (expr.k) {
    case 'const':
    case 'param':
    case 'col':
    case 'outer':
    case 'subquery':
      return;
    case 'call':
    case 'and':
    case 'or':
    case 'coalesce':
      for (const a of expr.args) walkExpr(a, visit);
      return;
    case 'array':
      for (const a of expr.elements) walkExpr(a, visit);
      return;
    case 'cast':
    case 'not':
    case 'isnull':
    case 'booltest':
      walkExpr(expr.arg, visit);
      return;
    case 'case':
      for (const w of expr.whens) {
        walkExpr(w.when, visit);
        walkExpr(w.then, visit);
      }
      walkExpr(expr.otherwise, visit);
      return;
    case 'quantified':
      walkExpr(expr.arg, visit);
      if (Array.isArray(expr.list)) for (const a of expr.list as readonly Expr[]) walkExpr(a, visit);
      return;
    case 'distinct':
      walkExpr(expr.left, visit);
      walkExpr(expr.right, visit);
      return;
    default:
      unreachable(expr, 'expression');
  }
}

/** True when planning may evaluate the expression once: constant, and every call immutable. */
export function isFoldable(expr: Expr): boolean {
  if (!isConstant(expr)) return false;
  let foldable = true;
  walkExpr(expr, (e) => {
    if (e.k === 'call' && e.immutable === false) foldable = false;
  });
  return foldable;
}

/** True when the expression reads nothing of the row, outer rows or subqueries, and calls nothing volatile. */
export function isConstant(expr: Expr): boolean {
  let constant = true;
  walkExpr(expr, (e) => {
    if (e.k === 'col' || e.k === 'outer' || e.k === 'subquery' || e.k === 'param' || (e.k === 'call' && e.volatile)) {
      constant = false;
    }
  });
  return constant;
}

export function cardinalityError(): SqlError {
  return new SqlError(SqlStates.cardinalityViolation, 'more than one row returned by a subquery used as an expression');
}
