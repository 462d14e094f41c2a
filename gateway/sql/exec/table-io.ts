import { prefixEndOf } from '../../../common/keys';
import type { IndexDescriptor, TableDescriptor } from '../catalog/descriptors';
import type { Datum } from '../types/datum';
import type { EvalEnv, Expr } from '../plan/expr';
import { compileExpr } from '../plan/expr';
import type { SpanPlan } from '../plan/plan';
import type { ExecContext, TableIo } from './context';
import type { TableCodec } from './table-codec';
import { codecFor, indexPrefix } from './table-codec';

/**
 * Table reads over the transaction: spans are evaluated (parameters known now) into key
 * ranges, read page by page; a secondary index's entries are joined back to their rows
 * by primary key, one batched multi-get per page.
 */

interface KeySpan {
  readonly start: Buffer;
  readonly end: Buffer;
  /** An exact primary key: read with a get, not a scan. */
  readonly exact: boolean;
}

export class KvTableIo implements TableIo {
  async *scan(
    ctx: ExecContext,
    env: EvalEnv,
    table: TableDescriptor,
    index: IndexDescriptor,
    spans: SpanPlan,
    options: { readonly reverse: boolean; readonly forUpdate: boolean; readonly batchRows: number },
  ): AsyncIterable<Datum[]> {
    const codec = codecFor(table);
    const primary = index.id === table.primaryIndex.id;
    const keySpans = evaluateSpans(table, index, spans, env);
    if (options.reverse) keySpans.reverse();
    // Exact primary keys: one multi-get for all of them.
    if (primary && isExactKeys(keySpans)) {
      yield* await this.read(ctx, codec, keySpans, options.forUpdate);
      return;
    }
    for (const span of keySpans) {
      let start = span.start;
      let end = span.end;
      for (;;) {
        ctx.checkCancelled();
        const page = options.reverse
          ? await ctx.txn.reverseScan(start, end, { maxKeys: options.batchRows })
          : await ctx.txn.scan(start, end, { maxKeys: options.batchRows });
        if (primary) {
          for (const kv of page.rows) yield codec.decodeRow(kv.key, kv.value);
        } else {
          const pks = page.rows.map((kv) => codec.primaryKeyFromIndexKey(index, kv.key));
          const values = pks.length === 0 ? [] : await ctx.txn.getMany(pks, { forUpdate: options.forUpdate && ctx.lockReads });
          for (let i = 0; i < pks.length; i++) {
            const value = values[i];
            if (value !== undefined) yield codec.decodeRow(pks[i] as Buffer, value);
          }
        }
        if (page.resumeSpan === undefined) break;
        start = page.resumeSpan.startKey;
        end = page.resumeSpan.endKey;
      }
    }
  }

  async lookup(
    ctx: ExecContext,
    env: EvalEnv,
    table: TableDescriptor,
    index: IndexDescriptor,
    spans: SpanPlan,
    options: { readonly reverse: boolean; readonly forUpdate: boolean },
  ): Promise<Datum[][] | undefined> {
    if (index.id !== table.primaryIndex.id) return undefined;
    const keySpans = evaluateSpans(table, index, spans, env);
    if (!isExactKeys(keySpans)) return undefined;
    if (options.reverse) keySpans.reverse();
    return this.read(ctx, codecFor(table), keySpans, options.forUpdate);
  }

  private async read(ctx: ExecContext, codec: TableCodec, keySpans: readonly KeySpan[], forUpdate: boolean): Promise<Datum[][]> {
    const values = await ctx.txn.getMany(
      keySpans.map((s) => s.start),
      { forUpdate: forUpdate && ctx.lockReads },
    );
    const rows: Datum[][] = [];
    for (let i = 0; i < keySpans.length; i++) {
      const value = values[i];
      if (value !== undefined) rows.push(codec.decodeRow((keySpans[i] as KeySpan).start, value));
    }
    return rows;
  }
}

/** Key spans for a span plan, sorted and without duplicates. */
export function evaluateSpans(table: TableDescriptor, index: IndexDescriptor, spans: SpanPlan, env: EvalEnv): KeySpan[] {
  const codec = codecFor(table);
  const prefix = indexPrefix(table.id, index.id);
  const evaluate = (values: readonly Expr[]): Datum[] => values.map((e) => compileExpr(e)([], env));
  switch (spans.kind) {
    case 'full':
      return [{ start: prefix, end: prefixEndOf(prefix), exact: false }];
    case 'points': {
      const exactLength = index.id === table.primaryIndex.id ? index.columnIds.length : -1;
      const out: KeySpan[] = [];
      for (const point of spans.points) {
        const values = evaluate(point);
        // `col = NULL` matches nothing.
        if (values.some((v) => v === null)) continue;
        const key = codec.spanKey(index, values);
        out.push(values.length === exactLength ? { start: key, end: key, exact: true } : { start: key, end: prefixEndOf(key), exact: false });
      }
      out.sort((a, b) => Buffer.compare(a.start, b.start));
      return out.filter((s, i) => i === 0 || !s.start.equals((out[i - 1] as KeySpan).start));
    }
    case 'range': {
      const lowerValues = spans.lower === undefined ? [] : evaluate(spans.lower.values);
      const upperValues = spans.upper === undefined ? [] : evaluate(spans.upper.values);
      if (lowerValues.some((v) => v === null) || upperValues.some((v) => v === null)) return [];
      const lowerKey = codec.spanKey(index, lowerValues);
      const upperKey = codec.spanKey(index, upperValues);
      const start = spans.lower === undefined || spans.lower.inclusive ? lowerKey : prefixEndOf(lowerKey);
      const end = spans.upper === undefined || spans.upper.inclusive ? prefixEndOf(upperKey) : upperKey;
      return Buffer.compare(start, end) < 0 ? [{ start, end, exact: false }] : [];
    }
  }
}

function isExactKeys(spans: readonly KeySpan[]): boolean {
  return spans.length > 0 && spans.every((s) => s.exact);
}
