import type * as pb from '../../proto/gen/cairn/kv/v1/kv';
import { AutocommitPointRead, NeedsTransactionError } from './autocommit-read';

describe('AutocommitPointRead', () => {
  function reader(values: Record<string, string>): { read: AutocommitPointRead; sent: pb.RequestUnion[][] } {
    const sent: pb.RequestUnion[][] = [];
    const batch = (requests: pb.RequestUnion[]): Promise<pb.ResponseUnion[]> => {
      sent.push(requests);
      return Promise.resolve(
        requests.map((r): pb.ResponseUnion => {
          const key = r.request?.$case === 'get' ? r.request.value.key : Buffer.alloc(0);
          const value = values[key.toString()];
          return { response: { $case: 'get', value: value === undefined ? {} : { value: { key, value: Buffer.from(value) } } } };
        }),
      );
    };
    return { read: new AutocommitPointRead({ batch }), sent };
  }

  it('reads one key with one non-transactional Get, and nothing after it', async () => {
    const { read, sent } = reader({ a: 'A' });
    expect((await read.getMany([Buffer.from('a')]))[0]?.toString()).toBe('A');
    expect(sent).toEqual([[{ request: { $case: 'get', value: { key: Buffer.from('a'), forUpdate: false } } }]]);
    await expect(read.get(Buffer.from('b'))).rejects.toBeInstanceOf(NeedsTransactionError);
    expect(sent).toHaveLength(1);
  });

  it('answers a missing key with undefined', async () => {
    const { read } = reader({});
    expect(await read.get(Buffer.from('a'))).toBeUndefined();
  });

  it('sends nothing for what needs a transaction: several keys, a locking read, a scan, a write', async () => {
    const { read, sent } = reader({ a: 'A', b: 'B' });
    const attempts: (() => Promise<unknown>)[] = [
      () => read.getMany([Buffer.from('a'), Buffer.from('b')]),
      () => read.getMany([]),
      () => read.get(Buffer.from('a'), { forUpdate: true }),
      () => read.scan(),
      () => read.reverseScan(),
      () => read.put(),
      () => read.delete(),
      () => read.deleteRange(),
      () => read.conditionalPut(),
    ];
    for (const attempt of attempts) await expect(attempt()).rejects.toBeInstanceOf(NeedsTransactionError);
    expect(sent).toEqual([]);
    // Still unused: the one read it may make is still there.
    expect((await read.get(Buffer.from('b')))?.toString()).toBe('B');
  });
});
