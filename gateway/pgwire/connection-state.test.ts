import { AssertionFailedError, SqlError } from '../../common/errors';
import type { BackendKey, ProcessIdRange } from './backend-keys';
import { BackendKeyRegistry, workerOfProcessId, workerProcessIds } from './backend-keys';
import {
  INITIAL_PHASE,
  dispositionOf,
  transition,
  type ConnectionEvent,
  type ConnectionPhase,
} from './connection-state';
import { expandFormatCodes } from './extended-query';
import type { TypedFrontendMessage } from './messages';

function run(events: readonly ConnectionEvent[], from: ConnectionPhase = INITIAL_PHASE): ConnectionPhase {
  return events.reduce(transition, from);
}

describe('connection phases', () => {
  test('plain startup, trust or SASL, then queries', () => {
    expect(run(['startup-accepted', 'authenticated']).kind).toBe('ready');
  });

  test('SSLRequest answered S, then the StartupMessage inside TLS', () => {
    expect(run(['ssl-accepted']).kind).toBe('ssl-negotiated');
    expect(run(['ssl-accepted', 'startup-accepted', 'authenticated']).kind).toBe('ready');
  });

  test('SSLRequest and GSSENCRequest answered N, each at most once', () => {
    expect(run(['gss-refused', 'ssl-refused'])).toEqual({ kind: 'startup', sslRefused: true, gssRefused: true });
    expect(() => run(['ssl-refused', 'ssl-refused'])).toThrow(AssertionFailedError);
    expect(() => run(['gss-refused', 'gss-refused'])).toThrow(AssertionFailedError);
    expect(() => run(['ssl-refused', 'ssl-accepted'])).toThrow(AssertionFailedError);
    // TLS first, then GSSENC inside it: not allowed.
    expect(() => run(['ssl-accepted', 'gss-refused'])).toThrow(AssertionFailedError);
  });

  test('an extended-protocol error skips to Sync, which returns to ready', () => {
    const ready = run(['startup-accepted', 'authenticated']);
    expect(run(['extended-error'], ready).kind).toBe('extended-error');
    expect(run(['extended-error', 'sync'], ready).kind).toBe('ready');
    expect(run(['sync'], ready).kind).toBe('ready');
  });

  test('COPY starts from ready and ends back there; nothing else happens during it', () => {
    const ready = run(['startup-accepted', 'authenticated']);
    expect(run(['copy-started'], ready).kind).toBe('copy-in');
    expect(run(['copy-started', 'copy-ended'], ready).kind).toBe('ready');
    for (const event of ['sync', 'extended-error', 'copy-started', 'authenticated'] as const) {
      expect(() => run(['copy-started', event], ready)).toThrow(AssertionFailedError);
    }
  });

  test('queries cannot run before authentication, and nothing follows closed', () => {
    expect(() => run(['copy-started'])).toThrow(/illegal transition copy-started in phase startup/);
    expect(() => run(['startup-accepted', 'sync'])).toThrow(AssertionFailedError);
    expect(run(['startup-accepted', 'closed']).kind).toBe('closed');
    expect(() => run(['closed', 'startup-accepted'])).toThrow(AssertionFailedError);
    // Closing twice is harmless.
    expect(run(['closed', 'closed']).kind).toBe('closed');
  });
});

describe('what each phase does with a message', () => {
  const kinds: readonly TypedFrontendMessage['kind'][] = [
    'query',
    'parse',
    'bind',
    'describe',
    'execute',
    'close',
    'sync',
    'flush',
    'terminate',
    'copyData',
    'copyDone',
    'copyFail',
    'authenticationResponse',
    'functionCall',
  ];

  function table(phase: ConnectionPhase['kind']): Record<string, string> {
    return Object.fromEntries(kinds.map((kind) => [kind, dispositionOf(phase, kind)]));
  }

  test('ready handles everything but stray COPY data (ignored) and auth messages', () => {
    expect(table('ready')).toEqual({
      query: 'handle',
      parse: 'handle',
      bind: 'handle',
      describe: 'handle',
      execute: 'handle',
      close: 'handle',
      sync: 'handle',
      flush: 'handle',
      terminate: 'handle',
      copyData: 'ignore',
      copyDone: 'ignore',
      copyFail: 'ignore',
      authenticationResponse: 'violation',
      functionCall: 'handle',
    });
  });

  test('after an extended-protocol error only Sync and Terminate are handled', () => {
    const t = table('extended-error');
    expect(Object.entries(t).filter(([, d]) => d === 'handle').map(([k]) => k)).toEqual(['sync', 'terminate']);
    expect(new Set(Object.values(t))).toEqual(new Set(['handle', 'skip']));
  });

  test('during COPY: data, done, fail and terminate; Flush and Sync ignored; the rest a violation', () => {
    expect(table('copy-in')).toEqual({
      query: 'violation',
      parse: 'violation',
      bind: 'violation',
      describe: 'violation',
      execute: 'violation',
      close: 'violation',
      sync: 'ignore',
      flush: 'ignore',
      terminate: 'handle',
      copyData: 'handle',
      copyDone: 'handle',
      copyFail: 'handle',
      authenticationResponse: 'violation',
      functionCall: 'violation',
    });
  });

  test('while authenticating only the password/SASL message and Terminate', () => {
    const t = table('authenticating');
    expect(Object.entries(t).filter(([, d]) => d === 'handle').map(([k]) => k)).toEqual([
      'terminate',
      'authenticationResponse',
    ]);
  });
});

describe('format codes (Bind)', () => {
  test('none = all text, one = all the same, otherwise one each', () => {
    expect(expandFormatCodes([], 3, 'result')).toEqual([0, 0, 0]);
    expect(expandFormatCodes([1], 3, 'result')).toEqual([1, 1, 1]);
    expect(expandFormatCodes([1], 0, 'result')).toEqual([]);
    expect(expandFormatCodes([0, 1], 2, 'parameter')).toEqual([0, 1]);
  });

  test('a count mismatch is 08P01, an unknown code 22023', () => {
    const mismatch = (() => {
      try {
        expandFormatCodes([0, 1], 3, 'parameter');
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(mismatch).toBeInstanceOf(SqlError);
    expect(mismatch).toMatchObject({ sqlState: '08P01', message: 'bind message has 2 parameter formats but 3 parameters' });
    expect(() => expandFormatCodes([0, 1], 3, 'result')).toThrow('bind message has 2 result formats but query has 3 columns');
    expect(() => expandFormatCodes([2], 1, 'result')).toThrow(expect.objectContaining({ sqlState: '22023' }));
    expect(() => expandFormatCodes([-1], 1, 'parameter')).toThrow('unsupported format code: -1');
  });
});

describe('backend keys', () => {
  test('unique process IDs among live keys; a cancel needs the right secret', () => {
    let counter = 0;
    const registry = new BackendKeyRegistry<string>((n) => Buffer.alloc(n, ++counter));
    const a = registry.allocate();
    registry.attach(a, 'A');
    const b = registry.allocate();
    registry.attach(b, 'B');
    expect(a.processId).not.toBe(b.processId);
    expect(registry.find(a.processId, a.secretKey)).toBe('A');
    expect(registry.find(a.processId, b.secretKey)).toBeUndefined();
    expect(registry.find(999, a.secretKey)).toBeUndefined();
    registry.release(a);
    expect(registry.find(a.processId, a.secretKey)).toBeUndefined();
    expect(registry.size).toBe(1);
  });

  test("a worker's keys stay in its share of process IDs, and the ID names the worker", () => {
    const workers = 3;
    const shares = [0, 1, 2].map((i) => workerProcessIds(i, workers));
    for (let i = 1; i < workers; i++) expect(shares[i]?.first).toBe((shares[i - 1]?.last ?? 0) + 1);
    const share = shares[1] as ProcessIdRange;
    // A share of three IDs: the fourth live key would repeat one.
    const small = new BackendKeyRegistry<number>((n) => Buffer.alloc(n, 7), { first: share.first, last: share.first + 2 });
    const keys = [small.allocate(), small.allocate(), small.allocate()];
    expect(keys.map((k) => k.processId)).toEqual([share.first, share.first + 1, share.first + 2]);
    expect(() => small.allocate()).toThrow('no free backend process IDs');
    // Released IDs come round again, still inside the share.
    small.release(keys[1] as BackendKey);
    expect(small.allocate().processId).toBe(share.first + 1);
    const registry = new BackendKeyRegistry<number>(undefined, share);
    for (let i = 0; i < 5; i++) {
      const key = registry.allocate();
      expect(registry.owns(key.processId)).toBe(true);
      expect(workerOfProcessId(key.processId, workers)).toBe(1);
    }
    expect(registry.owns(shares[0]?.last ?? 0)).toBe(false);
    expect(workerOfProcessId(shares[0]?.first ?? 0, workers)).toBe(0);
    expect(workerOfProcessId(shares[2]?.last ?? 0, workers)).toBe(2);
    expect(workerOfProcessId(0, workers)).toBeUndefined();
    expect(workerOfProcessId(0x7fff_ffff, workers)).toBeUndefined();
    expect(() => workerProcessIds(3, workers)).toThrow('no worker 3 of 3');
  });
});
