import { SqlError, SqlStates } from '../../../common/errors';
import { prefixEndOf, sqlDescriptorKey } from '../../../common/keys';
import type { ColumnDescriptor, IndexDescriptor, ReferentialAction, TableDescriptor } from '../catalog/descriptors';
import { allIndexes } from '../catalog/descriptors';
import type { Datum } from '../types/datum';
import { castDatum, compareDatums, datumsEqual, formatText } from '../types';
import type { Compiled, EvalEnv } from '../plan/expr';
import { compileExpr } from '../plan/expr';
import type { CascadeTarget, ChildReference, DeleteNode, InsertNode, ParentReference, PlanNode, ReturningClause, UpdateNode } from '../plan/plan';
import type { ExecContext } from './context';
import { makeEnv } from './context';
import { storedDescriptorVersion } from './descriptor-check';
import { execute, lookupRows, runSubqueries } from './executor';
import type { TableCodec } from './table-codec';
import { codecFor } from './table-codec';

/**
 * INSERT / UPDATE / DELETE: rows become KV writes on the primary index and every
 * secondary index, inside the statement's transaction. Constraints are checked per row
 * (NOT NULL 23502, CHECK 23514, unique 23505). The rows of a statement are written in
 * batches: existence checks for a batch go in one multi-get.
 *
 * UPDATE and DELETE write all their rows first, then act on the rows referencing them
 * (ReferentialActions): NO ACTION / RESTRICT checks, CASCADE, SET NULL, SET DEFAULT, as
 * PostgreSQL's foreign key triggers run after the statement's own rows. RETURNING rows
 * are held until then, so a failing action fails the statement before any row is sent.
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
    const existing = await ctx.txn.getMany(keys, { forUpdate: conflict?.action === 'update' && ctx.lockReads });
    const seen = new Map<string, number>();
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as Datum[];
      const key = keys[i] as Buffer;
      const keyHex = key.toString('latin1');
      const earlier = seen.get(keyHex);
      const old = existing[i];
      const exists = old !== undefined || earlier !== undefined;
      if (!exists && node.upsert) checkRow(table, row, checks, env);
      if (!exists && (await uniqueConflict(ctx, codec, row, undefined)) === undefined) {
        // Written before its parents are checked: a row may reference itself.
        await writeRow(ctx, codec, key, row);
        await checkParents(ctx, node.table, node.foreignKeys, row, undefined);
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
      const oldKey = codec.primaryKey(oldRow);
      await replaceRow(ctx, codec, oldKey, oldRow, newRow);
      await checkParents(ctx, table, node.foreignKeys, newRow, oldRow);
      seen.set(codec.primaryKey(newRow).toString('latin1'), i);
      count++;
      if (returning !== undefined) yield await returning(newRow, env, ctx, outer);
    }
  };

  // A source that reads the table written (INSERT INTO t SELECT … FROM t) is read whole
  // first, as PostgreSQL's snapshot would see it: read while writing, it would meet the
  // rows this statement adds, and add them again.
  const input = readsTable(node.input, table.id)
    ? await readAll(node.input, ctx, outer, 'INSERT reads more rows of its own table than the gateway allows in one statement')
    : execute(node.input, ctx, outer);
  for await (const source of input) {
    const row: Datum[] = new Array<Datum>(table.columns.length).fill(null);
    targetPositions.forEach((pos, i) => {
      row[pos] = source[i] as Datum;
    });
    for (const d of defaults) row[d.position] = d.expr([], env);
    // UPSERT checks the row it leaves (CockroachDB): a column it omits keeps its value
    // when the row exists, so only a new row is checked as proposed.
    if (!node.upsert) checkRow(table, row, checks, env);
    batch.push(row);
    if (batch.length >= WRITE_BATCH_ROWS) yield* flush();
  }
  if (batch.length > 0) yield* flush();
  yield countRow(count);
}

/** Whether a plan (subqueries included) scans the table `tableId`. */
function readsTable(plan: PlanNode, tableId: number): boolean {
  const seen = new Set<object>();
  const visit = (value: unknown): boolean => {
    if (typeof value !== 'object' || value === null || seen.has(value)) return false;
    seen.add(value);
    const node = value as { k?: unknown; table?: { id?: unknown } };
    if (node.k === 'scan' && node.table?.id === tableId) return true;
    if (Array.isArray(value)) return value.some(visit);
    if (value instanceof Map) return [...value.values()].some(visit);
    if (Buffer.isBuffer(value)) return false;
    return Object.values(value).some(visit);
  };
  return visit(plan);
}

/** Every row of `plan`, within the gateway's row limit (past it, 53200 with `tooMany`). */
async function readAll(plan: PlanNode, ctx: ExecContext, outer: Outer, tooMany: string): Promise<Datum[][]> {
  // Rows by exact primary key (UPDATE … WHERE k = $1) are read without the operator
  // pipeline, as a SELECT reads them.
  const direct = outer.length === 0 ? await lookupRows(plan, ctx) : undefined;
  if (direct !== undefined) {
    if (direct.length > ctx.maxRowsInMemory) throw new SqlError(SqlStates.outOfMemory, tooMany);
    return direct;
  }
  const rows: Datum[][] = [];
  for await (const row of execute(plan, ctx, outer)) {
    if (rows.length >= ctx.maxRowsInMemory) throw new SqlError(SqlStates.outOfMemory, tooMany);
    rows.push(row);
  }
  return rows;
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
  const rows = await readAll(node.input, ctx, outer, 'UPDATE touches more rows than the gateway allows in one statement');
  const newRows: Datum[][] = [];
  const returned: Datum[][] = [];
  for (const oldRow of rows) {
    await runSubqueries(node.subqueries, oldRow, env, ctx, outer);
    const newRow = [...oldRow];
    for (const a of assignments) newRow[a.position] = a.expr(oldRow, env);
    checkRow(table, newRow, checks, env);
    const oldKey = codec.primaryKey(oldRow);
    const newKey = codec.primaryKey(newRow);
    // Unique constraints are checked row by row, as PostgreSQL does for non-deferrable ones.
    if (!newKey.equals(oldKey) && (await ctx.txn.get(newKey)) !== undefined) {
      throw uniqueViolation(table, table.primaryIndex, newRow, codec);
    }
    await replaceRow(ctx, codec, oldKey, oldRow, newRow);
    // After the write: the row may now reference itself.
    await checkParents(ctx, table, node.foreignKeys, newRow, oldRow);
    newRows.push(newRow);
    if (returning !== undefined) returned.push(await returning(newRow, env, ctx, outer));
  }
  const actions = new ReferentialActions(ctx, env, node.cascades);
  for (const [i, oldRow] of rows.entries()) {
    await actions.apply(table, node.referencedBy, oldRow, newRows[i], 0);
  }
  yield* returned;
  yield countRow(rows.length);
}

async function* remove(node: DeleteNode, ctx: ExecContext, outer: Outer): AsyncGenerator<Datum[]> {
  const codec = codecFor(node.table);
  const env = makeEnv(ctx, outer);
  const returning = compileReturning(node.returning);
  const rows = await readAll(node.input, ctx, outer, 'DELETE touches more rows than the gateway allows in one statement');
  const returned: Datum[][] = [];
  for (const row of rows) {
    await deleteRow(ctx, codec, row);
    if (returning !== undefined) returned.push(await returning(row, env, ctx, outer));
  }
  const actions = new ReferentialActions(ctx, env, node.cascades);
  for (const row of rows) {
    await actions.apply(node.table, node.referencedBy, row, undefined, 0);
  }
  yield* returned;
  yield countRow(rows.length);
}

/** Deletes a row and its index entries. */
async function deleteRow(ctx: ExecContext, codec: TableCodec, row: readonly Datum[]): Promise<void> {
  await ctx.txn.delete(codec.primaryKey(row));
  for (const index of codec.table.indexes) {
    await ctx.txn.delete(codec.indexKey(index, row));
  }
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
  const [value] = await ctx.txn.getMany([pk], { forUpdate: ctx.lockReads });
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
 * Cascades nest at most this deep (a self-referencing table goes one level per
 * generation of rows); beyond it the statement fails with 54001 rather than recursing
 * without end through a cycle of actions.
 */
export const MAX_CASCADE_DEPTH = 256;

/** Rows fetched from the child per page when looking for referencing rows. */
const CHILD_PAGE_ROWS = 256;

interface CompiledTarget {
  readonly table: TableDescriptor;
  readonly codec: TableCodec;
  readonly checks: readonly { name: string; expr: Compiled }[];
  readonly foreignKeys: readonly ParentReference[];
  readonly referencedBy: readonly ChildReference[];
  readonly defaults: ReadonlyMap<number, Compiled>;
}

/**
 * What a changed or deleted parent row does to the rows referencing it, run once the
 * statement's own rows are written (so a row the statement itself deletes or changes
 * is seen in its new state, as PostgreSQL's after-row triggers see it):
 *
 * - NO ACTION / RESTRICT: 23503 if a referencing row remains; NO ACTION lets it pass
 *   when another parent row now holds the old key (an UPDATE that swaps keys).
 * - CASCADE (DELETE): the child rows go, with their index entries, and act on their
 *   own children in turn.
 * - CASCADE (UPDATE), SET NULL, SET DEFAULT: the child rows are updated — indexes
 *   maintained, their NOT NULL, CHECK, unique and foreign key constraints checked — and
 *   their changed keys act on their own children in turn.
 *
 * Child rows are found through a child index led by the referencing columns when there
 * is one, else by scanning the child table (PostgreSQL does not require that index
 * either, and scans as well).
 */
class ReferentialActions {
  private readonly compiled = new Map<number, CompiledTarget>();
  /** Child rows written so far: a list of child rows read before it changed may be stale. */
  private writes = 0;

  constructor(
    private readonly ctx: ExecContext,
    private readonly env: EvalEnv,
    private readonly targets: ReadonlyMap<number, CascadeTarget> | undefined,
  ) {}

  /** Acts on the children of one parent row (`newRow` undefined: the row was deleted). */
  async apply(table: TableDescriptor, refs: readonly ChildReference[], oldRow: readonly Datum[], newRow: readonly Datum[] | undefined, depth: number): Promise<void> {
    for (const ref of refs) {
      const values = ref.parentPositions.map((p) => oldRow[p] as Datum);
      // MATCH SIMPLE: a key with a NULL is referenced by nobody.
      if (values.some((v) => v === null)) continue;
      if (newRow !== undefined && ref.parentPositions.every((p) => sameValue(table, p, oldRow[p] as Datum, newRow[p] as Datum))) continue;
      const action: ReferentialAction = (newRow === undefined ? ref.onDelete : ref.onUpdate) ?? 'no action';
      if (action === 'no action' || action === 'restrict') {
        await this.checkUnreferenced(table, ref, values, oldRow, action);
        continue;
      }
      const children = await referencingRows(this.ctx, table, ref, values);
      if (children.length === 0) continue;
      if (depth >= MAX_CASCADE_DEPTH) {
        throw new SqlError(SqlStates.statementTooComplex, `foreign key actions nested more than ${MAX_CASCADE_DEPTH} levels deep`, {
          detail: `Reached through foreign key constraint "${ref.name}" on table "${ref.child.name}".`,
          hint: 'A cascade through a self-referencing table goes one level deeper per generation of rows.',
        });
      }
      const target = await this.target(ref.child);
      let stale = false;
      for (const found of children) {
        const child = stale ? await this.reread(target, table, ref, values, found) : found;
        if (child === undefined) continue;
        const mark = ++this.writes;
        if (newRow === undefined && action === 'cascade') {
          await deleteRow(this.ctx, target.codec, child);
          await this.apply(target.table, target.referencedBy, child, undefined, depth + 1);
        } else {
          const changed = [...child];
          ref.childPositions.forEach((p, i) => {
            changed[p] = this.actionValue(action, target, table, ref, p, i, newRow);
          });
          await this.updateChild(target, child, changed);
          await this.apply(target.table, target.referencedBy, child, changed, depth + 1);
        }
        // A nested action may have changed or deleted rows still on the list.
        stale ||= this.writes !== mark;
      }
      if (action === 'set default') {
        // A child whose default is the key that went away was "updated" to the value it
        // had, which its own check does not look at again; as in PostgreSQL, it still
        // references the old key and fails as NO ACTION would.
        await this.checkUnreferenced(table, ref, values, oldRow, 'no action');
      }
    }
  }

  /** The value a referencing column takes: the parent's new value, NULL or the column's default. */
  private actionValue(
    action: 'cascade' | 'set null' | 'set default',
    target: CompiledTarget,
    parent: TableDescriptor,
    ref: ChildReference,
    childPosition: number,
    i: number,
    newRow: readonly Datum[] | undefined,
  ): Datum {
    const column = target.table.columns[childPosition] as ColumnDescriptor;
    switch (action) {
      case 'set null':
        return null;
      case 'set default': {
        const expr = target.defaults.get(column.id);
        return expr === undefined ? null : expr([], this.env);
      }
      case 'cascade': {
        const parentPosition = ref.parentPositions[i] as number;
        const value = (newRow as readonly Datum[])[parentPosition] as Datum;
        // As PostgreSQL's `UPDATE child SET fk = $1`: an assignment to the child's column type.
        return castDatum(value, (parent.columns[parentPosition] as ColumnDescriptor).type, column.type, 'assignment');
      }
    }
  }

  private async updateChild(target: CompiledTarget, oldRow: readonly Datum[], newRow: readonly Datum[]): Promise<void> {
    checkRow(target.table, newRow, target.checks, this.env);
    const oldKey = target.codec.primaryKey(oldRow);
    const newKey = target.codec.primaryKey(newRow);
    if (!newKey.equals(oldKey) && (await this.ctx.txn.get(newKey)) !== undefined) {
      throw uniqueViolation(target.table, target.table.primaryIndex, newRow, target.codec);
    }
    await replaceRow(this.ctx, target.codec, oldKey, oldRow, newRow);
    await checkParents(this.ctx, target.table, target.foreignKeys, newRow, oldRow);
  }

  /** The child row's current version, if it still references `values`. */
  private async reread(target: CompiledTarget, parent: TableDescriptor, ref: ChildReference, values: readonly Datum[], row: readonly Datum[]): Promise<Datum[] | undefined> {
    const key = target.codec.primaryKey(row);
    const [value] = await this.ctx.txn.getMany([key], { forUpdate: this.ctx.lockReads });
    if (value === undefined) return undefined;
    const current = target.codec.decodeRow(key, value);
    return references(parent, ref, values, current) ? current : undefined;
  }

  private async checkUnreferenced(table: TableDescriptor, ref: ChildReference, values: readonly Datum[], oldRow: readonly Datum[], action: 'no action' | 'restrict'): Promise<void> {
    if (!(await isReferenced(this.ctx, table, ref, values))) return;
    if (action === 'no action' && (await parentKeyExists(this.ctx, table, ref, values))) return;
    const names = ref.parentPositions.map((p) => (table.columns[p] as ColumnDescriptor).name).join(', ');
    const shown = ref.parentPositions.map((p) => formatValue(table, p, oldRow[p] as Datum)).join(', ');
    throw new SqlError(SqlStates.foreignKeyViolation, `update or delete on table "${table.name}" violates foreign key constraint "${ref.name}" on table "${ref.child.name}"`, {
      detail: `Key (${names})=(${shown}) is still referenced from table "${ref.child.name}".`,
    });
  }

  /**
   * The child table's plan, compiled on first use. Its descriptor is read in the
   * statement's transaction first, as the session does for the table a statement writes:
   * a schema change committed by another gateway since this one cached the descriptor
   * (an index added to the child) fails the statement rather than going unmaintained,
   * and one committing later conflicts with this read.
   */
  private async target(child: TableDescriptor): Promise<CompiledTarget> {
    let compiled = this.compiled.get(child.id);
    if (compiled === undefined) {
      const target = this.targets?.get(child.id);
      if (target === undefined) throw new SqlError(SqlStates.internalError, `no cascade plan for table "${child.name}"`);
      const raw = await this.ctx.txn.get(sqlDescriptorKey(child.id));
      if (raw === undefined || storedDescriptorVersion(child.id, raw) !== target.table.version) {
        throw new SqlError(SqlStates.serializationFailure, `table "${child.name}" was changed by a concurrent schema change`);
      }
      compiled = {
        table: target.table,
        codec: codecFor(target.table),
        checks: target.checks.map((c) => ({ name: c.name, expr: compileExpr(c.expr) })),
        foreignKeys: target.foreignKeys,
        referencedBy: target.referencedBy,
        defaults: new Map([...target.defaults].map(([id, expr]) => [id, compileExpr(expr)])),
      };
      this.compiled.set(child.id, compiled);
    }
    return compiled;
  }
}

/** Whether a child row's referencing columns equal `values` (the parent's key, in the FK's order). */
function references(parent: TableDescriptor, ref: ChildReference, values: readonly Datum[], child: readonly Datum[]): boolean {
  return ref.childPositions.every((p, i) => {
    const v = child[p] as Datum;
    const type = (parent.columns[ref.parentPositions[i] as number] as ColumnDescriptor).type;
    return v !== null && compareDatums(type, v, values[i] as Datum) === 0;
  });
}

/** Whether any child row references `values`: one index entry, or a scan that stops at the first match. */
async function isReferenced(ctx: ExecContext, parent: TableDescriptor, ref: ChildReference, values: readonly Datum[]): Promise<boolean> {
  const childCodec = codecFor(ref.child);
  if (ref.childIndex !== undefined) {
    const key = childCodec.spanKey(ref.childIndex, ref.childOrder.map((i) => values[i] as Datum));
    return (await ctx.txn.scan(key, prefixEndOf(key), { maxKeys: 1 })).rows.length > 0;
  }
  let from = childCodec.primaryPrefix;
  const end = prefixEndOf(from);
  for (;;) {
    ctx.checkCancelled();
    const page = await ctx.txn.scan(from, end, { maxKeys: 1000 });
    if (page.rows.some((kv) => references(parent, ref, values, childCodec.decodeRow(kv.key, kv.value)))) return true;
    if (page.resumeSpan === undefined) return false;
    from = page.resumeSpan.startKey;
  }
}

/**
 * The child rows referencing `values`, read for update. Held in memory until acted on
 * (the action writes the index being read), within `max_rows_in_memory`.
 */
async function referencingRows(ctx: ExecContext, parent: TableDescriptor, ref: ChildReference, values: readonly Datum[]): Promise<Datum[][]> {
  const childCodec = codecFor(ref.child);
  const rows: Datum[][] = [];
  const keep = (row: Datum[]): void => {
    if (rows.length >= ctx.maxRowsInMemory) {
      throw new SqlError(SqlStates.outOfMemory, `foreign key constraint "${ref.name}" acts on more rows of table "${ref.child.name}" than the gateway holds at once`);
    }
    rows.push(row);
  };
  const index = ref.childIndex;
  const primary = index === undefined || index.id === ref.child.primaryIndex.id;
  let from = index === undefined ? childCodec.primaryPrefix : childCodec.spanKey(index, ref.childOrder.map((i) => values[i] as Datum));
  const end = prefixEndOf(from);
  for (;;) {
    ctx.checkCancelled();
    const page = await ctx.txn.scan(from, end, { maxKeys: index === undefined ? 1000 : CHILD_PAGE_ROWS });
    if (primary) {
      for (const kv of page.rows) {
        const row = childCodec.decodeRow(kv.key, kv.value);
        if (index !== undefined || references(parent, ref, values, row)) keep(row);
      }
    } else {
      const pks = page.rows.map((kv) => childCodec.primaryKeyFromIndexKey(index, kv.key));
      const found = pks.length === 0 ? [] : await ctx.txn.getMany(pks, { forUpdate: ctx.lockReads });
      found.forEach((value, i) => {
        if (value !== undefined) keep(childCodec.decodeRow(pks[i] as Buffer, value));
      });
    }
    if (page.resumeSpan === undefined) return rows;
    from = page.resumeSpan.startKey;
  }
}

/** Whether a parent row (other than the one that changed) holds `values` now. */
async function parentKeyExists(ctx: ExecContext, parent: TableDescriptor, ref: ChildReference, values: readonly Datum[]): Promise<boolean> {
  const ids = ref.parentPositions.map((p) => (parent.columns[p] as ColumnDescriptor).id);
  const index = allIndexes(parent).find((i) => i.unique && i.columnIds.length === ids.length && i.columnIds.every((id) => ids.includes(id)));
  if (index === undefined) return false;
  const key = codecFor(parent).spanKey(index, index.columnIds.map((id) => values[ids.indexOf(id)] as Datum));
  if (index.id === parent.primaryIndex.id) return (await ctx.txn.get(key)) !== undefined;
  return (await ctx.txn.scan(key, prefixEndOf(key), { maxKeys: 1 })).rows.length > 0;
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
