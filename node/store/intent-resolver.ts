import type { Logger } from '../../common/logging';
import type { KvClient } from '../../kv';
import { isPointSpan, shortTxnId, txnMeta } from '../../kv/transaction';
import type * as kvpb from '../../proto/gen/cairn/kv/v1/kv';
import type { PendingResolution } from '../replica/evaluate-batch';

/** Resolutions running at once; more wait their turn. */
const MAX_IN_FLIGHT = 16;
/** Queued resolutions beyond this are dropped: whoever meets those intents resolves them. */
const MAX_QUEUED = 10_000;
const ATTEMPTS = 5;

/**
 * Resolves, in the background, the intents a finalized transaction left on ranges
 * other than its anchor, then removes its record. Best effort: a resolution that keeps
 * failing is given up (logged), since any reader or writer that meets one of those
 * intents pushes the transaction, finds the record, and resolves the intent itself.
 */
export class IntentResolver {
  private readonly queue: PendingResolution[] = [];
  private inFlight = 0;
  private stopped = false;
  private resolvedTotal = 0;

  constructor(
    private readonly kv: () => KvClient | undefined,
    private readonly log: Logger,
  ) {}

  enqueue(pending: PendingResolution): void {
    if (this.stopped) return;
    if (this.queue.length >= MAX_QUEUED) {
      this.log.warn({ txn: shortTxnId(txnMeta(pending.txn).id) }, 'intent resolution queue full; leaving intents to be resolved on contact');
      return;
    }
    this.queue.push(pending);
    this.pump();
  }

  /** Intents resolved since start (for metrics and tests). */
  get resolved(): number {
    return this.resolvedTotal;
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
      const next = this.queue.shift() as PendingResolution;
      this.inFlight++;
      void this.resolve(next).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async resolve(pending: PendingResolution): Promise<void> {
    const meta = txnMeta(pending.txn);
    const requests: kvpb.RequestUnion[] = pending.spans.map((span) =>
      isPointSpan(span)
        ? { request: { $case: 'resolveIntent', value: { key: span.startKey, txn: pending.txn } } }
        : { request: { $case: 'resolveIntentRange', value: { startKey: span.startKey, endKey: span.endKey, txn: pending.txn } } },
    );
    for (let attempt = 1; attempt <= ATTEMPTS && !this.stopped; attempt++) {
      const kv = this.kv();
      if (kv === undefined) return;
      try {
        await kv.batch(requests);
        this.resolvedTotal += requests.length;
        await kv.batch([{ request: { $case: 'gcTxnRecord', value: { key: meta.anchorKey, txnId: meta.id } } }]);
        return;
      } catch (err) {
        if (attempt === ATTEMPTS) {
          this.log.warn({ err, txn: shortTxnId(meta.id) }, 'could not resolve a finished transaction\'s intents; they will be resolved on contact');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
      }
    }
  }
}
