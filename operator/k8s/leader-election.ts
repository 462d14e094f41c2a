/**
 * Leader election through a coordination.k8s.io Lease, as client-go's leaderelection
 * does it: the holder renews `renewTime` every retry period; another candidate takes
 * the Lease over only when it has seen the same record unchanged for a whole lease
 * duration on its own clock (so clocks need not agree); updates carry the
 * resourceVersion, so two candidates cannot both win a round. A leader that cannot
 * renew within the renew deadline stops leading.
 *
 * `decideLease` is the pure rule; `LeaderElector` is the driver with the API calls and
 * timers.
 */
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { isConflict, isNotFound } from './errors';
import { realScheduler, type Scheduler } from './work-queue';

/** What a candidate knows of the Lease record. */
export interface LeaseRecord {
  readonly holder: string;
  readonly leaseDurationMs: number;
  readonly transitions: number;
  /** When (on our clock) we first saw this record's holder and renewTime. */
  readonly observedAtMs: number;
}

export type LeaseDecision =
  | { readonly kind: 'create' }
  | { readonly kind: 'renew' }
  | { readonly kind: 'take-over'; readonly transitions: number }
  | { readonly kind: 'wait'; readonly holder: string };

export function decideLease(record: LeaseRecord | undefined, identity: string, nowMs: number): LeaseDecision {
  if (record === undefined) return { kind: 'create' };
  if (record.holder === identity) return { kind: 'renew' };
  if (record.holder !== '' && nowMs < record.observedAtMs + record.leaseDurationMs) {
    return { kind: 'wait', holder: record.holder };
  }
  return { kind: 'take-over', transitions: record.transitions + 1 };
}

export interface LeaderElectorOptions {
  readonly config: k8s.KubeConfig;
  readonly namespace: string;
  readonly leaseName: string;
  /** This candidate (pod name plus a random suffix). */
  readonly identity: string;
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
  readonly log: Logger;
  readonly onStartedLeading: () => void;
  /** Called once when leadership is lost or released; the process should stop working. */
  readonly onStoppedLeading: () => void;
  readonly scheduler?: Scheduler;
}

export class LeaderElector {
  private readonly api: k8s.CoordinationV1Api;
  private readonly scheduler: Scheduler;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private observed: (LeaseRecord & { readonly renewTime: string }) | undefined;
  private leading = false;
  private lastRenewMs = 0;
  private stopped = false;
  private cancelTimer: (() => void) | undefined;
  private round: Promise<void> = Promise.resolve();

  constructor(private readonly options: LeaderElectorOptions) {
    this.api = options.config.makeApiClient(k8s.CoordinationV1Api);
    this.scheduler = options.scheduler ?? realScheduler;
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.tick();
  }

  /** Stops campaigning; a leader releases the Lease so that another takes over at once. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.cancelTimer?.();
    await this.round;
    if (this.leading) {
      this.leading = false;
      await this.release().catch((err: unknown) => this.options.log.warn({ err }, 'could not release the leader lease'));
      this.options.onStoppedLeading();
    }
  }

  private tick(): void {
    if (this.stopped) return;
    this.round = this.tryAcquireOrRenew().then(
      () => this.afterRound(),
      (err: unknown) => {
        this.options.log.warn({ err }, 'leader election round failed');
        this.afterRound();
      },
    );
  }

  private afterRound(): void {
    if (this.stopped) return;
    if (this.leading && this.scheduler.now() - this.lastRenewMs > this.renewDeadlineMs) {
      this.leading = false;
      this.options.log.error({ lease: this.options.leaseName }, 'could not renew the leader lease in time; stepping down');
      this.options.onStoppedLeading();
      return;
    }
    this.cancelTimer = this.scheduler.schedule(() => this.tick(), this.retryPeriodMs);
  }

  private async tryAcquireOrRenew(): Promise<void> {
    const { namespace, leaseName: name, identity } = this.options;
    let current: k8s.V1Lease | undefined;
    try {
      current = await this.api.readNamespacedLease({ namespace, name });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const nowMs = this.scheduler.now();
    this.observe(current, nowMs);
    const decision = decideLease(this.observed, identity, nowMs);
    const now = new k8s.V1MicroTime();
    const spec: k8s.V1LeaseSpec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      renewTime: now,
    };
    try {
      switch (decision.kind) {
        case 'wait':
          return;
        case 'create':
          await this.api.createNamespacedLease({
            namespace,
            body: { metadata: { name, namespace }, spec: { ...spec, acquireTime: now, leaseTransitions: 0 } },
          });
          break;
        case 'renew':
          await this.api.replaceNamespacedLease({ namespace, name, body: { ...current!, spec: { ...current!.spec, ...spec } } });
          break;
        case 'take-over':
          await this.api.replaceNamespacedLease({
            namespace,
            name,
            body: { ...current!, spec: { ...current!.spec, ...spec, acquireTime: now, leaseTransitions: decision.transitions } },
          });
          break;
        default:
          decision satisfies never;
      }
    } catch (err) {
      // Someone else wrote the Lease since we read it: they won this round.
      if (isConflict(err) || (decision.kind === 'create' && (err as { code?: number }).code === 409)) return;
      throw err;
    }
    this.lastRenewMs = nowMs;
    if (!this.leading) {
      this.leading = true;
      this.options.log.info({ lease: name, identity }, 'became the leader');
      this.options.onStartedLeading();
    }
  }

  /** Records the Lease as seen now, keeping the first time we saw an unchanged record. */
  private observe(lease: k8s.V1Lease | undefined, nowMs: number): void {
    if (lease === undefined) {
      this.observed = undefined;
      return;
    }
    const holder = lease.spec?.holderIdentity ?? '';
    // The client hands MicroTime fields back as strings, whatever its types say.
    const renewed: unknown = lease.spec?.renewTime;
    const renewTime = renewed instanceof Date ? renewed.toISOString() : String(renewed ?? '');
    const unchanged = this.observed !== undefined && this.observed.holder === holder && this.observed.renewTime === renewTime;
    this.observed = {
      holder,
      renewTime,
      leaseDurationMs: (lease.spec?.leaseDurationSeconds ?? 15) * 1000,
      transitions: lease.spec?.leaseTransitions ?? 0,
      observedAtMs: unchanged ? this.observed!.observedAtMs : nowMs,
    };
  }

  private async release(): Promise<void> {
    const { namespace, leaseName: name, identity } = this.options;
    const lease = await this.api.readNamespacedLease({ namespace, name });
    if (lease.spec?.holderIdentity !== identity) return;
    await this.api.replaceNamespacedLease({
      namespace,
      name,
      body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: new k8s.V1MicroTime() } },
    });
  }
}
