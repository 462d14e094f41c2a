import type { Registry } from 'prom-client';
import { prometheus } from '../../common/metrics';
import type { StorageStats } from '../storage';
import type { IntentResolverMetrics } from './intent-resolver';

/** What a node's ranges look like now, for gauges read at each scrape (Store.rangeHealth). */
export interface RangeHealth {
  /** Ranges this node reports: those it holds the lease of (see Store.rangeHealth). */
  readonly ranges: number;
  /** Of those, ranges with fewer live voters than the replication target. */
  readonly underReplicated: number;
  /** Of those, ranges without a live quorum of voters: they can serve nothing. */
  readonly unavailable: number;
  /** The largest lag of a replica's closed timestamp behind now, in seconds (0: none closed yet). */
  readonly closedTimestampLagSeconds: number;
}

const LATENCY_BUCKETS_SECONDS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

/** A node's range and KV metrics (DESIGN.md §10). */
export class StoreMetrics {
  readonly replicas: prometheus.Gauge;
  readonly leases: prometheus.Gauge;
  readonly splits: prometheus.Counter;
  readonly replicasAdded: prometheus.Counter;
  readonly leaseTransfers: prometheus.Counter;
  readonly kvRequestSeconds: prometheus.Histogram<'method' | 'outcome'>;
  readonly followerReads: prometheus.Counter;
  readonly kvReadSeconds: prometheus.Histogram;
  readonly kvWriteSeconds: prometheus.Histogram;
  readonly lockWaits: prometheus.Counter;
  readonly lockWaitSeconds: prometheus.Histogram;
  readonly intentResolver: IntentResolverMetrics;
  /** Set once the store exists: finished transactions whose intents wait to be resolved. */
  intentResolutionsPending: (() => number) | undefined;
  /** Set once the store exists; the range gauges read it at each scrape. */
  rangeHealth: (() => RangeHealth) | undefined;
  /** Set when the engine has background work to show (RocksDB); read at each scrape. */
  storageStats: (() => StorageStats) | undefined;

  constructor(registry: Registry) {
    const registers = [registry];
    this.replicas = new prometheus.Gauge({ name: 'cairn_replicas', help: 'Range replicas on this node.', registers });
    this.leases = new prometheus.Gauge({ name: 'cairn_leases', help: 'Range leases this node holds.', registers });
    this.splits = new prometheus.Counter({ name: 'cairn_range_splits_total', help: 'Range splits applied on this node.', registers });
    this.replicasAdded = new prometheus.Counter({
      name: 'cairn_replicate_queue_replicas_added_total',
      help: 'Replicas the replicate queue of this node added.',
      registers,
    });
    this.leaseTransfers = new prometheus.Counter({
      name: 'cairn_lease_transfers_total',
      help: 'Leases this node handed to another (balancing, draining, admin requests).',
      registers,
    });
    this.followerReads = new prometheus.Counter({
      name: 'cairn_follower_reads_total',
      help: 'Historical reads served by a replica of this node that does not hold the lease (at or below its closed timestamp).',
      registers,
    });
    this.kvRequestSeconds = new prometheus.Histogram({
      name: 'cairn_kv_request_duration_seconds',
      help: 'KV batches served by this node, by the method of their first request and outcome.',
      labelNames: ['method', 'outcome'],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    });
    this.kvReadSeconds = new prometheus.Histogram({
      name: 'cairn_kv_read_duration_seconds',
      help: 'Read-only KV batches served by this node, from arrival to answer (the read latency an alert watches).',
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    });
    this.kvWriteSeconds = new prometheus.Histogram({
      name: 'cairn_kv_write_duration_seconds',
      help: 'KV batches with writes served by this node, from arrival to answer, replication included.',
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    });
    this.lockWaits = new prometheus.Counter({
      name: 'cairn_lock_waits_total',
      help: "Times a request on this node waited for another transaction's lock.",
      registers,
    });
    this.lockWaitSeconds = new prometheus.Histogram({
      name: 'cairn_lock_wait_duration_seconds',
      help: "How long requests on this node waited for another transaction's lock.",
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    });
    this.intentResolver = {
      intentsResolved: new prometheus.Counter({
        name: 'cairn_intent_resolver_intents_resolved_total',
        help: 'Intents (keys and spans) that finished transactions left on other ranges, resolved in the background by this node.',
        registers,
      }),
      txns: new prometheus.Counter({
        name: 'cairn_intent_resolver_txns_total',
        help:
          "Finished transactions whose intents on other ranges this node resolved in the background, by outcome: resolved, gave_up " +
          '(kept failing) or dropped (queue full); the intents of the last two are resolved by whoever meets them.',
        labelNames: ['outcome'],
        registers,
      }),
    };
    scrapedGauge(
      registers,
      () => this.intentResolutionsPending?.(),
      'cairn_intent_resolver_pending_txns',
      'Finished transactions this node has yet to clean up: intents on other ranges to resolve, then the record to remove (queued or in flight).',
      (pending) => pending,
    );
    const health = (): RangeHealth | undefined => this.rangeHealth?.();
    const gauge = (name: string, help: string, value: (h: RangeHealth) => number): void => scrapedGauge(registers, health, name, help, value);
    gauge('cairn_ranges', 'Ranges whose lease this node holds: summed over the nodes, the ranges of the cluster.', (h) => h.ranges);
    gauge('cairn_ranges_underreplicated', 'Ranges this node holds the lease of with fewer live voters than the replication target.', (h) => h.underReplicated);
    gauge('cairn_ranges_unavailable', 'Ranges without a live quorum of voters, each counted by one node (see Store.rangeHealth).', (h) => h.unavailable);
    const storage = (): StorageStats | undefined => {
      try {
        return this.storageStats?.();
      } catch {
        // A store closing or closed has nothing to show.
        return undefined;
      }
    };
    const storageGauge = (name: string, help: string, value: (s: StorageStats) => number): void => scrapedGauge(registers, storage, name, help, value);
    storageGauge(
      'cairn_storage_pending_compaction_bytes',
      'Bytes RocksDB estimates its compactions must rewrite to bring every level within its target size.',
      (s) => s.pendingCompactionBytes,
    );
    storageGauge('cairn_storage_running_compactions', 'RocksDB compactions running now.', (s) => s.runningCompactions);
    storageGauge('cairn_storage_running_flushes', 'RocksDB memtable flushes running now.', (s) => s.runningFlushes);
    storageGauge('cairn_storage_memtable_bytes', 'Bytes in the RocksDB memtables, active and waiting to be flushed.', (s) => s.memtableBytes);
    storageGauge('cairn_storage_sst_bytes', 'Bytes of the RocksDB SST files.', (s) => s.sstBytes);
    storageGauge('cairn_storage_level0_files', 'SST files in level 0: past a threshold RocksDB slows writes down, then stops them.', (s) => s.level0Files);
    storageGauge('cairn_storage_writes_stopped', '1 while RocksDB stops writes until compaction catches up.', (s) => (s.writesStopped ? 1 : 0));
    storageGauge(
      'cairn_storage_delayed_write_rate_bytes',
      'The rate RocksDB holds writes to while compaction catches up (0: writes are not held back).',
      (s) => s.delayedWriteBytesPerSecond,
    );
    gauge(
      'cairn_closed_timestamp_lag_seconds',
      "The largest lag behind now of a closed timestamp on this node's replicas: how stale a follower read may be.",
      (h) => h.closedTimestampLagSeconds,
    );
  }
}

/** A gauge set at each scrape from what `read` finds then (0 when it finds nothing). */
function scrapedGauge<T>(registers: Registry[], read: () => T | undefined, name: string, help: string, value: (found: T) => number): void {
  new prometheus.Gauge({
    name,
    help,
    registers,
    collect() {
      const found = read();
      this.set(found === undefined ? 0 : value(found));
    },
  });
}
