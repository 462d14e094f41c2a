/**
 * Load generators in their own processes, so that on a small machine the client's CPU
 * is not the cluster's (and one event loop is not the bottleneck): the benchmark starts
 * a worker script with its task as JSON in argv[2]; the worker prints its result as
 * its last stdout line and exits 0. CAIRN_BENCH_WORKER_PROFILE_DIR=DIR makes each worker
 * write a V8 CPU profile there as it exits.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { childExecArgv, SERVER_V8_FLAGS, tsxLoaderUrl } from '../cli';

/**
 * A worker script next to the benchmark that runs it: `name`.js when the benchmarks
 * run compiled (`npm run bench`), `name`.ts under tsx.
 */
export function workerScript(dir: string, name: string, file: string = __filename): string {
  return path.join(dir, `${name}${file.endsWith('.ts') ? '.ts' : '.js'}`);
}

function profileArgs(): string[] {
  const dir = process.env.CAIRN_BENCH_WORKER_PROFILE_DIR;
  return dir === undefined || dir === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${dir}`];
}

/** Runs `script` with `config` in a new process and returns the result it printed. */
export async function runWorkerProcess<R>(script: string, config: unknown): Promise<R> {
  const child: ChildProcess = spawn(
    process.execPath,
    // The servers' heap settings: a load generator allocating for thousands of requests
    // a second otherwise spends a fifth of its CPU collecting garbage, CPU the cluster
    // under test on the same machine then lacks.
    [...SERVER_V8_FLAGS, ...childExecArgv(script, process.execArgv, tsxLoaderUrl), ...profileArgs(), script, JSON.stringify(config)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const kill = (): void => {
    child.kill('SIGKILL');
  };
  // Never leave a load generator behind, whatever way the benchmark ends.
  process.once('exit', kill);
  try {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (c, s) => resolve([c, s]));
    });
    const line = out.trim().split('\n').pop() ?? '';
    if (code !== 0 || line === '') {
      throw new Error(`the client process ${script} failed (${code ?? signal}); its stderr is above`);
    }
    return JSON.parse(line) as R;
  } finally {
    process.off('exit', kill);
    kill();
  }
}

/**
 * The worker side: parses the task, runs it, prints the result and exits (0 on
 * success, 1 with the error on stderr otherwise). Call it under `require.main === module`.
 */
export function workerMain<C, R>(name: string, run: (config: C) => Promise<R>): void {
  const go = async (): Promise<void> => {
    const config = JSON.parse(process.argv[2] ?? '') as C;
    const result = await run(config);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  };
  go().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${name} failed: ${String((err as Error).stack ?? err)}\n`);
      process.exit(1);
    },
  );
}

/**
 * Waits for `closing` (a client's close) at most `ms`: after a run that gave up on
 * stalled operations, closing may wait for them; the process exits anyway.
 */
export async function closeWithin(closing: Promise<void>, ms = 2_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([closing, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
