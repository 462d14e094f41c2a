/**
 * The PostgreSQL wire protocol v3 messages, as typed values. Frontend messages are what
 * decode.ts produces from a client's bytes; backend messages are what encode.ts turns
 * into bytes. Field names follow the protocol documentation ("Message Formats").
 */
import type { ColumnDescription, FormatCode, TransactionStatus } from './sql-session';

/** Protocol version 3.0 as the StartupMessage carries it: major << 16 | minor. */
export const PROTOCOL_VERSION_3_0 = 196608;
/** The magic "versions" of the untyped requests a client may send instead of a StartupMessage. */
export const SSL_REQUEST_CODE = 80877103;
export const GSSENC_REQUEST_CODE = 80877104;
export const CANCEL_REQUEST_CODE = 80877102;

// ---------------------------------------------------------------------------------------
// Frontend: the startup phase (length-prefixed packets without a type byte)

export interface StartupMessage {
  readonly kind: 'startup';
  readonly protocolMajor: number;
  readonly protocolMinor: number;
  /** user, database, application_name, options, `_pq_.*` protocol options, ... */
  readonly parameters: ReadonlyMap<string, string>;
}

export interface SslRequest {
  readonly kind: 'sslRequest';
}

export interface GssEncRequest {
  readonly kind: 'gssEncRequest';
}

export interface CancelRequest {
  readonly kind: 'cancelRequest';
  readonly processId: number;
  readonly secretKey: number;
}

export type StartupPhaseMessage = StartupMessage | SslRequest | GssEncRequest | CancelRequest;

// ---------------------------------------------------------------------------------------
// Frontend: the typed phase (a type byte, then a length that counts itself)

/** 'Q' */
export interface QueryMessage {
  readonly kind: 'query';
  readonly sql: string;
}

/** 'P' */
export interface ParseMessage {
  readonly kind: 'parse';
  /** '' is the unnamed statement. */
  readonly statement: string;
  readonly sql: string;
  /** One OID per parameter the client specifies; 0 = let the server infer. */
  readonly paramTypeOids: readonly number[];
}

/** 'B'. Format codes are as sent (validated and expanded by the connection). */
export interface BindMessage {
  readonly kind: 'bind';
  readonly portal: string;
  readonly statement: string;
  readonly paramFormats: readonly number[];
  /** null is SQL NULL (length -1). */
  readonly params: readonly (Buffer | null)[];
  readonly resultFormats: readonly number[];
}

export type DescribeTarget = 'statement' | 'portal';

/** 'D' */
export interface DescribeMessage {
  readonly kind: 'describe';
  readonly target: DescribeTarget;
  readonly name: string;
}

/** 'E' */
export interface ExecuteMessage {
  readonly kind: 'execute';
  readonly portal: string;
  /** As sent: zero or negative means "all rows". */
  readonly maxRows: number;
}

/** 'C' */
export interface CloseMessage {
  readonly kind: 'close';
  readonly target: DescribeTarget;
  readonly name: string;
}

/** 'S' */
export interface SyncMessage {
  readonly kind: 'sync';
}

/** 'H' */
export interface FlushMessage {
  readonly kind: 'flush';
}

/** 'X' */
export interface TerminateMessage {
  readonly kind: 'terminate';
}

/** 'd' */
export interface CopyDataMessage {
  readonly kind: 'copyData';
  readonly data: Buffer;
}

/** 'c' */
export interface CopyDoneMessage {
  readonly kind: 'copyDone';
}

/** 'f' */
export interface CopyFailMessage {
  readonly kind: 'copyFail';
  readonly message: string;
}

/**
 * 'p': PasswordMessage, SASLInitialResponse or SASLResponse. Which one it is depends on
 * what the server asked for, so the decoder keeps the body and the connection reads it
 * with decodeSaslInitialResponse / decodeSaslResponse / decodePasswordMessage.
 */
export interface AuthenticationResponseMessage {
  readonly kind: 'authenticationResponse';
  readonly data: Buffer;
}

/** 'F': the fast-path function call interface, which Cairn does not offer. */
export interface FunctionCallMessage {
  readonly kind: 'functionCall';
}

export type TypedFrontendMessage =
  | QueryMessage
  | ParseMessage
  | BindMessage
  | DescribeMessage
  | ExecuteMessage
  | CloseMessage
  | SyncMessage
  | FlushMessage
  | TerminateMessage
  | CopyDataMessage
  | CopyDoneMessage
  | CopyFailMessage
  | AuthenticationResponseMessage
  | FunctionCallMessage;

export type FrontendMessage = StartupPhaseMessage | TypedFrontendMessage;

/** The bodies of the 'p' message, read according to the authentication step. */
export interface SaslInitialResponse {
  readonly kind: 'saslInitialResponse';
  readonly mechanism: string;
  /** undefined when the client sent length -1 (no initial response). */
  readonly data: Buffer | undefined;
}

export interface SaslResponse {
  readonly kind: 'saslResponse';
  readonly data: Buffer;
}

export interface PasswordMessage {
  readonly kind: 'password';
  readonly password: string;
}

// ---------------------------------------------------------------------------------------
// Backend

export type ErrorSeverity = 'ERROR' | 'FATAL' | 'PANIC';
export type NoticeSeverity = 'WARNING' | 'NOTICE' | 'INFO' | 'DEBUG' | 'LOG';

/** The fields of ErrorResponse and NoticeResponse that Cairn sends. */
export interface ErrorFields {
  /** S and V (the non-localized severity). */
  readonly severity: ErrorSeverity | NoticeSeverity;
  /** C: the SQLSTATE. */
  readonly code: string;
  /** M */
  readonly message: string;
  /** D */
  readonly detail?: string | undefined;
  /** H */
  readonly hint?: string | undefined;
  /** P: 1-based character position in the statement text. */
  readonly position?: number | undefined;
}

export type BackendMessage =
  | { readonly kind: 'authenticationOk' }
  | { readonly kind: 'authenticationSasl'; readonly mechanisms: readonly string[] }
  | { readonly kind: 'authenticationSaslContinue'; readonly data: Buffer }
  | { readonly kind: 'authenticationSaslFinal'; readonly data: Buffer }
  | { readonly kind: 'parameterStatus'; readonly name: string; readonly value: string }
  | { readonly kind: 'backendKeyData'; readonly processId: number; readonly secretKey: number }
  | { readonly kind: 'readyForQuery'; readonly status: TransactionStatus }
  | {
      readonly kind: 'rowDescription';
      readonly columns: readonly ColumnDescription[];
      /** One per column; missing entries are text. */
      readonly formats: readonly FormatCode[];
    }
  | { readonly kind: 'dataRow'; readonly values: readonly (Buffer | null)[] }
  | { readonly kind: 'commandComplete'; readonly tag: string }
  | { readonly kind: 'emptyQueryResponse' }
  | { readonly kind: 'errorResponse'; readonly fields: ErrorFields }
  | { readonly kind: 'noticeResponse'; readonly fields: ErrorFields }
  | { readonly kind: 'parseComplete' }
  | { readonly kind: 'bindComplete' }
  | { readonly kind: 'closeComplete' }
  | { readonly kind: 'noData' }
  | { readonly kind: 'parameterDescription'; readonly typeOids: readonly number[] }
  | { readonly kind: 'portalSuspended' }
  | {
      readonly kind: 'copyInResponse';
      readonly format: FormatCode;
      readonly columnFormats: readonly FormatCode[];
    }
  | {
      readonly kind: 'negotiateProtocolVersion';
      /** The newest minor version the server supports for the requested major version. */
      readonly newestMinor: number;
      readonly unrecognizedOptions: readonly string[];
    };

export type BackendMessageKind = BackendMessage['kind'];
