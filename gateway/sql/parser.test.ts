import { SqlError } from '../../common/errors';
import { extractAsOfSystemTime, loadParser, parseStatements } from './parser';

beforeAll(() => loadParser());

describe('parseStatements', () => {
  test('splits a query string into statements with their own text', () => {
    expect(parseStatements("SELECT 'ü'; SELECT 2").map((s) => s.sql)).toEqual(["SELECT 'ü'", 'SELECT 2']);
    const stmts = parseStatements('SELECT 1; INSERT INTO t VALUES (2) ;\n  SELECT 3');
    expect(stmts.map((s) => Object.keys(s.ast)[0])).toEqual(['SelectStmt', 'InsertStmt', 'SelectStmt']);
    expect(stmts.map((s) => s.sql)).toEqual(['SELECT 1', 'INSERT INTO t VALUES (2)', 'SELECT 3']);
  });

  test('an empty string has no statements', () => {
    expect(parseStatements('  ;  -- nothing')).toEqual([]);
  });

  test('a syntax error is 42601 with the 1-based character position', () => {
    let caught: unknown;
    try {
      parseStatements('SELECT ü FROM t WHER x = 1');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SqlError);
    expect((caught as SqlError).sqlState).toBe('42601');
    expect((caught as SqlError).position).toBe('SELECT ü FROM t WHER x'.indexOf('x') + 1);
  });

  test('AS OF SYSTEM TIME is taken off and attached to its statement', () => {
    const stmts = parseStatements("SELECT 1; SELECT * FROM t AS OF SYSTEM TIME '-10s' WHERE a = 1");
    expect(stmts[0]?.asOfSystemTime).toBeUndefined();
    expect(stmts[1]?.asOfSystemTime).toBe("'-10s'");
    expect(Object.keys(stmts[1]?.ast ?? {})).toEqual(['SelectStmt']);
  });
});

describe('extractAsOfSystemTime', () => {
  test.each([
    ["SELECT * FROM t AS OF SYSTEM TIME '2024-01-01 00:00:00'", "'2024-01-01 00:00:00'"],
    ['SELECT * FROM t as  of system\ttime -5000000000', '-5000000000'],
    ['BEGIN AS OF SYSTEM TIME follower_read_timestamp()', 'follower_read_timestamp()'],
    ["SELECT * FROM t AS OF SYSTEM TIME ('-1s'::interval)", "('-1s'::interval)"],
    ["SELECT * FROM t AS OF SYSTEM TIME '-1s'::interval", "'-1s'::interval"],
  ])('%s', (sql, expr) => {
    const { text, clauses } = extractAsOfSystemTime(sql);
    expect(clauses.map((c) => c.expr)).toEqual([expr]);
    expect(text.length).toBe(sql.length);
    expect(text).not.toMatch(/system/i);
  });

  test.each([
    "SELECT 'AS OF SYSTEM TIME 1'",
    'SELECT 1 -- AS OF SYSTEM TIME 1',
    'SELECT 1 /* AS OF /* nested */ SYSTEM TIME 1 */',
    'SELECT "as of system time 1" FROM t',
    "SELECT E'\\' AS OF SYSTEM TIME 1'",
    'SELECT $$ AS OF SYSTEM TIME 1 $$',
    'SELECT $q$ AS OF SYSTEM TIME 1 $q$',
  ])('left alone inside a literal, identifier or comment: %s', (sql) => {
    expect(extractAsOfSystemTime(sql)).toEqual({ text: sql, clauses: [] });
  });
});
