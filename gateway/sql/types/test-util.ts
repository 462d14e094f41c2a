import { SqlError } from '../../../common/errors';

/** Test helper: the SQLSTATE a call fails with, or undefined when it does not throw a SqlError. */
export function sqlStateOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof SqlError) {
      return e.sqlState;
    }
    throw e;
  }
  return undefined;
}

/** Test helper: the SqlError a call fails with. */
export function sqlErrorOf(fn: () => unknown): SqlError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SqlError) {
      return e;
    }
    throw e;
  }
  throw new Error('expected a SqlError');
}
