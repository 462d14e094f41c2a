import { prometheus } from '../../common/metrics';
import { SqlMetrics } from './sql-metrics';

test('statements are counted by type and result, timed by type; connections are read at scrape time', async () => {
  const registry = new prometheus.Registry();
  const metrics = new SqlMetrics(registry);
  let sessions = 3;
  metrics.countConnectionsWith(() => sessions);
  metrics.onStatement('select', 2, undefined);
  metrics.onStatement('select', 4, undefined);
  metrics.onStatement('insert', 1500, '23505');

  const text = await registry.metrics();
  expect(text).toContain('cairn_sql_statements_total{type="select",result="ok"} 2');
  expect(text).toContain('cairn_sql_statements_total{type="insert",result="23505"} 1');
  expect(text).toContain('cairn_sql_statement_duration_seconds_count{type="select"} 2');
  expect(text).toContain('cairn_sql_statement_duration_seconds_sum{type="select"} 0.006');
  expect(text).toContain('cairn_sql_statement_duration_seconds_bucket{le="0.005",type="select"} 2');
  expect(text).toContain('cairn_sql_statement_duration_seconds_bucket{le="1",type="insert"} 0');
  expect(text).toContain('cairn_sql_statement_duration_seconds_bucket{le="2.5",type="insert"} 1');
  expect(text).toContain('cairn_sql_connections 3');
  sessions = 0;
  expect(await registry.metrics()).toContain('cairn_sql_connections 0');
});
