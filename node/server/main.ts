/**
 * cairn-node: one storage node (DESIGN.md §1).
 *
 *   cairn-node --data-dir DIR --listen-addr HOST:PORT --http-addr HOST:PORT
 *              [--join HOST:PORT,...] [--locality region=r1,zone=z1]
 *              [--tick-ms 100] [--dead-node-timeout-ms 300000] [--closed-timestamp-target-ms 3000]
 *              [--max-refresh-entries 100000] [--log-level info]
 *
 * Serves gRPC (KV, admin, Raft) on --listen-addr and /metrics, /healthz, /readyz on
 * --http-addr; logs JSON lines to stderr; shuts down cleanly on SIGTERM or SIGINT
 * (leases handed off first).
 */
import { parseArgs } from 'node:util';
import type { LevelWithSilent } from 'pino';
import { createLogger } from '../../common/logging';
import { createRegistry } from '../../common/metrics';
import { installTracingFromEnv } from '../../common/tracing';
import type * as kvpb from '../../proto/gen/cairn/kv/v1/kv';
import { DEFAULT_RAFT_TIMING } from '../replica/raft-timing';
import { RocksEngine } from '../storage';
import { NodeServer } from './node-server';

export function parseLocality(text: string): kvpb.LocalityTier[] {
  if (text === '') return [];
  return text.split(',').map((part) => {
    const eq = part.indexOf('=');
    if (eq <= 0 || eq === part.length - 1) {
      throw new Error(`bad locality tier '${part}' (want key=value)`);
    }
    return { key: part.slice(0, eq), value: part.slice(eq + 1) };
  });
}

function positiveNumber(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`${flag} wants a positive number, not '${text}'`);
  }
  return value;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string' },
      'listen-addr': { type: 'string', default: '127.0.0.1:26258' },
      'http-addr': { type: 'string', default: '127.0.0.1:8080' },
      join: { type: 'string', default: '' },
      locality: { type: 'string', default: '' },
      'tick-ms': { type: 'string' },
      'dead-node-timeout-ms': { type: 'string' },
      'closed-timestamp-target-ms': { type: 'string' },
      'max-refresh-entries': { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
    },
    strict: true,
  });
  const dataDir = values['data-dir'];
  if (dataDir === undefined) {
    throw new Error('--data-dir is required');
  }
  const log = createLogger({ name: 'cairn-node', fd: 2, level: values['log-level'] as LevelWithSilent });
  // OTEL_* variables (common/tracing/config.ts); a malformed one stops the start.
  const tracing = installTracingFromEnv({ serviceName: 'cairn-node', instanceId: values['listen-addr'], log });
  const registry = createRegistry({ process: 'cairn-node' });
  const engine = await RocksEngine.open(dataDir);
  const timing = values['tick-ms'] === undefined ? DEFAULT_RAFT_TIMING : { ...DEFAULT_RAFT_TIMING, tickMs: Number(values['tick-ms']) };
  const fatal = (err: unknown): void => {
    log.fatal({ err }, 'the node cannot go on safely; exiting');
    process.exit(1);
  };
  const server = new NodeServer({
    engine,
    listenAddress: values['listen-addr'],
    httpAddress: values['http-addr'],
    join: values.join.split(',').filter((a) => a !== ''),
    locality: parseLocality(values.locality),
    timing,
    ...(values['dead-node-timeout-ms'] === undefined ? {} : { deadNodeTimeoutMs: positiveNumber('--dead-node-timeout-ms', values['dead-node-timeout-ms']) }),
    ...(values['closed-timestamp-target-ms'] === undefined
      ? {}
      : { closedTimestampTargetMs: positiveNumber('--closed-timestamp-target-ms', values['closed-timestamp-target-ms']) }),
    ...(values['max-refresh-entries'] === undefined
      ? {}
      : { maxRefreshEntriesPerCommand: positiveNumber('--max-refresh-entries', values['max-refresh-entries']) }),
    registry,
    log,
    onFatal: fatal,
  });
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    void server.stop().then(
      // Spans that ended last are sent before the process goes.
      () => tracing.shutdown().then(() => process.exit(0)),
      (err: unknown) => {
        log.error({ err }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  await server.start();
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`cairn-node failed to start: ${String((err as Error).stack ?? err)}\n`);
    process.exit(1);
  });
}
