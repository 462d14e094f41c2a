import { CairnError, InvalidArgumentError } from '../errors';
import { SqlStates } from '../errors';
import type { Timestamp } from './timestamp';
import { compareTimestamps, formatTimestamp, MAX_LOGICAL } from './timestamp';

/** The physical clock, injected so tests and the simulator control time (nanoseconds). */
export interface PhysicalClock {
  nowNanos(): bigint;
}

export const systemClock: PhysicalClock = {
  nowNanos: () => BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n),
};

/** A clock whose time moves only when a test says so. */
export class ManualClock implements PhysicalClock {
  constructor(private nanos: bigint) {}

  nowNanos(): bigint {
    return this.nanos;
  }

  set(nanos: bigint): void {
    this.nanos = nanos;
  }

  advance(nanos: bigint): void {
    this.nanos += nanos;
  }
}

/**
 * A remote timestamp further ahead of the local physical clock than the maximum offset:
 * one of the two clocks is wrong, and accepting it would let this node hand out
 * timestamps that break the uncertainty bound the cluster relies on.
 */
export class ClockOffsetError extends CairnError {
  readonly remote: Timestamp;
  readonly localNanos: bigint;
  readonly maxOffsetNanos: bigint;

  constructor(remote: Timestamp, localNanos: bigint, maxOffsetNanos: bigint) {
    const aheadMs = Number(remote.wallTime - localNanos) / 1e6;
    super(
      'CLOCK_OFFSET',
      `remote timestamp ${formatTimestamp(remote)} is ${aheadMs.toFixed(3)} ms ahead of the local clock, ` +
        `more than the maximum offset of ${Number(maxOffsetNanos) / 1e6} ms`,
      { sqlState: SqlStates.internalError },
    );
    this.remote = remote;
    this.localNanos = localNanos;
    this.maxOffsetNanos = maxOffsetNanos;
  }
}

export const DEFAULT_MAX_OFFSET_NANOS = 250_000_000n;

/**
 * Hybrid logical clock (Kulkarni et al., "Logical Physical Clocks"): timestamps follow
 * physical time closely, never go backwards, and order every send before its receive.
 */
export class HybridLogicalClock {
  private wallTime = 0n;
  private logical = 0;

  constructor(
    private readonly physical: PhysicalClock,
    readonly maxOffsetNanos: bigint = DEFAULT_MAX_OFFSET_NANOS,
  ) {
    if (maxOffsetNanos < 0n) {
      throw new InvalidArgumentError(`max clock offset must not be negative, got ${maxOffsetNanos}`);
    }
  }

  /** A timestamp greater than every one this clock returned or received before. */
  now(): Timestamp {
    const physicalNanos = this.physical.nowNanos();
    if (physicalNanos > this.wallTime) {
      this.wallTime = physicalNanos;
      this.logical = 0;
    } else {
      this.tickLogical();
    }
    return { wallTime: this.wallTime, logical: this.logical };
  }

  /** The physical clock's reading, in nanoseconds: what bounds other processes' timestamps. */
  physicalNanos(): bigint {
    return this.physical.nowNanos();
  }

  /** The latest timestamp handed out or received, without advancing the clock. */
  last(): Timestamp {
    return { wallTime: this.wallTime, logical: this.logical };
  }

  /**
   * Folds a timestamp received from another process into the clock, so that later
   * `now()` calls are above it. Rejects (and ignores) a timestamp more than the maximum
   * offset ahead of the local physical clock.
   */
  update(remote: Timestamp): void {
    const physicalNanos = this.physical.nowNanos();
    if (this.maxOffsetNanos > 0n && remote.wallTime - physicalNanos > this.maxOffsetNanos) {
      throw new ClockOffsetError(remote, physicalNanos, this.maxOffsetNanos);
    }
    if (compareTimestamps(remote, { wallTime: this.wallTime, logical: this.logical }) > 0) {
      this.wallTime = remote.wallTime;
      this.logical = remote.logical;
    }
  }

  /**
   * Moves the clock up to `ts` without the offset check: for timestamps this process
   * chose itself (a write placed above the timestamp cache), which later reads here
   * must see.
   */
  forward(ts: Timestamp): void {
    if (compareTimestamps(ts, { wallTime: this.wallTime, logical: this.logical }) > 0) {
      this.wallTime = ts.wallTime;
      this.logical = ts.logical;
    }
  }

  private tickLogical(): void {
    if (this.logical === MAX_LOGICAL) {
      // 2^32 events within one nanosecond cannot happen with a working physical
      // clock; move wall time forward rather than wrap.
      this.wallTime += 1n;
      this.logical = 0;
    } else {
      this.logical += 1;
    }
  }
}
