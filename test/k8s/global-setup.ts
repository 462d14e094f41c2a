/**
 * Jest global setup for the tests that need a Kubernetes API server (`*.k8s.test.ts`):
 * builds the binaries if missing, starts etcd + kube-apiserver, and hands the
 * kubeconfig to the test workers through CAIRN_TEST_KUBECONFIG (and the
 * binaries' folder through CAIRN_TEST_K8S_BIN_DIR). A failure here fails
 * the run: these tests never skip for want of a server.
 */
import { TestApiServer } from './api-server';

declare global {
  var cairnTestApiServer: TestApiServer | undefined;
}

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  const server = await TestApiServer.start();
  globalThis.cairnTestApiServer = server;
  process.env.CAIRN_TEST_KUBECONFIG = server.kubeconfigPath;
  process.env.CAIRN_TEST_K8S_BIN_DIR = server.binDir;
  process.stderr.write(`\ntest kube-apiserver at ${server.url} ready in ${Date.now() - started} ms (files in ${server.workDir})\n`);
}
