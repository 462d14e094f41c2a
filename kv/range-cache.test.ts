import fc from 'fast-check';
import { KEY_MAX, KEY_MIN } from '../common/keys';
import * as pb from '../proto/gen/cairn/kv/v1/kv';
import type { RangeCacheEntry } from './range-cache';
import { RangeCache } from './range-cache';

function desc(rangeId: number, start: number[] | Buffer, end: number[] | Buffer, generation = 0, replicas: number[] = [1, 2, 3]): pb.RangeDescriptor {
  return {
    rangeId: BigInt(rangeId),
    startKey: Buffer.from(start),
    endKey: Buffer.from(end),
    replicas: replicas.map((id) => ({ nodeId: BigInt(id), type: pb.ReplicaType.REPLICA_TYPE_VOTER })),
    generation: BigInt(generation),
  };
}

const k = (...bytes: number[]): Buffer => Buffer.from(bytes);

function ids(cache: RangeCache): number[] {
  return cache.all().map((e) => Number(e.desc.rangeId));
}

describe('RangeCache', () => {
  it('finds the range holding a key, and the range holding the keys just below a key', () => {
    const cache = new RangeCache();
    cache.insert(desc(1, KEY_MIN, [0x04]));
    cache.insert(desc(3, [0x10], [0x40]));
    cache.insert(desc(4, [0x40], KEY_MAX));
    expect(cache.lookup(KEY_MIN)?.desc.rangeId).toBe(1n);
    expect(cache.lookup(k(0x03, 0xff))?.desc.rangeId).toBe(1n);
    expect(cache.lookup(k(0x04))).toBeUndefined(); // r2 is not cached
    expect(cache.lookup(k(0x10))?.desc.rangeId).toBe(3n);
    expect(cache.lookup(k(0x3f, 0xff))?.desc.rangeId).toBe(3n);
    expect(cache.lookup(k(0x40))?.desc.rangeId).toBe(4n);
    expect(cache.lookup(k(0xff, 0xfe))?.desc.rangeId).toBe(4n);
    expect(cache.lookup(KEY_MAX)).toBeUndefined();

    expect(cache.lookupBefore(k(0x40))?.desc.rangeId).toBe(3n);
    expect(cache.lookupBefore(k(0x40, 0x00))?.desc.rangeId).toBe(4n);
    expect(cache.lookupBefore(KEY_MAX)?.desc.rangeId).toBe(4n);
    expect(cache.lookupBefore(k(0x10))).toBeUndefined();
    expect(cache.lookupBefore(KEY_MIN)).toBeUndefined();
  });

  it('replaces overlapping entries of a lower or equal generation', () => {
    const cache = new RangeCache();
    cache.insert(desc(3, [0x10], [0x40], 0));
    cache.insert(desc(4, [0x40], [0x50], 0));
    // r3 split at 0x20: r3 keeps the left side, r5 is the right side.
    expect(cache.insert(desc(5, [0x20], [0x40], 1))).toBe(true);
    expect(ids(cache)).toEqual([5, 4]);
    expect(cache.insert(desc(3, [0x10], [0x20], 1))).toBe(true);
    expect(ids(cache)).toEqual([3, 5, 4]);
    // The same descriptor again (equal generation) replaces itself.
    expect(cache.insert(desc(3, [0x10], [0x20], 1))).toBe(true);
    expect(ids(cache)).toEqual([3, 5, 4]);
  });

  it('ignores an older descriptor that overlaps a newer one', () => {
    const cache = new RangeCache();
    cache.insert(desc(5, [0x20], [0x40], 1));
    expect(cache.insert(desc(3, [0x10], [0x40], 0))).toBe(false);
    expect(ids(cache)).toEqual([5]);
    expect(cache.lookup(k(0x10))).toBeUndefined();
  });

  it('evicts only the version it was given', () => {
    const cache = new RangeCache();
    const old = desc(3, [0x10], [0x40], 0);
    cache.insert(old);
    const newer = desc(3, [0x10], [0x20], 1);
    cache.insert(newer);
    expect(cache.evict(old)).toBe(false);
    expect(ids(cache)).toEqual([3]);
    expect(cache.evict(newer)).toBe(true);
    expect(cache.size).toBe(0);
  });

  it('keeps a leaseholder across a newer descriptor of the same range while the node is still a replica', () => {
    const cache = new RangeCache();
    cache.insert(desc(3, [0x10], [0x40], 0, [1, 2, 3]));
    cache.setLeaseholder(3, 2);
    expect(cache.lookup(k(0x10))?.leaseholderNodeId).toBe(2);
    cache.insert(desc(3, [0x10], [0x20], 1, [1, 2, 3]));
    expect(cache.get(3)?.leaseholderNodeId).toBe(2);
    cache.insert(desc(3, [0x10], [0x20], 2, [1, 3, 4]));
    expect(cache.get(3)?.leaseholderNodeId).toBeUndefined();
    cache.setLeaseholder(99, 1); // unknown range: nothing happens
    expect(cache.get(99)).toBeUndefined();
  });

  // Model check: random inserts and evicts against a naive list that applies the same
  // rules by brute force; the cache must agree on every lookup.
  it('agrees with a naive model on random operations (property)', () => {
    const keyArb = fc.integer({ min: 0, max: 20 });
    const opArb = fc.oneof(
      fc.record({ kind: fc.constant('insert' as const), a: keyArb, b: keyArb, id: fc.integer({ min: 1, max: 6 }), gen: fc.integer({ min: 0, max: 4 }) }),
      fc.record({ kind: fc.constant('evict' as const), a: keyArb, b: keyArb, id: fc.integer({ min: 1, max: 6 }), gen: fc.integer({ min: 0, max: 4 }) }),
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const cache = new RangeCache();
        let model: pb.RangeDescriptor[] = [];
        const overlaps = (x: pb.RangeDescriptor, y: pb.RangeDescriptor): boolean =>
          Buffer.compare(x.startKey, y.endKey) < 0 && Buffer.compare(y.startKey, x.endKey) < 0;
        for (const op of ops) {
          const lo = Math.min(op.a, op.b);
          const hi = Math.max(op.a, op.b) + 1;
          const d = desc(op.id, [lo], [hi], op.gen);
          if (op.kind === 'insert') {
            const conflicts = model.filter((m) => overlaps(m, d) || m.rangeId === d.rangeId);
            const accept = conflicts.every((m) => m.generation <= d.generation);
            if (cache.insert(d) !== accept) {
              return false;
            }
            if (accept) {
              model = [...model.filter((m) => !conflicts.includes(m)), d];
            }
          } else {
            const found = model.find((m) => m.rangeId === d.rangeId && m.generation === d.generation);
            if (cache.evict(d) !== (found !== undefined)) {
              return false;
            }
            model = model.filter((m) => m !== found);
          }
          // Entries never overlap and are in key order.
          const all = cache.all();
          for (let i = 1; i < all.length; i++) {
            if (Buffer.compare((all[i - 1] as RangeCacheEntry).desc.endKey, (all[i] as RangeCacheEntry).desc.startKey) > 0) {
              return false;
            }
          }
          for (let key = 0; key <= 22; key++) {
            const probe = k(key);
            const expected = model.find((m) => Buffer.compare(m.startKey, probe) <= 0 && Buffer.compare(probe, m.endKey) < 0);
            const expectedBefore = model.find((m) => Buffer.compare(m.startKey, probe) < 0 && Buffer.compare(probe, m.endKey) <= 0);
            if (cache.lookup(probe)?.desc !== expected || cache.lookupBefore(probe)?.desc !== expectedBefore) {
              return false;
            }
          }
        }
        return true;
      }),
      { numRuns: 300 },
    );
  });

  // Split histories: every descriptor a range ever had, inserted in any order, leaves
  // the cache with the newest descriptor for every key it covers (generations only grow
  // along a lineage, so a late answer never undoes a newer one).
  it('keeps the newest descriptor of every key whatever order a split history arrives in (property)', () => {
    const historyArb = fc.array(fc.integer({ min: 1, max: 254 }), { minLength: 0, maxLength: 12 });
    fc.assert(
      fc.property(historyArb, fc.integer(), (splitPoints, seed) => {
        // Build the history: each split makes both sides one generation newer.
        const all: pb.RangeDescriptor[] = [];
        let current: pb.RangeDescriptor[] = [desc(1, KEY_MIN, KEY_MAX, 0)];
        all.push(current[0] as pb.RangeDescriptor);
        let nextId = 2;
        for (const point of splitPoints) {
          const at = k(point);
          const i = current.findIndex((d) => Buffer.compare(d.startKey, at) < 0 && Buffer.compare(at, d.endKey) < 0);
          const parent = current[i];
          if (parent === undefined) {
            continue;
          }
          const gen = Number(parent.generation) + 1;
          const left = desc(Number(parent.rangeId), parent.startKey, at, gen);
          const right = desc(nextId++, at, parent.endKey, gen);
          current = [...current.slice(0, i), left, right, ...current.slice(i + 1)];
          all.push(left, right);
        }
        // Insert in a shuffled order.
        const order = [...all];
        let s = seed;
        for (let i = order.length - 1; i > 0; i--) {
          s = (Math.imul(s, 1103515245) + 12345) | 0;
          const j = Math.abs(s) % (i + 1);
          [order[i], order[j]] = [order[j] as pb.RangeDescriptor, order[i] as pb.RangeDescriptor];
        }
        const cache = new RangeCache();
        for (const d of order) {
          cache.insert(d);
        }
        // Every leaf was inserted, so the cache is exactly the current layout.
        expect(cache.all().map((e) => e.desc)).toEqual(current);
      }),
      { numRuns: 300 },
    );
  });
});
