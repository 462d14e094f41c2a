import fc from 'fast-check';
import type * as pb from '../proto/gen/cairn/kv/v1/kv';
import { condenseSpans, isPointSpan, mergeSpans, pointSpan, spansCovered } from './transaction';

const k = (...bytes: number[]): Buffer => Buffer.from(bytes);
const span = (start: Buffer, end: Buffer): pb.Span => ({ startKey: start, endKey: end });
const show = (spans: readonly pb.Span[]): string[] => spans.map((s) => `[${s.startKey.toString('hex')}, ${s.endKey.toString('hex')})`);

/*
 * The model: a set of spans covers a key when some span holds it. Two unions of
 * half-open spans differ only if they differ at some span's start or end, so checking
 * every endpoint (and, for good measure, every short key) decides equality exactly.
 */
const ALPHABET = [0x00, 0x01, 0x02];

/** Keys of up to two bytes over a tiny alphabet: enough to make spans touch and nest. */
const smallKey = fc.array(fc.constantFrom(...ALPHABET), { maxLength: 2 }).map((bytes) => Buffer.from(bytes));

/** A non-empty span over small keys. */
const smallSpan = fc
  .tuple(smallKey, smallKey)
  .filter(([a, c]) => !a.equals(c))
  .map(([a, c]) => (Buffer.compare(a, c) < 0 ? span(a, c) : span(c, a)));

const SHORT_KEYS: Buffer[] = (() => {
  const keys: Buffer[] = [Buffer.alloc(0)];
  let frontier: Buffer[] = [Buffer.alloc(0)];
  for (let length = 1; length <= 3; length++) {
    frontier = frontier.flatMap((prefix) => ALPHABET.map((byte) => Buffer.concat([prefix, k(byte)])));
    keys.push(...frontier);
  }
  return keys;
})();

function covers(spans: readonly pb.Span[], key: Buffer): boolean {
  return spans.some((s) => Buffer.compare(s.startKey, key) <= 0 && Buffer.compare(key, s.endKey) < 0);
}

function probeKeys(...lists: (readonly pb.Span[])[]): Buffer[] {
  return [...SHORT_KEYS, ...lists.flatMap((spans) => spans.flatMap((s) => [s.startKey, s.endKey]))];
}

describe('pointSpan and isPointSpan', () => {
  it('makes the span [key, key\\0) that holds exactly the key', () => {
    const s = pointSpan(k(0x61, 0x62));
    expect(s.startKey).toEqual(k(0x61, 0x62));
    expect(s.endKey).toEqual(k(0x61, 0x62, 0x00));
    expect(isPointSpan(s)).toBe(true);
    expect(covers([s], k(0x61, 0x62))).toBe(true);
    expect(covers([s], k(0x61, 0x62, 0x00))).toBe(false);
  });

  it('recognizes only spans of one key', () => {
    expect(isPointSpan(span(k(0x61), k(0x62)))).toBe(false); // [a, b) holds a\0, a\1, ...
    expect(isPointSpan(span(k(0x61), k(0x61, 0x01)))).toBe(false); // also holds a\0
    expect(isPointSpan(span(k(0x61), k(0x61, 0x00, 0x00)))).toBe(false); // also holds a\0
    expect(isPointSpan(span(k(0x61), k(0x62, 0x00)))).toBe(false); // another key's successor
    expect(isPointSpan(span(Buffer.alloc(0), k(0x00)))).toBe(true); // the empty key alone
    expect(isPointSpan(span(k(0x61, 0x00), k(0x61, 0x00, 0x00)))).toBe(true);
  });

  it('isPointSpan holds exactly when the span covers a single key', () => {
    fc.assert(
      fc.property(smallSpan, (s) => {
        // A span [s, e) holds one key iff e is s\0: otherwise s\0 (< e) is a second key.
        const second = Buffer.concat([s.startKey, k(0x00)]);
        expect(isPointSpan(s)).toBe(!covers([s], second));
      }),
    );
    fc.assert(
      fc.property(smallKey, (key) => {
        expect(isPointSpan(pointSpan(key))).toBe(true);
      }),
    );
  });
});

describe('mergeSpans', () => {
  it('sorts, merges overlapping and touching spans, and keeps gaps', () => {
    const merged = mergeSpans([
      span(k(0x05), k(0x07)),
      span(k(0x01), k(0x03)),
      span(k(0x03), k(0x04)), // touches [01, 03)
      span(k(0x06), k(0x06, 0x00)), // inside [05, 07)
      span(k(0x09), k(0x0a)),
      span(k(0x08), k(0x09, 0x00)), // overlaps [09, 0a)
    ]);
    expect(show(merged)).toEqual(['[01, 04)', '[05, 07)', '[08, 0a)']);
  });

  it('returns short lists as they are, and does not change its argument', () => {
    expect(mergeSpans([])).toEqual([]);
    const one = [span(k(0x02), k(0x03))];
    expect(mergeSpans(one)).toEqual(one);
    const input = [span(k(0x05), k(0x06)), span(k(0x01), k(0x02))];
    const before = show(input);
    mergeSpans(input);
    expect(show(input)).toEqual(before);
  });

  it('merges repeated point spans of one key into one', () => {
    const key = k(0x61);
    expect(mergeSpans([pointSpan(key), pointSpan(key), pointSpan(key)])).toEqual([pointSpan(key)]);
  });

  it('covers exactly the keys its input covers, with sorted, separated spans', () => {
    fc.assert(
      fc.property(fc.array(smallSpan, { maxLength: 8 }), (spans) => {
        const merged = mergeSpans(spans);
        for (const key of probeKeys(spans)) {
          expect(covers(merged, key)).toBe(covers(spans, key));
        }
        for (const s of merged) expect(Buffer.compare(s.startKey, s.endKey)).toBeLessThan(0);
        for (let i = 1; i < merged.length; i++) {
          // Neither overlapping nor touching: a gap lies between neighbours.
          expect(Buffer.compare((merged[i - 1] as pb.Span).endKey, (merged[i] as pb.Span).startKey)).toBeLessThan(0);
        }
        // Idempotent, and independent of the input's order.
        expect(show(mergeSpans(merged))).toEqual(show(merged));
        expect(show(mergeSpans([...spans].reverse()))).toEqual(show(merged));
      }),
    );
  });
});

describe('spansCovered', () => {
  it('holds when each inner span lies inside one outer span', () => {
    const outer = [span(k(0x01), k(0x04)), span(k(0x06), k(0x08))];
    expect(spansCovered([], outer)).toBe(true);
    expect(spansCovered([span(k(0x01), k(0x04))], outer)).toBe(true);
    expect(spansCovered([span(k(0x02), k(0x03)), pointSpan(k(0x07))], outer)).toBe(true);
    expect(spansCovered([span(k(0x03), k(0x05))], outer)).toBe(false); // runs past the end
    expect(spansCovered([span(k(0x00), k(0x02))], outer)).toBe(false); // starts before
    expect(spansCovered([span(k(0x03), k(0x07))], outer)).toBe(false); // spans the gap
    expect(spansCovered([pointSpan(k(0x04))], outer)).toBe(false); // the end is exclusive
    expect(spansCovered([pointSpan(k(0x01))], [])).toBe(false);
  });

  it('on merged outer spans, holds exactly when every key of inner is covered by outer', () => {
    fc.assert(
      fc.property(fc.array(smallSpan, { maxLength: 4 }), fc.array(smallSpan, { maxLength: 6 }), (inner, outer) => {
        const merged = mergeSpans(outer);
        const model = probeKeys(inner, outer).every((key) => !covers(inner, key) || covers(outer, key));
        expect(spansCovered(inner, merged)).toBe(model);
        expect(spansCovered(mergeSpans(inner), merged)).toBe(model);
      }),
    );
  });
});

describe('condenseSpans', () => {
  it('keeps at most max spans plus one per group, covering every key the input covers', () => {
    fc.assert(
      fc.property(fc.array(smallSpan, { maxLength: 12 }), fc.integer({ min: 1, max: 4 }), (spans, max) => {
        // Groups by first byte, as ranges would split the keyspace.
        const condensed = condenseSpans(spans, max, (key) => String(key[0]));
        const groups = new Set(mergeSpans(spans).map((s) => s.startKey[0]));
        expect(condensed.length).toBeLessThanOrEqual(max + groups.size);
        for (const key of probeKeys(spans)) {
          if (covers(spans, key)) expect(covers(condensed, key)).toBe(true);
        }
        for (let i = 1; i < condensed.length; i++) {
          expect(Buffer.compare((condensed[i - 1] as pb.Span).endKey, (condensed[i] as pb.Span).startKey)).toBeLessThanOrEqual(0);
        }
      }),
    );
  });

  it('returns merged spans as they are when few, and never joins spans of different groups', () => {
    const few = [span(k(0x01), k(0x02)), span(k(0x05), k(0x06))];
    expect(condenseSpans(few, 4)).toEqual(mergeSpans(few));
    const points = [0x10, 0x11, 0x12, 0x13, 0x20, 0x21].map((byte) => pointSpan(k(byte, 0x01)));
    // Runs of ceil(6 / 2) = 3 neighbours, cut where the group changes.
    const byHighNibble = (key: Buffer): string => String((key[0] ?? 0) >> 4);
    expect(show(condenseSpans(points, 2, byHighNibble))).toEqual(['[1001, 120100)', '[1301, 130100)', '[2001, 210100)']);
  });
});
