import type { StoredExpr } from '../catalog/descriptors';
import type { SqlType } from '../types/datum';
import { resolveTypeName, typeName } from '../types/type-names';
import { quoteIdent, quoteLiteral } from './quote';

/**
 * The text of a stored expression (a CHECK, a column default) the way PostgreSQL's
 * pg_get_expr / pg_get_constraintdef print it, from the parser's AST: keywords in upper
 * case, single spaces around operators, IN as `= ANY (ARRAY[...])`, BETWEEN as two
 * comparisons, LIKE as `~~`, negative constants as `'-1'::integer`, and parentheses
 * where PostgreSQL's pretty printer puts them (pretty) or around every operator
 * (not pretty). PostgreSQL prints the analysed expression, with the implicit casts its
 * type resolution added (`c > 0::numeric`); Cairn stores the raw one, so those casts do
 * not appear. Nodes this printer does not know fall back to the text as written.
 */

export interface ExprTextOptions {
  /** PostgreSQL's `pretty` flag: fewer parentheses (psql passes true). */
  readonly pretty?: boolean;
}

/** Thrown inside the printer when a node is not handled: the caller falls back. */
class Unprintable extends Error {}

type Obj = Readonly<Record<string, unknown>>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** { Kind: body } → [Kind, body]. */
function nodeOf(node: unknown): [string, Obj] {
  if (!isObj(node)) throw new Unprintable();
  const keys = Object.keys(node);
  const kind = keys[0];
  const body = kind === undefined ? undefined : node[kind];
  if (keys.length !== 1 || kind === undefined || !isObj(body)) throw new Unprintable();
  return [kind, body];
}

function list(v: unknown): readonly unknown[] {
  if (v === undefined) return [];
  if (Array.isArray(v)) return v;
  // A `List` node wraps its items.
  if (isObj(v) && isObj(v['List'])) return list(v['List']['items']);
  throw new Unprintable();
}

function str(node: unknown): string {
  const [kind, body] = nodeOf(node);
  if (kind !== 'String' || typeof body['sval'] !== 'string') throw new Unprintable();
  return body['sval'];
}

const ARITHMETIC: Readonly<Record<string, number>> = { '+': 1, '-': 1, '*': 2, '/': 2, '%': 2, '^': 3 };

/** What the parent of a node is, for deciding parentheses. */
type Context =
  | { readonly k: 'top' }
  | { readonly k: 'bool'; readonly op: string }
  | { readonly k: 'op'; readonly op: string; readonly side: 'left' | 'right' | 'prefix' }
  | { readonly k: 'arg' };

class Printer {
  constructor(private readonly pretty: boolean) {}

  print(node: unknown, ctx: Context): string {
    const [kind, body] = nodeOf(node);
    switch (kind) {
      case 'ColumnRef':
        return list(body['fields'])
          .map((f) => (isObj(f) && 'A_Star' in f ? '*' : quoteIdent(str(f))))
          .join('.');
      case 'A_Const':
        return this.constant(body);
      case 'TypeCast':
        return this.cast(body);
      case 'A_Expr':
        return this.aExpr(body, ctx);
      case 'BoolExpr':
        return this.boolExpr(body, ctx);
      case 'NullTest': {
        const not = body['nulltesttype'] === 'IS_NOT_NULL' ? ' NOT' : '';
        return this.wrap(`${this.operand(body['arg'])} IS${not} NULL`, ctx, 'test');
      }
      case 'BooleanTest': {
        const tests: Readonly<Record<string, string>> = {
          IS_TRUE: 'IS TRUE',
          IS_NOT_TRUE: 'IS NOT TRUE',
          IS_FALSE: 'IS FALSE',
          IS_NOT_FALSE: 'IS NOT FALSE',
          IS_UNKNOWN: 'IS UNKNOWN',
          IS_NOT_UNKNOWN: 'IS NOT UNKNOWN',
        };
        const test = tests[String(body['booltesttype'])];
        if (test === undefined) throw new Unprintable();
        return this.wrap(`${this.operand(body['arg'])} ${test}`, ctx, 'test');
      }
      case 'FuncCall':
        return this.funcCall(body);
      case 'CoalesceExpr':
        return `COALESCE(${this.args(body['args'])})`;
      case 'MinMaxExpr':
        return `${body['op'] === 'IS_GREATEST' ? 'GREATEST' : 'LEAST'}(${this.args(body['args'])})`;
      case 'NullIfExpr':
        return `NULLIF(${this.args(body['args'])})`;
      case 'A_ArrayExpr':
        return `ARRAY[${this.args(body['elements'])}]`;
      case 'SQLValueFunction':
        return sqlValueFunction(body);
      case 'CaseExpr':
        return this.caseExpr(body);
      default:
        throw new Unprintable();
    }
  }

  private args(v: unknown): string {
    return list(v)
      .map((a) => this.print(a, { k: 'arg' }))
      .join(', ');
  }

  /** The argument of IS [NOT] NULL / a cast: bare when simple, else parenthesised. */
  private operand(node: unknown): string {
    const text = this.print(node, { k: 'arg' });
    return isSimple(node) ? text : `(${text})`;
  }

  private constant(body: Obj): string {
    if (body['isnull'] === true) return 'NULL';
    if ('sval' in body) {
      const v = isObj(body['sval']) ? body['sval']['sval'] : undefined;
      return quoteLiteral(typeof v === 'string' ? v : '');
    }
    if ('boolval' in body) {
      return isObj(body['boolval']) && body['boolval']['boolval'] === true ? 'true' : 'false';
    }
    if ('ival' in body) {
      // The JSON form leaves zero out.
      const v = isObj(body['ival']) ? body['ival']['ival'] : undefined;
      return numberText(String(typeof v === 'number' ? v : 0), 'integer');
    }
    if ('fval' in body) {
      const v = isObj(body['fval']) ? body['fval']['fval'] : undefined;
      if (typeof v !== 'string') throw new Unprintable();
      return numberText(v, /^-?\d+$/.test(v) ? 'bigint' : 'numeric');
    }
    throw new Unprintable();
  }

  private cast(body: Obj): string {
    const target = castTypeText(body['typeName']);
    const arg = body['arg'];
    const argText = this.print(arg, { k: 'arg' });
    // A constant cast to a type prints as the typed constant: '1'::text.
    if (isObj(arg) && 'A_Const' in arg && argText.startsWith("'") && !argText.includes('::')) {
      return `${argText}::${target}`;
    }
    // Not pretty, PostgreSQL parenthesises every cast's argument: (s)::text.
    return this.pretty && isSimple(arg) ? `${argText}::${target}` : `(${argText})::${target}`;
  }

  private aExpr(body: Obj, ctx: Context): string {
    const names = list(body['name']).map(str);
    const op = names[names.length - 1];
    if (op === undefined) throw new Unprintable();
    switch (body['kind']) {
      case 'AEXPR_OP': {
        if (body['lexpr'] === undefined) {
          const text = `${op} ${this.print(body['rexpr'], { k: 'op', op, side: 'prefix' })}`;
          return this.wrap(text, ctx, 'prefix', op);
        }
        const left = this.print(body['lexpr'], { k: 'op', op, side: 'left' });
        const right = this.print(body['rexpr'], { k: 'op', op, side: 'right' });
        return this.wrap(`${left} ${op} ${right}`, ctx, 'op', op);
      }
      case 'AEXPR_LIKE':
      case 'AEXPR_ILIKE': {
        const left = this.print(body['lexpr'], { k: 'op', op, side: 'left' });
        const right = this.print(body['rexpr'], { k: 'op', op, side: 'right' });
        return this.wrap(`${left} ${op} ${right}`, ctx, 'op', op);
      }
      case 'AEXPR_OP_ANY':
      case 'AEXPR_OP_ALL': {
        const quantifier = body['kind'] === 'AEXPR_OP_ANY' ? 'ANY' : 'ALL';
        const left = this.print(body['lexpr'], { k: 'op', op, side: 'left' });
        return this.wrap(`${left} ${op} ${quantifier} (${this.print(body['rexpr'], { k: 'arg' })})`, ctx, 'op', op);
      }
      case 'AEXPR_IN': {
        // PostgreSQL analyses x IN (a, b) into x = ANY (ARRAY[a, b]); NOT IN into <> ALL.
        const quantifier = op === '=' ? 'ANY' : 'ALL';
        const left = this.print(body['lexpr'], { k: 'op', op, side: 'left' });
        return this.wrap(`${left} ${op} ${quantifier} (ARRAY[${this.args(body['rexpr'])}])`, ctx, 'op', op);
      }
      case 'AEXPR_BETWEEN':
      case 'AEXPR_NOT_BETWEEN': {
        const bounds = list(body['rexpr']);
        if (bounds.length !== 2) throw new Unprintable();
        const between = body['kind'] === 'AEXPR_BETWEEN';
        const [lo, hi] = between ? ['>=', '<='] : ['<', '>'];
        const mk = (cmp: string, bound: unknown): unknown => ({
          A_Expr: { kind: 'AEXPR_OP', name: [{ String: { sval: cmp } }], lexpr: body['lexpr'], rexpr: bound },
        });
        return this.boolExpr({ boolop: between ? 'AND_EXPR' : 'OR_EXPR', args: [mk(lo, bounds[0]), mk(hi, bounds[1])] }, ctx);
      }
      case 'AEXPR_DISTINCT':
      case 'AEXPR_NOT_DISTINCT': {
        const not = body['kind'] === 'AEXPR_NOT_DISTINCT' ? ' NOT' : '';
        const left = this.print(body['lexpr'], { k: 'op', op: '=', side: 'left' });
        const right = this.print(body['rexpr'], { k: 'op', op: '=', side: 'right' });
        return this.wrap(`${left} IS${not} DISTINCT FROM ${right}`, ctx, 'op', '=');
      }
      case 'AEXPR_NULLIF':
        return `NULLIF(${this.print(body['lexpr'], { k: 'arg' })}, ${this.print(body['rexpr'], { k: 'arg' })})`;
      default:
        throw new Unprintable();
    }
  }

  private boolExpr(body: Obj, ctx: Context): string {
    const args = list(body['args']);
    switch (body['boolop']) {
      case 'NOT_EXPR': {
        const arg = args[0];
        if (args.length !== 1) throw new Unprintable();
        return this.wrap(`NOT ${this.print(arg, { k: 'bool', op: 'NOT' })}`, ctx, 'bool', 'NOT');
      }
      case 'AND_EXPR':
      case 'OR_EXPR': {
        const op = body['boolop'] === 'AND_EXPR' ? 'AND' : 'OR';
        const text = args.map((a) => this.print(a, { k: 'bool', op })).join(` ${op} `);
        return this.wrap(text, ctx, 'bool', op);
      }
      default:
        throw new Unprintable();
    }
  }

  private funcCall(body: Obj): string {
    const names = list(body['funcname']).map(str);
    const shown = names.length === 2 && names[0] === 'pg_catalog' ? names.slice(1) : names;
    const name = shown.map(quoteIdent).join('.');
    if (body['agg_star'] === true) return `${name}(*)`;
    if (body['over'] !== undefined || body['agg_order'] !== undefined || body['agg_filter'] !== undefined) {
      throw new Unprintable();
    }
    const distinct = body['agg_distinct'] === true ? 'DISTINCT ' : '';
    return `${name}(${distinct}${this.args(body['args'])})`;
  }

  private caseExpr(body: Obj): string {
    const parts = ['CASE'];
    if (body['arg'] !== undefined) parts.push(this.print(body['arg'], { k: 'arg' }));
    for (const w of list(body['args'])) {
      const [kind, when] = nodeOf(w);
      if (kind !== 'CaseWhen') throw new Unprintable();
      parts.push(`WHEN ${this.print(when['expr'], { k: 'arg' })} THEN ${this.print(when['result'], { k: 'arg' })}`);
    }
    if (body['defresult'] !== undefined) parts.push(`ELSE ${this.print(body['defresult'], { k: 'arg' })}`);
    parts.push('END');
    return parts.join(' ');
  }

  /**
   * Parenthesises `text` (a node of class `cls`, operator `op`) as its context needs.
   * Pretty: a boolean operand needs parentheses only when it is AND/OR of the other
   * kind; an operand of an operator needs them unless both are arithmetic and the
   * child binds tighter (or as tight, on the left). Not pretty: every operator node.
   */
  private wrap(text: string, ctx: Context, cls: 'op' | 'prefix' | 'bool' | 'test', op = ''): string {
    if (!this.pretty) {
      return ctx.k === 'bool' && cls === 'bool' && ctx.op === op && op !== 'NOT' ? text : `(${text})`;
    }
    switch (ctx.k) {
      case 'top':
      case 'arg':
        return text;
      case 'bool':
        if (cls !== 'bool' || op === 'NOT') return text;
        return ctx.op === op ? text : `(${text})`;
      case 'op': {
        const parent = ARITHMETIC[ctx.op];
        const child = ARITHMETIC[op];
        if (cls === 'op' && parent !== undefined && child !== undefined && (child > parent || (child === parent && ctx.side === 'left'))) {
          return text;
        }
        return `(${text})`;
      }
    }
  }
}

/** Columns, constants, calls and casts print without parentheses as operands. */
function isSimple(node: unknown): boolean {
  if (!isObj(node)) return false;
  return ['ColumnRef', 'A_Const', 'FuncCall', 'TypeCast', 'CoalesceExpr', 'MinMaxExpr', 'A_ArrayExpr', 'SQLValueFunction', 'NullIfExpr'].some(
    (k) => k in node,
  );
}

/** PostgreSQL prints a negative or out-of-int4 constant quoted with its type: '-1'::integer. */
function numberText(text: string, type: 'integer' | 'bigint' | 'numeric'): string {
  let shownType = type;
  if (type === 'integer' || type === 'bigint') {
    const v = BigInt(text);
    shownType = v >= -(2n ** 31n) && v < 2n ** 31n ? 'integer' : v >= -(2n ** 63n) && v < 2n ** 63n ? 'bigint' : 'numeric';
    if (v >= 0n && shownType === 'integer') return text;
  } else if (!text.startsWith('-')) {
    return text;
  }
  return `'${text}'::${shownType}`;
}

function castTypeText(node: unknown): string {
  try {
    return typeName(resolveTypeName(node as Parameters<typeof resolveTypeName>[0]));
  } catch {
    const names = isObj(node) ? list(node['names']).map(str) : [];
    const last = names[names.length - 1];
    if (last === undefined) throw new Unprintable();
    return quoteIdent(last);
  }
}

function sqlValueFunction(body: Obj): string {
  const names: Readonly<Record<string, string>> = {
    SVFOP_CURRENT_DATE: 'CURRENT_DATE',
    SVFOP_CURRENT_TIME: 'CURRENT_TIME',
    SVFOP_CURRENT_TIME_N: 'CURRENT_TIME',
    SVFOP_CURRENT_TIMESTAMP: 'CURRENT_TIMESTAMP',
    SVFOP_CURRENT_TIMESTAMP_N: 'CURRENT_TIMESTAMP',
    SVFOP_LOCALTIME: 'LOCALTIME',
    SVFOP_LOCALTIME_N: 'LOCALTIME',
    SVFOP_LOCALTIMESTAMP: 'LOCALTIMESTAMP',
    SVFOP_LOCALTIMESTAMP_N: 'LOCALTIMESTAMP',
    SVFOP_CURRENT_ROLE: 'CURRENT_ROLE',
    SVFOP_CURRENT_USER: 'CURRENT_USER',
    SVFOP_USER: 'USER',
    SVFOP_SESSION_USER: 'SESSION_USER',
    SVFOP_CURRENT_CATALOG: 'CURRENT_CATALOG',
    SVFOP_CURRENT_SCHEMA: 'CURRENT_SCHEMA',
  };
  const name = names[String(body['op'])];
  if (name === undefined) throw new Unprintable();
  const typmod = body['typmod'];
  return String(body['op']).endsWith('_N') && typeof typmod === 'number' && typmod >= 0 ? `${name}(${typmod})` : name;
}

/** The text of an expression AST, or undefined when it has a node this printer does not know. */
export function astText(ast: unknown, options: ExprTextOptions = {}): string | undefined {
  try {
    return new Printer(options.pretty ?? true).print(ast, { k: 'top' });
  } catch (err) {
    if (err instanceof Unprintable) return undefined;
    throw err;
  }
}

/** A stored expression's text as pg_get_expr prints it (falling back to the text as written). */
export function exprText(expr: StoredExpr, options: ExprTextOptions = {}): string {
  return astText(expr.ast, options) ?? expr.sql;
}

/**
 * A column default as pg_get_expr(adbin) prints it. PostgreSQL coerces a constant
 * default to the column's type when the table is created, so a string or negative
 * constant shows with that type: 'x'::text, '-1'::bigint, '2020-01-01'::date.
 */
export function defaultText(expr: StoredExpr, columnType: SqlType): string {
  const ast = expr.ast;
  if (isObj(ast) && isObj(ast['A_Const']) && ast['A_Const']['isnull'] !== true) {
    const body = ast['A_Const'];
    const typeText = typeName(withoutTypmod(columnType));
    if ('sval' in body) {
      const v = isObj(body['sval']) ? body['sval']['sval'] : undefined;
      const s = typeof v === 'string' ? v : '';
      if (columnType.kind === 'scalar' && columnType.name === 'bool' && /^(true|false)$/i.test(s)) {
        return s.toLowerCase();
      }
      return `${quoteLiteral(s)}::${typeText}`;
    }
    const text = astText(ast) ?? expr.sql;
    if (text.startsWith("'-")) {
      return `${text.slice(0, text.indexOf('::'))}::${typeText}`;
    }
    return text;
  }
  return exprText(expr);
}

function withoutTypmod(type: SqlType): SqlType {
  return type.kind === 'scalar' ? { ...type, typmod: -1 } : { kind: 'array', element: withoutTypmod(type.element) };
}
