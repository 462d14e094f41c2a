import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import type { TracingConfig } from './config';
import { tracingConfigFromEnv } from './config';
import type { TracingHandle } from './tracing';
import {
  NO_SPAN,
  endSpan,
  inChildSpan,
  installTracing,
  listenToTrace,
  startChildSpan,
  startRemoteChildSpan,
  startRootSpan,
  traceparentOf,
} from './tracing';

const SAMPLED_PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const UNSAMPLED_PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';

function config(env: Record<string, string>): TracingConfig {
  return { ...tracingConfigFromEnv(env, 'cairn-test'), batch: { scheduledDelayMs: 0, maxQueueSize: 100, maxExportBatchSize: 100, exportTimeoutMs: 1000 } };
}

describe('tracing', () => {
  let exporter: InMemorySpanExporter;
  let handle: TracingHandle | undefined;

  beforeEach(() => {
    exporter = new InMemorySpanExporter();
  });

  afterEach(async () => {
    await handle?.shutdown();
    handle = undefined;
  });

  async function exported(): Promise<ReadableSpan[]> {
    await handle?.forceFlush();
    return exporter.getFinishedSpans();
  }

  test('without installing, every start is NO_SPAN and nothing propagates', () => {
    const root = startRootSpan('sql.statement', undefined, { force: true });
    expect(root).toBe(NO_SPAN);
    expect(startChildSpan('kv.batch', root)).toBe(NO_SPAN);
    expect(startRemoteChildSpan('kv.node.batch', SAMPLED_PARENT)).toBe(NO_SPAN);
    expect(traceparentOf(root)).toBe('');
  });

  test('a sampled trace: children in this process and in another one share its trace and name their parents', async () => {
    handle = installTracing({ config: config({ OTEL_TRACES_SAMPLER: 'always_on' }), instanceId: '127.0.0.1:1', exporter });
    const root = startRootSpan('sql.statement', { 'db.statement': 'SELECT $1' });
    const child = startChildSpan('kv.batch', root, { 'cairn.requests': 2 });
    const traceparent = traceparentOf(child);
    expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const remote = startRemoteChildSpan('kv.node.batch', traceparent);
    endSpan(remote);
    endSpan(child);
    endSpan(root);
    const spans = await exported();
    const byName = new Map(spans.map((s) => [s.name, s]));
    const traceId = root.spanContext().traceId;
    expect(spans.map((s) => s.spanContext().traceId)).toEqual([traceId, traceId, traceId]);
    expect(byName.get('sql.statement')?.parentSpanContext).toBeUndefined();
    expect(byName.get('kv.batch')?.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    expect(byName.get('kv.node.batch')?.parentSpanContext?.spanId).toBe(child.spanContext().spanId);
    expect(byName.get('sql.statement')?.resource.attributes).toMatchObject({ 'service.name': 'cairn-test', 'service.instance.id': '127.0.0.1:1' });
    expect(byName.get('kv.batch')?.attributes).toEqual({ 'cairn.requests': 2 });
  });

  test('parent-based sampling follows the parent from another process, and a child of NO_SPAN is NO_SPAN', async () => {
    handle = installTracing({ config: config({ OTEL_TRACES_SAMPLER: 'parentbased_always_off', OTEL_TRACES_EXPORTER: 'otlp' }), instanceId: 'n', exporter });
    expect(startRootSpan('root')).toBe(NO_SPAN);
    expect(startRemoteChildSpan('kv.node.batch', UNSAMPLED_PARENT)).toBe(NO_SPAN);
    expect(startRemoteChildSpan('kv.node.batch', 'not a traceparent')).toBe(NO_SPAN);
    expect(startChildSpan('kv.evaluate', NO_SPAN)).toBe(NO_SPAN);
    const followed = startRemoteChildSpan('kv.node.batch', SAMPLED_PARENT);
    expect(followed.isRecording()).toBe(true);
    expect(followed.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    endSpan(followed);
    expect((await exported()).map((s) => s.name)).toEqual(['kv.node.batch']);
  });

  test('with no exporter, only forced traces record, and their spans reach the trace listener', async () => {
    handle = installTracing({ config: config({ OTEL_TRACES_SAMPLER: 'always_on' }), instanceId: 'g' });
    expect(startRootSpan('sql.statement')).toBe(NO_SPAN);
    const forced = startRootSpan('sql.statement', undefined, { force: true });
    expect(forced.isRecording()).toBe(true);
    const heard: string[] = [];
    const stop = listenToTrace(forced.spanContext().traceId, (span) => heard.push(span.name));
    endSpan(startChildSpan('sql.plan', forced));
    endSpan(forced);
    stop();
    expect(heard).toEqual(['sql.plan', 'sql.statement']);
  });

  test('the ratio samples about that share of new traces', () => {
    handle = installTracing({ config: config({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1', OTEL_TRACES_EXPORTER: 'otlp' }), instanceId: 'g', exporter });
    let sampled = 0;
    for (let i = 0; i < 10_000; i++) {
      const span = startRootSpan('s');
      if (span.isRecording()) sampled++;
      endSpan(span);
    }
    expect(sampled).toBeGreaterThan(800);
    expect(sampled).toBeLessThan(1200);
  });

  test('a failed span carries the error code, never the message', async () => {
    handle = installTracing({ config: config({ OTEL_TRACES_SAMPLER: 'always_on' }), instanceId: 'g', exporter });
    const root = startRootSpan('sql.statement');
    const failure = Object.assign(new Error('duplicate key value (k)=(42)'), { sqlState: '23505' });
    await expect(inChildSpan('sql.execute', root, () => Promise.reject(failure))).rejects.toBe(failure);
    endSpan(root);
    const execute = (await exported()).find((s) => s.name === 'sql.execute');
    expect(execute?.attributes['error.type']).toBe('23505');
    expect(execute?.status).toEqual({ code: 2, message: '23505' });
    expect(JSON.stringify(execute?.attributes)).not.toContain('42');
  });

  test('OTEL_SDK_DISABLED records nothing, even when forced', () => {
    handle = installTracing({ config: config({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_SAMPLER: 'always_on' }), instanceId: 'g', exporter });
    expect(startRootSpan('s', undefined, { force: true })).toBe(NO_SPAN);
  });
});
