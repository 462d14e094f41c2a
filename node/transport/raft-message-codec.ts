import { MalformedEncodingError, unreachable } from '../../common/errors';
import * as pb from '../../proto/gen/cairn/raft/v1/raft';
import type { Message } from '../raft';
import type { Snapshot } from '../raft';
import { entryFromProto, entryToProto, snapshotMetadataFromProto, snapshotMetadataToProto, toIndex } from '../replica/raft-codec';

/** A Raft message and the group it belongs to: what travels between nodes. */
export interface RaftEnvelope {
  readonly groupId: number;
  readonly message: Message;
}

const TYPES: Record<Message['type'], pb.MessageType> = {
  MsgApp: pb.MessageType.MESSAGE_TYPE_APP,
  MsgAppResp: pb.MessageType.MESSAGE_TYPE_APP_RESP,
  MsgVote: pb.MessageType.MESSAGE_TYPE_VOTE,
  MsgVoteResp: pb.MessageType.MESSAGE_TYPE_VOTE_RESP,
  MsgPreVote: pb.MessageType.MESSAGE_TYPE_PRE_VOTE,
  MsgPreVoteResp: pb.MessageType.MESSAGE_TYPE_PRE_VOTE_RESP,
  MsgHeartbeat: pb.MessageType.MESSAGE_TYPE_HEARTBEAT,
  MsgHeartbeatResp: pb.MessageType.MESSAGE_TYPE_HEARTBEAT_RESP,
  MsgSnap: pb.MessageType.MESSAGE_TYPE_SNAP,
  MsgTimeoutNow: pb.MessageType.MESSAGE_TYPE_TIMEOUT_NOW,
  MsgTransferLeader: pb.MessageType.MESSAGE_TYPE_TRANSFER_LEADER,
  MsgReadIndex: pb.MessageType.MESSAGE_TYPE_READ_INDEX,
  MsgReadIndexResp: pb.MessageType.MESSAGE_TYPE_READ_INDEX_RESP,
};

const EMPTY = Buffer.alloc(0);
// Enum members read once: through the generated module's re-export getters, each read
// in the per-message switch below cost more than the rest of the conversion.
const APP = pb.MessageType.MESSAGE_TYPE_APP;
const APP_RESP = pb.MessageType.MESSAGE_TYPE_APP_RESP;
const VOTE = pb.MessageType.MESSAGE_TYPE_VOTE;
const VOTE_RESP = pb.MessageType.MESSAGE_TYPE_VOTE_RESP;
const PRE_VOTE = pb.MessageType.MESSAGE_TYPE_PRE_VOTE;
const PRE_VOTE_RESP = pb.MessageType.MESSAGE_TYPE_PRE_VOTE_RESP;
const HEARTBEAT = pb.MessageType.MESSAGE_TYPE_HEARTBEAT;
const HEARTBEAT_RESP = pb.MessageType.MESSAGE_TYPE_HEARTBEAT_RESP;
const SNAP = pb.MessageType.MESSAGE_TYPE_SNAP;
const TIMEOUT_NOW = pb.MessageType.MESSAGE_TYPE_TIMEOUT_NOW;
const TRANSFER_LEADER = pb.MessageType.MESSAGE_TYPE_TRANSFER_LEADER;
const READ_INDEX = pb.MessageType.MESSAGE_TYPE_READ_INDEX;
const READ_INDEX_RESP = pb.MessageType.MESSAGE_TYPE_READ_INDEX_RESP;

function num(value: bigint, field: string): number {
  return toIndex(value, field);
}

function base(groupId: number, m: Message): pb.RaftMessage {
  return {
    groupId: BigInt(groupId),
    type: TYPES[m.type],
    from: BigInt(m.from),
    to: BigInt(m.to),
    term: BigInt(m.term),
    index: 0n,
    logTerm: 0n,
    entries: [],
    commit: 0n,
    reject: false,
    rejectHint: 0n,
    transfer: false,
    readContext: '',
    transferee: 0n,
  };
}

/** The wire form; a MsgSnap keeps only its metadata (the data is streamed apart). */
export function envelopeToProto({ groupId, message: m }: RaftEnvelope): pb.RaftMessage {
  // Fields are assigned to one fresh object: object spread with added properties takes
  // a slow path in V8 (microseconds per message).
  const out = base(groupId, m);
  switch (m.type) {
    case 'MsgApp':
      out.index = BigInt(m.index);
      out.logTerm = BigInt(m.logTerm);
      out.entries = m.entries.map(entryToProto);
      out.commit = BigInt(m.commit);
      return out;
    case 'MsgAppResp':
      out.index = BigInt(m.index);
      out.reject = m.reject;
      out.rejectHint = BigInt(m.rejectHint);
      out.logTerm = BigInt(m.logTerm);
      return out;
    case 'MsgVote':
    case 'MsgPreVote':
      out.index = BigInt(m.index);
      out.logTerm = BigInt(m.logTerm);
      out.transfer = m.transfer;
      return out;
    case 'MsgVoteResp':
    case 'MsgPreVoteResp':
      out.reject = m.reject;
      return out;
    case 'MsgHeartbeat':
      out.commit = BigInt(m.commit);
      out.readContext = m.readContext;
      return out;
    case 'MsgHeartbeatResp':
      out.readContext = m.readContext;
      return out;
    case 'MsgSnap':
      out.snapshot = snapshotMetadataToProto(m.snapshot.metadata);
      return out;
    case 'MsgTimeoutNow':
      return out;
    case 'MsgTransferLeader':
      out.transferee = BigInt(m.transferee);
      return out;
    case 'MsgReadIndex':
      out.readContext = m.readContext;
      return out;
    case 'MsgReadIndexResp':
      out.readContext = m.readContext;
      out.index = BigInt(m.index);
      return out;
    default:
      return unreachable(m, 'raft message');
  }
}

/** Back from the wire; `snapshotData` fills a MsgSnap's data. */
export function envelopeFromProto(p: pb.RaftMessage, snapshotData: Uint8Array = EMPTY): RaftEnvelope {
  const groupId = num(p.groupId, 'group');
  const from = num(p.from, 'from');
  const to = num(p.to, 'to');
  const term = num(p.term, 'term');
  let message: Message;
  switch (p.type) {
    case APP:
      message = {
        type: 'MsgApp',
        from,
        to,
        term,
        index: num(p.index, 'index'),
        logTerm: num(p.logTerm, 'logTerm'),
        entries: p.entries.map(entryFromProto),
        commit: num(p.commit, 'commit'),
      };
      break;
    case APP_RESP:
      message = {
        type: 'MsgAppResp',
        from,
        to,
        term,
        index: num(p.index, 'index'),
        reject: p.reject,
        rejectHint: num(p.rejectHint, 'rejectHint'),
        logTerm: num(p.logTerm, 'logTerm'),
      };
      break;
    case VOTE:
    case PRE_VOTE:
      message = {
        type: p.type === VOTE ? 'MsgVote' : 'MsgPreVote',
        from,
        to,
        term,
        index: num(p.index, 'index'),
        logTerm: num(p.logTerm, 'logTerm'),
        transfer: p.transfer,
      };
      break;
    case VOTE_RESP:
    case PRE_VOTE_RESP:
      message = { type: p.type === VOTE_RESP ? 'MsgVoteResp' : 'MsgPreVoteResp', from, to, term, reject: p.reject };
      break;
    case HEARTBEAT:
      message = { type: 'MsgHeartbeat', from, to, term, commit: num(p.commit, 'commit'), readContext: p.readContext };
      break;
    case HEARTBEAT_RESP:
      message = { type: 'MsgHeartbeatResp', from, to, term, readContext: p.readContext };
      break;
    case SNAP: {
      const snapshot: Snapshot = { metadata: snapshotMetadataFromProto(p.snapshot), data: snapshotData };
      message = { type: 'MsgSnap', from, to, term, snapshot };
      break;
    }
    case TIMEOUT_NOW:
      message = { type: 'MsgTimeoutNow', from, to, term };
      break;
    case TRANSFER_LEADER:
      message = { type: 'MsgTransferLeader', from, to, term, transferee: num(p.transferee, 'transferee') };
      break;
    case READ_INDEX:
      message = { type: 'MsgReadIndex', from, to, term, readContext: p.readContext };
      break;
    case READ_INDEX_RESP:
      message = { type: 'MsgReadIndexResp', from, to, term, readContext: p.readContext, index: num(p.index, 'index') };
      break;
    default:
      throw new MalformedEncodingError('raft message', 0, `unknown message type ${p.type}`);
  }
  return { groupId, message };
}

/** Heartbeats and their responses go in the compact form. */
export function heartbeatToProto({ groupId, message: m }: RaftEnvelope): pb.Heartbeat {
  if (m.type !== 'MsgHeartbeat' && m.type !== 'MsgHeartbeatResp') {
    throw new MalformedEncodingError('raft heartbeat', 0, `${m.type} is not a heartbeat`);
  }
  return {
    groupId: BigInt(groupId),
    from: BigInt(m.from),
    to: BigInt(m.to),
    term: BigInt(m.term),
    commit: m.type === 'MsgHeartbeat' ? BigInt(m.commit) : 0n,
    readContext: m.readContext,
  };
}

export function heartbeatFromProto(h: pb.Heartbeat, response: boolean): RaftEnvelope {
  const from = num(h.from, 'from');
  const to = num(h.to, 'to');
  const term = num(h.term, 'term');
  const message: Message = response
    ? { type: 'MsgHeartbeatResp', from, to, term, readContext: h.readContext }
    : { type: 'MsgHeartbeat', from, to, term, commit: num(h.commit, 'commit'), readContext: h.readContext };
  return { groupId: num(h.groupId, 'group'), message };
}

/** One batch for the wire: heartbeats coalesced into their compact lists. */
export function batchToProto(fromNode: number, toNode: number, envelopes: readonly RaftEnvelope[]): pb.MessagesRequest {
  const batch: pb.MessagesRequest = {
    fromNode: BigInt(fromNode),
    toNode: BigInt(toNode),
    messages: [],
    heartbeats: [],
    heartbeatResponses: [],
  };
  for (const envelope of envelopes) {
    switch (envelope.message.type) {
      case 'MsgHeartbeat':
        batch.heartbeats.push(heartbeatToProto(envelope));
        break;
      case 'MsgHeartbeatResp':
        batch.heartbeatResponses.push(heartbeatToProto(envelope));
        break;
      default:
        batch.messages.push(envelopeToProto(envelope));
    }
  }
  return batch;
}

export function batchFromProto(batch: pb.MessagesRequest): RaftEnvelope[] {
  const out: RaftEnvelope[] = [];
  for (const m of batch.messages) {
    out.push(envelopeFromProto(m));
  }
  for (const h of batch.heartbeats) {
    out.push(heartbeatFromProto(h, false));
  }
  for (const h of batch.heartbeatResponses) {
    out.push(heartbeatFromProto(h, true));
  }
  return out;
}
