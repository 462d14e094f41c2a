// The record syntax of ../shared/sqllogictest/README.md, "File format".
import { conditionsAllow, parseSlt, SltParseError } from './parse';

describe('parseSlt', () => {
  it('reads statements, with multi-line SQL, ok and error', () => {
    const records = parseSlt(
      ['statement ok', 'CREATE TABLE t1(a INTEGER,', '  b INTEGER)', '', '', 'statement error', 'SELECT 1/0', ''].join('\n'),
    );
    expect(records).toEqual([
      { kind: 'statement', line: 1, conditions: [], expectError: false, sql: 'CREATE TABLE t1(a INTEGER,\n  b INTEGER)' },
      { kind: 'statement', line: 6, conditions: [], expectError: true, sql: 'SELECT 1/0' },
    ]);
  });

  it('reads a query: types, sort mode, label, multi-line SQL, one value per line', () => {
    const [record] = parseSlt(
      ['query IIT rowsort label-7', 'SELECT a, b,', '  c FROM t1', '----', '1', '2', 'x', '3', '4', '(empty)'].join('\n'),
    );
    expect(record).toEqual({
      kind: 'query',
      line: 1,
      conditions: [],
      types: ['I', 'I', 'T'],
      sortMode: 'rowsort',
      label: 'label-7',
      sql: 'SELECT a, b,\n  c FROM t1',
      expected: { kind: 'values', values: ['1', '2', 'x', '3', '4', '(empty)'] },
    });
  });

  it('defaults the sort mode to nosort and takes a lone hash line as a hash', () => {
    const [record] = parseSlt('query R\nSELECT 1\n----\n30 values hashing to 3c13dee48d9356ae19af2515e05e6b54\n');
    expect(record).toMatchObject({
      sortMode: 'nosort',
      label: undefined,
      expected: { kind: 'hash', count: 30, hash: '3c13dee48d9356ae19af2515e05e6b54' },
    });
  });

  it('reads an empty result and a query without ----', () => {
    const records = parseSlt('query I nosort\nSELECT 1 WHERE false\n----\n\nquery I nosort\nSELECT 1\n');
    expect(records.map((r) => (r.kind === 'query' ? r.expected : 'other'))).toEqual([{ kind: 'values', values: [] }, null]);
  });

  it('keeps skipif/onlyif (with # comments) on the record they precede', () => {
    const records = parseSlt(
      [
        'onlyif mysql # aggregate syntax: ',
        'query I rowsort label-1',
        'SELECT ALL + COUNT( * ) AS col0',
        '----',
        '1',
        '',
        'skipif mysql # not compatible',
        'skipif MSSQL',
        'query I rowsort label-1',
        'SELECT ALL + COUNT ( * ) AS col0',
        '----',
        '1',
      ].join('\n'),
    );
    expect(records.map((r) => r.conditions)).toEqual([
      [{ kind: 'onlyif', engine: 'mysql' }],
      [
        { kind: 'skipif', engine: 'mysql' },
        { kind: 'skipif', engine: 'mssql' },
      ],
    ]);
    expect(records[1]?.line).toBe(9);
  });

  it('reads hash-threshold and halt, and skips comment lines between records', () => {
    const records = parseSlt('# a comment\nhash-threshold 0\n\n# another\n\nonlyif sqlite\nhalt\n\nstatement ok\nSELECT 1\n');
    expect(records).toEqual([
      { kind: 'hash-threshold', line: 2, conditions: [], threshold: 0 },
      { kind: 'halt', line: 7, conditions: [{ kind: 'onlyif', engine: 'sqlite' }] },
      { kind: 'statement', line: 9, conditions: [], expectError: false, sql: 'SELECT 1' },
    ]);
  });

  it('accepts CRLF line ends (the random/ files have them)', () => {
    const records = parseSlt('hash-threshold 8\r\n\r\nquery II rowsort\r\nSELECT 1, 2\r\n----\r\n1\r\n2\r\n');
    expect(records[1]).toMatchObject({ sql: 'SELECT 1, 2', expected: { kind: 'values', values: ['1', '2'] } });
  });

  it.each([
    ['statement maybe\nSELECT 1\n', 1, /statement ok/],
    ['query X nosort\nSELECT 1\n', 1, /I, T and R/],
    ['query I sideways\nSELECT 1\n', 1, /sort mode/],
    ['frobnicate\n', 1, /unknown record/],
    ['skipif mysql\n\nstatement ok\nSELECT 1\n', 1, /not followed by a record/],
    ['hash-threshold lots\n', 1, /whole number/],
    ['halt\nSELECT 1\n', 2, /blank line/],
    ['statement ok\n', 1, /without SQL/],
  ])('rejects %j at line %d', (text, line, message) => {
    let error: unknown;
    try {
      parseSlt(text);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SltParseError);
    expect((error as SltParseError).line).toBe(line);
    expect((error as SltParseError).message).toMatch(message);
  });
});

describe('conditionsAllow', () => {
  it('skips on skipif <engine> and on onlyif <another engine>, case-insensitively', () => {
    expect(conditionsAllow([], 'postgresql')).toBe(true);
    expect(conditionsAllow([{ kind: 'skipif', engine: 'mysql' }], 'postgresql')).toBe(true);
    expect(conditionsAllow([{ kind: 'skipif', engine: 'postgresql' }], 'PostgreSQL')).toBe(false);
    expect(conditionsAllow([{ kind: 'onlyif', engine: 'mysql' }], 'postgresql')).toBe(false);
    expect(conditionsAllow([{ kind: 'onlyif', engine: 'postgresql' }], 'postgresql')).toBe(true);
    expect(
      conditionsAllow(
        [
          { kind: 'onlyif', engine: 'postgresql' },
          { kind: 'skipif', engine: 'postgresql' },
        ],
        'postgresql',
      ),
    ).toBe(false);
  });
});
