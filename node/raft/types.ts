/** Plain data shared by the Raft core, its storage and its callers. */

/** A member id. 0 (`NONE`) means "nobody" (no leader, no vote). */
export type NodeId = number;
export const NONE: NodeId = 0;

export type EntryType = 'normal' | 'confChange';

export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  /** Application bytes; for `confChange` the encoded ConfChange (conf-change.ts). Empty for the leader's no-op. */
  readonly data: Uint8Array;
  /**
   * The W3C trace context of the span that proposed it, when that span records: the
   * members' drivers trace appending and applying it. Opaque to Raft.
   */
  readonly traceContext?: string;
}

/** What must be on stable storage before any message that depends on it is sent. */
export interface HardState {
  readonly term: number;
  /** Whom this node voted for in `term`, or NONE. */
  readonly vote: NodeId;
  readonly commit: number;
}

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: NONE, commit: 0 };

export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** The membership of a group: voters count toward quorums, learners only receive the log. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export interface SnapshotMetadata {
  readonly index: number;
  readonly term: number;
  /** Membership as of `index`. */
  readonly confState: ConfState;
}

export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  readonly data: Uint8Array;
}

export const EMPTY_SNAPSHOT: Snapshot = {
  metadata: { index: 0, term: 0, confState: { voters: [], learners: [] } },
  data: new Uint8Array(0),
};

export type StateType = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/** Volatile state worth telling the caller about; it needs no persistence. */
export interface SoftState {
  readonly lead: NodeId;
  readonly state: StateType;
}

/** A ReadIndex answer: reads for `requestContext` are linearizable once `index` is applied. */
export interface ReadState {
  readonly index: number;
  readonly requestContext: string;
}
