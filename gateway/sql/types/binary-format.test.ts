import { decodeBinary, decodeNumeric, encodeBinary, encodeNumeric } from './binary-format';
import { scalarType } from './datum';
import { Numeric, numericTypmod } from './numeric';
import { sqlErrorOf, sqlStateOf } from './test-util';
import { parseText } from './text-format';
import { arrayOf } from './type-names';

const hex = (b: Buffer): string => b.toString('hex');
const T = {
  int4: scalarType('int4'),
  int8: scalarType('int8'),
  text: scalarType('text'),
  date: scalarType('date'),
  timestamp: scalarType('timestamp'),
  timestamptz: scalarType('timestamptz'),
  interval: scalarType('interval'),
  jsonb: scalarType('jsonb'),
  uuid: scalarType('uuid'),
  bool: scalarType('bool'),
  float8: scalarType('float8'),
  numeric: scalarType('numeric'),
  oid: scalarType('oid'),
};

describe('numeric binary format (ndigits, weight, sign, dscale, base-10000 digits)', () => {
  test.each([
    ['0', '0000000000000000'],
    ['0.00', '0000000000000002'],
    ['1.50', '0002000000000002' + '00011388'],
    ['-12345.678', '000300014000' + '0003' + '000109291a7c'],
    ['10000', '0001000100000000' + '0001'],
    ['0.0001', '0001ffff00000004' + '0001'],
    ['0.00012', '0002ffff00000005' + '000107d0'],
    ['1e-20', '0001fffb00000014' + '0001'],
    ['NaN', '00000000c0000000'],
    ['Infinity', '00000000d0000000'],
    ['-Infinity', '00000000f0000000'],
  ])('%s', (text, expected) => {
    const n = Numeric.parse(text);
    expect(hex(encodeNumeric(n))).toBe(expected);
    expect(decodeNumeric(Buffer.from(expected, 'hex')).toString()).toBe(n.toString());
  });

  test('digits hidden by dscale are truncated, as numeric_recv does', () => {
    // 1.2345 sent with dscale 2
    expect(decodeNumeric(Buffer.from('0002000000000002' + '00010929', 'hex')).toString()).toBe('1.23');
  });

  test('bad input is 22P03', () => {
    expect(sqlStateOf(() => decodeNumeric(Buffer.from('000100000000', 'hex')))).toBe('22P03');
    expect(sqlStateOf(() => decodeNumeric(Buffer.from('0001000000000000', 'hex')))).toBe('22P03');
    expect(sqlErrorOf(() => decodeNumeric(Buffer.from('0000000012340000', 'hex'))).message).toBe(
      'invalid sign in external "numeric" value',
    );
    expect(sqlErrorOf(() => decodeNumeric(Buffer.from('00010000000000002710', 'hex'))).message).toBe(
      'invalid digit in external "numeric" value',
    );
    expect(sqlErrorOf(() => decodeNumeric(Buffer.from('000000000000c000', 'hex'))).message).toBe(
      'invalid scale in external "numeric" value',
    );
  });

  test('typmod applies on receive', () => {
    const t = scalarType('numeric', numericTypmod(4, 1));
    expect((decodeBinary(t, encodeNumeric(Numeric.parse('12.34'))) as Numeric).toString()).toBe('12.3');
  });
});

describe('fixed-size types', () => {
  test('PostgreSQL layouts', () => {
    expect(hex(encodeBinary(T.int4, -2n))).toBe('fffffffe');
    expect(hex(encodeBinary(T.int8, 1n))).toBe('0000000000000001');
    expect(hex(encodeBinary(T.bool, true))).toBe('01');
    expect(hex(encodeBinary(T.float8, 1.5))).toBe('3ff8000000000000');
    expect(hex(encodeBinary(T.oid, 4294967295n))).toBe('ffffffff');
    // date: days since 2000-01-01
    expect(hex(encodeBinary(T.date, parseText(T.date, '2000-01-02')))).toBe('00000001');
    expect(hex(encodeBinary(T.date, parseText(T.date, '1999-12-31')))).toBe('ffffffff');
    expect(hex(encodeBinary(T.date, Infinity))).toBe('7fffffff');
    expect(hex(encodeBinary(T.date, -Infinity))).toBe('80000000');
    // timestamp: µs since 2000-01-01
    expect(hex(encodeBinary(T.timestamp, parseText(T.timestamp, '2000-01-01 00:00:01')))).toBe('00000000000f4240');
    expect(hex(encodeBinary(T.timestamptz, parseText(T.timestamptz, 'infinity')))).toBe('7fffffffffffffff');
    expect(hex(encodeBinary(T.timestamptz, parseText(T.timestamptz, '-infinity')))).toBe('8000000000000000');
    // interval: µs, days, months
    expect(hex(encodeBinary(T.interval, parseText(T.interval, '1 mon 2 days 00:00:03')))).toBe(
      '00000000002dc6c0' + '00000002' + '00000001',
    );
    expect(hex(encodeBinary(T.uuid, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'))).toBe('a0eebc999c0b4ef8bb6d6bb9bd380a11');
    expect(hex(encodeBinary(T.jsonb, parseText(T.jsonb, '{"a":1}')))).toBe(`01${Buffer.from('{"a": 1}').toString('hex')}`);
  });

  test('strict lengths', () => {
    expect(sqlStateOf(() => decodeBinary(T.int4, Buffer.alloc(3)))).toBe('22P03');
    expect(sqlStateOf(() => decodeBinary(T.int8, Buffer.alloc(4)))).toBe('22P03');
    expect(sqlStateOf(() => decodeBinary(T.uuid, Buffer.alloc(15)))).toBe('22P03');
    expect(sqlStateOf(() => decodeBinary(T.interval, Buffer.alloc(12)))).toBe('22P03');
    expect(sqlStateOf(() => decodeBinary(T.bool, Buffer.alloc(0)))).toBe('22P03');
    expect(sqlStateOf(() => decodeBinary(T.jsonb, Buffer.from([2, 0x7b, 0x7d])))).toBe('22P03');
    expect(sqlStateOf(() => decodeBinary(T.jsonb, Buffer.alloc(0)))).toBe('22P03');
  });

  test('text must be valid UTF-8 without NUL', () => {
    expect(decodeBinary(T.text, Buffer.from('héllo'))).toBe('héllo');
    expect(sqlStateOf(() => decodeBinary(T.text, Buffer.from([0xc3])))).toBe('22021');
    expect(sqlStateOf(() => decodeBinary(T.text, Buffer.from([0x61, 0x00])))).toBe('22021');
    expect(sqlStateOf(() => decodeBinary(scalarType('varchar', 2), Buffer.from('abc')))).toBe('22001');
    expect(decodeBinary(scalarType('bpchar', 3), Buffer.from('a'))).toBe('a  ');
    expect(sqlStateOf(() => decodeBinary(scalarType('name'), Buffer.alloc(64, 0x61)))).toBe('42622');
  });

  test('out-of-range dates and timestamps are 22008', () => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(9223371331200000000n - 1n); // PostgreSQL's last timestamp, past ours
    expect(sqlStateOf(() => decodeBinary(T.timestamp, b))).toBe('22008');
    const d = Buffer.alloc(4);
    d.writeInt32BE(2147483000);
    expect(sqlStateOf(() => decodeBinary(T.date, d))).toBe('22008');
  });
});

describe('arrays', () => {
  const int4s = arrayOf(T.int4);

  test('int4[] layout', () => {
    expect(hex(encodeBinary(int4s, [1n, null, 3n]))).toBe(
      '00000001' + '00000001' + '00000017' + '00000003' + '00000001' + '0000000400000001' + 'ffffffff' + '0000000400000003',
    );
    expect(hex(encodeBinary(int4s, []))).toBe('00000000' + '00000000' + '00000017');
    expect(decodeBinary(int4s, encodeBinary(int4s, [[1n, 2n], [3n, 4n]]))).toEqual([
      [1n, 2n],
      [3n, 4n],
    ]);
  });

  test('text[] and oid[]', () => {
    const texts = arrayOf(T.text);
    expect(decodeBinary(texts, encodeBinary(texts, ['a', null, 'é']))).toEqual(['a', null, 'é']);
    const oids = arrayOf(T.oid);
    expect(encodeBinary(oids, [26n]).readUInt32BE(8)).toBe(26); // element type oid
    expect(decodeBinary(oids, encodeBinary(oids, [26n, 4294967295n]))).toEqual([26n, 4294967295n]);
  });

  test('lower bounds other than 1 are accepted', () => {
    const b = Buffer.from('00000001' + '00000000' + '00000017' + '00000002' + '00000005' + '0000000400000007' + '0000000400000008', 'hex');
    expect(decodeBinary(int4s, b)).toEqual([7n, 8n]);
  });

  test('malformed arrays', () => {
    const good = encodeBinary(int4s, [1n, 2n]);
    for (let cut = 0; cut < good.length; cut++) {
      expect(sqlStateOf(() => decodeBinary(int4s, good.subarray(0, cut)))).toBe('22P03');
    }
    expect(sqlStateOf(() => decodeBinary(int4s, Buffer.concat([good, Buffer.alloc(1)])))).toBe('22P03');
    const wrongElement = Buffer.from(good);
    wrongElement.writeUInt32BE(25, 8);
    expect(sqlErrorOf(() => decodeBinary(int4s, wrongElement)).sqlState).toBe('42804');
    const badDims = Buffer.from(good);
    badDims.writeInt32BE(7, 0);
    expect(sqlStateOf(() => decodeBinary(int4s, badDims))).toBe('22P03');
    const badFlags = Buffer.from(good);
    badFlags.writeInt32BE(2, 4);
    expect(sqlStateOf(() => decodeBinary(int4s, badFlags))).toBe('22P03');
  });
});
