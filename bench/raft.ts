/**
 * `npm run bench -- raft`: proposals to a three-member Raft group of real processes
 * (fsync on, default timing) at several concurrencies, against the same workload on a
 * three-member etcd cluster in the same run; then leader failover times.
 */
import { randomBytes } from 'node:crypto';
import { RaftCluster } from '../test/support/raft-cluster';
import { EtcdClient, EtcdCluster, etcdVersion } from './etcd';
import type { BenchOptions } from './main';
import type { Measurement } from './report';
import { closedLoop, emit, progress, round } from './report';

const CONCURRENCIES = [1, 16, 128];
const ENTRY_BYTES = 256;
const FAILOVER_TRIALS = 20;

async function measureCairn(seconds: number): Promise<Map<number, Measurement>> {
  const results = new Map<number, Measurement>();
  const cluster = await RaftCluster.start({ size: 3 });
  try {
    const leader = await cluster.waitForLeader(30_000);
    const client = cluster.client(leader);
    const value = randomBytes(ENTRY_BYTES);
    for (const clients of CONCURRENCIES) {
      progress(`raft: cairn, ${clients} concurrent proposers for ${seconds} s`);
      results.set(
        clients,
        await closedLoop(clients, seconds, async () => {
          const result = await client.propose(value);
          if (result.errorCode !== '') {
            throw new Error(`proposal failed: ${result.errorCode} ${result.error}`);
          }
        }),
      );
    }
  } finally {
    await cluster.stop();
  }
  return results;
}

async function measureEtcd(seconds: number): Promise<Map<number, Measurement>> {
  const results = new Map<number, Measurement>();
  const cluster = await EtcdCluster.start(3);
  try {
    const client = new EtcdClient(await cluster.waitForLeader(30_000));
    const value = randomBytes(ENTRY_BYTES);
    try {
      for (const clients of CONCURRENCIES) {
        progress(`raft: etcd, ${clients} concurrent clients for ${seconds} s`);
        results.set(
          clients,
          await closedLoop(clients, seconds, (i) => client.put(Buffer.from(`key-${i % 10_000}`), value)),
        );
      }
    } finally {
      client.close();
    }
  } finally {
    await cluster.stop();
  }
  return results;
}

/** Milliseconds from a leader's SIGKILL to the first commit under a new leader. */
async function measureFailover(trials: number): Promise<number[]> {
  const times: number[] = [];
  const cluster = await RaftCluster.start({ size: 3 });
  try {
    for (let trial = 0; trial < trials; trial++) {
      const leader = await cluster.waitForLeader(30_000);
      // Let the group settle: every member caught up and the leader's lease known.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const survivors = cluster.running().filter((id) => id !== leader);
      const killedAt = process.hrtime.bigint();
      await cluster.kill(leader, 'SIGKILL');
      let committedAt: bigint | undefined;
      while (committedAt === undefined) {
        const attempts = await Promise.all(
          survivors.map((id) =>
            cluster
              .client(id)
              .propose(Buffer.from(`failover-${trial}`))
              .then((r) => r.errorCode === '')
              .catch(() => false),
          ),
        );
        if (attempts.some((ok) => ok)) {
          committedAt = process.hrtime.bigint();
        } else {
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        if (Number(process.hrtime.bigint() - killedAt) > 30e9) {
          throw new Error(`no commit within 30 s of killing leader ${leader}`);
        }
      }
      times.push(Number(committedAt - killedAt) / 1e6);
      progress(`raft: failover trial ${trial + 1}/${trials}: ${times[times.length - 1]?.toFixed(0)} ms`);
      await cluster.restart(leader);
    }
  } finally {
    await cluster.stop();
  }
  return times;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return round(sorted[index] ?? 0, 4);
}

export async function runRaftBench(options: BenchOptions): Promise<void> {
  const seconds = Math.max(options.seconds, 5);
  const baseline = `etcd-${etcdVersion()}`;
  const ours = await measureCairn(seconds);
  const theirs = await measureEtcd(seconds);
  for (const clients of CONCURRENCIES) {
    const a = ours.get(clients) as Measurement;
    const b = theirs.get(clients) as Measurement;
    emit({
      bench: 'raft',
      op: 'propose',
      clients,
      ops_per_sec: a.opsPerSec,
      p50_ms: a.p50Ms,
      p99_ms: a.p99Ms,
      baseline,
      baseline_ops_per_sec: b.opsPerSec,
      baseline_p99_ms: b.p99Ms,
      ratio: round(a.opsPerSec / b.opsPerSec),
    });
  }
  const failovers = await measureFailover(FAILOVER_TRIALS);
  emit({
    bench: 'raft',
    op: 'failover',
    trials: failovers.length,
    p50_ms: percentile(failovers, 50),
    p99_ms: percentile(failovers, 99),
  });
}
