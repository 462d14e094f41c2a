
/**
 * What the wire protocol needs from the SQL layer. The protocol code (gateway/pgwire)
 * owns messages, statement/portal names and their lifetimes, the extended-protocol
 * error recovery (skip to Sync) and the connection; the SQL layer owns parsing, types,
 * values, transactions and execution. Values cross this line already encoded in the
 * client's requested format (text 0 or binary 1), so pgwire never interprets a datum.
 */

export type FormatCode = 0 | 1;

/** One field of a RowDescription. */
export interface ColumnDescription {
  readonly name: string;
  /** pg_class OID of the source table, or 0. */
  readonly tableOid: number;
  /** Attribute number in that table, or 0. */
  readonly columnNumber: number;
  readonly typeOid: number;
  /** pg_type.typlen: -1 for variable length. */
  readonly typeSize: number;
  readonly typeModifier: number;
}

/** The result of Parse, for ParameterDescription and (statement) Describe. */
export interface PreparedStatement {
  /** The parameter types, after inference: one OID per $n. */
  readonly paramTypeOids: readonly number[];
  /** The columns the statement returns, or undefined when it returns no rows (NoData). */
  readonly columns: readonly ColumnDescription[] | undefined;
}

/** The result of Bind: a statement with its parameter values, ready to execute. */
export interface Portal {
  readonly columns: readonly ColumnDescription[] | undefined;
  /** One format per column (Bind's result formats expanded: none = all text, one = all). */
  readonly resultFormats: readonly FormatCode[];
}

export interface Notice {
  readonly severity: 'WARNING' | 'NOTICE' | 'INFO' | 'DEBUG' | 'LOG';
  readonly sqlState: string;
  readonly message: string;
  readonly detail?: string;
  readonly hint?: string;
}

/** COPY FROM STDIN as the SQL layer asks for it (CopyInResponse). */
export interface CopyInRequest {
  /** 0 text/csv, 1 binary. */
  readonly format: FormatCode;
  readonly columnFormats: readonly FormatCode[];
}

/**
 * Where execution sends its output. Methods are called in protocol order: for a
 * statement returning rows, `describe` (simple query only: Execute never sends a
 * RowDescription), then `row`s, then the outcome is returned from the call.
 */
export interface ResultSink {
  /** RowDescription, before the rows of a statement in a simple query. */
  describe(columns: readonly ColumnDescription[], formats: readonly FormatCode[]): void;
  /** One DataRow: values encoded in the portal's formats; null is SQL NULL. */
  row(values: readonly (Buffer | null)[]): void;
  notice(notice: Notice): void;
  /**
   * ParameterStatus: a setting the client tracks changed (SET application_name,
   * TimeZone, DateStyle, ... : the ones PostgreSQL marks GUC_REPORT).
   */
  parameterStatus(name: string, value: string): void;
  /**
   * Sends CopyInResponse and yields the CopyData payloads until CopyDone. A CopyFail
   * from the client makes the iterator throw a SqlError (57014). Only valid in COPY FROM
   * STDIN.
   */
  copyIn(request: CopyInRequest): AsyncIterable<Buffer>;
  /** True once the client's socket has buffered too much; execution should await `drain`. */
  readonly congested: boolean;
  drain(): Promise<void>;
}

export type ExecuteOutcome =
  /** CommandComplete with this tag ("SELECT 3", "INSERT 0 1", "BEGIN", ...). */
  | { readonly kind: 'complete'; readonly commandTag: string }
  /** PortalSuspended: the row limit was reached and the portal has more rows. */
  | { readonly kind: 'suspended' }
  /** EmptyQueryResponse. */
  | { readonly kind: 'empty' };

/** The transaction status in ReadyForQuery. */
export type TransactionStatus = 'I' | 'T' | 'E';

/**
 * One client's session. Every method may throw a `SqlError` (sent as ErrorResponse);
 * any other error is a bug, reported as XX000 without closing the other connections.
 * Calls never overlap: pgwire waits for one to finish before the next.
 */
export interface SqlSession {
  /** ParameterStatus messages to send after authentication (server_version, ...). */
  initialParameters(): ReadonlyMap<string, string>;
  /** For ReadyForQuery. */
  transactionStatus(): TransactionStatus;
  /**
   * How long the client may stay idle inside a transaction (status T or E) before the
   * connection is closed with 25P03; 0 or absent: no limit.
   */
  idleInTransactionTimeoutMs?(): number;

  /**
   * Simple query: runs every statement in `sql` in order (as one implicit transaction
   * unless they contain BEGIN/COMMIT), each with `describe`, rows, and then `complete`
   * called with its tag; an empty string calls `empty`. Stops at the first error, which
   * it throws after the statements before it completed.
   */
  simpleQuery(sql: string, sink: ResultSink, complete: (outcome: ExecuteOutcome) => void): Promise<void>;

  /** Parse. `paramTypeOids` may be shorter than the statement's parameters, or 0 = infer. */
  prepare(sql: string, paramTypeOids: readonly number[]): Promise<PreparedStatementHandle>;
  /**
   * Bind: decodes the parameters. Both format lists arrive expanded and checked:
   * `paramFormats` has one entry per parameter, `resultFormats` one per column of the
   * statement (none when it returns no rows).
   */
  bind(
    statement: PreparedStatementHandle,
    params: readonly (Buffer | null)[],
    paramFormats: readonly FormatCode[],
    resultFormats: readonly FormatCode[],
  ): Promise<PortalHandle>;
  /** Execute: `maxRows` 0 = all. A suspended portal resumes on the next call. */
  execute(portal: PortalHandle, maxRows: number, sink: ResultSink): Promise<ExecuteOutcome>;
  /**
   * The portal's name is gone: an explicit Close, the unnamed portal replaced by a new
   * Bind or a simple Query, or the end of the transaction (pgwire drops every portal at
   * Sync and after a simple Query when transactionStatus() is 'I'). May be called for a
   * portal that already ran to completion.
   */
  closePortal(portal: PortalHandle): void;
  closeStatement(statement: PreparedStatementHandle): void;
  /**
   * Sync: ends the implicit transaction of an extended-protocol batch (commits it, or
   * rolls it back after an error).
   */
  sync(): Promise<void>;

  /**
   * A CancelRequest matched this session, or its client went away, or the server is
   * shutting down: stop the running statement with 57014. Only called while one of the
   * other methods is running (it may come from outside that call, at any time).
   */
  cancel(): void;
  /** The connection ended: roll back any open transaction. */
  close(): Promise<void>;
}

export interface PreparedStatementHandle {
  readonly description: PreparedStatement;
}

export interface PortalHandle {
  readonly description: Portal;
}

export interface StartupInfo {
  readonly user: string;
  readonly database: string;
  /** Every startup parameter (application_name, options, client_encoding, ...). */
  readonly parameters: ReadonlyMap<string, string>;
  readonly remoteAddress: string;
  /** The process ID of the session's BackendKeyData (what pg_backend_pid() returns). */
  readonly processId?: number;
}

/** A stored SCRAM-SHA-256 verifier (RFC 5802/7677), as in pg_authid.rolpassword. */
export interface ScramVerifier {
  readonly iterations: number;
  readonly salt: Buffer;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

/** What the server needs from the SQL layer to accept connections. */
export interface SqlEngine {
  /** The verifier for a user, or undefined when the user does not exist or has no password. */
  scramVerifier(user: string): Promise<ScramVerifier | undefined>;
  /**
   * Opens a session after authentication; throws a SqlError when the database does not
   * exist (3D000) or the user may not connect.
   */
  openSession(startup: StartupInfo): Promise<SqlSession>;
}

