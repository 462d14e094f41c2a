import * as http from 'node:http';
import fc from 'fast-check';
import { fe, type ParsedBackend } from '../../gateway/pgwire/test-support/frontend';
import { type RawClient, summarize } from '../../gateway/pgwire/test-support/raw-client';
import { startSqlCluster, type SqlCluster } from '../support/sql-cluster';
import { rawReady, within } from './clients/wire';

/**
 * Bad input on the wire, against a one-node cluster and the in-process gateway: random
 * bytes and truncated frames after a valid startup, random SQL from a vocabulary, huge
 * and deeply nested statements. The rule for each: an error or a closed connection,
 * never a crash and never a hang (each case is bounded by a timeout); after each burst a
 * fresh connection still runs `SELECT 1` and the gateway still answers /healthz.
 */

const ANSWER_MS = 15_000;
const SEED = Number(process.env['CAIRN_FUZZ_SEED'] ?? 20_240_229);

let cluster: SqlCluster;

beforeAll(async () => {
  cluster = await startSqlCluster('compat-fuzz', { nodes: 1 });
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

async function expectHealthy(): Promise<void> {
  const c = await within(ANSWER_MS, 'connect after the burst', cluster.client());
  try {
    expect((await within(ANSWER_MS, 'SELECT 1 after the burst', c.query('SELECT 1 AS one'))).rows).toEqual([{ one: 1 }]);
  } finally {
    await c.end();
  }
  const status = await within(
    ANSWER_MS,
    '/healthz',
    new Promise<number>((resolve, reject) => {
      http.get(`http://${cluster.httpAddress}/healthz`, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    }),
  );
  expect(status).toBe(200);
}

/** Messages until ReadyForQuery, or until the server closes the connection. */
async function untilReadyOrClosed(client: RawClient): Promise<ParsedBackend[]> {
  const messages: ParsedBackend[] = [];
  while (true) {
    try {
      const m = await client.next();
      messages.push(m);
      if (m.type === 'Z') return messages;
    } catch (err) {
      if (client.isClosed) return messages;
      throw err;
    }
  }
}

/** The SQLSTATEs of the errors among `messages`. */
function errorCodes(messages: readonly ParsedBackend[]): string[] {
  return messages.flatMap((m) => (m.type === 'E' ? [m.fields['C'] ?? '?'] : []));
}

async function simple(client: RawClient, sql: string): Promise<ParsedBackend[]> {
  client.send(fe.query(sql));
  return within(ANSWER_MS, `answer to ${sql.slice(0, 60)}…`, client.untilReady());
}

// ---------------------------------------------------------------------------------------

describe('bytes that are not the protocol', () => {
  test('random bytes after a valid startup: an error or a close, then the gateway still serves', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 512 }), async (bytes) => {
        const client = await rawReady(cluster.port);
        try {
          client.send(Buffer.from(bytes));
          // The bytes may announce a long message the server rightly waits for: end our
          // side, after which it must close the connection (or answer and close).
          client.socket.end();
          await within(ANSWER_MS, 'server closes after random bytes', client.closed);
        } finally {
          client.destroy();
        }
      }),
      { seed: SEED, numRuns: 60 },
    );
    await expectHealthy();
  });

  test('well-framed messages of every frontend type with random bodies, then Sync: ReadyForQuery or a close', async () => {
    const types = ['P', 'B', 'D', 'E', 'C', 'H', 'Q', 'F', 'd', 'c', 'f', 'p', 'X', 'S', 'z', '\0'];
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom(...types), fc.uint8Array({ maxLength: 64 })), { minLength: 1, maxLength: 6 }), async (messages) => {
        const client = await rawReady(cluster.port);
        try {
          // Then a marker query: a connection that survived must still run it.
          client.send(...messages.map(([type, body]) => fe.raw(type, Buffer.from(body))), fe.sync(), fe.query("SELECT 'fuzz-marker'"));
          const answer: ParsedBackend[] = [];
          const what = `answer to ${messages.map(([t]) => JSON.stringify(t)).join(' ')}`;
          while (!summarize(answer).includes('D:fuzz-marker') || answer.at(-1)?.type !== 'Z') {
            const more = await within(ANSWER_MS, what, untilReadyOrClosed(client));
            answer.push(...more);
            if (client.isClosed) break;
          }
          expect(errorCodes(answer)).not.toContain('XX000');
        } finally {
          client.destroy();
        }
      }),
      { seed: SEED, numRuns: 150 },
    );
    await expectHealthy();
  });

  test('a valid extended-query batch cut at every offset, then the socket closed: the server closes too', async () => {
    const batch = Buffer.concat([
      fe.parse('s1', 'SELECT $1::int + 1', [23]),
      fe.bind('p1', 's1', ['41']),
      fe.describe('P', 'p1'),
      fe.execute('p1'),
      fe.sync(),
    ]);
    const cuts = Array.from({ length: batch.length - 1 }, (_, i) => i + 1);
    await Promise.all(
      cuts.map(async (cut) => {
        const client = await rawReady(cluster.port);
        try {
          client.send(batch.subarray(0, cut));
          client.socket.end();
          await within(ANSWER_MS, `close after ${cut} bytes`, client.closed);
        } finally {
          client.destroy();
        }
      }),
    );
    await expectHealthy();
  });

  test('the same batch sent one byte at a time is understood', async () => {
    const client = await rawReady(cluster.port);
    try {
      const batch = Buffer.concat([fe.parse('s1', 'SELECT $1::int + 1', [23]), fe.bind('p1', 's1', ['41']), fe.execute('p1'), fe.sync()]);
      for (const byte of batch) {
        client.send(Buffer.from([byte]));
      }
      expect(summarize(await within(ANSWER_MS, 'byte-at-a-time batch', client.untilReady()))).toEqual(['1', '2', 'D:42', 'C:SELECT 1', 'Z:I']);
    } finally {
      client.destroy();
    }
  });

  test('a length header smaller than 4, or over the limit, is a FATAL 08P01 and a close', async () => {
    for (const header of [Buffer.from([0x51, 0, 0, 0, 3]), Buffer.from([0x51, 0x7f, 0xff, 0xff, 0xff]), Buffer.from([0x51, 0xff, 0xff, 0xff, 0xff])]) {
      const client = await rawReady(cluster.port);
      try {
        client.send(header);
        const answer = await within(ANSWER_MS, 'bad length', client.drainToClose());
        expect(summarize(answer)).toEqual(['E:08P01']);
      } finally {
        client.destroy();
      }
    }
    await expectHealthy();
  });
});

// ---------------------------------------------------------------------------------------

const VOCABULARY = [
  'SELECT', 'FROM', 'WHERE', 'INSERT', 'INTO', 'VALUES', 'UPDATE', 'SET', 'DELETE', 'CREATE', 'TABLE', 'DROP',
  'INDEX', 'ON', 'JOIN', 'LEFT', 'GROUP', 'BY', 'ORDER', 'HAVING', 'LIMIT', 'OFFSET', 'UNION', 'ALL', 'DISTINCT',
  'AS', 'AND', 'OR', 'NOT', 'NULL', 'IS', 'IN', 'EXISTS', 'BETWEEN', 'LIKE', 'CASE', 'WHEN', 'THEN', 'ELSE', 'END',
  'CAST', 'WITH', 'RETURNING', 'BEGIN', 'COMMIT', 'ROLLBACK', 'COPY', 'EXPLAIN', 'SHOW', 'PRIMARY', 'KEY', 'INT',
  'TEXT', 'NUMERIC', 'BOOL', 'DATE', 'TIMESTAMPTZ', 'INTERVAL', 'JSONB', 'BYTEA', 'UUID', 'ARRAY', 'OVER', 'FILTER',
  'fz', 'a', 'b', 'count(*)', 'sum', 'now()', 'generate_series', 'coalesce', 'lower', 'substr', 'to_char', 'length',
  '(', ')', ',', ';', '*', '+', '-', '/', '%', '=', '<', '>', '<>', '::', '||', '->', '->>', '[', ']', '.', '$1',
  "'", '"', '$$', '0', '1', '-1', '2147483648', '1e308', "'x'", "'2024-02-29'", "'{}'", 'NaN', "'\\x00'", 'E\'\\\\\'',
];

const randomSql = fc.oneof(
  { weight: 6, arbitrary: fc.array(fc.constantFrom(...VOCABULARY), { minLength: 1, maxLength: 30 }).map((t) => t.join(' ')) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 80 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }).map((s) => s.replace(/\0/g, '')) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom("SELECT 'abc", 'SELECT "abc', 'SELECT $$abc', "SELECT E'\\", 'SELECT /* abc', "SELECT 1 AS OF SYSTEM TIME '"), fc.string({ maxLength: 20 })).map(([a, b]) => a + b),
  },
);

describe('random SQL', () => {
  test('random token strings, unicode and unbalanced quotes: each gets an answer, none an internal error', async () => {
    const setup = await rawReady(cluster.port);
    await simple(setup, 'CREATE TABLE fz (a INT PRIMARY KEY, b TEXT)');
    await simple(setup, "INSERT INTO fz VALUES (1, 'one'), (2, 'two')");
    setup.destroy();
    const client = await rawReady(cluster.port);
    const internal: string[] = [];
    try {
      await fc.assert(
        fc.asyncProperty(randomSql, async (sql) => {
          const answer = await simple(client, sql);
          if (errorCodes(answer).includes('XX000')) internal.push(sql);
          if (answer.at(-1)?.type === 'Z' && (answer.at(-1) as { status: string }).status !== 'I') {
            await simple(client, 'ROLLBACK');
          }
          // Leave fz as it was for the next case.
          await simple(client, 'DELETE FROM fz WHERE a NOT IN (1, 2)');
        }),
        { seed: SEED, numRuns: 400 },
      );
    } finally {
      client.destroy();
    }
    expect(internal).toEqual([]);
    await expectHealthy();
  });

  test('the same strings through Parse/Bind/Execute', async () => {
    const client = await rawReady(cluster.port);
    const internal: string[] = [];
    try {
      await fc.assert(
        fc.asyncProperty(randomSql, async (sql) => {
          client.send(fe.parse('', sql), fe.bind('', ''), fe.describe('P', ''), fe.execute('', 5), fe.sync());
          const answer = await within(ANSWER_MS, `extended answer to ${sql.slice(0, 60)}`, client.untilReady());
          if (errorCodes(answer).includes('XX000')) internal.push(sql);
          if ((answer.at(-1) as { status?: string }).status !== 'I') await simple(client, 'ROLLBACK');
        }),
        { seed: SEED + 1, numRuns: 300 },
      );
    } finally {
      client.destroy();
    }
    expect(internal).toEqual([]);
    await expectHealthy();
  });
});

// ---------------------------------------------------------------------------------------

describe('huge and deep statements', () => {
  test('a 20 MB statement (over the 16 MiB parser limit) is 54000', async () => {
    const client = await rawReady(cluster.port);
    try {
      const sql = `SELECT '${'x'.repeat(20 * 1024 * 1024)}'`;
      expect(errorCodes(await simple(client, sql))).toEqual(['54000']);
      client.send(fe.parse('', sql), fe.bind('', ''), fe.execute(''), fe.sync());
      expect(errorCodes(await within(ANSWER_MS, 'huge Parse', client.untilReady()))).toEqual(['54000']);
      expect(summarize(await simple(client, 'SELECT 1')).slice(-2)).toEqual(['C:SELECT 1', 'Z:I']);
    } finally {
      client.destroy();
    }
    await expectHealthy();
  });

  test('a 70 MB Query message (over the 64 MiB message limit) is a FATAL 08P01 before its body is read', async () => {
    const client = await rawReady(cluster.port);
    try {
      const header = Buffer.alloc(5);
      header.write('Q', 0, 'latin1');
      header.writeInt32BE(70 * 1024 * 1024 + 4, 1);
      client.send(header);
      expect(summarize(await within(ANSWER_MS, 'oversized message', client.drainToClose()))).toEqual(['E:08P01']);
    } finally {
      client.destroy();
    }
    await expectHealthy();
  });

  test('an IN list of 50 000 elements runs', async () => {
    const client = await rawReady(cluster.port);
    try {
      const list = Array.from({ length: 50_000 }, (_, i) => i).join(', ');
      expect(summarize(await simple(client, `SELECT 49999 IN (${list}), 50000 IN (${list})`))).toEqual(['T', 'D:t,f', 'C:SELECT 1', 'Z:I']);
      expect(summarize(await simple(client, `SELECT count(*) FROM generate_series(1, 100) AS g WHERE g IN (${list})`))).toEqual(['T', 'D:100', 'C:SELECT 1', 'Z:I']);
    } finally {
      client.destroy();
    }
    await expectHealthy();
  });

  test.each([
    ['10 000 nested parentheses', `SELECT ${'('.repeat(10_000)}1${')'.repeat(10_000)}`],
    ['NOT repeated 10 000 times', `SELECT ${'NOT '.repeat(10_000)}true`],
    ['unary minus repeated 10 000 times', `SELECT ${'- '.repeat(10_000)}1`],
    ['a chain of 10 000 additions', `SELECT ${Array.from({ length: 10_000 }, () => '1').join(' + ')}`],
    ['a chain of 10 000 ANDs', `SELECT ${Array.from({ length: 10_000 }, () => 'true').join(' AND ')}`],
    ['10 000 nested function calls', `SELECT ${'abs('.repeat(10_000)}1${')'.repeat(10_000)}`],
    ['10 000 nested scalar subqueries', `SELECT ${'(SELECT '.repeat(10_000)}1${')'.repeat(10_000)}`],
    ['10 000 nested CASE', `SELECT ${'CASE WHEN true THEN '.repeat(10_000)}1${' END'.repeat(10_000)}`],
    ['a chain of 3 000 additions', `SELECT ${Array.from({ length: 3_000 }, () => '1').join(' + ')}`],
    ['a chain of 1 000 string concatenations', `SELECT ${Array.from({ length: 1_000 }, () => "'a'").join(' || ')}`],
    ['3 000 nested function calls', `SELECT ${'abs('.repeat(3_000)}1${')'.repeat(3_000)}`],
    ['500 nested scalar subqueries', `SELECT ${'(SELECT '.repeat(500)}1${')'.repeat(500)}`],
    ['1 000 nested CASE', `SELECT ${'CASE WHEN true THEN '.repeat(1_000)}1${' END'.repeat(1_000)}`],
    ['a 10 000-deep array literal', `SELECT '${'{'.repeat(10_000)}1${'}'.repeat(10_000)}'::int[]`],
    ['a 10 000-deep jsonb literal', `SELECT '${'['.repeat(10_000)}1${']'.repeat(10_000)}'::jsonb`],
  ])('%s: an error (or a result), never a crash', async (_, sql) => {
    const client = await rawReady(cluster.port);
    try {
      const answer = await simple(client, sql);
      const codes = errorCodes(answer);
      expect(codes).not.toContain('XX000');
      if (codes.length > 0) {
        expect(['42601', '54000', '54001', '22P02']).toContain(codes[0]);
      }
      expect(summarize(await simple(client, 'SELECT 1')).slice(-2)).toEqual(['C:SELECT 1', 'Z:I']);
    } finally {
      client.destroy();
    }
    await expectHealthy();
  });
});
