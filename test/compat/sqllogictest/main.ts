/**
 * `npm run sqllogictest -- [options] FILE_OR_FOLDER...` (cli.ts has the usage).
 * Progress goes to stderr; per-file results and the first failures to stdout.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CliCommand } from './cli';
import { CliUsageError, exitCode, formatFileResult, formatRate, formatSeconds, parseCli, sumTallies, USAGE } from './cli';
import type { FileResult, Progress } from './runner';
import { databasePerFile, runFile } from './runner';
import { acquireServer, ServerUnavailableError } from './server';

const PROGRESS_INTERVAL_MS = 2_000;

/** The files to run: files as given, folders as every `*.test` below them, sorted. */
function expandPaths(paths: readonly string[]): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    const found: string[] = [];
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.test')) found.push(full);
    }
    files.push(...found.sort());
  };
  for (const p of paths) {
    if (fs.statSync(p).isDirectory()) walk(p);
    else files.push(p);
  }
  return files;
}

async function main(argv: readonly string[]): Promise<number> {
  let command: CliCommand;
  let files: string[];
  try {
    command = parseCli(argv);
    if (command.kind === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    files = expandPaths(command.paths);
    if (files.length === 0) throw new CliUsageError(`no *.test files in ${command.paths.join(' ')}`);
  } catch (err) {
    if (err instanceof CliUsageError || (err as NodeJS.ErrnoException).code === 'ENOENT') {
      process.stderr.write(`sqllogictest: ${(err as Error).message}\n\n${USAGE}\n`);
      return 2;
    }
    throw err;
  }

  let server;
  try {
    server = await acquireServer(command.url);
  } catch (err) {
    if (err instanceof ServerUnavailableError) {
      process.stderr.write(`sqllogictest: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const started = performance.now();
  const results: FileResult[] = [];
  try {
    process.stderr.write(`sqllogictest: ${files.length} file(s) against ${server.description} as engine ${command.engine}\n`);
    const databases = databasePerFile(server.admin, { keep: command.keepDatabases });
    let lastProgress = performance.now();
    for (const [k, file] of files.entries()) {
      const shown = path.relative(process.cwd(), file) || file;
      process.stderr.write(`[${k + 1}/${files.length}] ${shown}\n`);
      const onProgress = (p: Progress): void => {
        const now = performance.now();
        if (now - lastProgress < PROGRESS_INTERVAL_MS) return;
        lastProgress = now;
        process.stderr.write(
          `  ${shown}: ${p.recordsDone}/${p.recordCount} records, ${p.total.passed} passed, ${p.total.failed} failed\n`,
        );
      };
      const result = await runFile(file, {
        engine: command.engine,
        maxFailures: command.maxFailures,
        queryTimeoutMs: command.queryTimeoutMs,
        databases,
        onProgress,
      });
      const named = { ...result, file: shown };
      results.push(named);
      process.stdout.write(`${formatFileResult(named).join('\n')}\n`);
    }
  } finally {
    await server.stop();
  }
  if (results.length > 1) {
    const total = sumTallies(results.map((r) => r.total));
    process.stdout.write(
      `total: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped, ${formatRate(total)} ` +
        `in ${formatSeconds(performance.now() - started)} (${results.length} files)\n`,
    );
  }
  return exitCode(results, command.failUnderPercent);
}

main(process.argv.slice(2)).then(
  (code) => {
    // Let stdout drain, then leave even if a connection left a handle open.
    process.stdout.write('', () => process.exit(code));
  },
  (err: unknown) => {
    process.stderr.write(`sqllogictest: ${String((err as Error).stack ?? err)}\n`);
    process.exit(1);
  },
);
