import type {
  CommonTableExpr,
  DeleteStmt,
  InsertStmt,
  JoinExpr,
  Node,
  RangeFunction,
  RangeSubselect,
  RangeVar,
  ResTarget,
  SelectStmt,
  SortBy,
  UpdateStmt,
  WithClause,
} from '@pgsql/types';
import { SqlError, SqlStates } from '../../../common/errors';
import type { Catalog, TxnLike } from '../catalog/catalog';
import type { ColumnDescriptor, DatabaseDescriptor, TableDescriptor } from '../catalog/descriptors';
import type { SqlType } from '../types/datum';
import { scalarType } from '../types/datum';
import type { ExprContext, GroupingContext, SubqueryResult } from './analyze-expr';
import { ExprAnalyzer, fingerprintOf, stringOf } from './analyze-expr';
import type { Expr } from './expr';
import { walkExpr } from './expr';
import { commonType, resolveSetFunction, sameType, typeDisplayName, typeFromTypeName } from './functions-impl';
import { buildDelete, buildInsert, buildUpdate } from './analyze-dml';
import { chooseScan } from './index-selection';
import type { OutputColumn, PlanNode, ReturningClause, ScanNode, SortKey, SubqueryPlan, VirtualContext } from './plan';
import { column, position, Scope } from './scope';

/**
 * The query analyzer: SELECT / INSERT / UPDATE / DELETE ASTs into plans. Names are
 * resolved in the session's database, schema `public`, with `pg_catalog` and
 * `information_schema` served by virtual tables.
 */

export interface VirtualTable {
  readonly columns: readonly { readonly name: string; readonly type: SqlType }[];
  readonly rows: (ctx: VirtualContext) => Promise<import('../types/datum').Datum[][]>;
}

export interface AnalyzerEnv {
  readonly catalog: Catalog;
  readonly txn: TxnLike;
  readonly database: DatabaseDescriptor;
  /** The `public` schema of the database. */
  readonly schemaId: number;
  readonly paramTypes: (SqlType | undefined)[];
  readonly virtualTable: (schema: string | undefined, name: string) => VirtualTable | undefined;
  /** `'name'::regclass`: the relation's OID (gateway/sql/virtual regclassOid); without it such casts fail with 42P01. */
  readonly regclassOid?: (name: string) => Promise<number | undefined>;
  /** The session's evaluation context, for folding constants and reading literals in its time zone. */
  readonly evalContext?: import('./expr').EvalContext;
}

interface CteBinding {
  readonly id: number;
  readonly columns: readonly OutputColumn[];
  /** Set while a recursive query's recursive term is analyzed: its self-reference reads the working table. */
  readonly workTableOf?: string;
}

type CteItem = { readonly id: number; readonly plan: PlanNode };

export interface AnalyzedQuery {
  readonly plan: PlanNode;
  /** The visible result columns (the plan may carry hidden ones after them). */
  readonly columns: readonly OutputColumn[];
  /**
   * Set on a statement's top-level query when its built-ins read the catalog: the
   * session then provides `EvalContext.catalog` (catalog-functions.ts).
   */
  readonly needsCatalog?: boolean;
}

const INT8 = scalarType('int8');
const BOOL = scalarType('bool');

export class QueryAnalyzer {
  private readonly exprs: ExprAnalyzer;
  private nextCteId = 0;
  private readonly cteScopes: Map<string, CteBinding>[] = [];
  /** Whether an analyzed expression reads the catalog at run time (see AnalyzedQuery.needsCatalog). */
  needsCatalog = false;

  constructor(private readonly env: AnalyzerEnv) {
    this.exprs = new ExprAnalyzer({
      paramTypes: env.paramTypes,
      analyzeSubquery: (node, parentScope) => this.subquery(node, parentScope),
      ...(env.regclassOid === undefined ? {} : { regclassOid: env.regclassOid }),
      ...(env.evalContext === undefined ? {} : { foldContext: env.evalContext }),
      noteCatalogUse: () => {
        this.needsCatalog = true;
      },
    });
  }

  /** The statement's query with `needsCatalog` set when it applies (call once, on the top level). */
  finish(query: AnalyzedQuery): AnalyzedQuery {
    return this.needsCatalog ? { ...query, needsCatalog: true } : query;
  }

  get expressions(): ExprAnalyzer {
    return this.exprs;
  }

  private async subquery(node: Node, parentScope: Scope): Promise<SubqueryResult> {
    if (!('SelectStmt' in node)) {
      throw new SqlError(SqlStates.featureNotSupported, 'only SELECT subqueries are supported');
    }
    const probe = new Scope([], parentScope, true);
    const result = await this.select(node.SelectStmt, probe);
    return { plan: result.plan, types: result.columns.map((c) => c.type), correlated: probe.correlated };
  }

  /** A SELECT (or VALUES, or a set operation). `outer` is the enclosing query's scope. */
  async select(stmt: SelectStmt, outer?: Scope): Promise<AnalyzedQuery> {
    const ctes = await this.withClause(stmt.withClause, outer);
    try {
      let query: AnalyzedQuery;
      if (stmt.op !== undefined && stmt.op !== 'SETOP_NONE') {
        query = await this.setOperation(stmt, outer);
      } else if (stmt.valuesLists !== undefined) {
        query = await this.values(stmt.valuesLists, outer);
        query = await this.orderAndLimit(query, stmt, outer);
      } else {
        query = await this.simpleSelect(stmt, outer);
      }
      if (ctes.length === 0) {
        return query;
      }
      const lazy = stmt.withClause?.recursive === true;
      return { plan: { k: 'with', ctes, body: query.plan, lazy, columns: query.plan.columns }, columns: query.columns };
    } finally {
      if (stmt.withClause !== undefined) this.cteScopes.pop();
    }
  }

  /** Analyzes a WITH list and binds its names (the caller pops `cteScopes` when its query is done). */
  private async withClause(clause: WithClause | undefined, outer?: Scope): Promise<CteItem[]> {
    if (clause === undefined) {
      return [];
    }
    const items = (clause.ctes ?? []).map((node) => (node as { CommonTableExpr: CommonTableExpr }).CommonTableExpr);
    const names = new Set<string>();
    for (const cte of items) {
      const name = cte.ctename as string;
      if (names.has(name)) {
        throw new SqlError(SqlStates.duplicateAlias, `WITH query name "${name}" specified more than once`, position(cte.location));
      }
      names.add(name);
    }
    const bindings = new Map<string, CteBinding>();
    this.cteScopes.push(bindings);
    try {
      const ctes: CteItem[] = [];
      const order = clause.recursive === true ? recursiveOrder(items) : items.map((cte) => ({ cte, recursive: false }));
      for (const { cte, recursive } of order) {
        ctes.push(recursive ? await this.recursiveCte(cte, bindings, outer) : await this.commonTable(cte, bindings, outer));
      }
      return ctes;
    } catch (err) {
      this.cteScopes.pop();
      throw err;
    }
  }

  private async commonTable(cte: CommonTableExpr, bindings: Map<string, CteBinding>, outer?: Scope): Promise<CteItem> {
    const query = cte.ctequery as Node;
    if (!('SelectStmt' in query)) {
      throw new SqlError(SqlStates.featureNotSupported, 'only SELECT is supported in WITH', position(cte.location));
    }
    const analyzed = await this.select(query.SelectStmt, outer);
    const id = this.nextCteId++;
    bindings.set(cte.ctename as string, { id, columns: cteColumns(cte, analyzed.columns) });
    return { id, plan: stripHidden(analyzed) };
  }

  /**
   * A WITH RECURSIVE query that names itself: `non-recursive-term UNION [ALL]
   * recursive-term`, checked as PostgreSQL does (parse_cte.c). The non-recursive term
   * fixes the column types; the recursive term's self-reference reads the working table.
   */
  private async recursiveCte(cte: CommonTableExpr, bindings: Map<string, CteBinding>, outer?: Scope): Promise<CteItem> {
    const name = cte.ctename as string;
    const query = cte.ctequery as Node;
    if (!('SelectStmt' in query)) {
      throw new SqlError(SqlStates.invalidRecursion, `recursive query "${name}" must not contain data-modifying statements`, position(cte.location));
    }
    const stmt = query.SelectStmt;
    if (stmt.op !== 'SETOP_UNION') {
      throw new SqlError(
        SqlStates.invalidRecursion,
        `recursive query "${name}" does not have the form non-recursive-term UNION [ALL] recursive-term`,
        position(cte.location),
      );
    }
    checkRecursion(name, stmt);
    const decoration =
      stmt.sortClause !== undefined ? 'ORDER BY'
      : stmt.limitOffset !== undefined ? 'OFFSET'
      : stmt.limitCount !== undefined ? 'LIMIT'
      : stmt.lockingClause !== undefined ? 'FOR UPDATE/SHARE'
      : undefined;
    if (decoration !== undefined) {
      throw new SqlError(SqlStates.featureNotSupported, `${decoration} in a recursive query is not implemented`, position(cte.location));
    }
    if (cte.search_clause !== undefined || cte.cycle_clause !== undefined) {
      throw new SqlError(SqlStates.featureNotSupported, 'SEARCH and CYCLE clauses are not supported', position(cte.location));
    }
    const inner = await this.withClause(stmt.withClause, outer);
    try {
      const left = await this.select(stmt.larg as SelectStmt, outer);
      const columns = cteColumns(cte, left.columns);
      const workId = this.nextCteId++;
      bindings.set(name, { id: workId, columns, workTableOf: name });
      const right = await this.select(stmt.rarg as SelectStmt, outer);
      if (right.columns.length !== left.columns.length) {
        throw new SqlError(SqlStates.syntaxError, 'each UNION query must have the same number of columns');
      }
      const types = left.columns.map((c, i) => recursiveColumnType(name, i, c.type, (right.columns[i] as OutputColumn).type));
      const id = this.nextCteId++;
      bindings.set(name, { id, columns });
      let plan: PlanNode = {
        k: 'recursiveUnion',
        name,
        all: stmt.all === true,
        workId,
        nonRecursive: stripHidden(left),
        recursive: this.castColumns(right, types),
        columns: columns.map((c) => column(c.name, c.type)),
      };
      if (inner.length > 0) {
        plan = { k: 'with', ctes: inner, body: plan, lazy: stmt.withClause?.recursive === true, columns: plan.columns };
      }
      return { id, plan };
    } finally {
      if (stmt.withClause !== undefined) this.cteScopes.pop();
    }
  }

  private findCte(name: string): CteBinding | undefined {
    for (let i = this.cteScopes.length - 1; i >= 0; i--) {
      const found = this.cteScopes[i]?.get(name);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  private async values(lists: Node[], outer?: Scope): Promise<AnalyzedQuery> {
    const scope = new Scope([], outer);
    const subqueries: SubqueryPlan[] = [];
    const ctx: ExprContext = { scope, subqueries, clause: 'VALUES' };
    const rows: Expr[][] = [];
    for (const list of lists) {
      const items = (list as { List: { items?: Node[] } }).List.items ?? [];
      const row: Expr[] = [];
      for (const item of items) row.push(await this.exprs.analyze(item, ctx));
      if (rows.length > 0 && row.length !== (rows[0] as Expr[]).length) {
        throw new SqlError(SqlStates.syntaxError, 'VALUES lists must all be the same length');
      }
      rows.push(row);
    }
    const width = rows[0]?.length ?? 0;
    const types: SqlType[] = [];
    for (let c = 0; c < width; c++) {
      types.push(commonType(rows.map((r) => (r[c] as Expr).type), 'VALUES'));
    }
    const typed = rows.map((r) => r.map((e, c) => this.exprs.coerceSync(e, types[c] as SqlType, 'implicit')));
    const columns = types.map((t, i) => column(`column${i + 1}`, t));
    return { plan: { k: 'values', rows: typed, subqueries, columns }, columns };
  }

  private async setOperation(stmt: SelectStmt, outer?: Scope): Promise<AnalyzedQuery> {
    const left = await this.select(stmt.larg as SelectStmt, outer);
    const right = await this.select(stmt.rarg as SelectStmt, outer);
    const name = stmt.op === 'SETOP_UNION' ? 'UNION' : stmt.op === 'SETOP_INTERSECT' ? 'INTERSECT' : 'EXCEPT';
    if (left.columns.length !== right.columns.length) {
      throw new SqlError(SqlStates.syntaxError, `each ${name} query must have the same number of columns`);
    }
    const typeOf = (c: OutputColumn): SqlType => (c.untypedNull === true ? scalarType('unknown') : c.type);
    const types = left.columns.map((c, i) => commonType([typeOf(c), typeOf(right.columns[i] as OutputColumn)], name));
    const leftPlan = this.castColumns(left, types);
    const rightPlan = this.castColumns(right, types);
    const columns = left.columns.map((c, i) => {
      const both = c.untypedNull === true && (right.columns[i] as OutputColumn).untypedNull === true;
      return both ? { ...column(c.name, types[i] as SqlType), untypedNull: true } : column(c.name, types[i] as SqlType);
    });
    const op = stmt.op === 'SETOP_UNION' ? 'union' : stmt.op === 'SETOP_INTERSECT' ? 'intersect' : 'except';
    const query: AnalyzedQuery = { plan: { k: 'setop', op, all: stmt.all === true, left: leftPlan, right: rightPlan, columns }, columns };
    return this.orderAndLimit(query, stmt, outer);
  }

  /** Projects a query's visible columns, cast to `types`. */
  private castColumns(query: AnalyzedQuery, types: readonly SqlType[]): PlanNode {
    const exprs = query.columns.map((c, i): Expr =>
      c.untypedNull === true && !sameType(c.type, types[i] as SqlType)
        ? { k: 'const', type: types[i] as SqlType, value: null }
        : this.exprs.coerceSync({ k: 'col', index: i, type: c.type }, types[i] as SqlType, 'implicit'),
    );
    if (exprs.every((e) => e.k === 'col') && query.plan.columns.length === query.columns.length) {
      return query.plan;
    }
    return { k: 'project', input: query.plan, exprs, subqueries: [], columns: query.columns.map((c, i) => ({ ...c, type: types[i] as SqlType })) };
  }

  /** ORDER BY / LIMIT / OFFSET over a query's output columns (VALUES and set operations). */
  private async orderAndLimit(query: AnalyzedQuery, stmt: SelectStmt, outer?: Scope): Promise<AnalyzedQuery> {
    let plan = query.plan;
    if (stmt.sortClause !== undefined) {
      const scope = new Scope(query.columns, outer);
      const keys: SortKey[] = [];
      for (const node of stmt.sortClause) {
        const sort = (node as { SortBy: SortBy }).SortBy;
        const pos = ordinal(sort.node);
        const expr: Expr =
          pos !== undefined
            ? outputOrdinal(query.columns, pos, sort.location)
            : this.exprs.settleUnknown(await this.exprs.analyze(sort.node as Node, { scope, subqueries: [], clause: 'ORDER BY' }));
        keys.push(sortKey(expr, sort));
      }
      plan = { k: 'sort', input: plan, keys, columns: plan.columns };
    }
    plan = await this.limit(plan, stmt);
    return { plan, columns: query.columns };
  }

  private async limit(plan: PlanNode, stmt: SelectStmt): Promise<PlanNode> {
    if (stmt.limitCount === undefined && stmt.limitOffset === undefined) {
      return plan;
    }
    if (stmt.limitOption === 'LIMIT_OPTION_WITH_TIES') {
      throw new SqlError(SqlStates.featureNotSupported, 'FETCH ... WITH TIES is not supported');
    }
    const ctx: ExprContext = { scope: new Scope([]), subqueries: [], clause: 'LIMIT' };
    const limitNull = stmt.limitCount !== undefined && 'A_Const' in stmt.limitCount && stmt.limitCount.A_Const.isnull === true;
    const limit =
      stmt.limitCount === undefined || limitNull
        ? undefined
        : this.exprs.coerceSync(await this.exprs.analyze(stmt.limitCount, ctx), INT8, 'implicit', undefined, 'argument of LIMIT');
    const offset =
      stmt.limitOffset === undefined
        ? undefined
        : this.exprs.coerceSync(await this.exprs.analyze(stmt.limitOffset, { ...ctx, clause: 'OFFSET' }), INT8, 'implicit', undefined, 'argument of OFFSET');
    if (ctx.subqueries.length > 0) {
      throw new SqlError(SqlStates.featureNotSupported, 'subqueries in LIMIT are not supported');
    }
    return { k: 'limit', input: plan, ...(limit === undefined ? {} : { limit }), ...(offset === undefined ? {} : { offset }), columns: plan.columns };
  }

  private async simpleSelect(stmt: SelectStmt, outer?: Scope): Promise<AnalyzedQuery> {
    if (stmt.intoClause !== undefined) {
      throw new SqlError(SqlStates.featureNotSupported, 'SELECT INTO is not supported');
    }
    if (stmt.windowClause !== undefined) {
      throw new SqlError(SqlStates.featureNotSupported, 'window clauses are not supported');
    }
    const forUpdate = (stmt.lockingClause ?? []).length > 0;
    // FROM
    let input: PlanNode = stmt.fromClause === undefined ? ONE_ROW : await this.fromList(stmt.fromClause, outer, forUpdate);
    const scope = new Scope(input.columns, outer);
    // WHERE
    if (stmt.whereClause !== undefined) {
      const subqueries: SubqueryPlan[] = [];
      const predicate = await this.exprs.condition(stmt.whereClause, { scope, subqueries, clause: 'WHERE' });
      input = this.applyFilter(input, predicate, subqueries);
    }
    // GROUP BY / aggregates
    const targets = (stmt.targetList ?? []).map((t) => (t as { ResTarget: ResTarget }).ResTarget);
    const aggregating =
      stmt.groupClause !== undefined ||
      stmt.havingClause !== undefined ||
      targets.some((t) => containsAggregate(t.val)) ||
      (stmt.sortClause ?? []).some((s) => containsAggregate((s as { SortBy: SortBy }).SortBy.node));
    let grouping: GroupingContext | undefined;
    let exprScope = scope;
    if (aggregating) {
      grouping = { inputScope: scope, groups: [], aggregates: [], aggregateFingerprints: [], inputSubqueries: [] };
      for (const g of stmt.groupClause ?? []) {
        const node = this.groupTarget(g, targets);
        if ('GroupingSet' in node) {
          throw new SqlError(SqlStates.featureNotSupported, 'GROUPING SETS, ROLLUP and CUBE are not supported');
        }
        const expr = this.exprs.settleUnknown(
          await this.exprs.analyze(node, { scope, subqueries: grouping.inputSubqueries, clause: 'GROUP BY' }),
        );
        grouping.groups.push({ fingerprint: fingerprintOf(node), expr });
      }
      exprScope = new Scope([], outer);
    }
    const postSubqueries: SubqueryPlan[] = [];
    const ctx: ExprContext = grouping === undefined
      ? { scope: exprScope, subqueries: postSubqueries, clause: 'SELECT' }
      : { scope: exprScope, subqueries: postSubqueries, grouping, clause: 'SELECT' };
    // Target list
    const exprs: Expr[] = [];
    const columns: OutputColumn[] = [];
    for (const target of targets) {
      const val = target.val as Node;
      if ('ColumnRef' in val && (val.ColumnRef.fields ?? []).some((f) => 'A_Star' in f)) {
        const fields = (val.ColumnRef.fields ?? []).map(stringOf);
        const qualifier = fields.length > 1 ? fields[fields.length - 2] : undefined;
        const expanded = this.expandStar(scope, qualifier, val.ColumnRef.location, grouping);
        exprs.push(...expanded.exprs);
        columns.push(...expanded.columns);
        continue;
      }
      const analyzed = await this.exprs.analyze(val, ctx);
      const expr = this.exprs.output(analyzed);
      exprs.push(expr);
      const untypedNull = analyzed.k === 'const' && analyzed.value === null && analyzed.type.kind === 'scalar' && analyzed.type.name === 'unknown';
      columns.push(untypedNull ? { ...this.outputColumn(target, expr, scope), untypedNull } : this.outputColumn(target, expr, scope));
    }
    // HAVING
    let having: Expr | undefined;
    if (stmt.havingClause !== undefined) {
      having = await this.exprs.condition(stmt.havingClause, { ...ctx, clause: 'HAVING' });
    }
    // ORDER BY: output names and positions, or expressions (added as hidden columns).
    const sortKeys: SortKey[] = [];
    const distinct = stmt.distinctClause !== undefined;
    const visibleCount = exprs.length;
    for (const node of stmt.sortClause ?? []) {
      const sort = (node as { SortBy: SortBy }).SortBy;
      const pos = ordinal(sort.node);
      let index: number;
      if (pos !== undefined) {
        if (pos < 1 || pos > visibleCount) {
          throw new SqlError(SqlStates.invalidColumnReference, `ORDER BY position ${pos} is not in select list`, position(sort.location));
        }
        index = pos - 1;
      } else {
        const byName = outputByName(sort.node as Node, columns.slice(0, visibleCount), targets);
        if (byName !== undefined) {
          index = byName;
        } else {
          const expr = this.exprs.settleUnknown(await this.exprs.analyze(sort.node as Node, { ...ctx, clause: 'ORDER BY' }));
          const fp = JSON.stringify(exprKey(expr));
          index = exprs.findIndex((e) => JSON.stringify(exprKey(e)) === fp);
          if (index < 0) {
            if (distinct) {
              throw new SqlError(SqlStates.invalidColumnReference, 'for SELECT DISTINCT, ORDER BY expressions must appear in select list', position(sort.location));
            }
            index = exprs.length;
            exprs.push(expr);
            columns.push(column('?sort?', expr.type, { hidden: true }));
          }
        }
      }
      sortKeys.push(sortKey({ k: 'col', index, type: (columns[index] as OutputColumn).type }, sort));
    }
    // Assemble: [aggregate] → [having filter] → project → [distinct] → [sort] → [limit] → [strip hidden]
    let plan = input;
    if (grouping !== undefined) {
      const groupColumns = grouping.groups.map((g, i) => column(`?group${i}?`, g.expr.type));
      const aggColumns = grouping.aggregates.map((a) => column(a.name, a.type));
      plan = {
        k: 'aggregate',
        input: plan,
        groupBy: grouping.groups.map((g) => g.expr),
        aggregates: grouping.aggregates,
        subqueries: grouping.inputSubqueries,
        columns: [...groupColumns, ...aggColumns],
      };
      if (having !== undefined) {
        plan = { k: 'filter', input: plan, predicate: having, subqueries: postSubqueries.splice(0), columns: plan.columns };
      }
    }
    plan = { k: 'project', input: plan, exprs, subqueries: postSubqueries, columns };
    if (distinct) {
      const on = stmt.distinctClause as Node[];
      if (on.length > 0 && !(on.length === 1 && Object.keys(on[0] as object).length === 0)) {
        throw new SqlError(SqlStates.featureNotSupported, 'DISTINCT ON is not supported');
      }
      plan = { k: 'distinct', input: plan, columns: plan.columns };
    }
    if (sortKeys.length > 0) {
      plan = { k: 'sort', input: plan, keys: sortKeys, columns: plan.columns };
    }
    plan = await this.limit(plan, stmt);
    const visible = columns.slice(0, visibleCount);
    if (columns.length > visibleCount) {
      plan = {
        k: 'project',
        input: plan,
        exprs: visible.map((c, i) => ({ k: 'col', index: i, type: c.type })),
        subqueries: [],
        columns: visible,
      };
    }
    return { plan, columns: visible };
  }

  /** GROUP BY 1 and GROUP BY alias refer to the target list, as in PostgreSQL. */
  private groupTarget(node: Node, targets: readonly ResTarget[]): Node {
    const pos = ordinal(node);
    if (pos !== undefined) {
      const target = targets[pos - 1];
      if (target === undefined) {
        throw new SqlError(SqlStates.invalidColumnReference, `GROUP BY position ${pos} is not in select list`);
      }
      return target.val as Node;
    }
    return node;
  }

  private expandStar(scope: Scope, qualifier: string | undefined, location: number | undefined, grouping?: GroupingContext): { exprs: Expr[]; columns: OutputColumn[] } {
    const exprs: Expr[] = [];
    const columns: OutputColumn[] = [];
    scope.columns.forEach((c, index) => {
      if (c.hidden === true || (qualifier !== undefined && c.qualifier !== qualifier)) return;
      if (grouping !== undefined) {
        const g = grouping.groups.findIndex((x) => x.expr.k === 'col' && x.expr.index === index);
        if (g < 0) {
          throw new SqlError(SqlStates.groupingError, `column "${c.qualifier ?? ''}.${c.name}" must appear in the GROUP BY clause or be used in an aggregate function`, position(location));
        }
        exprs.push({ k: 'col', index: g, type: c.type });
      } else {
        exprs.push({ k: 'col', index, type: c.type });
      }
      columns.push({ ...c });
    });
    if (qualifier !== undefined && columns.length === 0 && !scope.hasQualifier(qualifier)) {
      throw new SqlError(SqlStates.undefinedTable, `missing FROM-clause entry for table "${qualifier}"`, position(location));
    }
    if (qualifier === undefined && scope.columns.length === 0) {
      throw new SqlError(SqlStates.syntaxError, 'SELECT * with no tables specified is not valid', position(location));
    }
    return { exprs, columns };
  }

  /** PostgreSQL's output column naming: the alias, else the column or function name, else ?column?. */
  private outputColumn(target: ResTarget, expr: Expr, scope: Scope): OutputColumn {
    if (target.name !== undefined) {
      return column(target.name, expr.type);
    }
    const val = target.val as Node;
    if ('ColumnRef' in val) {
      const names = (val.ColumnRef.fields ?? []).map(stringOf);
      const name = names[names.length - 1] as string;
      if (expr.k === 'col') {
        const source = scope.columns[expr.index];
        if (source !== undefined && source.name === name) {
          return { ...source, hidden: false, name };
        }
      }
      return column(name, expr.type);
    }
    return column(figureName(val), expr.type);
  }

  private async fromList(items: Node[], outer: Scope | undefined, forUpdate: boolean): Promise<PlanNode> {
    let plan: PlanNode | undefined;
    for (const item of items) {
      const right = await this.fromItem(item, outer, forUpdate, plan);
      plan = plan === undefined ? right : crossJoin(plan, right);
    }
    return plan as PlanNode;
  }

  private async fromItem(item: Node, outer: Scope | undefined, forUpdate: boolean, left?: PlanNode): Promise<PlanNode> {
    if ('RangeVar' in item) {
      return this.relation(item.RangeVar, forUpdate);
    }
    if ('JoinExpr' in item) {
      return this.join(item.JoinExpr, outer, forUpdate);
    }
    if ('RangeSubselect' in item) {
      return this.derivedTable(item.RangeSubselect, outer, left);
    }
    if ('RangeFunction' in item) {
      return this.tableFunction(item.RangeFunction, outer);
    }
    throw new SqlError(SqlStates.featureNotSupported, `FROM item ${Object.keys(item)[0]} is not supported`);
  }

  private async relation(rv: RangeVar, forUpdate: boolean): Promise<PlanNode> {
    const name = rv.relname as string;
    const alias = rv.alias?.aliasname ?? name;
    const colAliases = (rv.alias?.colnames ?? []).map(stringOf);
    const rename = (cols: readonly OutputColumn[]): OutputColumn[] => {
      let visibleIndex = 0;
      return cols.map((c) => {
        const renamed = c.hidden === true ? c.name : (colAliases[visibleIndex++] ?? c.name);
        return { ...c, name: renamed, qualifier: alias };
      });
    };
    if (rv.schemaname === undefined) {
      const cte = this.findCte(name);
      if (cte?.workTableOf !== undefined) {
        return { k: 'workTableScan', name: cte.workTableOf, workId: cte.id, columns: rename(cte.columns) };
      }
      if (cte !== undefined) {
        return { k: 'cteScan', cteId: cte.id, columns: rename(cte.columns) };
      }
    }
    const virtual = this.env.virtualTable(rv.schemaname, name);
    if (virtual !== undefined) {
      return { k: 'virtual', name, rows: virtual.rows, columns: rename(virtual.columns.map((c) => column(c.name, c.type))) };
    }
    const table = await this.resolveTable(rv);
    const scan = tableScan(table, alias, forUpdate);
    return { ...scan, columns: rename(scan.columns) };
  }

  /** Every table of the session's schema (to find the foreign keys pointing at one). */
  async schemaTables(): Promise<TableDescriptor[]> {
    const tables: TableDescriptor[] = [];
    for (const entry of await this.env.catalog.list(this.env.txn, this.env.schemaId)) {
      const desc = await this.env.catalog.descriptor(this.env.txn, entry.id);
      if (desc?.kind === 'table') tables.push(desc);
    }
    return tables;
  }

  async tableById(id: number): Promise<TableDescriptor> {
    return this.env.catalog.table(this.env.txn, id);
  }

  async resolveTable(rv: RangeVar): Promise<TableDescriptor> {
    const name = rv.relname as string;
    if (rv.catalogname !== undefined && rv.catalogname !== this.env.database.name) {
      throw new SqlError(SqlStates.featureNotSupported, `cross-database references are not implemented: "${rv.catalogname}.${rv.schemaname}.${name}"`, position(rv.location));
    }
    if (rv.schemaname !== undefined && rv.schemaname !== 'public') {
      throw new SqlError(SqlStates.undefinedTable, `relation "${rv.schemaname}.${name}" does not exist`, position(rv.location));
    }
    const desc = await this.env.catalog.relation(this.env.txn, this.env.schemaId, name);
    if (desc === undefined) {
      throw new SqlError(SqlStates.undefinedTable, `relation "${rv.schemaname === undefined ? '' : `${rv.schemaname}.`}${name}" does not exist`, position(rv.location));
    }
    if (desc.kind !== 'table') {
      throw new SqlError(SqlStates.wrongObjectType, `"${name}" is not a table`, position(rv.location));
    }
    return desc;
  }

  private async derivedTable(rs: RangeSubselect, outer: Scope | undefined, left?: PlanNode): Promise<PlanNode> {
    if (rs.lateral === true && left !== undefined) {
      throw new SqlError(SqlStates.featureNotSupported, 'LATERAL subqueries are not supported');
    }
    const node = rs.subquery as Node;
    if (!('SelectStmt' in node)) {
      throw new SqlError(SqlStates.featureNotSupported, 'only SELECT subqueries are supported in FROM');
    }
    const analyzed = await this.select(node.SelectStmt, outer);
    const alias = rs.alias?.aliasname;
    const names = (rs.alias?.colnames ?? []).map(stringOf);
    const plan = stripHidden(analyzed);
    return { ...plan, columns: analyzed.columns.map((c, i) => ({ ...c, name: names[i] ?? c.name, ...(alias === undefined ? {} : { qualifier: alias }) })) } as PlanNode;
  }

  private async tableFunction(rf: RangeFunction, outer: Scope | undefined): Promise<PlanNode> {
    if (rf.lateral === true || rf.is_rowsfrom === true || (rf.functions ?? []).length !== 1) {
      throw new SqlError(SqlStates.featureNotSupported, 'only a single set-returning function is supported in FROM');
    }
    const list = (rf.functions?.[0] as { List: { items?: Node[] } }).List.items ?? [];
    const call = list[0] as Node;
    if (!('FuncCall' in call)) {
      throw new SqlError(SqlStates.featureNotSupported, 'FROM function');
    }
    const names = (call.FuncCall.funcname ?? []).map(stringOf);
    const name = (names[names.length - 1] as string).toLowerCase();
    const scope = new Scope([], outer);
    const args: Expr[] = [];
    for (const a of call.FuncCall.args ?? []) args.push(await this.exprs.analyze(a, { scope, subqueries: [], clause: 'FROM function' }));
    const resolved = resolveSetFunction(name, args.map((a) => a.type), call.FuncCall.location);
    const cast = args.map((a, i) => this.exprs.coerceSync(a, resolved.argTypes[i] as SqlType, 'implicit'));
    const alias = rf.alias?.aliasname ?? name;
    const colNames = (rf.alias?.colnames ?? []).map(stringOf);
    const columns = resolved.columns.map((c, i) =>
      column(colNames[i] ?? (resolved.columns.length === 1 ? alias : c.name), c.type, { qualifier: alias }),
    );
    if (rf.ordinality !== true) {
      return { k: 'srf', args: cast, fn: resolved.fn, columns };
    }
    // WITH ORDINALITY: a bigint column numbering the rows from 1.
    columns.push(column(colNames[columns.length] ?? 'ordinality', INT8, { qualifier: alias }));
    const inner = resolved.fn;
    const numbered = function* (values: import('../types/datum').Datum[]): Iterable<import('../types/datum').Datum[]> {
      let n = 0n;
      for (const row of inner(values)) yield [...row, ++n];
    };
    return { k: 'srf', args: cast, fn: numbered, columns };
  }

  private async join(j: JoinExpr, outer: Scope | undefined, forUpdate: boolean): Promise<PlanNode> {
    const left = await this.fromItem(j.larg as Node, outer, forUpdate);
    const right = await this.fromItem(j.rarg as Node, outer, forUpdate);
    const kind = j.jointype === 'JOIN_LEFT' ? 'left' : j.jointype === 'JOIN_RIGHT' ? 'right' : j.jointype === 'JOIN_FULL' ? 'full' : 'inner';
    let columns = [...left.columns, ...right.columns];
    if (kind === 'left' || kind === 'full') {
      columns = columns.map((c, i) => (i >= left.columns.length ? { ...c } : c));
    }
    const scope = new Scope(columns, outer);
    const conditions: Expr[] = [];
    const onSubqueries: SubqueryPlan[] = [];
    let usingNames: string[] = (j.usingClause ?? []).map(stringOf);
    if (j.isNatural === true) {
      const leftNames = new Set(left.columns.filter((c) => c.hidden !== true).map((c) => c.name));
      usingNames = right.columns.filter((c) => c.hidden !== true && leftNames.has(c.name)).map((c) => c.name);
    }
    for (const name of usingNames) {
      const l = new Scope(left.columns).find(undefined, name);
      const r = new Scope(right.columns).find(undefined, name);
      if (l < 0 || r < 0) {
        throw new SqlError(SqlStates.undefinedColumn, `column "${name}" specified in USING clause does not exist in ${l < 0 ? 'left' : 'right'} table`);
      }
      conditions.push(
        this.exprs.operator('=', { k: 'col', index: l, type: (left.columns[l] as OutputColumn).type }, { k: 'col', index: left.columns.length + r, type: (right.columns[r] as OutputColumn).type }),
      );
    }
    if (j.quals !== undefined) {
      conditions.push(await this.exprs.condition(j.quals, { scope, subqueries: onSubqueries, clause: 'JOIN conditions' }));
    }
    const on = conditions.length === 0 ? undefined : conditions.length === 1 ? conditions[0] : ({ k: 'and', args: conditions, type: BOOL } as Expr);
    let joined = buildJoin(kind, left, right, on, onSubqueries, columns);
    if (usingNames.length > 0) {
      // USING/NATURAL merge the named columns into one (the left one, or the right one
      // for a right join; COALESCE of both for a full join) and put them first.
      const merged: Expr[] = [];
      const mergedCols: OutputColumn[] = [];
      const used = new Set<number>();
      for (const name of usingNames) {
        const l = new Scope(left.columns).find(undefined, name);
        const r = left.columns.length + new Scope(right.columns).find(undefined, name);
        used.add(l).add(r);
        const lc = left.columns[l] as OutputColumn;
        const lExpr: Expr = { k: 'col', index: l, type: lc.type };
        const rExpr: Expr = { k: 'col', index: r, type: (columns[r] as OutputColumn).type };
        merged.push(kind === 'full' ? { k: 'coalesce', args: [lExpr, this.exprs.coerceSync(rExpr, lc.type, 'implicit')], type: lc.type } : kind === 'right' ? rExpr : lExpr);
        mergedCols.push(column(name, lc.type));
      }
      columns.forEach((c, i) => {
        if (used.has(i)) {
          // Still reachable by its qualifier (t1.a), but not by * or a bare name.
          merged.push({ k: 'col', index: i, type: c.type });
          mergedCols.push({ ...c, hidden: true, qualifiedOnly: true });
          return;
        }
        merged.push({ k: 'col', index: i, type: c.type });
        mergedCols.push(c);
      });
      joined = { k: 'project', input: joined, exprs: merged, subqueries: [], columns: mergedCols };
    }
    if (j.alias !== undefined) {
      const alias = j.alias.aliasname as string;
      // The alias hides the joined tables' names: USING's merged-away columns become unreachable.
      joined = {
        ...joined,
        columns: joined.columns.map((c) => {
          if (c.qualifiedOnly !== true) return { ...c, qualifier: alias };
          return column(c.name, c.type, { tableId: c.tableId, columnNumber: c.columnNumber, hidden: true, qualifiedOnly: true });
        }),
      } as PlanNode;
    }
    return joined;
  }

  /** Puts a WHERE condition where it is cheapest: into a lone table scan (choosing an index), or above. */
  applyFilter(input: PlanNode, predicate: Expr, subqueries: SubqueryPlan[]): PlanNode {
    if (input.k === 'scan' && input.filter === undefined) {
      return chooseScan({ ...input, filter: predicate, filterSubqueries: subqueries });
    }
    if (input.k === 'join' && input.kind === 'inner' && subqueries.length === 0 && !input.lateral) {
      return pushIntoInnerJoin(input, predicate, this);
    }
    return { k: 'filter', input, predicate, subqueries, columns: input.columns };
  }

  /** `upsert`: the statement was written as UPSERT (see buildInsert). */
  async insert(stmt: InsertStmt, upsert = false): Promise<{ plan: PlanNode; columns: readonly OutputColumn[] }> {
    return buildInsert(this, this.env, stmt, upsert);
  }

  async update(stmt: UpdateStmt): Promise<{ plan: PlanNode; columns: readonly OutputColumn[] }> {
    return buildUpdate(this, this.env, stmt);
  }

  async delete(stmt: DeleteStmt): Promise<{ plan: PlanNode; columns: readonly OutputColumn[] }> {
    return buildDelete(this, this.env, stmt);
  }

  /** RETURNING over the table's full row. */
  async returning(list: Node[] | undefined, table: TableDescriptor, alias: string): Promise<ReturningClause | undefined> {
    if (list === undefined || list.length === 0) {
      return undefined;
    }
    const scope = new Scope(tableColumns(table, alias));
    const subqueries: SubqueryPlan[] = [];
    const exprs: Expr[] = [];
    const columns: OutputColumn[] = [];
    for (const node of list) {
      const target = (node as { ResTarget: ResTarget }).ResTarget;
      const val = target.val as Node;
      if ('ColumnRef' in val && (val.ColumnRef.fields ?? []).some((f) => 'A_Star' in f)) {
        const expanded = this.expandStar(scope, undefined, val.ColumnRef.location);
        exprs.push(...expanded.exprs);
        columns.push(...expanded.columns);
        continue;
      }
      const expr = this.exprs.settleUnknown(await this.exprs.analyze(val, { scope, subqueries, clause: 'RETURNING' }));
      exprs.push(expr);
      columns.push(this.outputColumn(target, expr, scope));
    }
    return { exprs, subqueries, columns };
  }
}

const ONE_ROW: PlanNode = { k: 'values', rows: [[]], subqueries: [], columns: [] };

/** A table's columns as a scan produces them: descriptor order, hidden ones included. */
export function tableColumns(table: TableDescriptor, qualifier: string): OutputColumn[] {
  return table.columns.map((c: ColumnDescriptor, i) => ({
    name: c.name,
    type: c.type,
    tableId: table.id,
    columnNumber: i + 1,
    qualifier,
    ...(c.hidden === true ? { hidden: true } : {}),
  }));
}

export function tableScan(table: TableDescriptor, qualifier: string, forUpdate: boolean): ScanNode {
  return {
    k: 'scan',
    table,
    index: table.primaryIndex,
    spans: { kind: 'full' },
    reverse: false,
    forUpdate,
    filterSubqueries: [],
    covering: true,
    columns: tableColumns(table, qualifier),
  };
}

function crossJoin(left: PlanNode, right: PlanNode): PlanNode {
  return buildJoin('inner', left, right, undefined, [], [...left.columns, ...right.columns]);
}

/**
 * A join node; equality conditions between a left and a right column become hash join
 * keys, the rest stays as the ON filter.
 */
function buildJoin(
  kind: 'inner' | 'left' | 'right' | 'full',
  left: PlanNode,
  right: PlanNode,
  on: Expr | undefined,
  onSubqueries: SubqueryPlan[],
  columns: OutputColumn[],
): PlanNode {
  const leftKeys: Expr[] = [];
  const rightKeys: Expr[] = [];
  const rest: Expr[] = [];
  const width = left.columns.length;
  for (const conjunct of on === undefined ? [] : conjuncts(on)) {
    const pair = equiPair(conjunct, width);
    if (pair !== undefined) {
      leftKeys.push(pair.left);
      rightKeys.push(pair.right);
    } else {
      rest.push(conjunct);
    }
  }
  const remaining = rest.length === 0 ? undefined : rest.length === 1 ? rest[0] : ({ k: 'and', args: rest, type: BOOL } as Expr);
  return {
    k: 'join',
    kind,
    left,
    right,
    leftKeys,
    rightKeys,
    ...(remaining === undefined ? {} : { on: remaining }),
    onSubqueries,
    lateral: false,
    columns,
  };
}

export function conjuncts(expr: Expr): Expr[] {
  return expr.k === 'and' ? expr.args.flatMap(conjuncts) : [expr];
}

/** `l = r` with l only over the left columns and r only over the right ones (or swapped). */
function equiPair(expr: Expr, width: number): { left: Expr; right: Expr } | undefined {
  if (expr.k !== 'call' || expr.name !== '=' || expr.args.length !== 2) {
    return undefined;
  }
  const [a, b] = expr.args as [Expr, Expr];
  if (!sameType(a.type, b.type)) {
    return undefined;
  }
  const sa = side(a, width);
  const sb = side(b, width);
  if (sa === 'left' && sb === 'right') return { left: a, right: shift(b, -width) };
  if (sa === 'right' && sb === 'left') return { left: b, right: shift(a, -width) };
  return undefined;
}

function side(expr: Expr, width: number): 'left' | 'right' | 'both' | 'none' {
  let left = false;
  let right = false;
  let other = false;
  walkExpr(expr, (e) => {
    if (e.k === 'col') {
      if (e.index < width) left = true;
      else right = true;
    } else if (e.k === 'subquery' || e.k === 'outer' || (e.k === 'call' && e.volatile)) {
      other = true;
    }
  });
  if (other || (left && right)) return 'both';
  return left ? 'left' : right ? 'right' : 'none';
}

/** Renumbers column references by `delta` (to move an expression onto one side of a join). */
export function shift(expr: Expr, delta: number): Expr {
  return mapCols(expr, (index) => index + delta);
}

export function mapCols(expr: Expr, f: (index: number) => number): Expr {
  const m = (e: Expr): Expr => mapCols(e, f);
  switch (expr.k) {
    case 'col':
      return { ...expr, index: f(expr.index) };
    case 'const':
    case 'param':
    case 'outer':
    case 'subquery':
      return expr;
    case 'call':
      return { ...expr, args: expr.args.map(m) };
    case 'and':
    case 'or':
      return { ...expr, args: expr.args.map(m) };
    case 'coalesce':
      return { ...expr, args: expr.args.map(m) };
    case 'array':
      return { ...expr, elements: expr.elements.map(m) };
    case 'cast':
      return { ...expr, arg: m(expr.arg) };
    case 'not':
      return { ...expr, arg: m(expr.arg) };
    case 'isnull':
      return { ...expr, arg: m(expr.arg) };
    case 'booltest':
      return { ...expr, arg: m(expr.arg) };
    case 'case':
      return { ...expr, whens: expr.whens.map((w) => ({ when: m(w.when), then: m(w.then) })), otherwise: m(expr.otherwise) };
    case 'quantified':
      return { ...expr, arg: m(expr.arg), list: Array.isArray(expr.list) ? (expr.list as readonly Expr[]).map(m) : expr.list };
    case 'distinct':
      return { ...expr, left: m(expr.left), right: m(expr.right) };
  }
}

/**
 * WHERE over an inner join: conjuncts over one side go down to it (and maybe into its
 * scan), equalities across become hash keys, the rest stays on the join.
 */
function pushIntoInnerJoin(join: Extract<PlanNode, { k: 'join' }>, predicate: Expr, analyzer: QueryAnalyzer): PlanNode {
  const width = join.left.columns.length;
  const leftConds: Expr[] = [];
  const rightConds: Expr[] = [];
  const leftKeys = [...join.leftKeys];
  const rightKeys = [...join.rightKeys];
  const rest: Expr[] = join.on === undefined ? [] : [join.on];
  for (const c of conjuncts(predicate)) {
    const s = side(c, width);
    if (s === 'left') leftConds.push(c);
    else if (s === 'right') rightConds.push(shift(c, -width));
    else {
      const pair = equiPair(c, width);
      if (pair !== undefined) {
        leftKeys.push(pair.left);
        rightKeys.push(pair.right);
      } else rest.push(c);
    }
  }
  const and = (list: Expr[]): Expr => (list.length === 1 ? (list[0] as Expr) : { k: 'and', args: list, type: BOOL });
  const left = leftConds.length === 0 ? join.left : analyzer.applyFilter(join.left, and(leftConds), []);
  const right = rightConds.length === 0 ? join.right : analyzer.applyFilter(join.right, and(rightConds), []);
  const on = rest.length === 0 ? undefined : and(rest);
  return {
    k: 'join',
    kind: join.kind,
    left,
    right,
    leftKeys,
    rightKeys,
    ...(on === undefined ? {} : { on }),
    onSubqueries: join.onSubqueries,
    lateral: join.lateral,
    columns: join.columns,
  };
}

function stripHidden(query: AnalyzedQuery): PlanNode {
  if (query.plan.columns.length === query.columns.length) {
    return query.plan;
  }
  return {
    k: 'project',
    input: query.plan,
    exprs: query.columns.map((c, i) => ({ k: 'col', index: i, type: c.type })),
    subqueries: [],
    columns: query.columns,
  };
}

/** A WITH query's columns: its own names, or the ones listed after it (42P10 if too many). */
function cteColumns(cte: CommonTableExpr, columns: readonly OutputColumn[]): OutputColumn[] {
  const name = cte.ctename as string;
  const aliases = (cte.aliascolnames ?? []).map(stringOf);
  if (aliases.length > columns.length) {
    throw new SqlError(
      SqlStates.invalidColumnReference,
      `WITH query "${name}" has ${columns.length} columns available but ${aliases.length} columns specified`,
      position(cte.location),
    );
  }
  return columns.map((c, i) => column(aliases[i] ?? c.name, c.type, { qualifier: name }));
}

/**
 * A recursive query's column keeps the non-recursive term's type: the working table was
 * typed by it before the recursive term existed. If UNION would resolve the two terms
 * to another type (or typmod), PostgreSQL refuses, and so do we.
 */
function recursiveColumnType(name: string, index: number, nonRecursive: SqlType, recursive: SqlType): SqlType {
  const overall = sameType(nonRecursive, recursive) ? nonRecursive : withoutTypmod(commonType([nonRecursive, recursive], 'UNION'));
  if (!sameType(overall, nonRecursive)) {
    throw new SqlError(
      SqlStates.datatypeMismatch,
      `recursive query "${name}" column ${index + 1} has type ${typeDisplayName(nonRecursive)} in non-recursive term but type ${typeDisplayName(overall)} overall`,
      { hint: 'Cast the output of the non-recursive term to the correct type.' },
    );
  }
  return nonRecursive;
}

function withoutTypmod(type: SqlType): SqlType {
  return type.kind === 'scalar' ? scalarType(type.name) : { kind: 'array', element: withoutTypmod(type.element) };
}

/**
 * WITH RECURSIVE lets every query name any other in the list, so they are analyzed in
 * an order where each comes after those it reads (PostgreSQL sorts them the same way,
 * keeping the written order where it can). A query naming itself is recursive; two
 * naming each other are refused, as PostgreSQL does.
 */
function recursiveOrder(items: readonly CommonTableExpr[]): { cte: CommonTableExpr; recursive: boolean }[] {
  const names = new Set(items.map((c) => c.ctename as string));
  const reads = items.map((cte) => {
    const found = new Set<string>();
    new CteReferences(names, { reference: (name) => found.add(name) }).node(cte.ctequery, 'ok');
    return found;
  });
  const done = new Set<string>();
  const order: { cte: CommonTableExpr; recursive: boolean }[] = [];
  while (order.length < items.length) {
    const next = items.findIndex((cte, i) => {
      const name = cte.ctename as string;
      return !done.has(name) && [...(reads[i] as Set<string>)].every((r) => r === name || done.has(r));
    });
    if (next < 0) {
      const stuck = items.find((cte) => !done.has(cte.ctename as string)) as CommonTableExpr;
      throw new SqlError(SqlStates.featureNotSupported, 'mutual recursion between WITH items is not implemented', position(stuck.location));
    }
    const cte = items[next] as CommonTableExpr;
    const name = cte.ctename as string;
    done.add(name);
    order.push({ cte, recursive: (reads[next] as Set<string>).has(name) });
  }
  return order;
}

/** What encloses a reference to a recursive query, PostgreSQL's RecursionContext. */
type RecursionContext = 'ok' | 'nonRecursiveTerm' | 'subquery' | 'outerJoin' | 'intersect' | 'except';

const RECURSION_PLACES: Record<Exclude<RecursionContext, 'ok'>, string> = {
  nonRecursiveTerm: 'within its non-recursive term',
  subquery: 'within a subquery',
  outerJoin: 'within an outer join',
  intersect: 'within INTERSECT',
  except: 'within EXCEPT',
};

/**
 * PostgreSQL's checkWellFormedRecursion: the self-reference appears exactly once, in
 * the recursive term, outside subqueries, the nullable side of outer joins, INTERSECT
 * ALL and EXCEPT, and not in a SELECT that aggregates. Otherwise one run of the
 * recursive term would not depend on the working table alone, row by row.
 */
function checkRecursion(name: string, stmt: SelectStmt): void {
  let references = 0;
  const walker = new CteReferences(new Set([name]), {
    reference: (_name, context, location) => {
      if (context !== 'ok') {
        throw new SqlError(SqlStates.invalidRecursion, `recursive reference to query "${name}" must not appear ${RECURSION_PLACES[context]}`, position(location));
      }
      if (++references > 1) {
        throw new SqlError(SqlStates.invalidRecursion, `recursive reference to query "${name}" must not appear more than once`, position(location));
      }
    },
    aggregate: (location) => {
      throw new SqlError(SqlStates.invalidRecursion, "aggregate functions are not allowed in a recursive query's recursive term", position(location));
    },
  });
  // The query's own WITH list may not read it either; its names hide ours in both terms.
  walker.withScope(stmt.withClause, 'subquery', () => {
    walker.select(stmt.larg as SelectStmt, 'nonRecursiveTerm');
    walker.select(stmt.rarg as SelectStmt, 'ok');
  });
  if (references !== 1) {
    // The query was found recursive by the same walk, so the reference is in one of the three.
    throw new SqlError(SqlStates.internalError, `missing recursive reference to query "${name}"`);
  }
}

interface CteReferenceVisitor {
  reference(name: string, context: RecursionContext, location: number | undefined): void;
  /** A SELECT reads one of the names in its own FROM and computes aggregates. */
  aggregate?(location: number | undefined): void;
}

/**
 * Finds where a raw (unanalyzed) statement names some WITH queries, skipping places
 * where a nested WITH hides the name, and tells the visitor what encloses each use.
 */
class CteReferences {
  /** Names defined by the nested WITH lists around the current node. */
  private readonly hidden: string[][] = [];
  /** References found in each enclosing SELECT's own FROM. */
  private readonly levels: number[] = [];

  constructor(
    private readonly names: ReadonlySet<string>,
    private readonly visitor: CteReferenceVisitor,
  ) {}

  /** Any raw node, list or field struct. */
  node(value: unknown, context: RecursionContext): void {
    if (value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) {
      for (const item of value) this.node(item, context);
      return;
    }
    const keys = Object.keys(value);
    const tag = keys.length === 1 && /^[A-Z]/.test(keys[0] as string) ? (keys[0] as string) : undefined;
    if (tag === undefined) {
      this.fields(value as Record<string, unknown>, context);
      return;
    }
    const inner = (value as Record<string, unknown>)[tag];
    switch (tag) {
      case 'RangeVar':
        this.relation(inner as RangeVar, context);
        return;
      case 'SelectStmt':
        this.select(inner as SelectStmt, context);
        return;
      case 'SubLink': {
        const sublink = inner as { testexpr?: Node; subselect?: Node };
        this.node(sublink.testexpr, context);
        // A subquery runs on its own, whatever encloses it.
        this.node(sublink.subselect, 'subquery');
        return;
      }
      case 'JoinExpr': {
        const join = inner as JoinExpr;
        const nullable = context === 'ok' ? 'outerJoin' : context;
        const kind = join.jointype;
        this.node(join.larg, kind === 'JOIN_RIGHT' || kind === 'JOIN_FULL' ? nullable : context);
        this.node(join.rarg, kind === 'JOIN_LEFT' || kind === 'JOIN_FULL' ? nullable : context);
        this.node(join.quals, context);
        return;
      }
      default:
        this.node(inner, context);
    }
  }

  select(stmt: SelectStmt, context: RecursionContext): void {
    this.withScope(stmt.withClause, context, () => this.selectBody(stmt, context));
  }

  /**
   * Runs `body` with the names of a WITH list hidden, after walking its queries (a
   * RECURSIVE list hides its names in its own queries too; a plain one only from the
   * queries after each name).
   */
  withScope(clause: WithClause | undefined, context: RecursionContext, body: () => void): void {
    if (clause === undefined) {
      body();
      return;
    }
    const items = (clause.ctes ?? []).map((node) => (node as { CommonTableExpr: CommonTableExpr }).CommonTableExpr);
    const defined = clause.recursive === true ? items.map((c) => c.ctename as string) : [];
    this.hidden.push(defined);
    try {
      for (const cte of items) {
        this.node(cte.ctequery, context);
        if (clause.recursive !== true) defined.push(cte.ctename as string);
      }
      body();
    } finally {
      this.hidden.pop();
    }
  }

  private selectBody(stmt: SelectStmt, context: RecursionContext): void {
    const op = stmt.op ?? 'SETOP_NONE';
    const decorations = [stmt.sortClause, stmt.limitOffset, stmt.limitCount, stmt.lockingClause];
    if (context === 'ok' && op === 'SETOP_INTERSECT') {
      const arms = stmt.all === true ? 'intersect' : 'ok';
      this.select(stmt.larg as SelectStmt, arms);
      this.select(stmt.rarg as SelectStmt, arms);
      this.node(decorations, context);
      return;
    }
    if (context === 'ok' && op === 'SETOP_EXCEPT') {
      this.select(stmt.larg as SelectStmt, stmt.all === true ? 'except' : 'ok');
      this.select(stmt.rarg as SelectStmt, 'except');
      this.node(decorations, context);
      return;
    }
    if (op !== 'SETOP_NONE') {
      this.select(stmt.larg as SelectStmt, context);
      this.select(stmt.rarg as SelectStmt, context);
      this.node(decorations, context);
      return;
    }
    this.levels.push(0);
    for (const [key, value] of Object.entries(stmt)) {
      if (key !== 'withClause') this.node(value, context);
    }
    const direct = this.levels.pop() as number;
    if (direct > 0 && this.visitor.aggregate !== undefined) {
      const targets = (stmt.targetList ?? []).map((t) => (t as { ResTarget: ResTarget }).ResTarget.val);
      const sorts = (stmt.sortClause ?? []).map((s) => (s as { SortBy: SortBy }).SortBy.node);
      const aggregated = [...targets, stmt.havingClause, ...sorts].find((n) => containsAggregate(n));
      if (aggregated !== undefined) this.visitor.aggregate(nodeLocation(aggregated));
    }
  }

  private relation(rv: RangeVar, context: RecursionContext): void {
    const name = rv.relname as string;
    if (rv.schemaname !== undefined || !this.names.has(name) || this.hidden.some((h) => h.includes(name))) return;
    const level = this.levels.length - 1;
    if (level >= 0) this.levels[level] = (this.levels[level] as number) + 1;
    this.visitor.reference(name, context, rv.location);
  }

  private fields(struct: Record<string, unknown>, context: RecursionContext): void {
    for (const value of Object.values(struct)) this.node(value, context);
  }
}

/** The location of a raw expression node, when it has one. */
function nodeLocation(node: Node | undefined): number | undefined {
  if (node === undefined) return undefined;
  const inner = Object.values(node)[0] as { location?: number } | undefined;
  return inner?.location;
}

function ordinal(node: Node | undefined): number | undefined {
  if (node !== undefined && 'A_Const' in node && node.A_Const.ival !== undefined) {
    return node.A_Const.ival.ival ?? 0;
  }
  return undefined;
}

function outputOrdinal(columns: readonly OutputColumn[], pos: number, location?: number): Expr {
  const col = columns[pos - 1];
  if (col === undefined) {
    throw new SqlError(SqlStates.invalidColumnReference, `ORDER BY position ${pos} is not in select list`, position(location));
  }
  return { k: 'col', index: pos - 1, type: col.type };
}

/** ORDER BY name: an output column's alias wins over an input column (PostgreSQL's rule). */
function outputByName(node: Node, columns: readonly OutputColumn[], targets: readonly ResTarget[]): number | undefined {
  if (!('ColumnRef' in node) || (node.ColumnRef.fields ?? []).length !== 1) {
    return undefined;
  }
  const name = stringOf((node.ColumnRef.fields as Node[])[0] as Node);
  const matches: number[] = [];
  columns.forEach((c, i) => {
    if (c.name === name && (targets[i]?.name !== undefined || c.hidden !== true)) matches.push(i);
  });
  const aliased = matches.filter((i) => targets[i]?.name === name);
  if (aliased.length > 1) {
    throw new SqlError(SqlStates.ambiguousColumn, `ORDER BY "${name}" is ambiguous`);
  }
  return aliased[0];
}

function sortKey(expr: Expr, sort: SortBy): SortKey {
  if (sort.sortby_dir === 'SORTBY_USING') {
    throw new SqlError(SqlStates.featureNotSupported, 'ORDER BY USING is not supported');
  }
  const descending = sort.sortby_dir === 'SORTBY_DESC';
  const nullsFirst = sort.sortby_nulls === 'SORTBY_NULLS_FIRST' ? true : sort.sortby_nulls === 'SORTBY_NULLS_LAST' ? false : descending;
  return { expr, descending, nullsFirst };
}

/** A structural key of an expression (to find ORDER BY expressions in the target list). */
function exprKey(expr: Expr): unknown {
  return JSON.parse(
    JSON.stringify(expr, (key, value: unknown) => {
      if (typeof value === 'function') return `fn:${key}`;
      if (typeof value === 'bigint') return `${value}n`;
      return value;
    }),
  );
}

function containsAggregate(node: Node | undefined): boolean {
  if (node === undefined) return false;
  let found = false;
  const visit = (n: unknown): void => {
    if (found || n === null || typeof n !== 'object') return;
    if (Array.isArray(n)) {
      n.forEach(visit);
      return;
    }
    const obj = n as Record<string, unknown>;
    if ('SubLink' in obj) return;
    if ('FuncCall' in obj) {
      const f = obj.FuncCall as { funcname?: Node[]; agg_star?: boolean; over?: unknown; args?: unknown };
      const names = (f.funcname ?? []).map(stringOf);
      const name = (names[names.length - 1] ?? '').toLowerCase();
      if (f.over === undefined && isAggregateFunctionName(name)) {
        found = true;
        return;
      }
    }
    Object.values(obj).forEach(visit);
  };
  visit(node);
  return found;
}

import { isAggregateName as isAggregateFunctionName } from './functions-impl';

/** PostgreSQL's FigureColname for expressions without an alias. */
function figureName(node: Node): string {
  if ('FuncCall' in node) {
    const names = (node.FuncCall.funcname ?? []).map(stringOf);
    return names[names.length - 1] as string;
  }
  if ('TypeCast' in node) {
    const inner = figureName(node.TypeCast.arg as Node);
    if (inner !== '?column?') return inner;
    const names = (node.TypeCast.typeName?.names ?? []).map(stringOf);
    const last = names[names.length - 1] as string;
    return typeColumnName(last);
  }
  if ('CaseExpr' in node) return 'case';
  if ('CoalesceExpr' in node) return 'coalesce';
  if ('MinMaxExpr' in node) return node.MinMaxExpr.op === 'IS_GREATEST' ? 'greatest' : 'least';
  if ('A_Expr' in node && node.A_Expr.kind === 'AEXPR_NULLIF') return 'nullif';
  if ('SubLink' in node) {
    if (node.SubLink.subLinkType === 'EXISTS_SUBLINK') return 'exists';
    if (node.SubLink.subLinkType === 'EXPR_SUBLINK') {
      const sub = node.SubLink.subselect as Node;
      if ('SelectStmt' in sub) {
        const first = (sub.SelectStmt.targetList?.[0] as { ResTarget?: ResTarget } | undefined)?.ResTarget;
        if (first?.name !== undefined) return first.name;
        if (first?.val !== undefined) {
          const val = first.val;
          if ('ColumnRef' in val) {
            const names = (val.ColumnRef.fields ?? []).map(stringOf);
            return names[names.length - 1] as string;
          }
          return figureName(val);
        }
      }
    }
    return '?column?';
  }
  if ('SQLValueFunction' in node) {
    const op = node.SQLValueFunction.op ?? '';
    return op.replace('SVFOP_', '').replace(/_N$/, '').toLowerCase();
  }
  if ('A_ArrayExpr' in node) return 'array';
  if ('A_Const' in node && node.A_Const.boolval !== undefined) return 'bool';
  return '?column?';
}

function typeColumnName(name: string): string {
  const map: Record<string, string> = {
    int4: 'int4',
    int8: 'int8',
    int2: 'int2',
    float8: 'float8',
    float4: 'float4',
    bool: 'bool',
    varchar: 'varchar',
    bpchar: 'bpchar',
    numeric: 'numeric',
    text: 'text',
    timestamptz: 'timestamptz',
  };
  return map[name] ?? name;
}

export { typeFromTypeName };
