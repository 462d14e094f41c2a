import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import * as fc from 'fast-check';
import {
  ScramServer,
  createScramVerifier,
  formatScramVerifier,
  mockScramVerifier,
  parseScramVerifier,
  saslPrep,
  type ScramStep,
} from './scram';
import type { ScramVerifier } from './sql-session';

const MOCK_SECRET = Buffer.from('mock-secret-for-tests');

function server(verifier: ScramVerifier | undefined, nonce = 'SERVERNONCE', user = 'user'): ScramServer {
  return new ScramServer({ user, verifier, mockSecret: MOCK_SECRET, nonce: () => nonce });
}

function text(step: ScramStep): string {
  if (step.kind === 'failure') {
    throw new Error(`unexpected failure: ${step.error.message}`);
  }
  return step.serverMessage.toString('utf8');
}

/** The client's side of RFC 5802, written out here so the test does not use the code under test. */
function clientFinal(password: string, clientFirstBare: string, serverFirst: string, gs2Header: string): string {
  const attributes = Object.fromEntries(serverFirst.split(',').map((a) => [a[0], a.slice(2)]));
  const salted = pbkdf2Sync(password, Buffer.from(attributes['s']!, 'base64'), Number(attributes['i']), 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const withoutProof = `c=${Buffer.from(gs2Header).toString('base64')},r=${attributes['r']}`;
  const signature = createHmac('sha256', storedKey)
    .update(`${clientFirstBare},${serverFirst},${withoutProof}`)
    .digest();
  const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!));
  return `${withoutProof},p=${proof.toString('base64')}`;
}

function exchange(
  scram: ScramServer,
  password: string,
  gs2Header = 'n,,',
): { first: ScramStep; final: ScramStep | undefined } {
  const bare = 'n=,r=clientnonce';
  const first = scram.receive(Buffer.from(gs2Header + bare));
  if (first.kind !== 'continue') {
    return { first, final: undefined };
  }
  const final = scram.receive(Buffer.from(clientFinal(password, bare, text(first), gs2Header)));
  return { first, final };
}

function failure(step: ScramStep | undefined): { code: string; message: string } {
  if (step?.kind !== 'failure') {
    throw new Error(`expected a failure, got ${step?.kind}`);
  }
  return { code: step.error.sqlState, message: step.error.message };
}

describe('SCRAM-SHA-256 server', () => {
  test("RFC 7677 §3's example exchange, byte for byte", () => {
    const verifier = createScramVerifier('pencil', Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'), 4096);
    const scram = server(verifier, '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0');
    const first = scram.receive(Buffer.from('n,,n=user,r=rOprNGfwEbeRWgbNEkqO'));
    expect(first.kind).toBe('continue');
    expect(text(first)).toBe('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096');
    const final = scram.receive(
      Buffer.from(
        'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
      ),
    );
    expect(final.kind).toBe('success');
    expect(text(final)).toBe('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
    expect(scram.finished).toBe(true);
  });

  test('the right password succeeds with gs2 header "n,," and "y,,"', () => {
    const verifier = createScramVerifier('secret');
    expect(exchange(server(verifier), 'secret', 'n,,').final?.kind).toBe('success');
    expect(exchange(server(verifier), 'secret', 'y,,').final?.kind).toBe('success');
  });

  test('a wrong password fails with 28P01', () => {
    const { final } = exchange(server(createScramVerifier('secret'), 'N', 'bob'), 'guess');
    expect(failure(final)).toEqual({ code: '28P01', message: 'password authentication failed for user "bob"' });
  });

  test('an unknown user goes through the same exchange and fails the same way', () => {
    const { first, final } = exchange(server(undefined, 'N', 'ghost'), 'anything');
    expect(first.kind).toBe('continue');
    expect(failure(final)).toEqual({ code: '28P01', message: 'password authentication failed for user "ghost"' });
  });

  test("an unknown user's salt is stable, differs between users and looks like a real one", () => {
    const salt = (user: string, secret = MOCK_SECRET): string =>
      text(new ScramServer({ user, verifier: undefined, mockSecret: secret, nonce: () => 'N' }).receive(Buffer.from('n,,n=,r=c')))
        .split(',')[1]!;
    expect(salt('ghost')).toBe(salt('ghost'));
    expect(salt('ghost')).not.toBe(salt('phantom'));
    expect(salt('ghost')).not.toBe(salt('ghost', Buffer.from('another server')));
    expect(Buffer.from(salt('ghost').slice(2), 'base64')).toHaveLength(16);
    expect(mockScramVerifier('ghost', MOCK_SECRET).iterations).toBe(4096);
  });

  test('channel binding ("p=") is refused', () => {
    const step = server(createScramVerifier('x')).receive(Buffer.from('p=tls-server-end-point,,n=,r=abc'));
    expect(failure(step).code).toBe('08P01');
    expect(step.kind === 'failure' && step.error.detail).toMatch(/includes channel binding data/);
  });

  test('authorization identities and mandatory extensions are not supported (0A000)', () => {
    expect(failure(server(createScramVerifier('x')).receive(Buffer.from('n,a=admin,n=,r=abc')))).toEqual({
      code: '0A000',
      message: 'client uses authorization identity, but it is not supported',
    });
    expect(failure(server(createScramVerifier('x')).receive(Buffer.from('n,,m=ext,n=,r=abc'))).code).toBe('0A000');
  });

  test('channel-binding data that does not repeat the gs2 header fails', () => {
    const scram = server(createScramVerifier('secret'));
    const first = scram.receive(Buffer.from('n,,n=,r=abc'));
    // "eSws" is "y,,": the client claims a different header in its final message.
    const final = clientFinal('secret', 'n=,r=abc', text(first), 'y,,');
    expect(failure(scram.receive(Buffer.from(final)))).toEqual({
      code: '08P01',
      message: 'SCRAM channel binding check failed',
    });
  });

  test('a client-final nonce that does not match fails', () => {
    const scram = server(createScramVerifier('secret'));
    scram.receive(Buffer.from('n,,n=,r=abc'));
    const step = scram.receive(Buffer.from(`c=biws,r=abcOTHER,p=${Buffer.alloc(32).toString('base64')}`));
    expect(failure(step).code).toBe('08P01');
    expect(step.kind === 'failure' && step.error.detail).toBe('Nonce does not match.');
  });

  test.each([
    ['', 'first'],
    ['x', 'first'],
    ['n', 'first'],
    ['n,,', 'first'],
    ['n,,r=abc', 'first'],
    ['n,,n=,r=', 'first'],
    ['n,,n=,r=a,b', 'first'],
    ['n,x,n=,r=a', 'first'],
    ['c=biws', 'final'],
    ['c=biws,r=abcSERVERNONCE', 'final'],
    ['c=bi!s,r=abcSERVERNONCE,p=AAAA', 'final'],
    ['c=biws,r=abcSERVERNONCE,p=AAAA', 'final'],
    ['r=abcSERVERNONCE,c=biws,p=AAAA', 'final'],
  ])('malformed message %j (%s) fails with 08P01', (message, which) => {
    const scram = server(createScramVerifier('secret'));
    if (which === 'final') {
      expect(scram.receive(Buffer.from('n,,n=,r=abc')).kind).toBe('continue');
    }
    expect(failure(scram.receive(Buffer.from(message))).code).toBe('08P01');
    expect(scram.finished).toBe(true);
  });

  test('no message is accepted after the exchange is over', () => {
    const scram = server(createScramVerifier('secret'));
    expect(exchange(scram, 'secret').final?.kind).toBe('success');
    expect(failure(scram.receive(Buffer.from('n,,n=,r=abc'))).code).toBe('08P01');
  });

  test('arbitrary client messages end in a failure step, never an exception', () => {
    const verifier = createScramVerifier('secret', Buffer.from('salt'), 1);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ maxLength: 120 }), (a, b) => {
        const scram = server(verifier);
        const first = scram.receive(Buffer.from(a));
        const final = scram.receive(Buffer.from(b));
        expect(final.kind).toBe('failure');
        expect(['continue', 'failure']).toContain(first.kind);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('SCRAM verifiers', () => {
  test("PostgreSQL's text form round-trips", () => {
    const verifier = createScramVerifier('secret', Buffer.from('0123456789abcdef'), 4096);
    const formatted = formatScramVerifier(verifier);
    expect(formatted).toMatch(/^SCRAM-SHA-256\$4096:MDEyMzQ1Njc4OWFiY2RlZg==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/);
    expect(parseScramVerifier(formatted)).toEqual(verifier);
  });

  test('the stored and server keys follow RFC 5802', () => {
    const salt = Buffer.from('salt');
    const salted = pbkdf2Sync('pw', salt, 10, 32, 'sha256');
    const verifier = createScramVerifier('pw', salt, 10);
    expect(verifier.serverKey).toEqual(createHmac('sha256', salted).update('Server Key').digest());
    expect(verifier.storedKey).toEqual(
      createHash('sha256').update(createHmac('sha256', salted).update('Client Key').digest()).digest(),
    );
  });

  test.each([
    'md5abcdef',
    'SCRAM-SHA-256$4096:c2FsdA==$short:short',
    'SCRAM-SHA-256$0:c2FsdA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
    'SCRAM-SHA-256$4096:$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
    'SCRAM-SHA-256$4096:c2F*dA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
  ])('%s is not a verifier', (textForm) => {
    expect(parseScramVerifier(textForm)).toBeUndefined();
  });

  test('bad iteration counts and empty salts are refused', () => {
    expect(() => createScramVerifier('x', Buffer.from('s'), 0)).toThrow(/iteration count/);
    expect(() => createScramVerifier('x', Buffer.alloc(0))).toThrow(/salt/);
  });
});

describe('SASLprep (RFC 4013 §3 examples)', () => {
  test.each([
    ['I\u00ADX', 'IX'],
    ['user', 'user'],
    ['USER', 'USER'],
    ['\u00AA', 'a'],
    ['\u2168', 'IX'],
    ['a\u00A0b', 'a b'],
  ])('%j prepares to %j', (input, output) => {
    expect(saslPrep(input)).toBe(output);
  });

  test('a prohibited result leaves the password as it is (as PostgreSQL does)', () => {
    expect(saslPrep('\u00E9\u0007')).toBe('\u00E9\u0007');
    expect(saslPrep('\u00E9\uE000')).toBe('\u00E9\uE000');
    expect(saslPrep('\u00AD')).toBe('\u00AD');
  });

  test('verifiers of equivalent passwords are equal', () => {
    const salt = Buffer.from('s');
    expect(createScramVerifier('I\u00ADX', salt, 1)).toEqual(createScramVerifier('IX', salt, 1));
  });
});
