/** The PostgreSQL wire protocol server (see OVERVIEW.md). */
export { PgServer, type PgServerOptions, type PgServerTlsOptions, type PgServerCloseOptions } from './server';
export type { AuthMethod } from './connection';
export { type ProcessIdRange, workerOfProcessId, workerProcessIds } from './backend-keys';
export {
  createScramVerifier,
  formatScramVerifier,
  parseScramVerifier,
  DEFAULT_SCRAM_ITERATIONS,
} from './scram';
export { PgProtocolError } from './protocol-error';
export { DEFAULT_MAX_MESSAGE_BYTES } from './decode';
export type {
  ColumnDescription,
  CopyInRequest,
  ExecuteOutcome,
  FormatCode,
  Notice,
  Portal,
  PortalHandle,
  PreparedStatement,
  PreparedStatementHandle,
  ResultSink,
  ScramVerifier,
  SqlEngine,
  SqlSession,
  StartupInfo,
  TransactionStatus,
} from './sql-session';
