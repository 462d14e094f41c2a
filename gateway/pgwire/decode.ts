/**
 * An incremental decoder of frontend bytes: push chunks as they arrive, pull messages
 * with `next()`. Pure (no I/O, no timers). Every problem with the bytes is a
 * PgProtocolError (08P01): `fatal` when the framing itself is broken, so that the
 * stream cannot be trusted any more; non-fatal when a well-framed message has bad
 * content. No other exception escapes, whatever the bytes (decode.test.ts checks this
 * with random input).
 */
import { isUtf8 } from 'node:buffer';
import { SqlStates } from '../../common/errors';
import {
  CANCEL_REQUEST_CODE,
  GSSENC_REQUEST_CODE,
  SSL_REQUEST_CODE,
  type AuthenticationResponseMessage,
  type DescribeTarget,
  type FrontendMessage,
  type PasswordMessage,
  type SaslInitialResponse,
  type SaslResponse,
  type TypedFrontendMessage,
} from './messages';
import { PgProtocolError } from './protocol-error';

/** PostgreSQL's MAX_STARTUP_PACKET_LENGTH. */
export const DEFAULT_MAX_STARTUP_PACKET_BYTES = 10_000;
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** PostgreSQL's PQ_SMALL_MESSAGE_LIMIT: messages that carry only names and counts. */
const SMALL_MESSAGE_BYTES = 10_000;
/** PostgreSQL's PG_MAX_AUTH_TOKEN_LENGTH, for the 'p' messages. */
const AUTH_MESSAGE_BYTES = 65_535;

export interface FrameDecoderOptions {
  /** The largest body (after the length word) of a Query, Parse, Bind or CopyData message. */
  readonly maxMessageBytes?: number;
  /** The largest startup-phase packet, length word included. */
  readonly maxStartupPacketBytes?: number;
}

/**
 * 'startup': untyped packets (StartupMessage, SSLRequest, GSSENCRequest, CancelRequest).
 * 'typed': type byte + length. 'done': after a CancelRequest nothing more is read.
 */
export type DecoderPhase = 'startup' | 'typed' | 'done';

type SizeClass = 'large' | 'small' | 'auth';

/** The typed frontend messages and their size classes (PostgreSQL's SocketBackend). */
const TYPED_MESSAGES: ReadonlyMap<number, SizeClass> = new Map<number, SizeClass>([
  [0x51 /* Q */, 'large'],
  [0x50 /* P */, 'large'],
  [0x42 /* B */, 'large'],
  [0x46 /* F */, 'large'],
  [0x64 /* d */, 'large'],
  [0x44 /* D */, 'small'],
  [0x45 /* E */, 'small'],
  [0x43 /* C */, 'small'],
  [0x53 /* S */, 'small'],
  [0x48 /* H */, 'small'],
  [0x58 /* X */, 'small'],
  [0x63 /* c */, 'small'],
  [0x66 /* f */, 'small'],
  [0x70 /* p */, 'auth'],
]);

/** How a type byte reads in an error message: the character when printable. */
export function describeMessageType(type: number): string {
  return type >= 0x21 && type <= 0x7e ? `"${String.fromCharCode(type)}"` : `0x${type.toString(16).padStart(2, '0')}`;
}

export class FrameDecoder {
  private readonly chunks: Buffer[] = [];
  /** Bytes of chunks[0] already consumed. */
  private headOffset = 0;
  private buffered = 0;
  private currentPhase: DecoderPhase = 'startup';
  private poisoned: PgProtocolError | undefined;
  private onlyAuthenticationResponses = false;
  private readonly maxStartupPacketBytes: number;
  /** The large-message limit; may be changed between messages. */
  maxMessageBytes: number;

  constructor(options: FrameDecoderOptions = {}) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.maxStartupPacketBytes = options.maxStartupPacketBytes ?? DEFAULT_MAX_STARTUP_PACKET_BYTES;
  }

  get phase(): DecoderPhase {
    return this.currentPhase;
  }

  /** Bytes received and not yet returned as messages. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /**
   * While the server waits for a password or SASL message, any other type (but
   * Terminate) is rejected from its type byte alone, before its body is buffered (as
   * PostgreSQL does).
   */
  expectAuthenticationResponse(expect: boolean): void {
    this.onlyAuthenticationResponses = expect;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0 || this.currentPhase === 'done') {
      return;
    }
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** Whether `next()` would return a message (or throw) without more bytes. */
  hasCompleteFrame(): boolean {
    if (this.poisoned !== undefined) {
      return true;
    }
    switch (this.currentPhase) {
      case 'startup':
        return this.buffered >= 4 && this.buffered >= Math.max(4, this.peekInt32(0));
      case 'typed':
        return this.buffered >= 5 && this.buffered >= 1 + Math.max(4, this.peekInt32(1));
      case 'done':
        return false;
    }
  }

  /**
   * The next complete message, or undefined when more bytes are needed. Throws
   * PgProtocolError; after a fatal one the decoder stays failed.
   */
  next(): FrontendMessage | undefined {
    if (this.poisoned !== undefined) {
      throw this.poisoned;
    }
    try {
      switch (this.currentPhase) {
        case 'startup':
          return this.nextStartupPacket();
        case 'typed':
          return this.nextTypedMessage();
        case 'done':
          return undefined;
      }
    } catch (err) {
      if (err instanceof PgProtocolError && err.fatal) {
        this.poisoned = err;
        this.chunks.length = 0;
        this.buffered = 0;
        this.headOffset = 0;
      }
      throw err;
    }
  }

  private nextStartupPacket(): FrontendMessage | undefined {
    if (this.buffered < 4) {
      return undefined;
    }
    const length = this.peekInt32(0);
    if (length < 8 || length > this.maxStartupPacketBytes) {
      throw new PgProtocolError(`invalid length of startup packet: ${length} bytes`, { fatal: true });
    }
    if (this.buffered < length) {
      return undefined;
    }
    const packet = this.take(length);
    const code = packet.readInt32BE(4);
    switch (code) {
      case SSL_REQUEST_CODE:
      case GSSENC_REQUEST_CODE:
        if (length !== 8) {
          throw new PgProtocolError(`invalid length of ${code === SSL_REQUEST_CODE ? 'SSL' : 'GSSENC'} request packet`, {
            fatal: true,
          });
        }
        return code === SSL_REQUEST_CODE ? { kind: 'sslRequest' } : { kind: 'gssEncRequest' };
      case CANCEL_REQUEST_CODE:
        if (length !== 16) {
          throw new PgProtocolError('invalid length of cancel request packet', { fatal: true });
        }
        this.currentPhase = 'done';
        this.chunks.length = 0;
        this.buffered = 0;
        this.headOffset = 0;
        return { kind: 'cancelRequest', processId: packet.readInt32BE(8), secretKey: packet.readInt32BE(12) };
      default:
        return this.startupMessage(packet, code);
    }
  }

  private startupMessage(packet: Buffer, code: number): FrontendMessage {
    const protocolMajor = code >>> 16;
    const protocolMinor = code & 0xffff;
    const parameters = new Map<string, string>();
    // Another major version lays out its packet differently: the connection rejects it
    // from the version alone.
    if (protocolMajor === 3) {
      let offset = 8;
      while (true) {
        if (offset >= packet.length) {
          throw new PgProtocolError('invalid startup packet layout: expected terminator as last byte', {
            fatal: true,
          });
        }
        if (packet[offset] === 0) {
          if (offset !== packet.length - 1) {
            throw new PgProtocolError('invalid startup packet layout: data after the terminator', { fatal: true });
          }
          break;
        }
        const nameEnd = packet.indexOf(0, offset);
        const valueEnd = nameEnd === -1 ? -1 : packet.indexOf(0, nameEnd + 1);
        if (valueEnd === -1) {
          throw new PgProtocolError('invalid startup packet layout: expected terminator as last byte', {
            fatal: true,
          });
        }
        parameters.set(packet.toString('utf8', offset, nameEnd), packet.toString('utf8', nameEnd + 1, valueEnd));
        offset = valueEnd + 1;
      }
    }
    this.currentPhase = 'typed';
    return { kind: 'startup', protocolMajor, protocolMinor, parameters };
  }

  private nextTypedMessage(): TypedFrontendMessage | undefined {
    if (this.buffered < 1) {
      return undefined;
    }
    const type = this.peekByte(0);
    const sizeClass = TYPED_MESSAGES.get(type);
    if (sizeClass === undefined) {
      throw new PgProtocolError(`invalid frontend message type ${describeMessageType(type)}`, { fatal: true });
    }
    if (this.onlyAuthenticationResponses && sizeClass !== 'auth' && type !== 0x58 /* X */) {
      throw new PgProtocolError(`expected an authentication response, got message type ${describeMessageType(type)}`, {
        fatal: true,
      });
    }
    if (this.buffered < 5) {
      return undefined;
    }
    const length = this.peekInt32(1);
    if (length < 4) {
      throw new PgProtocolError(`invalid message length ${length} for message type ${describeMessageType(type)}`, {
        fatal: true,
      });
    }
    const bodyBytes = length - 4;
    const limit =
      sizeClass === 'large'
        ? this.maxMessageBytes
        : Math.min(this.maxMessageBytes, sizeClass === 'small' ? SMALL_MESSAGE_BYTES : AUTH_MESSAGE_BYTES);
    if (bodyBytes > limit) {
      throw new PgProtocolError(
        `message of type ${describeMessageType(type)} is too large: ${bodyBytes} bytes, the limit is ${limit}`,
        { fatal: true, sqlState: SqlStates.protocolViolation },
      );
    }
    if (this.buffered < 1 + length) {
      return undefined;
    }
    const frame = this.take(1 + length);
    return decodeTypedBody(type, frame.subarray(5));
  }

  private peekByte(offset: number): number {
    let index = 0;
    let position = this.headOffset + offset;
    while (position >= this.chunks[index]!.length) {
      position -= this.chunks[index]!.length;
      index++;
    }
    return this.chunks[index]![position]!;
  }

  private peekInt32(offset: number): number {
    return ((this.peekByte(offset) << 24) | (this.peekByte(offset + 1) << 16) | (this.peekByte(offset + 2) << 8) | this.peekByte(offset + 3));
  }

  /** Removes `count` bytes from the front, as one contiguous buffer (copied only when split). */
  private take(count: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length - this.headOffset >= count) {
      out = first.subarray(this.headOffset, this.headOffset + count);
      this.headOffset += count;
      if (this.headOffset === first.length) {
        this.chunks.shift();
        this.headOffset = 0;
      }
    } else {
      out = Buffer.allocUnsafe(count);
      let written = 0;
      while (written < count) {
        const chunk = this.chunks[0]!;
        const available = chunk.length - this.headOffset;
        const n = Math.min(available, count - written);
        chunk.copy(out, written, this.headOffset, this.headOffset + n);
        written += n;
        this.headOffset += n;
        if (this.headOffset === chunk.length) {
          this.chunks.shift();
          this.headOffset = 0;
        }
      }
    }
    this.buffered -= count;
    return out;
  }
}

/** Reads the body of one typed message; every overrun is a non-fatal PgProtocolError. */
class BodyReader {
  private offset = 0;

  constructor(
    private readonly body: Buffer,
    private readonly type: number,
  ) {}

  get remaining(): number {
    return this.body.length - this.offset;
  }

  fail(message: string): never {
    throw new PgProtocolError(message, { fatal: false, messageType: String.fromCharCode(this.type) });
  }

  private need(bytes: number): void {
    if (this.remaining < bytes) {
      this.fail(`insufficient data left in message of type ${describeMessageType(this.type)}`);
    }
  }

  byte(): number {
    this.need(1);
    return this.body[this.offset++]!;
  }

  int16(): number {
    this.need(2);
    const value = this.body.readInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  /** A count: PostgreSQL reads counts as unsigned 16-bit (up to 65535 parameters). */
  count16(itemMinBytes: number, what: string): number {
    this.need(2);
    const value = this.body.readUInt16BE(this.offset);
    this.offset += 2;
    if (value * itemMinBytes > this.remaining) {
      this.fail(`${what} count ${value} does not fit the message length`);
    }
    return value;
  }

  int32(): number {
    this.need(4);
    const value = this.body.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  uint32(): number {
    this.need(4);
    const value = this.body.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  bytes(count: number): Buffer {
    this.need(count);
    const value = this.body.subarray(this.offset, this.offset + count);
    this.offset += count;
    return value;
  }

  rest(): Buffer {
    return this.bytes(this.remaining);
  }

  cstring(): string {
    const end = this.body.indexOf(0, this.offset);
    if (end === -1) {
      this.fail(`invalid string in message of type ${describeMessageType(this.type)}: no terminating NUL`);
    }
    const bytes = this.body.subarray(this.offset, end);
    this.offset = end + 1;
    if (!isUtf8(bytes)) {
      throw new PgProtocolError('invalid byte sequence for encoding "UTF8"', {
        fatal: false,
        messageType: String.fromCharCode(this.type),
        sqlState: SqlStates.characterNotInRepertoire,
      });
    }
    return bytes.toString('utf8');
  }

  target(): DescribeTarget {
    const target = this.byte();
    if (target === 0x53 /* S */) {
      return 'statement';
    }
    if (target === 0x50 /* P */) {
      return 'portal';
    }
    return this.fail(`invalid ${this.type === 0x44 ? 'DESCRIBE' : 'CLOSE'} message subtype ${target}`);
  }

  end(): void {
    if (this.remaining !== 0) {
      this.fail(`invalid message format: ${this.remaining} unexpected bytes at the end of message of type ${describeMessageType(this.type)}`);
    }
  }
}

function decodeTypedBody(type: number, body: Buffer): TypedFrontendMessage {
  const r = new BodyReader(body, type);
  let message: TypedFrontendMessage;
  switch (type) {
    case 0x51 /* Q */:
      message = { kind: 'query', sql: r.cstring() };
      break;
    case 0x50 /* P */: {
      const statement = r.cstring();
      const sql = r.cstring();
      const count = r.count16(4, 'parameter type');
      const paramTypeOids = new Array<number>(count);
      for (let i = 0; i < count; i++) {
        paramTypeOids[i] = r.uint32();
      }
      message = { kind: 'parse', statement, sql, paramTypeOids };
      break;
    }
    case 0x42 /* B */: {
      const portal = r.cstring();
      const statement = r.cstring();
      const formatCount = r.count16(2, 'parameter format');
      const paramFormats = new Array<number>(formatCount);
      for (let i = 0; i < formatCount; i++) {
        paramFormats[i] = r.int16();
      }
      const paramCount = r.count16(4, 'parameter');
      const params = new Array<Buffer | null>(paramCount);
      for (let i = 0; i < paramCount; i++) {
        const length = r.int32();
        if (length === -1) {
          params[i] = null;
        } else if (length < 0) {
          r.fail(`invalid length ${length} of parameter ${i + 1}`);
        } else {
          params[i] = r.bytes(length);
        }
      }
      const resultCount = r.count16(2, 'result format');
      const resultFormats = new Array<number>(resultCount);
      for (let i = 0; i < resultCount; i++) {
        resultFormats[i] = r.int16();
      }
      message = { kind: 'bind', portal, statement, paramFormats, params, resultFormats };
      break;
    }
    case 0x44 /* D */: {
      const target = r.target();
      message = { kind: 'describe', target, name: r.cstring() };
      break;
    }
    case 0x45 /* E */: {
      const portal = r.cstring();
      message = { kind: 'execute', portal, maxRows: r.int32() };
      break;
    }
    case 0x43 /* C */: {
      const target = r.target();
      message = { kind: 'close', target, name: r.cstring() };
      break;
    }
    case 0x53 /* S */:
      message = { kind: 'sync' };
      break;
    case 0x48 /* H */:
      message = { kind: 'flush' };
      break;
    case 0x58 /* X */:
      message = { kind: 'terminate' };
      break;
    case 0x64 /* d */:
      message = { kind: 'copyData', data: r.rest() };
      break;
    case 0x63 /* c */:
      message = { kind: 'copyDone' };
      break;
    case 0x66 /* f */:
      message = { kind: 'copyFail', message: r.cstring() };
      break;
    case 0x70 /* p */:
      message = { kind: 'authenticationResponse', data: r.rest() } satisfies AuthenticationResponseMessage;
      break;
    case 0x46 /* F */:
      r.rest();
      message = { kind: 'functionCall' };
      break;
    default:
      // TYPED_MESSAGES admitted the type, so this is a bug in this file.
      throw new PgProtocolError(`invalid frontend message type ${describeMessageType(type)}`, { fatal: true });
  }
  r.end();
  return message;
}

/** The body of a 'p' message answering AuthenticationSASL. */
export function decodeSaslInitialResponse(data: Buffer): SaslInitialResponse {
  const r = new BodyReader(data, 0x70);
  const mechanism = r.cstring();
  const length = r.int32();
  let initial: Buffer | undefined;
  if (length === -1) {
    initial = undefined;
  } else if (length < 0 || length > r.remaining) {
    r.fail(`invalid SASL initial response length ${length}`);
  } else {
    initial = r.bytes(length);
  }
  r.end();
  return { kind: 'saslInitialResponse', mechanism, data: initial };
}

/** The body of a 'p' message answering AuthenticationSASLContinue. */
export function decodeSaslResponse(data: Buffer): SaslResponse {
  return { kind: 'saslResponse', data };
}

/** The body of a 'p' message answering AuthenticationCleartextPassword. */
export function decodePasswordMessage(data: Buffer): PasswordMessage {
  const r = new BodyReader(data, 0x70);
  const password = r.cstring();
  r.end();
  return { kind: 'password', password };
}
