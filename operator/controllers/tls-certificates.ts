/**
 * Certificate generation for `spec.tls.generate`: a CA, a node certificate (server and
 * client auth, for nodes and gateways) and client certificates, as PEM.
 *
 * Keys are RSA 2048 from node:crypto (OpenSSL), kept as PKCS#8 PEM; node:crypto cannot
 * write certificates, so node-forge builds and signs the X.509 structure (SHA-256). Only the operator's reconcile loads
 * this, and only when it has something to issue: never a database hot path.
 *
 * Not pure (fresh keys, random serials), but the time is passed in.
 */
import * as crypto from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';

const generateKeyPair = promisify(crypto.generateKeyPair);

const DAY_MS = 86_400_000;
export const CA_VALIDITY_DAYS = 3650;
export const LEAF_VALIDITY_DAYS = 365;
/** notBefore is backdated a little, for clocks behind the operator's. */
const BACKDATE_MS = 3_600_000;
const ORGANIZATION = 'Cairn';

export interface KeyAndCertificate {
  /** PKCS#8 PEM. */
  readonly keyPem: string;
  readonly certPem: string;
}

export interface LeafRequest {
  readonly commonName: string;
  /** serverAuth + clientAuth (nodes dial each other), or clientAuth only (SQL users). */
  readonly usage: 'server-and-client' | 'client';
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
}

export async function generateCa(commonName: string, now: Date): Promise<KeyAndCertificate> {
  const { publicKey, privateKey, privateKeyPem } = await newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = new Date(now.getTime() - BACKDATE_MS);
  cert.validity.notAfter = new Date(now.getTime() + CA_VALIDITY_DAYS * DAY_MS);
  const subject = [
    { name: 'organizationName', value: ORGANIZATION },
    { name: 'commonName', value: commonName },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(privateKey, forge.md.sha256.create());
  return { keyPem: privateKeyPem, certPem: forge.pki.certificateToPem(cert) };
}

/** A certificate signed by `ca`, valid for a year but never beyond the CA. */
export async function issueCertificate(ca: KeyAndCertificate, request: LeafRequest, now: Date): Promise<KeyAndCertificate> {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const { publicKey, privateKeyPem } = await newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = new Date(now.getTime() - BACKDATE_MS);
  cert.validity.notAfter = new Date(Math.min(now.getTime() + LEAF_VALIDITY_DAYS * DAY_MS, caCert.validity.notAfter.getTime()));
  cert.setSubject([
    { name: 'organizationName', value: ORGANIZATION },
    { name: 'commonName', value: request.commonName },
  ]);
  cert.setIssuer(caCert.subject.attributes);
  const altNames = [
    ...request.dnsNames.map((value) => ({ type: 2, value })),
    ...request.ipAddresses.map((ip) => ({ type: 7, ip })),
  ];
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    request.usage === 'client' ? { name: 'extKeyUsage', clientAuth: true } : { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    ...(altNames.length === 0 ? [] : [{ name: 'subjectAltName', altNames }]),
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { keyPem: privateKeyPem, certPem: forge.pki.certificateToPem(cert) };
}

async function newKeyPair(): Promise<{ publicKey: forge.pki.rsa.PublicKey; privateKey: forge.pki.rsa.PrivateKey; privateKeyPem: string }> {
  const pair = await generateKeyPair('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    publicKey: forge.pki.publicKeyFromPem(pair.publicKey) as forge.pki.rsa.PublicKey,
    privateKey: forge.pki.privateKeyFromPem(pair.privateKey) as forge.pki.rsa.PrivateKey,
    privateKeyPem: pair.privateKey,
  };
}

/**
 * 16 random octets, positive and without a leading zero octet (RFC 5280 §4.1.2.2: a
 * positive integer of at most 20 octets, DER-minimal).
 */
function randomSerial(): string {
  const bytes = crypto.randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return bytes.toString('hex');
}
