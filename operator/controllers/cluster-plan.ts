/**
 * What should exist for a DatabaseCluster and what its status says, from the resource
 * and what the informers see (pure: no I/O, the time passed in). The controller applies
 * `objects` in order, creates the init Job when asked, records `events` and writes
 * `status` when it differs from the stored one.
 */
import type { KubernetesObject, V1Pod } from '@kubernetes/client-node';
import type { Condition, ConditionType, DatabaseCluster, DatabaseClusterStatus, Phase, TlsStatus } from '../api';
import type { EventSpec } from '../k8s';
import { buildGatewayDeployment, buildGatewayPdb, buildGatewayService } from './build-gateway';
import { buildInitJob } from './build-init-job';
import { buildNodePdb, buildNodeService, buildNodeStatefulSet } from './build-nodes';
import { buildServiceAccount } from './build-service-account';

/** The cluster's objects as the informers see them. */
export interface ObservedCluster {
  /** Existing node StatefulSets by region. */
  readonly statefulSets: ReadonlyMap<string, { readonly replicas: number; readonly storageSize: string | undefined }>;
  /** Ready node pods by region. */
  readonly readyNodes: ReadonlyMap<string, number>;
  /** Ready gateway pods (the Deployment's status). */
  readonly readyGateways: number;
  readonly initJob:
    | {
        readonly succeeded: boolean;
        readonly failed: boolean;
        /** From its pods' termination messages (`initClusterId`), once one says it. */
        readonly clusterId: string | undefined;
      }
    | undefined;
  /** The TLS Secrets, as the controller's TLS step left them (it runs before planning). */
  readonly tls: ObservedTls;
}

export type ObservedTls =
  | { readonly kind: 'none' }
  | { readonly kind: 'ready'; readonly status: TlsStatus }
  /** `reason`: SecretNotFound, SecretIncomplete, CaUnusable. */
  | { readonly kind: 'not-ready'; readonly reason: string; readonly message: string; readonly status: TlsStatus };

export interface ClusterPlan {
  /** To server-side apply, in this order. */
  readonly objects: readonly KubernetesObject[];
  /** The init Job to create, when it is time (applied once: a Job's template is immutable). */
  readonly initJob: KubernetesObject | undefined;
  readonly status: DatabaseClusterStatus;
  /** For what changed: conditions turning, the init Job, a refused scale-down. */
  readonly events: readonly EventSpec[];
}

interface Region {
  readonly name: string;
  readonly desired: number;
  readonly replicas: number;
  readonly ready: number;
}

export function planCluster(cluster: DatabaseCluster, observed: ObservedCluster, now: string): ClusterPlan {
  const previous = cluster.status ?? {};
  const refusals: string[] = [];
  const regions: Region[] = cluster.spec.regions.map((region) => {
    const existing = observed.statefulSets.get(region.name);
    // Shrinking a StatefulSet would delete pods holding replicas: refused until
    // decommissioning exists.
    const replicas = Math.max(region.nodes, existing?.replicas ?? 0);
    if (replicas > region.nodes) {
      refusals.push(`region ${region.name} has ${replicas} nodes and the spec asks for ${region.nodes}: scaling down needs node decommissioning, which is not supported yet`);
    }
    return { name: region.name, desired: region.nodes, replicas, ready: Math.min(observed.readyNodes.get(region.name) ?? 0, replicas) };
  });
  for (const [name, existing] of observed.statefulSets) {
    if (!cluster.spec.regions.some((r) => r.name === name) && existing.replicas > 0) {
      refusals.push(`region ${name} was removed from the spec but has ${existing.replicas} nodes: removing a region is not supported yet`);
    }
  }

  const objects: KubernetesObject[] = [buildServiceAccount(cluster)];
  for (const [i, region] of cluster.spec.regions.entries()) {
    const planned = regions[i]!;
    objects.push(
      buildNodeService(cluster, region),
      buildNodeStatefulSet({ cluster, region, replicas: planned.replicas, existingStorageSize: observed.statefulSets.get(region.name)?.storageSize }),
      buildNodePdb(cluster, region),
    );
  }
  objects.push(buildGatewayDeployment(cluster), buildGatewayService(cluster), buildGatewayPdb(cluster));

  const totalNodes = regions.reduce((sum, r) => sum + r.replicas, 0);
  const readyNodes = regions.reduce((sum, r) => sum + r.ready, 0);
  const initialized = previous.initialized === true || observed.initJob?.succeeded === true;
  // `cairn init` needs enough nodes up for the first ranges' replicas.
  const initQuorum = Math.min(cluster.spec.replicationFactor, totalNodes);
  const createInit = !initialized && observed.initJob === undefined && readyNodes >= initQuorum;
  const initFailed = !initialized && observed.initJob?.failed === true;
  const gatewaysReady = observed.readyGateways >= cluster.spec.gateway.replicas;
  const nodesReady = regions.every((r) => r.ready >= r.replicas);

  const generation = cluster.metadata.generation ?? 0;
  const condition = (type: ConditionType, holds: boolean, reason: string, message: string): Condition => ({
    type,
    status: holds ? 'True' : 'False',
    reason,
    message,
    lastTransitionTime: now,
    observedGeneration: generation,
  });
  const ready = initialized && nodesReady && gatewaysReady;
  const readyCondition = ready
    ? condition('Ready', true, 'AllReady', `${readyNodes} nodes and ${observed.readyGateways} gateways are ready`)
    : !initialized
      ? condition('Ready', false, 'NotInitialized', 'the cluster has not been initialised yet')
      : !nodesReady
        ? condition('Ready', false, 'NodesNotReady', `${readyNodes} of ${totalNodes} nodes are ready`)
        : condition('Ready', false, 'GatewaysNotReady', `${observed.readyGateways} of ${cluster.spec.gateway.replicas} gateways are ready`);
  const progressingCondition = !initialized
    ? condition('Progressing', true, 'Initializing', createInit || observed.initJob !== undefined ? 'the init Job runs' : `waiting for ${initQuorum} ready nodes to initialise (${readyNodes} ready)`)
    : !nodesReady
      ? condition('Progressing', true, 'NodesStarting', `${readyNodes} of ${totalNodes} nodes are ready`)
      : !gatewaysReady
        ? condition('Progressing', true, 'GatewaysStarting', `${observed.readyGateways} of ${cluster.spec.gateway.replicas} gateways are ready`)
        : condition('Progressing', false, 'Stable', 'everything is as the spec asks');
  const degradedCondition =
    refusals.length > 0
      ? condition('Degraded', true, 'ScaleDownRefused', refusals.join('; '))
      : initFailed
        ? condition('Degraded', true, 'InitFailed', 'the init Job failed; see its pods\' logs')
        : condition('Degraded', false, 'AsExpected', 'nothing is degraded');

  const tls = observed.tls;
  const tlsCondition =
    tls.kind === 'none'
      ? undefined
      : tls.kind === 'ready'
        ? condition('TLSReady', true, tls.status.generated ? 'Generated' : 'SecretProvided', `nodes and gateways mount the Secret ${tls.status.secretName}`)
        : condition('TLSReady', false, tls.reason, tls.message);

  const conditions = [readyCondition, progressingCondition, degradedCondition, ...(tlsCondition === undefined ? [] : [tlsCondition])].map((c) =>
    keepTransitionTime(c, previous.conditions),
  );
  const phase: Phase =
    degradedCondition.status === 'True' ? 'Degraded' : initialized ? 'Running' : readyNodes > 0 ? 'Initializing' : 'Pending';
  const initJobName = createInit ? buildInitJob(cluster).metadata?.name : previous.initJobName;
  const clusterId = previous.clusterId ?? (initialized ? observed.initJob?.clusterId : undefined);
  const status: DatabaseClusterStatus = {
    ...withoutTls(previous),
    phase,
    conditions,
    observedGeneration: generation,
    readyNodes: `${readyNodes}/${totalNodes}`,
    regions: regions.map((r) => ({ name: r.name, nodes: r.replicas, readyNodes: r.ready })),
    regionNames: regions.map((r) => r.name).join(','),
    initialized,
    ...(initJobName === undefined ? {} : { initJobName }),
    ...(clusterId === undefined ? {} : { clusterId }),
    ...(tls.kind === 'none' ? {} : { tls: tls.status }),
  };

  const events: EventSpec[] = [];
  const turned = (c: Condition): boolean => previous.conditions?.find((p) => p.type === c.type)?.status !== c.status || changedReason(c, previous.conditions);
  if (degradedCondition.status === 'True' && turned(degradedCondition)) {
    events.push({ type: 'Warning', reason: degradedCondition.reason, message: degradedCondition.message });
  }
  if (tlsCondition?.status === 'False' && turned(tlsCondition)) events.push({ type: 'Warning', reason: tlsCondition.reason, message: tlsCondition.message });
  if (createInit) events.push({ type: 'Normal', reason: 'InitJobCreated', message: `created the init Job ${initJobName} (${readyNodes} nodes ready)` });
  if (initialized && previous.initialized !== true) events.push({ type: 'Normal', reason: 'Initialized', message: 'the cluster is initialised' });
  if (clusterId !== undefined && previous.clusterId === undefined) events.push({ type: 'Normal', reason: 'ClusterIdRecorded', message: `the cluster's ID is ${clusterId}` });
  if (readyCondition.status === 'True' && turned(readyCondition)) events.push({ type: 'Normal', reason: 'Ready', message: readyCondition.message });

  return { objects, initJob: createInit ? buildInitJob(cluster) : undefined, status, events };
}

/** The status less its `tls` (gone once the spec drops TLS). */
function withoutTls(status: DatabaseClusterStatus): DatabaseClusterStatus {
  const copy: { -readonly [K in keyof DatabaseClusterStatus]: DatabaseClusterStatus[K] } = { ...status };
  delete copy.tls;
  return copy;
}

/** A condition whose status did not change keeps its lastTransitionTime. */
function keepTransitionTime(next: Condition, previous: readonly Condition[] | undefined): Condition {
  const old = previous?.find((c) => c.type === next.type);
  return old !== undefined && old.status === next.status ? { ...next, lastTransitionTime: old.lastTransitionTime } : next;
}

function changedReason(next: Condition, previous: readonly Condition[] | undefined): boolean {
  return previous?.find((c) => c.type === next.type)?.reason !== next.reason;
}

const CLUSTER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The cluster ID that a successful `cairn init --cluster-id-file` left as its pod's
 * termination message, from the init Job's pods; undefined until one has it.
 */
export function initClusterId(pods: readonly V1Pod[]): string | undefined {
  for (const pod of pods) {
    for (const status of pod.status?.containerStatuses ?? []) {
      const terminated = status.state?.terminated;
      const message = terminated?.message?.trim();
      if (terminated?.exitCode === 0 && message !== undefined && CLUSTER_ID.test(message)) return message;
    }
  }
  return undefined;
}
