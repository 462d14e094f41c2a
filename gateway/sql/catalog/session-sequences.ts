import { SqlError, SqlStates } from '../../../common/errors';
import { TransactionRetryError } from '../../../kv';
import type { Txn } from '../../../kv';
import type { SequenceAccess } from '../builtins';
import type { Catalog, TxnLike } from './catalog';
import type { SequenceDescriptor } from './descriptors';
import type { SequenceKv } from './sequence-store';
import { giveBack, readSequenceState, reserveValues, writeSequenceState } from './sequence-store';
import type { SequenceState, StoredSequenceState } from './sequence-values';
import { checkSetval, encodeSequenceState, limitError, nextState } from './sequence-values';

/**
 * One session's sequences: nextval, currval, setval and lastval for the built-ins, which
 * are synchronous (expressions never wait), over values reserved from KV beforehand.
 *
 * Values are reserved where the statement waits anyway:
 * 1. Before the statement runs: as many as the same statement text took last time.
 * 2. Before each KV operation of the statement (through the transaction `runStatement`
 *    hands it): when a sequence has fewer values left than the statement took so far,
 *    enough for twice that.
 * 3. When a call finds nothing reserved it throws `FetchNeeded`. If the statement has
 *    written nothing yet, `runStatement` reserves more and runs it again from the start,
 *    handing out the same values again: nobody saw them, since rows reach the client
 *    only after the statement. If it has written, it fails with a retryable 40001
 *    (retried inside the gateway outside BEGIN, as any serialization conflict).
 *
 * A reservation is a compare-and-set on the sequence's key outside any transaction
 * (sequence-store.ts), so no value is handed out twice, across gateways, and a rollback
 * gives none back. With CACHE 1 the values a statement reserved and did not use are put
 * back when it ends, if nobody reserved after it, so one session alone sees 1, 2, 3...;
 * with CACHE n the session keeps up to n, as a PostgreSQL backend does.
 *
 * setval is applied when its statement ends; nextval of the same sequence later in that
 * statement is refused (0A000) rather than answered from values setval discarded.
 */

/**
 * A statement stopped because a sequence call needs KV first; it runs again after.
 * `need`: the descriptor only (currval, setval), the descriptor and a value, or more
 * values than were reserved (the call ran dry).
 */
class FetchNeeded extends Error {
  constructor(
    readonly sequenceId: number,
    readonly need: 'descriptor' | 'value' | 'more',
  ) {
    super(`sequence ${sequenceId} needs ${need === 'descriptor' ? 'its descriptor' : 'values'}`);
  }
}

/** Values reserved in one compare-and-set, handed out in order. */
interface Segment {
  readonly from: SequenceState;
  readonly granted: number;
  /** What the store held right after the reservation. */
  readonly end: StoredSequenceState;
  /** The state after the last value handed out (`from` before any). */
  cursor: SequenceState;
  remaining: number;
}

interface Pool {
  /** The descriptor the values were reserved under. */
  readonly seq: SequenceDescriptor;
  segments: Segment[];
  /** The store had no value left at the last try: nextval fails with 2200H once the segments run out. */
  exhausted: boolean;
}

type Described =
  | { readonly kind: 'sequence'; readonly seq: SequenceDescriptor }
  | { readonly kind: 'other'; readonly name: string }
  | { readonly kind: 'missing' };

/** One run of a statement. */
interface Attempt {
  /** The catalog generation when it started: descriptors read then stay good for the whole run. */
  readonly generation: number;
  /** Values handed out, per sequence ID. */
  readonly used: Map<number, number>;
  readonly setvals: { readonly seq: SequenceDescriptor; readonly state: SequenceState }[];
  writes: number;
}

interface Saved {
  readonly pools: ReadonlyMap<number, Pool>;
  readonly positions: ReadonlyMap<Segment, { readonly cursor: SequenceState; readonly remaining: number }>;
  readonly current: ReadonlyMap<number, bigint>;
  readonly last: number | undefined;
}

/** Runs of one statement before it gives up (reservations grow RERUN_GROWTH-fold each time). */
const MAX_RUNS = 32;
const RERUN_GROWTH = 4;
/** Statement texts whose sequence use is remembered. */
const MAX_LEARNED = 256;
/** The most values one reservation takes (a larger CACHE is capped). */
const MAX_RESERVATION = 1_000_000;
/** Reservations one top-up makes at most (each stops at a bound: a small cycling sequence needs several). */
const MAX_RESERVATIONS_PER_TOP_UP = 64;

export type SequenceCatalog = Pick<Catalog, 'descriptor' | 'generation'>;

export class SessionSequences implements SequenceAccess {
  private readonly pools = new Map<number, Pool>();
  private readonly described = new Map<number, { readonly result: Described; readonly generation: number }>();
  /** currval: the last value nextval (or setval) gave this session, per sequence. */
  private current = new Map<number, bigint>();
  /** lastval: the sequence of the last nextval. */
  private last: number | undefined;
  /** What this session last stored per sequence: likely still there, so a reservation's compare-and-set needs no read first. */
  private readonly lastStored = new Map<number, Buffer>();
  /** Statement text → values it took per sequence (a Map keeps insertion order: oldest first). */
  private readonly learned = new Map<string, ReadonlyMap<number, number>>();
  private attempt: Attempt | undefined;

  constructor(
    private readonly kv: SequenceKv,
    private readonly catalog: SequenceCatalog,
  ) {}

  // -------------------------------------------------------------------------------
  // The built-ins (synchronous)

  nextval(id: number): bigint {
    const attempt = this.requireAttempt();
    const seq = this.sequence(attempt, id, true);
    if (attempt.setvals.some((s) => s.seq.id === id)) {
      throw new SqlError(SqlStates.featureNotSupported, `nextval of sequence "${seq.name}" after setval of it in the same statement is not supported`);
    }
    const pool = this.pools.get(id);
    if (pool === undefined || pool.seq.version !== seq.version) {
      throw new FetchNeeded(id, 'value');
    }
    for (const segment of pool.segments) {
      if (segment.remaining === 0) continue;
      segment.cursor = nextState(pool.seq, segment.cursor);
      segment.remaining--;
      const value = segment.cursor.lastValue;
      attempt.used.set(id, (attempt.used.get(id) ?? 0) + 1);
      this.current.set(id, value);
      this.last = id;
      return value;
    }
    if (pool.exhausted) throw limitError(pool.seq, pool.seq.increment > 0n ? 'max' : 'min');
    throw new FetchNeeded(id, 'more');
  }

  currval(id: number): bigint {
    const value = this.current.get(id);
    if (value !== undefined) return value;
    const seq = this.sequence(this.requireAttempt(), id, false);
    throw new SqlError(SqlStates.objectNotInPrerequisiteState, `currval of sequence "${seq.name}" is not yet defined in this session`);
  }

  lastval(): bigint {
    const value = this.last === undefined ? undefined : this.current.get(this.last);
    if (value === undefined) {
      throw new SqlError(SqlStates.objectNotInPrerequisiteState, 'lastval is not yet defined in this session');
    }
    return value;
  }

  setval(id: number, value: bigint, isCalled: boolean): bigint {
    const attempt = this.requireAttempt();
    const seq = this.sequence(attempt, id, false);
    checkSetval(seq, value);
    attempt.setvals.push({ seq, state: { lastValue: value, isCalled } });
    // Values reserved before are not to be handed out after it (PostgreSQL drops its cache too).
    this.pools.delete(id);
    if (isCalled) this.current.set(id, value);
    return value;
  }

  private requireAttempt(): Attempt {
    if (this.attempt === undefined) {
      // Only statements run through runStatement can wait for values (COPY FROM cannot).
      throw new SqlError(SqlStates.featureNotSupported, 'sequence functions are not supported in COPY');
    }
    return this.attempt;
  }

  /**
   * The sequence with this OID as last read, or FetchNeeded to read it (and reserve
   * values when `forValues`); 42809 / 42P01 for anything else.
   */
  private sequence(attempt: Attempt, id: number, forValues: boolean): SequenceDescriptor {
    const entry = this.described.get(id);
    if (entry === undefined || entry.generation !== attempt.generation) {
      throw new FetchNeeded(id, forValues ? 'value' : 'descriptor');
    }
    const d = entry.result;
    switch (d.kind) {
      case 'sequence':
        return d.seq;
      case 'other':
        throw new SqlError(SqlStates.wrongObjectType, `"${d.name}" is not a sequence`);
      case 'missing':
        throw new SqlError(SqlStates.undefinedTable, `could not open relation with OID ${id}`);
    }
  }

  // -------------------------------------------------------------------------------
  // Statements

  /**
   * Runs a statement, with `run` handed the transaction to do its KV work through (so
   * reservations can be topped up), and again when it stopped for values; see above.
   * `key` is the statement's text.
   */
  async runStatement<T>(key: string, txn: TxnLike, run: (txn: TxnLike) => Promise<T>): Promise<T> {
    // Most statements use no sequence: they skip the maps (a point SELECT's hot path).
    const learned = this.learned.get(key);
    const demand = learned === undefined ? new Map<number, number>() : new Map(learned);
    try {
      for (let runs = 1; ; runs++) {
        for (const [id, want] of demand) await this.prepare(txn, id, want);
        const saved = this.save();
        const attempt: Attempt = { generation: this.catalog.generation, used: new Map(), setvals: [], writes: 0 };
        this.attempt = attempt;
        try {
          const result = await run(new StatementTxn(txn, this, attempt));
          this.attempt = undefined;
          for (const s of attempt.setvals) this.remember(s.seq.id, await writeSequenceState(this.kv, s.seq, s.state));
          this.learn(key, attempt.used);
          return result;
        } catch (err) {
          this.attempt = undefined;
          if (!(err instanceof FetchNeeded)) throw err;
          for (const [id, n] of attempt.used) demand.set(id, Math.max(demand.get(id) ?? 0, n));
          const id = err.sequenceId;
          const had = demand.get(id) ?? 0;
          // Running again costs the run so far: what ran dry grows fast.
          demand.set(id, err.need === 'more' ? Math.max(1, RERUN_GROWTH * had) : err.need === 'value' ? Math.max(1, had) : had);
          if (attempt.writes > 0 || runs >= MAX_RUNS) {
            this.learn(key, demand);
            throw new TransactionRetryError('SERIALIZABLE', undefined, 'sequence values ran out after the statement had written: it must run again');
          }
          this.restore(saved);
        }
      }
    } finally {
      await this.endStatement();
    }
  }

  /** Reads the sequence's descriptor (in the statement's transaction) and reserves up to `want` values. */
  private async prepare(txn: TxnLike, id: number, want: number): Promise<void> {
    let entry = this.described.get(id);
    if (entry === undefined || entry.generation !== this.catalog.generation) {
      // The generation before the read: a change during it leaves the entry stale.
      const generation = this.catalog.generation;
      const desc = await this.catalog.descriptor(txn, id);
      const result: Described = desc === undefined ? { kind: 'missing' } : desc.kind === 'sequence' ? { kind: 'sequence', seq: desc } : { kind: 'other', name: desc.name };
      entry = { result, generation };
      this.described.set(id, entry);
    }
    if (entry.result.kind === 'sequence' && want > 0) {
      await this.topUp(entry.result.seq, want);
    }
  }

  /**
   * Reserves until at least `want` values are on hand, CACHE at a time at least. A
   * reservation stops at the bound, so a cycling sequence may take several.
   */
  private async topUp(seq: SequenceDescriptor, want: number): Promise<void> {
    let pool = this.pools.get(seq.id);
    if (pool === undefined || pool.seq.version !== seq.version) {
      pool = { seq, segments: [], exhausted: false };
      this.pools.set(seq.id, pool);
    }
    const batch = seq.cache > BigInt(MAX_RESERVATION) ? MAX_RESERVATION : Number(seq.cache);
    for (let i = 0; i < MAX_RESERVATIONS_PER_TOP_UP; i++) {
      const have = available(pool);
      if (have >= want) return;
      const reserved = await reserveValues(this.kv, seq, Math.min(MAX_RESERVATION, Math.max(want - have, batch)), this.lastStored.get(seq.id));
      if (reserved === undefined) {
        pool.exhausted = true;
        return;
      }
      this.remember(seq.id, reserved.end);
      pool.exhausted = false;
      pool.segments.push({ from: reserved.from, granted: reserved.granted, end: reserved.end, cursor: reserved.from, remaining: reserved.granted });
    }
  }

  /** Before a KV operation of the statement: the reservations it is running short of, or undefined. */
  topUpBefore(attempt: Attempt): Promise<void> | undefined {
    let short: Pool[] | undefined;
    for (const [id, used] of attempt.used) {
      const pool = this.pools.get(id);
      if (pool !== undefined && !pool.exhausted && available(pool) < used) (short ??= []).push(pool);
    }
    if (short === undefined) return undefined;
    return (async () => {
      for (const pool of short) await this.topUp(pool.seq, 2 * (attempt.used.get(pool.seq.id) ?? 0));
    })();
  }

  /** What a statement run starts from; `restore` rewinds to it. */
  private save(): Saved {
    const positions = new Map<Segment, { cursor: SequenceState; remaining: number }>();
    for (const pool of this.pools.values()) {
      for (const s of pool.segments) positions.set(s, { cursor: s.cursor, remaining: s.remaining });
    }
    return { pools: new Map(this.pools), positions, current: new Map(this.current), last: this.last };
  }

  /**
   * Rewinds after an abandoned run that wrote nothing: what it handed out is handed out
   * again (nobody saw it); pools setval dropped come back; what it reserved stays, unused.
   */
  private restore(saved: Saved): void {
    for (const [id, pool] of saved.pools) this.pools.set(id, pool);
    for (const pool of this.pools.values()) {
      for (const s of pool.segments) {
        const at = saved.positions.get(s);
        s.cursor = at?.cursor ?? s.from;
        s.remaining = at?.remaining ?? s.granted;
      }
    }
    this.current = new Map(saved.current);
    this.last = saved.last;
  }

  /**
   * After every statement: CACHE 1 values left over go back to the store when nobody
   * reserved since (else they are skipped, a gap), so the next statement starts from the
   * store again; other sequences keep theirs.
   */
  private async endStatement(): Promise<void> {
    if (this.pools.size === 0) return;
    for (const [id, pool] of [...this.pools]) {
      pool.exhausted = false;
      pool.segments = pool.segments.filter((s) => s.remaining > 0);
      if (pool.seq.cache > 1n) continue;
      this.pools.delete(id);
      const lastSegment = pool.segments[pool.segments.length - 1];
      if (lastSegment !== undefined) {
        // Failing to give values back only leaves a gap; the statement's outcome stands.
        const stored = await giveBack(this.kv, pool.seq, lastSegment.end, lastSegment.cursor).catch(() => undefined);
        this.remember(id, stored);
      }
    }
  }

  private remember(id: number, stored: StoredSequenceState | undefined): void {
    if (stored === undefined) this.lastStored.delete(id);
    else this.lastStored.set(id, encodeSequenceState(stored));
  }

  private learn(key: string, used: ReadonlyMap<number, number>): void {
    this.learned.delete(key);
    if (used.size === 0) return;
    this.learned.set(key, new Map(used));
    if (this.learned.size > MAX_LEARNED) {
      const oldest = this.learned.keys().next();
      if (oldest.done !== true) this.learned.delete(oldest.value);
    }
  }

  // -------------------------------------------------------------------------------
  // DDL

  /** The stored state, for ALTER SEQUENCE's checks of the current value. */
  readState(seq: SequenceDescriptor): Promise<StoredSequenceState> {
    return readSequenceState(this.kv, seq);
  }

  /** Sets the stored state at once, outside the transaction (a new sequence, RESTART). */
  async writeState(seq: SequenceDescriptor, state: SequenceState): Promise<void> {
    this.remember(seq.id, await writeSequenceState(this.kv, seq, state));
  }

  /** Drops what the session holds of a sequence that was altered or dropped. */
  forget(id: number): void {
    this.pools.delete(id);
    this.described.delete(id);
    this.lastStored.delete(id);
  }
}

function available(pool: Pool): number {
  let n = 0;
  for (const s of pool.segments) n += s.remaining;
  return n;
}

/**
 * The statement's transaction as its operators see it: writes are counted (a statement
 * that wrote cannot simply run again) and reservations topped up before each operation.
 */
class StatementTxn implements TxnLike {
  constructor(
    private readonly inner: TxnLike,
    private readonly owner: SessionSequences,
    private readonly attempt: Attempt,
  ) {}

  private after<T>(op: () => Promise<T>): Promise<T> {
    const pending = this.owner.topUpBefore(this.attempt);
    return pending === undefined ? op() : pending.then(op);
  }

  get(key: Uint8Array, options?: Parameters<Txn['get']>[1]): ReturnType<Txn['get']> {
    return this.after(() => this.inner.get(key, options));
  }
  getMany(keys: readonly Uint8Array[], options?: Parameters<Txn['getMany']>[1]): ReturnType<Txn['getMany']> {
    return this.after(() => this.inner.getMany(keys, options));
  }
  scan(start: Uint8Array, end: Uint8Array, options?: Parameters<Txn['scan']>[2]): ReturnType<Txn['scan']> {
    return this.after(() => this.inner.scan(start, end, options));
  }
  reverseScan(start: Uint8Array, end: Uint8Array, options?: Parameters<Txn['reverseScan']>[2]): ReturnType<Txn['reverseScan']> {
    return this.after(() => this.inner.reverseScan(start, end, options));
  }
  put(key: Uint8Array, value: Uint8Array): Promise<void> {
    this.attempt.writes++;
    return this.after(() => this.inner.put(key, value));
  }
  delete(key: Uint8Array): Promise<void> {
    this.attempt.writes++;
    return this.after(() => this.inner.delete(key));
  }
  conditionalPut(key: Uint8Array, value: Uint8Array, expected: Uint8Array | undefined): Promise<void> {
    this.attempt.writes++;
    return this.after(() => this.inner.conditionalPut(key, value, expected));
  }
  deleteRange(start: Uint8Array, end: Uint8Array): Promise<number> {
    this.attempt.writes++;
    return this.after(() => this.inner.deleteRange(start, end));
  }
}
