/**
 * What non-pure built-ins read from the session and the statement. Built-ins never read
 * the wall clock or Math.random themselves (STYLE.md §3): the executor passes the
 * statement's timestamps and a (seeded, in tests) random source.
 *
 * The required fields are the ones gateway/sql/plan's EvalContext carries, so its
 * context can be passed as is; the optional ones have defaults (see the getters below).
 */
export interface EvalContext {
  /** statement_timestamp(): when the statement started, µs since 1970-01-01 UTC. */
  readonly statementTimeMicros: bigint;
  /** now(), current_timestamp, transaction_timestamp(): when the transaction started. */
  readonly transactionTimeMicros: bigint;
  /** The session's TimeZone setting: an IANA name ('Europe/Paris'), 'UTC' or an offset ('+02:00'). */
  readonly timeZone: string;
  /** A uniform random number in [0, 1): random(), gen_random_uuid(). */
  readonly random: () => number;
  readonly database: string;
  /** current_user. */
  readonly user: string;
  /** current_setting(name): the setting's value, or undefined when there is no such setting. */
  readonly setting: (name: string) => string | undefined;
  /** clock_timestamp(): the current time. Defaults to the statement time. */
  readonly clockMicros?: () => bigint;
  /** session_user. Defaults to `user`. */
  readonly sessionUser?: string;
  /** current_schema(). Defaults to 'public'. */
  readonly schema?: string;
  /** version(). */
  readonly version?: string;
  /** pg_backend_pid(). */
  readonly backendPid?: number;
  /** pg_get_userbyid(oid): the role's name. */
  readonly userNameById?: (oid: number) => string | undefined;
  /** nextval, currval, setval, lastval: the session's sequences (absent: those functions fail with 0A000). */
  readonly sequences?: SequenceAccess;
}

/**
 * A session's sequences as the built-ins see them: synchronous, over values the session
 * reserved before the call (gateway/sql/catalog/session-sequences.ts). Sequences are
 * named by their pg_class OID (a regclass value).
 */
export interface SequenceAccess {
  nextval(sequenceOid: number): bigint;
  currval(sequenceOid: number): bigint;
  setval(sequenceOid: number, value: bigint, isCalled: boolean): bigint;
  lastval(): bigint;
}

export const DEFAULT_VERSION = 'PostgreSQL 15.0 (Cairn) on x86_64-pc-linux-gnu, 64-bit';

export function clockMicros(ctx: EvalContext): bigint {
  return ctx.clockMicros === undefined ? ctx.statementTimeMicros : ctx.clockMicros();
}

/** A context for tests and constant folding: a fixed time, UTC, a seeded random source. */
export function fixedEvalContext(overrides: Partial<EvalContext> = {}): EvalContext {
  let seed = 42;
  return {
    statementTimeMicros: 1_700_000_000_000_000n,
    transactionTimeMicros: 1_700_000_000_000_000n,
    timeZone: 'UTC',
    // mulberry32: a small seeded generator, good enough for tests.
    random: () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = seed;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
    database: 'defaultdb',
    user: 'root',
    setting: () => undefined,
    ...overrides,
  };
}
