/**
 * A real kube-apiserver over a real etcd on 127.0.0.1, for the operator's tests (the
 * way controller projects use envtest). Both run from the binaries that
 * `test/k8s/build-tools.sh` builds; each start gets a fresh etcd data folder, free
 * ports, a bearer token in the system:masters group, a self-signed serving
 * certificate and a service-account signing key, and writes a kubeconfig for them.
 *
 * There is no controller-manager, scheduler or kubelet: nothing creates Pods, collects
 * owned objects or finishes namespace deletion. Tests write such state themselves.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePorts } from '../../cli';

export const BUILD_TOOLS_SCRIPT = path.join(__dirname, 'build-tools.sh');

export interface ApiServerOptions {
  /** The folder holding `etcd` and `kube-apiserver` (default: the build script's). */
  readonly binDir?: string;
  /** How long to wait for etcd and then /readyz (default 120 s: a busy machine is slow). */
  readonly startTimeoutMs?: number;
}

/** What a client needs to reach a running test API server. */
export interface ApiServerEndpoint {
  /** `https://127.0.0.1:<port>` */
  readonly url: string;
  readonly token: string;
  /** PEM of the self-signed serving certificate and its CA. */
  readonly caPem: string;
  /** A kubeconfig file (JSON) with one context, `cairn-test`, for the admin user. */
  readonly kubeconfigPath: string;
}

/**
 * Builds the binaries if they are missing (once per machine; tens of minutes cold) and
 * returns their folder.
 */
export function buildTools(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(BUILD_TOOLS_SCRIPT, [], { maxBuffer: 1 << 20 }, (err, stdout) => {
      if (err) {
        reject(new Error(`${BUILD_TOOLS_SCRIPT} failed: ${err.message}`));
        return;
      }
      resolve(stdout.trim().split('\n').pop() ?? '');
    });
    child.stderr?.pipe(process.stderr);
  });
}

/** One started etcd + kube-apiserver pair. `stop()` ends both and removes their files. */
export class TestApiServer implements ApiServerEndpoint {
  private stopped = false;
  private readonly exitHook = (): void => {
    for (const child of [this.apiServer, this.etcd]) child?.kill('SIGKILL');
  };

  private constructor(
    readonly url: string,
    readonly token: string,
    readonly caPem: string,
    readonly kubeconfigPath: string,
    readonly workDir: string,
    /** The folder of etcd, kube-apiserver, kubectl and helm. */
    readonly binDir: string,
    private readonly etcd: ChildProcess,
    private readonly apiServer: ChildProcess,
  ) {
    process.on('exit', this.exitHook);
  }

  static async start(options: ApiServerOptions = {}): Promise<TestApiServer> {
    const binDir = options.binDir ?? (await buildTools());
    for (const name of ['etcd', 'kube-apiserver']) {
      if (!fs.existsSync(path.join(binDir, name))) {
        throw new Error(`${name} is missing from ${binDir}: run ${BUILD_TOOLS_SCRIPT}`);
      }
    }
    const timeoutMs = options.startTimeoutMs ?? 120_000;
    const deadline = Date.now() + timeoutMs;
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-k8s-'));
    const [etcdPort, etcdPeerPort, securePort] = (await freePorts(3)) as [number, number, number];

    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    const etcd = startChild(path.join(binDir, 'etcd'), workDir, 'etcd', [
      `--data-dir=${path.join(workDir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`,
      // Test data: losing it in a crash is fine, and fsyncs are slow on a shared disk.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);
    let apiServer: ChildProcess | undefined;
    try {
      await waitFor('etcd', etcd, workDir, deadline, async () => {
        const body = await httpGet(`${etcdUrl}/health`);
        return body.status === 200 && body.text.includes('"health":"true"');
      });

      const token = crypto.randomBytes(24).toString('hex');
      fs.writeFileSync(path.join(workDir, 'tokens.csv'), `${token},admin,admin,"system:masters"\n`, { mode: 0o600 });
      const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
      // One RSA key serves to sign service-account tokens and to verify them.
      const saKeyPath = path.join(workDir, 'service-account.key');
      fs.writeFileSync(saKeyPath, privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
      const certDir = path.join(workDir, 'certs');

      const url = `https://127.0.0.1:${securePort}`;
      apiServer = startChild(path.join(binDir, 'kube-apiserver'), workDir, 'kube-apiserver', [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        // Without it the server looks for the default route's interface.
        '--advertise-address=127.0.0.1',
        `--secure-port=${securePort}`,
        `--cert-dir=${certDir}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        '--authorization-mode=RBAC',
        `--token-auth-file=${path.join(workDir, 'tokens.csv')}`,
        `--service-account-issuer=${url}`,
        `--service-account-key-file=${saKeyPath}`,
        `--service-account-signing-key-file=${saKeyPath}`,
        // No controller-manager makes default ServiceAccounts for it to check.
        '--disable-admission-plugins=ServiceAccount',
        '--allow-privileged=true',
        '--v=1',
      ]);
      const certPath = path.join(certDir, 'apiserver.crt');
      let caPem = '';
      await waitFor('kube-apiserver /readyz', apiServer, workDir, deadline, async () => {
        if (caPem === '') {
          if (!fs.existsSync(certPath)) return false;
          caPem = fs.readFileSync(certPath, 'utf8');
        }
        const body = await httpsGet(`${url}/readyz`, token, caPem);
        return body.status === 200;
      });

      const kubeconfigPath = path.join(workDir, 'kubeconfig');
      fs.writeFileSync(kubeconfigPath, JSON.stringify(kubeconfig(url, token, caPem), null, 2), { mode: 0o600 });
      return new TestApiServer(url, token, caPem, kubeconfigPath, workDir, binDir, etcd, apiServer);
    } catch (err) {
      await Promise.all([stopChild(apiServer), stopChild(etcd)]);
      fs.rmSync(workDir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Stops the API server, then etcd (SIGTERM, SIGKILL after 10 s), and removes the files. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await stopChild(this.apiServer);
    await stopChild(this.etcd);
    process.off('exit', this.exitHook);
    fs.rmSync(this.workDir, { recursive: true, force: true });
  }
}

/** A kubeconfig (JSON is YAML) for the admin token. */
export function kubeconfig(url: string, token: string, caPem: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'cairn-test', cluster: { server: url, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: 'admin', user: { token } }],
    contexts: [{ name: 'cairn-test', context: { cluster: 'cairn-test', user: 'admin' } }],
    'current-context': 'cairn-test',
  };
}

function startChild(binary: string, workDir: string, name: string, args: string[]): ChildProcess {
  const logFd = fs.openSync(path.join(workDir, `${name}.log`), 'a');
  const child = spawn(binary, args, { stdio: ['ignore', logFd, logFd], cwd: workDir });
  fs.closeSync(logFd);
  return child;
}

async function waitFor(
  what: string,
  child: ChildProcess,
  workDir: string,
  deadline: number,
  ready: () => Promise<boolean>,
): Promise<void> {
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what}: the process exited (${child.exitCode ?? child.signalCode}); log:\n${logTail(workDir, child)}`);
    }
    try {
      if (await ready()) return;
    } catch (err) {
      lastError = err;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}${lastError === undefined ? '' : ` (${String(lastError)})`}; log:\n${logTail(workDir, child)}`);
}

function logTail(workDir: string, child: ChildProcess): string {
  const name = path.basename(child.spawnfile);
  try {
    return fs.readFileSync(path.join(workDir, `${name}.log`), 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return '(no log)';
  }
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

interface Reply {
  readonly status: number;
  readonly text: string;
}

function httpGet(url: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { timeout: 2_000 }, (response) => collect(response, resolve, reject));
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', reject);
  });
}

function httpsGet(url: string, token: string, caPem: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const request = https.get(url, { timeout: 2_000, ca: caPem, headers: { authorization: `Bearer ${token}` } }, (response) =>
      collect(response, resolve, reject),
    );
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', reject);
  });
}

function collect(response: http.IncomingMessage, resolve: (reply: Reply) => void, reject: (err: Error) => void): void {
  const chunks: Buffer[] = [];
  response.on('data', (chunk: Buffer) => chunks.push(chunk));
  response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
  response.on('error', reject);
}
