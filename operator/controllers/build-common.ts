/** Pod and container settings every Cairn pod shares. */
import type { V1Container, V1PodSecurityContext, V1ResourceRequirements, V1SecurityContext } from '@kubernetes/client-node';
import type { DatabaseCluster } from '../api';

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
