/**
 * `cairn start`: a local cluster in the foreground. It prints where to connect, stays
 * up, and on Ctrl-C (SIGINT), SIGTERM or SIGHUP stops every node cleanly; a second
 * Ctrl-C kills them.
 */
import * as path from 'node:path';
import type { Command } from './args';
import { DEFAULT_DATA_DIR } from './cluster-file';
import type { LocalNode, NodeExit } from './local-cluster';
import { LocalCluster, logTail } from './local-cluster';
import type { Io } from './run';

type StartCommand = Extract<Command, { kind: 'start' }>;

/** A signal this soon after the first is the same Ctrl-C, relayed by npm or tsx. */
const REPEATED_SIGNAL_MS = 1_000;
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** A path relative to `cwd` when it lies under it, else absolute. */
function shortPath(file: string, cwd: string): string {
  const relative = path.relative(cwd, file);
  return relative === '' || relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}

/** What `cairn start` prints once the cluster serves. */
export function connectionHelp(nodes: readonly LocalNode[], dataDir: string, cwd: string): string {
  const first = nodes[0];
  // The other commands find the cluster in ./cairn-data on their own.
  const hostFlag =
    first === undefined || path.resolve(cwd, DEFAULT_DATA_DIR) === path.resolve(dataDir) ? '' : ` --host ${first.address}`;
  const width = Math.max(...nodes.map((n) => n.address.length));
  return [
    `Cairn is running: ${nodes.length} ${nodes.length === 1 ? 'node' : 'nodes'}, data in ${dataDir}`,
    '',
    ...nodes.map(
      (n) =>
        `  node ${n.index}${n.nodeId === undefined ? '' : ` (id ${n.nodeId})`}  ${n.address.padEnd(width)}  ` +
        `http://${n.httpAddress}  log ${shortPath(n.logFile, cwd)}`,
    ),
    '',
    `KV addresses: ${nodes.map((n) => n.address).join(',')}`,
    '',
    `Try, from another terminal${hostFlag === '' ? ' in this directory' : ''}:`,
    `  npx cairn kv put hello world${hostFlag}`,
    `  npx cairn kv get hello${hostFlag}`,
    `  npx cairn kv scan a z${hostFlag}`,
    `  npx cairn node status${hostFlag}`,
    `  npx cairn debug ranges${hostFlag}`,
    '',
    'Ctrl-C stops the cluster.',
  ].join('\n');
}

function describeExits(exits: readonly NodeExit[]): string[] {
  return exits
    .filter((e) => e.forced || e.code !== 0)
    .map((e) =>
      e.forced ? `node ${e.index} did not stop in time and was killed` : `node ${e.index} exited with ${e.code ?? e.signal}`,
    );
}

export async function runStart(command: StartCommand, io: Io): Promise<number> {
  const dataDir = path.resolve(io.cwd, command.dataDir);
  let stopping: Promise<NodeExit[]> | undefined;
  let firstSignalAt = 0;
  let allExited = false;
  let unexpectedExits = 0;
  let wake = (): void => {};
  const woken = new Promise<void>((resolve) => {
    wake = resolve;
  });

  const cluster: LocalCluster = new LocalCluster({
    dataDir,
    ...(command.nodes === undefined ? {} : { nodes: command.nodes }),
    ports: command.freePorts ? 'free' : 'fixed',
    detached: true,
    log: (message) => io.err(`cairn: ${message}`),
    onNodeExit: (node, code, signal) => {
      unexpectedExits++;
      io.err(`cairn: node ${node.index} exited unexpectedly (${code ?? signal}); last lines of ${node.logFile}:`);
      io.err(logTail(node.logFile, 5));
      if (cluster.nodes.every((n) => n.pid === undefined)) {
        allExited = true;
        wake();
      }
    },
  });

  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping === undefined) {
      firstSignalAt = Date.now();
      io.err(`cairn: ${signal}: stopping the nodes (each hands its leases off first; Ctrl-C again kills them)`);
      stopping = cluster.stop();
      wake();
    } else if (Date.now() - firstSignalAt > REPEATED_SIGNAL_MS) {
      io.err('cairn: killing the nodes');
      for (const node of cluster.nodes) {
        void cluster.kill(node.index, 'SIGKILL');
      }
    }
  };
  for (const signal of STOP_SIGNALS) {
    process.on(signal, onSignal);
  }
  try {
    try {
      await cluster.start();
    } catch (err) {
      if (stopping === undefined) {
        io.err(`cairn: ${(err as Error).message}`);
        return 1;
      }
    }
    if (stopping === undefined) {
      io.out(connectionHelp(cluster.nodes, dataDir, io.cwd));
      // Child processes keep the event loop alive while we wait.
      await woken;
    }
    const exits = await (stopping ?? cluster.stop());
    const problems = describeExits(exits);
    if (allExited) {
      io.err('cairn: every node has exited');
      return 1;
    }
    if (unexpectedExits > 0) {
      problems.push(`${unexpectedExits} node${unexpectedExits === 1 ? '' : 's'} had exited on ${unexpectedExits === 1 ? 'its' : 'their'} own`);
    }
    io.err(problems.length === 0 ? 'cairn: stopped' : `cairn: stopped, not cleanly: ${problems.join('; ')}`);
    return problems.length === 0 ? 0 : 1;
  } finally {
    for (const signal of STOP_SIGNALS) {
      process.off(signal, onSignal);
    }
  }
}
