/**
 * A list+watch cache of one resource (client-node's ListWatch: it lists, then watches
 * from the list's resourceVersion, and lists again when the watch says 410 Gone) that
 * also restarts itself after errors, with a growing delay. Every change is passed to
 * `onChange`; `start` resolves once the first list is in the cache.
 */
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { apiMessage } from './errors';

export interface InformerOptions<T extends k8s.KubernetesObject> {
  readonly config: k8s.KubeConfig;
  /** The watch path, `/apis/apps/v1/statefulsets` or `/apis/apps/v1/namespaces/<ns>/statefulsets`. */
  readonly path: string;
  readonly list: () => Promise<k8s.KubernetesListObject<T>>;
  readonly labelSelector?: string;
  readonly onChange: (object: T) => void;
  readonly log: Logger;
}

export class Informer<T extends k8s.KubernetesObject> {
  private readonly inner: k8s.Informer<T> & k8s.ObjectCache<T>;
  private readonly path: string;
  private stopped = false;
  private restartDelayMs = 500;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(options: InformerOptions<T>) {
    this.path = options.path;
    this.inner = k8s.makeInformer(options.config, options.path, options.list, options.labelSelector);
    for (const verb of [k8s.ADD, k8s.UPDATE, k8s.DELETE] as const) {
      this.inner.on(verb, (object) => options.onChange(object));
    }
    this.inner.on(k8s.CONNECT, () => {
      this.restartDelayMs = 500;
    });
    this.inner.on(k8s.ERROR, (err: unknown) => {
      if (this.stopped) return;
      options.log.warn({ path: this.path, err: apiMessage(err), retryInMs: this.restartDelayMs }, 'watch failed; restarting');
      this.restartTimer = setTimeout(() => void this.inner.start().catch(() => undefined), this.restartDelayMs);
      this.restartDelayMs = Math.min(this.restartDelayMs * 2, 30_000);
    });
  }

  /** Lists, fills the cache and starts watching. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.inner.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    await this.inner.stop();
  }

  get(name: string, namespace?: string): T | undefined {
    return this.inner.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.inner.list(namespace);
  }
}
