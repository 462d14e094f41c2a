import type * as pb from '../proto/gen/cairn/kv/v1/kv';

/** Requests sent together at most (a batch's piece per range is one Raft command). */
const MAX_REQUESTS_PER_BATCH = 256;

/**
 * Non-transactional requests that need no answer soon, gathered over a turn of the
 * event loop and sent as one batch: DistSender gives each range one piece, so requests
 * of many transactions (the records of their parallel commits made COMMITTED, say)
 * cost one Raft command per range instead of one each.
 */
export class RequestCoalescer {
  private queued: { request: pb.RequestUnion; resolve: (r: pb.ResponseUnion | undefined) => void; reject: (err: unknown) => void }[] = [];
  private scheduled = false;
  /** Batches sent and not yet answered. */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly send: (requests: pb.RequestUnion[]) => Promise<pb.ResponseUnion[]>) {}

  /** Resolves with the request's answer; rejects when its batch failed (each of its requests then did or did not apply). */
  add(request: pb.RequestUnion): Promise<pb.ResponseUnion | undefined> {
    return new Promise((resolve, reject) => {
      this.queued.push({ request, resolve, reject });
      if (this.queued.length >= MAX_REQUESTS_PER_BATCH) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /**
   * Sends what is queued now and resolves once every batch sent has been answered (or
   * has failed): a client closing its connections lets the work its callers did not
   * wait for (a parallel commit's record made COMMITTED) reach the nodes first, rather
   * than leave it to whoever meets the intents after the transaction expires.
   */
  async drain(): Promise<void> {
    this.flush();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queued;
    this.queued = [];
    if (batch.length === 0) return;
    const sent = this.send(batch.map((q) => q.request)).then(
      (responses) => batch.forEach((q, i) => q.resolve(responses[i])),
      (err: unknown) => batch.forEach((q) => q.reject(err)),
    );
    this.inFlight.add(sent);
    void sent.finally(() => this.inFlight.delete(sent));
  }
}
