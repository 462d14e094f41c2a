import type { Message } from './messages';
import type { RaftConfig } from './raft';
import type { Ready } from './raft-node';
import { RaftNode } from './raft-node';
import { Prng } from './sim/prng';
import { MemoryLogStorage } from './storage';
import type { Entry, NodeId, ReadState } from './types';

export interface TestMember {
  readonly id: NodeId;
  readonly storage: MemoryLogStorage;
  raft: RaftNode;
  applied: Entry[];
  readStates: ReadState[];
}

/**
 * A synchronous, loss-free harness for unit tests: members exchange messages until the
 * group is quiet, honouring the Ready contract. Tests cut links with `isolate`/`drop`.
 */
export class TestCluster {
  readonly members = new Map<NodeId, TestMember>();
  /** Messages matching this are dropped. */
  drop: (m: Message) => boolean = () => false;
  /** Every message delivered, for assertions. */
  readonly delivered: Message[] = [];
  private readonly rng: Prng;

  constructor(
    voters: readonly NodeId[],
    private readonly config: Partial<Omit<RaftConfig, 'id' | 'storage'>> = {},
    seed = 1,
    learners: readonly NodeId[] = [],
  ) {
    this.rng = new Prng(seed);
    for (const id of [...voters, ...learners]) this.add(id, new MemoryLogStorage({ voters, learners }));
  }

  /** Adds (or restarts) a member over `storage`. */
  add(id: NodeId, storage: MemoryLogStorage = new MemoryLogStorage()): TestMember {
    const raft = new RaftNode({ random: () => this.rng.float(), ...this.config, id, storage });
    const member: TestMember = { id, storage, raft, applied: [], readStates: [] };
    this.members.set(id, member);
    return member;
  }

  member(id: NodeId): TestMember {
    const m = this.members.get(id);
    if (m === undefined) throw new RangeError(`no member ${id}`);
    return m;
  }

  raft(id: NodeId): RaftNode {
    return this.member(id).raft;
  }

  /** Restarts a member from its stable storage (its unpersisted state is gone). */
  restart(id: NodeId): TestMember {
    return this.add(id, this.member(id).storage);
  }

  isolate(id: NodeId): void {
    this.drop = (m) => m.from === id || m.to === id;
  }

  heal(): void {
    this.drop = () => false;
  }

  /** Handles every Ready and delivers every message until nothing is left. */
  stabilize(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      const out: Message[] = [];
      for (const m of this.members.values()) {
        while (m.raft.hasReady()) out.push(...this.handleReady(m, m.raft.ready()));
      }
      if (out.length === 0) return;
      for (const msg of out) this.deliver(msg);
    }
    throw new RangeError('cluster did not stabilize');
  }

  deliver(msg: Message): void {
    const to = this.members.get(msg.to);
    if (to === undefined || this.drop(msg)) return;
    this.delivered.push(msg);
    to.raft.step(msg);
  }

  /** Ticks every member `n` times, stabilizing after each tick. */
  tick(n = 1, ids: readonly NodeId[] = [...this.members.keys()]): void {
    for (let i = 0; i < n; i++) {
      for (const id of ids) this.raft(id).tick();
      this.stabilize();
    }
  }

  /** Campaigns on `id` and lets the election finish. */
  elect(id: NodeId): void {
    this.raft(id).campaign();
    this.stabilize();
  }

  leader(): NodeId | undefined {
    let best: { id: NodeId; term: number } | undefined;
    for (const m of this.members.values()) {
      const st = m.raft.status();
      if (st.state === 'leader' && (best === undefined || st.term > best.term)) best = { id: m.id, term: st.term };
    }
    return best?.id;
  }

  /** Persists, returns messages to send, applies: the Ready contract. */
  handleReady(m: TestMember, rd: Ready): readonly Message[] {
    if (rd.snapshot !== undefined) m.storage.applySnapshot(rd.snapshot);
    m.storage.append(rd.entries);
    if (rd.hardState !== undefined) m.storage.setHardState(rd.hardState);
    m.applied.push(...rd.committedEntries);
    m.readStates.push(...rd.readStates);
    m.raft.advance(rd);
    return rd.messages;
  }
}

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);
/** The application data applied on a member (no-ops and conf changes left out). */
export const appliedData = (m: TestMember): string[] =>
  m.applied.filter((e) => e.type === 'normal' && e.data.length > 0).map((e) => text(e.data));
