/**
 * Judging a record's outcome (../shared/sqllogictest/README.md): formatting rows by the
 * declared types, the sort modes, result hashing, the hash threshold and label
 * consistency. Pure: the runner hands in what the server said and gets a verdict.
 */
import { createHash } from 'node:crypto';
import { formatValue } from './format';
import type { ExpectedResult, SltRecord, SortMode } from './parse';

/** When a file has no `hash-threshold` line (select1.test relies on this). */
export const DEFAULT_HASH_THRESHOLD = 8;

type QueryRecord = Extract<SltRecord, { kind: 'query' }>;
type StatementRecord = Extract<SltRecord, { kind: 'statement' }>;

/** What running one SQL text gave: rows of raw text values (null for NULL), or an error. */
export type SqlOutcome =
  | { readonly kind: 'rows'; readonly columnCount: number; readonly rows: readonly (readonly (string | null)[])[] }
  | { readonly kind: 'error'; readonly message: string; readonly sqlstate: string | undefined }
  | { readonly kind: 'timeout'; readonly timeoutMs: number };

export type FailureKind = 'error' | 'unexpected-success' | 'timeout' | 'column-count' | 'mismatch' | 'label';

export interface Verdict {
  readonly pass: boolean;
  /** Set when `pass` is false. */
  readonly failure?: {
    readonly kind: FailureKind;
    readonly message: string;
    readonly sqlstate?: string;
    /** The expected and actual output, as the file writes it (values or a hash line). */
    readonly expected?: readonly string[];
    readonly actual?: readonly string[];
  };
}

/** Per-file state the checks carry from record to record. */
export interface FileCheckState {
  hashThreshold: number;
  /** label -> the hash and line of the first query that ran with it. */
  readonly labels: Map<string, { readonly hash: string; readonly line: number }>;
}

export function newFileCheckState(): FileCheckState {
  return { hashThreshold: DEFAULT_HASH_THRESHOLD, labels: new Map() };
}

/** strcmp on formatted values (all printable ASCII, so UTF-16 order is byte order). */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Rows compare column by column. */
function compareRows(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let k = 0; k < n; k++) {
    const c = compareStrings(a[k] as string, b[k] as string);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

/** The formatted values in the order the sort mode defines, row after row. */
export function sortedValues(rows: readonly (readonly string[])[], sortMode: SortMode): string[] {
  switch (sortMode) {
    case 'nosort':
      return rows.flat();
    case 'rowsort':
      return [...rows].sort(compareRows).flat();
    case 'valuesort':
      return rows.flat().sort(compareStrings);
    default: {
      const never: never = sortMode;
      throw new Error(`unknown sort mode ${String(never)}`);
    }
  }
}

/** Lowercase hex MD5 of the values, each followed by `\n`. */
export function hashValues(values: readonly string[]): string {
  const md5 = createHash('md5');
  for (const v of values) md5.update(`${v}\n`);
  return md5.digest('hex');
}

export function hashLine(count: number, hash: string): string {
  return `${count} values hashing to ${hash}`;
}

/** The output as the reference runner would write it: the values, or a hash line above the threshold (0: never). */
export function renderValues(values: readonly string[], hashThreshold: number): string[] {
  if (hashThreshold > 0 && values.length > hashThreshold) return [hashLine(values.length, hashValues(values))];
  return [...values];
}

function renderExpected(expected: ExpectedResult): string[] {
  return expected.kind === 'hash' ? [hashLine(expected.count, expected.hash)] : [...expected.values];
}

/**
 * Whether the values match: against a hash line by count and hash, otherwise line by
 * line (the README's "simplest runner rule", independent of the threshold).
 */
export function matchesExpected(expected: ExpectedResult, values: readonly string[]): boolean {
  if (expected.kind === 'hash') return values.length === expected.count && hashValues(values) === expected.hash;
  return values.length === expected.values.length && values.every((v, k) => v === expected.values[k]);
}

function failedOutcome(outcome: Exclude<SqlOutcome, { kind: 'rows' }>): Verdict {
  if (outcome.kind === 'timeout') {
    return { pass: false, failure: { kind: 'timeout', message: `timed out after ${outcome.timeoutMs} ms` } };
  }
  return {
    pass: false,
    failure: {
      kind: 'error',
      message: outcome.message,
      ...(outcome.sqlstate === undefined ? {} : { sqlstate: outcome.sqlstate }),
    },
  };
}

export function checkStatement(record: StatementRecord, outcome: SqlOutcome): Verdict {
  if (record.expectError) {
    if (outcome.kind === 'error') return { pass: true };
    if (outcome.kind === 'timeout') return failedOutcome(outcome);
    return { pass: false, failure: { kind: 'unexpected-success', message: 'statement succeeded but an error was expected' } };
  }
  return outcome.kind === 'rows' ? { pass: true } : failedOutcome(outcome);
}

/** Checks a query's outcome; records its label's hash in `state` the first time the label runs. */
export function checkQuery(record: QueryRecord, outcome: SqlOutcome, state: FileCheckState): Verdict {
  if (outcome.kind !== 'rows') return failedOutcome(outcome);
  if (outcome.columnCount !== record.types.length) {
    return {
      pass: false,
      failure: {
        kind: 'column-count',
        message: `expected ${record.types.length} column(s) (${record.types.join('')}), got ${outcome.columnCount}`,
      },
    };
  }
  const formatted = outcome.rows.map((row) => row.map((raw, k) => formatValue(raw, record.types[k] ?? 'T')));
  const values = sortedValues(formatted, record.sortMode);
  const actual = renderValues(values, state.hashThreshold);
  if (record.expected !== null && !matchesExpected(record.expected, values)) {
    const expected = renderExpected(record.expected);
    // Show the values themselves when the expected side lists them.
    const shown = record.expected.kind === 'values' ? values : actual;
    return { pass: false, failure: { kind: 'mismatch', message: 'result differs', expected, actual: shown } };
  }
  if (record.label !== undefined) {
    const hash = hashValues(values);
    const first = state.labels.get(record.label);
    if (first === undefined) state.labels.set(record.label, { hash, line: record.line });
    else if (first.hash !== hash) {
      return {
        pass: false,
        failure: {
          kind: 'label',
          message: `${record.label}: result differs from the query at line ${first.line} with the same label`,
          actual,
        },
      };
    }
  }
  return { pass: true };
}
