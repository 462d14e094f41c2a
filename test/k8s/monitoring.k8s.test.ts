/**
 * helm/cairn's monitoring of the databases: the PodMonitor, the PrometheusRule and the
 * Grafana dashboard ConfigMap render from values and are accepted by the API server; the
 * PodMonitor selects exactly the operator's pods that serve /metrics; and every metric
 * that an alert or a dashboard query names is one that a real cairn-node or
 * cairn-gateway exports (a `# TYPE` line in /metrics of a local cluster that ran SQL).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { KubernetesObject, V1LabelSelector, V1PodTemplateSpec } from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import { Client } from 'pg';
import { LocalCluster } from '../../cli';
import { API_VERSION, type DatabaseCluster, KIND } from '../../operator';
// The operator's own plan says which pods exist and what labels and ports they have; its
// public index does not export it.
import { planCluster } from '../../operator/controllers';
import { createTestNamespace, runTool, testKubeConfig } from './kube';

const CHART = path.join(__dirname, '..', '..', 'helm', 'cairn');
const NAMESPACE = 'cairn-system';
const CLUSTER_START_TIMEOUT_MS = 180_000;

const MONITORING_ON = {
  monitoring: { podMonitor: { enabled: true }, prometheusRule: { enabled: true }, grafanaDashboard: { enabled: true } },
};

interface Rendered extends KubernetesObject {
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string> };
  readonly spec?: unknown;
  readonly data?: Record<string, string>;
}

interface PodMonitorSpec {
  readonly namespaceSelector: { readonly any?: boolean; readonly matchNames?: string[] };
  readonly selector: V1LabelSelector;
  readonly podMetricsEndpoints: readonly { readonly port: string; readonly path: string }[];
}

interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
}

interface PrometheusRuleSpec {
  readonly groups: readonly { readonly name: string; readonly rules: readonly AlertRule[] }[];
}

interface DashboardPanel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly gridPos: { readonly h: number; readonly w: number; readonly x: number; readonly y: number };
  readonly targets?: readonly { readonly expr: string }[];
  /** A collapsed row's panels. */
  readonly panels?: readonly DashboardPanel[];
}

interface Dashboard {
  readonly uid: string;
  readonly schemaVersion: number;
  readonly panels: readonly DashboardPanel[];
  readonly templating: { readonly list: readonly { readonly name: string; readonly type: string; readonly query?: string | { readonly query: string } }[] };
}

interface Monitoring {
  /** Undefined when it is off. */
  readonly podMonitor: PodMonitorSpec | undefined;
  readonly alerts: readonly AlertRule[];
  readonly dashboard: Dashboard;
  readonly dashboardConfigMap: Rendered;
  readonly objects: readonly Rendered[];
  readonly text: string;
}

function helmTemplate(values: object, namespace: string): { status: number; stdout: string; stderr: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-monitoring-'));
  try {
    const valuesFile = path.join(dir, 'values.yaml');
    fs.writeFileSync(valuesFile, yaml.dump(values));
    return runTool('helm', ['template', 'cairn', CHART, '--namespace', namespace, '-f', valuesFile]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function render(values: object, namespace = NAMESPACE): { text: string; objects: Rendered[] } {
  const result = helmTemplate(values, namespace);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  const objects = (yaml.loadAll(result.stdout) as (Rendered | null)[]).filter((o): o is Rendered => o !== null);
  return { text: result.stdout, objects };
}

function only(objects: readonly Rendered[], kind: string): Rendered {
  const found = objects.filter((o) => o.kind === kind);
  expect(found.map((o) => `${o.kind}/${o.metadata.name}`)).toHaveLength(1);
  return found[0]!;
}

function renderMonitoring(values: object = {}, namespace = NAMESPACE): Monitoring {
  const { text, objects } = render(merge(MONITORING_ON, values), namespace);
  const rule = only(objects, 'PrometheusRule').spec as PrometheusRuleSpec;
  const dashboardConfigMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'cairn-dashboard');
  expect(dashboardConfigMap).toBeDefined();
  const json = dashboardConfigMap!.data?.['cairn.json'];
  expect(typeof json).toBe('string');
  return {
    podMonitor: objects.find((o) => o.kind === 'PodMonitor')?.spec as PodMonitorSpec | undefined,
    alerts: rule.groups.flatMap((g) => g.rules),
    dashboard: JSON.parse(json!) as Dashboard,
    dashboardConfigMap: dashboardConfigMap!,
    objects,
    text,
  };
}

/** Values merged the way helm merges -f files: maps deeply, everything else replaced. */
function merge(base: object, override: object): object {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(override)) {
    const existing = out[key];
    const bothMaps = [existing, value].every((v) => typeof v === 'object' && v !== null && !Array.isArray(v));
    out[key] = bothMaps ? merge(existing as object, value as object) : value;
  }
  return out;
}

function allPanels(panels: readonly DashboardPanel[]): DashboardPanel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

/** Whether a Kubernetes label selector picks these labels (matchLabels and matchExpressions). */
function selects(selector: V1LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  const byExpressions = (selector.matchExpressions ?? []).every((e) => {
    const value = labels[e.key];
    switch (e.operator) {
      case 'In':
        return value !== undefined && (e.values ?? []).includes(value);
      case 'NotIn':
        return value === undefined || !(e.values ?? []).includes(value);
      case 'Exists':
        return value !== undefined;
      case 'DoesNotExist':
        return value === undefined;
      default:
        throw new Error(`unknown selector operator ${e.operator}`);
    }
  });
  return byLabels && byExpressions;
}

/** The metrics the chart may name start so (and so does the label `cairn_cluster`: metricsNamedIn cuts labels first). */
const METRIC_PREFIX = /^(cairn|process|nodejs)_/;

/**
 * The metric names a PromQL query (or a Grafana `label_values` query) names. Everything
 * that holds label names or values is cut first: strings, `{...}` matchers, `[...]` ranges,
 * `by (...)` and its kin, and the label argument of `label_values`; what is left that
 * looks like a Cairn or process metric is one.
 */
function metricsNamedIn(query: string): string[] {
  const bare = query
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^{}]*\}/g, ' ')
    .replace(/\[[^[\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)/g, ' ')
    .replace(/\blabel_values\(\s*([^,()]*),[^()]*\)/g, '$1');
  return [...new Set(bare.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [])].filter((token) => METRIC_PREFIX.test(token));
}

/** A metric name and where the chart names it, for failure messages. */
interface MetricReference {
  readonly metric: string;
  readonly namedBy: string;
}

function alertReferences(alerts: readonly AlertRule[]): MetricReference[] {
  return alerts.flatMap((a) => metricsNamedIn(a.expr).map((metric) => ({ metric, namedBy: `PrometheusRule alert ${a.alert}` })));
}

function dashboardReferences(dashboard: Dashboard): MetricReference[] {
  const panels = allPanels(dashboard.panels).flatMap((p) =>
    (p.targets ?? []).flatMap((t) => metricsNamedIn(t.expr).map((metric) => ({ metric, namedBy: `dashboard panel "${p.title}"` }))),
  );
  const variables = dashboard.templating.list.flatMap((v) => {
    const query = typeof v.query === 'string' ? (v.type === 'query' ? v.query : '') : (v.query?.query ?? '');
    return metricsNamedIn(query).map((metric) => ({ metric, namedBy: `dashboard variable $${v.name}` }));
  });
  return [...panels, ...variables];
}

/** The metric families of /metrics scrapes, from their `# TYPE` lines: name → type. */
function metricTypes(scrapes: readonly string[]): Map<string, string> {
  const types = new Map<string, string>();
  for (const text of scrapes) {
    for (const match of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(match[1]!, match[2]!);
  }
  return types;
}

/**
 * Why a query for `metric` finds no series in these families, or undefined when it finds
 * some: a family's own name, but a histogram's series are only its `_bucket`, `_sum` and
 * `_count` (a summary's, itself, `_sum` and `_count`).
 */
function whyNotExported(metric: string, types: ReadonlyMap<string, string>): string | undefined {
  const type = types.get(metric);
  if (type === 'histogram') return 'a histogram: query its _bucket, _sum or _count';
  if (type !== undefined) return undefined;
  const suffix = /_(bucket|sum|count)$/.exec(metric);
  const baseType = suffix === null ? undefined : types.get(metric.slice(0, suffix.index));
  if (baseType === 'histogram' || (baseType === 'summary' && suffix?.[1] !== 'bucket')) return undefined;
  return 'not exported';
}

/** What each alert is about: the metrics its expression must read. */
const ALERT_METRICS: Readonly<Record<string, readonly string[]>> = {
  CairnKvWriteLatencyHigh: ['cairn_kv_write_duration_seconds_bucket'],
  CairnKvReadLatencyHigh: ['cairn_kv_read_duration_seconds_bucket'],
  CairnRaftElectionsFrequent: ['cairn_raft_elections_total'],
  CairnTxnAbortRateHigh: ['cairn_txn_aborts_total', 'cairn_txn_commits_total'],
  CairnFollowerLagHigh: ['cairn_closed_timestamp_lag_seconds'],
  CairnRangesUnavailable: ['cairn_ranges_unavailable'],
  CairnStorageWritesHeldBack: ['cairn_storage_writes_stopped', 'cairn_storage_delayed_write_rate_bytes'],
};

/** What the dashboard must show: at least these metrics. */
const DASHBOARD_METRICS: readonly string[] = [
  'cairn_sql_statements_total',
  'cairn_sql_statement_duration_seconds_bucket',
  'cairn_sql_connections',
  'cairn_kv_read_duration_seconds_bucket',
  'cairn_kv_write_duration_seconds_bucket',
  'cairn_txn_commits_total',
  'cairn_txn_aborts_total',
  'cairn_txn_restarts_total',
  'cairn_raft_elections_total',
  'cairn_raft_leader_changes_total',
  'cairn_ranges',
  'cairn_replicas',
  'cairn_leases',
  'cairn_ranges_underreplicated',
  'cairn_ranges_unavailable',
  'cairn_closed_timestamp_lag_seconds',
  'cairn_lock_waits_total',
  'cairn_lock_wait_duration_seconds_bucket',
  'cairn_storage_pending_compaction_bytes',
  'cairn_storage_level0_files',
  'process_cpu_seconds_total',
  'nodejs_eventloop_lag_p99_seconds',
];

/**
 * Labels Prometheus sets on every series of a target scraped by the PodMonitor. A process
 * exporting one would see it renamed `exported_<name>`, and the alerts' grouping broken.
 */
const TARGET_LABELS = ['job', 'instance', 'namespace', 'pod', 'container', 'endpoint', 'cairn_cluster'];

/** A DatabaseCluster with every field the API server would default. */
function databaseCluster(): DatabaseCluster {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name: 'demo', namespace: 'db', uid: 'uid-demo', generation: 1 },
    spec: {
      image: 'cairn:0.1.0',
      imagePullPolicy: 'IfNotPresent',
      regions: [
        { name: 'east', nodes: 3 },
        { name: 'west', nodes: 2 },
      ],
      storage: { size: '10Gi' },
      gateway: { replicas: 2, serviceType: 'ClusterIP' },
      replicationFactor: 3,
    },
  };
}

/** Stand-ins for prometheus-operator's CRDs, so that a dry run can check the objects. */
function standInCrd(kind: string, plural: string): object {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.monitoring.coreos.com` },
    spec: {
      group: 'monitoring.coreos.com',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      scope: 'Namespaced',
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
    },
  };
}

describe("the chart's monitoring", () => {
  test('finds metric names, and not label names, in PromQL and label_values queries', () => {
    expect(
      metricsNamedIn(
        'sum by (namespace, cairn_cluster) (rate(cairn_a_total{cairn_cluster="x", job=~"cairn_b"}[5m])) / on (cairn_cluster) group_left (pod) cairn_c',
      ),
    ).toEqual(['cairn_a_total', 'cairn_c']);
    expect(metricsNamedIn('histogram_quantile(0.99, sum(rate(cairn_d_bucket[$__rate_interval])) by (le))')).toEqual(['cairn_d_bucket']);
    expect(metricsNamedIn('label_values(cairn_e{namespace="$namespace"}, cairn_cluster)')).toEqual(['cairn_e']);
    const types = new Map([
      ['cairn_d', 'histogram'],
      ['cairn_e_total', 'counter'],
      ['cairn_f_bucket', 'gauge'],
    ]);
    expect(['cairn_d_bucket', 'cairn_d_count', 'cairn_d', 'cairn_e_total', 'cairn_e', 'cairn_f_bucket', 'cairn_f'].map((m) => [m, whyNotExported(m, types)])).toEqual([
      ['cairn_d_bucket', undefined],
      ['cairn_d_count', undefined],
      ['cairn_d', 'a histogram: query its _bucket, _sum or _count'],
      ['cairn_e_total', undefined],
      ['cairn_e', 'not exported'],
      ['cairn_f_bucket', undefined],
      ['cairn_f', 'not exported'],
    ]);
  });

  test.each([
    ['on', ['--set', 'monitoring.podMonitor.enabled=true', '--set', 'monitoring.prometheusRule.enabled=true', '--set', 'monitoring.grafanaDashboard.enabled=true']],
    ['off', []],
  ])('passes helm lint --strict with monitoring %s', (_what, args) => {
    const result = runTool('helm', ['lint', CHART, '--strict', ...args]);
    expect(result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(result.status).toBe(0);
  });

  test('renders nothing for the databases by default', () => {
    const { objects } = render({});
    expect(objects.filter((o) => ['PodMonitor', 'PrometheusRule', 'ConfigMap'].includes(o.kind))).toEqual([]);
  });

  test('renders a PodMonitor, a PrometheusRule and a dashboard ConfigMap the API server accepts', async () => {
    const namespace = await createTestNamespace(testKubeConfig(), 'monitoring');
    for (const crd of [standInCrd('PodMonitor', 'podmonitors'), standInCrd('PrometheusRule', 'prometheusrules')]) {
      const applied = runTool('kubectl', ['apply', '--server-side', '-f', '-'], JSON.stringify(crd));
      expect(applied.stderr).toBe('');
    }
    const established = runTool('kubectl', [
      'wait',
      '--for=condition=Established',
      'crd/podmonitors.monitoring.coreos.com',
      'crd/prometheusrules.monitoring.coreos.com',
    ]);
    expect(established.status).toBe(0);

    const { objects, text } = renderMonitoring({}, namespace);
    expect(objects.filter((o) => ['PodMonitor', 'PrometheusRule', 'ConfigMap'].includes(o.kind)).map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      ['ConfigMap/cairn-dashboard', 'PodMonitor/cairn-database', 'PrometheusRule/cairn'],
    );
    const dryRun = runTool('kubectl', ['apply', '--server-side', '--force-conflicts', '--dry-run=server', '-n', namespace, '-f', '-'], text);
    expect(dryRun.stderr).toBe('');
    expect(dryRun.status).toBe(0);
  });

  test("the PodMonitor selects the operator's node and gateway pods, on the port they serve /metrics on", () => {
    const podMonitor = renderMonitoring().podMonitor!;
    expect(podMonitor.podMetricsEndpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics' })]);

    const plan = planCluster(
      databaseCluster(),
      { statefulSets: new Map(), readyNodes: new Map([['east', 3], ['west', 2]]), readyGateways: 0, initJob: undefined, tls: { kind: 'none' } },
      '2025-01-01T00:00:00Z',
    );
    const templates = [...plan.objects, ...(plan.initJob === undefined ? [] : [plan.initJob])].flatMap((o) => {
      const template = (o as { spec?: { template?: V1PodTemplateSpec } }).spec?.template;
      return template === undefined ? [] : [{ name: `${o.kind}/${o.metadata?.name}`, template }];
    });
    const summarize = (name: string, template: V1PodTemplateSpec) => ({
      name,
      selected: selects(podMonitor.selector, template.metadata?.labels ?? {}),
      servesHttp: (template.spec?.containers ?? []).some((c) => (c.ports ?? []).some((p) => p.name === 'http')),
    });
    expect(templates.map(({ name, template }) => summarize(name, template))).toEqual([
      { name: 'StatefulSet/demo-east', selected: true, servesHttp: true },
      { name: 'StatefulSet/demo-west', selected: true, servesHttp: true },
      { name: 'Deployment/demo-gateway', selected: true, servesHttp: true },
      { name: 'Job/demo-init', selected: false, servesHttp: false },
    ]);
  });

  test.each([
    ['every namespace when the operator watches all', {}, { any: true }],
    ["the operator's watch namespace", { operator: { watchNamespace: 'db' } }, { matchNames: ['db'] }],
    ['the namespaces given', { operator: { watchNamespace: 'db' }, monitoring: { podMonitor: { namespaces: ['a', 'b'] } } }, { matchNames: ['a', 'b'] }],
  ])('the PodMonitor looks in %s', (_what, values, namespaceSelector) => {
    expect(renderMonitoring(values).podMonitor?.namespaceSelector).toEqual(namespaceSelector);
  });

  test('every alert has a duration, a severity, a summary and a description, and reads only the series of its PodMonitor', () => {
    const { alerts } = renderMonitoring();
    expect(alerts.map((a) => a.alert).sort()).toEqual(Object.keys(ALERT_METRICS).sort());
    for (const alert of alerts) {
      expect({ alert: alert.alert, for: alert.for }).toEqual({ alert: alert.alert, for: expect.stringMatching(/^\d+[smh]$/) });
      expect(['warning', 'critical']).toContain(alert.labels.severity);
      expect(alert.annotations.summary).toEqual(expect.any(String));
      expect(alert.annotations.description).toContain('{{ $labels.cairn_cluster }}');
      // Every series selector is scoped to the job Prometheus gives the PodMonitor's targets.
      const selectors = alert.expr.match(/\{[^{}]*\}/g) ?? [];
      expect(selectors.length).toBeGreaterThan(0);
      expect(new Set(selectors)).toEqual(new Set([`{job="${NAMESPACE}/cairn-database"}`]));
    }
  });

  test('the thresholds, durations and severities come from values', () => {
    const changed = {
      monitoring: {
        prometheusRule: {
          kvWriteLatency: { thresholdSeconds: 0.25, for: '3m', severity: 'critical' },
          kvReadLatency: { thresholdSeconds: 0.125 },
          raftElections: { perHour: 17 },
          txnAborts: { ratio: 0.125, minPerSecond: 3.5 },
          followerLag: { thresholdSeconds: 42 },
          unavailableRanges: { for: '7m' },
          storageWriteStalls: { for: '4m', severity: 'critical' },
        },
      },
    };
    const byName = new Map(renderMonitoring(changed).alerts.map((a) => [a.alert, a]));
    const threshold = (name: string) => /\)\s*>\s*([0-9.]+)\s*$/.exec(byName.get(name)?.expr.split(/\band on\b/)[0] ?? '')?.[1];
    expect({
      CairnKvWriteLatencyHigh: threshold('CairnKvWriteLatencyHigh'),
      CairnKvReadLatencyHigh: threshold('CairnKvReadLatencyHigh'),
      CairnRaftElectionsFrequent: threshold('CairnRaftElectionsFrequent'),
      CairnTxnAbortRateHigh: threshold('CairnTxnAbortRateHigh'),
      CairnFollowerLagHigh: threshold('CairnFollowerLagHigh'),
      CairnRangesUnavailable: threshold('CairnRangesUnavailable'),
    }).toEqual({
      CairnKvWriteLatencyHigh: '0.25',
      CairnKvReadLatencyHigh: '0.125',
      CairnRaftElectionsFrequent: '17',
      CairnTxnAbortRateHigh: '0.125',
      CairnFollowerLagHigh: '42',
      CairnRangesUnavailable: '0',
    });
    // Aborts count only with traffic: the floor is the condition after `and on`.
    expect(/\band on\b[\s\S]*>=\s*([0-9.]+)\s*$/.exec(byName.get('CairnTxnAbortRateHigh')?.expr ?? '')?.[1]).toBe('3.5');
    expect(byName.get('CairnKvWriteLatencyHigh')).toMatchObject({ for: '3m', labels: { severity: 'critical' } });
    expect(byName.get('CairnRangesUnavailable')).toMatchObject({ for: '7m' });
    expect(byName.get('CairnStorageWritesHeldBack')).toMatchObject({ for: '4m', labels: { severity: 'critical' } });

    const defaults = new Map(renderMonitoring().alerts.map((a) => [a.alert, a.expr]));
    expect(defaults.get('CairnKvWriteLatencyHigh')).toMatch(/> 0\.1\s*$/);
    expect(defaults.get('CairnKvReadLatencyHigh')).toMatch(/> 0\.05\s*$/);
    expect(defaults.get('CairnRaftElectionsFrequent')).toMatch(/increase\(cairn_raft_elections_total\{[^}]*\}\[1h\]\)\)\s*> 5\s*$/);
    expect(defaults.get('CairnTxnAbortRateHigh')).toMatch(/> 0\.05\s*and on \(namespace, cairn_cluster\)[\s\S]*>= 1\s*$/);
    expect(defaults.get('CairnFollowerLagHigh')).toMatch(/^max by .*> 10\s*$/s);
  });

  test('the alerts read a selector of your own when something else scrapes the pods, and refuse to read nothing', () => {
    const own = renderMonitoring({ monitoring: { podMonitor: { enabled: false }, prometheusRule: { selector: 'job="cairn"' } } });
    expect(own.podMonitor).toBeUndefined();
    expect(own.alerts.every((a) => (a.expr.match(/\{[^{}]*\}/g) ?? []).every((s) => s === '{job="cairn"}'))).toBe(true);

    const refused = helmTemplate({ monitoring: { prometheusRule: { enabled: true } } }, NAMESPACE);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain('monitoring.prometheusRule needs monitoring.podMonitor.enabled');
  });

  test("the dashboard is Grafana JSON in a ConfigMap with the sidecar's label", () => {
    const { dashboard, dashboardConfigMap } = renderMonitoring();
    expect(dashboardConfigMap.metadata.labels?.grafana_dashboard).toBe('1');
    const relabelled = renderMonitoring({ monitoring: { grafanaDashboard: { label: 'dashboards', labelValue: 'cairn', namespace: 'grafana' } } }).dashboardConfigMap;
    expect(relabelled.metadata).toMatchObject({ namespace: 'grafana', labels: { dashboards: 'cairn' } });

    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.templating.list.find((v) => v.type === 'datasource')).toMatchObject({ name: 'datasource', query: 'prometheus' });
    const panels = allPanels(dashboard.panels);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const panel of panels) {
      expect({ title: panel.title, gridPos: panel.gridPos }).toEqual({
        title: panel.title,
        gridPos: { h: expect.any(Number), w: expect.any(Number), x: expect.any(Number), y: expect.any(Number) },
      });
      expect(panel.gridPos.x + panel.gridPos.w).toBeLessThanOrEqual(24);
      for (const target of panel.targets ?? []) expect(target.expr).toContain('cairn_cluster="$cluster"');
    }
    expect(panels.filter((p) => p.type !== 'row' && (p.targets ?? []).length === 0).map((p) => p.title)).toEqual([]);
  });

  test('the alerts and the dashboard name the metrics they are about', () => {
    const { alerts, dashboard } = renderMonitoring();
    for (const alert of alerts) {
      expect({ alert: alert.alert, metrics: metricsNamedIn(alert.expr) }).toEqual({
        alert: alert.alert,
        metrics: expect.arrayContaining([...(ALERT_METRICS[alert.alert] ?? ['(an alert this test does not know)'])]),
      });
    }
    expect([...new Set(dashboardReferences(dashboard).map((r) => r.metric))]).toEqual(expect.arrayContaining([...DASHBOARD_METRICS]));
  });
});

describe('the metrics the monitoring names, on a live cluster', () => {
  let dataDir: string | undefined;
  let cluster: LocalCluster | undefined;
  /** Each process's /metrics, by what it is. */
  const scrapes = new Map<string, string>();

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-monitoring-'));
    cluster = new LocalCluster({ dataDir, nodes: 3, ports: 'free', gateway: {} });
    await cluster.start();
    const gateway = cluster.gateway!;
    // Some SQL of every kind, so that labelled families have series too.
    const client = new Client({ connectionString: gateway.url });
    await client.connect();
    try {
      await client.query('CREATE TABLE monitored (k INT PRIMARY KEY, v INT NOT NULL)');
      await client.query('INSERT INTO monitored VALUES (1, 0), (2, 0), (3, 0)');
      await client.query('SELECT v FROM monitored WHERE k = 2');
      await client.query('BEGIN');
      await client.query('UPDATE monitored SET v = v + 1 WHERE k = 1');
      await client.query('COMMIT');
      await expect(client.query('INSERT INTO monitored VALUES (1, 0)')).rejects.toMatchObject({ code: '23505' });
    } finally {
      await client.end();
    }
    for (const node of cluster.nodes) scrapes.set(`cairn-node ${node.index}`, await scrape(node.httpAddress));
    scrapes.set('cairn-gateway', await scrape(gateway.httpAddress));
  }, CLUSTER_START_TIMEOUT_MS);

  afterAll(async () => {
    try {
      await cluster?.stop();
    } finally {
      if (dataDir !== undefined) fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  async function scrape(httpAddress: string): Promise<string> {
    const response = await fetch(`http://${httpAddress}/metrics`);
    expect(response.status).toBe(200);
    return response.text();
  }

  test('every metric that an alert or a dashboard query names is exported by cairn-node or cairn-gateway', () => {
    // The scrapes are of processes that served the SQL above.
    expect(scrapes.get('cairn-gateway')).toMatch(/^cairn_sql_statements_total\{[^}]*result="23505"[^}]*\} 1$/m);
    const { alerts, dashboard } = renderMonitoring();
    const types = metricTypes([...scrapes.values()]);
    const missing = new Map<string, { why: string; namedBy: Set<string> }>();
    for (const { metric, namedBy } of [...alertReferences(alerts), ...dashboardReferences(dashboard)]) {
      const why = whyNotExported(metric, types);
      if (why === undefined) continue;
      const entry = missing.get(metric) ?? { why, namedBy: new Set<string>() };
      missing.set(metric, entry);
      entry.namedBy.add(namedBy);
    }
    expect([...missing].map(([metric, { why, namedBy }]) => `${metric}: ${why} (named by ${[...namedBy].join(', ')})`).sort()).toEqual([]);
  });

  test('no process exports a label that the PodMonitor sets on its targets', () => {
    const clashes = [...scrapes].flatMap(([process, text]) =>
      [...text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}/gm)].flatMap((m) =>
        [...m[2]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)].map((l) => l[1]!).filter((label) => TARGET_LABELS.includes(label)).map((label) => `${process}: ${m[1]} has ${label}`),
      ),
    );
    expect([...new Set(clashes)]).toEqual([]);
  });
});
