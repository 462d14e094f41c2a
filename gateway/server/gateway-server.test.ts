/**
 * The gateway on a real one-node cluster: node-postgres connects as root (trust) to
 * defaultdb, statements show up in /metrics, /healthz and /readyz answer, the
 * `cairn-gateway` process serves (TLS from --certs-dir) and exits 0 on SIGTERM, and stop() ends idle client
 * sessions with 57P01 admin_shutdown. Also, without any node: /readyz says not ready
 * while the gateway waits for the cluster, and stop() then ends the wait.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { childExecArgv, freePorts, tsxLoaderUrl } from '../../cli';
import { createLogger } from '../../common/logging';
import { createRegistry } from '../../common/metrics';
import type { SqlCluster } from '../../test/support/sql-cluster';
import { startSqlCluster } from '../../test/support/sql-cluster';
import { selfSignedCertificate } from '../pgwire/test-support/harness';
import { GatewayServer } from './gateway-server';

jest.setTimeout(120_000);

const silent = createLogger({ name: 'gateway-test', fd: 2, level: 'silent' });

/** GET http://address/path: status and body, or undefined when nothing answers. */
async function httpGet(address: string, urlPath: string): Promise<{ status: number; body: string } | undefined> {
  try {
    const response = await fetch(`http://${address}${urlPath}`, { signal: AbortSignal.timeout(5_000) });
    return { status: response.status, body: await response.text() };
  } catch {
    return undefined;
  }
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve({ code: child.exitCode, signal: child.signalCode })
    : new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

async function waitUntil(what: string, condition: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const GATEWAY_MAIN = path.join(__dirname, 'main.ts');

function spawnGateway(args: readonly string[]): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, [...childExecArgv(GATEWAY_MAIN, process.execArgv, tsxLoaderUrl), GATEWAY_MAIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

describe('without a cluster', () => {
  test('trust authentication is refused on an address others can reach', () => {
    expect(
      () =>
        new GatewayServer({
          join: ['127.0.0.1:1'],
          listen: { host: '0.0.0.0', port: 0 },
          http: { host: '127.0.0.1', port: 0 },
          auth: 'trust',
          registry: createRegistry(),
          log: silent,
        }),
    ).toThrow(/allowed only on a loopback --listen-addr/);
  });

  test('waits for the KV nodes, healthy but not ready; stop() ends the wait', async () => {
    const [deadPort] = await freePorts(1);
    const gateway = new GatewayServer({
      join: [`127.0.0.1:${deadPort}`],
      listen: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      auth: 'trust',
      kvRequestTimeoutMs: 500,
      registry: createRegistry(),
      log: silent,
    });
    const started = gateway.start();
    const outcome = started.then(
      () => 'served',
      (err: Error) => err.message,
    );
    await waitUntil('/healthz', async () => (await httpGet(gateway.httpAddress, '/healthz'))?.status === 200);
    expect(await httpGet(gateway.httpAddress, '/readyz')).toEqual({ status: 503, body: 'not ready\n' });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(gateway.phase).toBe('starting');
    await gateway.stop();
    expect(gateway.phase).toBe('stopped');
    expect(await outcome).toBe('the gateway was stopped before it served');
    expect(await httpGet(gateway.httpAddress, '/healthz')).toBeUndefined();
  });
});

describe('on a one-node cluster', () => {
  let sql: SqlCluster | undefined;

  beforeAll(async () => {
    sql = await startSqlCluster('gateway', { nodes: 1 });
  });

  afterAll(async () => {
    await sql?.stop();
  });

  const cluster = (): SqlCluster => {
    if (sql === undefined) throw new Error('no cluster');
    return sql;
  };

  test('/healthz and /readyz answer 200', async () => {
    expect(await httpGet(cluster().httpAddress, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
    expect(await httpGet(cluster().httpAddress, '/readyz')).toEqual({ status: 200, body: 'ready\n' });
  });

  test('root connects to defaultdb without a password and runs SELECT 1', async () => {
    const client = await cluster().client();
    try {
      const result = await client.query({ text: 'SELECT 1', rowMode: 'array' });
      expect(result.rows).toEqual([[1]]);
      expect(result.command).toBe('SELECT');
    } finally {
      await client.end();
    }
  });

  test('the URL works as a connection string', async () => {
    expect(cluster().url).toBe(`postgresql://root@127.0.0.1:${cluster().port}/defaultdb?sslmode=disable`);
    const client = new Client({ connectionString: cluster().url });
    await client.connect();
    try {
      expect((await client.query({ text: 'SELECT 1', rowMode: 'array' })).rows).toEqual([[1]]);
    } finally {
      await client.end();
    }
  });

  test('/metrics counts statements by type and result, times them, and counts sessions', async () => {
    const client = await cluster().client();
    try {
      await client.query('SELECT 1');
      // An error while executing (not while planning) is counted under its SQLSTATE.
      await client.query('CREATE TABLE gateway_metrics (id INT PRIMARY KEY)');
      await client.query('INSERT INTO gateway_metrics VALUES (1)');
      await expect(client.query('INSERT INTO gateway_metrics VALUES (1)')).rejects.toMatchObject({ code: '23505' });
      const metrics = await httpGet(cluster().httpAddress, '/metrics');
      expect(metrics?.status).toBe(200);
      const text = metrics?.body ?? '';
      expect(text).toContain('# TYPE cairn_sql_statements_total counter');
      const samples = (name: string): { labels: Record<string, string>; value: number }[] =>
        text
          .split('\n')
          .filter((line) => line.startsWith(`${name}{`))
          .map((line) => {
            const [, labelText, value] = /^[^{]+\{([^}]*)\} (\S+)$/.exec(line) as RegExpExecArray;
            const labels = Object.fromEntries([...(labelText as string).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
            return { labels, value: Number(value) };
          });
      const statements = samples('cairn_sql_statements_total');
      expect(statements.every((s) => s.labels.process === 'cairn-gateway' && /^[A-Za-z_]+$/.test(s.labels.type ?? ''))).toBe(true);
      expect(statements.find((s) => s.labels.result === 'ok')?.value).toBeGreaterThanOrEqual(1);
      expect(statements.find((s) => s.labels.result === '23505')?.value).toBeGreaterThanOrEqual(1);
      expect(text).toContain('# TYPE cairn_sql_statement_duration_seconds histogram');
      const counts = samples('cairn_sql_statement_duration_seconds_count');
      expect(counts.reduce((sum, s) => sum + s.value, 0)).toBeGreaterThanOrEqual(2);
      expect(samples('cairn_sql_connections')).toEqual([{ labels: { process: 'cairn-gateway' }, value: 1 }]);
      // And the process's own metrics, as on every Cairn process.
      expect(text).toContain('process_cpu_user_seconds_total');
    } finally {
      await client.end();
    }
  });

  test('the cairn-gateway process serves TLS from --certs-dir and exits 0 on SIGTERM', async () => {
    const [sqlPort, httpPort] = await freePorts(2);
    // The operator's Secret layout: tls.crt and tls.key.
    const certsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-gateway-certs-'));
    const certificate = selfSignedCertificate();
    fs.writeFileSync(path.join(certsDir, 'tls.crt'), certificate.cert);
    fs.writeFileSync(path.join(certsDir, 'tls.key'), certificate.key);
    const { child, output } = spawnGateway([
      '--join', cluster().nodes.cluster.addresses.join(','),
      '--listen-addr', `127.0.0.1:${sqlPort}`,
      '--http-addr', `127.0.0.1:${httpPort}`,
      '--auth', 'trust',
      '--certs-dir', certsDir,
    ]);
    try {
      await waitUntil('the gateway process to be ready', async () => {
        if (child.exitCode !== null) throw new Error(`cairn-gateway exited ${child.exitCode}:\n${output()}`);
        return (await httpGet(`127.0.0.1:${httpPort}`, '/readyz'))?.status === 200;
      });
      const client = new Client({
        host: '127.0.0.1',
        port: sqlPort as number,
        user: 'root',
        database: 'defaultdb',
        ssl: { ca: certificate.cert, servername: 'localhost' },
      });
      client.on('error', () => undefined);
      await client.connect();
      const stream = (client as unknown as { connection: { stream: { encrypted?: boolean } } }).connection.stream;
      expect(stream.encrypted).toBe(true);
      expect((await client.query({ text: 'SELECT 1', rowMode: 'array' })).rows).toEqual([[1]]);
      const closed = new Promise<unknown>((resolve) => client.once('error', resolve));
      child.kill('SIGTERM');
      expect(await exited(child)).toEqual({ code: 0, signal: null });
      expect(await closed).toMatchObject({ code: '57P01' });
      await client.end().catch(() => undefined);
      // JSON lines on stderr, the last one saying it stopped.
      const lines = output().trim().split('\n').map((line) => JSON.parse(line) as { name: string; msg: string });
      expect(lines.every((l) => l.name === 'cairn-gateway')).toBe(true);
      expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['serving SQL', 'shutting down', 'stopped']));
      expect(lines.find((l) => l.msg === 'serving SQL')).toMatchObject({ tls: true, auth: 'trust' });
      expect(lines.at(-1)?.msg).toBe('stopped');
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited(child);
      }
      fs.rmSync(certsDir, { recursive: true, force: true });
    }
  });

  test('the cairn-gateway process refuses trust authentication on 0.0.0.0, and a missing --join', async () => {
    const refused = spawnGateway(['--join', cluster().nodes.cluster.addresses.join(','), '--listen-addr', '0.0.0.0:0', '--auth', 'trust']);
    expect(await exited(refused.child)).toEqual({ code: 2, signal: null });
    expect(refused.output()).toMatch(/^cairn-gateway: --auth trust lets anyone who reaches 0\.0\.0\.0:0 in as any user without a password/);
    const noJoin = spawnGateway([]);
    expect(await exited(noJoin.child)).toEqual({ code: 2, signal: null });
    expect(noJoin.output()).toMatch(/^cairn-gateway: --join is required/);
    expect(noJoin.output()).toContain('Usage: cairn-gateway --join HOST:PORT[,...] [options]');
  });

  test('stop() ends idle sessions with 57P01 admin_shutdown and closes everything', async () => {
    const { gateway, httpAddress, port } = cluster();
    const client = await cluster().client();
    expect((await client.query({ text: 'SELECT 1', rowMode: 'array' })).rows).toEqual([[1]]);
    const closed = new Promise<unknown>((resolve) => client.once('error', resolve));
    const ended = new Promise<void>((resolve) => client.once('end', resolve));
    await gateway.stop();
    expect(gateway.phase).toBe('stopped');
    expect(await closed).toMatchObject({ code: '57P01', severity: 'FATAL', message: 'terminating connection due to administrator command' });
    await ended;
    expect(await httpGet(httpAddress, '/healthz')).toBeUndefined();
    const refused = await new Promise<string>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
    // Stopping again is a no-op.
    await gateway.stop();
  });
});
