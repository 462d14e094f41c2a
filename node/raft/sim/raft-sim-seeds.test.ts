import { runRaftSim, SimViolationError } from './raft-sim';

/** More seeds of the Raft simulator (see raft-sim.test.ts), in their own file to run in parallel. */
function runSeeds(first: number, last: number, options: { deferCommitNotices?: boolean } = {}): void {
  for (let seed = first; seed <= last; seed++) {
    try {
      runRaftSim({ seed, ...options });
    } catch (e) {
      if (e instanceof SimViolationError) throw new Error(e.message);
      throw e;
    }
  }
}

test('seeds 151-300 pass every safety and liveness check', () => {
  runSeeds(151, 300);
});

test('seeds 1-150 pass with commit notices deferred (the nodes run so)', () => {
  runSeeds(1, 150, { deferCommitNotices: true });
});
