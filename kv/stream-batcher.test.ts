import type * as pb from '../proto/gen/cairn/kv/v1/kv';
import { StreamBatcher } from './stream-batcher';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function ids(messages: readonly pb.EncodedBatch[][]): number[][] {
  return messages.map((m) => m.map((b) => Number(b.requestId)));
}

describe('StreamBatcher', () => {
  it('writes what was added in one turn of the event loop as one message, in order', async () => {
    const written: pb.EncodedBatch[][] = [];
    const batcher = new StreamBatcher((batches) => written.push(batches));
    for (let id = 1; id <= 5; id++) batcher.add(BigInt(id), new Uint8Array([id]));
    expect(written).toEqual([]);
    await turn();
    batcher.add(6n, new Uint8Array([6]));
    await turn();
    expect(ids(written)).toEqual([[1, 2, 3, 4, 5], [6]]);
    expect([...(written[0]?.[2]?.batch ?? [])]).toEqual([3]);
  });

  it('keeps a message under its byte bound; a batch larger than the bound goes alone', async () => {
    const written: pb.EncodedBatch[][] = [];
    const batcher = new StreamBatcher((batches) => written.push(batches), 10);
    batcher.add(1n, new Uint8Array(4));
    batcher.add(2n, new Uint8Array(4));
    batcher.add(3n, new Uint8Array(4)); // 12 > 10: 1 and 2 go first
    batcher.add(4n, new Uint8Array(25)); // alone
    batcher.add(5n, new Uint8Array(1));
    await turn();
    expect(ids(written)).toEqual([[1, 2], [3], [4], [5]]);
    expect(written.every((m) => m.length === 1 || m.reduce((n, b) => n + b.batch.length, 0) <= 10)).toBe(true);
  });

  it('writes nothing once stopped', async () => {
    const written: pb.EncodedBatch[][] = [];
    const batcher = new StreamBatcher((batches) => written.push(batches));
    batcher.add(1n, new Uint8Array(1));
    batcher.stop();
    batcher.add(2n, new Uint8Array(1));
    batcher.flush();
    await turn();
    expect(written).toEqual([]);
  });
});
