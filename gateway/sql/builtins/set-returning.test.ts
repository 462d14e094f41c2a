import { SqlError } from '../../../common/errors';
import { resolveFunction } from './catalogue';
import { fixedEvalContext } from './eval-context';
import type { TextArg } from './testing';
import { setRows, sqlType } from './testing';

// Rows are PostgreSQL 15's for the same calls.

const i4 = (v: number): TextArg => ['int4', String(v)];
const i8 = (v: string): TextArg => ['int8', v];
const n = (v: string): TextArg => ['numeric', v];

function sqlError(f: () => unknown): { sqlState: string; message: string } {
  try {
    f();
  } catch (err) {
    if (err instanceof SqlError) return { sqlState: err.sqlState, message: err.message };
    throw err;
  }
  throw new Error('expected an error');
}

const column = (rows: (string | null)[][]): (string | null)[] => rows.map((r) => r[0] ?? null);

describe('generate_series', () => {
  it('counts up, down and by steps', () => {
    expect(column(setRows('generate_series', [i4(1), i4(3)]))).toEqual(['1', '2', '3']);
    expect(column(setRows('generate_series', [i4(5), i4(1), i4(-2)]))).toEqual(['5', '3', '1']);
    expect(column(setRows('generate_series', [i4(1), i4(10), i4(4)]))).toEqual(['1', '5', '9']);
    expect(column(setRows('generate_series', [i8('1'), i8('3'), i8('2')]))).toEqual(['1', '3']);
  });

  it('gives no rows when the range is empty in the step’s direction', () => {
    expect(setRows('generate_series', [i4(1), i4(0)])).toEqual([]);
    expect(setRows('generate_series', [i4(1), i4(5), i4(-1)])).toEqual([]);
  });

  it('stops at the type’s limits instead of overflowing', () => {
    expect(column(setRows('generate_series', [i4(2147483645), i4(2147483647), i4(2)]))).toEqual(['2147483645', '2147483647']);
    expect(column(setRows('generate_series', [i4(-2147483647), i4(-2147483648), i4(-1)]))).toEqual([
      '-2147483647',
      '-2147483648',
    ]);
    expect(column(setRows('generate_series', [i8('9223372036854775806'), i8('9223372036854775807')]))).toEqual([
      '9223372036854775806',
      '9223372036854775807',
    ]);
  });

  it('rejects a zero step with 22023', () => {
    expect(sqlError(() => setRows('generate_series', [i4(1), i4(5), i4(0)]))).toEqual({
      sqlState: '22023',
      message: 'step size cannot equal zero',
    });
    expect(sqlError(() => setRows('generate_series', [n('1'), n('5'), n('0.0')])).message).toBe('step size cannot equal zero');
  });

  it('on numerics keeps scales', () => {
    expect(column(setRows('generate_series', [n('1.5'), i4(3)]))).toEqual(['1.5', '2.5']);
    expect(column(setRows('generate_series', [n('1.0'), n('2.0'), n('0.3')]))).toEqual(['1.0', '1.3', '1.6', '1.9']);
    expect(sqlError(() => setRows('generate_series', [n('NaN'), n('2')]))).toEqual({
      sqlState: '22023',
      message: 'start value cannot be NaN',
    });
  });

  it('is lazy: a huge series can be cut short', () => {
    const r = resolveFunction('generate_series', [sqlType('int8'), sqlType('int8')]);
    if (r.kind !== 'set-returning') throw new Error('generate_series is set-returning');
    const it = r.fn([1n, 9223372036854775807n], fixedEvalContext())[Symbol.iterator]();
    expect(it.next().value).toEqual([1n]);
    expect(it.next().value).toEqual([2n]);
    expect(r.columns).toEqual([{ name: 'generate_series', type: sqlType('int8') }]);
  });

  it('gives no rows for NULL arguments (strict)', () => {
    expect(setRows('generate_series', [i4(1), ['int4', null]])).toEqual([]);
  });
});

describe('other set-returning functions', () => {
  it('unnest keeps NULL elements and is typed by the element', () => {
    expect(setRows('unnest', [['int4[]', '{1,NULL,3}']])).toEqual([['1'], [null], ['3']]);
    const r = resolveFunction('unnest', [sqlType('text[]')]);
    expect(r.kind === 'set-returning' && r.columns).toEqual([{ name: 'unnest', type: sqlType('text') }]);
  });

  it('generate_subscripts', () => {
    expect(column(setRows('generate_subscripts', [['text[]', '{a,b}'], i4(1)]))).toEqual(['1', '2']);
    expect(column(setRows('generate_subscripts', [['text[]', '{a,b}'], i4(1), ['bool', 'true']]))).toEqual(['2', '1']);
    expect(setRows('generate_subscripts', [['text[]', '{a,b}'], i4(2)])).toEqual([]);
  });

  it('regexp_split_to_table and regexp_matches', () => {
    expect(column(setRows('regexp_split_to_table', [['text', 'a, b ,c'], ['text', '\\s*,\\s*']]))).toEqual(['a', 'b', 'c']);
    expect(column(setRows('regexp_matches', [['text', 'a1b22c333'], ['text', '[0-9]+'], ['text', 'g']]))).toEqual([
      '{1}',
      '{22}',
      '{333}',
    ]);
    expect(column(setRows('regexp_matches', [['text', 'a1b22'], ['text', '([a-z])([0-9]+)']]))).toEqual(['{a,1}']);
  });
});
