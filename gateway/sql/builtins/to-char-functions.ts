import { Numeric } from '../types/numeric';
import { flt, int, ivl, num, str, ts } from './datum-access';
import type { ScalarDef } from './registry';
import { toCharInterval, toCharNumber, toCharTimestamp, toCharTimestamptz } from './to-char';

/** to_char's overloads (the formatting itself is in to-char.ts). */
export const toCharFunctions: readonly ScalarDef[] = [
  { name: 'to_char', args: ['timestamp', 'text'], result: 'text', volatility: 'stable', impl: (a) => toCharTimestamp(ts(a[0]), str(a[1])) },
  {
    name: 'to_char',
    args: ['timestamptz', 'text'],
    result: 'text',
    volatility: 'stable',
    impl: (a, ctx) => toCharTimestamptz(ts(a[0]), str(a[1]), ctx.timeZone),
  },
  { name: 'to_char', args: ['interval', 'text'], result: 'text', volatility: 'stable', impl: (a) => toCharInterval(ivl(a[0]), str(a[1])) },
  { name: 'to_char', args: ['numeric', 'text'], result: 'text', volatility: 'stable', impl: (a) => toCharNumber(num(a[0]), str(a[1])) },
  {
    name: 'to_char',
    args: ['int4', 'text'],
    result: 'text',
    volatility: 'stable',
    impl: (a) => toCharNumber(Numeric.fromBigInt(int(a[0])), str(a[1])),
  },
  {
    name: 'to_char',
    args: ['int8', 'text'],
    result: 'text',
    volatility: 'stable',
    impl: (a) => toCharNumber(Numeric.fromBigInt(int(a[0])), str(a[1])),
  },
  {
    name: 'to_char',
    args: ['float4', 'text'],
    result: 'text',
    volatility: 'stable',
    impl: (a) => toCharNumber(Numeric.fromNumber(flt(a[0]), 6), str(a[1])),
  },
  {
    name: 'to_char',
    args: ['float8', 'text'],
    result: 'text',
    volatility: 'stable',
    impl: (a) => toCharNumber(Numeric.fromNumber(flt(a[0])), str(a[1])),
  },
];
