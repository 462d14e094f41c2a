import fc from 'fast-check';
import { SqlError } from '../../../common/errors';
import { ilike, like, likeEscape, similarToEscape } from './like';
import { regexMatches, regexpMatch, regexpReplace, regexpSplit, translateRegex } from './regex';
import { callFunction, callOperator } from './testing';

// Semantics: PostgreSQL manual §9.7.1 (LIKE), §9.7.2 (SIMILAR TO), §9.7.3 (POSIX regular
// expressions); expected values checked against PostgreSQL 15.

function sqlState(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    if (err instanceof SqlError) return err.sqlState;
    throw err;
  }
  throw new Error('expected an error');
}

describe('LIKE', () => {
  it.each([
    ['abc', 'abc', true],
    ['abc', 'a%', true],
    ['abc', '_b_', true],
    ['abc', '%c', true],
    ['abc', 'b%', false],
    ['abc', '_', false],
    ['', '%', true],
    ['', '_', false],
    ['a%c', 'a\\%c', true],
    ['abc', 'a\\%c', false],
    ['a_c', 'a\\_c', true],
    ['abc', 'a\\_c', false],
    ['a\\c', 'a\\\\c', true],
    ['a.c', 'a.c', true],
    ['abc', 'a.c', false],
    ['a*c', 'a*c', true],
    ['(x)', '(x)', true],
    ['[ab]', '[ab]', true],
    ['a', '[ab]', false],
    ['$^', '$^', true],
    ['line1\nline2', 'line1%', true],
    ['line1\nline2', 'line1_line2', true],
    ['héllo', 'h_llo', true],
    ['😀x', '_x', true],
    ['%', '\\%', true],
    ['\\', '\\\\', true],
    ['ab', 'a\\b', true],
  ])('%j LIKE %j is %s', (text, pattern, expected) => {
    expect(like(text, pattern)).toBe(expected);
  });

  it('rejects a pattern ending with the escape character (22025)', () => {
    expect(sqlState(() => like('a', 'a\\'))).toBe('22025');
  });

  it('ILIKE ignores case', () => {
    expect(ilike('ABC', 'a%')).toBe(true);
    expect(ilike('Élan', 'é%')).toBe(true);
    expect(ilike('abc', 'x%')).toBe(false);
  });

  it('a pattern without wildcards matches only itself (property)', () => {
    // Characters special to regular expressions, but not to LIKE.
    const chars = ['a', 'b', 'é', '.', '*', '(', ')', '[', ']', '^', '$', '|', '?', '+', '{', '}', '-', ' ', '😀', '\n'];
    const plain = fc.string({ unit: fc.constantFrom(...chars) });
    fc.assert(
      fc.property(plain, plain, (text, pattern) => {
        expect(like(text, pattern)).toBe(text === pattern);
        expect(like(pattern, pattern)).toBe(true);
      }),
    );
  });

  it('% matches every string, and prefix% every extension (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (prefix, rest) => {
        const escaped = prefix.replace(/[\\%_]/g, (c) => `\\${c}`);
        expect(like(prefix + rest, '%')).toBe(true);
        expect(like(prefix + rest, `${escaped}%`)).toBe(true);
      }),
    );
  });

  it('like_escape rewrites another escape character', () => {
    expect(likeEscape('a#%b', '#')).toBe('a\\%b');
    expect(likeEscape('a\\b', '#')).toBe('a\\\\b');
    expect(likeEscape('a\\%', '')).toBe('a\\\\%');
    expect(like('50%', likeEscape('50#%', '#'))).toBe(true);
    expect(like('50x', likeEscape('50#%', '#'))).toBe(false);
    expect(sqlState(() => likeEscape('a', 'ab'))).toBe('22025');
  });

  it('is reachable as the ~~ family of operators', () => {
    expect(callOperator('~~', ['text', 'abc'], ['unknown', 'a%'])).toBe('t');
    expect(callOperator('!~~', ['text', 'abc'], ['unknown', 'a%'])).toBe('f');
    expect(callOperator('~~*', ['text', 'ABC'], ['unknown', 'a%'])).toBe('t');
    expect(callOperator('!~~*', ['text', 'ABC'], ['unknown', 'a%'])).toBe('f');
    // char(n) keeps its padding for LIKE.
    expect(callOperator('~~', ['bpchar(3)', 'a'], ['unknown', 'a'])).toBe('f');
    expect(callOperator('~~', ['bpchar(3)', 'a'], ['unknown', 'a  '])).toBe('t');
    expect(callOperator('~~', ['bytea', '\\x616263'], ['bytea', '\\x6125'])).toBe('t');
  });
});

describe('SIMILAR TO', () => {
  it('translates to an anchored POSIX regex as PostgreSQL does', () => {
    expect(similarToEscape('a%(b|c)_.')).toBe('^(?:a.*(?:b|c).\\.)$');
    expect(similarToEscape('a#%b', '#')).toBe('^(?:a\\%b)$');
  });

  it('matches', () => {
    const similar = (t: string, p: string): boolean => regexMatches(t, similarToEscape(p), false);
    expect(similar('abc', 'a(b|c)%')).toBe(true);
    expect(similar('abc', 'a(x|y)%')).toBe(false);
    expect(similar('aaa', 'a+')).toBe(true);
    expect(similar('a.c', 'a.c')).toBe(true);
    expect(similar('abc', 'a.c')).toBe(false);
    expect(similar('xyz', '[x-z]{3}')).toBe(true);
  });
});

describe('POSIX regular expressions', () => {
  it.each([
    ['abc', '^a', false, true],
    ['abc', '^A', false, false],
    ['abc', '^A', true, true],
    ['abc', 'b', false, true],
    ['a\nb', 'a.b', false, true],
    ['foo bar', '\\mbar', false, true],
    ['foobar', '\\mbar', false, false],
    ['foo bar', 'o\\M', false, true],
    ['a1', '[[:digit:]]', false, true],
    ['ab', '[[:digit:]]', false, false],
    ['Ab', '^[[:upper:]][[:lower:]]$', false, true],
    ['a]b', 'a]b', false, true],
    ['a}b', 'a}b', false, true],
    ['x{y', 'x{y', false, true],
    ['aaa', '^a{2,3}$', false, true],
    ['abab', '^(ab)\\1$', false, true],
    ['TEST', '(?i)test', false, true],
    ['a+b', '***=a+b', false, true],
    ['tab\there', 'tab\\there', false, true],
    ['café', '^caf.$', false, true],
    ['😀', '^.$', false, true],
    ['foo', '\\y', false, true],
  ])('%j ~ %j (icase %s) is %s', (text, pattern, icase, expected) => {
    expect(regexMatches(text, pattern, icase)).toBe(expected);
  });

  it('rejects bad patterns with 2201B', () => {
    expect(sqlState(() => regexMatches('a', '(', false))).toBe('2201B');
    expect(sqlState(() => regexMatches('a', '[a', false))).toBe('2201B');
    expect(sqlState(() => regexMatches('a', '\\q', false))).toBe('2201B');
  });

  it('translates bracket expressions', () => {
    expect(translateRegex('[^a-c]').source).toBe('[^a-c]');
    expect(translateRegex('[]a]').source).toBe('[\\]a]');
    expect(translateRegex('[a-]').source).toBe('[a\\-]');
  });

  it('regexp_replace', () => {
    expect(regexpReplace('hello world', 'o', '0', 'g')).toBe('hell0 w0rld');
    expect(regexpReplace('hello world', 'o', '0', '')).toBe('hell0 world');
    expect(regexpReplace('hello', '(l+)', '<\\1>', '')).toBe('he<ll>o');
    expect(regexpReplace('hello', 'L', 'x', 'gi')).toBe('hexxo');
    expect(regexpReplace('abc', 'b', '[\\&]', '')).toBe('a[b]c');
    expect(regexpReplace('abc', 'b', '$1\\\\', '')).toBe('a$1\\c');
    expect(regexpReplace('abc', 'x*', '-', 'g')).toBe('-a-b-c-');
    expect(sqlState(() => regexpReplace('a', 'a', 'b', 'z'))).toBe('22023');
  });

  it('regexp_match and regexp_split', () => {
    expect(regexpMatch('foobarbaz', 'b(..)', '')).toEqual(['ar']);
    expect(regexpMatch('foobarbaz', 'ba.', '')).toEqual(['bar']);
    expect(regexpMatch('abc', 'x', '')).toBeNull();
    expect(regexpMatch('abc', '(x)?b', '')).toEqual([null]);
    expect(regexpSplit('hello world', '\\s*', '')).toEqual(['h', 'e', 'l', 'l', 'o', 'w', 'o', 'r', 'l', 'd']);
    expect(regexpSplit('a,b,,c', ',', '')).toEqual(['a', 'b', '', 'c']);
    expect(regexpSplit('abc', '', '')).toEqual(['a', 'b', 'c']);
  });

  it('is reachable through operators and functions', () => {
    expect(callOperator('~', ['text', 'abc'], ['unknown', '^a'])).toBe('t');
    expect(callOperator('~*', ['text', 'abc'], ['unknown', '^A'])).toBe('t');
    expect(callOperator('!~', ['text', 'abc'], ['unknown', '^a'])).toBe('f');
    expect(callOperator('!~*', ['text', 'abc'], ['unknown', '^A'])).toBe('f');
    expect(callFunction('substring', [['text', 'foobar'], ['unknown', 'o(.)b']])).toBe('o');
    expect(callFunction('substring', [['text', 'foobar'], ['unknown', 'o.b']])).toBe('oob');
    expect(callFunction('regexp_match', [['text', 'foobarbaz'], ['unknown', 'b(..)']])).toBe('{ar}');
    expect(callFunction('regexp_count', [['text', 'abcabc'], ['unknown', 'b']])).toBe('2');
    expect(callFunction('regexp_like', [['text', 'Abc'], ['unknown', 'abc'], ['unknown', 'i']])).toBe('t');
  });
});
