import type { DatabaseCluster, DatabaseClusterSpec } from '../api';

/** A DatabaseCluster as the API server returns it (defaults filled in), for unit tests. */
export function testCluster(spec: Partial<DatabaseClusterSpec> = {}, status?: DatabaseCluster['status']): DatabaseCluster {
  return {
    apiVersion: 'cairn.dev/v1alpha1',
    kind: 'DatabaseCluster',
    metadata: { name: 'db', namespace: 'ns', uid: 'uid-1', generation: 1 },
    spec: {
      image: 'cairn:1',
      imagePullPolicy: 'IfNotPresent',
      regions: [{ name: 'east', nodes: 3 }],
      storage: { size: '10Gi' },
      gateway: { replicas: 2, serviceType: 'ClusterIP' },
      replicationFactor: 3,
      ...spec,
    },
    ...(status === undefined ? {} : { status }),
  };
}
