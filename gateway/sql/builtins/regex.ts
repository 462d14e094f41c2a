import { SqlError, SqlStates } from '../../../common/errors';
import { invalidParameter } from './errors';

/**
 * PostgreSQL's regular expressions (POSIX "advanced" REs) run on JavaScript's engine:
 * the pattern is translated to an equivalent JS RegExp source. Covered: literals,
 * . * + ? {m,n} and their non-greedy forms, alternation, groups, lookaround, back
 * references, bracket expressions with [:class:] names, the escapes \d \s \w \D \S \W
 * \m \M \y \Y \A \Z and character-entry escapes, embedded options (?i) etc., ***= and
 * ***: prefixes, and the flags of regexp_replace & co (g i c n m s x q).
 *
 * Known difference: POSIX picks the longest match among alternatives where JS picks the
 * first ('a|ab' against 'ab' matches 'ab' in PostgreSQL, 'a' here); a boolean ~ test is
 * not affected.
 */

export interface RegexOptions {
  readonly caseInsensitive: boolean;
  /** 'n' / 'm': . and [^...] do not match newline; ^ and $ match at line ends. */
  readonly newlineSensitive: boolean;
  /** 'x': whitespace and #-comments in the pattern are ignored. */
  readonly expanded: boolean;
  /** 'q': the whole pattern is a literal string. */
  readonly literal: boolean;
  /** 'g': regexp_replace replaces every match. */
  readonly global: boolean;
}

const DEFAULT_OPTIONS: RegexOptions = {
  caseInsensitive: false,
  newlineSensitive: false,
  expanded: false,
  literal: false,
  global: false,
};

export function invalidRegex(detail: string): SqlError {
  return new SqlError(SqlStates.invalidRegularExpression, `invalid regular expression: ${detail}`);
}

/** Parses a flags argument ('gi', 'n', ...). `allowGlobal` is false where 'g' makes no sense. */
export function parseRegexFlags(flags: string, allowGlobal: boolean, fnName: string): RegexOptions {
  let o: RegexOptions = DEFAULT_OPTIONS;
  for (const f of flags) {
    switch (f) {
      case 'g':
        if (!allowGlobal) {
          throw invalidParameter(`${fnName}() does not support the "global" option`);
        }
        o = { ...o, global: true };
        break;
      case 'i':
        o = { ...o, caseInsensitive: true };
        break;
      case 'c':
        o = { ...o, caseInsensitive: false };
        break;
      case 'n':
      case 'm':
        o = { ...o, newlineSensitive: true };
        break;
      case 's':
        o = { ...o, newlineSensitive: false };
        break;
      case 'p':
      case 'w':
        // Partial newline sensitivity: treated as full.
        o = { ...o, newlineSensitive: true };
        break;
      case 'x':
        o = { ...o, expanded: true };
        break;
      case 't':
        o = { ...o, expanded: false };
        break;
      case 'q':
        o = { ...o, literal: true };
        break;
      case 'b':
      case 'e':
        // Basic / extended REs: their differences from AREs are rarely relied upon.
        break;
      default:
        throw invalidParameter(`invalid regular expression option: "${f}"`);
    }
  }
  return o;
}

const WORD = '[\\p{L}\\p{N}_]';

const CLASS_NAMES: Readonly<Record<string, string>> = {
  alpha: '\\p{L}',
  digit: '0-9',
  alnum: '\\p{L}\\p{N}',
  upper: '\\p{Lu}',
  lower: '\\p{Ll}',
  space: '\\s',
  blank: ' \\t',
  punct: '!-\\/:-@\\[-`{-~\\p{P}',
  xdigit: '0-9A-Fa-f',
  word: '\\p{L}\\p{N}_',
  cntrl: '\\x00-\\x1f\\x7f',
  print: '\\x20-\\x7e\\u00a0-\\u{10ffff}',
  graph: '\\x21-\\x7e\\u00a1-\\u{10ffff}',
  ascii: '\\x00-\\x7f',
};

const JS_SYNTAX = new Set(['^', '$', '\\', '.', '*', '+', '?', '(', ')', '[', ']', '{', '}', '|', '/']);

function escapeLiteral(c: string): string {
  return JS_SYNTAX.has(c) ? `\\${c}` : c;
}

function escapeInClass(c: string): string {
  return c === '\\' || c === ']' || c === '[' || c === '^' || c === '-' ? `\\${c}` : c;
}

function codePointEscape(cp: number): string {
  return `\\u{${cp.toString(16)}}`;
}

interface Translation {
  readonly source: string;
  readonly options: RegexOptions;
}

/** Reads a character-entry escape at `i` (after the backslash); returns the JS text and the next index. */
function characterEscape(p: string, i: number): { text: string; next: number } | undefined {
  const c = p[i];
  switch (c) {
    case 'a':
      return { text: '\\x07', next: i + 1 };
    case 'b':
      return { text: '\\x08', next: i + 1 };
    case 'B':
      return { text: '\\\\', next: i + 1 };
    case 'e':
      return { text: '\\x1b', next: i + 1 };
    case 'f':
      return { text: '\\f', next: i + 1 };
    case 'n':
      return { text: '\\n', next: i + 1 };
    case 'r':
      return { text: '\\r', next: i + 1 };
    case 't':
      return { text: '\\t', next: i + 1 };
    case 'v':
      return { text: '\\v', next: i + 1 };
    case 'c': {
      const x = p[i + 1];
      if (x === undefined) throw invalidRegex('invalid escape \\ sequence');
      return { text: codePointEscape((x.codePointAt(0) as number) & 0x1f), next: i + 2 };
    }
    case 'u':
    case 'U':
    case 'x': {
      const max = c === 'u' ? 4 : c === 'U' ? 8 : 8;
      let j = i + 1;
      while (j < p.length && j - i - 1 < max && /[0-9a-fA-F]/.test(p[j] as string)) j++;
      if (j === i + 1) throw invalidRegex('invalid escape \\ sequence');
      return { text: codePointEscape(parseInt(p.slice(i + 1, j), 16)), next: j };
    }
    case '0': {
      let j = i + 1;
      while (j < p.length && j - i - 1 < 3 && /[0-7]/.test(p[j] as string)) j++;
      return { text: codePointEscape(j === i + 1 ? 0 : parseInt(p.slice(i + 1, j), 8)), next: j };
    }
    default:
      return undefined;
  }
}

function translateBracket(p: string, start: number, o: RegexOptions): { text: string; next: number } {
  let i = start + 1;
  let out = '[';
  if (p[i] === '^') {
    out += '^';
    i++;
    if (o.newlineSensitive) out += '\\n';
  }
  let first = true;
  while (i < p.length) {
    const c = p[i] as string;
    if (c === ']' && !first) {
      return { text: `${out}]`, next: i + 1 };
    }
    first = false;
    if (c === '[' && (p[i + 1] === ':' || p[i + 1] === '.' || p[i + 1] === '=')) {
      const kind = p[i + 1] as string;
      const close = p.indexOf(`${kind}]`, i + 2);
      if (close === -1) throw invalidRegex('brackets [] not balanced');
      const name = p.slice(i + 2, close);
      if (kind === ':') {
        const cls = CLASS_NAMES[name];
        if (cls === undefined) throw invalidRegex('invalid character class');
        out += cls;
      } else {
        // Collating elements and equivalence classes: single characters only.
        out += [...name].map(escapeInClass).join('');
      }
      i = close + 2;
      continue;
    }
    if (c === '\\') {
      const n = p[i + 1];
      if (n === undefined) throw invalidRegex('invalid escape \\ sequence');
      if (n === 'd' || n === 's' || n === 'w' || n === 'D' || n === 'S' || n === 'W') {
        out += n === 'w' ? '\\p{L}\\p{N}_' : `\\${n}`;
        i += 2;
        continue;
      }
      const entry = characterEscape(p, i + 1);
      if (entry !== undefined) {
        out += entry.text;
        i = entry.next;
        continue;
      }
      out += escapeInClass(n);
      i += 2;
      continue;
    }
    if (c === '-' && out.length > 1 && p[i + 1] !== ']') {
      out += '-';
      i++;
      continue;
    }
    const cp = p.codePointAt(i) as number;
    const ch = String.fromCodePoint(cp);
    out += escapeInClass(ch);
    i += ch.length;
  }
  throw invalidRegex('brackets [] not balanced');
}

/** Translates a PostgreSQL ARE into JS RegExp source (for a RegExp with the 'u' flag). */
export function translateRegex(pattern: string, options: RegexOptions = DEFAULT_OPTIONS): Translation {
  let p = pattern;
  let o = options;
  if (p.startsWith('***=')) return { source: [...p.slice(4)].map(escapeLiteral).join(''), options: o };
  if (p.startsWith('***:')) p = p.slice(4);
  if (o.literal) return { source: [...p].map(escapeLiteral).join(''), options: o };
  // Embedded options at the start: (?flags)
  const embedded = /^\(\?([bcegimnpqstwx]+)\)/.exec(p);
  if (embedded !== null) {
    o = { ...o, ...parseRegexFlags((embedded[1] as string).replace(/g/g, ''), false, 'regex') };
    p = p.slice(embedded[0].length);
    if (o.literal) return { source: [...p].map(escapeLiteral).join(''), options: o };
  }
  let out = '';
  let i = 0;
  let groups = 0;
  while (i < p.length) {
    const c = p[i] as string;
    if (o.expanded) {
      if (/\s/.test(c)) {
        i++;
        continue;
      }
      if (c === '#') {
        while (i < p.length && p[i] !== '\n') i++;
        continue;
      }
    }
    switch (c) {
      case '\\': {
        const n = p[i + 1];
        if (n === undefined) throw invalidRegex('invalid escape \\ sequence');
        i += 2;
        switch (n) {
          case 'd':
          case 's':
          case 'D':
          case 'S':
            out += `\\${n}`;
            continue;
          case 'w':
            out += WORD;
            continue;
          case 'W':
            out += '[^\\p{L}\\p{N}_]';
            continue;
          case 'A':
            out += '(?<![\\s\\S])';
            continue;
          case 'Z':
            out += '(?![\\s\\S])';
            continue;
          case 'm':
            out += `(?<!${WORD})(?=${WORD})`;
            continue;
          case 'M':
            out += `(?<=${WORD})(?!${WORD})`;
            continue;
          case 'y':
            out += `(?:(?<=${WORD})(?!${WORD})|(?<!${WORD})(?=${WORD}))`;
            continue;
          case 'Y':
            out += `(?:(?<=${WORD})(?=${WORD})|(?<!${WORD})(?!${WORD}))`;
            continue;
          default:
            break;
        }
        if (n >= '1' && n <= '9') {
          let j = i;
          while (j < p.length && /[0-9]/.test(p[j] as string) && Number(p.slice(i - 1, j + 1)) <= groups) j++;
          out += `\\${p.slice(i - 1, j)}`;
          i = j;
          continue;
        }
        const entry = characterEscape(p, i - 1);
        if (entry !== undefined) {
          out += entry.text;
          i = entry.next;
          continue;
        }
        if (/[A-Za-z0-9]/.test(n)) throw invalidRegex('invalid escape \\ sequence');
        out += escapeLiteral(n);
        continue;
      }
      case '[': {
        const b = translateBracket(p, i, o);
        out += b.text;
        i = b.next;
        continue;
      }
      case '(':
        if (p[i + 1] !== '?') groups++;
        out += '(';
        i++;
        continue;
      case '.':
        out += o.newlineSensitive ? '[^\\n]' : '[\\s\\S]';
        i++;
        continue;
      case '{': {
        const bound = /^\{(\d+)(,(\d*))?\}/.exec(p.slice(i));
        if (bound === null) {
          out += '\\{';
          i++;
          continue;
        }
        out += bound[0];
        i += bound[0].length;
        continue;
      }
      case '}':
      case ']':
      case '/':
        out += `\\${c}`;
        i++;
        continue;
      default: {
        const cp = p.codePointAt(i) as number;
        const ch = String.fromCodePoint(cp);
        out += ch;
        i += ch.length;
      }
    }
  }
  return { source: out, options: o };
}

const cache = new Map<string, RegExp>();
const CACHE_MAX = 1000;

/**
 * A compiled RegExp for a pattern. `sticky`-free; 'g' is set when `global` (the caller
 * resets lastIndex). Throws 2201B for patterns PostgreSQL or JavaScript rejects.
 */
export function compileRegex(pattern: string, options: RegexOptions = DEFAULT_OPTIONS, global = false): RegExp {
  const optionKey =
    (options.caseInsensitive ? 'i' : '') +
    (options.newlineSensitive ? 'n' : '') +
    (options.expanded ? 'x' : '') +
    (options.literal ? 'q' : '') +
    (global ? 'g' : '');
  const key = `${optionKey}:${pattern}`;
  const hit = cache.get(key);
  if (hit !== undefined) {
    hit.lastIndex = 0;
    return hit;
  }
  const t = translateRegex(pattern, options);
  let flags = 'u';
  if (t.options.caseInsensitive) flags += 'i';
  if (t.options.newlineSensitive) flags += 'm';
  if (global) flags += 'g';
  let re: RegExp;
  try {
    re = new RegExp(t.source, flags);
  } catch (err) {
    throw invalidRegex(err instanceof Error ? err.message.replace(/^Invalid regular expression: /, '') : String(err));
  }
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(key, re);
  return re;
}

export function regexMatches(text: string, pattern: string, caseInsensitive: boolean): boolean {
  const re = compileRegex(pattern, caseInsensitive ? { ...DEFAULT_OPTIONS, caseInsensitive: true } : DEFAULT_OPTIONS);
  return re.test(text);
}

/**
 * regexp_replace's replacement text: \1..\9 are groups, \& the whole match, \\ a
 * backslash; everything else is literal.
 */
export function expandReplacement(replacement: string, match: RegExpExecArray): string {
  if (!replacement.includes('\\')) return replacement;
  let out = '';
  for (let i = 0; i < replacement.length; i++) {
    const c = replacement[i] as string;
    if (c !== '\\' || i + 1 >= replacement.length) {
      out += c;
      continue;
    }
    const n = replacement[i + 1] as string;
    if (n >= '1' && n <= '9') {
      out += match[Number(n)] ?? '';
      i++;
    } else if (n === '&') {
      out += match[0];
      i++;
    } else if (n === '\\') {
      out += '\\';
      i++;
    } else {
      out += c;
    }
  }
  return out;
}

export function regexpReplace(source: string, pattern: string, replacement: string, flags: string): string {
  const options = parseRegexFlags(flags, true, 'regexp_replace');
  const re = compileRegex(pattern, options, true);
  let out = '';
  let last = 0;
  for (const m of collectMatches(source, re, options.global, false)) {
    out += source.slice(last, m.index) + expandReplacement(replacement, m);
    last = m.index + m[0].length;
  }
  return out + source.slice(last);
}

/** regexp_match: the captured groups of the first match (the whole match when there are none), or null. */
export function regexpMatch(source: string, pattern: string, flags: string): (string | null)[] | null {
  const options = parseRegexFlags(flags, false, 'regexp_match');
  const m = compileRegex(pattern, options).exec(source);
  return m === null ? null : groupsOf(m);
}

/**
 * The matches a search finds, PostgreSQL's way: each search starts where the previous
 * match ended (one character further after an empty match). With `ignoreDegenerate`
 * (splitting), empty matches at the end of the text or right where the previous match
 * ended are dropped.
 */
function collectMatches(source: string, re: RegExp, global: boolean, ignoreDegenerate: boolean): RegExpExecArray[] {
  const found: RegExpExecArray[] = [];
  let prevEnd = 0;
  let from = 0;
  while (from <= source.length) {
    re.lastIndex = from;
    const m = re.exec(source);
    if (m === null) break;
    const end = m.index + m[0].length;
    if (!ignoreDegenerate || (m.index < source.length && end > prevEnd)) found.push(m);
    prevEnd = end;
    if (!global) break;
    from = m[0].length === 0 ? end + codePointLength(source, end) : end;
  }
  return found;
}

function groupsOf(m: RegExpExecArray): (string | null)[] {
  return m.length > 1 ? m.slice(1).map((g) => g ?? null) : [m[0]];
}

/** Every match (regexp_matches with 'g', or the first without): the groups of each. */
export function regexpMatches(source: string, pattern: string, flags: string): (string | null)[][] {
  const options = parseRegexFlags(flags, true, 'regexp_matches');
  const re = compileRegex(pattern, options, true);
  return collectMatches(source, re, options.global, false).map(groupsOf);
}

/** regexp_split_to_table/array: the pieces between matches. */
export function regexpSplit(source: string, pattern: string, flags: string): string[] {
  const options = parseRegexFlags(flags, false, 'regexp_split_to_table');
  const re = compileRegex(pattern, options, true);
  const parts: string[] = [];
  let start = 0;
  for (const m of collectMatches(source, re, true, true)) {
    parts.push(source.slice(start, m.index));
    start = m.index + m[0].length;
  }
  parts.push(source.slice(start));
  return parts;
}

function codePointLength(s: string, i: number): number {
  const cp = s.codePointAt(i);
  return cp !== undefined && cp > 0xffff ? 2 : 1;
}

/** substring(text from pattern): the first parenthesised group's match, or the whole match. */
export function regexSubstring(source: string, pattern: string): string | null {
  const m = compileRegex(pattern).exec(source);
  if (m === null) return null;
  return m.length > 1 ? (m[1] ?? null) : m[0];
}

export function regexpCount(source: string, pattern: string, flags: string): number {
  const options = parseRegexFlags(flags, false, 'regexp_count');
  return collectMatches(source, compileRegex(pattern, options, true), true, false).length;
}
