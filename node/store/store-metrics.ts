import type { Registry } from 'prom-client';
import { prometheus } from '../../common/metrics';

/** A node's range and KV metrics (DESIGN.md §10). */
export class StoreMetrics {
  readonly replicas: prometheus.Gauge;
  readonly leases: prometheus.Gauge;
  readonly splits: prometheus.Counter;
  readonly replicasAdded: prometheus.Counter;
  readonly leaseTransfers: prometheus.Counter;
  readonly kvRequestSeconds: prometheus.Histogram<'method' | 'outcome'>;
  readonly followerReads: prometheus.Counter;

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
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    });
  }
}
