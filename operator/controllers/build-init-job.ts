import type { V1Job } from '@kubernetes/client-node';
import type { DatabaseCluster } from '../api';
import { containerSecurityContext, imageFields, podSecurityContext } from './build-common';
import { labels, metadata, names, nodeAddress } from './names';
import { ROOT_PASSWORD_KEY } from './root-password';

/** Kubernetes' default, kept explicit: the kubelet mounts it writable under a read-only root. */
export const INIT_TERMINATION_MESSAGE_PATH = '/dev/termination-log';

const ROOT_PASSWORD_VOLUME = 'root-password';
const ROOT_PASSWORD_DIR = '/etc/cairn/root-password';

/**
 * The one-shot `cairn init` against the first node of the first region, created once
 * the first nodes are ready. Init is refused by an initialised cluster, so the Job is
 * never re-created after it succeeded (status.initialized records that). It gives SQL
 * user root the password of Secret `<cluster>-root-password` (root-password.ts), and its
 * pod's termination message is the new cluster's ID.
 */
export function buildInitJob(cluster: DatabaseCluster): V1Job {
  const first = cluster.spec.regions[0];
  if (first === undefined) throw new Error('a DatabaseCluster has at least one region (CRD minItems)');
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: metadata(cluster, names.initJob(cluster.metadata.name ?? ''), 'init'),
    spec: {
      backoffLimit: 6,
      template: {
        metadata: { labels: labels(cluster, 'init') },
        spec: {
          restartPolicy: 'OnFailure',
          serviceAccountName: names.serviceAccount(cluster.metadata.name ?? ''),
          automountServiceAccountToken: false,
          securityContext: podSecurityContext,
          volumes: [
            {
              name: ROOT_PASSWORD_VOLUME,
              secret: { secretName: names.rootPasswordSecret(cluster.metadata.name ?? ''), items: [{ key: ROOT_PASSWORD_KEY, path: ROOT_PASSWORD_KEY }], defaultMode: 0o400 },
            },
          ],
          containers: [
            {
              name: 'cairn-init',
              ...imageFields(cluster),
              args: [
                'cairn',
                'init',
                '--host',
                nodeAddress(cluster, first.name, 0),
                '--cluster-id-file',
                INIT_TERMINATION_MESSAGE_PATH,
                '--root-password-file',
                `${ROOT_PASSWORD_DIR}/${ROOT_PASSWORD_KEY}`,
              ],
              volumeMounts: [{ name: ROOT_PASSWORD_VOLUME, mountPath: ROOT_PASSWORD_DIR, readOnly: true }],
              // The cluster ID comes back as the pod's termination message (status.clusterId).
              terminationMessagePath: INIT_TERMINATION_MESSAGE_PATH,
              terminationMessagePolicy: 'File',
              securityContext: containerSecurityContext,
            },
          ],
        },
      },
    },
  };
}
