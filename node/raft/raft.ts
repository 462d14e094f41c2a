import { assert, InvalidArgumentError } from '../../common/errors';
import type { ConfChange } from './conf-change';
import { applyConfChangeTo, confChangeProblem, decodeConfChange, encodeConfChange } from './conf-change';
import { LogCompactedError, ProposalDroppedError } from './errors';
import type { Message, MsgApp, MsgAppResp, MsgHeartbeat, MsgHeartbeatResp, MsgSnap, MsgVote } from './messages';
import { Progress } from './progress';
import { RaftLog } from './raft-log';
import type { LogStorage } from './storage';
import type { ConfState, Entry, EntryType, HardState, NodeId, ReadState, Snapshot, SoftState, StateType } from './types';
import { NONE } from './types';

export interface RaftConfig {
  readonly id: NodeId;
  readonly storage: LogStorage;
  /** A seeded source of uniform numbers in [0, 1): election timeouts are randomized with it. */
  readonly random: () => number;
  /** Ticks without a leader before a follower campaigns; randomized in [electionTicks, electionTicks + electionJitterTicks). */
  readonly electionTicks?: number;
  /**
   * The spread of randomized election timeouts (default electionTicks, as in etcd). A
   * narrower spread elects faster after a leader dies; a wider one splits fewer votes.
   */
  readonly electionJitterTicks?: number;
  /** Ticks between a leader's heartbeats. */
  readonly heartbeatTicks?: number;
  /** Campaign in two phases so a node that cannot win does not raise the term (Raft thesis §9.6). */
  readonly preVote?: boolean;
  /** A leader that has not heard from a quorum in an election timeout steps down; followers honour a leader lease. */
  readonly checkQuorum?: boolean;
  /** Unacknowledged MsgApps to one follower in replicate state. */
  readonly maxInflightMessages?: number;
  /** Bytes of entry data per MsgApp (at least one entry is always sent). */
  readonly maxSizePerMsg?: number;
  /** Bytes of committed entries handed out per Ready. */
  readonly maxCommittedSizePerReady?: number;
  /**
   * A leader that learns of a new commit index from an answer does not send it at once
   * to followers that have no new entries to take: it rides their next append, a
   * heartbeat, or the caller's `sendCommitNotices()` (call it soon after
   * `commitNoticesPending()` says so). Under steady writes this saves an append and its
   * answer per follower per commit; followers apply a little later.
   */
  readonly deferCommitNotices?: boolean;
}

/** Where an appended proposal went. Its fate is decided by what commits at `index`. */
export interface ProposalReceipt {
  readonly index: number;
  readonly term: number;
}

type CampaignType = 'preElection' | 'election' | 'transfer';

interface PendingRead {
  readonly readContext: string;
  readonly from: NodeId;
  readonly index: number;
  readonly acks: Set<NodeId>;
}

/** Bytes of entry data one append carries, unless configured. */
export const DEFAULT_MAX_SIZE_PER_MSG = 1 << 20;

/**
 * The Raft state machine (Ongaro & Ousterhout, "In Search of an Understandable Consensus
 * Algorithm", and Ongaro's thesis). Synchronous and deterministic: inputs are method
 * calls, outputs accumulate in `msgs`, `readStates` and the log's unstable tail, and
 * RaftNode (raft-node.ts) hands them out as a Ready.
 */
export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  lead: NodeId = NONE;
  state: StateType = 'follower';
  readonly log: RaftLog;
  /** Progress of every member (voters and learners), this node included if it is a member. */
  prs = new Map<NodeId, Progress>();
  confState: ConfState;
  leadTransferee: NodeId = NONE;
  /** A conf change may be proposed only once the log is applied through this index. */
  pendingConfIndex = 0;
  msgs: Message[] = [];
  readStates: ReadState[] = [];

  private readonly electionTimeout: number;
  private readonly electionJitter: number;
  private readonly heartbeatTimeout: number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly maxInflight: number;
  private readonly maxSizePerMsg: number;
  private readonly deferCommitNotices: boolean;
  private readonly random: () => number;
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private readonly votes = new Map<NodeId, boolean>();
  /** ReadIndex requests waiting for a heartbeat round to confirm leadership, oldest first. */
  private readQueue: PendingRead[] = [];
  /** ReadIndex requests that arrived before this leader committed an entry of its term. */
  private readsBeforeCommit: { readContext: string; from: NodeId }[] = [];

  constructor(config: RaftConfig) {
    assert(config.id !== NONE, 'raft id must not be 0');
    this.id = config.id;
    this.electionTimeout = config.electionTicks ?? 10;
    this.electionJitter = config.electionJitterTicks ?? this.electionTimeout;
    assert(this.electionJitter >= 1, 'electionJitterTicks must be at least 1');
    this.heartbeatTimeout = config.heartbeatTicks ?? 1;
    assert(this.heartbeatTimeout > 0 && this.electionTimeout > this.heartbeatTimeout, 'need 0 < heartbeatTicks < electionTicks');
    this.preVote = config.preVote ?? true;
    this.checkQuorum = config.checkQuorum ?? true;
    this.maxInflight = config.maxInflightMessages ?? 256;
    this.maxSizePerMsg = config.maxSizePerMsg ?? DEFAULT_MAX_SIZE_PER_MSG;
    this.deferCommitNotices = config.deferCommitNotices ?? false;
    this.random = config.random;
    const { hardState, confState } = config.storage.initialState();
    this.log = new RaftLog(config.storage, hardState.commit);
    this.confState = { voters: [], learners: [] };
    this.setConfState(confState);
    this.becomeFollower(hardState.term, NONE);
    this.vote = hardState.vote;
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  softState(): SoftState {
    return { lead: this.lead, state: this.state };
  }

  /** A voter of its own configuration, so it may campaign. */
  promotable(): boolean {
    const pr = this.prs.get(this.id);
    return pr !== undefined && !pr.isLearner;
  }

  // ---------------------------------------------------------------- local inputs

  tick(): void {
    if (this.state === 'leader') {
      this.tickHeartbeat();
    } else {
      this.tickElection();
    }
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(this.preVote ? 'preElection' : 'election');
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) {
        // Check-quorum (thesis §6.2): without a quorum's word in an election timeout,
        // this leader may be partitioned away; step down rather than serve stale reads.
        if (!this.quorumActive()) {
          this.becomeFollower(this.term, NONE);
          return;
        }
        for (const [id, pr] of this.prs) pr.recentActive = id === this.id;
      }
      // Transfer must finish within one election timeout (thesis §3.10).
      if (this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat(this.lastPendingReadContext());
    }
  }

  campaign(): void {
    this.hup(this.preVote ? 'preElection' : 'election');
  }

  propose(data: Uint8Array, traceContext?: string): ProposalReceipt {
    return this.proposeEntry('normal', data, traceContext);
  }

  proposeConfChange(cc: ConfChange, context?: Uint8Array): ProposalReceipt {
    if (this.state === 'leader') {
      if (this.pendingConfIndex > this.log.applied) {
        throw new ProposalDroppedError('conf-change-pending', this.lead);
      }
      const problem = confChangeProblem(this.confState, cc);
      if (problem !== undefined) throw new InvalidArgumentError(`conf change rejected: ${problem}`);
    }
    const receipt = this.proposeEntry('confChange', encodeConfChange(cc, context));
    this.pendingConfIndex = receipt.index;
    return receipt;
  }

  private proposeEntry(type: EntryType, data: Uint8Array, traceContext?: string): ProposalReceipt {
    if (this.state !== 'leader') throw new ProposalDroppedError('not-leader', this.lead);
    if (!this.prs.has(this.id)) throw new ProposalDroppedError('not-a-member', NONE);
    if (this.leadTransferee !== NONE) throw new ProposalDroppedError('transfer-in-progress', this.lead);
    const index = this.appendEntry(type, data, traceContext);
    this.bcastAppend();
    return { index, term: this.term };
  }

  transferLeadership(transferee: NodeId): void {
    if (this.state === 'leader') {
      this.handleTransferLeader(transferee);
    } else if (this.lead !== NONE) {
      this.send({ type: 'MsgTransferLeader', from: this.id, to: this.lead, term: this.term, transferee });
    }
  }

  /**
   * Asks for a linearizable read point (thesis §6.4). The answer arrives as a ReadState
   * in a later Ready, or never (if leadership changes first): callers retry on a timeout.
   * On a leader, `withNextHeartbeat` lets the confirmation ride the next scheduled
   * heartbeat instead of a round of its own: a caller that asks just before a tick
   * sends one heartbeat round, not two.
   */
  readIndex(readContext: string, options: { readonly withNextHeartbeat?: boolean } = {}): void {
    if (readContext === '') throw new InvalidArgumentError('read context must not be empty');
    if (this.state === 'leader') {
      this.handleReadIndex(this.id, readContext, options.withNextHeartbeat !== true);
    } else if (this.lead !== NONE) {
      this.send({ type: 'MsgReadIndex', from: this.id, to: this.lead, term: this.term, readContext });
    } else {
      throw new ProposalDroppedError('not-leader', NONE);
    }
  }

  reportUnreachable(id: NodeId): void {
    const pr = this.state === 'leader' ? this.prs.get(id) : undefined;
    if (pr !== undefined && pr.state === 'replicate') pr.becomeProbe();
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    const pr = this.state === 'leader' ? this.prs.get(id) : undefined;
    if (pr === undefined || pr.state !== 'snapshot') return;
    if (!ok) pr.pendingSnapshot = 0;
    pr.becomeProbe();
    // Wait for the next heartbeat response before probing again.
    pr.probeSent = true;
  }

  /** The caller persisted entries through (index, term). */
  onEntriesPersisted(index: number, term: number): void {
    this.log.stableTo(index, term);
    if (this.state !== 'leader' || !this.log.matchTerm(index, term)) return;
    // The leader counts itself toward a quorum only for entries on its stable storage.
    const self = this.prs.get(this.id);
    const previousCommit = this.log.committed;
    if (self !== undefined && self.maybeUpdate(index) && this.maybeCommit()) this.bcastCommit(previousCommit);
  }

  /** The caller applied a committed conf change entry: it takes effect now. */
  applyConfChangeEntry(entry: Entry): void {
    assert(entry.type === 'confChange', 'not a conf change entry');
    const cc = decodeConfChange(entry.data);
    if (confChangeProblem(this.confState, cc) !== undefined) return;
    this.setConfState(applyConfChangeTo(this.confState, cc));
    if (this.state !== 'leader') return;
    if (!this.prs.has(this.id)) {
      // This leader was removed: step down, and let the remaining voters elect one.
      this.becomeFollower(this.term, NONE);
      return;
    }
    if (this.leadTransferee !== NONE && !this.confState.voters.includes(this.leadTransferee)) {
      this.abortLeaderTransfer();
    }
    if (this.maybeCommit()) {
      this.bcastAppend();
    } else {
      this.sendNewEntries();
    }
  }

  private setConfState(cs: ConfState): void {
    const voters = new Set(cs.voters);
    const learners = new Set(cs.learners);
    for (const id of [...this.prs.keys()]) {
      if (!voters.has(id) && !learners.has(id)) this.prs.delete(id);
    }
    for (const id of [...cs.voters, ...cs.learners]) {
      const pr = this.prs.get(id);
      if (pr === undefined) {
        const fresh = new Progress(this.log.lastIndex() + 1, this.maxInflight, learners.has(id));
        // New members count as active, or check-quorum could depose us before they speak.
        fresh.recentActive = true;
        this.prs.set(id, fresh);
      } else {
        pr.isLearner = learners.has(id);
      }
    }
    this.confState = { voters: [...cs.voters].sort((a, b) => a - b), learners: [...cs.learners].sort((a, b) => a - b) };
  }

  /** Restores from a snapshot received from the leader (Raft §7). Returns whether it was used. */
  private restore(snap: Snapshot): boolean {
    if (snap.metadata.index <= this.log.committed) return false;
    assert(this.state === 'follower', `restore while ${this.state}`);
    if (this.log.matchTerm(snap.metadata.index, snap.metadata.term)) {
      // We already have the snapshot's last entry: just learn that it is committed.
      this.log.commitTo(snap.metadata.index);
      return false;
    }
    this.log.restore(snap);
    this.setConfState(snap.metadata.confState);
    return true;
  }

  // ---------------------------------------------------------------- state changes

  private reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.electionTimeout + Math.floor(this.random() * this.electionJitter);
    this.abortLeaderTransfer();
    this.votes.clear();
    for (const [id, pr] of this.prs) {
      const fresh = new Progress(this.log.lastIndex() + 1, this.maxInflight, pr.isLearner);
      this.prs.set(id, fresh);
    }
    this.pendingConfIndex = 0;
    this.readQueue = [];
    this.readsBeforeCommit = [];
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.state = 'follower';
  }

  private becomePreCandidate(): void {
    assert(this.state !== 'leader', 'leader cannot become pre-candidate');
    // Pre-vote changes neither term nor vote: a failed pre-campaign leaves no trace.
    this.votes.clear();
    this.lead = NONE;
    this.state = 'preCandidate';
  }

  private becomeCandidate(): void {
    assert(this.state !== 'leader', 'leader cannot become candidate');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.state = 'candidate';
  }

  private becomeLeader(): void {
    assert(this.state === 'candidate', `become leader from ${this.state}`);
    this.reset(this.term);
    this.lead = this.id;
    this.state = 'leader';
    const self = this.prs.get(this.id);
    if (self !== undefined) {
      self.becomeReplicate();
      self.recentActive = true;
    }
    // Raft §5.4.2 / §8: commit an entry of our own term first; until then neither
    // ReadIndex nor a conf change is served (the entry also settles older entries).
    this.appendEntry('normal', new Uint8Array(0));
    this.pendingConfIndex = this.log.lastIndex();
  }

  private hup(type: CampaignType): void {
    if (this.state === 'leader' || !this.promotable()) return;
    if (this.hasUnappliedConfChanges()) return;
    this.campaignAs(type);
  }

  /** Committed conf changes not yet applied: our quorum rules may be stale, so do not campaign. */
  private hasUnappliedConfChanges(): boolean {
    if (this.log.committed <= this.log.applied) return false;
    if (this.log.applied + 1 < this.log.firstIndex()) return true;
    return this.log.entries(this.log.applied + 1, this.log.committed + 1).some((e) => e.type === 'confChange');
  }

  private campaignAs(type: CampaignType): void {
    let term: number;
    let voteType: 'MsgVote' | 'MsgPreVote';
    if (type === 'preElection') {
      this.becomePreCandidate();
      voteType = 'MsgPreVote';
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteType = 'MsgVote';
      term = this.term;
    }
    if (this.poll(this.id, true) === 'won') {
      if (type === 'preElection') {
        this.campaignAs('election');
      } else {
        this.becomeLeader();
      }
      return;
    }
    const index = this.log.lastIndex();
    const logTerm = this.log.lastTerm();
    for (const to of this.confState.voters) {
      if (to === this.id) continue;
      this.send({ type: voteType, from: this.id, to, term, index, logTerm, transfer: type === 'transfer' });
    }
  }

  private poll(id: NodeId, granted: boolean): 'won' | 'lost' | 'pending' {
    if (!this.votes.has(id)) this.votes.set(id, granted);
    let yes = 0;
    let no = 0;
    for (const voter of this.confState.voters) {
      const v = this.votes.get(voter);
      if (v === true) yes++;
      if (v === false) no++;
    }
    const q = this.quorum();
    if (yes >= q) return 'won';
    if (no > this.confState.voters.length - q) return 'lost';
    return 'pending';
  }

  private quorum(): number {
    return Math.floor(this.confState.voters.length / 2) + 1;
  }

  private quorumActive(): boolean {
    let active = 0;
    for (const id of this.confState.voters) {
      if (id === this.id || this.prs.get(id)?.recentActive === true) active++;
    }
    return active >= this.quorum();
  }

  // ---------------------------------------------------------------- messages

  step(m: Message): void {
    if (m.term > this.term) {
      if (m.type === 'MsgVote' || m.type === 'MsgPreVote') {
        // Leader lease (thesis §4.2.3): while we hear from a leader, a vote request is
        // from a disruptive node (e.g. one rejoining after a partition); ignore it.
        const inLease = this.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTimeout;
        if (!m.transfer && inLease) return;
      }
      if (m.type === 'MsgPreVote') {
        // A pre-vote for a future term must not move our term.
      } else if (m.type === 'MsgPreVoteResp' && !m.reject) {
        // Our term moves when the pre-campaign is won.
      } else if (m.type === 'MsgApp' || m.type === 'MsgHeartbeat' || m.type === 'MsgSnap') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === 'MsgHeartbeat' || m.type === 'MsgApp')) {
        // A stale leader (e.g. after a partition) would otherwise never learn the new
        // term: it cannot win elections against our lease, and we ignore its messages.
        this.send({ type: 'MsgAppResp', from: this.id, to: m.from, term: this.term, index: 0, reject: false, rejectHint: 0, logTerm: 0 });
      } else if (m.type === 'MsgPreVote') {
        this.send({ type: 'MsgPreVoteResp', from: this.id, to: m.from, term: this.term, reject: true });
      }
      return;
    }

    if (m.type === 'MsgVote' || m.type === 'MsgPreVote') {
      this.handleVoteRequest(m);
      return;
    }
    switch (this.state) {
      case 'leader':
        this.stepLeader(m);
        return;
      case 'candidate':
      case 'preCandidate':
        this.stepCandidate(m);
        return;
      case 'follower':
        this.stepFollower(m);
        return;
    }
  }

  private handleVoteRequest(m: MsgVote): void {
    const respType = m.type === 'MsgVote' ? 'MsgVoteResp' : 'MsgPreVoteResp';
    // Raft §5.2: one vote per term; a pre-vote for a later term binds nothing.
    const canVote =
      this.vote === m.from ||
      (this.vote === NONE && this.lead === NONE) ||
      (m.type === 'MsgPreVote' && m.term > this.term);
    // Raft §5.4.1: only for a candidate whose log is at least as up to date as ours.
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      this.send({ type: respType, from: this.id, to: m.from, term: m.term, reject: false });
      if (m.type === 'MsgVote') {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: respType, from: this.id, to: m.from, term: this.term, reject: true });
    }
  }

  private stepLeader(m: Message): void {
    const pr = this.prs.get(m.from);
    switch (m.type) {
      case 'MsgAppResp':
        if (pr !== undefined) this.handleAppendResponse(m, pr);
        return;
      case 'MsgHeartbeatResp':
        if (pr !== undefined) this.handleHeartbeatResponse(m, pr);
        return;
      case 'MsgTransferLeader':
        this.handleTransferLeader(m.transferee);
        return;
      case 'MsgReadIndex':
        this.handleReadIndex(m.from, m.readContext);
        return;
      default:
        // Other messages of our own term are stale or misdirected.
        return;
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'MsgApp':
        this.becomeFollower(m.term, m.from);
        this.handleAppend(m);
        return;
      case 'MsgHeartbeat':
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case 'MsgSnap':
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case 'MsgVoteResp':
      case 'MsgPreVoteResp': {
        const wanted = this.state === 'preCandidate' ? 'MsgPreVoteResp' : 'MsgVoteResp';
        if (m.type !== wanted) return;
        const result = this.poll(m.from, !m.reject);
        if (result === 'won') {
          if (this.state === 'preCandidate') {
            this.campaignAs('election');
          } else {
            this.becomeLeader();
            this.bcastAppend();
          }
        } else if (result === 'lost') {
          this.becomeFollower(this.term, NONE);
        }
        return;
      }
      default:
        return;
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'MsgApp':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppend(m);
        return;
      case 'MsgHeartbeat':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case 'MsgSnap':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case 'MsgTransferLeader':
        if (this.lead !== NONE) this.send({ ...m, from: this.id, to: this.lead, term: this.term });
        return;
      case 'MsgTimeoutNow':
        // Leadership transfer (thesis §3.10): campaign at once, past others' leases.
        this.hup('transfer');
        return;
      case 'MsgReadIndexResp':
        this.readStates.push({ index: m.index, requestContext: m.readContext });
        return;
      default:
        return;
    }
  }

  private handleAppend(m: MsgApp): void {
    const reply = (index: number, reject: boolean, rejectHint: number, logTerm: number): void =>
      this.send({ type: 'MsgAppResp', from: this.id, to: m.from, term: this.term, index, reject, rejectHint, logTerm });
    if (m.index < this.log.committed) {
      reply(this.log.committed, false, 0, 0);
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      reply(lastNew, false, 0, 0);
      return;
    }
    // Fast back-off: point the leader at our last entry whose term is <= its prevTerm;
    // everything after it cannot match, so one round trip skips a whole term.
    const hintIndex = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    reply(m.index, true, hintIndex, this.log.term(hintIndex) ?? 0);
  }

  private handleHeartbeat(m: MsgHeartbeat): void {
    this.log.commitTo(m.commit);
    this.send({ type: 'MsgHeartbeatResp', from: this.id, to: m.from, term: this.term, readContext: m.readContext });
  }

  private handleSnapshot(m: MsgSnap): void {
    const index = this.restore(m.snapshot) ? this.log.lastIndex() : this.log.committed;
    this.send({ type: 'MsgAppResp', from: this.id, to: m.from, term: this.term, index, reject: false, rejectHint: 0, logTerm: 0 });
  }

  private handleAppendResponse(m: MsgAppResp, pr: Progress): void {
    pr.recentActive = true;
    if (m.reject) {
      let nextProbe = m.rejectHint;
      if (m.logTerm > 0) nextProbe = this.log.findConflictByTerm(m.rejectHint, m.logTerm);
      if (pr.maybeDecrTo(m.index, nextProbe)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index)) return;
    if (pr.state === 'probe') {
      pr.becomeReplicate();
    } else if (pr.state === 'snapshot' && pr.match + 1 >= this.log.firstIndex()) {
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === 'replicate') {
      pr.inflights.freeLE(m.index);
    }
    const previousCommit = this.log.committed;
    if (this.maybeCommit()) {
      this.bcastCommit(previousCommit);
    } else if (wasPaused) {
      this.sendAppend(m.from);
    }
    while (this.maybeSendAppend(m.from, false)) {
      // Pipelining: fill the inflight window.
    }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.send({ type: 'MsgTimeoutNow', from: this.id, to: m.from, term: this.term });
    }
  }

  private handleHeartbeatResponse(m: MsgHeartbeatResp, pr: Progress): void {
    pr.recentActive = true;
    pr.probeSent = false;
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.log.lastIndex()) this.sendAppend(m.from);
    if (m.readContext !== '') this.ackRead(m.from, m.readContext);
  }

  private handleTransferLeader(transferee: NodeId): void {
    const pr = this.prs.get(transferee);
    if (pr === undefined || pr.isLearner) return;
    if (this.leadTransferee !== NONE) {
      if (this.leadTransferee === transferee) return;
      this.abortLeaderTransfer();
    }
    if (transferee === this.id) return;
    this.electionElapsed = 0;
    this.leadTransferee = transferee;
    if (pr.match === this.log.lastIndex()) {
      this.send({ type: 'MsgTimeoutNow', from: this.id, to: transferee, term: this.term });
    } else {
      this.sendAppend(transferee);
    }
  }

  private abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  // ---------------------------------------------------------------- ReadIndex

  private handleReadIndex(from: NodeId, readContext: string, broadcast = true): void {
    if (this.log.term(this.log.committed) !== this.term) {
      this.readsBeforeCommit.push({ readContext, from });
      return;
    }
    if (this.confState.voters.length === 1 && this.confState.voters[0] === this.id) {
      this.answerRead({ readContext, from, index: this.log.committed, acks: new Set() });
      return;
    }
    this.readQueue.push({ readContext, from, index: this.log.committed, acks: new Set([this.id]) });
    // Without a round of its own, the next tick's heartbeat carries the newest context.
    if (broadcast) this.bcastHeartbeat(readContext);
  }

  private ackRead(from: NodeId, readContext: string): void {
    const at = this.readQueue.findIndex((r) => r.readContext === readContext);
    const req = this.readQueue[at];
    if (req === undefined) return;
    req.acks.add(from);
    let acks = 0;
    for (const id of this.confState.voters) if (req.acks.has(id)) acks++;
    if (acks < this.quorum()) return;
    // Leadership confirmed after every request up to this one arrived.
    const done = this.readQueue.splice(0, at + 1);
    for (const r of done) this.answerRead(r);
  }

  private answerRead(r: PendingRead): void {
    if (r.from === this.id) {
      this.readStates.push({ index: r.index, requestContext: r.readContext });
    } else {
      this.send({ type: 'MsgReadIndexResp', from: this.id, to: r.from, term: this.term, readContext: r.readContext, index: r.index });
    }
  }

  private lastPendingReadContext(): string {
    return this.readQueue[this.readQueue.length - 1]?.readContext ?? '';
  }

  // ---------------------------------------------------------------- replication

  private appendEntry(type: EntryType, data: Uint8Array, traceContext?: string): number {
    const index = this.log.lastIndex() + 1;
    this.log.append([traceContext === undefined || traceContext === '' ? { index, term: this.term, type, data } : { index, term: this.term, type, data, traceContext }]);
    return index;
  }

  /** Raft §5.3/§5.4.2: the highest index on a quorum of voters, committed if it is of our term. */
  private maybeCommit(): boolean {
    const matches: number[] = [];
    for (const id of this.confState.voters) matches.push(this.prs.get(id)?.match ?? 0);
    if (matches.length === 0) return false;
    matches.sort((a, b) => b - a);
    const index = matches[this.quorum() - 1] ?? 0;
    if (!this.log.maybeCommit(index, this.term)) return false;
    if (this.readsBeforeCommit.length > 0 && this.log.term(this.log.committed) === this.term) {
      const waiting = this.readsBeforeCommit;
      this.readsBeforeCommit = [];
      for (const r of waiting) this.handleReadIndex(r.from, r.readContext);
    }
    return true;
  }

  private bcastAppend(): void {
    for (const id of this.prs.keys()) if (id !== this.id) this.sendAppend(id);
  }

  /**
   * Tells the followers of a new commit index: at once, or (deferCommitNotices) with
   * their next entries. A membership change goes out at once even so: a member it
   * removes drops out of `prs` when it applies here and would never hear of it.
   */
  private bcastCommit(previousCommit: number): void {
    const confChangeCommitted = this.pendingConfIndex > previousCommit && this.pendingConfIndex <= this.log.committed;
    if (!this.deferCommitNotices || confChangeCommitted) {
      this.bcastAppend();
      return;
    }
    this.sendNewEntries();
  }

  /** An append to every follower that has entries it was not sent yet (none to the others). */
  private sendNewEntries(): void {
    for (const id of this.prs.keys()) if (id !== this.id) this.maybeSendAppend(id, false);
  }

  /** Whether a follower that could take it has not been told the commit index (deferCommitNotices). */
  commitNoticesPending(): boolean {
    if (this.state !== 'leader' || !this.deferCommitNotices) return false;
    for (const [id, pr] of this.prs) {
      if (id !== this.id && !pr.isPaused() && pr.canBumpCommit(this.log.committed)) return true;
    }
    return false;
  }

  /** Sends the commit index to every follower that could take it and has not been told it. */
  sendCommitNotices(): void {
    if (this.state !== 'leader') return;
    for (const [id, pr] of this.prs) {
      if (id !== this.id && pr.canBumpCommit(this.log.committed)) this.maybeSendAppend(id, true);
    }
  }

  private bcastHeartbeat(readContext: string): void {
    for (const [id, pr] of this.prs) {
      if (id === this.id) continue;
      const commit = Math.min(pr.match, this.log.committed);
      pr.sentCommit = Math.max(pr.sentCommit, commit);
      this.send({ type: 'MsgHeartbeat', from: this.id, to: id, term: this.term, commit, readContext });
    }
  }

  private sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  /** Sends entries (or a snapshot) to `to` unless its progress is paused. Returns whether it sent. */
  private maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.prs.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    assert(pr.next <= this.log.lastIndex() + 1, () => `next ${pr.next} past last index ${this.log.lastIndex()}`);
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    let entries: Entry[] | undefined;
    if (prevTerm !== undefined) {
      try {
        entries = this.log.entries(pr.next, this.log.lastIndex() + 1, this.maxSizePerMsg);
      } catch (e) {
        if (!(e instanceof LogCompactedError)) throw e;
      }
    }
    if (prevTerm === undefined || entries === undefined) {
      // The entries it needs are compacted: send a snapshot (Raft §7), but only to a
      // member we have heard from lately, since a snapshot is expensive.
      if (!pr.recentActive) return false;
      const snapshot = this.log.snapshot();
      assert(
        snapshot.metadata.index >= this.log.firstIndex() - 1,
        `snapshot ${snapshot.metadata.index} older than the log's start ${this.log.firstIndex()}`,
      );
      pr.becomeSnapshot(snapshot.metadata.index);
      this.send({ type: 'MsgSnap', from: this.id, to, term: this.term, snapshot });
      return true;
    }
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send({ type: 'MsgApp', from: this.id, to, term: this.term, index: prevIndex, logTerm: prevTerm, entries, commit: this.log.committed });
    const last = entries[entries.length - 1];
    // The member commits no further than the end of what it is sent.
    pr.sentCommit = Math.max(pr.sentCommit, Math.min(this.log.committed, last?.index ?? prevIndex));
    if (pr.state === 'replicate' && last !== undefined) {
      pr.optimisticUpdate(last.index);
      pr.inflights.add(last.index);
    } else if (pr.state === 'probe') {
      pr.probeSent = true;
    }
    return true;
  }

  private send(m: Message): void {
    this.msgs.push(m);
  }
}
