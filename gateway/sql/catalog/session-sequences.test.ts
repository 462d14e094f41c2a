import { SqlError } from '../../../common/errors';
import { sqlSequenceValueKey } from '../../../common/keys';
import { ConditionFailedError, isRetryableTxnError } from '../../../kv';
import { MemoryTxn } from '../virtual/test-support';
import type { TxnLike } from './catalog';
import type { Descriptor, SequenceDescriptor } from './descriptors';
import { resolveSequenceOptions } from './sequence-options';
import { decodeSequenceState, startState } from './sequence-values';
import type { SequenceCatalog } from './session-sequences';
import { SessionSequences } from './session-sequences';

/**
 * SessionSequences over an in-memory store: the built-ins stay synchronous while values
 * are reserved around them, statements run again only while they have written nothing,
 * and no value is handed out twice.
 */

const SEQ_ID = 500;

function sequence(changes: Parameters<typeof resolveSequenceOptions>[0] = {}, id = SEQ_ID): SequenceDescriptor {
  return { kind: 'sequence', id, name: `s${id}`, version: 1, parentId: 1, schemaId: 2, ...resolveSequenceOptions(changes).options };
}

/** Single-key reads and an atomic compare-and-set, as the KV client's (outside transactions). */
class MemoryKv {
  private readonly data = new Map<string, Buffer>();
  gets = 0;

  async get(key: Uint8Array): Promise<Buffer | undefined> {
    this.gets++;
    return this.data.get(Buffer.from(key).toString('hex'));
  }

  async conditionalPut(key: Uint8Array, value: Uint8Array, expected: Uint8Array | undefined): Promise<void> {
    const k = Buffer.from(key).toString('hex');
    const actual = this.data.get(k);
    const same = actual === undefined || expected === undefined ? actual === expected : actual.equals(Buffer.from(expected));
    if (!same) throw new ConditionFailedError(actual);
    this.data.set(k, Buffer.from(value));
  }
}

class Fixture {
  readonly kv = new MemoryKv();
  readonly txn = new MemoryTxn();
  readonly descriptors = new Map<number, Descriptor>();
  readonly catalog: SequenceCatalog = {
    generation: 0,
    descriptor: async (_txn: TxnLike, id: number) => this.descriptors.get(id),
  };

  constructor(...seqs: SequenceDescriptor[]) {
    for (const s of seqs) this.descriptors.set(s.id, s);
  }

  session(): SessionSequences {
    return new SessionSequences(this.kv, this.catalog);
  }

  async stored(id = SEQ_ID): Promise<{ lastValue: bigint; isCalled: boolean } | undefined> {
    const raw = await this.kv.get(sqlSequenceValueKey(id));
    if (raw === undefined) return undefined;
    const { lastValue, isCalled } = decodeSequenceState(raw);
    return { lastValue, isCalled };
  }
}

/** Runs `body` as a statement; counts how many times it ran. */
async function statement<T>(seqs: SessionSequences, txn: TxnLike, key: string, body: (txn: TxnLike) => Promise<T> | T): Promise<{ result: T; runs: number }> {
  let runs = 0;
  const result = await seqs.runStatement(key, txn, async (t) => {
    runs++;
    return body(t);
  });
  return { result, runs };
}

async function sqlError(p: Promise<unknown>): Promise<{ code: string; message: string } | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    if (err instanceof SqlError) return { code: err.sqlState, message: err.message };
    throw err;
  }
}

describe('nextval', () => {
  test('the first run stops for values; the statement text remembers what it took', async () => {
    const f = new Fixture(sequence());
    const seqs = f.session();
    const first = await statement(seqs, f.txn, 'q', () => seqs.nextval(SEQ_ID));
    expect(first).toEqual({ result: 1n, runs: 2 });
    const again = await statement(seqs, f.txn, 'q', () => seqs.nextval(SEQ_ID));
    expect(again).toEqual({ result: 2n, runs: 1 });
    expect(await f.stored()).toEqual({ lastValue: 2n, isCalled: true });
  });

  test('runs that stopped hand out the same values again: 1..n without gaps', async () => {
    const f = new Fixture(sequence());
    const seqs = f.session();
    const { result, runs } = await statement(seqs, f.txn, 'q', () => Array.from({ length: 100 }, () => seqs.nextval(SEQ_ID)));
    expect(result).toEqual(Array.from({ length: 100 }, (_, i) => BigInt(i + 1)));
    expect(runs).toBeLessThanOrEqual(6);
    // CACHE 1: what was reserved beyond 100 went back.
    expect(await f.stored()).toEqual({ lastValue: 100n, isCalled: true });
    expect((await statement(seqs, f.txn, 'other', () => seqs.nextval(SEQ_ID))).result).toBe(101n);
  });

  test('values are reserved before each KV operation, so a writing statement does not run dry', async () => {
    const f = new Fixture(sequence());
    const seqs = f.session();
    const { result, runs } = await statement(seqs, f.txn, 'q', async (t) => {
      const got: bigint[] = [];
      for (let i = 0; i < 300; i++) {
        got.push(seqs.nextval(SEQ_ID));
        await t.put(Buffer.from(`row${i}`), Buffer.from('x'));
      }
      return got;
    });
    expect(new Set(result).size).toBe(300);
    expect(result[0]).toBe(1n);
    expect(runs).toBe(2);
  });

  test('running dry after a write is a retryable error; the next attempt reserves enough', async () => {
    const f = new Fixture(sequence());
    const seqs = f.session();
    // Nothing between the write and the burst of calls lets values be reserved.
    const body = async (t: TxnLike): Promise<bigint[]> => {
      const got = [seqs.nextval(SEQ_ID)];
      await t.put(Buffer.from('row'), Buffer.from('x'));
      for (let i = 0; i < 10; i++) got.push(seqs.nextval(SEQ_ID));
      return got;
    };
    // As the session does outside BEGIN: retry while the error says so.
    let retries = 0;
    let result: bigint[] | undefined;
    while (result === undefined) {
      try {
        result = (await statement(seqs, f.txn, 'burst', body)).result;
      } catch (err) {
        expect(isRetryableTxnError(err)).toBe(true);
        retries++;
      }
    }
    expect(retries).toBeGreaterThanOrEqual(1);
    expect(retries).toBeLessThanOrEqual(2);
    // The failed attempts' values are gone for good (their writes were discarded with them).
    expect(Math.min(...result.map(Number))).toBeGreaterThan(1);
    expect(new Set(result).size).toBe(11);
  });

  test('two sessions interleaving never get the same value', async () => {
    const f = new Fixture(sequence());
    const a = f.session();
    const b = f.session();
    const got: bigint[] = [];
    await Promise.all(
      [a, b].map(async (s) => {
        for (let i = 0; i < 50; i++) got.push((await statement(s, f.txn, 'q', () => s.nextval(SEQ_ID))).result);
      }),
    );
    expect(new Set(got).size).toBe(100);
    expect([...got].sort((x, y) => (x < y ? -1 : 1))).toEqual(Array.from({ length: 100 }, (_, i) => BigInt(i + 1)));
  });

  test('a session that wrote the value last reserves without reading it first', async () => {
    const f = new Fixture(sequence());
    const seqs = f.session();
    await statement(seqs, f.txn, 'q', () => seqs.nextval(SEQ_ID));
    const gets = f.kv.gets;
    for (let i = 0; i < 5; i++) await statement(seqs, f.txn, 'q', () => seqs.nextval(SEQ_ID));
    expect(f.kv.gets).toBe(gets);
    // Another session moved it: the compare-and-set fails and the value it found is used.
    const other = f.session();
    expect((await statement(other, f.txn, 'q', () => other.nextval(SEQ_ID))).result).toBe(7n);
    expect((await statement(seqs, f.txn, 'q', () => seqs.nextval(SEQ_ID))).result).toBe(8n);
  });

  test('reading a descriptor again after a catalog change reserves no more than asked', async () => {
    const f = new Fixture(sequence());
    const seqs = f.session();
    for (let i = 1; i <= 3; i++) {
      f.catalog.generation++;
      // Inside the statement, the store shows what was reserved for it.
      const { result } = await statement(seqs, f.txn, 'q', async () => ({ value: seqs.nextval(SEQ_ID), stored: await f.stored() }));
      expect(result).toEqual({ value: BigInt(i), stored: { lastValue: BigInt(i), isCalled: true } });
    }
  });

  test('CACHE n: the session keeps what it reserved for its next statements', async () => {
    const f = new Fixture(sequence({ cache: 5n }));
    const a = f.session();
    const b = f.session();
    expect((await statement(a, f.txn, 'q', () => a.nextval(SEQ_ID))).result).toBe(1n);
    expect((await statement(b, f.txn, 'q', () => b.nextval(SEQ_ID))).result).toBe(6n);
    expect((await statement(a, f.txn, 'q', () => a.nextval(SEQ_ID))).result).toBe(2n);
    expect(await f.stored()).toEqual({ lastValue: 10n, isCalled: true });
  });

  test('the bound: 2200H from the call, and CYCLE wraps', async () => {
    const f = new Fixture(sequence({ maxValue: 3n }), sequence({ maxValue: 3n, cycle: true }, 501));
    const seqs = f.session();
    expect(await sqlError(statement(seqs, f.txn, 'q', () => [1, 2, 3, 4].map(() => seqs.nextval(SEQ_ID))))).toEqual({
      code: '2200H',
      message: 'nextval: reached maximum value of sequence "s500" (3)',
    });
    const cycled = await statement(seqs, f.txn, 'c', () => [1, 2, 3, 4, 5, 6, 7].map(() => seqs.nextval(501)));
    expect(cycled.result).toEqual([1n, 2n, 3n, 1n, 2n, 3n, 1n]);
  });
});

describe('currval, lastval, setval', () => {
  test('currval and lastval follow nextval; before it, 55000', async () => {
    const f = new Fixture(sequence());
    const seqs = f.session();
    expect(await sqlError(statement(seqs, f.txn, 'c', () => seqs.currval(SEQ_ID)))).toEqual({
      code: '55000',
      message: 'currval of sequence "s500" is not yet defined in this session',
    });
    expect(() => seqs.lastval()).toThrow('lastval is not yet defined in this session');
    await statement(seqs, f.txn, 'n', () => [seqs.nextval(SEQ_ID), seqs.nextval(SEQ_ID)]);
    expect((await statement(seqs, f.txn, 'c', () => seqs.currval(SEQ_ID))).result).toBe(2n);
    expect(seqs.lastval()).toBe(2n);
  });

  test('a run that stopped does not leave currval at a value it handed out', async () => {
    const f = new Fixture(sequence());
    const seqs = f.session();
    await statement(seqs, f.txn, 'n', () => seqs.nextval(SEQ_ID));
    // The second run of this statement starts over: currval is 1 then 2, not 3.
    const { result } = await statement(seqs, f.txn, 'nn', () => [seqs.currval(SEQ_ID), seqs.nextval(SEQ_ID), seqs.currval(SEQ_ID)]);
    expect(result).toEqual([1n, 2n, 2n]);
  });

  test('setval is stored when its statement ends and moves the next nextval', async () => {
    const f = new Fixture(sequence());
    const seqs = f.session();
    expect((await statement(seqs, f.txn, 'set', () => seqs.setval(SEQ_ID, 42n, true))).result).toBe(42n);
    expect(await f.stored()).toEqual({ lastValue: 42n, isCalled: true });
    expect((await statement(seqs, f.txn, 'next', () => seqs.nextval(SEQ_ID))).result).toBe(43n);
    await statement(seqs, f.txn, 'set2', () => seqs.setval(SEQ_ID, 7n, false));
    expect((await statement(seqs, f.txn, 'next', () => seqs.nextval(SEQ_ID))).result).toBe(7n);
    expect((await sqlError(statement(seqs, f.txn, 'both', () => [seqs.setval(SEQ_ID, 1n, true), seqs.nextval(SEQ_ID)])))?.code).toBe('0A000');
  });

  test('what is not a sequence, or no relation at all', async () => {
    const f = new Fixture(sequence());
    f.descriptors.set(600, { ...sequence(), kind: 'schema', id: 600, name: 'not_seq', version: 1, parentId: 1 } as unknown as Descriptor);
    const seqs = f.session();
    expect(await sqlError(statement(seqs, f.txn, 'a', () => seqs.nextval(600)))).toEqual({ code: '42809', message: '"not_seq" is not a sequence' });
    expect((await sqlError(statement(seqs, f.txn, 'b', () => seqs.nextval(601))))?.code).toBe('42P01');
  });

  test('outside a statement (COPY) the functions that need KV fail with 0A000', async () => {
    const f = new Fixture(sequence());
    const seqs = f.session();
    expect(() => seqs.nextval(SEQ_ID)).toThrow('sequence functions are not supported in COPY');
  });
});

describe('DDL hooks', () => {
  test('writeState sets the value; forget drops what the session held', async () => {
    const seq = sequence({ cache: 10n });
    const f = new Fixture(seq);
    const seqs = f.session();
    expect((await statement(seqs, f.txn, 'q', () => seqs.nextval(SEQ_ID))).result).toBe(1n);
    await seqs.writeState(seq, startState(100n));
    seqs.forget(SEQ_ID);
    expect((await statement(seqs, f.txn, 'q', () => seqs.nextval(SEQ_ID))).result).toBe(100n);
    expect((await seqs.readState(seq)).lastValue).toBe(109n);
  });
});
