import type { Client, QueryConfig } from 'pg';
import { fe, type ParsedBackend } from '../../../gateway/pgwire/test-support/frontend';
import { RawClient, summarize } from '../../../gateway/pgwire/test-support/raw-client';
import { startSqlCluster, type SqlCluster } from '../../support/sql-cluster';
import { bin, Oid, rawReady, within } from './wire';

/**
 * node-postgres (`pg`) and raw protocol frames against a one-node cluster through the
 * real gateway: every supported type as a parameter and a result in text and binary
 * format, NULLs, edge values, errors with their SQLSTATEs, transactions, large results,
 * portal paging with Execute's row limit, ParameterStatus and notices.
 */

let cluster: SqlCluster | undefined;
let db: Client;
const raws: RawClient[] = [];

beforeAll(async () => {
  cluster = await startSqlCluster('compat-pg', { nodes: 1 });
  db = await cluster.client();
}, 120_000);

afterAll(async () => {
  for (const raw of raws) raw.destroy();
  await cluster?.stop();
});

function port(): number {
  return (cluster as SqlCluster).port;
}

async function raw(): Promise<RawClient> {
  const client = await rawReady(port());
  raws.push(client);
  return client;
}

/** The server's text for every column, untouched by pg's type parsers. */
const RAW_TEXT = { getTypeParser: () => (value: string) => value };

async function text(sql: string, values: unknown[] = [], name?: string): Promise<unknown[]> {
  const config: QueryConfig = { text: sql, values, rowMode: 'array', types: RAW_TEXT } as QueryConfig;
  if (name !== undefined) config.name = name;
  const result = await db.query(config as QueryConfig & { rowMode: 'array' });
  return result.rows.map((r: unknown[]) => (r.length === 1 ? r[0] : r));
}

async function sqlState(query: Promise<unknown>): Promise<string | undefined> {
  try {
    await query;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

// ---------------------------------------------------------------------------------------
// One value of each type: its PostgreSQL text and its binary (send/recv) form.

interface TypedValue {
  readonly type: string;
  readonly oid: number;
  readonly text: string;
  readonly binary: Buffer;
}

const EPOCH_2000_MS = Date.UTC(2000, 0, 1);
const daysSince2000 = (y: number, m: number, d: number): number => {
  const t = new Date(0);
  t.setUTCFullYear(y, m - 1, d);
  return Math.round((t.getTime() - EPOCH_2000_MS) / 86_400_000);
};
const microsSince2000 = (iso: string, extraMicros = 0n): bigint => BigInt(Date.parse(iso) - EPOCH_2000_MS) * 1000n + extraMicros;
const INT8_MAX = 9223372036854775807n;
const INT8_MIN = -9223372036854775808n;

const VALUES: readonly TypedValue[] = [
  { type: 'bool', oid: Oid.bool, text: 't', binary: bin.bool(true) },
  { type: 'bool', oid: Oid.bool, text: 'f', binary: bin.bool(false) },
  { type: 'int2', oid: Oid.int2, text: '-32768', binary: bin.int2(-32768) },
  { type: 'int2', oid: Oid.int2, text: '32767', binary: bin.int2(32767) },
  { type: 'int4', oid: Oid.int4, text: '-2147483648', binary: bin.int4(-2147483648) },
  { type: 'int4', oid: Oid.int4, text: '2147483647', binary: bin.int4(2147483647) },
  { type: 'int8', oid: Oid.int8, text: '-9223372036854775808', binary: bin.int8(INT8_MIN) },
  { type: 'int8', oid: Oid.int8, text: '9223372036854775807', binary: bin.int8(INT8_MAX) },
  { type: 'float4', oid: Oid.float4, text: '1.5', binary: bin.float4(1.5) },
  { type: 'float4', oid: Oid.float4, text: 'NaN', binary: bin.float4(NaN) },
  { type: 'float4', oid: Oid.float4, text: '-Infinity', binary: bin.float4(-Infinity) },
  { type: 'float8', oid: Oid.float8, text: '0.1', binary: bin.float8(0.1) },
  { type: 'float8', oid: Oid.float8, text: '-1.7976931348623157e+308', binary: bin.float8(-Number.MAX_VALUE) },
  { type: 'float8', oid: Oid.float8, text: 'Infinity', binary: bin.float8(Infinity) },
  { type: 'float8', oid: Oid.float8, text: 'NaN', binary: bin.float8(NaN) },
  { type: 'float8', oid: Oid.float8, text: '5e-324', binary: bin.float8(5e-324) },
  { type: 'numeric', oid: Oid.numeric, text: '12345.678', binary: bin.numeric([1, 2345, 6780], 1, 0x0000, 3) },
  { type: 'numeric', oid: Oid.numeric, text: '-0.0001', binary: bin.numeric([1], -1, 0x4000, 4) },
  { type: 'numeric', oid: Oid.numeric, text: '0', binary: bin.numeric([], 0, 0x0000, 0) },
  { type: 'numeric', oid: Oid.numeric, text: '100000000000000000000', binary: bin.numeric([1], 5, 0x0000, 0) },
  { type: 'numeric', oid: Oid.numeric, text: 'NaN', binary: bin.numeric([], 0, 0xc000, 0) },
  { type: 'numeric', oid: Oid.numeric, text: 'Infinity', binary: bin.numeric([], 0, 0xd000, 0) },
  { type: 'numeric', oid: Oid.numeric, text: '-Infinity', binary: bin.numeric([], 0, 0xf000, 0) },
  { type: 'text', oid: Oid.text, text: 'héllo wörld ✓ 🌍', binary: bin.text('héllo wörld ✓ 🌍') },
  { type: 'text', oid: Oid.text, text: '', binary: bin.text('') },
  { type: 'text', oid: Oid.text, text: "quote ' and \\ and \"", binary: bin.text("quote ' and \\ and \"") },
  { type: 'varchar', oid: Oid.varchar, text: 'abc', binary: bin.text('abc') },
  { type: 'bpchar', oid: Oid.bpchar, text: 'xy', binary: bin.text('xy') },
  { type: 'bytea', oid: Oid.bytea, text: '\\x00ff0000', binary: Buffer.from([0, 255, 0, 0]) },
  { type: 'bytea', oid: Oid.bytea, text: '\\x', binary: Buffer.alloc(0) },
  { type: 'date', oid: Oid.date, text: '2000-01-01', binary: bin.date(0) },
  { type: 'date', oid: Oid.date, text: '2024-02-29', binary: bin.date(daysSince2000(2024, 2, 29)) },
  { type: 'date', oid: Oid.date, text: '0044-03-15 BC', binary: bin.date(daysSince2000(-43, 3, 15)) },
  { type: 'date', oid: Oid.date, text: 'infinity', binary: bin.int4(0x7fffffff) },
  { type: 'date', oid: Oid.date, text: '-infinity', binary: bin.int4(-0x80000000) },
  { type: 'timestamp', oid: Oid.timestamp, text: '2024-01-31 12:34:56.789012', binary: bin.timestamp(microsSince2000('2024-01-31T12:34:56.789Z', 12n)) },
  { type: 'timestamp', oid: Oid.timestamp, text: '1999-12-31 23:59:59', binary: bin.timestamp(-1_000_000n) },
  { type: 'timestamp', oid: Oid.timestamp, text: 'infinity', binary: bin.timestamp(INT8_MAX) },
  { type: 'timestamp', oid: Oid.timestamp, text: '-infinity', binary: bin.timestamp(INT8_MIN) },
  { type: 'timestamptz', oid: Oid.timestamptz, text: '2024-01-31 12:34:56.5+00', binary: bin.timestamp(microsSince2000('2024-01-31T12:34:56.500Z')) },
  { type: 'interval', oid: Oid.interval, text: '1 year 2 mons 3 days 04:05:06.5', binary: bin.interval(14_706_500_000n, 3, 14) },
  { type: 'interval', oid: Oid.interval, text: '-00:00:01', binary: bin.interval(-1_000_000n, 0, 0) },
  { type: 'interval', oid: Oid.interval, text: '00:00:00', binary: bin.interval(0n, 0, 0) },
  { type: 'uuid', oid: Oid.uuid, text: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', binary: bin.uuid('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11') },
  { type: 'jsonb', oid: Oid.jsonb, text: '{"a": [1, "x", null], "b": {"c": true}}', binary: bin.jsonb('{"a": [1, "x", null], "b": {"c": true}}') },
];

const TYPES = [...new Set(VALUES.map((v) => v.type))];

function label(v: TypedValue): string {
  return `${v.type} ${JSON.stringify(v.text)}`;
}

// ---------------------------------------------------------------------------------------

describe('parameters and results in text format (node-postgres)', () => {
  test.each(VALUES.map((v) => [label(v), v] as const))('%s round-trips through a named prepared statement', async (_, v) => {
    expect(await text(`SELECT $1::${v.type}`, [v.text], `echo_${v.type}`)).toEqual([v.text]);
  });

  test('NULL of every type, as a parameter and as a stored value', async () => {
    for (const type of TYPES) {
      expect(await text(`SELECT $1::${type} IS NULL, $1::${type}`, [null])).toEqual([[true, null].map((x) => (x === true ? 't' : x))]);
    }
    await db.query(`CREATE TABLE nulls (id INT PRIMARY KEY, ${TYPES.map((t) => `c_${t} ${t}`).join(', ')})`);
    await db.query({
      name: 'insert_nulls',
      text: `INSERT INTO nulls VALUES (1, ${TYPES.map((_, i) => `$${i + 1}`).join(', ')})`,
      values: TYPES.map(() => null),
    });
    const { rows } = await db.query({ text: 'SELECT * FROM nulls', rowMode: 'array' });
    expect(rows).toEqual([[1, ...TYPES.map(() => null)]]);
  });

  test('values stored in a table of every type come back as they went in', async () => {
    const firsts = TYPES.map((t) => VALUES.find((v) => v.type === t) as TypedValue);
    await db.query(`CREATE TABLE every_type (id INT PRIMARY KEY, ${firsts.map((v) => `c_${v.type} ${v.type}`).join(', ')})`);
    await db.query({
      name: 'insert_every_type',
      text: `INSERT INTO every_type VALUES (1, ${firsts.map((_, i) => `$${i + 1}`).join(', ')})`,
      values: firsts.map((v) => v.text),
    });
    expect(await text('SELECT * FROM every_type')).toEqual([['1', ...firsts.map((v) => v.text)]]);
  });

  test('node-postgres parses what the server sends into the JavaScript values it documents', async () => {
    const { rows } = await db.query(
      `SELECT 9223372036854775807::int8 AS big, (-32768)::int2 AS small, 1.5::float4 AS f4, 'NaN'::float8 AS nan,
              'Infinity'::float8 AS inf, 1.10::numeric AS n, true AS b, '\\x00ff'::bytea AS by, '2024-02-29'::date AS d,
              '{"k": [1]}'::jsonb AS j, '1 day 02:00:00'::interval AS iv, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS u`,
    );
    expect(rows[0]).toMatchObject({
      big: '9223372036854775807',
      small: -32768,
      f4: 1.5,
      inf: Infinity,
      n: '1.10',
      b: true,
      j: { k: [1] },
      iv: { days: 1, hours: 2 },
      u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    });
    expect(rows[0].nan).toBeNaN();
    expect(rows[0].by).toEqual(Buffer.from([0, 255]));
  });

  test('a Buffer parameter with zero bytes reaches a bytea column intact', async () => {
    await db.query('CREATE TABLE blobs (id INT PRIMARY KEY, data BYTEA)');
    const data = Buffer.from([0, 0, 1, 0, 255, 0, 92, 120, 0]);
    await db.query('INSERT INTO blobs VALUES (1, $1)', [data]);
    const { rows } = await db.query('SELECT data, length(data) AS n FROM blobs WHERE id = 1');
    expect(rows[0].data).toEqual(data);
    expect(rows[0].n).toBe(data.length);
  });
});

describe('parameters and results in binary format (raw Bind)', () => {
  async function roundTrip(client: RawClient, v: TypedValue, paramFormat: number, param: Buffer | null, resultFormat: number): Promise<ParsedBackend[]> {
    client.send(
      fe.parse('', `SELECT $1::${v.type}`, [v.oid]),
      fe.bind('', '', [param], [paramFormat], [resultFormat]),
      fe.execute(''),
      fe.sync(),
    );
    return client.untilReady();
  }

  function firstValue(messages: readonly ParsedBackend[]): Buffer | null | undefined {
    const row = messages.find((m) => m.type === 'D');
    if (row?.type !== 'D') throw new Error(`no DataRow in ${summarize(messages).join(' ')}`);
    return row.values[0];
  }

  test.each(VALUES.map((v) => [label(v), v] as const))('%s: binary in → text out, text in → binary out, binary in → binary out', async (_, v) => {
    const client = await raw();
    expect(firstValue(await roundTrip(client, v, 1, v.binary, 0))?.toString('utf8')).toBe(v.text);
    expect(firstValue(await roundTrip(client, v, 0, Buffer.from(v.text, 'utf8'), 1))).toEqual(v.binary);
    expect(firstValue(await roundTrip(client, v, 1, v.binary, 1))).toEqual(v.binary);
  });

  test('NULL of every type in binary format, and the RowDescription carries the format', async () => {
    const client = await raw();
    for (const type of TYPES) {
      const v = VALUES.find((x) => x.type === type) as TypedValue;
      const messages = await roundTrip(client, v, 1, null, 1);
      expect(firstValue(messages)).toBeNull();
    }
    client.send(fe.parse('d', 'SELECT 1::int8 AS a, 2::int4 AS b'), fe.bind('p', 'd', [], [], [1, 0]), fe.describe('P', 'p'), fe.execute('p'), fe.sync());
    const messages = await client.untilReady();
    const description = messages.find((m) => m.type === 'T');
    expect(description?.type === 'T' && description.fields.map((f) => [f.typeOid, f.format])).toEqual([
      [Oid.int8, 1],
      [Oid.int4, 0],
    ]);
    expect(firstValue(messages)).toEqual(bin.int8(1n));
  });

  test('a malformed binary parameter is 22P03 and the connection goes on', async () => {
    const client = await raw();
    const v = VALUES.find((x) => x.type === 'int4') as TypedValue;
    const messages = await roundTrip(client, v, 1, Buffer.from([1, 2, 3]), 0);
    expect(summarize(messages)).toEqual(['1', 'E:22P03', 'Z:I']);
    client.send(fe.query('SELECT 1'));
    expect(summarize(await client.untilReady())).toEqual(['T', 'D:1', 'C:SELECT 1', 'Z:I']);
  });
});

describe('time zones', () => {
  test('SET TIME ZONE changes how timestamptz is read and printed, and is reported', async () => {
    const c = await (cluster as SqlCluster).client();
    const reported: [string, string][] = [];
    c.connection.on('parameterStatus', (m: { parameterName: string; parameterValue: string }) => reported.push([m.parameterName, m.parameterValue]));
    const q = async (sql: string, values: unknown[] = []): Promise<unknown> =>
      (await c.query({ text: sql, values, rowMode: 'array', types: RAW_TEXT } as QueryConfig & { rowMode: 'array' })).rows[0]?.[0];
    await c.query("SET TIME ZONE 'America/New_York'");
    expect(reported).toContainEqual(['TimeZone', 'America/New_York']);
    expect(await q("SELECT '2024-01-31 12:00:00+00'::timestamptz")).toBe('2024-01-31 07:00:00-05');
    expect(await q("SELECT '2024-07-01 12:00:00+00'::timestamptz")).toBe('2024-07-01 08:00:00-04');
    expect(await q('SELECT $1::timestamptz', ['2024-07-01 12:00:00'])).toBe('2024-07-01 12:00:00-04');
    // A bare offset is a POSIX spec: its sign means west (checked against PostgreSQL 15).
    await c.query("SET TIME ZONE '+05:30'");
    expect(await q("SELECT '2024-01-31 12:00:00+00'::timestamptz")).toBe('2024-01-31 06:30:00-05:30');
    await c.query('SET TIME ZONE 5.5');
    expect(await q("SELECT '2024-01-31 12:00:00+00'::timestamptz")).toBe('2024-01-31 17:30:00+05:30');
    await c.query("SET TIME ZONE 'UTC'");
    expect(await q("SELECT '2024-01-31 12:00:00+00'::timestamptz")).toBe('2024-01-31 12:00:00+00');
    // A Date parameter is sent by node-postgres as local time with an offset.
    const at = new Date('2024-03-10T07:30:00.123Z');
    const back = (await c.query('SELECT $1::timestamptz AS t', [at])).rows[0].t as Date;
    expect(back.toISOString()).toBe(at.toISOString());
    await c.end();
  });
});

describe('errors', () => {
  beforeAll(async () => {
    await db.query('CREATE TABLE errs (id INT PRIMARY KEY, email TEXT UNIQUE, age INT NOT NULL CHECK (age >= 0))');
    await db.query("INSERT INTO errs VALUES (1, 'a@x', 30)");
  });

  test.each([
    ['23505', "INSERT INTO errs VALUES (1, 'b@x', 1)"],
    ['23505', "INSERT INTO errs VALUES (2, 'a@x', 1)"],
    ['23502', "INSERT INTO errs (id, email) VALUES (3, 'c@x')"],
    ['23514', "INSERT INTO errs VALUES (4, 'd@x', -1)"],
    ['42P01', 'SELECT * FROM nowhere'],
    ['42703', 'SELECT nope FROM errs'],
    ['42601', 'SELECT FROM WHERE'],
    ['42601', "SELECT 'unterminated"],
    ['22P02', "SELECT 'x'::int"],
    ['22P02', "SELECT 'not-a-uuid'::uuid"],
    ['22003', 'SELECT 32768::int2'],
    ['22003', 'SELECT 9223372036854775807::int8 + 1'],
    ['22003', "SELECT '1e400'::float8"],
    ['22012', 'SELECT 1 / 0'],
    ['22012', 'SELECT 1.0 / 0'],
    ['22008', "SELECT '2024-02-30'::date"],
  ])('%s from %s, with message and severity; the connection goes on', async (code, sql) => {
    const err = await db.query(sql).then(
      () => undefined,
      (e: unknown) => e as { code?: string; severity?: string; message?: string },
    );
    expect(err).toMatchObject({ code, severity: 'ERROR' });
    expect(err?.message).not.toBe('');
    expect((await db.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  test('errors from a parameter value name the parameter (22P02)', async () => {
    const err = await db.query('SELECT $1::int', ['abc']).then(
      () => undefined,
      (e: unknown) => e as { code?: string; message?: string },
    );
    expect(err).toMatchObject({ code: '22P02' });
    expect(err?.message).toMatch(/\$1|abc/);
  });

  test('a syntax error carries its position', async () => {
    const err = await db.query('SELECT 1 FROM errs WHER id = 1').catch((e: unknown) => e as { code?: string; position?: string });
    expect(err).toMatchObject({ code: '42601', position: '25' });
  });

  test('statement_timeout cancels a long statement with 57014', async () => {
    const c = await (cluster as SqlCluster).client();
    await c.query("SET statement_timeout = '100ms'");
    const started = Date.now();
    expect(await sqlState(within(30_000, 'statement_timeout', c.query('SELECT count(*) FROM generate_series(1, 100000000) a, generate_series(1, 100) b')))).toBe('57014');
    expect(Date.now() - started).toBeLessThan(20_000);
    await c.query('SET statement_timeout = 0');
    expect((await c.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
    await c.end();
  });

  test('a CancelRequest from another socket cancels the running statement with 57014', async () => {
    const c = await (cluster as SqlCluster).client();
    const { processID, secretKey } = c as unknown as { processID: number; secretKey: number };
    const running = sqlState(c.query('SELECT count(*) FROM generate_series(1, 100000000) a, generate_series(1, 100) b'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const canceller = await RawClient.connect(port());
    canceller.send(fe.cancelRequest(processID, secretKey));
    await within(10_000, 'cancel connection close', canceller.closed);
    expect(await within(30_000, 'cancelled statement', running)).toBe('57014');
    expect((await c.query('SELECT 3 AS three')).rows).toEqual([{ three: 3 }]);
    await c.end();
  });
});

describe('transactions', () => {
  test('COMMIT keeps, ROLLBACK discards, a failed transaction is 25P02 until it ends', async () => {
    await db.query('CREATE TABLE tx (k INT PRIMARY KEY, v TEXT)');
    await db.query('BEGIN');
    await db.query("INSERT INTO tx VALUES (1, 'kept')");
    await db.query('COMMIT');
    await db.query('BEGIN');
    await db.query("INSERT INTO tx VALUES (2, 'discarded')");
    expect((await db.query('SELECT count(*)::int AS n FROM tx')).rows).toEqual([{ n: 2 }]);
    await db.query('ROLLBACK');
    expect((await db.query('SELECT k, v FROM tx')).rows).toEqual([{ k: 1, v: 'kept' }]);

    await db.query('BEGIN');
    expect(await sqlState(db.query("INSERT INTO tx VALUES (1, 'dup')"))).toBe('23505');
    expect(await sqlState(db.query('SELECT 1'))).toBe('25P02');
    expect(await sqlState(db.query({ name: 'in_failed', text: 'SELECT $1::int', values: [1] }))).toBe('25P02');
    expect((await db.query('COMMIT')).command).toBe('ROLLBACK');
    expect((await db.query('SELECT count(*)::int AS n FROM tx')).rows).toEqual([{ n: 1 }]);
  });

  test('two clients: uncommitted writes are invisible to the other until COMMIT', async () => {
    const other = await (cluster as SqlCluster).client();
    await db.query('CREATE TABLE iso (k INT PRIMARY KEY)');
    await db.query('BEGIN');
    await db.query('INSERT INTO iso VALUES (1)');
    expect((await other.query('SELECT count(*)::int AS n FROM iso')).rows).toEqual([{ n: 0 }]);
    await db.query('COMMIT');
    expect((await other.query('SELECT count(*)::int AS n FROM iso')).rows).toEqual([{ n: 1 }]);
    await other.end();
  });
});

describe('statements and results', () => {
  test('multi-row INSERT with RETURNING, UPDATE and DELETE RETURNING', async () => {
    await db.query('CREATE TABLE ret (id INT PRIMARY KEY, name TEXT, score NUMERIC(6,2) DEFAULT 0)');
    const inserted = await db.query({
      name: 'ret_insert',
      text: 'INSERT INTO ret (id, name) VALUES ($1, $2), ($3, $4), ($5, $6) RETURNING id, upper(name) AS name, score',
      values: [1, 'a', 2, 'b', 3, 'c'],
    });
    expect(inserted.command).toBe('INSERT');
    expect(inserted.rowCount).toBe(3);
    expect(inserted.rows).toEqual([
      { id: 1, name: 'A', score: '0.00' },
      { id: 2, name: 'B', score: '0.00' },
      { id: 3, name: 'C', score: '0.00' },
    ]);
    const updated = await db.query('UPDATE ret SET score = score + $1 WHERE id >= $2 RETURNING id, score', ['1.255', 2]);
    expect(updated.rowCount).toBe(2);
    expect(updated.rows.sort((x, y) => x.id - y.id)).toEqual([
      { id: 2, score: '1.26' },
      { id: 3, score: '1.26' },
    ]);
    const deleted = await db.query('DELETE FROM ret WHERE id = 1 RETURNING *');
    expect(deleted.rows).toEqual([{ id: 1, name: 'a', score: '0.00' }]);
  });

  test('10 000 rows from a table and from generate_series', async () => {
    await db.query('CREATE TABLE big (id INT PRIMARY KEY, payload TEXT)');
    await db.query("INSERT INTO big SELECT g, repeat('x', 100) || g FROM generate_series(1, 10000) AS g");
    const { rows } = await db.query('SELECT id, payload FROM big ORDER BY id');
    expect(rows).toHaveLength(10_000);
    expect(rows[9_999]).toEqual({ id: 10_000, payload: `${'x'.repeat(100)}10000` });
    expect(rows.every((r, i) => r.id === i + 1)).toBe(true);
    const series = await db.query({ name: 'series', text: 'SELECT g FROM generate_series(1, $1::int) AS g', values: [10_000] });
    expect(series.rowCount).toBe(10_000);
  });

  test('Execute with a row limit pages through a portal (PortalSuspended), in one Sync and across Syncs in a transaction', async () => {
    const client = await raw();
    client.send(fe.parse('pages', 'SELECT g FROM generate_series(1, 10) AS g'), fe.bind('cur', 'pages'), fe.execute('cur', 4), fe.execute('cur', 4), fe.execute('cur', 4), fe.sync());
    expect(summarize(await client.untilReady())).toEqual([
      '1', '2',
      'D:1', 'D:2', 'D:3', 'D:4', 's',
      'D:5', 'D:6', 'D:7', 'D:8', 's',
      'D:9', 'D:10', 'C:SELECT 10',
      'Z:I',
    ]);

    client.send(fe.query('BEGIN'));
    await client.untilReady();
    client.send(fe.bind('cur2', 'pages'), fe.execute('cur2', 6), fe.sync());
    expect(summarize(await client.untilReady())).toEqual(['2', 'D:1', 'D:2', 'D:3', 'D:4', 'D:5', 'D:6', 's', 'Z:T']);
    client.send(fe.execute('cur2', 6), fe.sync());
    expect(summarize(await client.untilReady())).toEqual(['D:7', 'D:8', 'D:9', 'D:10', 'C:SELECT 10', 'Z:T']);
    client.send(fe.query('COMMIT'));
    expect(summarize(await client.untilReady())).toEqual(['C:COMMIT', 'Z:I']);
    // Outside a transaction the portal did not outlive its Sync.
    client.send(fe.bind('cur3', 'pages'), fe.execute('cur3', 2), fe.sync(), fe.execute('cur3', 2), fe.sync());
    const messages = await client.untilReady();
    expect(summarize(messages)).toEqual(['2', 'D:1', 'D:2', 's', 'Z:I']);
    expect(summarize(await client.untilReady())).toEqual(['E:34000', 'Z:I']);
  });

  test('ParameterStatus after SET application_name, and for the startup value', async () => {
    const c = await (cluster as SqlCluster).client({ applicationName: 'compat-start' });
    const reported: [string, string][] = [];
    c.connection.on('parameterStatus', (m: { parameterName: string; parameterValue: string }) => reported.push([m.parameterName, m.parameterValue]));
    expect((await c.query('SHOW application_name')).rows).toEqual([{ application_name: 'compat-start' }]);
    await c.query("SET application_name = 'compat-é'");
    expect(reported).toEqual([['application_name', 'compat-é']]);
    expect((await c.query('SHOW application_name')).rows).toEqual([{ application_name: 'compat-é' }]);
    await c.query('RESET application_name');
    expect(reported).toEqual([
      ['application_name', 'compat-é'],
      ['application_name', ''],
    ]);
    await c.end();
  });

  test('notices reach the client (BEGIN twice, COMMIT with no transaction)', async () => {
    const c = await (cluster as SqlCluster).client();
    const notices: { code?: string | undefined; severity?: string | undefined }[] = [];
    c.on('notice', (n) => notices.push(n));
    await c.query('BEGIN');
    await c.query('BEGIN');
    await c.query('COMMIT');
    await c.query('COMMIT');
    expect(notices.map((n) => n.code)).toEqual(['25001', '25P01']);
    expect(notices.map((n) => n.severity)).toEqual(['WARNING', 'WARNING']);
    await c.end();
  });

  test('several statements in one simple query, and an empty query', async () => {
    const results = (await db.query('SELECT 1 AS a; SELECT 2 AS b')) as unknown as { rows: unknown[] }[];
    expect(results.map((r) => r.rows)).toEqual([[{ a: 1 }], [{ b: 2 }]]);
    // node-postgres refuses an empty string itself: the raw protocol sends one.
    const client = await raw();
    client.send(fe.query(''));
    expect(summarize(await client.untilReady())).toEqual(['I', 'Z:I']);
    client.send(fe.query(' ; -- nothing'));
    expect(summarize(await client.untilReady())).toEqual(['I', 'Z:I']);
    client.send(fe.parse('', ''), fe.bind('', ''), fe.execute(''), fe.sync());
    expect(summarize(await client.untilReady())).toEqual(['1', '2', 'I', 'Z:I']);
  });
});
