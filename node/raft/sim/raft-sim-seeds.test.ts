import { runRaftSim, SimViolationError } from './raft-sim';

/** More seeds of the Raft simulator (see raft-sim.test.ts), in their own file to run in parallel. */
test('seeds 151-300 pass every safety and liveness check', () => {
  for (let seed = 151; seed <= 300; seed++) {
    try {
      runRaftSim({ seed });
    } catch (e) {
      if (e instanceof SimViolationError) throw new Error(e.message);
      throw e;
    }
  }
});
