/**
 * Pure encoders for the backend messages. `MessageWriter` appends messages to one
 * growing buffer so that a connection can batch everything it produces in a turn of the
 * event loop into a single socket write; `encodeBackendMessage` is the one-message form.
 */
import { assert, unreachable } from '../../common/errors';
import type { BackendMessage, ErrorFields } from './messages';
import type { ColumnDescription, FormatCode, TransactionStatus } from './sql-session';

const INITIAL_BUFFER_BYTES = 16 * 1024;
/** A working buffer grown past this for one large answer is not kept for the next. */
const MAX_KEPT_BUFFER_BYTES = 1024 * 1024;
const MAX_MESSAGE_LENGTH = 0x7fff_ffff;

/** The text of a protocol string: it ends at the first NUL, so a NUL inside must not reach the wire. */
function withoutNul(value: string): string {
  return value.includes('\0') ? value.replaceAll('\0', '\uFFFD') : value;
}

export class MessageWriter {
  private buffer: Buffer;
  private length = 0;
  /** Offset of the type byte of the message being written, or -1 between messages. */
  private messageStart = -1;

  constructor(private readonly initialBytes = INITIAL_BUFFER_BYTES) {
    this.buffer = Buffer.allocUnsafe(initialBytes);
  }

  /** Bytes written and not yet taken. */
  get byteLength(): number {
    return this.length;
  }

  /**
   * The bytes written so far, copied out, so that the returned buffer may be handed to
   * a socket (which keeps it until written) while the writer goes on. Copying beats a
   * fresh working buffer per take: a typical answer is a few hundred bytes, which
   * Node's allocation pool serves, while a fresh 16 KiB buffer per answer is memory
   * outside the heap that drives V8 into a full collection every few hundred answers.
   */
  take(): Buffer {
    assert(this.messageStart === -1, 'MessageWriter.take in the middle of a message');
    const out = Buffer.allocUnsafe(this.length);
    this.buffer.copy(out, 0, 0, this.length);
    if (this.buffer.length > MAX_KEPT_BUFFER_BYTES) this.buffer = Buffer.allocUnsafe(this.initialBytes);
    this.length = 0;
    return out;
  }

  write(message: BackendMessage): this {
    switch (message.kind) {
      case 'authenticationOk':
        return this.authentication(0);
      case 'authenticationSasl':
        this.begin('R').int32(10);
        for (const mechanism of message.mechanisms) {
          this.cstring(mechanism);
        }
        return this.int8(0).end();
      case 'authenticationSaslContinue':
        return this.begin('R').int32(11).bytes(message.data).end();
      case 'authenticationSaslFinal':
        return this.begin('R').int32(12).bytes(message.data).end();
      case 'parameterStatus':
        return this.begin('S').cstring(message.name).cstring(message.value).end();
      case 'backendKeyData':
        return this.begin('K').int32(message.processId).int32(message.secretKey).end();
      case 'readyForQuery':
        return this.readyForQuery(message.status);
      case 'rowDescription':
        return this.rowDescription(message.columns, message.formats);
      case 'dataRow':
        return this.dataRow(message.values);
      case 'commandComplete':
        return this.begin('C').cstring(message.tag).end();
      case 'emptyQueryResponse':
        return this.empty('I');
      case 'errorResponse':
        return this.errorFields('E', message.fields);
      case 'noticeResponse':
        return this.errorFields('N', message.fields);
      case 'parseComplete':
        return this.empty('1');
      case 'bindComplete':
        return this.empty('2');
      case 'closeComplete':
        return this.empty('3');
      case 'noData':
        return this.empty('n');
      case 'portalSuspended':
        return this.empty('s');
      case 'parameterDescription':
        this.begin('t').count16(message.typeOids.length);
        for (const oid of message.typeOids) {
          this.uint32(oid);
        }
        return this.end();
      case 'copyInResponse':
        this.begin('G').int8(message.format).count16(message.columnFormats.length);
        for (const format of message.columnFormats) {
          this.int16(format);
        }
        return this.end();
      case 'negotiateProtocolVersion':
        this.begin('v').int32(message.newestMinor).int32(message.unrecognizedOptions.length);
        for (const option of message.unrecognizedOptions) {
          this.cstring(option);
        }
        return this.end();
      default:
        return unreachable(message, 'backend message');
    }
  }

  readyForQuery(status: TransactionStatus): this {
    return this.begin('Z').int8(status.charCodeAt(0)).end();
  }

  rowDescription(columns: readonly ColumnDescription[], formats: readonly FormatCode[]): this {
    this.begin('T').count16(columns.length);
    for (let i = 0; i < columns.length; i++) {
      const column = columns[i]!;
      this.cstring(column.name)
        .uint32(column.tableOid)
        .int16(column.columnNumber)
        .uint32(column.typeOid)
        .int16(column.typeSize)
        .int32(column.typeModifier)
        .int16(formats[i] ?? 0);
    }
    return this.end();
  }

  /** The hot path: values are copied straight into the batch buffer. */
  dataRow(values: readonly (Buffer | null)[]): this {
    this.begin('D').count16(values.length);
    for (const value of values) {
      if (value === null) {
        this.int32(-1);
      } else {
        this.int32(value.length).bytes(value);
      }
    }
    return this.end();
  }

  private authentication(code: number): this {
    return this.begin('R').int32(code).end();
  }

  private empty(type: string): this {
    return this.begin(type).end();
  }

  private errorFields(type: 'E' | 'N', fields: ErrorFields): this {
    this.begin(type);
    this.field('S', fields.severity).field('V', fields.severity).field('C', fields.code).field('M', fields.message);
    if (fields.detail !== undefined) {
      this.field('D', fields.detail);
    }
    if (fields.hint !== undefined) {
      this.field('H', fields.hint);
    }
    if (fields.position !== undefined) {
      this.field('P', String(fields.position));
    }
    return this.int8(0).end();
  }

  private field(code: string, value: string): this {
    return this.int8(code.charCodeAt(0)).cstring(value);
  }

  private begin(type: string): this {
    assert(this.messageStart === -1, 'MessageWriter: a message is already open');
    this.ensure(5);
    this.messageStart = this.length;
    this.buffer[this.length] = type.charCodeAt(0);
    this.length += 5;
    return this;
  }

  private end(): this {
    const start = this.messageStart;
    assert(start !== -1, 'MessageWriter: no message is open');
    const messageLength = this.length - start - 1;
    assert(messageLength <= MAX_MESSAGE_LENGTH, `backend message too large: ${messageLength} bytes`);
    this.buffer.writeInt32BE(messageLength, start + 1);
    this.messageStart = -1;
    return this;
  }

  private ensure(bytes: number): void {
    const needed = this.length + bytes;
    if (needed <= this.buffer.length) {
      return;
    }
    const grown = Buffer.allocUnsafe(Math.max(needed, this.buffer.length * 2));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  private int8(value: number): this {
    this.ensure(1);
    this.buffer[this.length++] = value & 0xff;
    return this;
  }

  private int16(value: number): this {
    this.ensure(2);
    this.length = this.buffer.writeInt16BE(value, this.length);
    return this;
  }

  /** A count in an Int16 field: PostgreSQL reads these as unsigned. */
  private count16(value: number): this {
    assert(value >= 0 && value <= 0xffff, `count ${value} does not fit a protocol Int16`);
    this.ensure(2);
    this.length = this.buffer.writeUInt16BE(value, this.length);
    return this;
  }

  private int32(value: number): this {
    this.ensure(4);
    this.length = this.buffer.writeInt32BE(value, this.length);
    return this;
  }

  /** OIDs are unsigned 32-bit. */
  private uint32(value: number): this {
    this.ensure(4);
    this.length = this.buffer.writeUInt32BE(value >>> 0, this.length);
    return this;
  }

  private cstring(value: string): this {
    const text = withoutNul(value);
    const bytes = Buffer.byteLength(text, 'utf8');
    this.ensure(bytes + 1);
    this.length += this.buffer.write(text, this.length, bytes, 'utf8');
    this.buffer[this.length++] = 0;
    return this;
  }

  private bytes(value: Buffer): this {
    this.ensure(value.length);
    this.length += value.copy(this.buffer, this.length);
    return this;
  }
}

/** One backend message as bytes. */
export function encodeBackendMessage(message: BackendMessage): Buffer {
  return new MessageWriter(64).write(message).take();
}
