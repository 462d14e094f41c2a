import { SqlError, SqlStates } from '../../common/errors';
import type { Logger } from '../../common/logging';
import type { KvClient } from '../../kv';
import type { ScramVerifier, SqlEngine, SqlSession, StartupInfo } from '../pgwire/sql-session';
import { Catalog } from './catalog/catalog';
import { DroppedDataCollector } from './catalog/dropped-data';
import { createDatabase } from './ddl';
import { KvTableIo } from './exec/table-io';
import { loadParser } from './parser';
import type { SessionServices } from './session';
import { Session } from './session';
import { UserStore } from './users';

/**
 * The SQL side of a gateway: one catalog cache, one user store and the table I/O shared
 * by every session. `create` loads the parser and makes sure the cluster has the
 * databases and the `root` user every Cairn cluster starts with.
 */

export const DEFAULT_DATABASES = ['defaultdb', 'postgres'] as const;

/** How often a gateway checks whether another gateway changed the catalog. */
const CATALOG_POLL_MS = 500;

/** Statements this slow (ms) are logged unless the gateway is told otherwise. */
export const DEFAULT_SLOW_STATEMENT_MS = 1_000;

export interface SqlEngineOptions {
  readonly kv: KvClient;
  readonly log: Logger;
  readonly onStatement?: SessionServices['onStatement'];
  readonly onTxn?: SessionServices['onTxn'];
  readonly random?: () => number;
  /** How often to look for dropped tables' rows left to clear (default 30 s). */
  readonly droppedDataPollMs?: number;
  /** A session's log_min_duration_statement to begin with (ms; -1: off; default 1 s). */
  readonly slowStatementMs?: number;
}

export class GatewaySqlEngine implements SqlEngine {
  readonly catalog: Catalog;
  readonly users: UserStore;
  private readonly tables = new KvTableIo();
  private readonly poll: NodeJS.Timeout;
  readonly droppedData: DroppedDataCollector;

  private constructor(private readonly options: SqlEngineOptions) {
    this.catalog = new Catalog(options.kv);
    this.users = new UserStore(options.kv);
    this.poll = setInterval(() => {
      this.catalog.refreshIfStale().catch((err: unknown) => options.log.warn({ err }, 'catalog version check failed'));
    }, CATALOG_POLL_MS);
    this.poll.unref();
    this.droppedData = new DroppedDataCollector({
      kv: options.kv,
      log: options.log,
      ...(options.droppedDataPollMs === undefined ? {} : { pollMs: options.droppedDataPollMs }),
    });
  }

  static async create(options: SqlEngineOptions): Promise<GatewaySqlEngine> {
    await loadParser();
    const engine = new GatewaySqlEngine(options);
    await engine.bootstrap();
    await engine.catalog.refreshIfStale();
    // Rows of tables dropped while no gateway was up to clear them.
    void engine.droppedData.nudge();
    return engine;
  }

  /** Creates the default databases and `root` when missing (idempotent; races with other gateways are retried). */
  private async bootstrap(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.options.kv.txn(async (txn) => {
          await this.users.ensureRoot(txn);
          for (const name of DEFAULT_DATABASES) {
            if ((await this.catalog.database(txn, name)) === undefined) {
              await createDatabase(this.catalog, txn, name, 'root');
            }
          }
        });
        this.catalog.invalidate();
        return;
      } catch (err) {
        this.catalog.invalidate();
        if (err instanceof SqlError && err.sqlState === SqlStates.duplicateDatabase && attempt < 5) continue;
        throw err;
      }
    }
  }

  async scramVerifier(user: string): Promise<ScramVerifier | undefined> {
    return this.users.scramVerifier(user);
  }

  async openSession(startup: StartupInfo): Promise<SqlSession> {
    const user = await this.users.get(startup.user);
    if (user === undefined || !user.canLogin) {
      throw new SqlError(SqlStates.invalidAuthorizationSpecification, user === undefined ? `role "${startup.user}" does not exist` : `role "${startup.user}" is not permitted to log in`);
    }
    const { database, schemaId } = await this.options.kv.txn(async (txn) => {
      const db = await this.catalog.database(txn, startup.database);
      if (db === undefined) {
        throw new SqlError(SqlStates.invalidCatalogName, `database "${startup.database}" does not exist`);
      }
      const schema = await this.catalog.schema(txn, db.id, 'public');
      if (schema === undefined) {
        throw new SqlError(SqlStates.invalidSchemaName, `database "${startup.database}" has no schema "public"`);
      }
      return { database: db, schemaId: schema.id };
    });
    return new Session(
      {
        kv: this.options.kv,
        catalog: this.catalog,
        tables: this.tables,
        users: this.users,
        log: this.options.log,
        ...(this.options.onStatement === undefined ? {} : { onStatement: this.options.onStatement }),
        ...(this.options.onTxn === undefined ? {} : { onTxn: this.options.onTxn }),
        random: this.options.random ?? Math.random,
        onDataDropped: () => void this.droppedData.nudge(),
        slowStatementMs: this.options.slowStatementMs ?? DEFAULT_SLOW_STATEMENT_MS,
      },
      startup.user,
      database,
      schemaId,
      startup.parameters,
      startup.processId,
    );
  }

  close(): void {
    clearInterval(this.poll);
    this.droppedData.close();
  }
}
