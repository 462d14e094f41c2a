import { SqlError, SqlStates } from '../../../common/errors';
import { prefixEndOf } from '../../../common/keys';
import type { ColumnDescriptor, IndexDescriptor, TableDescriptor } from '../catalog/descriptors';
import type { Datum, SqlType } from '../types/datum';
import { compareDatums, datumsEqual, formatText } from '../types';
import type { Compiled, EvalEnv } from '../plan/expr';
import { compileExpr } from '../plan/expr';
import type { ChildReference, DeleteNode, InsertNode, ParentReference, ReturningClause, UpdateNode } from '../plan/plan';
import type { ExecContext } from './context';
import { makeEnv } from './context';
import { execute, runSubqueries } from './executor';
import type { TableCodec } from './table-codec';
import { codecFor } from './table-codec';

/**
 * INSERT / UPDATE / DELETE: rows become KV writes on the primary index and every
 * secondary index, inside the statement's transaction. Constraints are checked per row
 * (NOT NULL 23502, CHECK 23514, unique 23505). The rows of a statement are written in
 * batches: existence checks for a batch go in one multi-get.
 *
 * A DML operator yields its RETURNING rows, then (always) one final row holding the
 * affected row count as a bigint, which the session turns into the command tag.
 */

type Outer = readonly (readonly Datum[])[];

const WRITE_BATCH_ROWS = 256;

export const ROW_COUNT_MARKER = Symbol('row count');

export async function* executeDml(node: InsertNode | UpdateNode | DeleteNode, ctx: ExecContext, outer: Outer): AsyncGenerator<Datum[]> {
  switch (node.k) {
    case 'insert':
      yield* insert(node, ctx, outer);
      return;
    case 'update':
      yield* update(node, ctx, outer);
      return;
    case 'delete':
      yield* remove(node, ctx, outer);
      return;
  }
}

/** The final row of a DML operator: [count] tagged so the session can tell it apart. */
export function countRow(count: number): Datum[] {
  const row: Datum[] = [BigInt(count)];
  (row as unknown as Record<symbol, boolean>)[ROW_COUNT_MARKER] = true;
  return row;
}

export function isCountRow(row: readonly Datum[]): boolean {
  return (row as unknown as Record<symbol, boolean>)[ROW_COUNT_MARKER] === true;
}

async function* insert(node: InsertNode, ctx: ExecContext, outer: Outer): AsyncGenerator<Datum[]> {
  const table = node.table;
  const codec = codecFor(table);
  const env = makeEnv(ctx, outer);
  const targetPositions = node.targetColumnIds.map((id) => codec.positionOf.get(id) as number);
  const defaults = [...node.defaults].map(([id, expr]) => ({ position: codec.positionOf.get(id) as number, expr: compileExpr(expr) }));
  const checks = node.checks.map((c) => ({ name: c.name, expr: compileExpr(c.expr) }));
  const returning = compileReturning(node.returning);
  const conflict = node.onConflict;
  const updateExprs = conflict?.updateExprs?.map(compileExpr);
  const conflictWhere = conflict?.where === undefined ? undefined : compileExpr(conflict.where);
  let count = 0;
  let batch: Datum[][] = [];

  const flush = async function* (): AsyncGenerator<Datum[]> {
    const rows = batch;
    batch = [];
    const keys = rows.map((r) => codec.primaryKey(r));
    const existing = await ctx.txn.getMany(keys, { forUpdate: conflict?.action === 'update' });
    const seen = new Map<string, number>();
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as Datum[];
      const key = keys[i] as Buffer;
      const keyHex = key.toString('latin1');
      const earlier = seen.get(keyHex);
      const old = existing[i];
      const exists = old !== undefined || earlier !== undefined;
      if (!exists && (await uniqueConflict(ctx, codec, row, undefined)) === undefined) {
        await checkParents(ctx, node.table, node.foreignKeys, row, undefined);
        await writeRow(ctx, codec, key, row);
        seen.set(keyHex, i);
        count++;
        if (returning !== undefined) yield await returning(row, env, ctx, outer);
        continue;
      }
      // A conflict: on the primary key (exists) or on a unique secondary index.
      const conflictIndex = exists ? table.primaryIndex : ((await uniqueConflict(ctx, codec, row, undefined)) as IndexDescriptor);
      if (conflict === undefined || (conflict.indexId !== undefined && conflict.indexId !== conflictIndex.id)) {
        throw uniqueViolation(table, conflictIndex, row, codec);
      }
      if (conflict.action === 'nothing') continue;
      if (earlier !== undefined) {
        throw new SqlError(SqlStates.cardinalityViolation, 'ON CONFLICT DO UPDATE command cannot affect row a second time', {
          hint: 'Ensure that no rows proposed for insertion within the same command have duplicate constrained values.',
        });
      }
      const oldRow = old === undefined ? await readRow(ctx, codec, conflictIndex, row) : codec.decodeRow(key, old);
      const both = [...oldRow, ...row];
      if (conflictWhere !== undefined && conflictWhere(both, env) !== true) continue;
      const newRow = (updateExprs as Compiled[]).map((e) => e(both, env));
      checkRow(table, newRow, checks, env);
      await checkParents(ctx, table, node.foreignKeys, newRow, oldRow);
      const oldKey = codec.primaryKey(oldRow);
      await replaceRow(ctx, codec, oldKey, oldRow, newRow);
      seen.set(codec.primaryKey(newRow).toString('latin1'), i);
      count++;
      if (returning !== undefined) yield await returning(newRow, env, ctx, outer);
    }
  };

  for await (const source of execute(node.input, ctx, outer)) {
    const row: Datum[] = new Array<Datum>(table.columns.length).fill(null);
    targetPositions.forEach((pos, i) => {
      row[pos] = source[i] as Datum;
    });
    for (const d of defaults) row[d.position] = d.expr([], env);
    checkRow(table, row, checks, env);
    batch.push(row);
    if (batch.length >= WRITE_BATCH_ROWS) yield* flush();
  }
  if (batch.length > 0) yield* flush();
  yield countRow(count);
}

async function* update(node: UpdateNode, ctx: ExecContext, outer: Outer): AsyncGenerator<Datum[]> {
  const table = node.table;
  const codec = codecFor(table);
  const env = makeEnv(ctx, outer);
  const assignments = [...node.assignments].map(([id, expr]) => ({ position: codec.positionOf.get(id) as number, expr: compileExpr(expr) }));
  const checks = node.checks.map((c) => ({ name: c.name, expr: compileExpr(c.expr) }));
  const returning = compileReturning(node.returning);
  // Read every row first: an update must not see its own writes (a row moved by a
  // primary key change would be updated twice).
  const rows: Datum[][] = [];
  for await (const row of execute(node.input, ctx, outer)) {
    if (rows.length >= ctx.maxRowsInMemory) {
      throw new SqlError(SqlStates.outOfMemory, 'UPDATE touches more rows than the gateway allows in one statement');
    }
    rows.push(row);
  }
  let count = 0;
  for (const oldRow of rows) {
    await runSubqueries(node.subqueries, oldRow, env, ctx, outer);
    const newRow = [...oldRow];
    for (const a of assignments) newRow[a.position] = a.expr(oldRow, env);
    checkRow(table, newRow, checks, env);
    const oldKey = codec.primaryKey(oldRow);
    const newKey = codec.primaryKey(newRow);
    await checkParents(ctx, table, node.foreignKeys, newRow, oldRow);
    // Unique constraints are checked row by row, as PostgreSQL does for non-deferrable ones.
    if (!newKey.equals(oldKey) && (await ctx.txn.get(newKey)) !== undefined) {
      throw uniqueViolation(table, table.primaryIndex, newRow, codec);
    }
    await checkChildren(ctx, table, node.referencedBy, oldRow, newRow);
    await replaceRow(ctx, codec, oldKey, oldRow, newRow);
    count++;
    if (returning !== undefined) yield await returning(newRow, env, ctx, outer);
  }
  yield countRow(count);
}

async function* remove(node: DeleteNode, ctx: ExecContext, outer: Outer): AsyncGenerator<Datum[]> {
  const codec = codecFor(node.table);
  const env = makeEnv(ctx, outer);
  const returning = compileReturning(node.returning);
  const rows: Datum[][] = [];
  for await (const row of execute(node.input, ctx, outer)) {
    if (rows.length >= ctx.maxRowsInMemory) {
      throw new SqlError(SqlStates.outOfMemory, 'DELETE touches more rows than the gateway allows in one statement');
    }
    rows.push(row);
  }
  for (const row of rows) {
    await checkChildren(ctx, node.table, node.referencedBy, row, undefined);
    await ctx.txn.delete(codec.primaryKey(row));
    for (const index of node.table.indexes) {
      await ctx.txn.delete(codec.indexKey(index, row));
    }
    if (returning !== undefined) yield await returning(row, env, ctx, outer);
  }
  yield countRow(rows.length);
}

/** Writes a new row and its index entries (the key is known to be free). */
async function writeRow(ctx: ExecContext, codec: TableCodec, key: Buffer, row: readonly Datum[]): Promise<void> {
  await ctx.txn.put(key, codec.primaryValue(row));
  for (const index of codec.table.indexes) {
    await ctx.txn.put(codec.indexKey(index, row), codec.indexValue(index, row));
  }
}

/** Replaces a row: primary KV pair and the index entries whose key changed. */
async function replaceRow(ctx: ExecContext, codec: TableCodec, oldKey: Buffer, oldRow: readonly Datum[], newRow: readonly Datum[]): Promise<void> {
  const newKey = codec.primaryKey(newRow);
  if (!newKey.equals(oldKey)) {
    await ctx.txn.delete(oldKey);
  }
  for (const index of codec.table.indexes) {
    const before = codec.indexKey(index, oldRow);
    const after = codec.indexKey(index, newRow);
    if (!before.equals(after)) {
      if (index.unique) {
        const clash = await uniqueConflict(ctx, codec, newRow, index, oldRow);
        if (clash !== undefined) throw uniqueViolation(codec.table, index, newRow, codec);
      }
      await ctx.txn.delete(before);
    }
    await ctx.txn.put(after, codec.indexValue(index, newRow));
  }
  await ctx.txn.put(newKey, codec.primaryValue(newRow));
}

/**
 * The first unique secondary index on which another row already has this row's values
 * (NULLs never conflict); `only` restricts the check to one index, `self` is the row's
 * own old version (not a conflict).
 */
async function uniqueConflict(
  ctx: ExecContext,
  codec: TableCodec,
  row: readonly Datum[],
  only: IndexDescriptor | undefined,
  self?: readonly Datum[],
): Promise<IndexDescriptor | undefined> {
  for (const index of codec.table.indexes) {
    if (!index.unique || (only !== undefined && index !== only)) continue;
    if (index.columnIds.some((id) => row[codec.positionOf.get(id) as number] === null)) continue;
    const prefix = codec.indexValuesPrefix(index, row);
    const found = await ctx.txn.scan(prefix, prefixEndOf(prefix), { maxKeys: 2 });
    const selfKey = self === undefined ? undefined : codec.indexKey(index, self);
    if (found.rows.some((kv) => selfKey === undefined || !kv.key.equals(selfKey))) return index;
  }
  return undefined;
}

/** The existing row that holds the conflicting values of a unique index. */
async function readRow(ctx: ExecContext, codec: TableCodec, index: IndexDescriptor, row: readonly Datum[]): Promise<Datum[]> {
  const prefix = codec.indexValuesPrefix(index, row);
  const found = await ctx.txn.scan(prefix, prefixEndOf(prefix), { maxKeys: 1 });
  const entry = found.rows[0];
  if (entry === undefined) throw new SqlError(SqlStates.internalError, 'conflicting row vanished');
  const pk = codec.primaryKeyFromIndexKey(index, entry.key);
  const [value] = await ctx.txn.getMany([pk], { forUpdate: true });
  if (value === undefined) throw new SqlError(SqlStates.internalError, 'index entry without a row');
  return codec.decodeRow(pk, value);
}

/**
 * Each foreign key of the row (all columns non-NULL: MATCH SIMPLE) must find its parent
 * row; a read in the statement's transaction, so a concurrent delete of the parent
 * conflicts with this write. Unchanged references of an updated row are not re-read.
 */
async function checkParents(
  ctx: ExecContext,
  table: TableDescriptor,
  refs: readonly ParentReference[],
  row: readonly Datum[],
  oldRow: readonly Datum[] | undefined,
): Promise<void> {
  for (const ref of refs) {
    const values = ref.positions.map((p) => row[p] as Datum);
    if (values.some((v) => v === null)) continue;
    if (oldRow !== undefined && ref.positions.every((p) => sameValue(table, p, row[p] as Datum, oldRow[p] as Datum))) continue;
    const parentCodec = codecFor(ref.parent);
    const key = parentCodec.spanKey(ref.parentIndex, ref.order.map((i) => values[i] as Datum));
    const primary = ref.parentIndex.id === ref.parent.primaryIndex.id;
    const found = primary ? (await ctx.txn.get(key)) !== undefined : (await ctx.txn.scan(key, prefixEndOf(key), { maxKeys: 1 })).rows.length > 0;
    if (!found) {
      const names = ref.positions.map((p) => (table.columns[p] as ColumnDescriptor).name).join(', ');
      const shown = ref.positions.map((p) => formatValue(table, p, row[p] as Datum)).join(', ');
      throw new SqlError(SqlStates.foreignKeyViolation, `insert or update on table "${table.name}" violates foreign key constraint "${ref.name}"`, {
        detail: `Key (${names})=(${shown}) is not present in table "${ref.parent.name}".`,
      });
    }
  }
}

/**
 * A referenced row may not go away (DELETE) or change its referenced values (UPDATE)
 * while a row of another table points at it (NO ACTION / RESTRICT). Found by the child's
 * index on the referencing columns when it has one, else by scanning the child table.
 * Rows the statement itself deleted earlier are already gone from its reads.
 */
async function checkChildren(
  ctx: ExecContext,
  table: TableDescriptor,
  refs: readonly ChildReference[],
  oldRow: readonly Datum[],
  newRow: readonly Datum[] | undefined,
): Promise<void> {
  for (const ref of refs) {
    const values = ref.parentPositions.map((p) => oldRow[p] as Datum);
    if (values.some((v) => v === null)) continue;
    if (newRow !== undefined && ref.parentPositions.every((p) => sameValue(table, p, oldRow[p] as Datum, newRow[p] as Datum))) continue;
    const childCodec = codecFor(ref.child);
    let referenced = false;
    if (ref.childIndex !== undefined) {
      const key = childCodec.spanKey(ref.childIndex, ref.childOrder.map((i) => values[i] as Datum));
      referenced = (await ctx.txn.scan(key, prefixEndOf(key), { maxKeys: 1 })).rows.length > 0;
    } else {
      const types = ref.parentPositions.map((p) => (table.columns[p] as ColumnDescriptor).type);
      let from = childCodec.primaryPrefix;
      const end = prefixEndOf(from);
      while (!referenced) {
        ctx.checkCancelled();
        const page = await ctx.txn.scan(from, end, { maxKeys: 1000 });
        referenced = page.rows.some((kv) => {
          const child = childCodec.decodeRow(kv.key, kv.value);
          return ref.childPositions.every((p, i) => {
            const v = child[p] as Datum;
            return v !== null && compareDatums(types[i] as SqlType, v, values[i] as Datum) === 0;
          });
        });
        if (page.resumeSpan === undefined) break;
        from = page.resumeSpan.startKey;
      }
    }
    if (referenced) {
      const names = ref.parentPositions.map((p) => (table.columns[p] as ColumnDescriptor).name).join(', ');
      const shown = ref.parentPositions.map((p) => formatValue(table, p, oldRow[p] as Datum)).join(', ');
      throw new SqlError(SqlStates.foreignKeyViolation, `update or delete on table "${table.name}" violates foreign key constraint "${ref.name}" on table "${ref.child.name}"`, {
        detail: `Key (${names})=(${shown}) is still referenced from table "${ref.child.name}".`,
      });
    }
  }
}

/** Whether a column's value is unchanged (SQL equality; NULL is unchanged only as NULL). */
function sameValue(table: TableDescriptor, position: number, a: Datum, b: Datum): boolean {
  if (a === null || b === null) return a === b;
  return datumsEqual((table.columns[position] as ColumnDescriptor).type, a, b);
}

function checkRow(table: TableDescriptor, row: readonly Datum[], checks: readonly { name: string; expr: Compiled }[], env: EvalEnv): void {
  table.columns.forEach((col: ColumnDescriptor, i) => {
    if (!col.nullable && row[i] === null) {
      throw new SqlError(SqlStates.notNullViolation, `null value in column "${col.name}" of relation "${table.name}" violates not-null constraint`, {
        detail: `Failing row contains (${row.map((v, j) => formatValue(table, j, v)).join(', ')}).`,
      });
    }
  });
  for (const check of checks) {
    if (check.expr(row, env) === false) {
      throw new SqlError(SqlStates.checkViolation, `new row for relation "${table.name}" violates check constraint "${check.name}"`, {
        detail: `Failing row contains (${row.map((v, j) => formatValue(table, j, v)).join(', ')}).`,
      });
    }
  }
}

function uniqueViolation(table: TableDescriptor, index: IndexDescriptor, row: readonly Datum[], codec: TableCodec): SqlError {
  const cols = index.columnIds.map((id) => codec.positionOf.get(id) as number);
  const names = cols.map((p) => (table.columns[p] as ColumnDescriptor).name).join(', ');
  const values = cols.map((p) => formatValue(table, p, row[p] as Datum)).join(', ');
  return new SqlError(SqlStates.uniqueViolation, `duplicate key value violates unique constraint "${index.constraintName ?? index.name}"`, {
    detail: `Key (${names})=(${values}) already exists.`,
  });
}

function formatValue(table: TableDescriptor, position: number, value: Datum): string {
  return value === null ? 'null' : formatText((table.columns[position] as ColumnDescriptor).type, value);
}

type ReturningFn = (row: readonly Datum[], env: EvalEnv, ctx: ExecContext, outer: Outer) => Promise<Datum[]>;

function compileReturning(clause: ReturningClause | undefined): ReturningFn | undefined {
  if (clause === undefined) return undefined;
  const exprs = clause.exprs.map(compileExpr);
  return async (row, env, ctx, outer) => {
    await runSubqueries(clause.subqueries, row, env, ctx, outer);
    return exprs.map((e) => e(row, env));
  };
}
