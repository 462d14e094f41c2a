import fc from 'fast-check';
import type * as pb from '../proto/gen/cairn/kv/v1/kv';
import { WriteBuffer } from './write-buffer';

const key = fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 3 }).map((bytes) => Buffer.from(bytes));
const pointSpan = (k: Buffer): { start: Buffer; end: Buffer } => ({ start: k, end: Buffer.concat([k, Buffer.from([0])]) });
const span = fc
  .tuple(key, key)
  .filter(([a, b]) => !a.equals(b))
  .map(([a, b]) => (Buffer.compare(a, b) < 0 ? { start: a, end: b } : { start: b, end: a }));
const write = fc.oneof(
  key.map((k) => ({ point: true, span: pointSpan(k) })),
  span.map((s) => ({ point: false, span: s })),
);
const put = (k: Buffer): pb.RequestUnion => ({ request: { $case: 'put', value: { key: k, value: Buffer.alloc(0) } } });

describe('WriteBuffer', () => {
  it('says a read overlaps exactly when some buffered write touches its span', () => {
    fc.assert(
      fc.property(fc.array(write, { maxLength: 12 }), fc.array(fc.oneof(key.map((k) => ({ point: true, span: pointSpan(k) })), span.map((s) => ({ point: false, span: s })))), (writes, reads) => {
        const buffer = new WriteBuffer();
        for (const w of writes) buffer.add(put(w.span.start), w.span, w.point, 1);
        for (const r of reads) {
          const expected = writes.some((w) => Buffer.compare(w.span.start, r.span.end) < 0 && Buffer.compare(r.span.start, w.span.end) < 0);
          expect(buffer.overlaps(r.span, r.point)).toBe(expected);
        }
      }),
    );
  });

  it('hands out the writes in order, counts their bytes, and is empty after', () => {
    const buffer = new WriteBuffer();
    const a = put(Buffer.from('a'));
    const b = put(Buffer.from('b'));
    buffer.add(a, pointSpan(Buffer.from('a')), true, 3);
    buffer.add(b, pointSpan(Buffer.from('b')), true, 4);
    expect(buffer.length).toBe(2);
    expect(buffer.bytes).toBe(7);
    expect(buffer.take()).toEqual([a, b]);
    expect(buffer.length).toBe(0);
    expect(buffer.bytes).toBe(0);
    expect(buffer.overlaps(pointSpan(Buffer.from('a')), true)).toBe(false);
  });
});
