/**
 * `cairn start` for real: three cairn-node processes and a cairn-gateway in a temporary
 * directory, node-postgres connecting as root through the printed URL, the other
 * commands finding the nodes through ./cairn-data/cluster.json, then SIGTERM stopping
 * everything cleanly.
 */
import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { readClusterFile } from './cluster-file';
import { childExecArgv, httpStatus, tcpConnects, tsxLoaderUrl } from './local-cluster';

jest.setTimeout(180_000);

const CLI = path.join(__dirname, 'main.ts');
const nodeArgs = (...args: string[]): string[] => [...childExecArgv(CLI, process.execArgv, tsxLoaderUrl), CLI, ...args];

function cairn(cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, nodeArgs(...args), { cwd, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('cairn start', () => {
  let cwd: string;
  let start: ChildProcess;
  let stdout = '';
  let stderr = '';

  beforeAll(() => {
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-start-'));
    start = spawn(process.execPath, nodeArgs('start', '--free-ports'), { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    start.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    start.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  });

  afterAll(async () => {
    if (start.exitCode === null && start.signalCode === null) {
      // SIGTERM makes the CLI stop its nodes (they are in their own process group).
      start.kill('SIGTERM');
      const timer = setTimeout(() => start.kill('SIGKILL'), 60_000);
      await exited(start);
      clearTimeout(timer);
    }
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  test('serves SQL and KV, answers node status, and stops cleanly on SIGTERM', async () => {
    const deadline = Date.now() + 150_000;
    while (!stdout.includes('Ctrl-C stops the cluster.')) {
      if (start.exitCode !== null || Date.now() > deadline) {
        throw new Error(`cairn start did not come up (exit ${start.exitCode}):\n${stdout}\n${stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(stdout).toMatch(/^Cairn is running: 3 nodes and a SQL gateway, data in .*cairn-data$/m);
    expect(stdout).toContain('npx cairn kv put hello world');
    expect(stdout).toContain('The cluster listens on 127.0.0.1 only, and there it lets user root in without a password.');
    const cluster = readClusterFile(path.join(cwd, 'cairn-data'));
    expect(cluster?.initialized).toBe(true);
    expect(cluster?.nodes).toHaveLength(3);

    // --free-ports: the SQL port is a free one too, not 26257; the gateway's line names it.
    const url = /^SQL: (postgresql:\/\/root@127\.0\.0\.1:(\d+)\/defaultdb\?sslmode=disable)$/m.exec(stdout);
    expect(url).not.toBeNull();
    const [, connectionString, sqlPort] = url as RegExpExecArray;
    expect(sqlPort).not.toBe('26257');
    expect(stdout).toContain(`  psql '${connectionString}'\n`);
    const gatewayLine = new RegExp(`^  SQL gateway +127\\.0\\.0\\.1:${sqlPort}  http://(127\\.0\\.0\\.1:\\d+)  log cairn-data/gateway/cairn-gateway\\.log$`, 'm').exec(stdout);
    expect(gatewayLine).not.toBeNull();
    const gatewayHttp = (gatewayLine as RegExpExecArray)[1] as string;
    expect(await httpStatus(gatewayHttp, '/readyz')).toBe(200);

    const sql = new Client({ connectionString });
    sql.on('error', () => undefined);
    await sql.connect();
    try {
      const result = await sql.query({ text: 'SELECT 1', rowMode: 'array' });
      expect(result.rows).toEqual([[1]]);
    } finally {
      await sql.end();
    }

    // No --host: the commands find ./cairn-data/cluster.json. Liveness may take a moment.
    let nodes: Record<string, unknown>[] = [];
    const statusDeadline = Date.now() + 30_000;
    while (true) {
      const status = await cairn(cwd, 'node', 'status', '--format', 'json');
      expect(status.stderr).toBe('');
      expect(status.code).toBe(0);
      nodes = JSON.parse(status.stdout) as Record<string, unknown>[];
      if (nodes.length === 3 && nodes.every((n) => n.live === true)) {
        break;
      }
      if (Date.now() > statusDeadline) {
        throw new Error(`not three live nodes: ${status.stdout}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(nodes.map((n) => n.nodeId)).toEqual([1, 2, 3]);
    expect(nodes.map((n) => n.address).sort()).toEqual(cluster?.nodes.map((n) => n.address).sort());
    for (const node of nodes) {
      expect(node).toMatchObject({ locality: '', live: true });
      expect(typeof node.ranges).toBe('number');
      expect(typeof node.leases).toBe('number');
    }

    expect(await cairn(cwd, 'kv', 'put', 'hello', 'world')).toMatchObject({ code: 0, stdout: 'OK\n' });
    expect(await cairn(cwd, 'kv', 'get', 'hello')).toMatchObject({ code: 0, stdout: 'world\n' });
    expect(await cairn(cwd, 'kv', 'get', 'absent')).toMatchObject({ code: 1, stdout: '', stderr: "cairn: key 'absent' not found\n" });

    start.kill('SIGTERM');
    expect(await exited(start)).toBe(0);
    expect(stderr).toContain('stopping the SQL gateway, then the nodes');
    expect(stderr).toContain('cairn: stopped\n');
    expect(await tcpConnects(`127.0.0.1:${sqlPort}`)).toBe(false);
    expect(await httpStatus(gatewayHttp, '/healthz')).toBeUndefined();
    for (const node of cluster?.nodes ?? []) {
      expect(await httpStatus(node.httpAddress, '/healthz')).toBeUndefined();
    }
    // The gateway logged JSON lines to its file, ending with its clean stop.
    const gatewayLog = fs.readFileSync(path.join(cwd, 'cairn-data', 'gateway', 'cairn-gateway.log'), 'utf8').trim().split('\n');
    expect(JSON.parse(gatewayLog.at(-1) as string)).toMatchObject({ name: 'cairn-gateway', msg: 'stopped' });
  });
});
