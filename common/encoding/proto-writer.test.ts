import * as kvpb from '../../proto/gen/cairn/kv/v1/kv';
import { encodeProto } from './proto-writer';

const descriptor = (n: number, keyBytes = 8): kvpb.RangeDescriptor => ({
  rangeId: BigInt(n),
  startKey: Buffer.alloc(keyBytes, n),
  endKey: Buffer.alloc(keyBytes, n + 1),
  replicas: [{ nodeId: 1n, type: kvpb.ReplicaType.REPLICA_TYPE_VOTER }],
  generation: 1n,
});

describe('encodeProto', () => {
  test('encodes as the generated encoder does, each result its own bytes', () => {
    const first = encodeProto(kvpb.RangeDescriptor, descriptor(1));
    const copyOfFirst = Buffer.from(first);
    const second = encodeProto(kvpb.RangeDescriptor, descriptor(2, 3_000));
    expect(second.equals(Buffer.from(kvpb.RangeDescriptor.encode(descriptor(2, 3_000)).finish()))).toBe(true);
    // The shared writer went on to other messages: the first result did not change.
    expect(first.equals(copyOfFirst)).toBe(true);
    expect(kvpb.RangeDescriptor.decode(first)).toEqual(descriptor(1));
  });

  test('a message that fails to encode leaves no trace in the next one', () => {
    const bad = { ...descriptor(3), replicas: [{ nodeId: 1n, type: -5 as kvpb.ReplicaType }] };
    expect(() => encodeProto(kvpb.RangeDescriptor, { ...bad, rangeId: -1n })).toThrow();
    expect(kvpb.RangeDescriptor.decode(encodeProto(kvpb.RangeDescriptor, descriptor(4)))).toEqual(descriptor(4));
  });

  test('a message larger than the writer keeps is encoded whole, and small ones after it too', () => {
    const big = descriptor(5, 3 << 19);
    const decoded = kvpb.RangeDescriptor.decode(encodeProto(kvpb.RangeDescriptor, big));
    expect(decoded.startKey.equals(big.startKey) && decoded.endKey.equals(big.endKey)).toBe(true);
    expect(kvpb.RangeDescriptor.decode(encodeProto(kvpb.RangeDescriptor, descriptor(6)))).toEqual(descriptor(6));
  });
});
