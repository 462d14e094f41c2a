import fc from 'fast-check';
import { LockTableIndex } from './lock-table-index';

/** The model: a sorted array of distinct keys. */
function sortedKeys(keys: Iterable<string>): Buffer[] {
  return [...keys].map((k) => Buffer.from(k, 'hex')).sort(Buffer.compare);
}

describe('LockTableIndex', () => {
  it('answers membership, ceiling and floor as a sorted set does, across chunk splits', () => {
    // A small alphabet makes collisions; many operations make chunks split and empty.
    const keyArb = fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 4 }).map((k) => Buffer.from([2, ...k]));
    const opArb = fc.record({ add: fc.boolean(), key: keyArb });
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 3000 }), fc.array(keyArb, { maxLength: 20 }), (ops, probes) => {
        const index = new LockTableIndex();
        const model = new Set<string>();
        for (const { add, key } of ops) {
          if (add) {
            index.add(key);
            model.add(key.toString('hex'));
          } else {
            index.remove(key);
            model.delete(key.toString('hex'));
          }
        }
        expect(index.size).toBe(model.size);
        const sorted = sortedKeys(model);
        for (const probe of probes) {
          expect(index.mayContain(probe)).toBe(model.has(probe.toString('hex')));
          const hex = (b: Buffer | undefined): string | undefined => b?.toString('hex');
          expect(hex(index.ceiling(probe))).toBe(hex(sorted.find((k) => Buffer.compare(k, probe) >= 0)));
          expect(hex(index.ceiling(probe, true))).toBe(hex(sorted.find((k) => Buffer.compare(k, probe) > 0)));
          expect(hex(index.floor(probe))).toBe(hex([...sorted].reverse().find((k) => Buffer.compare(k, probe) <= 0)));
          expect(hex(index.floor(probe, true))).toBe(hex([...sorted].reverse().find((k) => Buffer.compare(k, probe) < 0)));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('walks 100 000 keys in order after half of them are removed', () => {
    const index = new LockTableIndex();
    const key = (i: number): Buffer => Buffer.concat([Buffer.from([2]), Buffer.from(i.toString(16).padStart(8, '0'))]);
    for (let i = 0; i < 100_000; i++) index.add(key((i * 7919) % 100_000));
    for (let i = 0; i < 100_000; i += 2) index.remove(key(i));
    let count = 0;
    let previous: Buffer | undefined;
    for (let k = index.ceiling(Buffer.from([2])); k !== undefined; k = index.ceiling(k, true)) {
      if (previous !== undefined) expect(Buffer.compare(previous, k)).toBeLessThan(0);
      previous = k;
      count++;
    }
    expect(count).toBe(50_000);
  });

  it('walks the keys of a span in order, leaving out one owner’s, however the walk is cut', () => {
    const keyArb = fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 1, maxLength: 3 }).map((k) => Buffer.from([2, ...k]));
    const owner = (n: number): Buffer => Buffer.alloc(16, n);
    fc.assert(
      fc.property(
        fc.array(fc.record({ key: keyArb, owner: fc.integer({ min: 1, max: 3 }) }), { maxLength: 600 }),
        keyArb,
        fc.option(keyArb),
        fc.integer({ min: 1, max: 5 }),
        fc.option(fc.integer({ min: 1, max: 3 })),
        (adds, from, end, max, skip) => {
          const index = new LockTableIndex();
          const model = new Map<string, number>();
          for (const add of adds) {
            index.add(add.key, owner(add.owner));
            model.set(add.key.toString('hex'), add.owner);
          }
          const expected = [...model]
            .filter(([k, o]) => k >= from.toString('hex') && (end === null || k < end.toString('hex')) && o !== skip)
            .map(([k]) => k)
            .sort();
          // Follow `last` as a cursor does, collecting what each call gives.
          const got: string[] = [];
          let at: Buffer | undefined = from;
          let exclusive = false;
          for (let calls = 0; at !== undefined; calls++) {
            expect(calls).toBeLessThan(1000);
            const { keys, last } = index.walk(at, exclusive, end ?? undefined, max, skip === null ? undefined : owner(skip));
            expect(keys.length).toBeLessThanOrEqual(max);
            got.push(...keys.map((k) => k.toString('hex')));
            at = last;
            exclusive = true;
          }
          expect(got).toEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });
});
