import { CairnError, SqlError, SqlStates, type SqlState } from '../../common/errors';
import type { ErrorFields, ErrorSeverity } from './messages';

/**
 * A client broke the protocol. `fatal` errors leave the byte stream unusable (a bad
 * length, an unknown message type, an oversized message): the connection sends the
 * error as FATAL and closes. Non-fatal ones are about the content of a well-framed
 * message (a missing NUL, counts that do not fit): the message is dropped and the error
 * handled like any other ERROR (in the extended protocol: skip until Sync).
 */
export class PgProtocolError extends SqlError {
  readonly fatal: boolean;
  /** The type byte of the offending message, when it had one. */
  readonly messageType: string | undefined;

  constructor(
    message: string,
    options: { readonly fatal: boolean; readonly messageType?: string; readonly sqlState?: SqlState },
  ) {
    super(options.sqlState ?? SqlStates.protocolViolation, message);
    this.fatal = options.fatal;
    this.messageType = options.messageType;
  }
}

/** How an error reaches the client, and whether it was a bug worth logging loudly. */
export interface ClassifiedError {
  readonly fields: ErrorFields;
  /** Not a SqlError or CairnError with a SQLSTATE of its own: a bug (XX000). */
  readonly internal: boolean;
}

/**
 * The ErrorResponse fields for anything a session method threw. A SqlError keeps its
 * SQLSTATE, detail, hint and position; another CairnError keeps its SQLSTATE (a KV
 * retry error is 40001 to the client); anything else is XX000 "internal error".
 */
export function classifyError(err: unknown, severity: ErrorSeverity = 'ERROR'): ClassifiedError {
  if (isStackOverflow(err)) {
    // A statement nested deeper than the JavaScript stack (a parser, analyzer or value
    // parser recursing): PostgreSQL's answer to the same is 54001, and the session is fine.
    return { internal: false, fields: { severity, code: SqlStates.statementTooComplex, message: 'stack depth limit exceeded' } };
  }
  if (err instanceof SqlError) {
    return {
      internal: false,
      fields: {
        severity,
        code: err.sqlState,
        message: err.message,
        detail: err.detail,
        hint: err.hint,
        position: err.position,
      },
    };
  }
  if (err instanceof CairnError && err.sqlState !== SqlStates.internalError) {
    return { internal: false, fields: { severity, code: err.sqlState, message: err.message } };
  }
  const text = err instanceof Error ? err.message : String(err);
  return { internal: true, fields: { severity, code: SqlStates.internalError, message: `internal error: ${text}` } };
}

/** A RangeError from exhausting the call stack, thrown as is or as the cause of an internal error. */
function isStackOverflow(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (e instanceof RangeError && /call stack/i.test(e.message)) return true;
    if (e instanceof SqlError && e.sqlState !== SqlStates.internalError) return false;
  }
  return false;
}
