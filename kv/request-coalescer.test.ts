import type * as pb from '../proto/gen/cairn/kv/v1/kv';
import { RequestCoalescer } from './request-coalescer';

const query = (key: string): pb.RequestUnion => ({ request: { $case: 'queryTxn', value: { key: Buffer.from(key), txnId: Buffer.alloc(16) } } });
const keyOf = (r: pb.RequestUnion): string => (r.request?.$case === 'queryTxn' ? r.request.value.key.toString() : '?');

describe('RequestCoalescer', () => {
  it('sends the requests of one turn of the event loop as one batch, each answered with its own response', async () => {
    const batches: string[][] = [];
    const coalescer = new RequestCoalescer(async (requests) => {
      batches.push(requests.map(keyOf));
      return requests.map((r) => ({ response: { $case: 'queryTxn', value: { waitingTxnIds: [Buffer.from(keyOf(r))] } } }));
    });
    const answers = await Promise.all(['a', 'b', 'c'].map((k) => coalescer.add(query(k))));
    expect(batches).toEqual([['a', 'b', 'c']]);
    expect(answers.map((a) => (a?.response?.$case === 'queryTxn' ? a.response.value.waitingTxnIds[0]?.toString() : undefined))).toEqual(['a', 'b', 'c']);
    await coalescer.add(query('d'));
    expect(batches).toEqual([['a', 'b', 'c'], ['d']]);
  });

  it('fails every request of a batch that failed, and goes on with the next', async () => {
    let fail = true;
    const coalescer = new RequestCoalescer(async (requests) => {
      if (fail) throw new Error('unavailable');
      return requests.map(() => ({ response: { $case: 'queryTxn', value: { waitingTxnIds: [] } } }));
    });
    const results = await Promise.allSettled([coalescer.add(query('a')), coalescer.add(query('b'))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    await expect(coalescer.add(query('c'))).resolves.toBeDefined();
  });

  it('sends at most 256 requests in one batch', async () => {
    const sizes: number[] = [];
    const coalescer = new RequestCoalescer(async (requests) => {
      sizes.push(requests.length);
      return requests.map(() => ({ response: { $case: 'queryTxn', value: { waitingTxnIds: [] } } }));
    });
    await Promise.all(Array.from({ length: 300 }, (_, i) => coalescer.add(query(`k${i}`))));
    expect(sizes).toEqual([256, 44]);
  });

  it('drains: sends what is queued at once and resolves once every batch sent is answered', async () => {
    const batches: string[][] = [];
    let answer = (): void => undefined;
    const coalescer = new RequestCoalescer(async (requests) => {
      batches.push(requests.map(keyOf));
      await new Promise<void>((resolve) => {
        answer = resolve;
      });
      return requests.map(() => ({ response: { $case: 'queryTxn', value: { waitingTxnIds: [] } } }));
    });
    const pending = coalescer.add(query('a'));
    let drained = false;
    const draining = coalescer.drain().then(() => {
      drained = true;
    });
    // Sent without waiting for the turn to end, and not drained until answered.
    expect(batches).toEqual([['a']]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(drained).toBe(false);
    answer();
    await draining;
    await expect(pending).resolves.toBeDefined();
    // Nothing queued or in flight: at once.
    await coalescer.drain();
  });
});
