/**
 * helm/cairn: `helm lint` and `helm template` with default and non-default values, every
 * rendered object accepted by the API server (server-side dry run), and the operator
 * working with nothing but the chart's RBAC.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import { createLogger } from '../../common/logging';
import { API_VERSION, type DatabaseCluster, GROUP, KIND, Operator, PLURAL, VERSION } from '../../operator';
import { eventually } from '../support/eventually';
import { createTestNamespace, installCrds, runTool, testKubeConfig } from './kube';

const CHART = path.join(__dirname, '..', '..', 'helm', 'cairn');

interface Rendered {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly rules?: readonly { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  readonly spec?: unknown;
}

function render(namespace: string, values: object, extra: readonly string[] = []): { text: string; objects: Rendered[] } {
  const valuesFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-helm-')), 'values.yaml');
  fs.writeFileSync(valuesFile, yaml.dump(values));
  const result = runTool('helm', ['template', 'cairn', CHART, '--namespace', namespace, '-f', valuesFile, ...extra]);
  fs.rmSync(path.dirname(valuesFile), { recursive: true, force: true });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return { text: result.stdout, objects: (yaml.loadAll(result.stdout) as (Rendered | null)[]).filter((o): o is Rendered => o !== null) };
}

const NON_DEFAULT = {
  image: { repository: 'registry.example/cairn', tag: '9.9.9', pullPolicy: 'Always' },
  operator: { replicas: 1, watchNamespace: 'PLACEHOLDER', logLevel: 'debug', resyncSeconds: 60 },
  serviceAccount: { create: true, name: 'cairn-op' },
  metrics: { serviceMonitor: { enabled: true, labels: { release: 'prometheus' } } },
  sampleCluster: { enabled: true, name: 'demo', spec: { regions: [{ name: 'eu', nodes: 3 }, { name: 'us', nodes: 2 }], replicationFactor: 5 } },
};

/** A stand-in for prometheus-operator's ServiceMonitor CRD, so that a dry run can check the object. */
const SERVICE_MONITOR_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'servicemonitors.monitoring.coreos.com' },
  spec: {
    group: 'monitoring.coreos.com',
    names: { kind: 'ServiceMonitor', plural: 'servicemonitors', singular: 'servicemonitor', listKind: 'ServiceMonitorList' },
    scope: 'Namespaced',
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
  },
};

describe('the Helm chart', () => {
  const config = testKubeConfig();

  beforeAll(() => {
    installCrds();
    const applied = runTool('kubectl', ['apply', '--server-side', '-f', '-'], JSON.stringify(SERVICE_MONITOR_CRD));
    expect(applied.stderr).toBe('');
    expect(runTool('kubectl', ['wait', '--for=condition=Established', 'crd/servicemonitors.monitoring.coreos.com']).status).toBe(0);
  });

  test.each([
    ['default values', []],
    ['strict, with non-default values', ['--strict', '--set', 'operator.watchNamespace=x', '--set', 'sampleCluster.enabled=true', '--set', 'metrics.serviceMonitor.enabled=true']],
  ])('passes helm lint with %s', (_what, args) => {
    const result = runTool('helm', ['lint', CHART, ...args]);
    expect(result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(result.status).toBe(0);
  });

  test('renders, with default values, objects the API server accepts', async () => {
    const namespace = await createTestNamespace(config, 'helm');
    const { text, objects } = render(namespace, {}, ['--include-crds']);
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      [
        'ClusterRole/cairn',
        'ClusterRoleBinding/cairn',
        'CustomResourceDefinition/databaseclusters.cairn.dev',
        'Deployment/cairn',
        'Role/cairn-leader-election',
        'RoleBinding/cairn-leader-election',
        'Service/cairn-metrics',
        'ServiceAccount/cairn',
      ].sort(),
    );
    const dryRun = runTool('kubectl', ['apply', '--server-side', '--force-conflicts', '--dry-run=server', '-n', namespace, '-f', '-'], text);
    expect(dryRun.stderr).toBe('');
    expect(dryRun.status).toBe(0);
  });

  test('renders, with non-default values, objects the API server accepts', async () => {
    const namespace = await createTestNamespace(config, 'helm');
    const { text, objects } = render(namespace, { ...NON_DEFAULT, operator: { ...NON_DEFAULT.operator, watchNamespace: namespace } });
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      [
        'DatabaseCluster/demo',
        'Deployment/cairn',
        'Role/cairn',
        'RoleBinding/cairn',
        'Role/cairn-leader-election',
        'RoleBinding/cairn-leader-election',
        'Service/cairn-metrics',
        'ServiceAccount/cairn-op',
        'ServiceMonitor/cairn',
      ].sort(),
    );
    const deployment = objects.find((o) => o.kind === 'Deployment') as unknown as k8s.V1Deployment;
    const container = deployment.spec!.template.spec!.containers[0]!;
    expect(container.image).toBe('registry.example/cairn:9.9.9');
    expect(container.args).toEqual(expect.arrayContaining(['cairn-operator', `--watch-namespace=${namespace}`, '--resync-ms=60000', '--log-level=debug']));
    const dryRun = runTool('kubectl', ['apply', '--server-side', '--force-conflicts', '--dry-run=server', '-n', namespace, '-f', '-'], text);
    expect(dryRun.stderr).toBe('');
    expect(dryRun.status).toBe(0);
  });

  test('grants the operator no wildcard and nothing beyond what it uses', () => {
    const { objects } = render('cairn-system', {});
    const rules = objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role').flatMap((o) => o.rules ?? []);
    const grants = rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.map((res) => `${g === '' ? 'core' : g}/${res}: ${[...r.verbs].sort().join(',')}`)));
    expect(grants.sort()).toEqual(
      [
        'apps/deployments: create,delete,get,list,patch,watch',
        'apps/statefulsets: create,delete,get,list,patch,watch',
        'batch/jobs: create,delete,get,list,patch,watch',
        'cairn.dev/databaseclusters/finalizers: update',
        'cairn.dev/databaseclusters/status: patch',
        'cairn.dev/databaseclusters: get,list,patch,watch',
        'coordination.k8s.io/leases: create,get,update',
        'core/events: create',
        'core/pods: get,list,watch',
        'core/secrets: create,delete,get,patch',
        'core/serviceaccounts: create,delete,get,patch',
        'core/services: create,delete,get,patch',
        'policy/poddisruptionbudgets: create,delete,get,patch',
      ].sort(),
    );
  });

  test("the operator does its work with only the chart's RBAC", async () => {
    const namespace = await createTestNamespace(config, 'helm-rbac');
    const { text } = render(namespace, { operator: { watchNamespace: namespace } });
    const rbacOnly = text
      .split(/^---$/m)
      .filter((doc) => /^kind: (ServiceAccount|Role|RoleBinding)$/m.test(doc))
      .join('\n---\n');
    const applied = runTool('kubectl', ['apply', '-n', namespace, '-f', '-'], rbacOnly);
    expect(applied.stderr).toBe('');

    const core = config.makeApiClient(k8s.CoreV1Api);
    const token = await core.createNamespacedServiceAccountToken({ namespace, name: 'cairn', body: { spec: { audiences: [], expirationSeconds: 3600 } } });
    const cluster = config.getCurrentCluster()!;
    const asOperator = new k8s.KubeConfig();
    asOperator.loadFromOptions({
      clusters: [cluster],
      users: [{ name: 'cairn-operator', token: token.status!.token }],
      contexts: [{ name: 'operator', cluster: cluster.name, user: 'cairn-operator' }],
      currentContext: 'operator',
    });
    const operator = new Operator({
      config: asOperator,
      log: createLogger({ name: 'cairn-operator-rbac', level: 'silent' }),
      httpAddress: '127.0.0.1:0',
      watchNamespace: namespace,
      leaderElection: { namespace, leaseName: 'cairn-operator', retryPeriodMs: 200 },
      onLostLeadership: () => undefined,
    });
    await operator.start();
    const custom = config.makeApiClient(k8s.CustomObjectsApi);
    try {
      await eventually('leadership', async () => (operator.isLeader ? true : undefined), 20_000);
      await custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace,
        body: {
          apiVersion: API_VERSION,
          kind: KIND,
          metadata: { name: 'rbac' },
          // Generated TLS too: creating, reading and (in the finalizer) deleting Secrets.
          spec: { regions: [{ name: 'r', nodes: 1 }], replicationFactor: 1, tls: { generate: true } },
        },
      });
      const status = await eventually(
        'a reconciled status',
        async () => {
          const c = (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name: 'rbac' })) as DatabaseCluster;
          return c.status?.phase === 'Pending' ? c.status : undefined;
        },
        30_000,
      );
      expect(status.readyNodes).toBe('0/1');
      expect(status.conditions?.find((c) => c.type === 'TLSReady')).toMatchObject({ status: 'True', reason: 'Generated' });
      await config.makeApiClient(k8s.AppsV1Api).readNamespacedStatefulSet({ namespace, name: 'rbac-r' });
      const metrics = await (await fetch(`http://127.0.0.1:${operator.httpPort}/metrics`)).text();
      expect(metrics).not.toMatch(/cairn_operator_reconciles_total\{result="error"/);
      await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name: 'rbac' });
      await eventually(
        'the finalizer done',
        async () => {
          try {
            await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name: 'rbac' });
            return undefined;
          } catch (err) {
            return (err as { code?: number }).code === 404 ? true : undefined;
          }
        },
        30_000,
      );
      const secrets = await core.listNamespacedSecret({ namespace, labelSelector: 'app.kubernetes.io/instance=rbac' });
      expect(secrets.items.map((secret) => secret.metadata?.name)).toEqual([]);
    } finally {
      await operator.stop();
    }
  });
});
