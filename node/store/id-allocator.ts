import type { KvClient } from '../../kv';
import { ConditionFailedError } from '../../kv';

/**
 * Takes the next ID from a cluster-wide counter (an 8-byte big-endian value under
 * `counterKey`): read, then a conditional put of the value plus one, again on a race.
 */
export async function allocateId(kv: KvClient, counterKey: Buffer): Promise<number> {
  for (;;) {
    const current = await kv.get(counterKey);
    const next = Buffer.alloc(8);
    next.writeBigUInt64BE((current === undefined ? 0n : current.readBigUInt64BE(0)) + 1n);
    try {
      await kv.conditionalPut(counterKey, next, current);
      return Number(next.readBigUInt64BE(0));
    } catch (err) {
      if (!(err instanceof ConditionFailedError)) throw err;
    }
  }
}
