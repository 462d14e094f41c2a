/**
 * The `cairn` command (bin/cairn runs it): `cairn --help` lists the commands.
 * Results go to stdout; errors are one line on stderr with a non-zero exit status
 * (2 for a bad command line).
 */
import { createLogger } from '../common/logging';
import type { TracingHandle } from '../common/tracing';
import { endSpan, installTracingFromEnv, NO_SPAN, startRootSpan } from '../common/tracing';
import type { Command } from './args';
import { parseCommand, UsageError } from './args';
import { runCommand } from './run';

const TRACE_FLUSH_TIMEOUT_MS = 2_000;

async function main(argv: readonly string[]): Promise<number> {
  let command: Command;
  let tracing: TracingHandle;
  try {
    command = parseCommand(argv);
    // OTEL_* variables (common/tracing/config.ts): each command is a trace of its own.
    tracing = installTracingFromEnv({ serviceName: 'cairn-cli', instanceId: `pid-${process.pid}`, log: createLogger({ name: 'cairn', fd: 2, level: 'warn' }) });
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`cairn: ${err.message}\n\n${err.usage}\n`);
      return 2;
    }
    if (err instanceof Error && (err as { code?: unknown }).code === 'INVALID_ARGUMENT') {
      process.stderr.write(`cairn: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const span = startRootSpan(`cli.${command.kind}`);
  try {
    const code = await runCommand(command, {
      cwd: process.cwd(),
      out: (text) => process.stdout.write(`${text}\n`),
      err: (text) => process.stderr.write(`${text}\n`),
      trace: span,
    });
    endSpan(span, code === 0 ? undefined : { code: `exit ${code}` });
    return code;
  } catch (err) {
    endSpan(span, err);
    throw err;
  } finally {
    if (span !== NO_SPAN) await tracing.shutdown(TRACE_FLUSH_TIMEOUT_MS);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // Let stdout drain, then leave even if a client left a handle open.
    process.exitCode = code;
    process.stdout.write('', () => process.exit(code));
  },
  (err: unknown) => {
    process.stderr.write(`cairn: ${String((err as Error).stack ?? err)}\n`);
    process.exit(1);
  },
);
