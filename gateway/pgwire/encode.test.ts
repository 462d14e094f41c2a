import { Parser } from 'pg-protocol/dist/parser';
import { MessageWriter, encodeBackendMessage } from './encode';
import type { BackendMessage } from './messages';
import type { ColumnDescription } from './sql-session';
import { parseBackend, splitBackendFrames, type ParsedBackend } from './test-support/frontend';

const ID: ColumnDescription = { name: 'id', tableOid: 16384, columnNumber: 1, typeOid: 23, typeSize: 4, typeModifier: -1 };
const NAME: ColumnDescription = {
  name: 'naïve',
  tableOid: 0xffff_fff0,
  columnNumber: 2,
  typeOid: 25,
  typeSize: -1,
  typeModifier: -1,
};

/** Every backend message kind, with what an independent parser reads from its bytes. */
const CASES: readonly [BackendMessage, ParsedBackend][] = [
  [{ kind: 'authenticationOk' }, { type: 'R', code: 0, data: Buffer.alloc(0), mechanisms: [] }],
  [
    { kind: 'authenticationSasl', mechanisms: ['SCRAM-SHA-256'] },
    { type: 'R', code: 10, data: Buffer.alloc(0), mechanisms: ['SCRAM-SHA-256'] },
  ],
  [
    { kind: 'authenticationSaslContinue', data: Buffer.from('r=abc,s=xyz,i=4096') },
    { type: 'R', code: 11, data: Buffer.from('r=abc,s=xyz,i=4096'), mechanisms: [] },
  ],
  [
    { kind: 'authenticationSaslFinal', data: Buffer.from('v=sig') },
    { type: 'R', code: 12, data: Buffer.from('v=sig'), mechanisms: [] },
  ],
  [
    { kind: 'parameterStatus', name: 'server_version', value: '16.0' },
    { type: 'S', name: 'server_version', value: '16.0' },
  ],
  [
    { kind: 'backendKeyData', processId: 42, secretKey: -123456 },
    { type: 'K', processId: 42, secretKey: -123456 },
  ],
  [{ kind: 'readyForQuery', status: 'T' }, { type: 'Z', status: 'T' }],
  [
    { kind: 'rowDescription', columns: [ID, NAME], formats: [1] },
    {
      type: 'T',
      fields: [
        { name: 'id', tableOid: 16384, columnNumber: 1, typeOid: 23, typeSize: 4, typeModifier: -1, format: 1 },
        { name: 'naïve', tableOid: 0xffff_fff0, columnNumber: 2, typeOid: 25, typeSize: -1, typeModifier: -1, format: 0 },
      ],
    },
  ],
  [
    { kind: 'dataRow', values: [Buffer.from([0, 0, 0, 1]), null, Buffer.alloc(0)] },
    { type: 'D', values: [Buffer.from([0, 0, 0, 1]), null, Buffer.alloc(0)] },
  ],
  [{ kind: 'commandComplete', tag: 'INSERT 0 3' }, { type: 'C', tag: 'INSERT 0 3' }],
  [{ kind: 'emptyQueryResponse' }, { type: 'I' }],
  [
    {
      kind: 'errorResponse',
      fields: { severity: 'ERROR', code: '42601', message: 'syntax error', detail: 'd', hint: 'h', position: 7 },
    },
    { type: 'E', fields: { S: 'ERROR', V: 'ERROR', C: '42601', M: 'syntax error', D: 'd', H: 'h', P: '7' } },
  ],
  [
    { kind: 'noticeResponse', fields: { severity: 'WARNING', code: '01000', message: 'careful' } },
    { type: 'N', fields: { S: 'WARNING', V: 'WARNING', C: '01000', M: 'careful' } },
  ],
  [{ kind: 'parseComplete' }, { type: '1' }],
  [{ kind: 'bindComplete' }, { type: '2' }],
  [{ kind: 'closeComplete' }, { type: '3' }],
  [{ kind: 'noData' }, { type: 'n' }],
  [{ kind: 'portalSuspended' }, { type: 's' }],
  [
    { kind: 'parameterDescription', typeOids: [23, 25, 0xffff_ffff] },
    { type: 't', oids: [23, 25, 0xffff_ffff] },
  ],
  [
    { kind: 'copyInResponse', format: 0, columnFormats: [0, 0, 0] },
    { type: 'G', format: 0, columnFormats: [0, 0, 0] },
  ],
  [
    { kind: 'negotiateProtocolVersion', newestMinor: 0, unrecognizedOptions: ['_pq_.compression'] },
    { type: 'v', newestMinor: 0, options: ['_pq_.compression'] },
  ],
];

describe('backend encoders', () => {
  test.each(CASES.map(([message, parsed]) => [message.kind, message, parsed] as const))(
    '%s',
    (_kind, message, parsed) => {
      const { frames, rest } = splitBackendFrames(encodeBackendMessage(message));
      expect(rest.length).toBe(0);
      expect(frames).toHaveLength(1);
      expect(parseBackend(frames[0]!)).toEqual(parsed);
    },
  );

  test('exact bytes of ReadyForQuery, AuthenticationOk and ParseComplete', () => {
    expect(encodeBackendMessage({ kind: 'readyForQuery', status: 'I' })).toEqual(Buffer.from([0x5a, 0, 0, 0, 5, 0x49]));
    expect(encodeBackendMessage({ kind: 'authenticationOk' })).toEqual(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 0]));
    expect(encodeBackendMessage({ kind: 'parseComplete' })).toEqual(Buffer.from([0x31, 0, 0, 0, 4]));
  });

  test('exact bytes of an ErrorResponse', () => {
    const bytes = encodeBackendMessage({
      kind: 'errorResponse',
      fields: { severity: 'FATAL', code: '28P01', message: 'no' },
    });
    const body = 'SFATAL\0VFATAL\0C28P01\0Mno\0\0';
    expect(bytes).toEqual(Buffer.concat([Buffer.from([0x45, 0, 0, 0, 4 + body.length]), Buffer.from(body, 'latin1')]));
  });

  test('a NUL inside a string cannot end it early', () => {
    const bytes = encodeBackendMessage({ kind: 'commandComplete', tag: 'A\0B' });
    expect(parseBackend(splitBackendFrames(bytes).frames[0]!)).toEqual({ type: 'C', tag: 'A\uFFFDB' });
  });

  test('MessageWriter batches messages, grows for large rows and starts afresh after take', () => {
    const writer = new MessageWriter(16);
    const big = Buffer.alloc(30_000, 7);
    writer.write({ kind: 'parseComplete' }).dataRow([big, null]).readyForQuery('E');
    const first = writer.take();
    expect(writer.byteLength).toBe(0);
    writer.write({ kind: 'noData' });
    const second = writer.take();
    // Writing after take must not touch the bytes already taken (a socket may still hold them).
    const { frames } = splitBackendFrames(first);
    expect(frames.map(parseBackend)).toEqual([
      { type: '1' },
      { type: 'D', values: [big, null] },
      { type: 'Z', status: 'E' },
    ]);
    expect(second).toEqual(Buffer.from([0x6e, 0, 0, 0, 4]));
  });

  test("node-postgres's parser (pg-protocol) reads the same messages", () => {
    const bytes = Buffer.concat(CASES.map(([message]) => encodeBackendMessage(message)));
    const names: string[] = [];
    const parser = new Parser();
    parser.parse(bytes, (message) => names.push(message.name));
    expect(names).toEqual([
      'authenticationOk',
      'authenticationSASL',
      'authenticationSASLContinue',
      'authenticationSASLFinal',
      'parameterStatus',
      'backendKeyData',
      'readyForQuery',
      'rowDescription',
      'dataRow',
      'commandComplete',
      'emptyQuery',
      'error',
      'notice',
      'parseComplete',
      'bindComplete',
      'closeComplete',
      'noData',
      'portalSuspended',
      'parameterDescription',
      'copyInResponse',
      // pg-protocol does not know NegotiateProtocolVersion.
      'error',
    ]);
  });
});
