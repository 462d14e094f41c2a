import type { Logger } from '../../common/logging';
import type { prometheus } from '../../common/metrics';
import { isPointSpan, shortTxnId, txnMeta } from '../../kv/transaction';
import type * as kvpb from '../../proto/gen/cairn/kv/v1/kv';
import type { PendingResolution } from '../replica/evaluate-batch';

/** Batches in flight at once, per stage (resolution, record removal); more work waits its turn. */
const MAX_IN_FLIGHT = 4;
/** Finished transactions resolved together in one batch (one Raft command per range). */
const MAX_PER_BATCH = 256;
/** Records removed together in one batch. */
const MAX_RECORDS_PER_BATCH = 1024;
/** Queued resolutions beyond this are dropped: whoever meets those intents resolves them. */
const MAX_QUEUED = 10_000;
const ATTEMPTS = 5;
/** Resolve requests in one batch (a command per range, each of bounded size). */
const MAX_REQUESTS_PER_BATCH = 512;
/** The wait before the second attempt; it doubles for each one after. */
const DEFAULT_RETRY_DELAY_MS = 200;
/**
 * How long a finished transaction waits for others to share its resolution batch. An
 * intent left this much longer is met a little more often; resolutions of one
 * transaction at a time cost the nodes a batch, a command and its fsyncs each.
 */
const DEFAULT_BATCH_WAIT_MS = 10;
/**
 * How long a resolved transaction's record waits for others to share its removal:
 * nothing is blocked by a finalized record whose intents are gone.
 */
const DEFAULT_RECORD_BATCH_WAIT_MS = 100;

/** What the resolver needs of a KV client: batches sent wherever their keys live. */
export interface ResolutionSender {
  batch(requests: kvpb.RequestUnion[]): Promise<kvpb.ResponseUnion[]>;
}

/** How finished transactions left the resolver. */
type ResolutionOutcome = 'resolved' | 'gave_up' | 'dropped';

export interface IntentResolverMetrics {
  /** Intents (points and spans) resolved. */
  readonly intentsResolved: prometheus.Counter;
  /** Finished transactions by outcome. */
  readonly txns: prometheus.Counter<'outcome'>;
}

export interface IntentResolverOptions {
  readonly metrics?: IntentResolverMetrics;
  /** The wait before the second attempt (default 200 ms); it doubles for each one after. */
  readonly retryDelayMs?: number;
  /** How long a finished transaction waits for others to share its resolution batch (default 10 ms; 0: the rest of this turn of the event loop). */
  readonly batchWaitMs?: number;
  /** How long a resolved transaction's record waits for others to share its removal (default 100 ms; 0: the rest of this turn). */
  readonly recordBatchWaitMs?: number;
}

/**
 * A stage of the resolver: work gathered for a while (or until a batch is full), then
 * handed out in batches, a bounded number in flight.
 */
class BatchingQueue<T> {
  private readonly items: T[] = [];
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private readonly idleWaiters: (() => void)[] = [];
  private batchesInFlight = 0;
  private itemsInFlight = 0;
  private stopped = false;

  constructor(
    private readonly waitMs: number,
    private readonly maxPerBatch: number,
    private readonly process: (batch: T[]) => Promise<void>,
  ) {}

  get length(): number {
    return this.items.length;
  }

  /** Items queued or in a batch being processed. */
  get pending(): number {
    return this.items.length + this.itemsInFlight;
  }

  push(items: readonly T[]): void {
    if (this.stopped || items.length === 0) return;
    this.items.push(...items);
    if (this.items.length >= this.maxPerBatch) this.flush();
    else if (this.timer === undefined) {
      this.timer = this.waitMs > 0 ? setTimeout(() => this.flush(), this.waitMs) : setImmediate(() => this.flush());
    }
  }

  stop(): void {
    this.stopped = true;
    this.items.length = 0;
    this.clearTimer();
    this.notifyIdle();
  }

  /** Sends what is queued without waiting further; resolves once nothing is queued or in flight. */
  drain(): Promise<void> {
    this.flush();
    if (this.pending === 0 || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private notifyIdle(): void {
    if (this.pending > 0 && !this.stopped) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private clearTimer(): void {
    if (this.timer === undefined) return;
    if (this.waitMs > 0) clearTimeout(this.timer as NodeJS.Timeout);
    else clearImmediate(this.timer as NodeJS.Immediate);
    this.timer = undefined;
  }

  private flush(): void {
    this.clearTimer();
    while (!this.stopped && this.batchesInFlight < MAX_IN_FLIGHT && this.items.length > 0) {
      const batch = this.items.splice(0, this.maxPerBatch);
      this.batchesInFlight++;
      this.itemsInFlight += batch.length;
      void this.process(batch).finally(() => {
        this.batchesInFlight--;
        this.itemsInFlight -= batch.length;
        this.flush();
        this.notifyIdle();
      });
    }
  }
}

/**
 * Resolves, in the background, the intents finished transactions left on ranges other
 * than their anchor, then removes their records. Transactions that finish close
 * together (within `batchWaitMs`) are resolved together: one batch carries all their
 * resolutions (DistSender gives each range one piece, so one Raft command). Their
 * records go later still, gathered over `recordBatchWaitMs` into batches of their own,
 * since a finalized record whose intents are resolved blocks no one. Best effort: a
 * resolution that keeps failing is given up (logged), since any reader or writer that
 * meets one of those intents pushes the transaction, finds the record, and resolves
 * the intent itself.
 */
export class IntentResolver {
  private readonly resolutions: BatchingQueue<PendingResolution>;
  private readonly removals: BatchingQueue<kvpb.GcTxnRecordRequest>;
  private stopped = false;

  constructor(
    private readonly kv: () => ResolutionSender | undefined,
    private readonly log: Logger,
    private readonly options: IntentResolverOptions = {},
  ) {
    this.resolutions = new BatchingQueue(options.batchWaitMs ?? DEFAULT_BATCH_WAIT_MS, MAX_PER_BATCH, (group) => this.resolve(group));
    this.removals = new BatchingQueue(options.recordBatchWaitMs ?? DEFAULT_RECORD_BATCH_WAIT_MS, MAX_RECORDS_PER_BATCH, (records) =>
      this.removeRecords(records),
    );
  }

  enqueue(pending: PendingResolution): void {
    if (this.stopped) return;
    if (this.resolutions.length >= MAX_QUEUED) {
      this.countTxns('dropped', 1);
      this.log.warn({ txn: shortTxnId(txnMeta(pending.txn).id) }, 'intent resolution queue full; leaving intents to be resolved on contact');
      return;
    }
    this.resolutions.push([pending]);
  }

  /** Finished transactions whose intents or record are still to go (queued or in flight). */
  get pending(): number {
    return this.resolutions.pending + this.removals.pending;
  }

  /**
   * Resolves what is queued now, then removes the records, without the batching waits
   * (a node shutting down, its KV client still up); resolves once done or given up.
   */
  async drain(): Promise<void> {
    await this.resolutions.drain();
    await this.removals.drain();
  }

  stop(): void {
    this.stopped = true;
    this.resolutions.stop();
    this.removals.stop();
  }

  private async resolve(group: readonly PendingResolution[]): Promise<void> {
    const resolutions: kvpb.RequestUnion[] = [];
    const records: kvpb.GcTxnRecordRequest[] = [];
    for (const { txn: record, spans, keepRecord } of group) {
      // Resolving needs the status and timestamps, not the record's list of spans, which
      // would otherwise travel once per span.
      const txn: kvpb.Transaction = { ...record, lockSpans: [] };
      for (const span of spans) {
        resolutions.push(
          isPointSpan(span)
            ? { request: { $case: 'resolveIntent', value: { key: span.startKey, txn } } }
            : { request: { $case: 'resolveIntentRange', value: { startKey: span.startKey, endKey: span.endKey, txn } } },
        );
      }
      if (keepRecord === true) continue;
      const meta = txnMeta(txn);
      records.push({ key: meta.anchorKey, txnId: meta.id });
    }
    const resolved = await this.withRetries(
      group.map((p) => txnMeta(p.txn).id),
      "could not resolve finished transactions' intents; they will be resolved on contact",
      (kv) => this.resolveAll(kv, resolutions),
    );
    if (!resolved) return;
    this.options.metrics?.intentsResolved.inc(resolutions.length);
    this.countTxns('resolved', group.length - records.length);
    // Only now, with every intent resolved, may the records go.
    this.removals.push(records);
  }

  private async removeRecords(records: readonly kvpb.GcTxnRecordRequest[]): Promise<void> {
    const removed = await this.withRetries(
      records.map((r) => r.txnId),
      "could not remove finished transactions' records",
      (kv) => kv.batch(records.map((value) => ({ request: { $case: 'gcTxnRecord', value } }))),
    );
    if (removed) this.countTxns('resolved', records.length);
  }

  /** Runs `send` until it succeeds, at most ATTEMPTS times; false if it gave up (or stopped). */
  private async withRetries(txnIds: readonly Buffer[], failure: string, send: (kv: ResolutionSender) => Promise<unknown>): Promise<boolean> {
    for (let attempt = 1; attempt <= ATTEMPTS && !this.stopped; attempt++) {
      const kv = this.kv();
      if (kv === undefined) return false;
      try {
        await send(kv);
        return true;
      } catch (err) {
        if (attempt === ATTEMPTS) {
          this.countTxns('gave_up', txnIds.length);
          this.log.warn({ err, txns: txnIds.map((id) => shortTxnId(id)) }, failure);
          return false;
        }
        await new Promise((resolve) => setTimeout(resolve, (this.options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS) * 2 ** (attempt - 1)));
      }
    }
    return false;
  }

  private countTxns(outcome: ResolutionOutcome, count: number): void {
    if (count > 0) this.options.metrics?.txns.inc({ outcome }, count);
  }

  /**
   * Sends the resolutions a bounded number at a time, and sends again what a range left
   * for later (a ResolveIntentRange stops at its command's budget with a resume span).
   */
  private async resolveAll(kv: ResolutionSender, resolutions: readonly kvpb.RequestUnion[]): Promise<void> {
    let pending = resolutions;
    while (pending.length > 0 && !this.stopped) {
      const chunk = pending.slice(0, MAX_REQUESTS_PER_BATCH);
      const responses = await kv.batch(chunk);
      const resumed: kvpb.RequestUnion[] = [];
      chunk.forEach((union, i) => {
        const response = responses[i]?.response;
        if (union.request?.$case !== 'resolveIntentRange' || response?.$case !== 'resolveIntentRange') return;
        const resume = response.value.resumeSpan;
        if (resume === undefined) return;
        resumed.push({ request: { $case: 'resolveIntentRange', value: { ...union.request.value, startKey: resume.startKey, endKey: resume.endKey } } });
      });
      pending = [...resumed, ...pending.slice(MAX_REQUESTS_PER_BATCH)];
    }
  }
}
