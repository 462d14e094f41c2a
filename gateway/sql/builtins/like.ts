import { SqlError, SqlStates } from '../../../common/errors';

/**
 * LIKE / ILIKE (operators ~~ and ~~*): % matches any run of characters, _ exactly one,
 * the escape character (backslash; like_escape() rewrites another one to it) makes the
 * next character literal. Patterns compile to anchored JS RegExps, cached.
 * SIMILAR TO is translated to a POSIX regex by similar_to_escape(), as PostgreSQL does.
 */

function likeEndsWithEscape(): SqlError {
  return new SqlError(SqlStates.invalidEscapeSequence, 'LIKE pattern must not end with escape character');
}

function invalidEscapeString(): SqlError {
  return new SqlError(SqlStates.invalidEscapeSequence, 'invalid escape string', {
    hint: 'Escape string must be empty or one character.',
  });
}

const REGEX_SPECIAL = /[\\^$.*+?()[\]{}|/]/;

function escapeRegexChar(c: string): string {
  return REGEX_SPECIAL.test(c) ? `\\${c}` : c;
}

/** The RegExp source of a LIKE pattern (escape is the backslash). */
export function likeToRegexSource(pattern: string): string {
  let out = '^';
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === '\\') {
      const next = chars[i + 1];
      if (next === undefined) throw likeEndsWithEscape();
      out += escapeRegexChar(next);
      i++;
    } else if (c === '%') {
      // Collapse runs of % (and keep the source small).
      if (!out.endsWith('[\\s\\S]*')) out += '[\\s\\S]*';
    } else if (c === '_') {
      out += '[\\s\\S]';
    } else {
      out += escapeRegexChar(c);
    }
  }
  return `${out}$`;
}

const cache = new Map<string, RegExp>();
const CACHE_MAX = 1000;

function hasWildcard(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charCodeAt(i);
    if (c === 0x25 || c === 0x5f || c === 0x5c) return true;
  }
  return false;
}

export function compileLike(pattern: string, caseInsensitive: boolean): RegExp {
  const key = `${caseInsensitive ? 'i' : 's'}${pattern}`;
  let re = cache.get(key);
  if (re === undefined) {
    re = new RegExp(likeToRegexSource(pattern), caseInsensitive ? 'iu' : 'u');
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(key, re);
  }
  return re;
}

export function like(text: string, pattern: string): boolean {
  if (!hasWildcard(pattern)) return text === pattern;
  return compileLike(pattern, false).test(text);
}

export function ilike(text: string, pattern: string): boolean {
  return compileLike(pattern, true).test(text);
}

/** bytea LIKE: bytes compared one for one (each byte as a latin1 character). */
export function byteaLike(value: Buffer, pattern: Buffer): boolean {
  const p = pattern.toString('latin1');
  const t = value.toString('latin1');
  if (!hasWildcard(p)) return t === p;
  return compileLike(p, false).test(t);
}

/**
 * like_escape(pattern, escape): rewrites a pattern written with another escape
 * character (or none, for '') into one using the backslash.
 */
export function likeEscape(pattern: string, escape: string): string {
  const esc = [...escape];
  if (esc.length > 1) throw invalidEscapeString();
  if (esc.length === 0) return pattern.replace(/\\/g, '\\\\');
  const e = esc[0] as string;
  if (e === '\\') return pattern;
  let out = '';
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === e) {
      const next = chars[i + 1];
      if (next === undefined) throw likeEndsWithEscape();
      out += `\\${next}`;
      i++;
    } else if (c === '\\') {
      out += '\\\\';
    } else {
      out += c;
    }
  }
  return out;
}

/**
 * similar_to_escape(pattern [, escape]): a SIMILAR TO pattern as a POSIX regex anchored
 * at both ends. % and _ are the LIKE wildcards; | * + ? {} () [] keep their regex
 * meaning; other regex characters are literal.
 */
export function similarToEscape(pattern: string, escape: string | null = '\\'): string {
  let e: string | undefined;
  if (escape !== null) {
    const esc = [...escape];
    if (esc.length > 1) throw invalidEscapeString();
    e = esc[0];
  }
  let out = '^(?:';
  let inBracket = false;
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (e !== undefined && c === e) {
      const next = chars[i + 1];
      if (next === undefined) {
        throw new SqlError(SqlStates.invalidEscapeSequence, 'invalid escape sequence in SIMILAR TO pattern');
      }
      out += /[A-Za-z0-9]/.test(next) ? next : `\\${next}`;
      i++;
      continue;
    }
    if (inBracket) {
      if (c === ']') inBracket = false;
      out += c === '\\' ? '\\\\' : c;
      continue;
    }
    switch (c) {
      case '[':
        inBracket = true;
        out += c;
        break;
      case '%':
        out += '.*';
        break;
      case '_':
        out += '.';
        break;
      case '(':
        out += '(?:';
        break;
      case '|':
      case '*':
      case '+':
      case '?':
      case '{':
      case '}':
      case ')':
        out += c;
        break;
      case '.':
      case '^':
      case '$':
      case '\\':
        out += `\\${c}`;
        break;
      default:
        out += c;
    }
  }
  return `${out})$`;
}
