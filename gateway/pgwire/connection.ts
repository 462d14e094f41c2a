/**
 * One client connection: the async driver around the pure pieces (FrameDecoder,
 * MessageWriter, the phase transition function, ScramServer). It owns the socket, the
 * session, the statement and portal names and the output batch.
 *
 * One loop (`run`) takes one message at a time from the decoder and awaits its handling
 * before the next, so session calls never overlap. During COPY FROM STDIN the session
 * itself pulls CopyData through `ResultSink.copyIn` while the loop waits on that call.
 * Output is appended to a MessageWriter and written once per event-loop turn (or when
 * 64 KiB have piled up, or on Flush); see OVERVIEW.md for the message flows.
 */
import type * as net from 'node:net';
import * as tls from 'node:tls';
import { SqlError, SqlStates, assert, unreachable } from '../../common/errors';
import type { Logger } from '../../common/logging';
import type { BackendKey } from './backend-keys';
import { INITIAL_PHASE, dispositionOf, transition, type ConnectionEvent, type ConnectionPhase } from './connection-state';
import { FrameDecoder, decodeSaslInitialResponse, describeMessageType } from './decode';
import { MessageWriter } from './encode';
import {
  duplicatePortal,
  duplicateStatement,
  expandFormatCodes,
  unknownPortal,
  unknownStatement,
  wrongParameterCount,
} from './extended-query';
import type {
  BackendMessage,
  BindMessage,
  CloseMessage,
  DescribeMessage,
  ErrorSeverity,
  ExecuteMessage,
  FrontendMessage,
  ParseMessage,
  StartupMessage,
  TypedFrontendMessage,
} from './messages';
import { PgProtocolError, classifyError } from './protocol-error';
import { SCRAM_SHA_256, ScramServer } from './scram';
import type {
  ColumnDescription,
  CopyInRequest,
  ExecuteOutcome,
  FormatCode,
  Notice,
  PortalHandle,
  PreparedStatementHandle,
  ResultSink,
  SqlEngine,
  SqlSession,
  StartupInfo,
} from './sql-session';

export type AuthMethod = 'trust' | 'scram-sha-256';

/** What a connection needs from the server that accepted it. */
export interface ConnectionHost {
  readonly engine: SqlEngine;
  readonly logger: Logger;
  readonly auth: AuthMethod;
  /** undefined: SSLRequest is answered 'N'. */
  readonly tls: tls.SecureContext | undefined;
  /** Refuse sessions that did not negotiate TLS (28000). */
  readonly requireTls: boolean;
  readonly maxMessageBytes: number;
  /** From accepting the socket to ReadyForQuery; past it the socket is closed. */
  readonly authenticationTimeoutMs: number;
  readonly scramMockSecret: Buffer;
  readonly scramNonce: () => string;
  /**
   * After a valid StartupMessage: an error (too many connections, shutting down) to
   * send as FATAL, or undefined once the connection has been counted.
   */
  admit(connection: PgConnection): SqlError | undefined;
  /** A CancelRequest arrived (on this connection, which then closes without reply). */
  cancel(processId: number, secretKey: number): void;
  /** The socket is closed and the session (if any) closed: forget the connection. */
  release(connection: PgConnection): void;
}

/** Output is written when this much has accumulated, without waiting for the turn to end. */
const FLUSH_BYTES = 64 * 1024;
/** Complete input messages buffered beyond this pause reading from the socket. */
const INPUT_HIGH_WATER_BYTES = 1024 * 1024;
/** After the server ends a connection, how long the client may take to close its side. */
const LINGER_MS = 5_000;
const SUPPORTED_MINOR_VERSION = 0;

const SSL_ACCEPTED = Buffer.from('S');
const SSL_REFUSED = Buffer.from('N');

type AuthStep = 'none' | 'sasl-initial' | 'sasl-continue';

export class PgConnection {
  readonly remoteAddress: string;
  /** Resolves when the socket is closed and the session's close() has returned. */
  readonly done: Promise<void>;

  private socket: net.Socket;
  private readonly decoder: FrameDecoder;
  private readonly out = new MessageWriter();
  private readonly log: Logger;
  private phase: ConnectionPhase = INITIAL_PHASE;
  private session: SqlSession | undefined;
  private startupInfo: StartupInfo | undefined;
  private scram: ScramServer | undefined;
  private authStep: AuthStep = 'none';
  private readonly statements = new Map<string, PreparedStatementHandle>();
  private readonly portals = new Map<string, PortalHandle>();

  /** A session method (or engine call) is running. */
  private inCall = false;
  private shutdownRequested = false;
  /** The server ended the connection (the socket may still be flushing). */
  private ending = false;
  private socketClosed = false;
  private inputPaused = false;
  private flushScheduled = false;
  /** A client message is being handled: its answers go out at ReadyForQuery (or a Flush). */
  private dispatching = false;
  private inputWaiter: (() => void) | undefined;
  private drainWaiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private authTimer: NodeJS.Timeout | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private resolveSocketClosed!: () => void;
  private readonly socketClosedPromise: Promise<void>;
  private loggedLateSinkCall = false;

  constructor(
    socket: net.Socket,
    readonly key: BackendKey,
    private readonly host: ConnectionHost,
  ) {
    this.socket = socket;
    this.remoteAddress = `${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0}`;
    this.log = host.logger.child({ pgPid: key.processId, remote: this.remoteAddress });
    this.decoder = new FrameDecoder({ maxMessageBytes: host.maxMessageBytes });
    this.socketClosedPromise = new Promise((resolve) => (this.resolveSocketClosed = resolve));
    this.attach(socket);
    this.authTimer = setTimeout(() => this.onAuthenticationTimeout(), host.authenticationTimeoutMs);
    this.authTimer.unref();
    this.done = this.run().finally(() => host.release(this));
  }

  /** A matching CancelRequest: stop the running statement, if any (an idle session has none). */
  cancelRunningStatement(): void {
    if (this.inCall && this.session !== undefined) {
      this.log.info('cancel request for the running statement');
      this.session.cancel();
    }
  }

  /**
   * Server shutdown, gently: as soon as the connection waits for its client (now, or
   * when the running statement has finished and its output is sent), it sends 57P01
   * FATAL and closes.
   */
  requestShutdown(): void {
    this.shutdownRequested = true;
    this.wake();
  }

  /** Server shutdown, now: cancel the running statement, send 57P01 and close. */
  terminate(): void {
    if (this.inCall && this.session !== undefined) {
      this.session.cancel();
    }
    this.fatal(adminShutdown());
    // The client may not be reading: do not wait for it.
    this.socket.destroy();
  }

  // ---------------------------------------------------------------------------------
  // Socket plumbing

  private attach(socket: net.Socket): void {
    socket.on('data', this.onData);
    socket.on('error', this.onSocketError);
    socket.on('close', this.onSocketClose);
    socket.on('drain', this.onDrain);
  }

  private detach(socket: net.Socket): void {
    socket.off('data', this.onData);
    socket.off('close', this.onSocketClose);
    socket.off('drain', this.onDrain);
    // 'error' stays attached: an error on the raw socket under TLS must not crash the process.
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.ending) {
      return;
    }
    this.decoder.push(chunk);
    if (
      !this.inputPaused &&
      this.decoder.bufferedBytes > INPUT_HIGH_WATER_BYTES &&
      this.decoder.hasCompleteFrame()
    ) {
      this.inputPaused = true;
      this.socket.pause();
    }
    this.wake();
  };

  private readonly onSocketError = (err: Error): void => {
    // ECONNRESET and friends: the 'close' event follows and does the work.
    this.log.debug({ err }, 'socket error');
  };

  private readonly onSocketClose = (): void => {
    if (this.socketClosed) {
      return;
    }
    this.socketClosed = true;
    this.clearTimers();
    if (this.phase.kind !== 'closed') {
      this.phase = transition(this.phase, 'closed');
    }
    if (this.inCall && this.session !== undefined) {
      // Nobody will read the result: stop the statement.
      this.session.cancel();
    }
    this.rejectDrainWaiters();
    this.wake();
    this.resolveSocketClosed();
  };

  private readonly onDrain = (): void => {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const waiter of waiters) {
      waiter.resolve();
    }
  };

  private rejectDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const waiter of waiters) {
      waiter.reject(connectionLost());
    }
  }

  private clearTimers(): void {
    if (this.authTimer !== undefined) {
      clearTimeout(this.authTimer);
      this.authTimer = undefined;
    }
    if (this.lingerTimer !== undefined) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
    }
  }

  private wake(): void {
    const waiter = this.inputWaiter;
    this.inputWaiter = undefined;
    waiter?.();
  }

  /**
   * Waits for input; true when the session sat idle inside a transaction past its
   * idle_in_transaction_session_timeout (its locks and intents would block others).
   */
  private async waitForInputOrIdleTimeout(): Promise<boolean> {
    const session = this.session;
    const status = session?.transactionStatus();
    const limitMs = session === undefined || status === 'I' ? 0 : (session.idleInTransactionTimeoutMs?.() ?? 0);
    if (limitMs <= 0) {
      await this.waitForInput();
      return false;
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.waitForInput().then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), limitMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.inputWaiter = undefined;
    }
    return timedOut;
  }

  private waitForInput(): Promise<void> {
    assert(this.inputWaiter === undefined, 'pgwire: two readers wait for input');
    return new Promise((resolve) => (this.inputWaiter = resolve));
  }

  /** The next message, undefined when more bytes are needed. Throws PgProtocolError. */
  private nextMessage(): FrontendMessage | undefined {
    const message = this.decoder.next();
    if (
      this.inputPaused &&
      (this.decoder.bufferedBytes <= INPUT_HIGH_WATER_BYTES || !this.decoder.hasCompleteFrame())
    ) {
      this.inputPaused = false;
      this.socket.resume();
    }
    return message;
  }

  // ---------------------------------------------------------------------------------
  // Output

  private get writable(): boolean {
    return !this.ending && !this.socketClosed && !this.socket.writableEnded;
  }

  private send(message: BackendMessage): void {
    if (!this.writable) {
      return;
    }
    this.out.write(message);
    this.afterWrite();
  }

  private afterWrite(): void {
    if (this.out.byteLength >= FLUSH_BYTES) {
      this.flush();
    } else if (!this.flushScheduled && !this.dispatching) {
      // Written outside the handling of a message (a notice from elsewhere, say):
      // nothing else will flush it soon.
      this.flushScheduled = true;
      setImmediate(this.flushFromTimer);
    }
  }

  private readonly flushFromTimer = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  /** Writes the batch now (Flush, before waiting for the client, before closing). */
  private flush(): void {
    if (this.out.byteLength === 0 || this.socketClosed || this.socket.destroyed) {
      return;
    }
    this.socket.write(this.out.take());
  }

  private sendError(err: unknown, severity: ErrorSeverity = 'ERROR'): void {
    const { fields, internal } = classifyError(err, severity);
    if (internal) {
      this.log.error({ err }, 'internal error while serving a client');
    } else {
      this.log.debug({ code: fields.code, message: fields.message, severity }, 'error sent to the client');
    }
    this.send({ kind: 'errorResponse', fields });
  }

  private sendReadyForQuery(): void {
    assert(this.session !== undefined, 'pgwire: ReadyForQuery without a session');
    this.send({ kind: 'readyForQuery', status: this.session.transactionStatus() });
    // As PostgreSQL does: the answers to everything up to a Sync (or a simple query) go
    // out together, one write, even when the client has sent more already.
    this.flush();
  }

  /** Sends the error as FATAL and closes (gracefully: the client gets to read it). */
  private fatal(err: unknown): void {
    if (this.writable) {
      this.sendError(err, 'FATAL');
    }
    this.closeConnection();
  }

  /** Ends the connection from the server's side: flush, FIN, and wait for the client's. */
  private closeConnection(): void {
    if (this.ending) {
      return;
    }
    this.ending = true;
    if (this.phase.kind !== 'closed') {
      this.phase = transition(this.phase, 'closed');
    }
    this.flush();
    if (this.authTimer !== undefined) {
      clearTimeout(this.authTimer);
      this.authTimer = undefined;
    }
    if (!this.socketClosed) {
      this.socket.end();
      // Keep reading (and dropping) what the client still sends: closing with unread
      // input would reset the connection and could lose the error we just sent.
      this.socket.resume();
      this.lingerTimer = setTimeout(() => this.socket.destroy(), LINGER_MS);
      this.lingerTimer.unref();
    }
    this.rejectDrainWaiters();
    this.wake();
  }

  private onAuthenticationTimeout(): void {
    this.authTimer = undefined;
    if (this.phase.kind === 'ready' || this.phase.kind === 'extended-error' || this.phase.kind === 'copy-in') {
      return;
    }
    this.log.info('authentication timed out');
    this.closeConnection();
    this.socket.destroy();
  }

  private move(event: ConnectionEvent): void {
    this.phase = transition(this.phase, event);
  }

  // ---------------------------------------------------------------------------------
  // The loop

  private async run(): Promise<void> {
    try {
      while (this.phase.kind !== 'closed') {
        let message: FrontendMessage | undefined;
        try {
          message = this.nextMessage();
        } catch (err) {
          await this.onMalformedMessage(err);
          continue;
        }
        if (message === undefined) {
          if (this.shutdownRequested && !this.ending) {
            this.fatal(adminShutdown());
            break;
          }
          this.flush();
          if (await this.waitForInputOrIdleTimeout()) {
            this.fatal(new SqlError(SqlStates.idleInTransactionSessionTimeout, 'terminating connection due to idle-in-transaction timeout'));
            break;
          }
          continue;
        }
        this.dispatching = true;
        try {
          await this.dispatch(message);
        } finally {
          this.dispatching = false;
        }
      }
    } catch (err) {
      // A bug in this file: the connection cannot be trusted, the server goes on.
      this.log.error({ err }, 'pgwire connection failed');
      this.fatal(err);
    }
    await this.finish();
  }

  private async finish(): Promise<void> {
    this.closeConnection();
    const session = this.session;
    this.session = undefined;
    if (session !== undefined) {
      try {
        await session.close();
      } catch (err) {
        this.log.error({ err }, 'closing the SQL session failed');
      }
    }
    await this.socketClosedPromise;
  }

  private async dispatch(message: FrontendMessage): Promise<void> {
    switch (message.kind) {
      case 'startup':
      case 'sslRequest':
      case 'gssEncRequest':
      case 'cancelRequest':
        return this.onStartupPacket(message);
      default:
        return this.onTypedMessage(message);
    }
  }

  private async onMalformedMessage(err: unknown): Promise<void> {
    if (!(err instanceof PgProtocolError) || err.fatal || this.session === undefined) {
      this.log.info({ err }, 'protocol violation');
      this.fatal(err);
      return;
    }
    // A well-framed message with bad content: an ordinary error for its kind.
    switch (err.messageType) {
      case 'P':
      case 'B':
      case 'D':
      case 'E':
      case 'C':
      case 'H':
        if (this.phase.kind === 'ready') {
          this.sendError(err);
          this.move('extended-error');
        }
        return;
      case 'S':
        this.sendError(err);
        return this.onSync();
      case 'd':
      case 'c':
      case 'f':
        // Leftovers of a failed COPY: ignored like their well-formed kin.
        return;
      default:
        if (this.phase.kind === 'ready') {
          this.sendError(err);
          this.sendReadyForQuery();
        }
        return;
    }
  }

  // ---------------------------------------------------------------------------------
  // Startup and authentication

  private async onStartupPacket(message: Exclude<FrontendMessage, TypedFrontendMessage>): Promise<void> {
    const phase = this.phase;
    assert(phase.kind === 'startup' || phase.kind === 'ssl-negotiated', `startup packet in phase ${phase.kind}`);
    switch (message.kind) {
      case 'sslRequest':
        if (phase.kind !== 'startup' || phase.sslRefused) {
          return this.fatal(new PgProtocolError('SSL negotiation was already done', { fatal: true }));
        }
        if (this.decoder.bufferedBytes > 0) {
          return this.fatal(new PgProtocolError('received unencrypted data after SSL request', { fatal: true }));
        }
        if (this.host.tls === undefined) {
          this.socket.write(SSL_REFUSED);
          return this.move('ssl-refused');
        }
        this.upgradeToTls(this.host.tls);
        return this.move('ssl-accepted');
      case 'gssEncRequest':
        if (phase.kind !== 'startup' || phase.gssRefused) {
          return this.fatal(new PgProtocolError('GSSAPI encryption negotiation was already done', { fatal: true }));
        }
        if (this.decoder.bufferedBytes > 0) {
          return this.fatal(
            new PgProtocolError('received unencrypted data after GSSAPI encryption request', { fatal: true }),
          );
        }
        this.socket.write(SSL_REFUSED);
        return this.move('gss-refused');
      case 'cancelRequest':
        this.host.cancel(message.processId, message.secretKey);
        return this.closeConnection();
      case 'startup':
        return this.onStartupMessage(message);
      default:
        return unreachable(message, 'startup packet');
    }
  }

  private upgradeToTls(context: tls.SecureContext): void {
    const raw = this.socket;
    this.detach(raw);
    raw.write(SSL_ACCEPTED);
    const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: context });
    this.socket = secure;
    this.attach(secure);
  }

  private async onStartupMessage(message: StartupMessage): Promise<void> {
    if (message.protocolMajor !== 3) {
      return this.fatal(
        new PgProtocolError(
          `unsupported frontend protocol ${message.protocolMajor}.${message.protocolMinor}: ` +
            `server supports 3.0 to 3.${SUPPORTED_MINOR_VERSION}`,
          { fatal: true },
        ),
      );
    }
    const parameters = new Map<string, string>();
    const protocolOptions: string[] = [];
    for (const [name, value] of message.parameters) {
      if (name.startsWith('_pq_.')) {
        protocolOptions.push(name);
      } else {
        parameters.set(name, value);
      }
    }
    if (message.protocolMinor > SUPPORTED_MINOR_VERSION || protocolOptions.length > 0) {
      this.send({
        kind: 'negotiateProtocolVersion',
        newestMinor: Math.min(message.protocolMinor, SUPPORTED_MINOR_VERSION),
        unrecognizedOptions: protocolOptions,
      });
    }
    const user = parameters.get('user') ?? '';
    if (user === '') {
      return this.fatal(
        new SqlError(SqlStates.invalidAuthorizationSpecification, 'no PostgreSQL user name specified in startup packet'),
      );
    }
    if (this.host.requireTls && this.phase.kind !== 'ssl-negotiated') {
      return this.fatal(
        new SqlError(SqlStates.invalidAuthorizationSpecification, `connection for user "${user}" requires TLS`, {
          hint: 'Connect with sslmode=require (or stronger).',
        }),
      );
    }
    const refusal = this.host.admit(this);
    if (refusal !== undefined) {
      return this.fatal(refusal);
    }
    const database = parameters.get('database') || user;
    this.startupInfo = { user, database, parameters, remoteAddress: this.remoteAddress, processId: this.key.processId };
    this.move('startup-accepted');
    this.log.debug({ user, database, application: parameters.get('application_name') }, 'startup');

    switch (this.host.auth) {
      case 'trust':
        this.send({ kind: 'authenticationOk' });
        return this.openSession();
      case 'scram-sha-256':
        return this.startScram(user);
      default:
        return unreachable(this.host.auth, 'authentication method');
    }
  }

  private async startScram(user: string): Promise<void> {
    let verifier;
    try {
      this.inCall = true;
      verifier = await this.host.engine.scramVerifier(user);
    } catch (err) {
      return this.fatal(err);
    } finally {
      this.inCall = false;
    }
    if (this.phase.kind === 'closed') {
      return;
    }
    this.scram = new ScramServer({
      user,
      verifier,
      mockSecret: this.host.scramMockSecret,
      nonce: this.host.scramNonce,
    });
    this.authStep = 'sasl-initial';
    this.decoder.expectAuthenticationResponse(true);
    this.send({ kind: 'authenticationSasl', mechanisms: [SCRAM_SHA_256] });
  }

  private async onAuthenticationResponse(data: Buffer): Promise<void> {
    const scram = this.scram;
    assert(scram !== undefined, 'pgwire: SASL response without an exchange');
    let clientMessage: Buffer;
    switch (this.authStep) {
      case 'sasl-initial': {
        let initial;
        try {
          initial = decodeSaslInitialResponse(data);
        } catch (err) {
          return this.fatal(err);
        }
        if (initial.mechanism !== SCRAM_SHA_256) {
          return this.fatal(
            new PgProtocolError('client selected an invalid SASL authentication mechanism', { fatal: true }),
          );
        }
        if (initial.data === undefined) {
          return this.fatal(new PgProtocolError('malformed SCRAM message: empty initial response', { fatal: true }));
        }
        clientMessage = initial.data;
        break;
      }
      case 'sasl-continue':
        clientMessage = data;
        break;
      case 'none':
        return this.fatal(new PgProtocolError('unexpected authentication response', { fatal: true }));
      default:
        return unreachable(this.authStep, 'authentication step');
    }
    const step = scram.receive(clientMessage);
    switch (step.kind) {
      case 'continue':
        this.authStep = 'sasl-continue';
        this.send({ kind: 'authenticationSaslContinue', data: step.serverMessage });
        return;
      case 'success':
        this.authStep = 'none';
        this.scram = undefined;
        this.decoder.expectAuthenticationResponse(false);
        this.send({ kind: 'authenticationSaslFinal', data: step.serverMessage });
        this.send({ kind: 'authenticationOk' });
        return this.openSession();
      case 'failure':
        this.log.info({ user: this.startupInfo?.user, code: step.error.sqlState }, 'authentication failed');
        return this.fatal(step.error);
      default:
        return unreachable(step, 'SCRAM step');
    }
  }

  private async openSession(): Promise<void> {
    const startup = this.startupInfo;
    assert(startup !== undefined, 'pgwire: opening a session before the startup message');
    let session: SqlSession;
    try {
      this.inCall = true;
      session = await this.host.engine.openSession(startup);
    } catch (err) {
      return this.fatal(err);
    } finally {
      this.inCall = false;
    }
    this.session = session;
    if (this.phase.kind === 'closed') {
      // The client left (or the server is closing) meanwhile: finish() closes the session.
      return;
    }
    try {
      for (const [name, value] of session.initialParameters()) {
        this.send({ kind: 'parameterStatus', name, value });
      }
    } catch (err) {
      return this.fatal(err);
    }
    this.send({ kind: 'backendKeyData', processId: this.key.processId, secretKey: this.key.secretKey });
    this.move('authenticated');
    if (this.authTimer !== undefined) {
      clearTimeout(this.authTimer);
      this.authTimer = undefined;
    }
    this.sendReadyForQuery();
    this.flush();
  }

  // ---------------------------------------------------------------------------------
  // Queries

  private async onTypedMessage(message: TypedFrontendMessage): Promise<void> {
    switch (dispositionOf(this.phase.kind, message.kind)) {
      case 'skip':
      case 'ignore':
        return;
      case 'violation':
        return this.fatal(
          new PgProtocolError(`unexpected message type ${describeMessageType(messageTypeByte(message))}`, {
            fatal: true,
          }),
        );
      case 'handle':
        break;
    }
    if (this.phase.kind === 'authenticating') {
      if (message.kind === 'terminate') {
        return this.closeConnection();
      }
      assert(message.kind === 'authenticationResponse', 'pgwire: unexpected message during authentication');
      return this.onAuthenticationResponse(message.data);
    }
    switch (message.kind) {
      case 'query':
        return this.onQuery(message.sql);
      case 'parse':
        return this.extended(() => this.onParse(message));
      case 'bind':
        return this.extended(() => this.onBind(message));
      case 'describe':
        return this.extended(() => this.onDescribe(message));
      case 'execute':
        return this.extended(() => this.onExecute(message));
      case 'close':
        return this.extended(() => this.onClose(message));
      case 'sync':
        return this.onSync();
      case 'flush':
        this.flush();
        return;
      case 'terminate':
        this.log.debug('client terminated the connection');
        return this.closeConnection();
      case 'functionCall':
        this.sendError(new SqlError(SqlStates.featureNotSupported, 'fast-path function calls are not supported'));
        this.sendReadyForQuery();
        return;
      case 'copyData':
      case 'copyDone':
      case 'copyFail':
      case 'authenticationResponse':
        // dispositionOf ignores or rejects these outside COPY and authentication.
        throw new PgProtocolError(`unexpected message type ${describeMessageType(messageTypeByte(message))}`, {
          fatal: true,
        });
      default:
        return unreachable(message, 'frontend message');
    }
  }

  private requireSession(): SqlSession {
    const session = this.session;
    if (session === undefined) {
      throw connectionLost();
    }
    return session;
  }

  private async call<T>(work: (session: SqlSession) => Promise<T>): Promise<T> {
    const session = this.requireSession();
    assert(!this.inCall, 'pgwire: overlapping session calls');
    this.inCall = true;
    try {
      return await work(session);
    } finally {
      this.inCall = false;
    }
  }

  private async onQuery(sql: string): Promise<void> {
    // A simple Query replaces the unnamed statement and portal, as in PostgreSQL.
    this.dropStatement('');
    this.dropPortal('');
    const sink = new ConnectionSink(this, 'simple');
    try {
      await this.call((session) => session.simpleQuery(sql, sink, (outcome) => this.sendOutcome(outcome, sink)));
    } catch (err) {
      this.sendError(err);
    } finally {
      this.endStatement(sink);
    }
    this.afterTransactionBoundary();
    this.sendReadyForQuery();
  }

  /** Runs an extended-protocol message; an error skips everything up to Sync. */
  private async extended(handle: () => Promise<void> | void): Promise<void> {
    try {
      await handle();
    } catch (err) {
      this.sendError(err);
      if (this.phase.kind === 'ready') {
        this.move('extended-error');
      }
    }
  }

  private async onParse(message: ParseMessage): Promise<void> {
    const name = message.statement;
    if (name === '') {
      this.dropStatement('');
    } else if (this.statements.has(name)) {
      throw duplicateStatement(name);
    }
    const statement = await this.call((session) => session.prepare(message.sql, message.paramTypeOids));
    this.statements.set(name, statement);
    this.send({ kind: 'parseComplete' });
  }

  private async onBind(message: BindMessage): Promise<void> {
    const statement = this.statements.get(message.statement);
    if (statement === undefined) {
      throw unknownStatement(message.statement);
    }
    if (message.portal === '') {
      this.dropPortal('');
    } else if (this.portals.has(message.portal)) {
      throw duplicatePortal(message.portal);
    }
    const paramFormats = expandFormatCodes(message.paramFormats, message.params.length, 'parameter');
    const required = statement.description.paramTypeOids.length;
    if (message.params.length !== required) {
      throw wrongParameterCount(message.statement, message.params.length, required);
    }
    const columnCount = statement.description.columns?.length ?? 0;
    const resultFormats = expandFormatCodes(message.resultFormats, columnCount, 'result');
    const portal = await this.call((session) => session.bind(statement, message.params, paramFormats, resultFormats));
    this.portals.set(message.portal, portal);
    this.send({ kind: 'bindComplete' });
  }

  private onDescribe(message: DescribeMessage): void {
    if (message.target === 'statement') {
      const statement = this.statements.get(message.name);
      if (statement === undefined) {
        throw unknownStatement(message.name);
      }
      const { paramTypeOids, columns } = statement.description;
      this.send({ kind: 'parameterDescription', typeOids: paramTypeOids });
      this.sendColumns(columns, []);
    } else {
      const portal = this.portals.get(message.name);
      if (portal === undefined) {
        throw unknownPortal(message.name);
      }
      this.sendColumns(portal.description.columns, portal.description.resultFormats);
    }
  }

  private sendColumns(columns: readonly ColumnDescription[] | undefined, formats: readonly FormatCode[]): void {
    if (columns === undefined) {
      this.send({ kind: 'noData' });
    } else {
      this.send({ kind: 'rowDescription', columns, formats });
    }
  }

  private async onExecute(message: ExecuteMessage): Promise<void> {
    const portal = this.portals.get(message.portal);
    if (portal === undefined) {
      throw unknownPortal(message.portal);
    }
    const sink = new ConnectionSink(this, 'extended');
    try {
      const outcome = await this.call((session) => session.execute(portal, Math.max(0, message.maxRows), sink));
      this.sendOutcome(outcome, sink);
    } finally {
      this.endStatement(sink);
    }
  }

  private onClose(message: CloseMessage): void {
    // Closing a name that does not exist is not an error.
    if (message.target === 'statement') {
      this.dropStatement(message.name);
    } else {
      this.dropPortal(message.name);
    }
    this.send({ kind: 'closeComplete' });
  }

  private async onSync(): Promise<void> {
    try {
      await this.call((session) => session.sync());
    } catch (err) {
      this.sendError(err);
    }
    if (this.phase.kind === 'ready' || this.phase.kind === 'extended-error') {
      this.move('sync');
    }
    this.afterTransactionBoundary();
    if (this.session !== undefined) {
      this.sendReadyForQuery();
    }
  }

  private sendOutcome(outcome: ExecuteOutcome, sink: ConnectionSink): void {
    if (!sink.active) {
      this.lateSinkCall('complete');
      return;
    }
    switch (outcome.kind) {
      case 'complete':
        this.send({ kind: 'commandComplete', tag: outcome.commandTag });
        return;
      case 'suspended':
        if (sink.mode === 'simple') {
          this.log.error('a simple query reported a suspended portal');
          return;
        }
        this.send({ kind: 'portalSuspended' });
        return;
      case 'empty':
        this.send({ kind: 'emptyQueryResponse' });
        return;
      default:
        return unreachable(outcome, 'execute outcome');
    }
  }

  private endStatement(sink: ConnectionSink): void {
    sink.active = false;
    if (this.phase.kind === 'copy-in') {
      // The statement ended without reading to CopyDone: what the client still sends
      // arrives in 'ready' and is ignored there.
      this.move('copy-ended');
    }
  }

  /** Outside a transaction no portal survives (PostgreSQL drops them at transaction end). */
  private afterTransactionBoundary(): void {
    const session = this.session;
    if (session === undefined || this.portals.size === 0 || session.transactionStatus() !== 'I') {
      return;
    }
    for (const name of [...this.portals.keys()]) {
      this.dropPortal(name);
    }
  }

  /** Forgets a statement name; the session's cleanup failing is logged, not sent. */
  private dropStatement(name: string): void {
    const statement = this.statements.get(name);
    if (statement !== undefined) {
      this.statements.delete(name);
      try {
        this.session?.closeStatement(statement);
      } catch (err) {
        this.log.error({ err, statement: name }, 'closing a prepared statement failed');
      }
    }
  }

  private dropPortal(name: string): void {
    const portal = this.portals.get(name);
    if (portal !== undefined) {
      this.portals.delete(name);
      try {
        this.session?.closePortal(portal);
      } catch (err) {
        this.log.error({ err, portal: name }, 'closing a portal failed');
      }
    }
  }

  // ---------------------------------------------------------------------------------
  // What ConnectionSink calls

  /** @internal */
  sinkDescribe(sink: ConnectionSink, columns: readonly ColumnDescription[], formats: readonly FormatCode[]): void {
    if (!sink.active) {
      return this.lateSinkCall('describe');
    }
    // Execute never sends RowDescription (the client asks with Describe).
    if (sink.mode === 'simple') {
      this.send({ kind: 'rowDescription', columns, formats });
    }
  }

  /** @internal */
  sinkRow(sink: ConnectionSink, values: readonly (Buffer | null)[]): void {
    if (!sink.active) {
      return this.lateSinkCall('row');
    }
    if (!this.writable) {
      return;
    }
    this.out.dataRow(values);
    this.afterWrite();
  }

  /** @internal */
  sinkNotice(sink: ConnectionSink, notice: Notice): void {
    if (!sink.active) {
      return this.lateSinkCall('notice');
    }
    this.send({
      kind: 'noticeResponse',
      fields: {
        severity: notice.severity,
        code: notice.sqlState,
        message: notice.message,
        detail: notice.detail,
        hint: notice.hint,
      },
    });
    // At once, as PostgreSQL does: a notice tells of a statement still running.
    this.flush();
  }

  /** @internal */
  sinkParameterStatus(sink: ConnectionSink, name: string, value: string): void {
    if (!sink.active) {
      return this.lateSinkCall('parameterStatus');
    }
    this.send({ kind: 'parameterStatus', name, value });
  }

  /** @internal */
  get congested(): boolean {
    return !this.writable || this.socket.writableNeedDrain;
  }

  /** @internal */
  drain(): Promise<void> {
    if (!this.writable) {
      return Promise.reject(connectionLost());
    }
    this.flush();
    if (!this.socket.writableNeedDrain) {
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.drainWaiters.push({ resolve, reject }));
  }

  /** @internal */
  sinkCopyIn(sink: ConnectionSink, request: CopyInRequest): AsyncIterable<Buffer> {
    assert(sink.active, 'pgwire: copyIn after the statement ended');
    if (this.phase.kind === 'closed') {
      throw connectionLost();
    }
    assert(this.phase.kind === 'ready', `pgwire: copyIn in phase ${this.phase.kind}`);
    this.send({ kind: 'copyInResponse', format: request.format, columnFormats: request.columnFormats });
    this.flush();
    this.move('copy-started');
    return this.copyData();
  }

  private async *copyData(): AsyncGenerator<Buffer, void, undefined> {
    try {
      while (this.phase.kind === 'copy-in') {
        let message: FrontendMessage | undefined;
        try {
          message = this.nextMessage();
        } catch (err) {
          if (err instanceof PgProtocolError && err.fatal) {
            this.fatal(err);
            throw connectionLost();
          }
          throw err;
        }
        if (message === undefined) {
          this.flush();
          await this.waitForInput();
          continue;
        }
        if (
          message.kind === 'startup' ||
          message.kind === 'sslRequest' ||
          message.kind === 'gssEncRequest' ||
          message.kind === 'cancelRequest'
        ) {
          throw new PgProtocolError('unexpected startup packet during COPY', { fatal: true });
        }
        switch (dispositionOf('copy-in', message.kind)) {
          case 'ignore':
          case 'skip':
            continue;
          case 'violation':
            throw new PgProtocolError(
              `unexpected message type ${describeMessageType(messageTypeByte(message))} during COPY from stdin`,
              { fatal: false },
            );
          case 'handle':
            break;
        }
        switch (message.kind) {
          case 'copyData':
            yield message.data;
            break;
          case 'copyDone':
            return;
          case 'copyFail':
            throw new SqlError(SqlStates.queryCanceled, `COPY from stdin failed: ${message.message}`);
          case 'terminate':
            this.closeConnection();
            throw connectionLost();
          default:
            throw new PgProtocolError(`unexpected message type during COPY from stdin`, { fatal: false });
        }
      }
      // The connection closed under the COPY.
      throw connectionLost();
    } finally {
      if (this.phase.kind === 'copy-in') {
        this.move('copy-ended');
      }
    }
  }

  private lateSinkCall(method: string): void {
    if (!this.loggedLateSinkCall) {
      this.loggedLateSinkCall = true;
      this.log.error({ method }, 'ResultSink used after its statement ended; ignored');
    }
  }
}

/** The ResultSink of one statement (a simple Query or an Execute). */
class ConnectionSink implements ResultSink {
  active = true;

  constructor(
    private readonly connection: PgConnection,
    readonly mode: 'simple' | 'extended',
  ) {}

  describe(columns: readonly ColumnDescription[], formats: readonly FormatCode[]): void {
    this.connection.sinkDescribe(this, columns, formats);
  }

  row(values: readonly (Buffer | null)[]): void {
    this.connection.sinkRow(this, values);
  }

  notice(notice: Notice): void {
    this.connection.sinkNotice(this, notice);
  }

  parameterStatus(name: string, value: string): void {
    this.connection.sinkParameterStatus(this, name, value);
  }

  copyIn(request: CopyInRequest): AsyncIterable<Buffer> {
    return this.connection.sinkCopyIn(this, request);
  }

  get congested(): boolean {
    return this.connection.congested;
  }

  drain(): Promise<void> {
    return this.connection.drain();
  }
}

function connectionLost(): SqlError {
  return new SqlError(SqlStates.connectionFailure, 'the client connection was closed');
}

function adminShutdown(): SqlError {
  return new SqlError(SqlStates.adminShutdown, 'terminating connection due to administrator command');
}

const MESSAGE_TYPE_BYTES: Record<TypedFrontendMessage['kind'], string> = {
  query: 'Q',
  parse: 'P',
  bind: 'B',
  describe: 'D',
  execute: 'E',
  close: 'C',
  sync: 'S',
  flush: 'H',
  terminate: 'X',
  copyData: 'd',
  copyDone: 'c',
  copyFail: 'f',
  authenticationResponse: 'p',
  functionCall: 'F',
};

function messageTypeByte(message: TypedFrontendMessage): number {
  return MESSAGE_TYPE_BYTES[message.kind].charCodeAt(0);
}
