import { CairnError } from '../../common/errors';
import type { NodeId } from './types';

/**
 * Why a proposal was not appended. A proposal that returns normally was appended at
 * the (index, term) it returns; see `ProposalReceipt` in raft.ts for how its fate is
 * decided from then on.
 */
export type DropReason =
  /** This node is not the leader; `leaderHint` names the leader it knows of, or NONE. */
  | 'not-leader'
  /** A leadership transfer is in progress; proposals resume when it ends. */
  | 'transfer-in-progress'
  /** A configuration change is still unapplied (one change at a time). */
  | 'conf-change-pending'
  /** The leader was removed from the group. */
  | 'not-a-member';

export class ProposalDroppedError extends CairnError {
  readonly reason: DropReason;
  readonly leaderHint: NodeId;

  constructor(reason: DropReason, leaderHint: NodeId) {
    super('RAFT_PROPOSAL_DROPPED', `raft proposal dropped: ${reason} (leader hint ${leaderHint})`, {
      retryable: true,
    });
    this.reason = reason;
    this.leaderHint = leaderHint;
  }
}

/** The requested entries were compacted away; the caller must use a snapshot. */
export class LogCompactedError extends CairnError {
  constructor(index: number, firstIndex: number) {
    super('RAFT_LOG_COMPACTED', `raft log index ${index} is compacted (first index ${firstIndex})`);
  }
}

/** The requested entries are beyond the last index. */
export class LogUnavailableError extends CairnError {
  constructor(index: number, lastIndex: number) {
    super('RAFT_LOG_UNAVAILABLE', `raft log index ${index} is unavailable (last index ${lastIndex})`);
  }
}
