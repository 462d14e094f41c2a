import * as k8s from '@kubernetes/client-node';
import { createTestNamespace, installCrds, runTool, testKubeConfig } from '../../test/k8s/kube';
import { API_VERSION, type DatabaseCluster, GROUP, KIND, PLURAL, VERSION } from '.';

describe('the DatabaseCluster CRD on a real API server', () => {
  const config = testKubeConfig();
  const custom = config.makeApiClient(k8s.CustomObjectsApi);
  let namespace = '';

  beforeAll(async () => {
    installCrds();
    namespace = await createTestNamespace(config, 'crd');
  });

  function manifest(name: string, spec: Record<string, unknown>): string {
    return JSON.stringify({ apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace }, spec });
  }

  /** `kubectl apply` of one DatabaseCluster; returns kubectl's exit status and stderr. */
  function apply(name: string, spec: Record<string, unknown>): { status: number; stderr: string } {
    return runTool('kubectl', ['apply', '-f', '-'], manifest(name, spec));
  }

  test('applying the CRD again changes nothing', () => {
    expect(() => installCrds()).not.toThrow();
  });

  test('a minimal cluster is accepted and read back with the defaults filled in', async () => {
    expect(apply('minimal', { regions: [{ name: 'us-east' }] })).toMatchObject({ status: 0 });
    const read = (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name: 'minimal' })) as DatabaseCluster;
    expect(read.spec).toEqual({
      image: 'cairn:0.1.0',
      imagePullPolicy: 'IfNotPresent',
      regions: [{ name: 'us-east', nodes: 3 }],
      storage: { size: '10Gi' },
      gateway: { replicas: 2, serviceType: 'ClusterIP' },
      replicationFactor: 3,
    });
  });

  test.each<[string, Record<string, unknown>, string[]]>([
    ['an even replication factor', { regions: [{ name: 'a', nodes: 4 }], replicationFactor: 2 }, ['spec.replicationFactor', 'replicationFactor must be odd']],
    ['more replicas than nodes', { regions: [{ name: 'a', nodes: 1 }, { name: 'b', nodes: 2 }], replicationFactor: 5 }, ['spec.replicationFactor', 'must not exceed the total number of nodes']],
    ['a repeated region name', { regions: [{ name: 'a' }, { name: 'a' }] }, ['spec.regions[1]', 'Duplicate value']],
    ['no regions', { regions: [] }, ['spec.regions', 'should have at least 1 items']],
    ['zero nodes', { regions: [{ name: 'a', nodes: 0 }], replicationFactor: 1 }, ['spec.regions[0].nodes', 'greater than or equal to 1']],
    ['a region name that is no DNS label', { regions: [{ name: 'US_East' }] }, ['spec.regions[0].name', 'should match']],
    ['a storage size that is no quantity', { regions: [{ name: 'a' }], storage: { size: 'ten gigs' } }, ['spec.storage.size']],
    ['a zero storage size', { regions: [{ name: 'a' }], storage: { size: '0' } }, ['spec.storage.size', 'storage size must be a positive quantity']],
    ['TLS from a Secret and generated at once', { regions: [{ name: 'a' }], tls: { secretName: 's', generate: true } }, ['spec.tls', 'either secretName or generate']],
    ['an unknown pull policy', { regions: [{ name: 'a' }], imagePullPolicy: 'Sometimes' }, ['spec.imagePullPolicy', 'Unsupported value']],
  ])('rejects %s, naming the field', (_what, spec, expected) => {
    const result = apply(`bad-${Math.random().toString(36).slice(2, 8)}`, spec);
    expect(result.status).not.toBe(0);
    for (const text of expected) expect(result.stderr).toContain(text);
  });

  test('rejects a name too long to prefix the objects it owns', () => {
    const result = apply('a'.repeat(31), { regions: [{ name: 'a' }] });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('metadata.name must be at most 30 characters');
  });

  test('storage can grow but not shrink', () => {
    expect(apply('storage', { regions: [{ name: 'a' }], storage: { size: '20Gi' } })).toMatchObject({ status: 0 });
    expect(apply('storage', { regions: [{ name: 'a' }], storage: { size: '21474836480' } })).toMatchObject({ status: 0 }); // the same size
    expect(apply('storage', { regions: [{ name: 'a' }], storage: { size: '1Ti' } })).toMatchObject({ status: 0 });
    const shrunk = apply('storage', { regions: [{ name: 'a' }], storage: { size: '500Gi' } });
    expect(shrunk.status).not.toBe(0);
    expect(shrunk.stderr).toContain('spec.storage.size');
    expect(shrunk.stderr).toContain('storage size cannot shrink');
  });

  test('kubectl get shows the printer columns', async () => {
    expect(apply('columns', { regions: [{ name: 'eu' }, { name: 'us' }] })).toMatchObject({ status: 0 });
    await custom.patchNamespacedCustomObjectStatus(
      { group: GROUP, version: VERSION, namespace, plural: PLURAL, name: 'columns', body: { status: { phase: 'Running', readyNodes: '6/6', regionNames: 'eu,us' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const table = runTool('kubectl', ['get', 'dbc', 'columns', '-n', namespace]);
    expect(table.stderr).toBe('');
    const [header, row] = table.stdout.trim().split('\n').map((line) => line.split(/\s+/));
    expect(header).toEqual(['NAME', 'PHASE', 'READY', 'REGIONS', 'AGE']);
    expect(row?.slice(0, 4)).toEqual(['columns', 'Running', '6/6', 'eu,us']);
  });
});
