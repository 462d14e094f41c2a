import { loadParser } from '../parser';
import { numericTypmod } from '../types/numeric';
import type { SqlType } from '../types/datum';
import { scalarType } from '../types/datum';
import { defaultText, exprText } from './expr-text';
import { quoteIdent, quoteLiteral } from './quote';
import { expr } from './test-support';

/**
 * Expression text against what PostgreSQL 15 prints for the same source (captured with
 * pg_get_constraintdef(oid, true) / pg_get_expr(adbin, adrelid, true)). Where PostgreSQL
 * shows an implicit cast its type analysis added (`'x'::text`), Cairn, which keeps the
 * raw expression, does not; those cases say so.
 */

beforeAll(async () => {
  await loadParser();
});

const pretty = (sql: string): string => exprText(expr(sql), { pretty: true });
const plain = (sql: string): string => exprText(expr(sql), { pretty: false });

describe('exprText (pretty, as psql shows CHECKs)', () => {
  test.each([
    ['(a > 0 OR c > 0) AND b IS NOT NULL', '(a > 0 OR c > 0) AND b IS NOT NULL'],
    ['a IN (1,2,3)', 'a = ANY (ARRAY[1, 2, 3])'],
    ['a NOT IN (5,6)', 'a <> ALL (ARRAY[5, 6])'],
    ['a BETWEEN 1 AND 10', 'a >= 1 AND a <= 10'],
    ['NOT f', 'NOT f'],
    ['length(b) < 5', 'length(b) < 5'],
    ['a + 1 * 2 > -a', '(a + 1 * 2) > (- a)'],
    ['a - (1 - 2) > 0', '(a - (1 - 2)) > 0'],
    ['(1+2)*3', '(1 + 2) * 3'],
    ['a + b + c', 'a + b + c'],
    ['coalesce(a,0) >= 0', 'COALESCE(a, 0) >= 0'],
    ['a = ANY (ARRAY[1,2])', 'a = ANY (ARRAY[1, 2])'],
    ['a IS NULL', 'a IS NULL'],
    ['s > -1', "s > '-1'::integer"],
    ['x > 5000000000', "x > '5000000000'::bigint"],
    ['x > 1.5', 'x > 1.5'],
    ['x >= 0', 'x >= 0'],
    ['a::text <> b::text', 'a::text <> b::text'],
    ['"Weird" <> \'\'', '"Weird" <> \'\''],
    ['CASE WHEN a > 1 THEN true ELSE false END', 'CASE WHEN a > 1 THEN true ELSE false END'],
    ['a IS DISTINCT FROM b', 'a IS DISTINCT FROM b'],
    ['(a + 1) IS NULL', '(a + 1) IS NULL'],
    ['x = current_timestamp', 'x = CURRENT_TIMESTAMP'],
    ['a = 1 AND b = 2 AND c = 3', 'a = 1 AND b = 2 AND c = 3'],
    ['a = 1 OR (b = 2 AND c = 3)', 'a = 1 OR (b = 2 AND c = 3)'],
    ['NOT (a = 1 OR b = 2)', 'NOT (a = 1 OR b = 2)'],
  ])('%s → %s', (sql, expected) => {
    expect(pretty(sql)).toBe(expected);
  });

  test('string constants carry no cast: PostgreSQL would add the ::text its analysis inferred', () => {
    expect(pretty("b LIKE 'a%'")).toBe("b ~~ 'a%'"); // PostgreSQL: b ~~ 'a%'::text
    expect(pretty("b NOT LIKE 'z%'")).toBe("b !~~ 'z%'"); // PostgreSQL: b !~~ 'z%'::text
  });

  test('nodes the printer does not know fall back to the text as written', () => {
    expect(pretty('a = (SELECT 1)')).toBe('a = (SELECT 1)');
  });
});

describe('exprText (not pretty, as pg_get_constraintdef(oid) without pretty)', () => {
  test.each([
    ['c > 0', '(c > 0)'],
    ["s > -1 AND s::text <> 'x'", "((s > '-1'::integer) AND ((s)::text <> 'x'))"],
    ['a IS NOT NULL', '(a IS NOT NULL)'],
  ])('%s → %s', (sql, expected) => {
    expect(plain(sql)).toBe(expected);
  });
});

describe('defaultText (pg_get_expr of pg_attrdef.adbin)', () => {
  const t = (name: Parameters<typeof scalarType>[0], typmod = -1): SqlType => scalarType(name, typmod);
  test.each<[string, SqlType, string]>([
    ["'q'", t('varchar', 5), "'q'::character varying"],
    ["'x'", t('text'), "'x'::text"],
    ['now()', t('timestamptz'), 'now()'],
    ['true', t('bool'), 'true'],
    ["'true'", t('bool'), 'true'],
    ['-1', t('int4'), "'-1'::integer"],
    ['-1', t('int8'), "'-1'::bigint"],
    ['-2.5', t('numeric', numericTypmod(5, 2)), "'-2.5'::numeric"],
    ['1.5', t('float8'), '1.5'],
    ['1', t('int8'), '1'],
    ['(1+2)*3', t('int4'), '(1 + 2) * 3'],
    ["'2020-01-01'", t('date'), "'2020-01-01'::date"],
    ['2147483648', t('int4'), "'2147483648'::bigint"],
    ['CURRENT_TIMESTAMP', t('timestamptz'), 'CURRENT_TIMESTAMP'],
    ['abs(-3)', t('int4'), "abs('-3'::integer)"],
    ["'{}'", t('jsonb'), "'{}'::jsonb"],
    ["'it''s'", t('text'), "'it''s'::text"],
  ])('%s for %j → %s', (sql, type, expected) => {
    expect(defaultText(expr(sql), type)).toBe(expected);
  });
});

describe('quoting', () => {
  test('quoteIdent quotes what would not read back the same', () => {
    expect(quoteIdent('orders')).toBe('orders');
    expect(quoteIdent('order_2$')).toBe('order_2$');
    expect(quoteIdent('Orders')).toBe('"Orders"');
    expect(quoteIdent('my table')).toBe('"my table"');
    expect(quoteIdent('select')).toBe('"select"');
    expect(quoteIdent('user')).toBe('"user"');
    expect(quoteIdent('name')).toBe('name'); // unreserved keyword
    expect(quoteIdent('1abc')).toBe('"1abc"');
    expect(quoteIdent('a"b')).toBe('"a""b"');
  });

  test('quoteLiteral doubles quotes', () => {
    expect(quoteLiteral("it's")).toBe("'it''s'");
  });
});
