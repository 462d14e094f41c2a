/**
 * A tiny SqlEngine for the protocol tests: a handful of statement shapes recognised by
 * regular expressions, over one in-memory table items(id int4, name text). It tracks
 * transaction status (BEGIN/COMMIT/ROLLBACK, failed transactions), supports text and
 * binary int4/text values, COPY FROM STDIN, NOTICE, ParameterStatus, cancellation and
 * records what the protocol layer asked of it.
 */
import { SqlError, SqlStates, isSqlState } from '../../../common/errors';
import { createScramVerifier } from '../scram';
import type {
  ColumnDescription,
  ExecuteOutcome,
  FormatCode,
  PortalHandle,
  PreparedStatementHandle,
  ResultSink,
  ScramVerifier,
  SqlEngine,
  SqlSession,
  StartupInfo,
  TransactionStatus,
} from '../sql-session';

export const INT4_OID = 23;
export const TEXT_OID = 25;
export const VOID_OID = 2278;

type Value = number | string | null;

function column(name: string, typeOid: number): ColumnDescription {
  return {
    name,
    tableOid: 0,
    columnNumber: 0,
    typeOid,
    typeSize: typeOid === INT4_OID ? 4 : typeOid === VOID_OID ? 4 : -1,
    typeModifier: -1,
  };
}

const ITEMS_COLUMNS = [
  { ...column('id', INT4_OID), tableOid: 16384, columnNumber: 1 },
  { ...column('name', TEXT_OID), tableOid: 16384, columnNumber: 2 },
];

interface RunResult {
  readonly rows?: Value[][];
  readonly tag: string;
}

interface RunContext {
  readonly params: readonly Value[];
  readonly sink: ResultSink;
  readonly session: FakeSession;
}

interface Plan {
  readonly sql: string;
  readonly paramTypeOids: readonly number[];
  readonly columns: readonly ColumnDescription[] | undefined;
  readonly transactionControl: boolean;
  readonly empty: boolean;
  run(context: RunContext): Promise<RunResult>;
}

interface FakeStatement extends PreparedStatementHandle {
  readonly plan: Plan;
}

interface FakePortal extends PortalHandle {
  readonly plan: Plan;
  readonly params: readonly Value[];
  result: RunResult | undefined;
  position: number;
}

function planOf(
  sql: string,
  paramTypeOids: readonly number[],
  columns: readonly ColumnDescription[] | undefined,
  run: (context: RunContext) => Promise<RunResult> | RunResult,
  transactionControl = false,
): Plan {
  return { sql, paramTypeOids, columns, transactionControl, empty: false, run: async (c) => run(c) };
}

function typeOidOf(name: string): number {
  return name.toLowerCase() === 'int4' ? INT4_OID : TEXT_OID;
}

/** Statement shapes → plans. */
function plan(engine: FakeEngine, statementSql: string): Plan {
  const sql = statementSql.trim();
  let m: RegExpExecArray | null;
  if (sql === '') {
    return { sql, paramTypeOids: [], columns: undefined, transactionControl: false, empty: true, run: async () => ({ tag: '' }) };
  }
  if ((m = /^select (-?\d+)$/i.exec(sql))) {
    const n = Number(m[1]);
    return planOf(sql, [], [column('?column?', INT4_OID)], () => ({ rows: [[n]], tag: 'SELECT 1' }));
  }
  if (/^select \* from items$/i.test(sql)) {
    return planOf(sql, [], ITEMS_COLUMNS, () => {
      const rows = engine.items.map((item) => [item.id, item.name]);
      return { rows, tag: `SELECT ${rows.length}` };
    });
  }
  if (/^select \* from items where id = \$1$/i.test(sql)) {
    return planOf(sql, [INT4_OID], ITEMS_COLUMNS, ({ params }) => {
      const rows = engine.items.filter((item) => item.id === params[0]).map((item) => [item.id, item.name]);
      return { rows, tag: `SELECT ${rows.length}` };
    });
  }
  if ((m = /^select generate_series\(1, ?(\d+)\)$/i.exec(sql))) {
    const n = Number(m[1]);
    return planOf(sql, [], [column('generate_series', INT4_OID)], () => {
      const rows = Array.from({ length: n }, (_, i) => [i + 1]);
      return { rows, tag: `SELECT ${n}` };
    });
  }
  if ((m = /^select \$1::(int4|text)(?:, ?\$2::(int4|text))?$/i.exec(sql))) {
    const types = [m[1]!, ...(m[2] === undefined ? [] : [m[2]])].map(typeOidOf);
    return planOf(
      sql,
      types,
      types.map((oid, i) => column(`p${i + 1}`, oid)),
      ({ params }) => ({ rows: [[...params]], tag: 'SELECT 1' }),
    );
  }
  if ((m = /^select pg_sleep\(([\d.]+)\)$/i.exec(sql))) {
    const ms = Number(m[1]) * 1000;
    return planOf(sql, [], [column('pg_sleep', VOID_OID)], async ({ session }) => {
      await session.sleep(ms);
      return { rows: [['']], tag: 'SELECT 1' };
    });
  }
  if ((m = /^select error\('([0-9A-Z]{5})', ?'([^']*)'\)$/i.exec(sql))) {
    const code = m[1]!;
    const message = m[2]!;
    return planOf(sql, [], [column('error', TEXT_OID)], () => {
      if (!isSqlState(code)) {
        throw new Error(`bad code ${code}`);
      }
      throw new SqlError(code, message, { detail: 'the detail', hint: 'the hint', position: 8 });
    });
  }
  if (/^select internal_bug\(\)$/i.test(sql)) {
    return planOf(sql, [], [column('internal_bug', TEXT_OID)], () => {
      throw new Error('boom');
    });
  }
  if ((m = /^select notice\('([^']*)'\)$/i.exec(sql))) {
    const text = m[1]!;
    return planOf(sql, [], [column('notice', TEXT_OID)], ({ sink }) => {
      sink.notice({ severity: 'NOTICE', sqlState: '00000', message: text, detail: 'notice detail' });
      return { rows: [[text]], tag: 'SELECT 1' };
    });
  }
  if ((m = /^select big\((\d+), ?(\d+)\)$/i.exec(sql))) {
    const n = Number(m[1]);
    const size = Number(m[2]);
    return planOf(sql, [], [column('big', TEXT_OID)], () => {
      const value = 'x'.repeat(size);
      return { rows: Array.from({ length: n }, () => [value]), tag: `SELECT ${n}` };
    });
  }
  if (/^(begin|start transaction)$/i.test(sql)) {
    return planOf(
      sql,
      [],
      undefined,
      ({ session }) => {
        session.status = 'T';
        return { tag: 'BEGIN' };
      },
      true,
    );
  }
  if (/^(commit|rollback)$/i.test(sql)) {
    return planOf(
      sql,
      [],
      undefined,
      ({ session }) => {
        const failed = session.status === 'E';
        session.status = 'I';
        return { tag: failed || /^rollback$/i.test(sql) ? 'ROLLBACK' : 'COMMIT' };
      },
      true,
    );
  }
  if (/^copy items from stdin$/i.test(sql)) {
    return planOf(sql, [], undefined, async ({ sink }) => {
      let text = '';
      for await (const chunk of sink.copyIn({ format: 0, columnFormats: [0, 0] })) {
        text += chunk.toString('utf8');
      }
      const lines = text.split('\n').filter((line) => line !== '' && line !== '\\.');
      const rows = lines.map((line) => {
        const [id, name] = line.split('\t');
        if (id === undefined || name === undefined || !/^-?\d+$/.test(id)) {
          throw new SqlError(SqlStates.invalidTextRepresentation, `invalid COPY line: ${JSON.stringify(line)}`);
        }
        return { id: Number(id), name };
      });
      engine.items.push(...rows);
      return { tag: `COPY ${rows.length}` };
    });
  }
  if ((m = /^insert into items values \((-?\d+), ?'([^']*)'\)$/i.exec(sql))) {
    const item = { id: Number(m[1]), name: m[2]! };
    return planOf(sql, [], undefined, () => {
      engine.items.push(item);
      return { tag: 'INSERT 0 1' };
    });
  }
  if ((m = /^set application_name (?:=|to) '([^']*)'$/i.exec(sql))) {
    const value = m[1]!;
    return planOf(sql, [], undefined, ({ sink }) => {
      sink.parameterStatus('application_name', value);
      return { tag: 'SET' };
    });
  }
  throw new SqlError(SqlStates.syntaxError, `syntax error at or near "${sql.split(/\s+/)[0]}"`, { position: 1 });
}

function encodeValue(value: Value, typeOid: number, format: FormatCode): Buffer | null {
  if (value === null) {
    return null;
  }
  if (typeOid === INT4_OID && format === 1) {
    const b = Buffer.alloc(4);
    b.writeInt32BE(Number(value));
    return b;
  }
  return Buffer.from(String(value), 'utf8');
}

function decodeParam(value: Buffer | null, typeOid: number, format: FormatCode): Value {
  if (value === null) {
    return null;
  }
  if (typeOid !== INT4_OID) {
    return value.toString('utf8');
  }
  if (format === 1) {
    if (value.length !== 4) {
      throw new SqlError(SqlStates.invalidBinaryRepresentation, 'incorrect binary data format in bind parameter');
    }
    return value.readInt32BE(0);
  }
  const text = value.toString('utf8');
  if (!/^-?\d+$/.test(text)) {
    throw new SqlError(SqlStates.invalidTextRepresentation, `invalid input syntax for type integer: "${text}"`);
  }
  return Number(text);
}

export class FakeSession implements SqlSession {
  status: TransactionStatus = 'I';
  closeCalls = 0;
  cancelCalls = 0;
  syncCalls = 0;
  prepareCalls = 0;
  readonly closedStatements: string[] = [];
  readonly closedPortals: string[] = [];
  /** Statements run, in order (simple and extended). */
  readonly ran: string[] = [];
  drainWaits = 0;
  private cancelled = false;
  private wakeSleeper: (() => void) | undefined;

  constructor(
    private readonly engine: FakeEngine,
    readonly startup: StartupInfo,
  ) {}

  initialParameters(): ReadonlyMap<string, string> {
    return new Map([
      ['server_version', '16.0'],
      ['server_encoding', 'UTF8'],
      ['client_encoding', 'UTF8'],
      ['DateStyle', 'ISO, MDY'],
      ['integer_datetimes', 'on'],
      ['standard_conforming_strings', 'on'],
      ['TimeZone', 'UTC'],
      ['application_name', this.startup.parameters.get('application_name') ?? ''],
    ]);
  }

  transactionStatus(): TransactionStatus {
    return this.status;
  }

  /** Waits `ms` or until cancelled (then 57014). */
  async sleep(ms: number): Promise<void> {
    if (this.cancelled) {
      this.cancelled = false;
      throw canceled();
    }
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.wakeSleeper = resolve;
      timer = setTimeout(resolve, ms);
    });
    clearTimeout(timer);
    this.wakeSleeper = undefined;
    if (this.cancelled) {
      this.cancelled = false;
      throw canceled();
    }
  }

  private async runPlan(p: Plan, params: readonly Value[], sink: ResultSink): Promise<RunResult> {
    if (this.status === 'E' && !p.transactionControl) {
      throw new SqlError(
        SqlStates.inFailedSqlTransaction,
        'current transaction is aborted, commands ignored until end of transaction block',
      );
    }
    this.cancelled = false;
    this.ran.push(p.sql);
    try {
      return await p.run({ params, sink, session: this });
    } catch (err) {
      if (this.status === 'T') {
        this.status = 'E';
      }
      throw err;
    }
  }

  private async emitRows(
    rows: readonly Value[][],
    columns: readonly ColumnDescription[],
    formats: readonly FormatCode[],
    sink: ResultSink,
  ): Promise<void> {
    for (const row of rows) {
      if (sink.congested) {
        this.drainWaits++;
        await sink.drain();
      }
      sink.row(row.map((value, i) => encodeValue(value, columns[i]!.typeOid, formats[i] ?? 0)));
    }
  }

  async simpleQuery(sql: string, sink: ResultSink, complete: (outcome: ExecuteOutcome) => void): Promise<void> {
    const statements = sql.split(';').filter((s) => s.trim() !== '');
    if (statements.length === 0) {
      complete({ kind: 'empty' });
      return;
    }
    for (const statementSql of statements) {
      let p: Plan;
      try {
        p = plan(this.engine, statementSql);
      } catch (err) {
        if (this.status === 'T') {
          this.status = 'E';
        }
        throw err;
      }
      const result = await this.runPlan(p, [], sink);
      if (p.columns !== undefined) {
        const formats = p.columns.map((): FormatCode => 0);
        sink.describe(p.columns, formats);
        await this.emitRows(result.rows ?? [], p.columns, formats, sink);
      }
      complete({ kind: 'complete', commandTag: result.tag });
    }
  }

  async prepare(sql: string, _paramTypeOids: readonly number[]): Promise<PreparedStatementHandle> {
    this.prepareCalls++;
    if (sql.split(';').filter((s) => s.trim() !== '').length > 1) {
      throw new SqlError(SqlStates.syntaxError, 'cannot insert multiple commands into a prepared statement');
    }
    const p = plan(this.engine, sql.replace(/;\s*$/, ''));
    const statement: FakeStatement = { plan: p, description: { paramTypeOids: p.paramTypeOids, columns: p.columns } };
    return statement;
  }

  async bind(
    statement: PreparedStatementHandle,
    params: readonly (Buffer | null)[],
    paramFormats: readonly FormatCode[],
    resultFormats: readonly FormatCode[],
  ): Promise<PortalHandle> {
    const p = (statement as FakeStatement).plan;
    if (this.status === 'E' && !p.transactionControl) {
      throw new SqlError(
        SqlStates.inFailedSqlTransaction,
        'current transaction is aborted, commands ignored until end of transaction block',
      );
    }
    const values = params.map((value, i) => decodeParam(value, p.paramTypeOids[i]!, paramFormats[i]!));
    const portal: FakePortal = {
      plan: p,
      params: values,
      result: undefined,
      position: 0,
      description: { columns: p.columns, resultFormats },
    };
    return portal;
  }

  async execute(handle: PortalHandle, maxRows: number, sink: ResultSink): Promise<ExecuteOutcome> {
    const portal = handle as FakePortal;
    if (portal.plan.empty) {
      return { kind: 'empty' };
    }
    portal.result ??= await this.runPlan(portal.plan, portal.params, sink);
    const columns = portal.plan.columns;
    if (columns === undefined) {
      return { kind: 'complete', commandTag: portal.result.tag };
    }
    const rows = portal.result.rows ?? [];
    const end = maxRows === 0 ? rows.length : Math.min(rows.length, portal.position + maxRows);
    const batch = rows.slice(portal.position, end);
    portal.position = end;
    await this.emitRows(batch, columns, portal.description.resultFormats, sink);
    if (end < rows.length) {
      return { kind: 'suspended' };
    }
    return { kind: 'complete', commandTag: `SELECT ${batch.length}` };
  }

  closePortal(portal: PortalHandle): void {
    this.closedPortals.push((portal as FakePortal).plan.sql);
  }

  closeStatement(statement: PreparedStatementHandle): void {
    this.closedStatements.push((statement as FakeStatement).plan.sql);
  }

  async sync(): Promise<void> {
    this.syncCalls++;
  }

  cancel(): void {
    this.cancelCalls++;
    this.cancelled = true;
    this.wakeSleeper?.();
  }

  async close(): Promise<void> {
    this.closeCalls++;
    this.status = 'I';
  }
}

function canceled(): SqlError {
  return new SqlError(SqlStates.queryCanceled, 'canceling statement due to user request');
}

export class FakeEngine implements SqlEngine {
  readonly items: { id: number; name: string }[] = [
    { id: 1, name: 'one' },
    { id: 2, name: 'two' },
    { id: 3, name: 'three' },
  ];
  readonly sessions: FakeSession[] = [];
  readonly verifierLookups: string[] = [];
  private readonly verifiers = new Map<string, ScramVerifier>();

  constructor(users: Readonly<Record<string, string>> = { alice: 'secret' }) {
    for (const [user, password] of Object.entries(users)) {
      this.verifiers.set(user, createScramVerifier(password, Buffer.from(`salt-of-${user}`)));
    }
  }

  async scramVerifier(user: string): Promise<ScramVerifier | undefined> {
    this.verifierLookups.push(user);
    return this.verifiers.get(user);
  }

  async openSession(startup: StartupInfo): Promise<SqlSession> {
    if (startup.database === 'nodb') {
      throw new SqlError(SqlStates.invalidCatalogName, `database "${startup.database}" does not exist`);
    }
    const session = new FakeSession(this, startup);
    this.sessions.push(session);
    return session;
  }

  /** The most recent session. */
  get lastSession(): FakeSession {
    const session = this.sessions[this.sessions.length - 1];
    if (session === undefined) {
      throw new Error('no session yet');
    }
    return session;
  }
}
