import { SqlError } from '../../../common/errors';
import type { TimeZone } from '../types/timezone';
import { resolveTimeZone } from '../types/timezone';
import { invalidParameter } from './errors';

/**
 * The session time zone as built-ins use it, over gateway/sql/types' zones (IANA names,
 * UTC, ISO and POSIX offsets), so that casts, output and functions agree on what a zone
 * name means. Wall-clock times skipped or repeated by a transition are read as
 * PostgreSQL does (see TimeZone.offsetForLocal).
 */

function zoneOf(zone: string): TimeZone {
  return resolveTimeZone(zone);
}

/** Throws 22023 'time zone "x" not recognized' (AT TIME ZONE's wording) for an unknown zone. */
export function checkTimeZone(zone: string): void {
  try {
    resolveTimeZone(zone);
  } catch (err) {
    if (err instanceof SqlError) throw invalidParameter(`time zone "${zone}" not recognized`);
    throw err;
  }
}

/** The zone's offset from UTC at the instant, in seconds east (local = UTC + offset). */
export function zoneOffsetSeconds(zone: string, utcMicros: bigint): number {
  const z = zoneOf(zone);
  return z.fixedOffsetSeconds ?? z.offsetAtUtc(utcMicros);
}

/** UTC instant → wall-clock time in the zone. */
export function utcToLocal(zone: string, utcMicros: bigint): bigint {
  return utcMicros + BigInt(zoneOffsetSeconds(zone, utcMicros)) * 1_000_000n;
}

/** Wall-clock time in the zone → UTC instant. */
export function localToUtc(zone: string, localMicros: bigint): bigint {
  const z = zoneOf(zone);
  return localMicros - BigInt(z.fixedOffsetSeconds ?? z.offsetForLocal(localMicros)) * 1_000_000n;
}
