/**
 * SQL user root's first password. Gateways ask for SCRAM passwords, so a new cluster
 * needs one to let anybody in: the init Job gives root the password held in Secret
 * `<cluster>-root-password` (key `password`, `cairn init --root-password-file`).
 *
 * The step runs before planning, until the cluster is initialised: a Secret that exists
 * is used as it is (a user who wants to choose the password creates it first); a missing
 * one is created with a random password, with create (not apply), so a Secret written
 * meanwhile is never overwritten. After init the Secret is left alone: the password is
 * the database's from then on (ALTER USER changes it there, not here).
 */
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import type { DatabaseCluster } from '../api';
import { type Applier, type EventSpec, isConflict } from '../k8s';
import { deleteGeneratedSecrets, readSecret } from './generated-secrets';
import { metadata, names } from './names';

export const ROOT_PASSWORD_KEY = 'password';

/** 24 characters of base64url: 144 random bits. */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

export function buildRootPasswordSecret(cluster: DatabaseCluster, password: string): k8s.V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: metadata(cluster, names.rootPasswordSecret(cluster.metadata.name ?? ''), 'auth'),
    type: 'Opaque',
    data: { [ROOT_PASSWORD_KEY]: Buffer.from(password, 'utf8').toString('base64') },
  };
}

export class RootPasswordSecret {
  private readonly core: k8s.CoreV1Api;
  /** Secret versions already warned about (cluster UID / resourceVersion). */
  private readonly warned = new Set<string>();

  constructor(
    config: k8s.KubeConfig,
    private readonly applier: Applier,
  ) {
    this.core = config.makeApiClient(k8s.CoreV1Api);
  }

  /** Makes sure the Secret exists before the init Job needs it; the Events of what it did. */
  async reconcile(cluster: DatabaseCluster): Promise<EventSpec[]> {
    if (cluster.status?.initialized === true) return [];
    const namespace = cluster.metadata.namespace ?? '';
    const name = names.rootPasswordSecret(cluster.metadata.name ?? '');
    const existing = await readSecret(this.core, namespace, name);
    if (existing !== undefined) {
      const password = existing.data?.[ROOT_PASSWORD_KEY];
      if (password !== undefined && password !== '') return [];
      // Once per version of the Secret, not at every reconcile.
      const seen = `${cluster.metadata.uid ?? ''}/${existing.metadata?.resourceVersion ?? ''}`;
      if (this.warned.has(seen)) return [];
      this.warned.add(seen);
      return [{ type: 'Warning', reason: 'RootPasswordInvalid', message: `the Secret ${name} has no '${ROOT_PASSWORD_KEY}': the init Job cannot start until it has` }];
    }
    try {
      await this.core.createNamespacedSecret({ namespace, body: buildRootPasswordSecret(cluster, generatePassword()) });
    } catch (err) {
      // Created meanwhile (a user, or a reconcile that lost its answer): keep that one.
      if (isConflict(err)) return [];
      throw err;
    }
    return [{ type: 'Normal', reason: 'RootPasswordGenerated', message: `generated SQL user root's password in the Secret ${name}` }];
  }

  /** Deletes the Secret if the operator generated it (never a user's). */
  cleanUp(cluster: DatabaseCluster): Promise<number> {
    return deleteGeneratedSecrets(this.core, this.applier, cluster, [names.rootPasswordSecret(cluster.metadata.name ?? '')]);
  }
}
