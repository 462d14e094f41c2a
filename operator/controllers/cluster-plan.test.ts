import type { V1Pod } from '@kubernetes/client-node';
import { initClusterId, type ObservedCluster, planCluster } from './cluster-plan';
import { testCluster } from './test-cluster';

const NOW = '2026-01-01T00:00:00Z';
const LATER = '2026-01-01T00:01:00Z';

function observed(over: Partial<ObservedCluster> = {}): ObservedCluster {
  return { statefulSets: new Map(), readyNodes: new Map(), readyGateways: 0, initJob: undefined, tls: { kind: 'none' }, ...over };
}

const conditionsOf = (status: { conditions?: readonly { type: string; status: string; reason: string }[] }) =>
  Object.fromEntries((status.conditions ?? []).map((c) => [c.type, `${c.status}/${c.reason}`]));

describe('planCluster', () => {
  test('a new cluster: every object, in dependency order, and a Pending status', () => {
    const plan = planCluster(testCluster(), observed(), NOW);
    expect(plan.objects.map((o) => `${o.kind}/${o.metadata!.name}`)).toEqual([
      'ServiceAccount/db-cairn',
      'Service/db-east',
      'StatefulSet/db-east',
      'PodDisruptionBudget/db-east',
      'Deployment/db-gateway',
      'Service/db-gateway',
      'PodDisruptionBudget/db-gateway',
    ]);
    expect(plan.initJob).toBeUndefined();
    expect(plan.status).toMatchObject({ phase: 'Pending', readyNodes: '0/3', regionNames: 'east', observedGeneration: 1, initialized: false });
    expect(conditionsOf(plan.status)).toEqual({ Ready: 'False/NotInitialized', Progressing: 'True/Initializing', Degraded: 'False/AsExpected' });
  });

  test('creates the init Job once replication-factor nodes are ready, and only once', () => {
    const two = planCluster(testCluster(), observed({ readyNodes: new Map([['east', 2]]) }), NOW);
    expect(two.initJob).toBeUndefined();
    expect(two.status.phase).toBe('Initializing');
    const three = planCluster(testCluster(), observed({ readyNodes: new Map([['east', 3]]) }), NOW);
    expect(three.initJob?.metadata?.name).toBe('db-init');
    expect(three.status.initJobName).toBe('db-init');
    expect(three.events.map((e) => e.reason)).toEqual(['InitJobCreated']);
    const running = planCluster(testCluster({}, three.status), observed({ readyNodes: new Map([['east', 3]]), initJob: { succeeded: false, failed: false, clusterId: undefined } }), NOW);
    expect(running.initJob).toBeUndefined();
  });

  test('Ready once initialised with every node and gateway ready; the transition time is kept after', () => {
    const all = observed({ readyNodes: new Map([['east', 3]]), readyGateways: 2, initJob: { succeeded: true, failed: false, clusterId: undefined } });
    const plan = planCluster(testCluster(), all, NOW);
    expect(plan.status.phase).toBe('Running');
    expect(conditionsOf(plan.status)).toEqual({ Ready: 'True/AllReady', Progressing: 'False/Stable', Degraded: 'False/AsExpected' });
    expect(plan.events.map((e) => e.reason)).toEqual(['Initialized', 'Ready']);
    const again = planCluster(testCluster({}, plan.status), all, LATER);
    expect(again.status).toEqual(plan.status);
    expect(again.events).toEqual([]);
  });

  test("records the cluster ID from the init pod's termination message, once it succeeded, and keeps it", () => {
    const id = '6f1c2a9e-4b7d-4e15-9a3c-0d2b8e7f5a41';
    const pod = (exitCode: number, message: string): V1Pod => ({
      status: { containerStatuses: [{ name: 'cairn-init', image: 'cairn', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode, message } } }] },
    });
    expect(initClusterId([])).toBeUndefined();
    expect(initClusterId([pod(1, id)])).toBeUndefined();
    expect(initClusterId([pod(0, 'not an id')])).toBeUndefined();
    expect(initClusterId([pod(1, 'refused'), pod(0, `${id}\n`)])).toBe(id);

    const seen = (clusterId: string | undefined): ObservedCluster => observed({ readyNodes: new Map([['east', 3]]), initJob: { succeeded: true, failed: false, clusterId } });
    const before = planCluster(testCluster(), seen(undefined), NOW);
    expect(before.status.clusterId).toBeUndefined();
    const plan = planCluster(testCluster({}, before.status), seen(id), NOW);
    expect(plan.status.clusterId).toBe(id);
    expect(plan.events).toEqual([{ type: 'Normal', reason: 'ClusterIdRecorded', message: `the cluster's ID is ${id}` }]);
    // The Job and its pods may be deleted later (a TTL, a person): the status keeps it.
    const later = planCluster(testCluster({}, plan.status), observed({ readyNodes: new Map([['east', 3]]) }), LATER);
    expect(later.status.clusterId).toBe(id);
    expect(later.events).toEqual([]);
  });

  test('refuses to scale a region down: keeps the replicas, Degraded, and one Warning', () => {
    const cluster = testCluster({ regions: [{ name: 'east', nodes: 2 }], replicationFactor: 1 });
    const seen = observed({ statefulSets: new Map([['east', { replicas: 3, storageSize: '10Gi' }]]), readyNodes: new Map([['east', 3]]) });
    const plan = planCluster(cluster, seen, NOW);
    const set = plan.objects.find((o) => o.kind === 'StatefulSet') as { spec: { replicas: number } };
    expect(set.spec.replicas).toBe(3);
    expect(plan.status.phase).toBe('Degraded');
    expect(conditionsOf(plan.status).Degraded).toBe('True/ScaleDownRefused');
    expect(plan.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'ScaleDownRefused' }));
    expect(planCluster({ ...cluster, status: plan.status }, seen, LATER).events.filter((e) => e.type === 'Warning')).toEqual([]);
  });

  test('scaling up is applied', () => {
    const cluster = testCluster({ regions: [{ name: 'east', nodes: 5 }] });
    const plan = planCluster(cluster, observed({ statefulSets: new Map([['east', { replicas: 3, storageSize: '10Gi' }]]) }), NOW);
    expect((plan.objects.find((o) => o.kind === 'StatefulSet') as { spec: { replicas: number } }).spec.replicas).toBe(5);
    expect(plan.status.readyNodes).toBe('0/5');
  });

  test('a failed init Job degrades the cluster', () => {
    const plan = planCluster(testCluster({}, { initJobName: 'db-init' }), observed({ readyNodes: new Map([['east', 3]]), initJob: { succeeded: false, failed: true, clusterId: undefined } }), NOW);
    expect(conditionsOf(plan.status).Degraded).toBe('True/InitFailed');
  });

  test('TLS: a TLSReady condition and status.tls when the spec asks for TLS, a Warning when it is not ready', () => {
    const tlsStatus = { secretName: 'db-node-tls', generated: true, caSecretName: 'db-ca', clientSecretName: 'db-client-root-tls', notAfter: '2027-01-01T00:00:00.000Z' };
    const cluster = testCluster({ tls: { generate: true } });
    const ready = planCluster(cluster, observed({ tls: { kind: 'ready', status: tlsStatus } }), NOW);
    expect(conditionsOf(ready.status).TLSReady).toBe('True/Generated');
    expect(ready.status.tls).toEqual(tlsStatus);
    expect(ready.events.filter((e) => e.type === 'Warning')).toEqual([]);

    const given = testCluster({ tls: { secretName: 'mine', generate: false } });
    const missing = planCluster(given, observed({ tls: { kind: 'not-ready', reason: 'SecretNotFound', message: 'the Secret mine does not exist', status: { secretName: 'mine', generated: false } } }), NOW);
    expect(conditionsOf(missing.status).TLSReady).toBe('False/SecretNotFound');
    expect(missing.events).toContainEqual({ type: 'Warning', reason: 'SecretNotFound', message: 'the Secret mine does not exist' });

    // TLS dropped from the spec: the condition and status.tls go.
    const off = planCluster(testCluster({}, ready.status), observed(), LATER);
    expect(conditionsOf(off.status).TLSReady).toBeUndefined();
    expect(off.status.tls).toBeUndefined();
  });
});
