import { decodeKey, encodeKey } from '../../../common/encoding/key-encoding';
import { MalformedEncodingError } from '../../../common/errors';
import { scalarType } from './datum';
import { checkKeyEncodable, fromKeyDatum, isKeyEncodable, keyDatumPreservesValue, toKeyDatum } from './key-datum';
import { Numeric } from './numeric';
import { sqlErrorOf } from './test-util';
import { parseText } from './text-format';
import { arrayOf } from './type-names';

describe('key datums', () => {
  test('mapping to key datum kinds', () => {
    expect(toKeyDatum(scalarType('int4'), 5n)).toEqual({ type: 'int', value: 5n });
    expect(toKeyDatum(scalarType('float8'), 1.5)).toEqual({ type: 'float', value: 1.5 });
    expect(toKeyDatum(scalarType('numeric'), Numeric.parse('1.50'))).toEqual({
      type: 'decimal',
      value: Numeric.parse('1.5').toDecimal(),
    });
    expect(toKeyDatum(scalarType('text'), 'x')).toEqual({ type: 'string', value: 'x' });
    expect(toKeyDatum(scalarType('bpchar', 3), 'x  ')).toEqual({ type: 'string', value: 'x' });
    expect(toKeyDatum(scalarType('date'), 3)).toEqual({ type: 'int', value: 3n });
    expect(toKeyDatum(scalarType('timestamptz'), 7n)).toEqual({ type: 'timestamp', value: 7n });
    expect(toKeyDatum(scalarType('bool'), true)).toEqual({ type: 'bool', value: true });
    expect(toKeyDatum(scalarType('int4'), null)).toEqual({ type: 'null' });
    const uuid = toKeyDatum(scalarType('uuid'), 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
    expect(uuid.type).toBe('uuid');
    expect(Buffer.from((uuid as { value: Uint8Array }).value).toString('hex')).toBe('a0eebc999c0b4ef8bb6d6bb9bd380a11');
  });

  test('equal values give equal keys', () => {
    const numeric = scalarType('numeric');
    expect(encodeKey([toKeyDatum(numeric, Numeric.parse('1.0'))])).toEqual(encodeKey([toKeyDatum(numeric, Numeric.parse('1.000'))]));
    const float8 = scalarType('float8');
    expect(encodeKey([toKeyDatum(float8, -0)])).toEqual(encodeKey([toKeyDatum(float8, 0)]));
    const char = scalarType('bpchar');
    expect(encodeKey([toKeyDatum(char, 'a ')])).toEqual(encodeKey([toKeyDatum(char, 'a')]));
  });

  test('composite keys decode back (char(n) padding restored)', () => {
    const types = [scalarType('bpchar', 4), scalarType('date'), scalarType('uuid'), scalarType('int8')] as const;
    const values = ['ab  ', Infinity, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', null] as const;
    const key = encodeKey(types.map((t, i) => toKeyDatum(t, values[i]!)));
    const decoded = decodeKey(key).datums.map((k, i) => fromKeyDatum(types[i]!, k));
    expect(decoded).toEqual(values);
  });

  test('date infinities order around every date', () => {
    const date = scalarType('date');
    const keys = ['-infinity', '4714-11-24 BC', '2024-01-31', '5874897-12-31', 'infinity'].map((t) =>
      encodeKey([toKeyDatum(date, parseText(date, t))]),
    );
    for (let i = 1; i < keys.length; i++) {
      expect(Buffer.compare(keys[i - 1]!, keys[i]!)).toBe(-1);
    }
  });

  test('jsonb, interval and arrays cannot be key columns (0A000)', () => {
    for (const t of [scalarType('jsonb'), scalarType('interval'), arrayOf(scalarType('int4'))]) {
      expect(isKeyEncodable(t)).toBe(false);
    }
    const e = sqlErrorOf(() => checkKeyEncodable(scalarType('jsonb')));
    expect([e.sqlState, e.message]).toEqual(['0A000', 'column of type jsonb cannot be part of a key/index']);
    expect(sqlErrorOf(() => toKeyDatum(scalarType('interval'), { months: 0, days: 0, micros: 0n })).sqlState).toBe('0A000');
  });

  test('which types need the value stored beside the key', () => {
    expect(keyDatumPreservesValue(scalarType('numeric'))).toBe(false);
    expect(keyDatumPreservesValue(scalarType('float8'))).toBe(false);
    expect(keyDatumPreservesValue(scalarType('bpchar'))).toBe(false);
    expect(keyDatumPreservesValue(scalarType('bpchar', 3))).toBe(true);
    expect(keyDatumPreservesValue(scalarType('text'))).toBe(true);
    expect(keyDatumPreservesValue(scalarType('timestamptz'))).toBe(true);
  });

  test('a key datum of the wrong kind is malformed data', () => {
    expect(() => fromKeyDatum(scalarType('int4'), { type: 'string', value: 'x' })).toThrow(MalformedEncodingError);
    expect(() => fromKeyDatum(scalarType('uuid'), { type: 'uuid', value: new Uint8Array(3) })).toThrow(MalformedEncodingError);
  });
});
