import * as fc from 'fast-check';
import { serialize } from 'pg-protocol';
import {
  FrameDecoder,
  decodePasswordMessage,
  decodeSaslInitialResponse,
  decodeSaslResponse,
  type FrameDecoderOptions,
} from './decode';
import type { FrontendMessage } from './messages';
import { PgProtocolError } from './protocol-error';
import { fe } from './test-support/frontend';

const STARTUP = fe.startup({ user: 'alice', database: 'cairn', application_name: 'psql' });

/** A stream with every frontend message kind, and what it decodes to. */
const STREAM: readonly { readonly bytes: Buffer; readonly message: FrontendMessage }[] = [
  { bytes: fe.sslRequest(), message: { kind: 'sslRequest' } },
  { bytes: fe.gssEncRequest(), message: { kind: 'gssEncRequest' } },
  {
    bytes: STARTUP,
    message: {
      kind: 'startup',
      protocolMajor: 3,
      protocolMinor: 0,
      parameters: new Map([
        ['user', 'alice'],
        ['database', 'cairn'],
        ['application_name', 'psql'],
      ]),
    },
  },
  { bytes: fe.password('hunter2'), message: { kind: 'authenticationResponse', data: Buffer.from('hunter2\0') } },
  { bytes: fe.query('SELECT 1; SELECT \'é\''), message: { kind: 'query', sql: "SELECT 1; SELECT 'é'" } },
  { bytes: fe.query(''), message: { kind: 'query', sql: '' } },
  {
    bytes: fe.parse('s1', 'SELECT $1, $2', [23, 0xffff_fff0]),
    message: { kind: 'parse', statement: 's1', sql: 'SELECT $1, $2', paramTypeOids: [23, 0xffff_fff0] },
  },
  {
    bytes: fe.bind('p1', 's1', [Buffer.from([0, 0, 0, 7]), null, ''], [1, 0, 0], [1]),
    message: {
      kind: 'bind',
      portal: 'p1',
      statement: 's1',
      paramFormats: [1, 0, 0],
      params: [Buffer.from([0, 0, 0, 7]), null, Buffer.alloc(0)],
      resultFormats: [1],
    },
  },
  { bytes: fe.describe('S', 's1'), message: { kind: 'describe', target: 'statement', name: 's1' } },
  { bytes: fe.describe('P', ''), message: { kind: 'describe', target: 'portal', name: '' } },
  { bytes: fe.execute('p1', 10), message: { kind: 'execute', portal: 'p1', maxRows: 10 } },
  { bytes: fe.execute('', -1), message: { kind: 'execute', portal: '', maxRows: -1 } },
  { bytes: fe.close('P', 'p1'), message: { kind: 'close', target: 'portal', name: 'p1' } },
  { bytes: fe.close('S', 's1'), message: { kind: 'close', target: 'statement', name: 's1' } },
  { bytes: fe.flush(), message: { kind: 'flush' } },
  { bytes: fe.sync(), message: { kind: 'sync' } },
  { bytes: fe.copyData('1\tone\n'), message: { kind: 'copyData', data: Buffer.from('1\tone\n') } },
  { bytes: fe.copyData(''), message: { kind: 'copyData', data: Buffer.alloc(0) } },
  { bytes: fe.copyDone(), message: { kind: 'copyDone' } },
  { bytes: fe.copyFail('stop'), message: { kind: 'copyFail', message: 'stop' } },
  { bytes: fe.functionCall(), message: { kind: 'functionCall' } },
  { bytes: fe.terminate(), message: { kind: 'terminate' } },
];

const STREAM_BYTES = Buffer.concat(STREAM.map((entry) => entry.bytes));
const EXPECTED = STREAM.map((entry) => entry.message);

function drain(decoder: FrameDecoder): FrontendMessage[] {
  const out: FrontendMessage[] = [];
  for (let message = decoder.next(); message !== undefined; message = decoder.next()) {
    out.push(message);
  }
  return out;
}

function decodeAll(chunks: readonly Buffer[], options?: FrameDecoderOptions): FrontendMessage[] {
  const decoder = new FrameDecoder(options);
  const out: FrontendMessage[] = [];
  for (const chunk of chunks) {
    decoder.push(chunk);
    out.push(...drain(decoder));
  }
  return out;
}

function protocolError(run: () => unknown): PgProtocolError {
  try {
    run();
  } catch (err) {
    if (err instanceof PgProtocolError) {
      return err;
    }
    throw err;
  }
  throw new Error('expected a PgProtocolError');
}

describe('FrameDecoder: framing (STYLE.md §7: frames cut at every offset)', () => {
  test('the whole stream at once', () => {
    expect(decodeAll([STREAM_BYTES])).toEqual(EXPECTED);
  });

  test('cut in two at every offset', () => {
    for (let cut = 0; cut <= STREAM_BYTES.length; cut++) {
      const decoded = decodeAll([STREAM_BYTES.subarray(0, cut), STREAM_BYTES.subarray(cut)]);
      expect(decoded).toEqual(EXPECTED);
    }
  });

  test('one byte at a time', () => {
    const chunks = Array.from(STREAM_BYTES, (byte) => Buffer.from([byte]));
    expect(decodeAll(chunks)).toEqual(EXPECTED);
  });

  test('random cuts', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: STREAM_BYTES.length - 1 }), { maxLength: 30 }), (cuts) => {
        const sorted = [0, ...cuts.sort((a, b) => a - b), STREAM_BYTES.length];
        const chunks = sorted.slice(1).map((end, i) => STREAM_BYTES.subarray(sorted[i], end));
        expect(decodeAll(chunks)).toEqual(EXPECTED);
      }),
    );
  });

  test('a message is not returned before its last byte, and hasCompleteFrame agrees', () => {
    const message = fe.query('SELECT 42');
    const decoder = new FrameDecoder();
    decoder.push(STARTUP);
    expect(decoder.next()?.kind).toBe('startup');
    for (let i = 0; i < message.length - 1; i++) {
      decoder.push(message.subarray(i, i + 1));
      expect(decoder.hasCompleteFrame()).toBe(false);
      expect(decoder.next()).toBeUndefined();
    }
    decoder.push(message.subarray(message.length - 1));
    expect(decoder.hasCompleteFrame()).toBe(true);
    expect(decoder.bufferedBytes).toBe(message.length);
    expect(decoder.next()).toEqual({ kind: 'query', sql: 'SELECT 42' });
    expect(decoder.bufferedBytes).toBe(0);
  });

  test('messages serialized by node-postgres (pg-protocol) decode to the same values', () => {
    const bytes = Buffer.concat([
      serialize.startup({ user: 'bob', database: 'db' }),
      serialize.query('SELECT 1'),
      serialize.parse({ name: 'q', text: 'SELECT $1', types: [23] }),
      serialize.bind({ portal: 'p', statement: 'q', values: ['5', null] }),
      serialize.describe({ type: 'P', name: 'p' }),
      serialize.execute({ portal: 'p', rows: 3 }),
      serialize.sync(),
      serialize.copyData(Buffer.from('a')),
      serialize.copyFail('bad'),
      serialize.end(),
    ]);
    expect(decodeAll([bytes])).toEqual([
      { kind: 'startup', protocolMajor: 3, protocolMinor: 0, parameters: expect.any(Map) },
      { kind: 'query', sql: 'SELECT 1' },
      { kind: 'parse', statement: 'q', sql: 'SELECT $1', paramTypeOids: [23] },
      {
        kind: 'bind',
        portal: 'p',
        statement: 'q',
        paramFormats: [0, 0],
        params: [Buffer.from('5'), null],
        resultFormats: [0],
      },
      { kind: 'describe', target: 'portal', name: 'p' },
      { kind: 'execute', portal: 'p', maxRows: 3 },
      { kind: 'sync' },
      { kind: 'copyData', data: Buffer.from('a') },
      { kind: 'copyFail', message: 'bad' },
      { kind: 'terminate' },
    ]);
  });
});

describe('FrameDecoder: startup packets', () => {
  test('a CancelRequest ends decoding', () => {
    const decoder = new FrameDecoder();
    decoder.push(Buffer.concat([fe.cancelRequest(77, -5), fe.query('ignored')]));
    expect(decoder.next()).toEqual({ kind: 'cancelRequest', processId: 77, secretKey: -5 });
    expect(decoder.phase).toBe('done');
    expect(decoder.next()).toBeUndefined();
  });

  test('protocol versions are reported as sent; only 3.x parameters are parsed', () => {
    expect(decodeAll([fe.startup({ user: 'u', _pq_x: '1' }, (3 << 16) | 2)])).toEqual([
      {
        kind: 'startup',
        protocolMajor: 3,
        protocolMinor: 2,
        parameters: new Map([
          ['user', 'u'],
          ['_pq_x', '1'],
        ]),
      },
    ]);
    expect(decodeAll([fe.startup({ user: 'u' }, 2 << 16)])).toEqual([
      { kind: 'startup', protocolMajor: 2, protocolMinor: 0, parameters: new Map() },
    ]);
  });

  test('a startup packet longer than 10000 bytes is fatal, before its body arrives', () => {
    const header = Buffer.alloc(8);
    header.writeInt32BE(10_001, 0);
    header.writeInt32BE(196608, 4);
    const decoder = new FrameDecoder();
    decoder.push(header);
    const err = protocolError(() => decoder.next());
    expect(err.fatal).toBe(true);
    expect(err.sqlState).toBe('08P01');
    expect(err.message).toMatch(/invalid length of startup packet/);
    // The decoder stays failed.
    decoder.push(fe.query('x'));
    expect(protocolError(() => decoder.next())).toBe(err);
  });

  test('malformed startup packets are fatal', () => {
    const shortLength = Buffer.from([0, 0, 0, 3, 0, 0, 0, 0]);
    const noTerminator = Buffer.concat([Buffer.from([0, 0, 0, 13]), Buffer.from([0, 3, 0, 0]), Buffer.from('user\0')]);
    const afterTerminator = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from([0, 3, 0, 0]), Buffer.from('\0ab')]);
    const longSsl = Buffer.from([0, 0, 0, 12, 0x04, 0xd2, 0x16, 0x2f, 0, 0, 0, 0]);
    const shortCancel = Buffer.from([0, 0, 0, 12, 0x04, 0xd2, 0x16, 0x2e, 0, 0, 0, 1]);
    for (const packet of [shortLength, noTerminator, afterTerminator, longSsl, shortCancel]) {
      const decoder = new FrameDecoder();
      decoder.push(packet);
      const err = protocolError(() => decoder.next());
      expect(err.fatal).toBe(true);
    }
  });
});

describe('FrameDecoder: limits', () => {
  function typedDecoder(options?: FrameDecoderOptions): FrameDecoder {
    const decoder = new FrameDecoder(options);
    decoder.push(STARTUP);
    expect(decoder.next()?.kind).toBe('startup');
    return decoder;
  }

  test('a message over maxMessageBytes is fatal as soon as its header is read', () => {
    const decoder = typedDecoder({ maxMessageBytes: 1000 });
    const header = Buffer.from([0x51, 0, 0, 0x03, 0xf0]); // Q, length 1008: body 1004
    decoder.push(header);
    const err = protocolError(() => decoder.next());
    expect(err).toMatchObject({ fatal: true, sqlState: '08P01' });
    expect(err.message).toBe('message of type "Q" is too large: 1004 bytes, the limit is 1000');
  });

  test('a message of exactly maxMessageBytes is accepted', () => {
    const decoder = typedDecoder({ maxMessageBytes: 1000 });
    decoder.push(fe.copyData(Buffer.alloc(1000, 1)));
    expect(decoder.next()).toEqual({ kind: 'copyData', data: Buffer.alloc(1000, 1) });
  });

  test('the default limit is 64 MiB; small messages have PostgreSQL limit of 10000 bytes', () => {
    const decoder = typedDecoder();
    const bigQuery = Buffer.alloc(5);
    bigQuery.write('Q');
    bigQuery.writeInt32BE(64 * 1024 * 1024 + 5, 1);
    decoder.push(bigQuery);
    expect(protocolError(() => decoder.next()).message).toMatch(/limit is 67108864/);

    const small = typedDecoder();
    small.push(fe.describe('S', 'x'.repeat(10_000)));
    expect(protocolError(() => small.next()).message).toMatch(/message of type "D" is too large/);
  });

  test('lengths below 4 and unknown message types are fatal', () => {
    const decoder = typedDecoder();
    decoder.push(Buffer.from([0x53, 0, 0, 0, 3]));
    expect(protocolError(() => decoder.next()).message).toBe('invalid message length 3 for message type "S"');

    const unknown = typedDecoder();
    unknown.push(Buffer.from([0x5a])); // 'Z' is a backend type: rejected from the type byte alone
    expect(protocolError(() => unknown.next())).toMatchObject({
      fatal: true,
      message: 'invalid frontend message type "Z"',
    });
  });

  test('while authenticating, only password/SASL messages are accepted, checked on the type byte', () => {
    const decoder = typedDecoder();
    decoder.expectAuthenticationResponse(true);
    decoder.push(Buffer.from([0x51]));
    expect(protocolError(() => decoder.next())).toMatchObject({
      fatal: true,
      message: 'expected an authentication response, got message type "Q"',
    });
    const leaving = typedDecoder();
    leaving.expectAuthenticationResponse(true);
    leaving.push(Buffer.concat([fe.password('pw'), fe.terminate()]));
    expect(leaving.next()?.kind).toBe('authenticationResponse');
    expect(leaving.next()).toEqual({ kind: 'terminate' });
  });
});

describe('FrameDecoder: malformed content is a non-fatal 08P01 and decoding goes on', () => {
  const cases: readonly [string, Buffer, RegExp][] = [
    ['Query without NUL', fe.raw('Q', Buffer.from('SELECT 1')), /invalid string in message of type "Q"/],
    ['Sync with a body', fe.raw('S', Buffer.from([1])), /invalid message format: 1 unexpected bytes/],
    ['Describe with a bad target', fe.raw('D', Buffer.from('Xname\0')), /invalid DESCRIBE message subtype 88/],
    ['Close with a bad target', fe.raw('C', Buffer.from('Xname\0')), /invalid CLOSE message subtype 88/],
    ['Execute without maxRows', fe.raw('E', Buffer.from('p\0')), /insufficient data left in message of type "E"/],
    [
      'Parse whose count exceeds its length',
      fe.raw('P', Buffer.concat([Buffer.from('s\0q\0'), Buffer.from([0, 3, 0, 0, 0, 23])])),
      /parameter type count 3 does not fit the message length/,
    ],
    [
      'Bind with a parameter length of -2',
      fe.raw('B', Buffer.concat([Buffer.from('\0\0'), Buffer.from([0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe, 0, 0])])),
      /invalid length -2 of parameter 1/,
    ],
    [
      'Bind whose parameter is longer than the message',
      fe.raw('B', Buffer.concat([Buffer.from('\0\0'), Buffer.from([0, 0, 0, 1, 0, 0, 0, 100, 1, 2, 0, 0])])),
      /insufficient data left/,
    ],
    [
      'Bind with a huge format count',
      fe.raw('B', Buffer.concat([Buffer.from('\0\0'), Buffer.from([0xff, 0xff, 0, 0])])),
      /parameter format count 65535 does not fit/,
    ],
    [
      'Bind with trailing bytes',
      fe.raw('B', Buffer.concat([Buffer.from('\0\0'), Buffer.from([0, 0, 0, 0, 0, 0, 9])])),
      /unexpected bytes at the end/,
    ],
  ];

  test.each(cases)('%s', (_name, bytes, pattern) => {
    const decoder = new FrameDecoder();
    decoder.push(Buffer.concat([STARTUP, bytes, fe.sync()]));
    expect(decoder.next()?.kind).toBe('startup');
    const err = protocolError(() => decoder.next());
    expect(err).toMatchObject({ fatal: false, sqlState: '08P01' });
    expect(err.message).toMatch(pattern);
    expect(err.messageType).toBe(bytes.toString('latin1', 0, 1));
    expect(decoder.next()).toEqual({ kind: 'sync' });
  });

  test('invalid UTF-8 in a string is 22021', () => {
    const decoder = new FrameDecoder();
    decoder.push(Buffer.concat([STARTUP, fe.raw('Q', Buffer.from([0x53, 0xc3, 0x28, 0])), fe.sync()]));
    decoder.next();
    expect(protocolError(() => decoder.next())).toMatchObject({ fatal: false, sqlState: '22021' });
    expect(decoder.next()).toEqual({ kind: 'sync' });
  });
});

describe('FrameDecoder: arbitrary bytes (fast-check)', () => {
  function feed(decoder: FrameDecoder, chunks: readonly Uint8Array[]): void {
    for (const chunk of chunks) {
      decoder.push(Buffer.from(chunk));
      while (true) {
        try {
          if (decoder.next() === undefined) {
            break;
          }
        } catch (err) {
          if (!(err instanceof PgProtocolError)) {
            throw err;
          }
          expect(['08P01', '22021']).toContain(err.sqlState);
          if (err.fatal) {
            return;
          }
        }
      }
    }
  }

  test('random bytes from the first byte on raise nothing but PgProtocolError', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), (chunks) => {
        feed(new FrameDecoder({ maxMessageBytes: 4096 }), chunks);
      }),
      { numRuns: 2000 },
    );
  });

  test('random bytes after a valid startup raise nothing but PgProtocolError', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), (chunks) => {
        const decoder = new FrameDecoder({ maxMessageBytes: 4096 });
        decoder.push(STARTUP);
        decoder.next();
        feed(decoder, chunks);
      }),
      { numRuns: 2000 },
    );
  });

  test('valid typed messages with random bytes overwritten raise nothing but PgProtocolError', () => {
    const typed = STREAM_BYTES.subarray(STREAM_BYTES.indexOf(STARTUP) + STARTUP.length);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: typed.length - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.nat({ max: typed.length }),
        (edits, cut) => {
          const bytes = Buffer.from(typed);
          for (const [offset, value] of edits) {
            bytes[offset] = value;
          }
          const decoder = new FrameDecoder({ maxMessageBytes: 4096 });
          decoder.push(STARTUP);
          decoder.next();
          feed(decoder, [bytes.subarray(0, cut), bytes.subarray(cut)]);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('authentication message bodies', () => {
  test('SASLInitialResponse with and without data', () => {
    const withData = fe.saslInitialResponse('SCRAM-SHA-256', Buffer.from('n,,n=,r=abc')).subarray(5);
    expect(decodeSaslInitialResponse(withData)).toEqual({
      kind: 'saslInitialResponse',
      mechanism: 'SCRAM-SHA-256',
      data: Buffer.from('n,,n=,r=abc'),
    });
    const without = fe.saslInitialResponse('SCRAM-SHA-256', undefined).subarray(5);
    expect(decodeSaslInitialResponse(without)).toEqual({
      kind: 'saslInitialResponse',
      mechanism: 'SCRAM-SHA-256',
      data: undefined,
    });
  });

  test('SASLInitialResponse whose length exceeds the body is 08P01', () => {
    const body = Buffer.concat([Buffer.from('SCRAM-SHA-256\0'), Buffer.from([0, 0, 0, 50]), Buffer.from('abc')]);
    expect(protocolError(() => decodeSaslInitialResponse(body))).toMatchObject({ sqlState: '08P01' });
    expect(protocolError(() => decodeSaslInitialResponse(Buffer.from('SCRAM')))).toMatchObject({ sqlState: '08P01' });
  });

  test('SASLResponse and PasswordMessage', () => {
    expect(decodeSaslResponse(Buffer.from('c=biws'))).toEqual({ kind: 'saslResponse', data: Buffer.from('c=biws') });
    expect(decodePasswordMessage(Buffer.from('pw\0'))).toEqual({ kind: 'password', password: 'pw' });
    expect(protocolError(() => decodePasswordMessage(Buffer.from('pw\0x')))).toMatchObject({ sqlState: '08P01' });
  });
});
