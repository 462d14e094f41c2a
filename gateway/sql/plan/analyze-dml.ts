import type { DeleteStmt, InsertStmt, Node, ResTarget, UpdateStmt } from '@pgsql/types';
import { assert, SqlError, SqlStates } from '../../../common/errors';
import type { ColumnDescriptor, ReferentialAction, TableDescriptor } from '../catalog/descriptors';
import { allIndexes, columnById } from '../catalog/descriptors';
import { scalarType } from '../types/datum';
import type { AnalyzerEnv, QueryAnalyzer } from './analyze';
import { tableColumns, tableScan } from './analyze';
import { stringOf } from './analyze-expr';
import type { Expr } from './expr';
import type { CascadeTarget, ChildReference, InsertNode, OutputColumn, ParentReference, PlanNode, SubqueryPlan } from './plan';
import { position, Scope } from './scope';

/**
 * INSERT, UPDATE and DELETE into plans. Values are coerced to the columns' types in
 * assignment context (so '12' goes into an int column and 3.7 is rounded into it, and a
 * too-long string for varchar(n) is an error), as PostgreSQL does.
 */

const BOOL = scalarType('bool');

interface DmlResult {
  readonly plan: PlanNode;
  readonly columns: readonly OutputColumn[];
}

/**
 * `upsert`: CockroachDB's UPSERT, planned as INSERT ... ON CONFLICT (primary key) DO
 * UPDATE SET c = excluded.c for every target column outside the primary key (every
 * visible one when no column list is given, so those left out go back to their
 * defaults). Only the primary key arbitrates: another unique index still raises 23505,
 * and a table keyed by its hidden rowid just inserts, as a new rowid never conflicts.
 */
export async function buildInsert(analyzer: QueryAnalyzer, _env: AnalyzerEnv, stmt: InsertStmt, upsert = false): Promise<DmlResult> {
  if (stmt.withClause !== undefined) {
    throw new SqlError(SqlStates.featureNotSupported, 'WITH in INSERT is not supported');
  }
  const rv = stmt.relation as NonNullable<InsertStmt['relation']>;
  const table = await analyzer.resolveTable(rv);
  const alias = rv.alias?.aliasname ?? table.name;
  const exprs = analyzer.expressions;
  // Target columns: the named ones, or every visible column in order.
  const targets: ColumnDescriptor[] = [];
  const columnList = (stmt.cols ?? []).length > 0;
  if (columnList) {
    for (const node of stmt.cols ?? []) {
      const target = (node as { ResTarget: ResTarget }).ResTarget;
      if (target.indirection !== undefined) {
        throw new SqlError(SqlStates.featureNotSupported, 'INSERT into subfields is not supported');
      }
      const col = findColumn(table, target.name as string, target.location);
      if (targets.includes(col)) {
        throw new SqlError(SqlStates.duplicateColumn, `column "${col.name}" specified more than once`, position(target.location));
      }
      targets.push(col);
    }
  } else {
    targets.push(...table.columns.filter((c) => c.hidden !== true));
  }
  const primaryKey = new Set(table.primaryIndex.columnIds);
  const upsertColumns = targets.filter((c) => !primaryKey.has(c.id));
  // Source rows.
  let input: PlanNode;
  const select = stmt.selectStmt === undefined ? undefined : (stmt.selectStmt as { SelectStmt?: import('@pgsql/types').SelectStmt }).SelectStmt;
  const defaultMarker = new Map<number, Expr>();
  if (select === undefined) {
    // INSERT ... DEFAULT VALUES
    input = { k: 'values', rows: [[]], subqueries: [], columns: [] };
    targets.length = 0;
  } else if (select.valuesLists !== undefined && select.op === 'SETOP_NONE' && select.sortClause === undefined && select.limitCount === undefined) {
    const subqueries: SubqueryPlan[] = [];
    const ctx = { scope: new Scope([]), subqueries, clause: 'VALUES' };
    const rows: Expr[][] = [];
    const lists = select.valuesLists.map((list) => (list as { List: { items?: Node[] } }).List.items ?? []);
    const width = lists[0]?.length ?? 0;
    const uneven = lists.find((items) => items.length !== width);
    if (uneven !== undefined) {
      throw new SqlError(SqlStates.syntaxError, 'VALUES lists must all be the same length', position(nodeLocation(uneven[0])));
    }
    // Without a column list, trailing columns may be left out (they get defaults), as in PostgreSQL.
    if (!columnList && width < targets.length) targets.length = width;
    for (const items of lists) {
      if (items.length > targets.length) {
        throw new SqlError(SqlStates.syntaxError, 'INSERT has more expressions than target columns');
      }
      if (items.length < targets.length) {
        throw new SqlError(SqlStates.syntaxError, 'INSERT has more target columns than expressions');
      }
      const row: Expr[] = [];
      for (let i = 0; i < items.length; i++) {
        const item = items[i] as Node;
        const col = targets[i] as ColumnDescriptor;
        if ('SetToDefault' in item) {
          row.push(await defaultExpr(analyzer, table, col));
          continue;
        }
        const value = await exprs.analyze(item, ctx);
        row.push(exprs.coerceSync(value, col.type, 'assignment', undefined));
      }
      rows.push(row);
    }
    input = { k: 'values', rows, subqueries, columns: targets.map((c) => ({ name: c.name, type: c.type, tableId: 0, columnNumber: 0 })) };
  } else {
    const query = await analyzer.select(select);
    if (!columnList && query.columns.length < targets.length) targets.length = query.columns.length;
    if (query.columns.length > targets.length) {
      throw new SqlError(SqlStates.syntaxError, 'INSERT has more expressions than target columns');
    }
    if (query.columns.length < targets.length) {
      throw new SqlError(SqlStates.syntaxError, 'INSERT has more target columns than expressions');
    }
    const castExprs = query.columns.map((c, i) =>
      exprs.coerceSync({ k: 'col', index: i, type: c.type }, (targets[i] as ColumnDescriptor).type, 'assignment'),
    );
    input = { k: 'project', input: query.plan, exprs: castExprs, subqueries: [], columns: targets.map((c) => ({ name: c.name, type: c.type, tableId: 0, columnNumber: 0 })) };
  }
  // Defaults for the rest.
  const defaults = new Map<number, Expr>(defaultMarker);
  for (const col of table.columns) {
    if (!targets.includes(col)) {
      defaults.set(col.id, await defaultExpr(analyzer, table, col));
    }
  }
  // ON CONFLICT
  let onConflict: InsertNode['onConflict'];
  const clause = stmt.onConflictClause;
  if (upsert) {
    // The parser refuses UPSERT ... ON CONFLICT; this would drop the clause silently.
    assert(clause === undefined, 'UPSERT with an ON CONFLICT clause');
    // The existing row's columns come first, then the proposed row's (EXCLUDED).
    const width = table.columns.length;
    const set = new Set(upsertColumns);
    const updateExprs: Expr[] = table.columns.map((c, i) => ({ k: 'col', index: set.has(c) ? width + i : i, type: c.type }));
    onConflict = { indexId: table.primaryIndex.id, action: 'update', updateExprs };
  } else if (clause !== undefined) {
    let indexId: number | undefined;
    if (clause.infer !== undefined) {
      if (clause.infer.conname !== undefined) {
        const index = allIndexes(table).find((i) => i.constraintName === clause.infer?.conname || i.name === clause.infer?.conname);
        if (index === undefined) {
          throw new SqlError(SqlStates.undefinedObject, `constraint "${clause.infer.conname}" for table "${table.name}" does not exist`);
        }
        indexId = index.id;
      } else {
        const names = (clause.infer.indexElems ?? []).map((n) => (n as { IndexElem: { name?: string } }).IndexElem.name as string);
        const ids = names.map((n) => findColumn(table, n).id);
        const index = allIndexes(table).find((i) => i.unique && i.columnIds.length === ids.length && i.columnIds.every((id) => ids.includes(id)));
        if (index === undefined) {
          throw new SqlError(SqlStates.invalidColumnReference, 'there is no unique or exclusion constraint matching the ON CONFLICT specification');
        }
        indexId = index.id;
      }
    }
    if (clause.action === 'ONCONFLICT_UPDATE') {
      if (indexId === undefined) {
        throw new SqlError(SqlStates.syntaxError, 'ON CONFLICT DO UPDATE requires inference specification or constraint name', { hint: 'For example, ON CONFLICT (column_name).' });
      }
      // Expressions see the existing row (table columns) followed by EXCLUDED (the proposed row).
      const existing = tableColumns(table, alias);
      const excluded = tableColumns(table, 'excluded');
      const scope = new Scope([...existing, ...excluded]);
      const ctx = { scope, subqueries: [] as SubqueryPlan[], clause: 'ON CONFLICT DO UPDATE' };
      const updateExprs: Expr[] = table.columns.map((c, i) => ({ k: 'col', index: i, type: c.type }));
      for (const node of clause.targetList ?? []) {
        const target = (node as { ResTarget: ResTarget }).ResTarget;
        const col = findColumn(table, target.name as string, target.location);
        const i = table.columns.indexOf(col);
        const val = target.val as Node;
        updateExprs[i] = 'SetToDefault' in val ? await defaultExpr(analyzer, table, col) : exprs.coerceSync(await exprs.analyze(val, ctx), col.type, 'assignment');
      }
      const where = clause.whereClause === undefined ? undefined : await exprs.condition(clause.whereClause, { ...ctx, clause: 'WHERE' });
      if (ctx.subqueries.length > 0) {
        throw new SqlError(SqlStates.featureNotSupported, 'subqueries in ON CONFLICT DO UPDATE are not supported');
      }
      onConflict = { indexId, action: 'update', updateExprs, ...(where === undefined ? {} : { where }) };
    } else {
      onConflict = { ...(indexId === undefined ? {} : { indexId }), action: 'nothing' };
    }
  }
  const returning = await analyzer.returning(stmt.returningList, table, alias);
  const checks = await checkExprs(analyzer, table);
  return {
    plan: {
      k: 'insert',
      table,
      input,
      targetColumnIds: targets.map((c) => c.id),
      defaults,
      ...(onConflict === undefined ? {} : { onConflict }),
      upsert,
      checks,
      foreignKeys: await parentReferences(analyzer, table),
      ...(returning === undefined ? {} : { returning }),
      columns: returning?.columns ?? [],
    },
    columns: returning?.columns ?? [],
  };
}

export async function buildUpdate(analyzer: QueryAnalyzer, _env: AnalyzerEnv, stmt: UpdateStmt): Promise<DmlResult> {
  if (stmt.withClause !== undefined || (stmt.fromClause ?? []).length > 0) {
    throw new SqlError(SqlStates.featureNotSupported, 'UPDATE with WITH or FROM is not supported');
  }
  const rv = stmt.relation as NonNullable<UpdateStmt['relation']>;
  const table = await analyzer.resolveTable(rv);
  const alias = rv.alias?.aliasname ?? table.name;
  const exprs = analyzer.expressions;
  const scope = new Scope(tableColumns(table, alias));
  let input: PlanNode = tableScan(table, alias, true);
  if (stmt.whereClause !== undefined) {
    const subqueries: SubqueryPlan[] = [];
    const predicate = await exprs.condition(stmt.whereClause, { scope, subqueries, clause: 'WHERE' });
    input = analyzer.applyFilter(input, predicate, subqueries);
  }
  const subqueries: SubqueryPlan[] = [];
  const ctx = { scope, subqueries, clause: 'UPDATE' };
  const assignments = new Map<number, Expr>();
  for (const node of stmt.targetList ?? []) {
    const target = (node as { ResTarget: ResTarget }).ResTarget;
    if (target.indirection !== undefined) {
      throw new SqlError(SqlStates.featureNotSupported, 'UPDATE of subfields is not supported');
    }
    const val = target.val as Node;
    if ('MultiAssignRef' in val) {
      throw new SqlError(SqlStates.featureNotSupported, 'UPDATE SET (a, b) = ... is not supported');
    }
    const col = findColumn(table, target.name as string, target.location);
    if (assignments.has(col.id)) {
      throw new SqlError(SqlStates.syntaxError, `multiple assignments to same column "${col.name}"`);
    }
    assignments.set(col.id, 'SetToDefault' in val ? await defaultExpr(analyzer, table, col) : exprs.coerceSync(await exprs.analyze(val, ctx), col.type, 'assignment'));
  }
  const returning = await analyzer.returning(stmt.returningList, table, alias);
  const checks = await checkExprs(analyzer, table);
  const tables = await analyzer.schemaTables();
  const referencedBy = childReferences(tables, table);
  const cascades = await cascadeTargets(analyzer, tables, referencedBy);
  return {
    plan: {
      k: 'update',
      table,
      input,
      assignments,
      subqueries,
      checks,
      foreignKeys: await parentReferences(analyzer, table),
      referencedBy,
      ...(cascades === undefined ? {} : { cascades }),
      ...(returning === undefined ? {} : { returning }),
      columns: returning?.columns ?? [],
    },
    columns: returning?.columns ?? [],
  };
}

export async function buildDelete(analyzer: QueryAnalyzer, _env: AnalyzerEnv, stmt: DeleteStmt): Promise<DmlResult> {
  if (stmt.withClause !== undefined || (stmt.usingClause ?? []).length > 0) {
    throw new SqlError(SqlStates.featureNotSupported, 'DELETE with WITH or USING is not supported');
  }
  const rv = stmt.relation as NonNullable<DeleteStmt['relation']>;
  const table = await analyzer.resolveTable(rv);
  const alias = rv.alias?.aliasname ?? table.name;
  let input: PlanNode = tableScan(table, alias, true);
  if (stmt.whereClause !== undefined) {
    const subqueries: SubqueryPlan[] = [];
    const predicate = await analyzer.expressions.condition(stmt.whereClause, {
      scope: new Scope(tableColumns(table, alias)),
      subqueries,
      clause: 'WHERE',
    });
    input = analyzer.applyFilter(input, predicate, subqueries);
  }
  const returning = await analyzer.returning(stmt.returningList, table, alias);
  const tables = await analyzer.schemaTables();
  const referencedBy = childReferences(tables, table);
  const cascades = await cascadeTargets(analyzer, tables, referencedBy);
  return {
    plan: {
      k: 'delete',
      table,
      input,
      referencedBy,
      ...(cascades === undefined ? {} : { cascades }),
      ...(returning === undefined ? {} : { returning }),
      columns: returning?.columns ?? [],
    },
    columns: returning?.columns ?? [],
  };
}

export function findColumn(table: TableDescriptor, name: string, location?: number): ColumnDescriptor {
  const col = table.columns.find((c) => c.name === name);
  if (col === undefined) {
    throw new SqlError(SqlStates.undefinedColumn, `column "${name}" of relation "${table.name}" does not exist`, position(location));
  }
  return col;
}

/** Where a node of a VALUES list starts in the text, when its kind records it. */
function nodeLocation(node: Node | undefined): number | undefined {
  const fields = node === undefined ? undefined : (Object.values(node)[0] as { location?: unknown } | undefined);
  return typeof fields?.location === 'number' ? fields.location : undefined;
}

/** The column's DEFAULT expression (NULL when it has none), typed as the column. */
async function defaultExpr(analyzer: QueryAnalyzer, _table: TableDescriptor, col: ColumnDescriptor): Promise<Expr> {
  if (col.defaultExpr === undefined) {
    return { k: 'const', type: col.type, value: null };
  }
  const exprs = analyzer.expressions;
  const value = await exprs.analyze(col.defaultExpr.ast as Node, { scope: new Scope([]), subqueries: [], clause: 'DEFAULT expressions' });
  return exprs.coerceSync(value, col.type, 'assignment');
}

/** The foreign keys of `table`, with the parent table and the unique index they point into. */
async function parentReferences(analyzer: QueryAnalyzer, table: TableDescriptor): Promise<ParentReference[]> {
  const refs: ParentReference[] = [];
  for (const fk of table.foreignKeys) {
    const parent = fk.referencedTableId === table.id ? table : await analyzer.tableById(fk.referencedTableId);
    const parentIndex = allIndexes(parent).find(
      (i) => i.unique && i.columnIds.length === fk.referencedColumnIds.length && i.columnIds.every((id) => fk.referencedColumnIds.includes(id)),
    );
    if (parentIndex === undefined) {
      throw new SqlError(SqlStates.invalidForeignKey, `foreign key ${fk.name}: table "${parent.name}" has no unique index over the referenced columns`);
    }
    refs.push({
      name: fk.name,
      positions: fk.columnIds.map((id) => table.columns.findIndex((c) => c.id === id)),
      parent,
      parentIndex,
      order: parentIndex.columnIds.map((id) => fk.referencedColumnIds.indexOf(id)),
    });
  }
  return refs;
}

/** The foreign keys of other tables (and of this one) that point at `table`; `tables` are the schema's. */
function childReferences(tables: readonly TableDescriptor[], table: TableDescriptor): ChildReference[] {
  const refs: ChildReference[] = [];
  for (const child of tables) {
    const current = child.id === table.id ? table : child;
    for (const fk of current.foreignKeys) {
      if (fk.referencedTableId !== table.id) continue;
      const childPositions = fk.columnIds.map((id) => current.columns.findIndex((c) => c.id === id));
      const childIndex = allIndexes(current).find((i) => i.columnIds.length >= fk.columnIds.length && fk.columnIds.every((id) => i.columnIds.slice(0, fk.columnIds.length).includes(id)));
      refs.push({
        name: fk.name,
        child: current,
        parentPositions: fk.referencedColumnIds.map((id) => table.columns.findIndex((c) => c.id === id)),
        childPositions,
        ...(childIndex === undefined ? {} : { childIndex }),
        childOrder: childIndex === undefined ? [] : childIndex.columnIds.slice(0, fk.columnIds.length).map((id) => fk.columnIds.indexOf(id)),
        onDelete: fk.onDelete,
        onUpdate: fk.onUpdate,
      });
    }
  }
  return refs;
}

/** Whether a reference's actions can write its child rows (rather than only refuse). */
function actsOnChild(ref: ChildReference): boolean {
  const writes = (action: ReferentialAction | undefined): boolean => action !== undefined && action !== 'no action' && action !== 'restrict';
  return writes(ref.onDelete) || writes(ref.onUpdate);
}

/**
 * Every table a referential action starting from `refs` may reach, transitively (a
 * cascaded change of a child row can act on the grandchildren): its constraints to check
 * and its own references, planned once per table however many paths lead to it.
 */
async function cascadeTargets(
  analyzer: QueryAnalyzer,
  tables: readonly TableDescriptor[],
  refs: readonly ChildReference[],
): Promise<Map<number, CascadeTarget> | undefined> {
  const targets = new Map<number, CascadeTarget>();
  const pending = refs.filter(actsOnChild);
  for (let ref = pending.pop(); ref !== undefined; ref = pending.pop()) {
    const child = ref.child;
    if (targets.has(child.id)) continue;
    const referencedBy = childReferences(tables, child);
    const defaults = new Map<number, Expr>();
    for (const fk of child.foreignKeys) {
      if (fk.onDelete !== 'set default' && fk.onUpdate !== 'set default') continue;
      for (const id of fk.columnIds) {
        if (!defaults.has(id)) defaults.set(id, await defaultExpr(analyzer, child, columnById(child, id)));
      }
    }
    targets.set(child.id, {
      table: child,
      checks: await checkExprs(analyzer, child),
      foreignKeys: await parentReferences(analyzer, child),
      referencedBy,
      defaults,
    });
    pending.push(...referencedBy.filter(actsOnChild));
  }
  return targets.size === 0 ? undefined : targets;
}

/** CHECK constraints over the table row. */
async function checkExprs(analyzer: QueryAnalyzer, table: TableDescriptor): Promise<{ name: string; expr: Expr }[]> {
  const scope = new Scope(tableColumns(table, table.name));
  const result: { name: string; expr: Expr }[] = [];
  for (const check of table.checks) {
    const expr = await analyzer.expressions.analyze(check.expr.ast as Node, { scope, subqueries: [], clause: 'check constraints' });
    result.push({ name: check.name, expr: analyzer.expressions.coerceSync(expr, BOOL, 'implicit') });
  }
  return result;
}

export { stringOf };
