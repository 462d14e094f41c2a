import { metricTotal } from './exposition';

describe('metricTotal', () => {
  const text = [
    '# HELP cairn_storage_running_compactions RocksDB compactions running now.',
    '# TYPE cairn_storage_running_compactions gauge',
    'cairn_storage_running_compactions{process="cairn-node"} 2',
    'cairn_storage_running_compactions 1',
    'cairn_storage_running_compactions_total 40',
    'cairn_storage_running_flushes{process="cairn-node"} 3',
    'cairn_intent_resolver_txns_total{process="cairn-node",outcome="resolved"} 7',
    'cairn_intent_resolver_txns_total{process="cairn-node",outcome="dropped"} 2',
    '',
  ].join('\n');

  it('sums the samples of one metric, with or without labels, and no other', () => {
    expect(metricTotal(text, 'cairn_storage_running_compactions')).toBe(3);
    expect(metricTotal(text, 'cairn_storage_running_flushes')).toBe(3);
    expect(metricTotal(text, 'cairn_storage_pending_compaction_bytes')).toBe(0);
    expect(metricTotal(text, 'cairn_intent_resolver_txns_total')).toBe(9);
  });

  it('sums only the samples carrying the labels asked for', () => {
    expect(metricTotal(text, 'cairn_intent_resolver_txns_total', { outcome: 'resolved' })).toBe(7);
    expect(metricTotal(text, 'cairn_intent_resolver_txns_total', { outcome: 'gave_up' })).toBe(0);
    expect(metricTotal(text, 'cairn_storage_running_compactions', { process: 'cairn-node' })).toBe(2);
  });
});
