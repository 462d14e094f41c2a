/**
 * SCRAM-SHA-256 (RFC 5802, RFC 7677), server side, without channel binding: the server
 * advertises only "SCRAM-SHA-256", accepts the gs2 headers "n,," and "y,," and refuses
 * "p=". `ScramServer` is a pure state machine: the verifier, the user name (for the
 * error message) and the nonce source are given, so a test can replay RFC 7677's example.
 *
 * A user that does not exist (or has no password) runs the same exchange against a
 * mock verifier whose salt depends only on the user name and a per-server secret, and
 * fails at the end with the same error as a wrong password: a client cannot learn
 * which user names exist (PostgreSQL does the same).
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { InvalidArgumentError, SqlError, SqlStates, assert, unreachable } from '../../common/errors';
import type { ScramVerifier } from './sql-session';

export const SCRAM_SHA_256 = 'SCRAM-SHA-256';
export const DEFAULT_SCRAM_ITERATIONS = 4096;
export const DEFAULT_SCRAM_SALT_BYTES = 16;
const KEY_BYTES = 32;

// ---------------------------------------------------------------------------------------
// Verifiers

function hmac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text, 'utf8').digest();
}

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

/**
 * The verifier stored for a password: SaltedPassword = PBKDF2-HMAC-SHA-256(password,
 * salt, iterations), StoredKey = H(HMAC(SaltedPassword, "Client Key")), ServerKey =
 * HMAC(SaltedPassword, "Server Key"). The password goes through SASLprep first, as
 * PostgreSQL and libpq do.
 */
export function createScramVerifier(
  password: string,
  salt: Buffer = randomBytes(DEFAULT_SCRAM_SALT_BYTES),
  iterations: number = DEFAULT_SCRAM_ITERATIONS,
): ScramVerifier {
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new InvalidArgumentError(`SCRAM iteration count must be a positive integer, got ${iterations}`);
  }
  if (salt.length === 0) {
    throw new InvalidArgumentError('SCRAM salt must not be empty');
  }
  const salted = pbkdf2Sync(Buffer.from(saslPrep(password), 'utf8'), salt, iterations, KEY_BYTES, 'sha256');
  return {
    iterations,
    salt: Buffer.from(salt),
    storedKey: sha256(hmac(salted, 'Client Key')),
    serverKey: hmac(salted, 'Server Key'),
  };
}

/** PostgreSQL's pg_authid.rolpassword text: `SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>`. */
export function formatScramVerifier(verifier: ScramVerifier): string {
  return (
    `${SCRAM_SHA_256}$${verifier.iterations}:${verifier.salt.toString('base64')}` +
    `$${verifier.storedKey.toString('base64')}:${verifier.serverKey.toString('base64')}`
  );
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict base64 (Buffer.from accepts anything), or undefined. */
function decodeBase64(text: string): Buffer | undefined {
  return BASE64.test(text) ? Buffer.from(text, 'base64') : undefined;
}

/** The verifier in PostgreSQL's text form, or undefined when the text is not one. */
export function parseScramVerifier(text: string): ScramVerifier | undefined {
  const match = /^SCRAM-SHA-256\$(\d{1,10}):([^$:]+)\$([^$:]+):([^$:]+)$/.exec(text);
  if (match === null) {
    return undefined;
  }
  const iterations = Number(match[1]);
  const salt = decodeBase64(match[2]!);
  const storedKey = decodeBase64(match[3]!);
  const serverKey = decodeBase64(match[4]!);
  if (
    iterations < 1 ||
    iterations > 0x7fff_ffff ||
    salt === undefined ||
    salt.length === 0 ||
    storedKey?.length !== KEY_BYTES ||
    serverKey?.length !== KEY_BYTES
  ) {
    return undefined;
  }
  return { iterations, salt, storedKey, serverKey };
}

/**
 * The stand-in verifier for a user that does not exist: the salt is stable per user
 * name (a real user's salt does not change between attempts either), the keys match
 * no password.
 */
export function mockScramVerifier(user: string, mockSecret: Buffer): ScramVerifier {
  const derive = (label: string): Buffer =>
    createHmac('sha256', mockSecret).update(label).update('\0').update(user, 'utf8').digest();
  return {
    iterations: DEFAULT_SCRAM_ITERATIONS,
    salt: derive('salt').subarray(0, DEFAULT_SCRAM_SALT_BYTES),
    storedKey: derive('stored-key'),
    serverKey: derive('server-key'),
  };
}

// ---------------------------------------------------------------------------------------
// SASLprep (RFC 4013), as far as it matters for passwords

/** Non-ASCII space characters (RFC 3454 C.1.2), mapped to SPACE. */
function isNonAsciiSpace(codePoint: number): boolean {
  return (
    codePoint === 0x00a0 ||
    codePoint === 0x1680 ||
    (codePoint >= 0x2000 && codePoint <= 0x200a) ||
    codePoint === 0x202f ||
    codePoint === 0x205f ||
    codePoint === 0x3000
  );
}

/** Commonly mapped to nothing (RFC 3454 B.1). */
function isMappedToNothing(codePoint: number): boolean {
  return (
    codePoint === 0x00ad ||
    codePoint === 0x034f ||
    codePoint === 0x1806 ||
    (codePoint >= 0x180b && codePoint <= 0x180d) ||
    (codePoint >= 0x200b && codePoint <= 0x200d) ||
    codePoint === 0x2060 ||
    (codePoint >= 0xfe00 && codePoint <= 0xfe0f) ||
    codePoint === 0xfeff
  );
}

/** Prohibited output (RFC 3454 C.2 to C.9; C.1.2 is mapped away before). */
const PROHIBITED_RANGES: readonly (readonly [number, number])[] = [
  [0x0000, 0x001f], // C.2.1
  [0x007f, 0x009f], // C.2.1, C.2.2
  [0x0340, 0x0341], // C.8
  [0x06dd, 0x06dd],
  [0x070f, 0x070f],
  [0x180e, 0x180e],
  [0x200e, 0x200f], // C.8
  [0x2028, 0x202e], // C.2.2, C.8
  [0x2060, 0x2063],
  [0x206a, 0x206f],
  [0x2ff0, 0x2ffb], // C.7
  [0xd800, 0xdfff], // C.5: a lone surrogate
  [0xe000, 0xf8ff], // C.3
  [0xfdd0, 0xfdef], // C.4
  [0xfff9, 0xffff], // C.2.2, C.4, C.6
  [0x1d173, 0x1d17a],
  [0xe0001, 0xe0001], // C.9
  [0xe0020, 0xe007f],
  [0xf0000, 0x10ffff], // C.3
];

function isProhibited(codePoint: number): boolean {
  // C.4: the last two code points of every plane.
  if ((codePoint & 0xfffe) === 0xfffe) {
    return true;
  }
  return PROHIBITED_RANGES.some(([low, high]) => codePoint >= low && codePoint <= high);
}

/**
 * SASLprep of a password, leaving it as it is when the result would be prohibited or
 * empty (PostgreSQL does the same, so any password can still be used). Not checked:
 * unassigned code points and the bidirectional rules, which only change the outcome
 * for passwords that mix right-to-left scripts in unusual ways.
 */
export function saslPrep(password: string): string {
  // Pure ASCII needs no preparation (one UTF-8 byte per UTF-16 unit).
  if (Buffer.byteLength(password, 'utf8') === password.length) {
    return password;
  }
  let spaced = '';
  for (const char of password) {
    const codePoint = char.codePointAt(0)!;
    if (!isMappedToNothing(codePoint)) {
      spaced += isNonAsciiSpace(codePoint) ? ' ' : char;
    }
  }
  const mapped = spaced.normalize('NFKC');
  if (mapped.length === 0) {
    return password;
  }
  for (const char of mapped) {
    if (isProhibited(char.codePointAt(0)!)) {
      return password;
    }
  }
  return mapped;
}

// ---------------------------------------------------------------------------------------
// The exchange

export interface ScramServerOptions {
  /** The user name from the startup packet (SCRAM's own n= is ignored, as in PostgreSQL). */
  readonly user: string;
  /** undefined: the user does not exist or has no password; the exchange will fail. */
  readonly verifier: ScramVerifier | undefined;
  /** Keys the mock salt of unknown users (per server, random, never sent). */
  readonly mockSecret: Buffer;
  /** The server's part of the nonce: printable ASCII without ','. Production: 18 random bytes in base64. */
  readonly nonce: () => string;
}

export type ScramStep =
  /** Send AuthenticationSASLContinue with this server-first-message. */
  | { readonly kind: 'continue'; readonly serverMessage: Buffer }
  /** Send AuthenticationSASLFinal with this server-final-message, then AuthenticationOk. */
  | { readonly kind: 'success'; readonly serverMessage: Buffer }
  /** Send the error (FATAL) and close. */
  | { readonly kind: 'failure'; readonly error: SqlError };

type ScramState =
  | { readonly kind: 'awaiting-client-first' }
  | {
      readonly kind: 'awaiting-client-final';
      readonly gs2Header: string;
      readonly clientFirstBare: string;
      readonly serverFirst: string;
      readonly nonce: string;
    }
  | { readonly kind: 'finished' };

/** Thrown inside the parsers, turned into a failure step (never escapes `receive`). */
class ScramFailure extends Error {
  constructor(readonly error: SqlError) {
    super(error.message);
  }
}

function malformed(detail: string): ScramFailure {
  return new ScramFailure(new SqlError(SqlStates.protocolViolation, 'malformed SCRAM message', { detail }));
}

/** printable = %x21-2B / %x2D-7E (RFC 5802 §7). */
function isPrintableNonce(value: string): boolean {
  return value.length > 0 && /^[\x21-\x2B\x2D-\x7E]+$/.test(value);
}

export class ScramServer {
  private state: ScramState = { kind: 'awaiting-client-first' };
  private readonly verifier: ScramVerifier;
  /** The exchange cannot succeed (unknown user), whatever the proof. */
  private readonly doomed: boolean;

  constructor(private readonly options: ScramServerOptions) {
    this.doomed = options.verifier === undefined;
    this.verifier = options.verifier ?? mockScramVerifier(options.user, options.mockSecret);
  }

  get finished(): boolean {
    return this.state.kind === 'finished';
  }

  /** The one transition function: the client's next SASL message in, the server's answer out. */
  receive(clientMessage: Buffer): ScramStep {
    const state = this.state;
    this.state = { kind: 'finished' };
    try {
      switch (state.kind) {
        case 'awaiting-client-first':
          return this.clientFirst(clientMessage);
        case 'awaiting-client-final':
          return this.clientFinal(state, clientMessage);
        case 'finished':
          throw malformed('The SCRAM exchange is already over.');
        default:
          return unreachable(state, 'SCRAM state');
      }
    } catch (err) {
      if (err instanceof ScramFailure) {
        this.state = { kind: 'finished' };
        return { kind: 'failure', error: err.error };
      }
      throw err;
    }
  }

  private clientFirst(message: Buffer): ScramStep {
    const text = message.toString('utf8');
    // gs2-header = gs2-cbind-flag "," [ authzid ] ","
    const flag = text[0];
    if (flag === 'p') {
      throw new ScramFailure(
        new SqlError(SqlStates.protocolViolation, 'malformed SCRAM message', {
          detail:
            'The client selected SCRAM-SHA-256 without channel binding, but the SCRAM message includes channel binding data.',
        }),
      );
    }
    if ((flag !== 'n' && flag !== 'y') || text[1] !== ',') {
      throw malformed('Unexpected channel-binding flag.');
    }
    if (text.startsWith('a=', 2)) {
      throw new ScramFailure(
        new SqlError(SqlStates.featureNotSupported, 'client uses authorization identity, but it is not supported'),
      );
    }
    if (text[2] !== ',') {
      throw malformed('Unexpected attribute in the gs2 header.');
    }
    const gs2Header = text.slice(0, 3);
    const clientFirstBare = text.slice(3);
    if (clientFirstBare.startsWith('m=')) {
      throw new ScramFailure(new SqlError(SqlStates.featureNotSupported, 'client requires an unsupported SCRAM extension'));
    }
    const attributes = clientFirstBare.split(',');
    if (!attributes[0]!.startsWith('n=')) {
      throw malformed('Expected attribute "n".');
    }
    const nonceAttribute = attributes[1];
    if (nonceAttribute === undefined || !nonceAttribute.startsWith('r=')) {
      throw malformed('Expected attribute "r".');
    }
    const clientNonce = nonceAttribute.slice(2);
    if (!isPrintableNonce(clientNonce)) {
      throw malformed('The client nonce contains invalid characters.');
    }
    for (const extension of attributes.slice(2)) {
      if (!/^[A-Za-z]=/.test(extension)) {
        throw malformed('Garbage found at the end of client-first-message.');
      }
    }
    const serverNonce = this.options.nonce();
    assert(isPrintableNonce(serverNonce), 'the SCRAM server nonce must be printable ASCII without ","');
    const nonce = clientNonce + serverNonce;
    const serverFirst = `r=${nonce},s=${this.verifier.salt.toString('base64')},i=${this.verifier.iterations}`;
    this.state = { kind: 'awaiting-client-final', gs2Header, clientFirstBare, serverFirst, nonce };
    return { kind: 'continue', serverMessage: Buffer.from(serverFirst, 'utf8') };
  }

  private clientFinal(state: Extract<ScramState, { kind: 'awaiting-client-final' }>, message: Buffer): ScramStep {
    const text = message.toString('utf8');
    const attributes = text.split(',');
    const binding = attributes[0];
    const nonce = attributes[1];
    const proofAttribute = attributes[attributes.length - 1];
    if (binding === undefined || !binding.startsWith('c=')) {
      throw malformed('Expected attribute "c".');
    }
    const bindingData = decodeBase64(binding.slice(2));
    if (bindingData === undefined) {
      throw malformed('Invalid base64 in attribute "c".');
    }
    if (!bindingData.equals(Buffer.from(state.gs2Header, 'utf8'))) {
      throw new ScramFailure(new SqlError(SqlStates.protocolViolation, 'SCRAM channel binding check failed'));
    }
    if (nonce === undefined || !nonce.startsWith('r=')) {
      throw malformed('Expected attribute "r".');
    }
    if (nonce.slice(2) !== state.nonce) {
      throw malformed('Nonce does not match.');
    }
    if (attributes.length < 3 || proofAttribute === undefined || !proofAttribute.startsWith('p=')) {
      throw malformed('Expected attribute "p".');
    }
    const proof = decodeBase64(proofAttribute.slice(2));
    if (proof?.length !== KEY_BYTES) {
      throw malformed('Malformed proof in client-final-message.');
    }
    const withoutProof = text.slice(0, text.length - proofAttribute.length - 1);
    const authMessage = `${state.clientFirstBare},${state.serverFirst},${withoutProof}`;

    const clientSignature = hmac(this.verifier.storedKey, authMessage);
    const clientKey = Buffer.alloc(KEY_BYTES);
    for (let i = 0; i < KEY_BYTES; i++) {
      clientKey[i] = proof[i]! ^ clientSignature[i]!;
    }
    const proofMatches = timingSafeEqual(sha256(clientKey), this.verifier.storedKey);
    if (!proofMatches || this.doomed) {
      throw new ScramFailure(
        new SqlError(SqlStates.invalidPassword, `password authentication failed for user "${this.options.user}"`),
      );
    }
    const serverSignature = hmac(this.verifier.serverKey, authMessage);
    return { kind: 'success', serverMessage: Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8') };
  }
}

/** The production server nonce: 18 random bytes, base64 (as PostgreSQL). */
export function randomScramNonce(): string {
  return randomBytes(18).toString('base64');
}
