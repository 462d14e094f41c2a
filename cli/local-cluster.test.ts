import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  childExecArgv,
  freePorts,
  gatewayEntry,
  gatewayFlags,
  LocalCluster,
  LocalClusterError,
  logTail,
  nodeEntry,
  nodeFlags,
  SERVER_V8_FLAGS,
  splitFlags,
  sqlUrl,
  tcpConnects,
} from './local-cluster';

test('the node entry is the sources under tsx and the compiled file under dist', () => {
  expect(nodeEntry('/repo/cli', '/repo/cli/local-cluster.ts')).toBe(path.join('/repo/node/server/main.ts'));
  expect(nodeEntry('/repo/dist/cli', '/repo/dist/cli/local-cluster.js')).toBe(path.join('/repo/dist/node/server/main.js'));
  expect(fs.existsSync(path.dirname(nodeEntry()))).toBe(true);
});

test('the gateway entry likewise', () => {
  expect(gatewayEntry('/repo/cli', '/repo/cli/local-cluster.ts')).toBe(path.join('/repo/gateway/server/main.ts'));
  expect(gatewayEntry('/repo/dist/cli', '/repo/dist/cli/local-cluster.js')).toBe(path.join('/repo/dist/gateway/server/main.js'));
  expect(fs.existsSync(gatewayEntry())).toBe(true);
});

test('the gateway joins through every node, on loopback with trust authentication', () => {
  const nodes = [
    { index: 1, address: '127.0.0.1:1', httpAddress: '127.0.0.1:2' },
    { index: 2, address: '127.0.0.1:3', httpAddress: '127.0.0.1:4' },
  ];
  expect(gatewayFlags({ sqlAddress: '127.0.0.1:26257', httpAddress: '127.0.0.1:8082' }, nodes)).toEqual([
    '--join', '127.0.0.1:1,127.0.0.1:3',
    '--listen-addr', '127.0.0.1:26257',
    '--http-addr', '127.0.0.1:8082',
    '--auth', 'trust',
    '--workers', String(Math.min(2, os.availableParallelism())),
  ]);
  expect(gatewayFlags({ sqlAddress: '127.0.0.1:26257', httpAddress: '127.0.0.1:8082' }, nodes, 1).slice(-2)).toEqual(['--workers', '1']);
  expect(sqlUrl('127.0.0.1:26257')).toBe('postgresql://root@127.0.0.1:26257/defaultdb?sslmode=disable');
});

test('tcpConnects', async () => {
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  try {
    expect(await tcpConnects(`127.0.0.1:${port}`)).toBe(true);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  expect(await tcpConnects(`127.0.0.1:${port}`)).toBe(false);
});

describe("the gateway's ports are checked before anything starts", () => {
  let dataDir: string;

  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-gateway-ports-'));
  });

  afterEach(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('a SQL port that is a node port', async () => {
    const [basePort, httpBasePort] = await freePorts(2);
    const cluster = new LocalCluster({
      dataDir,
      nodes: 1,
      basePort: basePort as number,
      httpBasePort: httpBasePort as number,
      gateway: { sqlPort: basePort as number },
    });
    const failure = cluster.start();
    await expect(failure).rejects.toThrow(LocalClusterError);
    await expect(failure).rejects.toThrow(
      `127.0.0.1:${basePort} would be both node 1's gRPC port and the SQL gateway's SQL port: choose another port`,
    );
    expect(cluster.nodes.every((n) => n.pid === undefined)).toBe(true);
    expect(cluster.gateway?.pid).toBeUndefined();
  });

  test('a SQL port in use', async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const { port } = busy.address() as net.AddressInfo;
    try {
      const cluster = new LocalCluster({ dataDir, nodes: 1, ports: 'free', gateway: { sqlPort: port } });
      await expect(cluster.start()).rejects.toThrow(
        new RegExp(`^127\\.0\\.0\\.1:${port} \\(the SQL gateway's SQL port\\) is in use: .* or another SQL port \\(--sql-port\\)$`),
      );
      expect(cluster.gateway).toMatchObject({ sqlAddress: `127.0.0.1:${port}`, url: `postgresql://root@127.0.0.1:${port}/defaultdb?sslmode=disable` });
      expect(cluster.gateway?.logFile).toBe(path.join(dataDir, 'gateway', 'cairn-gateway.log'));
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });

  test('fixed ports: 26257 for SQL unless told, HTTP after the nodes', async () => {
    // Node 1's gRPC port in use stops the start before anything runs, after the ports were chosen.
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const { port } = busy.address() as net.AddressInfo;
    try {
      const cluster = new LocalCluster({ dataDir, nodes: 3, basePort: port, httpBasePort: 18080, gateway: {} });
      await expect(cluster.start()).rejects.toThrow(/node 1's gRPC port\) is in use/);
      expect(cluster.gateway).toMatchObject({ sqlAddress: '127.0.0.1:26257', httpAddress: '127.0.0.1:18083' });
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });
});

describe('childExecArgv', () => {
  const loader = (): string => 'file:///x/tsx/loader.mjs';

  test('a TypeScript entry gets tsx when the parent has none', () => {
    expect(childExecArgv('/r/node/server/main.ts', [], loader)).toEqual(['--import', 'file:///x/tsx/loader.mjs']);
  });

  test("the parent's tsx carries over as it is", () => {
    const execArgv = ['--require', '/x/tsx/dist/preflight.cjs', '--import', 'file:///x/tsx/dist/loader.mjs'];
    expect(childExecArgv('/r/node/server/main.ts', execArgv, loader)).toEqual(execArgv);
  });

  test('compiled JavaScript needs no loader', () => {
    expect(childExecArgv('/r/dist/node/server/main.js', ['--max-old-space-size=512'], loader)).toEqual([
      '--max-old-space-size=512',
    ]);
  });

  test("a parent's -e or -p code stays with the parent, so children run their entry", () => {
    const code = "require('./dist/bench/sql-tracing')";
    expect(childExecArgv('/r/main.js', ['-e', code, '--enable-source-maps'], loader)).toEqual(['--enable-source-maps']);
    expect(childExecArgv('/r/main.js', ['--eval', code], loader)).toEqual([]);
    expect(childExecArgv('/r/main.js', [`--eval=${code}`, '--max-old-space-size=512'], loader)).toEqual(['--max-old-space-size=512']);
    expect(childExecArgv('/r/main.js', ['-p', '1 + 1'], loader)).toEqual([]);
    expect(childExecArgv('/r/main.js', ['--print=1'], loader)).toEqual([]);
  });

  test('debugger flags stay with the parent', () => {
    expect(childExecArgv('/r/main.js', ['--inspect', '--inspect-brk=9229', '--inspect-port=1', '--enable-source-maps'], loader)).toEqual([
      '--enable-source-maps',
    ]);
  });
});

test('every node joins through every address', () => {
  const nodes = [
    { index: 1, address: '127.0.0.1:1', httpAddress: '127.0.0.1:2' },
    { index: 2, address: '127.0.0.1:3', httpAddress: '127.0.0.1:4' },
  ];
  expect(nodeFlags(nodes[1] as (typeof nodes)[number], '/d/node2', nodes, 'region=r1,zone=z2')).toEqual([
    '--data-dir', '/d/node2',
    '--listen-addr', '127.0.0.1:3',
    '--http-addr', '127.0.0.1:4',
    '--join', '127.0.0.1:1,127.0.0.1:3',
    '--locality', 'region=r1,zone=z2',
  ]);
  expect(nodeFlags(nodes[0] as (typeof nodes)[number], '/d/node1', nodes, undefined)).not.toContain('--locality');
});

test('splitFlags', () => {
  expect(splitFlags(undefined)).toEqual([]);
  expect(splitFlags('  --tick-ms 50\t--log-level debug ')).toEqual(['--tick-ms', '50', '--log-level', 'debug']);
});

test('logTail keeps the last lines of a log', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-log-tail-'));
  try {
    const file = path.join(dir, 'x.log');
    expect(logTail(file)).toMatch(/no log at/);
    fs.writeFileSync(file, '');
    expect(logTail(file)).toMatch(/is empty/);
    fs.writeFileSync(file, Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n') + '\n');
    expect(logTail(file, 3)).toBe('  line 27\n  line 28\n  line 29');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe('the servers run with the same V8 flags locally and in the image', () => {
  it("the image's entrypoint starts cairn-node and cairn-gateway with SERVER_V8_FLAGS", () => {
    // A stand-in `node` that prints its arguments, first on PATH.
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-entrypoint-'));
    try {
      fs.writeFileSync(path.join(bin, 'node'), '#!/bin/sh\necho "$@"\n', { mode: 0o755 });
      const entrypoint = path.join(__dirname, '..', 'docker', 'entrypoint.sh');
      const run = (program: string): string =>
        execFileSync('sh', [entrypoint, program, '--flag'], { env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` } })
          .toString()
          .trim();
      expect(run('cairn-node')).toBe(`${SERVER_V8_FLAGS.join(' ')} /app/dist/node/server/main.js --flag`);
      expect(run('cairn-gateway')).toBe(`${SERVER_V8_FLAGS.join(' ')} /app/dist/gateway/server/main.js --flag`);
      expect(run('cairn')).toBe('/app/bin/cairn --flag');
    } finally {
      fs.rmSync(bin, { recursive: true, force: true });
    }
  });
});
