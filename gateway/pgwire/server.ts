/**
 * PgServer: accepts TCP connections and gives each a PgConnection. It owns what is
 * shared between connections: the TLS context, the backend keys (for CancelRequest),
 * the connection limit and the shutdown sequence.
 */
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import pino from 'pino';
import { InvalidArgumentError, SqlError, SqlStates } from '../../common/errors';
import type { Logger } from '../../common/logging';
import type { ProcessIdRange } from './backend-keys';
import { BackendKeyRegistry } from './backend-keys';
import { PgConnection, type AuthMethod, type ConnectionHost } from './connection';
import { DEFAULT_MAX_MESSAGE_BYTES } from './decode';
import { encodeBackendMessage } from './encode';
import type { SqlEngine } from './sql-session';

export interface PgServerTlsOptions {
  /** A ready context; otherwise `key` and `cert` (PEM) make one. */
  readonly secureContext?: tls.SecureContext;
  readonly key?: string | Buffer;
  readonly cert?: string | Buffer;
}

export interface PgServerOptions {
  readonly engine: SqlEngine;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 5432; 0 picks a free port (see `address` after `listen`). */
  readonly port?: number;
  readonly auth: AuthMethod;
  /** Without it, SSLRequest is answered 'N' and clients continue in plain text. */
  readonly tls?: PgServerTlsOptions;
  /** Refuse sessions that did not negotiate TLS (default false). */
  readonly requireTls?: boolean;
  /** The largest Query, Parse, Bind or CopyData body accepted (default 64 MiB). */
  readonly maxMessageBytes?: number;
  /** Sessions at once; one more gets 53300 too_many_connections (default 100). */
  readonly maxConnections?: number;
  /** From accept to ReadyForQuery (default 60 s, PostgreSQL's authentication_timeout). */
  readonly authenticationTimeoutMs?: number;
  /** Default: silent. */
  readonly logger?: Logger;
  /** The random source for backend keys, SCRAM nonces and the mock-salt secret (tests). */
  readonly randomBytes?: (bytes: number) => Buffer;
  /** The backend process IDs this server hands out (default all): a gateway worker's share. */
  readonly processIds?: ProcessIdRange;
  /**
   * Takes a CancelRequest whose process ID lies outside `processIds`: the session is
   * another worker's of the same gateway (default: the request is ignored, as PostgreSQL
   * ignores an unknown key).
   */
  readonly forwardCancel?: (processId: number, secretKey: number) => void;
}

export interface PgServerCloseOptions {
  /** How long running statements may take to finish before they are cancelled (default 5 s). */
  readonly drainMs?: number;
}

const DEFAULT_MAX_CONNECTIONS = 100;
const DEFAULT_AUTHENTICATION_TIMEOUT_MS = 60_000;
const DEFAULT_DRAIN_MS = 5_000;
/** Sockets not yet admitted (still in startup) beyond this many are refused at once. */
const UNADMITTED_SLACK = 64;

export class PgServer {
  private readonly server: net.Server;
  private readonly connections = new Set<PgConnection>();
  private readonly admitted = new Set<PgConnection>();
  private readonly keys: BackendKeyRegistry<PgConnection>;
  private readonly host: ConnectionHost;
  private readonly maxConnections: number;
  private readonly log: Logger;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: PgServerOptions) {
    const random = options.randomBytes ?? randomBytes;
    this.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    if (!Number.isInteger(this.maxConnections) || this.maxConnections < 1) {
      throw new InvalidArgumentError(`maxConnections must be a positive integer, got ${this.maxConnections}`);
    }
    const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    if (!Number.isInteger(maxMessageBytes) || maxMessageBytes < 1024) {
      throw new InvalidArgumentError(`maxMessageBytes must be an integer of at least 1024, got ${maxMessageBytes}`);
    }
    if (options.requireTls === true && options.tls === undefined) {
      throw new InvalidArgumentError('requireTls needs tls options');
    }
    this.log = options.logger ?? pino({ level: 'silent' });
    this.keys = new BackendKeyRegistry(random, options.processIds);
    const server = this; // eslint-disable-line @typescript-eslint/no-this-alias
    this.host = {
      engine: options.engine,
      logger: this.log,
      auth: options.auth,
      tls: secureContextOf(options.tls),
      requireTls: options.requireTls ?? false,
      maxMessageBytes,
      authenticationTimeoutMs: options.authenticationTimeoutMs ?? DEFAULT_AUTHENTICATION_TIMEOUT_MS,
      scramMockSecret: random(32),
      scramNonce: () => random(18).toString('base64'),
      admit: (connection) => server.admit(connection),
      cancel: (processId, secretKey) => {
        if (!server.keys.owns(processId) && options.forwardCancel !== undefined) options.forwardCancel(processId, secretKey);
        else server.cancelSession(processId, secretKey);
      },
      release: (connection) => server.release(connection),
    };
    // Not allowHalfOpen: a client's FIN ends the connection, and a statement it was
    // waiting for is cancelled (PostgreSQL does the same with client_connection_check_interval).
    this.server = net.createServer({ noDelay: true, keepAlive: true }, (socket) => this.accept(socket));
    this.server.on('error', (err) => this.log.error({ err }, 'pgwire listener error'));
  }

  /** Starts listening; resolves with the bound address. */
  listen(): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.options.port ?? 5432, this.options.host ?? '127.0.0.1', () => {
        this.server.off('error', onError);
        const address = this.address;
        this.log.info({ host: address.address, port: address.port, auth: this.options.auth }, 'pgwire listening');
        resolve(address);
      });
    });
  }

  get address(): net.AddressInfo {
    const address = this.server.address();
    if (address === null || typeof address === 'string') {
      throw new InvalidArgumentError('PgServer is not listening on a TCP port');
    }
    return address;
  }

  /** Sessions counted against maxConnections. */
  get sessionCount(): number {
    return this.admitted.size;
  }

  /** Open sockets, including those still in startup. */
  get socketCount(): number {
    return this.connections.size;
  }

  /**
   * Stops accepting, ends idle connections with 57P01 admin_shutdown (FATAL), lets
   * running statements finish for up to `drainMs`, then cancels them and closes their
   * connections. Resolves once every socket is closed and every session's close() has
   * returned (or, for a session that ignores cancellation, `drainMs` more have passed).
   */
  close(options: PgServerCloseOptions = {}): Promise<void> {
    this.closing ??= this.shutdown(options.drainMs ?? DEFAULT_DRAIN_MS);
    return this.closing;
  }

  private async shutdown(drainMs: number): Promise<void> {
    this.log.info({ connections: this.connections.size, drainMs }, 'pgwire shutting down');
    const listenerClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const connection of this.connections) {
      connection.requestShutdown();
    }
    if (!(await this.allDone(drainMs))) {
      const remaining = [...this.connections];
      this.log.warn({ connections: remaining.length }, 'drain time over: cancelling running statements');
      for (const connection of remaining) {
        connection.terminate();
      }
      if (!(await this.allDone(drainMs))) {
        this.log.error({ connections: this.connections.size }, 'sessions did not finish after cancellation');
      }
    }
    await listenerClosed;
  }

  /** Whether every connection finished within `ms`. */
  private async allDone(ms: number): Promise<boolean> {
    if (this.connections.size === 0) {
      return true;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const done = Promise.all([...this.connections].map((connection) => connection.done)).then(() => true);
    try {
      return await Promise.race([done, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private accept(socket: net.Socket): void {
    if (this.closing !== undefined) {
      socket.destroy();
      return;
    }
    if (this.connections.size - this.admitted.size >= this.maxConnections + UNADMITTED_SLACK) {
      // Many sockets that never finish their startup: refuse without reading anything.
      socket.on('error', () => undefined);
      socket.end(tooManyConnectionsMessage());
      return;
    }
    const key = this.keys.allocate();
    const connection = new PgConnection(socket, key, this.host);
    this.keys.attach(key, connection);
    this.connections.add(connection);
  }

  private admit(connection: PgConnection): SqlError | undefined {
    if (this.closing !== undefined) {
      return new SqlError(SqlStates.cannotConnectNow, 'the database system is shutting down');
    }
    if (this.admitted.size >= this.maxConnections) {
      this.log.warn({ maxConnections: this.maxConnections }, 'connection refused: too many clients');
      return tooManyConnections();
    }
    this.admitted.add(connection);
    return undefined;
  }

  /**
   * Cancels the running statement of the session with this backend key (a
   * CancelRequest); false when no session has it (an unknown ID or a wrong secret).
   */
  cancelSession(processId: number, secretKey: number): boolean {
    const target = this.keys.find(processId, secretKey);
    if (target === undefined) {
      this.log.info({ processId }, 'cancel request with an unknown key');
      return false;
    }
    target.cancelRunningStatement();
    return true;
  }

  private release(connection: PgConnection): void {
    this.connections.delete(connection);
    this.admitted.delete(connection);
    this.keys.release(connection.key);
  }
}

function secureContextOf(options: PgServerTlsOptions | undefined): tls.SecureContext | undefined {
  if (options === undefined) {
    return undefined;
  }
  if (options.secureContext !== undefined) {
    return options.secureContext;
  }
  if (options.key === undefined || options.cert === undefined) {
    throw new InvalidArgumentError('tls needs a secureContext, or a key and a cert');
  }
  return tls.createSecureContext({ key: options.key, cert: options.cert });
}

function tooManyConnections(): SqlError {
  return new SqlError(SqlStates.tooManyConnections, 'sorry, too many clients already');
}

function tooManyConnectionsMessage(): Buffer {
  return encodeBackendMessage({
    kind: 'errorResponse',
    fields: { severity: 'FATAL', code: SqlStates.tooManyConnections, message: 'sorry, too many clients already' },
  });
}
