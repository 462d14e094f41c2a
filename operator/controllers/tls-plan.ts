/**
 * TLS decisions, pure (the time passed in; parsing PEM is the only work): which mode the
 * spec asks for, which names the node certificate must carry, and for each generated
 * Secret whether to keep it or issue it again. The controller reads the Secrets, asks
 * here, generates (tls-certificates.ts) and writes what these functions say.
 *
 * Rules:
 * - The CA is created when its Secret is missing and never replaced while it exists: every
 *   certificate the cluster trusts chains to it. An unreadable CA is reported, not fixed.
 * - A leaf certificate is issued again when it is missing or unreadable, not signed by the
 *   CA, about to expire (under RENEW_BEFORE_DAYS left, unless the CA itself ends sooner,
 *   so that renewing would gain nothing), or (the node certificate) when its names differ
 *   from the cluster's (a region added).
 */
import * as crypto from 'node:crypto';
import type { DatabaseCluster } from '../api';
import { names } from './names';

export const RENEW_BEFORE_DAYS = 30;
const DAY_MS = 86_400_000;

/** The keys of every TLS Secret (kubernetes.io/tls, plus the CA). */
export const CA_KEY = 'ca.crt';
export const CERT_KEY = 'tls.crt';
export const PRIVATE_KEY_KEY = 'tls.key';
export const TLS_SECRET_KEYS = [CA_KEY, CERT_KEY, PRIVATE_KEY_KEY] as const;

/** The SQL user of the generated client certificate. */
export const ROOT_USER = 'root';

export type TlsMode =
  | { readonly kind: 'none' }
  /** A Secret the user made: mounted as it is. */
  | { readonly kind: 'provided'; readonly secretName: string }
  | { readonly kind: 'generated'; readonly secretName: string; readonly caSecretName: string; readonly clientSecretName: string };

export function tlsMode(cluster: DatabaseCluster): TlsMode {
  const tls = cluster.spec.tls;
  const clusterName = cluster.metadata.name ?? '';
  if (tls?.secretName !== undefined) return { kind: 'provided', secretName: tls.secretName };
  if (tls?.generate === true) {
    return {
      kind: 'generated',
      secretName: names.nodeTlsSecret(clusterName),
      caSecretName: names.caSecret(clusterName),
      clientSecretName: names.clientTlsSecret(clusterName),
    };
  }
  return { kind: 'none' };
}

/** The Secret nodes and gateways mount, if any. */
export function mountedTlsSecret(cluster: DatabaseCluster): string | undefined {
  const mode = tlsMode(cluster);
  return mode.kind === 'none' ? undefined : mode.secretName;
}

/**
 * The node certificate's names: for each region's headless Service its short and
 * qualified names and the wildcards that cover its pods (`<pod>.<svc>.<ns>.svc...`),
 * the gateway Service's names, and localhost.
 */
export function nodeCertificateNames(cluster: DatabaseCluster): { readonly dnsNames: readonly string[]; readonly ipAddresses: readonly string[] } {
  const clusterName = cluster.metadata.name ?? '';
  const namespace = cluster.metadata.namespace ?? 'default';
  const serviceNames = (service: string): string[] => [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
  const dnsNames = [
    ...cluster.spec.regions.flatMap((region) => {
      const service = names.nodes(clusterName, region.name);
      return [...serviceNames(service), `*.${service}.${namespace}.svc`, `*.${service}.${namespace}.svc.cluster.local`];
    }),
    ...serviceNames(names.gateway(clusterName)),
    'localhost',
  ];
  return { dnsNames, ipAddresses: ['127.0.0.1', '::1'] };
}

/** A Secret's data, decoded. */
export type SecretData = Readonly<Record<string, string>>;

export type CaDecision = { readonly kind: 'create' } | { readonly kind: 'keep'; readonly certPem: string; readonly keyPem: string } | { readonly kind: 'unusable'; readonly message: string };

export function planCa(existing: SecretData | undefined): CaDecision {
  if (existing === undefined) return { kind: 'create' };
  const certPem = existing[CERT_KEY];
  const keyPem = existing[PRIVATE_KEY_KEY];
  if (certPem === undefined || keyPem === undefined) return { kind: 'unusable', message: `the CA Secret lacks ${CERT_KEY} or ${PRIVATE_KEY_KEY}` };
  try {
    const cert = new crypto.X509Certificate(certPem);
    if (!cert.ca) return { kind: 'unusable', message: 'the CA Secret\'s certificate is not a CA' };
    if (!cert.checkPrivateKey(crypto.createPrivateKey(keyPem))) return { kind: 'unusable', message: 'the CA Secret\'s key does not match its certificate' };
  } catch (err) {
    return { kind: 'unusable', message: `the CA Secret does not parse: ${(err as Error).message}` };
  }
  return { kind: 'keep', certPem, keyPem };
}

export type IssueReason = 'missing' | 'unreadable' | 'not-signed-by-ca' | 'expiring' | 'names-changed' | 'wrong-subject';

export interface LeafWant {
  readonly commonName: string;
  /** The exact names a node certificate must carry; undefined for a client certificate. */
  readonly names?: { readonly dnsNames: readonly string[]; readonly ipAddresses: readonly string[] };
}

/** Why `existing` must be issued again, or undefined to keep it. */
export function planLeaf(caCertPem: string, existing: SecretData | undefined, want: LeafWant, nowMs: number): IssueReason | undefined {
  const certPem = existing?.[CERT_KEY];
  const keyPem = existing?.[PRIVATE_KEY_KEY];
  if (existing === undefined || certPem === undefined || keyPem === undefined || existing[CA_KEY] === undefined) return 'missing';
  let cert: crypto.X509Certificate;
  let ca: crypto.X509Certificate;
  try {
    cert = new crypto.X509Certificate(certPem);
    ca = new crypto.X509Certificate(caCertPem);
    if (!cert.checkPrivateKey(crypto.createPrivateKey(keyPem))) return 'unreadable';
  } catch {
    return 'unreadable';
  }
  if (existing[CA_KEY] !== caCertPem || !cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return 'not-signed-by-ca';
  if (!cert.subject.split('\n').includes(`CN=${want.commonName}`)) return 'wrong-subject';
  if (want.names !== undefined && !sameNames(subjectAltNames(cert), want.names)) return 'names-changed';
  const notAfterMs = Date.parse(cert.validTo);
  const caNotAfterMs = Date.parse(ca.validTo);
  if (notAfterMs - nowMs < RENEW_BEFORE_DAYS * DAY_MS && notAfterMs < caNotAfterMs) return 'expiring';
  return undefined;
}

/** When a PEM certificate expires, as RFC 3339. */
export function certificateNotAfter(certPem: string): string {
  return new Date(new crypto.X509Certificate(certPem).validTo).toISOString();
}

/** Which keys a user-provided Secret lacks (empty: it has all of them), or that it is missing. */
export function checkProvidedSecret(secretName: string, data: SecretData | undefined): string | undefined {
  if (data === undefined) return `the Secret ${secretName} does not exist`;
  const lacking = TLS_SECRET_KEYS.filter((key) => data[key] === undefined);
  return lacking.length === 0 ? undefined : `the Secret ${secretName} lacks ${lacking.join(', ')}`;
}

function subjectAltNames(cert: crypto.X509Certificate): { dnsNames: string[]; ipAddresses: string[] } {
  const entries = (cert.subjectAltName ?? '').split(', ').filter((e) => e !== '');
  return {
    dnsNames: entries.filter((e) => e.startsWith('DNS:')).map((e) => e.slice('DNS:'.length)),
    // node prints IPv6 addresses in full (0:0:0:0:0:0:0:1); normalise through URL parsing.
    ipAddresses: entries.filter((e) => e.startsWith('IP Address:')).map((e) => normaliseIp(e.slice('IP Address:'.length))),
  };
}

function sameNames(a: { dnsNames: readonly string[]; ipAddresses: readonly string[] }, b: { dnsNames: readonly string[]; ipAddresses: readonly string[] }): boolean {
  const same = (x: readonly string[], y: readonly string[]): boolean => {
    const sx = [...new Set(x)].sort();
    const sy = [...new Set(y)].sort();
    return sx.length === sy.length && sx.every((v, i) => v === sy[i]);
  };
  return same(a.dnsNames, b.dnsNames) && same(a.ipAddresses.map(normaliseIp), b.ipAddresses.map(normaliseIp));
}

function normaliseIp(ip: string): string {
  if (!ip.includes(':')) return ip;
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return ip;
  }
}
