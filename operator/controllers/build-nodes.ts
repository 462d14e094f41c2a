/**
 * A region's storage nodes: a StatefulSet of cairn-node pods, the headless Service that
 * gives each pod its stable DNS name, and a PodDisruptionBudget letting one node go at a
 * time.
 */
import type { V1Affinity, V1PodDisruptionBudget, V1Service, V1StatefulSet } from '@kubernetes/client-node';
import type { DatabaseCluster, RegionSpec } from '../api';
import { containerSecurityContext, imageFields, podSecurityContext, resourcesField, tlsPodFields } from './build-common';
import { HTTP_PORT, joinAddresses, metadata, names, NODE_GRPC_PORT, selectorLabels, labels } from './names';

export const ZONE_LABEL = 'topology.kubernetes.io/zone';
const DATA_DIR = '/data';

export interface NodeStatefulSetInput {
  readonly cluster: DatabaseCluster;
  readonly region: RegionSpec;
  /** The pod count to ask for: the spec's, unless a refused scale-down keeps more. */
  readonly replicas: number;
  /**
   * The volume size of the existing StatefulSet (its claim templates cannot change);
   * undefined for a new one.
   */
  readonly existingStorageSize: string | undefined;
}

export function buildNodeStatefulSet(input: NodeStatefulSetInput): V1StatefulSet {
  const { cluster, region } = input;
  const clusterName = cluster.metadata.name ?? '';
  const namespace = cluster.metadata.namespace ?? 'default';
  const setName = names.nodes(clusterName, region.name);
  const podLabels = labels(cluster, 'node', region.name);
  const storage = cluster.spec.storage;
  const tls = tlsPodFields(cluster);
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: metadata(cluster, setName, 'node', region.name),
    spec: {
      serviceName: setName,
      replicas: input.replicas,
      // Nodes start together: a node's readiness waits for the cluster to be initialised,
      // which waits for nodes.
      podManagementPolicy: 'Parallel',
      updateStrategy: { type: 'RollingUpdate' },
      selector: { matchLabels: selectorLabels(cluster, 'node', region.name) },
      template: {
        metadata: { labels: podLabels },
        spec: {
          serviceAccountName: names.serviceAccount(clusterName),
          automountServiceAccountToken: false,
          securityContext: podSecurityContext,
          terminationGracePeriodSeconds: 60,
          ...(region.nodeSelector === undefined ? {} : { nodeSelector: { ...region.nodeSelector } }),
          ...(region.tolerations === undefined ? {} : { tolerations: [...region.tolerations] }),
          ...affinityField(region),
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: ZONE_LABEL,
              whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: selectorLabels(cluster, 'node', region.name) },
            },
          ],
          containers: [
            {
              name: 'cairn-node',
              ...imageFields(cluster),
              // The image's entry point (tini, then docker/entrypoint.sh) picks the program
              // from the first argument, and turns CAIRN_REGION and CAIRN_ZONE into
              // cairn-node's --locality (leaving the zone out when the pod has no zone label).
              args: [
                'cairn-node',
                `--data-dir=${DATA_DIR}`,
                `--listen-addr=$(POD_NAME).${setName}.${namespace}.svc.cluster.local:${NODE_GRPC_PORT}`,
                `--http-addr=0.0.0.0:${HTTP_PORT}`,
                `--join=${joinAddresses(cluster).join(',')}`,
                ...(cluster.spec.extraArgs?.node ?? []),
              ],
              env: [
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'CAIRN_REGION', value: region.name },
                // Kubernetes copies the node's topology labels onto pods with the
                // PodTopologyLabelsAdmission plugin; without it the zone stays empty.
                { name: 'CAIRN_ZONE', valueFrom: { fieldRef: { fieldPath: `metadata.labels['${ZONE_LABEL}']` } } },
                ...tls.env,
              ],
              ports: [
                { name: 'grpc', containerPort: NODE_GRPC_PORT, protocol: 'TCP' },
                { name: 'http', containerPort: HTTP_PORT, protocol: 'TCP' },
              ],
              readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 5, failureThreshold: 3 },
              livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, initialDelaySeconds: 15, periodSeconds: 10, failureThreshold: 6 },
              ...resourcesField(cluster.spec.resources?.nodes),
              securityContext: containerSecurityContext,
              volumeMounts: [
                { name: 'data', mountPath: DATA_DIR },
                { name: 'tmp', mountPath: '/tmp' },
                ...tls.volumeMounts,
              ],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: {} }, ...tls.volumes],
        },
      },
      volumeClaimTemplates: [
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: 'data', labels: podLabels },
          spec: {
            accessModes: ['ReadWriteOnce'],
            ...(storage.storageClassName === undefined ? {} : { storageClassName: storage.storageClassName }),
            resources: { requests: { storage: input.existingStorageSize ?? storage.size } },
          },
        },
      ],
      // Volumes hold data: they outlive the StatefulSet and its scale-downs.
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
    },
  };
}

/** The region's zones as a required node affinity, added to any affinity the spec gives. */
function affinityField(region: RegionSpec): { affinity?: V1Affinity } {
  const zones = region.zones ?? [];
  if (zones.length === 0) return region.affinity === undefined ? {} : { affinity: region.affinity };
  const zoneTerm = { key: ZONE_LABEL, operator: 'In', values: [...zones] };
  const given = region.affinity ?? {};
  const required = given.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  const terms = (required?.nodeSelectorTerms ?? [{}]).map((term) => ({ ...term, matchExpressions: [...(term.matchExpressions ?? []), zoneTerm] }));
  return {
    affinity: {
      ...given,
      nodeAffinity: { ...given.nodeAffinity, requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } },
    },
  };
}

/** The headless Service behind the pods' DNS names; it publishes pods before they are ready, for joining. */
export function buildNodeService(cluster: DatabaseCluster, region: RegionSpec): V1Service {
  const name = names.nodes(cluster.metadata.name ?? '', region.name);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(cluster, name, 'node', region.name),
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: selectorLabels(cluster, 'node', region.name),
      ports: [
        { name: 'grpc', port: NODE_GRPC_PORT, targetPort: 'grpc', protocol: 'TCP' },
        { name: 'http', port: HTTP_PORT, targetPort: 'http', protocol: 'TCP' },
      ],
    },
  };
}

/** At most one of a region's nodes down for voluntary disruptions (drains, upgrades). */
export function buildNodePdb(cluster: DatabaseCluster, region: RegionSpec): V1PodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: metadata(cluster, names.nodesPdb(cluster.metadata.name ?? '', region.name), 'node', region.name),
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(cluster, 'node', region.name) } },
  };
}
