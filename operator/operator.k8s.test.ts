/**
 * The operator against a real kube-apiserver. Nothing runs pods here (no scheduler,
 * kubelet or controller-manager), so the tests play those parts: they create the Pods a
 * StatefulSet would, and write Pod, Deployment and Job status.
 */
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import * as k8s from '@kubernetes/client-node';
import { createLogger } from '../common/logging';
import { createTestNamespace, installCrds, testKubeConfig } from '../test/k8s/kube';
import { eventually } from '../test/support/eventually';
import { API_VERSION, type DatabaseCluster, GROUP, KIND, Operator, PLURAL, VERSION } from '.';
import { issueCertificate } from './controllers/tls-certificates';

const log = createLogger({ name: 'cairn-operator-test', level: (process.env.CAIRN_TEST_OPERATOR_LOG as 'info' | undefined) ?? 'silent', fd: 2 });
const config = testKubeConfig();
const core = config.makeApiClient(k8s.CoreV1Api);
const apps = config.makeApiClient(k8s.AppsV1Api);
const batch = config.makeApiClient(k8s.BatchV1Api);
const policy = config.makeApiClient(k8s.PolicyV1Api);
const custom = config.makeApiClient(k8s.CustomObjectsApi);
const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

function startOperator(namespace: string, extra: Partial<ConstructorParameters<typeof Operator>[0]> = {}): Operator {
  return new Operator({
    config,
    log,
    httpAddress: '127.0.0.1:0',
    watchNamespace: namespace,
    leaderElection: undefined,
    resyncMs: 2_000,
    onLostLeadership: () => undefined,
    ...extra,
  });
}

async function readCluster(namespace: string, name: string): Promise<DatabaseCluster> {
  return (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name })) as DatabaseCluster;
}

async function createCluster(namespace: string, name: string, spec: Record<string, unknown>): Promise<DatabaseCluster> {
  return (await custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural: PLURAL,
    namespace,
    body: { apiVersion: API_VERSION, kind: KIND, metadata: { name }, spec },
  })) as DatabaseCluster;
}

async function patchSpec(namespace: string, name: string, spec: Record<string, unknown>): Promise<void> {
  await custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name, body: { spec } }, mergePatch);
}

function condition(cluster: DatabaseCluster, type: string): string | undefined {
  const c = cluster.status?.conditions?.find((x) => x.type === type);
  return c === undefined ? undefined : `${c.status}/${c.reason}`;
}

/** What a StatefulSet controller and kubelet would do: pods from the template, then Ready. */
async function runPods(namespace: string, setName: string, ordinals: readonly number[]): Promise<void> {
  const set = await apps.readNamespacedStatefulSet({ namespace, name: setName });
  for (const ordinal of ordinals) {
    const name = `${setName}-${ordinal}`;
    await core
      .createNamespacedPod({
        namespace,
        body: {
          metadata: {
            name,
            labels: set.spec!.template.metadata!.labels!,
            ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: setName, uid: set.metadata!.uid!, controller: true }],
          },
          spec: {
            ...set.spec!.template.spec!,
            // The StatefulSet controller adds each pod's claim as a volume.
            volumes: [...(set.spec!.template.spec!.volumes ?? []), { name: 'data', persistentVolumeClaim: { claimName: `data-${name}` } }],
          },
        },
      })
      .catch((err: unknown) => {
        if ((err as { code?: number }).code !== 409) throw err;
      });
    const now = new Date();
    await core.patchNamespacedPodStatus(
      { namespace, name, body: { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }] } } },
      mergePatch,
    );
  }
}

async function httpText(port: number, path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path }, (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      })
      .on('error', reject);
  });
}

describe('cairn-operator on a real API server', () => {
  let namespace = '';
  let operator: Operator;
  const name = 'alpha';

  beforeAll(async () => {
    installCrds();
    namespace = await createTestNamespace(config, 'operator');
    operator = startOperator(namespace);
    await operator.start();
  });

  afterAll(async () => {
    await operator?.stop();
  });

  test('a new cluster: every object appears, owned by it, and the status says Pending', async () => {
    const created = await createCluster(namespace, name, { regions: [{ name: 'east', nodes: 3 }, { name: 'west', nodes: 2 }] });
    const uid = created.metadata.uid;
    const owned = (object: { metadata?: k8s.V1ObjectMeta }): void => {
      expect(object.metadata?.ownerReferences).toEqual([expect.objectContaining({ kind: KIND, name, uid, controller: true })]);
      expect(object.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('cairn-operator');
    };
    const east = await eventually('the east StatefulSet', () => apps.readNamespacedStatefulSet({ namespace, name: 'alpha-east' }), 30_000);
    owned(east);
    expect(east.spec!.replicas).toBe(3);
    expect(east.spec!.volumeClaimTemplates![0]!.spec!.resources!.requests!.storage).toBe('10Gi');
    const west = await eventually('the west StatefulSet', () => apps.readNamespacedStatefulSet({ namespace, name: 'alpha-west' }), 30_000);
    expect(west.spec!.replicas).toBe(2);
    owned(await core.readNamespacedService({ namespace, name: 'alpha-east' }));
    expect((await core.readNamespacedService({ namespace, name: 'alpha-west' })).spec!.clusterIP).toBe('None');
    const gateway = await eventually('the gateway Deployment', () => apps.readNamespacedDeployment({ namespace, name: 'alpha-gateway' }), 30_000);
    owned(gateway);
    expect(gateway.spec!.replicas).toBe(2);
    const gatewayService = await eventually('the gateway Service', () => core.readNamespacedService({ namespace, name: 'alpha-gateway' }), 30_000);
    expect(gatewayService.spec!.ports!.map((p) => p.port)).toEqual([5432]);
    owned(await eventually('the node PDB', () => policy.readNamespacedPodDisruptionBudget({ namespace, name: 'alpha-east' }), 30_000));
    owned(await eventually('the gateway PDB', () => policy.readNamespacedPodDisruptionBudget({ namespace, name: 'alpha-gateway' }), 30_000));
    owned(await core.readNamespacedServiceAccount({ namespace, name: 'alpha-cairn' }));
    const password = await eventually('the root password Secret', () => core.readNamespacedSecret({ namespace, name: 'alpha-root-password' }), 30_000);
    owned(password);
    expect(Buffer.from(password.data!.password!, 'base64').toString()).toMatch(/^[A-Za-z0-9_-]{24}$/);

    const cluster = await eventually('a Pending status', async () => {
      const c = await readCluster(namespace, name);
      return c.status?.phase === 'Pending' ? c : undefined;
    });
    expect(cluster.metadata.finalizers).toContain('cairn.dev/cleanup');
    expect(cluster.status).toMatchObject({ readyNodes: '0/5', regionNames: 'east,west', observedGeneration: 1, initialized: false });
    expect(condition(cluster, 'Ready')).toBe('False/NotInitialized');
    expect(condition(cluster, 'Progressing')).toBe('True/Initializing');
    expect(condition(cluster, 'Degraded')).toBe('False/AsExpected');
    // Server-side apply: the operator owns the fields it set.
    expect(east.metadata!.managedFields!.map((f) => f.manager)).toContain('cairn-operator');
  });

  test('ready nodes lead to the init Job, then to Ready once it succeeded and gateways are up', async () => {
    await runPods(namespace, 'alpha-east', [0, 1]);
    await eventually('two ready nodes in the status', async () => ((await readCluster(namespace, name)).status?.readyNodes === '2/5' ? true : undefined));
    await expect(batch.readNamespacedJob({ namespace, name: 'alpha-init' })).rejects.toMatchObject({ code: 404 });
    await runPods(namespace, 'alpha-east', [2]);
    const password = await core.readNamespacedSecret({ namespace, name: 'alpha-root-password' });
    const job = await eventually('the init Job', () => batch.readNamespacedJob({ namespace, name: 'alpha-init' }), 30_000);
    expect(job.spec!.template.spec!.containers[0]!.args).toEqual([
      'cairn',
      'init',
      '--host',
      `alpha-east-0.alpha-east.${namespace}.svc.cluster.local:26258`,
      '--cluster-id-file',
      '/dev/termination-log',
      '--root-password-file',
      '/etc/cairn/root-password/password',
    ]);
    expect(job.spec!.template.spec!.volumes).toEqual([expect.objectContaining({ secret: expect.objectContaining({ secretName: 'alpha-root-password' }) })]);
    // The Job is applied before the status is written: wait for the status too.
    await eventually('the Initializing status', async () => {
      const c = await readCluster(namespace, name);
      return c.status?.phase === 'Initializing' && c.status.initJobName === 'alpha-init' ? true : undefined;
    });

    // The Job controller's pod, finished: `cairn init --cluster-id-file` left the ID as
    // its termination message.
    const clusterId = '0b7e3c52-9d14-4f6a-8e2b-5c9a1d3f7e60';
    const podName = 'alpha-init-x7k2p';
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: podName, labels: { ...job.spec!.template.metadata!.labels!, 'job-name': 'alpha-init' } },
        spec: job.spec!.template.spec!,
      },
    });
    const finishedAt = new Date();
    await core.patchNamespacedPodStatus(
      {
        namespace,
        name: podName,
        body: {
          status: {
            phase: 'Succeeded',
            containerStatuses: [
              {
                name: 'cairn-init',
                image: job.spec!.template.spec!.containers[0]!.image!,
                imageID: '',
                ready: false,
                restartCount: 0,
                state: { terminated: { exitCode: 0, reason: 'Completed', message: clusterId, startedAt: finishedAt, finishedAt } },
              },
            ],
          },
        },
      },
      mergePatch,
    );
    const startTime = new Date();
    await batch.patchNamespacedJobStatus(
      {
        namespace,
        name: 'alpha-init',
        body: {
          status: {
            startTime,
            completionTime: new Date(),
            succeeded: 1,
            conditions: [
              { type: 'SuccessCriteriaMet', status: 'True', lastTransitionTime: new Date() },
              { type: 'Complete', status: 'True', lastTransitionTime: new Date() },
            ],
          },
        },
      },
      mergePatch,
    );
    await runPods(namespace, 'alpha-west', [0, 1]);
    await apps.patchNamespacedDeploymentStatus({ namespace, name: 'alpha-gateway', body: { status: { replicas: 2, readyReplicas: 2, availableReplicas: 2 } } }, mergePatch);
    const ready = await eventually('a Ready cluster', async () => {
      const c = await readCluster(namespace, name);
      return condition(c, 'Ready') === 'True/AllReady' ? c : undefined;
    });
    expect(ready.status).toMatchObject({ phase: 'Running', readyNodes: '5/5', initialized: true, clusterId });
    // The password was generated once, before the Job that reads it, and never since.
    expect((await core.readNamespacedSecret({ namespace, name: 'alpha-root-password' })).metadata!.resourceVersion).toBe(password.metadata!.resourceVersion);
    expect(condition(ready, 'Progressing')).toBe('False/Stable');
  });

  test('spec changes are applied: more nodes, gateway replicas, image', async () => {
    await patchSpec(namespace, name, { image: 'cairn:0.2.0', gateway: { replicas: 3 }, regions: [{ name: 'east', nodes: 4 }, { name: 'west', nodes: 2 }] });
    const east = await eventually('the east StatefulSet at 4', async () => {
      const s = await apps.readNamespacedStatefulSet({ namespace, name: 'alpha-east' });
      return s.spec!.replicas === 4 ? s : undefined;
    });
    expect(east.spec!.template.spec!.containers[0]!.image).toBe('cairn:0.2.0');
    // Applied after the StatefulSets in the same reconcile.
    const gateway = await eventually('the gateway Deployment at 3', async () => {
      const d = await apps.readNamespacedDeployment({ namespace, name: 'alpha-gateway' });
      return d.spec!.replicas === 3 ? d : undefined;
    });
    expect(gateway.spec!.template.spec!.containers[0]!.image).toBe('cairn:0.2.0');
    const cluster = await eventually('the new generation observed', async () => {
      const c = await readCluster(namespace, name);
      return c.status?.observedGeneration === c.metadata.generation ? c : undefined;
    });
    expect(condition(cluster, 'Ready')).toBe('False/NodesNotReady');
    expect(condition(cluster, 'Progressing')).toBe('True/NodesStarting');
  });

  test('a node-count scale-down is refused with a Degraded condition and a Warning Event', async () => {
    await patchSpec(namespace, name, { regions: [{ name: 'east', nodes: 3 }, { name: 'west', nodes: 2 }] });
    const cluster = await eventually('Degraded', async () => {
      const c = await readCluster(namespace, name);
      return condition(c, 'Degraded') === 'True/ScaleDownRefused' ? c : undefined;
    });
    expect(cluster.status?.phase).toBe('Degraded');
    expect(cluster.status?.conditions?.find((c) => c.type === 'Degraded')?.message).toContain('region east has 4 nodes and the spec asks for 3');
    expect((await apps.readNamespacedStatefulSet({ namespace, name: 'alpha-east' })).spec!.replicas).toBe(4);
    const events = await eventually('the ScaleDownRefused Event', async () => {
      const list = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
      return list.items.some((e) => e.reason === 'ScaleDownRefused') ? list.items : undefined;
    });
    const refused = events.find((e) => e.reason === 'ScaleDownRefused')!;
    expect(refused).toMatchObject({ type: 'Warning', involvedObject: { kind: KIND, name } });
    expect(events.map((e) => e.reason)).toEqual(expect.arrayContaining(['InitJobCreated', 'Initialized', 'ClusterIdRecorded', 'Ready']));
  });

  test('serves /metrics and /healthz', async () => {
    const metrics = await httpText(operator.httpPort, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/cairn_operator_reconciles_total\{result="ok",process="cairn-operator"\} [1-9]/);
    expect(metrics.text).toContain('cairn_operator_leader 1');
    expect((await httpText(operator.httpPort, '/healthz')).status).toBe(200);
  });

  test('deleting the cluster deletes what it owns (the finalizer cleans up where no GC runs), then the cluster', async () => {
    await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name });
    await eventually(
      'the cluster gone',
      async () => {
        try {
          await readCluster(namespace, name);
          return undefined;
        } catch (err) {
          return (err as { code?: number }).code === 404 ? true : undefined;
        }
      },
      30_000,
    );
    const left = [
      ...(await apps.listNamespacedStatefulSet({ namespace })).items,
      ...(await apps.listNamespacedDeployment({ namespace })).items,
      ...(await core.listNamespacedService({ namespace })).items,
      ...(await policy.listNamespacedPodDisruptionBudget({ namespace })).items,
      ...(await batch.listNamespacedJob({ namespace })).items,
      ...(await core.listNamespacedSecret({ namespace })).items.filter((secret) => secret.metadata?.name?.startsWith(name) === true),
    ].map((o) => o.metadata?.name);
    expect(left).toEqual([]);
  });
});

describe('cairn-operator error handling', () => {
  test('an API error is retried with back-off until it clears', async () => {
    installCrds();
    const namespace = await createTestNamespace(config, 'retry');
    // A StatefulSet in the way whose selector (immutable) differs from the operator's.
    await apps.createNamespacedStatefulSet({
      namespace,
      body: {
        metadata: { name: 'beta-east' },
        spec: {
          serviceName: 'x',
          selector: { matchLabels: { other: 'app' } },
          template: { metadata: { labels: { other: 'app' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
        },
      },
    });
    const operator = startOperator(namespace);
    await operator.start();
    try {
      await createCluster(namespace, 'beta', { regions: [{ name: 'east', nodes: 1 }], replicationFactor: 1 });
      const failures = async (): Promise<number> => {
        const text = await httpText(operator.httpPort, '/metrics');
        return Number(/cairn_operator_reconciles_total\{result="error",process="cairn-operator"\} (\d+)/.exec(text.text)?.[1] ?? 0);
      };
      await eventually('failed reconciles', async () => ((await failures()) >= 2 ? true : undefined), 30_000);
      await apps.deleteNamespacedStatefulSet({ namespace, name: 'beta-east' });
      const set = await eventually(
        "the operator's StatefulSet",
        async () => {
          const s = await apps.readNamespacedStatefulSet({ namespace, name: 'beta-east' });
          return s.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'cairn-operator' ? s : undefined;
        },
        30_000,
      );
      expect(set.spec!.selector.matchLabels).toMatchObject({ 'app.kubernetes.io/instance': 'beta' });
    } finally {
      await operator.stop();
    }
  });
});

describe('cairn-operator leader election', () => {
  test('of two replicas one leads; when it stops, the other takes over', async () => {
    installCrds();
    const namespace = await createTestNamespace(config, 'election');
    const election = { namespace, leaseName: 'cairn-operator', leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 300 };
    const lost: string[] = [];
    const a = startOperator(namespace, { leaderElection: { ...election, identity: 'a' }, onLostLeadership: () => lost.push('a') });
    const b = startOperator(namespace, { leaderElection: { ...election, identity: 'b' }, onLostLeadership: () => lost.push('b') });
    await a.start();
    await b.start();
    try {
      const leader = await eventually('a leader', async () => (a.isLeader ? a : b.isLeader ? b : undefined), 20_000);
      const follower = leader === a ? b : a;
      // Several retry periods later there is still exactly one.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect([a.isLeader, b.isLeader].filter(Boolean)).toHaveLength(1);
      const lease = await config.makeApiClient(k8s.CoordinationV1Api).readNamespacedLease({ namespace, name: 'cairn-operator' });
      expect(lease.spec?.holderIdentity).toBe(leader.identity);

      await leader.stop();
      await eventually('the other replica leading', async () => (follower.isLeader ? true : undefined), 10_000);
      const taken = await config.makeApiClient(k8s.CoordinationV1Api).readNamespacedLease({ namespace, name: 'cairn-operator' });
      expect(taken.spec).toMatchObject({ holderIdentity: follower.identity, leaseTransitions: 1 });
      expect(lost).toEqual([]);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});

describe('cairn-operator TLS Secrets', () => {
  let namespace = '';
  let operator: Operator;
  const DAY_MS = 86_400_000;

  beforeAll(async () => {
    installCrds();
    namespace = await createTestNamespace(config, 'tls');
    operator = startOperator(namespace);
    await operator.start();
  });

  afterAll(async () => {
    await operator?.stop();
  });

  const readSecret = (name: string): Promise<k8s.V1Secret> => core.readNamespacedSecret({ namespace, name });
  const pem = (secret: k8s.V1Secret, key: string): string => Buffer.from(secret.data![key]!, 'base64').toString('utf8');
  const x509 = (secret: k8s.V1Secret, key = 'tls.crt'): crypto.X509Certificate => new crypto.X509Certificate(pem(secret, key));
  const tlsCondition = async (name: string): Promise<string | undefined> => condition(await readCluster(namespace, name), 'TLSReady');

  test('generate: a CA, a node and a root client certificate in owned kubernetes.io/tls Secrets, mounted by nodes and gateways', async () => {
    const created = await createCluster(namespace, 'gamma', { regions: [{ name: 'east', nodes: 3 }, { name: 'west', nodes: 1 }], tls: { generate: true } });
    const secrets = await eventually(
      'the three Secrets',
      async () => Promise.all(['gamma-ca', 'gamma-node-tls', 'gamma-client-root-tls'].map((name) => readSecret(name))),
      30_000,
    );
    for (const secret of secrets) {
      expect(secret.type).toBe('kubernetes.io/tls');
      expect(Object.keys(secret.data ?? {}).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
      expect(secret.metadata?.ownerReferences).toEqual([expect.objectContaining({ kind: KIND, name: 'gamma', uid: created.metadata.uid, controller: true })]);
    }
    const [caSecret, nodeSecret, clientSecret] = secrets as [k8s.V1Secret, k8s.V1Secret, k8s.V1Secret];
    const ca = x509(caSecret);
    expect(ca.ca).toBe(true);
    expect(pem(nodeSecret, 'ca.crt')).toBe(pem(caSecret, 'tls.crt'));

    const node = x509(nodeSecret);
    expect(node.verify(ca.publicKey)).toBe(true);
    expect(node.checkIssued(ca)).toBe(true);
    expect(node.checkPrivateKey(crypto.createPrivateKey(pem(nodeSecret, 'tls.key')))).toBe(true);
    for (const host of [
      `gamma-east-0.gamma-east.${namespace}.svc.cluster.local`,
      `gamma-west-0.gamma-west.${namespace}.svc`,
      `gamma-gateway.${namespace}.svc.cluster.local`,
      'localhost',
    ]) {
      expect([host, node.checkHost(host) !== undefined]).toEqual([host, true]);
    }
    expect(node.checkIP('127.0.0.1')).toBe('127.0.0.1');
    const sans = node.subjectAltName!.split(', ');
    expect(sans).toEqual(
      expect.arrayContaining(['gamma-east', `gamma-east.${namespace}.svc`, `*.gamma-east.${namespace}.svc`, `*.gamma-east.${namespace}.svc.cluster.local`, 'gamma-west'].map((n) => `DNS:${n}`)),
    );
    const client = x509(clientSecret);
    expect(client.subject).toContain('CN=root');
    expect(client.verify(ca.publicKey)).toBe(true);

    // The Secrets come first in a reconcile, the StatefulSets after them.
    const set = await eventually('the east StatefulSet', () => apps.readNamespacedStatefulSet({ namespace, name: 'gamma-east' }), 30_000);
    expect(set.spec!.template.spec!.volumes).toContainEqual(expect.objectContaining({ name: 'certs', secret: expect.objectContaining({ secretName: 'gamma-node-tls' }) }));
    expect(set.spec!.template.spec!.containers[0]!.volumeMounts).toContainEqual(expect.objectContaining({ name: 'certs', mountPath: '/etc/cairn/certs', readOnly: true }));
    const gateway = await eventually('the gateway Deployment', () => apps.readNamespacedDeployment({ namespace, name: 'gamma-gateway' }), 30_000);
    expect(gateway.spec!.template.spec!.volumes).toContainEqual(expect.objectContaining({ secret: expect.objectContaining({ secretName: 'gamma-node-tls' }) }));

    const cluster = await eventually('TLSReady', async () => {
      const c = await readCluster(namespace, 'gamma');
      return condition(c, 'TLSReady') === 'True/Generated' ? c : undefined;
    });
    expect(cluster.status?.tls).toEqual({
      secretName: 'gamma-node-tls',
      generated: true,
      caSecretName: 'gamma-ca',
      clientSecretName: 'gamma-client-root-tls',
      notAfter: new Date(node.validTo).toISOString(),
    });
    const events = await eventually('the TLSCertificatesGenerated Event', async () => {
      const list = await core.listNamespacedEvent({ namespace, fieldSelector: 'involvedObject.name=gamma' });
      const found = list.items.filter((e) => e.reason === 'TLSCertificatesGenerated');
      return found.length > 0 ? found : undefined;
    });
    expect(events).toHaveLength(1);
    expect(events[0]!.message).toContain('the CA gamma-ca');
    expect(events[0]!.message).toContain('gamma-node-tls');
  });

  test('later reconciles keep every Secret as it is', async () => {
    const versions = async (): Promise<(string | undefined)[]> =>
      Promise.all(['gamma-ca', 'gamma-node-tls', 'gamma-client-root-tls'].map(async (name) => (await readSecret(name)).metadata?.resourceVersion));
    const before = await versions();
    // A spec change forces a reconcile; resyncs (every 2 s here) add more.
    await patchSpec(namespace, 'gamma', { gateway: { replicas: 3 } });
    await eventually('the new generation observed', async () => {
      const c = await readCluster(namespace, 'gamma');
      return c.status?.observedGeneration === c.metadata.generation ? true : undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 4_500));
    expect(await versions()).toEqual(before);
  });

  test('a node certificate about to expire is renewed from the same CA; the CA stays', async () => {
    const caSecret = await readSecret('gamma-ca');
    const caPair = { certPem: pem(caSecret, 'tls.crt'), keyPem: pem(caSecret, 'tls.key') };
    const nodeSecret = await readSecret('gamma-node-tls');
    const names = x509(nodeSecret).subjectAltName!.split(', ');
    // Issued 355 days ago: 10 days left.
    const old = await issueCertificate(
      caPair,
      {
        commonName: 'node',
        usage: 'server-and-client',
        dnsNames: names.filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4)),
        ipAddresses: ['127.0.0.1', '::1'],
      },
      new Date(Date.now() - 355 * DAY_MS),
    );
    const b64 = (text: string): string => Buffer.from(text).toString('base64');
    await core.patchNamespacedSecret({ namespace, name: 'gamma-node-tls', body: { data: { 'tls.crt': b64(old.certPem), 'tls.key': b64(old.keyPem) } } }, mergePatch);
    const renewed = await eventually(
      'a renewed node certificate',
      async () => {
        const cert = x509(await readSecret('gamma-node-tls'));
        return Date.parse(cert.validTo) - Date.now() > 300 * DAY_MS ? cert : undefined;
      },
      30_000,
    );
    expect(renewed.verify(x509(caSecret).publicKey)).toBe(true);
    expect((await readSecret('gamma-ca')).metadata?.resourceVersion).toBe(caSecret.metadata?.resourceVersion);
  });

  test('a region added: the node certificate is issued again with its names', async () => {
    await patchSpec(namespace, 'gamma', { regions: [{ name: 'east', nodes: 3 }, { name: 'west', nodes: 1 }, { name: 'north', nodes: 1 }] });
    await eventually(
      'the north names in the node certificate',
      async () => (x509(await readSecret('gamma-node-tls')).checkHost(`gamma-north-0.gamma-north.${namespace}.svc.cluster.local`) !== undefined ? true : undefined),
      30_000,
    );
  });

  test('a user-provided Secret is mounted as it is: nothing generated, TLSReady once it exists', async () => {
    await createCluster(namespace, 'delta', { regions: [{ name: 'east', nodes: 1 }], replicationFactor: 1, tls: { secretName: 'my-tls' } });
    await eventually('TLSReady False/SecretNotFound', async () => ((await tlsCondition('delta')) === 'False/SecretNotFound' ? true : undefined), 30_000);
    const set = await apps.readNamespacedStatefulSet({ namespace, name: 'delta-east' });
    expect(set.spec!.template.spec!.volumes).toContainEqual(expect.objectContaining({ name: 'certs', secret: expect.objectContaining({ secretName: 'my-tls' }) }));

    const mine = await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'my-tls' }, type: 'Opaque', stringData: { 'ca.crt': 'ca', 'tls.crt': 'cert', 'tls.key': 'key' } },
    });
    await eventually('TLSReady True/SecretProvided', async () => ((await tlsCondition('delta')) === 'True/SecretProvided' ? true : undefined), 30_000);
    const after = await readSecret('my-tls');
    expect(after.metadata?.resourceVersion).toBe(mine.metadata?.resourceVersion);
    expect(after.metadata?.ownerReferences).toBeUndefined();
    for (const name of ['delta-ca', 'delta-node-tls', 'delta-client-root-tls']) {
      await expect(readSecret(name)).rejects.toMatchObject({ code: 404 });
    }
    expect((await readCluster(namespace, 'delta')).status?.tls).toEqual({ secretName: 'my-tls', generated: false });

    // TLS dropped from the spec: the mount, status.tls and TLSReady go.
    await patchSpec(namespace, 'delta', { tls: null });
    const plain = await eventually('status without tls', async () => {
      const c = await readCluster(namespace, 'delta');
      return c.status?.tls === undefined && c.status?.observedGeneration === c.metadata.generation ? c : undefined;
    });
    expect(condition(plain, 'TLSReady')).toBeUndefined();
    const unmounted = await apps.readNamespacedStatefulSet({ namespace, name: 'delta-east' });
    expect(unmounted.spec!.template.spec!.volumes!.map((v) => v.name)).toEqual(['tmp']);
  });

  test('deleting a cluster deletes its generated Secrets, never a provided one', async () => {
    for (const name of ['gamma', 'delta']) {
      await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name });
    }
    await eventually(
      'the generated Secrets gone',
      async () => ((await core.listNamespacedSecret({ namespace })).items.every((s) => !s.metadata!.name!.startsWith('gamma-')) ? true : undefined),
      30_000,
    );
    await readSecret('my-tls');
  });

  test("a root password Secret made before the cluster is used as it is and outlives it; one without a password is reported", async () => {
    const chosen = await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'epsilon-root-password' }, stringData: { password: 'chosen by me' } } });
    const empty = await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'zeta-root-password' }, stringData: { other: 'x' } } });
    for (const name of ['epsilon', 'zeta']) {
      await createCluster(namespace, name, { regions: [{ name: 'east', nodes: 1 }], replicationFactor: 1 });
    }
    const events = await eventually('the RootPasswordInvalid Event', async () => {
      const list = await core.listNamespacedEvent({ namespace, fieldSelector: 'involvedObject.name=zeta' });
      return list.items.some((e) => e.reason === 'RootPasswordInvalid') ? list.items : undefined;
    });
    expect(events.find((e) => e.reason === 'RootPasswordInvalid')).toMatchObject({ type: 'Warning', message: expect.stringContaining("the Secret zeta-root-password has no 'password'") });
    await eventually('epsilon reconciled', async () => ((await readCluster(namespace, 'epsilon')).status?.observedGeneration === 1 ? true : undefined));
    for (const name of ['epsilon', 'zeta']) {
      await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name });
    }
    await eventually('the clusters gone', async () => ((await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace })).items.length === 0 ? true : undefined));
    expect((await readSecret('epsilon-root-password')).metadata?.resourceVersion).toBe(chosen.metadata?.resourceVersion);
    expect((await readSecret('zeta-root-password')).metadata?.resourceVersion).toBe(empty.metadata?.resourceVersion);
  });
});
