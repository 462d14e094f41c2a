import fc from 'fast-check';
import type { Timestamp } from '../../common/hlc';
import { compareTimestamps, formatTimestamp, nextTimestamp } from '../../common/hlc';
import { TimestampCache } from './timestamp-cache';

const b = (text: string): Buffer => Buffer.from(text);
const at = (wall: number, logical = 0): Timestamp => ({ wallTime: BigInt(wall), logical });
const txn = (byte: number): Buffer => Buffer.alloc(16, byte);
const A = txn(0xa);
const B = txn(0xb);

/*
 * The promise a leaseholder relies on (DESIGN.md §7, serializable isolation): a write
 * of a key lands above every read of that key served to someone else, so no read is
 * invalidated after the fact. A transaction's own reads do not hold back its writes.
 */

describe('TimestampCache', () => {
  it('starts with the low-water mark promised to every key', () => {
    const cache = new TimestampCache(at(5));
    expect(cache.lowWaterMark).toEqual(at(5));
    expect(cache.minWriteTimestamp(b('k'), undefined, undefined)).toEqual(at(5, 1));
    expect(cache.minWriteTimestamp(b('a'), b('z'), A)).toEqual(at(5, 1));
    expect(cache.size).toBe(0);
  });

  it('keeps writes of a key above a point read of it, and no other key', () => {
    const cache = new TimestampCache(at(5));
    cache.add(b('k'), undefined, at(10), undefined);
    expect(cache.minWriteTimestamp(b('k'), undefined, undefined)).toEqual(at(10, 1));
    expect(cache.minWriteTimestamp(b('k'), undefined, A)).toEqual(at(10, 1));
    expect(cache.minWriteTimestamp(b('k\x00'), undefined, A)).toEqual(at(5, 1));
    expect(cache.minWriteTimestamp(b('j'), undefined, A)).toEqual(at(5, 1));
    // A later read at a lower timestamp does not lower the promise.
    cache.add(b('k'), undefined, at(8), undefined);
    expect(cache.minWriteTimestamp(b('k'), undefined, undefined)).toEqual(at(10, 1));
    cache.add(b('k'), undefined, at(12, 3), undefined);
    expect(cache.minWriteTimestamp(b('k'), undefined, undefined)).toEqual(at(12, 4));
  });

  it('keeps the queried transaction itself above a QueryIntent, even where it read the key at that timestamp', () => {
    const cache = new TimestampCache(at(5));
    // The transaction's own read of k at 10 does not hold back its own write there...
    cache.add(b('k'), undefined, at(10), A);
    expect(cache.minWriteTimestamp(b('k'), undefined, A)).toEqual(at(5, 1));
    // ...but once recovery asked whether its write of k is in place at 10, it cannot land there.
    const query = { request: { $case: 'queryIntent' as const, value: { key: b('k'), txn: { id: A, anchorKey: b('a'), epoch: 0, writeTimestamp: at(10), priority: 0, sequence: 0 } } } };
    cache.recordBatchReads([query], at(3), undefined, undefined);
    expect(cache.minWriteTimestamp(b('k'), undefined, A)).toEqual(at(10, 1));
  });

  it('keeps writes of every key in a read span [start, end) above the read', () => {
    const cache = new TimestampCache(at(5));
    cache.add(b('b'), b('d'), at(20), B);
    expect(cache.minWriteTimestamp(b('b'), undefined, A)).toEqual(at(20, 1));
    expect(cache.minWriteTimestamp(b('c\xff'), undefined, A)).toEqual(at(20, 1));
    expect(cache.minWriteTimestamp(b('d'), undefined, A)).toEqual(at(5, 1)); // the end is not read
    expect(cache.minWriteTimestamp(b('a'), undefined, A)).toEqual(at(5, 1));
  });

  it('keeps a span write (a DeleteRange) above every read that overlaps it', () => {
    const cache = new TimestampCache(at(5));
    cache.add(b('m'), undefined, at(30), undefined);
    cache.add(b('p'), b('s'), at(40), undefined);
    expect(cache.minWriteTimestamp(b('a'), b('m'), A)).toEqual(at(5, 1)); // m is the end: not written
    expect(cache.minWriteTimestamp(b('a'), b('m\x00'), A)).toEqual(at(30, 1));
    expect(cache.minWriteTimestamp(b('n'), b('p'), A)).toEqual(at(5, 1)); // touches the read span only
    expect(cache.minWriteTimestamp(b('n'), b('p\x00'), A)).toEqual(at(40, 1));
    expect(cache.minWriteTimestamp(b('r'), b('z'), A)).toEqual(at(40, 1));
    expect(cache.minWriteTimestamp(b('s'), b('z'), A)).toEqual(at(5, 1));
    expect(cache.minWriteTimestamp(b('a'), b('z'), A)).toEqual(at(40, 1));
  });

  it("does not hold a transaction's writes back for its own reads", () => {
    const cache = new TimestampCache(at(5));
    cache.add(b('k'), undefined, at(30), A);
    cache.add(b('p'), b('s'), at(40), A);
    expect(cache.minWriteTimestamp(b('k'), undefined, A)).toEqual(at(5, 1));
    expect(cache.minWriteTimestamp(b('q'), undefined, A)).toEqual(at(5, 1));
    expect(cache.minWriteTimestamp(b('a'), b('z'), A)).toEqual(at(5, 1));
    // Everyone else, a non-transactional write included, lands above them.
    expect(cache.minWriteTimestamp(b('k'), undefined, B)).toEqual(at(30, 1));
    expect(cache.minWriteTimestamp(b('k'), undefined, undefined)).toEqual(at(30, 1));
    expect(cache.minWriteTimestamp(b('q'), undefined, B)).toEqual(at(40, 1));
    // A non-transactional read is nobody's own.
    cache.add(b('x'), undefined, at(50), undefined);
    expect(cache.minWriteTimestamp(b('x'), undefined, A)).toEqual(at(50, 1));
  });

  it('merges reads of two transactions at the same timestamp so neither may write below it', () => {
    for (const [first, second] of [
      [A, B],
      [B, A],
    ] as const) {
      const cache = new TimestampCache(at(5));
      cache.add(b('k'), undefined, at(30), first);
      cache.add(b('k'), undefined, at(30), second);
      expect(cache.minWriteTimestamp(b('k'), undefined, A)).toEqual(at(30, 1));
      expect(cache.minWriteTimestamp(b('k'), undefined, B)).toEqual(at(30, 1));
    }
    // The same transaction twice stays its own.
    const cache = new TimestampCache(at(5));
    cache.add(b('k'), undefined, at(30), A);
    cache.add(b('k'), undefined, at(30), A);
    expect(cache.minWriteTimestamp(b('k'), undefined, A)).toEqual(at(5, 1));
    // A non-transactional read at the same timestamp holds back A as well.
    cache.add(b('k'), undefined, at(30), undefined);
    expect(cache.minWriteTimestamp(b('k'), undefined, A)).toEqual(at(30, 1));
  });

  it('a later, higher read by another transaction holds back the earlier reader', () => {
    const cache = new TimestampCache(at(5));
    cache.add(b('k'), undefined, at(30), A);
    cache.add(b('k'), undefined, at(40), B);
    expect(cache.minWriteTimestamp(b('k'), undefined, A)).toEqual(at(40, 1));
  });

  it('ignores reads at or below the low-water mark, which already covers them', () => {
    const cache = new TimestampCache(at(5));
    cache.add(b('k'), undefined, at(5), undefined);
    cache.add(b('a'), b('z'), at(3), undefined);
    expect(cache.size).toBe(0);
    expect(cache.minWriteTimestamp(b('k'), undefined, undefined)).toEqual(at(5, 1));
  });

  it('after a reset (a new lease) forgets every read and promises the new low-water mark', () => {
    const cache = new TimestampCache(at(5));
    cache.add(b('k'), undefined, at(30), undefined);
    cache.add(b('a'), b('z'), at(40), undefined);
    cache.reset(at(100));
    expect(cache.size).toBe(0);
    expect(cache.lowWaterMark).toEqual(at(100));
    expect(cache.minWriteTimestamp(b('k'), undefined, A)).toEqual(at(100, 1));
    expect(cache.minWriteTimestamp(b('a'), b('zz'), undefined)).toEqual(at(100, 1));
    cache.add(b('k'), undefined, at(90), undefined); // below the new mark: covered already
    expect(cache.size).toBe(0);
    cache.add(b('k'), undefined, at(110), undefined);
    expect(cache.minWriteTimestamp(b('k'), undefined, A)).toEqual(at(110, 1));
  });

  it('drops the oldest point reads past its bound, raising the low-water mark over them', () => {
    const cache = new TimestampCache(at(0), { maxPoints: 4 });
    for (let i = 1; i <= 5; i++) cache.add(b(`k${i}`), undefined, at(i * 10), A);
    expect(cache.size).toBeLessThanOrEqual(4);
    // k1 was the oldest: its read now lives on in the low-water mark, for everyone.
    expect(compareTimestamps(cache.lowWaterMark, at(10))).toBeGreaterThanOrEqual(0);
    expect(cache.minWriteTimestamp(b('k1'), undefined, B)).toEqual(at(10, 1));
    expect(cache.minWriteTimestamp(b('k5'), undefined, B)).toEqual(at(50, 1));
    expect(cache.minWriteTimestamp(b('zz'), undefined, B)).toEqual(nextTimestamp(cache.lowWaterMark));
  });

  it('counts a point read again as recent: the stalest one is dropped first', () => {
    const cache = new TimestampCache(at(0), { maxPoints: 3 });
    cache.add(b('k1'), undefined, at(10), undefined);
    cache.add(b('k2'), undefined, at(20), undefined);
    cache.add(b('k3'), undefined, at(30), undefined);
    cache.add(b('k1'), undefined, at(40), undefined); // k1 again: now the most recent
    cache.add(b('k4'), undefined, at(35), undefined); // one too many: k2 goes
    expect(cache.lowWaterMark).toEqual(at(20));
    expect(cache.minWriteTimestamp(b('k1'), undefined, undefined)).toEqual(at(40, 1));
    expect(cache.minWriteTimestamp(b('k3'), undefined, undefined)).toEqual(at(30, 1));
  });

  it('drops the oldest span reads past its bound, raising the low-water mark over them', () => {
    const cache = new TimestampCache(at(0), { maxSpans: 2 });
    cache.add(b('a'), b('b'), at(30), undefined);
    cache.add(b('c'), b('d'), at(10), undefined);
    cache.add(b('e'), b('f'), at(20), undefined);
    expect(cache.size).toBeLessThanOrEqual(2);
    expect(cache.lowWaterMark).toEqual(at(30));
    expect(cache.minWriteTimestamp(b('a'), undefined, undefined)).toEqual(at(30, 1));
    expect(cache.minWriteTimestamp(b('x'), undefined, undefined)).toEqual(at(30, 1));
  });

  it('keeps a one-key span read (a refresh span of a point read) as a point: it evicts no span and raises nothing', () => {
    const cache = new TimestampCache(at(0), { maxSpans: 2 });
    cache.add(b('a'), b('b'), at(5), undefined);
    for (let i = 0; i < 10; i++) cache.add(b(`k${i}`), b(`k${i}\x00`), at(10 + i), undefined);
    expect(cache.lowWaterMark).toEqual(at(0));
    expect(cache.minWriteTimestamp(b('k3'), undefined, undefined)).toEqual(at(13, 1));
    expect(cache.minWriteTimestamp(b('k3\x00'), undefined, undefined)).toEqual(at(0, 1));
    expect(cache.minWriteTimestamp(b('a5'), undefined, undefined)).toEqual(at(5, 1));
    expect(cache.minWriteTimestamp(b('k'), b('l'), A)).toEqual(at(19, 1));
  });
});

// --- Against a model ---------------------------------------------------------

interface Read {
  readonly start: Buffer;
  readonly end: Buffer | undefined;
  readonly ts: Timestamp;
  readonly txn: Buffer | undefined;
}

// Few keys and timestamps, so reads collide (same key, same timestamp) often.
const keyArb = fc.array(fc.constantFrom(0x61, 0x62, 0x63), { minLength: 1, maxLength: 2 }).map((bytes) => Buffer.from(bytes));
const tsArb = fc.record({ wall: fc.integer({ min: 0, max: 4 }), logical: fc.integer({ min: 0, max: 1 }) }).map((t) => at(t.wall, t.logical));
const txnArb = fc.constantFrom<Buffer | undefined>(undefined, txn(1), txn(2), txn(3));
const readArb: fc.Arbitrary<Read> = fc
  .tuple(keyArb, keyArb, fc.boolean(), tsArb, txnArb)
  .map(([start, other, point, ts, id]) => {
    if (point || other.equals(start)) return { start, end: undefined, ts, txn: id };
    return Buffer.compare(start, other) < 0 ? { start, end: other, ts, txn: id } : { start: other, end: start, ts, txn: id };
  });

const PROBE_KEYS: Buffer[] = ['a', 'aa', 'ab', 'ac', 'b', 'ba', 'bb', 'bc', 'c', 'ca', 'cb', 'cc', 'cc\x00', 'd'].map(b);
const WRITERS: (Buffer | undefined)[] = [undefined, txn(1), txn(2), txn(3)];

function overlaps(read: Read, start: Buffer, end: Buffer | undefined): boolean {
  const readEnd = read.end ?? Buffer.concat([read.start, Buffer.from([0])]);
  const writeEnd = end ?? Buffer.concat([start, Buffer.from([0])]);
  return Buffer.compare(read.start, writeEnd) < 0 && Buffer.compare(start, readEnd) < 0;
}

const max = (a: Timestamp, c: Timestamp): Timestamp => (compareTimestamps(a, c) >= 0 ? a : c);
const same = (a: Buffer | undefined, c: Buffer | undefined): boolean => a !== undefined && c !== undefined && a.equals(c);

/**
 * Checks one writer of [start, end) (end undefined: a point) against every read so
 * far. A transaction writes at or above its own read timestamp, so the lowest it can
 * write at is the later of the cache's answer and its own latest read there.
 */
function checkWriter(
  cache: TimestampCache,
  reads: readonly Read[],
  low: Timestamp,
  write: { readonly start: Buffer; readonly end: Buffer | undefined; readonly writer: Buffer | undefined },
  /** Set when entries may have been dropped: the highest read of any key so far. */
  highestEver: Timestamp | undefined,
): void {
  const { start, end, writer } = write;
  const answer = cache.minWriteTimestamp(start, end, writer);
  let own: Timestamp | undefined;
  let highest = low;
  let othersHighest = low;
  for (const read of reads) {
    if (!overlaps(read, start, end)) continue;
    highest = max(highest, read.ts);
    if (same(read.txn, writer)) own = own === undefined ? read.ts : max(own, read.ts);
    else othersHighest = max(othersHighest, read.ts);
  }
  const lowest = own === undefined ? answer : max(answer, own);
  const ceiling = nextTimestamp(highestEver ?? highest);
  const where = `write of [${start}, ${end ?? '.'}) by ${writer?.toString('hex').slice(0, 2) ?? 'none'}`;
  // Plain checks (not expect): this runs hundreds of thousands of times.
  if (compareTimestamps(lowest, othersHighest) <= 0) {
    // Unsafe: at or below a read by someone else (or the starting mark).
    throw new Error(`${where}: may land at ${formatTimestamp(lowest)}, not above a read at ${formatTimestamp(othersHighest)}`);
  }
  if (compareTimestamps(answer, ceiling) > 0) {
    // Needlessly high: above the latest read there (or with entries dropped, anywhere).
    throw new Error(`${where}: ${formatTimestamp(answer)} is above ${formatTimestamp(ceiling)}`);
  }
  if (highestEver === undefined && writer === undefined && compareTimestamps(answer, ceiling) !== 0) {
    // With nothing dropped, a non-transactional write lands just above the latest read.
    throw new Error(`${where}: ${formatTimestamp(answer)}, expected ${formatTimestamp(ceiling)}`);
  }
}

describe('TimestampCache against a model', () => {
  it('every write lands above every read of its keys by someone else, whatever was dropped', () => {
    fc.assert(
      fc.property(
        fc.array(readArb, { maxLength: 30 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        tsArb,
        (reads, maxPoints, maxSpans, low) => {
          const cache = new TimestampCache(low, { maxPoints, maxSpans });
          const unbounded = new TimestampCache(low);
          // The maximum of everything dropped never exceeds the maximum ever read.
          let highestEver = low;
          for (let i = 0; i < reads.length; i++) {
            const read = reads[i] as Read;
            cache.add(read.start, read.end, read.ts, read.txn);
            unbounded.add(read.start, read.end, read.ts, read.txn);
            highestEver = max(highestEver, read.ts);
            if (cache.size > maxPoints + maxSpans) throw new Error(`${cache.size} entries kept`);
            if (compareTimestamps(cache.lowWaterMark, highestEver) > 0) throw new Error('the low-water mark rose above every read');
            const seen = reads.slice(0, i + 1);
            for (const key of PROBE_KEYS) {
              for (const writer of WRITERS) {
                checkWriter(cache, seen, low, { start: key, end: undefined, writer }, highestEver);
                checkWriter(unbounded, seen, low, { start: key, end: undefined, writer }, undefined);
              }
            }
          }
          for (const start of PROBE_KEYS) {
            for (const end of PROBE_KEYS) {
              if (Buffer.compare(start, end) >= 0) continue;
              for (const writer of WRITERS) {
                checkWriter(cache, reads, low, { start, end, writer }, highestEver);
                checkWriter(unbounded, reads, low, { start, end, writer }, undefined);
              }
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
