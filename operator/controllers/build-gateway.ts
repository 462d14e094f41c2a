/** The SQL gateways: a Deployment, its Service on port 5432, and a PodDisruptionBudget. */
import type { V1Deployment, V1PodDisruptionBudget, V1Service } from '@kubernetes/client-node';
import type { DatabaseCluster } from '../api';
import { containerSecurityContext, imageFields, podSecurityContext, resourcesField, tlsPodFields } from './build-common';
import { HTTP_PORT, joinAddresses, labels, metadata, names, selectorLabels, SQL_PORT } from './names';

export function buildGatewayDeployment(cluster: DatabaseCluster): V1Deployment {
  const clusterName = cluster.metadata.name ?? '';
  const tls = tlsPodFields(cluster);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(cluster, names.gateway(clusterName), 'gateway'),
    spec: {
      replicas: cluster.spec.gateway.replicas,
      selector: { matchLabels: selectorLabels(cluster, 'gateway') },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: labels(cluster, 'gateway') },
        spec: {
          serviceAccountName: names.serviceAccount(clusterName),
          automountServiceAccountToken: false,
          securityContext: podSecurityContext,
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: 'topology.kubernetes.io/zone',
              whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: selectorLabels(cluster, 'gateway') },
            },
          ],
          containers: [
            {
              name: 'cairn-gateway',
              ...imageFields(cluster),
              args: [
                'cairn-gateway',
                `--listen-addr=0.0.0.0:${SQL_PORT}`,
                `--http-addr=0.0.0.0:${HTTP_PORT}`,
                `--join=${joinAddresses(cluster).join(',')}`,
                ...(cluster.spec.extraArgs?.gateway ?? []),
              ],
              ...(tls.env.length === 0 ? {} : { env: tls.env }),
              ports: [
                { name: 'sql', containerPort: SQL_PORT, protocol: 'TCP' },
                { name: 'http', containerPort: HTTP_PORT, protocol: 'TCP' },
              ],
              readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 5 },
              livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, initialDelaySeconds: 10, periodSeconds: 10 },
              ...resourcesField(cluster.spec.resources?.gateways),
              securityContext: containerSecurityContext,
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, ...tls.volumeMounts],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: {} }, ...tls.volumes],
        },
      },
    },
  };
}

export function buildGatewayService(cluster: DatabaseCluster): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(cluster, names.gateway(cluster.metadata.name ?? ''), 'gateway'),
    spec: {
      type: cluster.spec.gateway.serviceType,
      selector: selectorLabels(cluster, 'gateway'),
      ports: [{ name: 'sql', port: SQL_PORT, targetPort: 'sql', protocol: 'TCP' }],
    },
  };
}

/** Gateways are stateless: keep most of them up (all but one) during voluntary disruptions. */
export function buildGatewayPdb(cluster: DatabaseCluster): V1PodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: metadata(cluster, names.gateway(cluster.metadata.name ?? ''), 'gateway'),
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(cluster, 'gateway') } },
  };
}
