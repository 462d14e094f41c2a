/**
 * A cluster of cairn-node processes on 127.0.0.1, each with its data in
 * `<dataDir>/node<k>` and its log (stdout and stderr) in `<dataDir>/node<k>/cairn-node.log`.
 * `cairn start`, the cross-process tests and the KV benchmark run one.
 *
 * Nodes are numbered 1..N by their place here (their `index`); the cluster gives them
 * node IDs of its own (node 1 gets ID 1 by bootstrapping, the others in the order they
 * join), which `nodes[k].nodeId` reports once started.
 *
 * The first start picks ports (fixed: gRPC 26258 + k - 1 and HTTP 8080 + k - 1, or
 * free ones), records them in `<dataDir>/cluster.json`, and sends Init to node 1; a
 * later start reads the file and restarts the same nodes on the same ports, from their
 * own disks.
 *
 * With the `gateway` option (`cairn start`), a cairn-gateway process follows once the
 * nodes serve: Postgres wire protocol on 127.0.0.1 (26257, or a free port), trust
 * authentication (loopback only), its status server on HTTP 8080 + N (or a free port),
 * its log in `<dataDir>/gateway/cairn-gateway.log`. `stop` stops it before the nodes.
 * Its ports are not recorded: nothing in the cluster's data refers to them.
 *
 * Environment: CAIRN_NODE_PROFILE_DIR=DIR makes every node write a V8 CPU profile
 * there on exit (CAIRN_GATEWAY_PROFILE_DIR, the gateway); CAIRN_NODE_ARGS="--flag value ..." adds cairn-node flags;
 * CAIRN_GATEWAY_ARGS="--flag value ..." adds cairn-gateway flags.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { AdminClient, isAlreadyInitialized, isUnavailable } from './admin-client';
import type { ClusterFile, ClusterFileNode } from './cluster-file';
import {
  DEFAULT_BASE_PORT,
  DEFAULT_HTTP_BASE_PORT,
  fixedPortNodes,
  readClusterFile,
  writeClusterFile,
} from './cluster-file';

export const DEFAULT_NODE_COUNT = 3;
/** The SQL gateway's port with fixed ports (CockroachDB's and Cairn's SQL port). */
export const DEFAULT_SQL_PORT = 26257;
export const DEFAULT_START_TIMEOUT_MS = 90_000;
/** Long enough for a node to hand its leases off before it exits. */
export const DEFAULT_STOP_TIMEOUT_MS = 20_000;
const POLL_INTERVAL_MS = 100;
const LOG_TAIL_LINES = 20;

export interface LocalClusterOptions {
  readonly dataDir: string;
  /** How many nodes; default: as many as `cluster.json` records, else 3. */
  readonly nodes?: number;
  /**
   * Ports of a new cluster: `fixed` (default) gRPC 26258 + k - 1 and HTTP 8080 + k - 1
   * for node k, or `free` ones found by binding port 0 (tests, benchmarks). A recorded
   * cluster keeps its ports.
   */
  readonly ports?: 'fixed' | 'free';
  readonly basePort?: number;
  readonly httpBasePort?: number;
  /** `--locality` of node k at [k - 1], e.g. `region=r1,zone=z1`. */
  readonly localities?: readonly string[];
  /** More cairn-node flags, for every node. */
  readonly extraNodeArgs?: readonly string[];
  /** More environment for the node processes. */
  readonly env?: Readonly<Record<string, string>>;
  /** How long `start` and `restart` wait for nodes to serve. */
  readonly startTimeoutMs?: number;
  /** How long `stop` waits after SIGTERM before SIGKILL. */
  readonly stopTimeoutMs?: number;
  /**
   * Each node in its own process group, so that a terminal's Ctrl-C reaches only the
   * parent, which then stops the nodes cleanly (`cairn start`). Off by default, so an
   * interrupted test or benchmark takes its nodes down with it.
   */
  readonly detached?: boolean;
  /** Progress messages. */
  readonly log?: (message: string) => void;
  /** A node exited without being asked to. */
  readonly onNodeExit?: (node: LocalNode, code: number | null, signal: NodeJS.Signals | null) => void;
  /** Also run a SQL gateway (after the nodes serve; stopped before them). */
  readonly gateway?: LocalGatewayOptions;
  /** The gateway exited without being asked to. */
  readonly onGatewayExit?: (gateway: LocalGateway, code: number | null, signal: NodeJS.Signals | null) => void;
}

export interface LocalGatewayOptions {
  /** Default: 26257 with fixed ports, a free one with free ports. */
  readonly sqlPort?: number;
  /** Processes serving SQL (cairn-gateway --workers; default LOCAL_GATEWAY_WORKERS). */
  readonly workers?: number;
  /** More cairn-gateway flags. */
  readonly extraArgs?: readonly string[];
}

/** A gateway beyond the cluster's own (`addGateway`). */
export interface ExtraGatewayOptions extends LocalGatewayOptions {
  /** Names its folder and log (`gateway-<name>`). */
  readonly name: string;
  /** Its environment over the cluster's; an undefined value removes a variable. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** A running extra gateway; `stop` drains it like the cluster's own. */
export interface ExtraGateway extends LocalGateway {
  stop(): Promise<GatewayExit | undefined>;
}

export interface LocalNode {
  /** 1-based place in the cluster; the data folder is `node<index>`. */
  readonly index: number;
  /** The cluster's ID for the node; known once `start` returned. */
  readonly nodeId: number | undefined;
  readonly address: string;
  readonly httpAddress: string;
  readonly dataDir: string;
  readonly logFile: string;
  /** The running process's ID; undefined while the node is down. */
  readonly pid: number | undefined;
}

export interface LocalGateway {
  /** host:port of its Postgres wire protocol listener. */
  readonly sqlAddress: string;
  /** host:port of its /metrics, /healthz and /readyz. */
  readonly httpAddress: string;
  /** How a client connects: root, no password, defaultdb. */
  readonly url: string;
  readonly dataDir: string;
  readonly logFile: string;
  /** The running process's ID; undefined while it is down. */
  readonly pid: number | undefined;
}

export interface GatewayExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Whether it had to be SIGKILLed after the stop timeout. */
  readonly forced: boolean;
}

export interface NodeExit {
  readonly index: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Whether it had to be SIGKILLed after the stop timeout. */
  readonly forced: boolean;
}

export class LocalClusterError extends Error {
  override readonly name = 'LocalClusterError';
}

interface RunningProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Set once it exited. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** We sent the signal that ends it: its exit is no news. */
  stopping: boolean;
}

interface NodeState {
  readonly spec: ClusterFileNode;
  readonly dataDir: string;
  readonly logFile: string;
  nodeId: number | undefined;
  process: RunningProcess | undefined;
}

/** host:port of the gateway's two listeners. */
export interface GatewaySpec {
  readonly sqlAddress: string;
  readonly httpAddress: string;
}

interface GatewayState {
  readonly spec: GatewaySpec;
  readonly dataDir: string;
  readonly logFile: string;
  process: RunningProcess | undefined;
}

/** The node process's entry: sources under tsx, compiled JavaScript under dist/. */
export function nodeEntry(dir: string = __dirname, file: string = __filename): string {
  const compiled = !file.endsWith('.ts');
  return path.join(dir, '..', 'node', 'server', compiled ? 'main.js' : 'main.ts');
}

/** The gateway process's entry, like `nodeEntry`. */
export function gatewayEntry(dir: string = __dirname, file: string = __filename): string {
  const compiled = !file.endsWith('.ts');
  return path.join(dir, '..', 'gateway', 'server', compiled ? 'main.js' : 'main.ts');
}

/**
 * V8 flags for cairn-node and cairn-gateway (the image's entrypoint passes the same):
 * - a 64 MiB young generation. A server keeps many requests in flight, and with the
 *   default (16 MiB) their objects outlive a scavenge and are promoted, to be collected
 *   again in full. Measured with 64 clients of point selects on three nodes: the
 *   gateway's CPU per statement 107–111 µs → 100–101 µs (bench/sql.ts, two runs each).
 * - an old generation that starts at 256 MiB. With V8's small default, a node whose
 *   live heap is ~22 MiB ran a full mark-compact every 100–150 ms under load (the limit
 *   is set just above what survived), and concurrent marking took a third of its CPU.
 *   Measured with 16 clients putting 1 KiB values on three nodes: 2 350–2 430 →
 *   2 580–2 950 puts/s, the leaseholder's CPU per put 300–350 µs → 215–240 µs.
 */
export const SERVER_V8_FLAGS: readonly string[] = ['--max-semi-space-size=64', '--initial-old-space-size=256'];

/** Node flags that write a V8 CPU profile into `dir` on exit (none without a folder). */
function profileFlags(dir: string | undefined): string[] {
  return dir === undefined || dir === '' ? [] : ['--cpu-prof', '--cpu-prof-dir', dir];
}

/**
 * Node flags for a child: the parent's own (so a tsx loader carries over) without
 * debugger flags, whose port would clash, and without the code of a parent started with
 * `node -e`/`-p`, which every child would run again instead of its entry (and start a
 * cluster of its own, without end); a TypeScript entry gets the tsx loader if the parent
 * has none (under jest, say).
 */
export function childExecArgv(entry: string, execArgv: readonly string[], tsxLoaderUrl: () => string): string[] {
  const inherited: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i] as string;
    if (/^-(e|p|pe)$|^--(eval|print)$/.test(arg)) {
      i++; // the code that follows
      continue;
    }
    if (/^--(inspect|inspect-brk|inspect-port|debug-port|eval|print)(=|$)/.test(arg)) continue;
    inherited.push(arg);
  }
  if (entry.endsWith('.ts') && !inherited.some((arg) => arg.includes('tsx'))) {
    inherited.push('--import', tsxLoaderUrl());
  }
  return inherited;
}

export function tsxLoaderUrl(): string {
  return pathToFileURL(require.resolve('tsx')).href;
}

/** The cairn-node flags of one node. */
export function nodeFlags(
  node: ClusterFileNode,
  dataDir: string,
  all: readonly ClusterFileNode[],
  locality: string | undefined,
): string[] {
  return [
    '--data-dir', dataDir,
    '--listen-addr', node.address,
    '--http-addr', node.httpAddress,
    '--join', all.map((n) => n.address).join(','),
    ...(locality === undefined ? [] : ['--locality', locality]),
  ];
}

/**
 * A local cluster's gateway serves SQL from two processes where the machine has two
 * CPUs or more: one process runs SQL on one CPU, and the nodes beside it need the rest.
 */
export const LOCAL_GATEWAY_WORKERS = Math.min(2, os.availableParallelism());

/**
 * The cairn-gateway flags of a local cluster's gateway. Trust authentication: it
 * listens on loopback only, where cairn-gateway allows it.
 */
export function gatewayFlags(spec: GatewaySpec, nodes: readonly ClusterFileNode[], workers = LOCAL_GATEWAY_WORKERS): string[] {
  return [
    '--join', nodes.map((n) => n.address).join(','),
    '--listen-addr', spec.sqlAddress,
    '--http-addr', spec.httpAddress,
    '--auth', 'trust',
    '--workers', String(workers),
  ];
}

/** The URL that connects to `sqlAddress` as root (no password) to defaultdb. */
export function sqlUrl(sqlAddress: string): string {
  return `postgresql://root@${sqlAddress}/defaultdb?sslmode=disable`;
}

/** Extra flags from an environment variable: split on white space. */
export function splitFlags(text: string | undefined): string[] {
  return text === undefined ? [] : text.split(/\s+/).filter((part) => part !== '');
}

/** Free loopback ports, found by binding port 0. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

function splitHostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}

/** Whether something already listens on `address`. */
function portInUse(address: string): Promise<boolean> {
  const { host, port } = splitHostPort(address);
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(true));
    server.listen(port, host, () => server.close(() => resolve(false)));
  });
}

/** Whether a TCP connection to `address` opens. */
export function tcpConnects(address: string, timeoutMs = 1_000): Promise<boolean> {
  const { host, port } = splitHostPort(address);
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: timeoutMs });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

/** The HTTP status of GET http://address/path, or undefined if nothing answered. */
export function httpStatus(address: string, urlPath: string, timeoutMs = 1_000): Promise<number | undefined> {
  const { host, port } = splitHostPort(address);
  return new Promise((resolve) => {
    const request = http.get({ host, port, path: urlPath, timeout: timeoutMs }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.once('timeout', () => request.destroy());
    request.once('error', () => resolve(undefined));
  });
}

/** The last lines of a log file, indented, for an error message. */
export function logTail(file: string, lines = LOG_TAIL_LINES): string {
  let text: string;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const length = Math.min(size, 16 * 1024);
      const buffer = Buffer.alloc(length);
      fs.readSync(fd, buffer, 0, length, size - length);
      text = buffer.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return `  (no log at ${file})`;
  }
  const tail = text.split('\n').filter((line) => line.trim() !== '').slice(-lines);
  return tail.length === 0 ? `  (${file} is empty)` : tail.map((line) => `  ${line}`).join('\n');
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function describeGateway(g: GatewayState): LocalGateway {
  return {
    sqlAddress: g.spec.sqlAddress,
    httpAddress: g.spec.httpAddress,
    url: sqlUrl(g.spec.sqlAddress),
    dataDir: g.dataDir,
    logFile: g.logFile,
    pid: g.process?.exit === undefined ? g.process?.child.pid : undefined,
  };
}

function withoutUndefined(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

export class LocalCluster {
  readonly dataDir: string;
  private states: NodeState[] = [];
  private gatewayState: GatewayState | undefined;
  private extraGatewayStates: GatewayState[] = [];
  private readonly exitHook = (): void => this.killAllNow();
  private hooked = false;
  /** Grows with every `stop`, so that a `start` under way gives up. */
  private stops = 0;

  constructor(private readonly options: LocalClusterOptions) {
    this.dataDir = path.resolve(options.dataDir);
  }

  get nodes(): LocalNode[] {
    return this.states.map((s) => ({
      index: s.spec.index,
      nodeId: s.nodeId,
      address: s.spec.address,
      httpAddress: s.spec.httpAddress,
      dataDir: s.dataDir,
      logFile: s.logFile,
      pid: s.process?.exit === undefined ? s.process?.child.pid : undefined,
    }));
  }

  /** The SQL gateway, when the cluster has one (known once `start` picked its ports). */
  get gateway(): LocalGateway | undefined {
    return this.gatewayState === undefined ? undefined : describeGateway(this.gatewayState);
  }

  /**
   * Starts one more gateway on free ports in front of the running nodes, with flags and
   * environment of its own (the benchmarks compare gateways that differ in one setting
   * on one cluster); `stop` of the cluster stops it too.
   */
  async addGateway(options: ExtraGatewayOptions): Promise<ExtraGateway> {
    if (!this.states.some((s) => s.process !== undefined)) {
      throw new LocalClusterError('start the cluster before adding a gateway');
    }
    const dataDir = path.join(this.dataDir, `gateway-${options.name}`);
    const spec = await this.pickGatewayPorts(this.states.map((s) => s.spec), options, 'free');
    const state: GatewayState = { spec, dataDir, logFile: path.join(dataDir, 'cairn-gateway.log'), process: undefined };
    this.extraGatewayStates.push(state);
    this.launchGateway(state, gatewayEntry(), options);
    await this.waitForGateway(state, Date.now() + (this.options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS), () => undefined);
    return {
      ...describeGateway(state),
      stop: async () => {
        const running = state.process;
        return running === undefined ? undefined : { ...(await this.stopProcess(running, `the SQL gateway ${options.name}`)) };
      },
    };
  }

  /** Every node's gRPC address (what a KV client connects to). */
  get addresses(): string[] {
    return this.states.map((s) => s.spec.address);
  }

  node(index: number): LocalNode {
    const found = this.nodes.find((n) => n.index === index);
    if (found === undefined) {
      throw new LocalClusterError(`no node ${index}: the cluster has nodes 1..${this.states.length}`);
    }
    return found;
  }

  /**
   * Starts every node, bootstraps a new cluster, and returns once every node serves
   * (`/readyz`) and the gateway, if any, takes connections. On failure, stops what it
   * started and throws with the tail of the failing process's log.
   */
  async start(): Promise<void> {
    if (this.states.some((s) => s.process !== undefined) || this.gatewayState?.process !== undefined) {
      throw new LocalClusterError('the cluster is already running');
    }
    const entry = nodeEntry();
    if (!fs.existsSync(entry)) {
      throw new LocalClusterError(`no cairn-node at ${entry}${entry.endsWith('.js') ? ' (run npm run build)' : ''}`);
    }
    const deadline = Date.now() + (this.options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
    const stops = this.stops;
    const checkNotStopped = (): void => {
      if (this.stops !== stops) {
        throw new LocalClusterError('the cluster was stopped while it started');
      }
    };
    let file = await this.loadOrCreateClusterFile();
    this.states = file.nodes.map((spec) => {
      const dataDir = path.join(this.dataDir, `node${spec.index}`);
      return { spec, dataDir, logFile: path.join(dataDir, 'cairn-node.log'), nodeId: undefined, process: undefined };
    });
    this.gatewayState = undefined;
    if (this.options.gateway !== undefined) {
      const dataDir = path.join(this.dataDir, 'gateway');
      const spec = await this.pickGatewayPorts(file.nodes, this.options.gateway);
      this.gatewayState = { spec, dataDir, logFile: path.join(dataDir, 'cairn-gateway.log'), process: undefined };
    }
    const gatewayFile = gatewayEntry();
    if (this.gatewayState !== undefined && !fs.existsSync(gatewayFile)) {
      throw new LocalClusterError(`no cairn-gateway at ${gatewayFile}${gatewayFile.endsWith('.js') ? ' (run npm run build)' : ''}`);
    }
    await this.checkPortsFree();
    checkNotStopped();
    try {
      for (const state of this.states) {
        this.launch(state, entry);
      }
      this.log(`waiting for ${this.states.length} nodes to come up (logs in ${this.dataDir}/node*/cairn-node.log)`);
      await Promise.all(this.states.map((s) => this.waitFor(s, '/healthz', deadline)));
      checkNotStopped();
      if (!file.initialized) {
        await this.initialize(this.states[0] as NodeState, deadline, checkNotStopped);
        file = { ...file, initialized: true };
        writeClusterFile(this.dataDir, file);
      }
      checkNotStopped();
      await Promise.all(this.states.map((s) => this.waitFor(s, '/readyz', deadline)));
      checkNotStopped();
      await this.learnNodeIds(deadline, checkNotStopped);
      checkNotStopped();
      const gateway = this.gatewayState;
      if (gateway !== undefined) {
        this.launchGateway(gateway, gatewayFile);
        this.log(`waiting for the SQL gateway on ${gateway.spec.sqlAddress} (log in ${gateway.logFile})`);
        await this.waitForGateway(gateway, Date.now() + (this.options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS), checkNotStopped);
        checkNotStopped();
      }
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /**
   * Stops the gateway (if running) first, so that SQL sessions drain while the nodes
   * still serve; then SIGTERM to every node; SIGKILL to those still up after the stop
   * timeout.
   */
  async stop(): Promise<NodeExit[]> {
    this.stops++;
    const extras = this.extraGatewayStates.flatMap((g) => (g.process === undefined ? [] : [g.process]));
    this.extraGatewayStates = [];
    await Promise.all([this.stopGateway(), ...extras.map((running) => this.stopProcess(running, 'an added SQL gateway'))]);
    const exits = await Promise.all(
      this.states.filter((s) => s.process !== undefined).map((s) => this.stopNode(s)),
    );
    this.unhookExit();
    return exits;
  }

  /**
   * SIGTERM to the gateway (it drains its sessions) and SIGKILL after the stop timeout;
   * resolves with how it exited, or undefined when it was not running.
   */
  async stopGateway(): Promise<GatewayExit | undefined> {
    const running = this.gatewayState?.process;
    if (running === undefined) {
      return undefined;
    }
    const { code, signal, forced } = await this.stopProcess(running, 'the SQL gateway');
    return { code, signal, forced };
  }

  /** Sends `signal` to the gateway (SIGKILL by default); resolves once it exited. */
  async killGateway(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const running = this.gatewayState?.process;
    if (running !== undefined) {
      running.stopping = true;
      running.child.kill(signal);
      await running.exited;
    }
  }

  /**
   * Sends `signal` to node `index` and waits for it to exit, resolving with how it
   * exited; SIGSTOP and SIGCONT return at once (the process stays).
   */
  async kill(
    index: number,
    signal: NodeJS.Signals = 'SIGKILL',
  ): Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null } | undefined> {
    const state = this.state(index);
    const running = state.process;
    if (running === undefined) {
      return undefined;
    }
    if (signal === 'SIGSTOP' || signal === 'SIGCONT' || signal === 'SIGTSTP') {
      running.child.kill(signal);
      return undefined;
    }
    running.stopping = true;
    running.child.kill(signal);
    return running.exited;
  }

  /** Starts node `index` again on its data and ports; waits until it serves. */
  async restart(index: number, options: { readonly waitReady?: boolean } = {}): Promise<void> {
    const state = this.state(index);
    if (state.process !== undefined) {
      throw new LocalClusterError(`node ${index} is running (pid ${state.process.child.pid})`);
    }
    const deadline = Date.now() + (this.options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
    this.launch(state, nodeEntry());
    await this.waitFor(state, options.waitReady === false ? '/healthz' : '/readyz', deadline);
  }

  private state(index: number): NodeState {
    const state = this.states.find((s) => s.spec.index === index);
    if (state === undefined) {
      throw new LocalClusterError(`no node ${index}: the cluster has nodes 1..${this.states.length}`);
    }
    return state;
  }

  private log(message: string): void {
    this.options.log?.(message);
  }

  private async loadOrCreateClusterFile(): Promise<ClusterFile> {
    fs.mkdirSync(this.dataDir, { recursive: true });
    const recorded = readClusterFile(this.dataDir);
    if (recorded !== undefined) {
      if (this.options.nodes !== undefined && this.options.nodes !== recorded.nodes.length) {
        throw new LocalClusterError(
          `${this.dataDir} holds a cluster of ${recorded.nodes.length} nodes, not ${this.options.nodes}; ` +
            'use another data directory for a different cluster',
        );
      }
      return recorded;
    }
    const count = this.options.nodes ?? DEFAULT_NODE_COUNT;
    if (!Number.isInteger(count) || count < 1) {
      throw new LocalClusterError(`a cluster needs at least one node, not ${count}`);
    }
    let nodes: ClusterFileNode[];
    if (this.options.ports === 'free') {
      const ports = await freePorts(count * 2);
      nodes = Array.from({ length: count }, (_, i) => ({
        index: i + 1,
        address: `127.0.0.1:${ports[2 * i]}`,
        httpAddress: `127.0.0.1:${ports[2 * i + 1]}`,
      }));
    } else {
      nodes = fixedPortNodes(
        count,
        this.options.basePort ?? DEFAULT_BASE_PORT,
        this.options.httpBasePort ?? DEFAULT_HTTP_BASE_PORT,
      );
    }
    // Recorded before anything starts, so that a start cut short keeps its ports.
    const file: ClusterFile = { version: 1, initialized: false, nodes };
    writeClusterFile(this.dataDir, file);
    return file;
  }

  private async checkPortsFree(): Promise<void> {
    const wanted: (readonly [owner: string, address: string])[] = this.states.flatMap((state) => [
      [`node ${state.spec.index}'s gRPC port`, state.spec.address] as const,
      [`node ${state.spec.index}'s HTTP port`, state.spec.httpAddress] as const,
    ]);
    const gateway = this.gatewayState;
    if (gateway !== undefined) {
      wanted.push(['the SQL gateway\'s SQL port', gateway.spec.sqlAddress], ['the SQL gateway\'s HTTP port', gateway.spec.httpAddress]);
    }
    const owners = new Map<string, string>();
    for (const [owner, address] of wanted) {
      const other = owners.get(address);
      if (other !== undefined) {
        throw new LocalClusterError(`${address} would be both ${other} and ${owner}: choose another port`);
      }
      owners.set(address, owner);
    }
    for (const [owner, address] of wanted) {
      if (await portInUse(address)) {
        throw new LocalClusterError(
          `${address} (${owner}) is in use: is a cluster already running from ${this.dataDir}? ` +
            'Stop it, or use another data directory' +
            (gateway !== undefined && address === gateway.spec.sqlAddress ? ' or another SQL port (--sql-port)' : ''),
        );
      }
    }
  }

  /** The gateway's ports: as asked, else fixed (26257, HTTP after the nodes') or free ones. */
  private async pickGatewayPorts(
    nodes: readonly ClusterFileNode[],
    options: LocalGatewayOptions,
    ports: 'fixed' | 'free' = this.options.ports ?? 'fixed',
  ): Promise<GatewaySpec> {
    const taken = new Set(nodes.flatMap((n) => [n.address, n.httpAddress]).map((a) => splitHostPort(a).port));
    if (options.sqlPort !== undefined) {
      taken.add(options.sqlPort);
    }
    let sqlPort = options.sqlPort;
    let httpPort: number | undefined;
    if (ports === 'free') {
      // A port just freed by a node's pick could come back: pick again past those.
      for (let attempt = 0; attempt < 5 && (sqlPort === undefined || httpPort === undefined); attempt++) {
        for (const port of await freePorts(2)) {
          if (taken.has(port)) continue;
          taken.add(port);
          if (sqlPort === undefined) sqlPort = port;
          else httpPort ??= port;
        }
      }
    } else {
      sqlPort ??= DEFAULT_SQL_PORT;
      httpPort = (this.options.httpBasePort ?? DEFAULT_HTTP_BASE_PORT) + nodes.length;
    }
    if (sqlPort === undefined || httpPort === undefined) {
      throw new LocalClusterError('could not find free ports for the SQL gateway');
    }
    return { sqlAddress: `127.0.0.1:${sqlPort}`, httpAddress: `127.0.0.1:${httpPort}` };
  }

  private launch(state: NodeState, entry: string): void {
    fs.mkdirSync(state.dataDir, { recursive: true });
    const args = [
      ...childExecArgv(entry, process.execArgv, tsxLoaderUrl),
      ...SERVER_V8_FLAGS,
      ...profileFlags(process.env.CAIRN_NODE_PROFILE_DIR),
      entry,
      ...nodeFlags(state.spec, state.dataDir, this.states.map((s) => s.spec), this.options.localities?.[state.spec.index - 1]),
      ...(this.options.extraNodeArgs ?? []),
      ...splitFlags(process.env.CAIRN_NODE_ARGS),
    ];
    state.process = this.spawnLogged(args, state.logFile, 'node', (running, code, signal) => {
      if (state.process === running) {
        state.process = undefined;
      }
      if (!running.stopping) {
        const node = this.nodes.find((n) => n.index === state.spec.index) as LocalNode;
        this.options.onNodeExit?.(node, code, signal);
      }
    });
  }

  private launchGateway(state: GatewayState, entry: string, extra?: ExtraGatewayOptions): void {
    fs.mkdirSync(state.dataDir, { recursive: true });
    const args = [
      ...childExecArgv(entry, process.execArgv, tsxLoaderUrl),
      ...SERVER_V8_FLAGS,
      ...profileFlags(process.env.CAIRN_GATEWAY_PROFILE_DIR),
      entry,
      ...gatewayFlags(state.spec, this.states.map((s) => s.spec), (extra ?? this.options.gateway)?.workers),
      ...((extra ?? this.options.gateway)?.extraArgs ?? []),
      ...splitFlags(process.env.CAIRN_GATEWAY_ARGS),
    ];
    const env = extra?.env ?? {};
    state.process = this.spawnLogged(args, state.logFile, 'gateway', (running, code, signal) => {
      if (state.process === running) {
        state.process = undefined;
      }
      if (!running.stopping) {
        this.options.onGatewayExit?.(describeGateway(state), code, signal);
      }
    }, env);
  }

  /**
   * Runs `node args...` with stdout and stderr appended to `logFile`; `onExit` runs
   * once, when it exits or could not start, before `exited` resolves.
   */
  private spawnLogged(
    args: readonly string[],
    logFile: string,
    what: string,
    onExit: (running: RunningProcess, code: number | null, signal: NodeJS.Signals | null) => void,
    env: Readonly<Record<string, string | undefined>> = {},
  ): RunningProcess {
    const logFd = fs.openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, args, {
        stdio: ['ignore', logFd, logFd],
        detached: this.options.detached === true,
        env: withoutUndefined({ ...process.env, ...this.options.env, ...env }),
      });
    } finally {
      fs.closeSync(logFd);
    }
    const running: RunningProcess = {
      child,
      exit: undefined,
      stopping: false,
      exited: new Promise((resolve) => {
        let settled = false;
        const settle = (code: number | null, signal: NodeJS.Signals | null): void => {
          if (settled) {
            return;
          }
          settled = true;
          running.exit = { code, signal };
          onExit(running, code, signal);
          resolve({ code, signal });
        };
        child.once('exit', settle);
        child.once('error', (err) => {
          fs.appendFileSync(logFile, `cairn: could not start the ${what} process: ${err.message}\n`);
          settle(null, null);
        });
      }),
    };
    this.hookExit();
    return running;
  }

  /** Polls the gateway until `/readyz` answers 200 and its SQL port takes connections. */
  private async waitForGateway(state: GatewayState, deadline: number, checkNotStopped: () => void): Promise<void> {
    const running = state.process;
    let problem = 'did not answer';
    while (true) {
      if (running === undefined || running.exit !== undefined) {
        const exit = running?.exit;
        const how = exit === undefined ? 'is not running' : `exited (${exit.code ?? exit.signal ?? 'could not start'})`;
        throw new LocalClusterError(
          `the SQL gateway (${state.spec.sqlAddress}) ${how} before it served; last lines of ${state.logFile}:\n${logTail(state.logFile)}`,
        );
      }
      const ready = await httpStatus(state.spec.httpAddress, '/readyz');
      if (ready === 200 && (await tcpConnects(state.spec.sqlAddress))) {
        return;
      }
      problem = ready === 200 ? `is ready but ${state.spec.sqlAddress} refuses connections` : ready === undefined ? 'did not answer' : `answered ${ready}`;
      if (Date.now() > deadline) {
        throw new LocalClusterError(
          `the SQL gateway: http://${state.spec.httpAddress}/readyz ${problem} in time; ` +
            `last lines of ${state.logFile}:\n${logTail(state.logFile)}`,
        );
      }
      await sleep(POLL_INTERVAL_MS);
      checkNotStopped();
    }
  }

  /** Polls `urlPath` on the node's HTTP server until it answers 200. */
  private async waitFor(state: NodeState, urlPath: string, deadline: number): Promise<void> {
    const running = state.process;
    let last: number | undefined;
    while (true) {
      if (running === undefined || running.exit !== undefined) {
        const exit = running?.exit;
        const how = exit === undefined ? 'is not running' : `exited (${exit.code ?? exit.signal ?? 'could not start'})`;
        throw new LocalClusterError(
          `node ${state.spec.index} (${state.spec.address}) ${how} before ${urlPath} answered; ` +
            `last lines of ${state.logFile}:\n${logTail(state.logFile)}`,
        );
      }
      last = await httpStatus(state.spec.httpAddress, urlPath);
      if (last === 200) {
        return;
      }
      if (Date.now() > deadline) {
        throw new LocalClusterError(
          `node ${state.spec.index} (${state.spec.address}): http://${state.spec.httpAddress}${urlPath} ` +
            `${last === undefined ? 'did not answer' : `answered ${last}`} in time; ` +
            `last lines of ${state.logFile}:\n${logTail(state.logFile)}`,
        );
      }
      await sleep(POLL_INTERVAL_MS);
    }
  }

  /** Init on the first node; a node that already belongs to a cluster is fine. */
  private async initialize(first: NodeState, deadline: number, checkNotStopped: () => void): Promise<void> {
    const client = new AdminClient(first.spec.address, 5_000);
    try {
      while (true) {
        try {
          const response = await client.init();
          this.log(`initialized cluster ${response.clusterId} on node ${first.spec.index} (${first.spec.address})`);
          return;
        } catch (err) {
          if (isAlreadyInitialized(err)) {
            return;
          }
          if (!isUnavailable(err) || Date.now() > deadline || first.process === undefined) {
            throw new LocalClusterError(
              `Init on node ${first.spec.index} (${first.spec.address}) failed: ${(err as Error).message}; ` +
                `last lines of ${first.logFile}:\n${logTail(first.logFile)}`,
            );
          }
          await sleep(POLL_INTERVAL_MS);
          checkNotStopped();
        }
      }
    } finally {
      client.close();
    }
  }

  /** The cluster's node IDs, matched to our nodes by address. */
  private async learnNodeIds(deadline: number, checkNotStopped: () => void): Promise<void> {
    const first = this.states[0] as NodeState;
    const client = new AdminClient(first.spec.address, 5_000);
    try {
      while (true) {
        let problem: string;
        try {
          const status = await client.nodeStatus();
          const byAddress = new Map(status.nodes.map((n) => [n.descriptor?.address, Number(n.descriptor?.nodeId)]));
          for (const state of this.states) {
            state.nodeId = byAddress.get(state.spec.address);
          }
          const missing = this.states.filter((s) => s.nodeId === undefined).map((s) => s.spec.address);
          if (missing.length === 0) {
            return;
          }
          problem = `NodeStatus does not list ${missing.join(', ')}`;
        } catch (err) {
          problem = `NodeStatus failed: ${(err as Error).message}`;
        }
        if (Date.now() > deadline) {
          throw new LocalClusterError(`the nodes serve, but ${problem}`);
        }
        await sleep(POLL_INTERVAL_MS);
        checkNotStopped();
      }
    } finally {
      client.close();
    }
  }

  private async stopNode(state: NodeState): Promise<NodeExit> {
    const { code, signal, forced } = await this.stopProcess(state.process as RunningProcess, `node ${state.spec.index}`);
    return { index: state.spec.index, code, signal, forced };
  }

  /** SIGTERM, then SIGKILL after the stop timeout. */
  private async stopProcess(
    running: RunningProcess,
    name: string,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null; forced: boolean }> {
    running.stopping = true;
    running.child.kill('SIGTERM');
    // A paused process would keep the SIGTERM pending.
    running.child.kill('SIGCONT');
    let forced = false;
    const timer = setTimeout(() => {
      forced = true;
      this.log(`${name} still up ${this.options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS} ms after SIGTERM: SIGKILL`);
      running.child.kill('SIGKILL');
    }, this.options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS);
    const { code, signal } = await running.exited;
    clearTimeout(timer);
    return { code, signal, forced };
  }

  /** If the parent exits without stopping the cluster, its processes go with it. */
  private hookExit(): void {
    if (!this.hooked) {
      process.on('exit', this.exitHook);
      this.hooked = true;
    }
  }

  private unhookExit(): void {
    if (this.hooked) {
      process.off('exit', this.exitHook);
      this.hooked = false;
    }
  }

  private killAllNow(): void {
    for (const state of [...(this.gatewayState === undefined ? [] : [this.gatewayState]), ...this.extraGatewayStates, ...this.states]) {
      if (state.process !== undefined && state.process.exit === undefined) {
        state.process.child.kill('SIGKILL');
      }
    }
  }
}
