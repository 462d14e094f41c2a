import type * as k8s from '@kubernetes/client-node';
import type { DatabaseCluster } from '../api';
import { type Applier, isNotFound } from '../k8s';
import { FIELD_MANAGER, LABEL_INSTANCE, LABEL_MANAGED_BY } from './names';

/** A Secret, or undefined when it does not exist. */
export async function readSecret(core: k8s.CoreV1Api, namespace: string, name: string): Promise<k8s.V1Secret | undefined> {
  try {
    return await core.readNamespacedSecret({ namespace, name });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * Deletes those of the named Secrets that the operator generated for `cluster` (labelled
 * as its own), never one a user provided under the same name. Returns how many went.
 */
export async function deleteGeneratedSecrets(core: k8s.CoreV1Api, applier: Applier, cluster: DatabaseCluster, secretNames: readonly string[]): Promise<number> {
  const namespace = cluster.metadata.namespace ?? '';
  const clusterName = cluster.metadata.name ?? '';
  let deleted = 0;
  for (const name of secretNames) {
    const labels = (await readSecret(core, namespace, name))?.metadata?.labels ?? {};
    if (labels[LABEL_MANAGED_BY] !== FIELD_MANAGER || labels[LABEL_INSTANCE] !== clusterName) continue;
    await applier.delete({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace } });
    deleted++;
  }
  return deleted;
}
