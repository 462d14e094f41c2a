import { SqlError } from '../../../common/errors';
import { callFunction, callOperator } from './testing';

// Expected values are PostgreSQL 15's (UTF8 database, C.UTF-8 locale).

function fn(name: string, ...args: [string, string | null][]): string | null {
  return callFunction(name, args);
}

const t = (v: string | null): [string, string | null] => ['text', v];
const i = (v: number): [string, string] => ['int4', String(v)];

function sqlError(f: () => unknown): { sqlState: string; message: string } {
  try {
    f();
  } catch (err) {
    if (err instanceof SqlError) return { sqlState: err.sqlState, message: err.message };
    throw err;
  }
  throw new Error('expected an error');
}

describe('lengths count characters', () => {
  it('on Unicode text', () => {
    expect(fn('length', t('héllo😀'))).toBe('6');
    expect(fn('char_length', t('héllo😀'))).toBe('6');
    expect(fn('octet_length', t('héllo😀'))).toBe('10');
    expect(fn('bit_length', t('é'))).toBe('16');
  });

  it('char(n) ignores its padding, except for octet_length', () => {
    expect(fn('char_length', ['bpchar(5)', 'abc'])).toBe('3');
    expect(fn('length', ['bpchar(5)', 'ab  '])).toBe('2');
    expect(fn('octet_length', ['bpchar(5)', 'ab'])).toBe('5');
  });

  it('on bytea', () => {
    expect(fn('length', ['bytea', '\\x00ff41'])).toBe('3');
  });
});

describe('case', () => {
  it('maps character by character', () => {
    expect(fn('upper', t('straße é'))).toBe('STRAßE É');
    expect(fn('lower', t('ÉCOLE İ'))).toBe('école i');
    expect(fn('initcap', t("hello wORLD foo_bar 3am o'neil"))).toBe("Hello World Foo_Bar 3am O'Neil");
  });
});

describe('substrings', () => {
  it('substr/substring with PostgreSQL’s start/count rules', () => {
    expect(fn('substr', t('héllo😀'), i(2), i(3))).toBe('éll');
    expect(fn('substring', t('hello'), i(0), i(3))).toBe('he');
    expect(fn('substring', t('hello'), i(-1))).toBe('hello');
    expect(fn('substring', t('hello'), i(-5), i(3))).toBe('');
    expect(fn('substring', t('hello😀'), i(6))).toBe('😀');
    expect(fn('substring', t('hello'), i(10))).toBe('');
    expect(sqlError(() => fn('substring', t('hello'), i(1), i(-1)))).toEqual({
      sqlState: '22011',
      message: 'negative substring length not allowed',
    });
  });

  it('left, right, position, strpos, starts_with', () => {
    expect(fn('left', t('héllo'), i(-2))).toBe('hél');
    expect(fn('left', t('héllo'), i(2))).toBe('hé');
    expect(fn('right', t('héllo'), i(-2))).toBe('llo');
    expect(fn('right', t('héllo'), i(2))).toBe('lo');
    expect(fn('position', t('hello'), t('lo'))).toBe('4');
    expect(fn('strpos', t('héllo'), t('l'))).toBe('3');
    expect(fn('strpos', t('😀x'), t('x'))).toBe('2');
    expect(fn('strpos', t('abc'), t('z'))).toBe('0');
    expect(fn('starts_with', t('hello'), t('he'))).toBe('t');
    expect(callOperator('^@', t('hello'), t('x'))).toBe('f');
  });
});

describe('padding and trimming', () => {
  it('lpad/rpad pad with the fill string and truncate', () => {
    expect(fn('lpad', t('hi'), i(5), t('xy'))).toBe('xyxhi');
    expect(fn('rpad', t('hi'), i(5), t('xy'))).toBe('hixyx');
    expect(fn('rpad', t('hello'), i(3))).toBe('hel');
    expect(fn('lpad', t('hi'), i(5), t(''))).toBe('hi');
    expect(fn('lpad', t('hi'), i(-1))).toBe('');
    expect(fn('lpad', t('é'), i(3), t('😀'))).toBe('😀😀é');
  });

  it('btrim/ltrim/rtrim with and without characters', () => {
    expect(fn('btrim', t('xxhixx'), t('x'))).toBe('hi');
    expect(fn('btrim', t('abhiba'), t('ab'))).toBe('hi');
    expect(fn('ltrim', t('  hi '))).toBe('hi ');
    expect(fn('rtrim', t(' hi  '))).toBe(' hi');
    expect(fn('btrim', t('😀hi😀'), t('😀'))).toBe('hi');
  });
});

describe('rewriting', () => {
  it('replace, repeat, reverse, translate, split_part', () => {
    expect(fn('replace', t('abcabc'), t('b'), t('X'))).toBe('aXcaXc');
    expect(fn('replace', t('abc'), t(''), t('X'))).toBe('abc');
    expect(fn('repeat', t('ab'), i(3))).toBe('ababab');
    expect(fn('repeat', t('ab'), i(-1))).toBe('');
    expect(fn('reverse', t('héllo😀'))).toBe('😀olléh');
    expect(fn('translate', t('12345'), t('143'), t('ax'))).toBe('a2x5');
    expect(fn('split_part', t('a,b,c'), t(','), i(2))).toBe('b');
    expect(fn('split_part', t('a,b,c'), t(','), i(-1))).toBe('c');
    expect(fn('split_part', t('a,b,c'), t(','), i(4))).toBe('');
    expect(fn('split_part', t('a,b,c'), t(''), i(1))).toBe('a,b,c');
    expect(fn('split_part', t('abc'), t(''), i(2))).toBe('');
    expect(sqlError(() => fn('split_part', t('a'), t(','), i(0)))).toEqual({
      sqlState: '22023',
      message: 'field position must not be zero',
    });
  });
});

describe('quoting', () => {
  it('quote_ident quotes when PostgreSQL would', () => {
    expect(fn('quote_ident', t('Foo'))).toBe('"Foo"');
    expect(fn('quote_ident', t('foo'))).toBe('foo');
    expect(fn('quote_ident', t('select'))).toBe('"select"');
    expect(fn('quote_ident', t('user'))).toBe('"user"');
    expect(fn('quote_ident', t('name'))).toBe('name');
    expect(fn('quote_ident', t('a b'))).toBe('"a b"');
    expect(fn('quote_ident', t('a"b'))).toBe('"a""b"');
    expect(fn('quote_ident', t('_x1$'))).toBe('"_x1$"');
  });

  it('quote_literal and quote_nullable', () => {
    expect(fn('quote_literal', t("it's"))).toBe("'it''s'");
    expect(fn('quote_literal', t('back\\slash'))).toBe("E'back\\\\slash'");
    expect(fn('quote_literal', i(42))).toBe("'42'");
    expect(fn('quote_literal', t(null))).toBeNull();
    expect(fn('quote_nullable', t(null))).toBe('NULL');
    expect(fn('quote_nullable', ['bool', 'true'])).toBe("'true'");
  });
});

describe('characters, hashes and encodings', () => {
  it('chr, ascii, to_hex, md5', () => {
    expect(fn('chr', i(65))).toBe('A');
    expect(fn('chr', i(128512))).toBe('😀');
    expect(fn('ascii', t('é'))).toBe('233');
    expect(fn('ascii', t(''))).toBe('0');
    expect(fn('to_hex', i(255))).toBe('ff');
    expect(fn('to_hex', i(-1))).toBe('ffffffff');
    expect(fn('to_hex', ['int8', '-1'])).toBe('ffffffffffffffff');
    expect(fn('md5', t('abc'))).toBe('900150983cd24fb0d6963f7d28e17f72');
    expect(sqlError(() => fn('chr', i(0))).sqlState).toBe('54000');
  });

  it('encode and decode hex, base64 and escape', () => {
    expect(fn('encode', ['bytea', '\\x00ff41'], t('hex'))).toBe('00ff41');
    expect(fn('encode', ['bytea', '\\x68656c6c6f'], t('base64'))).toBe('aGVsbG8=');
    expect(fn('encode', ['bytea', '\\x615c62017f80ff'], t('escape'))).toBe('a\\\\b\u0001\u007f\\200\\377');
    expect(fn('decode', t('aGVsbG8='), t('base64'))).toBe('\\x68656c6c6f');
    expect(fn('decode', t('a\\\\b\\001'), t('escape'))).toBe('\\x615c6201');
    expect(fn('decode', t('00FF'), t('hex'))).toBe('\\x00ff');
    // base64 output is cut into lines of 76 characters.
    const long = fn('encode', ['bytea', `\\x${'78'.repeat(60)}`], t('base64'));
    expect(long).toBe(`${'eHh4'.repeat(19)}\n${'eHh4'}`);
    expect(sqlError(() => fn('decode', t('abc'), t('hex'))).sqlState).toBe('22023');
    expect(sqlError(() => fn('encode', ['bytea', '\\x00'], t('rot13'))).message).toBe('unrecognized encoding: "rot13"');
  });
});

describe('concat, concat_ws, format and ||', () => {
  it('concat prints values with their output functions and skips NULLs', () => {
    expect(
      callFunction('concat', [t('a'), i(1), t(null), ['bool', 'true'], ['numeric', '2.50']]),
    ).toBe('a1t2.50');
    expect(callFunction('concat_ws', [t(','), t('a'), t(null), i(3)])).toBe('a,3');
    expect(callFunction('concat_ws', [t(null), t('a')])).toBeNull();
  });

  it('|| casts the other side to text (true prints "true")', () => {
    expect(callOperator('||', ['unknown', 'a'], i(1))).toBe('a1');
    expect(callOperator('||', i(1), ['unknown', 'a'])).toBe('1a');
    expect(callOperator('||', t('a'), ['bool', 'true'])).toBe('atrue');
    expect(callOperator('||', ['unknown', 'a'], ['unknown', 'b'])).toBe('ab');
    expect(callOperator('||', ['bpchar(3)', 'a'], t('b'))).toBe('ab');
    expect(callOperator('||', t('a'), t(null))).toBeNull();
  });

  it('format: %s %I %L, positions, widths', () => {
    expect(callFunction('format', [t('%s-%I-%L-%L'), t('a'), t('B c'), t("it's"), t(null)])).toBe(`a-"B c"-'it''s'-NULL`);
    expect(callFunction('format', [t('%2$s %1$s'), t('a'), t('b')])).toBe('b a');
    expect(callFunction('format', [t('|%5s|%-5s|'), t('ab'), t('cd')])).toBe('|   ab|cd   |');
    expect(callFunction('format', [t('%s'), ['numeric', '1.50']])).toBe('1.50');
    expect(callFunction('format', [t('100%%')])).toBe('100%');
    expect(callFunction('format', [t('%s'), t(null)])).toBe('');
    expect(sqlError(() => callFunction('format', [t('%s %s'), t('a')]))).toEqual({
      sqlState: '22023',
      message: 'too few arguments for format()',
    });
    expect(sqlError(() => callFunction('format', [t('%I'), t(null)])).sqlState).toBe('22004');
    expect(sqlError(() => callFunction('format', [t('%x'), t('a')])).message).toBe('unrecognized format() type specifier "x"');
  });
});

describe('arrays of strings', () => {
  it('string_to_array and array_to_string', () => {
    expect(callFunction('string_to_array', [t('a,b,,c'), t(',')])).toBe('{a,b,"",c}');
    expect(callFunction('string_to_array', [t('a,b,,c'), t(','), t('')])).toBe('{a,b,NULL,c}');
    expect(callFunction('string_to_array', [t('abc'), t(null)])).toBe('{a,b,c}');
    expect(callFunction('string_to_array', [t('abc'), t('')])).toBe('{abc}');
    expect(callFunction('string_to_array', [t(''), t(',')])).toBe('{}');
    expect(callFunction('array_to_string', [['int4[]', '{1,NULL,3}'], t(','), t('*')])).toBe('1,*,3');
    expect(callFunction('array_to_string', [['text[]', '{a,NULL}'], t(',')])).toBe('a');
  });
});
