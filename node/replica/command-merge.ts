import { assert } from '../../common/errors';
import { maxTimestamp } from '../../common/hlc';
import type { Timestamp } from '../../common/hlc';
import type * as cmdpb from '../../proto/gen/cairn/node/v1/command';

/**
 * Commands a leaseholder evaluated in one turn of the event loop, proposed as one Raft
 * entry: one log append, one message to each follower and one apply per turn rather
 * than per request. Latches keep the commands of a turn off each other's keys, so
 * their writes apply the same in one entry as in several.
 */

/** Bytes of writes one merged command carries at most: a command past it goes alone. */
export const MAX_MERGED_WRITE_BYTES = 4 * 1024 * 1024;

/** Per write, what the encoding adds to its key and value (tags, lengths). */
const WRITE_OVERHEAD_BYTES = 16;

/** Whether a command may share an entry: plain writes, not a lease or a split. */
export function isMergeable(command: cmdpb.RaftCommand): boolean {
  return command.lease === undefined && command.split === undefined;
}

export function writeBytesOf(command: cmdpb.RaftCommand): number {
  let bytes = 0;
  for (const op of command.writes) bytes += op.key.length + op.value.length + WRITE_OVERHEAD_BYTES;
  return bytes;
}

/**
 * Cuts commands, in proposal order, into runs to merge: consecutive commands of the
 * same lease, each run's writes within `maxBytes` (a larger command is a run alone).
 */
export function mergeRuns<T extends { readonly command: cmdpb.RaftCommand }>(items: readonly T[], maxBytes = MAX_MERGED_WRITE_BYTES): T[][] {
  const runs: T[][] = [];
  let run: T[] = [];
  let runBytes = 0;
  let lease: bigint | undefined;
  for (const item of items) {
    const bytes = writeBytesOf(item.command);
    if (run.length > 0 && (item.command.leaseSequence !== lease || runBytes + bytes > maxBytes)) {
      runs.push(run);
      run = [];
      runBytes = 0;
    }
    run.push(item);
    runBytes += bytes;
    lease = item.command.leaseSequence;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/**
 * One command with the writes of all, in order. Its timestamp and closed timestamp are
 * the highest of theirs: every replica moves its clock past each write, and the closed
 * timestamp only ever rises from one command to the next, so the highest is the last
 * one's promise. A write of an earlier command below it is in the same entry, applied
 * before any follower serves a read at the new closed timestamp.
 */
export function mergeCommands(commands: readonly cmdpb.RaftCommand[]): cmdpb.RaftCommand {
  const first = commands[0];
  assert(first !== undefined, 'a merge has commands');
  if (commands.length === 1) return first;
  const writes: cmdpb.WriteOp[] = [];
  let timestamp: Timestamp | undefined;
  let closedTimestamp: Timestamp | undefined;
  for (const command of commands) {
    assert(command.leaseSequence === first.leaseSequence && isMergeable(command), 'only plain commands of one lease merge');
    for (const op of command.writes) writes.push(op);
    timestamp = later(timestamp, command.timestamp);
    closedTimestamp = later(closedTimestamp, command.closedTimestamp);
  }
  const merged: cmdpb.RaftCommand = { leaseSequence: first.leaseSequence, writes };
  if (timestamp !== undefined) merged.timestamp = timestamp;
  if (closedTimestamp !== undefined) merged.closedTimestamp = closedTimestamp;
  return merged;
}

function later(a: Timestamp | undefined, b: Timestamp | undefined): Timestamp | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return maxTimestamp(a, b);
}
