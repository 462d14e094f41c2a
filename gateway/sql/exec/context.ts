import type { TxnLike } from '../catalog/catalog';
import type { TableDescriptor, IndexDescriptor } from '../catalog/descriptors';
import type { Datum } from '../types/datum';
import type { EvalContext, EvalEnv } from '../plan/expr';
import type { SpanPlan, VirtualContext } from '../plan/plan';

/** What a running statement has at hand. */
export interface ExecContext {
  readonly txn: TxnLike;
  readonly params: readonly Datum[];
  readonly evalCtx: EvalContext;
  readonly tables: TableIo;
  /** Throws 57014 once the statement was cancelled or ran past its timeout. */
  readonly checkCancelled: () => void;
  /** Rows a blocking operator (sort, hash, aggregate, distinct) may hold in memory. */
  readonly maxRowsInMemory: number;
  readonly virtual: VirtualContext;
  /**
   * Whether reads of rows the statement will write lock them (FOR UPDATE). In a
   * client's transaction, yes: waiting beats a retry the client must run. In a
   * statement's own transaction, no: the lock would cost a Raft round of its own, and a
   * conflict is retried inside the gateway.
   */
  readonly lockReads: boolean;
  /** Materialised WITH queries of this execution. */
  readonly ctes: Map<number, Datum[][]>;
}

/** Reading and writing table rows in KV (exec/table-io.ts). */
export interface TableIo {
  /** Rows of the table in index order within the spans, as full table rows. */
  scan(
    ctx: ExecContext,
    env: EvalEnv,
    table: TableDescriptor,
    index: IndexDescriptor,
    spans: SpanPlan,
    options: { readonly reverse: boolean; readonly forUpdate: boolean; readonly batchRows: number },
  ): AsyncIterable<Datum[]>;
  /**
   * The rows at the spans' primary keys, in the order `scan` gives them, read in one
   * multi-get; undefined (nothing read) unless the index is the primary one and every
   * span is an exact key.
   */
  lookup(
    ctx: ExecContext,
    env: EvalEnv,
    table: TableDescriptor,
    index: IndexDescriptor,
    spans: SpanPlan,
    options: { readonly reverse: boolean; readonly forUpdate: boolean },
  ): Promise<Datum[][] | undefined>;
}

export function makeEnv(ctx: ExecContext, outer: readonly (readonly Datum[])[]): EvalEnv {
  return { params: ctx.params, outer, subqueries: [], ctx: ctx.evalCtx };
}
