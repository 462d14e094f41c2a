import { Writable } from 'node:stream';
import pino from 'pino';
import { prometheus } from '../../common/metrics';
import { keyNext } from '../../common/keys';
import * as kvpb from '../../proto/gen/cairn/kv/v1/kv';
import type { PendingResolution } from '../replica/evaluate-batch';
import type { ResolutionSender } from './intent-resolver';
import { IntentResolver } from './intent-resolver';

const b = (s: string): Buffer => Buffer.from(s);
const point = (key: string): kvpb.Span => ({ startKey: b(key), endKey: keyNext(b(key)) });

function committed(id: number, anchor: string, spans: kvpb.Span[], keepRecord = false): PendingResolution {
  const txn: kvpb.Transaction = {
    meta: {
      id: Buffer.alloc(16, id),
      anchorKey: b(anchor),
      epoch: 0,
      writeTimestamp: { wallTime: 10n, logical: 0 },
      minTimestamp: { wallTime: 10n, logical: 0 },
      priority: 0,
      sequence: 0,
    },
    status: kvpb.TransactionStatus.TRANSACTION_STATUS_COMMITTED,
    lockSpans: spans,
    inFlightWrites: [],
  };
  return { txn, spans, ...(keepRecord ? { keepRecord } : {}) };
}

/** The batches a resolver sent, answered by `answer` (default: every request succeeds). */
class RecordingSender implements ResolutionSender {
  readonly batches: kvpb.RequestUnion[][] = [];
  answer: (requests: kvpb.RequestUnion[]) => kvpb.ResponseUnion[] = (requests) => requests.map(() => ({ response: undefined }));

  batch(requests: kvpb.RequestUnion[]): Promise<kvpb.ResponseUnion[]> {
    this.batches.push(requests);
    try {
      return Promise.resolve(this.answer(requests));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }
}

/** Answers every request, but fails the first `times` batches that start with a `kind` request. */
function failingFirst(kind: NonNullable<kvpb.RequestUnion['request']>['$case'], times: number): RecordingSender['answer'] {
  let left = times;
  return (requests) => {
    if (requests[0]?.request?.$case === kind && left-- > 0) throw new Error('range unavailable');
    return requests.map(() => ({ response: undefined }));
  };
}

function describeRequests(requests: readonly kvpb.RequestUnion[]): string[] {
  return requests.map(({ request }) => {
    switch (request?.$case) {
      case 'resolveIntent':
        return `resolve ${request.value.key.toString()}`;
      case 'resolveIntentRange':
        return `resolve [${request.value.startKey.toString()}, ${request.value.endKey.toString()})`;
      case 'gcTxnRecord':
        return `remove record ${request.value.key.toString()}/${request.value.txnId[0]}`;
      default:
        return String(request?.$case);
    }
  });
}

function setUp(options: { retryDelayMs?: number; batchWaitMs?: number; recordBatchWaitMs?: number } = {}): {
  resolver: IntentResolver;
  sender: RecordingSender;
  registry: prometheus.Registry;
  warnings: string[];
} {
  const sender = new RecordingSender();
  const registry = new prometheus.Registry();
  const registers = [registry];
  const metrics = {
    intentsResolved: new prometheus.Counter({ name: 'resolved', help: 'h', registers }),
    txns: new prometheus.Counter({ name: 'txns', help: 'h', labelNames: ['outcome'], registers }),
  };
  const warnings: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done): void {
      warnings.push((JSON.parse(chunk.toString()) as { msg: string }).msg);
      done();
    },
  });
  const resolver = new IntentResolver(() => sender, pino({ level: 'warn' }, sink), {
    metrics,
    retryDelayMs: options.retryDelayMs ?? 1,
    batchWaitMs: options.batchWaitMs ?? 0,
    recordBatchWaitMs: options.recordBatchWaitMs ?? 0,
  });
  return { resolver, sender, registry, warnings };
}

async function idle(resolver: IntentResolver): Promise<void> {
  while (resolver.pending > 0) await new Promise((resolve) => setTimeout(resolve, 1));
}

async function counter(registry: prometheus.Registry, name: string, outcome?: string): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (metric?.values ?? []) as { value: number; labels: Record<string, string> }[];
  return values.filter((v) => outcome === undefined || v.labels.outcome === outcome).reduce((sum, v) => sum + v.value, 0);
}

describe('IntentResolver', () => {
  test('transactions finishing in one turn are resolved in one batch, and their records removed after it', async () => {
    const { resolver, sender, registry } = setUp();
    resolver.enqueue(committed(1, 'a1', [point('x1'), { startKey: b('r1'), endKey: b('r9') }]));
    resolver.enqueue(committed(2, 'a2', [point('x2')]));
    // An abort its coordinator has not seen keeps its record.
    resolver.enqueue(committed(3, 'a3', [point('x3')], true));
    expect(resolver.pending).toBe(3);
    await idle(resolver);
    expect(sender.batches.map(describeRequests)).toEqual([
      ['resolve x1', 'resolve [r1, r9)', 'resolve x2', 'resolve x3'],
      ['remove record a1/1', 'remove record a2/2'],
    ]);
    expect(await counter(registry, 'resolved')).toBe(4);
    expect(await counter(registry, 'txns', 'resolved')).toBe(3);
  });

  describe('with its batching waits', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    test('transactions finishing within the wait share a resolution batch, and records of several batches share a removal', async () => {
      const { resolver, sender, registry } = setUp({ batchWaitMs: 10, recordBatchWaitMs: 100 });
      resolver.enqueue(committed(1, 'a1', [point('x1')]));
      await jest.advanceTimersByTimeAsync(5);
      resolver.enqueue(committed(2, 'a2', [point('x2')]));
      await jest.advanceTimersByTimeAsync(4);
      expect(sender.batches).toEqual([]);
      await jest.advanceTimersByTimeAsync(1);
      expect(sender.batches.map(describeRequests)).toEqual([['resolve x1', 'resolve x2']]);
      // A transaction finishing later gets a batch of its own; its record joins the
      // removal the first two are waiting for.
      await jest.advanceTimersByTimeAsync(30);
      resolver.enqueue(committed(3, 'a3', [point('x3')]));
      await jest.advanceTimersByTimeAsync(10);
      expect(sender.batches.map(describeRequests)).toEqual([['resolve x1', 'resolve x2'], ['resolve x3']]);
      expect(resolver.pending).toBe(3);
      expect(await counter(registry, 'txns', 'resolved')).toBe(0);
      await jest.advanceTimersByTimeAsync(60);
      expect(sender.batches.map(describeRequests)).toEqual([
        ['resolve x1', 'resolve x2'],
        ['resolve x3'],
        ['remove record a1/1', 'remove record a2/2', 'remove record a3/3'],
      ]);
      expect(resolver.pending).toBe(0);
      expect(await counter(registry, 'txns', 'resolved')).toBe(3);
    });

    test('a full batch does not wait', async () => {
      const { resolver, sender } = setUp({ batchWaitMs: 1_000, recordBatchWaitMs: 1_000 });
      for (let i = 0; i < 256; i++) resolver.enqueue(committed(i, `a${i}`, [point(`x${i}`)]));
      await jest.advanceTimersByTimeAsync(0);
      expect(sender.batches).toHaveLength(1);
      expect(sender.batches[0]).toHaveLength(256);
    });

    test('draining sends what waits at once, and ends once the records are removed too', async () => {
      const { resolver, sender, registry } = setUp({ batchWaitMs: 1_000, recordBatchWaitMs: 1_000 });
      resolver.enqueue(committed(1, 'a1', [point('x1')]));
      resolver.enqueue(committed(2, 'a2', [point('x2')]));
      await resolver.drain();
      expect(sender.batches.map(describeRequests)).toEqual([
        ['resolve x1', 'resolve x2'],
        ['remove record a1/1', 'remove record a2/2'],
      ]);
      expect(resolver.pending).toBe(0);
      expect(await counter(registry, 'txns', 'resolved')).toBe(2);
      // Nothing held: done at once.
      await resolver.drain();
    });
  });

  test('a span a range resolved only in part is sent again from where it stopped', async () => {
    const { resolver, sender } = setUp();
    let first = true;
    sender.answer = (requests) =>
      requests.map(({ request }): kvpb.ResponseUnion => {
        if (request?.$case !== 'resolveIntentRange') return { response: undefined };
        const value: kvpb.ResolveIntentRangeResponse = first ? { resolvedCount: 4n, resumeSpan: { startKey: b('r5'), endKey: request.value.endKey } } : { resolvedCount: 2n };
        first = false;
        return { response: { $case: 'resolveIntentRange', value } };
      });
    resolver.enqueue(committed(1, 'a1', [{ startKey: b('r1'), endKey: b('r9') }]));
    await idle(resolver);
    expect(sender.batches.map(describeRequests)).toEqual([['resolve [r1, r9)'], ['resolve [r5, r9)'], ['remove record a1/1']]);
  });

  test('a failed resolution is tried again, and a record is never removed before its intents are resolved', async () => {
    const { resolver, sender, registry } = setUp();
    sender.answer = failingFirst('resolveIntent', 2);
    resolver.enqueue(committed(1, 'a1', [point('x1')]));
    await idle(resolver);
    expect(sender.batches.map(describeRequests)).toEqual([['resolve x1'], ['resolve x1'], ['resolve x1'], ['remove record a1/1']]);
    expect(await counter(registry, 'txns', 'resolved')).toBe(1);
  });

  test('a record removal that fails is tried again without resolving the intents once more', async () => {
    const { resolver, sender, registry } = setUp();
    sender.answer = failingFirst('gcTxnRecord', 1);
    resolver.enqueue(committed(1, 'a1', [point('x1')]));
    await idle(resolver);
    expect(sender.batches.map(describeRequests)).toEqual([['resolve x1'], ['remove record a1/1'], ['remove record a1/1']]);
    expect(await counter(registry, 'resolved')).toBe(1);
  });

  test('a resolution that keeps failing is given up, counted and logged, and its record stays', async () => {
    const { resolver, sender, registry, warnings } = setUp();
    sender.answer = failingFirst('resolveIntent', Infinity);
    resolver.enqueue(committed(1, 'a1', [point('x1')]));
    await idle(resolver);
    expect(sender.batches.map(describeRequests)).toEqual(Array.from({ length: 5 }, () => ['resolve x1']));
    expect(await counter(registry, 'txns', 'gave_up')).toBe(1);
    expect(await counter(registry, 'txns', 'resolved')).toBe(0);
    expect(warnings).toEqual([expect.stringContaining('will be resolved on contact')]);
  });

  test('past the queue limit, finished transactions are dropped (counted and logged), not queued without bound', async () => {
    const { resolver, sender, registry, warnings } = setUp();
    // Nothing is answered: the first batches stay in flight while the queue fills.
    sender.batch = (requests) => {
      sender.batches.push(requests);
      return new Promise(() => undefined);
    };
    // Four full batches go out at once and stay in flight; 10 000 more may wait.
    const inFlight = 4 * 256;
    for (let i = 0; i < inFlight + 10_000 + 5; i++) resolver.enqueue(committed(i % 250, `a${i}`, [point(`x${i}`)]));
    expect(sender.batches).toHaveLength(4);
    expect(await counter(registry, 'txns', 'dropped')).toBe(5);
    expect(warnings).toHaveLength(5);
    expect(resolver.pending).toBe(inFlight + 10_000);
    // Stopping drops what waits; what is in flight stays counted until it ends.
    resolver.stop();
    expect(resolver.pending).toBe(inFlight);
  });
});
