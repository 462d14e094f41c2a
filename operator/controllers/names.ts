/** Names, labels and owner references of the objects made for a DatabaseCluster. */
import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import { API_VERSION, type DatabaseCluster, KIND } from '../api';

export const FIELD_MANAGER = 'cairn-operator';
export const FINALIZER = 'cairn.dev/cleanup';

export const NODE_GRPC_PORT = 26258;
export const HTTP_PORT = 8080;
export const SQL_PORT = 5432;

export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_INSTANCE = 'app.kubernetes.io/instance';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_REGION = 'cairn.dev/region';

/** Selects every object the operator manages (its informers watch only these). */
export const MANAGED_SELECTOR = `${LABEL_MANAGED_BY}=${FIELD_MANAGER}`;

export type Component = 'node' | 'gateway' | 'init' | 'tls' | 'auth';

export const names = {
  nodes: (cluster: string, region: string) => `${cluster}-${region}`,
  gateway: (cluster: string) => `${cluster}-gateway`,
  nodesPdb: (cluster: string, region: string) => `${cluster}-${region}`,
  serviceAccount: (cluster: string) => `${cluster}-cairn`,
  initJob: (cluster: string) => `${cluster}-init`,
  /** The generated CA (kept for the cluster's life: every certificate chains to it). */
  caSecret: (cluster: string) => `${cluster}-ca`,
  /** The generated node certificate, mounted by nodes and gateways. */
  nodeTlsSecret: (cluster: string) => `${cluster}-node-tls`,
  /** The generated client certificate of the SQL user `root`. */
  clientTlsSecret: (cluster: string) => `${cluster}-client-root-tls`,
  /** SQL user root's password (key `password`): generated unless it exists before init. */
  rootPasswordSecret: (cluster: string) => `${cluster}-root-password`,
};

/** The labels that pick a component's pods (stable: they are StatefulSet selectors). */
export function selectorLabels(cluster: DatabaseCluster, component: Component, region?: string): Record<string, string> {
  return {
    [LABEL_NAME]: 'cairn',
    [LABEL_INSTANCE]: cluster.metadata.name ?? '',
    [LABEL_COMPONENT]: component,
    ...(region === undefined ? {} : { [LABEL_REGION]: region }),
  };
}

export function labels(cluster: DatabaseCluster, component: Component, region?: string): Record<string, string> {
  return { ...selectorLabels(cluster, component, region), [LABEL_MANAGED_BY]: FIELD_MANAGER };
}

/** The cluster as controller owner: deleting it deletes what it owns (where a GC runs). */
export function ownerReference(cluster: DatabaseCluster): V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: cluster.metadata.name ?? '',
    uid: cluster.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function metadata(cluster: DatabaseCluster, name: string, component: Component, region?: string): V1ObjectMeta {
  return {
    name,
    namespace: cluster.metadata.namespace ?? 'default',
    labels: labels(cluster, component, region),
    ownerReferences: [ownerReference(cluster)],
  };
}

/** `namespace/name`, the work queue's key. */
export function clusterKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** A storage node's stable address: `<pod>.<headless service>.<namespace>.svc.cluster.local:26258`. */
export function nodeAddress(cluster: DatabaseCluster, region: string, ordinal: number): string {
  const set = names.nodes(cluster.metadata.name ?? '', region);
  return `${set}-${ordinal}.${set}.${cluster.metadata.namespace ?? 'default'}.svc.cluster.local:${NODE_GRPC_PORT}`;
}

/** The addresses new nodes and gateways join through: the first three nodes of every region. */
export function joinAddresses(cluster: DatabaseCluster): string[] {
  return cluster.spec.regions.flatMap((region) =>
    Array.from({ length: Math.min(region.nodes, 3) }, (_, ordinal) => nodeAddress(cluster, region.name, ordinal)),
  );
}
