/** The cairn-operator process: JSON logs, HTTP endpoints, leader lease, clean SIGTERM. */
import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { freePorts } from '../cli';
import { createTestNamespace, installCrds, testKubeConfig } from '../test/k8s/kube';
import { eventually } from '../test/support/eventually';

const BIN = path.join(__dirname, '..', 'bin', 'cairn-operator');

test('cairn-operator logs JSON, serves /healthz and /metrics, leads, and on SIGTERM releases the lease and exits 0', async () => {
  const config = testKubeConfig();
  installCrds();
  const namespace = await createTestNamespace(config, 'main');
  const [port] = (await freePorts(1)) as [number];
  const child: ChildProcess = spawn(
    process.execPath,
    [BIN, '--http-addr', `127.0.0.1:${port}`, '--watch-namespace', namespace, '--lease-namespace', namespace],
    { env: { ...process.env, KUBECONFIG: process.env.CAIRN_TEST_KUBECONFIG }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const leases = config.makeApiClient(k8s.CoordinationV1Api);
    const lease = await eventually(
      'the operator holding its lease',
      async () => {
        const l = await leases.readNamespacedLease({ namespace, name: 'cairn-operator' });
        return l.spec?.holderIdentity !== undefined && l.spec.holderIdentity !== '' ? l : undefined;
      },
      30_000,
    );
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toContain('cairn_operator_leader 1');

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const released = await leases.readNamespacedLease({ namespace, name: 'cairn-operator' });
    expect(released.spec?.holderIdentity).toBe('');
    expect(lease.spec?.holderIdentity).toBeTruthy();
    const lines = stdout.trim().split('\n').map((line) => JSON.parse(line) as { name: string; msg: string });
    expect(lines.every((l) => l.name === 'cairn-operator')).toBe(true);
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['cairn-operator started', 'became the leader', 'shutting down']));
    expect(stderr).toBe('');
  } finally {
    child.kill('SIGKILL');
  }
});
