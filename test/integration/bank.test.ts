/**
 * The bank test: ten accounts over three ranges of a three-node cluster of real
 * cairn-node processes; sixteen clients move money between random accounts in
 * transactions while readers sum every account, and nodes are killed (SIGKILL) and
 * restarted one after another. Every read of all accounts sees the same total, and the
 * total at the end is the one at the start: no transfer is half applied, none lost.
 */
import { CairnError } from '../../common/errors';
import type { KvClient } from '../../kv';
import { AmbiguousResultError, KvClient as Client } from '../../kv';
import type { TestCluster } from '../support/test-cluster';
import { startTestCluster, stopTestCluster } from '../support/test-cluster';
import { eventually } from '../support/eventually';

jest.setTimeout(240_000);

const ACCOUNTS = 10;
const INITIAL = 1_000;
const TRANSFER_CLIENTS = 16;
const READERS = 2;

const account = (i: number): Buffer => Buffer.from(`user/bank/${String(i).padStart(2, '0')}`);
const START = Buffer.from('user/bank/');
const END = Buffer.from('user/bank0');
const amountOf = (value: Buffer | undefined): number => (value === undefined ? 0 : Number(value.toString()));

describe('the bank: transfers under node failures', () => {
  let running: TestCluster | undefined;

  beforeAll(async () => {
    running = await startTestCluster('bank', { nodes: 3 });
  });

  afterAll(async () => {
    await stopTestCluster(running);
  });

  test('every read sees the same total, and the final total is the initial one', async () => {
    const { cluster, kv, admin } = running as TestCluster;
    // Killing a node must not cost any range its quorum: wait for three voters each.
    await eventually('every range on three voters', async () => {
      const { ranges } = await admin.ranges();
      return ranges.length >= 4 && ranges.every((r) => r.descriptor?.replicas.length === 3 && r.leaseholderNodeId > 0n) ? ranges : undefined;
    }, 90_000);
    await kv.adminSplit(account(3));
    await kv.adminSplit(account(7));
    await kv.txn(async (txn) => {
      for (let i = 0; i < ACCOUNTS; i++) await txn.put(account(i), Buffer.from(String(INITIAL)));
    });
    const expectedTotal = ACCOUNTS * INITIAL;

    // Each client has its own connection, as separate application servers would.
    const clients: KvClient[] = [];
    for (let i = 0; i < TRANSFER_CLIENTS + READERS; i++) {
      clients.push(await Client.connect({ addresses: cluster.addresses, requestTimeoutMs: 10_000 }));
    }
    let stop = false;
    let committed = 0;
    let ambiguous = 0;
    let failed = 0;
    const totals: number[] = [];
    const errors = new Map<string, number>();
    const noteError = (err: unknown): void => {
      const code = err instanceof CairnError ? `${err.code}: ${err.message.slice(0, 120)}` : String(err);
      errors.set(code, (errors.get(code) ?? 0) + 1);
    };

    // Half the clients lock the accounts they read (as an UPDATE would), half rely on
    // their commit's checks alone.
    const transferLoop = async (kvc: KvClient, forUpdate: boolean): Promise<void> => {
      while (!stop) {
        const from = Math.floor(Math.random() * ACCOUNTS);
        const to = (from + 1 + Math.floor(Math.random() * (ACCOUNTS - 1))) % ACCOUNTS;
        const amount = 1 + Math.floor(Math.random() * 20);
        try {
          await kvc.txn(
            async (txn) => {
              const [a, b] = await txn.getMany([account(from), account(to)], { forUpdate });
              const balance = amountOf(a);
              if (balance < amount) return;
              await txn.put(account(from), Buffer.from(String(balance - amount)));
              await txn.put(account(to), Buffer.from(String(amountOf(b) + amount)));
            },
            { maxAttempts: 20 },
          );
          committed++;
        } catch (err) {
          // A commit whose answer was lost may or may not have happened: either way
          // the money is conserved. Other failures (a range briefly without a lease)
          // must leave nothing behind; the checks below see to that.
          if (err instanceof AmbiguousResultError) ambiguous++;
          else failed++;
          noteError(err);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    };

    const readLoop = async (kvc: KvClient): Promise<void> => {
      while (!stop) {
        try {
          const rows = await kvc.txn((txn) => txn.scan(START, END));
          expect(rows.rows).toHaveLength(ACCOUNTS);
          totals.push(rows.rows.reduce((sum, row) => sum + amountOf(row.value), 0));
        } catch (err) {
          if (!(err instanceof CairnError)) throw err;
          noteError(err);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    };

    const workers = [
      ...clients.slice(0, TRANSFER_CLIENTS).map((c, i) => transferLoop(c, i % 2 === 0)),
      ...clients.slice(TRANSFER_CLIENTS).map((c) => readLoop(c)),
    ];
    try {
      const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
      await settle(3_000);
      const beforeKills = committed;
      expect(beforeKills).toBeGreaterThan(0);
      for (const victim of [2, 3, 1]) {
        await cluster.kill(victim, 'SIGKILL');
        await settle(4_000);
        await cluster.restart(victim);
        await settle(3_000);
      }
      const beforeEnd = committed;
      await settle(5_000);
      // Transfers go on once the cluster is whole again.
      expect(committed).toBeGreaterThan(beforeEnd);
    } finally {
      stop = true;
      await Promise.all(workers);
      await Promise.all(clients.map((c) => c.close()));
    }

    // A failed read is tried again; the last error is in the failure when none succeeds.
    const final = await eventually('a final read of all accounts', () => kv.txn((txn) => txn.scan(START, END)));
    const finalTotal = final.rows.reduce((sum, row) => sum + amountOf(row.value), 0);
    const summary = { committed, ambiguous, failed, reads: totals.length, errors: Object.fromEntries(errors) };
    expect({ ...summary, finalTotal }).toEqual({ ...summary, finalTotal: expectedTotal });
    // Readers wait behind the transfers' locks (a scan of every account meets some),
    // so they complete fewer reads than the writers commit transfers; each one counts.
    expect(totals.length).toBeGreaterThanOrEqual(3);
    expect(totals.filter((t) => t !== expectedTotal)).toEqual([]);
    expect(final.rows).toHaveLength(ACCOUNTS);
  });
});
