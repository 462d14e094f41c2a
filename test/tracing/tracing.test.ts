import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitForReplication } from '../../bench/bench-cluster';
import { AdminClient, childExecArgv, LocalCluster, tsxLoaderUrl } from '../../cli';
import { sqlDescriptorKey } from '../../common/keys';
import { decodeDescriptor } from '../../gateway/sql/catalog/descriptors';
import { codecFor } from '../../gateway/sql/exec/table-codec';
import { KvClient } from '../../kv';
import { eventually } from '../support/eventually';
import type { JaegerSpan, JaegerTrace, TestJaeger } from './jaeger';
import { buildJaeger, findServices, findTraces, getTrace, startJaeger } from './jaeger';

/**
 * End-to-end tracing: one UPDATE that touches two ranges, sent by psql to a real
 * cairn-gateway over three real cairn-node processes, each exporting its spans over OTLP
 * to a real Jaeger, and read back through Jaeger's query API. What is checked is what a
 * user looking at the trace relies on: every process that did the work shows up, the
 * spans form one tree under the statement, a follower's Raft append is in it, and the
 * statement's constants are not.
 */

const TABLE = 'traced_rows';
const ROWS = 20;
/** A constant of the traced statement: spans carry its fingerprint, never its constants. */
const LITERAL = 7919;
const GATEWAY_SERVICE = 'cairn-gateway';
const NODE_SERVICE = 'cairn-node';
const CLI_SERVICE = 'cairn-cli';
const INSTANCE_TAG = 'service.instance.id';

/** A cold build of Jaeger takes minutes; a built one is found at once. */
const BUILD_TIMEOUT_MS = 40 * 60_000;
const SETUP_TIMEOUT_MS = 5 * 60_000;
const REPLICATION_TIMEOUT_MS = 120_000;
const LEASE_TIMEOUT_MS = 60_000;
const TRACE_TIMEOUT_MS = 30_000;
/**
 * How long a trace's span count must hold still before it is judged: many times the
 * export delay the processes are given, so that every process's batch has arrived.
 */
const TRACE_SETTLED_MS = 3_000;
const EXPORT_DELAY_MS = 200;

let jaegerBinPath = '';
let jaeger: TestJaeger | undefined;
let cluster: LocalCluster | undefined;
let dataDir: string | undefined;

beforeAll(async () => {
  jaegerBinPath = await buildJaeger();
}, BUILD_TIMEOUT_MS);

beforeAll(async () => {
  jaeger = await startJaeger({ binPath: jaegerBinPath });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-tracing-'));
  cluster = new LocalCluster({
    dataDir,
    nodes: 3,
    ports: 'free',
    gateway: {},
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpHttpEndpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_TRACES_SAMPLER: 'always_on',
      OTEL_BSP_SCHEDULE_DELAY: String(EXPORT_DELAY_MS),
    },
  });
  await cluster.start();
  await waitForReplication(cluster.addresses[0] as string, REPLICATION_TIMEOUT_MS);
  const url = gatewayUrl();
  await psql(url, `CREATE TABLE ${TABLE} (k INT PRIMARY KEY, v INT NOT NULL)`);
  const rows = Array.from({ length: ROWS }, (_, i) => `(${i + 1}, ${(i + 1) * 10})`);
  await psql(url, `INSERT INTO ${TABLE} VALUES ${rows.join(', ')}`);
  await splitInTwoRanges(cluster, url, ROWS / 2 + 1);
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  try {
    await cluster?.stop();
  } finally {
    try {
      await jaeger?.stop();
    } finally {
      if (dataDir !== undefined) fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }
}, 60_000);

describe('a multi-range UPDATE through the gateway, as Jaeger shows it', () => {
  let trace: JaegerTrace;

  beforeAll(async () => {
    const output = await psql(gatewayUrl(), `UPDATE ${TABLE} SET v = v + ${LITERAL}`);
    expect(output).toContain(`UPDATE ${ROWS}`);
    trace = await findStatementTrace((jaeger as TestJaeger).queryUrl);
  }, TRACE_TIMEOUT_MS + 60_000);

  test('has spans from the gateway and from at least two nodes', () => {
    const services = new Set(trace.spans.map((s) => processOf(trace, s).service));
    expectTrace(services.has(GATEWAY_SERVICE), trace, `no span from ${GATEWAY_SERVICE}`);
    const nodeSpans = trace.spans.filter((s) => processOf(trace, s).service === NODE_SERVICE);
    const nodeInstances = new Set(nodeSpans.map((s) => processOf(trace, s).instance));
    // Each node names itself by its listen address.
    expect([...nodeInstances].filter((i) => !(cluster as LocalCluster).addresses.includes(i ?? ''))).toEqual([]);
    expectTrace(nodeInstances.size >= 2, trace, `spans from ${nodeInstances.size} ${NODE_SERVICE} process(es), not at least 2`);
  });

  test('is one tree under its sql.statement span', () => {
    const roots = trace.spans.filter((s) => parentIdsOf(s).length === 0);
    expect(roots.map((s) => `${s.operationName} (${processOf(trace, s).service})`)).toEqual([`sql.statement (${GATEWAY_SERVICE})`]);
    const ids = new Set(trace.spans.map((s) => s.spanID));
    const dangling = trace.spans.flatMap((s) =>
      s.references
        .filter((r) => r.refType === 'CHILD_OF' && (r.traceID !== trace.traceID || !ids.has(r.spanID)))
        .map((r) => `${s.operationName} (${processOf(trace, s).service}) -> ${r.traceID}/${r.spanID}`),
    );
    expect(dangling).toEqual([]);
  });

  test("shows a follower appending the leaseholder's Raft entry", () => {
    const byId = new Map(trace.spans.map((s) => [s.spanID, s]));
    const followerAppends = trace.spans.filter((append) => {
      if (append.operationName !== 'raft.append') return false;
      const propose = ancestorsOf(append, byId).find((s) => s.operationName === 'raft.propose');
      return (
        propose !== undefined &&
        processOf(trace, append).service === NODE_SERVICE &&
        processOf(trace, append).instance !== processOf(trace, propose).instance &&
        ancestorsOf(propose, byId).some((s) => s.operationName === 'sql.statement')
      );
    });
    expectTrace(
      followerAppends.length > 0,
      trace,
      'no raft.append in another cairn-node process than the raft.propose (under sql.statement) it descends from',
    );
  });

  test("carries none of the statement's constants", () => {
    // As a number of its own: a port or a timestamp that merely contains the digits is
    // not the constant.
    const literal = new RegExp(`(^|[^0-9A-Za-z])${LITERAL}([^0-9A-Za-z]|$)`);
    const leaks = trace.spans.flatMap((s) => [
      ...(literal.test(s.operationName) ? [`${s.operationName}: the span's name`] : []),
      ...[...s.tags, ...s.logs.flatMap((l) => l.fields)]
        .filter((t) => literal.test(String(t.value)))
        .map((t) => `${s.operationName}: ${t.key}=${String(t.value)}`),
    ]);
    expect(leaks).toEqual([]);
  });
});

describe('a gateway that samples nothing, in front of the same nodes', () => {
  test('leaves no trace: the nodes trace only what a gateway sampled', async () => {
    const running = cluster as LocalCluster;
    const untraced = await running.addGateway({
      name: 'untraced',
      env: { OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: undefined, OTEL_TRACES_SAMPLER: undefined },
    });
    try {
      const since = Date.now();
      expect(await psql(untraced.url, `UPDATE ${TABLE} SET v = v + 1`)).toContain(`UPDATE ${ROWS}`);
      // The same statement through the sampling gateway, after it: once its trace is in
      // Jaeger, whatever the nodes exported for the first is too.
      expect(await psql(gatewayUrl(), `UPDATE ${TABLE} SET v = v - 1`)).toContain(`UPDATE ${ROWS}`);
      const control = await findStatementTrace((jaeger as TestJaeger).queryUrl, 'SET v = v - $1');
      const nodeTraces = await findTraces((jaeger as TestJaeger).queryUrl, {
        service: NODE_SERVICE,
        limit: 100,
        lookbackMs: Date.now() - since + 1_000,
      });
      const withoutStatement = nodeTraces.filter((t) => statementOf(t) === undefined).map((t) => t.spans.map((sp) => sp.operationName).join(', '));
      expect(withoutStatement).toEqual([]);
      expect(nodeTraces.map((t) => t.traceID)).toEqual([control.traceID]);
    } finally {
      await untraced.stop();
    }
  }, TRACE_TIMEOUT_MS + 60_000);
});

describe('a CLI command, as Jaeger shows it', () => {
  /** The CLI's environment: every command traced, exported to the test's Jaeger. */
  const cliTracingEnv = (): NodeJS.ProcessEnv => ({
    ...process.env,
    OTEL_EXPORTER_OTLP_ENDPOINT: (jaeger as TestJaeger).otlpHttpEndpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_TRACES_SAMPLER: 'always_on',
  });

  /** The newest trace of a CLI command in Jaeger, once `complete` holds for it. */
  const cliTrace = (operation: string, what: string, complete: (trace: JaegerTrace) => boolean): Promise<JaegerTrace> => {
    const queryUrl = (jaeger as TestJaeger).queryUrl;
    return eventually(
      `the ${operation} trace with ${what} in Jaeger`,
      async () => {
        const [found] = await findTraces(queryUrl, { service: CLI_SERVICE, operation, limit: 1, lookbackMs: 10 * 60_000 });
        const whole = found === undefined ? undefined : await getTrace(queryUrl, found.traceID);
        return whole !== undefined && complete(whole) ? whole : undefined;
      },
      TRACE_TIMEOUT_MS,
    );
  };

  test('`cairn node status` is one trace: the command, the node asked, and the peers it asked in turn', async () => {
    const running = cluster as LocalCluster;
    const env = cliTracingEnv();
    const output = await cairnCli(env, 'node', 'status', '--host', running.addresses[0] as string);
    for (const address of running.addresses) expect(output).toContain(address);
    const trace = await cliTrace('cli.node-status', 'the nodes\' spans', (whole) => {
      const nodes = new Set(whole.spans.filter((sp) => processOf(whole, sp).service === NODE_SERVICE).map((sp) => processOf(whole, sp).instance));
      return nodes.size === running.nodes.length;
    });
    const byId = new Map(trace.spans.map((sp) => [sp.spanID, sp]));
    const parentName = (sp: JaegerSpan): string | undefined => byId.get(parentIdsOf(sp)[0] ?? '')?.operationName;
    const status = trace.spans.find((sp) => sp.operationName === 'admin.nodeStatus');
    expect(status === undefined ? undefined : parentName(status)).toBe('cli.node-status');
    const peers = trace.spans.filter((sp) => sp.operationName === 'admin.localReplicas');
    // Every other node answered the one asked, under its span.
    expect(peers.map((sp) => parentName(sp))).toEqual(Array.from({ length: running.nodes.length - 1 }, () => 'admin.nodeStatus'));
  }, TRACE_TIMEOUT_MS + 60_000);

  test('`cairn kv put` is one trace down to the Raft append on the followers', async () => {
    const running = cluster as LocalCluster;
    const env = cliTracingEnv();
    await cairnCli(env, 'kv', 'put', 'cli-traced-key', 'v', '--host', running.addresses[0] as string);
    const trace = await cliTrace(
      'cli.kv-put',
      'every replica\'s append',
      (whole) => whole.spans.filter((sp) => sp.operationName === 'raft.append').length === running.nodes.length,
    );
    const byId = new Map(trace.spans.map((sp) => [sp.spanID, sp]));
    const chain = (sp: JaegerSpan): string[] => ancestorsOf(sp, byId).map((a) => a.operationName);
    const evaluate = trace.spans.find((sp) => sp.operationName === 'kv.node.batch');
    expect(evaluate === undefined ? [] : chain(evaluate)).toEqual(['kv.rpc', 'kv.batch', 'cli.kv-put']);
  }, TRACE_TIMEOUT_MS + 60_000);
});

function gatewayUrl(): string {
  const gateway = (cluster as LocalCluster).gateway;
  if (gateway === undefined) throw new Error('the cluster has no gateway');
  return gateway.url;
}

/** Runs the cairn CLI (sources under tsx, as the other processes); resolves with its stdout. */
function cairnCli(env: NodeJS.ProcessEnv, ...args: string[]): Promise<string> {
  const entry = path.join(__dirname, '..', '..', 'cli', 'main.ts');
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [...childExecArgv(entry, process.execArgv, tsxLoaderUrl), entry, ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err !== null) {
        reject(new Error(`cairn ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
        return;
      }
      resolve(stdout);
    });
  });
}

/** Runs SQL through psql; resolves with its unaligned output, rejects with its error text. */
function psql(url: string, sql: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'psql',
      [url, '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql],
      { env: { ...process.env, PGCONNECT_TIMEOUT: '10', PAGER: '' }, timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err !== null) {
          reject(new Error(`psql -c ${JSON.stringify(sql.slice(0, 80))} failed: ${stderr.trim() || err.message}`));
          return;
        }
        resolve(stdout);
      },
    );
  });
}

/**
 * Splits the table's primary index at key `middle` into two ranges and puts their
 * leases on different nodes, so that the UPDATE writes through two leaseholders.
 */
async function splitInTwoRanges(running: LocalCluster, url: string, middle: number): Promise<void> {
  const tableId = Number((await psql(url, `SELECT '${TABLE}'::regclass::oid`)).trim());
  const kv = await KvClient.connect({ addresses: running.addresses });
  const admin = new AdminClient(running.addresses[0] as string);
  try {
    const raw = await kv.get(sqlDescriptorKey(tableId));
    const desc = raw === undefined ? undefined : decodeDescriptor(raw);
    if (desc?.kind !== 'table' || desc.name !== TABLE) throw new Error(`descriptor ${tableId} is not ${TABLE}'s`);
    const middleKey = codecFor(desc).primaryKey([BigInt(middle), 0n]);
    const { left, right } = await kv.adminSplit(middleKey);
    const nodeIds = running.nodes.map((n) => n.nodeId as number);
    await eventually(
      `the leases of ranges ${left.rangeId} and ${right.rangeId} on different nodes`,
      async () => {
        const { ranges } = await admin.ranges();
        const holderOf = (rangeId: bigint): number =>
          Number(ranges.find((r) => r.descriptor?.rangeId === rangeId)?.leaseholderNodeId ?? 0n);
        const [leftHolder, rightHolder] = [holderOf(left.rangeId), holderOf(right.rangeId)];
        if (leftHolder === 0 || rightHolder === 0) return undefined;
        if (leftHolder !== rightHolder) return true;
        await kv.adminTransferLease(middleKey, nodeIds.find((id) => id !== leftHolder) as number);
        return undefined;
      },
      LEASE_TIMEOUT_MS,
    );
  } finally {
    admin.close();
    await kv.close();
  }
}

/** The gateway's trace of the UPDATE whose fingerprint has `text`, once it stopped growing. */
async function findStatementTrace(queryUrl: string, text = 'UPDATE'): Promise<JaegerTrace> {
  const deadline = Date.now() + TRACE_TIMEOUT_MS;
  let statements: string[] = [];
  while (Date.now() < deadline) {
    const traces = await findTraces(queryUrl, { service: GATEWAY_SERVICE, operation: 'sql.statement', limit: 100, lookbackMs: 30 * 60_000 });
    statements = traces.map((t) => statementOf(t) ?? '(no db.statement)');
    const found = traces.find((t) => {
      const statement = statementOf(t);
      return statement !== undefined && statement.includes(text) && statement.includes(TABLE);
    });
    if (found !== undefined) return settled(queryUrl, found, deadline);
    await sleep(500);
  }
  throw new Error(
    `no ${GATEWAY_SERVICE} sql.statement trace of the UPDATE reached Jaeger in ${TRACE_TIMEOUT_MS} ms; ` +
      `statements seen: ${JSON.stringify(statements)}; services: ${JSON.stringify(await findServices(queryUrl))}`,
  );
}

/** The trace again, until its span count held still for TRACE_SETTLED_MS (or time is up). */
async function settled(queryUrl: string, first: JaegerTrace, deadline: number): Promise<JaegerTrace> {
  let last = first;
  let stillSince = Date.now();
  while (Date.now() < deadline && Date.now() - stillSince < TRACE_SETTLED_MS) {
    await sleep(500);
    const again = await getTrace(queryUrl, first.traceID);
    if (again !== undefined && again.spans.length !== last.spans.length) {
      last = again;
      stillSince = Date.now();
    }
  }
  return last;
}

function statementOf(trace: JaegerTrace): string | undefined {
  const root = trace.spans.find((s) => s.operationName === 'sql.statement' && processOf(trace, s).service === GATEWAY_SERVICE);
  const value = root?.tags.find((t) => t.key === 'db.statement')?.value;
  return typeof value === 'string' ? value : undefined;
}

function processOf(trace: JaegerTrace, span: JaegerSpan): { service: string; instance: string | undefined } {
  const process = trace.processes[span.processID];
  const instance = process?.tags.find((t) => t.key === INSTANCE_TAG)?.value;
  return { service: process?.serviceName ?? '(no process)', instance: instance === undefined ? undefined : String(instance) };
}

function parentIdsOf(span: JaegerSpan): string[] {
  return span.references.filter((r) => r.refType === 'CHILD_OF').map((r) => r.spanID);
}

/** Parent, grandparent, ... as far as the trace holds them. */
function ancestorsOf(span: JaegerSpan, byId: ReadonlyMap<string, JaegerSpan>): JaegerSpan[] {
  const ancestors: JaegerSpan[] = [];
  const seen = new Set([span.spanID]);
  let parent = byId.get(parentIdsOf(span)[0] ?? '');
  while (parent !== undefined && !seen.has(parent.spanID)) {
    ancestors.push(parent);
    seen.add(parent.spanID);
    parent = byId.get(parentIdsOf(parent)[0] ?? '');
  }
  return ancestors;
}

/** Fails with the trace drawn as a tree, which shows what the spans were. */
function expectTrace(ok: boolean, trace: JaegerTrace, problem: string): void {
  if (!ok) throw new Error(`${problem}; the trace (${trace.traceID}):\n${outline(trace)}`);
}

function outline(trace: JaegerTrace): string {
  const ids = new Set(trace.spans.map((s) => s.spanID));
  const children = new Map<string, JaegerSpan[]>();
  const tops: JaegerSpan[] = [];
  for (const span of [...trace.spans].sort((a, b) => a.startTime - b.startTime)) {
    const parent = parentIdsOf(span).find((id) => ids.has(id));
    if (parent === undefined) tops.push(span);
    else children.set(parent, [...(children.get(parent) ?? []), span]);
  }
  const lines: string[] = [];
  const draw = (span: JaegerSpan, depth: number): void => {
    const { service, instance } = processOf(trace, span);
    const orphan = depth === 0 && parentIdsOf(span).length > 0 ? ' (parent not in the trace)' : '';
    lines.push(`${'  '.repeat(depth + 1)}${span.operationName} [${service} ${instance ?? '?'}]${orphan}`);
    for (const child of children.get(span.spanID) ?? []) draw(child, depth + 1);
  };
  for (const top of tops) draw(top, 0);
  return lines.join('\n');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
