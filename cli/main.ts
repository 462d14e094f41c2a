/**
 * The `cairn` command (bin/cairn runs it): `cairn --help` lists the commands.
 * Results go to stdout; errors are one line on stderr with a non-zero exit status
 * (2 for a bad command line).
 */
import type { Command } from './args';
import { parseCommand, UsageError } from './args';
import { runCommand } from './run';

async function main(argv: readonly string[]): Promise<number> {
  let command: Command;
  try {
    command = parseCommand(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`cairn: ${err.message}\n\n${err.usage}\n`);
      return 2;
    }
    throw err;
  }
  return runCommand(command, {
    cwd: process.cwd(),
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
  });
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
