/**
 * The TLS Secrets the operator generates (spec.tls.generate): each of type
 * kubernetes.io/tls with `tls.crt`, `tls.key` and the CA's `ca.crt`. The CA's own Secret
 * has the same shape (its tls.crt is the CA certificate).
 */
import type { V1Secret } from '@kubernetes/client-node';
import type { DatabaseCluster } from '../api';
import { metadata } from './names';
import { CA_KEY, CERT_KEY, PRIVATE_KEY_KEY } from './tls-plan';

export interface TlsSecretContents {
  readonly caCertPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export function buildTlsSecret(cluster: DatabaseCluster, name: string, contents: TlsSecretContents): V1Secret {
  const base64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: metadata(cluster, name, 'tls'),
    type: 'kubernetes.io/tls',
    data: { [CA_KEY]: base64(contents.caCertPem), [CERT_KEY]: base64(contents.certPem), [PRIVATE_KEY_KEY]: base64(contents.keyPem) },
  };
}
