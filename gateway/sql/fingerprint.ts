/**
 * A statement's fingerprint: its text with every literal constant replaced by a
 * placeholder, numbered after the statement's own parameters as PostgreSQL's
 * pg_stat_statements does (`UPDATE t SET v = v + 7 WHERE k = $1` → `UPDATE t SET v =
 * v + $2 WHERE k = $1`), comments dropped and whitespace runs made one space. Traces and
 * the slow-statement log show statements this way, so that they never carry a value a
 * client sent.
 *
 * A lexical pass, not a parse: it runs on text the parser has accepted, so it only has
 * to tell literals apart from identifiers, quoted identifiers, parameters and comments.
 */
export function statementFingerprint(sql: string): string {
  const tokens: (string | Literal)[] = [];
  let maxParam = 0;
  let i = 0;
  const n = sql.length;
  const pushSpace = (): void => {
    if (tokens.length > 0 && tokens[tokens.length - 1] !== ' ') tokens.push(' ');
  };
  while (i < n) {
    const c = sql.charCodeAt(i);
    // Whitespace.
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 12) {
      pushSpace();
      i++;
      continue;
    }
    // -- comment.
    if (c === 45 /* - */ && sql.charCodeAt(i + 1) === 45) {
      while (i < n && sql.charCodeAt(i) !== 10) i++;
      pushSpace();
      continue;
    }
    // /* comment */, nested as in PostgreSQL.
    if (c === 47 /* / */ && sql.charCodeAt(i + 1) === 42) {
      let depth = 0;
      while (i < n) {
        if (sql.charCodeAt(i) === 47 && sql.charCodeAt(i + 1) === 42) {
          depth++;
          i += 2;
        } else if (sql.charCodeAt(i) === 42 && sql.charCodeAt(i + 1) === 47) {
          depth--;
          i += 2;
          if (depth === 0) break;
        } else {
          i++;
        }
      }
      pushSpace();
      continue;
    }
    // 'string', with '' inside.
    if (c === 39 /* ' */) {
      i = endOfQuoted(sql, i, 39);
      tokens.push(LITERAL);
      continue;
    }
    // "quoted identifier", with "" inside: kept.
    if (c === 34 /* " */) {
      const end = endOfQuoted(sql, i, 34);
      tokens.push(sql.slice(i, end));
      i = end;
      continue;
    }
    // $1 parameters (kept) and $tag$ ... $tag$ strings.
    if (c === 36 /* $ */) {
      let j = i + 1;
      while (j < n && isDigit(sql.charCodeAt(j))) j++;
      if (j > i + 1) {
        maxParam = Math.max(maxParam, Number(sql.slice(i + 1, j)));
        tokens.push(sql.slice(i, j));
        i = j;
        continue;
      }
      j = i + 1;
      while (j < n && isIdentifierPart(sql.charCodeAt(j)) && sql.charCodeAt(j) !== 36) j++;
      if (sql.charCodeAt(j) === 36) {
        const tag = sql.slice(i, j + 1);
        const close = sql.indexOf(tag, j + 1);
        i = close < 0 ? n : close + tag.length;
        tokens.push(LITERAL);
        continue;
      }
      tokens.push('$');
      i++;
      continue;
    }
    // Identifiers and keywords, and the prefixed strings E'..', B'..', X'..', N'..', U&'..'.
    if (isIdentifierStart(c)) {
      let j = i + 1;
      while (j < n && isIdentifierPart(sql.charCodeAt(j))) j++;
      const word = sql.slice(i, j);
      const lower = word.toLowerCase();
      if (sql.charCodeAt(j) === 39 && (lower === 'e' || lower === 'b' || lower === 'x' || lower === 'n')) {
        i = endOfQuoted(sql, j, 39);
        tokens.push(LITERAL);
        continue;
      }
      if (lower === 'u' && sql.charCodeAt(j) === 38 /* & */ && sql.charCodeAt(j + 1) === 39) {
        i = endOfQuoted(sql, j + 1, 39);
        tokens.push(LITERAL);
        continue;
      }
      tokens.push(word);
      i = j;
      continue;
    }
    // Numbers: 12, 1.5, .5, 1e-3, 0x1F, 1_000.
    if (isDigit(c) || (c === 46 /* . */ && isDigit(sql.charCodeAt(i + 1)))) {
      let j = i;
      while (j < n && (isIdentifierPart(sql.charCodeAt(j)) || sql.charCodeAt(j) === 46)) {
        const d = sql.charCodeAt(j);
        j++;
        // An exponent's sign belongs to the number.
        if ((d === 101 || d === 69) && (sql.charCodeAt(j) === 43 || sql.charCodeAt(j) === 45) && isDigit(sql.charCodeAt(j + 1))) j++;
      }
      tokens.push(LITERAL);
      i = j;
      continue;
    }
    tokens.push(sql[i] as string);
    i++;
  }
  let next = maxParam;
  let out = '';
  for (const token of tokens) out += token === LITERAL ? `$${++next}` : token;
  return out.trim();
}

const LITERAL = Symbol('literal');
type Literal = typeof LITERAL;

/** The index just past the quoted token starting at `start` (quote doubled inside). */
function endOfQuoted(sql: string, start: number, quote: number): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql.charCodeAt(i) === quote) {
      if (sql.charCodeAt(i + 1) === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    // E'...' strings escape with a backslash; stepping over one is harmless elsewhere
    // only when the quote is not a lone closing one, so it is done for single quotes.
    if (quote === 39 && sql.charCodeAt(i) === 92 /* \ */ && i + 1 < sql.length && sql.charCodeAt(i + 1) === 39 && isEscapeString(sql, start)) {
      i += 2;
      continue;
    }
    i++;
  }
  return sql.length;
}

function isEscapeString(sql: string, quoteAt: number): boolean {
  const prefix = sql.charCodeAt(quoteAt - 1);
  return (prefix === 69 || prefix === 101) && (quoteAt < 2 || !isIdentifierPart(sql.charCodeAt(quoteAt - 2)));
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isIdentifierStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c >= 128;
}

function isIdentifierPart(c: number): boolean {
  return isIdentifierStart(c) || isDigit(c) || c === 36;
}
