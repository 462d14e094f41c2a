import { assert } from '../../common/errors';
import type { ConfChange } from './conf-change';
import type { Message } from './messages';
import { coalesceMessages } from './messages';
import type { ProgressState } from './progress';
import type { ProposalReceipt, RaftConfig } from './raft';
import { DEFAULT_MAX_SIZE_PER_MSG, Raft } from './raft';
import type { ConfState, Entry, HardState, NodeId, ReadState, Snapshot, SoftState, StateType } from './types';
import { hardStateEqual } from './types';

/**
 * One batch of work for the caller. Handle it in this order, then call `advance(ready)`:
 *
 *  1. Persist `hardState`, `entries` and `snapshot` to stable storage (one atomic batch,
 *     or entries and snapshot before the hard state). Entries replace any stored entries
 *     at the same or higher indexes.
 *  2. Only then send `messages`: a vote, an acknowledgement or a commit index tells
 *     other members what we hold, so it must already be durable (Raft Fig. 2, "respond
 *     to RPCs only after updating stable storage").
 *  3. Apply `snapshot` (if any) and then `committedEntries` to the state machine, in
 *     order. `readStates` become servable once the applied index reaches their index.
 *  4. Call `advance(ready)`: conf changes among `committedEntries` take effect then.
 *
 * A crash anywhere before step 1 completes loses this Ready; the node restarts from
 * what stable storage holds and nothing it did not persist was ever sent.
 */
export interface Ready {
  /** Set when leader or role changed; volatile. */
  readonly softState?: SoftState;
  /** Set when term, vote or commit changed. */
  readonly hardState?: HardState;
  readonly entries: readonly Entry[];
  readonly snapshot?: Snapshot;
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
}

export interface ProgressStatus {
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly isLearner: boolean;
  readonly recentActive: boolean;
}

export interface Status {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId;
  readonly lead: NodeId;
  readonly state: StateType;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  /** Membership as of the applied index. */
  readonly confState: ConfState;
  readonly leadTransferee: NodeId;
  /** Followers' progress; only on the leader. */
  readonly progress: ReadonlyMap<NodeId, ProgressStatus>;
}

/**
 * The public face of one Raft group member: inputs are method calls, outputs come back
 * as a Ready (see its comment for the persist → send → apply → advance contract).
 * Nothing here blocks, does I/O, or reads a clock; time passes through `tick()`.
 */
export class RaftNode {
  private readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  private readonly maxCommittedSizePerReady: number;
  private readonly maxSizePerMsg: number;
  private outstanding: Ready | undefined = undefined;

  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.prevSoftState = this.raft.softState();
    this.prevHardState = this.raft.hardState();
    this.maxCommittedSizePerReady = config.maxCommittedSizePerReady ?? 1 << 26;
    this.maxSizePerMsg = config.maxSizePerMsg ?? DEFAULT_MAX_SIZE_PER_MSG;
  }

  get id(): NodeId {
    return this.raft.id;
  }

  /** Advances logical time by one tick (heartbeat and election timers). */
  tick(): void {
    this.raft.tick();
  }

  /** Handles a message from another member. */
  step(m: Message): void {
    assert(m.to === this.raft.id, () => `message for ${m.to} stepped on ${this.raft.id}`);
    this.raft.step(m);
  }

  /**
   * Appends `data` to the log if this node is the leader, returning its (index, term);
   * otherwise throws ProposalDroppedError (with a leader hint), and nothing was appended.
   *
   * Fate of an appended proposal, decided by what the caller applies: it is committed
   * iff the entry applied at `index` has term `term`. It has failed (and will never
   * commit) as soon as an entry of another term is applied at `index`, or an entry of a
   * term > `term` at an index < `index`. Once any leader of a later term commits an
   * entry, every earlier proposal is decided one way or the other.
   */
  propose(data: Uint8Array, traceContext?: string): ProposalReceipt {
    return this.raft.propose(data, traceContext);
  }

  /** As `propose`, for a membership change (one at a time; see conf-change.ts). */
  /** Proposes a membership change; `context` rides in its entry for the application. */
  proposeConfChange(cc: ConfChange, context?: Uint8Array): ProposalReceipt {
    return this.raft.proposeConfChange(cc, context);
  }

  /** Starts an election now (pre-vote first if enabled). */
  campaign(): void {
    this.raft.campaign();
  }

  transferLeadership(to: NodeId): void {
    this.raft.transferLeadership(to);
  }

  readIndex(requestContext: string, options?: { readonly withNextHeartbeat?: boolean }): void {
    this.raft.readIndex(requestContext, options);
  }

  /** With deferCommitNotices: a follower has not been told the leader's commit index yet. */
  commitNoticesPending(): boolean {
    return this.raft.commitNoticesPending();
  }

  /** With deferCommitNotices: tells the followers that have not heard it the commit index now. */
  sendCommitNotices(): void {
    this.raft.sendCommitNotices();
  }

  /** The transport could not deliver to `id`: stop streaming to it until it answers. */
  reportUnreachable(id: NodeId): void {
    this.raft.reportUnreachable(id);
  }

  /** The snapshot sent to `id` was delivered (ok) or lost. */
  reportSnapshot(id: NodeId, ok: boolean): void {
    this.raft.reportSnapshot(id, ok);
  }

  hasReady(): boolean {
    assert(this.outstanding === undefined, 'hasReady() before advance() of the previous Ready');
    const r = this.raft;
    return (
      !softStateEqual(r.softState(), this.prevSoftState) ||
      !hardStateEqual(r.hardState(), this.prevHardState) ||
      r.log.unstableEntries().length > 0 ||
      r.log.pendingSnapshot() !== undefined ||
      r.log.hasNextCommittedEntries() ||
      r.msgs.length > 0 ||
      r.readStates.length > 0
    );
  }

  ready(): Ready {
    assert(this.outstanding === undefined, 'ready() before advance() of the previous Ready');
    const r = this.raft;
    const soft = r.softState();
    const hard = r.hardState();
    const snapshot = r.log.pendingSnapshot();
    // Optional fields are assigned, not spread in: V8's object spread with added
    // properties is slow, and a Ready is made for every turn of work.
    const rd: { -readonly [K in keyof Ready]: Ready[K] } = {
      entries: [...r.log.unstableEntries()],
      committedEntries: r.log.nextCommittedEntries(this.maxCommittedSizePerReady),
      messages: coalesceMessages(r.msgs, this.maxSizePerMsg),
      readStates: r.readStates,
    };
    if (!softStateEqual(soft, this.prevSoftState)) rd.softState = soft;
    if (!hardStateEqual(hard, this.prevHardState)) rd.hardState = hard;
    if (snapshot !== undefined) rd.snapshot = snapshot;
    r.msgs = [];
    r.readStates = [];
    this.outstanding = rd;
    return rd;
  }

  /** The caller has persisted, sent and applied `rd` (see Ready). */
  advance(rd: Ready): void {
    assert(this.outstanding === rd, 'advance() with a Ready that is not the outstanding one');
    this.outstanding = undefined;
    const r = this.raft;
    if (rd.softState !== undefined) this.prevSoftState = rd.softState;
    if (rd.hardState !== undefined) this.prevHardState = rd.hardState;
    if (rd.snapshot !== undefined) {
      r.log.stableSnapshotTo(rd.snapshot.metadata.index);
      if (rd.snapshot.metadata.index > r.log.applied) r.log.appliedTo(rd.snapshot.metadata.index);
    }
    const last = rd.entries[rd.entries.length - 1];
    if (last !== undefined) r.onEntriesPersisted(last.index, last.term);
    for (const e of rd.committedEntries) {
      if (e.index <= r.log.applied) continue;
      if (e.type === 'confChange') r.applyConfChangeEntry(e);
      r.log.appliedTo(e.index);
    }
  }

  status(): Status {
    const r = this.raft;
    const progress = new Map<NodeId, ProgressStatus>();
    if (r.state === 'leader') {
      for (const [id, pr] of r.prs) {
        progress.set(id, {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          isLearner: pr.isLearner,
          recentActive: pr.recentActive,
        });
      }
    }
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      lead: r.lead,
      state: r.state,
      commit: r.log.committed,
      applied: r.log.applied,
      firstIndex: r.log.firstIndex(),
      lastIndex: r.log.lastIndex(),
      confState: r.confState,
      leadTransferee: r.leadTransferee,
      progress,
    };
  }

  /** Term of entry i in this node's log (stable or not), or undefined if compacted or absent. */
  term(i: number): number | undefined {
    return this.raft.log.term(i);
  }
}

function softStateEqual(a: SoftState, b: SoftState): boolean {
  return a.lead === b.lead && a.state === b.state;
}
