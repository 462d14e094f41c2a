import { AssertionFailedError, InvalidArgumentError } from '../../../common/errors';
import type { ConfChange } from '../conf-change';
import { decodeConfChange, encodeConfChange } from '../conf-change';
import { ProposalDroppedError } from '../errors';
import type { Message } from '../messages';
import { describeMessage } from '../messages';
import type { Ready } from '../raft-node';
import { RaftNode } from '../raft-node';
import { BOOTSTRAP_INDEX, BOOTSTRAP_TERM, MemoryLogStorage } from '../storage';
import type { Entry, NodeId } from '../types';
import { Prng } from './prng';
import { mix, TraceRing } from './trace';

/**
 * A deterministic simulation of one Raft group (see OVERVIEW.md, "The simulator").
 *
 * Virtual time advances in steps; every STEPS_PER_TICK steps each live node ticks.
 * One seeded Prng decides everything: faults, delays, client actions and the nodes'
 * election timeouts. A run is a safety phase (faults on) and then a liveness phase
 * (faults healed); the checkers run after every step.
 */
export const STEPS_PER_TICK = 4;
const ELECTION_TICKS = 10;

export interface RaftSimOptions {
  readonly seed: number;
  /** Ticks of the safety phase, with faults. */
  readonly safetyTicks?: number;
  /** Bound on ticks after healing until the group must be live and every proposal decided. */
  readonly livenessTicks?: number;
  readonly traceSize?: number;
  /** Members defer commit notices (RaftConfig.deferCommitNotices), sent on their own at mid-tick. */
  readonly deferCommitNotices?: boolean;
}

export interface RaftSimResult {
  readonly seed: number;
  readonly members: number;
  readonly ticks: number;
  /** Ticks from healing until the liveness conditions held. */
  readonly recoveryTicks: number;
  readonly proposals: { appended: number; committed: number; superseded: number; dropped: number };
  readonly confChanges: number;
  readonly transfers: number;
  readonly reads: { asked: number; served: number };
  readonly crashes: number;
  readonly snapshotsSent: number;
  readonly messages: { sent: number; delivered: number };
  readonly maxTerm: number;
  readonly committedIndex: number;
  /** A digest of the whole run: equal seeds must give equal fingerprints. */
  readonly fingerprint: string;
}

/** A broken safety or liveness property: carries the seed and the trace that led there. */
export class SimViolationError extends AssertionFailedError {
  constructor(
    readonly seed: number,
    readonly violation: string,
    readonly trace: readonly string[],
  ) {
    super(`raft sim seed ${seed}: ${violation}\n--- last events ---\n${trace.join('\n')}`);
  }
}

interface Packet {
  readonly at: number;
  readonly msg: Message;
  readonly lost: boolean;
}

interface SimNode {
  readonly id: NodeId;
  readonly storage: MemoryLogStorage;
  raft: RaftNode | undefined;
  /** State machine: the applied index and a digest chained over every applied entry. */
  smIndex: number;
  smDigest: number;
  downUntilTick: number;
}

interface Proposal {
  readonly index: number;
  readonly term: number;
  readonly key: string;
  readonly node: NodeId;
  status: 'pending' | 'committed' | 'superseded';
}

interface AppliedRecord {
  readonly term: number;
  readonly digest: number;
  /**
   * An upper bound on the term in which the entry was committed: the current term of
   * the first node to apply it (it learned of the commit from a leader of at most that term).
   */
  readonly committedBy: number;
}

const encoder = new TextEncoder();

function entryKey(e: Entry): string {
  let s = e.type === 'confChange' ? 'cc:' : '';
  for (const b of e.data) s += String.fromCharCode(b);
  return s;
}

function encodeSm(index: number, digest: number): Uint8Array {
  return encoder.encode(`${index}:${digest}`);
}

function decodeSm(snapshotIndex: number, data: Uint8Array): { index: number; digest: number } {
  // The bootstrap snapshot carries no state machine data.
  if (data.length === 0) return { index: snapshotIndex, digest: 0 };
  const [index, digest] = new TextDecoder().decode(data).split(':').map(Number);
  return { index: index ?? 0, digest: digest ?? 0 };
}

export class RaftSim {
  private readonly rng: Prng;
  private readonly trace: TraceRing;
  private readonly nodes: SimNode[] = [];
  private readonly n: number;
  private readonly minVoters: number;
  private step = 0;
  private packets: Packet[] = [];
  private blocked = new Set<string>();
  // Fault knobs, fixed per seed and zeroed when healing.
  private lossRate: number;
  private dupRate: number;
  private longDelayRate: number;
  private crashInReadyRate: number;
  private leaderCrashRate: number;
  private readonly buggifyRate: number;
  // Small messages make followers acknowledge a new leader's log piecemeal.
  private readonly maxSizePerMsg: number;
  private readonly maxInflight: number;
  private faultsOn = true;
  // Checker state: everything ever applied, leaders by term, proposals, reads.
  private readonly applied = new Map<number, AppliedRecord>();
  private maxApplied = BOOTSTRAP_INDEX;
  private readonly entryAt = new Map<string, { key: string; prevTerm: number }>();
  private readonly leaders = new Map<number, NodeId>();
  private readonly proposals = new Map<string, Proposal>();
  private readonly pending = new Set<Proposal>();
  private readonly reads = new Map<string, { node: NodeId; minIndex: number }>();
  private readonly readsServed = new Set<string>();
  private proposalSeq = 0;
  private fingerprint = 0;
  private stats = {
    dropped: 0,
    confChanges: 0,
    transfers: 0,
    readsAsked: 0,
    readsServed: 0,
    crashes: 0,
    snapshotsSent: 0,
    sent: 0,
    delivered: 0,
  };

  constructor(private readonly options: RaftSimOptions) {
    this.applied.set(BOOTSTRAP_INDEX, { term: BOOTSTRAP_TERM, digest: 0, committedBy: 0 });
    this.rng = new Prng(options.seed);
    this.trace = new TraceRing(options.traceSize ?? 300);
    this.n = options.seed % 2 === 0 ? 3 : 5;
    this.minVoters = this.n === 3 ? 2 : 3;
    this.lossRate = this.rng.float() * 0.2;
    this.dupRate = this.rng.float() * 0.1;
    this.longDelayRate = this.rng.float() * 0.1;
    this.crashInReadyRate = this.rng.float() * 0.01;
    this.leaderCrashRate = this.rng.float() * 0.03;
    this.buggifyRate = this.rng.pick([0.02, 0.1, 0.3]);
    this.maxSizePerMsg = this.rng.pick([1, 1, 4, 1 << 20]);
    this.maxInflight = this.rng.pick([1, 4, 64]);
    const voters = Array.from({ length: this.n }, (_, i) => i + 1);
    for (const id of voters) {
      const storage = new MemoryLogStorage({ voters, learners: [] });
      const node: SimNode = { id, storage, raft: undefined, smIndex: 0, smDigest: 0, downUntilTick: 0 };
      this.nodes.push(node);
      this.start(node);
    }
    this.log(
      `cluster of ${this.n}; loss=${this.lossRate.toFixed(3)} dup=${this.dupRate.toFixed(3)} longDelay=${this.longDelayRate.toFixed(3)} ` +
        `leaderCrash=${this.leaderCrashRate.toFixed(3)} maxSizePerMsg=${this.maxSizePerMsg} maxInflight=${this.maxInflight}`,
    );
  }

  run(): RaftSimResult {
    try {
      return this.runPhases();
    } catch (e) {
      if (e instanceof SimViolationError) throw e;
      const detail = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
      throw this.violation(`unexpected error: ${detail}`);
    }
  }

  private runPhases(): RaftSimResult {
    const safetyTicks = this.options.safetyTicks ?? 1500;
    const livenessTicks = this.options.livenessTicks ?? 200;
    while (this.tick() < safetyTicks) {
      this.chaos();
      this.runTick();
    }
    this.heal();
    const healedAt = this.tick();
    let probe: Proposal | undefined;
    while (true) {
      const leader = this.liveLeader();
      // A fresh proposal must commit; if leadership moves and it fails, propose again.
      if (leader !== undefined && (probe === undefined || probe.status === 'superseded')) probe = this.propose(leader);
      if (leader !== undefined && probe !== undefined && probe.status === 'committed' && this.settled(leader)) break;
      if (this.tick() - healedAt > livenessTicks) {
        throw this.violation(
          `liveness: ${livenessTicks} ticks after healing, ${leader === undefined ? 'no leader' : `leader ${leader.id} not settled`}` +
            `; probe ${probe === undefined ? 'not proposed' : probe.status}` +
            `; undecided ${[...this.pending].map((p) => `${p.key}@(${p.index},${p.term})`).join(' ') || 'none'}; ${this.describeNodes()}`,
        );
      }
      this.runTick();
    }
    this.checkAllDecided();
    let committed = 0;
    let superseded = 0;
    for (const p of this.proposals.values()) {
      if (p.status === 'committed') committed++;
      if (p.status === 'superseded') superseded++;
    }
    return {
      seed: this.options.seed,
      members: this.n,
      ticks: this.tick(),
      recoveryTicks: this.tick() - healedAt,
      proposals: { appended: this.proposals.size, committed, superseded, dropped: this.stats.dropped },
      confChanges: this.stats.confChanges,
      transfers: this.stats.transfers,
      reads: { asked: this.stats.readsAsked, served: this.stats.readsServed },
      crashes: this.stats.crashes,
      snapshotsSent: this.stats.snapshotsSent,
      messages: { sent: this.stats.sent, delivered: this.stats.delivered },
      maxTerm: Math.max(...this.leaders.keys(), 0),
      committedIndex: this.maxApplied,
      fingerprint: mix(this.fingerprint, this.maxApplied).toString(16),
    };
  }

  private tick(): number {
    return Math.floor(this.step / STEPS_PER_TICK);
  }

  // ------------------------------------------------------------------ time

  private runTick(): void {
    for (let i = 0; i < STEPS_PER_TICK; i++) {
      if (i === 0) {
        for (const node of this.nodes) node.raft?.tick();
      }
      if (i === STEPS_PER_TICK / 2) {
        for (const node of this.nodes) if (node.raft?.commitNoticesPending() === true) node.raft.sendCommitNotices();
      }
      this.deliver();
      this.processReadies();
      this.checkLeaders();
      this.step++;
    }
  }

  private deliver(): void {
    const due: Packet[] = [];
    const later: Packet[] = [];
    for (const p of this.packets) (p.at <= this.step ? due : later).push(p);
    this.packets = later;
    // Due packets arrive in random order: reordering.
    for (const p of this.rng.shuffle(due)) {
      const { msg } = p;
      const target = this.node(msg.to);
      const cut = this.blocked.has(`${msg.from}>${msg.to}`);
      if (p.lost || cut || target.raft === undefined) {
        if (msg.type === 'MsgSnap') this.node(msg.from).raft?.reportSnapshot(msg.to, false);
        if ((cut || target.raft === undefined) && this.rng.chance(0.5)) this.node(msg.from).raft?.reportUnreachable(msg.to);
        continue;
      }
      this.stats.delivered++;
      this.fingerprint = mix(this.fingerprint, `${msg.type}${msg.from}${msg.to}${msg.term}`);
      this.trace.add(this.step, () => `deliver ${describeMessage(msg)}`);
      target.raft.step(msg);
      if (msg.type === 'MsgSnap') this.node(msg.from).raft?.reportSnapshot(msg.to, true);
    }
  }

  private send(msg: Message): void {
    this.stats.sent++;
    if (msg.type === 'MsgSnap') this.stats.snapshotsSent++;
    const lost = this.faultsOn && this.rng.chance(this.lossRate);
    this.packets.push({ at: this.step + this.delay(), msg, lost });
    if (this.faultsOn && this.rng.chance(this.dupRate)) {
      this.packets.push({ at: this.step + this.delay(), msg, lost: false });
    }
  }

  private delay(): number {
    if (this.faultsOn && this.rng.chance(this.longDelayRate)) return this.rng.between(4, 12 * STEPS_PER_TICK);
    return this.rng.between(1, 3);
  }

  // ------------------------------------------------------------------ nodes

  private node(id: NodeId): SimNode {
    const node = this.nodes[id - 1];
    if (node === undefined) throw new InvalidArgumentError(`no sim node ${id}`);
    return node;
  }

  /** Starts (or restarts) a node from what its stable storage holds. */
  private start(node: SimNode): void {
    node.raft = new RaftNode({
      id: node.id,
      storage: node.storage,
      random: () => this.rng.float(),
      electionTicks: ELECTION_TICKS,
      heartbeatTicks: 1,
      maxInflightMessages: this.maxInflight,
      maxSizePerMsg: this.maxSizePerMsg,
      deferCommitNotices: this.options.deferCommitNotices ?? false,
    });
    const snap = node.storage.snapshot();
    const sm = decodeSm(snap.metadata.index, snap.data);
    node.smIndex = sm.index;
    node.smDigest = sm.digest;
    this.log(`n${node.id} start: ${this.describeNode(node)}`);
  }

  private crash(node: SimNode, why: string): void {
    node.raft = undefined;
    node.downUntilTick = this.tick() + this.rng.between(1, 4 * ELECTION_TICKS);
    // Often its transport's send queue dies with it: what it sent last never arrives.
    if (this.rng.chance(0.5)) this.packets = this.packets.filter((p) => p.msg.from !== node.id);
    this.stats.crashes++;
    this.log(`n${node.id} CRASH (${why})`);
  }

  private processReadies(): void {
    for (const node of this.rng.shuffle([...this.nodes])) {
      while (node.raft?.hasReady()) this.handleReady(node, node.raft);
    }
  }

  /** The caller's side of the Ready contract, with crashes at its seams. */
  private handleReady(node: SimNode, raft: RaftNode): void {
    const rd = raft.ready();
    let crashAt = this.faultsOn && this.rng.chance(this.crashInReadyRate) ? this.rng.int(3) : -1;
    // Buggify: a new leader sometimes dies with its first entry persisted but unsent.
    if (this.faultsOn && rd.softState?.state === 'leader' && this.rng.chance(this.buggifyRate)) crashAt = 1;
    if (crashAt === 0) return this.crash(node, 'before persisting its Ready');
    this.persist(node, rd);
    if (crashAt === 1) return this.crash(node, 'after persisting, before sending');
    for (const m of rd.messages) this.send(m);
    if (crashAt === 2) return this.crash(node, 'after sending, before applying');
    if (rd.softState !== undefined) {
      const { state, lead } = rd.softState;
      this.log(`n${node.id} is ${state} (lead ${lead}) term ${raft.status().term}`);
    }
    if (rd.snapshot !== undefined) this.applySnapshot(node, rd);
    for (const e of rd.committedEntries) this.applyEntry(node, e);
    for (const rs of rd.readStates) this.serveRead(node, rs.index, rs.requestContext);
    raft.advance(rd);
    // Buggify: a leader that just committed sometimes dies at once, before its followers
    // hear of the commit — the moment where commitment rules (Raft §5.4.2) matter.
    if (this.faultsOn && rd.committedEntries.length > 0 && raft.status().state === 'leader' && this.rng.chance(this.buggifyRate)) {
      this.crash(node, 'leader right after applying a commit');
      this.packets = this.packets.filter((p) => p.msg.from !== node.id);
    }
  }

  private persist(node: SimNode, rd: Ready): void {
    const { storage } = node;
    if (rd.snapshot !== undefined) {
      if (!storage.applySnapshot(rd.snapshot)) throw this.violation(`n${node.id} got an out-of-date snapshot`);
      this.log(`n${node.id} persist snapshot (${rd.snapshot.metadata.index},${rd.snapshot.metadata.term})`);
    }
    const first = rd.entries[0];
    const last = rd.entries[rd.entries.length - 1];
    if (first !== undefined && last !== undefined) {
      // An entry reported committed is never lost: nothing we overwrite or drop may be.
      const oldLast = storage.lastIndex();
      for (let i = Math.max(first.index, storage.firstIndex()); i <= oldLast; i++) {
        const replacement = rd.entries[i - first.index];
        const rec = this.applied.get(i);
        if (rec !== undefined && storage.term(i) === rec.term && replacement?.term !== rec.term) {
          throw this.violation(`n${node.id} overwrites committed entry ${i} (term ${rec.term})`);
        }
      }
      storage.append(rd.entries);
      for (const e of rd.entries) {
        if (e.index < storage.firstIndex()) continue;
        // (A stale leader may still append at an index committed elsewhere: its log
        // never had that entry, and it cannot commit over it.)
        this.checkLogMatching(node, e, storage.term(e.index - 1));
      }
      this.trace.add(this.step, `n${node.id} persist ents[${first.index}..${last.index}] t${last.term}`);
    }
    if (rd.hardState !== undefined) storage.setHardState(rd.hardState);
  }

  /**
   * Log matching (Raft §5.3): two logs with an entry of the same index and term hold the
   * same entry there and agree on everything before it. Checked by induction: (index,
   * term) names one entry and one predecessor term across all nodes, for all time.
   */
  private checkLogMatching(node: SimNode, e: Entry, prevTerm: number): void {
    const id = `${e.index}:${e.term}`;
    const key = entryKey(e);
    const seen = this.entryAt.get(id);
    if (seen === undefined) {
      this.entryAt.set(id, { key, prevTerm });
    } else if (seen.key !== key || seen.prevTerm !== prevTerm) {
      throw this.violation(
        `log matching: n${node.id} has (${e.index},${e.term}) = ${JSON.stringify(key)} after term ${prevTerm}; ` +
          `elsewhere ${JSON.stringify(seen.key)} after term ${seen.prevTerm}`,
      );
    }
  }

  private applySnapshot(node: SimNode, rd: Ready): void {
    const snap = rd.snapshot;
    if (snap === undefined) return;
    const sm = decodeSm(snap.metadata.index, snap.data);
    const rec = this.applied.get(sm.index);
    if (sm.index !== snap.metadata.index || rec === undefined || rec.digest !== sm.digest) {
      throw this.violation(`n${node.id} snapshot at ${snap.metadata.index} disagrees with what was applied there`);
    }
    node.smIndex = sm.index;
    node.smDigest = sm.digest;
  }

  /** State machine safety: no two different entries (or histories) are ever applied at one index. */
  private applyEntry(node: SimNode, e: Entry): void {
    if (e.index <= node.smIndex) return;
    if (e.index !== node.smIndex + 1) {
      throw this.violation(`n${node.id} applies ${e.index} after ${node.smIndex}`);
    }
    const key = entryKey(e);
    const digest = mix(node.smDigest, `${e.term}/${key}`);
    const rec = this.applied.get(e.index);
    if (rec === undefined) {
      this.applied.set(e.index, { term: e.term, digest, committedBy: node.raft?.status().term ?? Infinity });
      this.maxApplied = Math.max(this.maxApplied, e.index);
      this.fingerprint = mix(this.fingerprint, digest);
      this.decideProposals(e);
    } else if (rec.digest !== digest) {
      throw this.violation(`n${node.id} applies (${e.index},${e.term}) but (${e.index},${rec.term}) was applied before, or histories differ`);
    }
    node.smIndex = e.index;
    node.smDigest = digest;
    if (e.type === 'confChange') this.log(`n${node.id} applies ${JSON.stringify(decodeConfChange(e.data))} at ${e.index}`);
  }

  /**
   * The proposal rule (raft-node.ts `propose`): an appended proposal (i, t) is committed
   * when (i, t) is applied, and has failed once another entry is applied at i, or an
   * entry of a term > t at an index < i. Evaluated when an index is first applied anywhere.
   * (An entry applied at i may have a LOWER term than t: a later leader can commit an
   * older entry that the term-t leader never had.)
   */
  private decideProposals(e: Entry): void {
    const own = this.proposals.get(`${e.index}:${e.term}`);
    if (own !== undefined) {
      if (own.status === 'superseded') throw this.violation(`proposal ${own.key} was reported failed but committed at ${e.index}`);
      if (own.key !== entryKey(e)) throw this.violation(`entry (${e.index},${e.term}) is not the proposal ${own.key} appended there`);
      own.status = 'committed';
      this.pending.delete(own);
    }
    for (const p of this.pending) {
      if ((p.index === e.index && p.term !== e.term) || (p.index > e.index && p.term < e.term)) {
        p.status = 'superseded';
        this.pending.delete(p);
      }
    }
  }

  /**
   * The same rule for proposals appended after the deciding entry was applied (a stale
   * leader can append at an index past a newer term's applied entries): terms only grow
   * along the log, so the applied entry at min(i, maxApplied) decides.
   */
  private refreshPending(): void {
    for (const p of this.pending) {
      const rec = this.applied.get(Math.min(p.index, this.maxApplied));
      if (rec !== undefined && (p.index <= this.maxApplied ? rec.term !== p.term : rec.term > p.term)) {
        p.status = 'superseded';
        this.pending.delete(p);
      }
    }
  }

  private serveRead(node: SimNode, index: number, ctx: string): void {
    const req = this.reads.get(ctx);
    // A duplicated MsgReadIndex is answered twice; the caller ignores the second answer.
    if (req === undefined && this.readsServed.has(ctx)) return;
    if (req === undefined || req.node !== node.id) throw this.violation(`n${node.id} got a read state for unknown ${ctx}`);
    this.readsServed.add(ctx);
    // Linearizable reads: everything applied anywhere before the read began is visible.
    if (index < req.minIndex) {
      throw this.violation(`read ${ctx} at n${node.id} got index ${index} < ${req.minIndex} applied before it began`);
    }
    this.reads.delete(ctx);
    this.stats.readsServed++;
  }

  // ------------------------------------------------------------------ checks

  /** Election safety (Raft §5.2) and leader completeness (§5.4) of each new leader. */
  private checkLeaders(): void {
    for (const node of this.nodes) {
      const st = node.raft?.status();
      if (st === undefined || st.state !== 'leader') continue;
      const known = this.leaders.get(st.term);
      if (known === undefined) {
        this.leaders.set(st.term, node.id);
        this.checkLeaderCompleteness(node);
      } else if (known !== node.id) {
        throw this.violation(`two leaders in term ${st.term}: n${known} and n${node.id}`);
      }
    }
  }

  private checkLeaderCompleteness(node: SimNode): void {
    const raft = node.raft;
    if (raft === undefined) return;
    const st = raft.status();
    for (let i = this.maxApplied; i >= st.firstIndex - 1 && i > 0; i--) {
      const rec = this.applied.get(i);
      // §5.4: a leader of term T holds every entry committed in a term before T. (A
      // leader can win a stale term late, after later terms committed more.)
      if (rec !== undefined && rec.committedBy < st.term && raft.term(i) !== rec.term) {
        throw this.violation(
          `leader completeness: new leader n${node.id} (term ${st.term}) has term ${raft.term(i)} at ${i}, committed term ${rec.term}`,
        );
      }
    }
  }

  private checkAllDecided(): void {
    this.refreshPending();
    for (const p of this.pending) {
      throw this.violation(`proposal ${p.key} at (${p.index},${p.term}) neither committed nor failed after healing`);
    }
  }

  // ------------------------------------------------------------------ faults and clients

  private chaos(): void {
    const rng = this.rng;
    const tick = this.tick();
    for (const node of this.nodes) {
      if (node.raft === undefined && tick >= node.downUntilTick) this.start(node);
    }
    if (rng.chance(0.01)) this.repartition();
    if (rng.chance(0.004)) {
      const up = this.nodes.filter((x) => x.raft !== undefined);
      if (up.length > 0) this.crash(rng.pick(up), 'at random');
    }
    const leader = this.anyLeader();
    // Leaders crash more often than others: elections with half-replicated logs are where
    // commitment bugs (Raft §5.4.2, Fig. 8) live.
    if (leader !== undefined && rng.chance(this.leaderCrashRate)) this.crash(leader, 'leader at random');
    if (rng.chance(0.3)) {
      const target = leader !== undefined && rng.chance(0.8) ? leader : this.randomUpNode();
      if (target !== undefined) this.propose(target);
    }
    if (leader !== undefined && rng.chance(0.015)) this.changeMembership(leader);
    if (leader !== undefined && rng.chance(0.01)) this.transfer(leader);
    if (rng.chance(0.05)) this.askRead();
    for (const node of this.nodes) if (rng.chance(0.02)) this.maybeCompact(node);
  }

  private repartition(): void {
    const rng = this.rng;
    this.blocked.clear();
    const kind = rng.int(3);
    const ids = this.nodes.map((x) => x.id);
    if (kind === 0) {
      this.log('partition healed');
      return;
    }
    if (kind === 1) {
      const side = new Set(ids.filter(() => rng.chance(0.5)));
      for (const a of ids) for (const b of ids) if (side.has(a) !== side.has(b)) this.blocked.add(`${a}>${b}`);
      this.log(`partition {${[...side].join(',')}} | {${ids.filter((i) => !side.has(i)).join(',')}}`);
      return;
    }
    for (const a of ids) for (const b of ids) if (a !== b && rng.chance(0.25)) this.blocked.add(`${a}>${b}`);
    this.log(`asymmetric partition: ${[...this.blocked].join(' ')} blocked`);
  }

  private heal(): void {
    this.faultsOn = false;
    this.blocked.clear();
    for (const node of this.nodes) if (node.raft === undefined) this.start(node);
    this.log('=== healed: liveness phase ===');
  }

  private propose(node: SimNode): Proposal | undefined {
    const raft = node.raft;
    if (raft === undefined) return undefined;
    const key = `p${this.proposalSeq++}`;
    try {
      const { index, term } = raft.propose(encoder.encode(key));
      const p: Proposal = { index, term, key, node: node.id, status: 'pending' };
      this.proposals.set(`${index}:${term}`, p);
      this.pending.add(p);
      this.trace.add(this.step, `n${node.id} propose ${key} -> (${index},${term})`);
      return p;
    } catch (e) {
      if (!(e instanceof ProposalDroppedError)) throw e;
      this.stats.dropped++;
      return undefined;
    }
  }

  private changeMembership(leader: SimNode): void {
    const raft = leader.raft;
    if (raft === undefined) return;
    const st = raft.status();
    const { voters, learners } = st.confState;
    const others = this.nodes.map((x) => x.id).filter((id) => !voters.includes(id) && !learners.includes(id));
    const options: ConfChange[] = [];
    for (const id of learners) {
      // Promote only a learner that has caught up, as a replica layer would.
      const pr = st.progress.get(id);
      if (pr !== undefined && pr.match + 5 >= st.lastIndex) options.push({ type: 'addVoter', node: id });
    }
    for (const id of others) options.push({ type: 'addLearner', node: id });
    if (voters.length > this.minVoters) {
      for (const id of voters) if (id !== leader.id || this.rng.chance(0.2)) options.push({ type: 'removeNode', node: id });
    }
    if (options.length === 0) return;
    const cc = this.rng.pick(options);
    try {
      const { index, term } = raft.proposeConfChange(cc);
      const key = entryKey({ index, term, type: 'confChange', data: encodeConfChange(cc) });
      const p: Proposal = { index, term, key, node: leader.id, status: 'pending' };
      this.proposals.set(`${index}:${term}`, p);
      this.pending.add(p);
      this.stats.confChanges++;
      this.log(`n${leader.id} proposes ${JSON.stringify(cc)} -> (${index},${term})`);
    } catch (e) {
      if (!(e instanceof ProposalDroppedError)) throw e;
      this.stats.dropped++;
    }
  }

  private transfer(leader: SimNode): void {
    const raft = leader.raft;
    if (raft === undefined) return;
    const voters = raft.status().confState.voters.filter((id) => id !== leader.id);
    if (voters.length === 0) return;
    const to = this.rng.pick(voters);
    this.stats.transfers++;
    this.log(`n${leader.id} transfers leadership to n${to}`);
    raft.transferLeadership(to);
  }

  private askRead(): void {
    const node = this.randomUpNode();
    if (node?.raft === undefined) return;
    const ctx = `r${this.stats.readsAsked++}`;
    try {
      node.raft.readIndex(ctx);
      this.reads.set(ctx, { node: node.id, minIndex: this.maxApplied });
    } catch (e) {
      if (!(e instanceof ProposalDroppedError)) throw e;
    }
  }

  /** Snapshots the state machine at its applied index and compacts the log behind it. */
  private maybeCompact(node: SimNode): void {
    const raft = node.raft;
    if (raft === undefined) return;
    const snapIndex = node.storage.snapshot().metadata.index;
    if (node.smIndex - snapIndex < 8) return;
    node.storage.createSnapshot(node.smIndex, raft.status().confState, encodeSm(node.smIndex, node.smDigest));
    const upTo = Math.max(node.storage.firstIndex() - 1, node.smIndex - this.rng.int(6));
    node.storage.compact(upTo);
    this.trace.add(this.step, `n${node.id} snapshot at ${node.smIndex}, compact through ${upTo}`);
  }

  // ------------------------------------------------------------------ helpers

  private anyLeader(): SimNode | undefined {
    let best: SimNode | undefined;
    let bestTerm = -1;
    for (const node of this.nodes) {
      const st = node.raft?.status();
      if (st?.state === 'leader' && st.term > bestTerm) {
        best = node;
        bestTerm = st.term;
      }
    }
    return best;
  }

  /** The leader of the highest term, if it is a member of its own configuration. */
  private liveLeader(): SimNode | undefined {
    const leader = this.anyLeader();
    const st = leader?.raft?.status();
    if (st === undefined || !st.confState.voters.includes(st.id)) return undefined;
    return leader;
  }

  /** The leader committed its whole log, and every member of its configuration applied it. */
  private settled(leader: SimNode): boolean {
    const st = leader.raft?.status();
    if (st === undefined || st.commit !== st.lastIndex || leader.raft?.term(st.commit) !== st.term) return false;
    this.refreshPending();
    if (this.pending.size > 0) return false;
    for (const id of [...st.confState.voters, ...st.confState.learners]) {
      if (this.node(id).smIndex !== st.commit) return false;
    }
    return true;
  }

  private randomUpNode(): SimNode | undefined {
    const up = this.nodes.filter((x) => x.raft !== undefined);
    return up.length === 0 ? undefined : this.rng.pick(up);
  }

  private describeNode(node: SimNode): string {
    const st = node.raft?.status();
    if (st === undefined) return `n${node.id} down`;
    return (
      `n${node.id} ${st.state} t${st.term} lead=${st.lead} commit=${st.commit} applied=${st.applied} ` +
      `log=[${st.firstIndex}..${st.lastIndex}] voters=${st.confState.voters.join(',')} learners=${st.confState.learners.join(',')}`
    );
  }

  private describeNodes(): string {
    return this.nodes.map((x) => this.describeNode(x)).join('; ');
  }

  private log(text: string): void {
    this.trace.add(this.step, text);
  }

  private violation(what: string): SimViolationError {
    const trace = [...this.trace.render(STEPS_PER_TICK), '--- nodes ---', ...this.nodes.map((x) => this.describeNode(x))];
    return new SimViolationError(this.options.seed, what, trace);
  }
}

/** Runs one seed; throws SimViolationError on any broken property. */
export function runRaftSim(options: RaftSimOptions): RaftSimResult {
  return new RaftSim(options).run();
}
