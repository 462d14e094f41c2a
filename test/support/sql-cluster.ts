/**
 * A SQL cluster for integration tests: N real cairn-node processes (test-cluster.ts) and
 * one GatewayServer in this process on a free loopback port, with trust authentication
 * (user `root`, no password). `client()` connects node-postgres to `defaultdb`;
 * `stop()` ends those clients, stops the gateway, the nodes, and removes the data, so
 * that nothing is left running. Gateway logs are silent unless CAIRN_LOG_LEVEL is set.
 */
import { Client } from 'pg';
import type { ClientConfig } from 'pg';
import { createLogger } from '../../common/logging';
import { createRegistry } from '../../common/metrics';
import type { GatewayServerOptions } from '../../gateway/server';
import { GatewayServer } from '../../gateway/server';
import type { TestCluster } from './test-cluster';
import { startTestCluster, stopTestCluster } from './test-cluster';

export interface SqlClusterOptions {
  /** Storage nodes (default 1). */
  readonly nodes?: number;
  readonly extraNodeArgs?: readonly string[];
  /** Gateway options beyond the defaults (trust auth on 127.0.0.1:0, status server on 127.0.0.1:0). */
  readonly gateway?: Partial<Pick<GatewayServerOptions, 'maxConnections' | 'drainMs' | 'createEngine' | 'registry' | 'log' | 'slowStatementMs'>>;
}

export interface SqlClientOptions {
  readonly user?: string;
  readonly database?: string;
  readonly applicationName?: string;
}

export interface SqlCluster {
  /** `postgresql://root@127.0.0.1:<port>/defaultdb?sslmode=disable` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** host:port of the gateway's /metrics, /healthz and /readyz. */
  readonly httpAddress: string;
  readonly gateway: GatewayServer;
  /** The nodes, with a KV client and an admin client of their own. */
  readonly nodes: TestCluster;
  /** A connected node-postgres client (root on defaultdb unless told otherwise). */
  client(options?: SqlClientOptions): Promise<Client>;
  stop(): Promise<void>;
}

const CLIENT_END_TIMEOUT_MS = 5_000;
const HOST = '127.0.0.1';

export function sqlUrl(host: string, port: number, user = 'root', database = 'defaultdb'): string {
  return `postgresql://${encodeURIComponent(user)}@${host}:${port}/${encodeURIComponent(database)}?sslmode=disable`;
}

async function endClient(client: Client): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.end().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLIENT_END_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
}

export async function startSqlCluster(name: string, options: SqlClusterOptions = {}): Promise<SqlCluster> {
  const nodes = await startTestCluster(name, {
    nodes: options.nodes ?? 1,
    ...(options.extraNodeArgs === undefined ? {} : { extraNodeArgs: options.extraNodeArgs }),
  });
  const gateway = new GatewayServer({
    join: nodes.cluster.addresses,
    listen: { host: HOST, port: 0 },
    http: { host: HOST, port: 0 },
    auth: 'trust',
    registry: options.gateway?.registry ?? createRegistry({ process: 'cairn-gateway' }),
    log: options.gateway?.log ?? createLogger({ name: `cairn-gateway-${name}`, fd: 2, level: 'silent' }),
    ...(options.gateway?.slowStatementMs === undefined ? {} : { slowStatementMs: options.gateway.slowStatementMs }),
    ...(options.gateway?.maxConnections === undefined ? {} : { maxConnections: options.gateway.maxConnections }),
    ...(options.gateway?.drainMs === undefined ? {} : { drainMs: options.gateway.drainMs }),
    ...(options.gateway?.createEngine === undefined ? {} : { createEngine: options.gateway.createEngine }),
  });
  try {
    await gateway.start();
  } catch (err) {
    await gateway.stop().catch(() => undefined);
    await stopTestCluster(nodes);
    throw err;
  }
  const port = gateway.sqlAddress.port;
  const clients = new Set<Client>();
  let stopped: Promise<void> | undefined;

  const client = async (clientOptions: SqlClientOptions = {}): Promise<Client> => {
    const config: ClientConfig = {
      host: HOST,
      port,
      user: clientOptions.user ?? 'root',
      database: clientOptions.database ?? 'defaultdb',
      ...(clientOptions.applicationName === undefined ? {} : { application_name: clientOptions.applicationName }),
    };
    const c = new Client(config);
    // An idle client hears of a server shutdown (57P01) through 'error'; without a
    // listener that would be an uncaught exception. Its next query fails anyway.
    c.on('error', () => undefined);
    await c.connect();
    clients.add(c);
    c.once('end', () => clients.delete(c));
    return c;
  };

  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await Promise.all([...clients].map(endClient));
      try {
        await gateway.stop();
      } finally {
        await stopTestCluster(nodes);
      }
    })();
    return stopped;
  };

  return { url: sqlUrl(HOST, port), host: HOST, port, httpAddress: gateway.httpAddress, gateway, nodes, client, stop };
}

/**
 * One more gateway over the cluster's nodes (trust auth, loopback, silent logs), for
 * tests of several gateways sharing a catalog. The caller stops it.
 */
export async function startExtraGateway(cluster: SqlCluster, name: string): Promise<GatewayServer> {
  const gateway = new GatewayServer({
    join: cluster.nodes.cluster.addresses,
    listen: { host: HOST, port: 0 },
    http: { host: HOST, port: 0 },
    auth: 'trust',
    registry: createRegistry({ process: 'cairn-gateway' }),
    log: createLogger({ name: `cairn-gateway-${name}`, fd: 2, level: 'silent' }),
  });
  await gateway.start();
  return gateway;
}
