/**
 * What a `*.k8s.test.ts` file uses to reach the test API server that the jest global
 * setup started: a KubeConfig, and a fresh namespace per test file.
 */
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';

/** The test API server's KubeConfig; throws (failing the test) when there is none. */
export function testKubeConfig(): k8s.KubeConfig {
  const file = process.env.CAIRN_TEST_KUBECONFIG;
  if (file === undefined || file === '') {
    throw new Error('no test API server: CAIRN_TEST_KUBECONFIG is unset (run these tests with `npm run test:k8s`)');
  }
  const config = new k8s.KubeConfig();
  config.loadFromFile(file);
  return config;
}

/**
 * Creates a namespace named `<prefix>-<random>`. Without a controller-manager a deleted
 * namespace never finishes terminating, so tests leave theirs behind; etcd is fresh
 * for every run.
 */
export async function createTestNamespace(config: k8s.KubeConfig, prefix: string): Promise<string> {
  const name = `${prefix}-${crypto.randomBytes(3).toString('hex')}`;
  await config.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name } } });
  return name;
}

/** Runs a binary built by build-tools.sh (kubectl, helm) against the test API server. */
export function runTool(
  tool: 'kubectl' | 'helm',
  args: readonly string[],
  input?: string,
): { status: number; stdout: string; stderr: string } {
  const binDir = process.env.CAIRN_TEST_K8S_BIN_DIR;
  const kubeconfig = process.env.CAIRN_TEST_KUBECONFIG;
  if (binDir === undefined || kubeconfig === undefined) {
    throw new Error('no test API server: CAIRN_TEST_K8S_BIN_DIR is unset (run these tests with `npm run test:k8s`)');
  }
  const result = spawnSync(path.join(binDir, tool), [...args], {
    input,
    encoding: 'utf8',
    env: { ...process.env, KUBECONFIG: kubeconfig },
    timeout: 60_000,
  });
  if (result.error !== undefined) throw result.error;
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

const CRDS_DIR = path.join(__dirname, '..', '..', 'crds');

/**
 * Installs (server-side applies) every CRD in crds/ and waits until the API server serves
 * them. Idempotent, so each test file calls it.
 */
export function installCrds(): void {
  const applied = runTool('kubectl', ['apply', '--server-side', '--field-manager=cairn-tests', '-f', CRDS_DIR]);
  if (applied.status !== 0) throw new Error(`kubectl apply of crds/ failed: ${applied.stderr}`);
  const waited = runTool('kubectl', ['wait', '--for=condition=Established', '--timeout=60s', '-f', CRDS_DIR]);
  if (waited.status !== 0) throw new Error(`the CRDs were not established: ${waited.stderr}`);
}
