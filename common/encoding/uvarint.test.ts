import * as fc from 'fast-check';
import { decodeUvarintAscending, encodeUvarintAscending } from './uvarint';

describe('uvarint ascending', () => {
  test('byte order is numeric order, and decoding inverts encoding', () => {
    fc.assert(
      fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.nat({ max: Number.MAX_SAFE_INTEGER }), (a, b) => {
        const ea = encodeUvarintAscending(a);
        const eb = encodeUvarintAscending(b);
        expect(Math.sign(Buffer.compare(ea, eb))).toBe(Math.sign(a - b));
        expect(decodeUvarintAscending(ea)).toEqual({ value: a, next: ea.length });
      }),
    );
  });

  test('the boundaries between one byte and a length byte', () => {
    expect(encodeUvarintAscending(0)).toEqual(Buffer.from([0x88]));
    expect(encodeUvarintAscending(109)).toEqual(Buffer.from([0xf5]));
    expect(encodeUvarintAscending(110)).toEqual(Buffer.from([0xf6, 110]));
    expect(encodeUvarintAscending(256)).toEqual(Buffer.from([0xf7, 1, 0]));
  });

  test('non-canonical or truncated bytes are rejected', () => {
    expect(() => decodeUvarintAscending(Buffer.from([0xf6, 5]))).toThrow(/not canonical/);
    expect(() => decodeUvarintAscending(Buffer.from([0xf7, 1]))).toThrow(/truncated/);
    expect(() => decodeUvarintAscending(Buffer.from([0x10]))).toThrow(/bad leading byte/);
    expect(() => decodeUvarintAscending(Buffer.alloc(0))).toThrow(/no bytes/);
  });
});
