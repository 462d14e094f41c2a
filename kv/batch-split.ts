import { assert, InvalidArgumentError, unreachable } from '../common/errors';
import { KEY_MAX, keyNext, prettyKey } from '../common/keys';
import type * as pb from '../proto/gen/cairn/kv/v1/kv';

/**
 * Pure helpers of DistSender: the key span each request touches, cutting a batch at
 * range bounds, and putting the pieces' answers back together. No I/O here.
 */

export type RequestCase = NonNullable<pb.RequestUnion['request']>['$case'];
export type Request = NonNullable<pb.RequestUnion['request']>;

/** A request of the caller's batch, with its position in it. */
export interface IndexedRequest {
  readonly index: number;
  readonly request: Request;
}

/** [start, end) — a point request touches [key, key\0). */
export interface KeySpan {
  readonly start: Buffer;
  readonly end: Buffer;
}

/** What one range answered for one request: the span it was asked about and its answer. */
export interface PartialResponse {
  readonly index: number;
  readonly span: KeySpan;
  readonly response: pb.ResponseUnion;
}

/** Requests over a span that count toward a batch's limits and can be resumed. */
export function isSpanRequest(kind: RequestCase): kind is 'scan' | 'reverseScan' | 'deleteRange' {
  return kind === 'scan' || kind === 'reverseScan' || kind === 'deleteRange';
}

type RangedCase = 'scan' | 'reverseScan' | 'deleteRange' | 'resolveIntentRange' | 'refreshRange';

/** Requests over a span [startKey, endKey), cut at range bounds and answered in pieces. */
export function isRangedRequest(kind: RequestCase): kind is RangedCase {
  return isSpanRequest(kind) || kind === 'resolveIntentRange' || kind === 'refreshRange';
}

export function isAdminRequest(kind: RequestCase): boolean {
  return kind === 'adminSplit' || kind === 'adminChangeReplicas' || kind === 'adminTransferLease' || kind === 'rangeStats';
}

/** The key a point (or admin) request is routed by; undefined for span requests. */
function pointKey(request: Request): Buffer | undefined {
  switch (request.$case) {
    case 'get':
    case 'put':
    case 'conditionalPut':
    case 'delete':
    case 'adminChangeReplicas':
    case 'adminTransferLease':
    case 'rangeStats':
    case 'heartbeatTxn':
    case 'endTxn':
    case 'pushTxn':
    case 'queryTxn':
    case 'queryIntent':
    case 'recoverTxn':
    case 'resolveIntent':
    case 'gcTxnRecord':
    case 'refresh':
      return request.value.key;
    case 'adminSplit':
      return request.value.splitKey;
    case 'scan':
    case 'reverseScan':
    case 'deleteRange':
    case 'resolveIntentRange':
    case 'refreshRange':
      return undefined;
    default:
      return unreachable(request, 'request');
  }
}

/** The keys a request touches. */
export function requestSpan(request: Request): KeySpan {
  const key = pointKey(request);
  if (key !== undefined) {
    return { start: key, end: keyNext(key) };
  }
  const value = (request as Extract<Request, { $case: 'scan' }>).value;
  return { start: value.startKey, end: value.endKey };
}

/** Checks what DistSender cannot route; throws InvalidArgumentError. */
export function validateBatch(requests: readonly pb.RequestUnion[]): void {
  requests.forEach((union, index) => {
    const request = union.request;
    if (request === undefined) {
      throw new InvalidArgumentError(`request ${index} of the batch is empty`);
    }
    if (isAdminRequest(request.$case) && requests.length !== 1) {
      throw new InvalidArgumentError(`${request.$case} must be alone in its batch`);
    }
    const key = pointKey(request);
    if (key !== undefined) {
      if (Buffer.compare(key, KEY_MAX) >= 0) {
        throw new InvalidArgumentError(`request ${index} (${request.$case}): key ${prettyKey(key)} is not below KEY_MAX`);
      }
    } else {
      const span = requestSpan(request);
      if (Buffer.compare(span.end, KEY_MAX) > 0) {
        throw new InvalidArgumentError(`request ${index} (${request.$case}): end key ${prettyKey(span.end)} is above KEY_MAX`);
      }
    }
  });
}

/** A span request with nothing in its span needs no range. */
export function isEmptyRequest(request: Request): boolean {
  if (!isRangedRequest(request.$case)) {
    return false;
  }
  const span = requestSpan(request);
  return Buffer.compare(span.start, span.end) >= 0;
}

/** The part of a request inside [start, end), or undefined when it touches nothing there. */
export function truncateRequest(request: Request, start: Buffer, end: Buffer): Request | undefined {
  // A point request touches [start, end) when its key is inside: no span to build.
  const key = pointKey(request);
  if (key !== undefined) {
    return Buffer.compare(key, start) >= 0 && Buffer.compare(key, end) < 0 ? request : undefined;
  }
  const span = requestSpan(request);
  const from = Buffer.compare(span.start, start) >= 0 ? span.start : start;
  const to = Buffer.compare(span.end, end) <= 0 ? span.end : end;
  if (Buffer.compare(from, to) >= 0) {
    return undefined;
  }
  switch (request.$case) {
    case 'scan':
    case 'reverseScan':
    case 'deleteRange':
    case 'resolveIntentRange':
    case 'refreshRange':
      return from === span.start && to === span.end
        ? request
        : ({ $case: request.$case, value: { ...request.value, startKey: from, endKey: to } } as Request);
    default:
      return request;
  }
}

/** The requests (cut to size) that touch [start, end). */
export function truncateBatch(requests: readonly IndexedRequest[], start: Buffer, end: Buffer): IndexedRequest[] {
  const out: IndexedRequest[] = [];
  for (const { index, request } of requests) {
    const cut = truncateRequest(request, start, end);
    if (cut !== undefined) {
      out.push({ index, request: cut });
    }
  }
  return out;
}

/** The smallest key at or after `from` that some request touches. */
export function nextKey(requests: readonly IndexedRequest[], from: Buffer): Buffer | undefined {
  let best: Buffer | undefined;
  for (const { request } of requests) {
    // A point's span [key, key\0) ends at or before `from` exactly when key < from.
    const key = pointKey(request);
    if (key !== undefined) {
      if (Buffer.compare(key, from) >= 0 && (best === undefined || Buffer.compare(key, best) < 0)) best = key;
      continue;
    }
    const span = requestSpan(request);
    if (Buffer.compare(span.end, from) <= 0) {
      continue;
    }
    const start = Buffer.compare(span.start, from) >= 0 ? span.start : from;
    if (best === undefined || Buffer.compare(start, best) < 0) {
      best = start;
    }
  }
  return best;
}

/** The largest (exclusive) end at or before `before` of the keys some request touches. */
export function previousEnd(requests: readonly IndexedRequest[], before: Buffer): Buffer | undefined {
  let best: Buffer | undefined;
  for (const { request } of requests) {
    const span = requestSpan(request);
    if (Buffer.compare(span.start, before) >= 0) {
      continue;
    }
    const end = Buffer.compare(span.end, before) <= 0 ? span.end : before;
    if (best === undefined || Buffer.compare(end, best) > 0) {
      best = end;
    }
  }
  return best;
}

/** The rows and bytes a range's answer counts against the batch's limits. */
export function countTowardLimits(response: pb.ResponseUnion): { readonly keys: number; readonly bytes: number } {
  const r = response.response;
  switch (r?.$case) {
    case 'scan':
    case 'reverseScan': {
      let bytes = 0;
      for (const row of r.value.rows) {
        bytes += row.key.length + row.value.length;
      }
      return { keys: r.value.rows.length, bytes };
    }
    case 'deleteRange':
      return { keys: Number(r.value.deletedCount), bytes: 0 };
    default:
      return { keys: 0, bytes: 0 };
  }
}

export function resumeSpanOf(response: pb.ResponseUnion): pb.Span | undefined {
  const r = response.response;
  switch (r?.$case) {
    case 'scan':
    case 'reverseScan':
    case 'deleteRange':
      return r.value.resumeSpan;
    default:
      return undefined;
  }
}

/** An answer for a span request that was not read at all: nothing, and all of it to resume. */
export function unreadResponse(request: Request): pb.ResponseUnion {
  const { start, end } = requestSpan(request);
  const resumeSpan: pb.Span = { startKey: start, endKey: end };
  switch (request.$case) {
    case 'scan':
      return { response: { $case: 'scan', value: { rows: [], resumeSpan } } };
    case 'reverseScan':
      return { response: { $case: 'reverseScan', value: { rows: [], resumeSpan } } };
    case 'deleteRange':
      return { response: { $case: 'deleteRange', value: { deletedCount: 0n, resumeSpan } } };
    default:
      throw new InvalidArgumentError(`${request.$case} has no span to resume`);
  }
}

/** The answer to a request that needed no range (an empty span). */
function emptyResponse(request: Request): pb.ResponseUnion {
  switch (request.$case) {
    case 'scan':
      return { response: { $case: 'scan', value: { rows: [] } } };
    case 'reverseScan':
      return { response: { $case: 'reverseScan', value: { rows: [] } } };
    case 'deleteRange':
      return { response: { $case: 'deleteRange', value: { deletedCount: 0n } } };
    case 'resolveIntentRange':
      return { response: { $case: 'resolveIntentRange', value: { resolvedCount: 0n } } };
    case 'refreshRange':
      return { response: { $case: 'refreshRange', value: {} } };
    default:
      throw new InvalidArgumentError(`${request.$case} got no answer`);
  }
}

/**
 * Puts the ranges' answers back in request order. A point request has exactly one
 * answer. A span request's pieces are joined in its direction (ascending, descending
 * for ReverseScan); the first piece with a resume span ends it: rows of later pieces
 * are dropped and the resume span runs to the end of the request (so what was
 * returned plus the resume span is exactly the request). DeleteRange counts every
 * piece's deletions, as they happened, and ResolveIntentRange every piece's
 * resolutions (its resume span, too, runs from the first stop to the end, as does
 * RefreshRange's).
 */
export function combineResponses(requests: readonly pb.RequestUnion[], partials: readonly PartialResponse[]): pb.ResponseUnion[] {
  const byRequest: PartialResponse[][] = requests.map(() => []);
  for (const partial of partials) {
    const list = byRequest[partial.index];
    assert(list !== undefined, () => `an answer for request ${partial.index} of a batch of ${requests.length}`);
    list.push(partial);
  }
  return requests.map((union, index) => {
    const request = union.request;
    assert(request !== undefined, 'a validated batch has no empty request');
    const pieces = byRequest[index] as PartialResponse[];
    if (!isRangedRequest(request.$case)) {
      assert(pieces.length === 1, () => `request ${index} (${request.$case}) has ${pieces.length} answers, expected 1`);
      const piece = pieces[0] as PartialResponse;
      assert(
        piece.response.response?.$case === request.$case,
        () => `request ${index} (${request.$case}) answered with ${piece.response.response?.$case ?? 'nothing'}`,
      );
      return piece.response;
    }
    if (pieces.length === 0) {
      return emptyResponse(request);
    }
    return combineSpanPieces(request, pieces);
  });
}

function combineSpanPieces(request: Request, pieces: PartialResponse[]): pb.ResponseUnion {
  const reverse = request.$case === 'reverseScan';
  pieces.sort((a, b) => (reverse ? Buffer.compare(b.span.start, a.span.start) : Buffer.compare(a.span.start, b.span.start)));
  const whole = requestSpan(request);
  const rows: pb.KeyValue[] = [];
  let deleted = 0n;
  let resolved = 0n;
  let resumeSpan: pb.Span | undefined;
  for (const piece of pieces) {
    const r = piece.response.response;
    assert(r?.$case === request.$case, () => `a ${request.$case} piece answered with ${r?.$case ?? 'nothing'}`);
    if (r.$case === 'deleteRange') {
      deleted += r.value.deletedCount;
    } else if (r.$case === 'resolveIntentRange') {
      resolved += r.value.resolvedCount;
      // A range that stopped at its limit resumes from there; resolving again the
      // pieces after it is idempotent (they find no intents of the transaction left).
      const stoppedAt = r.value.resumeSpan;
      if (resumeSpan === undefined && stoppedAt !== undefined) resumeSpan = { startKey: stoppedAt.startKey, endKey: whole.end };
      continue;
    } else if (r.$case === 'refreshRange') {
      // Likewise: refreshing again the pieces after the first stop finds what it found.
      const stoppedAt = r.value.resumeSpan;
      if (resumeSpan === undefined && stoppedAt !== undefined) resumeSpan = { startKey: stoppedAt.startKey, endKey: whole.end };
      continue;
    } else if (resumeSpan === undefined) {
      for (const row of (r as Extract<typeof r, { $case: 'scan' }>).value.rows) {
        rows.push(row);
      }
    }
    const pieceResume = resumeSpanOf(piece.response);
    if (resumeSpan === undefined && pieceResume !== undefined) {
      resumeSpan = reverse
        ? { startKey: whole.start, endKey: pieceResume.endKey }
        : { startKey: pieceResume.startKey, endKey: whole.end };
    }
  }
  switch (request.$case) {
    case 'scan':
      return { response: { $case: 'scan', value: withResume({ rows }, resumeSpan) } };
    case 'reverseScan':
      return { response: { $case: 'reverseScan', value: withResume({ rows }, resumeSpan) } };
    case 'deleteRange':
      return { response: { $case: 'deleteRange', value: withResume({ deletedCount: deleted }, resumeSpan) } };
    case 'resolveIntentRange':
      return { response: { $case: 'resolveIntentRange', value: withResume({ resolvedCount: resolved }, resumeSpan) } };
    case 'refreshRange':
      return { response: { $case: 'refreshRange', value: withResume({}, resumeSpan) } };
    default:
      throw new InvalidArgumentError(`${request.$case} is not a span request`);
  }
}

function withResume<T extends object>(value: T, resumeSpan: pb.Span | undefined): T & { resumeSpan?: pb.Span } {
  return resumeSpan === undefined ? value : { ...value, resumeSpan };
}
