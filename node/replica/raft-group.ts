import { CairnError } from '../../common/errors';
import type { Span } from '../../common/tracing';
import { NO_SPAN, endSpan, startRemoteChildSpan } from '../../common/tracing';
import type { ConfChange, Entry, Message, NodeId, RaftNode, Ready, ReadState, Snapshot, SoftState } from '../raft';
import type { WriteBatch } from '../storage';
import type { RaftLogWriter } from '../store/raft-log-writer';
import type { RaftLogStore } from './raft-log-store';
import type { RaftMetrics } from '../store/raft-metrics';

/** A proposal whose index ended up holding another entry: it will never apply. */
export class ProposalFailedError extends CairnError {
  constructor(
    readonly index: number,
    readonly reason: string,
  ) {
    super('RAFT_PROPOSAL_FAILED', `raft proposal at index ${index} failed: ${reason}`, { retryable: true });
  }
}

export interface RaftGroupOptions {
  readonly groupId: number;
  readonly node: RaftNode;
  readonly log: RaftLogStore;
  readonly writer: RaftLogWriter;
  /** Hands a message to the transport (after what it depends on is durable). */
  readonly send: (message: Message) => void;
  /**
   * Applies committed entries (and first a snapshot, if any) to the state machine, in
   * order. Synchronous: the next Ready waits for it.
   */
  readonly apply: (entries: readonly Entry[], snapshot: Snapshot | undefined) => void;
  readonly onSoftState?: (state: SoftState) => void;
  /** ReadIndex answers, once the entries up to their indexes have applied here. */
  readonly onReadStates?: (states: readonly ReadState[]) => void;
  /**
   * Stages the state machine's side of a snapshot from the leader into the same batch
   * as the log's, so that a crash leaves both or neither (the log would otherwise say
   * the snapshot is applied while the data is not).
   */
  readonly stageSnapshot?: (batch: WriteBatch, snapshot: Snapshot) => void;
  readonly metrics?: RaftMetrics;
  /** A Ready failed to persist: the group cannot go on safely. */
  readonly onFatal: (err: unknown) => void;
}

/**
 * For a node made with deferCommitNotices: how long a commit index may wait to ride a
 * follower's next append before it is sent on its own.
 */
const COMMIT_NOTICE_DELAY_MS = 2;

interface PendingProposal {
  readonly term: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Drives one Raft group member: feeds it ticks and messages, and works through its
 * Readies in the order the Ready contract fixes — persist (group-committed with the
 * other groups of the node), then send, then apply, then advance — one Ready at a time.
 * Committed entries that were on this member's disk before the Ready apply before its
 * persist rather than after: they are durable on a quorum already.
 * A proposal's promise settles when its index applies: resolved if the entry there is
 * the one proposed (same term), rejected otherwise.
 */
export class RaftGroup {
  private processing = false;
  private scheduled = false;
  private stopped = false;
  private commitNoticeTimer: NodeJS.Timeout | undefined;
  /** The last run of processReadies: settled once its Ready is done with the disk. */
  private processed: Promise<void> = Promise.resolve();
  private readonly pending = new Map<number, PendingProposal>();
  private appliedIndex = 0;
  private lastProposed = 0;
  private isLeader = false;
  private softState: SoftState = { lead: 0, state: 'follower' };
  /** Term and vote as last persisted. */
  private persistedTerm: number;
  private persistedVote: NodeId;
  /** The last index of the log on this member's disk. */
  private persistedLastIndex: number;

  constructor(private readonly options: RaftGroupOptions) {
    const { hardState } = options.log.initialState();
    this.persistedTerm = hardState.term;
    this.persistedVote = hardState.vote;
    this.persistedLastIndex = options.log.lastIndex();
  }

  get groupId(): number {
    return this.options.groupId;
  }

  get node(): RaftNode {
    return this.options.node;
  }

  get applied(): number {
    return this.appliedIndex;
  }

  tick(): void {
    if (!this.stopped) {
      this.options.node.tick();
      this.maybeProcess();
    }
  }

  step(message: Message): void {
    if (!this.stopped) {
      this.options.node.step(message);
      this.maybeProcess();
    }
  }

  reportUnreachable(id: NodeId): void {
    this.options.node.reportUnreachable(id);
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    this.options.node.reportSnapshot(id, ok);
    this.maybeProcess();
  }

  /**
   * Proposes `data`; resolves once it is committed and applied here. Throws at once
   * (ProposalDroppedError) when this member cannot take proposals now. With
   * `traceContext` (the proposer's recording span, or a comma-separated list of them
   * for an entry several requests share), every member traces appending and applying
   * the entry as children of each span.
   */
  propose(data: Uint8Array, traceContext?: string): Promise<{ readonly index: number; readonly term: number }> {
    return this.track(() => this.options.node.propose(data, traceContext));
  }

  /** Proposes a membership change; resolves once it applied here (and took effect). */
  proposeConfChange(cc: ConfChange, context?: Uint8Array): Promise<{ readonly index: number; readonly term: number }> {
    return this.track(() => this.options.node.proposeConfChange(cc, context));
  }

  /** The index of the last proposal accepted, set synchronously by propose(). */
  get lastProposedIndex(): number {
    return this.lastProposed;
  }

  campaign(): void {
    this.options.node.campaign();
    this.maybeProcess();
  }

  transferLeadership(to: NodeId): void {
    this.options.node.transferLeadership(to);
    this.maybeProcess();
  }

  private track(proposeNow: () => { index: number; term: number }): Promise<{ readonly index: number; readonly term: number }> {
    let receipt: { index: number; term: number };
    try {
      receipt = proposeNow();
    } catch (err) {
      this.options.metrics?.proposals.inc({ outcome: 'dropped' });
      throw err;
    }
    this.lastProposed = receipt.index;
    const settled = new Promise<{ index: number; term: number }>((resolve, reject) => {
      this.pending.set(receipt.index, { term: receipt.term, resolve: () => resolve(receipt), reject });
    });
    this.maybeProcess();
    return settled;
  }

  /**
   * Stops driving; pending proposals fail (their outcome is unknown to this member).
   * Resolves once a Ready it was handling has finished with the disk: a persist still
   * queued in the group commit would otherwise write this group's hard state after
   * whatever the caller writes next (say, the deletion of the replica).
   */
  stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.commitNoticeTimer);
    for (const [index, proposal] of this.pending) {
      proposal.reject(new ProposalFailedError(index, 'the member stopped before the entry applied'));
    }
    this.pending.clear();
    return this.processed;
  }

  /**
   * Works through Readies on the next turn of the event loop, so that everything that
   * arrives in one turn (proposals, messages) goes into one Ready: one write, one round
   * of messages.
   */
  private maybeProcess(): void {
    if (this.processing || this.scheduled || this.stopped) {
      return;
    }
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.processing || this.stopped || !this.options.node.hasReady()) {
        return;
      }
      this.processing = true;
      this.processed = this.processReadies();
    });
  }

  private async processReadies(): Promise<void> {
    try {
      while (!this.stopped && this.options.node.hasReady()) {
        const rd = this.options.node.ready();
        await this.handle(rd);
        this.options.node.advance(rd);
      }
    } catch (err) {
      this.stopped = true;
      this.options.onFatal(err);
    } finally {
      this.processing = false;
    }
    this.armCommitNotices();
  }

  /**
   * A commit index the leader has not told a follower yet waits a moment for the
   * follower's next append; if none goes out by then, it is sent on its own.
   */
  private armCommitNotices(): void {
    if (this.commitNoticeTimer !== undefined || this.stopped || !this.options.node.commitNoticesPending()) return;
    this.commitNoticeTimer = setTimeout(() => {
      this.commitNoticeTimer = undefined;
      if (this.stopped) return;
      this.options.node.sendCommitNotices();
      this.maybeProcess();
    }, COMMIT_NOTICE_DELAY_MS);
  }

  private async handle(rd: Ready): Promise<void> {
    if (rd.softState !== undefined) {
      this.isLeader = rd.softState.state === 'leader';
      this.options.metrics?.observeSoftState(this.softState, rd.softState);
      this.softState = rd.softState;
      this.options.onSoftState?.(rd.softState);
    }
    const hardState = rd.hardState;
    const sameTermAndVote =
      hardState === undefined || (hardState.term === this.persistedTerm && hardState.vote === this.persistedVote);
    // A leader may replicate while it writes its own disk (Raft thesis §10.2.1): its
    // own entries count toward a commit only once advance() reports them persisted,
    // and its messages depend on no unpersisted term or vote.
    const sendFirst = this.isLeader && sameTermAndVote;
    if (sendFirst) {
      this.sendAll(rd.messages);
    }
    // Committed entries already on this member's disk apply before the new entries'
    // fsync, not after it: they are durable on a quorum, and their proposers need not
    // wait for a write that is not theirs. (Entries the Ready itself brings wait, so
    // that the applied index never passes the log on disk.)
    let early = 0;
    if (rd.snapshot === undefined) {
      const firstNew = rd.entries[0]?.index ?? Number.POSITIVE_INFINITY;
      while (early < rd.committedEntries.length) {
        const index = (rd.committedEntries[early] as Entry).index;
        if (index >= firstNew || index > this.persistedLastIndex) break;
        early++;
      }
      if (early > 0) this.applyEntries(early === rd.committedEntries.length ? rd.committedEntries : rd.committedEntries.slice(0, early));
    }
    // 1. Persist what others will learn of from our messages. Only entries, a snapshot,
    // a term or a vote must reach the disk first; a commit index alone can be learned
    // again from the leader after a crash, so it is written without an fsync.
    if (hardState !== undefined || rd.entries.length > 0 || rd.snapshot !== undefined) {
      const sync = rd.entries.length > 0 || rd.snapshot !== undefined || !sameTermAndVote;
      const snapshot = rd.snapshot;
      const stageSnapshot = this.options.stageSnapshot;
      const appendSpans = this.entrySpans('raft.append', rd.entries);
      await this.options.writer.persist(
        (batch) => {
          if (snapshot !== undefined && stageSnapshot !== undefined) {
            stageSnapshot(batch, snapshot);
          }
          return this.options.log.stage(batch, { hardState, entries: rd.entries, snapshot });
        },
        { sync },
      );
      if (appendSpans !== undefined) for (const span of appendSpans) endSpan(span);
      if (hardState !== undefined) {
        this.persistedTerm = hardState.term;
        this.persistedVote = hardState.vote;
      }
      const last = rd.entries[rd.entries.length - 1];
      if (last !== undefined) {
        this.persistedLastIndex = last.index;
      } else if (snapshot !== undefined) {
        this.persistedLastIndex = Math.max(this.persistedLastIndex, snapshot.metadata.index);
      }
    }
    if (this.stopped) {
      return;
    }
    // 2. Send.
    if (!sendFirst) {
      this.sendAll(rd.messages);
    }
    // 3. Apply.
    if (rd.snapshot !== undefined) {
      const applySpans = this.entrySpans('raft.apply', rd.committedEntries);
      this.options.apply(rd.committedEntries, rd.snapshot);
      if (applySpans !== undefined) for (const span of applySpans) endSpan(span);
      this.settleUpTo(rd.snapshot.metadata.index, 'a snapshot replaced the log before the entry applied here');
      this.appliedIndex = Math.max(this.appliedIndex, rd.snapshot.metadata.index);
      for (const entry of rd.committedEntries) this.settleApplied(entry);
      this.options.metrics?.committedEntries.inc(rd.committedEntries.length);
    } else if (early < rd.committedEntries.length) {
      this.applyEntries(early === 0 ? rd.committedEntries : rd.committedEntries.slice(early));
    }
    if (rd.readStates.length > 0) {
      this.options.onReadStates?.(rd.readStates);
    }
  }

  private applyEntries(entries: readonly Entry[]): void {
    const applySpans = this.entrySpans('raft.apply', entries);
    this.options.apply(entries, undefined);
    if (applySpans !== undefined) for (const span of applySpans) endSpan(span);
    for (const entry of entries) this.settleApplied(entry);
    this.options.metrics?.committedEntries.inc(entries.length);
  }

  private settleApplied(entry: Entry): void {
    this.settle(entry);
    this.appliedIndex = Math.max(this.appliedIndex, entry.index);
  }

  /**
   * Spans for the traced entries among `entries` (those proposed under a recording
   * span), started now; undefined when there are none, the common case.
   */
  private entrySpans(name: string, entries: readonly Entry[]): Span[] | undefined {
    let spans: Span[] | undefined;
    for (const entry of entries) {
      if (entry.traceContext === undefined) continue;
      for (const parent of entry.traceContext.split(',')) {
        const span = startRemoteChildSpan(name, parent, {
          'cairn.range_id': this.options.groupId,
          'raft.index': entry.index,
          'raft.term': entry.term,
          'raft.entries': entries.length,
        });
        if (span !== NO_SPAN) (spans ??= []).push(span);
      }
    }
    return spans;
  }

  private sendAll(messages: readonly Message[]): void {
    for (const message of messages) {
      this.options.send(message);
    }
  }

  private settle(entry: Entry): void {
    const proposal = this.pending.get(entry.index);
    if (proposal === undefined) {
      return;
    }
    this.pending.delete(entry.index);
    if (proposal.term === entry.term) {
      this.options.metrics?.proposals.inc({ outcome: 'committed' });
      proposal.resolve();
    } else {
      this.options.metrics?.proposals.inc({ outcome: 'failed' });
      proposal.reject(new ProposalFailedError(entry.index, `another entry (term ${entry.term}) committed there`));
    }
  }

  private settleUpTo(index: number, reason: string): void {
    for (const [i, proposal] of this.pending) {
      if (i <= index) {
        this.pending.delete(i);
        // Whether it committed is unknown here: the caller must find out another way.
        this.options.metrics?.proposals.inc({ outcome: 'failed' });
        proposal.reject(new ProposalFailedError(i, reason));
      }
    }
  }
}
