/**
 * A gateway served by several processes (`cairn-gateway --workers N`): one JavaScript
 * thread runs SQL for all of a process's sessions, so a gateway in one process uses one
 * CPU however many the machine has. With workers, a supervisor process (node:cluster's
 * primary) holds the pgwire port and hands each new connection to the next worker in
 * turn; every worker runs a whole GatewayServer (its own SQL engine, catalog cache and KV
 * client) without a status server. The supervisor serves `/metrics` (the workers'
 * registries summed by prom-client's AggregatorRegistry), `/healthz` and `/readyz` (ready
 * while every worker is), restarts a worker that dies, and passes a CancelRequest that
 * reached the wrong worker to the one whose share of backend process IDs holds its key.
 * On SIGTERM it stops the workers (each drains its sessions) and exits once they have.
 */
import type { Worker } from 'node:cluster';
import cluster from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Logger } from '../../common/logging';
import type { StatusServer } from '../../common/metrics';
import { startStatusServer } from '../../common/metrics';
import { workerOfProcessId } from '../pgwire';
import type { HostPort } from './flags';
import { formatHostPort } from './flags';

/** Set on a worker's environment: its index, and how many workers there are. */
export const WORKER_INDEX_ENV = 'CAIRN_GATEWAY_WORKER_INDEX';
export const WORKER_COUNT_ENV = 'CAIRN_GATEWAY_WORKER_COUNT';

/** Messages between the supervisor and its workers, over node:cluster's IPC channel. */
export type WorkerMessage =
  | { readonly type: 'cairn-gateway:ready'; readonly ready: boolean }
  | { readonly type: 'cairn-gateway:cancel'; readonly processId: number; readonly secretKey: number };

export function isWorkerMessage(message: unknown): message is WorkerMessage {
  if (typeof message !== 'object' || message === null) return false;
  const m = message as Record<string, unknown>;
  return (
    (m.type === 'cairn-gateway:ready' && typeof m.ready === 'boolean') ||
    (m.type === 'cairn-gateway:cancel' && typeof m.processId === 'number' && typeof m.secretKey === 'number')
  );
}

/** Where this process stands among a gateway's workers; undefined outside a worker. */
export function workerPlace(env: Readonly<Record<string, string | undefined>> = process.env): { index: number; count: number } | undefined {
  if (!cluster.isWorker) return undefined;
  const index = Number(env[WORKER_INDEX_ENV]);
  const count = Number(env[WORKER_COUNT_ENV]);
  if (!Number.isInteger(index) || !Number.isInteger(count) || index < 0 || index >= count) return undefined;
  return { index, count };
}

/**
 * In a worker: lets the supervisor gather `registry` for its `/metrics`. (The IPC
 * listener that answers it is installed when an AggregatorRegistry is made.)
 */
export function shareMetricsWithSupervisor(registry: Registry): void {
  AggregatorRegistry.setRegistries([registry]);
  new AggregatorRegistry();
}

/** The most sessions each of `workers` takes so that all of them take `total`. */
export function perWorkerConnections(total: number, workers: number): number {
  return Math.max(1, Math.ceil(total / workers));
}

export interface GatewaySupervisorOptions {
  readonly workers: number;
  /** The status server: `/metrics` for all workers, `/healthz`, `/readyz`. */
  readonly http: HostPort;
  readonly log: Logger;
  /** How long the workers get to stop before they are killed (they drain for 5 s). */
  readonly stopTimeoutMs?: number;
}

const FIRST_RESTART_DELAY_MS = 500;
const MAX_RESTART_DELAY_MS = 30_000;
const DEFAULT_STOP_TIMEOUT_MS = 20_000;

interface WorkerSlot {
  worker: Worker | undefined;
  ready: boolean;
  restartDelayMs: number;
  restartTimer: NodeJS.Timeout | undefined;
}

export class GatewaySupervisor {
  private readonly slots: WorkerSlot[];
  private readonly aggregator = new AggregatorRegistry();
  private status: StatusServer | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: GatewaySupervisorOptions) {
    this.slots = Array.from({ length: options.workers }, () => ({ worker: undefined, ready: false, restartDelayMs: FIRST_RESTART_DELAY_MS, restartTimer: undefined }));
  }

  /** host:port of the status server (the bound port once started). */
  get httpAddress(): string {
    return formatHostPort({ host: this.options.http.host, port: this.status?.port ?? this.options.http.port });
  }

  /** Whether every worker serves. */
  isReady(): boolean {
    return this.stopping === undefined && this.slots.every((slot) => slot.ready);
  }

  /** The workers' process IDs now (a worker being restarted has none). */
  get workerPids(): number[] {
    return this.slots.flatMap((slot) => (slot.worker?.process.pid === undefined ? [] : [slot.worker.process.pid]));
  }

  /** Starts the status server and the workers; the workers come up in the background. */
  async start(): Promise<void> {
    this.status = await startStatusServer({
      address: `${this.options.http.host}:${this.options.http.port}`,
      registry: { metrics: () => this.aggregator.clusterMetrics(), contentType: this.aggregator.contentType },
      ready: () => this.isReady(),
    });
    this.options.log.info({ workers: this.options.workers, httpAddress: this.httpAddress }, 'starting gateway workers');
    for (let index = 0; index < this.slots.length; index++) this.fork(index);
  }

  /** Stops every worker (each drains its sessions), then the status server. */
  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private fork(index: number): void {
    const slot = this.slots[index] as WorkerSlot;
    slot.restartTimer = undefined;
    const worker = cluster.fork({ [WORKER_INDEX_ENV]: String(index), [WORKER_COUNT_ENV]: String(this.options.workers) });
    slot.worker = worker;
    slot.ready = false;
    worker.on('message', (message: unknown) => {
      if (!isWorkerMessage(message)) return;
      if (message.type === 'cairn-gateway:ready') {
        slot.ready = message.ready;
        if (message.ready) slot.restartDelayMs = FIRST_RESTART_DELAY_MS;
        this.options.log.info({ worker: index, workerPid: worker.process.pid, ready: message.ready }, message.ready ? 'gateway worker serving' : 'gateway worker not ready');
      } else {
        this.routeCancel(message.processId, message.secretKey);
      }
    });
    worker.on('exit', (code, signal) => {
      if (slot.worker !== worker) return;
      slot.worker = undefined;
      slot.ready = false;
      if (this.stopping !== undefined) return;
      const delayMs = slot.restartDelayMs;
      slot.restartDelayMs = Math.min(delayMs * 2, MAX_RESTART_DELAY_MS);
      this.options.log.error({ worker: index, workerPid: worker.process.pid, code, signal, restartInMs: delayMs }, 'gateway worker exited; restarting it');
      slot.restartTimer = setTimeout(() => this.fork(index), delayMs);
    });
  }

  /** A CancelRequest one worker got for another's session goes to the one whose share holds the key. */
  private routeCancel(processId: number, secretKey: number): void {
    const index = workerOfProcessId(processId, this.options.workers);
    const worker = index === undefined ? undefined : this.slots[index]?.worker;
    if (worker === undefined || !worker.isConnected()) {
      this.options.log.info({ processId }, 'cancel request for no live worker');
      return;
    }
    const message: WorkerMessage = { type: 'cairn-gateway:cancel', processId, secretKey };
    worker.send(message);
  }

  private async stopAll(): Promise<void> {
    const timeoutMs = this.options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    const exits: Promise<void>[] = [];
    for (const slot of this.slots) {
      clearTimeout(slot.restartTimer);
      const worker = slot.worker;
      if (worker === undefined) continue;
      exits.push(new Promise<void>((resolve) => worker.once('exit', () => resolve())));
      worker.process.kill('SIGTERM');
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      Promise.all(exits).then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.options.log.error({ timeoutMs }, 'gateway workers did not stop in time; killing them');
      for (const slot of this.slots) slot.worker?.process.kill('SIGKILL');
      await Promise.all(exits);
    }
    await this.status?.close();
    this.options.log.info({ workers: this.options.workers }, 'stopped');
  }
}
