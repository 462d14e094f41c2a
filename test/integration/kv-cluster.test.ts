/**
 * A three-node cluster of real cairn-node processes on loopback, driven through the KV
 * client (DistSender) and the admin API: bootstrap and join, up-replication, a split
 * and routing across it, a node killed while a client writes, and a lost quorum.
 */
import * as fs from 'node:fs';
import { AdminClient } from '../../cli/admin-client';
import type { LocalCluster } from '../../cli/local-cluster';
import { KvClient } from '../../kv';
import type { TestCluster } from '../support/test-cluster';
import { startTestCluster, stopTestCluster } from '../support/test-cluster';
import { eventually } from '../support/eventually';
import { ReplicaType } from '../../proto/gen/cairn/kv/v1/kv';
import { metricTotal } from '../../common/metrics';

jest.setTimeout(180_000);

const key = (i: number): Buffer => Buffer.from(`user/${String(i).padStart(5, '0')}`);

describe('a three-node cluster', () => {
  let running: TestCluster | undefined;
  let cluster: LocalCluster;
  let kv: KvClient;
  let admin: AdminClient;

  beforeAll(async () => {
    running = await startTestCluster('kv-cluster', { nodes: 3 });
    ({ cluster, kv, admin } = running);
  });

  afterAll(async () => {
    await stopTestCluster(running);
  });

  test('bootstraps, joins every node, and replicates every range three ways', async () => {
    const status = await eventually('three live nodes', async () => {
      const response = await admin.nodeStatus();
      return response.nodes.length === 3 && response.nodes.every((n) => n.live) ? response : undefined;
    });
    expect(status.nodes.map((n) => Number(n.descriptor?.nodeId)).sort()).toEqual([1, 2, 3]);
    const ranges = await eventually('every range on three voters', async () => {
      const response = await admin.ranges();
      const full = response.ranges.every(
        (r) => r.descriptor?.replicas.filter((rep) => rep.type === ReplicaType.REPLICA_TYPE_VOTER).length === 3,
      );
      // Every range has a leaseholder (leases may be moving for balance meanwhile).
      const held = response.ranges.every((r) => r.leaseholderNodeId > 0n);
      return response.ranges.length >= 4 && full && held ? response : undefined;
    }, 90_000);
    // meta, liveness, system, user.
    expect(ranges.ranges.length).toBeGreaterThanOrEqual(4);
  });

  test('writes and reads through DistSender, across a split made by the admin API', async () => {
    for (let i = 0; i < 40; i++) {
      await kv.put(key(i), Buffer.from(`value-${i}`));
    }
    const { left, right } = await kv.adminSplit(key(20));
    expect(Buffer.from(left.endKey)).toEqual(key(20));
    expect(Buffer.from(right.startKey)).toEqual(key(20));
    expect(right.rangeId).not.toEqual(left.rangeId);

    // A scan over both ranges comes back whole and in order, both ways.
    const all = await kv.scan(key(0), key(40));
    expect(all.rows.map((r) => r.key.toString())).toEqual(Array.from({ length: 40 }, (_, i) => key(i).toString()));
    const reversed = await kv.reverseScan(key(0), key(40));
    expect(reversed.rows.map((r) => r.key.toString())).toEqual(
      Array.from({ length: 40 }, (_, i) => key(39 - i).toString()),
    );
    // A limit that ends inside the right range resumes exactly there.
    const limited = await kv.scan(key(10), key(40), { maxKeys: 15 });
    expect(limited.rows.map((r) => r.key.toString())).toEqual(Array.from({ length: 15 }, (_, i) => key(10 + i).toString()));
    expect(limited.resumeSpan?.startKey.toString()).toBe(key(25).toString());
    // Writes land on both sides and a conditional put sees them.
    await kv.put(key(5), Buffer.from('left-new'));
    await kv.put(key(35), Buffer.from('right-new'));
    expect((await kv.get(key(5)))?.toString()).toBe('left-new');
    expect((await kv.get(key(35)))?.toString()).toBe('right-new');
    await expect(kv.conditionalPut(key(35), Buffer.from('x'), Buffer.from('stale'))).rejects.toMatchObject({ code: 'CONDITION_FAILED' });
    await kv.conditionalPut(key(35), Buffer.from('cput'), Buffer.from('right-new'));
    expect((await kv.get(key(35)))?.toString()).toBe('cput');

    const ranges = await admin.ranges();
    const spans = ranges.ranges.map((r) => Buffer.from(r.descriptor?.startKey ?? []).toString());
    expect(spans).toContain(key(20).toString());
  });

  test('removes a replica and the replicate queue adds it back as a learner, then a voter; moves a lease', async () => {
    const probe = key(30);
    const before = await kv.lookupRange(probe);
    const removed = await kv.adminChangeReplicas(probe, { remove: 3 });
    expect(removed.replicas.map((r) => Number(r.nodeId))).not.toContain(3);
    expect(removed.generation).toBeGreaterThan(before.generation);
    // Data stays readable on the two remaining voters.
    expect((await kv.get(key(30)))?.toString()).toBe('value-30');
    await eventually('the range back on three voters', async () => {
      const stats = await kv.rangeStats(probe);
      const voters = stats.descriptor?.replicas.filter((r) => r.type === ReplicaType.REPLICA_TYPE_VOTER) ?? [];
      return voters.length === 3 && voters.some((r) => Number(r.nodeId) === 3) ? true : undefined;
    });
    const stats = await kv.rangeStats(probe);
    const holder = Number(stats.lease?.nodeId ?? 0n);
    const target = [1, 2, 3].find((id) => id !== holder) as number;
    await kv.adminTransferLease(probe, target);
    await eventually(`the lease on node ${target}`, async () => {
      const now = await kv.rangeStats(probe);
      return Number(now.lease?.nodeId ?? 0n) === target ? true : undefined;
    }, 15_000);
    expect((await kv.get(key(31)))?.toString()).toBe('value-31');
  });

  test('a replica added after the Raft log was truncated catches up from a snapshot and serves reads', async () => {
    const count = 1_200;
    const truncKey = (i: number): Buffer => Buffer.from(`trunc/${String(i).padStart(5, '0')}`);
    // One after another: writes made at once share Raft entries.
    for (let i = 0; i < count; i++) {
      await kv.put(truncKey(i), Buffer.from(`t${i}`));
    }
    const before = await kv.rangeStats(truncKey(0));
    // More entries applied than the log keeps: the log was truncated.
    expect(Number(before.raftAppliedIndex)).toBeGreaterThan(1_000);
    const removed = await kv.adminChangeReplicas(truncKey(0), { remove: 3 });
    expect(removed.replicas.some((r) => Number(r.nodeId) === 3)).toBe(false);
    await eventually('node 3 back as a voter', async () => {
      const stats = await kv.rangeStats(truncKey(0));
      return stats.descriptor?.replicas.some((r) => Number(r.nodeId) === 3 && r.type === ReplicaType.REPLICA_TYPE_VOTER) ? true : undefined;
    });
    // Serve from node 3's copy: every key is there.
    await eventually('the lease on node 3', async () => {
      await kv.adminTransferLease(truncKey(0), 3);
      const stats = await kv.rangeStats(truncKey(0));
      return Number(stats.lease?.nodeId ?? 0n) === 3 ? true : undefined;
    }, 20_000);
    const rows = await kv.scan(truncKey(0), truncKey(count));
    expect(rows.rows.length).toBe(count);
    expect(rows.rows.every((row, i) => row.value.toString() === `t${i}`)).toBe(true);
  });

  test('a command too large for one Raft entry is refused with BATCH_TOO_LARGE, and the nodes keep serving', async () => {
    const key = Buffer.from('\x30too-large');
    await expect(kv.put(key, Buffer.alloc(13 * 1024 * 1024, 7))).rejects.toMatchObject({ code: 'BATCH_TOO_LARGE', sqlState: '54000' });
    expect(await kv.get(key)).toBeUndefined();
    await kv.put(key, Buffer.from('small'));
    expect((await kv.get(key))?.toString()).toBe('small');
  });

  test('writes evaluated together go out in shared Raft entries, and every one applies', async () => {
    const entries = async (): Promise<number> => {
      let total = 0;
      for (const node of cluster.nodes) {
        total += metricTotal(await (await fetch(`http://${node.httpAddress}/metrics`)).text(), 'cairn_raft_committed_entries_total');
      }
      return total;
    };
    const count = 200;
    const keys = Array.from({ length: count }, (_, i) => Buffer.from(`user/merged/${String(i).padStart(4, '0')}`));
    // Each its own transaction, so its own batch and command: no client-side coalescing.
    await Promise.all(keys.slice(0, 4).map((k) => kv.txn(async (txn) => txn.put(k, Buffer.from('warm')))));
    const before = await entries();
    // The warm-up's entries were counted: the metric is there to compare.
    expect(before).toBeGreaterThan(0);
    await Promise.all(keys.map((k, i) => kv.txn(async (txn) => txn.put(k, Buffer.from(`merged-${i}`)))));
    const applied = (await entries()) - before;
    // One entry per command would be `count` entries on the leaseholder alone.
    expect(applied).toBeLessThan(count / 4);
    const rows = await kv.scan(Buffer.from('user/merged/'), Buffer.from('user/merged0'));
    expect(rows.rows.map((r) => r.value.toString())).toEqual(keys.map((_, i) => `merged-${i}`));
  });

  test('serves /metrics, /healthz and /readyz on every node', async () => {
    for (const node of cluster.nodes) {
      const metrics = await (await fetch(`http://${node.httpAddress}/metrics`)).text();
      for (const name of ['cairn_kv_request_duration_seconds', 'cairn_raft_proposals_total', 'cairn_replicas', 'cairn_leases']) {
        expect(metrics).toContain(name);
      }
      expect((await fetch(`http://${node.httpAddress}/healthz`)).status).toBe(200);
      expect((await fetch(`http://${node.httpAddress}/readyz`)).status).toBe(200);
    }
  });

  test('a node stopped with SIGTERM hands its leases off first and exits cleanly', async () => {
    const holder = await eventually('a node holding leases', async () => {
      const status = await admin.nodeStatus();
      return status.nodes.find((n) => n.leases > 0n && Number(n.descriptor?.nodeId) !== 1);
    });
    const holderId = Number(holder.descriptor?.nodeId);
    const node = cluster.nodes.find((n) => n.nodeId === holderId);
    expect(node).toBeDefined();
    const index = (node as { index: number }).index;
    const exit = await cluster.kill(index, 'SIGTERM');
    try {
      expect(exit).toEqual({ code: 0, signal: null });
      // Its leases moved before it left.
      const drained = fs
        .readFileSync((node as { logFile: string }).logFile, 'utf8')
        .split('\n')
        .filter((line) => line.includes('leases drained'))
        .map((line) => JSON.parse(line) as { leasesLeft: number });
      expect(drained.at(-1)?.leasesLeft).toBe(0);
      await eventually('a lease on every range while the node is down', async () => {
        const response = await admin.ranges();
        return response.ranges.every((r) => r.leaseholderNodeId !== 0n && Number(r.leaseholderNodeId) !== holderId) ? true : undefined;
      }, 10_000);
    } finally {
      // Back for the tests that follow, whatever this one found.
      await cluster.restart(index);
    }
  });

  test('keeps every acknowledged write when a node is killed mid-workload, and the node catches up', async () => {
    const acknowledged = new Map<string, string>();
    let stop = false;
    let failures = 0;
    const writer = async (worker: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const k = `kill/${worker}/${String(i).padStart(6, '0')}`;
        try {
          await kv.put(Buffer.from(k), Buffer.from(`v${i}`));
          acknowledged.set(k, `v${i}`);
        } catch {
          failures++;
        }
      }
    };
    const writers = [0, 1, 2, 3].map((w) => writer(w));
    let victim: (typeof cluster.nodes)[number];
    let victimId: number;
    let before: number;
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      // Kill the node that holds the lease of the range the writers write to.
      const userRange = (await admin.ranges()).ranges.find(
        (r) =>
          Buffer.compare(Buffer.from(r.descriptor?.startKey ?? []), Buffer.from('kill')) <= 0 &&
          Buffer.compare(Buffer.from(r.descriptor?.endKey ?? []), Buffer.from('kill')) > 0,
      );
      victimId = Number(userRange?.leaseholderNodeId ?? 2n);
      victim = cluster.nodes.find((n) => n.nodeId === victimId) ?? cluster.node(2);
      before = acknowledged.size;
      await cluster.kill(victim.index, 'SIGKILL');
      // Writes go on after failover.
      await eventually('writes after the failover', async () => (acknowledged.size > before + 50 ? true : undefined), 30_000);
    } finally {
      // Writers stop whatever happened, so a failure does not leave them spinning.
      stop = true;
      await Promise.all(writers);
    }
    expect(acknowledged.size).toBeGreaterThan(before + 50);
    // The others see the dead node's liveness expire.
    const survivorAdmin = new AdminClient(cluster.nodes.find((n) => n.index !== victim.index)?.address as string);
    try {
      await eventually('the killed node seen as dead', async () => {
        const status = await survivorAdmin.nodeStatus();
        const dead = status.nodes.find((n) => Number(n.descriptor?.nodeId) === victimId);
        return dead?.live === false ? true : undefined;
      }, 20_000);
    } finally {
      survivorAdmin.close();
    }

    await cluster.restart(victim.index);
    for (const [k, v] of acknowledged) {
      expect((await kv.get(Buffer.from(k)))?.toString()).toBe(v);
    }
    // The restarted node holds the data again: its replicas reach the leaders' applied index.
    const nodeAdmin = new AdminClient(victim.address);
    try {
      await eventually('the restarted node to catch up', async () => {
        const ranges = await admin.ranges();
        const local = await nodeAdmin.nodeStatus();
        const self = local.nodes.find((n) => Number(n.descriptor?.nodeId) === victimId);
        return self?.live === true && Number(self.ranges) === ranges.ranges.length ? true : undefined;
      });
    } finally {
      nodeAdmin.close();
    }
    void failures;
  });

  test('fails with UNAVAILABLE within the deadline when quorum is lost, and recovers with it', async () => {
    const shortKv = await KvClient.connect({ addresses: cluster.addresses, requestTimeoutMs: 3_000 });
    try {
      await shortKv.put(Buffer.from('quorum/before'), Buffer.from('1'));
      const [survivor, ...others] = cluster.nodes;
      void survivor;
      for (const node of others) await cluster.kill(node.index, 'SIGKILL');
      const startedAt = Date.now();
      await expect(shortKv.put(Buffer.from('quorum/during'), Buffer.from('2'))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      expect(Date.now() - startedAt).toBeLessThan(3_000 + 2_000);
      for (const node of others) await cluster.restart(node.index, { waitReady: false });
      await eventually('writes after quorum returns', async () => {
        await shortKv.put(Buffer.from('quorum/after'), Buffer.from('3'));
        return true;
      });
      expect((await shortKv.get(Buffer.from('quorum/before')))?.toString()).toBe('1');
      expect((await shortKv.get(Buffer.from('quorum/after')))?.toString()).toBe('3');
    } finally {
      await shortKv.close();
    }
  });
});
