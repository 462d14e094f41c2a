/**
 * The sqllogictest file format (../shared/sqllogictest/README.md), parsed into records.
 * Pure: text in, records out. Conditions (`skipif`/`onlyif`) are kept on the record they
 * precede, so `halt` and `hash-threshold` behind an `onlyif` are decided by the runner.
 */

/** One letter per result column: integer, text, real. */
export type ColumnType = 'I' | 'T' | 'R';

export type SortMode = 'nosort' | 'rowsort' | 'valuesort';

export interface Condition {
  readonly kind: 'skipif' | 'onlyif';
  /** Lowercase engine name (`mysql`, `postgresql`, ...). */
  readonly engine: string;
}

/** What a query's `----` section says. */
export type ExpectedResult =
  | { readonly kind: 'values'; readonly values: readonly string[] }
  | { readonly kind: 'hash'; readonly count: number; readonly hash: string };

interface RecordBase {
  /** 1-based line of the record's command line (`statement ok`, `query ...`). */
  readonly line: number;
  readonly conditions: readonly Condition[];
}

export type SltRecord =
  | (RecordBase & { readonly kind: 'statement'; readonly expectError: boolean; readonly sql: string })
  | (RecordBase & {
      readonly kind: 'query';
      readonly types: readonly ColumnType[];
      readonly sortMode: SortMode;
      readonly label: string | undefined;
      readonly sql: string;
      /** Null when the record has no `----` line: the query only has to run. */
      readonly expected: ExpectedResult | null;
    })
  | (RecordBase & { readonly kind: 'hash-threshold'; readonly threshold: number })
  | (RecordBase & { readonly kind: 'halt' });

export class SltParseError extends Error {
  override readonly name = 'SltParseError';

  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

const HASH_LINE = /^(\d+) values hashing to ([0-9a-f]{32})$/;

/** Whether a record with these conditions runs on `engine` (names compare case-insensitively). */
export function conditionsAllow(conditions: readonly Condition[], engine: string): boolean {
  const name = engine.toLowerCase();
  return conditions.every((c) => (c.kind === 'skipif' ? c.engine !== name : c.engine === name));
}

/** Parses a whole file; throws `SltParseError` naming the line on a malformed record. */
export function parseSlt(text: string): SltRecord[] {
  // The corpus has files with CRLF line ends; a value never ends in \r.
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  const records: SltRecord[] = [];
  let i = 0;
  const isBlank = (k: number): boolean => (lines[k] as string).trim() === '';
  /** Lines from `i` up to a blank line (or `stop`), advancing `i`. */
  const takeBlock = (stop?: (line: string) => boolean): string[] => {
    const taken: string[] = [];
    while (i < lines.length && !isBlank(i) && !(stop?.(lines[i] as string) ?? false)) {
      taken.push(lines[i] as string);
      i++;
    }
    return taken;
  };

  while (i < lines.length) {
    const raw = lines[i] as string;
    if (raw.trim() === '' || raw.startsWith('#')) {
      i++;
      continue;
    }
    const conditions: Condition[] = [];
    // Conditions directly precede their record; text after `#` on them is a comment.
    for (;;) {
      if (i >= lines.length || isBlank(i)) {
        throw new SltParseError(i, `${conditions.at(-1)?.kind ?? 'condition'} is not followed by a record`);
      }
      const text = lines[i] as string;
      if (text.startsWith('#')) {
        i++;
        continue;
      }
      const words = wordsOf(text);
      const head = words[0];
      if (head !== 'skipif' && head !== 'onlyif') break;
      const engine = words[1];
      if (engine === undefined) throw new SltParseError(i + 1, `${head} without an engine name`);
      conditions.push({ kind: head, engine: engine.toLowerCase() });
      i++;
    }
    const line = i + 1;
    const words = wordsOf(lines[i] as string);
    i++;
    switch (words[0]) {
      case 'statement': {
        const mode = words[1];
        if (mode !== 'ok' && mode !== 'error') {
          throw new SltParseError(line, `expected 'statement ok' or 'statement error', got '${(lines[line - 1] as string).trim()}'`);
        }
        const sql = takeBlock();
        if (sql.length === 0) throw new SltParseError(line, 'statement without SQL');
        records.push({ kind: 'statement', line, conditions, expectError: mode === 'error', sql: sql.join('\n') });
        break;
      }
      case 'query': {
        const [, typeWord, sortWord, label] = words;
        if (typeWord === undefined || !/^[ITR]+$/.test(typeWord)) {
          throw new SltParseError(line, `query needs column types made of I, T and R, got '${typeWord ?? ''}'`);
        }
        const sortMode = sortWord ?? 'nosort';
        if (sortMode !== 'nosort' && sortMode !== 'rowsort' && sortMode !== 'valuesort') {
          throw new SltParseError(line, `unknown sort mode '${sortMode}'`);
        }
        if (words.length > 4) throw new SltParseError(line, `unexpected '${words.slice(4).join(' ')}' after the label`);
        const sql = takeBlock((l) => l === '----');
        if (sql.length === 0) throw new SltParseError(line, 'query without SQL');
        let expected: ExpectedResult | null = null;
        if (i < lines.length && lines[i] === '----') {
          i++;
          expected = parseExpected(takeBlock());
        }
        records.push({
          kind: 'query',
          line,
          conditions,
          types: typeWord.split('') as ColumnType[],
          sortMode,
          label,
          sql: sql.join('\n'),
          expected,
        });
        break;
      }
      case 'hash-threshold': {
        const n = words[1] === undefined ? NaN : Number(words[1]);
        if (!Number.isInteger(n) || n < 0) throw new SltParseError(line, `hash-threshold needs a whole number, got '${words[1] ?? ''}'`);
        records.push({ kind: 'hash-threshold', line, conditions, threshold: n });
        break;
      }
      case 'halt':
        records.push({ kind: 'halt', line, conditions });
        break;
      default:
        throw new SltParseError(line, `unknown record '${(lines[line - 1] as string).trim()}'`);
    }
    // A record ends at a blank line; anything else here is a malformed record.
    if (i < lines.length && !isBlank(i)) {
      throw new SltParseError(i + 1, `expected a blank line after the record at line ${line}, got '${lines[i] as string}'`);
    }
  }
  return records;
}

/** Words of a command line, without a trailing `# comment`. */
function wordsOf(line: string): string[] {
  const hash = line.indexOf('#');
  const text = hash < 0 ? line : line.slice(0, hash);
  return text.trim().split(/\s+/).filter((w) => w !== '');
}

function parseExpected(lines: readonly string[]): ExpectedResult {
  const only = lines.length === 1 ? HASH_LINE.exec(lines[0] as string) : null;
  if (only !== null) return { kind: 'hash', count: Number(only[1]), hash: only[2] as string };
  return { kind: 'values', values: lines };
}
