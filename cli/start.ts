/**
 * `cairn start`: a local cluster in the foreground — the nodes, then a SQL gateway on
 * 127.0.0.1. It prints where to connect, stays up, and on Ctrl-C (SIGINT), SIGTERM or
 * SIGHUP stops the gateway (its sessions drain) and then every node cleanly; a second
 * Ctrl-C kills them. If the gateway dies, the whole cluster stops with exit status 1.
 */
import * as path from 'node:path';
import type { Command } from './args';
import { DEFAULT_DATA_DIR } from './cluster-file';
import type { GatewayExit, LocalGateway, LocalNode, NodeExit } from './local-cluster';
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
export function connectionHelp(nodes: readonly LocalNode[], gateway: LocalGateway, dataDir: string, cwd: string): string {
  const first = nodes[0];
  // The other commands find the cluster in ./cairn-data on their own.
  const hostFlag =
    first === undefined || path.resolve(cwd, DEFAULT_DATA_DIR) === path.resolve(dataDir) ? '' : ` --host ${first.address}`;
  const rows = [
    ...nodes.map((n) => ({
      label: `node ${n.index}${n.nodeId === undefined ? '' : ` (id ${n.nodeId})`}`,
      address: n.address,
      httpAddress: n.httpAddress,
      logFile: n.logFile,
    })),
    { label: 'SQL gateway', address: gateway.sqlAddress, httpAddress: gateway.httpAddress, logFile: gateway.logFile },
  ];
  const labelWidth = Math.max(...rows.map((r) => r.label.length));
  const width = Math.max(...rows.map((r) => r.address.length));
  return [
    `Cairn is running: ${nodes.length} ${nodes.length === 1 ? 'node' : 'nodes'} and a SQL gateway, data in ${dataDir}`,
    '',
    ...rows.map(
      (r) => `  ${r.label.padEnd(labelWidth)}  ${r.address.padEnd(width)}  http://${r.httpAddress}  log ${shortPath(r.logFile, cwd)}`,
    ),
    '',
    `SQL: ${gateway.url}`,
    'The cluster listens on 127.0.0.1 only, and there it lets user root in without a password.',
    '',
    `KV addresses: ${nodes.map((n) => n.address).join(',')}`,
    '',
    `Try, from another terminal${hostFlag === '' ? ' in this directory' : ''}:`,
    `  psql '${gateway.url}'`,
    `  npx cairn kv put hello world${hostFlag}`,
    `  npx cairn kv get hello${hostFlag}`,
    `  npx cairn kv scan a z${hostFlag}`,
    `  npx cairn node status${hostFlag}`,
    `  npx cairn debug ranges${hostFlag}`,
    '',
    'Ctrl-C stops the cluster.',
  ].join('\n');
}

export function describeExits(gateway: GatewayExit | undefined, nodes: readonly NodeExit[]): string[] {
  const problems: string[] = [];
  if (gateway !== undefined && (gateway.forced || gateway.code !== 0)) {
    problems.push(gateway.forced ? 'the SQL gateway did not stop in time and was killed' : `the SQL gateway exited with ${gateway.code ?? gateway.signal}`);
  }
  for (const e of nodes) {
    if (e.forced || e.code !== 0) {
      problems.push(e.forced ? `node ${e.index} did not stop in time and was killed` : `node ${e.index} exited with ${e.code ?? e.signal}`);
    }
  }
  return problems;
}

interface Stopped {
  readonly gateway: GatewayExit | undefined;
  readonly nodes: NodeExit[];
}

export async function runStart(command: StartCommand, io: Io): Promise<number> {
  const dataDir = path.resolve(io.cwd, command.dataDir);
  let stopping: Promise<Stopped> | undefined;
  let firstSignalAt = 0;
  let allExited = false;
  let unexpectedExits = 0;
  let serving = false;
  let gatewayDied = false;
  let wake = (): void => {};
  const woken = new Promise<void>((resolve) => {
    wake = resolve;
  });

  const cluster: LocalCluster = new LocalCluster({
    dataDir,
    ...(command.nodes === undefined ? {} : { nodes: command.nodes }),
    ports: command.freePorts ? 'free' : 'fixed',
    gateway: command.sqlPort === undefined ? {} : { sqlPort: command.sqlPort },
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
    onGatewayExit: (gateway, code, signal) => {
      // Before it served, start() reports it (with its log) itself.
      if (!serving) return;
      gatewayDied = true;
      io.err(`cairn: the SQL gateway exited unexpectedly (${code ?? signal}); last lines of ${gateway.logFile}:`);
      io.err(logTail(gateway.logFile, 5));
      wake();
    },
  });

  // The gateway first, so that its sessions drain while the nodes still serve.
  const stopAll = async (): Promise<Stopped> => {
    const gateway = await cluster.stopGateway();
    return { gateway, nodes: await cluster.stop() };
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping === undefined) {
      firstSignalAt = Date.now();
      io.err(
        `cairn: ${signal}: stopping the SQL gateway, then the nodes (each hands its leases off first; Ctrl-C again kills them)`,
      );
      stopping = stopAll();
      wake();
    } else if (Date.now() - firstSignalAt > REPEATED_SIGNAL_MS) {
      io.err('cairn: killing the SQL gateway and the nodes');
      void cluster.killGateway('SIGKILL');
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
    const gateway = cluster.gateway;
    if (stopping === undefined && gateway !== undefined) {
      serving = true;
      io.out(connectionHelp(cluster.nodes, gateway, dataDir, io.cwd));
      // Child processes keep the event loop alive while we wait.
      await woken;
    }
    if (gatewayDied && stopping === undefined) {
      io.err('cairn: without its SQL gateway the cluster stops');
    }
    const exits = await (stopping ?? stopAll());
    const problems = describeExits(exits.gateway, exits.nodes);
    if (allExited) {
      io.err('cairn: every node has exited');
      return 1;
    }
    if (gatewayDied) {
      problems.push('the SQL gateway had exited on its own');
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
