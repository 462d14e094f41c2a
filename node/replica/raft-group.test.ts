import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { endSpan, installTracing, startRootSpan, traceparentOf, tracingConfigFromEnv } from '../../common/tracing';
import type { Entry, Message } from '../raft';
import { BOOTSTRAP_INDEX, BOOTSTRAP_TERM, ProposalDroppedError, RaftNode } from '../raft';
import type { Engine } from '../storage';
import { MemoryEngine } from '../storage';
import { RaftLogWriter } from '../store/raft-log-writer';
import type { StageFn } from '../store/raft-log-writer';
import { RaftGroup } from './raft-group';
import { RaftLogStore } from './raft-log-store';

const CONF = { voters: [1, 2, 3], learners: [] };

/** Three members in one process, messages delivered on the next turn of the event loop. */
class LocalCluster {
  readonly engines = new Map<number, Engine>();
  readonly groups = new Map<number, RaftGroup>();
  readonly applied = new Map<number, Entry[]>();
  readonly down = new Set<number>();
  private random = 1;

  constructor() {
    for (const id of CONF.voters) {
      this.engines.set(id, new MemoryEngine());
      this.start(id);
    }
  }

  start(id: number): void {
    const engine = this.engines.get(id) as Engine;
    const log = RaftLogStore.open(engine, 1, CONF);
    const applied: Entry[] = [];
    this.applied.set(id, applied);
    this.down.delete(id);
    // A deterministic spread of election timeouts.
    const random = (): number => {
      this.random = (this.random * 48271) % 2147483647;
      return this.random / 2147483647;
    };
    const group = new RaftGroup({
      groupId: 1,
      node: new RaftNode({ id, storage: log, random }),
      log,
      writer: new RaftLogWriter(engine),
      send: (message: Message) => setImmediate(() => this.deliver(message)),
      apply: (entries) => applied.push(...entries.filter((e) => e.type === 'normal' && e.data.length > 0)),
      onFatal: (err) => {
        throw err;
      },
    });
    this.groups.set(id, group);
  }

  stop(id: number): void {
    this.groups.get(id)?.stop();
    this.down.add(id);
  }

  deliver(message: Message): void {
    if (!this.down.has(message.to) && !this.down.has(message.from)) {
      this.groups.get(message.to)?.step(message);
    }
  }

  async tickUntil(condition: () => boolean, maxTicks = 500): Promise<void> {
    for (let i = 0; i < maxTicks && !condition(); i++) {
      for (const [id, group] of this.groups) {
        if (!this.down.has(id)) {
          group.tick();
        }
      }
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (!condition()) {
      throw new Error(`condition not met in ${maxTicks} ticks`);
    }
  }

  leader(): number | undefined {
    for (const [id, group] of this.groups) {
      if (!this.down.has(id) && group.node.status().state === 'leader') {
        return id;
      }
    }
    return undefined;
  }
}

/** Holds synced persists while `held` is set. */
class HeldWriter extends RaftLogWriter {
  held: Promise<void> | undefined;
  override async persist(stage: StageFn, options: { readonly sync?: boolean } = {}): Promise<void> {
    if (this.held !== undefined && options.sync !== false) await this.held;
    return super.persist(stage, options);
  }
}

describe('RaftGroup', () => {
  it('commits proposals on every member, durably, in one order', async () => {
    const cluster = new LocalCluster();
    await cluster.tickUntil(() => cluster.leader() !== undefined);
    const leader = cluster.leader() as number;
    const group = cluster.groups.get(leader) as RaftGroup;
    const receipts = await Promise.all(
      Array.from({ length: 20 }, (_, i) => group.propose(Buffer.from(`p${i}`))),
    );
    expect(new Set(receipts.map((r) => r.index)).size).toBe(20);
    await cluster.tickUntil(() => [...cluster.applied.values()].every((a) => a.length === 20));
    const orders = [...cluster.applied.values()].map((a) => a.map((e) => Buffer.from(e.data).toString()));
    expect(orders[1]).toEqual(orders[0]);
    expect(orders[2]).toEqual(orders[0]);

    // A restarted member recovers its log from its engine and applies it again.
    const follower = CONF.voters.find((id) => id !== leader) as number;
    cluster.stop(follower);
    cluster.start(follower);
    await cluster.tickUntil(() => (cluster.applied.get(follower) as Entry[]).length === 20);
  });

  /** A three-member cluster with a leader, every span recorded; `finished` flushes and lists the spans. */
  async function withTracedCluster(
    body: (cluster: LocalCluster, group: RaftGroup, finished: () => Promise<ReturnType<InMemorySpanExporter['getFinishedSpans']>>) => Promise<void>,
  ): Promise<void> {
    const exporter = new InMemorySpanExporter();
    const config = { ...tracingConfigFromEnv({ OTEL_TRACES_SAMPLER: 'always_on' }, 'raft-test'), batch: { scheduledDelayMs: 0, maxQueueSize: 1000, maxExportBatchSize: 1000, exportTimeoutMs: 1000 } };
    const tracing = installTracing({ config, instanceId: 'test', exporter });
    try {
      const cluster = new LocalCluster();
      await cluster.tickUntil(() => cluster.leader() !== undefined);
      const group = cluster.groups.get(cluster.leader() as number) as RaftGroup;
      await body(cluster, group, async () => {
        await tracing.forceFlush();
        return exporter.getFinishedSpans();
      });
    } finally {
      await tracing.shutdown();
    }
  }

  it('traces appending and applying a traced entry on every member, under the span that proposed it', async () => {
    await withTracedCluster(async (cluster, group, finished) => {
      const proposal = startRootSpan('raft.propose');
      const context = traceparentOf(proposal);
      const traced = await group.propose(Buffer.from('traced'), context);
      await group.propose(Buffer.from('untraced'));
      await cluster.tickUntil(() => [...cluster.applied.values()].every((a) => a.length === 2));
      endSpan(proposal);
      const spans = (await finished()).filter((s) => s.name !== 'raft.propose');
      // Three members, one append and one apply each, all for the traced entry only.
      expect(spans.map((s) => s.name).sort()).toEqual(['raft.append', 'raft.append', 'raft.append', 'raft.apply', 'raft.apply', 'raft.apply']);
      for (const span of spans) {
        expect(span.parentSpanContext?.spanId).toBe(proposal.spanContext().spanId);
        expect(span.attributes['raft.index']).toBe(traced.index);
      }
      // The trace context is the entry's, on every member's log.
      for (const applied of cluster.applied.values()) {
        expect(applied.map((e) => e.traceContext)).toEqual([context, undefined]);
      }
    });
  });

  it('traces an entry several requests share under each of their spans', async () => {
    await withTracedCluster(async (cluster, group, finished) => {
      const first = startRootSpan('raft.propose');
      const second = startRootSpan('raft.propose');
      const shared = await group.propose(Buffer.from('shared'), `${traceparentOf(first)},${traceparentOf(second)}`);
      await cluster.tickUntil(() => [...cluster.applied.values()].every((a) => a.length === 1));
      endSpan(first);
      endSpan(second);
      const spans = (await finished()).filter((s) => s.name !== 'raft.propose');
      for (const proposer of [first, second]) {
        const children = spans.filter((s) => s.parentSpanContext?.spanId === proposer.spanContext().spanId);
        // Three members, one append and one apply each.
        expect(children.map((s) => s.name).sort()).toEqual(['raft.append', 'raft.append', 'raft.append', 'raft.apply', 'raft.apply', 'raft.apply']);
        expect(children.every((s) => s.attributes['raft.index'] === shared.index)).toBe(true);
      }
    });
  });

  it('refuses proposals on a follower at once, naming the leader', async () => {
    const cluster = new LocalCluster();
    await cluster.tickUntil(() => cluster.leader() !== undefined);
    const leader = cluster.leader() as number;
    await cluster.tickUntil(() => [...cluster.groups.values()].every((g) => g.node.status().lead === leader));
    const follower = CONF.voters.find((id) => id !== leader) as number;
    let thrown: unknown;
    try {
      await (cluster.groups.get(follower) as RaftGroup).propose(Buffer.from('x'));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ProposalDroppedError);
    expect((thrown as ProposalDroppedError).leaderHint).toBe(leader);
  });

  it('fails pending proposals when the member stops', async () => {
    const cluster = new LocalCluster();
    await cluster.tickUntil(() => cluster.leader() !== undefined);
    const leader = cluster.leader() as number;
    // The followers are gone: nothing can commit.
    for (const id of CONF.voters.filter((i) => i !== leader)) {
      cluster.stop(id);
    }
    const pending = (cluster.groups.get(leader) as RaftGroup).propose(Buffer.from('never'));
    cluster.stop(leader);
    await expect(pending).rejects.toMatchObject({ code: 'RAFT_PROPOSAL_FAILED' });
  });

  it('applies committed entries already on disk before the fsync of the entries that came with them', async () => {
    const engine = new MemoryEngine();
    const log = RaftLogStore.open(engine, 1, CONF);
    const writer = new HeldWriter(engine);
    const applied: string[] = [];
    const sent: Message[] = [];
    const follower = new RaftGroup({
      groupId: 1,
      node: new RaftNode({ id: 2, storage: log, random: () => 0.5 }),
      log,
      writer,
      send: (message) => sent.push(message),
      apply: (entries) => applied.push(...entries.filter((e) => e.data.length > 0).map((e) => Buffer.from(e.data).toString())),
      onFatal: (err) => {
        throw err;
      },
    });
    const term = BOOTSTRAP_TERM + 1;
    const first = BOOTSTRAP_INDEX + 1;
    const entry = (index: number, data: string): Entry => ({ index, term, type: 'normal', data: Buffer.from(data) });
    const turns = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
    };
    follower.step({ type: 'MsgApp', from: 1, to: 2, term, index: BOOTSTRAP_INDEX, logTerm: BOOTSTRAP_TERM, entries: [entry(first, 'a')], commit: BOOTSTRAP_INDEX });
    await turns(5);
    expect(sent.at(-1)).toMatchObject({ type: 'MsgAppResp', index: first, reject: false });

    // Entry 2 arrives with the news that entry 1 (on disk) committed; its fsync hangs.
    let release = (): void => undefined;
    writer.held = new Promise<void>((resolve) => {
      release = resolve;
    });
    follower.step({ type: 'MsgApp', from: 1, to: 2, term, index: first, logTerm: term, entries: [entry(first + 1, 'b')], commit: first });
    await turns(5);
    expect(applied).toEqual(['a']);
    expect(sent.at(-1)).toMatchObject({ index: first });

    // Entry 2 commits with the write still held: it waits for its own entry's write.
    follower.step({ type: 'MsgHeartbeat', from: 1, to: 2, term, commit: first + 1, readContext: '' });
    await turns(5);
    expect(applied).toEqual(['a']);
    writer.held = undefined;
    release();
    await turns(10);
    expect(applied).toEqual(['a', 'b']);
    expect(sent.filter((m) => m.type === 'MsgAppResp').at(-1)).toMatchObject({ index: first + 1, reject: false });
  });

  it('stops only once a Ready it was persisting is on disk, so that nothing of it lands after what follows', async () => {
    const engine = new MemoryEngine();
    const log = RaftLogStore.open(engine, 1, CONF);
    const writer = new HeldWriter(engine);
    let release = (): void => undefined;
    writer.held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const follower = new RaftGroup({
      groupId: 1,
      node: new RaftNode({ id: 2, storage: log, random: () => 0.5 }),
      log,
      writer,
      send: () => undefined,
      apply: () => undefined,
      onFatal: (err) => {
        throw err;
      },
    });
    const term = BOOTSTRAP_TERM + 1;
    const first = BOOTSTRAP_INDEX + 1;
    follower.step({ type: 'MsgApp', from: 1, to: 2, term, index: BOOTSTRAP_INDEX, logTerm: BOOTSTRAP_TERM, entries: [{ index: first, term, type: 'normal', data: Buffer.from('a') }], commit: BOOTSTRAP_INDEX });
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    let stopped = false;
    const stopping = follower.stop().then(() => {
      stopped = true;
    });
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    release();
    await stopping;
    // What the stopped member was writing is there before the caller goes on.
    expect(RaftLogStore.open(engine, 1, CONF).lastIndex()).toBe(first);
  });
});
