/** Records core/v1 Events about an object, as `kubectl describe` shows them. */
import * as crypto from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { apiMessage } from './errors';

export type EventType = 'Normal' | 'Warning';

export interface EventSpec {
  readonly type: EventType;
  /** A CamelCase word (`ScaleDownRefused`). */
  readonly reason: string;
  readonly message: string;
}

export class EventRecorder {
  private readonly core: k8s.CoreV1Api;

  constructor(
    config: k8s.KubeConfig,
    private readonly component: string,
    private readonly log: Logger,
  ) {
    this.core = config.makeApiClient(k8s.CoreV1Api);
  }

  /** Records an Event; a failure to record is logged, never thrown (Events are best effort). */
  async record(object: k8s.KubernetesObject, event: EventSpec): Promise<void> {
    const namespace = object.metadata?.namespace ?? 'default';
    const name = object.metadata?.name ?? '';
    const now = new Date();
    try {
      await this.core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { name: `${name}.${crypto.randomBytes(8).toString('hex')}`, namespace },
          involvedObject: definedOnly({
            apiVersion: object.apiVersion,
            kind: object.kind,
            name,
            namespace,
            uid: object.metadata?.uid,
            resourceVersion: object.metadata?.resourceVersion,
          }),
          type: event.type,
          reason: event.reason,
          message: event.message,
          source: { component: this.component },
          reportingComponent: this.component,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
      this.log.info({ object: `${namespace}/${name}`, reason: event.reason, type: event.type }, event.message);
    } catch (err) {
      this.log.warn({ object: `${namespace}/${name}`, reason: event.reason, err: apiMessage(err) }, 'could not record an event');
    }
  }
}

function definedOnly<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}
