import fc from 'fast-check';
import { FIRST_USER_DESCRIPTOR_ID } from '../catalog/descriptors';
import {
  attrdefOid,
  checkConstraintOid,
  decodeConstraintOid,
  decodeIndexOid,
  foreignKeyConstraintOid,
  indexOid,
  MAX_TABLE_ID_FOR_OIDS,
  roleOid,
  virtualRelationOid,
} from './oids';
import { RELATIONS } from './relations';

/** The OID scheme of oids.ts: unique within each catalog, inside uint32, reversible. */

const tableId = fc.integer({ min: FIRST_USER_DESCRIPTOR_ID, max: MAX_TABLE_ID_FOR_OIDS });

describe('OID scheme', () => {
  test('index OIDs never equal a descriptor ID or a virtual relation OID, and stay in uint32', () => {
    fc.assert(
      fc.property(tableId, fc.integer({ min: 1, max: 1023 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (t, i, descriptorId) => {
        const oid = indexOid(t, i);
        expect(oid).not.toBe(descriptorId);
        expect(oid).toBeGreaterThanOrEqual(2 ** 31);
        expect(oid).toBeLessThan(2 ** 32);
        expect(decodeIndexOid(oid)).toEqual({ tableId: t, indexId: i });
      }),
    );
    const virtualOids = new Set(RELATIONS.map((r) => r.oid));
    expect(virtualOids.size).toBe(RELATIONS.length);
    expect(indexOid(FIRST_USER_DESCRIPTOR_ID, 1)).toBeGreaterThan(Math.max(...virtualOids));
    expect(decodeIndexOid(virtualRelationOid(1))).toBeUndefined();
  });

  test('distinct (table, index) pairs get distinct OIDs', () => {
    fc.assert(
      fc.property(tableId, fc.integer({ min: 1, max: 1023 }), tableId, fc.integer({ min: 1, max: 1023 }), (t1, i1, t2, i2) => {
        fc.pre(t1 !== t2 || i1 !== i2);
        expect(indexOid(t1, i1)).not.toBe(indexOid(t2, i2));
      }),
    );
  });

  test('constraint OIDs decode to what made them and do not collide across kinds', () => {
    fc.assert(
      fc.property(tableId, fc.integer({ min: 0, max: 511 }), (t, k) => {
        expect(decodeConstraintOid(checkConstraintOid(t, k))).toEqual({ kind: 'check', tableId: t, ordinal: k });
        expect(decodeConstraintOid(foreignKeyConstraintOid(t, k))).toEqual({ kind: 'foreignKey', tableId: t, ordinal: k });
        expect(decodeConstraintOid(indexOid(t, k + 1))).toEqual({ kind: 'index', tableId: t, indexId: k + 1 });
        expect(checkConstraintOid(t, k)).not.toBe(foreignKeyConstraintOid(t, k));
      }),
    );
    expect(attrdefOid(100, 3)).toBe(100 * 1024 + 3);
  });

  test('past the scheme limits a query fails with 54000 instead of reusing OIDs', () => {
    expect(() => indexOid(MAX_TABLE_ID_FOR_OIDS + 1, 1)).toThrow(expect.objectContaining({ sqlState: '54000' }));
    expect(() => indexOid(100, 1024)).toThrow(expect.objectContaining({ sqlState: '54000' }));
    expect(() => checkConstraintOid(100, 512)).toThrow(expect.objectContaining({ sqlState: '54000' }));
  });

  test('roles: root is 10, others are stable and in the upper half', () => {
    expect(roleOid('root')).toBe(10);
    expect(roleOid('alice')).toBe(roleOid('alice'));
    expect(roleOid('alice')).not.toBe(roleOid('bob'));
    expect(roleOid('alice')).toBeGreaterThanOrEqual(2 ** 31);
    expect(roleOid('alice')).toBeLessThan(2 ** 32);
  });
});
