/**
 * `npm run sim -- <simulator> [args]`: the deterministic simulators. The simulators
 * themselves do no I/O; this entry point owns the console, the wall clock and the exit code.
 */
import { raftSimMain } from '../../node/raft/sim/main';
import { txnSimMain } from './txn/main';

type Simulator = (args: readonly string[], write: (line: string) => void, now: () => number) => number | Promise<number>;

const simulators: Record<string, Simulator> = {
  raft: raftSimMain,
  txn: txnSimMain,
};

const [name, ...args] = process.argv.slice(2);
const sim = name === undefined ? undefined : simulators[name];
if (sim === undefined) {
  process.stderr.write(`usage: npm run sim -- <${Object.keys(simulators).join('|')}> [args]\n`);
  process.exit(2);
}
void Promise.resolve(sim(args, (line) => process.stdout.write(`${line}\n`), () => Date.now())).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
