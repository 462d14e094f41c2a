import fc from 'fast-check';
import { InvalidArgumentError, MalformedEncodingError } from '../errors';
import { Decimal } from './decimal';
import {
  appendDatum,
  appendEscapedBytes,
  compareDatums,
  decodeDatum,
  decodeEscapedBytes,
  decodeKey,
  encodeKey,
  KEY_TAGS,
  KeyWriter,
} from './key-encoding';
import type { Direction, KeyDatum, KeyDatumType } from './key-encoding';

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

const DIRECTIONS: readonly Direction[] = ['asc', 'desc'];
const NON_NULL_TYPES: readonly Exclude<KeyDatumType, 'null'>[] = [
  'bool',
  'int',
  'uint',
  'float',
  'decimal',
  'string',
  'bytes',
  'timestamp',
  'uuid',
];

// ---------------------------------------------------------------------------------------
// Arbitraries

const int64Arb = fc.oneof(
  fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
  fc.bigInt({ min: -300n, max: 300n }),
  fc.constantFrom(INT64_MIN, INT64_MIN + 1n, -1n, 0n, 1n, INT64_MAX - 1n, INT64_MAX, -(1n << 32n), 1n << 32n),
);
const uint64Arb = fc.oneof(
  fc.bigInt({ min: 0n, max: UINT64_MAX }),
  fc.bigInt({ min: 0n, max: 300n }),
  fc.constantFrom(0n, 1n, (1n << 63n) - 1n, 1n << 63n, UINT64_MAX - 1n, UINT64_MAX, 0xffff_ffffn, 1n << 32n),
);
const floatArb = fc.oneof(
  fc.double(),
  fc.integer({ min: -20, max: 20 }).map((x) => x / 4),
  fc.constantFrom(
    0,
    -0,
    NaN,
    Infinity,
    -Infinity,
    Number.MIN_VALUE,
    -Number.MIN_VALUE,
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
    Number.EPSILON,
    2.2250738585072014e-308, // smallest normal
  ),
);
const digitChar = fc.oneof(fc.constantFrom('0', '1', '9'), fc.integer({ min: 0, max: 9 }).map(String));
const decimalArb: fc.Arbitrary<Decimal> = fc.oneof(
  {
    arbitrary: fc
      .record({
        sign: fc.constantFrom('', '-'),
        digits: fc.string({ unit: digitChar, minLength: 1, maxLength: 22 }),
        exponent: fc.oneof(fc.integer({ min: -12, max: 12 }), fc.integer({ min: -330, max: 330 })),
      })
      .map(({ sign, digits, exponent }) => Decimal.parse(`${sign}0.${digits}e${exponent}`)),
    weight: 10,
  },
  {
    arbitrary: fc.constantFrom(
      'NaN',
      'Infinity',
      '-Infinity',
      '0',
      '-0.001',
      '1e-300',
      '99.99',
      '100',
      '1e2147483646',
      '-1e2147483646',
      '1e-2147483648',
      '-1e-2147483648',
    ),
    weight: 2,
  },
).map((d) => (typeof d === 'string' ? Decimal.parse(d) : d));
const stringArb = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ unit: fc.constantFrom('\0', '\x01', 'a', 'b', '\u00ff', '\ufeff', '\uffff', '😀', '\u{10ffff}'), maxLength: 8 }),
);
const bytesArb = fc.oneof(
  fc.uint8Array({ maxLength: 24 }),
  fc.array(fc.constantFrom(0x00, 0x01, 0x02, 0xfe, 0xff), { maxLength: 10 }).map((a) => Uint8Array.from(a)),
);
const uuidArb = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
  fc.array(fc.constantFrom(0x00, 0xff), { minLength: 16, maxLength: 16 }).map((a) => Uint8Array.from(a)),
);

const datumArbs: { readonly [T in Exclude<KeyDatumType, 'null'>]: fc.Arbitrary<KeyDatum> } = {
  bool: fc.boolean().map((value) => ({ type: 'bool', value })),
  int: int64Arb.map((value) => ({ type: 'int', value })),
  uint: uint64Arb.map((value) => ({ type: 'uint', value })),
  float: floatArb.map((value) => ({ type: 'float', value })),
  decimal: decimalArb.map((value) => ({ type: 'decimal', value })),
  string: stringArb.map((value) => ({ type: 'string', value })),
  bytes: bytesArb.map((value) => ({ type: 'bytes', value })),
  timestamp: int64Arb.map((value) => ({ type: 'timestamp', value })),
  uuid: uuidArb.map((value) => ({ type: 'uuid', value })),
};

const NULL: KeyDatum = { type: 'null' };

/** A datum of `type` or NULL (a column of that type). */
function columnArb(type: Exclude<KeyDatumType, 'null'>): fc.Arbitrary<KeyDatum> {
  return fc.oneof({ arbitrary: fc.constant(NULL), weight: 1 }, { arbitrary: datumArbs[type], weight: 8 });
}

const typeArb = fc.constantFrom(...NON_NULL_TYPES);
const directionArb = fc.constantFrom<Direction>('asc', 'desc');
const anyDatumArb = typeArb.chain(columnArb);

/** Two values of one column, often related (equal, or one a prefix of the other). */
function pairArb(type: Exclude<KeyDatumType, 'null'>): fc.Arbitrary<[KeyDatum, KeyDatum]> {
  const col = columnArb(type);
  const related = datumArbs[type].chain((a): fc.Arbitrary<[KeyDatum, KeyDatum]> => {
    if (a.type === 'string') {
      return stringArb.map((s) => [a, { type: 'string', value: a.value + s }]);
    }
    if (a.type === 'bytes') {
      return bytesArb.map((s) => [a, { type: 'bytes', value: Buffer.concat([a.value, s]) }]);
    }
    return fc.constant([a, a]);
  });
  return fc.oneof(fc.tuple(col, col), related);
}

const schemaArb = fc.array(fc.tuple(typeArb, directionArb), { minLength: 1, maxLength: 5 });

/** A composite key: datums with their directions. */
const keyArb = schemaArb.chain((schema) =>
  fc.tuple(fc.tuple(...schema.map(([t]) => columnArb(t))), fc.constant(schema.map(([, d]) => d))),
);

// ---------------------------------------------------------------------------------------
// Helpers

function sqlEqual(a: KeyDatum, b: KeyDatum): boolean {
  return a.type === b.type && compareDatums(a, b) === 0;
}

/** A decoded datum is canonical: the same value in its one normal form. */
function expectDecodedEqual(decoded: KeyDatum, original: KeyDatum): void {
  expect(decoded.type).toBe(original.type);
  expect(sqlEqual(decoded, original)).toBe(true);
  if (decoded.type === 'float') {
    expect(Object.is(decoded.value, -0)).toBe(false);
  }
  if ((decoded.type === 'bytes' || decoded.type === 'uuid') && (original.type === 'bytes' || original.type === 'uuid')) {
    expect(Buffer.from(decoded.value).equals(Buffer.from(original.value))).toBe(true);
  }
  if (decoded.type === 'string' && original.type === 'string') {
    expect(decoded.value).toBe(original.value);
  }
}

function compareRows(a: readonly KeyDatum[], b: readonly KeyDatum[], directions: readonly Direction[]): number {
  for (let i = 0; i < a.length; i++) {
    const c = compareDatums(a[i]!, b[i]!);
    if (c !== 0) {
      return directions[i] === 'desc' ? -c : c;
    }
  }
  return 0;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** Decodes, expecting either success or MalformedEncodingError (anything else fails). */
function tryDecode(buf: Uint8Array, offset?: number, end?: number): ReturnType<typeof decodeKey> | MalformedEncodingError {
  try {
    return decodeKey(buf, offset, end);
  } catch (e) {
    if (e instanceof MalformedEncodingError) {
      return e;
    }
    throw e;
  }
}

// ---------------------------------------------------------------------------------------
// Tests

describe('tags', () => {
  it('are all >= 0x80 and distinct, so inverted tags never collide with ascending ones', () => {
    const tags = Object.values(KEY_TAGS);
    expect(new Set(tags).size).toBe(tags.length);
    for (const t of tags) {
      expect(t).toBeGreaterThan(0x80);
      expect(t).toBeLessThan(0xff);
    }
    expect(KEY_TAGS.null).toBe(0xfe);
  });
});

describe('golden encodings (the on-disk format must not change by accident)', () => {
  const D = (s: string): KeyDatum => ({ type: 'decimal', value: Decimal.parse(s) });
  it.each<[KeyDatum, string]>([
    [NULL, 'fe'],
    [{ type: 'bool', value: false }, '8100'],
    [{ type: 'bool', value: true }, '8101'],
    [{ type: 'int', value: 0n }, '828000000000000000'],
    [{ type: 'int', value: -1n }, '827fffffffffffffff'],
    [{ type: 'int', value: INT64_MIN }, '820000000000000000'],
    [{ type: 'uint', value: UINT64_MAX }, '83ffffffffffffffff'],
    [{ type: 'timestamp', value: 1n }, '8d8000000000000001'],
    [{ type: 'float', value: 1 }, '84bff0000000000000'],
    [{ type: 'float', value: -0 }, '848000000000000000'],
    [{ type: 'float', value: -1 }, '84400fffffffffffff'],
    [{ type: 'float', value: NaN }, '84fff8000000000000'],
    [D('0'), '87'],
    [D('NaN'), '8a'],
    [D('Infinity'), '89'],
    [D('-Infinity'), '85'],
    [D('1'), '888000000114'], // 0.1e1: exponent 1, pair 10 → last byte 20
    [D('12.345'), '8880000002194564'], // 0.12345e2: pairs 12 34 50 → 25 69 100
    [D('-12.345'), '867ffffffee6ba9b'], // exponent negated (-2), mantissa inverted
    [{ type: 'string', value: 'a\0' }, '8b6100ff0001'],
    [{ type: 'bytes', value: new Uint8Array([]) }, '8c0001'],
    [{ type: 'uuid', value: new Uint8Array(16).fill(0xab) }, '8e' + 'ab'.repeat(16)],
  ])('%j', (datum, expected) => {
    expect(hex(encodeKey([datum]))).toBe(expected);
    const inverted = Buffer.from(expected, 'hex').map((b) => b ^ 0xff);
    expect(hex(encodeKey([datum], ['desc']))).toBe(hex(inverted));
  });
});

describe('round trip', () => {
  it.each(NON_NULL_TYPES)('decode(encode(x)) = x for %s, both directions', (type) => {
    fc.assert(
      fc.property(columnArb(type), directionArb, (datum, direction) => {
        const enc = encodeKey([datum], [direction]);
        const { datums, directions } = decodeKey(enc);
        expect(datums).toHaveLength(1);
        expect(directions).toEqual([direction]);
        expectDecodedEqual(datums[0]!, datum);
        // Canonical: re-encoding the decoded value gives the same bytes.
        expect(hex(encodeKey(datums, directions))).toBe(hex(enc));
        const single = decodeDatum(enc, 0);
        expect(single.next).toBe(enc.length);
        expect(single.direction).toBe(direction);
      }),
      { numRuns: 300 },
    );
  });

  it('decodes composite keys of mixed types and directions, at an offset and with an end', () => {
    fc.assert(
      fc.property(keyArb, fc.uint8Array({ maxLength: 4 }), fc.uint8Array({ maxLength: 4 }), ([datums, dirs], pre, post) => {
        const enc = encodeKey(datums, dirs);
        const framed = Buffer.concat([pre, enc, post]);
        const decoded = decodeKey(framed, pre.length, pre.length + enc.length);
        expect(decoded.directions).toEqual(dirs);
        expect(decoded.datums).toHaveLength(datums.length);
        decoded.datums.forEach((d, i) => expectDecodedEqual(d, datums[i]!));
      }),
      { numRuns: 300 },
    );
  });

  it('appendDatum builds the same bytes as encodeKey', () => {
    fc.assert(
      fc.property(keyArb, ([datums, dirs]) => {
        const w = new KeyWriter(0);
        datums.forEach((d, i) => appendDatum(w, d, dirs[i]!));
        expect(hex(w.finish())).toBe(hex(encodeKey(datums, dirs)));
      }),
      { numRuns: 100 },
    );
  });

  it('normalises -0 and NaN payloads, and equal decimals encode identically', () => {
    expect(hex(encodeKey([{ type: 'float', value: -0 }]))).toBe(hex(encodeKey([{ type: 'float', value: 0 }])));
    const otherNaN = new DataView(new ArrayBuffer(8));
    otherNaN.setUint32(0, 0xfff00000);
    otherNaN.setUint32(4, 1);
    expect(Number.isNaN(otherNaN.getFloat64(0))).toBe(true);
    expect(hex(encodeKey([{ type: 'float', value: otherNaN.getFloat64(0) }]))).toBe(
      hex(encodeKey([{ type: 'float', value: NaN }])),
    );
    const d = (s: string): KeyDatum => ({ type: 'decimal', value: Decimal.parse(s) });
    expect(hex(encodeKey([d('1.0')]))).toBe(hex(encodeKey([d('1.00')])));
    expect(hex(encodeKey([d('-0')]))).toBe(hex(encodeKey([d('0.000')])));
    expect(hex(encodeKey([d('1.2e1')]))).toBe(hex(encodeKey([d('12')])));
  });

  it('round-trips edge values exactly', () => {
    const values: KeyDatum[] = [
      { type: 'int', value: INT64_MIN },
      { type: 'int', value: INT64_MAX },
      { type: 'uint', value: UINT64_MAX },
      { type: 'timestamp', value: INT64_MIN },
      { type: 'float', value: Infinity },
      { type: 'float', value: -Infinity },
      { type: 'float', value: Number.MIN_VALUE },
      { type: 'string', value: '' },
      { type: 'string', value: '\0' },
      { type: 'string', value: 'a\0\0b' },
      { type: 'string', value: '\ufeffBOM' },
      { type: 'string', value: '😀👍🏽' },
      { type: 'bytes', value: new Uint8Array([]) },
      { type: 'bytes', value: new Uint8Array([0, 0, 0xff, 0, 1]) },
      { type: 'decimal', value: Decimal.parse('-0.001') },
      { type: 'decimal', value: Decimal.parse('1e-300') },
      { type: 'decimal', value: Decimal.parse('-1.000000000000000000000000000000000000001e-300') },
    ];
    for (const direction of DIRECTIONS) {
      const enc = encodeKey(values, values.map(() => direction));
      const { datums } = decodeKey(enc);
      datums.forEach((d, i) => expectDecodedEqual(d, values[i]!));
    }
  });
});

describe('order', () => {
  it.each(NON_NULL_TYPES)('byte order of %s keys is SQL order (inverted for desc)', (type) => {
    fc.assert(
      fc.property(pairArb(type), directionArb, ([a, b], direction) => {
        const cmp = Math.sign(Buffer.compare(encodeKey([a], [direction]), encodeKey([b], [direction])));
        const expected = compareDatums(a, b);
        expect(cmp).toBe(direction === 'asc' ? expected : 0 - expected);
      }),
      { numRuns: 500 },
    );
  });

  it('sorts composite keys as tuples, each column in its direction', () => {
    const rowsArb = schemaArb.chain((schema) => {
      const row = fc.tuple(...schema.map(([t]) => columnArb(t)));
      // The second row shares a random-length prefix with the first, to reach later columns.
      return fc.tuple(row, row, fc.nat(schema.length), fc.constant(schema.map(([, d]) => d))).map(
        ([a, b, shared, dirs]) => [a, [...a.slice(0, shared), ...b.slice(shared)], dirs] as const,
      );
    });
    fc.assert(
      fc.property(rowsArb, ([a, b, dirs]) => {
        const cmp = Math.sign(Buffer.compare(encodeKey(a, dirs), encodeKey(b, dirs)));
        expect(cmp).toBe(compareRows(a, b, dirs));
      }),
      { numRuns: 1000 },
    );
  });

  // Sorted ascending lists of hand-picked edge values, checked pairwise in both directions.
  const sortedEdges: Record<string, KeyDatum[]> = {
    bool: [false, true].map((value) => ({ type: 'bool', value })),
    int: [INT64_MIN, INT64_MIN + 1n, -(1n << 32n), -256n, -1n, 0n, 1n, 255n, 256n, 1n << 32n, INT64_MAX - 1n, INT64_MAX].map(
      (value) => ({ type: 'int', value }),
    ),
    uint: [0n, 1n, 255n, 256n, (1n << 63n) - 1n, 1n << 63n, UINT64_MAX].map((value) => ({ type: 'uint', value })),
    timestamp: [INT64_MIN, -1n, 0n, 1n, 1_700_000_000_000_000n, INT64_MAX].map((value) => ({ type: 'timestamp', value })),
    float: [
      -Infinity,
      -Number.MAX_VALUE,
      -1,
      -Number.MIN_VALUE,
      0,
      Number.MIN_VALUE,
      2.2250738585072014e-308,
      1,
      1 + Number.EPSILON,
      Number.MAX_VALUE,
      Infinity,
      NaN,
    ].map((value) => ({ type: 'float', value })),
    decimal: [
      '-Infinity',
      '-1e2147483646',
      '-1e300',
      '-100',
      '-99.99',
      '-1.01',
      '-1',
      '-0.123',
      '-0.12',
      '-0.001',
      '-1e-300',
      '0',
      '1e-300',
      '0.001',
      '0.12',
      '0.123',
      '1',
      '1.01',
      '99.99',
      '100',
      '1e300',
      '1e2147483646',
      'Infinity',
      'NaN',
    ].map((s) => ({ type: 'decimal', value: Decimal.parse(s) })),
    string: ['', '\0', '\0\0', '\0\x01', '\x01', 'a', 'a\0', 'a\0\0', 'a\0b', 'a\x01', 'ab', 'b', '\u00ff', '\u0800', '\uffff', '😀', '\u{10ffff}'].map(
      (value) => ({ type: 'string', value }),
    ),
    bytes: [[], [0], [0, 0], [0, 1], [0, 0xff], [1], [1, 0], [0xfe], [0xff], [0xff, 0], [0xff, 0xff]].map((b) => ({
      type: 'bytes',
      value: Uint8Array.from(b),
    })),
    uuid: [new Uint8Array(16), Uint8Array.from({ length: 16 }, (_, i) => (i === 15 ? 1 : 0)), new Uint8Array(16).fill(0xff)].map(
      (value) => ({ type: 'uuid', value }),
    ),
  };

  it.each(Object.keys(sortedEdges))('edge values of %s sort strictly, NULL last asc and first desc', (type) => {
    const values = [...sortedEdges[type]!, NULL];
    for (const direction of DIRECTIONS) {
      const keys = values.map((v) => encodeKey([v], [direction]));
      for (let i = 0; i < values.length; i++) {
        expect(compareDatums(values[i]!, values[i]!)).toBe(0);
        for (let j = 0; j < values.length; j++) {
          const expected = Math.sign(i - j) * (direction === 'asc' ? 1 : -1);
          const got = Math.sign(Buffer.compare(keys[i]!, keys[j]!));
          if (got !== expected || compareDatums(values[i]!, values[j]!) !== Math.sign(i - j)) {
            throw new Error(`${type} ${direction}: ${i} vs ${j}: bytes ${got}, expected ${expected}`);
          }
        }
      }
    }
  });

  it('-0 equals 0 and NaN equals NaN in keys', () => {
    expect(compareDatums({ type: 'float', value: -0 }, { type: 'float', value: 0 })).toBe(0);
    expect(compareDatums({ type: 'float', value: NaN }, { type: 'float', value: NaN })).toBe(0);
  });
});

describe('compareDatums', () => {
  it('compares strings in UTF-8 byte (code point) order', () => {
    fc.assert(
      fc.property(stringArb, stringArb, (a, b) => {
        expect(compareDatums({ type: 'string', value: a }, { type: 'string', value: b })).toBe(
          Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')),
        );
      }),
      { numRuns: 500 },
    );
    // UTF-16 order would put U+1F600 (a surrogate pair) before U+FFFF.
    expect(compareDatums({ type: 'string', value: '😀' }, { type: 'string', value: '\uffff' })).toBe(1);
  });

  it('rejects datums of different types, but places NULL after anything', () => {
    expect(() => compareDatums({ type: 'int', value: 1n }, { type: 'uint', value: 1n })).toThrow(InvalidArgumentError);
    expect(compareDatums(NULL, { type: 'int', value: 1n })).toBe(1);
    expect(compareDatums({ type: 'string', value: '' }, NULL)).toBe(-1);
    expect(compareDatums(NULL, NULL)).toBe(0);
  });
});

describe('malformed input', () => {
  it('truncation at every offset gives MalformedEncodingError or a whole-datum prefix', () => {
    fc.assert(
      fc.property(keyArb, ([datums, dirs]) => {
        const enc = encodeKey(datums, dirs);
        const boundaries = new Map<number, number>([[0, 0]]);
        let pos = 0;
        datums.forEach((_, i) => {
          pos = decodeDatum(enc, pos).next;
          boundaries.set(pos, i + 1);
        });
        expect(pos).toBe(enc.length);
        for (let cut = 0; cut < enc.length; cut++) {
          // Once with a short buffer, once with `end` inside the full buffer.
          for (const result of [tryDecode(enc.subarray(0, cut)), tryDecode(enc, 0, cut)]) {
            const prefix = boundaries.get(cut);
            if (result instanceof MalformedEncodingError) {
              expect(prefix).toBeUndefined();
              expect(result.offset).toBeGreaterThanOrEqual(0);
              expect(result.offset).toBeLessThanOrEqual(cut);
            } else {
              expect(prefix).toBeDefined();
              expect(result.datums).toHaveLength(prefix!);
              result.datums.forEach((d, i) => expectDecodedEqual(d, datums[i]!));
            }
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('mutated keys decode with MalformedEncodingError or to a key that re-encodes to the same bytes', () => {
    const mutationArb = fc.record({
      kind: fc.constantFrom('set', 'insert', 'delete'),
      at: fc.nat(),
      byte: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff)),
    });
    fc.assert(
      fc.property(keyArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }), ([datums, dirs], mutations) => {
        const bytes = [...encodeKey(datums, dirs)];
        for (const m of mutations) {
          const at = bytes.length === 0 ? 0 : m.at % (bytes.length + (m.kind === 'insert' ? 1 : 0));
          if (m.kind === 'set' && bytes.length > 0) {
            bytes[at] = m.byte;
          } else if (m.kind === 'insert') {
            bytes.splice(at, 0, m.byte);
          } else {
            bytes.splice(at, 1);
          }
        }
        const buf = Uint8Array.from(bytes);
        const result = tryDecode(buf);
        if (!(result instanceof MalformedEncodingError)) {
          expect(hex(encodeKey(result.datums, result.directions))).toBe(hex(buf));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('random bytes never decode with anything but MalformedEncodingError', () => {
    const byteArb = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(...Object.values(KEY_TAGS), 0x00, 0x01, 0xff));
    fc.assert(
      fc.property(fc.array(byteArb, { maxLength: 40 }), (bytes) => {
        const buf = Uint8Array.from(bytes);
        const result = tryDecode(buf);
        if (!(result instanceof MalformedEncodingError)) {
          expect(hex(encodeKey(result.datums, result.directions))).toBe(hex(buf));
        }
      }),
      { numRuns: 1000 },
    );
  });

  it.each<[string, string, number]>([
    ['unknown tag', '80', 0],
    ['tag 0x00', '00', 0],
    ['tag 0xff', 'ff', 0],
    ['unknown tag after a datum', 'fe90', 1],
    ['bool byte 2', '8102', 1],
    ['truncated int', '82800000', 1],
    ['float -0 (not canonical)', '847fffffffffffffff', 1],
    ['non-canonical NaN', '84fff8000000000001', 1],
    ['decimal exponent -2^31', '880000000014', 1],
    ['decimal mantissa with leading zero', '888000000102', 5],
    ['decimal mantissa trailing 00', '88800000011500', 6],
    ['decimal mantissa byte > 199', '8880000001c8', 5],
    ['decimal mantissa without a final byte', '88800000011513', 7],
    ['string without terminator', '8b6162', 3],
    ['string with a bad escape', '8b610002', 3],
    ['string with an escape at the end', '8b6100', 3],
    ['string not UTF-8', '8bc0800001', 1],
    ['string with an encoded surrogate', '8beda0800001', 1],
    ['desc bytes with a bad escape', '73ff02', 2],
    ['truncated uuid', '8e00', 1],
  ])('%s', (_name, hexBytes, offset) => {
    const buf = Buffer.from(hexBytes, 'hex');
    let error: unknown;
    try {
      decodeKey(buf);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MalformedEncodingError);
    expect((error as MalformedEncodingError).offset).toBe(offset);
    expect((error as MalformedEncodingError).code).toBe('MALFORMED_ENCODING');
  });

  it('rejects decode ranges outside the buffer', () => {
    const buf = encodeKey([NULL]);
    expect(() => decodeKey(buf, 2)).toThrow(InvalidArgumentError);
    expect(() => decodeKey(buf, 0, 5)).toThrow(InvalidArgumentError);
    expect(() => decodeKey(buf, 1, 0)).toThrow(InvalidArgumentError);
    expect(() => decodeDatum(buf, -1)).toThrow(InvalidArgumentError);
    expect(decodeKey(buf, 1).datums).toEqual([]);
    expect(() => decodeDatum(buf, 1)).toThrow(MalformedEncodingError);
  });
});

describe('invalid arguments', () => {
  const bad = (d: unknown): KeyDatum => d as KeyDatum;
  it.each<[string, KeyDatum]>([
    ['int 2^63', { type: 'int', value: INT64_MAX + 1n }],
    ['int -2^63-1', { type: 'int', value: INT64_MIN - 1n }],
    ['int as number', bad({ type: 'int', value: 1 })],
    ['uint -1', { type: 'uint', value: -1n }],
    ['uint 2^64', { type: 'uint', value: UINT64_MAX + 1n }],
    ['timestamp 2^63', { type: 'timestamp', value: INT64_MAX + 1n }],
    ['uuid of 15 bytes', { type: 'uuid', value: new Uint8Array(15) }],
    ['uuid of 17 bytes', { type: 'uuid', value: new Uint8Array(17) }],
    ['uuid as string', bad({ type: 'uuid', value: '00000000-0000-0000-0000-000000000000' })],
    ['bytes as string', bad({ type: 'bytes', value: 'abc' })],
    ['float as bigint', bad({ type: 'float', value: 1n })],
    ['bool as number', bad({ type: 'bool', value: 1 })],
    ['decimal as string', bad({ type: 'decimal', value: '1.5' })],
    ['string as bytes', bad({ type: 'string', value: new Uint8Array(1) })],
    ['lone high surrogate', { type: 'string', value: 'a\ud800' }],
    ['lone low surrogate', { type: 'string', value: '\udc00a' }],
    ['reversed surrogate pair', { type: 'string', value: '\ude00\ud83d' }],
  ])('rejects %s', (_name, datum) => {
    for (const direction of DIRECTIONS) {
      expect(() => encodeKey([datum], [direction])).toThrow(InvalidArgumentError);
    }
  });

  it('rejects bad directions', () => {
    expect(() => encodeKey([NULL, NULL], ['asc'])).toThrow(InvalidArgumentError);
    expect(() => encodeKey([NULL], ['up' as Direction])).toThrow(InvalidArgumentError);
    expect(() => decodeEscapedBytes(Buffer.from('0001', 'hex'), 0, 'down' as Direction)).toThrow(InvalidArgumentError);
  });

  it('leaves the shared encoder usable after a rejected datum', () => {
    expect(() => encodeKey([{ type: 'int', value: 1n }, { type: 'uint', value: -1n }])).toThrow(InvalidArgumentError);
    expect(hex(encodeKey([{ type: 'bool', value: true }]))).toBe('8101');
  });
});

describe('escaped bytes (untagged)', () => {
  it('matches the documented framing', () => {
    const w = new KeyWriter();
    appendEscapedBytes(w, Uint8Array.from([0x61, 0x00, 0x62]), 'asc');
    expect(hex(w.finish())).toBe('6100ff620001');
    w.reset();
    appendEscapedBytes(w, Uint8Array.from([0x61, 0x00, 0x62]), 'desc');
    expect(hex(w.finish())).toBe('9eff009dfffe');
  });

  it('round-trips, reports the next offset and preserves order in both directions', () => {
    fc.assert(
      fc.property(bytesArb, bytesArb, directionArb, fc.uint8Array({ maxLength: 3 }), (a, b, direction, trailer) => {
        const encode = (x: Uint8Array): Buffer => {
          const w = new KeyWriter(1);
          appendEscapedBytes(w, x, direction);
          return w.finish();
        };
        const ea = encode(a);
        const framed = Buffer.concat([ea, trailer]);
        const { value, next } = decodeEscapedBytes(framed, 0, direction);
        expect(hex(value)).toBe(hex(a));
        expect(next).toBe(ea.length);
        const expected = Buffer.compare(a, b);
        expect(Math.sign(Buffer.compare(ea, encode(b)))).toBe(direction === 'asc' ? expected : 0 - expected);
        for (let cut = 0; cut < ea.length; cut++) {
          expect(() => decodeEscapedBytes(ea, 0, direction, cut)).toThrow(MalformedEncodingError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('keeps a prefix before its extensions when followed by more key', () => {
    // "a" + suffix must sort before "a\0" + anything, in a composite user key.
    const key = (user: number[], suffix: number): Buffer => {
      const w = new KeyWriter();
      appendEscapedBytes(w, Uint8Array.from(user), 'asc');
      w.appendByte(suffix);
      return w.finish();
    };
    expect(Buffer.compare(key([0x61], 0xff), key([0x61, 0x00], 0x00))).toBe(-1);
  });
});

describe('KeyWriter', () => {
  it('grows from zero capacity and returns independent copies', () => {
    const w = new KeyWriter(0);
    for (let i = 0; i < 1000; i++) {
      w.appendByte(i);
    }
    w.appendBytes(Uint8Array.from([1, 2, 3]));
    expect(w.length).toBe(1003);
    const first = w.finish();
    expect(first.length).toBe(1003);
    expect(first[256]).toBe(0);
    expect(first[1002]).toBe(3);
    w.reset();
    w.appendByte(0xaa);
    expect(hex(w.finish())).toBe('aa');
    expect(first[0]).toBe(0); // not overwritten by reuse
    expect(() => new KeyWriter(-1)).toThrow(InvalidArgumentError);
  });

  it('encodes many keys through one writer', () => {
    fc.assert(
      fc.property(fc.array(anyDatumArb, { maxLength: 6 }), directionArb, (datums, direction) => {
        const w = new KeyWriter(4);
        for (const d of datums) {
          w.reset();
          appendDatum(w, d, direction);
          expect(hex(w.finish())).toBe(hex(encodeKey([d], [direction])));
        }
      }),
      { numRuns: 100 },
    );
  });
});
