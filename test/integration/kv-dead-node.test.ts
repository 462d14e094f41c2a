/**
 * Four cairn-node processes with a short dead-node timeout: when a node dies, the
 * leaseholders of its ranges replace its replicas on the spare node, so every range
 * is back at three live voters without anyone stepping in.
 */
import type { AdminClient } from '../../cli/admin-client';
import type { LocalCluster } from '../../cli/local-cluster';
import type { KvClient } from '../../kv';
import type { TestCluster } from '../support/test-cluster';
import { startTestCluster, stopTestCluster } from '../support/test-cluster';
import { eventually } from '../support/eventually';
import type { RangesResponse } from '../../proto/gen/cairn/node/v1/admin';
import { ReplicaType } from '../../proto/gen/cairn/kv/v1/kv';

jest.setTimeout(180_000);

function voterNodes(ranges: RangesResponse): number[][] {
  return ranges.ranges.map((r) =>
    (r.descriptor?.replicas ?? []).filter((rep) => rep.type === ReplicaType.REPLICA_TYPE_VOTER).map((rep) => Number(rep.nodeId)),
  );
}

describe('a dead node', () => {
  let running: TestCluster | undefined;
  let cluster: LocalCluster;
  let kv: KvClient;
  let admin: AdminClient;

  beforeAll(async () => {
    running = await startTestCluster('dead-node', { nodes: 4, extraNodeArgs: ['--dead-node-timeout-ms', '2000'] });
    ({ cluster, kv, admin } = running);
  });

  afterAll(async () => {
    await stopTestCluster(running);
  });

  test('has its replicas replaced on the spare node once the timeout passes', async () => {
    await kv.put(Buffer.from('dead/before'), Buffer.from('1'));
    const settled = await eventually(
      'every range on three voters',
      async () => {
        const ranges = await admin.ranges();
        return ranges.ranges.length >= 4 && voterNodes(ranges).every((v) => v.length === 3) ? ranges : undefined;
      },
      90_000,
    );
    // A node (not the first, which the admin client talks to) that holds replicas.
    const victimId = [2, 3, 4].find((id) => voterNodes(settled).some((v) => v.includes(id))) as number;
    const victim = cluster.nodes.find((n) => n.nodeId === victimId);
    expect(victim).toBeDefined();
    await cluster.kill((victim as { index: number }).index, 'SIGKILL');

    const healed = await eventually(
      `node ${victimId}'s replicas replaced`,
      async () => {
        const ranges = await admin.ranges();
        const voters = voterNodes(ranges);
        // Leases may be moving (balancing): every range must have a holder again.
        const held = ranges.ranges.every((r) => r.leaseholderNodeId !== 0n);
        return held && voters.every((v) => v.length === 3 && !v.includes(victimId)) ? ranges : undefined;
      },
      120_000,
    );
    expect(healed.ranges.every((r) => Number(r.leaseholderNodeId) !== victimId)).toBe(true);
    expect((await kv.get(Buffer.from('dead/before')))?.toString()).toBe('1');
    await kv.put(Buffer.from('dead/after'), Buffer.from('2'));
    expect((await kv.get(Buffer.from('dead/after')))?.toString()).toBe('2');
  });
});
