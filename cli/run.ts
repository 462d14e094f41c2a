/**
 * Runs a parsed command against a cluster: the admin service for `init`, `node status`
 * and `debug ranges`, the KV client for `kv ...`. Returns the exit status.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { Span } from '../common/tracing';
import { UserStore } from '../gateway/sql/users';
import { KvClient } from '../kv';
import { AdminClient, DEFAULT_ADMIN_TIMEOUT_MS, isAlreadyInitialized, isServiceError } from './admin-client';
import type { Command } from './args';
import { DEFAULT_DATA_DIR, DEFAULT_HOST, readClusterFile } from './cluster-file';
import type { Output, ScanRow } from './format';
import { displayBytes, formatDelete, formatGet, formatNodeStatus, formatPut, formatRanges, formatScan } from './format';
import { runStart } from './start';

const KV_REQUEST_TIMEOUT_MS = 10_000;

/** --host's addresses, else those of the cluster in ./cairn-data, else 127.0.0.1:26258. */
export function resolveHosts(hosts: readonly string[] | undefined, cwd: string): readonly string[] {
  if (hosts !== undefined) {
    return hosts;
  }
  const local = readClusterFile(path.join(cwd, DEFAULT_DATA_DIR));
  return local === undefined ? [DEFAULT_HOST] : local.nodes.map((n) => n.address);
}

/** An error as one line for stderr, with a hint where one helps. */
export function describeError(err: unknown, hosts: readonly string[]): string {
  let message: string;
  if (isServiceError(err)) {
    const details = err.details === '' ? err.message : err.details;
    switch (err.code) {
      case grpc.status.UNAVAILABLE:
        message = `cannot reach ${hosts.join(',')} (${details}); is the cluster running? ('cairn start' runs one)`;
        break;
      case grpc.status.DEADLINE_EXCEEDED:
        message = `${hosts.join(',')} did not answer in time (${details})`;
        break;
      case grpc.status.ALREADY_EXISTS:
        message = `the cluster is already initialized (${details})`;
        break;
      case grpc.status.UNIMPLEMENTED:
        message = `${hosts.join(',')} does not serve this call (${details}); is it a cairn-node?`;
        break;
      default:
        message = `${grpc.status[err.code] ?? err.code}: ${details}`;
    }
  } else if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    message = typeof code === 'string' && /^[A-Z_]+$/.test(code) ? `${code}: ${err.message}` : err.message;
    if (code === 'UNAVAILABLE') {
      message += `; is the cluster running? ('cairn start' runs one)`;
    }
  } else {
    message = String(err);
  }
  // grpc-js ends its connection errors with an empty "Resolution note: ".
  return message.replace(/\.?\s*Resolution note:\s*(?=\)|;|$)/g, '').replace(/\s*\n\s*/g, ' ');
}

async function withAdmin<T>(hosts: readonly string[], trace: Span | undefined, use: (client: AdminClient) => Promise<T>): Promise<T> {
  const client = new AdminClient(hosts[0] as string, DEFAULT_ADMIN_TIMEOUT_MS, trace);
  try {
    return await use(client);
  } finally {
    client.close();
  }
}

async function withKv<T>(hosts: readonly string[], trace: Span | undefined, use: (client: KvClient) => Promise<T>): Promise<T> {
  const client = await KvClient.connect({ addresses: hosts, requestTimeoutMs: KV_REQUEST_TIMEOUT_MS, ...(trace === undefined ? {} : { trace }) });
  try {
    return await use(client);
  } finally {
    await client.close();
  }
}

/** Up to `limit` rows of [start, end), following the client's resume spans. */
async function scanAll(
  client: KvClient,
  start: Buffer,
  end: Buffer,
  limit: number,
): Promise<{ rows: ScanRow[]; more: boolean }> {
  const rows: ScanRow[] = [];
  let from = start;
  while (true) {
    const page = await client.scan(from, end, { maxKeys: limit - rows.length });
    rows.push(...page.rows);
    const resume = page.resumeSpan;
    if (resume === undefined) {
      return { rows, more: false };
    }
    if (rows.length >= limit) {
      return { rows, more: true };
    }
    if (page.rows.length === 0 && Buffer.compare(resume.startKey, from) <= 0) {
      throw new Error(`the scan made no progress at ${from.toString('hex')}`);
    }
    from = resume.startKey;
  }
}

const MAX_PASSWORD_LENGTH = 1024;

/** A password file's first line (a trailing newline is not part of it). */
function readPasswordFile(file: string): string {
  const password = fs.readFileSync(file, 'utf8').split(/\r?\n/, 1)[0] ?? '';
  if (password === '') throw new Error(`${file} holds no password (its first line is empty)`);
  if (password.length > MAX_PASSWORD_LENGTH) throw new Error(`the password in ${file} is longer than ${MAX_PASSWORD_LENGTH} characters`);
  return password;
}

export interface Io {
  readonly cwd: string;
  out(text: string): void;
  err(text: string): void;
  /** The command's span: admin calls carry its trace context to the nodes. */
  readonly trace?: Span;
}

async function runRemote(command: Exclude<Command, { kind: 'help' | 'start' }>, hosts: readonly string[], io: Io): Promise<Output> {
  switch (command.kind) {
    case 'init': {
      // Read before initialising: a bad file leaves the node as it was.
      const rootPassword = command.rootPasswordFile === undefined ? undefined : readPasswordFile(path.resolve(io.cwd, command.rootPasswordFile));
      return withAdmin(hosts, io.trace, async (admin) => {
        try {
          const response = await admin.init();
          if (command.clusterIdFile !== undefined) {
            // The cluster exists from here on: a failed write must not read as a failed init.
            try {
              fs.writeFileSync(path.resolve(io.cwd, command.clusterIdFile), response.clusterId);
            } catch (err) {
              io.err(`cairn: initialized cluster ${response.clusterId}, but could not write it to ${command.clusterIdFile}: ${(err as Error).message}`);
            }
          }
          if (rootPassword !== undefined) {
            try {
              await withKv(hosts, io.trace, (kv) => kv.txn((txn) => new UserStore(kv).setRootPassword(txn, rootPassword)));
            } catch (err) {
              io.err(
                `cairn: initialized cluster ${response.clusterId}, but could not give root its password: ${describeError(err, hosts)} ` +
                  '(ALTER USER root WITH PASSWORD through a gateway with --auth trust sets it)',
              );
              return { text: '', exitCode: 1 };
            }
          }
          return { text: `initialized cluster ${response.clusterId} (this is node ${response.nodeId})`, exitCode: 0 };
        } catch (err) {
          if (isAlreadyInitialized(err)) {
            io.err(`cairn: ${hosts[0]} already belongs to an initialized cluster`);
            return { text: '', exitCode: 1 };
          }
          throw err;
        }
      });
    }
    case 'node-status':
      return withAdmin(hosts, io.trace, async (admin) => ({ text: formatNodeStatus(await admin.nodeStatus(), command.format), exitCode: 0 }));
    case 'debug-ranges':
      return withAdmin(hosts, io.trace, async (admin) => ({ text: formatRanges(await admin.ranges(), command.format), exitCode: 0 }));
    case 'kv-get':
      return withKv(hosts, io.trace, async (kv) => {
        const value = await kv.get(command.key);
        if (value === undefined) {
          io.err(`cairn: key '${displayBytes(command.key)}' not found`);
        }
        return formatGet(command.key, value, command.format);
      });
    case 'kv-put':
      return withKv(hosts, io.trace, async (kv) => {
        await kv.put(command.key, command.value);
        return formatPut(command.key, command.format);
      });
    case 'kv-del':
      return withKv(hosts, io.trace, async (kv) => formatDelete(command.key, await kv.delete(command.key), command.format));
    case 'kv-scan':
      return withKv(hosts, io.trace, async (kv) => {
        const { rows, more } = await scanAll(kv, command.start, command.end, command.limit);
        return formatScan(rows, more, command.format);
      });
  }
}

export async function runCommand(command: Command, io: Io): Promise<number> {
  switch (command.kind) {
    case 'help':
      io.out(command.text);
      return 0;
    case 'start':
      return runStart(command, io);
    default: {
      let hosts: readonly string[] = command.hosts ?? [];
      try {
        hosts = resolveHosts(command.hosts, io.cwd);
        const output = await runRemote(command, hosts, io);
        if (output.text !== '') {
          io.out(output.text);
        }
        return output.exitCode;
      } catch (err) {
        io.err(`cairn: ${describeError(err, hosts)}`);
        return 1;
      }
    }
  }
}

