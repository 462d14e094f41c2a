/**
 * GatewayServer: one SQL gateway — a KV client, the SQL engine over it, the Postgres
 * wire server in front, and the HTTP status server (/metrics, /healthz, /readyz).
 * `cairn-gateway` (main.ts) runs one per process; tests run one in-process.
 *
 * Start order: status server (so that /healthz answers while the rest waits), KV client
 * (retried until a node answers: in Kubernetes the gateway may start before the cluster
 * is initialised), SQL engine (retried on retryable errors: it bootstraps the default
 * databases through KV), then the pgwire listener. /readyz is 200 only while serving
 * and while a periodic KV read succeeds.
 *
 * Stop order: /readyz goes 503, the listener stops accepting, idle sessions get 57P01
 * admin_shutdown, running statements get `drainMs` to finish before they are
 * cancelled; then the engine, the KV client and the status server close.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Registry } from 'prom-client';
import { AssertionFailedError, CairnError, InvalidArgumentError } from '../../common/errors';
import { CLUSTER_ID_KEY } from '../../common/keys';
import type { Logger } from '../../common/logging';
import type { StatusServer } from '../../common/metrics';
import { startStatusServer } from '../../common/metrics';
import { KvClient, UnavailableError } from '../../kv';
import type { AuthMethod, PgServerTlsOptions, ProcessIdRange, SqlEngine } from '../pgwire';
import { PgServer } from '../pgwire';
import type { SqlEngineOptions } from '../sql/engine';
import { GatewaySqlEngine } from '../sql/engine';
import type { HostPort } from './flags';
import { checkAuthAllowed, formatHostPort } from './flags';
import { SqlMetrics } from './sql-metrics';

/** What the gateway needs of its SQL engine: the pgwire contract, and a way to stop it. */
export interface GatewayEngine extends SqlEngine {
  close(): void | Promise<void>;
}

export interface GatewayServerOptions {
  /** KV node addresses (host:port) to reach the cluster through. */
  readonly join: readonly string[];
  /** The pgwire listener; port 0 picks a free one (see `sqlAddress`). */
  readonly listen: HostPort;
  /** The status server; port 0 picks a free one (see `httpAddress`). */
  readonly http: HostPort;
  readonly auth: AuthMethod;
  /** Allows trust authentication on a non-loopback address. */
  readonly insecure?: boolean;
  readonly tls?: PgServerTlsOptions;
  readonly maxConnections?: number;
  /** Statements this slow (ms) are logged by default; -1: none (default 1 s). */
  readonly slowStatementMs?: number;
  /** How long running statements may finish at shutdown before they are cancelled (default 5 s). */
  readonly drainMs?: number;
  /** How long one KV call may take, retries included (KvClient's default otherwise). */
  readonly kvRequestTimeoutMs?: number;
  readonly registry: Registry;
  readonly log: Logger;
  /** Makes the SQL engine (default: GatewaySqlEngine.create). */
  readonly createEngine?: (options: SqlEngineOptions) => Promise<GatewayEngine>;
  /**
   * Whether this server runs the status server on `http` (default true). A gateway
   * worker does not: its supervisor serves the status of all of them.
   */
  readonly serveStatus?: boolean;
  /** The backend process IDs its sessions get (default all): a worker's share. */
  readonly processIds?: ProcessIdRange;
  /** Takes CancelRequests for process IDs outside `processIds` (another worker's sessions). */
  readonly forwardCancel?: (processId: number, secretKey: number) => void;
  /** Told each time what `isReady()` answers changes. */
  readonly onReadinessChange?: (ready: boolean) => void;
}

export const DEFAULT_DRAIN_MS = 5_000;
const KV_PROBE_INTERVAL_MS = 5_000;
const KV_PROBE_TIMEOUT_MS = 4_000;
const RETRY_FIRST_DELAY_MS = 100;
const RETRY_MAX_DELAY_MS = 5_000;

/**
 * The lifecycle. `stop` is allowed in every phase (and idempotent); `start` only once.
 * A start that fails on its own goes through stopping to stopped, closing what it opened.
 */
export type GatewayPhase = 'new' | 'starting' | 'serving' | 'stopping' | 'stopped';

const NEXT_PHASES: Readonly<Record<GatewayPhase, readonly GatewayPhase[]>> = {
  new: ['starting', 'stopped'],
  starting: ['serving', 'stopping'],
  serving: ['stopping'],
  stopping: ['stopped'],
  stopped: [],
};

export class GatewayServer {
  private phaseNow: GatewayPhase = 'new';
  private readonly metrics: SqlMetrics;
  private readonly log: Logger;
  /** Wakes retry pauses when `stop` is called during start. */
  private readonly stopRequested = new AbortController();
  private startup: Promise<void> | undefined;
  private stopped: Promise<void> | undefined;
  private status: StatusServer | undefined;
  private kv: KvClient | undefined;
  private engine: GatewayEngine | undefined;
  private pg: PgServer | undefined;
  private kvReachable = true;
  private probeTimer: NodeJS.Timeout | undefined;
  private readinessReported = false;

  constructor(private readonly options: GatewayServerOptions) {
    if (options.join.length === 0) {
      throw new InvalidArgumentError('the gateway needs at least one KV node address to join');
    }
    checkAuthAllowed(options.auth, options.listen, options.insecure ?? false);
    this.log = options.log;
    this.metrics = new SqlMetrics(options.registry);
  }

  get phase(): GatewayPhase {
    return this.phaseNow;
  }

  /** Where pgwire listens (the bound port once started). */
  get sqlAddress(): HostPort {
    const bound = this.pg?.address;
    return bound === undefined ? this.options.listen : { host: this.options.listen.host, port: bound.port };
  }

  /**
   * Cancels the running statement of the session with this backend key, as a
   * CancelRequest would; false when no session here has it.
   */
  cancelSession(processId: number, secretKey: number): boolean {
    return this.pg?.cancelSession(processId, secretKey) ?? false;
  }

  /** host:port of the status server (the bound port once started). */
  get httpAddress(): string {
    return formatHostPort({ host: this.options.http.host, port: this.status?.port ?? this.options.http.port });
  }

  /** Client sessions open now. */
  get sessionCount(): number {
    return this.pg?.sessionCount ?? 0;
  }

  /** What /readyz answers. */
  isReady(): boolean {
    return this.phaseNow === 'serving' && this.kvReachable;
  }

  /**
   * Resolves once clients can connect. Rejects if a step fails for good (closing what it
   * had opened) or if `stop` is called first.
   */
  async start(): Promise<void> {
    this.moveTo('starting');
    this.startup = this.bringUp();
    try {
      await this.startup;
    } catch (err) {
      if (this.phaseNow === 'starting') {
        this.log.error({ err }, 'the gateway could not start');
        this.beginStop();
        await this.stopped?.catch(() => undefined);
      }
      throw err;
    }
    this.checkStillStarting();
    this.moveTo('serving');
    this.reportReadiness();
    this.scheduleKvProbe();
    this.log.info(
      {
        sqlAddress: formatHostPort(this.sqlAddress),
        ...(this.status === undefined ? {} : { httpAddress: this.httpAddress }),
        auth: this.options.auth,
        tls: this.options.tls !== undefined,
      },
      'serving SQL',
    );
  }

  /**
   * Stops accepting, drains and closes sessions (57P01 to idle ones; running statements
   * get `drainMs`), then closes the engine, the KV client and the status server.
   */
  stop(): Promise<void> {
    switch (this.phaseNow) {
      case 'new':
        this.moveTo('stopped');
        return Promise.resolve();
      case 'starting':
      case 'serving':
        this.beginStop();
        return this.stopped ?? Promise.resolve();
      case 'stopping':
      case 'stopped':
        return this.stopped ?? Promise.resolve();
      default: {
        const never: never = this.phaseNow;
        throw new AssertionFailedError(`unknown gateway phase ${String(never)}`);
      }
    }
  }

  private moveTo(next: GatewayPhase): void {
    if (!NEXT_PHASES[this.phaseNow].includes(next)) {
      throw new AssertionFailedError(`the gateway cannot go from ${this.phaseNow} to ${next}`);
    }
    this.phaseNow = next;
    if (next === 'stopping') this.reportReadiness();
  }

  private reportReadiness(): void {
    const ready = this.isReady();
    if (ready === this.readinessReported) return;
    this.readinessReported = ready;
    this.options.onReadinessChange?.(ready);
  }

  private beginStop(): void {
    this.moveTo('stopping');
    this.stopRequested.abort();
    this.stopped = this.tearDown();
  }

  private async bringUp(): Promise<void> {
    const { options } = this;
    if (options.serveStatus !== false) {
      this.status = await startStatusServer({
        // Unbracketed: startStatusServer splits at the last colon and listens on the rest.
        address: `${options.http.host}:${options.http.port}`,
        registry: options.registry,
        ready: () => this.isReady(),
      });
    }
    this.log.info({ ...(this.status === undefined ? {} : { httpAddress: this.httpAddress }), join: options.join }, 'connecting to the cluster');
    this.kv = await this.untilDone('connecting to the KV nodes', () =>
      KvClient.connect({
        addresses: options.join,
        ...(options.kvRequestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.kvRequestTimeoutMs }),
      }),
    );
    const kv = this.kv;
    const createEngine = options.createEngine ?? ((o: SqlEngineOptions) => GatewaySqlEngine.create(o));
    this.engine = await this.untilDone('creating the SQL engine', () =>
      createEngine({
        kv,
        log: this.log.child({ component: 'sql' }),
        onStatement: this.metrics.onStatement,
        onTxn: this.metrics.onTxn,
        ...(options.slowStatementMs === undefined ? {} : { slowStatementMs: options.slowStatementMs }),
      }),
    );
    this.checkStillStarting();
    const pg = new PgServer({
      engine: this.engine,
      host: options.listen.host,
      port: options.listen.port,
      auth: options.auth,
      ...(options.tls === undefined ? {} : { tls: options.tls }),
      ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections }),
      ...(options.processIds === undefined ? {} : { processIds: options.processIds }),
      ...(options.forwardCancel === undefined ? {} : { forwardCancel: options.forwardCancel }),
      logger: this.log.child({ component: 'pgwire' }),
    });
    this.pg = pg;
    this.metrics.countConnectionsWith(() => pg.sessionCount);
    await pg.listen();
    this.checkStillStarting();
  }

  private checkStillStarting(): void {
    if (this.phaseNow !== 'starting') {
      throw new UnavailableError('the gateway was stopped before it served');
    }
  }

  /** Runs `attempt` until it succeeds, backing off while its errors are retryable. */
  private async untilDone<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    for (let delayMs = RETRY_FIRST_DELAY_MS; ; delayMs = Math.min(delayMs * 2, RETRY_MAX_DELAY_MS)) {
      this.checkStillStarting();
      try {
        return await attempt();
      } catch (err) {
        if (!(err instanceof CairnError && err.retryable)) {
          throw err;
        }
        this.checkStillStarting();
        this.log.warn({ err: err.message, retryInMs: delayMs }, `${what}: not yet, retrying`);
        await sleep(delayMs, undefined, { signal: this.stopRequested.signal }).catch(() => undefined);
      }
    }
  }

  /** Readiness follows a small KV read (the cluster ID), so a gateway cut off from the nodes leaves the Service. */
  private scheduleKvProbe(): void {
    this.probeTimer = setTimeout(() => void this.probeKv(), KV_PROBE_INTERVAL_MS);
    this.probeTimer.unref();
  }

  private async probeKv(): Promise<void> {
    const kv = this.kv;
    if (this.phaseNow !== 'serving' || kv === undefined) return;
    let reachable: boolean;
    try {
      await kv.batch([{ request: { $case: 'get', value: { key: CLUSTER_ID_KEY, forUpdate: false } } }], { timeoutMs: KV_PROBE_TIMEOUT_MS });
      reachable = true;
    } catch (err) {
      reachable = false;
      if (this.kvReachable) this.log.warn({ err: (err as Error).message }, 'the KV nodes do not answer: not ready');
    }
    if (reachable && !this.kvReachable) this.log.info('the KV nodes answer again: ready');
    this.kvReachable = reachable;
    this.reportReadiness();
    if (this.phaseNow === 'serving') this.scheduleKvProbe();
  }

  private async tearDown(): Promise<void> {
    // A start under way notices the phase at its next step; wait for it to let go.
    await this.startup?.catch(() => undefined);
    clearTimeout(this.probeTimer);
    const drainMs = this.options.drainMs ?? DEFAULT_DRAIN_MS;
    this.log.info({ sessions: this.sessionCount, drainMs }, 'stopping: draining SQL sessions');
    let firstError: unknown;
    const step = async (what: string, fn: () => void | Promise<void>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        this.log.error({ err }, `stopping: ${what} failed`);
        firstError ??= err;
      }
    };
    await step('closing the pgwire server', () => this.pg?.close({ drainMs }));
    await step('closing the SQL engine', () => this.engine?.close());
    await step('closing the KV client', () => this.kv?.close());
    await step('closing the status server', () => this.status?.close());
    this.moveTo('stopped');
    this.log.info('stopped');
    if (firstError !== undefined) throw firstError;
  }
}
