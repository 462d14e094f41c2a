/** Server-side apply of whole objects under one field manager, and deletes by label. */
import * as k8s from '@kubernetes/client-node';
import { isNotFound } from './errors';

export class Applier {
  private readonly objects: k8s.KubernetesObjectApi;

  constructor(
    config: k8s.KubeConfig,
    /** The field manager: the apply owns exactly the fields of the objects it sends. */
    readonly fieldManager: string,
  ) {
    this.objects = k8s.KubernetesObjectApi.makeApiClient(config);
  }

  /**
   * Applies `object` (apiVersion, kind, metadata.name and namespace set): creates it or
   * makes the fields this manager owns what `object` says, taking fields over from other
   * managers (force), and drops the fields it owned that `object` no longer has.
   */
  apply<T extends k8s.KubernetesObject>(object: T): Promise<T> {
    return this.objects.patch(object, undefined, undefined, this.fieldManager, true, k8s.PatchStrategy.ServerSideApply);
  }

  /** Deletes `object` (by kind, namespace and name) if it exists; its dependents in the background. */
  async delete(object: k8s.KubernetesObject): Promise<void> {
    try {
      await this.objects.delete(object, undefined, undefined, undefined, undefined, 'Background');
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
