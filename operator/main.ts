/**
 * cairn-operator: reconciles DatabaseCluster resources (DESIGN.md §9).
 *
 *   cairn-operator [--http-addr 0.0.0.0:8080] [--watch-namespace NS]
 *                  [--leader-elect true] [--lease-namespace NS] [--lease-name cairn-operator]
 *                  [--resync-ms 300000] [--log-level info]
 *
 * Reaches the API server through the in-cluster service account or $KUBECONFIG. Logs
 * JSON lines to stdout; on SIGTERM or SIGINT stops reconciling, releases the leader
 * lease and exits 0. Exits 1 when it loses the lease, so that it restarts as a
 * candidate.
 */
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import type { LevelWithSilent } from 'pino';
import { createLogger } from '../common/logging';
import { installTracingFromEnv } from '../common/tracing';
import { Operator } from './operator';

const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

function inClusterNamespace(): string {
  try {
    return fs.readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim();
  } catch {
    return process.env.POD_NAMESPACE ?? 'default';
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'http-addr': { type: 'string', default: '0.0.0.0:8080' },
      'watch-namespace': { type: 'string' },
      'leader-elect': { type: 'string', default: 'true' },
      'lease-namespace': { type: 'string' },
      'lease-name': { type: 'string', default: 'cairn-operator' },
      'resync-ms': { type: 'string', default: '300000' },
      'log-level': { type: 'string', default: 'info' },
    },
    strict: true,
  });
  if (!['true', 'false'].includes(values['leader-elect'])) throw new Error(`--leader-elect wants true or false, not '${values['leader-elect']}'`);
  const resyncMs = Number(values['resync-ms']);
  if (!Number.isFinite(resyncMs) || resyncMs <= 0) throw new Error(`--resync-ms wants a positive number, not '${values['resync-ms']}'`);
  const log = createLogger({ name: 'cairn-operator', level: values['log-level'] as LevelWithSilent });
  // OTEL_* variables (common/tracing/config.ts); the pod's name tells replicas apart.
  const tracing = installTracingFromEnv({ serviceName: 'cairn-operator', instanceId: process.env.HOSTNAME ?? `pid-${process.pid}`, log });
  const config = new k8s.KubeConfig();
  config.loadFromDefault();

  const operator = new Operator({
    config,
    log,
    httpAddress: values['http-addr'],
    watchNamespace: values['watch-namespace'],
    leaderElection:
      values['leader-elect'] === 'true' ? { namespace: values['lease-namespace'] ?? inClusterNamespace(), leaseName: values['lease-name'] } : undefined,
    resyncMs,
    onLostLeadership: () => {
      log.error('lost the leader lease; exiting to campaign again');
      process.exit(1);
    },
  });
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    operator.stop().then(
      () => tracing.shutdown().then(() => process.exit(0)),
      (err: unknown) => {
        log.error({ err }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  await operator.start();
}

/** Runs the operator with the process's arguments (bin/cairn-operator calls this). */
export function run(): void {
  main().catch((err: unknown) => {
    process.stderr.write(`cairn-operator failed to start: ${String((err as Error).stack ?? err)}\n`);
    process.exit(1);
  });
}

if (require.main === module) run();
