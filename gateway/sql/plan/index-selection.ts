import type { IndexDescriptor, TableDescriptor } from '../catalog/descriptors';
import { allIndexes } from '../catalog/descriptors';
import type { Expr } from './expr';
import { walkExpr } from './expr';
import { sameType } from './functions-impl';
import type { ScanNode, SpanBound, SpanPlan } from './plan';

/**
 * Index selection: from a scan's WHERE conjuncts, find for each index the longest
 * prefix of its columns fixed by `col = value` (or `col IN (values)`), then a range on
 * the next column; the index with the most fixed columns wins (the primary on ties).
 * The filter stays on the scan, so the spans only have to cover the matching rows.
 */

const MAX_POINTS = 1000;

interface ColumnConstraint {
  readonly equals?: readonly Expr[];
  readonly lower?: { readonly value: Expr; readonly inclusive: boolean };
  readonly upper?: { readonly value: Expr; readonly inclusive: boolean };
}

export function chooseScan(scan: ScanNode): ScanNode {
  if (scan.filter === undefined) {
    return scan;
  }
  const constraints = columnConstraints(scan.table, scan.filter);
  let best: { index: IndexDescriptor; spans: SpanPlan; score: number } | undefined;
  for (const index of allIndexes(scan.table)) {
    const candidate = spansFor(scan.table, index, constraints);
    if (candidate === undefined) continue;
    const isPrimary = index.id === scan.table.primaryIndex.id;
    // A secondary index costs a lookup per row: it must fix more than the primary does.
    const score = candidate.score * 2 + (isPrimary ? 1 : 0);
    if (best === undefined || score > best.score) {
      best = { index, spans: candidate.spans, score };
    }
  }
  if (best === undefined) {
    return scan;
  }
  return { ...scan, index: best.index, spans: best.spans, covering: best.index.id === scan.table.primaryIndex.id };
}

/** Per column position of the table row: what the conjuncts say about it. */
function columnConstraints(table: TableDescriptor, filter: Expr): Map<number, ColumnConstraint> {
  const result = new Map<number, ColumnConstraint>();
  const add = (index: number, c: ColumnConstraint): void => {
    const prev = result.get(index) ?? {};
    result.set(index, {
      ...prev,
      ...(c.equals !== undefined && prev.equals === undefined ? { equals: c.equals } : {}),
      ...(c.lower !== undefined && prev.lower === undefined ? { lower: c.lower } : {}),
      ...(c.upper !== undefined && prev.upper === undefined ? { upper: c.upper } : {}),
    });
  };
  for (const conjunct of flattenAnd(filter)) {
    if (conjunct.k === 'call' && conjunct.args.length === 2) {
      const [a, b] = conjunct.args as [Expr, Expr];
      let col: Extract<Expr, { k: 'col' }> | undefined;
      let value: Expr | undefined;
      let op = conjunct.name;
      if (a.k === 'col' && isRowIndependent(b)) {
        col = a;
        value = b;
      } else if (b.k === 'col' && isRowIndependent(a)) {
        col = b;
        value = a;
        op = flip(op);
      }
      if (col === undefined || value === undefined) continue;
      const colType = table.columns[col.index]?.type;
      if (colType === undefined || !sameType(colType, value.type)) continue;
      switch (op) {
        case '=':
          add(col.index, { equals: [value] });
          break;
        case '>':
        case '>=':
          add(col.index, { lower: { value, inclusive: op === '>=' } });
          break;
        case '<':
        case '<=':
          add(col.index, { upper: { value, inclusive: op === '<=' } });
          break;
      }
    } else if (conjunct.k === 'quantified' && !conjunct.all && conjunct.op === '=' && conjunct.arg.k === 'col' && Array.isArray(conjunct.list)) {
      const list = conjunct.list as readonly Expr[];
      const colType = table.columns[conjunct.arg.index]?.type;
      if (colType !== undefined && list.length > 0 && list.every((v) => isRowIndependent(v) && sameType(colType, v.type))) {
        add(conjunct.arg.index, { equals: list });
      }
    }
  }
  return result;
}

function spansFor(
  table: TableDescriptor,
  index: IndexDescriptor,
  constraints: Map<number, ColumnConstraint>,
): { spans: SpanPlan; score: number } | undefined {
  const position = (columnId: number): number => table.columns.findIndex((c) => c.id === columnId);
  let points: Expr[][] = [[]];
  let fixed = 0;
  for (const columnId of index.columnIds) {
    const c = constraints.get(position(columnId));
    if (c?.equals === undefined || points.length * c.equals.length > MAX_POINTS) break;
    const values = c.equals;
    points = points.flatMap((p) => values.map((v) => [...p, v]));
    fixed++;
  }
  const nextColumn = index.columnIds[fixed];
  const range = nextColumn === undefined ? undefined : constraints.get(position(nextColumn));
  const descending = index.directions[fixed] === 'desc';
  if (fixed === 0 && range?.lower === undefined && range?.upper === undefined) {
    return undefined;
  }
  if (range !== undefined && (range.lower !== undefined || range.upper !== undefined) && points.length === 1) {
    const prefix = points[0] as Expr[];
    // On a descending column, the key order is reversed: a lower value bound is an upper key bound.
    const lowerValue = descending ? range.upper : range.lower;
    const upperValue = descending ? range.lower : range.upper;
    const lower: SpanBound = lowerValue === undefined ? { values: prefix, inclusive: true } : { values: [...prefix, lowerValue.value], inclusive: lowerValue.inclusive };
    const upper: SpanBound = upperValue === undefined ? { values: prefix, inclusive: true } : { values: [...prefix, upperValue.value], inclusive: upperValue.inclusive };
    return { spans: { kind: 'range', lower, upper }, score: fixed + 0.5 };
  }
  return { spans: { kind: 'points', points }, score: fixed === index.columnIds.length && index.unique ? fixed + 0.75 : fixed };
}

function flattenAnd(expr: Expr): Expr[] {
  return expr.k === 'and' ? expr.args.flatMap(flattenAnd) : [expr];
}

/** Reads nothing of the scanned row (constants, parameters, outer references). */
function isRowIndependent(expr: Expr): boolean {
  let independent = true;
  walkExpr(expr, (e) => {
    if (e.k === 'col' || e.k === 'subquery' || (e.k === 'call' && e.volatile)) independent = false;
  });
  return independent;
}

function flip(op: string): string {
  switch (op) {
    case '<':
      return '>';
    case '<=':
      return '>=';
    case '>':
      return '<';
    case '>=':
      return '<=';
    default:
      return op;
  }
}
