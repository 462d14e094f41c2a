import type { V1ServiceAccount } from '@kubernetes/client-node';
import type { DatabaseCluster } from '../api';
import { metadata, names } from './names';

/** The identity of the cluster's pods; they need no API access, so no token is mounted. */
export function buildServiceAccount(cluster: DatabaseCluster): V1ServiceAccount {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: metadata(cluster, names.serviceAccount(cluster.metadata.name ?? ''), 'node'),
    automountServiceAccountToken: false,
  };
}
