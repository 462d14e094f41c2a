/**
 * What the KV and transaction benchmarks' workloads are made of: keys, values, a
 * seeded random source, and settings from the environment.
 */
import { randomBytes } from 'node:crypto';

/** Key `i` of a keyspace: fixed width, so that key order is number order. */
export function benchKey(prefix: string, i: number): Buffer {
  return Buffer.from(`${prefix}${String(i).padStart(9, '0')}`);
}

/** Incompressible values without a random draw per write: slices of a random pool. */
export class ValuePool {
  private readonly pool = randomBytes(4 * 1024 * 1024);

  constructor(private readonly valueBytes: number) {}

  next(random: () => number): Buffer {
    const offset = Math.floor(random() * (this.pool.length - this.valueBytes));
    return this.pool.subarray(offset, offset + this.valueBytes);
  }
}

/** xorshift32: seeded, so a run's key sequence can be repeated. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 0x9e3779b9;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x1_0000_0000;
  };
}

/** A whole number from the environment, or `fallback` when unset. */
export function envNumber(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') {
    return fallback;
  }
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${name} needs a whole number, not '${text}'`);
  }
  return value;
}

/** A comma-separated list of positive whole numbers (concurrencies) from the environment. */
export function envConcurrencies(name: string, fallback: readonly number[]): readonly number[] {
  const text = process.env[name];
  if (text === undefined || text === '') {
    return fallback;
  }
  const values = text.split(',').map(Number);
  if (values.some((c) => !Number.isInteger(c) || c < 1)) {
    throw new Error(`${name} needs whole numbers separated by commas, not '${text}'`);
  }
  return values;
}
