import { AssertionFailedError, assert, CairnError, InvalidArgumentError } from '../common/errors';
import type { Timestamp } from '../common/hlc';
import type { RecordedSpan, Span } from '../common/tracing';
import { NO_SPAN, SpanKind, endSpan, startChildSpan, traceparentOf } from '../common/tracing';
import { compareTimestamps } from '../common/hlc';
import {
  isAddressedByFirstRange,
  KEY_MAX,
  KEY_MIN,
  META_END,
  META2_PREFIX,
  metaLookupEnd,
  metaLookupKey,
  prettyKey,
  rangeMetaKey,
} from '../common/keys';
import * as pb from '../proto/gen/cairn/kv/v1/kv';
import type { IndexedRequest, PartialResponse } from './batch-split';
import {
  combineResponses,
  countTowardLimits,
  isEmptyRequest,
  isSpanRequest,
  nextKey,
  previousEnd,
  requestSpan,
  resumeSpanOf,
  truncateBatch,
  unreadResponse,
  validateBatch,
} from './batch-split';
import {
  AmbiguousResultError,
  DeadlineExceededError,
  errorFromProto,
  NodeUnavailableError,
  NotLeaseholderError,
  OperationCancelledError,
  RangeKeyMismatchError,
  RangeNotFoundError,
  UnavailableError,
} from './errors';
import type { KvTransport } from './kv-transport';
import type { InterruptSignal } from './interrupt';
import type { RangeCacheEntry } from './range-cache';
import { RangeCache } from './range-cache';
import { RequestCoalescer } from './request-coalescer';

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** How long close() waits for work in the background and coalesced requests in flight. */
const CLOSE_DRAIN_MS = 2_000;

/** A batch's options: kv.proto's BatchHeader less the range ID, which DistSender fills in. */
export interface KvBatchHeader {
  /** Read timestamp; unset means "now" on each leaseholder's clock. */
  readonly timestamp?: Timestamp;
  /** Limits over the batch's Scan, ReverseScan and DeleteRange requests together; 0 = none. */
  readonly maxKeys?: number;
  readonly maxBytes?: number;
  /** Give up at this Unix time (ms)... */
  readonly deadlineUnixMs?: number;
  /** ...or this long from now, whichever is sooner (default: the sender's request timeout). */
  readonly timeoutMs?: number;
  /** The transaction the batch belongs to (kv.proto's BatchHeader.txn). */
  readonly txn?: pb.Transaction;
  /** The transaction has read nothing: a pushed write may move its read timestamp along. */
  readonly canForwardReadTimestamp?: boolean;
  /**
   * A read-only batch at `timestamp` that the nearest replica may serve once its closed
   * timestamp reaches it (kv.proto's BatchHeader.follower_read).
   */
  readonly followerRead?: boolean;
  /** Read committed values, stepping over intents without waiting (range lookups). */
  readonly inconsistent?: boolean;
  /** The caller's span: the batch is traced as its child (`kv.batch`, a `kv.rpc` per range asked). */
  readonly trace?: Span;
  /**
   * Gives up as soon as it aborts, with OperationCancelledError: answers still on their
   * way are dropped, and a write among them may still land on its range.
   */
  readonly signal?: InterruptSignal;
  /**
   * The caller records the trace (SHOW TRACE FOR SESSION): the nodes send back the spans
   * they made for the batch, handed to this as each answer comes.
   */
  readonly onTraceRecording?: ((spans: readonly RecordedSpan[]) => void) | undefined;
}

export interface KvBatchResult {
  /** One per request, in request order. */
  readonly responses: pb.ResponseUnion[];
  /** The latest timestamp any range read or wrote the batch at. */
  readonly timestamp: Timestamp | undefined;
  /** The header's transaction as the ranges left it (the highest write timestamp). */
  readonly txn: pb.Transaction | undefined;
}

export interface DistSenderOptions {
  /** Owned by the DistSender: closed with it. */
  readonly transport: KvTransport;
  /** Where to ask for ClusterInfo before any node is known (host:port). */
  readonly bootstrapAddresses: readonly string[];
  /**
   * Where this client runs (`region`, `zone`, ... tiers): follower reads go to the
   * replica whose node shares the most leading tiers with it.
   */
  readonly locality?: readonly pb.LocalityTier[];
  /** How long a batch may take, retries included (default 10 s). */
  readonly requestTimeoutMs?: number;
  /** Retry back-off: starts here, doubles, with jitter (default 10 ms)... */
  readonly backoffInitialMs?: number;
  /** ...up to this (default 1 s). */
  readonly backoffMaxMs?: number;
  /** Unix milliseconds; injected for tests. */
  readonly now?: () => number;
  /** In [0, 1); the back-off's jitter. */
  readonly random?: () => number;
  readonly onEvent?: (event: DistSenderEvent) => void;
}

/** What DistSender tells an optional observer (for logs and metrics). */
export type DistSenderEvent =
  | { readonly kind: 'rangeLookup'; readonly key: Buffer; readonly reverse: boolean; readonly desc: pb.RangeDescriptor }
  | { readonly kind: 'clusterInfo'; readonly address: string; readonly nodeCount: number }
  | { readonly kind: 'replicaError'; readonly rangeId: number; readonly nodeId: number; readonly error: CairnError }
  | {
      readonly kind: 'retry';
      readonly rangeId: number | undefined;
      readonly attempt: number;
      readonly delayMs: number;
      readonly error: CairnError;
    };

/** One batch on its way: its deadline, and whether a sibling piece already failed it. */
interface SendContext {
  readonly deadlineUnixMs: number;
  readonly timeoutMs: number;
  readonly timestamp: Timestamp | undefined;
  readonly canForwardReadTimestamp: boolean;
  readonly followerRead: boolean;
  readonly inconsistent: boolean;
  /** The batch's transaction, as updated by the pieces answered so far. */
  txn: pb.Transaction | undefined;
  aborted: boolean;
  latestTimestamp: Timestamp | undefined;
  /** The batch's `kv.batch` span (NO_SPAN when its trace is not sampled). */
  readonly span: Span;
  readonly signal: InterruptSignal | undefined;
  /** The batch commits a transaction: none of its pieces may be sent twice (see sendToReplicas). */
  readonly commits: boolean;
  /** Requests still on their way when `signal` aborted. */
  readonly abandoned: Promise<unknown>[];
  readonly onTraceRecording: ((spans: readonly RecordedSpan[]) => void) | undefined;
}

/** How asking a range's replicas ended. */
type ReplicaOutcome =
  | { readonly kind: 'ok'; readonly response: pb.BatchResponse }
  /** The node knows better descriptors: update the cache and divide again. */
  | { readonly kind: 'mismatch'; readonly error: RangeKeyMismatchError }
  /** Worth another try after a back-off; `evict` when the descriptor is likely stale. */
  | { readonly kind: 'retry'; readonly error: CairnError; readonly evict: boolean }
  | { readonly kind: 'fail'; readonly error: Error };

interface Limits {
  readonly maxKeys: number;
  readonly maxBytes: number;
}

const NO_LIMITS: Limits = { maxKeys: 0, maxBytes: 0 };

/**
 * Routes batches of KV requests to the leaseholders of the ranges holding their keys
 * (DESIGN.md §2, §6). A batch is divided at range bounds; the pieces go to their ranges
 * in parallel, or — when the batch has a key or byte limit — one range after another in
 * the scan's direction, so the limit and the resume span are exact. Each piece goes to
 * the cached leaseholder, else to the replicas in turn (voters first), follows
 * NOT_LEASEHOLDER hints, re-divides on RANGE_KEY_MISMATCH, and backs off (exponential,
 * jittered) on what may pass, until the batch's deadline: then it fails with
 * DeadlineExceededError (an UnavailableError). Ranges are found through the RangeCache,
 * else by a Scan of meta2 (meta1 for meta2's own ranges) sent through this same
 * DistSender; the first range comes from ClusterInfo.
 */
export class DistSender {
  readonly rangeCache = new RangeCache();
  /** Non-transactional requests of many callers sent together (see RequestCoalescer). */
  readonly coalescer = new RequestCoalescer(async (requests) => (await this.send(requests)).responses);
  private readonly background = new Set<Promise<unknown>>();
  readonly requestTimeoutMs: number;
  private readonly nodeAddresses = new Map<number, string>();
  private readonly nodeLocalities = new Map<number, readonly pb.LocalityTier[]>();
  private clusterInfoInFlight: Promise<pb.ClusterInfoResponse> | undefined;
  private readonly lookupsInFlight = new Map<string, Promise<pb.RangeDescriptor>>();
  /** Ranges whose cached descriptor is being looked up again (refreshDescriptor). */
  private readonly refreshesInFlight = new Set<number>();
  private readonly now: () => number;
  private readonly random: () => number;
  private closed = false;

  constructor(private readonly options: DistSenderOptions) {
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    if (!(this.requestTimeoutMs > 0)) {
      throw new InvalidArgumentError(`requestTimeoutMs must be positive, got ${this.requestTimeoutMs}`);
    }
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  /**
   * Replicas ordered by how many leading locality tiers their node shares with this
   * client (most first); ties keep their order (the leaseholder first).
   */
  private nearestFirst(nodeIds: readonly number[]): number[] {
    const mine = this.options.locality ?? [];
    if (mine.length === 0) return [...nodeIds];
    const shared = (nodeId: number): number => {
      const theirs = this.nodeLocalities.get(nodeId) ?? [];
      let n = 0;
      while (n < mine.length && n < theirs.length && mine[n]?.key === theirs[n]?.key && mine[n]?.value === theirs[n]?.value) n++;
      return n;
    };
    return nodeIds
      .map((nodeId, index) => ({ nodeId, index, shared: shared(nodeId) }))
      .sort((a, b) => b.shared - a.shared || a.index - b.index)
      .map((r) => r.nodeId);
  }

  /** The address of a node, if known. */
  nodeAddress(nodeId: number): string | undefined {
    return this.nodeAddresses.get(nodeId);
  }

  /** Sends a batch; resolves with one response per request, in order, or throws a typed error. */
  async send(requests: readonly pb.RequestUnion[], header: KvBatchHeader = {}): Promise<KvBatchResult> {
    this.throwIfClosed();
    if (header.signal?.aborted === true) throw new OperationCancelledError();
    validateBatch(requests);
    const maxKeys = header.maxKeys ?? 0;
    const maxBytes = header.maxBytes ?? 0;
    for (const [name, value] of [['maxKeys', maxKeys], ['maxBytes', maxBytes]] as const) {
      if (!Number.isSafeInteger(value) || value < 0) {
        throw new InvalidArgumentError(`${name} must be a non-negative integer, got ${value}`);
      }
    }
    const trace = header.trace;
    const span =
      trace === undefined || trace === NO_SPAN
        ? NO_SPAN
        : startChildSpan('kv.batch', trace, { 'cairn.requests': requests.length, 'cairn.first_request': requests[0]?.request?.$case ?? '' });
    const ctx = this.context(header, span, requests.some(isCommit));
    const indexed: IndexedRequest[] = [];
    requests.forEach((union, index) => {
      const request = union.request;
      if (request !== undefined && !isEmptyRequest(request)) {
        indexed.push({ index, request });
      }
    });
    let partials: PartialResponse[] = [];
    try {
      if (indexed.length > 0) {
        partials =
          maxKeys > 0 || maxBytes > 0
            ? await this.sendLimited(indexed, { maxKeys, maxBytes }, ctx)
            : await this.sendParallel(indexed, ctx, 0);
      }
    } catch (err) {
      endSpan(span, err);
      if (err instanceof OperationCancelledError) err.abandoned = Promise.allSettled(ctx.abandoned).then(() => undefined);
      throw err;
    }
    endSpan(span);
    return { responses: combineResponses(requests, partials), timestamp: ctx.latestTimestamp, txn: ctx.txn };
  }

  /** The descriptor of the range holding `key`: from the cache, else from meta. */
  async lookupRange(key: Uint8Array, options: { readonly timeoutMs?: number } = {}): Promise<pb.RangeDescriptor> {
    this.throwIfClosed();
    const k = asBuffer(key);
    if (Buffer.compare(k, KEY_MAX) >= 0) {
      throw new InvalidArgumentError(`key ${prettyKey(k)} is not below KEY_MAX`);
    }
    const entry = await this.rangeFor(k, false, this.context(options, NO_SPAN));
    return entry.desc;
  }

  /**
   * Asks the nodes (the bootstrap addresses and every node known) for ClusterInfo; the
   * first to answer wins. Learns node addresses and the first range. Concurrent calls
   * share one round.
   */
  refreshClusterInfo(deadlineUnixMs = this.now() + this.requestTimeoutMs): Promise<pb.ClusterInfoResponse> {
    this.throwIfClosed();
    if (this.clusterInfoInFlight === undefined) {
      const round = this.fetchClusterInfo(deadlineUnixMs).finally(() => {
        this.clusterInfoInFlight = undefined;
      });
      this.clusterInfoInFlight = round;
    }
    return this.clusterInfoInFlight;
  }

  /**
   * Work that no caller awaits and that does not go through the coalescer (a
   * transaction's cleanup after an abort): close() lets it finish first. A failure is
   * the work's own to handle; one it leaves unhandled stays unhandled.
   */
  inBackground(work: Promise<unknown>): void {
    const tracked: Promise<unknown> = work.finally(() => this.background.delete(tracked));
    this.background.add(tracked);
  }

  /**
   * Closes the connections, after the work in the background and the coalesced
   * requests already asked for are done (for at most CLOSE_DRAIN_MS: a closing client
   * must not hang on a node that does not answer).
   */
  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const drained = (async (): Promise<void> => {
      while (this.background.size > 0) await Promise.allSettled([...this.background]);
      await this.coalescer.drain();
    })();
    await Promise.race([drained, new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_DRAIN_MS)))]);
    clearTimeout(timer);
    this.closed = true;
    await this.options.transport.close();
  }

  // ---------------------------------------------------------------------------------
  // Dividing and sending

  /**
   * Without limits: one piece per range, all in flight at once. A piece that meets a
   * stale descriptor is divided again, on its own.
   */
  private async sendParallel(requests: readonly IndexedRequest[], ctx: SendContext, attempt: number): Promise<PartialResponse[]> {
    const pieces: Promise<PartialResponse[]>[] = [];
    const failures: unknown[] = [];
    // A transaction's commit may go out only after its writes on other ranges are in
    // place: the piece holding EndTxn waits for every other piece — unless it names
    // them as in flight (a parallel commit: staged, committed once they are all found).
    let endTxnPiece: { desc: pb.RangeDescriptor; requests: IndexedRequest[] } | undefined;
    try {
      let key = nextKey(requests, KEY_MIN);
      while (key !== undefined) {
        if (ctx.aborted) {
          // A sibling piece failed the batch; its error is what the caller sees.
          throw new UnavailableError('the batch was abandoned');
        }
        // A cached range is taken without an await: most batches hit the cache.
        const { desc } = this.rangeCache.lookup(key) ?? (await this.rangeFor(key, false, ctx));
        const clipped = truncateBatch(requests, desc.startKey, desc.endKey);
        const lookedUp = key;
        assert(clipped.length > 0, () => `range ${desc.rangeId} holds ${prettyKey(lookedUp)} but no request`);
        key = nextKey(requests, desc.endKey);
        if (key === undefined && pieces.length === 0 && endTxnPiece === undefined) {
          // The whole batch is one range's (a point read or write): one piece, nothing to join.
          return await this.sendPiece(desc, clipped, ctx, attempt);
        }
        if (clipped.some((r) => r.request.$case === 'endTxn' && r.request.value.inFlightWrites.length === 0) && (pieces.length > 0 || key !== undefined)) {
          endTxnPiece = { desc, requests: clipped };
          continue;
        }
        const piece = this.sendPiece(desc, clipped, ctx, attempt);
        // Handled at once, so a piece failing while the loop still looks up ranges is
        // not an unhandled rejection; Promise.all below reports it.
        piece.catch((error: unknown) => {
          failures.push(error);
          ctx.aborted = true;
        });
        pieces.push(piece);
      }
    } catch (err) {
      ctx.aborted = true;
      await Promise.allSettled(pieces);
      // A piece's own failure explains the batch better than the abandonment it caused.
      throw batchFailure(failures) ?? err;
    }
    // Every piece is waited for, failed or not: a piece still on its way once the caller
    // has moved on (a transaction refreshing and committing after another piece failed)
    // could lay an intent nobody resolves. Pieces stop retrying once one has failed.
    await Promise.allSettled(pieces);
    const failure = batchFailure(failures);
    if (failure !== undefined) throw failure;
    const results = await Promise.all(pieces);
    if (endTxnPiece !== undefined) {
      // Sent with the transaction as the other pieces left it: it commits at or above
      // every intent they wrote.
      results.push(await this.sendPiece(endTxnPiece.desc, endTxnPiece.requests, ctx, attempt));
    }
    return results.flat();
  }

  private async sendPiece(
    desc: pb.RangeDescriptor,
    requests: IndexedRequest[],
    ctx: SendContext,
    attempt: number,
  ): Promise<PartialResponse[]> {
    const outcome = await this.sendToReplicas(desc, requests, NO_LIMITS, ctx);
    switch (outcome.kind) {
      case 'ok':
        this.learnFromAdminResponse(desc, requests, outcome.response);
        return partialsOf(desc, requests, outcome.response);
      case 'mismatch':
        this.learnFromMismatch(desc, outcome.error);
        if (attempt > 0) {
          await this.backoff(ctx, attempt - 1, desc, outcome.error);
        }
        return this.sendParallel(requests, ctx, attempt + 1);
      case 'retry':
        if (outcome.evict) {
          this.rangeCache.evict(desc);
        }
        await this.backoff(ctx, attempt, desc, outcome.error);
        return this.sendParallel(requests, ctx, attempt + 1);
      case 'fail':
        throw outcome.error;
    }
  }

  /**
   * With limits: one range at a time in the batch's direction, each asked for what is
   * left of the limits. Once a range stops early (a resume span) or the limits are
   * used up, the rest of every request is returned as its resume span, unread.
   */
  private async sendLimited(requests: readonly IndexedRequest[], limits: Limits, ctx: SendContext): Promise<PartialResponse[]> {
    const reverse = requests.some((r) => r.request.$case === 'reverseScan');
    for (const { request } of requests) {
      if (!isSpanRequest(request.$case)) {
        throw new InvalidArgumentError(`a batch with maxKeys or maxBytes may hold only Scan, ReverseScan and DeleteRange, not ${request.$case}`);
      }
      if (reverse && request.$case !== 'reverseScan') {
        throw new InvalidArgumentError('a batch with maxKeys or maxBytes cannot mix ReverseScan with other requests');
      }
    }
    let keysLeft = limits.maxKeys > 0 ? limits.maxKeys : Infinity;
    let bytesLeft = limits.maxBytes > 0 ? limits.maxBytes : Infinity;
    const partials: PartialResponse[] = [];
    let attempt = 0;
    let key = reverse ? previousEnd(requests, KEY_MAX) : nextKey(requests, KEY_MIN);
    while (key !== undefined) {
      const { desc } = await this.rangeFor(key, reverse, ctx);
      const clipped = reverse ? truncateBatch(requests, desc.startKey, key) : truncateBatch(requests, key, desc.endKey);
      const lookedUp = key;
      assert(clipped.length > 0, () => `range ${desc.rangeId} was looked up for ${prettyKey(lookedUp)} but holds no request`);
      const pieceLimits: Limits = {
        maxKeys: Number.isFinite(keysLeft) ? keysLeft : 0,
        maxBytes: Number.isFinite(bytesLeft) ? bytesLeft : 0,
      };
      const outcome = await this.sendToReplicas(desc, clipped, pieceLimits, ctx);
      switch (outcome.kind) {
        case 'ok':
          break;
        case 'mismatch':
          this.learnFromMismatch(desc, outcome.error);
          if (attempt > 0) {
            await this.backoff(ctx, attempt - 1, desc, outcome.error);
          }
          attempt++;
          continue;
        case 'retry':
          if (outcome.evict) {
            this.rangeCache.evict(desc);
          }
          await this.backoff(ctx, attempt, desc, outcome.error);
          attempt++;
          continue;
        case 'fail':
          throw outcome.error;
      }
      attempt = 0;
      let stopped = false;
      for (const partial of partialsOf(desc, clipped, outcome.response)) {
        partials.push(partial);
        const used = countTowardLimits(partial.response);
        keysLeft -= used.keys;
        bytesLeft -= used.bytes;
        stopped ||= resumeSpanOf(partial.response) !== undefined;
      }
      stopped ||= keysLeft <= 0 || bytesLeft <= 0;
      key = reverse ? previousEnd(requests, desc.startKey) : nextKey(requests, desc.endKey);
      if (stopped && key !== undefined) {
        const unread = reverse ? truncateBatch(requests, KEY_MIN, desc.startKey) : truncateBatch(requests, desc.endKey, KEY_MAX);
        for (const { index, request } of unread) {
          partials.push({ index, span: requestSpan(request), response: unreadResponse(request) });
        }
        break;
      }
    }
    return partials;
  }

  /**
   * Asks the range's replicas in turn: the cached leaseholder first, then voters, then
   * learners, and any node a NOT_LEASEHOLDER hint names. Stops at the first answer that
   * settles the piece.
   */
  private async sendToReplicas(
    desc: pb.RangeDescriptor,
    requests: readonly IndexedRequest[],
    limits: Limits,
    ctx: SendContext,
  ): Promise<ReplicaOutcome> {
    const rangeId = Number(desc.rangeId);
    const batch: pb.BatchRequest = {
      header: {
        rangeId: desc.rangeId,
        timestamp: ctx.timestamp,
        maxKeys: BigInt(limits.maxKeys),
        maxBytes: BigInt(limits.maxBytes),
        deadlineUnixMs: BigInt(ctx.deadlineUnixMs),
        txn: ctx.txn,
        canForwardReadTimestamp: ctx.canForwardReadTimestamp,
        followerRead: ctx.followerRead,
        inconsistent: ctx.inconsistent,
        traceparent: '',
        recordTrace: ctx.onTraceRecording !== undefined && ctx.span !== NO_SPAN,
      },
      requests: requests.map(({ request }) => ({ request })),
    };
    const leaseholder = this.rangeCache.get(rangeId)?.leaseholderNodeId;
    const queue = ctx.followerRead ? this.nearestFirst(replicaOrder(desc, leaseholder)) : replicaOrder(desc, leaseholder);
    const tried = new Set<number>();
    let lastError: CairnError | undefined;
    // Stays true while every replica asked lacks the range or cannot be reached: the
    // range has likely moved, so the descriptor should be looked up again.
    let evict = true;
    while (queue.length > 0) {
      if (this.closed) {
        return { kind: 'fail', error: closedError() };
      }
      if (ctx.signal?.aborted === true) {
        return { kind: 'fail', error: new OperationCancelledError() };
      }
      if (ctx.aborted || this.now() >= ctx.deadlineUnixMs) {
        break;
      }
      const nodeId = queue.shift() as number;
      if (tried.has(nodeId)) {
        continue;
      }
      tried.add(nodeId);
      const address = this.nodeAddresses.get(nodeId) ?? (await this.addressOf(nodeId, ctx));
      if (address === undefined) {
        lastError = new UnavailableError(`range ${rangeId}: no address known for node ${nodeId}`);
        continue;
      }
      let response: pb.BatchResponse;
      const rpc = ctx.span === NO_SPAN ? NO_SPAN : startChildSpan('kv.rpc', ctx.span, { 'cairn.range_id': rangeId, 'cairn.node_id': nodeId }, SpanKind.CLIENT);
      if (rpc !== NO_SPAN) (batch.header as pb.BatchHeader).traceparent = traceparentOf(rpc);
      try {
        response = await untilAborted(this.options.transport.sendBatch(address, batch, ctx.deadlineUnixMs), ctx);
        endSpan(rpc, response.error === undefined ? undefined : { code: response.error.code });
        const recording = response.traceRecording?.spans;
        if (recording !== undefined && recording.length > 0) ctx.onTraceRecording?.(recording);
      } catch (err) {
        endSpan(rpc, err);
        if (err instanceof OperationCancelledError) return { kind: 'fail', error: err };
        lastError = err instanceof CairnError ? err : new NodeUnavailableError(address, 'unreachable', String(err), { cause: err });
        this.options.onEvent?.({ kind: 'replicaError', rangeId, nodeId, error: lastError });
        if (ctx.commits && mayHaveArrived(lastError)) {
          // A piece of a commit may have been applied without its answer. Sent again, a
          // one-phase commit would write its values a second time, above the first; a
          // write of a parallel commit would be laid anew above the staged timestamp,
          // while recovery may already have found the first one in place and committed
          // the transaction below it. Whether it committed is unknown.
          return {
            kind: 'fail',
            error: new AmbiguousResultError(`a piece of a commit may have reached node ${nodeId} unanswered: ${lastError.message}`, { cause: lastError }),
          };
        }
        if (this.rangeCache.get(rangeId)?.leaseholderNodeId === nodeId) {
          this.rangeCache.setLeaseholder(rangeId, undefined);
        }
        continue;
      }
      if (response.error === undefined) {
        this.rangeCache.setLeaseholder(rangeId, nodeId);
        if (!desc.replicas.some((r) => Number(r.nodeId) === nodeId)) {
          // The leaseholder is missing from our descriptor: replicas changed since we
          // cached it (a replica change keeps the span, so nothing else would tell us).
          this.refreshDescriptor(desc);
        }
        observeTimestamp(ctx, response.timestamp);
        observeTxn(ctx, response.txn);
        return { kind: 'ok', response };
      }
      const error = errorFromProto(response.error);
      this.options.onEvent?.({ kind: 'replicaError', rangeId, nodeId, error });
      if (error instanceof RangeKeyMismatchError) {
        if (isBehind(desc, error)) {
          // A replica that has not applied the change we already know of: ask another.
          evict = false;
          lastError = error;
          continue;
        }
        return { kind: 'mismatch', error };
      }
      if (error instanceof NotLeaseholderError) {
        evict = false;
        lastError = error;
        const hint = error.leaseholder;
        if (hint !== undefined && hint.nodeId !== 0n) {
          const hintId = Number(hint.nodeId);
          if (hint.address !== '') {
            this.nodeAddresses.set(hintId, hint.address);
          }
          this.rangeCache.setLeaseholder(rangeId, hintId);
          if (!tried.has(hintId)) {
            queue.unshift(hintId);
          }
        } else if (this.rangeCache.get(rangeId)?.leaseholderNodeId === nodeId) {
          this.rangeCache.setLeaseholder(rangeId, undefined);
        }
        continue;
      }
      if (error instanceof RangeNotFoundError) {
        lastError = error;
        continue;
      }
      if (error.retryable) {
        evict = false;
        lastError = error;
        continue;
      }
      return { kind: 'fail', error };
    }
    return {
      kind: 'retry',
      error: lastError ?? new UnavailableError(`range ${rangeId}: no replica could be asked before the deadline`),
      evict,
    };
  }

  // ---------------------------------------------------------------------------------
  // Finding ranges

  /**
   * The range holding `key` — or, for `reverse`, the keys just below it — from the
   * cache, else from meta (retried until the deadline).
   */
  private async rangeFor(key: Buffer, reverse: boolean, ctx: SendContext): Promise<RangeCacheEntry> {
    let attempt = 0;
    while (true) {
      const cached = reverse ? this.rangeCache.lookupBefore(key) : this.rangeCache.lookup(key);
      if (cached !== undefined) {
        return cached;
      }
      let desc: pb.RangeDescriptor;
      try {
        desc = await this.lookupUncached(key, reverse, ctx);
      } catch (err) {
        if (!(err instanceof CairnError) || !err.retryable || err instanceof DeadlineExceededError) {
          throw err;
        }
        await this.backoff(ctx, attempt++, undefined, err);
        continue;
      }
      this.options.onEvent?.({ kind: 'rangeLookup', key, reverse, desc });
      this.rangeCache.insert(desc);
      // The cache may hold something newer than what meta said.
      return (reverse ? this.rangeCache.lookupBefore(key) : this.rangeCache.lookup(key)) ?? { desc, leaseholderNodeId: undefined };
    }
  }

  /**
   * Looks `desc`'s range up again in the background and caches what meta says (one
   * lookup per range at a time). The cached leaseholder carries over to the new
   * descriptor when it is among its replicas.
   */
  private refreshDescriptor(desc: pb.RangeDescriptor): void {
    const rangeId = Number(desc.rangeId);
    if (this.refreshesInFlight.has(rangeId) || this.closed) return;
    this.refreshesInFlight.add(rangeId);
    this.lookupUncached(desc.startKey, false, this.context({}, NO_SPAN))
      .then(
        (fresh) => {
          this.rangeCache.insert(fresh);
        },
        () => undefined,
      )
      .finally(() => this.refreshesInFlight.delete(rangeId));
  }

  /** Reads the meta record of the range holding `key` (the first range from ClusterInfo). */
  private lookupUncached(key: Buffer, reverse: boolean, ctx: SendContext): Promise<pb.RangeDescriptor> {
    const inFirstRange = reverse ? Buffer.compare(key, META2_PREFIX) <= 0 : isAddressedByFirstRange(key);
    if (inFirstRange) {
      return this.refreshClusterInfo(ctx.deadlineUnixMs).then((info) => {
        assert(info.firstRange !== undefined, 'fetchClusterInfo takes only answers that name the first range');
        return info.firstRange;
      });
    }
    // Records sit under their range's end key: the first record at or after `from` is
    // the range holding `key` (forward: from = key\0; reverse: from = key).
    const from = reverse ? rangeMetaKey(key) : metaLookupKey(key);
    const to = reverse ? (Buffer.compare(key, META_END) <= 0 ? META2_PREFIX : META_END) : metaLookupEnd(key);
    const lookupId = from.toString('hex');
    let lookup = this.lookupsInFlight.get(lookupId);
    if (lookup === undefined) {
      lookup = this.scanMeta(from, to, ctx).finally(() => this.lookupsInFlight.delete(lookupId));
      this.lookupsInFlight.set(lookupId, lookup);
    }
    return lookup.then((desc) => {
      const holds = reverse
        ? Buffer.compare(desc.startKey, key) < 0 && Buffer.compare(key, desc.endKey) <= 0
        : Buffer.compare(desc.startKey, key) <= 0 && Buffer.compare(key, desc.endKey) < 0;
      if (!holds) {
        throw new UnavailableError(
          `meta record of range ${desc.rangeId} [${prettyKey(desc.startKey)}, ${prettyKey(desc.endKey)}) ` +
            `does not hold ${prettyKey(key)} (a split or merge in progress?)`,
        );
      }
      return desc;
    });
  }

  private async scanMeta(from: Buffer, to: Buffer, ctx: SendContext): Promise<pb.RangeDescriptor> {
    // Inconsistent: a range operation's transaction holds intents on meta records until
    // it commits, and its commit may need this very lookup. A stale answer costs a
    // RANGE_KEY_MISMATCH round at worst.
    const { responses } = await this.send([{ request: { $case: 'scan', value: { startKey: from, endKey: to } } }], {
      maxKeys: 1,
      inconsistent: true,
      deadlineUnixMs: ctx.deadlineUnixMs,
      timeoutMs: ctx.timeoutMs,
    });
    const r = responses[0]?.response;
    assert(r?.$case === 'scan', 'a meta scan is answered by a scan');
    const row = r.value.rows[0];
    if (row === undefined) {
      throw new UnavailableError(`no meta record in [${prettyKey(from)}, ${prettyKey(to)})`);
    }
    return pb.RangeDescriptor.decode(row.value);
  }

  private async fetchClusterInfo(deadlineUnixMs: number): Promise<pb.ClusterInfoResponse> {
    const addresses = [...new Set([...this.options.bootstrapAddresses, ...this.nodeAddresses.values()])];
    if (addresses.length === 0) {
      throw new InvalidArgumentError('no node address to ask for ClusterInfo');
    }
    let winner: { readonly address: string; readonly info: pb.ClusterInfoResponse };
    try {
      winner = await Promise.any(
        addresses.map(async (address) => {
          const info = await this.options.transport.clusterInfo(address, deadlineUnixMs);
          if (info.firstRange === undefined) {
            // Not part of an initialized cluster yet: another node may answer better.
            throw new UnavailableError(`node at ${address} does not know the first range (is the cluster initialized?)`);
          }
          return { address, info };
        }),
      );
    } catch (err) {
      const errors = err instanceof AggregateError ? (err.errors as unknown[]) : [err];
      const first = errors[0];
      throw new UnavailableError(
        `no node answered ClusterInfo (asked ${addresses.join(', ')})` + (first instanceof Error ? `: ${first.message}` : ''),
        { cause: first },
      );
    }
    const { address, info } = winner;
    for (const node of info.nodes) {
      if (node.address !== '') {
        this.nodeAddresses.set(Number(node.nodeId), node.address);
      }
      this.nodeLocalities.set(Number(node.nodeId), node.locality);
    }
    if (info.firstRange !== undefined) {
      this.rangeCache.insert(info.firstRange);
    }
    this.options.onEvent?.({ kind: 'clusterInfo', address, nodeCount: info.nodes.length });
    return info;
  }

  /** A node's address; an unknown node sends us to ClusterInfo once. */
  private async addressOf(nodeId: number, ctx: SendContext): Promise<string | undefined> {
    const known = this.nodeAddresses.get(nodeId);
    if (known !== undefined) {
      return known;
    }
    try {
      await this.refreshClusterInfo(ctx.deadlineUnixMs);
    } catch {
      return undefined;
    }
    return this.nodeAddresses.get(nodeId);
  }

  // ---------------------------------------------------------------------------------
  // Learning from answers

  /**
   * Takes the node's current descriptors (a newer descriptor of the same range keeps the
   * cached leaseholder; a range split off it starts with the same guess, as the lease
   * stays put through a split), then drops the stale one if it is still there.
   */
  private learnFromMismatch(desc: pb.RangeDescriptor, error: RangeKeyMismatchError): void {
    const leaseholder = this.rangeCache.get(Number(desc.rangeId))?.leaseholderNodeId;
    for (const current of error.ranges) {
      const rangeId = Number(current.rangeId);
      const known = this.rangeCache.get(rangeId)?.leaseholderNodeId;
      if (this.rangeCache.insert(current) && known === undefined && leaseholder !== undefined) {
        if (current.replicas.some((r) => Number(r.nodeId) === leaseholder)) {
          this.rangeCache.setLeaseholder(rangeId, leaseholder);
        }
      }
    }
    this.rangeCache.evict(desc);
  }

  /** Admin answers name the new descriptors and leaseholders: keep the cache current. */
  private learnFromAdminResponse(desc: pb.RangeDescriptor, requests: readonly IndexedRequest[], response: pb.BatchResponse): void {
    const request = requests[0]?.request;
    const r = response.responses[0]?.response;
    if (requests.length !== 1 || request === undefined || r === undefined) {
      return;
    }
    switch (r.$case) {
      case 'adminSplit':
        for (const side of [r.value.left, r.value.right]) {
          if (side !== undefined) {
            this.rangeCache.insert(side);
          }
        }
        break;
      case 'adminChangeReplicas':
        if (r.value.descriptor !== undefined) {
          this.rangeCache.insert(r.value.descriptor);
        }
        break;
      case 'adminTransferLease':
        if (request.$case === 'adminTransferLease') {
          this.rangeCache.setLeaseholder(Number(desc.rangeId), Number(request.value.targetNodeId));
        }
        break;
      case 'rangeStats':
        if (r.value.descriptor !== undefined) {
          this.rangeCache.insert(r.value.descriptor);
        }
        if (r.value.lease !== undefined && r.value.lease.nodeId !== 0n) {
          this.rangeCache.setLeaseholder(Number(desc.rangeId), Number(r.value.lease.nodeId));
        }
        break;
      default:
        break;
    }
  }

  // ---------------------------------------------------------------------------------
  // Time

  private context(header: KvBatchHeader, span: Span, commits = false): SendContext {
    const now = this.now();
    const timeoutMs = header.timeoutMs ?? this.requestTimeoutMs;
    const deadlineUnixMs = Math.min(now + timeoutMs, header.deadlineUnixMs ?? Infinity);
    return {
      deadlineUnixMs,
      timeoutMs: Math.max(0, deadlineUnixMs - now),
      timestamp: header.timestamp,
      canForwardReadTimestamp: header.canForwardReadTimestamp === true,
      followerRead: header.followerRead === true,
      inconsistent: header.inconsistent === true,
      txn: header.txn,
      aborted: false,
      latestTimestamp: undefined,
      span,
      signal: header.signal,
      commits,
      abandoned: [],
      onTraceRecording: header.onTraceRecording,
    };
  }

  /** Waits before retry `attempt` (from 0); throws instead once the deadline would pass. */
  private async backoff(ctx: SendContext, attempt: number, desc: pb.RangeDescriptor | undefined, error: CairnError): Promise<void> {
    this.throwIfClosed();
    if (ctx.aborted) {
      throw error;
    }
    const remainingMs = ctx.deadlineUnixMs - this.now();
    if (remainingMs <= 0) {
      throw deadlineError(ctx, error);
    }
    const initialMs = this.options.backoffInitialMs ?? 10;
    const maxMs = this.options.backoffMaxMs ?? 1_000;
    const baseMs = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
    const delayMs = Math.min(remainingMs, Math.round(baseMs * (0.5 + this.random() / 2)));
    this.options.onEvent?.({
      kind: 'retry',
      rangeId: desc === undefined ? undefined : Number(desc.rangeId),
      attempt,
      delayMs,
      error,
    });
    await untilAborted(new Promise<void>((resolve) => setTimeout(resolve, delayMs)), ctx);
    this.throwIfClosed();
    if (ctx.aborted) {
      throw error;
    }
    if (this.now() >= ctx.deadlineUnixMs) {
      throw deadlineError(ctx, error);
    }
  }

  private throwIfClosed(): void {
    if (this.closed) {
      throw closedError();
    }
  }
}

/** The replicas to ask, in order: the leaseholder, voters, learners. */
function replicaOrder(desc: pb.RangeDescriptor, leaseholder: number | undefined): number[] {
  const voters: number[] = [];
  const learners: number[] = [];
  for (const replica of desc.replicas) {
    const nodeId = Number(replica.nodeId);
    if (nodeId === leaseholder) {
      continue;
    }
    (replica.type === pb.ReplicaType.REPLICA_TYPE_LEARNER ? learners : voters).push(nodeId);
  }
  // A known leaseholder goes first even when the descriptor does not list it: the lease
  // was learnt from an answer, and may be newer than the descriptor.
  const first = leaseholder !== undefined ? [leaseholder] : [];
  return [...first, ...voters, ...learners];
}

/** Every descriptor the replica knows for our span is older than ours: it lags behind. */
function isBehind(desc: pb.RangeDescriptor, error: RangeKeyMismatchError): boolean {
  const overlapping = error.ranges.filter(
    (r) => Buffer.compare(r.startKey, desc.endKey) < 0 && Buffer.compare(desc.startKey, r.endKey) < 0,
  );
  return overlapping.length > 0 && overlapping.every((r) => r.generation < desc.generation);
}

function partialsOf(desc: pb.RangeDescriptor, requests: readonly IndexedRequest[], response: pb.BatchResponse): PartialResponse[] {
  if (response.responses.length !== requests.length) {
    throw new AssertionFailedError(
      `range ${desc.rangeId} answered ${response.responses.length} responses to a batch of ${requests.length}`,
    );
  }
  return requests.map(({ index, request }, i) => ({
    index,
    span: requestSpan(request),
    response: response.responses[i] as pb.ResponseUnion,
  }));
}

function observeTimestamp(ctx: SendContext, timestamp: Timestamp | undefined): void {
  if (timestamp !== undefined && (ctx.latestTimestamp === undefined || compareTimestamps(timestamp, ctx.latestTimestamp) > 0)) {
    ctx.latestTimestamp = timestamp;
  }
}

/** Keeps the transaction with the highest write timestamp the pieces returned. */
function observeTxn(ctx: SendContext, txn: pb.Transaction | undefined): void {
  const current = ctx.txn;
  if (txn?.meta?.writeTimestamp === undefined || current?.meta?.writeTimestamp === undefined) {
    return;
  }
  if (compareTimestamps(txn.meta.writeTimestamp, current.meta.writeTimestamp) > 0) {
    ctx.txn = { ...current, meta: { ...current.meta, writeTimestamp: txn.meta.writeTimestamp } };
  }
}

function deadlineError(ctx: SendContext, error: CairnError): DeadlineExceededError {
  if (error instanceof DeadlineExceededError) {
    return error;
  }
  return new DeadlineExceededError(ctx.timeoutMs, `the batch did not complete within ${ctx.timeoutMs} ms: ${error.message}`, {
    cause: error,
  });
}

function closedError(): UnavailableError {
  return new UnavailableError('the KV client is closed');
}

export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** An EndTxn that commits (one-phase, parallel or explicit). */
function isCommit(union: pb.RequestUnion): boolean {
  const request = union.request;
  return request?.$case === 'endTxn' && request.value.commit;
}

/**
 * What a batch whose pieces failed with `failures` fails with: the first, unless a piece
 * may have landed unanswered, which makes the whole batch's outcome unknown.
 */
function batchFailure(failures: readonly unknown[]): unknown {
  return failures.find((f) => f instanceof AmbiguousResultError) ?? failures[0];
}

/** Whether a request the transport failed may still have been delivered (and applied). */
function mayHaveArrived(err: CairnError): boolean {
  return !(err instanceof NodeUnavailableError) || err.requestSent;
}

/**
 * `work`, or OperationCancelledError as soon as the batch's signal aborts: the work goes
 * on, its outcome dropped, and joins the batch's `abandoned`.
 */
function untilAborted<T>(work: Promise<T>, ctx: Pick<SendContext, 'signal' | 'abandoned'>): Promise<T> {
  const signal = ctx.signal;
  if (signal === undefined) return work;
  const abandon = (): OperationCancelledError => {
    ctx.abandoned.push(work.catch(() => undefined));
    return new OperationCancelledError();
  };
  if (signal.aborted) return Promise.reject(abandon());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abandon());
    signal.addEventListener('abort', onAbort);
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
