import type { Entry, NodeId, Snapshot } from './types';

/**
 * Messages between members of one group. Every message names its sender, its receiver
 * and the sender's term; the receiver compares terms before anything else (raft.ts
 * `step`). A transport carries them as opaque values; encoding is not this folder's job.
 */
interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/** Leader → follower: entries after (index, logTerm), and the leader's commit index. */
export interface MsgApp extends Envelope {
  readonly type: 'MsgApp';
  readonly index: number;
  readonly logTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

/**
 * Follower → leader. Accepted: `index` is the follower's last index matching the
 * leader's log. Rejected: `index` is the rejected MsgApp's index, and (rejectHint,
 * logTerm) is the follower's guess of the last entry that may match, so the leader
 * can skip a whole term of conflicting entries per round trip (fast back-off).
 */
export interface MsgAppResp extends Envelope {
  readonly type: 'MsgAppResp';
  readonly index: number;
  readonly reject: boolean;
  readonly rejectHint: number;
  readonly logTerm: number;
}

/** Candidate → voter. `term` is the term campaigned for; (index, logTerm) is the candidate's last entry. */
export interface MsgVote extends Envelope {
  readonly type: 'MsgVote' | 'MsgPreVote';
  readonly index: number;
  readonly logTerm: number;
  /** Set when the campaign follows a leadership transfer: voters then ignore their leader lease. */
  readonly transfer: boolean;
}

export interface MsgVoteResp extends Envelope {
  readonly type: 'MsgVoteResp' | 'MsgPreVoteResp';
  readonly reject: boolean;
}

/** Leader → member: "I am alive"; commit is capped at what the member is known to hold. */
export interface MsgHeartbeat extends Envelope {
  readonly type: 'MsgHeartbeat';
  readonly commit: number;
  /** The newest ReadIndex request this round confirms, or ''. */
  readonly readContext: string;
}

export interface MsgHeartbeatResp extends Envelope {
  readonly type: 'MsgHeartbeatResp';
  readonly readContext: string;
}

export interface MsgSnap extends Envelope {
  readonly type: 'MsgSnap';
  readonly snapshot: Snapshot;
}

/** Leader → transfer target: campaign now, skipping pre-vote and others' leases. */
export interface MsgTimeoutNow extends Envelope {
  readonly type: 'MsgTimeoutNow';
}

/** Member → leader: please make `to` the leader (forwarded transferLeadership). */
export interface MsgTransferLeader extends Envelope {
  readonly type: 'MsgTransferLeader';
  readonly transferee: NodeId;
}

/** Follower → leader: a ReadIndex request made on the follower. */
export interface MsgReadIndex extends Envelope {
  readonly type: 'MsgReadIndex';
  readonly readContext: string;
}

export interface MsgReadIndexResp extends Envelope {
  readonly type: 'MsgReadIndexResp';
  readonly readContext: string;
  readonly index: number;
}

export type Message =
  | MsgApp
  | MsgAppResp
  | MsgVote
  | MsgVoteResp
  | MsgHeartbeat
  | MsgHeartbeatResp
  | MsgSnap
  | MsgTimeoutNow
  | MsgTransferLeader
  | MsgReadIndex
  | MsgReadIndexResp;

export type MessageType = Message['type'];

/** A one-line rendering for traces. */
export function describeMessage(m: Message): string {
  const head = `${m.type} ${m.from}->${m.to} t${m.term}`;
  switch (m.type) {
    case 'MsgApp': {
      const first = m.entries[0];
      const last = m.entries[m.entries.length - 1];
      const span = first && last ? ` ents[${first.index}..${last.index}]` : '';
      return `${head} prev=(${m.index},${m.logTerm})${span} commit=${m.commit}`;
    }
    case 'MsgAppResp':
      return m.reject
        ? `${head} REJECT index=${m.index} hint=(${m.rejectHint},${m.logTerm})`
        : `${head} index=${m.index}`;
    case 'MsgVote':
    case 'MsgPreVote':
      return `${head} last=(${m.index},${m.logTerm})${m.transfer ? ' transfer' : ''}`;
    case 'MsgVoteResp':
    case 'MsgPreVoteResp':
      return `${head} ${m.reject ? 'reject' : 'grant'}`;
    case 'MsgHeartbeat':
      return `${head} commit=${m.commit}${m.readContext ? ` read=${m.readContext}` : ''}`;
    case 'MsgHeartbeatResp':
      return `${head}${m.readContext ? ` read=${m.readContext}` : ''}`;
    case 'MsgSnap':
      return `${head} snap=(${m.snapshot.metadata.index},${m.snapshot.metadata.term})`;
    case 'MsgTimeoutNow':
      return head;
    case 'MsgTransferLeader':
      return `${head} transferee=${m.transferee}`;
    case 'MsgReadIndex':
      return `${head} read=${m.readContext}`;
    case 'MsgReadIndexResp':
      return `${head} read=${m.readContext} index=${m.index}`;
  }
}

/**
 * The messages of one Ready with what repeats itself merged, so that a turn with many
 * proposals and acknowledgements costs each peer one message rather than one per event:
 *
 * - appends to one member that continue one another (the next starts where the last
 *   ends, in the same term) become one append with the later commit index, up to
 *   `maxSizePerMsg` bytes of entry data — a proposal and a commit advance each add one;
 * - a member's accepted append responses to one leader keep only the highest index
 *   (an acknowledgement covers every index below it, so a lower one says nothing new).
 *
 * A merged message takes the place of its first part. Any other message between the
 * same pair ends the merging, so nothing moves past it.
 */
export function coalesceMessages(msgs: readonly Message[], maxSizePerMsg: number): Message[] {
  if (msgs.length < 2) return msgs as Message[];
  const out: Message[] = [];
  /** By receiver: the position in `out` of the message later ones may merge into. */
  const open = new Map<NodeId, number>();
  for (const m of msgs) {
    const at = open.get(m.to);
    const prev = at === undefined ? undefined : out[at];
    if (at !== undefined && prev !== undefined) {
      if (m.type === 'MsgApp' && prev.type === 'MsgApp') {
        const merged = mergeAppends(prev, m, maxSizePerMsg);
        if (merged !== undefined) {
          out[at] = merged;
          continue;
        }
      } else if (m.type === 'MsgAppResp' && prev.type === 'MsgAppResp') {
        if (!m.reject && !prev.reject && m.term === prev.term && m.from === prev.from) {
          if (m.index > prev.index) out[at] = m;
          continue;
        }
      }
    }
    if ((m.type === 'MsgApp' || (m.type === 'MsgAppResp' && !m.reject)) && m.from !== m.to) {
      open.set(m.to, out.length);
    } else {
      open.delete(m.to);
    }
    out.push(m);
  }
  return out;
}

function mergeAppends(a: MsgApp, b: MsgApp, maxSizePerMsg: number): MsgApp | undefined {
  const last = a.entries[a.entries.length - 1];
  if (b.term !== a.term || b.from !== a.from) return undefined;
  if (b.index !== (last?.index ?? a.index) || b.logTerm !== (last?.term ?? a.logTerm)) return undefined;
  if (b.entries.length > 0 && a.entries.length > 0 && entryBytes(a.entries) + entryBytes(b.entries) > maxSizePerMsg) return undefined;
  return {
    ...a,
    entries: b.entries.length === 0 ? a.entries : a.entries.length === 0 ? b.entries : [...a.entries, ...b.entries],
    commit: Math.max(a.commit, b.commit),
  };
}

function entryBytes(entries: readonly Entry[]): number {
  let n = 0;
  for (const e of entries) n += e.data.length;
  return n;
}
