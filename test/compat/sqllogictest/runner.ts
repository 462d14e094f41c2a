/**
 * Runs sqllogictest files over the PostgreSQL wire protocol. Each file gets a database
 * of its own (a `DatabaseProvider`), one session, and its records in order. The
 * judging is in compare.ts; this file owns the connections, timers and the file tally.
 *
 * Values are asked for as PostgreSQL's text (a type parser that returns the raw string
 * for every type OID) and rows as arrays (duplicate column names stay distinct), over
 * the simple query protocol, so formatting sees exactly what the server sent.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ClientConfig, CustomTypesConfig, QueryArrayResult } from 'pg';
import { Client, DatabaseError } from 'pg';
import type { FailureKind, FileCheckState, SqlOutcome } from './compare';
import { checkQuery, checkStatement, newFileCheckState } from './compare';
import type { SltRecord } from './parse';
import { conditionsAllow, parseSlt, SltParseError } from './parse';

/** One connection's worth of SQL: run a text, get rows or an error. */
export interface SqlSession {
  /** Throws only when the server cannot be reached at all (the file stops there). */
  run(sql: string): Promise<SqlOutcome>;
  close(): Promise<void>;
}

/** A database nobody else uses, for one file. */
export interface ProvidedDatabase {
  readonly name: string;
  readonly config: ClientConfig;
  /** Drops it (best effort); resolves to a warning when that failed. */
  dispose(): Promise<string | undefined>;
}

export interface DatabaseProvider {
  /** `hint` (the file's name) may appear in the database name. */
  create(hint: string): Promise<ProvidedDatabase>;
}

export interface Tally {
  passed: number;
  failed: number;
  skipped: number;
}

export interface FailureReport {
  readonly line: number;
  readonly sql: string;
  readonly kind: FailureKind;
  readonly message: string;
  readonly sqlstate?: string;
  readonly expected?: readonly string[];
  readonly actual?: readonly string[];
}

export interface FileResult {
  readonly file: string;
  /** Statements and queries together. */
  readonly total: Readonly<Tally>;
  readonly statements: Readonly<Tally>;
  readonly queries: Readonly<Tally>;
  /** The first `maxFailures` failures, in file order. */
  readonly failures: readonly FailureReport[];
  /** Line of the `halt` that stopped the file (the records after it count as skipped). */
  readonly haltedAt: number | undefined;
  /** Why the file could not be run to its end (parse error, no database, connection lost). */
  readonly fatal: string | undefined;
  /** A problem after the run that does not change the counts (e.g. the database was not dropped). */
  readonly warning: string | undefined;
  readonly durationMs: number;
}

export interface Progress {
  readonly file: string;
  readonly recordsDone: number;
  readonly recordCount: number;
  readonly total: Readonly<Tally>;
}

export interface RunOptions {
  /** Matched against `skipif`/`onlyif` (case-insensitive). */
  readonly engine: string;
  readonly maxFailures: number;
  readonly onProgress?: (progress: Progress) => void;
}

export interface RunFileOptions extends RunOptions {
  readonly databases: DatabaseProvider;
  readonly queryTimeoutMs: number;
  /** How to open a session on the file's database; default: node-postgres (`PgSession.open`). */
  readonly openSession?: (config: ClientConfig, queryTimeoutMs: number) => Promise<SqlSession>;
}

/** Pass rate over the records that ran, or undefined when none did. */
export function passRate(tally: Readonly<Tally>): number | undefined {
  const ran = tally.passed + tally.failed;
  return ran === 0 ? undefined : tally.passed / ran;
}

/** Reads, parses and runs one file on a fresh database. Never throws: problems land in `fatal`. */
export async function runFile(file: string, options: RunFileOptions): Promise<FileResult> {
  const started = performance.now();
  const finishEarly = (fatal: string): FileResult => ({
    ...emptyResult(file),
    fatal,
    durationMs: performance.now() - started,
  });
  let records: SltRecord[];
  try {
    records = parseSlt(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    if (err instanceof SltParseError) return finishEarly(`cannot parse: ${err.message}`);
    return finishEarly(`cannot read: ${errorText(err)}`);
  }
  let database: ProvidedDatabase;
  try {
    database = await options.databases.create(path.basename(file, path.extname(file)));
  } catch (err) {
    return finishEarly(`cannot create a database: ${errorText(err)}`);
  }
  const open = options.openSession ?? PgSession.open;
  let result: Omit<FileResult, 'durationMs' | 'warning'>;
  try {
    const session = await open(database.config, options.queryTimeoutMs);
    try {
      result = await runRecords(file, records, session, options);
    } finally {
      await session.close();
    }
  } catch (err) {
    result = { ...emptyResult(file), fatal: `cannot connect to database ${database.name}: ${errorText(err)}` };
  }
  const warning = await database.dispose();
  return { ...result, warning, durationMs: performance.now() - started };
}

function emptyResult(file: string): Omit<FileResult, 'durationMs'> {
  const zero = (): Tally => ({ passed: 0, failed: 0, skipped: 0 });
  return {
    file,
    total: zero(),
    statements: zero(),
    queries: zero(),
    failures: [],
    haltedAt: undefined,
    fatal: undefined,
    warning: undefined,
  };
}

/** Runs parsed records in order on one session. Exported for tests with a fake session. */
export async function runRecords(
  file: string,
  records: readonly SltRecord[],
  session: SqlSession,
  options: RunOptions,
): Promise<Omit<FileResult, 'durationMs' | 'warning'>> {
  const total: Tally = { passed: 0, failed: 0, skipped: 0 };
  const statements: Tally = { passed: 0, failed: 0, skipped: 0 };
  const queries: Tally = { passed: 0, failed: 0, skipped: 0 };
  const failures: FailureReport[] = [];
  const state: FileCheckState = newFileCheckState();
  let haltedAt: number | undefined;
  let fatal: string | undefined;
  const count = (kind: 'statement' | 'query', outcome: keyof Tally): void => {
    total[outcome]++;
    (kind === 'statement' ? statements : queries)[outcome]++;
  };

  let done = 0;
  for (const record of records) {
    done++;
    if (record.kind === 'statement' || record.kind === 'query') {
      if (haltedAt !== undefined || !conditionsAllow(record.conditions, options.engine)) {
        count(record.kind, 'skipped');
      } else {
        let outcome: SqlOutcome;
        try {
          outcome = await session.run(record.sql);
        } catch (err) {
          fatal = `stopped at line ${record.line}: ${errorText(err)}`;
          break;
        }
        const verdict = record.kind === 'statement' ? checkStatement(record, outcome) : checkQuery(record, outcome, state);
        if (verdict.pass) count(record.kind, 'passed');
        else {
          count(record.kind, 'failed');
          if (failures.length < options.maxFailures && verdict.failure !== undefined) {
            failures.push({ line: record.line, sql: record.sql, ...verdict.failure });
          }
        }
      }
    } else if (haltedAt === undefined && conditionsAllow(record.conditions, options.engine)) {
      if (record.kind === 'halt') haltedAt = record.line;
      else state.hashThreshold = record.threshold;
    }
    options.onProgress?.({ file, recordsDone: done, recordCount: records.length, total });
  }
  return { file, total, statements, queries, failures, haltedAt, fatal };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Every type's text output as is (node-postgres would otherwise parse ints, bools, dates...). */
const RAW_TEXT_TYPES: CustomTypesConfig = {
  getTypeParser: () => (value: string) => value,
};

/**
 * A node-postgres session. A query that runs past the timeout is cancelled (a
 * CancelRequest, best effort) and its connection dropped; so is a broken connection.
 * The next query reconnects; if that fails, `run` throws.
 */
export class PgSession implements SqlSession {
  /** The open connection with its socket (ours, so a stuck one can be destroyed without client internals). */
  private current: { readonly client: Client; readonly socket: net.Socket } | undefined;

  private constructor(
    private readonly config: ClientConfig,
    private readonly queryTimeoutMs: number,
  ) {}

  static async open(config: ClientConfig, queryTimeoutMs: number): Promise<SqlSession> {
    const session = new PgSession(config, queryTimeoutMs);
    await session.connect();
    return session;
  }

  private async connect(): Promise<Client> {
    const socket = new net.Socket();
    const client = new Client({
      ...this.config,
      types: RAW_TEXT_TYPES,
      connectionTimeoutMillis: this.config.connectionTimeoutMillis ?? this.queryTimeoutMs,
      stream: () => socket,
    });
    const connection = { client, socket };
    // A connection that breaks between queries is noticed by the next query.
    client.on('error', () => this.drop(connection));
    this.current = connection;
    try {
      await client.connect();
    } catch (err) {
      this.drop(connection);
      throw err;
    }
    return client;
  }

  /** Forgets and destroys a connection (a no-op for one already replaced). */
  private drop(connection: { readonly client: Client; readonly socket: net.Socket } | undefined): void {
    if (connection === undefined) return;
    connection.socket.destroy();
    if (this.current === connection) this.current = undefined;
  }

  async run(sql: string): Promise<SqlOutcome> {
    const client = this.current?.client ?? (await this.connect());
    const connection = this.current;
    const query = client.query({ text: sql, rowMode: 'array' }) as Promise<QueryArrayResult | QueryArrayResult[]>;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.queryTimeoutMs);
    });
    try {
      const answer = await Promise.race([query, timedOut]);
      if (answer === 'timeout') {
        query.catch(() => undefined); // it fails once the connection is dropped
        await sendCancelRequest(client);
        this.drop(connection);
        return { kind: 'timeout', timeoutMs: this.queryTimeoutMs };
      }
      // Several statements in one text give one result each; the last one counts.
      const last = Array.isArray(answer) ? answer.at(-1) : answer;
      if (last === undefined) return { kind: 'rows', columnCount: 0, rows: [] };
      return { kind: 'rows', columnCount: last.fields.length, rows: last.rows as (string | null)[][] };
    } catch (err) {
      if (err instanceof DatabaseError) return { kind: 'error', message: err.message, sqlstate: err.code };
      // Not the server's answer: the connection broke. Fail this record, reconnect for the next.
      this.drop(connection);
      return { kind: 'error', message: `connection failed: ${errorText(err)}`, sqlstate: undefined };
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    const connection = this.current;
    this.current = undefined;
    if (connection === undefined) return;
    const ended = connection.client.end().catch(() => undefined);
    // Do not wait long on a server that does not answer Terminate.
    await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
    connection.socket.destroy();
  }
}

/**
 * PostgreSQL's CancelRequest on a new connection: Int32 length 16, Int32 80877102,
 * the backend's process ID and secret key (from BackendKeyData, which node-postgres
 * keeps on the client without declaring it). Best effort; gives up after a second.
 */
async function sendCancelRequest(client: Client): Promise<void> {
  const key = client as unknown as { processID?: unknown; secretKey?: unknown };
  if (typeof key.processID !== 'number' || typeof key.secretKey !== 'number') return;
  const message = Buffer.alloc(16);
  message.writeInt32BE(16, 0);
  message.writeInt32BE(80877102, 4);
  message.writeInt32BE(key.processID, 8);
  message.writeInt32BE(key.secretKey, 12);
  const socket = client.host.startsWith('/')
    ? net.connect(`${client.host}/.s.PGSQL.${client.port}`)
    : net.connect(client.port, client.host);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(finish, 1_000);
    function finish(): void {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    }
    socket.on('error', finish);
    socket.on('close', finish);
    socket.on('connect', () => socket.end(message));
  });
}

/** Quotes an identifier for SQL. */
function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

let databaseCounter = 0;

/**
 * One `CREATE DATABASE` per file on the server `admin` points at (as its user), named
 * `slt_<file>_<pid>_<time>_<n>`; `dispose` drops it (`WITH (FORCE)`, then plainly, for
 * servers without FORCE) unless `keep` is set.
 */
export function databasePerFile(admin: ClientConfig, options: { readonly keep?: boolean } = {}): DatabaseProvider {
  const adminQuery = async (sql: string): Promise<void> => {
    const client = new Client({ ...admin, connectionTimeoutMillis: admin.connectionTimeoutMillis ?? 30_000 });
    client.on('error', () => undefined);
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  return {
    async create(hint: string): Promise<ProvidedDatabase> {
      databaseCounter++;
      const slug = hint.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 24);
      const name = `slt_${slug}_${process.pid}_${Date.now().toString(36)}_${databaseCounter}`;
      await adminQuery(`CREATE DATABASE ${quoteIdent(name)}`);
      return {
        name,
        config: { ...admin, database: name },
        async dispose(): Promise<string | undefined> {
          if (options.keep === true) return undefined;
          try {
            await adminQuery(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
            return undefined;
          } catch {
            try {
              await adminQuery(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
              return undefined;
            } catch (err) {
              return `could not drop database ${name}: ${errorText(err)}`;
            }
          }
        },
      };
    },
  };
}
