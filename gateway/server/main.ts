/**
 * cairn-gateway: the SQL gateway process (DESIGN.md §1).
 *
 *   cairn-gateway --join HOST:PORT[,...] [--listen-addr 127.0.0.1:26257] [--http-addr 127.0.0.1:8081]
 *                 [--auth trust|scram-sha-256] [--insecure] [--certs-dir DIR]
 *                 [--max-connections N] [--workers N|auto] [--log-level info]
 *
 * Serves the Postgres wire protocol on --listen-addr and /metrics, /healthz, /readyz on
 * --http-addr; logs JSON lines to stderr; on SIGTERM or SIGINT stops accepting, drains
 * its sessions for up to 5 s and exits 0. A bad command line exits 2, a failed start 1.
 * With more than one worker, this process supervises that many copies of itself
 * (gateway-workers.ts), which serve SQL on the one port.
 */
import cluster from 'node:cluster';
import * as os from 'node:os';
import { CairnError } from '../../common/errors';
import { createLogger } from '../../common/logging';
import { createRegistry } from '../../common/metrics';
import type { TracingHandle } from '../../common/tracing';
import { installTracingFromEnv } from '../../common/tracing';
import { workerProcessIds } from '../pgwire';
import { readServerCertificate } from './certs';
import type { GatewayFlags } from './flags';
import { GATEWAY_USAGE, parseGatewayFlags } from './flags';
import { GatewayServer } from './gateway-server';
import type { WorkerMessage } from './gateway-workers';
import { GatewaySupervisor, isWorkerMessage, perWorkerConnections, shareMetricsWithSupervisor, workerPlace } from './gateway-workers';

/** The flags, or the exit status when there is nothing to run. */
function flagsOrExit(argv: readonly string[]): GatewayFlags | number {
  try {
    const command = parseGatewayFlags(argv, process.env);
    if (command.kind === 'help') {
      process.stdout.write(`${GATEWAY_USAGE}\n`);
      return 0;
    }
    return command.flags;
  } catch (err) {
    if (err instanceof CairnError && err.code === 'INVALID_ARGUMENT') {
      process.stderr.write(`cairn-gateway: ${err.message}\n\n${GATEWAY_USAGE}\n`);
      return 2;
    }
    throw err;
  }
}

async function main(argv: readonly string[]): Promise<void> {
  const flags = flagsOrExit(argv);
  if (typeof flags === 'number') {
    process.exit(flags);
  }
  let tls: { key: Buffer; cert: Buffer } | undefined;
  if (flags.certsDir !== undefined) {
    try {
      const { cert, key } = readServerCertificate(flags.certsDir);
      tls = { cert, key };
    } catch (err) {
      process.stderr.write(`cairn-gateway: ${(err as Error).message}\n`);
      process.exit(2);
    }
  }
  const workers = flags.workers === 'auto' ? os.availableParallelism() : flags.workers;
  const place = workerPlace();
  const rootLog = createLogger({ name: 'cairn-gateway', fd: 2, level: flags.logLevel });
  if (place === undefined && workers > 1) {
    await supervise(flags, workers, rootLog);
    return;
  }
  const log = place === undefined ? rootLog : rootLog.child({ worker: place.index });
  let tracing: TracingHandle;
  try {
    // OTEL_* variables (common/tracing/config.ts).
    const instanceId = `${flags.listen.host}:${flags.listen.port}${place === undefined ? '' : `#${place.index}`}`;
    tracing = installTracingFromEnv({ serviceName: 'cairn-gateway', instanceId, log });
  } catch (err) {
    process.stderr.write(`cairn-gateway: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const registry = createRegistry({ process: 'cairn-gateway' });
  if (place !== undefined) shareMetricsWithSupervisor(registry);
  const send = (message: WorkerMessage): void => {
    if (process.connected) process.send?.(message);
  };
  const maxConnections = flags.maxConnections === undefined || place === undefined ? flags.maxConnections : perWorkerConnections(flags.maxConnections, place.count);
  const server = new GatewayServer({
    join: flags.join,
    listen: flags.listen,
    http: flags.http,
    auth: flags.auth,
    insecure: flags.insecure,
    ...(tls === undefined ? {} : { tls }),
    ...(maxConnections === undefined ? {} : { maxConnections }),
    slowStatementMs: flags.slowStatementMs,
    registry,
    log,
    ...(place === undefined
      ? {}
      : {
          serveStatus: false,
          processIds: workerProcessIds(place.index, place.count),
          forwardCancel: (processId: number, secretKey: number) => send({ type: 'cairn-gateway:cancel', processId, secretKey }),
          onReadinessChange: (ready: boolean) => send({ type: 'cairn-gateway:ready', ready }),
        }),
  });
  // Spans that ended last are sent before the process goes.
  const shutdown = exitOnSignals(log, () => server.stop().then(() => tracing.shutdown()));
  if (place !== undefined) {
    process.on('message', (message: unknown) => {
      if (isWorkerMessage(message) && message.type === 'cairn-gateway:cancel') server.cancelSession(message.processId, message.secretKey);
    });
    // The supervisor is gone: nobody hands this worker connections or stops it any more.
    process.on('disconnect', () => shutdown('SIGTERM'));
  }
  try {
    await server.start();
  } catch (err) {
    // A signal during start is a shutdown, which ends the process itself.
    if (!shutdown.requested) {
      log.fatal({ err }, 'the gateway failed to start');
      process.exit(1);
    }
  }
}

/**
 * On SIGTERM or SIGINT (or a call of the returned function), runs `stop` once and exits:
 * 0 when it resolved, 1 when it failed. `requested` tells whether that has begun.
 */
function exitOnSignals(log: ReturnType<typeof createLogger>, stop: () => Promise<unknown>): ((signal: NodeJS.Signals) => void) & { requested: boolean } {
  const shutdown = Object.assign(
    (signal: NodeJS.Signals): void => {
      if (shutdown.requested) return;
      shutdown.requested = true;
      log.info({ signal }, 'shutting down');
      stop().then(
        () => process.exit(0),
        (err: unknown) => {
          log.error({ err }, 'unclean shutdown');
          process.exit(1);
        },
      );
    },
    { requested: false },
  );
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  return shutdown;
}

/** The supervisor of `workers` gateway processes; exits when they have stopped. */
async function supervise(flags: GatewayFlags, workers: number, log: ReturnType<typeof createLogger>): Promise<void> {
  // A worker runs this same script with the same flags, and learns its place from its environment.
  cluster.setupPrimary({ args: process.argv.slice(2) });
  const supervisor = new GatewaySupervisor({ workers, http: flags.http, log });
  exitOnSignals(log, () => supervisor.stop());
  try {
    await supervisor.start();
  } catch (err) {
    log.fatal({ err }, 'the gateway failed to start');
    process.exit(1);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`cairn-gateway failed to start: ${String((err as Error).stack ?? err)}\n`);
    process.exit(1);
  });
}
