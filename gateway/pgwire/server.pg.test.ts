/**
 * End to end with node-postgres (`pg`): a PgServer over the fake engine on 127.0.0.1,
 * driven by the real client, which checks the protocol from its side.
 */
import pg from 'pg';
import type { NoticeMessage } from 'pg-protocol/dist/messages';
import { fe } from './test-support/frontend';
import { closeServers, eventually, startServer } from './test-support/harness';
import { RawClient } from './test-support/raw-client';

const clients: pg.Client[] = [];

/** pg's binary flag and its backend key, which @types/pg leaves out. */
type BinaryQuery = pg.QueryConfig & { readonly binary: true };
interface WithBackendKey {
  readonly processID: number;
  readonly secretKey: number;
}

function client(port: number, options: pg.ClientConfig = {}): pg.Client {
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'alice', database: 'cairn', ...options });
  c.on('error', () => undefined);
  clients.push(c);
  return c;
}

async function connected(port: number, options: pg.ClientConfig = {}): Promise<pg.Client> {
  const c = client(port, options);
  await c.connect();
  return c;
}

async function rejection(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  throw new Error('expected the promise to reject');
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.end().catch(() => undefined)));
  await closeServers();
});

describe('node-postgres, trust authentication', () => {
  test('simple query: rows, fields and command tags', async () => {
    const { port, engine } = await startServer();
    const c = await connected(port);
    const one = await c.query('SELECT 1');
    expect(one.rows).toEqual([{ '?column?': 1 }]);
    expect(one.command).toBe('SELECT');
    expect(one.fields.map((f) => [f.name, f.dataTypeID])).toEqual([['?column?', 23]]);
    const items = await c.query('select * from items');
    expect(items.rows).toEqual([
      { id: 1, name: 'one' },
      { id: 2, name: 'two' },
      { id: 3, name: 'three' },
    ]);
    expect(items.rowCount).toBe(3);
    expect(engine.lastSession.startup).toMatchObject({ user: 'alice', database: 'cairn' });
  });

  test('several statements in one simple query give one result each', async () => {
    const { port } = await startServer();
    const c = await connected(port);
    const results = (await c.query('SELECT 1; SELECT 2; insert into items values (9, \'nine\')')) as unknown as pg.QueryResult[];
    expect(results.map((r) => [r.command, r.rows])).toEqual([
      ['SELECT', [{ '?column?': 1 }]],
      ['SELECT', [{ '?column?': 2 }]],
      ['INSERT', []],
    ]);
  });

  test('the database defaults to the user name', async () => {
    const { port, engine } = await startServer();
    const c = client(port, { database: undefined, user: 'bob' });
    await c.connect();
    expect(engine.lastSession.startup).toMatchObject({ user: 'bob', database: 'bob' });
    expect(engine.lastSession.startup.parameters.get('client_encoding')).toBe('UTF8');
  });

  test('extended protocol with parameters (unnamed statement)', async () => {
    const { port, engine } = await startServer();
    const c = await connected(port);
    const result = await c.query('select * from items where id = $1', [2]);
    expect(result.rows).toEqual([{ id: 2, name: 'two' }]);
    const echoed = await c.query('select $1::int4, $2::text', [-7, 'hé']);
    expect(echoed.rows).toEqual([{ p1: -7, p2: 'hé' }]);
    const nulls = await c.query('select $1::int4, $2::text', [null, null]);
    expect(nulls.rows).toEqual([{ p1: null, p2: null }]);
    // Each Parse of the unnamed statement replaces the previous one.
    expect(engine.lastSession.closedStatements).toEqual([
      'select * from items where id = $1',
      'select $1::int4, $2::text',
    ]);
  });

  test('named prepared statements are parsed once and reused', async () => {
    const { port, engine } = await startServer();
    const c = await connected(port);
    const byId = { name: 'by-id', text: 'select * from items where id = $1' };
    expect((await c.query({ ...byId, values: [1] })).rows).toEqual([{ id: 1, name: 'one' }]);
    expect((await c.query({ ...byId, values: [3] })).rows).toEqual([{ id: 3, name: 'three' }]);
    expect((await c.query({ ...byId, values: [4] })).rows).toEqual([]);
    expect(engine.lastSession.prepareCalls).toBe(1);
  });

  test('binary results (int4 and text)', async () => {
    const { port } = await startServer();
    const c = await connected(port);
    const result = await c.query({ text: 'select * from items where id = $1', values: [2], binary: true } as BinaryQuery);
    expect(result.rows).toEqual([{ id: 2, name: 'two' }]);
    expect(result.fields.map((f) => f.format)).toEqual(['binary', 'binary']);
    // pg-protocol reads every DataRow value as a UTF-8 string, so only values whose
    // binary form is valid UTF-8 survive it; arbitrary binary values are checked in
    // server.raw.test.ts.
    const echoed = await c.query({
      text: 'select $1::int4, $2::text',
      values: [0x01027f, 'zü'],
      binary: true,
    } as BinaryQuery);
    expect(echoed.rows).toEqual([{ p1: 0x01027f, p2: 'zü' }]);
  });

  test('SQL errors arrive with their SQLSTATE, detail, hint and position; the connection goes on', async () => {
    const { port } = await startServer();
    const c = await connected(port);
    const simple = await rejection(c.query("select error('23505', 'duplicate key')"));
    expect(simple).toMatchObject({
      code: '23505',
      message: 'duplicate key',
      detail: 'the detail',
      hint: 'the hint',
      position: '8',
      severity: 'ERROR',
    });
    const extended = await rejection(c.query('select * from nowhere where id = $1', [1]));
    expect(extended).toMatchObject({ code: '42601', message: 'syntax error at or near "select"' });
    const badParam = await rejection(c.query('select $1::int4', ['abc']));
    expect(badParam).toMatchObject({ code: '22P02' });
    expect((await c.query('SELECT 5')).rows).toEqual([{ '?column?': 5 }]);
    expect((await c.query('select $1::int4', [6])).rows).toEqual([{ p1: 6 }]);
  });

  test('an error that is not a SqlError is XX000 internal error, logged, and the connection goes on', async () => {
    const { port, logs } = await startServer();
    const c = await connected(port);
    const err = await rejection(c.query('select internal_bug()'));
    expect(err).toMatchObject({ code: 'XX000', message: 'internal error: boom' });
    expect(logs.some((line) => line['level'] === 50 && String(line['msg']).includes('internal error'))).toBe(true);
    expect((await c.query('SELECT 1')).rows).toHaveLength(1);
  });

  test('transactions: BEGIN/COMMIT, and a failed transaction refuses statements until ROLLBACK', async () => {
    const { port, engine } = await startServer();
    const c = await connected(port);
    await c.query('BEGIN');
    expect(engine.lastSession.status).toBe('T');
    await rejection(c.query("select error('40001', 'retry')"));
    const aborted = await rejection(c.query('SELECT 1'));
    expect(aborted).toMatchObject({ code: '25P02' });
    const rollback = await c.query('COMMIT');
    expect(rollback.command).toBe('ROLLBACK');
    expect((await c.query('SELECT 1')).rows).toHaveLength(1);
  });

  test('notices reach the client', async () => {
    const { port } = await startServer();
    const c = await connected(port);
    const notices: NoticeMessage[] = [];
    c.on('notice', (notice) => notices.push(notice));
    await c.query("select notice('hello')");
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ message: 'hello', severity: 'NOTICE', code: '00000', detail: 'notice detail' });
  });

  test('an unknown database is a FATAL 3D000 at connect', async () => {
    const { port, server } = await startServer();
    const err = await rejection(client(port, { database: 'nodb' }).connect());
    expect(err).toMatchObject({ code: '3D000', severity: 'FATAL', message: 'database "nodb" does not exist' });
    await eventually(() => server.sessionCount === 0, 'the refused connection to be released');
  });

  test('a large result streams through backpressure', async () => {
    const { port, engine } = await startServer();
    const c = await connected(port);
    const result = await c.query('select big(3000, 2000)');
    expect(result.rows).toHaveLength(3000);
    expect(result.rows.every((row: { big: string }) => row.big.length === 2000)).toBe(true);
    // 6 MB do not fit in the socket buffers at once: the session had to wait for drain.
    expect(engine.lastSession.drainWaits).toBeGreaterThan(0);
  });

  test('a CancelRequest with the BackendKeyData stops the running statement (57014)', async () => {
    const { port, engine } = await startServer();
    const c = await connected(port);
    const key = c as unknown as WithBackendKey;
    expect(typeof key.processID).toBe('number');
    const slow = rejection(c.query('select pg_sleep(30)'));
    await eventually(() => engine.lastSession.ran.includes('select pg_sleep(30)'), 'the statement to start');

    // A wrong secret cancels nothing.
    const wrong = await RawClient.connect(port);
    wrong.send(fe.cancelRequest(key.processID, (key.secretKey + 1) | 0));
    await wrong.closed;
    expect(engine.lastSession.cancelCalls).toBe(0);

    const cancel = await RawClient.connect(port);
    cancel.send(fe.cancelRequest(key.processID, key.secretKey));
    await cancel.closed;
    // The cancel connection is closed without a reply.
    expect(cancel.received).toBe(0);
    expect(await slow).toMatchObject({ code: '57014', message: 'canceling statement due to user request' });
    expect(engine.lastSession.cancelCalls).toBe(1);
    expect((await c.query('SELECT 2')).rows).toEqual([{ '?column?': 2 }]);
  });

  test('client.end() sends Terminate: the session is closed once', async () => {
    const { port, engine, server } = await startServer();
    const c = await connected(port);
    await c.query('BEGIN');
    await c.end();
    await eventually(() => engine.lastSession.closeCalls > 0 && server.socketCount === 0, 'the session to close');
    expect(engine.lastSession.closeCalls).toBe(1);
  });
});

describe('node-postgres, SCRAM-SHA-256', () => {
  test('the right password logs in', async () => {
    const { port, engine } = await startServer({ auth: 'scram-sha-256' });
    const c = await connected(port, { password: 'secret' });
    expect((await c.query('SELECT 1')).rows).toEqual([{ '?column?': 1 }]);
    expect(engine.verifierLookups).toEqual(['alice']);
  });

  test('a wrong password is 28P01 and opens no session', async () => {
    const { port, engine } = await startServer({ auth: 'scram-sha-256' });
    const err = await rejection(client(port, { password: 'wrong' }).connect());
    expect(err).toMatchObject({
      code: '28P01',
      severity: 'FATAL',
      message: 'password authentication failed for user "alice"',
    });
    expect(engine.sessions).toHaveLength(0);
  });

  test('an unknown user fails the same way, after a full exchange', async () => {
    const { port, engine } = await startServer({ auth: 'scram-sha-256' });
    const err = await rejection(client(port, { user: 'mallory', password: 'secret' }).connect());
    expect(err).toMatchObject({ code: '28P01', message: 'password authentication failed for user "mallory"' });
    expect(engine.verifierLookups).toEqual(['mallory']);
    expect(engine.sessions).toHaveLength(0);
  });

  test('trust mode does not ask for a password', async () => {
    const { port, engine } = await startServer({ auth: 'trust' });
    const c = await connected(port, { password: 'whatever' });
    expect((await c.query('SELECT 1')).rowCount).toBe(1);
    expect(engine.verifierLookups).toEqual([]);
  });
});

describe('connection limits and shutdown', () => {
  test('maxConnections: one more session gets 53300; a freed slot can be used again', async () => {
    const { port, server } = await startServer({ maxConnections: 2 });
    const a = await connected(port);
    await connected(port);
    const err = await rejection(client(port).connect());
    expect(err).toMatchObject({ code: '53300', severity: 'FATAL', message: 'sorry, too many clients already' });
    await a.end();
    await eventually(() => server.sessionCount === 1, 'the first session to be released');
    const again = await connected(port);
    expect((await again.query('SELECT 1')).rowCount).toBe(1);
  });

  test('at the connection limit a CancelRequest still gets through', async () => {
    const { port, engine } = await startServer({ maxConnections: 1 });
    const c = await connected(port);
    const key = c as unknown as WithBackendKey;
    const slow = rejection(c.query('select pg_sleep(30)'));
    await eventually(() => engine.lastSession.ran.length === 1, 'the statement to start');
    const cancel = await RawClient.connect(port);
    cancel.send(fe.cancelRequest(key.processID, key.secretKey));
    await cancel.closed;
    expect(await slow).toMatchObject({ code: '57014' });
  });

  test('close(): idle sessions get 57P01, a running statement finishes first, then all is closed', async () => {
    const { port, server, engine } = await startServer();
    const idle = await connected(port);
    const idleError = new Promise<Error & Record<string, unknown>>((resolve) => idle.on('error', (e) => resolve(e as Error & Record<string, unknown>)));
    const busy = await connected(port);
    const running = busy.query('select pg_sleep(0.3)');
    await eventually(() => engine.sessions[1]?.ran.includes('select pg_sleep(0.3)') ?? false, 'the statement to start');

    const closed = server.close({ drainMs: 20_000 });
    expect(await idleError).toMatchObject({ code: '57P01', message: 'terminating connection due to administrator command' });
    // The running statement completes normally.
    expect((await running).rows).toEqual([{ pg_sleep: '' }]);
    await closed;
    expect(server.socketCount).toBe(0);
    expect(engine.sessions.map((s) => s.closeCalls)).toEqual([1, 1]);
    expect(engine.sessions[1]!.cancelCalls).toBe(0);
    // No new connections.
    await expect(connected(port)).rejects.toThrow();
  });

  test('close(): a statement still running after drainMs is cancelled and its connection closed', async () => {
    const { port, server, engine } = await startServer();
    const busy = await connected(port);
    const running = rejection(busy.query('select pg_sleep(60)'));
    await eventually(() => engine.lastSession.ran.length > 0, 'the statement to start');
    await server.close({ drainMs: 50 });
    expect(engine.lastSession.cancelCalls).toBe(1);
    expect(engine.lastSession.closeCalls).toBe(1);
    const err = await running;
    expect(err).toMatchObject({ code: '57P01', severity: 'FATAL' });
    expect(server.socketCount).toBe(0);
  });
});
