/**
 * A node's Raft timing (DESIGN.md §5): a tick every 100 ms, a heartbeat every tick,
 * and an election after 10 ticks without a leader, randomized over 4 more ticks. The
 * narrower spread than etcd's (a whole election timeout) bounds failover: with two
 * survivors, the first campaigns within 1.0–1.4 s of the last heartbeat, so a new
 * leader commits within 1.5 s.
 */
export interface RaftTiming {
  readonly tickMs: number;
  readonly heartbeatTicks: number;
  readonly electionTicks: number;
  readonly electionJitterTicks: number;
}

export const DEFAULT_RAFT_TIMING: RaftTiming = Object.freeze({
  tickMs: 100,
  heartbeatTicks: 1,
  electionTicks: 10,
  electionJitterTicks: 4,
});
