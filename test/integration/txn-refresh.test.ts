/**
 * A refresh that a range checks page by page: nodes started with a tiny refresh budget
 * (`--max-refresh-entries 10`) answer a RefreshRange over 50 keys in pages, and the
 * coordinator follows the resume spans to the end. A write deep in the span, past the
 * first page, must still fail the refresh.
 */
import type { KvClient } from '../../kv';
import type { TestCluster } from '../support/test-cluster';
import { startTestCluster, stopTestCluster } from '../support/test-cluster';

jest.setTimeout(120_000);

const key = (name: string): Buffer => Buffer.from(`user/refresh/${name}`);
const int = (value: Buffer | undefined): number => (value === undefined ? 0 : Number(value.toString()));
const buf = (n: number): Buffer => Buffer.from(String(n));

describe('refreshing reads page by page', () => {
  let running: TestCluster | undefined;
  let kv: KvClient;

  beforeAll(async () => {
    running = await startTestCluster('txn-refresh', { nodes: 1, extraNodeArgs: ['--max-refresh-entries', '10'] });
    kv = running.kv;
  });

  afterAll(async () => {
    await stopTestCluster(running);
  });

  test('a write past the first page of a refreshed span still sends the reader round again', async () => {
    const rows = Array.from({ length: 50 }, (_, i) => key(`r-${String(i).padStart(3, '0')}`));
    for (const row of rows) await kv.put(row, buf(1));
    const out = key('sum');
    const deep = rows[45] as Buffer;
    let attempts = 0;
    let sum = 0;
    await kv.txn(async (txn) => {
      attempts++;
      const scanned = await txn.scan(key('r-'), key('r.'));
      sum = scanned.rows.reduce((total, row) => total + int(row.value), 0);
      if (attempts === 1) {
        // After the read: a write deep in the span it covered, then a read of the key
        // the transaction writes, which pushes that write — and so the commit must
        // refresh the whole span, 50 entries at 10 a command.
        await kv.put(deep, buf(2));
        await kv.get(out);
      }
      await txn.put(out, buf(sum));
    });
    expect(attempts).toBe(2);
    expect(sum).toBe(51);
    expect(int(await kv.get(out))).toBe(51);
  });

  test('a span with no write since is refreshed to its end and the commit goes through', async () => {
    const rows = Array.from({ length: 50 }, (_, i) => key(`q-${String(i).padStart(3, '0')}`));
    for (const row of rows) await kv.put(row, buf(1));
    const out = key('count');
    let attempts = 0;
    await kv.txn(async (txn) => {
      attempts++;
      const scanned = await txn.scan(key('q-'), key('q.'));
      if (attempts === 1) await kv.get(out);
      await txn.put(out, buf(scanned.rows.length));
    });
    expect(attempts).toBe(1);
    expect(int(await kv.get(out))).toBe(50);
  });
});
