import * as http from 'node:http';
import * as client from 'prom-client';

export { client as prometheus };
export { metricTotal } from './exposition';

/** A metrics registry with the process's default metrics (CPU, memory, event loop lag). */
export function createRegistry(defaultLabels: Record<string, string> = {}): client.Registry {
  const registry = new client.Registry();
  registry.setDefaultLabels(defaultLabels);
  client.collectDefaultMetrics({ register: registry });
  return registry;
}

export interface StatusServerOptions {
  /** `host:port`; port 0 picks one. */
  readonly address: string;
  /** What `/metrics` shows: a registry, or one that gathers several processes' (a cluster's). */
  readonly registry: { metrics(): Promise<string>; readonly contentType: string };
  /** Whether the process serves traffic now (`/readyz`); `/healthz` only says it runs. */
  readonly ready: () => boolean;
}

export interface StatusServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves `/metrics` (Prometheus text format), `/healthz` and `/readyz` over HTTP. */
export async function startStatusServer(options: StatusServerOptions): Promise<StatusServer> {
  const server = http.createServer((request, response) => {
    const url = request.url ?? '/';
    if (request.method !== 'GET') {
      response.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (url === '/metrics') {
      options.registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
        (err: unknown) => response.writeHead(500).end(String(err)),
      );
    } else if (url === '/healthz') {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (url === '/readyz') {
      const ready = options.ready();
      response.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready\n' : 'not ready\n');
    } else {
      response.writeHead(404).end();
    }
  });
  const [host, portText] = splitAddress(options.address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(portText), host, () => resolve());
  });
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function splitAddress(address: string): [string, string] {
  const colon = address.lastIndexOf(':');
  if (colon < 0) {
    throw new Error(`address '${address}' is not host:port`);
  }
  return [address.slice(0, colon), address.slice(colon + 1)];
}
