import type { Timestamp } from '../../common/hlc';
import type * as cmdpb from '../../proto/gen/cairn/node/v1/command';
import { isMergeable, mergeCommands, mergeRuns, writeBytesOf } from './command-merge';

const at = (wallTime: number, logical = 0): Timestamp => ({ wallTime: BigInt(wallTime), logical });
const write = (key: string, value = ''): cmdpb.WriteOp => ({ key: Buffer.from(key), value: Buffer.from(value), delete: false });
const remove = (key: string): cmdpb.WriteOp => ({ key: Buffer.from(key), value: Buffer.alloc(0), delete: true });

function command(lease: number, writes: cmdpb.WriteOp[], timestamp?: Timestamp, closed?: Timestamp): cmdpb.RaftCommand {
  const c: cmdpb.RaftCommand = { leaseSequence: BigInt(lease), writes };
  if (timestamp !== undefined) c.timestamp = timestamp;
  if (closed !== undefined) c.closedTimestamp = closed;
  return c;
}

describe('merging the commands of a turn', () => {
  it('keeps every write in proposal order, deletes included', () => {
    const merged = mergeCommands([command(3, [write('a', '1'), remove('b')]), command(3, []), command(3, [write('c', '2')])]);
    expect(merged.leaseSequence).toBe(3n);
    expect(merged.writes.map((w) => `${w.key.toString()}${w.delete ? ' deleted' : `=${w.value.toString()}`}`)).toEqual(['a=1', 'b deleted', 'c=2']);
  });

  it('carries the highest timestamp and the highest closed timestamp', () => {
    const merged = mergeCommands([command(1, [write('a')], at(20), at(5)), command(1, [write('b')], at(10, 3), at(7)), command(1, [write('c')])]);
    expect(merged.timestamp).toEqual(at(20));
    expect(merged.closedTimestamp).toEqual(at(7));
    const none = mergeCommands([command(1, [write('a')]), command(1, [write('b')])]);
    expect(none.timestamp).toBeUndefined();
    expect(none.closedTimestamp).toBeUndefined();
  });

  it('returns a lone command as it is', () => {
    const only = command(2, [write('a')], at(1));
    expect(mergeCommands([only])).toBe(only);
  });

  it('refuses leases, splits and commands of different leases', () => {
    const lease: cmdpb.RaftCommand = { ...command(1, []), lease: { nodeId: 1n, term: 2n, start: at(1), sequence: 0n } };
    expect(isMergeable(lease)).toBe(false);
    expect(isMergeable(command(1, [write('a')]))).toBe(true);
    expect(() => mergeCommands([command(1, []), lease])).toThrow(/only plain commands/);
    expect(() => mergeCommands([command(1, []), command(2, [])])).toThrow(/only plain commands/);
  });

  it('cuts runs at a lease change and at the byte limit, in order', () => {
    const big = 'x'.repeat(100);
    const items = [
      { id: 'a', command: command(1, [write('a', big)]) },
      { id: 'b', command: command(1, [write('b', big)]) },
      { id: 'c', command: command(2, [write('c', big)]) },
      { id: 'd', command: command(2, [write('d', big)]) },
      { id: 'e', command: command(2, [write('e', big)]) },
      { id: 'f', command: command(2, [write('f', big.repeat(5))]) },
    ];
    const perWrite = writeBytesOf(items[0]!.command);
    const runs = mergeRuns(items, 2 * perWrite);
    expect(runs.map((run) => run.map((item) => item.id).join(''))).toEqual(['ab', 'cd', 'e', 'f']);
    expect(mergeRuns([])).toEqual([]);
  });
});
