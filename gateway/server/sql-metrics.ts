/**
 * The gateway's SQL metrics (DESIGN.md §10):
 *
 *   cairn_sql_statements_total{type,result}        statements run; result is `ok` or the SQLSTATE
 *   cairn_sql_statement_duration_seconds{type}     their latency, errors included
 *   cairn_sql_connections                          sessions open now (authenticated)
 *
 * `type` is the SQL layer's statement kind, as it names them (SELECT, INSERT, DDL, TCL, ...).
 */
import type { Registry } from 'prom-client';
import { prometheus } from '../../common/metrics';

/** 0.25 ms .. 10 s: a point read on loopback up to a slow schema change. */
const DURATION_BUCKETS_SECONDS = [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class SqlMetrics {
  private readonly statements: prometheus.Counter<'type' | 'result'>;
  private readonly duration: prometheus.Histogram<'type'>;
  private readonly txnCommits: prometheus.Counter;
  private readonly txnAborts: prometheus.Counter<'reason'>;
  private readonly txnRestarts: prometheus.Counter<'reason'>;
  private connectionCount: () => number = () => 0;

  constructor(registry: Registry) {
    this.statements = new prometheus.Counter({
      name: 'cairn_sql_statements_total',
      help: 'SQL statements run, by statement type and result (ok or the SQLSTATE)',
      labelNames: ['type', 'result'],
      registers: [registry],
    });
    this.duration = new prometheus.Histogram({
      name: 'cairn_sql_statement_duration_seconds',
      help: 'How long SQL statements took, by statement type',
      labelNames: ['type'],
      buckets: DURATION_BUCKETS_SECONDS,
      registers: [registry],
    });
    this.txnCommits = new prometheus.Counter({
      name: 'cairn_txn_commits_total',
      help: 'Transactions of SQL sessions that committed (a statement outside BEGIN is one)',
      registers: [registry],
    });
    this.txnAborts = new prometheus.Counter({
      name: 'cairn_txn_aborts_total',
      help: 'Transactions of SQL sessions that ended without committing because of a conflict (retries given up, aborted by another, commit outcome unknown), by reason; not a client ROLLBACK',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.txnRestarts = new prometheus.Counter({
      name: 'cairn_txn_restarts_total',
      help: 'Transactions the gateway ran again after a conflict, by reason',
      labelNames: ['reason'],
      registers: [registry],
    });
    const metrics = this; // eslint-disable-line @typescript-eslint/no-this-alias
    new prometheus.Gauge({
      name: 'cairn_sql_connections',
      help: 'Client sessions open on this gateway',
      registers: [registry],
      collect() {
        this.set(metrics.connectionCount());
      },
    });
  }

  /** The SQL engine's onStatement callback. */
  readonly onStatement = (kind: string, durationMs: number, sqlState: string | undefined): void => {
    this.statements.inc({ type: kind, result: sqlState ?? 'ok' });
    this.duration.observe({ type: kind }, durationMs / 1000);
  };

  /** The SQL engine's onTxn callback. */
  readonly onTxn = (event: 'commit' | 'abort' | 'restart', reason?: string): void => {
    if (event === 'commit') this.txnCommits.inc();
    else if (event === 'abort') this.txnAborts.inc({ reason: reason ?? 'unknown' });
    else this.txnRestarts.inc({ reason: reason ?? 'unknown' });
  };

  /** Where `cairn_sql_connections` reads its value at scrape time. */
  countConnectionsWith(count: () => number): void {
    this.connectionCount = count;
  }
}
