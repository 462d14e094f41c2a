import { loadParser } from '../parser';
import { regtypeOid, resolveCatalogFunction, sizePretty } from './catalog-functions';

beforeAll(() => loadParser());

describe('pg_size_pretty', () => {
  // PostgreSQL 15's outputs for the same arguments.
  test.each([
    [0n, '0 bytes'],
    [10239n, '10239 bytes'],
    [10240n, '10 kB'],
    [123456789n, '118 MB'],
    [-10240n, '-10 kB'],
    [10n ** 16n, '9095 TB'],
  ])('%s → %s', (bytes, text) => {
    expect(sizePretty(bytes)).toBe(text);
  });
});

describe('catalog functions', () => {
  test('the ones reading the catalog say so; the others do not', () => {
    expect(resolveCatalogFunction('pg_get_indexdef', 3)?.needsCatalog).toBe(true);
    expect(resolveCatalogFunction('pg_get_constraintdef', 2)?.needsCatalog).toBe(true);
    expect(resolveCatalogFunction('pg_get_expr', 2)?.needsCatalog).toBe(false);
    expect(resolveCatalogFunction('pg_get_indexdef', 2)).toBeUndefined();
    expect(resolveCatalogFunction('lower', 1)).toBeUndefined();
  });

  test('regtype input reads SQL and catalog type names', () => {
    expect(regtypeOid('int4')).toBe(23);
    expect(regtypeOid('integer')).toBe(23);
    expect(regtypeOid('character varying')).toBe(1043);
    expect(regtypeOid('pg_catalog.text[]')).toBe(1009);
    expect(regtypeOid('1007')).toBe(1007);
    expect(() => regtypeOid('no_such_type')).toThrow('type "no_such_type" does not exist');
  });
});
