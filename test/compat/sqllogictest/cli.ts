/**
 * The `npm run sqllogictest` command line and its report text. Pure: arguments in,
 * options out; results in, lines out (main.ts does the I/O).
 */
import { parseArgs } from 'node:util';
import type { FailureReport, FileResult, Tally } from './runner';
import { passRate } from './runner';

export const USAGE = `usage: npm run sqllogictest -- [options] FILE_OR_FOLDER...

Runs sqllogictest files (folders: every *.test file below) over the PostgreSQL wire
protocol, each file in a database of its own, and prints per-file pass rates.

  --url URL             server to test, postgres://user[:password]@host:port/database
                        (default: a local Cairn cluster started for the run)
                        (required for now; later: default starts a local Cairn cluster)
  --engine NAME         engine name for skipif/onlyif (default postgresql)
  --max-failures N      failures shown per file (default 10)
  --timeout-ms N        per-query timeout (default 30000)
  --fail-under PERCENT  exit 1 when the overall pass rate is below PERCENT (e.g. 99.5)
  --keep-databases      do not drop the per-file databases afterwards

Exit status: 0 (also with failing records, unless --fail-under), 1 when a file could
not be run to its end or the rate is under --fail-under, 2 for a bad command line.`;

export interface CliOptions {
  readonly url: string | undefined;
  readonly engine: string;
  readonly maxFailures: number;
  readonly queryTimeoutMs: number;
  /** Percent, 0..100. */
  readonly failUnderPercent: number | undefined;
  readonly keepDatabases: boolean;
  readonly paths: readonly string[];
}

export type CliCommand = { readonly kind: 'help' } | ({ readonly kind: 'run' } & CliOptions);

export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
}

export function parseCli(argv: readonly string[]): CliCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        url: { type: 'string' },
        engine: { type: 'string' },
        'max-failures': { type: 'string' },
        'timeout-ms': { type: 'string' },
        'fail-under': { type: 'string' },
        'keep-databases': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new CliUsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help === true) return { kind: 'help' };
  if (positionals.length === 0) throw new CliUsageError('no files given');
  const failUnder = values['fail-under'];
  const failUnderPercent = failUnder === undefined ? undefined : number('--fail-under', failUnder, 0, 100, false);
  return {
    kind: 'run',
    url: values.url,
    engine: values.engine ?? 'postgresql',
    maxFailures: number('--max-failures', values['max-failures'] ?? '10', 0, Number.MAX_SAFE_INTEGER, true),
    queryTimeoutMs: number('--timeout-ms', values['timeout-ms'] ?? '30000', 1, Number.MAX_SAFE_INTEGER, true),
    failUnderPercent,
    keepDatabases: values['keep-databases'] === true,
    paths: positionals,
  };
}

function number(option: string, text: string, min: number, max: number, integer: boolean): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new CliUsageError(`${option} needs ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}, got '${text}'`);
  }
  return n;
}

export function formatRate(tally: Readonly<Tally>): string {
  const rate = passRate(tally);
  return rate === undefined ? 'n/a' : `${(rate * 100).toFixed(2)}%`;
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function tallyText(t: Readonly<Tally>): string {
  return `${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped`;
}

const MAX_LINES_SHOWN = 12;

function indentLines(label: string, lines: readonly string[]): string[] {
  const shown = lines.slice(0, MAX_LINES_SHOWN);
  const out = shown.map((l, k) => `${k === 0 ? label : ' '.repeat(label.length)}${l}`);
  if (lines.length === 0) out.push(`${label}(no rows)`);
  if (lines.length > MAX_LINES_SHOWN) out.push(`${' '.repeat(label.length)}... ${lines.length - MAX_LINES_SHOWN} more`);
  return out;
}

export function formatFailure(file: string, f: FailureReport): string[] {
  const state = f.sqlstate === undefined ? '' : ` [SQLSTATE ${f.sqlstate}]`;
  const out = [`  ${file}:${f.line}: ${f.kind}: ${f.message}${state}`];
  out.push(...indentLines('      sql: ', f.sql.split('\n')));
  if (f.expected !== undefined) out.push(...indentLines('    expect: ', f.expected));
  if (f.actual !== undefined) out.push(...indentLines('       got: ', f.actual));
  return out;
}

/** The file's summary line, then its notes and first failures. */
export function formatFileResult(r: FileResult): string[] {
  const out = [`${r.file}: ${tallyText(r.total)}, ${formatRate(r.total)} in ${formatSeconds(r.durationMs)}`];
  out.push(`  (queries: ${tallyText(r.queries)}; statements: ${tallyText(r.statements)})`);
  if (r.haltedAt !== undefined) out.push(`  halted at line ${r.haltedAt}`);
  if (r.fatal !== undefined) out.push(`  FATAL: ${r.fatal}`);
  if (r.warning !== undefined) out.push(`  warning: ${r.warning}`);
  if (r.failures.length > 0) {
    const more = r.total.failed - r.failures.length;
    out.push(`  first ${r.failures.length} failure(s)${more > 0 ? ` (${more} more not shown)` : ''}:`);
    for (const f of r.failures) out.push(...formatFailure(r.file, f));
  }
  return out;
}

export function sumTallies(tallies: readonly Readonly<Tally>[]): Tally {
  const sum: Tally = { passed: 0, failed: 0, skipped: 0 };
  for (const t of tallies) {
    sum.passed += t.passed;
    sum.failed += t.failed;
    sum.skipped += t.skipped;
  }
  return sum;
}

/** Exit status for a finished run (see USAGE). */
export function exitCode(results: readonly FileResult[], failUnderPercent: number | undefined): number {
  if (results.some((r) => r.fatal !== undefined)) return 1;
  if (failUnderPercent !== undefined) {
    const rate = passRate(sumTallies(results.map((r) => r.total))) ?? 0;
    if (rate * 100 < failUnderPercent) return 1;
  }
  return 0;
}
