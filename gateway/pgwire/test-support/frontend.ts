/**
 * Test-only encoders of frontend messages (what a client sends) and a parser of backend
 * messages (what it receives), written from the protocol documentation independently
 * of encode.ts/decode.ts so that the tests do not check the code against itself.
 */
import { CANCEL_REQUEST_CODE, GSSENC_REQUEST_CODE, PROTOCOL_VERSION_3_0, SSL_REQUEST_CODE } from '../messages';

class Builder {
  private readonly parts: Buffer[] = [];

  int8(value: number): this {
    this.parts.push(Buffer.from([value & 0xff]));
    return this;
  }

  int16(value: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(value & 0xffff);
    this.parts.push(b);
    return this;
  }

  int32(value: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(value | 0);
    this.parts.push(b);
    return this;
  }

  cstring(value: string): this {
    this.parts.push(Buffer.from(value, 'utf8'), Buffer.from([0]));
    return this;
  }

  bytes(value: Buffer): this {
    this.parts.push(value);
    return this;
  }

  body(): Buffer {
    return Buffer.concat(this.parts);
  }
}

function typed(type: string, build: (b: Builder) => void = () => undefined): Buffer {
  const b = new Builder();
  build(b);
  const body = b.body();
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

function untyped(build: (b: Builder) => void): Buffer {
  const b = new Builder();
  build(b);
  const body = b.body();
  const header = Buffer.alloc(4);
  header.writeInt32BE(body.length + 4);
  return Buffer.concat([header, body]);
}

export const fe = {
  startup(parameters: Record<string, string>, version = PROTOCOL_VERSION_3_0): Buffer {
    return untyped((b) => {
      b.int32(version);
      for (const [name, value] of Object.entries(parameters)) {
        b.cstring(name).cstring(value);
      }
      b.int8(0);
    });
  },
  sslRequest: (): Buffer => untyped((b) => b.int32(SSL_REQUEST_CODE)),
  gssEncRequest: (): Buffer => untyped((b) => b.int32(GSSENC_REQUEST_CODE)),
  cancelRequest: (processId: number, secretKey: number): Buffer =>
    untyped((b) => b.int32(CANCEL_REQUEST_CODE).int32(processId).int32(secretKey)),
  query: (sql: string): Buffer => typed('Q', (b) => b.cstring(sql)),
  parse: (statement: string, sql: string, paramTypeOids: readonly number[] = []): Buffer =>
    typed('P', (b) => {
      b.cstring(statement).cstring(sql).int16(paramTypeOids.length);
      for (const oid of paramTypeOids) {
        b.int32(oid);
      }
    }),
  bind: (
    portal: string,
    statement: string,
    params: readonly (Buffer | string | null)[] = [],
    paramFormats: readonly number[] = [],
    resultFormats: readonly number[] = [],
  ): Buffer =>
    typed('B', (b) => {
      b.cstring(portal).cstring(statement).int16(paramFormats.length);
      for (const format of paramFormats) {
        b.int16(format);
      }
      b.int16(params.length);
      for (const param of params) {
        if (param === null) {
          b.int32(-1);
        } else {
          const bytes = typeof param === 'string' ? Buffer.from(param, 'utf8') : param;
          b.int32(bytes.length).bytes(bytes);
        }
      }
      b.int16(resultFormats.length);
      for (const format of resultFormats) {
        b.int16(format);
      }
    }),
  describe: (target: 'S' | 'P', name: string): Buffer => typed('D', (b) => b.int8(target.charCodeAt(0)).cstring(name)),
  execute: (portal: string, maxRows = 0): Buffer => typed('E', (b) => b.cstring(portal).int32(maxRows)),
  close: (target: 'S' | 'P', name: string): Buffer => typed('C', (b) => b.int8(target.charCodeAt(0)).cstring(name)),
  sync: (): Buffer => typed('S'),
  flush: (): Buffer => typed('H'),
  terminate: (): Buffer => typed('X'),
  copyData: (data: Buffer | string): Buffer => typed('d', (b) => b.bytes(Buffer.from(data))),
  copyDone: (): Buffer => typed('c'),
  copyFail: (message: string): Buffer => typed('f', (b) => b.cstring(message)),
  saslInitialResponse: (mechanism: string, data: Buffer | undefined): Buffer =>
    typed('p', (b) => {
      b.cstring(mechanism);
      if (data === undefined) {
        b.int32(-1);
      } else {
        b.int32(data.length).bytes(data);
      }
    }),
  saslResponse: (data: Buffer): Buffer => typed('p', (b) => b.bytes(data)),
  password: (password: string): Buffer => typed('p', (b) => b.cstring(password)),
  functionCall: (): Buffer => typed('F', (b) => b.int32(1234).int16(0).int16(0).int16(0)),
  /** Any type byte and body, for malformed-message tests. */
  raw: (type: string, body: Buffer): Buffer => typed(type, (b) => b.bytes(body)),
};

// ---------------------------------------------------------------------------------------
// Backend messages as a test sees them

export interface BackendFrame {
  readonly type: string;
  readonly body: Buffer;
}

export type ParsedBackend =
  | { readonly type: 'R'; readonly code: number; readonly data: Buffer; readonly mechanisms: readonly string[] }
  | { readonly type: 'S'; readonly name: string; readonly value: string }
  | { readonly type: 'K'; readonly processId: number; readonly secretKey: number }
  | { readonly type: 'Z'; readonly status: string }
  | { readonly type: 'T'; readonly fields: readonly RowField[] }
  | { readonly type: 'D'; readonly values: readonly (Buffer | null)[] }
  | { readonly type: 'C'; readonly tag: string }
  | { readonly type: 'E' | 'N'; readonly fields: Readonly<Record<string, string>> }
  | { readonly type: 't'; readonly oids: readonly number[] }
  | { readonly type: 'G'; readonly format: number; readonly columnFormats: readonly number[] }
  | { readonly type: 'v'; readonly newestMinor: number; readonly options: readonly string[] }
  | { readonly type: 'I' | '1' | '2' | '3' | 'n' | 's' };

export interface RowField {
  readonly name: string;
  readonly tableOid: number;
  readonly columnNumber: number;
  readonly typeOid: number;
  readonly typeSize: number;
  readonly typeModifier: number;
  readonly format: number;
}

class Cursor {
  offset = 0;
  constructor(private readonly b: Buffer) {}
  int8(): number {
    return this.b.readUInt8(this.offset++);
  }
  int16(): number {
    const v = this.b.readInt16BE(this.offset);
    this.offset += 2;
    return v;
  }
  uint16(): number {
    const v = this.b.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }
  int32(): number {
    const v = this.b.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  uint32(): number {
    const v = this.b.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  cstring(): string {
    const end = this.b.indexOf(0, this.offset);
    if (end < 0) {
      throw new Error('backend string without NUL');
    }
    const s = this.b.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return s;
  }
  bytes(n: number): Buffer {
    const v = this.b.subarray(this.offset, this.offset + n);
    if (v.length !== n) {
      throw new Error('backend message too short');
    }
    this.offset += n;
    return v;
  }
  rest(): Buffer {
    return this.bytes(this.b.length - this.offset);
  }
  atEnd(): boolean {
    return this.offset === this.b.length;
  }
}

export function parseBackend(frame: BackendFrame): ParsedBackend {
  const c = new Cursor(frame.body);
  const done = <T>(value: T): T => {
    if (!c.atEnd()) {
      throw new Error(`trailing bytes in backend message ${frame.type}`);
    }
    return value;
  };
  switch (frame.type) {
    case 'R': {
      const code = c.int32();
      const mechanisms: string[] = [];
      if (code === 10) {
        for (let m = c.cstring(); m !== ''; m = c.cstring()) {
          mechanisms.push(m);
        }
      }
      return done({ type: 'R', code, data: c.rest(), mechanisms });
    }
    case 'S':
      return done({ type: 'S', name: c.cstring(), value: c.cstring() });
    case 'K':
      return done({ type: 'K', processId: c.int32(), secretKey: c.int32() });
    case 'Z':
      return done({ type: 'Z', status: String.fromCharCode(c.int8()) });
    case 'T': {
      const n = c.uint16();
      const fields: RowField[] = [];
      for (let i = 0; i < n; i++) {
        fields.push({
          name: c.cstring(),
          tableOid: c.uint32(),
          columnNumber: c.int16(),
          typeOid: c.uint32(),
          typeSize: c.int16(),
          typeModifier: c.int32(),
          format: c.int16(),
        });
      }
      return done({ type: 'T', fields });
    }
    case 'D': {
      const n = c.uint16();
      const values: (Buffer | null)[] = [];
      for (let i = 0; i < n; i++) {
        const len = c.int32();
        values.push(len === -1 ? null : Buffer.from(c.bytes(len)));
      }
      return done({ type: 'D', values });
    }
    case 'C':
      return done({ type: 'C', tag: c.cstring() });
    case 'E':
    case 'N': {
      const fields: Record<string, string> = {};
      for (let code = c.int8(); code !== 0; code = c.int8()) {
        fields[String.fromCharCode(code)] = c.cstring();
      }
      return done({ type: frame.type, fields });
    }
    case 't': {
      const n = c.uint16();
      const oids: number[] = [];
      for (let i = 0; i < n; i++) {
        oids.push(c.uint32());
      }
      return done({ type: 't', oids });
    }
    case 'G': {
      const format = c.int8();
      const n = c.uint16();
      const columnFormats: number[] = [];
      for (let i = 0; i < n; i++) {
        columnFormats.push(c.int16());
      }
      return done({ type: 'G', format, columnFormats });
    }
    case 'v': {
      const newestMinor = c.int32();
      const n = c.int32();
      const options: string[] = [];
      for (let i = 0; i < n; i++) {
        options.push(c.cstring());
      }
      return done({ type: 'v', newestMinor, options });
    }
    case 'I':
    case '1':
    case '2':
    case '3':
    case 'n':
    case 's':
      return done({ type: frame.type });
    default:
      throw new Error(`unknown backend message type ${JSON.stringify(frame.type)}`);
  }
}

/** Splits backend bytes into frames; returns the frames and the unconsumed rest. */
export function splitBackendFrames(bytes: Buffer): { frames: BackendFrame[]; rest: Buffer } {
  const frames: BackendFrame[] = [];
  let offset = 0;
  while (bytes.length - offset >= 5) {
    const length = bytes.readInt32BE(offset + 1);
    if (length < 4) {
      throw new Error(`bad backend length ${length}`);
    }
    if (bytes.length - offset < 1 + length) {
      break;
    }
    frames.push({
      type: String.fromCharCode(bytes[offset]!),
      body: Buffer.from(bytes.subarray(offset + 5, offset + 1 + length)),
    });
    offset += 1 + length;
  }
  return { frames, rest: bytes.subarray(offset) };
}
