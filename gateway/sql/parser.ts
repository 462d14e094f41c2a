import type { Node, ParseResult } from '@pgsql/types';
import { loadModule, parseSync } from 'libpg-query';
import { SqlError, SqlStates } from '../../common/errors';

/**
 * The adapter around the real PostgreSQL parser (libpg-query, WebAssembly). It splits a
 * query string into statements, maps parse errors to 42601 with PostgreSQL's cursor
 * position, and first takes CockroachDB's `AS OF SYSTEM TIME <expr>` clauses off the
 * text and turns its `UPSERT` statements into `INSERT` (PostgreSQL's grammar has
 * neither), keeping every character offset so error positions point into the original.
 */

export interface ParsedStatement {
  /** The statement's AST (one key: SelectStmt, InsertStmt, ...). */
  readonly ast: Node;
  /** The statement's own text. */
  readonly sql: string;
  /** The expression of its AS OF SYSTEM TIME clause, as SQL text. */
  readonly asOfSystemTime?: string;
  /**
   * Written as CockroachDB's `UPSERT` (the AST is the equivalent InsertStmt): the
   * analyzer adds ON CONFLICT on the primary key. `sql` keeps the word UPSERT, so the
   * statement's text never equals the plain INSERT's.
   */
  readonly upsert?: true;
  /** CockroachDB's `SHOW TRACE FOR SESSION` (the AST is a stand-in SHOW). */
  readonly showTrace?: true;
}

/** Statements longer than this are refused before parsing (54000). */
export const MAX_STATEMENT_BYTES = 16 * 1024 * 1024;

let loaded: Promise<void> | undefined;

/** Loads the parser's WebAssembly module; call once before `parseStatements`. */
export function loadParser(): Promise<void> {
  loaded ??= loadModule();
  return loaded;
}

export function parseStatements(sql: string): ParsedStatement[] {
  if (Buffer.byteLength(sql, 'utf8') > MAX_STATEMENT_BYTES) {
    throw new SqlError(SqlStates.programLimitExceeded, `statement is longer than ${MAX_STATEMENT_BYTES} bytes`);
  }
  const { text: withoutAsOf, clauses } = extractAsOfSystemTime(sql);
  const { text: withoutUpsert, upserts } = rewriteUpsert(withoutAsOf);
  const { text, offsets: showTraces } = rewriteShowTrace(withoutUpsert);
  // libpg-query refuses an empty or all-blank string; PostgreSQL answers EmptyQueryResponse.
  if (/^\s*$/.test(text)) {
    return [];
  }
  let result: ParseResult;
  try {
    result = parseSync(text) as ParseResult;
  } catch (err) {
    throw parseError(err);
  }
  const statements: ParsedStatement[] = [];
  // libpg-query (its WebAssembly build) reports stmt_location in characters but stmt_len
  // in bytes: a statement's text is taken up to the next statement's start instead.
  const raws = (result.stmts ?? []).filter((raw) => raw.stmt !== undefined);
  raws.forEach((raw, i) => {
    const start = raw.stmt_location ?? 0;
    const end = raws[i + 1]?.stmt_location ?? text.length;
    const clause = clauses.find((c) => c.offset >= start && c.offset < end);
    const ast = raw.stmt as Node;
    const upsertAt = upserts.find((offset) => offset >= start && offset < end);
    if (upsertAt !== undefined) checkUpsert(sql, ast, upsertAt);
    const showTrace = showTraces.some((offset) => offset >= start && offset < end);
    statements.push({
      ast,
      sql: sql.slice(start, end).replace(/[\s;]+$/, '').trimStart(),
      ...(clause === undefined ? {} : { asOfSystemTime: clause.expr }),
      ...(upsertAt === undefined ? {} : { upsert: true as const }),
      ...(showTrace ? { showTrace: true as const } : {}),
    });
  });
  return statements;
}

function parseError(err: unknown): SqlError {
  if (err instanceof RangeError && /call stack/i.test(err.message)) {
    // Deeply nested input (libpg-query's JSON of a 10 000-term expression): as PostgreSQL.
    return new SqlError(SqlStates.statementTooComplex, 'stack depth limit exceeded');
  }
  const details = (err as { sqlDetails?: { message?: string; cursorPosition?: number } }).sqlDetails;
  const message = details?.message ?? (err instanceof Error ? err.message : String(err));
  // PostgreSQL reports a 1-based character position; the parser gives a 0-based one.
  const position = details?.cursorPosition === undefined ? undefined : details.cursorPosition + 1;
  const sqlState = /unterminated|syntax error|at end of input|at or near/.test(message)
    ? SqlStates.syntaxError
    : SqlStates.syntaxErrorOrAccessRuleViolation;
  return new SqlError(sqlState, message, position === undefined ? {} : { position });
}

export interface AsOfClause {
  /** Character offset of the clause in the text. */
  readonly offset: number;
  readonly expr: string;
}

/**
 * Finds every `AS OF SYSTEM TIME <expr>` outside string literals, quoted identifiers and
 * comments, and blanks it out with spaces (so the parser's positions still point into
 * the original text). `<expr>` is one literal, a signed number, a function call or a
 * parenthesised expression.
 */
export function extractAsOfSystemTime(sql: string): { text: string; clauses: AsOfClause[] } {
  if (!/system\s+time/i.test(sql)) {
    return { text: sql, clauses: [] };
  }
  const clauses: { start: number; end: number; expr: string }[] = [];
  let i = 0;
  while (i < sql.length) {
    const skipped = skipNonCode(sql, i);
    if (skipped !== i) {
      i = skipped;
      continue;
    }
    const match = /^as\s+of\s+system\s+time\b/i.exec(sql.slice(i, i + 64));
    if (match !== null && (i === 0 || !isIdentChar(sql.charAt(i - 1)))) {
      let j = i + match[0].length;
      while (j < sql.length && /\s/.test(sql.charAt(j))) j++;
      const exprEnd = scanClauseExpr(sql, j);
      if (exprEnd === j) {
        throw new SqlError(SqlStates.syntaxError, 'AS OF SYSTEM TIME needs an expression', { position: j + 1 });
      }
      clauses.push({ start: i, end: exprEnd, expr: sql.slice(j, exprEnd) });
      i = exprEnd;
      continue;
    }
    i++;
  }
  let text = '';
  let last = 0;
  const out: AsOfClause[] = [];
  for (const c of clauses) {
    text += sql.slice(last, c.start) + ' '.repeat(c.end - c.start);
    last = c.end;
    out.push({ offset: c.start, expr: c.expr });
  }
  text += sql.slice(last);
  return { text, clauses: out };
}

/** A statement rewritten from UPSERT must be one INSERT that CockroachDB's grammar accepts. */
function checkUpsert(sql: string, ast: Node, upsertAt: number): void {
  if (!('InsertStmt' in ast)) {
    // Rewritten inside another statement's body (BEGIN ATOMIC ... END), where
    // CockroachDB's grammar has no UPSERT either.
    throw new SqlError(SqlStates.syntaxError, `syntax error at or near "${sql.slice(upsertAt, upsertAt + UPSERT_LENGTH)}"`, { position: upsertAt + 1 });
  }
  const conflict = ast.InsertStmt.onConflictClause;
  if (conflict !== undefined) {
    // UPSERT always arbitrates on the primary key: it has no ON CONFLICT clause.
    const at = conflict.location ?? upsertAt;
    throw new SqlError(SqlStates.syntaxError, `syntax error at or near "${sql.slice(at, at + 2)}"`, { position: at + 1 });
  }
}

const UPSERT_LENGTH = 'UPSERT'.length;
/** UPSERT as a whole word: an identifier may go on with any letter, digit, `_` or `$`. */
const UPSERT_WORD = /^upsert(?![\p{L}\p{N}_$])/iu;

/**
 * Replaces the keyword `UPSERT` that starts a statement (after blanks and comments, at
 * the beginning or after a `;` outside parentheses) with `INSERT`, the same length, so
 * the parser's positions stay right. Literals, quoted identifiers and comments are left
 * alone; `upserts` are the character offsets of the replaced words.
 */
export function rewriteUpsert(sql: string): { text: string; upserts: number[] } {
  if (!/upsert/i.test(sql)) {
    return { text: sql, upserts: [] };
  }
  const upserts = statementStarts(sql).filter((i) => UPSERT_WORD.test(sql.slice(i, i + UPSERT_LENGTH + 2)));
  let text = '';
  let last = 0;
  for (const offset of upserts) {
    text += sql.slice(last, offset) + 'INSERT';
    last = offset + UPSERT_LENGTH;
  }
  text += sql.slice(last);
  return { text, upserts };
}

/** CockroachDB's statement, which PostgreSQL's grammar does not have. */
const SHOW_TRACE = /^show\s+trace\s+for\s+session(?![\p{L}\p{N}_$])/iu;
/** What it becomes for the parser: a SHOW it accepts, padded to the same length. */
const SHOW_TRACE_STAND_IN = 'SHOW session_trace';

/**
 * Replaces each `SHOW TRACE FOR SESSION` statement with a SHOW the parser accepts, the
 * same length (positions stay right); `offsets` are where they start.
 */
export function rewriteShowTrace(sql: string): { text: string; offsets: number[] } {
  if (!/trace/i.test(sql)) {
    return { text: sql, offsets: [] };
  }
  const found = statementStarts(sql).flatMap((i) => {
    const match = SHOW_TRACE.exec(sql.slice(i, i + 128));
    return match === null ? [] : [{ offset: i, length: match[0].length }];
  });
  let text = '';
  let last = 0;
  for (const { offset, length } of found) {
    text += sql.slice(last, offset) + SHOW_TRACE_STAND_IN.padEnd(length, ' ');
    last = offset + length;
  }
  text += sql.slice(last);
  return { text, offsets: found.map((f) => f.offset) };
}

/**
 * Where statements start: the first token after blanks and comments, at the beginning
 * or after a `;` outside parentheses; literals, quoted identifiers and comments are
 * stepped over.
 */
function statementStarts(sql: string): number[] {
  const starts: number[] = [];
  let atStart = true;
  let depth = 0;
  let i = 0;
  while (i < sql.length) {
    const ch = sql.charAt(i);
    const skipped = skipNonCode(sql, i);
    if (skipped !== i) {
      // A comment keeps the statement's start ahead; a literal or quoted name is its first token.
      const comment = (ch === '-' || ch === '/') && sql.charAt(i + 1) === (ch === '-' ? '-' : '*');
      if (atStart && !comment) starts.push(i);
      atStart &&= comment;
      i = skipped;
      continue;
    }
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (atStart && ch !== ';') starts.push(i);
    if (ch === '(') {
      depth++;
    } else if (ch === ')') {
      depth = Math.max(0, depth - 1);
    }
    atStart = ch === ';' && depth === 0;
    i++;
  }
  return starts;
}

function isIdentChar(ch: string): boolean {
  return /[A-Za-z0-9_$]/.test(ch);
}

/** If a literal, quoted identifier or comment starts at `i`, the index after it; else `i`. */
function skipNonCode(sql: string, i: number): number {
  const ch = sql.charAt(i);
  const next = sql.charAt(i + 1);
  if (ch === '-' && next === '-') {
    const end = sql.indexOf('\n', i);
    return end < 0 ? sql.length : end + 1;
  }
  if (ch === '/' && next === '*') {
    let depth = 1;
    let j = i + 2;
    while (j < sql.length && depth > 0) {
      if (sql.startsWith('/*', j)) {
        depth++;
        j += 2;
      } else if (sql.startsWith('*/', j)) {
        depth--;
        j += 2;
      } else {
        j++;
      }
    }
    return j;
  }
  if (ch === "'" || ((ch === 'E' || ch === 'e') && next === "'" && (i === 0 || !isIdentChar(sql.charAt(i - 1))))) {
    const backslashEscapes = ch !== "'";
    let j = backslashEscapes ? i + 2 : i + 1;
    while (j < sql.length) {
      const c = sql.charAt(j);
      if (backslashEscapes && c === '\\') {
        j += 2;
      } else if (c === "'") {
        if (sql.charAt(j + 1) === "'") {
          j += 2;
        } else {
          return j + 1;
        }
      } else {
        j++;
      }
    }
    return j;
  }
  if (ch === '"') {
    let j = i + 1;
    while (j < sql.length) {
      if (sql.charAt(j) === '"') {
        if (sql.charAt(j + 1) === '"') {
          j += 2;
        } else {
          return j + 1;
        }
      } else {
        j++;
      }
    }
    return j;
  }
  if (ch === '$' && (i === 0 || !isIdentChar(sql.charAt(i - 1)))) {
    const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 64));
    if (tag !== null) {
      const end = sql.indexOf(tag[0], i + tag[0].length);
      return end < 0 ? sql.length : end + tag[0].length;
    }
  }
  return i;
}

/** The end of the clause's expression starting at `i` (== i when there is none). */
function scanClauseExpr(sql: string, i: number): number {
  const ch = sql.charAt(i);
  if (ch === "'" || ch === '$' || ((ch === 'E' || ch === 'e') && sql.charAt(i + 1) === "'")) {
    const end = skipNonCode(sql, i);
    return end === i ? i : maybeCast(sql, end);
  }
  if (ch === '(') {
    return maybeCast(sql, matchParen(sql, i));
  }
  const number = /^[-+]?\d+(\.\d+)?(e[-+]?\d+)?/i.exec(sql.slice(i, i + 64));
  if (number !== null) {
    return maybeCast(sql, i + number[0].length);
  }
  const name = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?\s*/.exec(sql.slice(i, i + 128));
  if (name !== null && sql.charAt(i + name[0].length) === '(') {
    return maybeCast(sql, matchParen(sql, i + name[0].length));
  }
  return i;
}

function maybeCast(sql: string, i: number): number {
  const cast = /^::\s*[A-Za-z_][A-Za-z0-9_ ]*?(?=[\s;)]|$)/.exec(sql.slice(i, i + 64));
  return cast === null ? i : i + cast[0].length;
}

function matchParen(sql: string, open: number): number {
  let depth = 0;
  let j = open;
  while (j < sql.length) {
    const skipped = skipNonCode(sql, j);
    if (skipped !== j) {
      j = skipped;
      continue;
    }
    const c = sql.charAt(j);
    if (c === '(') depth++;
    if (c === ')') {
      depth--;
      if (depth === 0) return j + 1;
    }
    j++;
  }
  return j;
}
