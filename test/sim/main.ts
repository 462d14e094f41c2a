/**
 * `npm run sim -- <simulator> [args]`: the deterministic simulators. The simulators
 * themselves do no I/O; this entry point owns the console, the wall clock and the exit code.
 */
import { raftSimMain } from '../../node/raft/sim/main';

const simulators: Record<string, (args: readonly string[], write: (line: string) => void, now: () => number) => number> = {
  raft: raftSimMain,
};

const [name, ...args] = process.argv.slice(2);
const sim = name === undefined ? undefined : simulators[name];
if (sim === undefined) {
  process.stderr.write(`usage: npm run sim -- <${Object.keys(simulators).join('|')}> [args]\n`);
  process.exit(2);
}
process.exitCode = sim(args, (line) => process.stdout.write(`${line}\n`), () => Date.now());
