/**
 * `npm run bench -- <name> [--seconds S]`: runs one benchmark (or all of them with no
 * name) and prints its figures as JSON lines (DESIGN.md §12).
 *
 * The script compiles the project into dist/ first and runs this file from there, so
 * the nodes, the gateway and the clients it starts run compiled JavaScript, as the
 * image ships them. Under tsx's loader, module export getters and its function-name
 * helper alone took 5–7% of a busy process's CPU.
 */
import { runKvBench } from './kv';
import { runRaftBench } from './raft';
import { runSqlBench } from './sql';
import { runStorageBench } from './storage';
import { runTxnBench } from './txn';

export interface BenchOptions {
  /** How long each measured operation runs. */
  readonly seconds: number;
}

const BENCHES: Record<string, (options: BenchOptions) => Promise<void>> = {
  storage: runStorageBench,
  raft: runRaftBench,
  kv: runKvBench,
  txn: runTxnBench,
  sql: runSqlBench,
};

function parseArgs(argv: string[]): { names: string[]; options: BenchOptions } {
  const names: string[] = [];
  let seconds = 3;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--seconds') {
      seconds = Number(argv[++i]);
      if (!Number.isFinite(seconds) || seconds <= 0) {
        throw new Error(`--seconds needs a positive number, got ${argv[i]}`);
      }
    } else if (arg.startsWith('-')) {
      throw new Error(`unknown option ${arg}`);
    } else {
      names.push(arg);
    }
  }
  return { names, options: { seconds } };
}

async function main(): Promise<void> {
  const { names, options } = parseArgs(process.argv.slice(2));
  const selected = names.length === 0 ? Object.keys(BENCHES) : names;
  for (const name of selected) {
    const bench = BENCHES[name];
    if (bench === undefined) {
      throw new Error(`unknown benchmark '${name}'; known: ${Object.keys(BENCHES).join(', ')}`);
    }
    await bench(options);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${String((err as Error).stack ?? err)}\n`);
  process.exit(1);
});
