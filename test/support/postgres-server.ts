/**
 * A real PostgreSQL for tests and benchmarks: `initdb` in a temporary folder, a
 * postmaster on 127.0.0.1 with a free port (its unix socket inside the folder),
 * `stop()` shuts it down and removes the folder.
 *
 * Never left running: besides `stop()`, a process 'exit' hook and SIGINT/SIGTERM/SIGHUP
 * handlers stop every server this process started, and a small detached watchdog shell
 * does the same if this process dies without running them (SIGKILL).
 *
 * initdb and postgres refuse to run as root. As root, they run as an unprivileged OS
 * account through `runuser -u <account> --` (or `su -s /bin/sh <account> -c` without
 * runuser), and the folder is created owned by that account. The account is
 * $CAIRN_PG_OS_USER if set, else `postgres` (the Debian packages' account), else
 * `cairn-postgres`, which is created with `useradd --system` if it does not exist and
 * useradd is available.
 *
 * Binaries: `options.binDir`, else $CAIRN_PG_BIN_DIR, else the first folder on PATH
 * that holds initdb, pg_ctl and postgres, else the newest /usr/lib/postgresql/<v>/bin.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { isProcessAlive } from './process-alive';

export interface PostgresServerOptions {
  /** `fsync` (default true). Off also skips initdb's final sync. */
  readonly fsync?: boolean;
  /** `synchronous_commit` (default 'on'). */
  readonly synchronousCommit?: 'on' | 'off' | 'local' | 'remote_write' | 'remote_apply';
  /** More postgresql.conf settings, e.g. `{ shared_buffers: '256MB' }`. */
  readonly settings?: Readonly<Record<string, string | number | boolean>>;
  readonly binDir?: string;
  /** How long `pg_ctl start` may wait for the server (default 60 s). */
  readonly startTimeoutMs?: number;
}

export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  /** The superuser (`postgres`), trusted without a password. */
  readonly user: string;
  readonly database: string;
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  readonly url: string;
  readonly socketDir: string;
  readonly dataDir: string;
  /** e.g. `postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)` */
  readonly version: string;
  /** The OS account the server runs as when this process is root. */
  readonly osUser: string | undefined;
  /** Shuts the server down (`pg_ctl stop -m fast`) and removes the folder; safe to call twice. */
  stop(): Promise<void>;
}

export interface PostgresBinaries {
  readonly binDir: string;
  readonly initdb: string;
  readonly pgCtl: string;
  readonly postgres: string;
}

interface OsUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** What the cleanup hooks need to know about one running (or starting) server. */
interface LiveServer {
  readonly root: string;
  readonly dataDir: string;
  guardianPid: number | undefined;
}

const BIN_NAMES = ['initdb', 'pg_ctl', 'postgres'] as const;
const SUPERUSER = 'postgres';
const FALLBACK_OS_USER = 'cairn-postgres';

const live = new Set<LiveServer>();
let hooksInstalled = false;

export function findPostgresBinaries(binDir?: string): PostgresBinaries {
  const explicit = binDir ?? process.env['CAIRN_PG_BIN_DIR'];
  const candidates = explicit !== undefined ? [explicit] : [...pathDirs(), ...debianBinDirs()];
  for (const dir of candidates) {
    if (BIN_NAMES.every((name) => isExecutable(path.join(dir, name)))) {
      return {
        binDir: dir,
        initdb: path.join(dir, 'initdb'),
        pgCtl: path.join(dir, 'pg_ctl'),
        postgres: path.join(dir, 'postgres'),
      };
    }
  }
  throw new Error(
    `PostgreSQL binaries (${BIN_NAMES.join(', ')}) not found in ${explicit ?? 'PATH or /usr/lib/postgresql/*/bin'}`,
  );
}

function pathDirs(): string[] {
  return (process.env['PATH'] ?? '').split(path.delimiter).filter((d) => d !== '');
}

/** /usr/lib/postgresql/<version>/bin, newest version first. */
function debianBinDirs(): string[] {
  const base = '/usr/lib/postgresql';
  let versions: string[];
  try {
    versions = fs.readdirSync(base);
  } catch {
    return [];
  }
  return versions.sort((a, b) => Number(b) - Number(a) || b.localeCompare(a)).map((v) => path.join(base, v, 'bin'));
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function findTool(name: string): string | undefined {
  return [...pathDirs(), '/usr/sbin', '/sbin', '/usr/bin', '/bin'].map((d) => path.join(d, name)).find(isExecutable);
}

function lookupOsUser(name: string): OsUser | undefined {
  const out = spawnSync('getent', ['passwd', name], { encoding: 'utf8' });
  if (out.status !== 0) return undefined;
  const fields = out.stdout.trim().split(':');
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  return Number.isInteger(uid) && Number.isInteger(gid) ? { name, uid, gid } : undefined;
}

/** The account to run PostgreSQL as, or undefined when this process is not root. */
function resolveOsUser(): OsUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const wanted = process.env['CAIRN_PG_OS_USER'];
  if (wanted !== undefined) {
    const user = lookupOsUser(wanted);
    if (user === undefined) throw new Error(`CAIRN_PG_OS_USER=${wanted}: no such account`);
    return user;
  }
  const existing = lookupOsUser('postgres') ?? lookupOsUser(FALLBACK_OS_USER);
  if (existing !== undefined) return existing;
  const useradd = findTool('useradd');
  if (useradd === undefined) {
    throw new Error(
      'running as root, and PostgreSQL refuses to: no `postgres` account and no useradd to create one; ' +
        'set CAIRN_PG_OS_USER to an unprivileged account',
    );
  }
  const made = spawnSync(useradd, ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', FALLBACK_OS_USER], {
    encoding: 'utf8',
  });
  const user = lookupOsUser(FALLBACK_OS_USER);
  if (user === undefined) throw new Error(`useradd ${FALLBACK_OS_USER} failed: ${made.stderr.trim()}`);
  return user;
}

function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The command line that runs `file args` as `user` (unchanged when not root). */
function asUser(user: OsUser | undefined, file: string, args: readonly string[]): [string, string[]] {
  if (user === undefined) return [file, [...args]];
  const runuser = findTool('runuser');
  if (runuser !== undefined) return [runuser, ['-u', user.name, '--', file, ...args]];
  const su = findTool('su') ?? 'su';
  return [su, ['-s', '/bin/sh', user.name, '-c', [file, ...args].map(shellQuote).join(' ')]];
}

interface RunResult {
  readonly code: number | null;
  readonly output: string;
}

function run(command: [string, string[]], cwd: string, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0], command[1], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

async function runOrThrow(what: string, command: [string, string[]], cwd: string, timeoutMs: number): Promise<string> {
  const result = await run(command, cwd, timeoutMs);
  if (result.code !== 0) throw new Error(`${what} failed (exit ${String(result.code)}): ${result.output.trim()}`);
  return result.output;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function confValue(value: string | number | boolean): string {
  const text = typeof value === 'boolean' ? (value ? 'on' : 'off') : String(value);
  return `'${text.replace(/'/g, "''")}'`;
}

/** The postmaster's PID from postmaster.pid, if the file is there. */
function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}


function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Synchronous last-resort stop (exit hooks): SIGQUIT is PostgreSQL's immediate
 * shutdown; SIGKILL after 5 s. Then the folder goes.
 */
function killSync(server: LiveServer): void {
  const pid = postmasterPid(server.dataDir);
  if (pid !== undefined && isProcessAlive(pid)) {
    try {
      process.kill(pid, 'SIGQUIT');
    } catch {
      // already gone
    }
    for (let waited = 0; waited < 5_000 && isProcessAlive(pid); waited += 50) sleepSync(50);
    if (isProcessAlive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  stopGuardian(server);
  fs.rmSync(server.root, { recursive: true, force: true });
  live.delete(server);
}

function stopGuardian(server: LiveServer): void {
  if (server.guardianPid === undefined) return;
  try {
    // Its own process group (detached): the shell and its `sleep`.
    process.kill(-server.guardianPid, 'SIGKILL');
  } catch {
    // already gone
  }
  server.guardianPid = undefined;
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const server of [...live]) killSync(server);
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      for (const server of [...live]) killSync(server);
      process.removeListener(signal, onSignal);
      // Nobody else handles it: die of the signal as we would have without us.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/**
 * A detached shell that waits for this process to disappear, then stops the
 * postmaster (SIGQUIT, SIGKILL after 5 s) and removes the folder. Covers SIGKILL of
 * this process, when no hook runs.
 */
function startGuardian(server: LiveServer): void {
  const q = shellQuote;
  const pidFile = path.join(server.dataDir, 'postmaster.pid');
  const script = [
    `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done`,
    `if [ -f ${q(pidFile)} ]; then`,
    `  pid=$(head -n 1 ${q(pidFile)})`,
    `  kill -QUIT "$pid" 2>/dev/null`,
    `  i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done`,
    `  kill -KILL "$pid" 2>/dev/null`,
    `fi`,
    `rm -rf ${q(server.root)}`,
  ].join('\n');
  const guardian = spawn('/bin/sh', ['-c', script], { detached: true, stdio: 'ignore' });
  guardian.unref();
  server.guardianPid = guardian.pid;
}

export async function startPostgres(options: PostgresServerOptions = {}): Promise<PostgresServer> {
  const bins = findPostgresBinaries(options.binDir);
  const osUser = resolveOsUser();
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  installHooks();

  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-pg-'));
  const server: LiveServer = { root, dataDir: path.join(root, 'data'), guardianPid: undefined };
  live.add(server);
  try {
    const socketDir = path.join(root, 'sock');
    fs.mkdirSync(socketDir, { mode: 0o700 });
    if (osUser !== undefined) {
      fs.chownSync(root, osUser.uid, osUser.gid);
      fs.chownSync(socketDir, osUser.uid, osUser.gid);
    }
    startGuardian(server);
    const version = (await runOrThrow('postgres --version', [bins.postgres, ['--version']], root, 10_000)).trim();

    const initdbArgs = ['-D', server.dataDir, '--locale=C.UTF-8', '-U', SUPERUSER, '-A', 'trust'];
    if (options.fsync === false) initdbArgs.push('--no-sync');
    await runOrThrow('initdb', asUser(osUser, bins.initdb, initdbArgs), root, 120_000);

    const settings: Record<string, string | number | boolean> = {
      listen_addresses: '127.0.0.1',
      unix_socket_directories: socketDir,
      fsync: options.fsync ?? true,
      synchronous_commit: options.synchronousCommit ?? 'on',
      ...options.settings,
    };
    const conf = Object.entries(settings).map(([name, value]) => `${name} = ${confValue(value)}`);
    // Root may append to the account's file; its owner and mode stay.
    fs.appendFileSync(path.join(server.dataDir, 'postgresql.conf'), `\n# cairn test settings\n${conf.join('\n')}\n`);

    const logFile = path.join(root, 'postgres.log');
    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const startArgs = ['start', '-w', '-t', String(Math.ceil(startTimeoutMs / 1000)), '-D', server.dataDir, '-l', logFile, '-o', `-p ${port}`];
      const result = await run(asUser(osUser, bins.pgCtl, startArgs), root, startTimeoutMs + 10_000);
      if (result.code === 0) break;
      const log = readTail(logFile);
      // Another process took the port between freePort() and the bind: try another.
      if (attempt < 5 && /could not bind|Address already in use/.test(log)) continue;
      throw new Error(`pg_ctl start failed (exit ${String(result.code)}): ${result.output.trim()}\n${log}`);
    }

    let stopped = false;
    return {
      host: '127.0.0.1',
      port,
      user: SUPERUSER,
      database: 'postgres',
      url: `postgres://${SUPERUSER}@127.0.0.1:${port}/postgres`,
      socketDir,
      dataDir: server.dataDir,
      version,
      osUser: osUser?.name,
      async stop(): Promise<void> {
        if (stopped) return;
        stopped = true;
        const pid = postmasterPid(server.dataDir);
        await run(asUser(osUser, bins.pgCtl, ['stop', '-m', 'fast', '-w', '-t', '60', '-D', server.dataDir]), root, 70_000).catch(
          () => undefined,
        );
        // pg_ctl returns when postmaster.pid is gone; make sure the process is too.
        for (let waited = 0; pid !== undefined && waited < 10_000 && isProcessAlive(pid); waited += 50) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        killSync(server);
      },
    };
  } catch (err) {
    killSync(server);
    throw err;
  }
}

function readTail(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
