import * as fc from 'fast-check';
import {
  isAddressedByFirstRange,
  KEY_MAX,
  keyNext,
  META1_PREFIX,
  META2_PREFIX,
  META_END,
  metaLookupEnd,
  metaLookupKey,
  prefixEndOf,
  rangeMetaKey,
  USER_KEY_MIN,
} from './system-keys';

const bytes = (...b: number[]): Buffer => Buffer.from(b);

describe('meta addressing', () => {
  test('a range that ends inside the meta keyspace is recorded in meta1, any other in meta2', () => {
    expect(rangeMetaKey(META_END)).toEqual(Buffer.concat([META1_PREFIX, META_END]));
    expect(rangeMetaKey(bytes(0x03, 0x50))).toEqual(bytes(0x02, 0x03, 0x50));
    expect(rangeMetaKey(USER_KEY_MIN)).toEqual(Buffer.concat([META2_PREFIX, USER_KEY_MIN]));
    expect(rangeMetaKey(KEY_MAX)).toEqual(Buffer.concat([META2_PREFIX, KEY_MAX]));
  });

  test('keys below meta2 are addressed by the first range', () => {
    expect(isAddressedByFirstRange(bytes(0x02, 0x10))).toBe(true);
    expect(isAddressedByFirstRange(META2_PREFIX)).toBe(false);
    expect(() => metaLookupKey(bytes(0x01))).toThrow(RangeError);
  });

  // The record found by scanning from metaLookupKey(k) is the range holding k: the
  // first range whose end key is after k.
  test('the first record at or after the lookup key is the range that holds the key', () => {
    const keyArb = fc.uint8Array({ minLength: 1, maxLength: 6 }).map((k) => Buffer.from(k)).filter((k) => Buffer.compare(k, META2_PREFIX) >= 0 && Buffer.compare(k, KEY_MAX) < 0);
    fc.assert(
      fc.property(fc.uniqueArray(keyArb, { minLength: 1, maxLength: 8, comparator: (a, b) => a.equals(b) }), keyArb, (splits, probe) => {
        // Ranges from the split keys (meta1 stays in the first range), each recorded under its end key.
        const ends = [...splits.filter((k) => Buffer.compare(k, META2_PREFIX) > 0), KEY_MAX, META_END]
          .sort(Buffer.compare)
          .filter((k, i, all) => i === 0 || !k.equals(all[i - 1] as Buffer));
        const records = ends.map((end) => ({ key: rangeMetaKey(end), end })).sort((a, b) => Buffer.compare(a.key, b.key));
        const holder = ends.find((end) => Buffer.compare(end, probe) > 0);
        const from = metaLookupKey(probe);
        const to = metaLookupEnd(probe);
        const found = records.find((r) => Buffer.compare(r.key, from) >= 0 && Buffer.compare(r.key, to) < 0);
        expect(found?.end).toEqual(holder);
      }),
    );
  });

  test('prefixEndOf is the first key after every key with the prefix', () => {
    expect(prefixEndOf(bytes(0x05, 0x41))).toEqual(bytes(0x05, 0x42));
    expect(prefixEndOf(bytes(0x05, 0xff))).toEqual(bytes(0x06));
  });

  test('keyNext is the smallest key after the key, a copy of it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (raw, otherRaw) => {
        const key = Buffer.from(raw);
        const other = Buffer.from(otherRaw);
        const next = keyNext(key);
        expect(Buffer.compare(next, key)).toBe(1);
        // Nothing lies strictly between key and keyNext(key).
        expect(Buffer.compare(other, key) > 0 && Buffer.compare(other, next) < 0).toBe(false);
        next[0] = (next[0] ?? 0) ^ 0xff;
        expect(key).toEqual(Buffer.from(raw));
      }),
    );
  });
});
