import * as k8s from '@kubernetes/client-node';
import { createTestNamespace, runTool, testKubeConfig } from './kube';

describe('the test API server', () => {
  const config = testKubeConfig();

  test('serves the built Kubernetes version', async () => {
    const version = await config.makeApiClient(k8s.VersionApi).getCode();
    expect(version.gitVersion).toMatch(/^v1\.\d+\.\d+$/);
    expect(Number(version.minor)).toBeGreaterThanOrEqual(34);
  });

  test('stores and returns objects, with admin rights', async () => {
    const namespace = await createTestNamespace(config, 'harness');
    const core = config.makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'c' }, data: { k: 'v' } } });
    const read = await core.readNamespacedConfigMap({ namespace, name: 'c' });
    expect(read.data).toEqual({ k: 'v' });
    const review = await config.makeApiClient(k8s.AuthorizationV1Api).createSelfSubjectAccessReview({
      body: { spec: { resourceAttributes: { verb: 'create', resource: 'customresourcedefinitions', group: 'apiextensions.k8s.io' } } },
    });
    expect(review.status?.allowed).toBe(true);
  });

  test('kubectl works with the written kubeconfig', () => {
    const result = runTool('kubectl', ['get', 'namespaces', '-o', 'name']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('namespace/default');
  });
});
