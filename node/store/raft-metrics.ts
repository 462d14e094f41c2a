import type { Registry } from 'prom-client';
import { prometheus } from '../../common/metrics';
import type { SoftState } from '../raft';

/** A node's Raft metrics (DESIGN.md §10), shared by its groups, writer and transport. */
export class RaftMetrics {
  readonly proposals: prometheus.Counter<'outcome'>;
  readonly committedEntries: prometheus.Counter;
  readonly leaderChanges: prometheus.Counter;
  readonly elections: prometheus.Counter;
  readonly leaders: prometheus.Gauge;
  readonly persistSeconds: prometheus.Histogram;
  readonly persistsPerSync: prometheus.Histogram;
  readonly messagesSent: prometheus.Counter<'type'>;
  readonly messagesReceived: prometheus.Counter<'type'>;
  readonly unreachable: prometheus.Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.proposals = new prometheus.Counter({
      name: 'cairn_raft_proposals_total',
      help: 'Raft proposals by outcome: committed, failed (another entry took the index), dropped (refused at once).',
      labelNames: ['outcome'],
      registers,
    });
    this.committedEntries = new prometheus.Counter({
      name: 'cairn_raft_committed_entries_total',
      help: 'Raft entries applied after commit.',
      registers,
    });
    this.leaderChanges = new prometheus.Counter({
      name: 'cairn_raft_leader_changes_total',
      help: 'Times a group on this node saw its leader change.',
      registers,
    });
    this.elections = new prometheus.Counter({
      name: 'cairn_raft_elections_total',
      help: 'Campaigns started by groups on this node (pre-vote and vote).',
      registers,
    });
    this.leaders = new prometheus.Gauge({
      name: 'cairn_raft_leaders',
      help: 'Groups this node leads.',
      registers,
    });
    this.persistSeconds = new prometheus.Histogram({
      name: 'cairn_raft_log_persist_seconds',
      help: 'Time to make a round of Raft log appends durable (write and WAL fsync).',
      buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5],
      registers,
    });
    this.persistsPerSync = new prometheus.Histogram({
      name: 'cairn_raft_log_persists_per_sync',
      help: 'Group persists made durable by one synced write (group commit).',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers,
    });
    this.messagesSent = new prometheus.Counter({
      name: 'cairn_raft_messages_sent_total',
      help: 'Raft messages handed to the transport, by type.',
      labelNames: ['type'],
      registers,
    });
    this.messagesReceived = new prometheus.Counter({
      name: 'cairn_raft_messages_received_total',
      help: 'Raft messages received from other nodes, by type.',
      labelNames: ['type'],
      registers,
    });
    this.unreachable = new prometheus.Counter({
      name: 'cairn_raft_unreachable_total',
      help: 'Times messages to another node were dropped because it could not be reached.',
      registers,
    });
  }

  /** Counts what a group's role change means. */
  observeSoftState(previous: SoftState, next: SoftState): void {
    if (next.lead !== previous.lead) {
      this.leaderChanges.inc();
    }
    if ((next.state === 'candidate' || next.state === 'preCandidate') && next.state !== previous.state) {
      this.elections.inc();
    }
    if (next.state === 'leader' && previous.state !== 'leader') {
      this.leaders.inc();
    } else if (previous.state === 'leader' && next.state !== 'leader') {
      this.leaders.dec();
    }
  }
}
