/**
 * Transactions on a three-node cluster of real cairn-node processes, over ranges split
 * apart: atomic multi-range commits and rollbacks, the classic anomalies (lost update,
 * write skew) prevented, readers never blocking writers, deadlocks (of two and of three)
 * broken, an abandoned transaction aborted by whoever meets its intents while one whose
 * commit waits is not, a staged (parallel) commit whose coordinator vanished decided by
 * whoever meets its intents, parallel commits leaving no records behind (their intents
 * resolved in the background, as the nodes' metrics show), and a bounded
 * wait.
 */
import { randomBytes } from 'node:crypto';
import { metricTotal } from '../../common/metrics';
import { KvClient, LockWaitTimeoutError } from '../../kv';
import type { Txn } from '../../kv';
import * as pb from '../../proto/gen/cairn/kv/v1/kv';
import type { TestCluster } from '../support/test-cluster';
import { startTestCluster, stopTestCluster } from '../support/test-cluster';

jest.setTimeout(180_000);

const key = (name: string): Buffer => Buffer.from(`user/txn/${name}`);
const int = (value: Buffer | undefined): number => (value === undefined ? 0 : Number(value.toString()));
const buf = (n: number | string): Buffer => Buffer.from(String(n));

describe('transactions across ranges', () => {
  let running: TestCluster | undefined;
  let kv: KvClient;

  beforeAll(async () => {
    running = await startTestCluster('txn', { nodes: 3 });
    kv = running.kv;
    // Three ranges under the test's keys: [.., c), [c, m), [m, ..).
    await kv.adminSplit(key('c'));
    await kv.adminSplit(key('m'));
  });

  afterAll(async () => {
    await stopTestCluster(running);
  });

  test('a transaction over three ranges commits all of its writes or none', async () => {
    const a = key('a1');
    const f = key('f1');
    const t = key('t1');
    await kv.txn(async (txn) => {
      await txn.put(a, buf('A'));
      await txn.put(f, buf('F'));
      await txn.put(t, buf('T'));
    });
    expect((await kv.get(a))?.toString()).toBe('A');
    expect((await kv.get(f))?.toString()).toBe('F');
    expect((await kv.get(t))?.toString()).toBe('T');

    const rolledBack = kv.beginTxn();
    await rolledBack.put(a, buf('A2'));
    await rolledBack.put(t, buf('T2'));
    // Reading its own write sends the writes out as intents first.
    expect((await rolledBack.get(t))?.toString()).toBe('T2');
    await rolledBack.rollback();
    expect((await kv.get(a))?.toString()).toBe('A');
    expect((await kv.get(t))?.toString()).toBe('T');
  });

  test('a transaction reads its own writes and scans across ranges at one snapshot', async () => {
    const keys = ['b2', 'k2', 'x2'].map(key);
    await kv.txn(async (txn) => {
      for (const k of keys) await txn.put(k, buf(k.toString()));
      const rows = await txn.scan(key('b2'), key('y'));
      expect(rows.rows.map((r) => r.key.toString())).toEqual(expect.arrayContaining(keys.map((k) => k.toString())));
    });
    const seen = await kv.txn((txn) => txn.scan(key('b2'), key('x3')));
    const mine = seen.rows.map((r) => r.key.toString()).filter((k) => k.endsWith('2'));
    expect(mine).toEqual(keys.map((k) => k.toString()));
  });

  test('concurrent increments of one counter lose no update', async () => {
    const counter = key('d-counter');
    const clients = 8;
    const each = 5;
    await Promise.all(
      Array.from({ length: clients }, async () => {
        for (let i = 0; i < each; i++) {
          await kv.txn(async (txn) => {
            const value = int(await txn.get(counter));
            await txn.put(counter, buf(value + 1));
          });
        }
      }),
    );
    expect(int(await kv.get(counter))).toBe(clients * each);
  });

  test('locking reads make read-modify-write transactions wait their turn instead of retrying', async () => {
    const counter = key('d-locked-counter');
    const clients = 8;
    const each = 5;
    let retries = 0;
    await Promise.all(
      Array.from({ length: clients }, async () => {
        for (let i = 0; i < each; i++) {
          await kv.txn(
            async (txn) => {
              const value = int(await txn.get(counter, { forUpdate: true }));
              await txn.put(counter, buf(value + 1));
            },
            { onRetry: () => retries++ },
          );
        }
      }),
    );
    expect(int(await kv.get(counter))).toBe(clients * each);
    // Each waited for the lock and read the latest value after it; none had to start over.
    expect(retries).toBe(0);
  });

  test('write skew is prevented: two doctors cannot both go off call', async () => {
    for (let round = 0; round < 6; round++) {
      const alice = key(`e-doctor-alice-${round}`);
      const bob = key(`p-doctor-bob-${round}`);
      await kv.put(alice, buf('on'));
      await kv.put(bob, buf('on'));
      const goOffCall = (me: Buffer): Promise<void> =>
        kv.txn(async (txn) => {
          const [a, b] = await txn.getMany([alice, bob]);
          const onCall = [a, b].filter((v) => v?.toString() === 'on').length;
          if (onCall >= 2) await txn.put(me, buf('off'));
        });
      await Promise.all([goOffCall(alice), goOffCall(bob)]);
      const states = [(await kv.get(alice))?.toString(), (await kv.get(bob))?.toString()];
      expect(states).toContain('on');
    }
  });

  test('a locking multi-get locks only the keys after its unlocked leading ones', async () => {
    const plain = key('c-unlocked-plain');
    const locked = key('c-unlocked-locked');
    await kv.put(plain, buf(0));
    await kv.put(locked, buf(0));
    const holder = kv.beginTxn();
    expect((await holder.getMany([plain, locked], { forUpdate: true, unlockedLeadingKeys: 1 })).map(int)).toEqual([0, 0]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The leading key was read, not locked: its writer goes ahead.
    await kv.txn(async (txn) => txn.put(plain, buf(1)));
    // The other was locked: its writer waits for the holder.
    let written = false;
    const writer = kv.txn(async (txn) => txn.put(locked, buf(1))).then(() => {
      written = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(written).toBe(false);
    await holder.commit();
    await writer;
    expect([int(await kv.get(plain)), int(await kv.get(locked))]).toEqual([1, 1]);
  });

  test('a long-running reader does not block writers, and keeps its snapshot', async () => {
    const k = key('g-reader');
    await kv.put(k, buf(1));
    const reader = kv.beginTxn();
    expect(int(await reader.get(k))).toBe(1);
    // Past the reader's uncertainty interval (the maximum clock offset), later writes
    // are plainly after it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    for (let i = 2; i <= 5; i++) {
      await kv.txn(async (txn) => {
        await txn.put(k, buf(i));
      });
    }
    // The writers were pushed above the reader's timestamp, not made to wait for it.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(int(await reader.get(k))).toBe(1);
    await reader.commit();
    expect(int(await kv.get(k))).toBe(5);
  });

  test('a deadlock between two transactions is broken and both finish', async () => {
    const x = key('h-deadlock-x');
    const y = key('q-deadlock-y');
    await kv.put(x, buf(0));
    await kv.put(y, buf(0));
    let bothHoldOne!: () => void;
    let holding = 0;
    const barrier = new Promise<void>((resolve) => {
      bothHoldOne = resolve;
    });
    const writeBoth = (first: Buffer, second: Buffer): Promise<void> =>
      kv.txn(async (txn: Txn) => {
        await txn.put(first, buf(1));
        await txn.get(first); // sends the intent now
        if (++holding === 2) bothHoldOne();
        await Promise.race([barrier, new Promise((resolve) => setTimeout(resolve, 2_000))]);
        await txn.put(second, buf(1));
        await txn.get(second);
      });
    const started = Date.now();
    await Promise.all([writeBoth(x, y), writeBoth(y, x)]);
    // Broken by deadlock detection, well before an expiry (5 s) or deadline (10 s) would.
    expect(Date.now() - started).toBeLessThan(9_000);
    expect(int(await kv.get(x))).toBe(1);
    expect(int(await kv.get(y))).toBe(1);
  });

  test('a deadlock among three transactions is broken and all finish', async () => {
    // Each holds one key and then wants the next one's: a cycle of three, which no
    // pair of pushers sees on its own.
    const keys = [key('e-cycle'), key('j-cycle'), key('v-cycle')];
    for (const k of keys) await kv.put(k, buf(0));
    let holding = 0;
    let allHoldOne!: () => void;
    const barrier = new Promise<void>((resolve) => {
      allHoldOne = resolve;
    });
    const takeTwo = (first: Buffer, second: Buffer): Promise<void> =>
      kv.txn(async (txn: Txn) => {
        await txn.put(first, buf(1));
        await txn.get(first);
        if (++holding === keys.length) allHoldOne();
        await Promise.race([barrier, new Promise((resolve) => setTimeout(resolve, 2_000))]);
        await txn.put(second, buf(1));
        await txn.get(second);
      });
    const started = Date.now();
    await Promise.all(keys.map((k, i) => takeTwo(k, keys[(i + 1) % keys.length] as Buffer)));
    expect(Date.now() - started).toBeLessThan(9_000);
    for (const k of keys) expect(int(await kv.get(k))).toBe(1);
  });

  test('a transaction whose commit waits for a lock past the expiry is not taken for abandoned', async () => {
    const anchor = key('a-slow-commit');
    const other = key('x-slow-commit');
    const blocker = kv.beginTxn();
    await blocker.put(anchor, buf('blocker'));
    await blocker.get(anchor);
    // The commit lays its intent on the other range at once, and its EndTxn waits
    // behind the blocker on the anchor's.
    const slow = kv.beginTxn();
    await slow.put(anchor, buf('slow'));
    await slow.put(other, buf('slow'));
    const slowCommit = slow.commit();
    await new Promise((resolve) => setTimeout(resolve, 300));
    // A writer meets that intent and pushes its owner, which must count as alive.
    const laterWriter = kv.txn(async (txn) => {
      await txn.put(other, buf('later'));
      await txn.get(other);
    });
    await new Promise((resolve) => setTimeout(resolve, 6_500));
    await blocker.commit();
    await expect(slowCommit).resolves.toBeUndefined();
    await laterWriter;
    expect((await kv.get(anchor))?.toString()).toBe('slow');
    expect((await kv.get(other))?.toString()).toBe('later');
  });

  test('a transaction whose retry fails releases its locks at once', async () => {
    const k = key('p-retry-fails');
    await kv.put(k, buf(0));
    const failure = new Error('the retry hook failed');
    let first = true;
    const attempt = kv.txn(
      async (txn) => {
        const seen = int(await txn.get(k));
        if (first) {
          first = false;
          // Written since the read: the commit cannot refresh it, and must retry.
          await kv.put(k, buf(100));
        }
        await txn.put(k, buf(seen + 1));
      },
      {
        onRetry: () => {
          throw failure;
        },
      },
    );
    await expect(attempt).rejects.toBe(failure);
    // Nothing of it holds the key: a writer with a short deadline gets through.
    const impatient = await KvClient.connect({ addresses: running?.cluster.addresses ?? [], requestTimeoutMs: 2_000 });
    try {
      await impatient.txn(async (txn) => {
        await txn.put(k, buf('after'));
        await txn.get(k);
      });
    } finally {
      await impatient.close();
    }
    expect((await kv.get(k))?.toString()).toBe('after');
  });

  test('an abandoned transaction is aborted by the next writer, and its write never shows', async () => {
    const k = key('r-abandoned');
    await kv.put(k, buf('before'));
    const abandoned = kv.beginTxn({ heartbeat: false });
    await abandoned.put(k, buf('abandoned'));
    expect((await abandoned.get(k))?.toString()).toBe('abandoned');
    // The coordinator vanishes: no heartbeat, no commit. A writer waits for its expiry.
    await kv.txn(async (txn) => {
      await txn.put(k, buf('after'));
      await txn.get(k);
    });
    expect((await kv.get(k))?.toString()).toBe('after');
    await expect(abandoned.commit()).rejects.toMatchObject({ code: 'TXN_ABORTED' });
  });

  /** A transaction header as a coordinator sends it, anchored on `anchor`, at the present. */
  function rawTxn(anchor: Buffer): pb.Transaction {
    const now = { wallTime: BigInt(Date.now()) * 1_000_000n, logical: 0 };
    return {
      meta: { id: randomBytes(16), anchorKey: anchor, epoch: 0, writeTimestamp: now, minTimestamp: now, priority: 100, sequence: 0 },
      status: pb.TransactionStatus.TRANSACTION_STATUS_PENDING,
      readTimestamp: now,
      uncertaintyLimit: now,
      lockSpans: [],
      inFlightWrites: [],
    };
  }
  const rawPut = (k: Buffer, value: string): pb.RequestUnion => ({ request: { $case: 'put', value: { key: k, value: buf(value) } } });
  const stagedCommit = (anchor: Buffer, writes: Buffer[]): pb.RequestUnion => ({
    request: {
      $case: 'endTxn',
      value: { key: anchor, commit: true, lockSpans: writes.map((w) => ({ startKey: w, endKey: Buffer.concat([w, Buffer.from([0])]) })), refreshSpans: [], inFlightWrites: writes },
    },
  });

  test('a staged commit whose coordinator vanished is committed by whoever meets it when all its writes are in place', async () => {
    const a = key('a-staged');
    const t = key('t-staged');
    const txn = rawTxn(a);
    // Writes on two ranges and the staged commit, in parallel; then the coordinator is gone.
    const responses = await kv.batch([rawPut(a, 'A'), rawPut(t, 'T'), stagedCommit(a, [a, t])], { txn });
    const answer = responses[2]?.response;
    expect(answer?.$case === 'endTxn' && answer.value.txn?.status).toBe(pb.TransactionStatus.TRANSACTION_STATUS_STAGING);
    // A reader waits for the record to expire, finds both writes, records the commit.
    expect((await kv.get(t))?.toString()).toBe('T');
    expect((await kv.get(a))?.toString()).toBe('A');
  });

  test('a staged commit with a write missing is aborted by whoever meets it, and the write can no longer land', async () => {
    const a = key('a-missing');
    const t = key('t-missing');
    await kv.put(a, buf('before'));
    await kv.put(t, buf('before'));
    const txn = rawTxn(a);
    // The write of t never arrived (yet).
    await kv.batch([rawPut(a, 'A'), stagedCommit(a, [a, t])], { txn });
    expect((await kv.get(a))?.toString()).toBe('before');
    // The late write lands above the staged timestamp, and the transaction stays aborted.
    await kv.batch([rawPut(t, 'late')], { txn }).catch(() => undefined);
    await expect(kv.batch([stagedCommit(a, [])], { txn })).rejects.toMatchObject({ code: 'TXN_ABORTED' });
    expect((await kv.get(t))?.toString()).toBe('before');
  });

  test('parallel commits finishing together leave no records behind once their intents are resolved', async () => {
    // Their records are made COMMITTED in shared batches (one RecoverTxn each); every
    // one of them must then have its intent elsewhere resolved and its record removed.
    // A range's timestamp cache starts the maximum clock offset ahead of a new lease: a
    // write there until then is pushed, and its commit made explicit instead. Wait for
    // the leases to settle: until a transaction over both ranges commits where it began.
    const settled = Date.now() + 30_000;
    for (let probe = 0; ; probe++) {
      const txn = kv.beginTxn();
      const began = txn.readTimestamp;
      await txn.put(key(`a-probe-${probe}`), buf('A'));
      await txn.put(key(`t-probe-${probe}`), buf('T'));
      await txn.commit();
      if (txn.commitTimestamp?.wallTime === began.wallTime || Date.now() > settled) break;
    }
    const txns = Array.from({ length: 40 }, (_, i) => ({ a: key(`a-together-${i}`), t: key(`t-together-${i}`), txn: kv.beginTxn() }));
    await Promise.all(
      txns.map(async ({ a, t, txn }) => {
        await txn.put(a, buf('A'));
        await txn.put(t, buf('T'));
        await txn.commit();
      }),
    );
    const remaining = async (): Promise<number> => {
      const responses = await kv.batch(txns.map(({ a, txn }) => ({ request: { $case: 'queryTxn', value: { key: a, txnId: txn.txnId } } })));
      return responses.filter((r) => r.response?.$case === 'queryTxn' && r.response.value.txn !== undefined).length;
    };
    const deadline = Date.now() + 20_000;
    let left = await remaining();
    while (left > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      left = await remaining();
    }
    expect(left).toBe(0);
    for (const { a, t } of txns.slice(0, 3)) {
      expect((await kv.get(a))?.toString()).toBe('A');
      expect((await kv.get(t))?.toString()).toBe('T');
    }
    // The anchors' nodes resolved the intents on the other range in the background, and
    // their metrics say so: none given up or dropped.
    const total = async (name: string, labels: Record<string, string> = {}): Promise<number> => {
      let sum = 0;
      for (const node of (running as TestCluster).cluster.nodes) {
        sum += metricTotal(await (await fetch(`http://${node.httpAddress}/metrics`)).text(), name, labels);
      }
      return sum;
    };
    expect(await total('cairn_intent_resolver_intents_resolved_total')).toBeGreaterThanOrEqual(txns.length);
    expect(await total('cairn_intent_resolver_txns_total', { outcome: 'resolved' })).toBeGreaterThanOrEqual(txns.length);
    expect(await total('cairn_intent_resolver_txns_total', { outcome: 'gave_up' })).toBe(0);
    expect(await total('cairn_intent_resolver_txns_total', { outcome: 'dropped' })).toBe(0);
  });

  test('a request waiting on a live transaction gives up at its deadline with a clear error', async () => {
    const k = key('s-held');
    const holder = kv.beginTxn();
    await holder.put(k, buf('held'));
    await holder.get(k);
    const impatient = await KvClient.connect({ addresses: running?.cluster.addresses ?? [], requestTimeoutMs: 1_500 });
    try {
      const error = await impatient.get(k).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(LockWaitTimeoutError);
      expect((error as LockWaitTimeoutError).sqlState).toBe('55P03');
    } finally {
      await impatient.close();
    }
    await holder.commit();
    expect((await kv.get(k))?.toString()).toBe('held');
  });
});
