import { MalformedEncodingError, unreachable } from '../../common/errors';
import * as pb from '../../proto/gen/cairn/raft/v1/raft';
import type { Message } from '../raft';
import type { Snapshot } from '../raft';
import { entryFromProto, entryToProto, snapshotMetadataFromProto, snapshotMetadataToProto } from '../replica/raft-codec';

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

function num(value: bigint, field: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new MalformedEncodingError('raft message', 0, `${field} ${value} is beyond 2^53`);
  }
  return Number(value);
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
  const out = base(groupId, m);
  switch (m.type) {
    case 'MsgApp':
      return { ...out, index: BigInt(m.index), logTerm: BigInt(m.logTerm), entries: m.entries.map(entryToProto), commit: BigInt(m.commit) };
    case 'MsgAppResp':
      return { ...out, index: BigInt(m.index), reject: m.reject, rejectHint: BigInt(m.rejectHint), logTerm: BigInt(m.logTerm) };
    case 'MsgVote':
    case 'MsgPreVote':
      return { ...out, index: BigInt(m.index), logTerm: BigInt(m.logTerm), transfer: m.transfer };
    case 'MsgVoteResp':
    case 'MsgPreVoteResp':
      return { ...out, reject: m.reject };
    case 'MsgHeartbeat':
      return { ...out, commit: BigInt(m.commit), readContext: m.readContext };
    case 'MsgHeartbeatResp':
      return { ...out, readContext: m.readContext };
    case 'MsgSnap':
      return { ...out, snapshot: snapshotMetadataToProto(m.snapshot.metadata) };
    case 'MsgTimeoutNow':
      return out;
    case 'MsgTransferLeader':
      return { ...out, transferee: BigInt(m.transferee) };
    case 'MsgReadIndex':
      return { ...out, readContext: m.readContext };
    case 'MsgReadIndexResp':
      return { ...out, readContext: m.readContext, index: BigInt(m.index) };
    default:
      return unreachable(m, 'raft message');
  }
}

/** Back from the wire; `snapshotData` fills a MsgSnap's data. */
export function envelopeFromProto(p: pb.RaftMessage, snapshotData: Uint8Array = EMPTY): RaftEnvelope {
  const groupId = num(p.groupId, 'group');
  const env = { from: num(p.from, 'from'), to: num(p.to, 'to'), term: num(p.term, 'term') };
  let message: Message;
  switch (p.type) {
    case pb.MessageType.MESSAGE_TYPE_APP:
      message = {
        ...env,
        type: 'MsgApp',
        index: num(p.index, 'index'),
        logTerm: num(p.logTerm, 'logTerm'),
        entries: p.entries.map(entryFromProto),
        commit: num(p.commit, 'commit'),
      };
      break;
    case pb.MessageType.MESSAGE_TYPE_APP_RESP:
      message = {
        ...env,
        type: 'MsgAppResp',
        index: num(p.index, 'index'),
        reject: p.reject,
        rejectHint: num(p.rejectHint, 'rejectHint'),
        logTerm: num(p.logTerm, 'logTerm'),
      };
      break;
    case pb.MessageType.MESSAGE_TYPE_VOTE:
    case pb.MessageType.MESSAGE_TYPE_PRE_VOTE:
      message = {
        ...env,
        type: p.type === pb.MessageType.MESSAGE_TYPE_VOTE ? 'MsgVote' : 'MsgPreVote',
        index: num(p.index, 'index'),
        logTerm: num(p.logTerm, 'logTerm'),
        transfer: p.transfer,
      };
      break;
    case pb.MessageType.MESSAGE_TYPE_VOTE_RESP:
    case pb.MessageType.MESSAGE_TYPE_PRE_VOTE_RESP:
      message = {
        ...env,
        type: p.type === pb.MessageType.MESSAGE_TYPE_VOTE_RESP ? 'MsgVoteResp' : 'MsgPreVoteResp',
        reject: p.reject,
      };
      break;
    case pb.MessageType.MESSAGE_TYPE_HEARTBEAT:
      message = { ...env, type: 'MsgHeartbeat', commit: num(p.commit, 'commit'), readContext: p.readContext };
      break;
    case pb.MessageType.MESSAGE_TYPE_HEARTBEAT_RESP:
      message = { ...env, type: 'MsgHeartbeatResp', readContext: p.readContext };
      break;
    case pb.MessageType.MESSAGE_TYPE_SNAP: {
      const snapshot: Snapshot = { metadata: snapshotMetadataFromProto(p.snapshot), data: snapshotData };
      message = { ...env, type: 'MsgSnap', snapshot };
      break;
    }
    case pb.MessageType.MESSAGE_TYPE_TIMEOUT_NOW:
      message = { ...env, type: 'MsgTimeoutNow' };
      break;
    case pb.MessageType.MESSAGE_TYPE_TRANSFER_LEADER:
      message = { ...env, type: 'MsgTransferLeader', transferee: num(p.transferee, 'transferee') };
      break;
    case pb.MessageType.MESSAGE_TYPE_READ_INDEX:
      message = { ...env, type: 'MsgReadIndex', readContext: p.readContext };
      break;
    case pb.MessageType.MESSAGE_TYPE_READ_INDEX_RESP:
      message = { ...env, type: 'MsgReadIndexResp', readContext: p.readContext, index: num(p.index, 'index') };
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
  const env = { from: num(h.from, 'from'), to: num(h.to, 'to'), term: num(h.term, 'term') };
  const message: Message = response
    ? { ...env, type: 'MsgHeartbeatResp', readContext: h.readContext }
    : { ...env, type: 'MsgHeartbeat', commit: num(h.commit, 'commit'), readContext: h.readContext };
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
  return [
    ...batch.messages.map((m) => envelopeFromProto(m)),
    ...batch.heartbeats.map((h) => heartbeatFromProto(h, false)),
    ...batch.heartbeatResponses.map((h) => heartbeatFromProto(h, true)),
  ];
}
