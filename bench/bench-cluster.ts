/**
 * The benchmarks' Cairn cluster: three local cairn-node processes on loopback in a
 * temporary folder (and a cairn-gateway process when asked), every range replicated
 * three ways before the load starts, the benchmark's keys split into ranges with their
 * leases spread, and everything stopped and removed afterwards.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LocalGatewayOptions } from '../cli';
import { AdminClient, LocalCluster } from '../cli';
import { metricTotal } from '../common/metrics';
import { KvClient, UnavailableError } from '../kv';
import { ReplicaType } from '../proto/gen/cairn/kv/v1/kv';
import { progress } from './report';

const REPLICATION_TIMEOUT_MS = 120_000;

export interface BenchClusterOptions {
  /** Also run a cairn-gateway process (as deployed: a process of its own). */
  readonly gateway?: LocalGatewayOptions;
  /** More environment for the nodes and the gateway (OTEL_* for the tracing figures). */
  readonly env?: Readonly<Record<string, string>>;
}

/** Starts the cluster, waits for three-way replication, runs `fn`, stops and cleans up. */
export async function withLocalCluster<T>(
  bench: string,
  fn: (cluster: LocalCluster) => Promise<T>,
  options: BenchClusterOptions = {},
): Promise<T> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `cairn-bench-${bench}-`));
  const cluster = new LocalCluster({
    dataDir,
    nodes: 3,
    ports: 'free',
    log: (m) => progress(`${bench}: cairn: ${m}`),
    ...(options.gateway === undefined ? {} : { gateway: options.gateway }),
    ...(options.env === undefined ? {} : { env: options.env }),
    onGatewayExit: (_gateway, code, signal) => progress(`${bench}: cairn: the gateway exited unexpectedly (${code ?? signal})`),
  });
  try {
    progress(`${bench}: cairn: starting 3 nodes${options.gateway === undefined ? '' : ' and a gateway'} in ${dataDir}`);
    await cluster.start();
    await waitForReplication(cluster.addresses[0] as string, REPLICATION_TIMEOUT_MS);
    return await fn(cluster);
  } finally {
    const gatewayLog = cluster.gateway?.logFile;
    await cluster.stop();
    summariseLogs(bench, [
      ...cluster.nodes.map((n) => ({ name: `node ${n.index}`, file: n.logFile })),
      ...(gatewayLog === undefined ? [] : [{ name: 'gateway', file: gatewayLog }]),
    ]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

const WARN_LEVEL = 40;
const MAX_LOG_BYTES = 256 * 1024 * 1024;

/**
 * Prints what the processes warned about during the benchmark (pino lines at warn level
 * or above, counted by message), since their logs go with the temporary folder.
 */
function summariseLogs(bench: string, logs: readonly { readonly name: string; readonly file: string }[]): void {
  const counts = new Map<string, number>();
  for (const { name, file } of logs) {
    let text: string;
    try {
      if (fs.statSync(file).size > MAX_LOG_BYTES) {
        progress(`${bench}: cairn: ${name}'s log is over ${MAX_LOG_BYTES} bytes; not read`);
        continue;
      }
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      let entry: { level?: number; msg?: string; err?: { code?: string; message?: string } };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        continue;
      }
      if ((entry.level ?? 0) < WARN_LEVEL) continue;
      const detail = entry.err?.code ?? entry.err?.message?.slice(0, 100);
      const key = `${name}: ${entry.msg ?? '?'}${detail === undefined ? '' : ` (${detail})`}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  if (counts.size === 0) return;
  progress(`${bench}: cairn: warnings and errors in the logs:`);
  for (const [key, n] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
    progress(`${bench}: cairn:   ${n}× ${key}`);
  }
}

/** Waits until every range has three voters and a leaseholder. */
export async function waitForReplication(address: string, timeoutMs: number): Promise<void> {
  const admin = new AdminClient(address);
  const deadline = Date.now() + timeoutMs;
  let last = '';
  try {
    while (Date.now() < deadline) {
      try {
        const { ranges } = await admin.ranges();
        const under = ranges.filter(
          (r) =>
            r.leaseholderNodeId === 0n ||
            (r.descriptor?.replicas.filter((rep) => rep.type === ReplicaType.REPLICA_TYPE_VOTER).length ?? 0) < 3,
        );
        if (ranges.length > 0 && under.length === 0) {
          return;
        }
        last = `${under.length} of ${ranges.length} ranges without three voters and a lease`;
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(500);
    }
  } finally {
    admin.close();
  }
  throw new Error(`the cluster did not replicate every range three ways in ${timeoutMs} ms: ${last}`);
}

/** A benchmark's keys: [start, end), to be cut at `splitKeys`. */
export interface KeySplits {
  readonly start: Buffer;
  readonly end: Buffer;
  readonly splitKeys: readonly Buffer[];
}

/**
 * Splits each span at its split keys (as CockroachDB's `kv --splits` does) and spreads
 * the leases of each span's ranges over the nodes, so the leaseholders' work is spread
 * over the cluster. The nodes balance lease counts by themselves, but over all ranges:
 * a span's few ranges can stay on one node, so their leases are placed here, round
 * robin. Failing to place them is only reported: the figures are still real, less even.
 */
export async function splitKeyspaces(
  bench: string,
  addresses: readonly string[],
  spans: readonly KeySplits[],
  timeoutMs: number,
): Promise<void> {
  if (spans.every((s) => s.splitKeys.length === 0)) return;
  const kv = await KvClient.connect({ addresses });
  const admin = new AdminClient(addresses[0] as string);
  try {
    for (const span of spans) {
      for (const key of span.splitKeys) {
        await splitAt(kv, admin, key, (m) => progress(`${bench}: cairn: ${m}`));
      }
    }
    const nodeIds = (await kv.clusterInfo()).nodes.map((n) => Number(n.nodeId)).sort((a, b) => a - b);
    const deadline = Date.now() + timeoutMs;
    let holders: SpanLeases[] = [];
    while (Date.now() < deadline) {
      holders = await spanLeases(admin, spans);
      const unheld = holders.some((h) => h.some((r) => r.leaseholder === 0));
      if (!unheld && holders.every((h) => isSpread(h, nodeIds.length))) {
        progress(`${bench}: cairn: leases of the ranges, by span: ${describeLeases(holders)}`);
        return;
      }
      if (!unheld) {
        for (const h of holders) {
          await placeLeases(kv, h, nodeIds, (m) => progress(`${bench}: cairn: ${m}`));
        }
      }
      await sleep(1_000);
    }
    progress(`${bench}: cairn: leases not spread after ${timeoutMs} ms (${describeLeases(holders)}); going on`);
  } finally {
    admin.close();
    await kv.close();
  }
}

const SPLIT_ATTEMPTS = 3;

/**
 * Splits at `key`, trying again after a failure that may be passing (a timeout while
 * the cluster is busy); a failed attempt may still have split, so each retry first
 * looks whether a range starts at `key` already.
 */
async function splitAt(kv: KvClient, admin: AdminClient, key: Buffer, log: (m: string) => void): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await kv.adminSplit(key);
      return;
    } catch (err) {
      if (!(err instanceof UnavailableError) || attempt >= SPLIT_ATTEMPTS) throw err;
      log(`splitting at ${key.toString()} failed (attempt ${attempt}): ${err.code}: ${err.message}; trying again`);
      await sleep(1_000);
      const { ranges } = await admin.ranges();
      if (ranges.some((r) => r.descriptor !== undefined && r.descriptor.startKey.equals(key))) return;
    }
  }
}

/** A span's ranges in key order: a key inside each, and its leaseholder (0: none). */
type SpanLeases = { readonly key: Buffer; readonly leaseholder: number }[];

async function spanLeases(admin: AdminClient, spans: readonly KeySplits[]): Promise<SpanLeases[]> {
  const { ranges } = await admin.ranges();
  return spans.map((span) =>
    ranges
      .filter(
        (r) =>
          Buffer.compare(r.descriptor?.endKey ?? Buffer.alloc(0), span.start) > 0 &&
          Buffer.compare(r.descriptor?.startKey ?? Buffer.alloc(0), span.end) < 0,
      )
      .map((r) => {
        const start = r.descriptor?.startKey ?? Buffer.alloc(0);
        return { key: Buffer.compare(start, span.start) > 0 ? start : span.start, leaseholder: Number(r.leaseholderNodeId) };
      })
      .sort((a, b) => Buffer.compare(a.key, b.key)),
  );
}

function isSpread(leases: SpanLeases, nodes: number): boolean {
  return new Set(leases.map((r) => r.leaseholder)).size >= Math.min(leases.length, nodes);
}

function describeLeases(holders: readonly SpanLeases[]): string {
  return holders.map((h) => `[${h.map((r) => r.leaseholder).join(', ')}]`).join(' ');
}

/**
 * Moves leases so that the span's ranges are held round robin by the nodes, starting
 * where the fewest moves are needed.
 */
async function placeLeases(kv: KvClient, leases: SpanLeases, nodeIds: readonly number[], log: (m: string) => void): Promise<void> {
  if (isSpread(leases, nodeIds.length)) return;
  let best: number[] = [];
  let bestMoves = Infinity;
  for (let offset = 0; offset < nodeIds.length; offset++) {
    const targets = leases.map((_, i) => nodeIds[(offset + i) % nodeIds.length] as number);
    const moves = targets.filter((t, i) => t !== leases[i]?.leaseholder).length;
    if (moves < bestMoves) {
      best = targets;
      bestMoves = moves;
    }
  }
  for (const [i, range] of leases.entries()) {
    const target = best[i] as number;
    if (target === range.leaseholder) continue;
    try {
      await kv.adminTransferLease(range.key, target);
    } catch (err) {
      log(`moving the lease of the range at ${range.key.toString()} to node ${target} failed: ${(err as Error).message}`);
    }
  }
}

/** Resident memory of a process, from /proc. */
export function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (match === null) {
    throw new Error(`no VmRSS for process ${pid}`);
  }
  return Number(match[1]) * 1024;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** RocksDB's background work summed over nodes: debt owed, and flushes and compactions running. */
export interface StorageBacklog {
  readonly pendingCompactionBytes: number;
  readonly running: number;
}

/** What the nodes' storage engines owe and run now, from their /metrics. */
export async function storageBacklog(httpAddresses: readonly string[]): Promise<StorageBacklog> {
  let pendingCompactionBytes = 0;
  let running = 0;
  for (const address of httpAddresses) {
    const text = await (await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
    pendingCompactionBytes += metricTotal(text, 'cairn_storage_pending_compaction_bytes');
    running += metricTotal(text, 'cairn_storage_running_compactions') + metricTotal(text, 'cairn_storage_running_flushes');
  }
  return { pendingCompactionBytes, running };
}

const QUIET_POLL_MS = 500;
const QUIET_PROGRESS_MS = 10_000;

/**
 * Waits until no node owes compaction or runs a flush or compaction, at most
 * `timeoutMs`: an operation measured next then pays for the compaction of its own
 * writes, not for that of the preload or of the operation before it. Returns how long
 * it waited and what was left.
 */
export async function waitForQuietStorage(
  label: string,
  httpAddresses: readonly string[],
  timeoutMs: number,
): Promise<{ readonly waitedMs: number; readonly left: StorageBacklog }> {
  const started = Date.now();
  let lastProgress = started;
  for (;;) {
    const left = await storageBacklog(httpAddresses);
    const waitedMs = Date.now() - started;
    if ((left.pendingCompactionBytes === 0 && left.running === 0) || waitedMs >= timeoutMs) return { waitedMs, left };
    if (Date.now() - lastProgress >= QUIET_PROGRESS_MS) {
      lastProgress = Date.now();
      progress(`${label}: waiting for compactions: ${mib(left.pendingCompactionBytes)} MiB owed, ${left.running} running, ${Math.round(waitedMs / 1000)} s so far`);
    }
    await sleep(QUIET_POLL_MS);
  }
}

function mib(bytes: number): number {
  return Math.round(bytes / (1024 * 1024));
}
