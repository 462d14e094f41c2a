/**
 * A real Jaeger (v1.76, the OpenTelemetry-collector-based one) for the end-to-end tracing
 * test: built by `build-jaeger.sh`, started on free 127.0.0.1 ports with in-memory
 * storage, an OTLP receiver (HTTP/protobuf and gRPC) and the query HTTP API, and read back
 * through that API.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import { freePorts } from '../../cli';

/** The build script stays in the sources when this file runs compiled from dist/ (the benchmarks). */
export const BUILD_JAEGER_SCRIPT = __filename.endsWith('.ts')
  ? path.join(__dirname, 'build-jaeger.sh')
  : path.join(__dirname, '..', '..', '..', 'test', 'tracing', 'build-jaeger.sh');

const DEFAULT_START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
const POLL_INTERVAL_MS = 100;
const REQUEST_TIMEOUT_MS = 5_000;
/** Starts that lost a picked port to another process before Jaeger bound it. */
const START_ATTEMPTS = 3;
const STORAGE = 'memstore';

/**
 * Builds Jaeger if it is missing (once per machine; minutes cold, an instant once
 * built) and returns the binary's path.
 */
export function buildJaeger(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(BUILD_JAEGER_SCRIPT, [], { maxBuffer: 1 << 20 }, (err, stdout) => {
      if (err) {
        reject(new Error(`${BUILD_JAEGER_SCRIPT} failed: ${err.message}`));
        return;
      }
      resolve(stdout.trim().split('\n').pop() ?? '');
    });
    child.stderr?.pipe(process.stderr);
  });
}

/** The ports of one Jaeger; every one is bound on 127.0.0.1. */
export interface JaegerPorts {
  readonly otlpHttp: number;
  readonly otlpGrpc: number;
  readonly queryHttp: number;
  /** The query gRPC API: unused here, but always served, so pinned to loopback too. */
  readonly queryGrpc: number;
  readonly healthHttp: number;
}

/**
 * The collector configuration: OTLP in, memory storage, the query API and a health
 * check, each on its own loopback port. Left out on purpose, because each would listen on
 * an address of its own choosing: the internal metrics endpoint (`level: none`), the
 * Jaeger/Zipkin receivers, remote sampling, pprof, zpages and expvar.
 */
export function jaegerConfig(ports: JaegerPorts): object {
  const loopback = (port: number): string => `127.0.0.1:${port}`;
  return {
    service: {
      extensions: ['jaeger_storage', 'jaeger_query', 'healthcheckv2'],
      pipelines: {
        traces: { receivers: ['otlp'], processors: [], exporters: ['jaeger_storage_exporter'] },
      },
      telemetry: {
        resource: { 'service.name': 'jaeger' },
        metrics: { level: 'none' },
        logs: { level: 'info' },
      },
    },
    extensions: {
      healthcheckv2: { use_v2: true, http: { endpoint: loopback(ports.healthHttp) } },
      jaeger_query: {
        storage: { traces: STORAGE },
        // Otherwise the query service traces itself to an OTLP endpoint on localhost:4317.
        enable_tracing: false,
        http: { endpoint: loopback(ports.queryHttp) },
        grpc: { endpoint: loopback(ports.queryGrpc) },
      },
      jaeger_storage: { backends: { [STORAGE]: { memory: { max_traces: 100_000 } } } },
    },
    receivers: {
      otlp: {
        protocols: {
          grpc: { endpoint: loopback(ports.otlpGrpc) },
          http: { endpoint: loopback(ports.otlpHttp) },
        },
      },
    },
    exporters: { jaeger_storage_exporter: { trace_storage: STORAGE } },
  };
}

export interface JaegerOptions {
  /** The `jaeger` binary (default: what `build-jaeger.sh` builds, built if missing). */
  readonly binPath?: string;
  /** How long to wait for the health check and the query API. */
  readonly startTimeoutMs?: number;
}

/** One running Jaeger. `stop()` ends it and removes its folder. */
export interface TestJaeger {
  /** `http://127.0.0.1:PORT`: what OTEL_EXPORTER_OTLP_ENDPOINT takes for http/protobuf. */
  readonly otlpHttpEndpoint: string;
  /** `http://127.0.0.1:PORT` of the OTLP gRPC receiver. */
  readonly otlpGrpcEndpoint: string;
  /** `http://127.0.0.1:PORT`, the base of `/api/...`. */
  readonly queryUrl: string;
  /** Jaeger's stdout and stderr; removed by `stop()`. */
  readonly logFile: string;
  stop(): Promise<void>;
}

/** Starts Jaeger in a fresh temporary folder and waits until it takes spans and queries. */
export async function startJaeger(options: JaegerOptions = {}): Promise<TestJaeger> {
  const binPath = options.binPath ?? (await buildJaeger());
  if (!fs.existsSync(binPath)) {
    throw new Error(`no Jaeger at ${binPath}: run ${BUILD_JAEGER_SCRIPT}`);
  }
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(binPath, options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
    } catch (err) {
      if (!(err instanceof PortTakenError) || attempt >= START_ATTEMPTS) throw err;
    }
  }
}

class PortTakenError extends Error {
  override readonly name = 'PortTakenError';
}

async function startOnce(binPath: string, startTimeoutMs: number): Promise<TestJaeger> {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-jaeger-'));
  const [otlpHttp, otlpGrpc, queryHttp, queryGrpc, healthHttp] = (await freePorts(5)) as [number, number, number, number, number];
  const ports: JaegerPorts = { otlpHttp, otlpGrpc, queryHttp, queryGrpc, healthHttp };
  const configFile = path.join(workDir, 'config.yaml');
  fs.writeFileSync(configFile, yaml.dump(jaegerConfig(ports)));
  const logFile = path.join(workDir, 'jaeger.log');
  const logFd = fs.openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    // Without the parent's OTEL_* variables: they are for the processes under test.
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('OTEL_')));
    child = spawn(binPath, ['--config', `file:${configFile}`], { cwd: workDir, env, stdio: ['ignore', logFd, logFd] });
  } finally {
    fs.closeSync(logFd);
  }
  const exitHook = (): void => {
    child.kill('SIGKILL');
  };
  process.on('exit', exitHook);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await stopChild(child);
    process.off('exit', exitHook);
    fs.rmSync(workDir, { recursive: true, force: true });
  };

  const queryUrl = `http://127.0.0.1:${queryHttp}`;
  try {
    await waitUntilReady(child, logFile, Date.now() + startTimeoutMs, async () => {
      const health = await fetch(`http://127.0.0.1:${healthHttp}/status`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      if (health.status !== 200) return false;
      const services = await fetch(`${queryUrl}/api/services`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      return services.status === 200;
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    otlpHttpEndpoint: `http://127.0.0.1:${otlpHttp}`,
    otlpGrpcEndpoint: `http://127.0.0.1:${otlpGrpc}`,
    queryUrl,
    logFile,
    stop,
  };
}

async function waitUntilReady(child: ChildProcess, logFile: string, deadline: number, ready: () => Promise<boolean>): Promise<void> {
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = logTail(logFile);
      const message = `Jaeger exited (${child.exitCode ?? child.signalCode}) before it served; log:\n${log}`;
      throw /address already in use/.test(log) ? new PortTakenError(message) : new Error(message);
    }
    try {
      if (await ready()) return;
    } catch (err) {
      lastError = err;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  throw new Error(
    `Jaeger did not serve in time${lastError === undefined ? '' : ` (${String(lastError)})`}; log:\n${logTail(logFile)}`,
  );
}

function logTail(logFile: string, lines = 30): string {
  try {
    return fs.readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** SIGTERM, then SIGKILL if it is still up after the stop timeout. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

// The query HTTP API's JSON (Jaeger's own model, as its UI reads it).

export type JaegerTagValue = string | number | boolean;

export interface JaegerTag {
  readonly key: string;
  /** `string`, `bool`, `int64`, `float64` or `binary`. */
  readonly type: string;
  readonly value: JaegerTagValue;
}

export interface JaegerReference {
  /** CHILD_OF names the parent span; FOLLOWS_FROM, a link. */
  readonly refType: 'CHILD_OF' | 'FOLLOWS_FROM';
  readonly traceID: string;
  readonly spanID: string;
}

/** A span event. */
export interface JaegerLog {
  /** Microseconds since the epoch. */
  readonly timestamp: number;
  readonly fields: readonly JaegerTag[];
}

export interface JaegerSpan {
  readonly traceID: string;
  readonly spanID: string;
  readonly operationName: string;
  readonly references: readonly JaegerReference[];
  /** Microseconds since the epoch. */
  readonly startTime: number;
  readonly duration: number;
  readonly tags: readonly JaegerTag[];
  readonly logs: readonly JaegerLog[];
  /** A key of the trace's `processes`. */
  readonly processID: string;
  readonly warnings: readonly string[] | null;
}

/** A process is one OTLP resource: its service name and its other attributes. */
export interface JaegerProcess {
  readonly serviceName: string;
  readonly tags: readonly JaegerTag[];
}

export interface JaegerTrace {
  readonly traceID: string;
  readonly spans: readonly JaegerSpan[];
  readonly processes: Readonly<Record<string, JaegerProcess>>;
  readonly warnings: readonly string[] | null;
}

interface JaegerResponse<T> {
  readonly data: T | null;
  readonly errors: readonly { readonly code: number; readonly msg: string }[] | null;
}

export interface TraceQuery {
  readonly service: string;
  readonly operation?: string;
  /** At most this many traces (Jaeger's default: 20). */
  readonly limit?: number;
  /**
   * Only traces that started this long ago or later (default: an hour). Sent as the
   * `start` and `end` bounds (microseconds), which the server reads; the UI's `lookback`
   * parameter only tells the UI how it chose them.
   */
  readonly lookbackMs?: number;
}

/** `GET /api/traces?service=...`: the matching traces, each with all its spans. */
export async function findTraces(queryUrl: string, query: TraceQuery): Promise<JaegerTrace[]> {
  const nowUs = Date.now() * 1000;
  const params = new URLSearchParams({
    service: query.service,
    start: String(nowUs - (query.lookbackMs ?? 3_600_000) * 1000),
    end: String(nowUs),
  });
  if (query.operation !== undefined) params.set('operation', query.operation);
  if (query.limit !== undefined) params.set('limit', String(query.limit));
  return (await getJson<JaegerTrace[]>(`${queryUrl}/api/traces?${params.toString()}`)) ?? [];
}

/** `GET /api/traces/ID`: the trace, or undefined when Jaeger has no span of it. */
export async function getTrace(queryUrl: string, traceId: string): Promise<JaegerTrace | undefined> {
  const response = await fetch(`${queryUrl}/api/traces/${encodeURIComponent(traceId)}`, {
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  if (response.status === 404) return undefined;
  const data = await parseReply<JaegerTrace[]>(response);
  return data?.[0];
}

/** `GET /api/services`: the service names Jaeger has spans of. */
export async function findServices(queryUrl: string): Promise<string[]> {
  return (await getJson<string[]>(`${queryUrl}/api/services`)) ?? [];
}

async function getJson<T>(url: string): Promise<T | null> {
  return parseReply<T>(await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }));
}

async function parseReply<T>(response: Response): Promise<T | null> {
  const text = await response.text();
  let body: JaegerResponse<T>;
  try {
    body = JSON.parse(text) as JaegerResponse<T>;
  } catch {
    throw new Error(`${response.url}: ${response.status}, not JSON: ${text.slice(0, 200)}`);
  }
  if (response.status !== 200 || (body.errors !== null && body.errors.length > 0)) {
    throw new Error(`${response.url}: ${response.status} ${JSON.stringify(body.errors)}`);
  }
  return body.data;
}
