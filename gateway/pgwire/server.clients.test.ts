/** End to end with postgres.js and psql, two more real clients with their own habits. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import postgres from 'postgres';
import { closeServers, eventually, selfSignedCertificate, startServer } from './test-support/harness';

afterEach(closeServers);

describe('postgres.js', () => {
  const pools: postgres.Sql[] = [];

  function connect(port: number, options: postgres.Options<Record<string, postgres.PostgresType>> = {}): postgres.Sql {
    const sql = postgres({
      host: '127.0.0.1',
      port,
      user: 'alice',
      database: 'cairn',
      // It would query pg_type for array types on connect, which the fake engine does not know.
      fetch_types: false,
      max: 1,
      connect_timeout: 10,
      onnotice: () => undefined,
      ...options,
    });
    pools.push(sql);
    return sql;
  }

  afterEach(async () => {
    await Promise.all(pools.splice(0).map((sql) => sql.end({ timeout: 1 })));
  });

  test('tagged queries run as named prepared statements, parsed once', async () => {
    const { port, engine } = await startServer();
    const sql = connect(port);
    expect(await sql`select * from items where id = ${2}`).toEqual([{ id: 2, name: 'two' }]);
    expect(await sql`select * from items where id = ${1}`).toEqual([{ id: 1, name: 'one' }]);
    expect(engine.lastSession.prepareCalls).toBe(1);
    const [echo] = await sql`select ${'text value'}::text, ${-5}::int4`;
    expect(echo).toEqual({ p1: 'text value', p2: -5 });
  });

  test('simple queries, several statements at once', async () => {
    const { port } = await startServer();
    const sql = connect(port);
    const results = (await sql`SELECT 1; SELECT 2`.simple()) as unknown as postgres.RowList<postgres.Row[]>[];
    expect(results.map((r) => r[0])).toEqual([{ '?column?': 1 }, { '?column?': 2 }]);
  });

  test('errors carry the SQLSTATE; the connection is reused afterwards', async () => {
    const { port, engine } = await startServer();
    const sql = connect(port);
    await expect(sql`select error('23503', 'no parent')`).rejects.toMatchObject({
      code: '23503',
      message: 'no parent',
      detail: 'the detail',
      severity: 'ERROR',
    });
    expect(await sql`SELECT 3`).toEqual([{ '?column?': 3 }]);
    expect(engine.sessions).toHaveLength(1);
  });

  test('sql.begin runs a transaction block', async () => {
    const { port, engine } = await startServer();
    const sql = connect(port);
    const result = await sql.begin(async (tx) => {
      await tx`insert into items values (7, 'seven')`;
      return tx`select * from items where id = ${7}`;
    });
    expect([...result]).toEqual([{ id: 7, name: 'seven' }]);
    expect(engine.lastSession.ran).toEqual(expect.arrayContaining(['begin', 'commit']));
    expect(engine.lastSession.status).toBe('I');
  });

  test('COPY FROM STDIN through a writable stream', async () => {
    const { port, engine } = await startServer();
    const sql = connect(port);
    const writable = await sql`copy items from stdin`.writable();
    await pipeline(Readable.from(['30\tthirty\n', '31\tthirty-one\n']), writable);
    await eventually(() => engine.items.length === 5, 'the COPY to complete');
    expect(engine.items.slice(3)).toEqual([
      { id: 30, name: 'thirty' },
      { id: 31, name: 'thirty-one' },
    ]);
    expect(await sql`SELECT 1`).toHaveLength(1);
  });

  test('SCRAM-SHA-256: right and wrong password', async () => {
    const { port } = await startServer({ auth: 'scram-sha-256' });
    expect(await connect(port, { password: 'secret' })`SELECT 1`).toHaveLength(1);
    await expect(connect(port, { password: 'wrong' })`SELECT 1`).rejects.toMatchObject({ code: '28P01' });
  });

  test('ParameterStatus after SET reaches onparameter', async () => {
    const { port } = await startServer();
    const seen: [string, string][] = [];
    const sql = connect(port, { onparameter: (key, value) => seen.push([key, value]) });
    await sql`set application_name = 'from-postgres-js'`.simple();
    expect(seen).toContainEqual(['application_name', 'from-postgres-js']);
  });
});

const PSQL = '/usr/bin/psql';
const describeWithPsql = existsSync(PSQL) ? describe : describe.skip;

interface PsqlResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function psql(port: number, args: readonly string[], options: { stdin?: string; env?: Record<string, string> } = {}): Promise<PsqlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(PSQL, ['-h', '127.0.0.1', '-p', String(port), '-U', 'alice', '-d', 'cairn', '-X', '-A', '-t', ...args], {
      env: { PATH: process.env['PATH'] ?? '', PGCONNECT_TIMEOUT: '10', PGSSLMODE: 'prefer', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}

describeWithPsql('psql', () => {
  test('simple queries, several -c in one session', async () => {
    const { port } = await startServer();
    const result = await psql(port, ['-c', 'SELECT 1', '-c', 'select * from items']);
    expect(result).toEqual({ code: 0, stdout: '1\n1|one\n2|two\n3|three\n', stderr: '' });
  });

  test('errors print their message, position, detail and hint; ON_ERROR_STOP exits with 1', async () => {
    const { port } = await startServer();
    const result = await psql(port, ['-v', 'ON_ERROR_STOP=1', '-c', "select error('42P01', 'relation does not exist')"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      [
        'ERROR:  relation does not exist',
        "LINE 1: select error('42P01', 'relation does not exist')",
        // The position (8) is where psql puts its caret.
        '               ^',
        'DETAIL:  the detail',
        'HINT:  the hint',
        '',
      ].join('\n'),
    );
  });

  test('COPY FROM STDIN with the data on standard input', async () => {
    const { port, engine } = await startServer();
    const result = await psql(port, ['-c', 'copy items from stdin'], { stdin: '40\tforty\n41\tforty-one\n' });
    expect(result).toMatchObject({ code: 0, stdout: 'COPY 2\n' });
    expect(engine.items.slice(3)).toEqual([
      { id: 40, name: 'forty' },
      { id: 41, name: 'forty-one' },
    ]);
  });

  test('SCRAM-SHA-256 with PGPASSWORD; a wrong one is refused', async () => {
    const { port } = await startServer({ auth: 'scram-sha-256' });
    expect(await psql(port, ['-c', 'SELECT 2'], { env: { PGPASSWORD: 'secret' } })).toMatchObject({
      code: 0,
      stdout: '2\n',
    });
    const wrong = await psql(port, ['-c', 'SELECT 2'], { env: { PGPASSWORD: 'guess' } });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/password authentication failed for user "alice"/);
  });

  test('sslmode=require over TLS', async () => {
    const { port } = await startServer({ tls: selfSignedCertificate() });
    const result = await psql(port, ['-c', '\\conninfo', '-c', 'SELECT 3'], { env: { PGSSLMODE: 'require' } });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/SSL connection \(protocol: TLSv1\.[23]/);
    expect(result.stdout).toMatch(/\n3\n$/);
  });

  test('sslmode=require against a server without TLS fails cleanly', async () => {
    const { port } = await startServer();
    const result = await psql(port, ['-c', 'SELECT 1'], { env: { PGSSLMODE: 'require' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/server does not support SSL/);
  });
});
