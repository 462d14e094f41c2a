import { MalformedEncodingError } from '../../common/errors';
import * as pb from '../../proto/gen/cairn/raft/v1/raft';
import type { ConfState, Entry, HardState, SnapshotMetadata } from '../raft';
import { encodeProto } from '../../common/encoding';

const MAX_SAFE_BIGINT = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Raft's plain types to and from their protobuf form (proto/cairn/raft/v1/raft.proto),
 * for the log on disk and the messages on the wire.
 */

/** A uint64 field as a number; Raft terms, indexes and ids stay below 2^53. */
export function toIndex(value: bigint, what: string): number {
  if (value > MAX_SAFE_BIGINT) {
    throw new MalformedEncodingError(what, 0, `${value} is beyond 2^53`);
  }
  return Number(value);
}

function decodeWith<T>(what: string, decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    if (err instanceof MalformedEncodingError) {
      throw err;
    }
    throw new MalformedEncodingError(what, 0, (err as Error).message);
  }
}

export function entryToProto(entry: Entry): pb.Entry {
  return {
    index: BigInt(entry.index),
    term: BigInt(entry.term),
    type: entry.type === 'confChange' ? pb.EntryType.ENTRY_TYPE_CONF_CHANGE : pb.EntryType.ENTRY_TYPE_NORMAL,
    data: Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength),
    traceContext: entry.traceContext ?? '',
  };
}

export function entryFromProto(entry: pb.Entry): Entry {
  let type: Entry['type'];
  switch (entry.type) {
    case pb.EntryType.ENTRY_TYPE_NORMAL:
      type = 'normal';
      break;
    case pb.EntryType.ENTRY_TYPE_CONF_CHANGE:
      type = 'confChange';
      break;
    default:
      throw new MalformedEncodingError('raft entry', 0, `unknown entry type ${entry.type}`);
  }
  const decoded = { index: toIndex(entry.index, 'raft entry index'), term: toIndex(entry.term, 'raft entry term'), type, data: entry.data };
  return entry.traceContext === '' ? decoded : { ...decoded, traceContext: entry.traceContext };
}

export function encodeEntry(entry: Entry): Buffer {
  return encodeProto(pb.Entry, entryToProto(entry));
}

export function decodeEntry(raw: Uint8Array): Entry {
  return decodeWith('raft entry', () => entryFromProto(pb.Entry.decode(raw)));
}

export function encodeHardState(hs: HardState): Buffer {
  return Buffer.from(
    pb.HardState.encode({ term: BigInt(hs.term), vote: BigInt(hs.vote), commit: BigInt(hs.commit) }).finish(),
  );
}

export function decodeHardState(raw: Uint8Array): HardState {
  return decodeWith('raft hard state', () => {
    const hs = pb.HardState.decode(raw);
    return {
      term: toIndex(hs.term, 'raft term'),
      vote: toIndex(hs.vote, 'raft vote'),
      commit: toIndex(hs.commit, 'raft commit'),
    };
  });
}

export function confStateToProto(cs: ConfState): pb.ConfState {
  return { voters: cs.voters.map((id) => BigInt(id)), learners: cs.learners.map((id) => BigInt(id)) };
}

export function confStateFromProto(cs: pb.ConfState | undefined): ConfState {
  return {
    voters: (cs?.voters ?? []).map((id) => toIndex(id, 'raft voter')),
    learners: (cs?.learners ?? []).map((id) => toIndex(id, 'raft learner')),
  };
}

export function snapshotMetadataToProto(meta: SnapshotMetadata): pb.SnapshotMetadata {
  return { index: BigInt(meta.index), term: BigInt(meta.term), confState: confStateToProto(meta.confState) };
}

export function snapshotMetadataFromProto(meta: pb.SnapshotMetadata | undefined): SnapshotMetadata {
  return {
    index: toIndex(meta?.index ?? 0n, 'raft snapshot index'),
    term: toIndex(meta?.term ?? 0n, 'raft snapshot term'),
    confState: confStateFromProto(meta?.confState),
  };
}

export function decodeLogState(raw: Uint8Array): pb.LogState {
  return decodeWith('raft log state', () => pb.LogState.decode(raw));
}
