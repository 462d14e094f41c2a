import type { SqlState } from '../../../common/errors';
import { assert, isSqlState, SqlError, SqlStates } from '../../../common/errors';

/**
 * The errors built-ins raise, with PostgreSQL's SQLSTATEs and wording (clients and tests
 * match on both). A few codes are not in common/errors' table yet: they are parsed here
 * through `isSqlState`.
 */

function localState(value: string): SqlState {
  assert(isSqlState(value), `bad SQLSTATE ${value}`);
  return value;
}

export const BuiltinStates = {
  /** 2201E invalid_argument_for_logarithm */
  invalidArgumentForLogarithm: localState('2201E'),
  /** 2201F invalid_argument_for_power_function */
  invalidArgumentForPowerFunction: localState('2201F'),
  /** 2201G invalid_argument_for_width_bucket_function */
  invalidArgumentForWidthBucket: localState('2201G'),
} as const;

export type IntTypeName = 'int2' | 'int4' | 'int8';

const INT_RANGE_MESSAGES: Readonly<Record<IntTypeName, string>> = {
  int2: 'smallint out of range',
  int4: 'integer out of range',
  int8: 'bigint out of range',
};

export function intOutOfRange(type: IntTypeName): SqlError {
  return new SqlError(SqlStates.numericValueOutOfRange, INT_RANGE_MESSAGES[type]);
}

export function divisionByZero(): SqlError {
  return new SqlError(SqlStates.divisionByZero, 'division by zero');
}

export function floatOverflow(): SqlError {
  return new SqlError(SqlStates.numericValueOutOfRange, 'value out of range: overflow');
}

export function floatUnderflow(): SqlError {
  return new SqlError(SqlStates.numericValueOutOfRange, 'value out of range: underflow');
}

export function invalidParameter(message: string): SqlError {
  return new SqlError(SqlStates.invalidParameterValue, message);
}

export function featureNotSupported(message: string): SqlError {
  return new SqlError(SqlStates.featureNotSupported, message);
}

export function nullNotAllowed(message: string): SqlError {
  return new SqlError(SqlStates.nullValueNotAllowed, message);
}

export function programLimit(message: string): SqlError {
  return new SqlError(SqlStates.programLimitExceeded, message);
}
