/**
 * The reconcile's TLS step, run before planning (the pods mount what it leaves):
 *
 * - no TLS: nothing;
 * - `spec.tls.secretName`: the user's Secret is checked for ca.crt, tls.crt and tls.key
 *   and mounted as it is, never written;
 * - `spec.tls.generate`: the CA Secret is created if missing (with create, not apply, so a
 *   CA another reconcile just made is never overwritten: the create fails and the key is
 *   retried), then the node and client certificates are issued again whenever tls-plan.ts
 *   says so, and applied.
 *
 * The Secrets are read with GETs, not from an informer, so a Secret written a moment ago
 * is never missed (a lagging cache would mean a second CA). Nothing watches them: a
 * deleted Secret comes back at the next resync.
 */
import * as k8s from '@kubernetes/client-node';
import type { DatabaseCluster, TlsStatus } from '../api';
import type { Applier, EventSpec } from '../k8s';
import { buildTlsSecret } from './build-tls-secrets';
import type { ObservedTls } from './cluster-plan';
import { deleteGeneratedSecrets, readSecret } from './generated-secrets';
import { names } from './names';
import { generateCa, issueCertificate, type KeyAndCertificate } from './tls-certificates';
import {
  CERT_KEY,
  certificateNotAfter,
  checkProvidedSecret,
  type IssueReason,
  nodeCertificateNames,
  planCa,
  planLeaf,
  ROOT_USER,
  type SecretData,
  tlsMode,
} from './tls-plan';

/** The node certificate's subject (nodes and gateways share it). */
const NODE_COMMON_NAME = 'node';

export interface TlsStepResult {
  readonly tls: ObservedTls;
  /** What was generated, to record on the cluster. */
  readonly events: readonly EventSpec[];
}

export class TlsSecrets {
  private readonly core: k8s.CoreV1Api;

  constructor(
    config: k8s.KubeConfig,
    private readonly applier: Applier,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.core = config.makeApiClient(k8s.CoreV1Api);
  }

  async reconcile(cluster: DatabaseCluster): Promise<TlsStepResult> {
    const namespace = cluster.metadata.namespace ?? '';
    const mode = tlsMode(cluster);
    switch (mode.kind) {
      case 'none':
        return { tls: { kind: 'none' }, events: [] };
      case 'provided': {
        const data = await this.read(namespace, mode.secretName);
        const problem = checkProvidedSecret(mode.secretName, data);
        const status: TlsStatus = { secretName: mode.secretName, generated: false };
        return problem === undefined
          ? { tls: { kind: 'ready', status }, events: [] }
          : { tls: { kind: 'not-ready', reason: data === undefined ? 'SecretNotFound' : 'SecretIncomplete', message: problem, status }, events: [] };
      }
      case 'generated': {
        const now = this.now();
        const status: TlsStatus = { secretName: mode.secretName, generated: true, caSecretName: mode.caSecretName, clientSecretName: mode.clientSecretName };
        const generated: string[] = [];
        const decision = planCa(await this.read(namespace, mode.caSecretName));
        let ca: KeyAndCertificate;
        switch (decision.kind) {
          case 'unusable':
            return { tls: { kind: 'not-ready', reason: 'CaUnusable', message: `${decision.message}; the operator never replaces a CA (delete ${mode.caSecretName} to start over)`, status }, events: [] };
          case 'keep':
            ca = decision;
            break;
          case 'create': {
            ca = await generateCa(`Cairn CA ${namespace}/${cluster.metadata.name ?? ''}`, now);
            await this.core.createNamespacedSecret({
              namespace,
              body: buildTlsSecret(cluster, mode.caSecretName, { caCertPem: ca.certPem, certPem: ca.certPem, keyPem: ca.keyPem }),
            });
            generated.push(`the CA ${mode.caSecretName} (valid until ${certificateNotAfter(ca.certPem)})`);
            break;
          }
          default:
            return unreachable(decision);
        }

        const nodeNames = nodeCertificateNames(cluster);
        const nodeCertPem = await this.maybeIssue(cluster, ca, mode.secretName, { commonName: NODE_COMMON_NAME, names: nodeNames }, now, generated, () =>
          issueCertificate(ca, { commonName: NODE_COMMON_NAME, usage: 'server-and-client', ...nodeNames }, now),
        );
        await this.maybeIssue(cluster, ca, mode.clientSecretName, { commonName: ROOT_USER }, now, generated, () =>
          issueCertificate(ca, { commonName: ROOT_USER, usage: 'client', dnsNames: [], ipAddresses: [] }, now),
        );
        const events: EventSpec[] =
          generated.length === 0 ? [] : [{ type: 'Normal', reason: 'TLSCertificatesGenerated', message: `generated ${generated.join('; ')}` }];
        return { tls: { kind: 'ready', status: { ...status, notAfter: certificateNotAfter(nodeCertPem) } }, events };
      }
      default:
        return unreachable(mode);
    }
  }

  /** Deletes the generated Secrets of `cluster` (those labelled as its own; never a user's). */
  cleanUp(cluster: DatabaseCluster): Promise<number> {
    const clusterName = cluster.metadata.name ?? '';
    return deleteGeneratedSecrets(this.core, this.applier, cluster, [names.nodeTlsSecret(clusterName), names.clientTlsSecret(clusterName), names.caSecret(clusterName)]);
  }

  /** Issues the certificate of Secret `name` again when tls-plan says so; returns the certificate in force. */
  private async maybeIssue(
    cluster: DatabaseCluster,
    ca: KeyAndCertificate,
    name: string,
    want: Parameters<typeof planLeaf>[2],
    now: Date,
    generated: string[],
    issue: () => Promise<KeyAndCertificate>,
  ): Promise<string> {
    const namespace = cluster.metadata.namespace ?? '';
    const existing = await this.read(namespace, name);
    const reason: IssueReason | undefined = planLeaf(ca.certPem, existing, want, now.getTime());
    if (reason === undefined) return existing![CERT_KEY]!;
    const leaf = await issue();
    await this.applier.apply(buildTlsSecret(cluster, name, { caCertPem: ca.certPem, certPem: leaf.certPem, keyPem: leaf.keyPem }));
    generated.push(`the certificate ${name} for ${want.commonName} (${reason}; valid until ${certificateNotAfter(leaf.certPem)})`);
    return leaf.certPem;
  }

  private async read(namespace: string, name: string): Promise<SecretData | undefined> {
    const secret = await readSecret(this.core, namespace, name);
    return secret === undefined ? undefined : Object.fromEntries(Object.entries(secret.data ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]));
  }
}

function unreachable(value: never): never {
  throw new Error(`unexpected ${JSON.stringify(value)}`);
}
