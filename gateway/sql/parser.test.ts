import { SqlError } from '../../common/errors';
import { extractAsOfSystemTime, loadParser, parseStatements, rewriteShowTrace, rewriteUpsert } from './parser';

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

describe('rewriteUpsert', () => {
  test.each([
    ['UPSERT INTO t VALUES (1)', [0]],
    ['upsert into t values (1)', [0]],
    ['  \n\tUpSeRt INTO t VALUES (1)', [4]],
    ['-- note\nUPSERT INTO t VALUES (1)', [8]],
    ['/* a /* nested */ note */UPSERT INTO t VALUES (1)', [25]],
    ["SELECT 'upsert'; UPSERT INTO t VALUES (1);upsert INTO t SELECT 2", [17, 42]],
  ])('%s', (sql, offsets) => {
    const { text, upserts } = rewriteUpsert(sql);
    expect(upserts).toEqual(offsets);
    // Same length, so the parser's error positions still point into the original text.
    expect(text.length).toBe(sql.length);
    expect(text).toBe(offsets.reduce((t, o) => t.slice(0, o) + 'INSERT' + t.slice(o + 6), sql));
  });

  test.each([
    "SELECT 'upsert'",
    "SELECT 1; 'UPSERT'",
    'SELECT "upsert" FROM t',
    '"UPSERT" INTO t VALUES (1)',
    'SELECT 1 -- ; UPSERT',
    'SELECT 1 /* ; UPSERT */',
    'SELECT $$; UPSERT $$',
    "SELECT E'\\'; UPSERT'",
    'SELECT upsert FROM t',
    'SELECT 1 AS upsert; SELECT upserted FROM t',
    'SELECT 1; upsert_log',
    'SELECT 1; upsert$x',
    'SELECT 1; UPSERTé',
    'EXPLAIN UPSERT INTO t VALUES (1)',
    'CREATE RULE r AS ON INSERT TO t DO ALSO (SELECT 1; UPSERT INTO u VALUES (1))',
  ])('left alone: %s', (sql) => {
    expect(rewriteUpsert(sql)).toEqual({ text: sql, upserts: [] });
  });
});

describe('UPSERT statements', () => {
  function syntaxError(sql: string): SqlError {
    let caught: unknown;
    try {
      parseStatements(sql);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SqlError);
    expect((caught as SqlError).sqlState).toBe('42601');
    return caught as SqlError;
  }

  test('parse as INSERT marked upsert, keeping their own text', () => {
    const stmts = parseStatements("INSERT INTO t VALUES (1); /* c */ upsert INTO t (a, b) VALUES (1, 'upsert') RETURNING a; SELECT 1");
    expect(stmts.map((s) => Object.keys(s.ast)[0])).toEqual(['InsertStmt', 'InsertStmt', 'SelectStmt']);
    expect(stmts.map((s) => s.upsert)).toEqual([undefined, true, undefined]);
    expect(stmts[1]?.sql).toBe("/* c */ upsert INTO t (a, b) VALUES (1, 'upsert') RETURNING a");
    expect(stmts[1]?.sql).not.toBe(stmts[0]?.sql);
  });

  test('AS OF SYSTEM TIME and UPSERT in one string', () => {
    const stmts = parseStatements("SELECT * FROM t AS OF SYSTEM TIME '-1s'; UPSERT INTO t SELECT * FROM u");
    expect(stmts[0]?.asOfSystemTime).toBe("'-1s'");
    expect(stmts[0]?.upsert).toBeUndefined();
    expect(stmts[1]?.upsert).toBe(true);
    expect(stmts[1]?.asOfSystemTime).toBeUndefined();
  });

  test('a syntax error after UPSERT points into the original text', () => {
    const sql = 'SELECT 1; UPSERT INTO t VALUES (1) WHER';
    expect(syntaxError(sql).position).toBe(sql.indexOf('WHER') + 1);
  });

  test('UPSERT where the grammar does not take it is 42601 at the word', () => {
    const sql = 'SELECT 1; EXPLAIN upsert INTO t VALUES (1)';
    const err = syntaxError(sql);
    expect(err.message).toBe('syntax error at or near "upsert"');
    expect(err.position).toBe(sql.indexOf('upsert') + 1);
  });

  test('UPSERT inside another statement is 42601 at the word', () => {
    const sql = 'CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; UpSert INTO t VALUES (1); END';
    const err = syntaxError(sql);
    expect(err.message).toBe('syntax error at or near "UpSert"');
    expect(err.position).toBe(sql.indexOf('UpSert') + 1);
  });

  test('UPSERT has no ON CONFLICT clause', () => {
    const sql = 'UPSERT INTO t VALUES (1) on CONFLICT DO NOTHING';
    const err = syntaxError(sql);
    expect(err.message).toBe('syntax error at or near "on"');
    expect(err.position).toBe(sql.indexOf('on') + 1);
  });

  test('UPSERT without INTO is a syntax error', () => {
    expect(syntaxError('UPSERT t VALUES (1)').position).toBe('UPSERT '.length + 1);
  });
});

describe('SHOW TRACE FOR SESSION', () => {
  test.each([
    ['SHOW TRACE FOR SESSION', [0]],
    ['show   trace\nfor session;', [0]],
    ["SELECT 'show trace for session'; SHOW TRACE FOR SESSION", [33]],
    ['-- SHOW TRACE FOR SESSION\nSELECT 1', []],
    ['SELECT 1 AS show_trace_for_session', []],
    ['SHOW TRACE FOR SESSIONS', []],
  ])('%j', (sql, offsets) => {
    const { text, offsets: found } = rewriteShowTrace(sql);
    expect(found).toEqual(offsets);
    expect(text.length).toBe(sql.length);
  });

  test('parses as a statement of its own, marked', () => {
    const statements = parseStatements('SELECT 1; SHOW TRACE FOR SESSION');
    expect(statements.map((s) => [s.sql, s.showTrace === true])).toEqual([
      ['SELECT 1', false],
      ['SHOW TRACE FOR SESSION', true],
    ]);
  });

  test('anything after it is a syntax error, as CockroachDB has no other form here', () => {
    expect(() => parseStatements('SHOW TRACE FOR SESSION now')).toThrow(SqlError);
  });
});
