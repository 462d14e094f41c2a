import * as crypto from 'node:crypto';
import { buildTlsSecret } from './build-tls-secrets';
import { testCluster } from './test-cluster';
import { generateCa, issueCertificate, type KeyAndCertificate } from './tls-certificates';
import { checkProvidedSecret, nodeCertificateNames, planCa, planLeaf, type SecretData, tlsMode } from './tls-plan';

const NOW = new Date('2026-01-01T00:00:00Z');
const DAY_MS = 86_400_000;
const cluster = testCluster({ regions: [{ name: 'east', nodes: 3 }, { name: 'west', nodes: 1 }], tls: { generate: true } });
const nodeNames = nodeCertificateNames(cluster);
const nodeWant = { commonName: 'node', names: nodeNames };

const secretOf = (ca: KeyAndCertificate, leaf: KeyAndCertificate): SecretData => ({ 'ca.crt': ca.certPem, 'tls.crt': leaf.certPem, 'tls.key': leaf.keyPem });

describe('certificate generation', () => {
  let ca: KeyAndCertificate;
  let node: KeyAndCertificate;
  let client: KeyAndCertificate;

  beforeAll(async () => {
    ca = await generateCa('Cairn CA ns/db', NOW);
    node = await issueCertificate(ca, { commonName: 'node', usage: 'server-and-client', ...nodeNames }, NOW);
    client = await issueCertificate(ca, { commonName: 'root', usage: 'client', dnsNames: [], ipAddresses: [] }, NOW);
  });

  test('the CA is a self-signed CA valid for ten years, its key matching', () => {
    const cert = new crypto.X509Certificate(ca.certPem);
    expect(cert.ca).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.checkPrivateKey(crypto.createPrivateKey(ca.keyPem))).toBe(true);
    expect(Date.parse(cert.validTo) - NOW.getTime()).toBe(3650 * DAY_MS);
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  test('the node certificate chains to the CA and serves every headless Service name, the pods behind it and localhost', () => {
    const cert = new crypto.X509Certificate(node.certPem);
    const caCert = new crypto.X509Certificate(ca.certPem);
    expect(cert.ca).toBe(false);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkPrivateKey(crypto.createPrivateKey(node.keyPem))).toBe(true);
    expect(cert.subject).toContain('CN=node');
    const hosts = ['db-east', 'db-east.ns.svc.cluster.local', 'db-east-2.db-east.ns.svc.cluster.local', 'db-west-0.db-west.ns.svc', 'db-gateway.ns.svc', 'localhost'];
    expect(hosts.filter((host) => cert.checkHost(host) === undefined)).toEqual([]);
    expect(cert.checkHost('db-east-2.db-east.ns.svc.cluster.local')).toBe('*.db-east.ns.svc.cluster.local');
    expect(cert.checkHost('db-north-0.db-north.ns.svc.cluster.local')).toBeUndefined();
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']));
    expect(Date.parse(cert.validTo) - NOW.getTime()).toBe(365 * DAY_MS);
    expect(cert.serialNumber).not.toBe(new crypto.X509Certificate(client.certPem).serialNumber);
  });

  test('the client certificate is for user root, client auth only', () => {
    const cert = new crypto.X509Certificate(client.certPem);
    expect(cert.subject).toContain('CN=root');
    expect(cert.verify(new crypto.X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(cert.subjectAltName).toBeUndefined();
  });

  test('planCa keeps an existing CA and creates a missing one; a broken one is reported, never replaced', () => {
    expect(planCa(undefined)).toEqual({ kind: 'create' });
    expect(planCa({ 'tls.crt': ca.certPem, 'tls.key': ca.keyPem, 'ca.crt': ca.certPem })).toMatchObject({ kind: 'keep', certPem: ca.certPem });
    expect(planCa({ 'tls.crt': ca.certPem, 'tls.key': node.keyPem })).toMatchObject({ kind: 'unusable' });
    expect(planCa({ 'tls.crt': node.certPem, 'tls.key': node.keyPem })).toMatchObject({ kind: 'unusable' });
    expect(planCa({ 'tls.crt': 'junk', 'tls.key': ca.keyPem })).toMatchObject({ kind: 'unusable' });
  });

  test('planLeaf keeps a good certificate and says why it would issue one again', async () => {
    expect(planLeaf(ca.certPem, secretOf(ca, node), nodeWant, NOW.getTime())).toBeUndefined();
    expect(planLeaf(ca.certPem, secretOf(ca, client), { commonName: 'root' }, NOW.getTime())).toBeUndefined();
    expect(planLeaf(ca.certPem, undefined, nodeWant, NOW.getTime())).toBe('missing');
    expect(planLeaf(ca.certPem, { 'tls.crt': node.certPem, 'tls.key': node.keyPem }, nodeWant, NOW.getTime())).toBe('missing');
    expect(planLeaf(ca.certPem, { ...secretOf(ca, node), 'tls.key': client.keyPem }, nodeWant, NOW.getTime())).toBe('unreadable');
    expect(planLeaf(ca.certPem, secretOf(ca, client), nodeWant, NOW.getTime())).toBe('wrong-subject');
    // A region added: the names no longer cover it.
    const grown = nodeCertificateNames(testCluster({ regions: [...cluster.spec.regions, { name: 'north', nodes: 1 }] }));
    expect(planLeaf(ca.certPem, secretOf(ca, node), { commonName: 'node', names: grown }, NOW.getTime())).toBe('names-changed');
    // 30 days before expiry it is renewed.
    expect(planLeaf(ca.certPem, secretOf(ca, node), nodeWant, NOW.getTime() + 334 * DAY_MS)).toBeUndefined();
    expect(planLeaf(ca.certPem, secretOf(ca, node), nodeWant, NOW.getTime() + 336 * DAY_MS)).toBe('expiring');
    // Signed by another CA.
    const other = await generateCa('other', NOW);
    expect(planLeaf(other.certPem, secretOf(ca, node), nodeWant, NOW.getTime())).toBe('not-signed-by-ca');
    expect(planLeaf(other.certPem, secretOf(other, node), nodeWant, NOW.getTime())).toBe('not-signed-by-ca');
  });

  test('a leaf never outlives its CA, and one the CA would not let live longer is not renewed in a loop', async () => {
    const oldCa = await generateCa('old', new Date(NOW.getTime() - 3640 * DAY_MS));
    const leaf = await issueCertificate(oldCa, { commonName: 'root', usage: 'client', dnsNames: [], ipAddresses: [] }, NOW);
    expect(new crypto.X509Certificate(leaf.certPem).validTo).toBe(new crypto.X509Certificate(oldCa.certPem).validTo);
    expect(planLeaf(oldCa.certPem, secretOf(oldCa, leaf), { commonName: 'root' }, NOW.getTime())).toBeUndefined();
  });

  test('buildTlsSecret: a kubernetes.io/tls Secret with ca.crt, owned by the cluster', () => {
    const secret = buildTlsSecret(cluster, 'db-node-tls', { caCertPem: ca.certPem, certPem: node.certPem, keyPem: node.keyPem });
    expect(secret).toMatchObject({ type: 'kubernetes.io/tls', metadata: { name: 'db-node-tls', namespace: 'ns', ownerReferences: [expect.objectContaining({ uid: 'uid-1' })] } });
    expect(Object.keys(secret.data!).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    expect(Buffer.from(secret.data!['tls.crt']!, 'base64').toString()).toBe(node.certPem);
  });
});

describe('tlsMode and checkProvidedSecret', () => {
  test('no TLS, a provided Secret, or generated Secrets', () => {
    expect(tlsMode(testCluster())).toEqual({ kind: 'none' });
    expect(tlsMode(testCluster({ tls: { generate: false } }))).toEqual({ kind: 'none' });
    expect(tlsMode(testCluster({ tls: { secretName: 'mine', generate: false } }))).toEqual({ kind: 'provided', secretName: 'mine' });
    expect(tlsMode(cluster)).toEqual({ kind: 'generated', secretName: 'db-node-tls', caSecretName: 'db-ca', clientSecretName: 'db-client-root-tls' });
  });

  test('a provided Secret needs ca.crt, tls.crt and tls.key', () => {
    expect(checkProvidedSecret('mine', undefined)).toBe('the Secret mine does not exist');
    expect(checkProvidedSecret('mine', { 'tls.crt': 'x' })).toBe('the Secret mine lacks ca.crt, tls.key');
    expect(checkProvidedSecret('mine', { 'ca.crt': 'x', 'tls.crt': 'x', 'tls.key': 'x' })).toBeUndefined();
  });

  test('the node certificate names cover each region\'s headless Service and its pods', () => {
    expect(nodeNames.dnsNames).toEqual(
      expect.arrayContaining([
        'db-east',
        'db-east.ns',
        'db-east.ns.svc',
        'db-east.ns.svc.cluster.local',
        '*.db-east.ns.svc',
        '*.db-east.ns.svc.cluster.local',
        '*.db-west.ns.svc.cluster.local',
        'db-gateway.ns.svc.cluster.local',
        'localhost',
      ]),
    );
    expect(nodeNames.ipAddresses).toEqual(['127.0.0.1', '::1']);
  });
});
