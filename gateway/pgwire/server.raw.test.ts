/**
 * The protocol rules checked message by message over a raw socket (test-support/
 * frontend.ts encodes and parses independently of encode.ts and decode.ts). Each test
 * names the rule of the protocol documentation ("Message Flow") it checks.
 */
import pg from 'pg';
import type { SqlSession, StartupInfo } from './sql-session';
import { FakeEngine } from './test-support/fake-engine';
import { fe, type ParsedBackend } from './test-support/frontend';
import { closeServers, eventually, startServer } from './test-support/harness';
import { RawClient, summarize } from './test-support/raw-client';

const raws: RawClient[] = [];

async function ready(port: number, parameters?: Record<string, string>): Promise<RawClient> {
  const { client } = await RawClient.ready(port, parameters);
  raws.push(client);
  return client;
}

async function connect(port: number): Promise<RawClient> {
  const client = await RawClient.connect(port);
  raws.push(client);
  return client;
}

afterEach(async () => {
  for (const raw of raws.splice(0)) {
    raw.destroy();
  }
  await closeServers();
});

function errorOf(messages: readonly ParsedBackend[]): Readonly<Record<string, string>> {
  const error = messages.find((m) => m.type === 'E');
  if (error?.type !== 'E') {
    throw new Error(`no ErrorResponse in ${summarize(messages).join(' ')}`);
  }
  return error.fields;
}

describe('startup (protocol: Start-up)', () => {
  test('AuthenticationOk, ParameterStatus for each initial parameter, BackendKeyData, ReadyForQuery', async () => {
    const { port } = await startServer();
    const client = await connect(port);
    client.send(fe.startup({ user: 'alice', application_name: 'raw-test' }));
    const messages = await client.untilReady();
    expect(messages.map((m) => m.type)).toEqual(['R', 'S', 'S', 'S', 'S', 'S', 'S', 'S', 'S', 'K', 'Z']);
    expect(messages[0]).toMatchObject({ type: 'R', code: 0 });
    expect(messages).toContainEqual({ type: 'S', name: 'server_version', value: '16.0' });
    expect(messages).toContainEqual({ type: 'S', name: 'application_name', value: 'raw-test' });
    expect(messages[messages.length - 1]).toEqual({ type: 'Z', status: 'I' });
  });

  test("SSLRequest without TLS configured is answered 'N' and the startup continues in plain text", async () => {
    const { port } = await startServer();
    const client = await connect(port);
    client.send(fe.sslRequest());
    expect(await client.readByte()).toBe('N');
    client.send(fe.startup({ user: 'alice' }));
    expect(summarize(await client.untilReady()).pop()).toBe('Z:I');
  });

  test("GSSENCRequest is answered 'N'; an SSLRequest may follow", async () => {
    const { port } = await startServer();
    const client = await connect(port);
    client.send(fe.gssEncRequest());
    expect(await client.readByte()).toBe('N');
    client.send(fe.sslRequest());
    expect(await client.readByte()).toBe('N');
    client.send(fe.startup({ user: 'alice' }));
    expect(summarize(await client.untilReady()).pop()).toBe('Z:I');
  });

  test('a second SSLRequest is a protocol violation', async () => {
    const { port } = await startServer();
    const client = await connect(port);
    client.send(fe.sslRequest());
    expect(await client.readByte()).toBe('N');
    client.send(fe.sslRequest());
    const messages = await client.drainToClose();
    expect(errorOf(messages)).toMatchObject({ S: 'FATAL', C: '08P01' });
  });

  test('bytes sent after an SSLRequest, before the answer, are refused (no injection before TLS)', async () => {
    const { port } = await startServer();
    const client = await connect(port);
    client.send(fe.sslRequest(), fe.startup({ user: 'alice' }));
    const messages = await client.drainToClose();
    expect(errorOf(messages)).toMatchObject({ C: '08P01', M: 'received unencrypted data after SSL request' });
  });

  test('a newer minor version or _pq_ options: NegotiateProtocolVersion, then the session starts', async () => {
    const { port, engine } = await startServer();
    const client = await connect(port);
    client.send(fe.startup({ user: 'alice', '_pq_.compression': 'on' }, (3 << 16) | 2));
    const messages = await client.untilReady();
    expect(messages[0]).toEqual({ type: 'v', newestMinor: 0, options: ['_pq_.compression'] });
    expect(messages[1]).toMatchObject({ type: 'R', code: 0 });
    expect(engine.lastSession.startup.parameters.has('_pq_.compression')).toBe(false);
  });

  test('another major version is refused with a FATAL 08P01', async () => {
    const { port, engine } = await startServer();
    const client = await connect(port);
    client.send(fe.startup({ user: 'alice' }, 2 << 16));
    const error = errorOf(await client.drainToClose());
    expect(error).toMatchObject({ S: 'FATAL', C: '08P01', M: 'unsupported frontend protocol 2.0: server supports 3.0 to 3.0' });
    expect(engine.sessions).toHaveLength(0);
  });

  test('a startup packet without a user is FATAL 28000', async () => {
    const { port } = await startServer();
    const client = await connect(port);
    client.send(fe.startup({ database: 'cairn' }));
    expect(errorOf(await client.drainToClose())).toMatchObject({
      S: 'FATAL',
      C: '28000',
      M: 'no PostgreSQL user name specified in startup packet',
    });
  });

  test('a client that never finishes its startup is disconnected after the authentication timeout', async () => {
    const { port, server } = await startServer({ authenticationTimeoutMs: 100 });
    const client = await connect(port);
    client.send(fe.startup({ user: 'alice' }).subarray(0, 10));
    await client.closed;
    await eventually(() => server.socketCount === 0, 'the socket to be released');
  });
});

describe('simple query (protocol: Simple Query)', () => {
  test('an empty query string gives EmptyQueryResponse', async () => {
    const { port } = await startServer();
    const client = await ready(port);
    client.send(fe.query(''));
    expect(summarize(await client.untilReady())).toEqual(['I', 'Z:I']);
  });

  test('ReadyForQuery carries the transaction status: idle, in a transaction, failed', async () => {
    const { port } = await startServer();
    const client = await ready(port);
    client.send(fe.query('BEGIN'));
    expect(summarize(await client.untilReady())).toEqual(['C:BEGIN', 'Z:T']);
    client.send(fe.query('SELECT 1'));
    expect(summarize(await client.untilReady())).toEqual(['T', 'D:1', 'C:SELECT 1', 'Z:T']);
    client.send(fe.query("select error('22012', 'division by zero')"));
    expect(summarize(await client.untilReady())).toEqual(['E:22012', 'Z:E']);
    client.send(fe.query('ROLLBACK'));
    expect(summarize(await client.untilReady())).toEqual(['C:ROLLBACK', 'Z:I']);
  });

  test('statements before an error complete; the rest do not run', async () => {
    const { port, engine } = await startServer();
    const client = await ready(port);
    client.send(fe.query("SELECT 1; select error('42P01', 'no such table'); SELECT 2"));
    const messages = await client.untilReady();
    expect(summarize(messages)).toEqual(['T', 'D:1', 'C:SELECT 1', 'E:42P01', 'Z:I']);
    expect(errorOf(messages)).toMatchObject({ S: 'ERROR', V: 'ERROR', M: 'no such table', D: 'the detail', H: 'the hint', P: '8' });
    expect(engine.lastSession.ran).not.toContain('SELECT 2');
  });

  test('pipelined queries are answered in order', async () => {
    const { port } = await startServer();
    const client = await ready(port);
    client.send(fe.query('SELECT 1'), fe.query('SELECT 2'), fe.query('SELECT 3'));
    const messages = [...(await client.untilReady()), ...(await client.untilReady()), ...(await client.untilReady())];
    expect(summarize(messages).filter((s) => s.startsWith('D:'))).toEqual(['D:1', 'D:2', 'D:3']);
  });

  test('a flood of pipelined queries (more than the input high-water mark) is answered completely, in order', async () => {
    const { port } = await startServer();
    const client = await ready(port);
    // 3000 queries of 1 KiB: 3 MiB arrive while the first statement sleeps, so reading
    // pauses and resumes.
    const count = 3000;
    const padding = ' '.repeat(1024);
    client.send(
      fe.query('select pg_sleep(0.2)'),
      ...Array.from({ length: count }, (_, i) => fe.query(`SELECT ${i}${padding}`)),
    );
    expect(summarize(await client.untilReady())).toEqual(['T', 'D:', 'C:SELECT 1', 'Z:I']);
    const values: string[] = [];
    let answered = 0;
    while (answered < count) {
      const message = await client.next();
      if (message.type === 'D') {
        values.push(message.values[0]!.toString());
      } else if (message.type === 'Z') {
        answered++;
      }
    }
    expect(values).toEqual(Array.from({ length: count }, (_, i) => String(i)));
  });

  test('SET of a reported parameter sends ParameterStatus', async () => {
    const { port } = await startServer();
    const client = await ready(port);
    client.send(fe.query("set application_name = 'reporting'"));
    const messages = await client.untilReady();
    expect(messages).toEqual([
      { type: 'S', name: 'application_name', value: 'reporting' },
      { type: 'C', tag: 'SET' },
      { type: 'Z', status: 'I' },
    ]);
  });

  test('a NOTICE arrives before the rows of its statement', async () => {
    const { port } = await startServer();
    const client = await ready(port);
    client.send(fe.query("select notice('careful')"));
    const messages = await client.untilReady();
    expect(summarize(messages)).toEqual(['N:00000', 'T', 'D:careful', 'C:SELECT 1', 'Z:I']);
  });

  test('FunctionCall is not supported (0A000) and the connection goes on', async () => {
    const { port } = await startServer();
    const client = await ready(port);
    client.send(fe.functionCall());
    expect(summarize(await client.untilReady())).toEqual(['E:0A000', 'Z:I']);
    client.send(fe.query('SELECT 4'));
    expect(summarize(await client.untilReady())).toContain('D:4');
  });
});

describe('extended query (protocol: Extended Query)', () => {
  test('Execute with a row limit suspends the portal; the next Execute resumes it', async () => {
    const { port } = await startServer();
    const client = await ready(port);
    client.send(
      fe.parse('', 'select generate_series(1, 5)'),
      fe.bind('', ''),
      fe.describe('P', ''),
      fe.execute('', 2),
      fe.execute('', 2),
      fe.execute('', 0),
      fe.sync(),
    );
    expect(summarize(await client.untilReady())).toEqual([
      '1',
      '2',
      'T',
      'D:1',
      'D:2',
      's',
      'D:3',
      'D:4',
      's',
      'D:5',
      'C:SELECT 1',
      'Z:I',
    ]);
  });

  test('Describe statement: ParameterDescription and RowDescription in text; NoData for no rows', async () => {
    const { port } = await startServer();
    const client = await ready(port);
    client.send(
      fe.parse('q', 'select * from items where id = $1'),
      fe.describe('S', 'q'),
      fe.parse('b', 'BEGIN'),
      fe.describe('S', 'b'),
      fe.sync(),
    );
    const messages = await client.untilReady();
    expect(summarize(messages)).toEqual(['1', 't', 'T', '1', 't', 'n', 'Z:I']);
    expect(messages[1]).toEqual({ type: 't', oids: [23] });
    expect(messages[2]).toEqual({
      type: 'T',
      fields: [
        { name: 'id', tableOid: 16384, columnNumber: 1, typeOid: 23, typeSize: 4, typeModifier: -1, format: 0 },
        { name: 'name', tableOid: 16384, columnNumber: 2, typeOid: 25, typeSize: -1, typeModifier: -1, format: 0 },
      ],
    });
    expect(messages[4]).toEqual({ type: 't', oids: [] });
  });

  test('Describe portal carries the result formats of the Bind; binary values pass through untouched', async () => {
    const { port } = await startServer();
    const client = await ready(port);
    const minus = Buffer.alloc(4);
    minus.writeInt32BE(-123456);
    client.send(
      fe.parse('echo', 'select $1::int4, $2::text'),
      fe.bind('p', 'echo', [minus, 'ü'], [1, 0], [1]),
      fe.describe('P', 'p'),
      fe.execute('p'),
      fe.sync(),
    );
    const messages = await client.untilReady();
    expect(summarize(messages)).toEqual(['1', '2', 'T', `D:0x${minus.toString('hex')},0x${Buffer.from('ü').toString('hex')}`, 'C:SELECT 1', 'Z:I']);
    const description = messages[2];
    expect(description?.type === 'T' && description.fields.map((f) => f.format)).toEqual([1, 1]);
  });

  test('a statement without rows: Describe portal is NoData, Execute gives the tag', async () => {
    const { port } = await startServer();
    const client = await ready(port);
    client.send(fe.parse('', 'BEGIN'), fe.bind('', ''), fe.describe('P', ''), fe.execute(''), fe.sync());
    expect(summarize(await client.untilReady())).toEqual(['1', '2', 'n', 'C:BEGIN', 'Z:T']);
  });

  test('an empty statement executes to EmptyQueryResponse', async () => {
    const { port } = await startServer();
    const client = await ready(port);
    client.send(fe.parse('', ''), fe.bind('', ''), fe.execute(''), fe.sync());
    expect(summarize(await client.untilReady())).toEqual(['1', '2', 'I', 'Z:I']);
  });

  test('after an error everything up to Sync is skipped, then ReadyForQuery', async () => {
    const { port, engine } = await startServer();
    const client = await ready(port);
    client.send(
      fe.parse('s', 'SELECT 1'),
      fe.parse('s', 'SELECT 2'),
      fe.bind('', 's'),
      fe.execute(''),
      fe.flush(),
      fe.query('SELECT 3'),
      fe.sync(),
    );
    const messages = await client.untilReady();
    expect(summarize(messages)).toEqual(['1', 'E:42P05', 'Z:I']);
    expect(errorOf(messages)['M']).toBe('prepared statement "s" already exists');
    expect(engine.lastSession.ran).toEqual([]);
    // The first statement is still there.
    client.send(fe.bind('', 's'), fe.execute(''), fe.sync());
    expect(summarize(await client.untilReady())).toEqual(['2', 'D:1', 'C:SELECT 1', 'Z:I']);
  });

  test('unknown statement (26000) and unknown portal (34000)', async () => {
    const { port } = await startServer();
    const client = await ready(port);
    client.send(fe.bind('', 'nope'), fe.sync());
    const bind = await client.untilReady();
    expect(errorOf(bind)).toMatchObject({ C: '26000', M: 'prepared statement "nope" does not exist' });
    client.send(fe.describe('S', ''), fe.sync());
    expect(errorOf(await client.untilReady())).toMatchObject({ C: '26000', M: 'unnamed prepared statement does not exist' });
    client.send(fe.execute('nope'), fe.sync());
    expect(errorOf(await client.untilReady())).toMatchObject({ C: '34000', M: 'portal "nope" does not exist' });
    client.send(fe.describe('P', 'nope'), fe.sync());
    expect(errorOf(await client.untilReady())).toMatchObject({ C: '34000' });
  });

  test('format and parameter counts that do not match are 08P01; unknown format codes 22023', async () => {
    const { port } = await startServer();
    const client = await ready(port);
    client.send(fe.parse('two', 'select $1::int4, $2::text'), fe.sync());
    await client.untilReady();
    client.send(fe.bind('', 'two', ['1', 'a'], [0, 0, 0]), fe.sync());
    expect(errorOf(await client.untilReady())).toMatchObject({
      C: '08P01',
      M: 'bind message has 3 parameter formats but 2 parameters',
    });
    client.send(fe.bind('', 'two', ['1']), fe.sync());
    expect(errorOf(await client.untilReady())).toMatchObject({
      C: '08P01',
      M: 'bind message supplies 1 parameters, but prepared statement "two" requires 2',
    });
    client.send(fe.bind('', 'two', ['1', 'a'], [], [0, 1, 1]), fe.sync());
    expect(errorOf(await client.untilReady())).toMatchObject({
      C: '08P01',
      M: 'bind message has 3 result formats but query has 2 columns',
    });
    client.send(fe.bind('', 'two', ['1', 'a'], [2]), fe.sync());
    expect(errorOf(await client.untilReady())).toMatchObject({ C: '22023', M: 'unsupported format code: 2' });
    // And the connection is fine.
    client.send(fe.bind('', 'two', ['1', 'a'], [], [1, 0]), fe.execute(''), fe.sync());
    expect(summarize(await client.untilReady())).toEqual(['2', 'D:0x00000001,a', 'C:SELECT 1', 'Z:I']);
  });

  test('Flush sends what is buffered without a Sync', async () => {
    const { port } = await startServer();
    const client = await ready(port);
    client.send(fe.parse('f', 'SELECT 1'), fe.bind('', 'f'), fe.execute(''), fe.flush());
    expect(summarize([await client.next(), await client.next(), await client.next(), await client.next()])).toEqual([
      '1',
      '2',
      'D:1',
      'C:SELECT 1',
    ]);
    client.send(fe.sync());
    expect(summarize(await client.untilReady())).toEqual(['Z:I']);
  });

  test('Close: CloseComplete, also for names that do not exist; the name is gone afterwards', async () => {
    const { port, engine } = await startServer();
    const client = await ready(port);
    client.send(fe.parse('c', 'SELECT 1'), fe.close('S', 'c'), fe.close('S', 'never'), fe.close('P', 'never'), fe.sync());
    expect(summarize(await client.untilReady())).toEqual(['1', '3', '3', '3', 'Z:I']);
    expect(engine.lastSession.closedStatements).toEqual(['SELECT 1']);
    client.send(fe.bind('', 'c'), fe.sync());
    expect(errorOf(await client.untilReady())).toMatchObject({ C: '26000' });
  });

  test('the unnamed portal is replaced silently; a named portal that exists is 42P03', async () => {
    const { port, engine } = await startServer();
    const client = await ready(port);
    client.send(fe.parse('', 'SELECT 7'), fe.bind('', ''), fe.bind('', ''), fe.execute(''), fe.sync());
    expect(summarize(await client.untilReady())).toEqual(['1', '2', '2', 'D:7', 'C:SELECT 1', 'Z:I']);
    expect(engine.lastSession.closedPortals).toContain('SELECT 7');
    client.send(fe.query('BEGIN'));
    await client.untilReady();
    client.send(fe.parse('', 'SELECT 8'), fe.bind('p', ''), fe.bind('p', ''), fe.sync());
    const messages = await client.untilReady();
    expect(summarize(messages)).toEqual(['1', '2', 'E:42P03', 'Z:T']);
    expect(errorOf(messages)['M']).toBe('portal "p" already exists');
  });

  test('portals end with the transaction: a named portal survives Sync only inside BEGIN', async () => {
    const { port } = await startServer();
    const client = await ready(port);
    client.send(fe.parse('s', 'select generate_series(1, 3)'), fe.bind('p', 's'), fe.execute('p', 1), fe.sync());
    expect(summarize(await client.untilReady())).toEqual(['1', '2', 'D:1', 's', 'Z:I']);
    client.send(fe.execute('p', 1), fe.sync());
    expect(errorOf(await client.untilReady())).toMatchObject({ C: '34000' });

    client.send(fe.query('BEGIN'));
    await client.untilReady();
    client.send(fe.bind('p', 's'), fe.execute('p', 1), fe.sync());
    expect(summarize(await client.untilReady())).toEqual(['2', 'D:1', 's', 'Z:T']);
    client.send(fe.execute('p', 1), fe.sync());
    expect(summarize(await client.untilReady())).toEqual(['D:2', 's', 'Z:T']);
    client.send(fe.query('COMMIT'));
    await client.untilReady();
    client.send(fe.execute('p', 1), fe.sync());
    expect(errorOf(await client.untilReady())).toMatchObject({ C: '34000' });
  });

  test('a simple Query drops the unnamed statement', async () => {
    const { port } = await startServer();
    const client = await ready(port);
    client.send(fe.parse('', 'SELECT 1'), fe.sync());
    await client.untilReady();
    client.send(fe.query('SELECT 2'));
    await client.untilReady();
    client.send(fe.bind('', ''), fe.sync());
    expect(errorOf(await client.untilReady())).toMatchObject({ C: '26000' });
  });

  test('a malformed Bind is an ERROR (08P01): skip to Sync, and the connection goes on', async () => {
    const { port } = await startServer();
    const client = await ready(port);
    const badBind = fe.raw('B', Buffer.concat([Buffer.from('\0\0'), Buffer.from([0, 0, 0, 1, 0, 0, 0, 50, 0, 0])]));
    client.send(fe.parse('', 'SELECT 1'), badBind, fe.execute(''), fe.sync());
    const messages = await client.untilReady();
    expect(summarize(messages)).toEqual(['1', 'E:08P01', 'Z:I']);
    expect(errorOf(messages)['S']).toBe('ERROR');
    client.send(fe.query('SELECT 9'));
    expect(summarize(await client.untilReady())).toContain('D:9');
  });

  test('errors in Execute: the failed transaction shows as E at Sync', async () => {
    const { port } = await startServer();
    const client = await ready(port);
    client.send(fe.query('BEGIN'));
    await client.untilReady();
    client.send(fe.parse('', "select error('40001', 'restart')"), fe.bind('', ''), fe.execute(''), fe.sync());
    expect(summarize(await client.untilReady())).toEqual(['1', '2', 'E:40001', 'Z:E']);
  });
});

describe('COPY FROM STDIN (protocol: COPY Operations)', () => {
  test('CopyInResponse, CopyData, CopyDone, then CommandComplete', async () => {
    const { port, engine } = await startServer();
    const client = await ready(port);
    client.send(fe.query('copy items from stdin'));
    expect(await client.next()).toEqual({ type: 'G', format: 0, columnFormats: [0, 0] });
    client.send(fe.copyData('10\tten\n11\tel'), fe.flush(), fe.sync(), fe.copyData('even\n'), fe.copyDone());
    expect(summarize(await client.untilReady())).toEqual(['C:COPY 2', 'Z:I']);
    expect(engine.items.slice(-2)).toEqual([
      { id: 10, name: 'ten' },
      { id: 11, name: 'eleven' },
    ]);
  });

  test('CopyFail makes the COPY fail with 57014 and the client message', async () => {
    const { port, engine } = await startServer();
    const client = await ready(port);
    client.send(fe.query('copy items from stdin'));
    await client.next();
    client.send(fe.copyData('12\ttwelve\n'), fe.copyFail('client said no'));
    const messages = await client.untilReady();
    expect(summarize(messages)).toEqual(['E:57014', 'Z:I']);
    expect(errorOf(messages)['M']).toBe('COPY from stdin failed: client said no');
    expect(engine.items).toHaveLength(3);
  });

  test('another message during COPY is 08P01; what the client still sends after is ignored', async () => {
    const { port } = await startServer();
    const client = await ready(port);
    client.send(fe.query('copy items from stdin'));
    await client.next();
    client.send(fe.query('SELECT 1'));
    const messages = await client.untilReady();
    expect(summarize(messages)).toEqual(['E:08P01', 'Z:I']);
    expect(errorOf(messages)['M']).toBe('unexpected message type "Q" during COPY from stdin');
    client.send(fe.copyData('1\tx\n'), fe.copyDone(), fe.query('SELECT 5'));
    expect(summarize(await client.untilReady())).toEqual(['T', 'D:5', 'C:SELECT 1', 'Z:I']);
  });

  test('a COPY whose data the session rejects: ERROR, and the rest of the data is ignored', async () => {
    const { port } = await startServer();
    const client = await ready(port);
    client.send(fe.query('copy items from stdin'));
    await client.next();
    client.send(fe.copyData('not a number\n'), fe.copyDone());
    expect(summarize(await client.untilReady())).toEqual(['E:22P02', 'Z:I']);
  });

  test('COPY through the extended protocol', async () => {
    const { port, engine } = await startServer();
    const client = await ready(port);
    client.send(fe.parse('', 'copy items from stdin'), fe.bind('', ''), fe.execute(''), fe.flush());
    expect(summarize([await client.next(), await client.next(), await client.next()])).toEqual(['1', '2', 'G']);
    client.send(fe.copyData('20\ttwenty\n'), fe.copyDone(), fe.sync());
    expect(summarize(await client.untilReady())).toEqual(['C:COPY 1', 'Z:I']);
    expect(engine.items[engine.items.length - 1]).toEqual({ id: 20, name: 'twenty' });
  });
});

describe('broken clients', () => {
  test('garbage after startup: FATAL 08P01 and close; another connection keeps working', async () => {
    const { port, server, engine } = await startServer();
    const other = new pg.Client({ host: '127.0.0.1', port, user: 'alice' });
    await other.connect();
    try {
      const client = await ready(port);
      client.send(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      const messages = await client.drainToClose();
      expect(errorOf(messages)).toMatchObject({ S: 'FATAL', C: '08P01', M: 'invalid frontend message type "G"' });
      expect((await other.query('SELECT 1')).rows).toEqual([{ '?column?': 1 }]);
      await eventually(() => server.socketCount === 1, 'the broken connection to be released');
      expect(engine.sessions[1]!.closeCalls).toBe(1);
    } finally {
      await other.end();
    }
  });

  test('garbage instead of a startup packet: FATAL 08P01 and close', async () => {
    const { port, engine } = await startServer();
    const client = await connect(port);
    client.send(Buffer.from('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03'));
    const messages = await client.drainToClose();
    expect(errorOf(messages)).toMatchObject({ S: 'FATAL', C: '08P01' });
    expect(engine.sessions).toHaveLength(0);
  });

  test('a message over maxMessageBytes: FATAL 08P01 from its header alone, then close', async () => {
    const { port } = await startServer({ maxMessageBytes: 1024 });
    const client = await ready(port);
    const header = Buffer.from([0x51, 0, 0x10, 0, 0]); // Query of 1 MiB, body never sent
    client.send(header);
    const messages = await client.drainToClose();
    expect(errorOf(messages)).toMatchObject({
      S: 'FATAL',
      C: '08P01',
      M: 'message of type "Q" is too large: 1048572 bytes, the limit is 1024',
    });
  });

  test('a truncated message followed by the client leaving: the session is closed once', async () => {
    const { port, server, engine } = await startServer();
    const client = await ready(port);
    client.send(fe.query('SELECT 1').subarray(0, 7));
    client.socket.end();
    await client.closed;
    await eventually(() => server.socketCount === 0, 'the connection to be released');
    expect(engine.lastSession.closeCalls).toBe(1);
  });

  test('a client vanishing during a statement: the statement is cancelled, the session closed once', async () => {
    const { port, server, engine } = await startServer();
    const client = await ready(port);
    client.send(fe.query('select pg_sleep(60)'));
    await eventually(() => engine.lastSession.ran.length === 1, 'the statement to start');
    client.destroy();
    await eventually(() => server.socketCount === 0, 'the connection to be released');
    expect(engine.lastSession.cancelCalls).toBe(1);
    expect(engine.lastSession.closeCalls).toBe(1);
  });

  test('Terminate: the server closes the socket and the session', async () => {
    const { port, engine } = await startServer();
    const client = await ready(port);
    client.send(fe.terminate());
    expect(await client.drainToClose()).toEqual([]);
    await eventually(() => engine.lastSession.closeCalls === 1, 'the session to close');
  });

  test('sockets that never finish their startup cannot pile up past maxConnections + 64', async () => {
    const { port, server } = await startServer({ maxConnections: 1 });
    const lingering = await Promise.all(Array.from({ length: 65 }, () => connect(port)));
    await eventually(() => server.socketCount === 65, 'the sockets to be accepted');
    const refused = await connect(port);
    expect(errorOf(await refused.drainToClose())).toMatchObject({ S: 'FATAL', C: '53300' });
    expect(lingering.some((client) => client.isClosed)).toBe(false);
  });

  test('a password message after authentication is a protocol violation', async () => {
    const { port } = await startServer();
    const client = await ready(port);
    client.send(fe.password('late'));
    expect(errorOf(await client.drainToClose())).toMatchObject({ S: 'FATAL', C: '08P01' });
  });

  test('a non-SCRAM SASL mechanism is refused', async () => {
    const { port } = await startServer({ auth: 'scram-sha-256' });
    const client = await connect(port);
    client.send(fe.startup({ user: 'alice' }));
    expect(await client.next()).toMatchObject({ type: 'R', code: 10, mechanisms: ['SCRAM-SHA-256'] });
    client.send(fe.saslInitialResponse('SCRAM-SHA-256-PLUS', Buffer.from('p=tls-server-end-point,,n=,r=x')));
    expect(errorOf(await client.drainToClose())).toMatchObject({
      S: 'FATAL',
      C: '08P01',
      M: 'client selected an invalid SASL authentication mechanism',
    });
  });

  test('a query instead of a SASL response is refused', async () => {
    const { port, engine } = await startServer({ auth: 'scram-sha-256' });
    const client = await connect(port);
    client.send(fe.startup({ user: 'alice' }));
    await client.next();
    client.send(fe.query('SELECT 1'));
    expect(errorOf(await client.drainToClose())).toMatchObject({ S: 'FATAL', C: '08P01' });
    expect(engine.sessions).toHaveLength(0);
  });

  test('a client leaving while its session is being opened: the session is closed once, nothing logged as a bug', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    class SlowEngine extends FakeEngine {
      override async openSession(startup: StartupInfo): Promise<SqlSession> {
        await gate;
        return super.openSession(startup);
      }
    }
    const { port, server, engine, logs } = await startServer({ engine: new SlowEngine() });
    const client = await connect(port);
    client.send(fe.startup({ user: 'alice' }));
    await eventually(() => server.sessionCount === 1, 'the startup to be admitted');
    client.destroy();
    await client.closed;
    release();
    await eventually(() => server.socketCount === 0, 'the connection to be released');
    expect(engine.lastSession.closeCalls).toBe(1);
    expect(logs.filter((line) => Number(line['level']) >= 50)).toEqual([]);
  });

  test('an engine failing with a bug while opening the session: FATAL XX000, logged', async () => {
    class BrokenEngine extends FakeEngine {
      override async openSession(): Promise<SqlSession> {
        throw new TypeError('catalog not loaded');
      }
    }
    const { port, logs } = await startServer({ engine: new BrokenEngine() });
    const client = await connect(port);
    client.send(fe.startup({ user: 'alice' }));
    expect(errorOf(await client.drainToClose())).toMatchObject({
      S: 'FATAL',
      C: 'XX000',
      M: 'internal error: catalog not loaded',
    });
    expect(logs.some((line) => line['level'] === 50)).toBe(true);
  });
});
