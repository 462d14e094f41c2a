import fc from 'fast-check';
import { decodeConfChange, encodeConfChange } from './conf-change';
import type { ConfChange } from './conf-change';
import { Inflights, Progress } from './progress';

describe('Progress (flow control)', () => {
  test('probe: one MsgApp at a time; a stale rejection is ignored; back-off honours the hint', () => {
    const pr = new Progress(11, 4, false);
    pr.probeSent = true;
    expect(pr.isPaused()).toBe(true);
    expect(pr.maybeDecrTo(5, 3)).toBe(false); // stale: we last sent prev index 10
    expect(pr.maybeDecrTo(10, 3)).toBe(true);
    expect(pr.next).toBe(4);
    expect(pr.isPaused()).toBe(false);
  });

  test('replicate: optimistic next, bounded by the inflight window; rejection falls back to match + 1', () => {
    const pr = new Progress(1, 2, false);
    pr.maybeUpdate(5);
    pr.becomeReplicate();
    pr.optimisticUpdate(7);
    pr.inflights.add(7);
    pr.optimisticUpdate(9);
    pr.inflights.add(9);
    expect(pr.isPaused()).toBe(true);
    pr.inflights.freeLE(7);
    expect(pr.isPaused()).toBe(false);
    expect(pr.maybeDecrTo(4, 0)).toBe(false); // at or below match: stale
    expect(pr.maybeDecrTo(8, 0)).toBe(true);
    expect(pr.next).toBe(6);
  });

  test('snapshot: paused until reported; probing resumes after the snapshot index', () => {
    const pr = new Progress(1, 2, false);
    pr.becomeSnapshot(40);
    expect(pr.isPaused()).toBe(true);
    pr.becomeProbe();
    expect(pr.next).toBe(41);
  });

  test('Inflights frees everything at or below an acknowledged index', () => {
    const inf = new Inflights(3);
    inf.add(1);
    inf.add(5);
    inf.add(9);
    expect(inf.full()).toBe(true);
    inf.freeLE(5);
    expect(inf.count()).toBe(1);
    expect(() => {
      inf.add(10);
      inf.add(11);
      inf.add(12);
    }).toThrow(/overflow/);
  });
});

test('conf changes round-trip through their encoding', () => {
  const cc: fc.Arbitrary<ConfChange> = fc.record({
    type: fc.constantFrom('addVoter' as const, 'addLearner' as const, 'removeNode' as const),
    node: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  });
  fc.assert(fc.property(cc, (c) => expect(decodeConfChange(encodeConfChange(c))).toEqual(c)));
  expect(() => decodeConfChange(new Uint8Array(3))).toThrow(/malformed/);
});
