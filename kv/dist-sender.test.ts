import { KEY_MAX } from '../common/keys';
import type * as pb from '../proto/gen/cairn/kv/v1/kv';
import { AmbiguousResultError, ConditionFailedError, DeadlineExceededError, NodeUnavailableError, OperationCancelledError, UnavailableError } from './errors';
import type { KvClientOptions, KvRow } from './kv-client';
import { KvClient } from './kv-client';
import type { KvTransport } from './kv-transport';
import { GrpcKvTransport } from './kv-transport';
import type { FakeClusterOptions } from './test-support/fake-kv-cluster';
import { FakeKvCluster } from './test-support/fake-kv-cluster';

/**
 * DistSender against an in-process fake cluster (test-support/fake-kv-cluster.ts):
 * ranges r1 [KEY_MIN, 0x04) (meta), r2 [0x04, 0x10), r3 [0x10, 0x40), r4 [0x40, KEY_MAX),
 * leaseholders 1, 2, 3, 1, every node a voter of every range.
 */

const k = (...bytes: number[]): Buffer => Buffer.from(bytes);
const v = (text: string): Buffer => Buffer.from(text);

/** Keys in r2, r3 and r4: 4 + 5 + 4. */
const KEYS = [
  k(0x05, 0x01), k(0x05, 0x02), k(0x06), k(0x0f, 0xff),
  k(0x10), k(0x11), k(0x20), k(0x30, 0x00), k(0x3f),
  k(0x40), k(0x41), k(0x50), k(0xfe),
];

let cluster: FakeKvCluster;
let client: KvClient;

async function setup(options: FakeClusterOptions = {}, clientOptions: Partial<KvClientOptions> = {}): Promise<void> {
  cluster = await FakeKvCluster.start(options);
  client = await KvClient.connect({ addresses: cluster.addresses(), requestTimeoutMs: 2_000, ...clientOptions });
}

async function load(): Promise<void> {
  await client.batch(KEYS.map((key) => ({ request: { $case: 'put', value: { key, value: v(`value-of-${key.toString('hex')}`) } } })));
}

/** Batches the nodes served for user data (meta lookups go to r1). */
function dataBatches(): { nodeId: number; rangeId: number; requests: readonly string[]; error: string | undefined }[] {
  return cluster.log.filter((b) => b.rangeId !== 1);
}

const bytesOf = (rows: readonly KvRow[]): number => rows.reduce((n, r) => n + r.key.length + r.value.length, 0);
const hex = (rows: readonly KvRow[]): string[] => rows.map((r) => r.key.toString('hex'));
const all = KEYS.map((key) => key.toString('hex'));

async function eventually(holds: () => boolean): Promise<void> {
  for (let i = 0; !holds(); i++) {
    if (i > 200) throw new Error('the condition never held');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

afterEach(async () => {
  await client?.close();
  await cluster?.stop();
});

describe('DistSender routing', () => {
  it('sends each request of a batch to the range holding its key, at its leaseholder', async () => {
    await setup();
    await load();
    const puts = dataBatches().filter((b) => b.requests.includes('put'));
    // Leaseholders unknown yet: the first replica tried may redirect with a hint.
    expect(puts.filter((b) => b.error === undefined).map((b) => [b.rangeId, b.nodeId, b.requests.length]).sort()).toEqual([
      [2, 2, 4],
      [3, 3, 5],
      [4, 1, 4],
    ]);
    expect(puts.filter((b) => b.error !== undefined).every((b) => b.error === 'NOT_LEASEHOLDER')).toBe(true);
    // Now cached: one batch per range, straight to the leaseholder.
    cluster.log.length = 0;
    await load();
    expect(dataBatches().map((b) => [b.rangeId, b.nodeId, b.error]).sort()).toEqual([
      [2, 2, undefined],
      [3, 3, undefined],
      [4, 1, undefined],
    ]);
    const responses = await client.batch([
      { request: { $case: 'get', value: { key: k(0x41), forUpdate: false } } },
      { request: { $case: 'get', value: { key: k(0x06), forUpdate: false } } },
      { request: { $case: 'get', value: { key: k(0x12), forUpdate: false } } },
    ]);
    expect(responses.map((r) => (r.response?.$case === 'get' ? r.response.value.value?.value.toString() : 'x'))).toEqual([
      'value-of-41',
      'value-of-06',
      undefined,
    ]);
  });

  it('scans across three ranges in parallel and merges the rows in key order', async () => {
    await setup();
    await load();
    cluster.log.length = 0;
    cluster.responseDelayMs = 50;
    const result = await client.scan(k(0x05), KEY_MAX);
    expect(hex(result.rows)).toEqual(all);
    expect(result.resumeSpan).toBeUndefined();
    expect(dataBatches().map((b) => b.rangeId).sort()).toEqual([2, 3, 4]);
    expect(cluster.maxConcurrent).toBeGreaterThanOrEqual(3);
  });

  it('reverse-scans across ranges in descending key order', async () => {
    await setup();
    await load();
    const result = await client.reverseScan(k(0x05, 0x02), k(0x50));
    expect(hex(result.rows)).toEqual(all.slice(1, 11).reverse());
  });

  it('gives exactly the first N rows and the rest as the resume span, forward and reverse, across ranges', async () => {
    await setup();
    await load();
    for (const reverse of [false, true]) {
      const expected = reverse ? [...all].reverse() : all;
      for (let n = 1; n <= KEYS.length + 1; n++) {
        const scan = reverse ? client.reverseScan.bind(client) : client.scan.bind(client);
        const page = await scan(k(0x05), KEY_MAX, { maxKeys: n });
        expect(hex(page.rows)).toEqual(expected.slice(0, n));
        if (n < KEYS.length) {
          expect(page.resumeSpan).toBeDefined();
        }
        if (page.resumeSpan !== undefined) {
          // The resume span is exactly what was not returned.
          const { startKey, endKey } = page.resumeSpan;
          expect(reverse ? startKey : endKey).toEqual(reverse ? k(0x05) : KEY_MAX);
          const rest = await scan(startKey, endKey);
          expect(hex(rest.rows)).toEqual(expected.slice(n));
        }
      }
    }
  });

  it('honours maxBytes across ranges the same way', async () => {
    await setup();
    await load();
    let collected: string[] = [];
    let start = k(0x05);
    let pages = 0;
    for (; pages < 20; pages++) {
      const page = await client.scan(start, KEY_MAX, { maxBytes: 40 });
      expect(page.rows.length).toBeGreaterThan(0);
      // Rows until they reach maxBytes: all but the last are below it; a page cut short has reached it.
      expect(bytesOf(page.rows.slice(0, -1))).toBeLessThan(40);
      if (page.resumeSpan !== undefined) {
        expect(bytesOf(page.rows)).toBeGreaterThanOrEqual(40);
      }
      collected = [...collected, ...hex(page.rows)];
      if (page.resumeSpan === undefined) {
        break;
      }
      start = page.resumeSpan.startKey;
    }
    expect(collected).toEqual(all);
    expect(pages + 1).toBeGreaterThanOrEqual(3); // ~170 bytes in pages of ~40
  });

  it('visits ranges one at a time under a limit and asks no range past it', async () => {
    await setup();
    await load();
    cluster.log.length = 0;
    const page = await client.scan(k(0x05), KEY_MAX, { maxKeys: 4 }); // exactly r2's rows
    expect(hex(page.rows)).toEqual(all.slice(0, 4));
    expect(page.resumeSpan).toEqual({ startKey: k(0x10), endKey: KEY_MAX });
    expect(dataBatches().map((b) => [b.rangeId, b.requests])).toEqual([[2, ['scan']]]);
    cluster.log.length = 0;
    const reverse = await client.reverseScan(k(0x05), KEY_MAX, { maxKeys: 5 }); // r4's 4 rows and one of r3
    expect(hex(reverse.rows)).toEqual([...all].reverse().slice(0, 5));
    expect(reverse.resumeSpan).toEqual({ startKey: k(0x05), endKey: k(0x30, 0x00, 0x00) });
    expect(dataBatches().map((b) => b.rangeId)).toEqual([4, 3]);
  });
});

describe('DistSender recovery', () => {
  it('follows a NOT_LEASEHOLDER hint and remembers the new leaseholder', async () => {
    await setup();
    await load();
    cluster.setLeaseholder(3, 2);
    cluster.log.length = 0;
    expect((await client.get(k(0x20)))?.toString()).toBe('value-of-20');
    expect(dataBatches().map((b) => [b.nodeId, b.error])).toEqual([
      [3, 'NOT_LEASEHOLDER'],
      [2, undefined],
    ]);
    expect(client.distSender.rangeCache.get(3)?.leaseholderNodeId).toBe(2);
    cluster.log.length = 0;
    await client.get(k(0x21));
    expect(dataBatches().map((b) => [b.nodeId, b.error])).toEqual([[2, undefined]]);
  });

  it('after replicas changed without a split, learns the new descriptor instead of asking a stale replica first every time', async () => {
    await setup();
    cluster.setReplicas(3, [1], 1);
    await client.put(k(0x30), v('x')); // caches r3 with node 1 alone
    cluster.setReplicas(3, [1, 2, 3], 3); // up-replicated, the lease moved to node 3: the span is the same
    cluster.log.length = 0;
    expect(await client.get(k(0x30))).toEqual(v('x'));
    expect(dataBatches().map((b) => [b.nodeId, b.error])).toEqual([
      [1, 'NOT_LEASEHOLDER'],
      [3, undefined],
    ]);
    await eventually(() => client.distSender.rangeCache.get(3)?.desc.replicas.length === 3);
    expect(client.distSender.rangeCache.get(3)?.leaseholderNodeId).toBe(3);
    cluster.log.length = 0;
    for (let i = 0; i < 3; i++) expect(await client.get(k(0x30))).toEqual(v('x'));
    expect(dataBatches().map((b) => [b.nodeId, b.error])).toEqual([
      [3, undefined],
      [3, undefined],
      [3, undefined],
    ]);
  });

  it('tries the other replicas when NOT_LEASEHOLDER carries no hint', async () => {
    await setup();
    await load();
    cluster.hintless = true;
    cluster.setLeaseholder(3, 1);
    cluster.log.length = 0;
    expect((await client.get(k(0x20)))?.toString()).toBe('value-of-20');
    expect(dataBatches().map((b) => [b.nodeId, b.error])).toEqual([
      [3, 'NOT_LEASEHOLDER'],
      [1, undefined],
    ]);
  });

  it('recovers from a stale cache after a split it did not see (RANGE_KEY_MISMATCH)', async () => {
    await setup();
    await load();
    await client.scan(k(0x10), k(0x40)); // caches r3 [0x10, 0x40)
    const { right } = cluster.split(k(0x20));
    cluster.log.length = 0;
    const result = await client.scan(k(0x05), KEY_MAX);
    expect(hex(result.rows)).toEqual(all);
    expect(dataBatches().some((b) => b.rangeId === 3 && b.error === 'RANGE_KEY_MISMATCH')).toBe(true);
    expect(dataBatches().some((b) => b.rangeId === Number(right.rangeId) && b.error === undefined)).toBe(true);
    expect(await client.lookupRange(k(0x30))).toEqual(right);
    // Limited scans (sequential) recover the same way.
    cluster.split(k(0x11));
    cluster.log.length = 0;
    const page = await client.scan(k(0x10), KEY_MAX, { maxKeys: 3 });
    expect(hex(page.rows)).toEqual(all.slice(4, 7));
    expect(page.resumeSpan?.startKey).toEqual(k(0x30, 0x00));
    expect(dataBatches().map((b) => [b.rangeId, b.error])).toEqual([
      [3, 'RANGE_KEY_MISMATCH'],
      [3, undefined], // r3's leaseholder carried over to its new descriptor
      [6, undefined], // the new range's leaseholder guessed from its parent's
      [5, undefined],
    ]);
  });

  it('asks another replica when one answers RANGE_KEY_MISMATCH with an older descriptor than ours (it lags)', async () => {
    await setup({}, { requestTimeoutMs: 1_000 });
    cluster.setReplicas(3, [1, 2, 3], 2); // r3 generation 1, lease on node 2
    await client.put(k(0x30), v('x'));
    cluster.setStaleView(1, { ...cluster.rangeAt(k(0x30)), endKey: k(0x20), generation: 0n });
    client.distSender.rangeCache.setLeaseholder(3, undefined);
    cluster.log.length = 0;
    expect(await client.get(k(0x30))).toEqual(v('x'));
    expect(dataBatches().map((b) => [b.nodeId, b.error])).toEqual([
      [1, 'RANGE_KEY_MISMATCH'],
      [2, undefined],
    ]);
  });

  it('finds ranges through meta1 once meta2 has split off the first range', async () => {
    await setup();
    await load();
    await client.adminSplit(k(0x03, 0x40)); // r1 -> [KEY_MIN, 0x03 0x40) + [0x03 0x40, 0x04)
    const fresh = await KvClient.connect({ addresses: cluster.addresses(), requestTimeoutMs: 2_000 });
    try {
      // A limited reverse scan looks ranges up from their end keys: r4, r3, r2.
      expect(hex((await fresh.reverseScan(k(0x05), KEY_MAX, { maxKeys: 20 })).rows)).toEqual([...all].reverse());
      fresh.distSender.rangeCache.clear();
      expect((await fresh.get(k(0x50)))?.toString()).toBe('value-of-50'); // r4's record is in the new meta2 range
      expect((await fresh.get(k(0x06)))?.toString()).toBe('value-of-06'); // r2's record stayed in r1
      expect(hex((await fresh.scan(k(0x05), KEY_MAX)).rows)).toEqual(all);
      expect(cluster.log.some((b) => b.rangeId === 5 && b.requests[0] === 'scan')).toBe(true); // meta2 read in r5
      const ids = fresh.distSender.rangeCache.all().map((e) => Number(e.desc.rangeId));
      expect(ids).toEqual([1, 5, 2, 3, 4]);
    } finally {
      await fresh.close();
    }
  });

  it('tries other replicas when a node lacks the range, looks the range up again and learns new nodes from ClusterInfo', async () => {
    await setup({ nodes: 4, unlistedNodes: [4] });
    cluster.setReplicas(4, [1, 2, 3], 1);
    await client.put(k(0x45), v('x'));
    cluster.setReplicas(4, [4], 4); // the range moved to a node the client has never heard of
    cluster.listNode(4);
    cluster.log.length = 0;
    expect((await client.get(k(0x45)))?.toString()).toBe('x');
    const notFound = dataBatches().filter((b) => b.error === 'RANGE_NOT_FOUND').map((b) => b.nodeId);
    expect(notFound.sort()).toEqual([1, 2, 3]);
    expect(dataBatches().at(-1)).toMatchObject({ nodeId: 4, rangeId: 4, error: undefined });
    expect(client.distSender.nodeAddress(4)).toBe(cluster.address(4));
  });

  it('goes to another replica when the leaseholder node is down', async () => {
    await setup();
    await load();
    cluster.stopNode(3);
    cluster.setLeaseholder(3, 1); // the survivors elected a new leader
    expect((await client.get(k(0x20)))?.toString()).toBe('value-of-20');
    expect(hex((await client.scan(k(0x05), KEY_MAX)).rows)).toEqual(all);
  });

  it('fails with UnavailableError by the deadline when a range cannot serve, and other ranges still work', async () => {
    await setup({}, { requestTimeoutMs: 300 });
    await load();
    cluster.setFault(3, 'unavailable');
    const started = Date.now();
    await expect(client.get(k(0x20))).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(Date.now() - started).toBeLessThan(300 + 1_000);
    await expect(client.scan(k(0x05), KEY_MAX)).rejects.toBeInstanceOf(UnavailableError);
    expect((await client.get(k(0x41)))?.toString()).toBe('value-of-41');
  });

  it('fails by the deadline when a node never answers, or every node is down', async () => {
    await setup({}, { requestTimeoutMs: 300 });
    await load();
    cluster.setFault(4, 'blackhole');
    let started = Date.now();
    await expect(client.put(k(0x45), v('y'))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(300 + 1_000);
    for (const node of [1, 2, 3]) {
      cluster.stopNode(node);
    }
    started = Date.now();
    await expect(client.get(k(0x20))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(client.get(k(0x99))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(2 * (300 + 1_000));
  });

  it('fails the whole batch with a piece’s non-retryable error', async () => {
    await setup();
    await load();
    const requests: pb.RequestUnion[] = [
      { request: { $case: 'put', value: { key: k(0x46), value: v('ok') } } },
      { request: { $case: 'conditionalPut', value: { key: k(0x20), value: v('new'), expectedValue: v('wrong') } } },
    ];
    const error = await client.batch(requests).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ConditionFailedError);
    expect((error as ConditionFailedError).actualValue?.toString()).toBe('value-of-20');
  });

  it('answers a failed batch only once its other pieces are done: none is left on its way', async () => {
    // A transport that counts the batches it is still waiting for.
    const inner = new GrpcKvTransport();
    let inFlight = 0;
    const transport: KvTransport = {
      sendBatch: async (...args) => {
        inFlight++;
        try {
          return await inner.sendBatch(...args);
        } finally {
          inFlight--;
        }
      },
      clusterInfo: (...args) => inner.clusterInfo(...args),
      close: () => inner.close(),
    };
    await setup({}, { transport });
    await load();
    // r4's piece is held until the deadline; r3's fails at once.
    cluster.setFault(Number(cluster.rangeAt(k(0x46)).rangeId), 'unavailable');
    const requests: pb.RequestUnion[] = [
      { request: { $case: 'put', value: { key: k(0x46), value: v('slow') } } },
      { request: { $case: 'conditionalPut', value: { key: k(0x20), value: v('new'), expectedValue: v('wrong') } } },
    ];
    const error = await client.batch(requests, { deadlineUnixMs: Date.now() + 300 }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ConditionFailedError);
    expect(inFlight).toBe(0);
  });
});

describe('closing', () => {
  it('sends the coalesced requests already asked for before the connections close', async () => {
    await setup();
    // Work nobody awaits, as a parallel commit's record made COMMITTED is.
    const unawaited = client.distSender.coalescer.add({ request: { $case: 'put', value: { key: k(0x21), value: v('late') } } });
    await client.close();
    await expect(unawaited).resolves.toBeDefined();
    expect(dataBatches().some((b) => b.requests.includes('put'))).toBe(true);
    client = await KvClient.connect({ addresses: cluster.addresses(), requestTimeoutMs: 2_000 });
    expect((await client.get(k(0x21)))?.toString()).toBe('late');
  });

  it('lets work in the background finish first', async () => {
    await setup();
    let finish = (): void => undefined;
    const cleanup = new Promise<void>((resolve) => {
      finish = resolve;
    }).then(() => client.put(k(0x22), v('cleaned')));
    client.distSender.inBackground(cleanup);
    let closed = false;
    const closing = client.close().then(() => {
      closed = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(closed).toBe(false);
    finish();
    await closing;
    client = await KvClient.connect({ addresses: cluster.addresses(), requestTimeoutMs: 2_000 });
    expect((await client.get(k(0x22)))?.toString()).toBe('cleaned');
  });
});

describe('a write that may have landed unanswered', () => {
  /**
   * A transport that lets the first batch writing `lost` through, then reports the
   * stream broken as if the answer was lost on the way; it stages EndTxns itself (the
   * fake cluster serves no transactions). Counts the batches that write `lost`.
   */
  function losingTransport(lost: Buffer): { transport: KvTransport; sends: () => number } {
    const inner = new GrpcKvTransport();
    let sends = 0;
    const transport: KvTransport = {
      sendBatch: async (address, batch, deadlineUnixMs) => {
        const requests = batch.requests.map((r) => r.request);
        if (requests.some((r) => r?.$case === 'endTxn')) {
          const responses = requests.map((r): pb.ResponseUnion =>
            r?.$case === 'endTxn' ? { response: { $case: 'endTxn', value: { txn: batch.header?.txn, onePhaseCommit: false } } } : { response: { $case: 'put', value: {} } },
          );
          return { responses };
        }
        const writesLost = requests.some((r) => r?.$case === 'put' && r.value.key.equals(lost));
        const response = await inner.sendBatch(address, batch, deadlineUnixMs);
        if (writesLost && ++sends === 1) throw new NodeUnavailableError(address, 'unreachable', `stream to node ${address} failed after the batch went out`);
        return response;
      },
      clusterInfo: (...args) => inner.clusterInfo(...args),
      close: () => inner.close(),
    };
    return { transport, sends: () => sends };
  }

  const put = (key: Buffer, value: string): pb.RequestUnion => ({ request: { $case: 'put', value: { key, value: v(value) } } });

  it('is not sent again when it is part of a parallel commit: the commit is ambiguous', async () => {
    const lost = k(0x45);
    const { transport, sends } = losingTransport(lost);
    await setup({}, { transport });
    const commit: pb.RequestUnion = {
      request: { $case: 'endTxn', value: { key: k(0x20), commit: true, lockSpans: [], refreshSpans: [], inFlightWrites: [lost] } },
    };
    const error = await client.batch([put(k(0x20), 'a'), put(lost, 'b'), commit]).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(AmbiguousResultError);
    expect(sends()).toBe(1);
    // It did land: sent again to the range's next leaseholder, it could have been laid
    // a second time above the staged timestamp.
    expect((await client.get(lost))?.toString()).toBe('b');
  });

  it('an EndTxn anchored on a range before its writes goes out once they are answered', async () => {
    const inner = new GrpcKvTransport();
    const order: string[] = [];
    const transport: KvTransport = {
      sendBatch: async (address, batch, deadlineUnixMs) => {
        const kinds = batch.requests.map((r) => r.request?.$case ?? '');
        order.push(kinds.join('+'));
        if (kinds.includes('endTxn')) return { responses: [{ response: { $case: 'endTxn', value: { txn: batch.header?.txn, onePhaseCommit: false } } }] };
        return inner.sendBatch(address, batch, deadlineUnixMs);
      },
      clusterInfo: (...args) => inner.clusterInfo(...args),
      close: () => inner.close(),
    };
    await setup({}, { transport });
    order.length = 0;
    const commit: pb.RequestUnion = { request: { $case: 'endTxn', value: { key: k(0x20), commit: true, lockSpans: [], refreshSpans: [], inFlightWrites: [] } } };
    const responses = await client.batch([commit, put(k(0x45), 'b')]);
    expect(responses.map((r) => r.response?.$case)).toEqual(['endTxn', 'put']);
    expect(order.filter((o) => o !== 'get' && !o.startsWith('scan'))).toEqual(['put', 'endTxn']);
  });

  it('is sent again otherwise', async () => {
    const lost = k(0x45);
    const { transport, sends } = losingTransport(lost);
    await setup({}, { transport });
    await client.batch([put(k(0x20), 'a'), put(lost, 'b')]);
    expect(sends()).toBeGreaterThanOrEqual(2);
    expect((await client.get(lost))?.toString()).toBe('b');
  });
});

describe('giving up early (a cancelled statement)', () => {
  it('a batch waiting on a range that does not answer ends when its signal aborts, not at its deadline', async () => {
    await setup();
    await load();
    cluster.setFault(Number(cluster.rangeAt(k(0x46)).rangeId), 'blackhole');
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 100);
    const error = await client
      .batch([{ request: { $case: 'get', value: { key: k(0x46), forUpdate: false } } }], { deadlineUnixMs: Date.now() + 30_000, signal: controller.signal })
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(OperationCancelledError);
    expect(Date.now() - started).toBeLessThan(5_000);
    // An aborted signal stops a batch before it is sent.
    await expect(client.batch([{ request: { $case: 'get', value: { key: k(0x05, 0x01), forUpdate: false } } }], { signal: controller.signal })).rejects.toBeInstanceOf(
      OperationCancelledError,
    );
  });

  it('so does one backing off between retries', async () => {
    await setup();
    await load();
    cluster.setFault(Number(cluster.rangeAt(k(0x20)).rangeId), 'unavailable');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const error = await client
      .batch([{ request: { $case: 'get', value: { key: k(0x20), forUpdate: false } } }], { deadlineUnixMs: Date.now() + 30_000, signal: controller.signal })
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(OperationCancelledError);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a transaction whose write was cut short can only be rolled back; one whose read was cut short goes on', async () => {
    await setup();
    await load();
    const rangeId = Number(cluster.rangeAt(k(0x46)).rangeId);
    // A read cut short leaves the transaction usable.
    const reader = client.beginTxn();
    const readStop = new AbortController();
    reader.statementLimits = { signal: readStop.signal };
    cluster.setFault(rangeId, 'blackhole');
    setTimeout(() => readStop.abort(), 50);
    await expect(reader.get(k(0x46))).rejects.toBeInstanceOf(OperationCancelledError);
    cluster.setFault(rangeId, undefined);
    reader.statementLimits = undefined;
    expect((await reader.get(k(0x05, 0x01)))?.toString()).toBe('value-of-0501');
    await reader.commit();
    // A write (sent ahead of a read of its key) cut short may still land: no commit.
    const writer = client.beginTxn();
    const writeStop = new AbortController();
    writer.statementLimits = { signal: writeStop.signal };
    await writer.put(k(0x46), v('maybe'));
    cluster.setFault(rangeId, 'blackhole');
    setTimeout(() => writeStop.abort(), 50);
    await expect(writer.get(k(0x46))).rejects.toBeInstanceOf(OperationCancelledError);
    cluster.setFault(rangeId, undefined);
    writer.statementLimits = undefined;
    await expect(writer.get(k(0x05, 0x01))).rejects.toThrow(/cut short .* can only be rolled back/);
    await expect(writer.commit()).rejects.toThrow(/can only be rolled back/);
    await writer.rollback();
    expect(writer.status).toBe('aborted');
  });
});

