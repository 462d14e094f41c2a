/** Pod and container settings every Cairn pod shares. */
import type { V1Container, V1EnvVar, V1PodSecurityContext, V1ResourceRequirements, V1SecurityContext, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { DatabaseCluster } from '../api';
import { mountedTlsSecret } from './tls-plan';

/** The image's non-root user (Dockerfile). */
export const CAIRN_UID = 1000;

export const podSecurityContext: V1PodSecurityContext = {
  runAsNonRoot: true,
  runAsUser: CAIRN_UID,
  runAsGroup: CAIRN_UID,
  fsGroup: CAIRN_UID,
  seccompProfile: { type: 'RuntimeDefault' },
};

export const containerSecurityContext: V1SecurityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
};

/** The fields of a container that come from the cluster's image settings. */
export function imageFields(cluster: DatabaseCluster): Pick<V1Container, 'image' | 'imagePullPolicy'> {
  return { image: cluster.spec.image, imagePullPolicy: cluster.spec.imagePullPolicy };
}

/** `resources` when the spec has some (an absent field, not an empty one, otherwise). */
export function resourcesField(resources: V1ResourceRequirements | undefined): Pick<V1Container, 'resources'> {
  return resources === undefined ? {} : { resources };
}

/**
 * Where nodes and gateways find the TLS Secret's `ca.crt`, `tls.crt` and `tls.key`, and
 * the variable naming it. cairn-node and cairn-gateway do not speak TLS yet (they ignore
 * CAIRN_CERTS_DIR); the Secret is mounted now so that turning TLS on in them needs no
 * change of the pods' shape.
 */
export const CERTS_DIR = '/etc/cairn/certs';
export const CERTS_DIR_ENV = 'CAIRN_CERTS_DIR';
const CERTS_VOLUME = 'certs';
/** Read-only for the owner and group: the pod's fsGroup (CAIRN_UID) owns the files. */
const CERTS_MODE = 0o440;

/** The volume, mount and variable for the cluster's TLS Secret; all empty without TLS. */
export function tlsPodFields(cluster: DatabaseCluster): { volumes: V1Volume[]; volumeMounts: V1VolumeMount[]; env: V1EnvVar[] } {
  const secretName = mountedTlsSecret(cluster);
  if (secretName === undefined) return { volumes: [], volumeMounts: [], env: [] };
  return {
    volumes: [{ name: CERTS_VOLUME, secret: { secretName, defaultMode: CERTS_MODE } }],
    volumeMounts: [{ name: CERTS_VOLUME, mountPath: CERTS_DIR, readOnly: true }],
    env: [{ name: CERTS_DIR_ENV, value: CERTS_DIR }],
  };
}
