import fc from 'fast-check';
import {
  DATE_MAX_DAYS,
  DATE_MIN_DAYS,
  TIMESTAMP_END_MICROS,
  TIMESTAMP_INFINITY,
  TIMESTAMP_MIN_MICROS,
  TIMESTAMP_NEG_INFINITY,
} from './civil-date';
import { roundTimestampToPrecision } from './datetime';
import type { Datum, JsonValue, ScalarTypeName, SqlType } from './datum';
import { scalarType } from './datum';
import { Numeric, numericTypmodPrecision, numericTypmodScale } from './numeric';
import { applyCharLength, truncateName } from './text-format';
import { arrayOf } from './type-names';
import { uuidFromBytes } from './uuid';

/**
 * Test support: fast-check arbitraries of valid datums for every SqlType (for property
 * tests of encodings, comparison and casts elsewhere). Not used in production code.
 */

/** Strings of any code points except NUL (which SQL text cannot hold). */
export const sqlTextArbitrary = (maxLength = 20): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ unit: 'grapheme-ascii', maxLength }),
    fc.string({ unit: 'binary', maxLength }),
  ).map((s) => s.split('\u0000').join(' '));

const int64 = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });

function numericArbitrary(typmod: number): fc.Arbitrary<Numeric> {
  if (typmod >= 0) {
    const p = numericTypmodPrecision(typmod);
    const s = numericTypmodScale(typmod);
    const limit = 10n ** BigInt(Math.min(p, 40)) - 1n;
    return fc.oneof(
      { weight: 9, arbitrary: fc.bigInt({ min: -limit, max: limit }).map((c) => Numeric.of(c, Math.max(s, 0))) },
      { weight: 1, arbitrary: fc.constant(Numeric.NAN) },
    );
  }
  return fc.oneof(
    {
      weight: 10,
      arbitrary: fc
        .record({ c: fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }), s: fc.integer({ min: 0, max: 30 }) })
        .map(({ c, s }) => Numeric.of(c, s)),
    },
    { weight: 1, arbitrary: fc.constantFrom(Numeric.NAN, Numeric.POSITIVE_INFINITY, Numeric.NEGATIVE_INFINITY) },
  );
}

function timestampArbitrary(typmod: number): fc.Arbitrary<bigint> {
  return fc.oneof(
    {
      weight: 10,
      arbitrary: fc
        .oneof(
          fc.bigInt({ min: TIMESTAMP_MIN_MICROS, max: TIMESTAMP_END_MICROS - 10_000_000n }),
          // Mostly recent times, where people look.
          fc.bigInt({ min: -2_208_988_800_000_000n, max: 4_102_444_800_000_000n }),
        )
        .map((v) => roundTimestampToPrecision(v, typmod)),
    },
    { weight: 1, arbitrary: fc.constantFrom(TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY) },
  );
}

/** JSON values jsonb can hold: finite numbers, strings without NUL. */
export const jsonValueArbitrary: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => (d === 0 ? 0 : d)),
    fc.integer(),
    sqlTextArbitrary(8),
    fc.array(tie('value'), { maxLength: 4 }),
    fc
      .array(fc.tuple(sqlTextArbitrary(6), tie('value')), { maxLength: 4 })
      .map((entries) => {
        const obj: Record<string, JsonValue> = Object.create(null) as Record<string, JsonValue>;
        for (const [k, v] of entries) {
          obj[k] = v;
        }
        return obj;
      }),
  ),
})).value;

function scalarArbitrary(name: ScalarTypeName, typmod: number): fc.Arbitrary<Datum> {
  switch (name) {
    case 'bool':
      return fc.boolean();
    case 'int2':
      return fc.bigInt({ min: -32768n, max: 32767n });
    case 'int4':
      return fc.bigInt({ min: -2147483648n, max: 2147483647n });
    case 'int8':
      return fc.oneof(int64, fc.bigInt({ min: -1000n, max: 1000n }));
    case 'oid':
      return fc.bigInt({ min: 0n, max: 4294967295n });
    case 'float4':
      return fc.float();
    case 'float8':
      return fc.double();
    case 'numeric':
      return numericArbitrary(typmod);
    case 'text':
    case 'unknown':
      return sqlTextArbitrary();
    case 'varchar':
      return sqlTextArbitrary(typmod > 0 ? Math.min(typmod, 30) : 20);
    case 'bpchar':
      return sqlTextArbitrary(typmod > 0 ? Math.min(typmod, 30) : 20).map((s) =>
        typmod > 0 ? applyCharLength('bpchar', typmod, s, true) : s,
      );
    case 'name':
      return sqlTextArbitrary(40).map(truncateName);
    case 'bytea':
      return fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b));
    case 'date':
      return fc.oneof(
        { weight: 10, arbitrary: fc.integer({ min: DATE_MIN_DAYS, max: DATE_MAX_DAYS }) },
        { weight: 10, arbitrary: fc.integer({ min: -30000, max: 60000 }) },
        { weight: 1, arbitrary: fc.constantFrom(Infinity, -Infinity) },
      );
    case 'timestamp':
    case 'timestamptz':
      return timestampArbitrary(typmod);
    case 'interval':
      return fc.record({
        months: fc.integer({ min: -2147483648, max: 2147483647 }),
        days: fc.integer({ min: -2147483648, max: 2147483647 }),
        micros: int64,
      });
    case 'uuid':
      return fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => uuidFromBytes(b));
    case 'jsonb':
      return jsonValueArbitrary.map((json) => ({ json }));
  }
}

/** Non-null datums of a type (arrays: up to 5 nullable elements, sometimes 2-D). */
export function datumArbitrary(type: SqlType): fc.Arbitrary<Datum> {
  if (type.kind === 'scalar') {
    return scalarArbitrary(type.name, type.typmod);
  }
  const element = nullableDatumArbitrary(type.element);
  return fc.oneof(
    { weight: 4, arbitrary: fc.array(element, { maxLength: 5 }) },
    {
      weight: 1,
      arbitrary: fc
        .record({ rows: fc.integer({ min: 1, max: 3 }), cols: fc.integer({ min: 1, max: 3 }) })
        .chain(({ rows, cols }) =>
          fc.array(fc.array(element, { minLength: cols, maxLength: cols }), { minLength: rows, maxLength: rows }),
        ),
    },
  );
}

/** Datums of a type or NULL. */
export function nullableDatumArbitrary(type: SqlType): fc.Arbitrary<Datum> {
  return fc.option(datumArbitrary(type), { nil: null, freq: 6 });
}

/** Every scalar type, with and without typmods, and the common array types. */
export const ALL_TEST_TYPES: readonly SqlType[] = [
  scalarType('bool'),
  scalarType('int2'),
  scalarType('int4'),
  scalarType('int8'),
  scalarType('oid'),
  scalarType('float4'),
  scalarType('float8'),
  scalarType('numeric'),
  scalarType('numeric', (10 << 16) | 2),
  scalarType('text'),
  scalarType('varchar'),
  scalarType('varchar', 5),
  scalarType('bpchar', 4),
  scalarType('name'),
  scalarType('bytea'),
  scalarType('date'),
  scalarType('timestamp'),
  scalarType('timestamp', 3),
  scalarType('timestamptz'),
  scalarType('interval'),
  scalarType('uuid'),
  scalarType('jsonb'),
  arrayOf(scalarType('int4')),
  arrayOf(scalarType('text')),
  arrayOf(scalarType('oid')),
  arrayOf(scalarType('numeric')),
  arrayOf(scalarType('float8')),
  arrayOf(scalarType('bool')),
  arrayOf(scalarType('timestamptz')),
];

/** A type drawn from ALL_TEST_TYPES. */
export const sqlTypeArbitrary: fc.Arbitrary<SqlType> = fc.constantFrom(...ALL_TEST_TYPES);
