/**
 * Which server the runner talks to. With `--url` it is that server; without, a local
 * Cairn cluster (one node and a gateway on free loopback ports, temporary data) started
 * for the run and stopped after it.
 */
import type { ClientConfig } from 'pg';
import { startSqlCluster } from '../../support/sql-cluster';

export interface SltServer {
  /** Where files' databases are created (the user needs CREATE DATABASE). */
  readonly admin: ClientConfig;
  /** For the report, e.g. `postgres@127.0.0.1:5432/postgres`. */
  readonly description: string;
  stop(): Promise<void>;
}

export class ServerUnavailableError extends Error {
  override readonly name = 'ServerUnavailableError';
}

export async function acquireServer(url: string | undefined): Promise<SltServer> {
  if (url === undefined) {
    const cluster = await startSqlCluster('sqllogictest', { nodes: 1 });
    const admin = clientConfigFromUrl(cluster.url);
    return { admin, description: `local Cairn cluster at ${cluster.host}:${cluster.port}`, stop: () => cluster.stop() };
  }
  const admin = clientConfigFromUrl(url);
  return {
    admin,
    description: `${admin.user ?? ''}@${admin.host ?? ''}:${admin.port ?? ''}/${admin.database ?? ''}`,
    stop: async () => undefined,
  };
}

/**
 * `postgres://user[:password]@host[:port][/database][?host=/socket/dir&sslmode=...]` as
 * explicit client fields (a `connectionString` would override the per-file database).
 * Defaults: port 5432, database `postgres`, user `postgres`.
 */
export function clientConfigFromUrl(url: string): ClientConfig {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ServerUnavailableError(`not a URL: ${url}`);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new ServerUnavailableError(`expected a postgres:// URL, got ${url}`);
  }
  const socketDir = parsed.searchParams.get('host');
  const host = socketDir ?? (parsed.hostname === '' ? '127.0.0.1' : parsed.hostname.replace(/^\[(.*)\]$/, '$1'));
  const port = parsed.port === '' ? 5432 : Number(parsed.port);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || 'postgres';
  const user = decodeURIComponent(parsed.username) || 'postgres';
  const sslmode = parsed.searchParams.get('sslmode');
  const config: ClientConfig = { host, port, database, user };
  if (parsed.password !== '') config.password = decodeURIComponent(parsed.password);
  if (sslmode === 'require') config.ssl = { rejectUnauthorized: false };
  else if (sslmode === 'verify-full' || sslmode === 'verify-ca') config.ssl = true;
  return config;
}
