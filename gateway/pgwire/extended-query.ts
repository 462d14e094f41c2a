/**
 * Pure rules of the extended query protocol: format-code expansion and the errors for
 * statement and portal names (the texts are PostgreSQL's, so clients and people who
 * know them recognise them).
 */
import { SqlError, SqlStates } from '../../common/errors';
import type { FormatCode } from './sql-session';

const ALL_TEXT: readonly FormatCode[] = [];

/**
 * Bind's format codes for `count` items: none = all text, one = that format for all,
 * otherwise exactly one per item. Codes other than 0 and 1 are 22023; a count that
 * fits none of the three rules is 08P01.
 */
export function expandFormatCodes(
  codes: readonly number[],
  count: number,
  what: 'parameter' | 'result',
): readonly FormatCode[] {
  for (const code of codes) {
    if (code !== 0 && code !== 1) {
      throw new SqlError(SqlStates.invalidParameterValue, `unsupported format code: ${code}`);
    }
  }
  if (codes.length === 0) {
    return count === 0 ? ALL_TEXT : new Array<FormatCode>(count).fill(0);
  }
  if (codes.length === 1) {
    return new Array<FormatCode>(count).fill(codes[0] as FormatCode);
  }
  if (codes.length !== count) {
    throw new SqlError(
      SqlStates.protocolViolation,
      what === 'parameter'
        ? `bind message has ${codes.length} parameter formats but ${count} parameters`
        : `bind message has ${codes.length} result formats but query has ${count} columns`,
    );
  }
  return codes as readonly FormatCode[];
}

function describeStatement(name: string): string {
  return name === '' ? 'unnamed prepared statement' : `prepared statement "${name}"`;
}

export function unknownStatement(name: string): SqlError {
  return new SqlError(SqlStates.invalidSqlStatementName, `${describeStatement(name)} does not exist`);
}

export function duplicateStatement(name: string): SqlError {
  return new SqlError(SqlStates.duplicatePreparedStatement, `prepared statement "${name}" already exists`);
}

export function unknownPortal(name: string): SqlError {
  return new SqlError(SqlStates.invalidCursorName, `portal "${name}" does not exist`);
}

export function duplicatePortal(name: string): SqlError {
  return new SqlError(SqlStates.duplicateCursor, `portal "${name}" already exists`);
}

export function wrongParameterCount(statement: string, supplied: number, required: number): SqlError {
  return new SqlError(
    SqlStates.protocolViolation,
    `bind message supplies ${supplied} parameters, but ${describeStatement(statement)} requires ${required}`,
  );
}
