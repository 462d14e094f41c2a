import { assert } from '../../common/errors';

/**
 * The leader's view of one member's log (Raft §5.3 nextIndex/matchIndex, plus flow control).
 *
 *  probe:     we do not know where the member's log ends; send one MsgApp per heartbeat
 *             round until one is accepted.
 *  replicate: the member is in step; stream MsgApps optimistically (pipelining), at most
 *             `inflights.capacity` unacknowledged.
 *  snapshot:  a snapshot is on its way; send nothing until it is reported.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** In probe state: a MsgApp is outstanding, wait for its answer or a heartbeat round. */
  probeSent = false;
  /** In snapshot state: the index of the snapshot sent. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** The highest commit index sent to the member that its log (as we sent it) could take. */
  sentCommit = 0;
  readonly inflights: Inflights;

  constructor(
    next: number,
    maxInflight: number,
    public isLearner: boolean,
  ) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      const pending = this.pendingSnapshot;
      this.reset('probe');
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.reset('probe');
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.reset('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.reset('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /** An acknowledgement that the member holds our log through n. Returns whether match moved. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /** Pipelining: assume the MsgApp ending at n will be accepted. */
  optimisticUpdate(n: number): void {
    this.next = n + 1;
  }

  /**
   * A rejection of the MsgApp sent with prev index `rejected`; `matchHint` is where the
   * logs may match. Returns false if the rejection is stale (out of order).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1, 1);
    this.probeSent = false;
    return true;
  }

  /** Whether telling the member commit index `committed` could move its commit index. */
  canBumpCommit(committed: number): boolean {
    return this.sentCommit < Math.min(committed, this.next - 1);
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }

  describe(): string {
    return `${this.state} match=${this.match} next=${this.next}${this.state === 'snapshot' ? ` snap=${this.pendingSnapshot}` : ''}`;
  }

  private reset(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }
}

/** The last indexes of unacknowledged MsgApps to one member, oldest first. */
export class Inflights {
  private readonly items: number[] = [];

  constructor(readonly capacity: number) {
    assert(capacity > 0, 'inflight capacity must be positive');
  }

  add(lastIndex: number): void {
    assert(!this.full(), 'inflights overflow');
    this.items.push(lastIndex);
  }

  /** Frees every message ending at or before `to`. */
  freeLE(to: number): void {
    let n = 0;
    while (n < this.items.length && (this.items[n] ?? Infinity) <= to) n++;
    if (n > 0) this.items.splice(0, n);
  }

  freeFirstOne(): void {
    this.items.shift();
  }

  full(): boolean {
    return this.items.length >= this.capacity;
  }

  count(): number {
    return this.items.length;
  }

  reset(): void {
    this.items.length = 0;
  }
}
