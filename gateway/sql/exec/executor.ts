import { SqlError, SqlStates, unreachable } from '../../../common/errors';
import type { Datum, SqlType } from '../types/datum';
import { compareDatums, datumKey } from '../types';
import type { Compiled, EvalEnv, Expr } from '../plan/expr';
import { cardinalityError, compileExpr } from '../plan/expr';
import type { AggregateCall, PlanNode, ScanNode, SortKey, SubqueryPlan } from '../plan/plan';
import type { ExecContext } from './context';
import { makeEnv } from './context';
import { executeDml } from './dml';

/**
 * Runs a plan: every operator is an async generator of rows. Blocking operators (sort,
 * hash join build, aggregate, distinct) hold at most `maxRowsInMemory` rows, beyond which
 * the statement fails with 53200 rather than exhausting the gateway.
 */

type Outer = readonly (readonly Datum[])[];

const SCAN_BATCH_ROWS = 1000;

/**
 * The rows of a plan that reads rows by exact primary key — a scan of the primary
 * index, or a projection of one, without subqueries — read without the operator
 * pipeline: one multi-get and no async generators between it and the session, which is
 * most of a point lookup's cost in the gateway. Undefined, with nothing read, for any
 * other plan, or when the keys are not all exact once the parameters are in; `execute`
 * runs the plan then.
 */
export async function lookupRows(node: PlanNode, ctx: ExecContext): Promise<Datum[][] | undefined> {
  const shape = lookupShape(node);
  if (shape === undefined) return undefined;
  const { project, scan } = shape;
  ctx.checkCancelled();
  const env = makeEnv(ctx, []);
  let remaining = scan.limit === undefined ? Infinity : toCount(compileExpr(scan.limit)([], env), 'LIMIT');
  const found = await ctx.tables.lookup(ctx, env, scan.table, scan.index, scan.spans, { reverse: scan.reverse, forUpdate: scan.forUpdate });
  if (found === undefined) return undefined;
  const filter = scan.filter === undefined ? undefined : compileExpr(scan.filter);
  const exprs = project?.exprs.map(compileExpr);
  const rows: Datum[][] = [];
  for (const row of found) {
    if (remaining <= 0) break;
    if (filter !== undefined && filter(row, env) !== true) continue;
    rows.push(exprs === undefined ? row : exprs.map((e) => e(row, env)));
    remaining--;
  }
  return rows;
}

/** The scan (and projection over it) of a plan lookupRows may serve, or undefined. */
export function lookupShape(node: PlanNode): { readonly project?: Extract<PlanNode, { k: 'project' }>; readonly scan: ScanNode } | undefined {
  const project = node.k === 'project' ? node : undefined;
  const scan = project === undefined ? node : project.input;
  if (scan.k !== 'scan' || scan.filterSubqueries.length > 0 || (project !== undefined && project.subqueries.length > 0)) return undefined;
  return project === undefined ? { scan } : { project, scan };
}

export async function* execute(node: PlanNode, ctx: ExecContext, outer: Outer = []): AsyncGenerator<Datum[]> {
  ctx.checkCancelled();
  switch (node.k) {
    case 'values': {
      const env = makeEnv(ctx, outer);
      const rows = node.rows.map((r) => r.map(compileExpr));
      for (const row of rows) {
        await runSubqueries(node.subqueries, [], env, ctx, outer);
        yield row.map((c) => c([], env));
      }
      return;
    }
    case 'scan': {
      const env = makeEnv(ctx, outer);
      const filter = node.filter === undefined ? undefined : compileExpr(node.filter);
      let remaining = node.limit === undefined ? Infinity : toCount(compileExpr(node.limit)([], env), 'LIMIT');
      if (remaining <= 0) return;
      const batchRows = Number.isFinite(remaining) && filter === undefined ? Math.min(remaining, SCAN_BATCH_ROWS) : SCAN_BATCH_ROWS;
      for await (const row of ctx.tables.scan(ctx, env, node.table, node.index, node.spans, { reverse: node.reverse, forUpdate: node.forUpdate, batchRows })) {
        if (filter !== undefined) {
          await runSubqueries(node.filterSubqueries, row, env, ctx, outer);
          if (filter(row, env) !== true) continue;
        }
        yield row;
        if (--remaining <= 0) return;
      }
      return;
    }
    case 'filter': {
      const env = makeEnv(ctx, outer);
      const predicate = compileExpr(node.predicate);
      for await (const row of execute(node.input, ctx, outer)) {
        await runSubqueries(node.subqueries, row, env, ctx, outer);
        if (predicate(row, env) === true) yield row;
      }
      return;
    }
    case 'project': {
      const env = makeEnv(ctx, outer);
      const exprs = node.exprs.map(compileExpr);
      for await (const row of execute(node.input, ctx, outer)) {
        await runSubqueries(node.subqueries, row, env, ctx, outer);
        yield exprs.map((e) => e(row, env));
      }
      return;
    }
    case 'join':
      yield* join(node, ctx, outer);
      return;
    case 'aggregate':
      yield* aggregate(node, ctx, outer);
      return;
    case 'sort': {
      const rows = await collect(execute(node.input, ctx, outer), ctx, 'ORDER BY');
      const env = makeEnv(ctx, outer);
      sortRows(rows, node.keys, env);
      yield* rows;
      return;
    }
    case 'limit': {
      const env = makeEnv(ctx, outer);
      const limit = node.limit === undefined ? Infinity : toCount(compileExpr(node.limit)([], env), 'LIMIT');
      let offset = node.offset === undefined ? 0 : toCount(compileExpr(node.offset)([], env), 'OFFSET');
      if (limit <= 0) return;
      let emitted = 0;
      for await (const row of execute(node.input, ctx, outer)) {
        if (offset > 0) {
          offset--;
          continue;
        }
        yield row;
        if (++emitted >= limit) return;
      }
      return;
    }
    case 'distinct': {
      const types = node.columns.map((c) => c.type);
      const seen = new Set<string>();
      for await (const row of execute(node.input, ctx, outer)) {
        const key = rowKey(types, row, node.onCount ?? row.length);
        if (seen.has(key)) continue;
        if (seen.size >= ctx.maxRowsInMemory) throw memoryError('DISTINCT');
        seen.add(key);
        yield row;
      }
      return;
    }
    case 'setop':
      yield* setOperation(node, ctx, outer);
      return;
    case 'srf': {
      const env = makeEnv(ctx, outer);
      const args = node.args.map((a) => compileExpr(a)([], env));
      let n = 0;
      for (const row of node.fn(args)) {
        if ((++n & 4095) === 0) {
          // A long in-memory source must let timers and CancelRequests in.
          await new Promise((resolve) => setImmediate(resolve));
          ctx.checkCancelled();
        }
        yield row;
      }
      return;
    }
    case 'cteScan': {
      const rows = ctx.ctes.get(node.cteId);
      if (rows === undefined) throw new SqlError(SqlStates.internalError, `WITH query ${node.cteId} was not materialised`);
      const lazy = lazyCtes.get(rows);
      if (lazy === undefined) yield* rows;
      else yield* lazy.read();
      return;
    }
    case 'with': {
      if (!node.lazy) {
        for (const cte of node.ctes) {
          ctx.ctes.set(cte.id, await collect(execute(cte.plan, ctx, outer), ctx, 'WITH'));
        }
        yield* execute(node.body, ctx, outer);
        return;
      }
      const sources = node.ctes.map((cte) => {
        const source = new LazyCte(execute(cte.plan, ctx, outer), ctx);
        lazyCtes.set(source.rows, source);
        ctx.ctes.set(cte.id, source.rows);
        return source;
      });
      try {
        yield* execute(node.body, ctx, outer);
      } finally {
        // The body may stop early (LIMIT): end the queries it left half-read.
        for (const source of sources) await source.close();
      }
      return;
    }
    case 'recursiveUnion':
      yield* recursiveUnion(node, ctx, outer);
      return;
    case 'workTableScan': {
      const rows = ctx.ctes.get(node.workId);
      if (rows === undefined) throw new SqlError(SqlStates.internalError, `the working table of "${node.name}" is not set`);
      yield* rows;
      return;
    }
    case 'virtual': {
      yield* await node.rows(ctx.virtual);
      return;
    }
    case 'insert':
    case 'update':
    case 'delete':
      yield* executeDml(node, ctx, outer);
      return;
    default:
      unreachable(node, 'plan node');
  }
}

/** Fills the operator's subquery slots for this row (uncorrelated ones once). */
export async function runSubqueries(list: readonly SubqueryPlan[], row: readonly Datum[], env: EvalEnv, ctx: ExecContext, outer: Outer): Promise<void> {
  for (const sq of list) {
    if (!sq.correlated && env.subqueries[sq.slot] !== undefined) continue;
    const innerOuter = [row, ...outer];
    switch (sq.kind) {
      case 'exists': {
        const first = await execute(sq.plan, ctx, innerOuter).next();
        env.subqueries[sq.slot] = first.done !== true;
        break;
      }
      case 'scalar': {
        let value: Datum = null;
        let count = 0;
        for await (const r of execute(sq.plan, ctx, innerOuter)) {
          if (++count > 1) throw cardinalityError();
          value = r[0] as Datum;
        }
        env.subqueries[sq.slot] = value;
        break;
      }
      case 'list': {
        const values: Datum[] = [];
        for await (const r of execute(sq.plan, ctx, innerOuter)) {
          if (values.length >= ctx.maxRowsInMemory) throw memoryError('subquery');
          values.push(r[0] as Datum);
        }
        env.subqueries[sq.slot] = values;
        break;
      }
    }
  }
}

async function* join(node: Extract<PlanNode, { k: 'join' }>, ctx: ExecContext, outer: Outer): AsyncGenerator<Datum[]> {
  const env = makeEnv(ctx, outer);
  const on = node.on === undefined ? undefined : compileExpr(node.on);
  const leftWidth = node.left.columns.length;
  const rightWidth = node.right.columns.length;
  const nullLeft: Datum[] = new Array<Datum>(leftWidth).fill(null);
  const nullRight: Datum[] = new Array<Datum>(rightWidth).fill(null);
  const matches = async (joined: Datum[]): Promise<boolean> => {
    if (on === undefined) return true;
    await runSubqueries(node.onSubqueries, joined, env, ctx, outer);
    return on(joined, env) === true;
  };
  const rightRows = await collect(execute(node.right, ctx, outer), ctx, 'join');
  const rightMatched = node.kind === 'right' || node.kind === 'full' ? new Uint8Array(rightRows.length) : undefined;
  let table: Map<string, number[]> | undefined;
  const leftKeys = node.leftKeys.map(compileExpr);
  const rightKeys = node.rightKeys.map(compileExpr);
  const keyTypes = node.leftKeys.map((k) => k.type);
  if (leftKeys.length > 0) {
    table = new Map();
    rightRows.forEach((row, i) => {
      const key = keyOf(rightKeys, keyTypes, row, env);
      if (key === undefined) return;
      const bucket = table?.get(key);
      if (bucket === undefined) table?.set(key, [i]);
      else bucket.push(i);
    });
  }
  // Pairs tried: a cross join makes many of each left row, and the left side's own
  // pauses (a generate_series every 4096 rows) would come a million pairs apart.
  let work = 0;
  for await (const left of execute(node.left, ctx, outer)) {
    let matched = false;
    const candidates: Iterable<number> =
      table === undefined ? rightRows.keys() : (table.get(keyOf(leftKeys, keyTypes, left, env) ?? '') ?? []);
    for (const i of candidates) {
      if ((++work & 4095) === 0) await letOthersRun(ctx);
      const right = rightRows[i] as Datum[];
      const joined = left.concat(right);
      if (!(await matches(joined))) continue;
      matched = true;
      if (rightMatched !== undefined) rightMatched[i] = 1;
      yield joined;
    }
    if (!matched && (node.kind === 'left' || node.kind === 'full')) {
      yield left.concat(nullRight);
    }
  }
  if (rightMatched !== undefined) {
    for (let i = 0; i < rightRows.length; i++) {
      if (rightMatched[i] === 0) yield nullLeft.concat(rightRows[i] as Datum[]);
    }
  }
}

/** The hash key of a row's join keys; undefined when one is NULL (NULL never equals). */
function keyOf(keys: readonly Compiled[], types: readonly SqlType[], row: readonly Datum[], env: EvalEnv): string | undefined {
  let key = '';
  for (let i = 0; i < keys.length; i++) {
    const v = (keys[i] as Compiled)(row, env);
    if (v === null) return undefined;
    key += `${keyPart(types[i] as SqlType, v)}\u0000`;
  }
  return key;
}

function keyPart(type: SqlType, value: Datum): string {
  if (value === null) return '\u0001N';
  const k = datumKey(type, value);
  return typeof k === 'string' ? `s${k}` : `n${String(k)}`;
}

export function rowKey(types: readonly SqlType[], row: readonly Datum[], count: number): string {
  let key = '';
  for (let i = 0; i < count; i++) key += `${keyPart(types[i] as SqlType, row[i] as Datum)}\u0000`;
  return key;
}

interface GroupState {
  readonly keys: Datum[];
  readonly states: unknown[];
  readonly distinctSeen: (Set<string> | undefined)[];
  readonly ordered: (Datum[][] | undefined)[];
}

async function* aggregate(node: Extract<PlanNode, { k: 'aggregate' }>, ctx: ExecContext, outer: Outer): AsyncGenerator<Datum[]> {
  const env = makeEnv(ctx, outer);
  const groupExprs = node.groupBy.map(compileExpr);
  const groupTypes = node.groupBy.map((g) => g.type);
  const aggs = node.aggregates.map((a) => ({
    call: a,
    args: a.args.map(compileExpr),
    filter: a.filter === undefined ? undefined : compileExpr(a.filter),
    argTypes: a.args.map((x) => x.type),
  }));
  const groups = new Map<string, GroupState>();
  const newGroup = (keys: Datum[]): GroupState => ({
    keys,
    states: aggs.map((a) => a.call.init()),
    distinctSeen: aggs.map((a) => (a.call.distinct ? new Set<string>() : undefined)),
    ordered: aggs.map((a) => (a.call.orderBy.length > 0 ? [] : undefined)),
  });
  for await (const row of execute(node.input, ctx, outer)) {
    await runSubqueries(node.subqueries, row, env, ctx, outer);
    const keys = groupExprs.map((g) => g(row, env));
    const key = rowKey(groupTypes, keys, keys.length);
    let group = groups.get(key);
    if (group === undefined) {
      if (groups.size >= ctx.maxRowsInMemory) throw memoryError('GROUP BY');
      group = newGroup(keys);
      groups.set(key, group);
    }
    for (let i = 0; i < aggs.length; i++) {
      const a = aggs[i] as (typeof aggs)[number];
      if (a.filter !== undefined && a.filter(row, env) !== true) continue;
      const args = a.args.map((x) => x(row, env));
      if (a.call.skipNulls && args.some((v) => v === null)) continue;
      const seen = group.distinctSeen[i];
      if (seen !== undefined) {
        const k = rowKey(a.argTypes, args, args.length);
        if (seen.has(k)) continue;
        seen.add(k);
      }
      const ordered = group.ordered[i];
      if (ordered !== undefined) {
        // Sort keys follow the arguments; fed to step after sorting.
        ordered.push([...args, ...a.call.orderBy.map((o) => compileExpr(o.expr)(row, env))]);
        continue;
      }
      group.states[i] = a.call.step(group.states[i], args);
    }
  }
  if (groups.size === 0 && node.groupBy.length === 0) {
    groups.set('', newGroup([]));
  }
  for (const group of groups.values()) {
    const out: Datum[] = [...group.keys];
    for (let i = 0; i < aggs.length; i++) {
      const a = aggs[i] as (typeof aggs)[number];
      const ordered = group.ordered[i];
      if (ordered !== undefined) {
        const n = a.args.length;
        const keys: SortKey[] = a.call.orderBy.map((o, j) => ({ ...o, expr: { k: 'col', index: n + j, type: o.expr.type } as Expr }));
        sortRows(ordered, keys, env);
        let state = group.states[i];
        for (const r of ordered) state = a.call.step(state, r.slice(0, n));
        group.states[i] = state;
      }
      out.push(a.call.final(group.states[i]));
    }
    yield out;
  }
}

async function* setOperation(node: Extract<PlanNode, { k: 'setop' }>, ctx: ExecContext, outer: Outer): AsyncGenerator<Datum[]> {
  const types = node.columns.map((c) => c.type);
  const width = types.length;
  if (node.op === 'union') {
    const seen = node.all ? undefined : new Set<string>();
    for (const side of [node.left, node.right]) {
      for await (const row of execute(side, ctx, outer)) {
        if (seen !== undefined) {
          const key = rowKey(types, row, width);
          if (seen.has(key)) continue;
          if (seen.size >= ctx.maxRowsInMemory) throw memoryError('UNION');
          seen.add(key);
        }
        yield row;
      }
    }
    return;
  }
  // INTERSECT / EXCEPT: count the right side's rows, then stream the left.
  const counts = new Map<string, number>();
  for await (const row of execute(node.right, ctx, outer)) {
    const key = rowKey(types, row, width);
    if (counts.size >= ctx.maxRowsInMemory) throw memoryError(node.op.toUpperCase());
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const emitted = new Set<string>();
  for await (const row of execute(node.left, ctx, outer)) {
    const key = rowKey(types, row, width);
    const n = counts.get(key) ?? 0;
    if (node.op === 'intersect') {
      if (n === 0) continue;
      if (node.all) counts.set(key, n - 1);
      else if (emitted.has(key)) continue;
      emitted.add(key);
      yield row;
    } else {
      if (node.all) {
        if (n > 0) {
          counts.set(key, n - 1);
          continue;
        }
        yield row;
      } else {
        if (n > 0 || emitted.has(key)) continue;
        emitted.add(key);
        yield row;
      }
    }
  }
}

/**
 * A WITH query's rows, computed as far as its readers have asked and kept for the
 * others (PostgreSQL's CTE tuplestore with one read pointer per reader).
 */
class LazyCte {
  readonly rows: Datum[][] = [];
  private finished = false;
  private failure: { readonly error: unknown } | undefined;
  /** A pull in progress, so two readers never pull the same row twice. */
  private pending: Promise<boolean> | undefined;

  constructor(
    private readonly source: AsyncGenerator<Datum[]>,
    private readonly ctx: ExecContext,
  ) {}

  async *read(): AsyncGenerator<Datum[]> {
    for (let i = 0; ; i++) {
      while (i >= this.rows.length) {
        if (!(await this.pull())) return;
      }
      yield this.rows[i] as Datum[];
    }
  }

  /** Adds the next row; false when there is none. */
  private pull(): Promise<boolean> {
    if (this.failure !== undefined) return Promise.reject(this.failure.error);
    if (this.finished) return Promise.resolve(false);
    this.pending ??= this.source.next().then(
      (next) => {
        this.pending = undefined;
        if (next.done === true) {
          this.finished = true;
          return false;
        }
        if (this.rows.length >= this.ctx.maxRowsInMemory) {
          this.failure = { error: memoryError('WITH') };
          throw this.failure.error;
        }
        this.rows.push(next.value);
        return true;
      },
      (error: unknown) => {
        this.pending = undefined;
        this.failure = { error };
        throw error;
      },
    );
    return this.pending;
  }

  async close(): Promise<void> {
    if (this.finished || this.failure !== undefined) return;
    this.finished = true;
    await this.source.return(undefined);
  }
}

/** Buffers of lazily computed WITH queries (the arrays in ExecContext.ctes) → their source. */
const lazyCtes = new WeakMap<Datum[][], LazyCte>();

/**
 * WITH RECURSIVE's iteration (PostgreSQL's RecursiveUnion): rows go out as they are
 * produced, so a reader that stops (LIMIT) stops the recursion. Every row produced is
 * also held by the query's buffer, so their count is bounded by `maxRowsInMemory`: a
 * recursion that never ends fails with 53200 rather than exhausting the gateway.
 */
async function* recursiveUnion(node: Extract<PlanNode, { k: 'recursiveUnion' }>, ctx: ExecContext, outer: Outer): AsyncGenerator<Datum[]> {
  const types = node.columns.map((c) => c.type);
  const seen = node.all ? undefined : new Set<string>();
  let produced = 0;
  const keep = (row: Datum[]): boolean => {
    if (seen !== undefined) {
      const key = rowKey(types, row, types.length);
      if (seen.has(key)) return false;
      seen.add(key);
    }
    if (++produced > ctx.maxRowsInMemory) throw recursionLimitError(node.name, ctx.maxRowsInMemory);
    return true;
  };
  let working: Datum[][] = [];
  for await (const row of execute(node.nonRecursive, ctx, outer)) {
    if (!keep(row)) continue;
    working.push(row);
    yield row;
  }
  let work = 0;
  try {
    while (working.length > 0) {
      ctx.ctes.set(node.workId, working);
      const next: Datum[][] = [];
      for await (const row of execute(node.recursive, ctx, outer)) {
        if ((++work & 1023) === 0) await letOthersRun(ctx);
        if (!keep(row)) continue;
        next.push(row);
        yield row;
      }
      working = next;
      if ((++work & 1023) === 0) await letOthersRun(ctx);
    }
  } finally {
    ctx.ctes.delete(node.workId);
  }
}

function recursionLimitError(name: string, maxRows: number): SqlError {
  return new SqlError(SqlStates.outOfMemory, `recursive query "${name}" produced more than ${maxRows} rows, the most the gateway holds for one statement`, {
    hint: 'Check that the recursive term stops producing rows (UNION instead of UNION ALL ends cycles), add a LIMIT, or raise SET max_rows_in_memory.',
  });
}

/** Work in memory must let timers and CancelRequests in now and then (statement_timeout, 57014). */
async function letOthersRun(ctx: ExecContext): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  ctx.checkCancelled();
}

export function sortRows(rows: Datum[][], keys: readonly SortKey[], env: EvalEnv): void {
  const compiled = keys.map((k) => ({ key: k, expr: compileExpr(k.expr) }));
  // Evaluate the keys once per row, then sort on them.
  const decorated = rows.map((row, i) => ({ i, row, values: compiled.map((c) => c.expr(row, env)) }));
  decorated.sort((a, b) => {
    for (let j = 0; j < compiled.length; j++) {
      const { key } = compiled[j] as (typeof compiled)[number];
      const x = a.values[j] as Datum;
      const y = b.values[j] as Datum;
      if (x === null || y === null) {
        if (x === y) continue;
        return (x === null) === key.nullsFirst ? -1 : 1;
      }
      const c = compareDatums(key.expr.type, x, y);
      if (c !== 0) return key.descending ? -c : c;
    }
    return a.i - b.i;
  });
  for (let i = 0; i < rows.length; i++) rows[i] = (decorated[i] as (typeof decorated)[number]).row;
}

export async function collect(rows: AsyncIterable<Datum[]>, ctx: ExecContext, what: string): Promise<Datum[][]> {
  const out: Datum[][] = [];
  for await (const row of rows) {
    if (out.length >= ctx.maxRowsInMemory) throw memoryError(what);
    out.push(row);
  }
  return out;
}

function toCount(value: Datum, what: string): number {
  if (value === null) return Infinity;
  const n = Number(value as bigint);
  if (n < 0) {
    throw new SqlError(what === 'LIMIT' ? SqlStates.invalidRowCountInLimitClause : SqlStates.invalidRowCountInResultOffsetClause, `${what} must not be negative`);
  }
  return n;
}

export function memoryError(what: string): SqlError {
  return new SqlError(SqlStates.outOfMemory, `${what} needs more rows in memory than the gateway allows for one statement`, {
    hint: 'Narrow the query, or raise the limit with SET max_rows_in_memory.',
  });
}

export type { AggregateCall };
