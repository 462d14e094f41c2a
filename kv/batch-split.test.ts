import fc from 'fast-check';
import type * as pb from '../proto/gen/cairn/kv/v1/kv';
import type { IndexedRequest, PartialResponse, Request } from './batch-split';
import { combineResponses, nextKey, previousEnd, requestSpan, truncateBatch, unreadResponse, validateBatch } from './batch-split';

const k = (...bytes: number[]): Buffer => Buffer.from(bytes);
const scan = (start: Buffer, end: Buffer): Request => ({ $case: 'scan', value: { startKey: start, endKey: end } });
const reverseScan = (start: Buffer, end: Buffer): Request => ({ $case: 'reverseScan', value: { startKey: start, endKey: end } });
const get = (key: Buffer): Request => ({ $case: 'get', value: { key, forUpdate: false } });
const row = (key: Buffer): pb.KeyValue => ({ key, value: Buffer.from('v') });

describe('batch-split', () => {
  const batch: IndexedRequest[] = [
    { index: 0, request: get(k(0x12)) },
    { index: 1, request: scan(k(0x11), k(0x45)) },
    { index: 2, request: get(k(0x50)) },
  ];

  it('cuts requests to a range, keeping their batch positions', () => {
    expect(truncateBatch(batch, k(0x10), k(0x40))).toEqual([
      { index: 0, request: get(k(0x12)) },
      { index: 1, request: scan(k(0x11), k(0x40)) },
    ]);
    expect(truncateBatch(batch, k(0x40), k(0xff, 0xff))).toEqual([
      { index: 1, request: scan(k(0x40), k(0x45)) },
      { index: 2, request: get(k(0x50)) },
    ]);
    expect(truncateBatch(batch, k(0x46), k(0x50))).toEqual([]);
  });

  it('finds the next key a batch touches, and the previous end', () => {
    expect(nextKey(batch, Buffer.alloc(0))).toEqual(k(0x11));
    expect(nextKey(batch, k(0x40))).toEqual(k(0x40));
    expect(nextKey(batch, k(0x45))).toEqual(k(0x50));
    expect(nextKey(batch, k(0x51))).toBeUndefined();
    expect(previousEnd(batch, k(0xff, 0xff))).toEqual(k(0x50, 0x00));
    expect(previousEnd(batch, k(0x50))).toEqual(k(0x45));
    expect(previousEnd(batch, k(0x11))).toBeUndefined();
  });

  it('treats a point request as the span [key, key\\0), at every boundary', () => {
    const key = fc.uint8Array({ maxLength: 3 }).map((b) => Buffer.from(b));
    fc.assert(
      fc.property(fc.array(key, { minLength: 1, maxLength: 4 }), key, key, (keys, a, b) => {
        const [start, end] = Buffer.compare(a, b) <= 0 ? [a, b] : [b, a];
        const requests: IndexedRequest[] = keys.map((x, index) => ({ index, request: get(x) }));
        // The span definitions, by hand.
        const touched = requests.filter(({ request }) => {
          const span = requestSpan(request);
          return Buffer.compare(span.start, end) < 0 && Buffer.compare(span.end, start) > 0 && Buffer.compare(start, end) < 0;
        });
        expect(truncateBatch(requests, start, end)).toEqual(touched);
        const after = requests.map(({ request }) => requestSpan(request)).filter((span) => Buffer.compare(span.end, start) > 0);
        const expected = after.map((span) => (Buffer.compare(span.start, start) >= 0 ? span.start : start)).sort(Buffer.compare)[0];
        expect(nextKey(requests, start)).toEqual(expected);
      }),
    );
  });

  it('rejects an admin request that is not alone, and keys at or above KEY_MAX', () => {
    expect(() =>
      validateBatch([{ request: { $case: 'rangeStats', value: { key: k(0x10) } } }, { request: get(k(0x10)) }]),
    ).toThrow(/alone/);
    expect(() => validateBatch([{ request: get(k(0xff, 0xff)) }])).toThrow(/KEY_MAX/);
    expect(() => validateBatch([{ request: scan(k(0x10), k(0xff, 0xff, 0x00)) }])).toThrow(/KEY_MAX/);
    expect(() => validateBatch([{ request: scan(k(0x10), k(0xff, 0xff)) }])).not.toThrow();
  });

  it('joins scan pieces in key order, and reverse scan pieces in descending order', () => {
    const requests: pb.RequestUnion[] = [{ request: scan(k(0x10), k(0x50)) }, { request: reverseScan(k(0x10), k(0x50)) }];
    const partials: PartialResponse[] = [
      { index: 0, span: { start: k(0x40), end: k(0x50) }, response: { response: { $case: 'scan', value: { rows: [row(k(0x41))] } } } },
      { index: 0, span: { start: k(0x10), end: k(0x40) }, response: { response: { $case: 'scan', value: { rows: [row(k(0x11)), row(k(0x12))] } } } },
      { index: 1, span: { start: k(0x10), end: k(0x40) }, response: { response: { $case: 'reverseScan', value: { rows: [row(k(0x12)), row(k(0x11))] } } } },
      { index: 1, span: { start: k(0x40), end: k(0x50) }, response: { response: { $case: 'reverseScan', value: { rows: [row(k(0x41))] } } } },
    ];
    const [forward, reverse] = combineResponses(requests, partials);
    expect(forward?.response?.$case === 'scan' && forward.response.value.rows.map((r) => r.key[0])).toEqual([0x11, 0x12, 0x41]);
    expect(reverse?.response?.$case === 'reverseScan' && reverse.response.value.rows.map((r) => r.key[0])).toEqual([0x41, 0x12, 0x11]);
  });

  it('ends a span request at its first resume span, which then runs to the end of the request', () => {
    const requests: pb.RequestUnion[] = [{ request: scan(k(0x10), k(0x50)) }];
    const partials: PartialResponse[] = [
      {
        index: 0,
        span: { start: k(0x10), end: k(0x40) },
        response: { response: { $case: 'scan', value: { rows: [row(k(0x11))], resumeSpan: { startKey: k(0x12), endKey: k(0x40) } } } },
      },
      { index: 0, span: { start: k(0x40), end: k(0x50) }, response: unreadResponse(scan(k(0x40), k(0x50))) },
    ];
    expect(combineResponses(requests, partials)).toEqual([
      { response: { $case: 'scan', value: { rows: [row(k(0x11))], resumeSpan: { startKey: k(0x12), endKey: k(0x50) } } } },
    ]);
  });

  it('sums ResolveIntentRange pieces and resumes from the first range that stopped at its budget', () => {
    const txn: pb.Transaction = { status: 0, lockSpans: [], inFlightWrites: [] };
    const requests: pb.RequestUnion[] = [{ request: { $case: 'resolveIntentRange', value: { startKey: k(0x10), endKey: k(0x50), txn } } }];
    const piece = (start: number, end: number, resolved: bigint, resumeAt?: number): PartialResponse => ({
      index: 0,
      span: { start: k(start), end: k(end) },
      response: {
        response: {
          $case: 'resolveIntentRange',
          value: { resolvedCount: resolved, ...(resumeAt === undefined ? {} : { resumeSpan: { startKey: k(resumeAt), endKey: k(end) } }) },
        },
      },
    });
    expect(combineResponses(requests, [piece(0x40, 0x50, 3n, 0x48), piece(0x10, 0x20, 5n), piece(0x20, 0x40, 7n, 0x30)])).toEqual([
      { response: { $case: 'resolveIntentRange', value: { resolvedCount: 15n, resumeSpan: { startKey: k(0x30), endKey: k(0x50) } } } },
    ]);
    expect(combineResponses(requests, [piece(0x10, 0x20, 5n), piece(0x20, 0x50, 1n)])).toEqual([
      { response: { $case: 'resolveIntentRange', value: { resolvedCount: 6n } } },
    ]);
  });

  it('resumes a RefreshRange from the first range that stopped at its budget', () => {
    const refreshFrom = { wallTime: 1n, logical: 0 };
    const requests: pb.RequestUnion[] = [{ request: { $case: 'refreshRange', value: { startKey: k(0x10), endKey: k(0x50), refreshFrom } } }];
    const piece = (start: number, end: number, resumeAt?: number): PartialResponse => ({
      index: 0,
      span: { start: k(start), end: k(end) },
      response: {
        response: { $case: 'refreshRange', value: resumeAt === undefined ? {} : { resumeSpan: { startKey: k(resumeAt), endKey: k(end) } } },
      },
    });
    expect(combineResponses(requests, [piece(0x30, 0x50, 0x38), piece(0x10, 0x30, 0x20)])).toEqual([
      { response: { $case: 'refreshRange', value: { resumeSpan: { startKey: k(0x20), endKey: k(0x50) } } } },
    ]);
    expect(combineResponses(requests, [piece(0x10, 0x30), piece(0x30, 0x50)])).toEqual([{ response: { $case: 'refreshRange', value: {} } }]);
  });

  it('answers an empty span without asking anyone', () => {
    expect(combineResponses([{ request: scan(k(0x20), k(0x20)) }], [])).toEqual([{ response: { $case: 'scan', value: { rows: [] } } }]);
  });
});
