import { statementFingerprint } from './fingerprint';

describe('statement fingerprints carry no values', () => {
  test.each([
    ['UPDATE t SET v = v + 7919', 'UPDATE t SET v = v + $1'],
    ['UPDATE t SET v = v + 7 WHERE k = $1', 'UPDATE t SET v = v + $2 WHERE k = $1'],
    ["SELECT * FROM users WHERE name = 'O''Brien' AND age > 42.5", 'SELECT * FROM users WHERE name = $1 AND age > $2'],
    ["INSERT INTO t VALUES (1, 'a'), (2, 'b')", 'INSERT INTO t VALUES ($1, $2), ($3, $4)'],
    ['SELECT t1.c2 FROM t1, "Table 9" WHERE x2 = 10', 'SELECT t1.c2 FROM t1, "Table 9" WHERE x2 = $1'],
    ["SELECT E'it\\'s', X'1F', B'101', N'n', U&'d\\0061t'", 'SELECT $1, $2, $3, $4, $5'],
    ['SELECT $$secret$$, $tag$more $$ secret$tag$', 'SELECT $1, $2'],
    ['SELECT 1e-3, .5, 0x1F, 1_000, -4', 'SELECT $1, $2, $3, $4, -$5'],
    ['SELECT a -- the 42 comment\n FROM /* 7 /* nested 8 */ */ t', 'SELECT a FROM t'],
    ["SELECT interval '1 day', DATE '2024-01-01'", 'SELECT interval $1, DATE $2'],
    ['SELECT  a,\n\tb   FROM t  ', 'SELECT a, b FROM t'],
    ['SELECT $2, $10, 5', 'SELECT $2, $10, $11'],
    ['SELECT true, NULL', 'SELECT true, NULL'],
  ])('%j', (sql, expected) => {
    expect(statementFingerprint(sql)).toBe(expected);
  });
});
