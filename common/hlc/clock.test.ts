import fc from 'fast-check';
import { ClockOffsetError, HybridLogicalClock, ManualClock } from './clock';
import type { Timestamp } from './timestamp';
import {
  compareTimestamps,
  formatTimestamp,
  nextTimestamp,
  parseTimestamp,
  prevTimestamp,
  timestamp,
} from './timestamp';

const MS = 1_000_000n;

describe('HybridLogicalClock', () => {
  it('follows the physical clock when it moves forward', () => {
    const physical = new ManualClock(1_000n * MS);
    const clock = new HybridLogicalClock(physical, 250n * MS);
    expect(clock.now()).toEqual(timestamp(1_000n * MS, 0));
    physical.advance(5n * MS);
    expect(clock.now()).toEqual(timestamp(1_005n * MS, 0));
  });

  it('ticks the logical counter while the physical clock stands still or goes back', () => {
    const physical = new ManualClock(1_000n * MS);
    const clock = new HybridLogicalClock(physical, 250n * MS);
    const first = clock.now();
    const second = clock.now();
    physical.set(900n * MS);
    const third = clock.now();
    expect(second).toEqual(timestamp(first.wallTime, 1));
    expect(third).toEqual(timestamp(first.wallTime, 2));
  });

  it('moves past a remote timestamp within the maximum offset', () => {
    const physical = new ManualClock(1_000n * MS);
    const clock = new HybridLogicalClock(physical, 250n * MS);
    clock.now();
    const remote = timestamp(1_200n * MS, 7);
    clock.update(remote);
    expect(compareTimestamps(clock.now(), remote)).toBeGreaterThan(0);
    expect(clock.last()).toEqual(timestamp(1_200n * MS, 8));
  });

  it('never moves backwards on a remote timestamp from the past', () => {
    const physical = new ManualClock(1_000n * MS);
    const clock = new HybridLogicalClock(physical, 250n * MS);
    const before = clock.now();
    clock.update(timestamp(10n * MS, 99));
    expect(compareTimestamps(clock.now(), before)).toBeGreaterThan(0);
  });

  it('rejects a remote timestamp further ahead than the maximum offset, with a typed error', () => {
    const physical = new ManualClock(1_000n * MS);
    const clock = new HybridLogicalClock(physical, 250n * MS);
    const before = clock.now();
    let thrown: unknown;
    try {
      clock.update(timestamp(1_251n * MS, 0));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ClockOffsetError);
    expect((thrown as ClockOffsetError).code).toBe('CLOCK_OFFSET');
    expect((thrown as ClockOffsetError).message).toContain('251.000 ms ahead');
    // The clock did not take the bad timestamp.
    expect(clock.last()).toEqual(before);
    // Exactly at the bound is accepted.
    clock.update(timestamp(1_250n * MS, 0));
    expect(clock.last()).toEqual(timestamp(1_250n * MS, 0));
  });

  it('is strictly monotonic under any interleaving of physical moves, reads and updates', () => {
    type Step = { kind: 'advance'; by: number } | { kind: 'now' } | { kind: 'update'; ahead: number; logical: number };
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ kind: fc.constant('advance' as const), by: fc.integer({ min: -50, max: 50 }) }),
      fc.record({ kind: fc.constant('now' as const) }),
      fc.record({
        kind: fc.constant('update' as const),
        ahead: fc.integer({ min: -400, max: 400 }),
        logical: fc.integer({ min: 0, max: 5 }),
      }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 200 }), (steps) => {
        const physical = new ManualClock(10_000n * MS);
        const clock = new HybridLogicalClock(physical, 250n * MS);
        let previous: Timestamp = clock.now();
        for (const s of steps) {
          if (s.kind === 'advance') {
            physical.advance(BigInt(s.by) * MS);
          } else if (s.kind === 'now') {
            const current = clock.now();
            expect(compareTimestamps(current, previous)).toBeGreaterThan(0);
            previous = current;
          } else {
            const remote = timestamp(physical.nowNanos() + BigInt(s.ahead) * MS, s.logical);
            try {
              clock.update(remote);
              const current = clock.now();
              expect(compareTimestamps(current, remote)).toBeGreaterThan(0);
              expect(compareTimestamps(current, previous)).toBeGreaterThan(0);
              previous = current;
            } catch (err) {
              expect(err).toBeInstanceOf(ClockOffsetError);
              expect(s.ahead).toBeGreaterThan(250);
            }
          }
        }
      }),
    );
  });
});

describe('Timestamp', () => {
  it('formats and parses', () => {
    const ts = timestamp(1_700_000_000_000_000_001n, 3);
    expect(formatTimestamp(ts)).toBe('1700000000.000000001,3');
    expect(parseTimestamp('1700000000.000000001,3')).toEqual(ts);
    expect(() => parseTimestamp('yesterday')).toThrow(/not a timestamp/);
  });

  it('next and prev are neighbours', () => {
    const ts = timestamp(5n, 0xffff_ffff);
    expect(nextTimestamp(ts)).toEqual(timestamp(6n, 0));
    expect(prevTimestamp(nextTimestamp(ts))).toEqual(ts);
  });

  it('rejects out-of-range parts', () => {
    expect(() => timestamp(-1n)).toThrow(/outside/);
    expect(() => timestamp(1n, -1)).toThrow(/outside/);
    expect(() => timestamp(1n, 1.5)).toThrow(/outside/);
  });
});
