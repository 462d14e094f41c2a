import type { Logger } from '../../../common/logging';
import { droppedDataIndexId, droppedDataTableId, prefixEndOf, SQL_DROPPED_DATA_SPAN, sqlDroppedDataKey, sqlDroppedIndexKey } from '../../../common/keys';
import type { KvClient } from '../../../kv';
import { indexPrefix, tableSpan } from '../exec/table-codec';
import type { TxnLike } from './catalog';

/*
 * DROP TABLE removes the descriptor and the name in its transaction and leaves a job
 * record for the rows (CockroachDB clears dropped tables by a job, too). Deleting every
 * row inside the DROP's transaction cost a tombstone intent per row and their
 * resolution: minutes for a table of 100 000s of rows. Once the DROP commits no
 * statement can name the table (descriptor IDs are never reused), so the rows are
 * cleared afterwards, outside any transaction, a page per command, and the record goes
 * last. Any gateway clears any record it finds, so one that dies part way is finished by
 * another or by itself after a restart; clearing twice is harmless.
 *
 * An index that no descriptor names any more goes the same way (DROP INDEX, and the
 * old primary index that ADD PRIMARY KEY replaces): index IDs are never reused within
 * a table either.
 */

/** Records, in the dropping transaction, that the table's rows are to be cleared once it commits. */
export async function recordDroppedData(txn: TxnLike, tableId: number): Promise<void> {
  await txn.put(sqlDroppedDataKey(tableId), droppedRecord());
}

/** Records, in the transaction that stops using it, that an index's entries are to be cleared once it commits. */
export async function recordDroppedIndex(txn: TxnLike, tableId: number, indexId: number): Promise<void> {
  await txn.put(sqlDroppedIndexKey(tableId, indexId), droppedRecord());
}

function droppedRecord(): Buffer {
  return Buffer.from(JSON.stringify({ droppedAt: new Date().toISOString() }));
}

/** What a dropped-data record names: a table's span, or one index's. */
interface DroppedSpan {
  /** For the logs. */
  readonly what: { readonly tableId: number; readonly indexId?: number };
  readonly startKey: Buffer;
  readonly endKey: Buffer;
}

function droppedSpan(recordKey: Uint8Array): DroppedSpan {
  const tableId = droppedDataTableId(recordKey);
  const indexId = droppedDataIndexId(recordKey);
  if (indexId === undefined) return { what: { tableId }, ...tableSpan(tableId) };
  const startKey = indexPrefix(tableId, indexId);
  return { what: { tableId, indexId }, startKey, endKey: prefixEndOf(startKey) };
}

/**
 * Keys deleted per DeleteRange (here, and by DDL inside a transaction): each page is one
 * Raft command, which must stay well under the entry limit.
 */
export const DELETE_PAGE_KEYS = 1_000;

/** How often a gateway looks for records left by others (a DROP here looks at once). */
const DEFAULT_POLL_MS = 30_000;

export interface DroppedDataCollectorOptions {
  readonly kv: KvClient;
  readonly log: Logger;
  readonly pollMs?: number;
}

export class DroppedDataCollector {
  private readonly timer: NodeJS.Timeout;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;

  constructor(private readonly options: DroppedDataCollectorOptions) {
    this.timer = setInterval(() => this.nudge(), options.pollMs ?? DEFAULT_POLL_MS);
    this.timer.unref();
  }

  /** Looks for records now (after a DROP committed here); resolves once none it found is left. */
  nudge(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    this.running = this.collect()
      .catch((err: unknown) => this.options.log.warn({ err }, 'clearing the rows of dropped tables failed; will try again'))
      .finally(() => {
        this.running = undefined;
        if (this.again && !this.closed) {
          this.again = false;
          void this.nudge();
        }
      });
    return this.running;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
  }

  private async collect(): Promise<void> {
    const { kv, log } = this.options;
    for (;;) {
      const { rows } = await kv.scan(SQL_DROPPED_DATA_SPAN.startKey, SQL_DROPPED_DATA_SPAN.endKey, { maxKeys: 100 });
      if (rows.length === 0) return;
      for (const row of rows) {
        if (this.closed) return;
        const span = droppedSpan(row.key);
        const started = performance.now();
        const cleared = await this.clear(span);
        // Closed part way: the record stays for the next run.
        if (cleared === undefined) return;
        await kv.delete(row.key);
        log.info({ ...span.what, rows: cleared, ms: Math.round(performance.now() - started) }, span.what.indexId === undefined ? 'cleared the rows of a dropped table' : 'cleared the entries of a dropped index');
      }
    }
  }

  /** Deletes every key of the span, page by page; returns how many were live (undefined: closed first). */
  private async clear(span: DroppedSpan): Promise<number | undefined> {
    let from = span.startKey;
    let cleared = 0;
    let pages = 0;
    for (;;) {
      if (this.closed) return undefined;
      const pageStarted = performance.now();
      const [response] = await this.options.kv.batch([{ request: { $case: 'deleteRange', value: { startKey: from, endKey: span.endKey } } }], {
        maxKeys: DELETE_PAGE_KEYS,
      });
      const result = response?.response?.$case === 'deleteRange' ? response.response.value : undefined;
      cleared += Number(result?.deletedCount ?? 0);
      if (result?.resumeSpan === undefined) break;
      from = result.resumeSpan.startKey;
      if (++pages % 100 === 0) this.options.log.info({ ...span.what, rows: cleared }, 'clearing what was dropped');
      // Background work: rest as long as the page took, leaving the cluster at least
      // half of its time for statements.
      await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, performance.now() - pageStarted)));
    }
    return cleared;
  }
}
