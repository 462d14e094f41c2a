import type { Logger } from '../../common/logging';
import type { prometheus } from '../../common/metrics';
import { isPointSpan, shortTxnId, txnMeta } from '../../kv/transaction';
import type * as kvpb from '../../proto/gen/cairn/kv/v1/kv';
import type { PendingResolution } from '../replica/evaluate-batch';

/** Resolution batches in flight at once; more finished transactions wait their turn. */
const MAX_IN_FLIGHT = 4;
/** Finished transactions resolved together in one batch (one Raft command per range). */
const MAX_PER_BATCH = 256;
/** Queued resolutions beyond this are dropped: whoever meets those intents resolves them. */
const MAX_QUEUED = 10_000;
const ATTEMPTS = 5;
/** Resolve requests in one batch (a command per range, each of bounded size). */
const MAX_REQUESTS_PER_BATCH = 512;
/** The wait before the second attempt; it doubles for each one after. */
const DEFAULT_RETRY_DELAY_MS = 200;

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
}

/**
 * Resolves, in the background, the intents finished transactions left on ranges other
 * than their anchor, then removes their records. Transactions that finish close
 * together are resolved together: one batch carries all their resolutions (DistSender
 * gives each range one piece, so one Raft command), and one more removes their records.
 * Best effort: a resolution that keeps failing is given up (logged), since any reader
 * or writer that meets one of those intents pushes the transaction, finds the record,
 * and resolves the intent itself.
 */
export class IntentResolver {
  private readonly queue: PendingResolution[] = [];
  private inFlight = 0;
  private stopped = false;

  constructor(
    private readonly kv: () => ResolutionSender | undefined,
    private readonly log: Logger,
    private readonly options: IntentResolverOptions = {},
  ) {}

  enqueue(pending: PendingResolution): void {
    if (this.stopped) return;
    if (this.queue.length >= MAX_QUEUED) {
      this.countTxns('dropped', 1);
      this.log.warn({ txn: shortTxnId(txnMeta(pending.txn).id) }, 'intent resolution queue full; leaving intents to be resolved on contact');
      return;
    }
    this.queue.push(pending);
    // Let the transactions finishing in this turn of the event loop join the batch.
    if (this.queue.length === 1) setImmediate(() => this.pump());
  }

  get pending(): number {
    return this.queue.length + this.inFlight;
  }

  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
  }

  private pump(): void {
    while (!this.stopped && this.inFlight < MAX_IN_FLIGHT && this.queue.length > 0) {
      const group = this.queue.splice(0, MAX_PER_BATCH);
      this.inFlight++;
      void this.resolve(group).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async resolve(group: readonly PendingResolution[]): Promise<void> {
    const resolutions: kvpb.RequestUnion[] = [];
    const records: kvpb.RequestUnion[] = [];
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
      records.push({ request: { $case: 'gcTxnRecord', value: { key: meta.anchorKey, txnId: meta.id } } });
    }
    for (let attempt = 1; attempt <= ATTEMPTS && !this.stopped; attempt++) {
      const kv = this.kv();
      if (kv === undefined) return;
      try {
        await this.resolveAll(kv, resolutions);
        this.options.metrics?.intentsResolved.inc(resolutions.length);
        // Resolved: a retry only removes the records.
        resolutions.length = 0;
        // Only once every intent is resolved may the records go.
        if (records.length > 0) await kv.batch(records);
        this.countTxns('resolved', group.length);
        return;
      } catch (err) {
        if (attempt === ATTEMPTS) {
          this.countTxns('gave_up', group.length);
          this.log.warn(
            { err, txns: group.map((p) => shortTxnId(txnMeta(p.txn).id)) },
            "could not resolve finished transactions' intents; they will be resolved on contact",
          );
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, (this.options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS) * 2 ** (attempt - 1)));
      }
    }
  }

  private countTxns(outcome: ResolutionOutcome, count: number): void {
    this.options.metrics?.txns.inc({ outcome }, count);
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
