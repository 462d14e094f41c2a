/**
 * Raw-protocol helpers shared by the client compatibility tests: a trust-mode RawClient
 * logged in as root on defaultdb, the type OIDs, and small binary encoders written from
 * PostgreSQL's send/recv documentation (independent of gateway/sql/types/binary-format).
 */
import { RawClient } from '../../../gateway/pgwire/test-support/raw-client';

export const Oid = {
  bool: 16,
  bytea: 17,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  float4: 700,
  float8: 701,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  numeric: 1700,
  uuid: 2950,
  jsonb: 3802,
} as const;

export async function rawReady(port: number): Promise<RawClient> {
  const { client } = await RawClient.ready(port, { user: 'root', database: 'defaultdb' });
  return client;
}

export const bin = {
  bool: (v: boolean): Buffer => Buffer.from([v ? 1 : 0]),
  int2: (v: number): Buffer => {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    return b;
  },
  int4: (v: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    return b;
  },
  int8: (v: bigint): Buffer => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(v);
    return b;
  },
  float4: (v: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeFloatBE(v);
    return b;
  },
  float8: (v: number): Buffer => {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(v);
    return b;
  },
  /** numeric_send: ndigits, weight, sign, dscale, then base-10000 digits. */
  numeric: (ndigits: readonly number[], weight: number, sign: number, dscale: number): Buffer => {
    const b = Buffer.alloc(8 + 2 * ndigits.length);
    b.writeUInt16BE(ndigits.length, 0);
    b.writeInt16BE(weight, 2);
    b.writeUInt16BE(sign, 4);
    b.writeUInt16BE(dscale, 6);
    ndigits.forEach((d, i) => b.writeUInt16BE(d, 8 + 2 * i));
    return b;
  },
  text: (v: string): Buffer => Buffer.from(v, 'utf8'),
  /** Days since 2000-01-01. */
  date: (days: number): Buffer => bin.int4(days),
  /** Microseconds since 2000-01-01 00:00:00 (UTC for timestamptz). */
  timestamp: (micros: bigint): Buffer => bin.int8(micros),
  interval: (micros: bigint, days: number, months: number): Buffer => Buffer.concat([bin.int8(micros), bin.int4(days), bin.int4(months)]),
  uuid: (v: string): Buffer => Buffer.from(v.replace(/-/g, ''), 'hex'),
  jsonb: (v: string): Buffer => Buffer.concat([Buffer.from([1]), Buffer.from(v, 'utf8')]),
};

/** Rejects after `ms` if `promise` has not settled: a hang is a failure, not a stuck run. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
