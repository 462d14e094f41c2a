import * as net from 'node:net';
import { InvalidArgumentError } from '../common/errors';
import { KEY_MAX } from '../common/keys';
import type { DistSenderEvent } from './dist-sender';
import { ConditionFailedError, UnavailableError } from './errors';
import type { KvClientOptions } from './kv-client';
import { KvClient } from './kv-client';
import type { NodeConnectionEvent } from './node-connection';
import { FakeKvCluster } from './test-support/fake-kv-cluster';

const k = (...bytes: number[]): Buffer => Buffer.from(bytes);
const v = (text: string): Buffer => Buffer.from(text);

let cluster: FakeKvCluster;
let client: KvClient;
const events: (DistSenderEvent | NodeConnectionEvent)[] = [];

async function setup(options: Partial<KvClientOptions> = {}): Promise<void> {
  cluster = await FakeKvCluster.start();
  client = await KvClient.connect({ addresses: cluster.addresses(), onEvent: (e) => events.push(e), ...options });
}

beforeEach(async () => {
  events.length = 0;
  await setup();
});

afterEach(async () => {
  await client.close();
  await cluster.stop();
});

/** A port nothing listens on. */
async function deadAddress(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

describe('KvClient', () => {
  it('puts, gets and deletes single keys', async () => {
    await client.put(k(0x20), v('a'));
    expect(await client.get(k(0x20))).toEqual(v('a'));
    expect(await client.get(k(0x21))).toBeUndefined();
    expect(await client.delete(k(0x20))).toBe(true);
    expect(await client.delete(k(0x20))).toBe(false);
    expect(await client.get(k(0x20))).toBeUndefined();
    // Plain Uint8Arrays work as keys and values.
    await client.put(new Uint8Array([0x41, 0x42]), new Uint8Array([1, 2, 3]));
    expect(await client.get(k(0x41, 0x42))).toEqual(k(1, 2, 3));
  });

  it('writes conditionally, and reports the value found when the condition fails', async () => {
    await client.conditionalPut(k(0x30), v('one'), undefined);
    const failed = await client.conditionalPut(k(0x30), v('two'), undefined).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(ConditionFailedError);
    expect((failed as ConditionFailedError).actualValue).toEqual(v('one'));
    await client.conditionalPut(k(0x30), v('two'), v('one'));
    await expect(client.conditionalPut(k(0x30), v('three'), v('one'))).rejects.toMatchObject({
      code: 'CONDITION_FAILED',
      actualValue: v('two'),
    });
    await expect(client.conditionalPut(k(0x31), v('x'), v('anything'))).rejects.toMatchObject({ actualValue: undefined });
    expect(await client.get(k(0x30))).toEqual(v('two'));
  });

  it('deletes a span across ranges and counts what it deleted', async () => {
    for (const key of [k(0x05), k(0x0f), k(0x10), k(0x3f), k(0x40), k(0x41), k(0x90)]) {
      await client.put(key, v('x'));
    }
    expect(await client.deleteRange(k(0x0f), k(0x41))).toBe(4);
    expect((await client.scan(k(0x04), KEY_MAX)).rows.map((r) => r.key)).toEqual([k(0x05), k(0x41), k(0x90)]);
    expect(await client.deleteRange(k(0x0f), k(0x41))).toBe(0);
  });

  it('splits a range and routes to the new range at once', async () => {
    await client.put(k(0x25), v('x'));
    const { left, right } = await client.adminSplit(k(0x20));
    expect([left.startKey, left.endKey, right.startKey, right.endKey]).toEqual([k(0x10), k(0x20), k(0x20), k(0x40)]);
    expect(await client.lookupRange(k(0x25))).toEqual(right);
    cluster.log.length = 0;
    expect(await client.get(k(0x25))).toEqual(v('x'));
    expect(cluster.log.map((b) => b.error)).not.toContain('RANGE_KEY_MISMATCH');
  });

  it('moves a lease and remembers where it went', async () => {
    await client.put(k(0x20), v('x'));
    await client.adminTransferLease(k(0x20), 1);
    expect(cluster.leaseholderOf(3)).toBe(1);
    cluster.log.length = 0;
    await client.get(k(0x20));
    expect(cluster.log.map((b) => [b.nodeId, b.error])).toEqual([[1, undefined]]);
  });

  it('changes replicas, reads range stats and cluster info', async () => {
    const removed = await client.adminChangeReplicas(k(0x50), { remove: 2 });
    expect(removed.replicas.map((r) => Number(r.nodeId))).toEqual([1, 3]);
    const added = await client.adminChangeReplicas(k(0x50), { add: 2 });
    expect(added.replicas.map((r) => Number(r.nodeId))).toEqual([1, 3, 2]);
    expect(await client.lookupRange(k(0x50))).toEqual(added);
    await client.put(k(0x50), v('abc'));
    const stats = await client.rangeStats(k(0x50));
    expect(stats.descriptor?.rangeId).toBe(4n);
    expect(stats.liveCount).toBe(1n);
    const info = await client.clusterInfo();
    expect(info.clusterId).toBe('fake-cluster');
    expect(info.nodes.map((n) => n.address)).toEqual(cluster.addresses());
  });

  it('rejects what cannot be routed', async () => {
    await expect(
      client.batch([
        { request: { $case: 'adminSplit', value: { splitKey: k(0x20) } } },
        { request: { $case: 'get', value: { key: k(0x20), forUpdate: false } } },
      ]),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(client.batch([{ request: { $case: 'get', value: { key: k(0x20), forUpdate: false } } }], { maxKeys: 1 })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(client.get(KEY_MAX)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect((await client.scan(k(0x30), k(0x20))).rows).toEqual([]);
  });

  it('reports routing events to the hook', async () => {
    cluster.setLeaseholder(3, 2);
    await client.put(k(0x20), v('x'));
    expect(events.some((e) => e.kind === 'clusterInfo')).toBe(true);
    expect(events.some((e) => e.kind === 'rangeLookup')).toBe(true);
    expect(events.some((e) => e.kind === 'replicaError' && e.error.code === 'NOT_LEASEHOLDER')).toBe(true);
    expect(events.some((e) => e.kind === 'streamOpened')).toBe(true);
  });

  it('fails to connect, quickly, when no node answers', async () => {
    const started = Date.now();
    await expect(KvClient.connect({ addresses: [await deadAddress()], requestTimeoutMs: 500 })).rejects.toBeInstanceOf(
      UnavailableError,
    );
    expect(Date.now() - started).toBeLessThan(1_500);
    await expect(KvClient.connect({ addresses: [] })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('connects through any answering address', async () => {
    const other = await KvClient.connect({ addresses: [await deadAddress(), cluster.address(2)], requestTimeoutMs: 1_000 });
    try {
      await other.put(k(0x60), v('y'));
      expect(await client.get(k(0x60))).toEqual(v('y'));
    } finally {
      await other.close();
    }
  });

  it('refuses calls once closed', async () => {
    await client.close();
    await expect(client.get(k(0x20))).rejects.toBeInstanceOf(UnavailableError);
  });
});
