import type { A_Const, A_Expr, FuncCall, Node, SubLink, TypeName } from '@pgsql/types';
import { SqlError, SqlStates } from '../../../common/errors';
import type { Datum, SqlType } from '../types/datum';
import { scalarType } from '../types/datum';
import type { AggregateCall, PlanNode, SortKey, SubqueryPlan } from './plan';
import type { BuiltinImpl, EvalContext, Expr } from './expr';
import { compileExpr, isFoldable } from './expr';
import type { CastContext } from './functions';
import { resolveCatalogFunction, regclassIn, regtypeIn } from './catalog-functions';
import type { RegType } from './reg-types';
import { isTextual, regprocName, regText, regTypeOf, regtypeOid } from './reg-types';
import {
  castFunction,
  commonType,
  isAggregateName,
  resolveAggregate,
  resolveFunction,
  resolveOperator,
  sameType,
  takesSequenceArgument,
  typeDisplayName,
  typeFromTypeName,
  parseLiteral,
} from './functions-impl';
import type { Scope } from './scope';
import { position } from './scope';

/**
 * Turns the parser's expression AST into typed `Expr`s: names resolved against a scope,
 * operators and functions resolved to built-in overloads with the implicit casts they
 * need, literals typed by context, parameter types inferred from where $n is used.
 */

const BOOL = scalarType('bool');
const UNKNOWN = scalarType('unknown');
const TEXT = scalarType('text');
const INT4 = scalarType('int4');
const INT8 = scalarType('int8');

export interface SubqueryResult {
  readonly plan: PlanNode;
  readonly types: readonly SqlType[];
  readonly correlated: boolean;
}

/** Groups and aggregates of the query being analyzed (target list, HAVING, ORDER BY). */
export interface GroupingContext {
  /** The scope of the rows before grouping (aggregate arguments see it). */
  readonly inputScope: Scope;
  /** GROUP BY expressions: their AST fingerprint and analyzed form. */
  readonly groups: { readonly fingerprint: string; readonly expr: Expr }[];
  readonly aggregates: AggregateCall[];
  readonly aggregateFingerprints: string[];
  /** Subqueries inside aggregate arguments (run by the aggregate operator). */
  readonly inputSubqueries: SubqueryPlan[];
}

export interface ExprContext {
  readonly scope: Scope;
  /** Where subqueries met in this expression are registered (the evaluating operator's list). */
  readonly subqueries: SubqueryPlan[];
  readonly grouping?: GroupingContext;
  /** For messages: "WHERE", "JOIN conditions", ... where aggregates are not allowed. */
  readonly clause: string;
}

export interface AnalyzerHooks {
  analyzeSubquery(node: Node, parentScope: Scope): Promise<SubqueryResult>;
  /** The current database, user and such for SQL value functions. */
  readonly paramTypes: (SqlType | undefined)[];
  /** `'name'::regclass` at analysis time: the relation's OID, undefined when there is none. */
  readonly regclassOid?: (name: string) => Promise<number | undefined>;
  /** Called when the statement calls something that reads the catalog at run time (catalog-functions.ts). */
  readonly noteCatalogUse?: () => void;
  /** The session's context for folding constants and reading literals (time zone); default UTC. */
  readonly foldContext?: EvalContext;
}

export class ExprAnalyzer {
  /** Expressions whose values are of an OID alias type (reg-types.ts). */
  private readonly regTyped = new WeakMap<Expr, RegType>();

  constructor(private readonly hooks: AnalyzerHooks) {}

  /** Constant folding in the session's context (its time zone), as PostgreSQL plans. */
  private fold(expr: Expr): Expr {
    return fold(expr, this.hooks.foldContext);
  }

  async analyze(node: Node, ctx: ExprContext): Promise<Expr> {
    if (ctx.grouping !== undefined) {
      const grouped = this.matchGroup(node, ctx.grouping);
      if (grouped !== undefined) {
        return grouped;
      }
    }
    if ('ColumnRef' in node) {
      return this.columnRef(node.ColumnRef.fields ?? [], node.ColumnRef.location, ctx);
    }
    if ('A_Const' in node) {
      return constant(node.A_Const);
    }
    if ('ParamRef' in node) {
      const index = (node.ParamRef.number ?? 0) - 1;
      if (index < 0 || index >= 65535) {
        throw new SqlError(SqlStates.undefinedParameter, `there is no parameter $${index + 1}`, position(node.ParamRef.location));
      }
      const declared = this.hooks.paramTypes[index];
      if (this.hooks.paramTypes.length <= index) {
        this.hooks.paramTypes.length = index + 1;
      }
      return { k: 'param', index, type: declared ?? UNKNOWN };
    }
    if ('TypeCast' in node) {
      const typeName = node.TypeCast.typeName as TypeName;
      const arg = await this.analyze(node.TypeCast.arg as Node, ctx);
      const reg = regTypeOf(typeName);
      if (reg !== undefined) {
        return this.regCast(arg, reg, node.TypeCast.location);
      }
      const target = typeFromTypeName(typeName);
      const fromReg = this.regTyped.get(arg);
      if (fromReg !== undefined && isTextual(target)) {
        return this.coerceSync(this.regOutput(arg, fromReg), target, 'explicit', node.TypeCast.location);
      }
      const cast = this.coerceSync(arg, target, 'explicit', node.TypeCast.location);
      // `x::regclass::oid` is a plain oid again: a new node, which no longer prints as a name.
      return fromReg !== undefined && cast === arg ? { ...arg } : cast;
    }
    if ('A_Expr' in node) {
      return this.aExpr(node.A_Expr, ctx);
    }
    if ('BoolExpr' in node) {
      const args: Expr[] = [];
      for (const a of node.BoolExpr.args ?? []) {
        args.push(this.coerceSync(await this.analyze(a, ctx), BOOL, 'implicit', node.BoolExpr.location, 'argument of boolean operator'));
      }
      switch (node.BoolExpr.boolop) {
        case 'AND_EXPR':
          return { k: 'and', args, type: BOOL };
        case 'OR_EXPR':
          return { k: 'or', args, type: BOOL };
        default:
          return { k: 'not', arg: args[0] as Expr, type: BOOL };
      }
    }
    if ('NullTest' in node) {
      const arg = await this.analyze(node.NullTest.arg as Node, ctx);
      return { k: 'isnull', arg: this.settleUnknown(arg), negate: node.NullTest.nulltesttype === 'IS_NOT_NULL', type: BOOL };
    }
    if ('BooleanTest' in node) {
      const arg = this.coerceSync(await this.analyze(node.BooleanTest.arg as Node, ctx), BOOL, 'implicit', undefined, 'argument of IS');
      const t = node.BooleanTest.booltesttype ?? 'IS_TRUE';
      const test = t.includes('TRUE') ? 'true' : t.includes('FALSE') ? 'false' : 'unknown';
      return { k: 'booltest', arg, test, negate: t.includes('NOT'), type: BOOL };
    }
    if ('CaseExpr' in node) {
      return this.caseExpr(node.CaseExpr, ctx);
    }
    if ('CoalesceExpr' in node) {
      const args = await this.sameTypeArgs(node.CoalesceExpr.args ?? [], ctx, 'COALESCE');
      return { k: 'coalesce', args, type: args[0]?.type ?? TEXT };
    }
    if ('MinMaxExpr' in node) {
      const args = await this.sameTypeArgs(node.MinMaxExpr.args ?? [], ctx, node.MinMaxExpr.op === 'IS_GREATEST' ? 'GREATEST' : 'LEAST');
      const name = node.MinMaxExpr.op === 'IS_GREATEST' ? 'greatest' : 'least';
      const resolved = resolveFunction(name, args.map((a) => a.type), node.MinMaxExpr.location);
      return { k: 'call', name, fn: resolved.fn, strict: false, volatile: false, immutable: resolved.immutable, args, type: resolved.type };
    }
    if ('FuncCall' in node) {
      return this.funcCall(node.FuncCall, ctx);
    }
    if ('SQLValueFunction' in node) {
      return this.sqlValueFunction(node.SQLValueFunction.op ?? 'SVFOP_CURRENT_TIMESTAMP', node.SQLValueFunction.location);
    }
    if ('SubLink' in node) {
      return this.subLink(node.SubLink, ctx);
    }
    if ('A_ArrayExpr' in node) {
      const elements = await this.sameTypeArgs(node.A_ArrayExpr.elements ?? [], ctx, 'ARRAY');
      const element = elements[0]?.type ?? TEXT;
      return { k: 'array', elements, type: { kind: 'array', element } };
    }
    if ('CollateClause' in node) {
      // Only the C collation exists; COLLATE "C" / "default" / "POSIX" are no-ops.
      const name = (node.CollateClause.collname ?? []).map(stringOf).join('.');
      if (!['C', 'default', 'POSIX', 'pg_catalog.default', 'pg_catalog.C', 'ucs_basic'].includes(name)) {
        throw new SqlError(SqlStates.undefinedObject, `collation "${name}" for encoding "UTF8" does not exist`, position(node.CollateClause.location));
      }
      return this.analyze(node.CollateClause.arg as Node, ctx);
    }
    if ('A_Indirection' in node) {
      return this.subscript(node.A_Indirection.arg as Node, node.A_Indirection.indirection ?? [], ctx);
    }
    if ('RowExpr' in node) {
      throw new SqlError(SqlStates.featureNotSupported, 'row constructors are not supported here');
    }
    throw new SqlError(SqlStates.featureNotSupported, `expression ${Object.keys(node)[0]} is not supported`);
  }

  /** Analyzes and requires a boolean (WHERE, HAVING, ON). */
  async condition(node: Node, ctx: ExprContext): Promise<Expr> {
    const expr = await this.analyze(node, ctx);
    return this.coerceSync(expr, BOOL, 'implicit', undefined, `argument of ${ctx.clause}`);
  }

  /**
   * Makes `expr` of type `target`: unknown literals are parsed as the target, unknown
   * parameters take the type, other values get a cast if one is allowed in `context`.
   */
  coerceSync(expr: Expr, target: SqlType, context: CastContext, location?: number, what?: string): Expr {
    if (target.kind === 'scalar' && target.name === 'unknown') {
      return expr;
    }
    if (expr.k === 'param' && isUnknown(expr.type)) {
      this.hooks.paramTypes[expr.index] = target;
      return { k: 'param', index: expr.index, type: target };
    }
    if (expr.k === 'const' && isUnknown(expr.type)) {
      return { k: 'const', type: target, value: expr.value === null ? null : parseLiteral(target, expr.value as string, location, this.hooks.foldContext) };
    }
    // Same type: nothing to do, unless an explicit cast must apply a length or precision.
    if (sameType(expr.type, target) && (context !== 'explicit' || !hasTypmod(target))) {
      return expr;
    }
    const cast = castFunction(expr.type, target, context);
    if (cast === undefined) {
      const message =
        what === undefined
          ? context === 'explicit'
            ? `cannot cast type ${typeDisplayName(expr.type)} to ${typeDisplayName(target)}`
            : `column is of type ${typeDisplayName(target)} but expression is of type ${typeDisplayName(expr.type)}`
          : `${what} must be type ${typeDisplayName(target)}, not type ${typeDisplayName(expr.type)}`;
      throw new SqlError(context === 'explicit' ? SqlStates.cannotCoerce : SqlStates.datatypeMismatch, message, position(location));
    }
    const castExpr: Expr = { k: 'cast', arg: expr, cast, type: target };
    return isFoldable(castExpr) ? this.fold(castExpr) : castExpr;
  }

  /** Unknown literals with no context become text (SELECT 'a'). */
  settleUnknown(expr: Expr): Expr {
    return isUnknown(expr.type) ? this.coerceSync(expr, TEXT, 'implicit') : expr;
  }

  /**
   * A result column's expression: unknowns settled, and reg-typed values printed as
   * their names (regclass and regtype columns travel as text, see reg-types.ts).
   */
  output(expr: Expr): Expr {
    const settled = this.settleUnknown(expr);
    const reg = this.regTyped.get(settled);
    return reg === undefined ? settled : this.regOutput(settled, reg);
  }

  private regOutput(expr: Expr, reg: RegType): Expr {
    return regText(expr, reg, () => this.hooks.noteCatalogUse?.());
  }

  /** `x::regclass`, `x::regtype`, `x::regproc` (reg-types.ts). */
  private async regCast(arg: Expr, reg: RegType, location: number | undefined): Promise<Expr> {
    const OID = scalarType('oid');
    let result: Expr;
    const constText = arg.k === 'const' && (isUnknown(arg.type) || isTextual(arg.type)) && typeof arg.value === 'string' ? arg.value : undefined;
    if (arg.k === 'const' && arg.value === null) {
      result = { k: 'const', type: reg === 'regproc' ? TEXT : OID, value: null };
    } else if (reg === 'regproc') {
      result = constText !== undefined ? { k: 'const', type: TEXT, value: regprocName(constText) } : this.coerceSync(arg, TEXT, 'explicit', location);
    } else if (constText !== undefined) {
      let oid: number | undefined;
      if (reg === 'regtype') {
        oid = withLocation(location, () => regtypeOid(constText));
      } else if (reg !== 'regclass') {
        throw new SqlError(SqlStates.featureNotSupported, `casting text to ${reg} is not supported`, position(location));
      } else {
        oid = /^\s*\d+\s*$/.test(constText) ? Number(constText) : await this.hooks.regclassOid?.(constText);
        if (oid === undefined) {
          throw new SqlError(SqlStates.undefinedTable, `relation "${constText}" does not exist`, position(location));
        }
      }
      result = { k: 'const', type: OID, value: BigInt(oid) };
    } else if (reg === 'regtype' && isTextual(arg.type)) {
      result = { k: 'call', name: 'regtypein', fn: regtypeIn, strict: true, volatile: false, args: [arg], type: OID };
    } else if (reg === 'regclass' && isTextual(arg.type)) {
      this.hooks.noteCatalogUse?.();
      result = { k: 'call', name: 'regclassin', fn: regclassIn, strict: true, volatile: true, args: [arg], type: OID };
    } else if (this.regTyped.has(arg)) {
      result = { ...arg };
    } else {
      result = this.coerceSync(arg, OID, 'explicit', location);
      if (result === arg) result = { ...arg };
    }
    this.regTyped.set(result, reg);
    return result;
  }

  /** `(array)[i]`: one-dimensional subscripts; NULL out of bounds, as in PostgreSQL. */
  private async subscript(argNode: Node, indirection: Node[], ctx: ExprContext): Promise<Expr> {
    let expr = await this.analyze(argNode, ctx);
    for (const ind of indirection) {
      if (!('A_Indices' in ind) || ind.A_Indices.is_slice === true) {
        throw new SqlError(SqlStates.featureNotSupported, 'array slices and field selection are not supported');
      }
      if (isTextual(expr.type)) {
        // Cairn's int2vector / oidvector catalog columns (indkey, prattrs, ...) are text
        // such as '1 2'; PostgreSQL subscripts them from 0.
        const index = this.coerceSync(await this.analyze(ind.A_Indices.uidx as Node, ctx), INT4, 'implicit', undefined, 'array subscript');
        const vectorItem: BuiltinImpl = (a) => {
          const item = (a[0] as string).split(' ').filter((x) => x !== '')[Number(a[1] as bigint)];
          return item === undefined ? null : BigInt(item);
        };
        expr = { k: 'call', name: 'vector_subscript', fn: vectorItem, strict: true, volatile: false, args: [expr, index], type: INT8 };
        continue;
      }
      if (expr.type.kind !== 'array') {
        throw new SqlError(
          SqlStates.datatypeMismatch,
          `cannot subscript type ${typeDisplayName(expr.type)} because it does not support subscripting`,
        );
      }
      const index = this.coerceSync(await this.analyze(ind.A_Indices.uidx as Node, ctx), INT4, 'implicit', undefined, 'array subscript');
      const element = expr.type.element;
      const call: Expr = {
        k: 'call',
        name: 'subscript',
        fn: (a) => (a[0] as readonly Datum[])[Number(a[1] as bigint) - 1] ?? null,
        strict: true,
        volatile: false,
        args: [expr, index],
        type: element,
      };
      expr = isFoldable(call) ? this.fold(call) : call;
    }
    return expr;
  }

  /** `x op ANY (array value)` where the array is not an ARRAY[...] constructor. */
  private quantifiedOverArray(op: string, left: Expr, right: Expr, all: boolean, location: number | undefined): Expr {
    const element = (right.type as Extract<SqlType, { kind: 'array' }>).element;
    const cmp = this.operatorCall(op, left, { k: 'const', type: element, value: null }, location);
    const leftCast = cmp.args[0] as Expr;
    const target = cmp.args[1]?.type ?? element;
    const cast = sameType(target, element) ? undefined : castFunction(element, target, 'implicit');
    if (!sameType(target, element) && cast === undefined) {
      throw new SqlError(SqlStates.undefinedFunction, `operator does not exist: ${typeDisplayName(left.type)} ${op} ${typeDisplayName(element)}`, position(location));
    }
    const compare = cmp.fn;
    const strict = cmp.strict;
    const fn: BuiltinImpl = (a, evalCtx) => {
      const value = a[0] ?? null;
      const list = a[1] as readonly Datum[] | null;
      if (list === null) return null;
      if (list.length === 0) return all;
      if (value === null && strict) return null;
      let sawNull = false;
      for (const item of list) {
        const v = item === null || cast === undefined ? item : cast(item, evalCtx);
        if (v === null && strict) {
          sawNull = true;
          continue;
        }
        const r = compare([value, v], evalCtx);
        if (r === null) sawNull = true;
        else if (r === !all) return !all;
      }
      return sawNull ? null : all;
    };
    return { k: 'call', name: `${op} ${all ? 'ALL' : 'ANY'}`, fn, strict: false, volatile: false, args: [leftCast, right], type: BOOL };
  }

  private async columnRef(fields: Node[], location: number | undefined, ctx: ExprContext): Promise<Expr> {
    if (fields.some((f) => 'A_Star' in f)) {
      throw new SqlError(SqlStates.syntaxError, '"*" is not allowed here', position(location));
    }
    const names = fields.map(stringOf);
    const name = names[names.length - 1] as string;
    const qualifier = names.length >= 2 ? names[names.length - 2] : undefined;
    if (ctx.grouping !== undefined) {
      // A grouped column written differently from its GROUP BY entry (t.a vs a).
      const input = ctx.grouping.inputScope.resolve(qualifier, name, location);
      if (input !== undefined && input.k === 'col') {
        const index = ctx.grouping.groups.findIndex((g) => g.expr.k === 'col' && g.expr.index === input.index);
        if (index >= 0) {
          return { k: 'col', index, type: input.type };
        }
      }
    }
    const found = ctx.scope.resolve(qualifier, name, location);
    if (found !== undefined) {
      if (ctx.grouping !== undefined && found.k === 'col') {
        throw new SqlError(
          SqlStates.groupingError,
          `column "${qualifier === undefined ? '' : `${qualifier}.`}${name}" must appear in the GROUP BY clause or be used in an aggregate function`,
          position(location),
        );
      }
      return found;
    }
    if (ctx.grouping !== undefined && ctx.grouping.inputScope.resolve(qualifier, name) !== undefined) {
      throw new SqlError(
        SqlStates.groupingError,
        `column "${qualifier === undefined ? '' : `${qualifier}.`}${name}" must appear in the GROUP BY clause or be used in an aggregate function`,
        position(location),
      );
    }
    if (qualifier !== undefined && !hasQualifierAnywhere(ctx.scope, qualifier)) {
      throw new SqlError(SqlStates.undefinedTable, `missing FROM-clause entry for table "${qualifier}"`, position(location));
    }
    throw new SqlError(SqlStates.undefinedColumn, `column ${names.join('.')} does not exist`, position(location));
  }

  private async aExpr(e: A_Expr, ctx: ExprContext): Promise<Expr> {
    const op = (e.name ?? []).map(stringOf).pop() ?? '=';
    switch (e.kind ?? 'AEXPR_OP') {
      case 'AEXPR_OP': {
        const right = await this.analyze(e.rexpr as Node, ctx);
        const left = e.lexpr === undefined ? undefined : await this.analyze(e.lexpr, ctx);
        return this.operator(op, left, right, e.location);
      }
      case 'AEXPR_OP_ANY':
      case 'AEXPR_OP_ALL': {
        const left = await this.analyze(e.lexpr as Node, ctx);
        let right = await this.analyze(e.rexpr as Node, ctx);
        if (isUnknown(right.type) && !isUnknown(left.type)) {
          // `x = ANY('{1,2}')`: the literal is an array of the left side's type.
          right = this.coerceSync(right, { kind: 'array', element: left.type }, 'implicit', e.location);
        }
        if (right.type.kind === 'array' && right.k !== 'array') {
          return this.quantifiedOverArray(op, left, right, e.kind === 'AEXPR_OP_ALL', e.location);
        }
        if (right.type.kind !== 'array') {
          throw new SqlError(SqlStates.wrongObjectType, 'op ANY/ALL (array) requires array on right side', position(e.location));
        }
        const element = right.type.element;
        const cmp = this.operatorCall(op, left, { k: 'const', type: element, value: null }, e.location);
        const leftCast = this.coerceSync(left, cmp.args[0]?.type ?? left.type, 'implicit', e.location);
        const list: Expr[] = right.k === 'array' ? right.elements.map((x) => this.coerceSync(x, cmp.args[1]?.type ?? element, 'implicit')) : [];
        if (right.k !== 'array') {
          throw new SqlError(SqlStates.featureNotSupported, 'ANY/ALL over an array value is not supported yet');
        }
        return { k: 'quantified', arg: leftCast, list, compare: cmp.fn, op, all: e.kind === 'AEXPR_OP_ALL', type: BOOL };
      }
      case 'AEXPR_DISTINCT':
      case 'AEXPR_NOT_DISTINCT': {
        const left = await this.analyze(e.lexpr as Node, ctx);
        const right = await this.analyze(e.rexpr as Node, ctx);
        const eq = this.operatorCall('=', left, right, e.location);
        return { k: 'distinct', left: eq.args[0] as Expr, right: eq.args[1] as Expr, equals: eq.fn, negate: e.kind === 'AEXPR_NOT_DISTINCT', type: BOOL };
      }
      case 'AEXPR_NULLIF': {
        const left = await this.analyze(e.lexpr as Node, ctx);
        const right = await this.analyze(e.rexpr as Node, ctx);
        const eq = this.operatorCall('=', left, right, e.location);
        // NULLIF(a, b) = CASE WHEN a = b THEN NULL ELSE a END, typed as the = operator's left input.
        const a = eq.args[0] as Expr;
        const nullif: Expr = { k: 'case', whens: [{ when: eq, then: { k: 'const', type: a.type, value: null } }], otherwise: a, type: a.type };
        return isFoldable(nullif) ? this.fold(nullif) : nullif;
      }
      case 'AEXPR_IN': {
        const left = await this.analyze(e.lexpr as Node, ctx);
        const items: Expr[] = [];
        for (const item of (e.rexpr as { List?: { items?: Node[] } }).List?.items ?? []) {
          items.push(await this.analyze(item, ctx));
        }
        const type = commonType([left.type, ...items.map((i) => i.type)], 'IN', e.location);
        const arg = this.coerceSync(left, type, 'implicit', e.location);
        const list = items.map((i) => this.coerceSync(i, type, 'implicit', e.location));
        const eq = this.operatorCall('=', arg, list[0] ?? arg, e.location);
        const inExpr: Expr = { k: 'quantified', arg, list, compare: eq.fn, op: '=', all: false, type: BOOL };
        return op === '<>' ? { k: 'not', arg: inExpr, type: BOOL } : inExpr;
      }
      case 'AEXPR_LIKE':
      case 'AEXPR_ILIKE': {
        const left = await this.analyze(e.lexpr as Node, ctx);
        const right = await this.analyze(e.rexpr as Node, ctx);
        return this.operator(op, left, right, e.location);
      }
      case 'AEXPR_SIMILAR':
        throw new SqlError(SqlStates.featureNotSupported, 'SIMILAR TO is not supported', position(e.location));
      case 'AEXPR_BETWEEN':
      case 'AEXPR_NOT_BETWEEN':
      case 'AEXPR_BETWEEN_SYM':
      case 'AEXPR_NOT_BETWEEN_SYM': {
        const bounds = (e.rexpr as { List?: { items?: Node[] } }).List?.items ?? [];
        const arg = await this.analyze(e.lexpr as Node, ctx);
        const low = await this.analyze(bounds[0] as Node, ctx);
        const high = await this.analyze(bounds[1] as Node, ctx);
        const ge = this.operator('>=', arg, low, e.location);
        const le = this.operator('<=', arg, high, e.location);
        let test: Expr = { k: 'and', args: [ge, le], type: BOOL };
        if (e.kind === 'AEXPR_BETWEEN_SYM' || e.kind === 'AEXPR_NOT_BETWEEN_SYM') {
          const ge2 = this.operator('>=', arg, high, e.location);
          const le2 = this.operator('<=', arg, low, e.location);
          test = { k: 'or', args: [test, { k: 'and', args: [ge2, le2], type: BOOL }], type: BOOL };
        }
        return (e.kind ?? '').startsWith('AEXPR_NOT') ? { k: 'not', arg: test, type: BOOL } : test;
      }
      default:
        throw new SqlError(SqlStates.featureNotSupported, `operator kind ${e.kind} is not supported`, position(e.location));
    }
  }

  /** Resolves a binary or prefix operator and casts its operands (folded when constant). */
  operator(op: string, left: Expr | undefined, right: Expr, location?: number): Expr {
    const call = this.operatorCall(op, left, right, location);
    return isFoldable(call) ? this.fold(call) : call;
  }

  /** The operator call itself, never folded (for IN, NULLIF, IS DISTINCT FROM, ...). */
  operatorCall(op: string, left: Expr | undefined, right: Expr, location?: number): Extract<Expr, { k: 'call' }> {
    if (left !== undefined && isUnknown(left.type) && isUnknown(right.type)) {
      // Two untyped literals compare as text, as in PostgreSQL.
      left = this.coerceSync(left, TEXT, 'implicit', location);
      right = this.coerceSync(right, TEXT, 'implicit', location);
    }
    const resolved = resolveOperator(op, left?.type, right.type, location);
    const args: Expr[] = [];
    if (left !== undefined) {
      args.push(this.coerceSync(left, resolved.argTypes[0] as SqlType, 'implicit', location));
    }
    args.push(this.coerceSync(right, resolved.argTypes[resolved.argTypes.length - 1] as SqlType, 'implicit', location));
    return { k: 'call', name: op, fn: resolved.fn, strict: resolved.strict, volatile: resolved.volatile, immutable: resolved.immutable, args, type: resolved.type };
  }

  private async caseExpr(c: { arg?: Node; args?: Node[]; defresult?: Node; location?: number }, ctx: ExprContext): Promise<Expr> {
    const operand = c.arg === undefined ? undefined : await this.analyze(c.arg, ctx);
    const conditions: Expr[] = [];
    const results: Expr[] = [];
    for (const w of c.args ?? []) {
      const when = (w as { CaseWhen: { expr?: Node; result?: Node; location?: number } }).CaseWhen;
      const value = await this.analyze(when.expr as Node, ctx);
      conditions.push(
        operand === undefined
          ? this.coerceSync(value, BOOL, 'implicit', when.location, 'argument of CASE/WHEN')
          : this.operator('=', operand, value, when.location),
      );
      results.push(await this.analyze(when.result as Node, ctx));
    }
    const otherwise = c.defresult === undefined ? undefined : await this.analyze(c.defresult, ctx);
    const type = commonType([...results, ...(otherwise === undefined ? [] : [otherwise])].map((r) => r.type), 'CASE', c.location);
    return {
      k: 'case',
      whens: conditions.map((when, i) => ({ when, then: this.coerceSync(results[i] as Expr, type, 'implicit', c.location) })),
      otherwise: otherwise === undefined ? { k: 'const', type, value: null } : this.coerceSync(otherwise, type, 'implicit', c.location),
      type,
    };
  }

  private async sameTypeArgs(nodes: Node[], ctx: ExprContext, what: string): Promise<Expr[]> {
    const args: Expr[] = [];
    for (const n of nodes) args.push(await this.analyze(n, ctx));
    const type = commonType(args.map((a) => a.type), what);
    return args.map((a) => this.coerceSync(a, type, 'implicit'));
  }

  private async funcCall(f: FuncCall, ctx: ExprContext): Promise<Expr> {
    const names = (f.funcname ?? []).map(stringOf);
    const name = (names[names.length - 1] as string).toLowerCase();
    if (names.length > 1 && names[0] !== 'pg_catalog' && names[0] !== 'public' && names[0] !== 'information_schema') {
      throw new SqlError(SqlStates.undefinedFunction, `function ${names.join('.')} does not exist`, position(f.location));
    }
    if (f.over !== undefined) {
      throw new SqlError(SqlStates.featureNotSupported, 'window functions are not supported', position(f.location));
    }
    if (isAggregateName(name) && (f.agg_star === true || f.args !== undefined || name === 'count')) {
      return this.aggregate(name, f, ctx);
    }
    if (f.agg_distinct === true || f.agg_order !== undefined || f.agg_filter !== undefined) {
      throw new SqlError(SqlStates.wrongObjectType, `${name} is not an aggregate function`, position(f.location));
    }
    const args: Expr[] = [];
    for (const a of f.args ?? []) args.push(await this.analyze(a, ctx));
    let first = args[0];
    if (first !== undefined && takesSequenceArgument(name)) {
      // nextval('s'), nextval($1): the name is read as regclass, as PostgreSQL's implicit
      // cast does (a parameter travels as text, looked up when the statement runs).
      if (first.k === 'param' && isUnknown(first.type)) first = this.coerceSync(first, TEXT, 'implicit');
      if (isUnknown(first.type) || isTextual(first.type)) args[0] = await this.regCast(first, 'regclass', f.location);
    }
    const catalogFn = resolveCatalogFunction(name, args.length);
    if (catalogFn !== undefined) {
      if (catalogFn.needsCatalog) this.hooks.noteCatalogUse?.();
      const castArgs = args.map((a, i) => this.coerceSync(a, catalogFn.argTypes[i] as SqlType, 'implicit', f.location));
      return { k: 'call', name, fn: catalogFn.fn, strict: catalogFn.strict, volatile: catalogFn.volatile, immutable: false, args: castArgs, type: catalogFn.type };
    }
    const resolved = resolveFunction(name, args.map((a) => a.type), f.location);
    const cast = args.map((a, i) => this.coerceSync(a, (resolved.argTypes[i] ?? a.type) as SqlType, 'implicit', f.location));
    const call: Expr = { k: 'call', name, fn: resolved.fn, strict: resolved.strict, volatile: resolved.volatile, immutable: resolved.immutable, args: cast, type: resolved.type };
    return isFoldable(call) ? this.fold(call) : call;
  }

  private async aggregate(name: string, f: FuncCall, ctx: ExprContext): Promise<Expr> {
    const grouping = ctx.grouping;
    if (grouping === undefined) {
      throw new SqlError(SqlStates.groupingError, `aggregate functions are not allowed in ${ctx.clause}`, position(f.location));
    }
    const fingerprint = fingerprintOf({ FuncCall: f });
    const existing = grouping.aggregateFingerprints.indexOf(fingerprint);
    if (existing >= 0) {
      const agg = grouping.aggregates[existing] as AggregateCall;
      return { k: 'col', index: grouping.groups.length + existing, type: agg.type };
    }
    const inner: ExprContext = { scope: grouping.inputScope, subqueries: grouping.inputSubqueries, clause: 'aggregate function calls' };
    const args: Expr[] = [];
    if (f.agg_star !== true) {
      for (const a of f.args ?? []) args.push(this.settleUnknown(await this.analyze(a, inner)));
    }
    const resolved = resolveAggregate(name, args.map((a) => a.type), f.location);
    const castArgs = args.map((a, i) => this.coerceSync(a, (resolved.argTypes[i] ?? a.type) as SqlType, 'implicit', f.location));
    const orderBy: SortKey[] = [];
    for (const s of f.agg_order ?? []) {
      const sort = (s as { SortBy: { node?: Node; sortby_dir?: string; sortby_nulls?: string } }).SortBy;
      const descending = sort.sortby_dir === 'SORTBY_DESC';
      orderBy.push({
        expr: this.settleUnknown(await this.analyze(sort.node as Node, inner)),
        descending,
        nullsFirst: sort.sortby_nulls === 'SORTBY_NULLS_DEFAULT' || sort.sortby_nulls === undefined ? descending : sort.sortby_nulls === 'SORTBY_NULLS_FIRST',
      });
    }
    const call: AggregateCall = {
      name,
      args: castArgs,
      distinct: f.agg_distinct === true,
      ...(f.agg_filter === undefined ? {} : { filter: await this.condition(f.agg_filter, { ...inner, clause: 'FILTER' }) }),
      orderBy,
      init: resolved.init,
      step: resolved.step,
      final: resolved.final,
      skipNulls: resolved.skipNulls,
      type: resolved.type,
    };
    grouping.aggregates.push(call);
    grouping.aggregateFingerprints.push(fingerprint);
    return { k: 'col', index: grouping.groups.length + grouping.aggregates.length - 1, type: call.type };
  }

  private sqlValueFunction(op: string, location: number | undefined): Expr {
    const call = (name: string): Expr => {
      const resolved = resolveFunction(name, [], location);
      return { k: 'call', name, fn: resolved.fn, strict: false, volatile: resolved.volatile, immutable: false, args: [], type: resolved.type };
    };
    switch (op) {
      case 'SVFOP_CURRENT_DATE':
        return call('current_date');
      case 'SVFOP_CURRENT_TIMESTAMP':
      case 'SVFOP_CURRENT_TIMESTAMP_N':
        return call('now');
      case 'SVFOP_LOCALTIMESTAMP':
      case 'SVFOP_LOCALTIMESTAMP_N':
        return call('localtimestamp');
      case 'SVFOP_CURRENT_ROLE':
      case 'SVFOP_CURRENT_USER':
      case 'SVFOP_USER':
        return call('current_user');
      case 'SVFOP_SESSION_USER':
        return call('session_user');
      case 'SVFOP_CURRENT_CATALOG':
        return call('current_database');
      case 'SVFOP_CURRENT_SCHEMA':
        return call('current_schema');
      default:
        throw new SqlError(SqlStates.featureNotSupported, `${op.replace('SVFOP_', '').toLowerCase()} is not supported`, position(location));
    }
  }

  private async subLink(s: SubLink, ctx: ExprContext): Promise<Expr> {
    const result = await this.hooks.analyzeSubquery(s.subselect as Node, ctx.scope);
    const slot = ctx.subqueries.length;
    switch (s.subLinkType) {
      case 'EXISTS_SUBLINK':
        ctx.subqueries.push({ slot, kind: 'exists', plan: result.plan, correlated: result.correlated });
        return { k: 'subquery', slot, type: BOOL };
      case 'EXPR_SUBLINK': {
        if (result.types.length !== 1) {
          throw new SqlError(SqlStates.syntaxError, 'subquery must return only one column', position(s.location));
        }
        ctx.subqueries.push({ slot, kind: 'scalar', plan: result.plan, correlated: result.correlated });
        return { k: 'subquery', slot, type: result.types[0] as SqlType };
      }
      case 'ANY_SUBLINK':
      case 'ALL_SUBLINK': {
        if (result.types.length !== 1) {
          throw new SqlError(SqlStates.syntaxError, result.types.length > 1 ? 'subquery has too many columns' : 'subquery has too few columns', position(s.location));
        }
        const op = (s.operName ?? []).map(stringOf).pop() ?? '=';
        const left = await this.analyze(s.testexpr as Node, ctx);
        const elementType = result.types[0] as SqlType;
        const cmp = this.operatorCall(op, left, { k: 'const', type: elementType, value: null }, s.location);
        if (!sameType(cmp.args[1]?.type ?? elementType, elementType)) {
          // The subquery's values would need a cast per row: compare in its type instead.
          const type = commonType([left.type, elementType], 'IN', s.location);
          if (!sameType(type, elementType)) {
            throw new SqlError(SqlStates.featureNotSupported, `comparing ${typeDisplayName(left.type)} with a subquery of ${typeDisplayName(elementType)}`, position(s.location));
          }
        }
        const resolved = resolveOperator(op, elementType, elementType, s.location);
        ctx.subqueries.push({ slot, kind: 'list', plan: result.plan, correlated: result.correlated });
        return {
          k: 'quantified',
          arg: this.coerceSync(left, elementType, 'implicit', s.location),
          list: { slot },
          compare: resolved.fn,
          op,
          all: s.subLinkType === 'ALL_SUBLINK',
          type: BOOL,
        };
      }
      case 'ARRAY_SUBLINK': {
        // The list subquery's values, in the subquery's order, are the array.
        const element = result.types[0];
        if (result.types.length !== 1 || element === undefined) {
          throw new SqlError(SqlStates.syntaxError, 'subquery must return only one column', position(s.location));
        }
        if (element.kind === 'array') {
          throw new SqlError(SqlStates.featureNotSupported, 'ARRAY(subquery) of arrays is not supported', position(s.location));
        }
        ctx.subqueries.push({ slot, kind: 'list', plan: result.plan, correlated: result.correlated });
        return { k: 'subquery', slot, type: { kind: 'array', element: isUnknown(element) ? TEXT : element } };
      }
      default:
        throw new SqlError(SqlStates.featureNotSupported, `subquery kind ${s.subLinkType} is not supported`, position(s.location));
    }
  }

  private matchGroup(node: Node, grouping: GroupingContext): Expr | undefined {
    if (grouping.groups.length === 0 || 'A_Const' in node) {
      return undefined;
    }
    const fp = fingerprintOf(node);
    const index = grouping.groups.findIndex((g) => g.fingerprint === fp);
    return index < 0 ? undefined : { k: 'col', index, type: (grouping.groups[index] as { expr: Expr }).expr.type };
  }
}

function hasQualifierAnywhere(scope: Scope, qualifier: string): boolean {
  for (let s: Scope | undefined = scope; s !== undefined; s = s.parent) {
    if (s.hasQualifier(qualifier)) return true;
  }
  return false;
}

function isUnknown(type: SqlType): boolean {
  return type.kind === 'scalar' && type.name === 'unknown';
}

function hasTypmod(type: SqlType): boolean {
  return type.kind === 'scalar' && type.typmod >= 0;
}

export function stringOf(node: Node): string {
  if ('String' in node) return node.String.sval ?? '';
  if ('A_Star' in node) return '*';
  throw new SqlError(SqlStates.syntaxError, `unexpected name node ${Object.keys(node)[0]}`);
}

/** Evaluates a constant expression now (constant folding); errors surface at planning. */
function fold(expr: Expr, ctx: EvalContext = FOLD_ENV.ctx): Expr {
  const value = compileExpr(expr)([], { ...FOLD_ENV, ctx });
  return { k: 'const', type: expr.type, value };
}

const FOLD_ENV = {
  params: [],
  outer: [],
  subqueries: [],
  ctx: {
    statementTimeMicros: 0n,
    transactionTimeMicros: 0n,
    timeZone: 'UTC',
    random: () => 0,
    database: '',
    user: '',
    setting: () => undefined,
  },
};

function constant(c: A_Const): Expr {
  if (c.isnull === true) {
    return { k: 'const', type: UNKNOWN, value: null };
  }
  if (c.ival !== undefined) {
    return { k: 'const', type: INT4, value: BigInt(c.ival.ival ?? 0) };
  }
  if (c.fval !== undefined) {
    const text = c.fval.fval ?? '0';
    // Integer literals too large for int4 arrive as floats: int8 if they fit, else numeric.
    if (/^-?\d+$/.test(text)) {
      const v = BigInt(text);
      if (v >= -(2n ** 63n) && v < 2n ** 63n) return { k: 'const', type: INT8, value: v };
    }
    return { k: 'const', type: scalarType('numeric'), value: parseLiteral(scalarType('numeric'), text) };
  }
  if (c.boolval !== undefined) {
    return { k: 'const', type: BOOL, value: c.boolval.boolval === true };
  }
  if (c.sval !== undefined) {
    return { k: 'const', type: UNKNOWN, value: c.sval.sval ?? '' };
  }
  if (c.bsval !== undefined) {
    throw new SqlError(SqlStates.featureNotSupported, 'bit string literals are not supported');
  }
  return { k: 'const', type: UNKNOWN, value: null };
}

/** The AST without locations, as a string: equal for the same expression written twice. */
export function fingerprintOf(node: unknown): string {
  return JSON.stringify(node, (key, value: unknown) => (key === 'location' ? undefined : value));
}

export type { Datum };

function withLocation<T>(location: number | undefined, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof SqlError && err.position === undefined && location !== undefined) {
      throw new SqlError(err.sqlState, err.message, position(location));
    }
    throw err;
  }
}
