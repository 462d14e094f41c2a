import { RaftCluster } from '../support/raft-cluster';

/**
 * Three member processes on loopback form a group and replicate; the leader is killed
 * with SIGKILL while proposals are in flight; a new leader takes over, and every
 * proposal that was acknowledged is applied on the survivors and on the killed member
 * once it restarts, in the same order everywhere.
 */
describe('Raft group of three processes', () => {
  let cluster: RaftCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it('keeps every acknowledged proposal through a SIGKILL of the leader', async () => {
    const c = await RaftCluster.start({ size: 3, tickMs: 20, electionTicks: 10 });
    cluster = c;
    let leader = await c.waitForLeader(15_000);
    const acknowledged = new Set<string>();
    let sequence = 0;
    let failures = 0;
    let stop = false;

    const proposer = async (): Promise<void> => {
      while (!stop) {
        const data = `proposal-${sequence++}`;
        const target = leader;
        try {
          const result = await c.client(target).propose(Buffer.from(data));
          if (result.errorCode === '') {
            acknowledged.add(data);
            continue;
          }
          failures++;
        } catch {
          failures++;
        }
        // Not acknowledged (dropped, failed, or the member is gone): find the leader again.
        await new Promise((resolve) => setTimeout(resolve, 20));
        try {
          leader = await c.waitForLeader(5_000);
        } catch {
          // Keep trying until told to stop.
        }
      }
    };

    const proposers = Array.from({ length: 8 }, () => proposer());
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const beforeKill = acknowledged.size;
    expect(beforeKill).toBeGreaterThan(0);

    const victim = leader;
    await c.kill(victim, 'SIGKILL');
    const survivors = c.running();
    leader = await c.waitForLeader(10_000, survivors);
    expect(leader).not.toBe(victim);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    stop = true;
    await Promise.all(proposers);
    expect(acknowledged.size).toBeGreaterThan(beforeKill);

    await c.restart(victim);
    // The restarted member catches up to the leader's commit index.
    const target = Number((await c.client(leader).status()).commit);
    const deadline = Date.now() + 15_000;
    while (Number((await c.client(victim).status().catch(() => ({ applied: 0n }))).applied) < target) {
      if (Date.now() > deadline) {
        throw new Error(`member ${victim} did not catch up to ${target}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    const logs = await Promise.all(c.members.map((m) => c.client(m.id).appliedEntries(0)));
    const shortest = Math.min(...logs.map((l) => l.length));
    for (const log of logs) {
      const applied = new Set(log.map((d) => d.toString()));
      for (const data of acknowledged) {
        expect(applied.has(data)).toBe(true);
      }
      // The same entries in the same order on every member.
      expect(log.slice(0, shortest).map(String)).toEqual((logs[0] as Buffer[]).slice(0, shortest).map(String));
    }
    process.stderr.write(
      `raft failover test: ${acknowledged.size} acknowledged, ${failures} not acknowledged, leader ${victim} → ${leader}\n`,
    );

    // Every member reports on itself over HTTP: together, one leader and the
    // proposals they committed.
    const scrape = (): Promise<string[]> =>
      Promise.all(c.members.map(async (m) => (await fetch(`http://${m.httpAddress}/metrics`)).text()));
    const sum = (texts: string[], pattern: RegExp): number =>
      texts.reduce((total, text) => total + Number(pattern.exec(text)?.[1] ?? 0), 0);
    const leadersPattern = /cairn_raft_leaders\{[^}]*\} (\d+)/;
    // Under this load and 200 ms election timeouts an election may be under way: wait
    // for the group to settle on one leader.
    let texts = await scrape();
    for (let i = 0; i < 50 && sum(texts, leadersPattern) !== 1; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      texts = await scrape();
    }
    expect(sum(texts, leadersPattern)).toBe(1);
    expect(sum(texts, /cairn_raft_proposals_total\{[^}]*outcome="committed"[^}]*\} (\d+)/)).toBeGreaterThan(0);
    for (const text of texts) {
      expect(text).toContain('cairn_raft_log_persist_seconds_bucket');
    }
    for (const m of c.members) {
      expect((await fetch(`http://${m.httpAddress}/healthz`)).status).toBe(200);
      expect((await fetch(`http://${m.httpAddress}/readyz`)).status).toBe(200);
    }
  }, 90_000);
});
