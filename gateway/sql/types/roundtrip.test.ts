import fc from 'fast-check';
import { encodeKey } from '../../../common/encoding/key-encoding';
import { ALL_TEST_TYPES, datumArbitrary, nullableDatumArbitrary } from './arbitraries';
import { decodeBinary, encodeBinary } from './binary-format';
import { compareDatums, compareNullable, datumKey } from './compare';
import type { Datum, SqlType } from './datum';
import { fromKeyDatum, isKeyEncodable, keyDatumPreservesValue, toKeyDatum } from './key-datum';
import { Numeric } from './numeric';
import { formatText, parseText } from './text-format';
import { typeName } from './type-names';
import { decodeRowValue, encodeRowValue } from './value-codec';

/**
 * Properties every type must have, for every datum fast-check can think of: the text,
 * binary, row-value and key encodings give the value back, and keys sort like
 * compareDatums.
 */

/** Identity stricter than SQL equality: same display scale, same -0, same padding. */
function expectSame(type: SqlType, actual: Datum, expected: Datum): void {
  if (expected instanceof Numeric) {
    expect(actual).toBeInstanceOf(Numeric);
    expect((actual as Numeric).toString()).toBe(expected.toString());
    return;
  }
  if (typeof expected === 'number') {
    expect(Object.is(actual, expected) || (Number.isNaN(actual) && Number.isNaN(expected))).toBe(true);
    return;
  }
  if (type.kind === 'scalar' && type.name === 'jsonb') {
    expect(compareDatums(type, actual, expected)).toBe(0);
    return;
  }
  if (Array.isArray(expected)) {
    expect(Array.isArray(actual)).toBe(true);
    const element = type.kind === 'array' ? type.element : type;
    const a = actual as readonly Datum[];
    expect(a.length).toBe(expected.length);
    expected.forEach((e: Datum, i: number) => {
      if (e === null || a[i] === null) {
        expect(a[i]).toBe(e);
      } else {
        expectSame(Array.isArray(e) ? type : element, a[i]!, e);
      }
    });
    return;
  }
  expect(actual).toEqual(expected);
}

const runs = { numRuns: Number(process.env.TYPES_RUNS ?? 150) };

describe.each(ALL_TEST_TYPES.map((t) => [typeName(t), t] as const))('%s', (_name, type) => {
  test('text: parseText(formatText(d)) = d', () => {
    fc.assert(
      fc.property(datumArbitrary(type), (d) => {
        expectSame(type, parseText(type, formatText(type, d)), d);
      }),
      runs,
    );
  });

  test('binary: decodeBinary(encodeBinary(d)) = d', () => {
    fc.assert(
      fc.property(datumArbitrary(type), (d) => {
        expectSame(type, decodeBinary(type, encodeBinary(type, d)), d);
      }),
      runs,
    );
  });

  test('row value: decodeRowValue(encodeRowValue(row)) = row', () => {
    fc.assert(
      fc.property(nullableDatumArbitrary(type), nullableDatumArbitrary(type), (a, b) => {
        const columns = [
          { id: 3, type },
          { id: 200, type },
        ];
        const decoded = decodeRowValue(
          encodeRowValue(columns, [a, b]),
          new Map([
            [3, type],
            [200, type],
          ]),
        );
        for (const [id, v] of [
          [3, a],
          [200, b],
        ] as const) {
          if (v === null) {
            expect(decoded.has(id)).toBe(false);
          } else {
            expectSame(type, decoded.get(id)!, v);
          }
        }
      }),
      runs,
    );
  });

  test('compareDatums is a total order consistent with datumKey', () => {
    fc.assert(
      fc.property(datumArbitrary(type), datumArbitrary(type), datumArbitrary(type), (a, b, c) => {
        const ab = Math.sign(compareDatums(type, a, b));
        expect(Math.sign(compareDatums(type, b, a))).toBe(-ab || 0);
        expect(compareDatums(type, a, a)).toBe(0);
        if (ab <= 0 && compareDatums(type, b, c) <= 0) {
          expect(compareDatums(type, a, c)).toBeLessThanOrEqual(0);
        }
        expect(datumKey(type, a) === datumKey(type, b) || (Number.isNaN(datumKey(type, a)) && Number.isNaN(datumKey(type, b)))).toBe(ab === 0);
        expect(compareNullable(type, null, a)).toBe(1);
      }),
      runs,
    );
  });

  if (isKeyEncodable(type)) {
    test('key datum: byte order = SQL order, and decoding gives the value back', () => {
      fc.assert(
        fc.property(datumArbitrary(type), datumArbitrary(type), (a, b) => {
          const ka = encodeKey([toKeyDatum(type, a)]);
          const kb = encodeKey([toKeyDatum(type, b)]);
          expect(Math.sign(Buffer.compare(ka, kb))).toBe(Math.sign(compareDatums(type, a, b)));
          const back = fromKeyDatum(type, toKeyDatum(type, a));
          expect(compareDatums(type, back, a)).toBe(0);
          if (keyDatumPreservesValue(type)) {
            expectSame(type, back, a);
          }
        }),
        runs,
      );
    });
  }
});
