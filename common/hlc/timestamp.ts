import { InvalidArgumentError } from '../errors';

/**
 * A hybrid logical clock timestamp: physical wall time in nanoseconds since the Unix
 * epoch (bigint: it passes 2^53) and a logical counter that orders events within one
 * wall-time tick.
 */
export interface Timestamp {
  readonly wallTime: bigint;
  readonly logical: number;
}

export const MAX_LOGICAL = 0xffff_ffff;
export const MAX_WALL_TIME = (1n << 64n) - 1n;

export const ZERO_TIMESTAMP: Timestamp = Object.freeze({ wallTime: 0n, logical: 0 });
export const MAX_TIMESTAMP: Timestamp = Object.freeze({ wallTime: MAX_WALL_TIME, logical: MAX_LOGICAL });

export function timestamp(wallTime: bigint, logical = 0): Timestamp {
  if (wallTime < 0n || wallTime > MAX_WALL_TIME) {
    throw new InvalidArgumentError(`timestamp wall time ${wallTime} is outside [0, 2^64)`);
  }
  if (!Number.isInteger(logical) || logical < 0 || logical > MAX_LOGICAL) {
    throw new InvalidArgumentError(`timestamp logical ${logical} is outside [0, 2^32)`);
  }
  return { wallTime, logical };
}

export function compareTimestamps(a: Timestamp, b: Timestamp): number {
  if (a.wallTime !== b.wallTime) {
    return a.wallTime < b.wallTime ? -1 : 1;
  }
  return a.logical === b.logical ? 0 : a.logical < b.logical ? -1 : 1;
}

export function timestampLess(a: Timestamp, b: Timestamp): boolean {
  return compareTimestamps(a, b) < 0;
}

export function timestampLessOrEqual(a: Timestamp, b: Timestamp): boolean {
  return compareTimestamps(a, b) <= 0;
}

export function timestampEqual(a: Timestamp, b: Timestamp): boolean {
  return a.wallTime === b.wallTime && a.logical === b.logical;
}

export function maxTimestamp(a: Timestamp, b: Timestamp): Timestamp {
  return compareTimestamps(a, b) >= 0 ? a : b;
}

/** The smallest timestamp greater than `ts`. */
export function nextTimestamp(ts: Timestamp): Timestamp {
  if (ts.logical < MAX_LOGICAL) {
    return { wallTime: ts.wallTime, logical: ts.logical + 1 };
  }
  return timestamp(ts.wallTime + 1n, 0);
}

/** The greatest timestamp less than `ts`. */
export function prevTimestamp(ts: Timestamp): Timestamp {
  if (ts.logical > 0) {
    return { wallTime: ts.wallTime, logical: ts.logical - 1 };
  }
  return timestamp(ts.wallTime - 1n, MAX_LOGICAL);
}

export function isZeroTimestamp(ts: Timestamp): boolean {
  return ts.wallTime === 0n && ts.logical === 0;
}

/** `1700000000.000000001,3`: seconds with nanoseconds, then the logical counter. */
export function formatTimestamp(ts: Timestamp): string {
  const seconds = ts.wallTime / 1_000_000_000n;
  const nanos = ts.wallTime % 1_000_000_000n;
  return `${seconds}.${nanos.toString().padStart(9, '0')},${ts.logical}`;
}

const TIMESTAMP_TEXT = /^(\d+)\.(\d{9}),(\d+)$/;

export function parseTimestamp(text: string): Timestamp {
  const match = TIMESTAMP_TEXT.exec(text);
  if (match === null) {
    throw new InvalidArgumentError(`'${text}' is not a timestamp (expected seconds.nanoseconds,logical)`);
  }
  const [, seconds, nanos, logical] = match as unknown as [string, string, string, string];
  return timestamp(BigInt(seconds) * 1_000_000_000n + BigInt(nanos), Number(logical));
}
