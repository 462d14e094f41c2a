import { prettyKey } from '../../common/keys';
import type { RangeDescriptor } from '../../kv';
import type { ExecContext } from './exec/context';
import { makeEnv } from './exec/context';
import { evaluateSpans } from './exec/table-io';
import type { Expr } from './plan/expr';
import type { PlanNode, SpanPlan } from './plan/plan';

/**
 * EXPLAIN: the plan tree, one operator per line, indented; a scan shows its index, the
 * key spans it will read (with this execution's parameters) and the ranges that hold
 * them — what a point lookup must not do (scan) is visible at a glance.
 */

export type RangeLookup = (key: Buffer) => Promise<RangeDescriptor>;

export async function explainLines(plan: PlanNode, ctx: ExecContext, lookupRange?: RangeLookup): Promise<string[]> {
  const lines: string[] = [];
  await describe(plan, 0, ctx, lines, lookupRange);
  return lines;
}

async function describe(node: PlanNode, depth: number, ctx: ExecContext, lines: string[], lookupRange?: RangeLookup): Promise<void> {
  const pad = '  '.repeat(depth);
  const add = (text: string): void => {
    lines.push(`${pad}${depth > 0 ? '-> ' : ''}${text}`);
  };
  const detail = (text: string): void => {
    lines.push(`${pad}${depth > 0 ? '   ' : ''}  ${text}`);
  };
  switch (node.k) {
    case 'scan': {
      const primary = node.index.id === node.table.primaryIndex.id;
      const kind = spanKind(node.spans, primary, node.index.columnIds.length);
      add(`${kind} on ${node.table.name}@${node.index.name}${primary ? '' : ' (index join to primary)'}${node.reverse ? ' reverse' : ''}${node.forUpdate ? ' for update' : ''}`);
      const spans = evaluateSpans(node.table, node.index, node.spans, makeEnv(ctx, []));
      for (const span of spans.slice(0, 10)) {
        detail(span.exact ? `key: ${prettyKey(span.start)}` : `span: [${prettyKey(span.start)}, ${prettyKey(span.end)})`);
      }
      if (spans.length > 10) detail(`... ${spans.length - 10} more spans`);
      if (lookupRange !== undefined && spans.length > 0) {
        const ranges = new Set<string>();
        for (const span of spans.slice(0, 100)) {
          let key = span.start;
          for (let hops = 0; hops < 100; hops++) {
            const desc = await lookupRange(key);
            ranges.add(String(desc.rangeId));
            if (span.exact || desc.endKey.length === 0 || Buffer.compare(Buffer.from(desc.endKey), span.end) >= 0) break;
            key = Buffer.from(desc.endKey);
          }
        }
        detail(`ranges: ${[...ranges].sort((a, b) => Number(a) - Number(b)).join(', ')}`);
      }
      if (node.filter !== undefined) detail(`filter: ${exprText(node.filter)}`);
      if (node.limit !== undefined) detail('limit pushed down');
      return;
    }
    case 'values':
      add(node.rows.length === 1 && node.columns.length === 0 ? 'Result' : `Values (${node.rows.length} rows)`);
      return;
    case 'filter':
      add(`Filter: ${exprText(node.predicate)}`);
      break;
    case 'project':
      add(`Project (${node.columns.map((c) => c.name).join(', ')})`);
      break;
    case 'join':
      add(`${node.leftKeys.length > 0 ? 'Hash' : 'Nested Loop'} ${node.kind === 'inner' ? '' : `${node.kind[0]?.toUpperCase()}${node.kind.slice(1)} `}Join${node.leftKeys.length > 0 ? ` on ${node.leftKeys.length} key${node.leftKeys.length === 1 ? '' : 's'}` : ''}`);
      break;
    case 'aggregate':
      add(`${node.groupBy.length > 0 ? 'Hash Aggregate' : 'Aggregate'} (${node.aggregates.map((a) => a.name).join(', ') || 'groups'})`);
      break;
    case 'sort':
      add(`Sort (${node.keys.length} key${node.keys.length === 1 ? '' : 's'})`);
      break;
    case 'limit':
      add('Limit');
      break;
    case 'distinct':
      add('Distinct');
      break;
    case 'setop':
      add(`${node.op.toUpperCase()}${node.all ? ' ALL' : ''}`);
      break;
    case 'srf':
      add('Function Scan');
      return;
    case 'cteScan':
      add(`CTE Scan (${node.cteId})`);
      return;
    case 'recursiveUnion':
      add(`Recursive Union${node.all ? ' All' : ''} (${node.name})`);
      break;
    case 'workTableScan':
      add(`WorkTable Scan on ${node.name}`);
      return;
    case 'with':
      add(node.lazy ? 'With Recursive' : 'With');
      for (const cte of node.ctes) await describe(cte.plan, depth + 1, ctx, lines, lookupRange);
      await describe(node.body, depth + 1, ctx, lines, lookupRange);
      return;
    case 'virtual':
      add(`Virtual Table ${node.name}`);
      return;
    case 'insert':
      add(`Insert on ${node.table.name}${node.onConflict === undefined ? '' : ` (on conflict do ${node.onConflict.action})`}`);
      break;
    case 'update':
      add(`Update on ${node.table.name}`);
      break;
    case 'delete':
      add(`Delete on ${node.table.name}`);
      break;
  }
  for (const child of children(node)) {
    await describe(child, depth + 1, ctx, lines, lookupRange);
  }
}

function children(node: PlanNode): PlanNode[] {
  switch (node.k) {
    case 'join':
    case 'setop':
      return [node.left, node.right];
    case 'recursiveUnion':
      return [node.nonRecursive, node.recursive];
    case 'filter':
    case 'project':
    case 'aggregate':
    case 'sort':
    case 'limit':
    case 'distinct':
    case 'insert':
    case 'update':
    case 'delete':
      return [node.input];
    default:
      return [];
  }
}

function spanKind(spans: SpanPlan, primary: boolean, keyColumns: number): string {
  switch (spans.kind) {
    case 'full':
      return 'Full Scan';
    case 'points': {
      const exact = primary && spans.points.every((p) => p.length === keyColumns);
      return exact ? (spans.points.length === 1 ? 'Point Lookup' : `Point Lookups (${spans.points.length})`) : 'Prefix Scan';
    }
    case 'range':
      return 'Range Scan';
  }
}

/** A short rendering of an expression for plans. */
export function exprText(expr: Expr): string {
  switch (expr.k) {
    case 'const':
      return expr.value === null ? 'NULL' : typeof expr.value === 'string' ? `'${expr.value}'` : String(expr.value);
    case 'param':
      return `$${expr.index + 1}`;
    case 'col':
      return `#${expr.index + 1}`;
    case 'outer':
      return `outer#${expr.index + 1}`;
    case 'call':
      return expr.args.length === 2 && /^[^a-z]/i.test(expr.name)
        ? `(${exprText(expr.args[0] as Expr)} ${expr.name} ${exprText(expr.args[1] as Expr)})`
        : `${expr.name}(${expr.args.map(exprText).join(', ')})`;
    case 'cast':
      return `${exprText(expr.arg)}::${expr.type.kind === 'scalar' ? expr.type.name : 'array'}`;
    case 'and':
    case 'or':
      return `(${expr.args.map(exprText).join(` ${expr.k.toUpperCase()} `)})`;
    case 'not':
      return `NOT ${exprText(expr.arg)}`;
    case 'isnull':
      return `${exprText(expr.arg)} IS ${expr.negate ? 'NOT ' : ''}NULL`;
    case 'booltest':
      return `${exprText(expr.arg)} IS ${expr.negate ? 'NOT ' : ''}${expr.test.toUpperCase()}`;
    case 'case':
      return 'CASE';
    case 'coalesce':
      return `COALESCE(${expr.args.map(exprText).join(', ')})`;
    case 'quantified':
      return `${exprText(expr.arg)} ${expr.op} ${expr.all ? 'ALL' : 'ANY'}(${Array.isArray(expr.list) ? (expr.list as readonly Expr[]).map(exprText).join(', ') : 'subquery'})`;
    case 'distinct':
      return `${exprText(expr.left)} IS ${expr.negate ? 'NOT ' : ''}DISTINCT FROM ${exprText(expr.right)}`;
    case 'subquery':
      return '(subquery)';
    case 'array':
      return `ARRAY[${expr.elements.map(exprText).join(', ')}]`;
  }
}

/** The longest plan summary a log line carries. */
const MAX_PLAN_SUMMARY_CHARS = 300;

/**
 * A plan on one line, operators from the top with their inputs in brackets, scans with
 * their table, index and span kind: `update t [scan t@t_pkey points(1) for update]`.
 * For the slow-statement log, which must say how a statement ran without its values.
 */
export function planSummary(plan: PlanNode): string {
  const text = summaryOf(plan);
  return text.length <= MAX_PLAN_SUMMARY_CHARS ? text : `${text.slice(0, MAX_PLAN_SUMMARY_CHARS - 1)}…`;
}

function summaryOf(node: PlanNode): string {
  let head: string;
  switch (node.k) {
    case 'scan': {
      const spans = node.spans.kind === 'points' ? `points(${node.spans.points.length})` : node.spans.kind;
      head = `scan ${node.table.name}@${node.index.name} ${spans}${node.reverse ? ' reverse' : ''}${node.forUpdate ? ' for update' : ''}`;
      break;
    }
    case 'insert':
    case 'update':
    case 'delete':
      head = `${node.k} ${node.table.name}`;
      break;
    case 'join':
      head = `${node.leftKeys.length > 0 ? 'hash' : 'nested loop'} ${node.kind} join`;
      break;
    default:
      head = node.k;
  }
  const inputs = childPlans(node).map(summaryOf);
  return inputs.length === 0 ? head : `${head} [${inputs.join(', ')}]`;
}

/** The operators a node reads from, found by shape: every plan node has `k` and `columns`. */
function childPlans(node: PlanNode): PlanNode[] {
  const children: PlanNode[] = [];
  for (const value of Object.values(node)) {
    if (isPlanNode(value)) children.push(value);
    else if (Array.isArray(value)) for (const item of value) if (isPlanNode(item)) children.push(item);
  }
  return children;
}

function isPlanNode(value: unknown): value is PlanNode {
  return typeof value === 'object' && value !== null && typeof (value as { k?: unknown }).k === 'string' && Array.isArray((value as { columns?: unknown }).columns);
}
