import fc from 'fast-check';
import { AssertionFailedError, InvalidArgumentError } from '../../common/errors';
import type { LatchGuard, LatchSpan } from './latch-manager';
import { LatchManager } from './latch-manager';

const read = (start: string, end?: string): LatchSpan =>
  end === undefined ? { start: Buffer.from(start), write: false } : { start: Buffer.from(start), end: Buffer.from(end), write: false };
const write = (start: string, end?: string): LatchSpan =>
  end === undefined ? { start: Buffer.from(start), write: true } : { start: Buffer.from(start), end: Buffer.from(end), write: true };

/** Lets settled promises run their callbacks. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A request's acquire promise, with what became of it so far. */
function track(promise: Promise<LatchGuard>): { guard?: LatchGuard; error?: unknown } {
  const outcome: { guard?: LatchGuard; error?: unknown } = {};
  promise.then(
    (guard) => {
      outcome.guard = guard;
    },
    (error: unknown) => {
      outcome.error = error;
    },
  );
  return outcome;
}

describe('LatchManager', () => {
  it.each([
    ['reads of one key', false, [read('a')], [read('a')]],
    ['a read and a write of one key', true, [read('a')], [write('a')]],
    ['a write and a read of one key', true, [write('a')], [read('a')]],
    ['writes of different keys', false, [write('a')], [write('b')]],
    ['a write and a span ending at its key (end exclusive)', false, [write('b')], [read('a', 'b')]],
    ['a write and a span starting at its key', true, [write('b')], [read('b', 'c')]],
    ['a write and a span around its key', true, [write('b')], [read('a', 'c')]],
    ['a key and its successor', false, [write('b')], [write('b\x00')]],
    ['a span and the key at its end', false, [write('a', 'b\x00')], [read('b\x00')]],
    ['a span and the last key in it', true, [write('a', 'b\x00')], [read('b')]],
    ['adjacent spans', false, [write('a', 'c')], [write('c', 'e')]],
    ['overlapping spans', true, [write('a', 'c')], [read('b', 'e')]],
    ['read spans', false, [read('a', 'c')], [read('b', 'e')]],
    ['no spans', false, [], [write('a', 'z')]],
    ['spans conflicting only in one pair', true, [read('a'), write('x')], [read('b'), read('x', 'y')]],
    ['spans whose bounds overlap but spans do not', false, [write('a'), write('z')], [write('m')]],
  ])('%s: conflict=%s', (_what, conflict, first, second) => {
    const latches = new LatchManager();
    const held = latches.tryAcquire(first);
    expect(held).toBeDefined();
    const other = latches.tryAcquire(second);
    expect(other === undefined).toBe(conflict);
    // And the other way round.
    const reversed = new LatchManager();
    expect(reversed.tryAcquire(second)).toBeDefined();
    expect(reversed.tryAcquire(first) === undefined).toBe(conflict);
  });

  it('grants without conflict at once, and a waiter when the holder releases', async () => {
    const latches = new LatchManager();
    const first = await latches.acquire([write('a')]);
    const second = track(latches.acquire([read('a')]));
    await settle();
    expect(second.guard).toBeUndefined();
    expect(latches.heldCount).toBe(1);
    expect(latches.waitingCount).toBe(1);
    first.release();
    await settle();
    expect(second.guard).toBeDefined();
    expect(latches.heldCount).toBe(1);
    expect(latches.waitingCount).toBe(0);
    second.guard?.release();
    expect(latches.heldCount).toBe(0);
  });

  it('serves in arrival order: a read does not pass a waiting write (no starvation)', async () => {
    const latches = new LatchManager();
    const reader1 = latches.tryAcquire([read('a')]) as LatchGuard;
    const writer = track(latches.acquire([write('a')]));
    // The read does not conflict with the held read, but with the waiting write.
    expect(latches.tryAcquire([read('a')])).toBeUndefined();
    const reader2 = track(latches.acquire([read('a')]));
    await settle();
    expect(writer.guard).toBeUndefined();
    expect(reader2.guard).toBeUndefined();
    reader1.release();
    await settle();
    expect(writer.guard).toBeDefined();
    expect(reader2.guard).toBeUndefined();
    writer.guard?.release();
    await settle();
    expect(reader2.guard).toBeDefined();
  });

  it('lets a request pass waiting ones it does not conflict with', async () => {
    const latches = new LatchManager();
    const held = latches.tryAcquire([write('a')]) as LatchGuard;
    const waiting = track(latches.acquire([write('a')]));
    expect(latches.tryAcquire([write('b')])).toBeDefined();
    held.release();
    await settle();
    expect(waiting.guard).toBeDefined();
  });

  it('grants several waiters at once when they do not conflict with each other', async () => {
    const latches = new LatchManager();
    const writer = latches.tryAcquire([write('a', 'z')]) as LatchGuard;
    const readers = [track(latches.acquire([read('b')])), track(latches.acquire([read('c', 'e')])), track(latches.acquire([read('b')]))];
    await settle();
    expect(readers.every((r) => r.guard === undefined)).toBe(true);
    writer.release();
    await settle();
    expect(readers.every((r) => r.guard !== undefined)).toBe(true);
    expect(latches.heldCount).toBe(3);
  });

  it('waits for every earlier conflicting request, not only the first', async () => {
    const latches = new LatchManager();
    const a = latches.tryAcquire([write('a')]) as LatchGuard;
    const b = latches.tryAcquire([write('b')]) as LatchGuard;
    const both = track(latches.acquire([read('a', 'c')]));
    a.release();
    await settle();
    expect(both.guard).toBeUndefined();
    b.release();
    await settle();
    expect(both.guard).toBeDefined();
  });

  it('takes a waiter out of line when its signal aborts, and lets those behind it go', async () => {
    const latches = new LatchManager();
    const held = latches.tryAcquire([read('a')]) as LatchGuard;
    const controller = new AbortController();
    const writer = track(latches.acquire([write('a')], controller.signal));
    const reader = track(latches.acquire([read('a')]));
    await settle();
    expect(reader.guard).toBeUndefined();
    const reason = new Error('deadline');
    controller.abort(reason);
    await settle();
    expect(writer.error).toBe(reason);
    expect(writer.guard).toBeUndefined();
    // Only the held read is left ahead of the reader, and reads share.
    expect(reader.guard).toBeDefined();
    expect(latches.waitingCount).toBe(0);
    expect(latches.heldCount).toBe(2);
    held.release();
    reader.guard?.release();
    expect(latches.heldCount).toBe(0);
  });

  it('rejects at once with an aborted signal, and ignores an abort after the grant', async () => {
    const latches = new LatchManager();
    const aborted = new AbortController();
    aborted.abort(new Error('gone'));
    await expect(latches.acquire([write('a')], aborted.signal)).rejects.toThrow('gone');
    expect(latches.heldCount).toBe(0);

    const controller = new AbortController();
    const held = latches.tryAcquire([write('a')]) as LatchGuard;
    const waiter = track(latches.acquire([write('a')], controller.signal));
    held.release();
    await settle();
    controller.abort();
    await settle();
    expect(waiter.guard).toBeDefined();
    expect(waiter.error).toBeUndefined();
    expect(latches.heldCount).toBe(1);
  });

  it('rejects empty or inverted spans, and a second release', () => {
    const latches = new LatchManager();
    expect(() => latches.tryAcquire([write('b', 'a')])).toThrow(InvalidArgumentError);
    expect(() => latches.acquire([read('a', 'a')])).toThrow(InvalidArgumentError);
    const guard = latches.tryAcquire([write('a')]) as LatchGuard;
    guard.release();
    expect(() => guard.release()).toThrow(AssertionFailedError);
  });
});

/*
 * Random histories of acquires, releases and aborts over a small keyspace, checked
 * against a model after every step:
 * - safety: no two requests holding their latches conflict;
 * - first come, first served: a request holds its latches only if no earlier request
 *   still in line conflicts with it, and waits only while one does (so nothing waits
 *   for nothing);
 * - liveness: once everything held is released, every request still waiting gets
 *   its latches.
 * Keys are single bytes 0..7: spans with such ends overlap in byte order exactly when
 * their integer ranges do, so the model is a set of integer keys per span.
 */
describe('LatchManager (property)', () => {
  interface ModelSpan {
    readonly from: number;
    /** Exclusive; from + 1 for a point. */
    readonly to: number;
    readonly write: boolean;
  }

  interface Request {
    readonly id: number;
    readonly spans: readonly ModelSpan[];
    state: 'waiting' | 'held' | 'released' | 'aborted' | 'refused';
    guard?: LatchGuard;
    controller?: AbortController;
  }

  const spanArb: fc.Arbitrary<ModelSpan> = fc
    .tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 1, max: 3 }), fc.boolean())
    .map(([from, width, w]) => ({ from, to: from + width, write: w }));
  /** Whether a span is used as a point (its start key alone). */
  const pointFlagArb = fc.boolean();

  type Step =
    | { readonly kind: 'acquire'; readonly spans: ModelSpan[]; readonly points: boolean[]; readonly abortable: boolean }
    | { readonly kind: 'try'; readonly spans: ModelSpan[]; readonly points: boolean[] }
    | { readonly kind: 'release'; readonly pick: number }
    | { readonly kind: 'abort'; readonly pick: number };

  const spansArb = fc.array(fc.tuple(spanArb, pointFlagArb), { minLength: 0, maxLength: 3 });
  const stepArb: fc.Arbitrary<Step> = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(spansArb, fc.boolean()).map(([s, abortable]): Step => ({ kind: 'acquire', spans: s.map(([span]) => span), points: s.map(([, p]) => p), abortable })) },
    { weight: 1, arbitrary: spansArb.map((s): Step => ({ kind: 'try', spans: s.map(([span]) => span), points: s.map(([, p]) => p) })) },
    { weight: 3, arbitrary: fc.nat().map((pick): Step => ({ kind: 'release', pick })) },
    { weight: 1, arbitrary: fc.nat().map((pick): Step => ({ kind: 'abort', pick })) },
  );

  /** A model span as latches see it: a point is the key alone, with no end. */
  function toLatchSpans(spans: readonly ModelSpan[], points: readonly boolean[]): { latch: LatchSpan[]; model: ModelSpan[] } {
    const latch: LatchSpan[] = [];
    const model: ModelSpan[] = [];
    spans.forEach((span, i) => {
      if (points[i] === true) {
        latch.push({ start: Buffer.from([span.from]), write: span.write });
        model.push({ from: span.from, to: span.from + 1, write: span.write });
      } else {
        latch.push({ start: Buffer.from([span.from]), end: Buffer.from([span.to]), write: span.write });
        model.push(span);
      }
    });
    return { latch, model };
  }

  function modelConflict(a: readonly ModelSpan[], b: readonly ModelSpan[]): boolean {
    return a.some((x) => b.some((y) => (x.write || y.write) && x.from < y.to && y.from < x.to));
  }

  const inLine = (r: Request): boolean => r.state === 'waiting' || r.state === 'held';

  function check(requests: readonly Request[], latches: LatchManager): void {
    const held = requests.filter((r) => r.state === 'held');
    for (let i = 0; i < held.length; i++) {
      for (let j = i + 1; j < held.length; j++) {
        const [a, b] = [held[i] as Request, held[j] as Request];
        if (modelConflict(a.spans, b.spans)) {
          throw new Error(`requests ${a.id} and ${b.id} hold conflicting latches`);
        }
      }
    }
    for (const r of requests) {
      if (!inLine(r)) {
        continue;
      }
      const blocked = requests.some((earlier) => earlier.id < r.id && inLine(earlier) && modelConflict(earlier.spans, r.spans));
      if (r.state === 'held' && blocked) {
        throw new Error(`request ${r.id} holds latches ahead of an earlier conflicting request`);
      }
      if (r.state === 'waiting' && !blocked) {
        throw new Error(`request ${r.id} waits with no earlier conflicting request`);
      }
    }
    expect(latches.heldCount).toBe(held.length);
    expect(latches.waitingCount).toBe(requests.filter((r) => r.state === 'waiting').length);
  }

  it('never grants conflicting latches at once, serves in order, and serves everyone', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 40 }), async (steps) => {
        const latches = new LatchManager();
        const requests: Request[] = [];
        for (const step of steps) {
          switch (step.kind) {
            case 'acquire': {
              const { latch, model } = toLatchSpans(step.spans, step.points);
              const request: Request = { id: requests.length, spans: model, state: 'waiting' };
              if (step.abortable) {
                request.controller = new AbortController();
              }
              requests.push(request);
              latches.acquire(latch, request.controller?.signal).then(
                (guard) => {
                  expect(request.state).toBe('waiting');
                  request.state = 'held';
                  request.guard = guard;
                },
                () => {
                  request.state = 'aborted';
                },
              );
              break;
            }
            case 'try': {
              const { latch, model } = toLatchSpans(step.spans, step.points);
              const request: Request = { id: requests.length, spans: model, state: 'refused' };
              const blocked = requests.some((r) => inLine(r) && modelConflict(r.spans, model));
              const guard = latches.tryAcquire(latch);
              expect(guard === undefined).toBe(blocked);
              if (guard !== undefined) {
                request.state = 'held';
                request.guard = guard;
              }
              requests.push(request);
              break;
            }
            case 'release': {
              const held = requests.filter((r) => r.state === 'held');
              const request = held[step.pick % Math.max(held.length, 1)];
              if (request !== undefined) {
                request.guard?.release();
                request.state = 'released';
              }
              break;
            }
            case 'abort': {
              const abortable = requests.filter((r) => r.state === 'waiting' && r.controller !== undefined);
              abortable[step.pick % Math.max(abortable.length, 1)]?.controller?.abort();
              break;
            }
          }
          await settle();
          check(requests, latches);
        }
        // Liveness: release whatever is held, oldest first, until nothing waits.
        for (let round = 0; round <= requests.length; round++) {
          const held = requests.filter((r) => r.state === 'held');
          if (held.length === 0) {
            break;
          }
          for (const r of held) {
            r.guard?.release();
            r.state = 'released';
          }
          await settle();
          check(requests, latches);
        }
        expect(requests.filter((r) => r.state === 'waiting' || r.state === 'held')).toEqual([]);
        expect(latches.heldCount).toBe(0);
        expect(latches.waitingCount).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});
