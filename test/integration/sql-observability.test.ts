import { Writable } from 'node:stream';
import type { Client } from 'pg';
import pino from 'pino';
import type { TracingHandle } from '../../common/tracing';
import { installTracing, tracingConfigFromEnv } from '../../common/tracing';
import { startSqlCluster, type SqlCluster } from '../support/sql-cluster';

/**
 * What an operator sees of statements without a collector at hand: the slow-statement
 * log (by fingerprint, with the plan and the trace) and SHOW TRACE FOR SESSION (the
 * spans of the session's traced statements, the leaseholder's included). A real
 * one-node cluster and the gateway in this process, whose log lines are captured.
 */

/** A constant the statements use: the log must never carry it. */
const LITERAL = 7919;

let cluster: SqlCluster | undefined;
let db: Client;
let tracing: TracingHandle | undefined;
const logLines: Record<string, unknown>[] = [];

beforeAll(async () => {
  // Spans are recorded (nothing is exported): what `SET tracing = on` needs.
  tracing = installTracing({ config: tracingConfigFromEnv({}, 'cairn-gateway'), instanceId: 'gateway-under-test' });
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  cluster = await startSqlCluster('sql-observability', { nodes: 1, gateway: { log: pino({ level: 'info' }, sink), slowStatementMs: 60_000 } });
  db = await cluster.client();
  await db.query('CREATE TABLE watched (k INT PRIMARY KEY, v INT NOT NULL)');
  await db.query('INSERT INTO watched SELECT i, 0 FROM generate_series(1, 20) AS g(i)');
}, 120_000);

afterAll(async () => {
  await db?.end().catch(() => undefined);
  await cluster?.stop();
  await tracing?.shutdown();
});

/** Slow-statement lines, but for the SETs that change the threshold (logged too, as in PostgreSQL). */
function slowLines(): Record<string, unknown>[] {
  return logLines.filter((l) => l.msg === 'slow statement' && l.kind !== 'SET');
}

describe('the slow-statement log', () => {
  test('logs statements over log_min_duration_statement by fingerprint, with plan and latency, never values', async () => {
    logLines.length = 0;
    // The gateway's threshold (60 s here) lets fast statements pass unlogged.
    await db.query(`SELECT v FROM watched WHERE k = ${LITERAL}`);
    expect(slowLines()).toEqual([]);

    await db.query('SET log_min_duration_statement = 0');
    await db.query(`UPDATE watched SET v = v + ${LITERAL} WHERE k = 3`);
    await db.query('SELECT v FROM watched WHERE k = $1', [LITERAL]);
    const [update, select] = slowLines();
    expect(update).toMatchObject({
      level: 40,
      statement: 'UPDATE watched SET v = v + $1 WHERE k = $2',
      kind: 'UPDATE',
      commandTag: 'UPDATE 1',
      sqlState: '00000',
      thresholdMs: 0,
      database: 'defaultdb',
      user: 'root',
    });
    expect(update?.plan).toMatch(/^update watched \[.*scan watched@\S+ points\(1\)/);
    expect(typeof update?.latencyMs).toBe('number');
    expect(update?.traceId).toBeUndefined();
    expect(select).toMatchObject({ statement: 'SELECT v FROM watched WHERE k = $1', kind: 'SELECT', commandTag: 'SELECT 0' });
    expect(JSON.stringify(slowLines())).not.toMatch(new RegExp(`\\b${LITERAL}\\b`));
  });

  test('a failed statement is logged with its SQLSTATE; -1 turns the log off, RESET returns to the gateway default', async () => {
    logLines.length = 0;
    await db.query('SET log_min_duration_statement = 0');
    await expect(db.query('INSERT INTO watched VALUES (1, 1)')).rejects.toMatchObject({ code: '23505' });
    expect(slowLines().map((l) => [l.statement, l.sqlState])).toEqual([['INSERT INTO watched VALUES ($1, $2)', '23505']]);

    logLines.length = 0;
    await db.query('SET log_min_duration_statement = -1');
    await db.query('SELECT count(*) FROM watched');
    expect(slowLines()).toEqual([]);
    await db.query('RESET log_min_duration_statement');
    expect((await db.query('SHOW log_min_duration_statement')).rows).toEqual([{ log_min_duration_statement: '60000' }]);
    await expect(db.query("SET log_min_duration_statement = 'soon'")).rejects.toMatchObject({ code: '22023' });
  });

  test('a traced statement is logged with its trace ID', async () => {
    logLines.length = 0;
    await db.query('SET log_min_duration_statement = 0');
    await db.query('SET tracing = on');
    await db.query('SELECT v FROM watched WHERE k = 4');
    await db.query('SET tracing = off');
    const traced = slowLines().find((l) => l.kind === 'SELECT');
    expect(traced?.traceId).toMatch(/^[0-9a-f]{32}$/);
    await db.query('RESET log_min_duration_statement');
  });
});

describe('SHOW TRACE FOR SESSION', () => {
  interface TraceRow {
    readonly timestamp: Date;
    readonly operation: string;
    readonly location: string;
    readonly tags: string;
    readonly trace_id: string;
    readonly span_id: string;
    readonly parent_span_id: string | null;
  }

  async function showTrace(): Promise<TraceRow[]> {
    return (await db.query<TraceRow>('SHOW TRACE FOR SESSION')).rows;
  }

  test("shows the traced statements' spans, the leaseholder's among them, as one tree per statement", async () => {
    await db.query('SET tracing = on');
    await db.query(`UPDATE watched SET v = v + ${LITERAL} WHERE k = 5 RETURNING k`);
    await db.query('SET tracing = off');
    const rows = await showTrace();
    const update = rows.find((r) => r.operation === 'sql.statement' && r.tags.includes('db.operation=UPDATE'));
    expect(update?.tags).toContain('db.statement=UPDATE watched SET v = v + $1 WHERE k = $2 RETURNING k');
    const ofUpdate = rows.filter((r) => r.trace_id === update?.trace_id);
    const operations = new Set(ofUpdate.map((r) => r.operation));
    for (const name of ['sql.statement', 'sql.execute', 'kv.batch', 'kv.rpc', 'kv.node.batch', 'kv.evaluate', 'raft.propose', 'raft.append', 'raft.apply']) {
      expect(operations).toContain(name);
    }
    expect(ofUpdate.find((r) => r.operation === 'raft.propose')?.location).toMatch(/^cairn-node /);
    expect(ofUpdate.find((r) => r.operation === 'sql.execute')?.location).toBe('cairn-gateway gateway-under-test');
    // Rows and bytes: the one row returned (`5`, one byte of text); each batch's size at the node.
    const execute = ofUpdate.find((r) => r.operation === 'sql.execute')?.tags ?? '';
    expect(execute).toMatch(/(^| )db\.response\.rows=1( |$)/);
    expect(execute).toMatch(/(^| )cairn\.result_bytes=1( |$)/);
    expect(ofUpdate.filter((r) => r.operation === 'kv.node.batch').every((r) => /cairn\.request_bytes=[1-9]\d*/.test(r.tags))).toBe(true);
    // One tree: every span but the statement's names a parent in the same trace.
    const ids = new Set(ofUpdate.map((r) => r.span_id));
    expect(ofUpdate.filter((r) => r.parent_span_id === null).map((r) => r.operation)).toEqual(['sql.statement']);
    expect(ofUpdate.filter((r) => r.parent_span_id !== null && !ids.has(r.parent_span_id))).toEqual([]);
    // Rows come in time order.
    const times = rows.map((r) => r.timestamp.getTime());
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(JSON.stringify(rows)).not.toMatch(new RegExp(`\\b${LITERAL}\\b`));
  });

  test("a prepared statement's Parse is recorded too, with its parse and plan", async () => {
    const text = 'SELECT v FROM watched WHERE k = $1 AND v IS NOT NULL';
    await db.query('SET tracing = on');
    await db.query(text, [8]);
    await db.query('SET tracing = off');
    const rows = await showTrace();
    const prepare = rows.find((r) => r.operation === 'sql.prepare' && r.tags.includes(`db.statement=${text}`));
    expect(prepare?.parent_span_id).toBeNull();
    const children = rows.filter((r) => r.parent_span_id === prepare?.span_id).map((r) => r.operation);
    expect(children).toEqual(expect.arrayContaining(['sql.parse', 'sql.plan']));
    expect(rows.some((r) => r.operation === 'sql.statement' && r.tags.includes(`db.statement=${text}`))).toBe(true);
  });

  test('turning tracing on again starts a new recording; statements while it is off are not recorded', async () => {
    await db.query('SELECT 1');
    await db.query('SET tracing = on');
    await db.query('SELECT v FROM watched WHERE k = 6');
    await db.query('SET tracing = off');
    await db.query('SELECT v FROM watched WHERE k = 7');
    const statements = (await showTrace()).filter((r) => r.operation === 'sql.statement').map((r) => /db.operation=(\S+)/.exec(r.tags)?.[1]);
    // The SELECT, and the SET that turned tracing off (it ran with tracing on).
    expect(statements).toEqual(['SELECT', 'SET']);
  });
});

describe('metrics of transactions, KV latency, lock waits and ranges', () => {
  /** One process's /metrics, as name{labels} → value. */
  async function scrape(address: string): Promise<Map<string, number>> {
    const text = await (await fetch(`http://${address}/metrics`)).text();
    const samples = new Map<string, number>();
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const at = line.lastIndexOf(' ');
      samples.set(line.slice(0, at), Number(line.slice(at + 1)));
    }
    return samples;
  }

  /** The sum of a metric's samples, over all their labels. */
  function total(samples: Map<string, number>, name: string): number {
    let sum = 0;
    for (const [key, value] of samples) if (key === name || key.startsWith(`${name}{`)) sum += value;
    return sum;
  }

  const gateway = (): string => (cluster as SqlCluster).httpAddress;
  const node = (): string => (cluster as SqlCluster).nodes.cluster.nodes[0]?.httpAddress as string;

  test('the gateway counts commits, and a transaction a conflict ended as an abort (a ROLLBACK alone is none)', async () => {
    const before = await scrape(gateway());
    await db.query('SELECT v FROM watched WHERE k = 1');
    await db.query('BEGIN');
    await db.query('SELECT 1');
    await db.query('ROLLBACK');

    // A reads k = 13, another session writes it, A's own write of it cannot be placed
    // after both without its read going stale: 40001, and A's transaction is lost.
    const other = await (cluster as SqlCluster).client();
    try {
      await db.query('BEGIN');
      await db.query('SELECT v FROM watched WHERE k = 13');
      await other.query('UPDATE watched SET v = v + 1 WHERE k = 13');
      await expect(db.query('UPDATE watched SET v = v + 1 WHERE k = 13')).rejects.toMatchObject({ code: '40001' });
      await db.query('ROLLBACK');
    } finally {
      await other.end();
    }
    const after = await scrape(gateway());
    // The SELECT and the other session's UPDATE committed; the explicit ROLLBACK did not count.
    expect(total(after, 'cairn_txn_commits_total') - total(before, 'cairn_txn_commits_total')).toBe(2);
    expect(total(after, 'cairn_txn_aborts_total') - total(before, 'cairn_txn_aborts_total')).toBe(1);
    // Aborts are counted by the conflict's code (and reason): never by a message.
    const reasons = [...after.keys()].filter((k) => k.startsWith('cairn_txn_aborts_total{')).map((k) => /reason="([^"]*)"/.exec(k)?.[1]);
    expect(reasons.length).toBeGreaterThan(0);
    for (const reason of reasons) expect(reason).toMatch(/^[A-Z_]+(\/[A-Z_]+)?$/);
  });

  test('a node reports read and write latency, lock waits, and the state of its ranges', async () => {
    const before = await scrape(node());
    const other = await (cluster as SqlCluster).client();
    try {
      await db.query('BEGIN');
      await db.query('UPDATE watched SET v = v + 1 WHERE k = 14');
      // The other session's write of k = 14 waits for the lock until the commit.
      const waiting = other.query('UPDATE watched SET v = v + 1 WHERE k = 14');
      await new Promise((resolve) => setTimeout(resolve, 200));
      await db.query('COMMIT');
      await waiting;
    } finally {
      await other.end();
    }
    const after = await scrape(node());
    expect(total(after, 'cairn_lock_waits_total') - total(before, 'cairn_lock_waits_total')).toBeGreaterThanOrEqual(1);
    expect(total(after, 'cairn_lock_wait_duration_seconds_sum') - total(before, 'cairn_lock_wait_duration_seconds_sum')).toBeGreaterThan(0.1);
    expect(total(after, 'cairn_kv_read_duration_seconds_count')).toBeGreaterThan(total(before, 'cairn_kv_read_duration_seconds_count'));
    expect(total(after, 'cairn_kv_write_duration_seconds_count')).toBeGreaterThan(total(before, 'cairn_kv_write_duration_seconds_count'));

    // One node: it counts every range, none unavailable or short of replicas (its target is 1).
    const { ranges } = await (cluster as SqlCluster).nodes.admin.ranges();
    expect(total(after, 'cairn_ranges')).toBe(ranges.length);
    expect(total(after, 'cairn_ranges_unavailable')).toBe(0);
    expect(total(after, 'cairn_ranges_underreplicated')).toBe(0);
    // Leaseholders close timestamps about 3 s behind now.
    const lag = total(after, 'cairn_closed_timestamp_lag_seconds');
    expect(lag).toBeGreaterThan(0);
    expect(lag).toBeLessThan(30);
  });

  test("a node reports its storage engine's memtables, files and background work", async () => {
    const metrics = await scrape(node());
    // The node has written its ranges' data and Raft log: some of it is in a memtable.
    expect(total(metrics, 'cairn_storage_memtable_bytes')).toBeGreaterThan(0);
    for (const name of [
      'cairn_storage_pending_compaction_bytes',
      'cairn_storage_running_compactions',
      'cairn_storage_running_flushes',
      'cairn_storage_sst_bytes',
      'cairn_storage_level0_files',
      'cairn_storage_delayed_write_rate_bytes',
    ]) {
      expect([...metrics.keys()].some((key) => key === name || key.startsWith(`${name}{`))).toBe(true);
      expect(total(metrics, name)).toBeGreaterThanOrEqual(0);
    }
    expect(total(metrics, 'cairn_storage_writes_stopped')).toBe(0);
  });
});
