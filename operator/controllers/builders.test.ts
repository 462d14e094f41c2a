import { buildGatewayDeployment, buildGatewayPdb, buildGatewayService } from './build-gateway';
import { buildInitJob } from './build-init-job';
import { buildNodePdb, buildNodeService, buildNodeStatefulSet } from './build-nodes';
import { buildServiceAccount } from './build-service-account';
import { testCluster } from './test-cluster';

const owner = { apiVersion: 'cairn.dev/v1alpha1', kind: 'DatabaseCluster', name: 'db', uid: 'uid-1', controller: true, blockOwnerDeletion: true };

describe('buildNodeStatefulSet', () => {
  const cluster = testCluster({ regions: [{ name: 'east', nodes: 3, zones: ['a', 'b'] }, { name: 'west', nodes: 1 }] });
  const set = buildNodeStatefulSet({ cluster, region: cluster.spec.regions[0]!, replicas: 3, existingStorageSize: undefined });
  const pod = set.spec!.template.spec!;
  const container = pod.containers[0]!;

  test('is owned by the cluster and named after it and the region', () => {
    expect(set.metadata).toMatchObject({ name: 'db-east', namespace: 'ns', ownerReferences: [owner] });
    expect(set.metadata!.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'cairn-operator', 'cairn.dev/region': 'east' });
    expect(set.spec!.serviceName).toBe('db-east');
    expect(set.spec!.selector.matchLabels).toEqual(expect.objectContaining({ 'app.kubernetes.io/component': 'node' }));
  });

  test('runs cairn-node with its region, stable address and the first nodes of every region to join', () => {
    expect(container.command).toBeUndefined();
    expect(container.args).toEqual([
      'cairn-node',
      '--data-dir=/data',
      '--listen-addr=$(POD_NAME).db-east.ns.svc.cluster.local:26258',
      '--http-addr=0.0.0.0:8080',
      '--join=' +
        ['db-east-0.db-east', 'db-east-1.db-east', 'db-east-2.db-east', 'db-west-0.db-west'].map((a) => `${a}.ns.svc.cluster.local:26258`).join(','),
    ]);
    expect(container.env).toContainEqual({ name: 'CAIRN_REGION', value: 'east' });
    expect(container.env).toContainEqual({ name: 'CAIRN_ZONE', valueFrom: { fieldRef: { fieldPath: "metadata.labels['topology.kubernetes.io/zone']" } } });
  });

  test('probes /readyz and /healthz, runs as non-root with a read-only root filesystem', () => {
    expect(container.readinessProbe!.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.livenessProbe!.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
  });

  test('spreads over zones, pinned to the spec\'s zones', () => {
    expect(pod.topologySpreadConstraints![0]).toMatchObject({ topologyKey: 'topology.kubernetes.io/zone', maxSkew: 1 });
    expect(pod.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['a', 'b'] }] },
    ]);
  });

  test('claims one volume per pod from the storage spec, keeping an existing set\'s size', () => {
    expect(set.spec!.volumeClaimTemplates![0]!.spec!.resources!.requests).toEqual({ storage: '10Gi' });
    const existing = buildNodeStatefulSet({ cluster, region: cluster.spec.regions[0]!, replicas: 3, existingStorageSize: '5Gi' });
    expect(existing.spec!.volumeClaimTemplates![0]!.spec!.resources!.requests).toEqual({ storage: '5Gi' });
  });

  test('adds resources, extra args, selectors and tolerations from the spec', () => {
    const custom = testCluster({
      regions: [{ name: 'r', nodes: 1, nodeSelector: { disk: 'ssd' }, tolerations: [{ key: 'k', operator: 'Exists' }] }],
      resources: { nodes: { limits: { cpu: '2' } } },
      extraArgs: { node: ['--tick-ms=50'] },
    });
    const spec = buildNodeStatefulSet({ cluster: custom, region: custom.spec.regions[0]!, replicas: 1, existingStorageSize: undefined }).spec!.template.spec!;
    expect(spec.nodeSelector).toEqual({ disk: 'ssd' });
    expect(spec.tolerations).toEqual([{ key: 'k', operator: 'Exists' }]);
    expect(spec.containers[0]!.resources).toEqual({ limits: { cpu: '2' } });
    expect(spec.containers[0]!.args!.at(-1)).toBe('--tick-ms=50');
    expect(spec.affinity).toBeUndefined();
  });
});

describe('TLS mounts', () => {
  const mounted = (cluster: ReturnType<typeof testCluster>) => {
    const node = buildNodeStatefulSet({ cluster, region: cluster.spec.regions[0]!, replicas: 3, existingStorageSize: undefined }).spec!.template.spec!;
    const gateway = buildGatewayDeployment(cluster).spec!.template.spec!;
    return [node, gateway].map((pod) => ({
      volume: pod.volumes!.find((v) => v.name === 'certs'),
      mount: pod.containers[0]!.volumeMounts!.find((m) => m.name === 'certs'),
      env: pod.containers[0]!.env?.find((e) => e.name === 'CAIRN_CERTS_DIR'),
    }));
  };

  test('without TLS nothing is mounted', () => {
    expect(mounted(testCluster())).toEqual([
      { volume: undefined, mount: undefined, env: undefined },
      { volume: undefined, mount: undefined, env: undefined },
    ]);
  });

  test('nodes and gateways mount the generated node Secret, or the given one, read-only at /etc/cairn/certs', () => {
    for (const [tls, secretName] of [
      [{ generate: true }, 'db-node-tls'],
      [{ secretName: 'mine', generate: false }, 'mine'],
    ] as const) {
      for (const pod of mounted(testCluster({ tls }))) {
        expect(pod).toEqual({
          volume: { name: 'certs', secret: { secretName, defaultMode: 0o440 } },
          mount: { name: 'certs', mountPath: '/etc/cairn/certs', readOnly: true },
          env: { name: 'CAIRN_CERTS_DIR', value: '/etc/cairn/certs' },
        });
      }
    }
  });
});

describe('buildNodeService', () => {
  test('is headless and publishes pods before they are ready', () => {
    const cluster = testCluster();
    const service = buildNodeService(cluster, cluster.spec.regions[0]!);
    expect(service.metadata!.name).toBe('db-east');
    expect(service.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    expect(service.spec!.ports!.map((p) => p.port)).toEqual([26258, 8080]);
  });
});

describe('buildNodePdb', () => {
  test('lets one node of the region go at a time', () => {
    const cluster = testCluster();
    expect(buildNodePdb(cluster, cluster.spec.regions[0]!).spec).toMatchObject({ maxUnavailable: 1 });
  });
});

describe('buildGatewayDeployment and buildGatewayService', () => {
  const cluster = testCluster({ gateway: { replicas: 4, serviceType: 'LoadBalancer' } });

  test('run the spec\'s replica count behind a Service on port 5432', () => {
    const deployment = buildGatewayDeployment(cluster);
    expect(deployment.metadata).toMatchObject({ name: 'db-gateway', ownerReferences: [owner] });
    expect(deployment.spec!.replicas).toBe(4);
    expect(deployment.spec!.template.spec!.containers[0]!.ports).toContainEqual({ name: 'sql', containerPort: 5432, protocol: 'TCP' });
    const service = buildGatewayService(cluster);
    expect(service.spec).toMatchObject({ type: 'LoadBalancer', ports: [{ name: 'sql', port: 5432, targetPort: 'sql', protocol: 'TCP' }] });
    expect(buildGatewayPdb(cluster).spec).toMatchObject({ maxUnavailable: 1 });
  });
});

describe('buildServiceAccount', () => {
  test('mounts no API token', () => {
    expect(buildServiceAccount(testCluster())).toMatchObject({ metadata: { name: 'db-cairn' }, automountServiceAccountToken: false });
  });
});

describe('buildInitJob', () => {
  test('runs cairn init once against the first node of the first region', () => {
    const job = buildInitJob(testCluster());
    expect(job.metadata!.name).toBe('db-init');
    const container = job.spec!.template.spec!.containers[0]!;
    expect(container.args).toEqual([
      'cairn',
      'init',
      '--host',
      'db-east-0.db-east.ns.svc.cluster.local:26258',
      '--cluster-id-file',
      '/dev/termination-log',
      '--root-password-file',
      '/etc/cairn/root-password/password',
    ]);
    expect(container.volumeMounts).toEqual([{ name: 'root-password', mountPath: '/etc/cairn/root-password', readOnly: true }]);
    expect(job.spec!.template.spec!.volumes).toEqual([
      { name: 'root-password', secret: { secretName: 'db-root-password', items: [{ key: 'password', path: 'password' }], defaultMode: 0o400 } },
    ]);
    expect(container).toMatchObject({ terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' });
    expect(job.spec!.template.spec!.restartPolicy).toBe('OnFailure');
  });
});
