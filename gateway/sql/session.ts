import type { Node, SelectStmt, TransactionStmt, VariableSetStmt } from '@pgsql/types';
import { CairnError, SqlError, SqlStates } from '../../common/errors';
import type { Timestamp } from '../../common/hlc';
import type { Logger } from '../../common/logging';
import type { RecordedSpan, Span } from '../../common/tracing';
import { NO_SPAN, SpanKind, endSpan, inChildSpan, listenToTrace, recordedSpanOf, startChildSpan, startRootSpan } from '../../common/tracing';
import type { KvClient, StatementLimits, Txn } from '../../kv';
import { Interrupt } from '../../kv';
import { isRetryableTxnError } from '../../kv';
import type {
  ColumnDescription,
  ExecuteOutcome,
  FormatCode,
  PortalHandle,
  PreparedStatementHandle,
  ResultSink,
  SqlSession,
  TransactionStatus,
} from '../pgwire/sql-session';
import type { Catalog, TxnLike } from './catalog/catalog';
import type { DatabaseDescriptor } from './catalog/descriptors';
import { SessionSequences } from './catalog/session-sequences';
import type { SequenceAccess } from './builtins';
import { copyFrom } from './copy';
import * as ddl from './ddl';
import { explainLines, planSummary } from './explain';
import type { ExecContext } from './exec/context';
import { execute, lookupRows, lookupShape } from './exec/executor';
import { statementFingerprint } from './fingerprint';
import { SessionTrace, SHOW_TRACE_COLUMNS } from './session-trace';
import { DescriptorCheckingTxn, StalePlanError } from './exec/descriptor-check';
import { isCountRow } from './exec/dml';
import type { KvTableIo } from './exec/table-io';
import type { ParsedStatement } from './parser';
import { parseStatements } from './parser';
import type { AnalyzedQuery } from './plan/analyze';
import { QueryAnalyzer } from './plan/analyze';
import { stringOf } from './plan/analyze-expr';
import type { EvalContext } from './plan/expr';
import { evaluateConstant, typeFromOid } from './plan/functions-impl';
import { AutocommitPointRead, NeedsTransactionError } from './autocommit-read';
import type { OutputColumn, PlanNode } from './plan/plan';
import { column } from './plan/scope';
import { displayName, SessionSettings, SETTINGS } from './session-settings';
import type { Datum, SqlType } from './types/datum';
import { scalarType } from './types/datum';
import type { TextFormatOptions } from './types';
import { decodeBinary, encodeBinary, formatText, parseText, pgTypmod, resolveTimeZone, typeLen, typeOid } from './types';
import type { UserStore } from './users';
import { virtualTableFor } from './virtual/virtual-tables';
import { loadCatalogLookup, regclassOid } from './virtual';

/**
 * One client's SQL session: its settings, its transaction (explicit between BEGIN and
 * COMMIT, otherwise one per statement), and the statements it runs.
 *
 * Outside BEGIN every statement runs in its own transaction and commits before its
 * result is sent, so a serialization conflict (40001) is retried inside the gateway and
 * the client never sees it. Inside BEGIN, a failed statement puts the transaction in the
 * failed state (25P02 for what follows) until ROLLBACK, as in PostgreSQL.
 */

export interface SessionServices {
  readonly kv: KvClient;
  readonly catalog: Catalog;
  readonly tables: KvTableIo;
  readonly users: UserStore;
  readonly log: Logger;
  /** Counts statements by type and outcome (metrics). */
  readonly onStatement?: (kind: string, durationMs: number, sqlState: string | undefined) => void;
  /**
   * Counts transactions (metrics): each commit; each abort, a transaction that ended
   * uncommitted because of a conflict (not a client's ROLLBACK); each restart inside
   * the gateway, with its reason.
   */
  readonly onTxn?: (event: 'commit' | 'abort' | 'restart', reason?: string) => void;
  readonly random: () => number;
  /** A transaction that dropped tables or indexes committed: their rows may be cleared now. */
  readonly onDataDropped?: () => void;
  /** log_min_duration_statement to begin with (ms; -1: off), when the client sets none. */
  readonly slowStatementMs?: number;
}

interface Savepoint {
  readonly name: string;
  /** The length of the undo log when the savepoint was set. */
  readonly undoMark: number;
}

/** An explicit transaction: the KV transaction, seen through its undo log, and its savepoints. */
interface ExplicitTxn {
  readonly txn: Txn;
  readonly counted: SavepointTxn;
  readonly startedMicros: bigint;
  readonly savepoints: Savepoint[];
  /** It dropped a table, database or index: rows to clear once it commits. */
  readonly dropped: { value: boolean };
}

type TxnState =
  | { readonly kind: 'idle' }
  | ({ readonly kind: 'open' } & ExplicitTxn)
  | ({ readonly kind: 'failed'; readonly conflict?: string } & ExplicitTxn);

/** Key versions the undo log keeps at most: beyond, a write under a savepoint is refused. */
const MAX_UNDO_ENTRIES = 100_000;

/** A key's value before a write under a savepoint (undefined: it had none). */
interface UndoEntry {
  readonly key: Buffer;
  readonly prior: Buffer | undefined;
}

/**
 * An explicit transaction as statements use it. While a savepoint is set, each write
 * first logs the value the transaction saw at its key (an undo log), so that ROLLBACK TO
 * SAVEPOINT writes the old values back, in reverse order, in the same transaction. The
 * keys stay locked by the transaction's intents, as in CockroachDB; what commits is
 * what the transaction saw at the savepoint.
 */
class SavepointTxn implements TxnLike {
  private readonly undo: UndoEntry[] = [];
  /** Whether writes are logged (some savepoint is set). */
  logging = false;

  constructor(private readonly inner: Txn) {}

  get undoLength(): number {
    return this.undo.length;
  }

  get(key: Uint8Array, options?: Parameters<Txn['get']>[1]): ReturnType<Txn['get']> {
    return this.inner.get(key, options);
  }
  getMany(keys: readonly Uint8Array[], options?: Parameters<Txn['getMany']>[1]): ReturnType<Txn['getMany']> {
    return this.inner.getMany(keys, options);
  }
  scan(start: Uint8Array, end: Uint8Array, options?: Parameters<Txn['scan']>[2]): ReturnType<Txn['scan']> {
    return this.inner.scan(start, end, options);
  }
  reverseScan(start: Uint8Array, end: Uint8Array, options?: Parameters<Txn['reverseScan']>[2]): ReturnType<Txn['reverseScan']> {
    return this.inner.reverseScan(start, end, options);
  }
  async put(key: Uint8Array, value: Uint8Array): Promise<void> {
    await this.logPrior(key);
    return this.inner.put(key, value);
  }
  async delete(key: Uint8Array): Promise<void> {
    await this.logPrior(key);
    return this.inner.delete(key);
  }
  async conditionalPut(key: Uint8Array, value: Uint8Array, expected: Uint8Array | undefined): Promise<void> {
    await this.logPrior(key);
    return this.inner.conditionalPut(key, value, expected);
  }
  async deleteRange(start: Uint8Array, end: Uint8Array): Promise<number> {
    if (this.logging) {
      let from: Uint8Array = start;
      for (;;) {
        const page = await this.inner.scan(from, end, { maxKeys: 1_000 });
        for (const row of page.rows) this.record(row.key, row.value);
        if (page.resumeSpan === undefined) break;
        from = page.resumeSpan.startKey;
      }
    }
    return this.inner.deleteRange(start, end);
  }

  /** Writes back, newest first, the values logged since `mark`, and forgets them. */
  async rollbackTo(mark: number): Promise<void> {
    for (let i = this.undo.length - 1; i >= mark; i--) {
      const { key, prior } = this.undo[i] as UndoEntry;
      if (prior === undefined) await this.inner.delete(key);
      else await this.inner.put(key, prior);
    }
    this.undo.length = mark;
  }

  /** No savepoint is left: stop logging and drop the log. */
  clear(): void {
    this.logging = false;
    this.undo.length = 0;
  }

  private async logPrior(key: Uint8Array): Promise<void> {
    if (!this.logging) return;
    this.record(key, await this.inner.get(key));
  }

  private record(key: Uint8Array, prior: Buffer | undefined): void {
    if (this.undo.length >= MAX_UNDO_ENTRIES) {
      throw new SqlError(SqlStates.programLimitExceeded, `a savepoint can undo at most ${MAX_UNDO_ENTRIES} writes`, {
        hint: 'Release the savepoint, or write less between a SAVEPOINT and its ROLLBACK TO.',
      });
    }
    this.undo.push({ key: Buffer.from(key), prior: prior === undefined ? undefined : Buffer.from(prior) });
  }
}

/** Attempts of a statement outside BEGIN before a serialization conflict reaches the client. */
const MAX_AUTO_RETRIES = 50;
/** How long after statement_timeout the nodes give up the statement's KV calls. */
const KV_DEADLINE_SLACK_MS = 500;

/** Prepared texts a session keeps planned (see Session.prepare). */
const MAX_CACHED_PREPARES = 256;

interface PreparedPlan {
  readonly analyzed: AnalyzedQuery;
  readonly generation: string;
  /** A run with AutocommitPointRead needed a transaction after all: do not try again. */
  pointReadFailed?: boolean;
}

class Prepared implements PreparedStatementHandle {
  plan: PreparedPlan | undefined;
  constructor(
    readonly statement: ParsedStatement | undefined,
    readonly paramTypes: SqlType[],
    public description: PreparedStatementHandle['description'],
  ) {}

  /** Another handle on the same statement and plan, whose plan may be replaced on its own. */
  copy(): Prepared {
    const copy = new Prepared(this.statement, [...this.paramTypes], this.description);
    copy.plan = this.plan;
    return copy;
  }
}

class BoundPortal implements PortalHandle {
  /** Rows already encoded, filled at the first Execute. */
  rows: (Buffer | null)[][] | undefined;
  next = 0;
  tag = '';
  constructor(
    readonly prepared: Prepared,
    readonly params: Datum[],
    readonly description: PortalHandle['description'],
  ) {}
}

export class Session implements SqlSession {
  private state: TxnState = { kind: 'idle' };
  private cancelled: string | undefined;
  private readonly settings: SessionSettings;
  private readonly initial: Map<string, string>;
  private readonly sequences: SessionSequences;
  /** What SHOW TRACE FOR SESSION shows: the spans recorded since SET tracing = on. */
  private readonly trace = new SessionTrace();
  /** Whether statements are recorded into `trace` (tracing was on at the last statement). */
  private recordingTrace = false;
  /** Stops collecting the running statement's own spans into `trace`. */
  private stopTraceListener: (() => void) | undefined;

  constructor(
    private readonly services: SessionServices,
    readonly user: string,
    private database: DatabaseDescriptor,
    private schemaId: number,
    startupParameters: ReadonlyMap<string, string>,
    /** pg_backend_pid(): the process ID the client got in BackendKeyData. */
    private readonly backendPid?: number,
  ) {
    this.settings = new SessionSettings(
      startupParameters,
      services.slowStatementMs === undefined ? undefined : new Map([['log_min_duration_statement', String(services.slowStatementMs)]]),
    );
    this.sequences = new SessionSequences(services.kv, services.catalog);
    this.settings.set('application_name', startupParameters.get('application_name') ?? '');
    this.initial = new Map();
    for (const [name, def] of Object.entries(SETTINGS)) {
      if (def.reported === true) {
        this.initial.set(displayName(name), name === 'session_authorization' ? user : (this.settings.get(name) ?? ''));
      }
    }
  }

  initialParameters(): ReadonlyMap<string, string> {
    return this.initial;
  }

  transactionStatus(): TransactionStatus {
    return this.state.kind === 'idle' ? 'I' : this.state.kind === 'open' ? 'T' : 'E';
  }

  /** Any error inside BEGIN fails the transaction, as in PostgreSQL (planning errors too). */
  private failTransaction(): void {
    if (this.state.kind === 'open') {
      this.state = { ...this.state, kind: 'failed' };
    }
  }

  /** Bumped by SET: plans fold constants in the session's settings (its time zone). */
  private settingsEpoch = 0;
  /** Planned statements by parameter types and text, least recently prepared first. */
  private readonly preparedCache = new Map<string, Prepared>();

  /** A plan made at another generation is made again before it runs. */
  private planGeneration(): string {
    return `${this.services.catalog.generation}/${this.settingsEpoch}`;
  }

  idleInTransactionTimeoutMs(): number {
    return Number(this.settings.get('idle_in_transaction_session_timeout') ?? '0');
  }

  cancel(): void {
    this.cancelled = 'canceling statement due to user request';
    this.interrupt?.abort();
  }

  async close(): Promise<void> {
    if (this.state.kind !== 'idle') {
      const txn = this.state.txn;
      this.state = { kind: 'idle' };
      await txn.rollback().catch(() => undefined);
      this.services.catalog.transactionEnded(txn);
    }
  }

  async sync(): Promise<void> {
    // Statements outside BEGIN commit at the end of their Execute; nothing waits for Sync.
  }

  // -------------------------------------------------------------------------------
  // Simple query

  async simpleQuery(sql: string, sink: ResultSink, complete: (outcome: ExecuteOutcome) => void): Promise<void> {
    // The first statement's span starts before the text is parsed, so that it holds the parse.
    const first = this.startStatementSpan(undefined);
    let statements: ParsedStatement[];
    const parse = startChildSpan('sql.parse', first);
    try {
      statements = parseStatements(sql);
      endSpan(parse);
    } catch (err) {
      endSpan(parse, err);
      this.endStatementSpan(first, err);
      throw err;
    }
    if (statements.length === 0) {
      this.endStatementSpan(first);
      complete({ kind: 'empty' });
      return;
    }
    for (const [i, statement] of statements.entries()) {
      const root = i === 0 ? first : this.startStatementSpan(undefined);
      this.describeStatementSpan(root, statement);
      try {
        const prepared = await inChildSpan('sql.plan', root, () => this.prepareParsed(statement, []));
        const portal = await this.bindPrepared(prepared, [], []);
        if (statementKind(statement.ast) === 'COPY') {
          complete({ kind: 'complete', commandTag: await this.copy(statement, sink) });
          this.endStatementSpan(root);
          continue;
        }
        try {
          await this.run(portal, root);
        } finally {
          this.flushMessages(sink);
        }
        if (portal.description.columns !== undefined) {
          sink.describe(portal.description.columns, portal.description.resultFormats);
        }
        for (const row of portal.rows ?? []) {
          sink.row(row);
          if (sink.congested) await sink.drain();
        }
        complete({ kind: 'complete', commandTag: portal.tag });
        this.endStatementSpan(root);
      } catch (err) {
        this.endStatementSpan(root, err);
        throw err;
      }
    }
  }

  /**
   * A statement's root span (`sql.statement`, or `sql.prepare` for the extended
   * protocol's Parse): sampled as tracing is configured (common/tracing), every one with
   * `SET tracing = on`, which also records its trace for SHOW TRACE FOR SESSION. NO_SPAN
   * when not traced, which costs nothing below.
   */
  private startStatementSpan(statement: ParsedStatement | undefined, name = 'sql.statement'): Span {
    const tracing = this.settings.get('tracing') === 'on';
    if (tracing && !this.recordingTrace) this.trace.clear();
    this.recordingTrace = tracing;
    const span = startRootSpan(name, undefined, { force: tracing, kind: SpanKind.SERVER });
    if (statement !== undefined) this.describeStatementSpan(span, statement);
    if (tracing && span !== NO_SPAN) {
      this.stopTraceListener?.();
      this.stopTraceListener = listenToTrace(span.spanContext().traceId, (ended) => this.trace.add(recordedSpanOf(ended)));
    }
    return span;
  }

  /** Ends a statement's root span (failed when `err` is given) and its recording. */
  private endStatementSpan(span: Span, err?: unknown): void {
    endSpan(span, err);
    this.stopTraceListener?.();
    this.stopTraceListener = undefined;
  }

  /** Where a traced transaction's batches send the spans nodes return, while recording. */
  private traceRecorder(span: Span): ((spans: readonly RecordedSpan[]) => void) | undefined {
    return this.recordingTrace && span !== NO_SPAN ? (spans) => this.trace.addAll(spans) : undefined;
  }

  /** The statement by its fingerprint: never a value a client sent. */
  private describeStatementSpan(span: Span, statement: ParsedStatement): void {
    if (span === NO_SPAN) return;
    span.setAttributes({
      'db.system': 'cairn',
      'db.statement': fingerprintOf(statement),
      'db.operation': statementKind(statement.ast),
      'db.name': this.database.name,
      'db.user': this.user,
    });
  }

  // -------------------------------------------------------------------------------
  // Extended protocol

  async prepare(sql: string, paramTypeOids: readonly number[]): Promise<PreparedStatementHandle> {
    // Outside a transaction block, a text this session planned before under the same
    // catalog and settings is neither parsed nor planned again. Inside one, the plan
    // may rest on the block's own schema changes: no cache.
    const cacheKey = this.state.kind === 'idle' ? `${paramTypeOids.join(',')}\u0000${sql}` : undefined;
    const cached = cacheKey === undefined ? undefined : this.preparedCache.get(cacheKey);
    if (cached?.plan !== undefined && cached.plan.generation === this.planGeneration()) return cached.copy();
    const root = this.startStatementSpan(undefined, 'sql.prepare');
    let prepared: Prepared;
    try {
      const parse = startChildSpan('sql.parse', root);
      let statements: ParsedStatement[];
      try {
        statements = parseStatements(sql);
        endSpan(parse);
      } catch (err) {
        endSpan(parse, err);
        throw err;
      }
      if (statements.length > 1) {
        throw new SqlError(SqlStates.syntaxError, 'cannot insert multiple commands into a prepared statement');
      }
      if (statements[0] !== undefined) this.describeStatementSpan(root, statements[0]);
      const paramTypes = paramTypeOids.map((oid) => (oid === 0 ? undefined : typeFromOid(oid)));
      prepared = await inChildSpan('sql.plan', root, () => this.prepareParsed(statements[0], paramTypes));
      this.endStatementSpan(root);
    } catch (err) {
      this.endStatementSpan(root, err);
      throw err;
    }
    if (cacheKey !== undefined && prepared.plan !== undefined) {
      this.preparedCache.delete(cacheKey);
      if (this.preparedCache.size >= MAX_CACHED_PREPARES) {
        // The least recently prepared goes.
        this.preparedCache.delete(this.preparedCache.keys().next().value as string);
      }
      this.preparedCache.set(cacheKey, prepared.copy());
    }
    return prepared;
  }

  async bind(
    statement: PreparedStatementHandle,
    params: readonly (Buffer | null)[],
    paramFormats: readonly FormatCode[],
    resultFormats: readonly FormatCode[],
  ): Promise<PortalHandle> {
    const prepared = statement as Prepared;
    if (params.length !== prepared.paramTypes.length) {
      throw new SqlError(SqlStates.protocolViolation, `bind message supplies ${params.length} parameters, but prepared statement requires ${prepared.paramTypes.length}`);
    }
    const values = params.map((raw, i) => {
      if (raw === null) return null;
      const type = prepared.paramTypes[i] as SqlType;
      try {
        return paramFormats[i] === 1 ? decodeBinary(type, raw) : parseText(type, raw.toString('utf8'), this.textOptions());
      } catch (err) {
        this.failTransaction();
        if (err instanceof SqlError) {
          throw new SqlError(err.sqlState, `${err.message} (parameter $${i + 1})`);
        }
        throw err;
      }
    });
    return this.bindPrepared(prepared, values, resultFormats);
  }

  async execute(portal: PortalHandle, maxRows: number, sink: ResultSink): Promise<ExecuteOutcome> {
    const bound = portal as BoundPortal;
    if (bound.prepared.statement === undefined) {
      return { kind: 'empty' };
    }
    if (bound.rows === undefined) {
      if (statementKind(bound.prepared.statement.ast) === 'COPY') {
        return { kind: 'complete', commandTag: await this.copy(bound.prepared.statement, sink) };
      }
      const root = this.startStatementSpan(bound.prepared.statement);
      try {
        await this.run(bound, root);
        this.endStatementSpan(root);
      } catch (err) {
        this.endStatementSpan(root, err);
        throw err;
      } finally {
        this.flushMessages(sink);
      }
    }
    const rows = bound.rows as (Buffer | null)[][];
    const end = maxRows > 0 ? Math.min(rows.length, bound.next + maxRows) : rows.length;
    for (; bound.next < end; bound.next++) {
      sink.row(rows[bound.next] as (Buffer | null)[]);
      if (sink.congested) await sink.drain();
    }
    if (bound.next < rows.length) {
      return { kind: 'suspended' };
    }
    return { kind: 'complete', commandTag: bound.tag };
  }

  closePortal(): void {}

  closeStatement(): void {}

  // -------------------------------------------------------------------------------
  // Preparing

  private async prepareParsed(statement: ParsedStatement | undefined, paramTypes: (SqlType | undefined)[]): Promise<Prepared> {
    if (statement === undefined) {
      return new Prepared(undefined, [], { paramTypeOids: [], columns: undefined });
    }
    const types = [...paramTypes];
    const prepared = new Prepared(statement, [], { paramTypeOids: [], columns: undefined });
    const started = performance.now();
    let columns: readonly OutputColumn[] | undefined;
    try {
      columns = await this.withPlanningTxn((txn) => this.describe(prepared, statement, types, txn));
    } catch (err) {
      // A statement that fails to plan still counts, under its kind and SQLSTATE.
      const mapped = toSqlError(err, undefined);
      this.services.onStatement?.(statementKind(statement.ast), performance.now() - started, mapped.sqlState);
      this.failTransaction();
      throw mapped;
    }
    // Parameters no context typed are text, as for an untyped literal.
    const settled = Array.from({ length: types.length }, (_, i) => types[i] ?? scalarType('text'));
    prepared.paramTypes.push(...settled);
    prepared.description = {
      paramTypeOids: settled.map(typeOid),
      columns: columns === undefined ? undefined : columns.map(describeColumn),
    };
    return prepared;
  }

  /** The result columns of a statement (and, for queries, its plan, kept for Execute). */
  private async describe(prepared: Prepared, statement: ParsedStatement, paramTypes: (SqlType | undefined)[], txn: TxnLike): Promise<readonly OutputColumn[] | undefined> {
    const ast = statement.ast;
    if ('SelectStmt' in ast || 'InsertStmt' in ast || 'UpdateStmt' in ast || 'DeleteStmt' in ast) {
      const analyzed = await this.analyze(ast, paramTypes, txn, statement.upsert === true);
      prepared.plan = { analyzed, generation: this.planGeneration() };
      return 'SelectStmt' in ast || analyzed.columns.length > 0 ? analyzed.columns : undefined;
    }
    if (statement.showTrace === true) return SHOW_TRACE_COLUMNS;
    if ('VariableShowStmt' in ast) {
      const name = ast.VariableShowStmt.name ?? '';
      return name.toLowerCase() === 'all'
        ? [column('name', scalarType('text')), column('setting', scalarType('text')), column('description', scalarType('text'))]
        : [column(showColumnName(name), scalarType('text'))];
    }
    if ('ExplainStmt' in ast) {
      const query = ast.ExplainStmt.query as Node;
      await this.analyze(query, paramTypes, txn);
      return [column('QUERY PLAN', scalarType('text'))];
    }
    return undefined;
  }

  private async analyze(ast: Node, paramTypes: (SqlType | undefined)[], txn: TxnLike, upsert = false): Promise<AnalyzedQuery> {
    const analyzer = new QueryAnalyzer({
      catalog: this.services.catalog,
      txn,
      database: this.database,
      schemaId: this.schemaId,
      paramTypes,
      virtualTable: (schema, name) => virtualTableFor(schema, name, this.virtualSource(txn)),
      regclassOid: (name) => regclassOid(this.virtualSource(txn), name),
      evalContext: this.evalContext(BigInt(Date.now()) * 1000n),
    });
    if ('SelectStmt' in ast) return analyzer.finish(await analyzer.select(ast.SelectStmt));
    if ('InsertStmt' in ast) return analyzer.finish(await analyzer.insert(ast.InsertStmt, upsert));
    if ('UpdateStmt' in ast) return analyzer.finish(await analyzer.update(ast.UpdateStmt));
    if ('DeleteStmt' in ast) return analyzer.finish(await analyzer.delete(ast.DeleteStmt));
    throw new SqlError(SqlStates.featureNotSupported, `cannot plan ${Object.keys(ast)[0]}`);
  }

  private async bindPrepared(prepared: Prepared, params: Datum[], resultFormats: readonly FormatCode[]): Promise<BoundPortal> {
    const columns = prepared.description.columns;
    const count = columns?.length ?? 0;
    const formats: FormatCode[] =
      resultFormats.length === 0 ? new Array<FormatCode>(count).fill(0) : resultFormats.length === 1 ? new Array<FormatCode>(count).fill(resultFormats[0] as FormatCode) : [...resultFormats];
    if (formats.length !== count) {
      throw new SqlError(SqlStates.protocolViolation, `bind message has ${resultFormats.length} result formats but query has ${count} columns`);
    }
    return new BoundPortal(prepared, params, { columns, resultFormats: formats });
  }

  // -------------------------------------------------------------------------------
  // Running

  /** Runs a bound statement to completion, filling the portal's rows and tag. */
  private async run(portal: BoundPortal, root: Span = NO_SPAN): Promise<void> {
    const statement = portal.prepared.statement as ParsedStatement;
    const ast = statement.ast;
    const kind = statementKind(ast);
    const started = performance.now();
    this.cancelled = undefined;
    this.interrupt = new Interrupt();
    let sqlState: string | undefined;
    const span = startChildSpan('sql.execute', root);
    try {
      if ('TransactionStmt' in ast) {
        portal.rows = [];
        portal.tag = await this.transactionControl(ast.TransactionStmt, statement);
        return;
      }
      if (this.state.kind === 'failed') {
        throw new SqlError(SqlStates.inFailedSqlTransaction, 'current transaction is aborted, commands ignored until end of transaction block');
      }
      const outcome =
        (await this.maybeAutocommitPointRead(portal, span)) ?? (await this.inTransaction(statement, (txn, ctx) => this.runIn(portal, txn, ctx), span));
      portal.rows = outcome.rows;
      portal.tag = outcome.tag;
      if (span !== NO_SPAN) {
        let bytes = 0;
        for (const row of outcome.rows) for (const value of row) bytes += value?.length ?? 0;
        span.setAttributes({ 'db.response.rows': outcome.rows.length, 'cairn.result_bytes': bytes, 'cairn.command_tag': outcome.tag.split(' ')[0] ?? '' });
      }
      // Statements that may leave dropped tables or indexes to clear once they commit.
      if ('DropStmt' in ast || 'DropdbStmt' in ast || 'AlterTableStmt' in ast) {
        const state = this.state;
        if (state.kind === 'idle') this.services.onDataDropped?.();
        else state.dropped.value = true;
      }
    } catch (err) {
      const mapped = toSqlError(err, this.cancelled);
      sqlState = mapped.sqlState;
      throw mapped;
    } finally {
      this.interrupt = undefined;
      endSpan(span, sqlState === undefined ? undefined : { sqlState });
      const elapsedMs = performance.now() - started;
      this.services.onStatement?.(kind, elapsedMs, sqlState);
      this.maybeLogSlow(portal, statement, elapsedMs, sqlState, root);
    }
  }

  /**
   * Logs a statement that took at least log_min_duration_statement: its fingerprint (no
   * values), how it was planned, how long it took and, when it was traced, its trace.
   */
  private maybeLogSlow(portal: BoundPortal, statement: ParsedStatement, elapsedMs: number, sqlState: string | undefined, root: Span): void {
    const threshold = Number(this.settings.get('log_min_duration_statement') ?? '-1');
    if (threshold < 0 || elapsedMs < threshold) return;
    const plan = portal.prepared.plan?.analyzed.plan;
    this.services.log.warn(
      {
        statement: fingerprintOf(statement),
        kind: statementKind(statement.ast),
        plan: plan === undefined ? undefined : planSummary(plan),
        latencyMs: Math.round(elapsedMs * 1000) / 1000,
        thresholdMs: threshold,
        commandTag: portal.tag === '' ? undefined : portal.tag,
        sqlState: sqlState ?? '00000',
        traceId: root === NO_SPAN ? undefined : root.spanContext().traceId,
        database: this.database.name,
        user: this.user,
        applicationName: this.settings.get('application_name'),
      },
      'slow statement',
    );
  }

  /**
   * Outside a transaction block, a SELECT whose cached plan reads rows by primary key is
   * run with a single non-transactional read (AutocommitPointRead); undefined when the
   * statement does not qualify, or turns out to need more than one read (nothing was
   * read or sent then: it runs in a transaction).
   */
  private async maybeAutocommitPointRead(portal: BoundPortal, span: Span): Promise<{ rows: (Buffer | null)[][]; tag: string } | undefined> {
    const statement = portal.prepared.statement as ParsedStatement;
    const plan = portal.prepared.plan;
    if (
      this.state.kind !== 'idle' ||
      span !== NO_SPAN ||
      statement.asOfSystemTime !== undefined ||
      !('SelectStmt' in statement.ast) ||
      plan === undefined ||
      plan.pointReadFailed === true ||
      plan.generation !== this.planGeneration() ||
      plan.analyzed.needsCatalog === true ||
      !readsByPrimaryKey(plan.analyzed.plan)
    ) {
      return undefined;
    }
    try {
      const result = await this.runIn(portal, new AutocommitPointRead(this.services.kv, this.kvLimits), { startedMicros: micros(this.services.kv.clock.now()) });
      this.services.onTxn?.('commit');
      return result;
    } catch (err) {
      if (!(err instanceof NeedsTransactionError)) throw err;
      plan.pointReadFailed = true;
      return undefined;
    }
  }

  /**
   * Runs `fn` in the open explicit transaction, or in a transaction of its own that is
   * committed (and retried on serialization conflicts) here.
   */
  private async inTransaction(
    statement: ParsedStatement,
    fn: (txn: TxnLike, ctx: { startedMicros: bigint }) => Promise<{ rows: (Buffer | null)[][]; tag: string }>,
    span: Span = NO_SPAN,
  ): Promise<{ rows: (Buffer | null)[][]; tag: string }> {
    const state = this.state;
    if (state.kind === 'open') {
      if (statement.asOfSystemTime !== undefined) {
        throw new SqlError(SqlStates.featureNotSupported, 'AS OF SYSTEM TIME must be given to BEGIN, not to a statement inside a transaction');
      }
      // The block's transaction is traced under each of its statements in turn.
      state.txn.traceSpan = span;
      state.txn.traceRecorder = this.traceRecorder(span);
      state.txn.statementLimits = this.kvLimits;
      if (span !== NO_SPAN) span.setAttribute('cairn.txn_id', state.txn.txnId.toString('hex'));
      try {
        return await fn(state.counted, { startedMicros: state.startedMicros });
      } catch (err) {
        const conflict = conflictReasonOf(err);
        this.state = conflict === undefined ? { ...state, kind: 'failed' } : { ...state, kind: 'failed', conflict };
        throw err;
      } finally {
        state.txn.traceSpan = NO_SPAN;
        state.txn.traceRecorder = undefined;
        state.txn.statementLimits = undefined;
      }
    }
    const asOf = statement.asOfSystemTime === undefined ? undefined : await this.asOfTimestamp(statement.asOfSystemTime);
    const txn = this.services.kv.beginTxn(asOf === undefined ? {} : { asOf });
    txn.traceSpan = span;
    txn.traceRecorder = this.traceRecorder(span);
    txn.statementLimits = this.kvLimits;
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          const result = await fn(txn, { startedMicros: micros(txn.readTimestamp) });
          await txn.commit();
          this.services.onTxn?.('commit');
          if (span !== NO_SPAN) span.setAttributes({ 'cairn.txn_id': txn.txnId.toString('hex'), 'cairn.txn_attempts': attempt });
          return result;
        } catch (err) {
          if (isRetryableTxnError(err) && attempt < MAX_AUTO_RETRIES && this.cancelled === undefined) {
            this.services.onTxn?.('restart', retryReasonOf(err));
            if (span !== NO_SPAN) span.addEvent('retry', { 'cairn.retry_reason': retryReasonOf(err), 'cairn.attempt': attempt });
            await txn.prepareRetry(err);
            await new Promise((resolve) => setTimeout(resolve, this.services.random() * Math.min(100, 2 * attempt)));
            continue;
          }
          const conflict = conflictReasonOf(err);
          if (conflict !== undefined) this.services.onTxn?.('abort', conflict);
          if (txn.status === 'pending') await txn.rollback().catch(() => undefined);
          throw err;
        }
      }
    } finally {
      this.services.catalog.transactionEnded(txn);
    }
  }

  private async runIn(portal: BoundPortal, txn: TxnLike, ctx: { startedMicros: bigint }): Promise<{ rows: (Buffer | null)[][]; tag: string }> {
    const statement = portal.prepared.statement as ParsedStatement;
    const ast = statement.ast;
    if ('SelectStmt' in ast || 'InsertStmt' in ast || 'UpdateStmt' in ast || 'DeleteStmt' in ast) {
      for (let attempt = 0; ; attempt++) {
        let plan = portal.prepared.plan;
        if (plan === undefined || plan.generation !== this.planGeneration()) {
          const types = [...portal.prepared.paramTypes];
          const analyzed = await this.analyze(ast, types, txn, statement.upsert === true);
          plan = { analyzed, generation: this.planGeneration() };
          portal.prepared.plan = plan;
        }
        const written = plan.analyzed.plan;
        // A write confirms, with its first read, that its table is still as planned.
        const check = attempt < 3 && (written.k === 'insert' || written.k === 'update' || written.k === 'delete') ? written.table : undefined;
        try {
          return await this.runPlan(plan.analyzed, portal, txn, ctx, ast, check);
        } catch (err) {
          if (!(err instanceof StalePlanError)) throw err;
          // Another gateway changed the table since it was cached here: plan again.
          this.services.catalog.invalidate();
        }
      }
    }
    const tag = await this.utility(statement, txn, portal, ctx);
    return { rows: portal.rows ?? [], tag };
  }

  private async runPlan(
    analyzed: AnalyzedQuery,
    portal: BoundPortal,
    txn: TxnLike,
    timing: { startedMicros: bigint },
    ast: Node,
    writtenTable?: { readonly id: number; readonly version: number },
  ): Promise<{ rows: (Buffer | null)[][]; tag: string }> {
    const catalog = analyzed.needsCatalog === true ? await loadCatalogLookup(this.virtualSource(txn)) : undefined;
    const columns = analyzed.columns;
    const textOptions = this.textOptions();
    const encoders = columns.map((c, i) => encoder(c.type, portal.description.resultFormats[i] ?? 0, textOptions));
    // Sequence functions may need the statement run again (catalog/session-sequences.ts);
    // its KV work goes through the transaction they hand it.
    const key = (portal.prepared.statement as ParsedStatement).sql;
    this.armDeadline();
    try {
      return await this.sequences.runStatement(key, txn, (statementTxn) => {
        const checked = writtenTable === undefined ? statementTxn : new DescriptorCheckingTxn(statementTxn, writtenTable.id, writtenTable.version);
        let ctx: ExecContext = { ...this.execContext(txn, portal.params, timing), txn: checked };
        if (catalog !== undefined) ctx = { ...ctx, evalCtx: { ...ctx.evalCtx, catalog } };
        return this.collectRows(analyzed, ctx, columns, encoders, ast);
      });
    } finally {
      this.disarmDeadline();
    }
  }

  private async collectRows(
    analyzed: AnalyzedQuery,
    ctx: ExecContext,
    columns: readonly OutputColumn[],
    encoders: readonly ((d: Datum) => Buffer)[],
    ast: Node,
  ): Promise<{ rows: (Buffer | null)[][]; tag: string }> {
    const rows: (Buffer | null)[][] = [];
    let count = 0;
    const take = (row: Datum[]): void => {
      if (isCountRow(row)) {
        count = Number(row[0] as bigint);
        return;
      }
      if (rows.length >= ctx.maxRowsInMemory) {
        throw new SqlError(SqlStates.outOfMemory, `the result has more than ${ctx.maxRowsInMemory} rows, the most the gateway holds for one statement`, {
          hint: 'Add a LIMIT, or page through the result.',
        });
      }
      const encoded: (Buffer | null)[] = new Array(columns.length);
      for (let i = 0; i < columns.length; i++) {
        const v = row[i] as Datum;
        encoded[i] = v === null ? null : (encoders[i] as (d: Datum) => Buffer)(v);
      }
      rows.push(encoded);
      if ('SelectStmt' in ast) count++;
    };
    const looked = await lookupRows(analyzed.plan, ctx);
    if (looked !== undefined) {
      for (const row of looked) take(row);
    } else {
      for await (const row of execute(analyzed.plan, ctx)) take(row);
    }
    const tag = 'SelectStmt' in ast ? `SELECT ${count}` : 'InsertStmt' in ast ? `INSERT 0 ${count}` : 'UpdateStmt' in ast ? `UPDATE ${count}` : `DELETE ${count}`;
    return { rows, tag };
  }

  private execContext(txn: TxnLike, params: readonly Datum[], timing: { startedMicros: bigint }): ExecContext {
    return {
      txn,
      params,
      evalCtx: this.evalContext(timing.startedMicros),
      tables: this.services.tables,
      checkCancelled: () => {
        if (this.cancelled === undefined && this.deadline !== undefined && performance.now() > this.deadline) {
          this.cancelled = 'canceling statement due to statement timeout';
        }
        if (this.cancelled !== undefined) {
          throw new SqlError(SqlStates.queryCanceled, this.cancelled);
        }
      },
      maxRowsInMemory: Number(this.settings.get('max_rows_in_memory')),
      virtual: { database: this.database.name, txn },
      // Only a client's BEGIN … COMMIT locks what it reads to write (see ExecContext).
      lockReads: this.state.kind !== 'idle',
      ctes: new Map(),
    };
  }

  evalContext(transactionMicros: bigint): EvalContext {
    // `sequences` is read by the sequence built-ins (builtins/eval-context.ts).
    const ctx: EvalContext & { readonly sequences: SequenceAccess } = {
      statementTimeMicros: BigInt(Date.now()) * 1000n,
      transactionTimeMicros: transactionMicros,
      timeZone: this.settings.get('timezone') ?? 'UTC',
      random: this.services.random,
      database: this.database.name,
      user: this.user,
      setting: (name) => this.settings.get(name),
      sequences: this.sequences,
      ...(this.backendPid === undefined ? {} : { backendPid: this.backendPid }),
    };
    return ctx;
  }

  /** Text I/O of parameters and results follows the session's TimeZone, as in PostgreSQL. */
  private textOptions(): TextFormatOptions {
    return { timeZone: resolveTimeZone(this.settings.get('timezone') ?? 'UTC'), nowMicros: BigInt(Date.now()) * 1000n };
  }

  /** When the running statement passes statement_timeout (performance.now() time). */
  private deadline: number | undefined;
  /** Cancels the running statement's KV calls at statement_timeout. */
  private deadlineTimer: NodeJS.Timeout | undefined;
  /** The running statement's KV calls give up when this aborts (cancel, statement_timeout). */
  private interrupt: Interrupt | undefined;
  /** Unix ms at which the nodes give up the running statement's KV calls (its lock waits). */
  private kvDeadlineUnixMs: number | undefined;
  /** What the statement's transaction bounds its KV calls by (kv Txn.statementLimits). */
  private readonly kvLimits: StatementLimits = (() => {
    const session = this; // eslint-disable-line @typescript-eslint/no-this-alias
    return {
      get signal(): Interrupt | undefined {
        return session.interrupt;
      },
      get deadlineUnixMs(): number | undefined {
        return session.kvDeadlineUnixMs;
      },
    };
  })();

  private armDeadline(): void {
    const ms = Number(this.settings.get('statement_timeout') ?? '0');
    this.deadline = ms > 0 ? performance.now() + ms : undefined;
    clearTimeout(this.deadlineTimer);
    if (ms > 0) {
      // The nodes stop waiting after the statement was cancelled here (their lock waits
      // end 0.1 s before the deadline), so that it ends as timed out, not with their error.
      this.kvDeadlineUnixMs = Date.now() + ms + KV_DEADLINE_SLACK_MS;
      this.deadlineTimer = setTimeout(() => {
        this.cancelled ??= 'canceling statement due to statement timeout';
        this.interrupt?.abort();
      }, ms);
    }
  }

  private disarmDeadline(): void {
    this.deadline = undefined;
    this.kvDeadlineUnixMs = undefined;
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
  }

  private async withPlanningTxn<T>(fn: (txn: TxnLike) => Promise<T>): Promise<T> {
    if (this.state.kind !== 'idle') {
      return fn(this.state.counted);
    }
    const txn = this.services.kv.beginTxn();
    try {
      return await fn(txn);
    } finally {
      await txn.rollback().catch(() => undefined);
    }
  }

  private async asOfTimestamp(expr: string): Promise<Timestamp> {
    const value = await evaluateConstant(expr, this.evalContext(BigInt(Date.now()) * 1000n));
    const nowNanos = BigInt(Date.now()) * 1_000_000n;
    let wall: bigint;
    if (value.type.kind === 'scalar' && value.type.name === 'interval') {
      const iv = value.value as { months: number; days: number; micros: bigint };
      const deltaMicros = iv.micros + BigInt(iv.days) * 86_400_000_000n + BigInt(iv.months) * 30n * 86_400_000_000n;
      wall = nowNanos + deltaMicros * 1000n;
    } else if (value.type.kind === 'scalar' && (value.type.name === 'timestamptz' || value.type.name === 'timestamp')) {
      wall = (value.value as bigint) * 1000n;
    } else if (value.type.kind === 'scalar' && ['int2', 'int4', 'int8'].includes(value.type.name)) {
      wall = value.value as bigint;
    } else {
      throw new SqlError(SqlStates.invalidParameterValue, `AS OF SYSTEM TIME: expected a timestamp, interval or integer, got ${expr}`);
    }
    if (wall > nowNanos) {
      throw new SqlError(SqlStates.invalidParameterValue, 'AS OF SYSTEM TIME: cannot specify timestamp in the future');
    }
    return { wallTime: wall, logical: 0 };
  }

  // -------------------------------------------------------------------------------
  // Transaction control

  private async transactionControl(stmt: TransactionStmt, parsed: ParsedStatement): Promise<string> {
    const state = this.state;
    switch (stmt.kind) {
      case 'TRANS_STMT_BEGIN':
      case 'TRANS_STMT_START': {
        if (state.kind !== 'idle') {
          this.notice('25001', 'there is already a transaction in progress');
          return 'BEGIN';
        }
        const asOf = parsed.asOfSystemTime === undefined ? undefined : await this.asOfTimestamp(parsed.asOfSystemTime);
        const txn = this.services.kv.beginTxn(asOf === undefined ? {} : { asOf });
        this.state = { kind: 'open', txn, counted: new SavepointTxn(txn), startedMicros: micros(txn.readTimestamp), savepoints: [], dropped: { value: false } };
        return 'BEGIN';
      }
      case 'TRANS_STMT_COMMIT': {
        if (state.kind === 'idle') {
          this.notice('25P01', 'there is no transaction in progress');
          return 'COMMIT';
        }
        this.state = { kind: 'idle' };
        try {
          if (state.kind === 'failed') {
            if (state.conflict !== undefined) this.services.onTxn?.('abort', state.conflict);
            await state.txn.rollback().catch(() => undefined);
            return 'ROLLBACK';
          }
          await state.txn.commit();
          this.services.onTxn?.('commit');
          if (state.dropped.value) this.services.onDataDropped?.();
          return 'COMMIT';
        } catch (err) {
          const conflict = conflictReasonOf(err);
          if (conflict !== undefined) this.services.onTxn?.('abort', conflict);
          if (state.txn.status === 'pending') await state.txn.rollback().catch(() => undefined);
          throw err;
        } finally {
          this.services.catalog.transactionEnded(state.txn);
        }
      }
      case 'TRANS_STMT_ROLLBACK': {
        if (state.kind === 'idle') {
          this.notice('25P01', 'there is no transaction in progress');
          return 'ROLLBACK';
        }
        this.state = { kind: 'idle' };
        if (state.kind === 'failed' && state.conflict !== undefined) this.services.onTxn?.('abort', state.conflict);
        await state.txn.rollback().catch(() => undefined);
        this.services.catalog.transactionEnded(state.txn);
        return 'ROLLBACK';
      }
      case 'TRANS_STMT_SAVEPOINT': {
        if (state.kind === 'idle') {
          throw new SqlError(SqlStates.noActiveSqlTransaction, 'SAVEPOINT can only be used in transaction blocks');
        }
        if (state.kind === 'failed') {
          throw new SqlError(SqlStates.inFailedSqlTransaction, 'current transaction is aborted, commands ignored until end of transaction block');
        }
        state.savepoints.push({ name: stmt.savepoint_name as string, undoMark: state.counted.undoLength });
        state.counted.logging = true;
        return 'SAVEPOINT';
      }
      case 'TRANS_STMT_RELEASE': {
        if (state.kind === 'idle') {
          throw new SqlError(SqlStates.noActiveSqlTransaction, 'RELEASE SAVEPOINT can only be used in transaction blocks');
        }
        if (state.kind === 'failed') {
          throw new SqlError(SqlStates.inFailedSqlTransaction, 'current transaction is aborted, commands ignored until end of transaction block');
        }
        const at = savepointIndex(state.savepoints, stmt.savepoint_name as string);
        state.savepoints.length = at;
        if (at === 0) state.counted.clear();
        return 'RELEASE';
      }
      case 'TRANS_STMT_ROLLBACK_TO': {
        if (state.kind === 'idle') {
          throw new SqlError(SqlStates.noActiveSqlTransaction, 'ROLLBACK TO SAVEPOINT can only be used in transaction blocks');
        }
        const at = savepointIndex(state.savepoints, stmt.savepoint_name as string);
        const savepoint = state.savepoints[at] as Savepoint;
        const undone = state.counted.undoLength > savepoint.undoMark;
        try {
          await state.counted.rollbackTo(savepoint.undoMark);
        } catch (err) {
          // The transaction itself failed (aborted, say): only a full ROLLBACK is left.
          this.state = { ...state, kind: 'failed' };
          throw err;
        }
        // Undone schema changes: cached descriptors may be ones the rollback removed.
        if (undone) this.services.catalog.invalidate();
        state.savepoints.length = at + 1;
        this.state = { ...state, kind: 'open' };
        return 'ROLLBACK';
      }
      default:
        throw new SqlError(SqlStates.featureNotSupported, `${stmt.kind?.replace('TRANS_STMT_', '')} is not supported`);
    }
  }

  private readonly notices: { sqlState: string; message: string }[] = [];

  private notice(sqlState: string, message: string): void {
    this.notices.push({ sqlState, message });
  }

  // -------------------------------------------------------------------------------
  // Utility statements

  private async utility(statement: ParsedStatement, txn: TxnLike, portal: BoundPortal, timing: { startedMicros: bigint }): Promise<string> {
    const ast = statement.ast;
    const env: ddl.DdlEnv = {
      catalog: this.services.catalog,
      txn,
      database: this.database,
      schemaId: this.schemaId,
      user: this.user,
      sql: statement.sql,
      sequences: this.sequences,
      notice: (sqlState, message) => this.notice(sqlState, message),
    };
    if ('CreateStmt' in ast) {
      await ddl.createTable(env, ast.CreateStmt);
      return 'CREATE TABLE';
    }
    if ('DropStmt' in ast) {
      const drop = ast.DropStmt;
      const missingOk = drop.missing_ok === true;
      for (const object of drop.objects ?? []) {
        const names = ((object as { List?: { items?: Node[] } }).List?.items ?? []).map(stringOf);
        const name = names[names.length - 1] as string;
        const schemaname = names.length > 1 ? names[names.length - 2] : undefined;
        switch (drop.removeType) {
          case 'OBJECT_TABLE':
            await ddl.dropTable(env, { relname: name, ...(schemaname === undefined ? {} : { schemaname }) }, missingOk);
            break;
          case 'OBJECT_INDEX':
            await ddl.dropIndex(env, names, missingOk);
            break;
          case 'OBJECT_SEQUENCE':
            await ddl.dropSequence(env, names, missingOk, drop.behavior === 'DROP_CASCADE');
            break;
          default:
            throw new SqlError(SqlStates.featureNotSupported, `DROP ${String(drop.removeType).replace('OBJECT_', '')} is not supported`);
        }
      }
      return drop.removeType === 'OBJECT_INDEX' ? 'DROP INDEX' : drop.removeType === 'OBJECT_SEQUENCE' ? 'DROP SEQUENCE' : 'DROP TABLE';
    }
    if ('CreateSeqStmt' in ast) {
      await ddl.createSequence(env, ast.CreateSeqStmt);
      return 'CREATE SEQUENCE';
    }
    if ('AlterSeqStmt' in ast) {
      await ddl.alterSequence(env, ast.AlterSeqStmt);
      return 'ALTER SEQUENCE';
    }
    if ('IndexStmt' in ast) {
      await ddl.createIndex(env, ast.IndexStmt);
      return 'CREATE INDEX';
    }
    if ('CreatedbStmt' in ast) {
      await ddl.createDatabase(this.services.catalog, txn, ast.CreatedbStmt.dbname as string, this.user);
      return 'CREATE DATABASE';
    }
    if ('DropdbStmt' in ast) {
      await ddl.dropDatabase(this.services.catalog, txn, ast.DropdbStmt.dbname as string, ast.DropdbStmt.missing_ok === true, this.database.name);
      return 'DROP DATABASE';
    }
    if ('TruncateStmt' in ast) {
      const relations = (ast.TruncateStmt.relations ?? []).map((rel) => (rel as { RangeVar: import('@pgsql/types').RangeVar }).RangeVar);
      await ddl.truncateTables(env, relations, ast.TruncateStmt.behavior === 'DROP_CASCADE');
      return 'TRUNCATE TABLE';
    }
    if ('AlterTableStmt' in ast) {
      await ddl.alterTable(env, ast.AlterTableStmt.relation as import('@pgsql/types').RangeVar, ast.AlterTableStmt.cmds ?? [], ast.AlterTableStmt.missing_ok === true);
      return 'ALTER TABLE';
    }
    if ('VariableSetStmt' in ast) {
      return this.set(ast.VariableSetStmt);
    }
    if (statement.showTrace === true) {
      const options = this.textOptions();
      const encoders = SHOW_TRACE_COLUMNS.map((c, i) => encoder(c.type, portal.description.resultFormats[i] ?? 0, options));
      portal.rows = this.trace.rows().map((row) => row.map((d, i) => (d === null ? null : (encoders[i] as (d: Datum) => Buffer)(d))));
      return 'SHOW';
    }
    if ('VariableShowStmt' in ast) {
      const name = ast.VariableShowStmt.name ?? '';
      // A text value's binary form is its UTF-8 bytes too.
      const text = (v: string): Buffer => Buffer.from(v, 'utf8');
      if (name.toLowerCase() === 'all') {
        portal.rows = this.settings.all().map(([n, v]) => [Buffer.from(displayName(n)), text(v), Buffer.from('')]);
      } else {
        portal.rows = [[text(this.show(name))]];
      }
      return 'SHOW';
    }
    if ('ExplainStmt' in ast) {
      const analyzed = await this.analyze(ast.ExplainStmt.query as Node, [...portal.prepared.paramTypes], txn);
      const lines = await explainLines(analyzed.plan, this.execContext(txn, portal.params, timing), (key) => this.services.kv.lookupRange(key));
      portal.rows = lines.map((l) => [Buffer.from(l, 'utf8')]);
      return 'EXPLAIN';
    }
    if ('VacuumStmt' in ast) {
      return ast.VacuumStmt.is_vacuumcmd === false ? 'ANALYZE' : 'VACUUM';
    }
    if ('CreateRoleStmt' in ast) {
      await this.services.users.createFromStatement(txn, ast.CreateRoleStmt);
      return 'CREATE ROLE';
    }
    if ('AlterRoleStmt' in ast) {
      await this.services.users.alterFromStatement(txn, ast.AlterRoleStmt);
      return 'ALTER ROLE';
    }
    if ('DiscardStmt' in ast) {
      return 'DISCARD ALL';
    }
    if ('DeallocateStmt' in ast) {
      return 'DEALLOCATE';
    }
    if ('CreateSchemaStmt' in ast) {
      if (ast.CreateSchemaStmt.schemaname === 'public' && ast.CreateSchemaStmt.if_not_exists === true) return 'CREATE SCHEMA';
      throw new SqlError(SqlStates.featureNotSupported, 'schemas other than public are not supported');
    }
    throw new SqlError(SqlStates.featureNotSupported, `statement ${Object.keys(ast)[0]} is not supported`);
  }

  private set(stmt: VariableSetStmt): string {
    this.settingsEpoch++;
    const name = (stmt.name ?? '').toLowerCase();
    if (stmt.kind === 'VAR_SET_MULTI') {
      // SET TRANSACTION ... / SET SESSION CHARACTERISTICS: isolation levels are all serializable.
      return 'SET';
    }
    if (stmt.kind === 'VAR_RESET_ALL') {
      for (const [n] of this.settings.all()) {
        if (SETTINGS[n]?.readOnly !== true) this.settings.reset(n);
      }
      return 'RESET';
    }
    if (stmt.kind === 'VAR_RESET' || stmt.kind === 'VAR_SET_DEFAULT') {
      this.report(name, this.settings.reset(name));
      return stmt.kind === 'VAR_RESET' ? 'RESET' : 'SET';
    }
    const value = (stmt.args ?? [])
      .map((a) => {
        if ('A_Const' in a) {
          const c = a.A_Const;
          return c.sval?.sval ?? (c.ival === undefined ? undefined : String(c.ival.ival ?? 0)) ?? c.fval?.fval ?? (c.boolval === undefined ? undefined : String(c.boolval.boolval === true)) ?? '';
        }
        if ('TypeCast' in a) {
          const inner = a.TypeCast.arg as Node;
          return 'A_Const' in inner ? (inner.A_Const.sval?.sval ?? String(inner.A_Const.ival?.ival ?? '')) : '';
        }
        return stringOfSafe(a);
      })
      .join(', ');
    if (name === 'timezone' && stmt.args?.[0] !== undefined && 'TypeCast' in stmt.args[0]) {
      // SET TIME ZONE INTERVAL '+02:00' HOUR TO MINUTE
      this.report(name, this.settings.set(name, value));
      return 'SET';
    }
    this.report(name, this.settings.set(name, value));
    return 'SET';
  }

  /** ParameterStatus changes owed to the client. */
  private readonly reported = new Map<string, string>();

  /** Sends the notices and ParameterStatus changes a statement produced. */
  private flushMessages(sink: ResultSink): void {
    for (const { sqlState, message } of this.notices.splice(0)) {
      sink.notice({ severity: 'WARNING', sqlState, message });
    }
    for (const [name, value] of this.reported) {
      sink.parameterStatus(name, value);
    }
    this.reported.clear();
  }

  private report(name: string, changed: string | undefined): void {
    if (changed !== undefined && SETTINGS[name]?.reported === true) {
      this.reported.set(displayName(name), changed);
    }
  }

  private show(name: string): string {
    const key = name.toLowerCase();
    if (key === 'transaction isolation level' || key === 'transaction_isolation') return 'serializable';
    if (key === 'session authorization' || key === 'session_authorization') return this.user;
    const value = this.settings.get(key);
    if (value === undefined) {
      throw new SqlError(SqlStates.undefinedObject, `unrecognized configuration parameter "${name}"`);
    }
    return value;
  }

  private async copy(statement: ParsedStatement, sink: ResultSink): Promise<string> {
    if (this.state.kind === 'failed') {
      throw new SqlError(SqlStates.inFailedSqlTransaction, 'current transaction is aborted, commands ignored until end of transaction block');
    }
    const ast = statement.ast as { CopyStmt: import('@pgsql/types').CopyStmt };
    // The data comes once: COPY cannot be retried, so it runs in one transaction (or the open one).
    const state = this.state;
    if (state.kind === 'open') {
      try {
        return await copyFrom(ast.CopyStmt, sink, () => this.copyEnv(state.counted, state.startedMicros), state.txn);
      } catch (err) {
        this.state = { ...state, kind: 'failed' };
        throw toSqlError(err, this.cancelled);
      }
    }
    const txn = this.services.kv.beginTxn();
    try {
      const tag = await copyFrom(ast.CopyStmt, sink, (t) => this.copyEnv(t, micros(txn.readTimestamp)), txn);
      await txn.commit();
      return tag;
    } catch (err) {
      if (txn.status === 'pending') await txn.rollback().catch(() => undefined);
      throw toSqlError(err, this.cancelled);
    }
  }

  private copyEnv(txn: TxnLike, startedMicros: bigint): { analyzer: QueryAnalyzer; ctx: ExecContext } {
    return {
      analyzer: new QueryAnalyzer({
        catalog: this.services.catalog,
        txn,
        database: this.database,
        schemaId: this.schemaId,
        paramTypes: [],
        virtualTable: () => undefined,
        evalContext: this.evalContext(startedMicros),
      }),
      ctx: this.execContext(txn, [], { startedMicros }),
    };
  }

  private virtualSource(txn: TxnLike) {
    return {
      catalog: this.services.catalog,
      txn,
      database: this.database,
      user: this.user,
      settings: () => this.settings.all(),
      users: this.services.users,
    };
  }
}

/** A plan lookupRows may serve (lookupShape) that reads the primary index without locking. */
function readsByPrimaryKey(node: PlanNode): boolean {
  const scan = lookupShape(node)?.scan;
  return scan !== undefined && scan.index.id === scan.table.primaryIndex.id && !scan.forUpdate;
}

function micros(ts: Timestamp): bigint {
  return ts.wallTime / 1000n;
}

function encoder(type: SqlType, format: FormatCode, options: TextFormatOptions): (d: Datum) => Buffer {
  return format === 1 ? (d) => encodeBinary(type, d) : (d) => Buffer.from(formatText(type, d, options), 'utf8');
}

function describeColumn(c: OutputColumn): ColumnDescription {
  return {
    name: c.name,
    tableOid: c.tableId,
    columnNumber: c.columnNumber,
    typeOid: typeOid(c.type),
    typeSize: typeLen(c.type),
    typeModifier: pgTypmod(c.type),
  };
}

function showColumnName(name: string): string {
  const key = name.toLowerCase();
  if (key === 'transaction isolation level') return 'transaction_isolation';
  if (key === 'session authorization') return 'session_authorization';
  return displayName(key) === key ? key : displayName(key);
}

function stringOfSafe(node: Node): string {
  try {
    return stringOf(node);
  } catch {
    return '';
  }
}

/** The statement's kind for metrics and logs (SELECT, INSERT, DDL, ...). */
export function statementKind(ast: Node): string {
  const key = Object.keys(ast)[0] ?? 'Unknown';
  switch (key) {
    case 'SelectStmt':
      return 'SELECT';
    case 'InsertStmt':
      return 'INSERT';
    case 'UpdateStmt':
      return 'UPDATE';
    case 'DeleteStmt':
      return 'DELETE';
    case 'TransactionStmt':
      return 'TCL';
    case 'CopyStmt':
      return 'COPY';
    case 'VariableSetStmt':
    case 'VariableShowStmt':
      return 'SET';
    case 'ExplainStmt':
      return 'EXPLAIN';
    default:
      return 'DDL';
  }
}

/** Any error as the client should see it. */
export function toSqlError(err: unknown, cancelled: string | undefined): SqlError {
  if (err instanceof SqlError) return err;
  if (cancelled !== undefined) return new SqlError(SqlStates.queryCanceled, cancelled);
  if (err instanceof CairnError) {
    const message = err.sqlState === SqlStates.serializationFailure ? `restart transaction: ${err.message}` : err.message;
    return new SqlError(err.sqlState, message, { cause: err });
  }
  return new SqlError(SqlStates.internalError, `internal error: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

export type { SelectStmt, PlanNode };

function savepointIndex(savepoints: readonly Savepoint[], name: string): number {
  for (let i = savepoints.length - 1; i >= 0; i--) {
    if ((savepoints[i] as Savepoint).name === name) return i;
  }
  throw new SqlError(SqlStates.invalidSavepointSpecification, `savepoint "${name}" does not exist`);
}

/** The statement's fingerprint, made once per parsed statement. */
const fingerprints = new WeakMap<ParsedStatement, string>();

function fingerprintOf(statement: ParsedStatement): string {
  let fingerprint = fingerprints.get(statement);
  if (fingerprint === undefined) {
    fingerprint = statementFingerprint(statement.sql);
    fingerprints.set(statement, fingerprint);
  }
  return fingerprint;
}

/**
 * The conflict that ended or restarts a transaction (its code and reason), or undefined
 * when `err` is no conflict (a constraint violation, a bad statement...).
 */
function conflictReasonOf(err: unknown): string | undefined {
  if (err instanceof SqlError) return err.sqlState === SqlStates.serializationFailure ? 'SERIALIZATION_FAILURE' : undefined;
  return isRetryableTxnError(err) || (err instanceof CairnError && err.code === 'AMBIGUOUS_RESULT') ? retryReasonOf(err) : undefined;
}

/** Why a transaction had to start over, for its span: the error's code and reason, never its message. */
function retryReasonOf(err: unknown): string {
  const e = err as { code?: unknown; reason?: unknown };
  return [e.code, e.reason].filter((part) => typeof part === 'string').join('/');
}
