/**
 * Closed timestamps and follower reads on a three-node cluster: a read AS OF SYSTEM
 * TIME at or below the closed timestamp is served by the replica nearest the client
 * (not the leaseholder); one above it waits there until the follower has caught up.
 */
import { InvalidArgumentError } from '../../common/errors';
import type { Timestamp } from '../../common/hlc';
import { KvClient } from '../../kv';
import type { TestCluster } from '../support/test-cluster';
import { startTestCluster, stopTestCluster } from '../support/test-cluster';
import { eventually } from '../support/eventually';

jest.setTimeout(120_000);

const TARGET_MS = 1_000;
const key = (name: string): Buffer => Buffer.from(`user/follower/${name}`);

async function followerReads(httpAddress: string): Promise<number> {
  const text = await (await fetch(`http://${httpAddress}/metrics`)).text();
  const match = /^cairn_follower_reads_total(?:\{[^}]*\})? (\S+)$/m.exec(text);
  return match === null ? 0 : Number(match[1]);
}

const ago = (ms: number): Timestamp => ({ wallTime: BigInt(Date.now() - ms) * 1_000_000n, logical: 0 });

describe('follower reads', () => {
  let running: TestCluster | undefined;

  beforeAll(async () => {
    running = await startTestCluster('follower-reads', {
      nodes: 3,
      localities: ['region=r1,zone=a', 'region=r1,zone=b', 'region=r1,zone=c'],
      extraNodeArgs: ['--closed-timestamp-target-ms', String(TARGET_MS)],
    });
    const { admin } = running;
    await eventually('every range on three voters', async () => {
      const { ranges } = await admin.ranges();
      return ranges.length >= 4 && ranges.every((r) => r.descriptor?.replicas.length === 3 && r.leaseholderNodeId > 0n) ? ranges : undefined;
    }, 90_000);
  });

  afterAll(async () => {
    await stopTestCluster(running);
  });

  test('a historical read is served by the nearest replica, which waits to catch up when it must', async () => {
    const { kv, cluster } = running as TestCluster;
    const k = key('a');
    const beforeWrite = ago(0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await kv.put(k, Buffer.from('v1'));
    const leaseholder = Number((await kv.rangeStats(k)).lease?.nodeId ?? 0n);
    expect(leaseholder).toBeGreaterThan(0);
    const follower = cluster.nodes.find((n) => n.nodeId !== leaseholder);
    expect(follower).toBeDefined();
    const zone = ['a', 'b', 'c'][(follower?.index ?? 1) - 1] as string;
    const near = await KvClient.connect({
      addresses: cluster.addresses,
      locality: [
        { key: 'region', value: 'r1' },
        { key: 'zone', value: zone },
      ],
    });
    try {
      const httpAddress = follower?.httpAddress as string;
      const served = await followerReads(httpAddress);
      // Long enough ago to be closed everywhere: served by the follower at once.
      await new Promise((resolve) => setTimeout(resolve, TARGET_MS + 1_500));
      const settled = ago(TARGET_MS + 500);
      const read = await near.txn((txn) => txn.get(k), { asOf: settled });
      expect(read?.toString()).toBe('v1');
      // As of before the write, the key did not exist.
      expect(await near.txn((txn) => txn.get(k), { asOf: beforeWrite })).toBeUndefined();
      expect(await followerReads(httpAddress)).toBeGreaterThanOrEqual(served + 2);

      // A read newer than the follower's closed timestamp waits there for it.
      await kv.put(k, Buffer.from('v2'));
      const recent = ago(0);
      const started = Date.now();
      const fresh = await near.txn((txn) => txn.get(k), { asOf: recent });
      expect(fresh?.toString()).toBe('v2');
      expect(Date.now() - started).toBeGreaterThanOrEqual(TARGET_MS / 2);
      expect(await followerReads(httpAddress)).toBeGreaterThanOrEqual(served + 3);

      // A historical transaction cannot write.
      await expect(near.txn((txn) => txn.put(k, Buffer.from('x')), { asOf: settled })).rejects.toBeInstanceOf(InvalidArgumentError);
    } finally {
      await near.close();
    }
  });
});
