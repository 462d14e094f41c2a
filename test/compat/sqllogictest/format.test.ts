// Value formatting, ../shared/sqllogictest/README.md "Value formatting": the declared
// letter decides; the input is PostgreSQL's text output.
import { formatValue, printfFixed3 } from './format';

describe('formatValue', () => {
  it('prints NULL and the empty string the same way for every letter', () => {
    for (const type of ['I', 'T', 'R'] as const) {
      expect(formatValue(null, type)).toBe('NULL');
      expect(formatValue('', type)).toBe('(empty)');
    }
  });

  it.each([
    ['42', '42'],
    ['-7', '-7'],
    ['+007', '7'],
    ['1.9', '1'], // truncated toward zero...
    ['-1.9', '-1'], // ...on both sides
    ['-0.5', '0'], // no negative zero
    ['49.3333333333333333', '49'], // numeric avg() in an I column
    ['0.99999999999999999999', '0'], // exactly, not through a double
    ['1.5e3', '1500'],
    ['-2.5E-1', '0'],
    ['t', '1'], // PostgreSQL booleans
    ['f', '0'],
    ['12abc', '12'], // text: its leading number
    ['  3', '3'],
    ['abc', '0'],
    ['9223372036854775807', '9223372036854775807'],
    ['99999999999999999999999', '9223372036854775807'], // clamped to 64 bits
    ['-1e+300', '-9223372036854775808'],
    ['Infinity', '9223372036854775807'],
    ['-Infinity', '-9223372036854775808'],
    ['NaN', '0'],
  ])('I: %j -> %s', (raw, printed) => {
    expect(formatValue(raw, 'I')).toBe(printed);
  });

  it.each([
    ['1', '1.000'],
    ['-2.5', '-2.500'],
    ['3.14159', '3.142'],
    ['2.0005', '2.001'], // the double is just above ...0005
    ['0.0625', '0.062'], // an exact tie rounds to even, as glibc's printf does
    ['0.1875', '0.188'],
    ['-0.0001', '-0.000'],
    ['-0', '-0.000'],
    ['1e21', '1000000000000000000000.000'],
    ['t', '1.000'],
    ['f', '0.000'],
    ['abc', '0.000'],
    ['Infinity', 'inf'],
    ['-Infinity', '-inf'],
    ['NaN', 'nan'],
  ])('R: %j -> %s', (raw, printed) => {
    expect(formatValue(raw, 'R')).toBe(printed);
  });

  it.each([
    ['hello world', 'hello world'],
    ['~!', '~!'],
    ['a\tb\nc', 'a@b@c'],
    ['é', '@@'], // per byte of UTF-8
    ['1.9', '1.9'],
    ['t', 't'],
  ])('T: %j -> %s', (raw, printed) => {
    expect(formatValue(raw, 'T')).toBe(printed);
  });
});

describe('printfFixed3', () => {
  it('matches exact decimal rounding on many values', () => {
    // Values whose binary form is far from a tie: toFixed agrees with printf there.
    for (const x of [0, 1 / 3, -2 / 3, 123.4567, 1e-7, 5e15 + 0.25, -98765.4321]) {
      expect(printfFixed3(x)).toBe(x.toFixed(3) === '-0.000' ? '-0.000' : x.toFixed(3));
    }
    expect(printfFixed3(Number.MIN_VALUE)).toBe('0.000');
    expect(printfFixed3(Number.MAX_VALUE)).toMatch(/^17976931348623157\d{292}\.000$/);
  });
});
