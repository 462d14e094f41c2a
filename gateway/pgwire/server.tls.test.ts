/** TLS: SSLRequest answered 'S' and the connection upgraded in place. */
import * as tls from 'node:tls';
import pg from 'pg';
import { fe } from './test-support/frontend';
import { closeServers, eventually, selfSignedCertificate, startServer } from './test-support/harness';
import { RawClient } from './test-support/raw-client';

const certificate = selfSignedCertificate();
const clients: pg.Client[] = [];

async function connected(port: number, options: pg.ClientConfig): Promise<pg.Client> {
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'alice', database: 'cairn', ...options });
  c.on('error', () => undefined);
  clients.push(c);
  await c.connect();
  return c;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.end().catch(() => undefined)));
  await closeServers();
});

/** The socket pg ended up using (after its TLS upgrade). */
function streamOf(c: pg.Client): { encrypted?: boolean; getProtocol?: () => string | null } {
  return (c as unknown as { connection: { stream: { encrypted?: boolean; getProtocol?: () => string | null } } })
    .connection.stream;
}

describe('TLS', () => {
  test('node-postgres with ssl: queries run over an encrypted connection', async () => {
    const { port } = await startServer({ tls: certificate });
    const c = await connected(port, { ssl: { rejectUnauthorized: false } });
    expect(streamOf(c).encrypted).toBe(true);
    expect(streamOf(c).getProtocol?.()).toMatch(/^TLSv1\.[23]$/);
    expect((await c.query('select * from items where id = $1', [3])).rows).toEqual([{ id: 3, name: 'three' }]);
  });

  test('the certificate verifies against itself as CA', async () => {
    const { port } = await startServer({ tls: { secureContext: tls.createSecureContext(certificate) } });
    const c = await connected(port, { ssl: { ca: certificate.cert, servername: 'localhost' } });
    expect((await c.query('SELECT 1')).rowCount).toBe(1);
  });

  test('SCRAM over TLS; a client able to bind channels but not offered it sends gs2 header "y,,"', async () => {
    const { port } = await startServer({ tls: certificate, auth: 'scram-sha-256' });
    const ssl = { rejectUnauthorized: false };
    const plain = await connected(port, { ssl, password: 'secret' });
    expect((await plain.query('SELECT 1')).rowCount).toBe(1);
    // enableChannelBinding: pg would use SCRAM-SHA-256-PLUS if offered; it is not, so "y,,".
    const willing = await connected(port, { ssl, password: 'secret', enableChannelBinding: true });
    expect((await willing.query('SELECT 1')).rowCount).toBe(1);
    await expect(connected(port, { ssl, password: 'nope' })).rejects.toMatchObject({ code: '28P01' });
  });

  test('ending a TLS session releases its socket and closes the session once', async () => {
    const { port, server, engine } = await startServer({ tls: certificate });
    const c = await connected(port, { ssl: { rejectUnauthorized: false } });
    await c.end();
    await eventually(() => server.socketCount === 0, 'the TLS socket to be released');
    expect(engine.lastSession.closeCalls).toBe(1);
  });

  test("without TLS configured, a client that requires it fails on the 'N' answer", async () => {
    const { port } = await startServer();
    await expect(connected(port, { ssl: { rejectUnauthorized: false } })).rejects.toThrow(
      /does not support SSL/,
    );
  });

  test('requireTls: a plain-text session is refused with 28000, a TLS one accepted', async () => {
    const { port } = await startServer({ tls: certificate, requireTls: true });
    await expect(connected(port, {})).rejects.toMatchObject({ code: '28000', severity: 'FATAL' });
    const c = await connected(port, { ssl: { rejectUnauthorized: false } });
    expect((await c.query('SELECT 1')).rowCount).toBe(1);
  });

  test('a client that drops the connection during the handshake does not disturb the server', async () => {
    const { port, server } = await startServer({ tls: certificate });
    const raw = await RawClient.connect(port);
    raw.send(fe.sslRequest());
    expect(await raw.readByte()).toBe('S');
    raw.send(Buffer.from('this is not a TLS ClientHello'));
    await raw.closed;
    const c = await connected(port, { ssl: { rejectUnauthorized: false } });
    expect((await c.query('SELECT 1')).rowCount).toBe(1);
    await eventually(() => server.socketCount === 1, 'the failed handshake to be released');
    expect(server.sessionCount).toBe(1);
  });
});
