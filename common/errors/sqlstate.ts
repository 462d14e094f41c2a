/**
 * PostgreSQL SQLSTATE codes (from PostgreSQL's errcodes list, Appendix A of its manual).
 * A branded string so that only codes from this table, or ones parsed through
 * `isSqlState`, can be attached to an error.
 */
export type SqlState = string & { readonly __brand: 'SqlState' };

function code(value: string): SqlState {
  return value as SqlState;
}

export const SqlStates = {
  successfulCompletion: code('00000'),
  warning: code('01000'),
  connectionException: code('08000'),
  connectionFailure: code('08006'),
  protocolViolation: code('08P01'),
  featureNotSupported: code('0A000'),
  invalidTransactionInitiation: code('0B000'),
  dataException: code('22000'),
  stringDataRightTruncation: code('22001'),
  numericValueOutOfRange: code('22003'),
  nullValueNotAllowed: code('22004'),
  invalidDatetimeFormat: code('22007'),
  datetimeFieldOverflow: code('22008'),
  divisionByZero: code('22012'),
  invalidParameterValue: code('22023'),
  invalidTextRepresentation: code('22P02'),
  invalidBinaryRepresentation: code('22P03'),
  programLimitExceeded: code('54000'),
  integrityConstraintViolation: code('23000'),
  notNullViolation: code('23502'),
  foreignKeyViolation: code('23503'),
  uniqueViolation: code('23505'),
  checkViolation: code('23514'),
  invalidTransactionState: code('25000'),
  activeSqlTransaction: code('25001'),
  readOnlySqlTransaction: code('25006'),
  inFailedSqlTransaction: code('25P02'),
  invalidAuthorizationSpecification: code('28000'),
  invalidPassword: code('28P01'),
  transactionRollback: code('40000'),
  serializationFailure: code('40001'),
  statementCompletionUnknown: code('40003'),
  deadlockDetected: code('40P01'),
  syntaxError: code('42601'),
  insufficientPrivilege: code('42501'),
  undefinedColumn: code('42703'),
  undefinedFunction: code('42883'),
  undefinedTable: code('42P01'),
  undefinedObject: code('42704'),
  duplicateDatabase: code('42P04'),
  duplicateTable: code('42P07'),
  duplicateObject: code('42710'),
  datatypeMismatch: code('42804'),
  insufficientResources: code('53000'),
  diskFull: code('53100'),
  outOfMemory: code('53200'),
  tooManyConnections: code('53300'),
  lockNotAvailable: code('55P03'),
  queryCanceled: code('57014'),
  adminShutdown: code('57P01'),
  cannotConnectNow: code('57P03'),
  ioError: code('58030'),
  internalError: code('XX000'),
  dataCorrupted: code('XX001'),
} as const;

const SQLSTATE_PATTERN = /^[0-9A-Z]{5}$/;

export function isSqlState(value: string): value is SqlState {
  return SQLSTATE_PATTERN.test(value);
}
