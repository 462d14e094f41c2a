/**
 * One cairn-operator process: a status server (/metrics, /healthz, /readyz), leader
 * election through a Lease, and — only while leading — the DatabaseCluster controller.
 * A replica that loses the lease stops its controller and reports it through
 * `onLostLeadership` (main.ts exits, so that a fresh start campaigns again, as
 * client-go's controllers do).
 */
import * as crypto from 'node:crypto';
import * as os from 'node:os';
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from '../common/logging';
import { createRegistry, prometheus, startStatusServer, type StatusServer } from '../common/metrics';
import { ClusterController, type ControllerMetrics } from './controllers';
import { LeaderElector } from './k8s';

export interface OperatorOptions {
  readonly config: k8s.KubeConfig;
  readonly log: Logger;
  /** `host:port` of /metrics, /healthz and /readyz; port 0 picks one. */
  readonly httpAddress: string;
  /** Watch one namespace; undefined: all. */
  readonly watchNamespace: string | undefined;
  /** Undefined: no election, this replica always leads (one replica, or tests). */
  readonly leaderElection:
    | {
        readonly namespace: string;
        readonly leaseName: string;
        readonly identity?: string;
        readonly leaseDurationMs?: number;
        readonly renewDeadlineMs?: number;
        readonly retryPeriodMs?: number;
      }
    | undefined;
  readonly resyncMs?: number;
  readonly onLostLeadership: () => void;
}

export class Operator {
  readonly registry: prometheus.Registry;
  private readonly metrics: ControllerMetrics;
  private readonly leaderGauge: prometheus.Gauge;
  private readonly elector: LeaderElector | undefined;
  private controller: ClusterController | undefined;
  private controllerStarting: Promise<void> = Promise.resolve();
  private status: StatusServer | undefined;
  private stopping = false;
  readonly identity: string;

  constructor(private readonly options: OperatorOptions) {
    this.registry = createRegistry({ process: 'cairn-operator' });
    this.metrics = {
      reconciles: new prometheus.Counter({
        name: 'cairn_operator_reconciles_total',
        help: 'DatabaseCluster reconciles by result (ok, error)',
        labelNames: ['result'],
        registers: [this.registry],
      }),
      reconcileSeconds: new prometheus.Histogram({
        name: 'cairn_operator_reconcile_duration_seconds',
        help: 'Time of one DatabaseCluster reconcile',
        buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers: [this.registry],
      }),
    };
    this.leaderGauge = new prometheus.Gauge({ name: 'cairn_operator_leader', help: '1 while this replica leads', registers: [this.registry] });
    const queueDepth = (): number => this.controller?.queue.length ?? 0;
    new prometheus.Gauge({
      name: 'cairn_operator_queue_depth',
      help: 'DatabaseClusters waiting to be reconciled',
      registers: [this.registry],
      collect() {
        this.set(queueDepth());
      },
    });
    const election = options.leaderElection;
    this.identity = election?.identity ?? `${os.hostname()}-${crypto.randomBytes(4).toString('hex')}`;
    this.elector =
      election === undefined
        ? undefined
        : new LeaderElector({
            config: options.config,
            namespace: election.namespace,
            leaseName: election.leaseName,
            identity: this.identity,
            ...(election.leaseDurationMs === undefined ? {} : { leaseDurationMs: election.leaseDurationMs }),
            ...(election.renewDeadlineMs === undefined ? {} : { renewDeadlineMs: election.renewDeadlineMs }),
            ...(election.retryPeriodMs === undefined ? {} : { retryPeriodMs: election.retryPeriodMs }),
            log: options.log,
            onStartedLeading: () => this.startLeading(),
            onStoppedLeading: () => this.stopLeading(),
          });
  }

  get isLeader(): boolean {
    return this.controller !== undefined;
  }

  get httpPort(): number {
    return this.status?.port ?? 0;
  }

  async start(): Promise<void> {
    this.status = await startStatusServer({ address: this.options.httpAddress, registry: this.registry, ready: () => !this.stopping });
    this.options.log.info({ httpPort: this.status.port, identity: this.identity, watchNamespace: this.options.watchNamespace ?? '(all)' }, 'cairn-operator started');
    if (this.elector === undefined) {
      this.startLeading();
      await this.controllerStarting;
    } else {
      this.elector.start();
    }
  }

  /** Stops the controller (running reconciles finish), releases the lease, closes the HTTP server. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.elector?.stop();
    await this.stopController();
    await this.status?.close();
  }

  private startLeading(): void {
    if (this.stopping || this.controller !== undefined) return;
    this.leaderGauge.set(1);
    const controller = new ClusterController({
      config: this.options.config,
      namespace: this.options.watchNamespace,
      log: this.options.log,
      metrics: this.metrics,
      ...(this.options.resyncMs === undefined ? {} : { resyncMs: this.options.resyncMs }),
    });
    this.controller = controller;
    this.controllerStarting = controller.start().catch((err: unknown) => {
      this.options.log.error({ err }, 'the controller could not start');
      this.options.onLostLeadership();
    });
  }

  private stopLeading(): void {
    this.leaderGauge.set(0);
    void this.stopController().then(() => {
      if (!this.stopping) this.options.onLostLeadership();
    });
  }

  private async stopController(): Promise<void> {
    const controller = this.controller;
    this.controller = undefined;
    if (controller === undefined) return;
    await this.controllerStarting;
    await controller.stop();
  }
}
