import { loadParser } from '../parser';
import { formatType, pgEncodingToChar } from './catalog-functions';
import { indexOid, roleOid } from './oids';
import { pgGetUserbyid, pgTableIsVisible } from './regclass';
import { virtualRelation } from './relations';
import type { Fixture } from './test-support';
import { buildFixture, IDS } from './test-support';

/** format_type and friends against PostgreSQL 15's answers for the same arguments. */

let fixture: Fixture;

beforeAll(async () => {
  await loadParser();
  fixture = await buildFixture();
});

describe('formatType', () => {
  test.each<[number, number | null, string]>([
    [23, -1, 'integer'],
    [1043, 14, 'character varying(10)'],
    [1700, 655366, 'numeric(10,2)'],
    [1700, -1, 'numeric'],
    [1009, -1, 'text[]'],
    [1015, 14, 'character varying(10)[]'],
    [18, -1, '"char"'],
    [114, -1, 'json'],
    [1114, 3, 'timestamp(3) without time zone'],
    [1184, null, 'timestamp with time zone'],
    [1042, 5, 'character(1)'],
    [1042, -1, 'bpchar'],
    [1042, null, 'character'],
    [24, null, 'regproc'],
    [9999, -1, '???'],
  ])('format_type(%i, %p) = %s', (oid, typmod, expected) => {
    expect(formatType(oid, typmod)).toBe(expected);
  });

  test('pg_encoding_to_char', () => {
    expect(pgEncodingToChar(6)).toBe('UTF8');
    expect(pgEncodingToChar(0)).toBe('');
  });
});

describe('pg_get_userbyid and pg_table_is_visible', () => {
  test('role names by OID', async () => {
    expect(await pgGetUserbyid(fixture.source, 10)).toBe('root');
    expect(await pgGetUserbyid(fixture.source, roleOid('alice'))).toBe('alice');
    expect(await pgGetUserbyid(fixture.source, 12345)).toBe('unknown (OID=12345)');
  });

  test('public relations and pg_catalog are on the search path; information_schema and other databases are not', async () => {
    const src = fixture.source;
    expect(await pgTableIsVisible(src, IDS.orders)).toBe(true);
    expect(await pgTableIsVisible(src, indexOid(IDS.orders, 1))).toBe(true);
    expect(await pgTableIsVisible(src, IDS.itemsSeq)).toBe(true);
    expect(await pgTableIsVisible(src, virtualRelation('pg_catalog', 'pg_class')?.oid ?? 0)).toBe(true);
    expect(await pgTableIsVisible(src, virtualRelation('information_schema', 'tables')?.oid ?? 0)).toBe(false);
    expect(await pgTableIsVisible(src, IDS.secret)).toBe(false);
    expect(await pgTableIsVisible(src, 999_999)).toBe(false);
  });
});
