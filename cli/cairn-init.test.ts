/**
 * `cairn init` against a real cairn-node started without a cluster: it prints the new
 * cluster's ID, writes it to --cluster-id-file (what the operator's init Job reads back
 * as the pod's termination message), gives root the password of --root-password-file (a
 * gateway asking for SCRAM passwords then lets root in with it), and a second init is
 * refused.
 */
import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { childExecArgv, freePorts, httpStatus, tsxLoaderUrl } from './local-cluster';

jest.setTimeout(120_000);

const CLI = path.join(__dirname, 'main.ts');
const NODE = path.join(__dirname, '..', 'node', 'server', 'main.ts');
const GATEWAY = path.join(__dirname, '..', 'gateway', 'server', 'main.ts');
const argvOf = (entry: string, ...args: string[]): string[] => [...childExecArgv(entry, process.execArgv, tsxLoaderUrl), entry, ...args];

function cairn(cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, argvOf(CLI, ...args), { cwd, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}

describe('cairn init', () => {
  let dir: string;
  let node: ChildProcess;
  let gateway: ChildProcess | undefined;
  let address: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-init-'));
    const [grpcPort, httpPort] = await freePorts(2);
    address = `127.0.0.1:${grpcPort}`;
    const flags = ['--data-dir', path.join(dir, 'node'), '--listen-addr', address, '--http-addr', `127.0.0.1:${httpPort}`, '--join', address];
    node = spawn(process.execPath, argvOf(NODE, ...flags), { stdio: 'ignore', env: { ...process.env, CAIRN_LOG_LEVEL: 'warn' } });
  });

  afterAll(async () => {
    for (const child of [gateway, node]) {
      if (child !== undefined && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a password file without a password is refused before anything is initialised', async () => {
    fs.writeFileSync(path.join(dir, 'empty-password'), '\nsecond line\n');
    const refused = await cairn(dir, 'init', '--host', address, '--root-password-file', 'empty-password');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('holds no password (its first line is empty)');
  });

  test('writes the new cluster ID to --cluster-id-file, gives root its password, and a second init is refused', async () => {
    fs.writeFileSync(path.join(dir, 'root-password'), 'correct horse battery\n');
    const init = (): ReturnType<typeof cairn> =>
      cairn(dir, 'init', '--host', address, '--cluster-id-file', 'cluster-id', '--root-password-file', 'root-password');
    let first = await init();
    // The node may still be starting: init answers UNAVAILABLE until it listens.
    for (let attempt = 0; first.code !== 0 && /unavailable|connect/i.test(first.stderr) && attempt < 40; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      first = await init();
    }
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const printed = /^initialized cluster ([0-9a-f-]{36}) \(this is node 1\)$/m.exec(first.stdout)?.[1];
    expect(printed).toBeDefined();
    expect(fs.readFileSync(path.join(dir, 'cluster-id'), 'utf8')).toBe(printed);

    const second = await cairn(dir, 'init', '--host', address, '--cluster-id-file', 'second-id');
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`${address} already belongs to an initialized cluster`);
    expect(fs.existsSync(path.join(dir, 'second-id'))).toBe(false);

    // A gateway with its default SCRAM authentication: root gets in with that password only.
    const [sqlPort, httpPort] = await freePorts(2);
    const flags = ['--join', address, '--listen-addr', `127.0.0.1:${sqlPort}`, '--http-addr', `127.0.0.1:${httpPort}`];
    gateway = spawn(process.execPath, argvOf(GATEWAY, ...flags), { stdio: 'ignore', env: { ...process.env, CAIRN_LOG_LEVEL: 'warn' } });
    for (let attempt = 0; (await httpStatus(`127.0.0.1:${httpPort}`, '/readyz')) !== 200; attempt++) {
      if (attempt > 120) throw new Error('the gateway did not become ready');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const connect = async (password: string): Promise<string> => {
      const client = new Client({ host: '127.0.0.1', port: sqlPort, user: 'root', password, database: 'defaultdb' });
      await client.connect();
      try {
        return (await client.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u;
      } finally {
        await client.end();
      }
    };
    expect(await connect('correct horse battery')).toBe('root');
    await expect(connect('wrong')).rejects.toMatchObject({ code: '28P01' });
  });
});
