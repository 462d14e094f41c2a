/**
 * The DatabaseCluster controller: informers on the clusters and on everything the
 * operator made for them, a work queue of cluster keys, and a reconcile that is a
 * sequence of idempotent steps:
 *
 *   1. a cluster being deleted: delete what it owns (where no garbage collector runs
 *      this is the only cleanup), then drop the finalizer;
 *   2. otherwise make sure the finalizer is on it;
 *   3. TLS Secrets: check the user's, or create the CA and (re)issue certificates when
 *      the spec asks the operator to generate them (tls-secrets.ts);
 *   4. plan (pure, cluster-plan.ts) from the resource, the informers' caches and step 3;
 *   5. server-side apply every planned object under the `cairn-operator` field manager;
 *   6. create the init Job when the plan says so;
 *   7. record the Events of steps 3 and 4;
 *   8. write the status, only when it changed.
 *
 * A failed reconcile is retried with a per-cluster exponential back-off; every change
 * of a watched object queues its cluster again, and a periodic resync queues them all.
 */
import { isDeepStrictEqual } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { prometheus } from '../../common/metrics';
import { endSpan, startRootSpan } from '../../common/tracing';
import { type DatabaseCluster, type DatabaseClusterStatus, GROUP, PLURAL, VERSION } from '../api';
import { Applier, apiMessage, EventRecorder, Informer, isNotFound, WorkQueue } from '../k8s';
import { initClusterId, type ObservedCluster, planCluster } from './cluster-plan';
import { clusterKey, FIELD_MANAGER, FINALIZER, LABEL_COMPONENT, LABEL_INSTANCE, LABEL_REGION, MANAGED_SELECTOR, names } from './names';
import { RootPasswordSecret } from './root-password';
import { TlsSecrets } from './tls-secrets';

export interface ClusterControllerOptions {
  readonly config: k8s.KubeConfig;
  /** Watch one namespace; undefined: all of them. */
  readonly namespace: string | undefined;
  readonly log: Logger;
  readonly metrics: ControllerMetrics;
  /** Parallel reconciles (of different clusters; one cluster is never reconciled twice at once). */
  readonly workers?: number;
  /** Every cluster is reconciled at least this often (default 5 min). */
  readonly resyncMs?: number;
  readonly queue?: WorkQueue;
}

export interface ControllerMetrics {
  readonly reconciles: prometheus.Counter<'result'>;
  readonly reconcileSeconds: prometheus.Histogram;
}

type Watched = k8s.V1StatefulSet | k8s.V1Deployment | k8s.V1Pod | k8s.V1Job | k8s.V1Service | k8s.V1PodDisruptionBudget | k8s.V1ServiceAccount;

export class ClusterController {
  readonly queue: WorkQueue;
  private readonly log: Logger;
  private readonly applier: Applier;
  private readonly events: EventRecorder;
  private readonly tlsSecrets: TlsSecrets;
  private readonly rootPassword: RootPasswordSecret;
  private readonly custom: k8s.CustomObjectsApi;
  private readonly clusters: Informer<DatabaseCluster>;
  private readonly statefulSets: Informer<k8s.V1StatefulSet>;
  private readonly deployments: Informer<k8s.V1Deployment>;
  private readonly pods: Informer<k8s.V1Pod>;
  private readonly jobs: Informer<k8s.V1Job>;
  private readonly informers: Informer<k8s.KubernetesObject>[];
  private workers: Promise<void>[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ClusterControllerOptions) {
    const { config, namespace } = options;
    this.log = options.log;
    this.queue = options.queue ?? new WorkQueue();
    this.applier = new Applier(config, FIELD_MANAGER);
    this.events = new EventRecorder(config, FIELD_MANAGER, this.log);
    this.tlsSecrets = new TlsSecrets(config, this.applier);
    this.rootPassword = new RootPasswordSecret(config, this.applier);
    this.custom = config.makeApiClient(k8s.CustomObjectsApi);
    const apps = config.makeApiClient(k8s.AppsV1Api);
    const core = config.makeApiClient(k8s.CoreV1Api);
    const batch = config.makeApiClient(k8s.BatchV1Api);
    const scope = (group: string, resource: string): string =>
      namespace === undefined ? `${group}/${resource}` : `${group}/namespaces/${namespace}/${resource}`;
    const labelSelector = MANAGED_SELECTOR;
    const queueOwner = (object: Watched): void => {
      const instance = object.metadata?.labels?.[LABEL_INSTANCE];
      if (instance !== undefined && object.metadata?.namespace !== undefined) this.queue.add(clusterKey(object.metadata.namespace, instance));
    };

    this.clusters = new Informer<DatabaseCluster>({
      config,
      path: scope(`/apis/${GROUP}/${VERSION}`, PLURAL),
      list: () =>
        (namespace === undefined
          ? this.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })
          : this.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace })) as Promise<
          k8s.KubernetesListObject<DatabaseCluster>
        >,
      onChange: (cluster) => this.queue.add(clusterKey(cluster.metadata.namespace ?? '', cluster.metadata.name ?? '')),
      log: this.log,
    });
    this.statefulSets = new Informer<k8s.V1StatefulSet>({
      config,
      path: scope('/apis/apps/v1', 'statefulsets'),
      labelSelector,
      list: () => (namespace === undefined ? apps.listStatefulSetForAllNamespaces({ labelSelector }) : apps.listNamespacedStatefulSet({ namespace, labelSelector })),
      onChange: queueOwner,
      log: this.log,
    });
    this.deployments = new Informer<k8s.V1Deployment>({
      config,
      path: scope('/apis/apps/v1', 'deployments'),
      labelSelector,
      list: () => (namespace === undefined ? apps.listDeploymentForAllNamespaces({ labelSelector }) : apps.listNamespacedDeployment({ namespace, labelSelector })),
      onChange: queueOwner,
      log: this.log,
    });
    this.pods = new Informer<k8s.V1Pod>({
      config,
      path: scope('/api/v1', 'pods'),
      labelSelector,
      list: () => (namespace === undefined ? core.listPodForAllNamespaces({ labelSelector }) : core.listNamespacedPod({ namespace, labelSelector })),
      onChange: queueOwner,
      log: this.log,
    });
    this.jobs = new Informer<k8s.V1Job>({
      config,
      path: scope('/apis/batch/v1', 'jobs'),
      labelSelector,
      list: () => (namespace === undefined ? batch.listJobForAllNamespaces({ labelSelector }) : batch.listNamespacedJob({ namespace, labelSelector })),
      onChange: queueOwner,
      log: this.log,
    });
    this.informers = [this.clusters, this.statefulSets, this.deployments, this.pods, this.jobs] as Informer<k8s.KubernetesObject>[];
  }

  /** Fills the caches, then starts the workers and the resync. */
  async start(): Promise<void> {
    await Promise.all(this.informers.map((informer) => informer.start()));
    this.log.info({ clusters: this.clusters.list().length }, 'caches filled; reconciling');
    this.workers = Array.from({ length: this.options.workers ?? 2 }, () => this.work());
    const resyncMs = this.options.resyncMs ?? 300_000;
    this.resyncTimer = setInterval(() => {
      for (const cluster of this.clusters.list()) this.queue.add(clusterKey(cluster.metadata.namespace ?? '', cluster.metadata.name ?? ''));
    }, resyncMs);
    this.resyncTimer.unref();
  }

  /** Stops taking work, lets running reconciles finish, stops the watches. */
  async stop(): Promise<void> {
    clearInterval(this.resyncTimer);
    this.queue.shutDown();
    await Promise.all(this.workers);
    await Promise.all(this.informers.map((informer) => informer.stop()));
  }

  private async work(): Promise<void> {
    while (true) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const stopTimer = this.options.metrics.reconcileSeconds.startTimer();
      // Each reconcile is a trace of its own (sampled as OTEL_TRACES_SAMPLER says).
      const span = startRootSpan('operator.reconcile', { 'k8s.databasecluster': key, 'cairn.reconcile_retries': this.queue.retries(key) });
      try {
        await this.reconcile(key);
        this.queue.forget(key);
        this.options.metrics.reconciles.inc({ result: 'ok' });
        endSpan(span);
      } catch (err) {
        endSpan(span, err);
        const retries = this.queue.retries(key);
        this.log.warn({ cluster: key, err: apiMessage(err), retries }, 'reconcile failed; will retry');
        this.options.metrics.reconciles.inc({ result: 'error' });
        this.queue.addRateLimited(key);
      } finally {
        stopTimer();
        this.queue.done(key);
      }
    }
  }

  /** Brings one cluster's objects and status in line with its spec. */
  async reconcile(key: string): Promise<void> {
    const [namespace, name] = key.split('/') as [string, string];
    const cluster = this.clusters.get(name, namespace);
    if (cluster === undefined) return;
    const log = this.log.child({ cluster: key, generation: cluster.metadata.generation });

    if (cluster.metadata.deletionTimestamp !== undefined) {
      if (cluster.metadata.finalizers?.includes(FINALIZER) === true) {
        await this.cleanUp(cluster, log);
        await this.removeFinalizer(cluster);
        log.info('deleted the cluster\'s objects and released it');
      }
      return;
    }
    if (cluster.metadata.finalizers?.includes(FINALIZER) !== true) {
      await this.addFinalizer(cluster);
    }

    const tls = await this.tlsSecrets.reconcile(cluster);
    const passwordEvents = await this.rootPassword.reconcile(cluster);
    const plan = planCluster(cluster, { ...this.observe(cluster), tls: tls.tls }, new Date().toISOString());
    for (const object of plan.objects) {
      await this.applier.apply(object);
    }
    if (plan.initJob !== undefined) {
      await this.applier.apply(plan.initJob);
    }
    for (const event of [...tls.events, ...passwordEvents, ...plan.events]) {
      await this.events.record(cluster, event);
    }
    if (!isDeepStrictEqual(plan.status, cluster.status ?? {})) {
      await this.writeStatus(cluster, plan.status);
      log.debug({ phase: plan.status.phase, readyNodes: plan.status.readyNodes }, 'status updated');
    }
  }

  /** What the informers hold for `cluster` (all but TLS, which the TLS step reports). */
  private observe(cluster: DatabaseCluster): Omit<ObservedCluster, 'tls'> {
    const namespace = cluster.metadata.namespace ?? '';
    const mine = (object: k8s.KubernetesObject): boolean => object.metadata?.labels?.[LABEL_INSTANCE] === cluster.metadata.name;
    const statefulSets = new Map<string, { replicas: number; storageSize: string | undefined }>();
    for (const set of this.statefulSets.list(namespace).filter(mine)) {
      const region = set.metadata?.labels?.[LABEL_REGION];
      if (region === undefined) continue;
      const storage = set.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.storage;
      statefulSets.set(region, { replicas: set.spec?.replicas ?? 0, storageSize: storage === undefined ? undefined : String(storage) });
    }
    const readyNodes = new Map<string, number>();
    const pods = this.pods.list(namespace).filter(mine);
    for (const pod of pods) {
      const region = pod.metadata?.labels?.[LABEL_REGION];
      if (region === undefined || pod.metadata?.labels?.[LABEL_COMPONENT] !== 'node' || pod.metadata.deletionTimestamp !== undefined) continue;
      if (pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true) {
        readyNodes.set(region, (readyNodes.get(region) ?? 0) + 1);
      }
    }
    const gateway = this.deployments.get(names.gateway(cluster.metadata.name ?? ''), namespace);
    const job = this.jobs.get(names.initJob(cluster.metadata.name ?? ''), namespace);
    return {
      statefulSets,
      readyNodes,
      readyGateways: gateway?.status?.readyReplicas ?? 0,
      initJob:
        job === undefined
          ? undefined
          : {
              succeeded: (job.status?.succeeded ?? 0) > 0,
              failed: job.status?.conditions?.some((c) => c.type === 'Failed' && c.status === 'True') === true,
              clusterId: initClusterId(pods.filter((pod) => pod.metadata?.labels?.[LABEL_COMPONENT] === 'init')),
            },
    };
  }

  /** A merge patch of the status; fields the new status drops (status.tls) are set to null to remove them. */
  private async writeStatus(cluster: DatabaseCluster, status: DatabaseClusterStatus): Promise<void> {
    const dropped = Object.keys(cluster.status ?? {}).filter((key) => !(key in status));
    const body = { status: { ...status, ...Object.fromEntries(dropped.map((key) => [key, null])) } };
    await this.custom.patchNamespacedCustomObjectStatus(
      { group: GROUP, version: VERSION, plural: PLURAL, namespace: cluster.metadata.namespace ?? '', name: cluster.metadata.name ?? '', body },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  }

  /** Adds the finalizer with a JSON patch that fails if the object changed since we read it. */
  private async addFinalizer(cluster: DatabaseCluster): Promise<void> {
    const finalizers = cluster.metadata.finalizers;
    const body = [
      { op: 'test', path: '/metadata/resourceVersion', value: cluster.metadata.resourceVersion },
      finalizers === undefined ? { op: 'add', path: '/metadata/finalizers', value: [FINALIZER] } : { op: 'add', path: '/metadata/finalizers/-', value: FINALIZER },
    ];
    await this.patchCluster(cluster, body);
  }

  private async removeFinalizer(cluster: DatabaseCluster): Promise<void> {
    const index = cluster.metadata.finalizers?.indexOf(FINALIZER) ?? -1;
    if (index < 0) return;
    await this.patchCluster(cluster, [
      { op: 'test', path: `/metadata/finalizers/${index}`, value: FINALIZER },
      { op: 'remove', path: `/metadata/finalizers/${index}` },
    ]);
  }

  private async patchCluster(cluster: DatabaseCluster, body: object[]): Promise<void> {
    try {
      await this.custom.patchNamespacedCustomObject(
        { group: GROUP, version: VERSION, plural: PLURAL, namespace: cluster.metadata.namespace ?? '', name: cluster.metadata.name ?? '', body },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /**
   * Deletes everything made for `cluster` except its volumes (they hold data; deleting
   * them is left to people), generated TLS Secrets included. Owner references would let a garbage collector do this;
   * the finalizer makes it happen without one too, and before the cluster is gone.
   */
  private async cleanUp(cluster: DatabaseCluster, log: Logger): Promise<void> {
    const namespace = cluster.metadata.namespace ?? '';
    const name = cluster.metadata.name ?? '';
    const ref = (apiVersion: string, kind: string, objectName: string): k8s.KubernetesObject => ({ apiVersion, kind, metadata: { name: objectName, namespace } });
    const regions = new Set([
      ...cluster.spec.regions.map((r) => r.name),
      ...this.statefulSets
        .list(namespace)
        .filter((s) => s.metadata?.labels?.[LABEL_INSTANCE] === name)
        .map((s) => s.metadata?.labels?.[LABEL_REGION] ?? ''),
    ]);
    const doomed = [
      ref('batch/v1', 'Job', names.initJob(name)),
      ref('apps/v1', 'Deployment', names.gateway(name)),
      ref('v1', 'Service', names.gateway(name)),
      ref('policy/v1', 'PodDisruptionBudget', names.gateway(name)),
      ...[...regions]
        .filter((r) => r !== '')
        .flatMap((region) => [
          ref('apps/v1', 'StatefulSet', names.nodes(name, region)),
          ref('v1', 'Service', names.nodes(name, region)),
          ref('policy/v1', 'PodDisruptionBudget', names.nodesPdb(name, region)),
        ]),
      ref('v1', 'ServiceAccount', names.serviceAccount(name)),
    ];
    for (const object of doomed) {
      await this.applier.delete(object);
    }
    const secrets = (await this.tlsSecrets.cleanUp(cluster)) + (await this.rootPassword.cleanUp(cluster));
    log.info({ objects: doomed.length, secrets }, 'deleted owned objects');
  }
}
