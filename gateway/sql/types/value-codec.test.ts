import fc from 'fast-check';
import { MalformedEncodingError } from '../../../common/errors';
import { ALL_TEST_TYPES, nullableDatumArbitrary, sqlTypeArbitrary } from './arbitraries';
import { compareNullable } from './compare';
import type { Datum, SqlType } from './datum';
import { scalarType } from './datum';
import { Numeric } from './numeric';
import { parseText } from './text-format';
import { decodeRowValue, encodeRowValue, rowValueColumnIds } from './value-codec';

const int4 = scalarType('int4');
const text = scalarType('text');

const rowArbitrary = fc
  .uniqueArray(fc.integer({ min: 0, max: 5000 }), { minLength: 0, maxLength: 8 })
  .chain((ids) =>
    fc.tuple(
      fc.constant(ids),
      fc.array(sqlTypeArbitrary, { minLength: ids.length, maxLength: ids.length }),
    ),
  )
  .chain(([ids, types]) =>
    fc.tuple(
      fc.constant(ids.map((id, i) => ({ id, type: types[i]! }))),
      fc.tuple(...types.map((t) => nullableDatumArbitrary(t))) as fc.Arbitrary<Datum[]>,
    ),
  );

describe('row value codec', () => {
  test('layout: version, ID deltas, tags; NULLs take no space', () => {
    const buf = encodeRowValue(
      [
        { id: 2, type: int4 },
        { id: 5, type: text },
        { id: 9, type: int4 },
      ],
      [-1n, 'hi', null],
    );
    // 01 | id 2, int tag 03, zigzag(-1)=1 | delta 3, bytes tag 0a, len 2, "hi"
    expect(buf.toString('hex')).toBe('01' + '020301' + '030a026869');
    expect(encodeRowValue([], []).toString('hex')).toBe('01');
  });

  test('columns in any order are written in ID order', () => {
    const a = encodeRowValue(
      [
        { id: 9, type: int4 },
        { id: 2, type: int4 },
      ],
      [9n, 2n],
    );
    expect(rowValueColumnIds(a)).toEqual([2, 9]);
    expect(() => encodeRowValue([{ id: 1, type: int4 }, { id: 1, type: int4 }], [1n, 2n])).toThrow('duplicate');
  });

  test('random rows round-trip', () => {
    fc.assert(
      fc.property(rowArbitrary, ([columns, values]) => {
        const decoded = decodeRowValue(encodeRowValue(columns, values), new Map(columns.map((c) => [c.id, c.type])));
        columns.forEach((c, i) => {
          const v = values[i]!;
          expect(compareNullable(c.type, decoded.get(c.id) ?? null, v)).toBe(0);
        });
        expect(decoded.size).toBe(values.filter((v) => v !== null).length);
      }),
      { numRuns: 300 },
    );
  });

  test('dropped columns are skipped, added columns read as absent (NULL)', () => {
    fc.assert(
      fc.property(rowArbitrary, fc.integer({ min: 0, max: 7 }), ([columns, values], drop) => {
        const buf = encodeRowValue(columns, values);
        const kept = columns.filter((_, i) => i !== drop);
        const schema = new Map<number, SqlType>(kept.map((c) => [c.id, c.type]));
        schema.set(6000, text); // a column added after the row was written
        const decoded = decodeRowValue(buf, schema);
        expect(decoded.has(6000)).toBe(false);
        if (drop < columns.length) {
          expect(decoded.has(columns[drop]!.id)).toBe(false);
        }
        kept.forEach((c) => {
          const v = values[columns.indexOf(c)]!;
          expect(compareNullable(c.type, decoded.get(c.id) ?? null, v)).toBe(0);
        });
      }),
      { numRuns: 200 },
    );
  });

  test('display scale, -0 and padding survive (the value is exact)', () => {
    const numeric = scalarType('numeric');
    const float8 = scalarType('float8');
    const char4 = scalarType('bpchar', 4);
    const buf = encodeRowValue(
      [
        { id: 1, type: numeric },
        { id: 2, type: float8 },
        { id: 3, type: char4 },
      ],
      [Numeric.parse('1.500'), -0, 'a   '],
    );
    const d = decodeRowValue(
      buf,
      new Map<number, SqlType>([
        [1, numeric],
        [2, float8],
        [3, char4],
      ]),
    );
    expect((d.get(1) as Numeric).toString()).toBe('1.500');
    expect(Object.is(d.get(2), -0)).toBe(true);
    expect(d.get(3)).toBe('a   ');
  });

  test('compact: small ints and short strings take a few bytes', () => {
    const buf = encodeRowValue(
      [
        { id: 1, type: int4 },
        { id: 2, type: scalarType('int8') },
        { id: 3, type: scalarType('timestamptz') },
        { id: 4, type: scalarType('bool') },
      ],
      [42n, 1000n, parseText(scalarType('timestamptz'), '2024-01-31 12:00:00+00'), true],
    );
    expect(buf.length).toBeLessThanOrEqual(1 + 3 + 4 + 11 + 2);
  });

  test('a wrong tag for the declared type is MalformedEncodingError', () => {
    const buf = encodeRowValue([{ id: 1, type: text }], ['x']);
    expect(() => decodeRowValue(buf, new Map([[1, int4]]))).toThrow(MalformedEncodingError);
  });

  test('every truncation and random corruption fails cleanly (MalformedEncodingError only)', () => {
    const schemaOf = (columns: readonly { id: number; type: SqlType }[]): Map<number, SqlType> =>
      new Map(columns.map((c) => [c.id, c.type]));
    fc.assert(
      fc.property(rowArbitrary, fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 255 }), ([columns, values], at, byte) => {
        const buf = encodeRowValue(columns, values);
        const schema = schemaOf(columns);
        for (let cut = 0; cut < buf.length; cut++) {
          try {
            decodeRowValue(buf.subarray(0, cut), schema);
          } catch (e) {
            expect(e).toBeInstanceOf(MalformedEncodingError);
          }
        }
        const corrupt = Buffer.from(buf);
        corrupt[at % corrupt.length] = byte;
        try {
          decodeRowValue(corrupt, schema);
        } catch (e) {
          expect(e).toBeInstanceOf(MalformedEncodingError);
        }
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const schema = new Map<number, SqlType>(ALL_TEST_TYPES.map((t, i) => [i, t]));
        try {
          decodeRowValue(Buffer.concat([Buffer.from([1]), bytes]), schema);
        } catch (e) {
          expect(e).toBeInstanceOf(MalformedEncodingError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('bad version and empty buffers', () => {
    expect(() => decodeRowValue(Buffer.alloc(0), new Map())).toThrow(MalformedEncodingError);
    expect(() => decodeRowValue(Buffer.from([2]), new Map())).toThrow('unknown version 2');
  });
});
