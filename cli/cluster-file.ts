/**
 * `<dataDir>/cluster.json`: what a local cluster looks like, so that a restart reuses
 * the same ports (a node's address is stored in the cluster's node descriptors) and
 * the CLI's other commands find a node to talk to.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const CLUSTER_FILE_NAME = 'cluster.json';
export const CLUSTER_FILE_VERSION = 1;

/** The gRPC port of node 1 with fixed ports; node k listens on 26257 + k. */
export const DEFAULT_BASE_PORT = 26258;
/** The HTTP port of node 1 with fixed ports; node k serves on 8079 + k. */
export const DEFAULT_HTTP_BASE_PORT = 8080;
export const DEFAULT_HOST = `127.0.0.1:${DEFAULT_BASE_PORT}`;
export const DEFAULT_DATA_DIR = 'cairn-data';

export interface ClusterFileNode {
  /** 1-based; the node's data lives in `node<index>`. */
  readonly index: number;
  /** host:port of its gRPC server (KV, admin, Raft). */
  readonly address: string;
  /** host:port of its HTTP server (/metrics, /healthz, /readyz). */
  readonly httpAddress: string;
}

export interface ClusterFile {
  readonly version: number;
  /** Set once node 1 accepted Init (or said the cluster already was). */
  readonly initialized: boolean;
  readonly nodes: readonly ClusterFileNode[];
}

export function clusterFilePath(dataDir: string): string {
  return path.join(dataDir, CLUSTER_FILE_NAME);
}

function isAddress(value: unknown): value is string {
  return typeof value === 'string' && /^[^\s:]+:\d{1,5}$/.test(value);
}

/** Parses and checks a cluster file's text; throws an Error naming what is wrong. */
export function parseClusterFile(text: string, source = CLUSTER_FILE_NAME): ClusterFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source} is not JSON: ${(err as Error).message}`);
  }
  const bad = (what: string): Error => new Error(`${source}: ${what}`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw bad('expected an object');
  }
  const record = raw as Record<string, unknown>;
  if (record.version !== CLUSTER_FILE_VERSION) {
    throw bad(`unsupported version ${JSON.stringify(record.version)} (expected ${CLUSTER_FILE_VERSION})`);
  }
  if (typeof record.initialized !== 'boolean') {
    throw bad('"initialized" must be true or false');
  }
  if (!Array.isArray(record.nodes) || record.nodes.length === 0) {
    throw bad('"nodes" must be a non-empty array');
  }
  const nodes = record.nodes.map((entry: unknown, i): ClusterFileNode => {
    const node = entry as Record<string, unknown> | null;
    if (typeof node !== 'object' || node === null) {
      throw bad(`nodes[${i}] must be an object`);
    }
    if (node.index !== i + 1) {
      throw bad(`nodes[${i}].index must be ${i + 1}`);
    }
    if (!isAddress(node.address) || !isAddress(node.httpAddress)) {
      throw bad(`nodes[${i}] needs "address" and "httpAddress" as host:port`);
    }
    return { index: i + 1, address: node.address, httpAddress: node.httpAddress };
  });
  return { version: CLUSTER_FILE_VERSION, initialized: record.initialized, nodes };
}

export function serializeClusterFile(file: ClusterFile): string {
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** The cluster file of `dataDir`, or undefined when there is none. */
export function readClusterFile(dataDir: string): ClusterFile | undefined {
  const file = clusterFilePath(dataDir);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw err;
  }
  return parseClusterFile(text, file);
}

/** Writes the file whole or not at all (write a temporary file, then rename). */
export function writeClusterFile(dataDir: string, file: ClusterFile): void {
  const target = clusterFilePath(dataDir);
  const temporary = `${target}.tmp-${process.pid}`;
  fs.writeFileSync(temporary, serializeClusterFile(file));
  fs.renameSync(temporary, target);
}

/** Fixed ports: node k (1-based) on base + k - 1. */
export function fixedPortNodes(count: number, basePort: number, httpBasePort: number): ClusterFileNode[] {
  return Array.from({ length: count }, (_, i) => ({
    index: i + 1,
    address: `127.0.0.1:${basePort + i}`,
    httpAddress: `127.0.0.1:${httpBasePort + i}`,
  }));
}
