import fc from 'fast-check';
import { civilFromDays, DATE_MAX_DAYS, DATE_MIN_DAYS, daysFromCivil, dayOfWeek } from './civil-date';
import { localToUtc, utcToLocal } from './datetime';
import { sqlErrorOf } from './test-util';
import { formatOffset, resolveTimeZone, UTC } from './timezone';

describe('civil dates', () => {
  test('civilFromDays inverts daysFromCivil over the whole date range', () => {
    fc.assert(
      fc.property(fc.integer({ min: DATE_MIN_DAYS, max: DATE_MAX_DAYS }), (d) => {
        const { year, month, day } = civilFromDays(d);
        expect(daysFromCivil(year, month, day)).toBe(d);
      }),
      { numRuns: 2000 },
    );
  });

  test('agrees with the JavaScript Date calendar', () => {
    fc.assert(
      fc.property(fc.integer({ min: -700000, max: 700000 }), (d) => {
        const js = new Date(d * 86_400_000);
        const { year, month, day } = civilFromDays(d);
        expect([year, month, day]).toEqual([js.getUTCFullYear(), js.getUTCMonth() + 1, js.getUTCDate()]);
        expect(dayOfWeek(d)).toBe(js.getUTCDay());
      }),
    );
  });

  test('known days', () => {
    expect(daysFromCivil(1970, 1, 1)).toBe(0);
    expect(daysFromCivil(2000, 1, 1)).toBe(10957);
    expect(daysFromCivil(-4713, 11, 24)).toBe(-2440588); // Julian day 0 (4714 BC)
  });
});

describe('resolveTimeZone', () => {
  test.each([
    ['UTC', 'UTC', 0],
    ['utc', 'UTC', 0],
    ['GMT', 'UTC', 0],
    ['Etc/UTC', 'UTC', 0],
    ['Z', 'UTC', 0],
    // POSIX sign, as PostgreSQL 15: SET TIME ZONE '+05:30' prints -05:30.
    ['+05:30', '+05:30', -19800],
    ['-08', '-08', -28800], // a plain number of hours: SQL sign
    ['+0530', '+0530', -19800],
    ['5', '5', 18000],
    ['-7', '-7', -25200],
    ['5.5', '5.5', 19800],
    ['UTC+3', 'UTC+3', -10800],
    ['UTC-05:30', 'UTC-05:30', 19800],
  ])('%j → %s, %d s east', (spec, name, offset) => {
    const z = resolveTimeZone(spec);
    expect(z.name).toBe(name);
    expect(z.offsetAtUtc(0n)).toBe(offset);
  });

  test('IANA zones, any case, with history', () => {
    const ny = resolveTimeZone('america/new_york');
    expect(ny.name).toBe('America/New_York');
    expect(ny.fixedOffsetSeconds).toBeUndefined();
    const jan = BigInt(Date.UTC(2024, 0, 15)) * 1000n;
    const jul = BigInt(Date.UTC(2024, 6, 15)) * 1000n;
    expect(ny.offsetAtUtc(jan)).toBe(-5 * 3600);
    expect(ny.offsetAtUtc(jul)).toBe(-4 * 3600);
    const kolkata = resolveTimeZone('Asia/Kolkata');
    expect(kolkata.offsetAtUtc(jan)).toBe(19800);
    expect(resolveTimeZone('Europe/Berlin').offsetAtUtc(jul)).toBe(7200);
    // Far outside what Intl covers: the offset at Intl's last instant (a September) holds.
    expect(ny.offsetAtUtc(9_000_000_000_000_000_000n)).toBe(-4 * 3600);
    expect(ny.offsetAtUtc(-9_000_000_000_000_000_000n)).toBe(-(4 * 3600 + 56 * 60 + 2));
  });

  test('local ↔ UTC around transitions', () => {
    const ny = resolveTimeZone('America/New_York');
    const local = (y: number, mo: number, d: number, h: number, mi: number): bigint =>
      BigInt(Date.UTC(y, mo - 1, d, h, mi)) * 1000n;
    // Gap: 2018-03-11 02:30 → read with EST → 07:30 UTC.
    expect(localToUtc(local(2018, 3, 11, 2, 30), ny)).toBe(local(2018, 3, 11, 7, 30));
    // Overlap: 2018-11-04 01:30 → EST (later) → 06:30 UTC.
    expect(localToUtc(local(2018, 11, 4, 1, 30), ny)).toBe(local(2018, 11, 4, 6, 30));
    fc.assert(
      fc.property(fc.bigInt({ min: -2_000_000_000_000_000n, max: 4_000_000_000_000_000n }), (utc) => {
        const back = localToUtc(utcToLocal(utc, ny), ny);
        // Round trip is exact except inside a fall-back hour, where PostgreSQL picks the later offset.
        expect(back === utc || back - utc === 3_600_000_000n).toBe(true);
      }),
    );
    expect(localToUtc(123n, UTC)).toBe(123n);
  });

  test('bad settings are 22023', () => {
    for (const bad of ['', 'Nowhere/Special', '+25', 'UTC+99']) {
      const e = sqlErrorOf(() => resolveTimeZone(bad));
      expect([e.sqlState, e.message]).toEqual(['22023', `invalid value for parameter "TimeZone": "${bad}"`]);
    }
  });

  test('formatOffset', () => {
    expect(formatOffset(0)).toBe('+00');
    expect(formatOffset(-18000)).toBe('-05');
    expect(formatOffset(19800)).toBe('+05:30');
    expect(formatOffset(-(4 * 3600 + 56 * 60 + 2))).toBe('-04:56:02');
  });
});
