import { SqlError } from '../../../common/errors';
import { fixedEvalContext } from './eval-context';
import type { TextArg } from './testing';
import { callFunction, callOperator, setRows } from './testing';

// Expected values are PostgreSQL 15's (jsonb output: keys by length then bytes).

const j = (v: string): TextArg => ['jsonb', v];
const t = (v: string): TextArg => ['text', v];
const ta = (v: string): TextArg => ['text[]', v];
const i4 = (v: number): TextArg => ['int4', String(v)];

const op = (l: TextArg, name: string, r: TextArg): string | null => callOperator(name, l, r);
const fn = (name: string, ...args: TextArg[]): string | null => callFunction(name, args);

function sqlError(f: () => unknown): { sqlState: string; message: string } {
  try {
    f();
  } catch (err) {
    if (err instanceof SqlError) return { sqlState: err.sqlState, message: err.message };
    throw err;
  }
  throw new Error('expected an error');
}

describe('jsonb access operators', () => {
  it('-> and ->> by key and index', () => {
    expect(op(j('{"a": {"b": 1}}'), '->', t('a'))).toBe('{"b": 1}');
    expect(op(j('{"a": 1}'), '->', t('x'))).toBeNull();
    expect(op(j('[1, 2, 3]'), '->', i4(-1))).toBe('3');
    expect(op(j('[1, 2, 3]'), '->', i4(5))).toBeNull();
    expect(op(j('{"a": "x"}'), '->>', t('a'))).toBe('x');
    expect(op(j('{"a": null}'), '->>', t('a'))).toBeNull();
    expect(op(j('{"a": null}'), '->', t('a'))).toBe('null');
    expect(op(j('{"a": [1, 2]}'), '->>', t('a'))).toBe('[1, 2]');
    expect(op(j('[1, 2]'), '->', t('a'))).toBeNull();
    expect(callOperator('->', j('{"a": 1}'), ['unknown', 'a'])).toBe('1');
  });

  it('#> and #>> by path', () => {
    expect(op(j('{"a": [1, 2]}'), '#>', ta('{a,1}'))).toBe('2');
    expect(op(j('{"a": [1, 2]}'), '#>>', ta('{a}'))).toBe('[1, 2]');
    expect(op(j('{"a": [1, 2]}'), '#>', ta('{a,x}'))).toBeNull();
    expect(op(j('{"a": {"b": "c"}}'), '#>>', ta('{a,b}'))).toBe('c');
    expect(fn('jsonb_extract_path', j('{"a": {"b": 2}}'), t('a'), t('b'))).toBe('2');
    expect(fn('jsonb_extract_path_text', j('{"a": {"b": "x"}}'), t('a'), t('b'))).toBe('x');
  });
});

describe('jsonb containment and existence', () => {
  it('@> and <@', () => {
    expect(op(j('[1, 2, 3]'), '@>', j('1'))).toBe('t');
    expect(op(j('[1, [2, 3]]'), '@>', j('[[3]]'))).toBe('t');
    expect(op(j('{"a": {"b": 1, "c": 2}}'), '@>', j('{"a": {"b": 1}}'))).toBe('t');
    expect(op(j('[[1, 2]]'), '@>', j('[1]'))).toBe('f');
    expect(op(j('{"a": 1}'), '@>', j('{"a": 1, "b": 2}'))).toBe('f');
    expect(op(j('[1, 2, 2]'), '@>', j('[2, 2, 2, 1]'))).toBe('t');
    expect(op(j('{"a": 1}'), '<@', j('{"a": 1, "b": 2}'))).toBe('t');
    expect(op(j('"x"'), '@>', j('"x"'))).toBe('t');
  });

  it('?, ?| and ?&', () => {
    expect(op(j('"foo"'), '?', t('foo'))).toBe('t');
    expect(op(j('{"a": 1}'), '?', t('a'))).toBe('t');
    expect(op(j('{"a": {"b": 1}}'), '?', t('b'))).toBe('f');
    expect(op(j('["a", "b"]'), '?|', ta('{x,b}'))).toBe('t');
    expect(op(j('["a", "b"]'), '?&', ta('{a,c}'))).toBe('f');
    expect(op(j('{"__proto__": 1}'), '?', t('__proto__'))).toBe('t');
    expect(op(j('{}'), '?', t('constructor'))).toBe('f');
  });
});

describe('jsonb editing', () => {
  it('|| merges objects and concatenates everything else as arrays', () => {
    expect(op(j('{"a": 1}'), '||', j('{"b": 2}'))).toBe('{"a": 1, "b": 2}');
    expect(op(j('{"a": 1}'), '||', j('{"a": 2}'))).toBe('{"a": 2}');
    expect(op(j('[1]'), '||', j('2'))).toBe('[1, 2]');
    expect(op(j('1'), '||', j('[2]'))).toBe('[1, 2]');
    expect(op(j('1'), '||', j('2'))).toBe('[1, 2]');
    expect(op(j('{"a": 1}'), '||', j('[2]'))).toBe('[{"a": 1}, 2]');
  });

  it('- and #- delete', () => {
    expect(op(j('[1, 2, 3]'), '-', i4(1))).toBe('[1, 3]');
    expect(op(j('[1, 2, 3]'), '-', i4(-1))).toBe('[1, 2]');
    expect(op(j('["a", "b", "a"]'), '-', t('a'))).toBe('["b"]');
    expect(op(j('{"a": 1, "b": 2}'), '-', ta('{a}'))).toBe('{"b": 2}');
    expect(op(j('{"a": 1, "b": 2}'), '-', t('b'))).toBe('{"a": 1}');
    expect(op(j('{"a": {"b": [1, 2]}}'), '#-', ta('{a,b,0}'))).toBe('{"a": {"b": [2]}}');
    expect(sqlError(() => op(j('1'), '-', t('a')))).toEqual({ sqlState: '22023', message: 'cannot delete from scalar' });
    expect(sqlError(() => op(j('{"a": 1}'), '-', i4(0))).message).toBe('cannot delete from object using integer index');
  });

  it('jsonb_set', () => {
    expect(fn('jsonb_set', j('{"a": [1, 2]}'), ta('{a,5}'), j('9'))).toBe('{"a": [1, 2, 9]}');
    expect(fn('jsonb_set', j('{"a": [1, 2]}'), ta('{a,-5}'), j('9'))).toBe('{"a": [9, 1, 2]}');
    expect(fn('jsonb_set', j('{"a": [1, 2]}'), ta('{a,0}'), j('9'))).toBe('{"a": [9, 2]}');
    expect(fn('jsonb_set', j('{"a": 1}'), ta('{b}'), j('2'), ['bool', 'false'])).toBe('{"a": 1}');
    expect(fn('jsonb_set', j('{"a": 1}'), ta('{b}'), j('2'))).toBe('{"a": 1, "b": 2}');
    expect(fn('jsonb_set', j('{"a": 1}'), ta('{x,y}'), j('2'))).toBe('{"a": 1}');
    expect(sqlError(() => fn('jsonb_set', j('{"a": [1]}'), ta('{a,x}'), j('2'))).sqlState).toBe('22P02');
  });

  it('jsonb_strip_nulls', () => {
    expect(fn('jsonb_strip_nulls', j('{"a": null, "b": [null, {"c": null}]}'))).toBe('{"b": [null, {}]}');
  });
});

describe('jsonb construction', () => {
  it('jsonb_build_object and jsonb_build_array take any types', () => {
    expect(
      callFunction('jsonb_build_object', [
        ['unknown', 'a'],
        i4(1),
        ['unknown', 'b'],
        ['date', '2026-11-26'],
        i4(2),
        ['text', null],
      ]),
    ).toBe('{"2": null, "a": 1, "b": "2026-11-26"}');
    expect(callFunction('jsonb_build_array', [i4(1), ['unknown', 'x'], ['text', null], ['bool', 'true']])).toBe(
      '[1, "x", null, true]',
    );
    expect(callFunction('jsonb_build_object', [])).toBe('{}');
    expect(callFunction('jsonb_build_array', [])).toBe('[]');
    expect(sqlError(() => callFunction('jsonb_build_object', [['unknown', 'a']])).message).toBe(
      'argument list must have even number of elements',
    );
    expect(sqlError(() => callFunction('jsonb_build_object', [['text', null], i4(1)]))).toEqual({
      sqlState: '22004',
      message: 'argument 1: key must not be null',
    });
  });

  it('to_jsonb converts by type', () => {
    expect(fn('to_jsonb', ['timestamp', '2020-01-01 10:00:00.5'])).toBe('"2020-01-01T10:00:00.5"');
    expect(fn('to_jsonb', ['timestamptz', '2020-01-01 10:00:00+00'])).toBe('"2020-01-01T10:00:00+00:00"');
    expect(fn('to_jsonb', ['date', '2020-01-02'])).toBe('"2020-01-02"');
    expect(fn('to_jsonb', ['numeric', 'NaN'])).toBe('"NaN"');
    expect(fn('to_jsonb', ['int4[]', '{1,2}'])).toBe('[1, 2]');
    expect(fn('to_jsonb', t('a'))).toBe('"a"');
    expect(fn('to_jsonb', ['interval', '1 day'])).toBe('"1 day"');
    expect(fn('to_jsonb', ['bytea', '\\x01'])).toBe('"\\\\x01"');
    expect(fn('to_jsonb', ['bool', 'true'])).toBe('true');
    expect(fn('to_jsonb', ['float8', 'Infinity'])).toBe('"Infinity"');
    const ny = fixedEvalContext({ timeZone: 'America/New_York' });
    expect(callFunction('to_jsonb', [['timestamptz', '2020-01-01 10:00:00+00']], ny)).toBe('"2020-01-01T05:00:00-05:00"');
  });
});

describe('jsonb inspection', () => {
  it('jsonb_typeof, jsonb_array_length, jsonb_pretty', () => {
    expect(fn('jsonb_typeof', j('1.5'))).toBe('number');
    expect(fn('jsonb_typeof', j('null'))).toBe('null');
    expect(fn('jsonb_typeof', j('{}'))).toBe('object');
    expect(fn('jsonb_array_length', j('[1, 2]'))).toBe('2');
    expect(sqlError(() => fn('jsonb_array_length', j('{}'))).message).toBe('cannot get array length of a non-array');
    expect(sqlError(() => fn('jsonb_array_length', j('1'))).message).toBe('cannot get array length of a scalar');
    expect(fn('jsonb_pretty', j('{"a": 1, "b": [1, {"c": null}], "d": {}, "e": []}'))).toBe(
      [
        '{',
        '    "a": 1,',
        '    "b": [',
        '        1,',
        '        {',
        '            "c": null',
        '        }',
        '    ],',
        '    "d": {',
        '    },',
        '    "e": [',
        '    ]',
        '}',
      ].join('\n'),
    );
  });

  it('compares as PostgreSQL orders jsonb', () => {
    expect(op(j('{"a": 1}'), '=', j('{"a": 1.0}'))).toBe('t');
    expect(op(j('[1, 2]'), '<', j('{"a": 1}'))).toBe('t');
    expect(op(j('"a"'), '<', j('1'))).toBe('t');
  });
});

describe('jsonb set-returning functions', () => {
  it('expand arrays and objects', () => {
    expect(setRows('jsonb_array_elements', [j('[1, "a", null]')])).toEqual([['1'], ['"a"'], ['null']]);
    expect(setRows('jsonb_array_elements_text', [j('[1, "a", null]')])).toEqual([['1'], ['a'], [null]]);
    expect(setRows('jsonb_each', [j('{"b": 1, "a": [2]}')])).toEqual([
      ['a', '[2]'],
      ['b', '1'],
    ]);
    expect(setRows('jsonb_each_text', [j('{"a": "x", "b": null}')])).toEqual([
      ['a', 'x'],
      ['b', null],
    ]);
    expect(setRows('jsonb_object_keys', [j('{"bb": 1, "a": 2, "c": 3}')])).toEqual([['a'], ['c'], ['bb']]);
    expect(sqlError(() => setRows('jsonb_array_elements', [j('{}')])).message).toBe('cannot extract elements from an object');
    expect(sqlError(() => setRows('jsonb_object_keys', [j('[1]')])).message).toBe('cannot call jsonb_object_keys on an array');
    expect(sqlError(() => setRows('jsonb_each', [j('1')])).message).toBe('cannot call jsonb_each on a non-object');
  });
});
