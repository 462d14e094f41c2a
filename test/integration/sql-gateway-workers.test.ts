import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { LocalCluster } from '../../cli/local-cluster';
import { workerOfProcessId } from '../../gateway/pgwire';
import { eventually } from '../support/eventually';
import { sendCancelRequest } from '../support/pg-cancel';
import { isProcessAlive } from '../support/process-alive';

/**
 * A gateway serving SQL from two worker processes on one port (`--workers 2`): sessions
 * spread over both, a CancelRequest cancels its session whichever worker it reaches,
 * /metrics counts every worker's statements, a worker that dies is replaced, and SIGTERM
 * stops them all.
 */

const WORKERS = 2;
let dataDir = '';
let cluster: LocalCluster | undefined;
const clients: Client[] = [];

function gatewayPid(): number {
  const pid = cluster?.gateway?.pid;
  if (pid === undefined) throw new Error('the gateway is not running');
  return pid;
}

/** The gateway's worker processes: its children running the gateway (tsx has one of its own), from /proc. */
function childrenOf(parent: number): number[] {
  const children: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== parent || fields[0] === 'Z') continue;
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('gateway/server/main')) children.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return children;
}


async function connect(): Promise<Client> {
  const client = new Client({ connectionString: cluster?.gateway?.url });
  client.on('error', () => undefined);
  await client.connect();
  clients.push(client);
  return client;
}

/** The worker serving `client`'s session: its backend process ID says. */
async function workerOf(client: Client): Promise<number> {
  const { rows } = await client.query('SELECT pg_backend_pid() AS pid');
  // As in PostgreSQL, the ID the session got in BackendKeyData.
  expect(rows[0].pid).toBe((client as unknown as { processID: number }).processID);
  const worker = workerOfProcessId(Number(rows[0].pid), WORKERS);
  if (worker === undefined) throw new Error(`backend pid ${String(rows[0].pid)} belongs to no worker`);
  return worker;
}

/** Connects until every worker serves `perWorker` of the sessions returned (by worker). */
async function sessionsOnEveryWorker(perWorker: number): Promise<Client[][]> {
  const byWorker: Client[][] = Array.from({ length: WORKERS }, () => []);
  for (let attempt = 0; attempt < 20 * perWorker && byWorker.some((list) => list.length < perWorker); attempt++) {
    const client = await connect();
    const list = byWorker[await workerOf(client)] as Client[];
    if (list.length < perWorker) list.push(client);
  }
  expect(byWorker.map((list) => list.length)).toEqual(Array.from({ length: WORKERS }, () => perWorker));
  return byWorker;
}

/** Sends a CancelRequest for the session of `client` to the gateway. */
function sendCancel(client: Client): Promise<void> {
  const [host, port] = (cluster?.gateway?.sqlAddress as string).split(':');
  return sendCancelRequest(host as string, Number(port), client);
}

async function sqlStatementsOk(): Promise<number> {
  const response = await fetch(`http://${cluster?.gateway?.httpAddress}/metrics`);
  expect(response.status).toBe(200);
  const text = await response.text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('cairn_sql_statements_total{') && line.includes('result="ok"')) total += Number(line.split(' ').pop());
  }
  return total;
}

async function connectionsGauge(): Promise<number> {
  const text = await (await fetch(`http://${cluster?.gateway?.httpAddress}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('cairn_sql_connections{'));
  return Number(line?.split(' ').pop());
}

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-gateway-workers-'));
  cluster = new LocalCluster({ dataDir, nodes: 1, ports: 'free', gateway: { workers: WORKERS } });
  await cluster.start();
  const setup = await connect();
  await setup.query('CREATE TABLE counters (k INT PRIMARY KEY, v INT NOT NULL)');
  await setup.query('INSERT INTO counters VALUES (1, 0), (2, 0)');
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  await cluster?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.end().catch(() => undefined)));
});

test('sessions spread over the workers, and each sees what the others wrote', async () => {
  expect(childrenOf(gatewayPid())).toHaveLength(WORKERS);
  const [first, second] = (await sessionsOnEveryWorker(1)).map((list) => list[0] as Client);
  await (first as Client).query('UPDATE counters SET v = v + 5 WHERE k = 2');
  expect((await (second as Client).query('SELECT v FROM counters WHERE k = 2')).rows).toEqual([{ v: 5 }]);
  await (second as Client).query('UPDATE counters SET v = v + 1 WHERE k = 2');
  expect((await (first as Client).query('SELECT v FROM counters WHERE k = 2')).rows).toEqual([{ v: 6 }]);
});

test('a CancelRequest cancels its session whichever worker it reaches', async () => {
  const byWorker = await sessionsOnEveryWorker(2);
  const sessions = byWorker.flat();
  for (const c of sessions) await c.query('SET max_rows_in_memory = 100000000');
  // Statements that would run for minutes, two on each worker.
  const outcomes = sessions.map((c) =>
    c.query('WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) FROM t').then(
      () => 'finished',
      (err: { code?: string; message?: string }) => `${err.code ?? ''} ${err.message ?? ''}`,
    ),
  );
  await new Promise((resolve) => setTimeout(resolve, 300));
  // Cancels for worker 0's sessions, then worker 1's: the workers take connections in
  // turn, so at least one cancel reaches the worker that does not hold its session.
  for (const c of sessions) await sendCancel(c);
  expect(await Promise.all(outcomes)).toEqual(sessions.map(() => '57014 canceling statement due to user request'));
  // The sessions are usable afterwards.
  for (const c of sessions) expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
}, 60_000);

test("/metrics counts every worker's statements and sessions", async () => {
  const [first, second] = (await sessionsOnEveryWorker(1)).map((list) => list[0] as Client);
  const before = await sqlStatementsOk();
  for (let i = 0; i < 10; i++) {
    await (first as Client).query('SELECT 1');
    await (second as Client).query('SELECT 2');
  }
  expect((await sqlStatementsOk()) - before).toBe(20);
  expect(await connectionsGauge()).toBe(clients.length);
});

test('a worker that dies is replaced, and the other serves on meanwhile', async () => {
  const sessions = (await sessionsOnEveryWorker(1)).map((list) => list[0] as Client);
  const before = childrenOf(gatewayPid());
  expect(before).toHaveLength(WORKERS);
  const victim = before[0] as number;
  process.kill(victim, 'SIGKILL');
  await eventually('the killed worker to be gone', async () => (isProcessAlive(victim) ? undefined : true), 10_000);
  // The killed worker's session is lost; the other worker's goes on.
  const outcomes = await Promise.all(sessions.map((c) => c.query('SELECT v FROM counters WHERE k = 1').then(() => 'served', () => 'lost')));
  expect([...outcomes].sort()).toEqual(['lost', 'served']);
  await eventually(
    'a new worker in its place, and the gateway ready',
    async () => {
      const now = childrenOf(gatewayPid());
      const ready = (await fetch(`http://${cluster?.gateway?.httpAddress}/readyz`)).status === 200;
      return now.length === WORKERS && !now.includes(victim) && ready ? true : undefined;
    },
    30_000,
  );
  // New sessions reach both workers again.
  await sessionsOnEveryWorker(1);
}, 60_000);

test('SIGTERM stops every worker, and the gateway exits 0', async () => {
  const workers = childrenOf(gatewayPid());
  expect(workers).toHaveLength(WORKERS);
  const exit = await (cluster as LocalCluster).stopGateway();
  expect(exit).toMatchObject({ code: 0, forced: false });
  for (const pid of workers) expect(isProcessAlive(pid)).toBe(false);
}, 60_000);
