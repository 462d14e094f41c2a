import * as api from '@opentelemetry/api';
import { parseTraceParent } from '@opentelemetry/core';
import { OTLPTraceExporter as OtlpGrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as OtlpHttpTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';
import { AlwaysOnSampler, BatchSpanProcessor, ConsoleSpanExporter, SamplingDecision, TraceIdRatioBasedSampler, TracerProvider } from '@opentelemetry/sdk-trace';
import type { Logger } from '../logging';
import type { TracingConfig } from './config';

/**
 * Spans, passed by hand: a caller hands its span to what it calls, and a child starts
 * from it. No context manager (AsyncLocalStorage) follows promises around, so tracing
 * costs nothing where no span records: a child of a span that does not record is the
 * shared NO_SPAN, made without a call into the SDK.
 *
 * Sampling is decided once per trace, at its root (`startRootSpan`), or taken from the
 * parent in another process (`startRemoteChildSpan`); a child in the same process
 * always follows its parent. Only recording spans are propagated: a process that gets
 * no trace context records nothing.
 */
export type Span = api.Span;
export type SpanAttributes = api.Attributes;
export { SpanKind } from '@opentelemetry/api';

/** The span that records nothing: what every start returns when the trace is not sampled. */
export const NO_SPAN: Span = api.trace.wrapSpanContext(api.INVALID_SPAN_CONTEXT);

/** Receives every span this process records, as it ends (SHOW TRACE FOR SESSION). */
export type SpanListener = (span: ReadableSpan) => void;

interface Installed {
  readonly tracer: api.Tracer;
  readonly provider: TracerProvider;
  /** Whether sampled spans go anywhere (an exporter); if not, only forced traces record. */
  readonly exporting: boolean;
  readonly parentBased: boolean;
  readonly ratio: number;
  readonly ratioSampler: TraceIdRatioBasedSampler;
  readonly listeners: Map<string, Set<SpanListener>>;
}

let installed: Installed | undefined;

export interface TracingHandle {
  /** Exports what has ended and stops; waits at most `timeoutMs`. */
  shutdown(timeoutMs?: number): Promise<void>;
  /** Exports what has ended so far. */
  forceFlush(): Promise<void>;
}

export interface InstallTracingOptions {
  readonly config: TracingConfig;
  /** `service.instance.id`: tells apart processes of one service (a listen address). */
  readonly instanceId: string;
  /** Resource attributes of the process (node ID, ...). */
  readonly attributes?: SpanAttributes;
  /** Where the SDK's own warnings (a collector that does not answer) go. */
  readonly log?: Logger;
  /** Replaces the configured exporter (tests). */
  readonly exporter?: SpanExporter;
}

const SERVICE_VERSION = '0.1.0';
const DEFAULT_SHUTDOWN_TIMEOUT_MS = 5_000;

/**
 * Sets this process's tracer up from `config`. Without it (and with OTEL_SDK_DISABLED)
 * every start returns NO_SPAN. Installing twice replaces the first (tests).
 */
export function installTracing(options: InstallTracingOptions): TracingHandle {
  const { config } = options;
  if (config.disabled) {
    installed = undefined;
    return { shutdown: async () => undefined, forceFlush: async () => undefined };
  }
  if (options.log !== undefined) installDiagLogger(options.log);
  const exporter = options.exporter ?? exporterOf(config);
  const listeners = new Map<string, Set<SpanListener>>();
  const processors: SpanProcessor[] = [new ListenerSpanProcessor(listeners)];
  if (exporter !== undefined) {
    processors.push(
      new BatchSpanProcessor({
        exporter,
        scheduledDelayMillis: config.batch.scheduledDelayMs,
        maxQueueSize: config.batch.maxQueueSize,
        maxExportBatchSize: Math.min(config.batch.maxExportBatchSize, config.batch.maxQueueSize),
        exportTimeoutMillis: config.batch.exportTimeoutMs,
      }),
    );
  }
  // OTEL_RESOURCE_ATTRIBUTES may add to or override ours; OTEL_SERVICE_NAME (in
  // config) names the service whatever else says so.
  const resource = resourceFromAttributes({
    'service.version': SERVICE_VERSION,
    'service.instance.id': options.instanceId,
    ...options.attributes,
  })
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(resourceFromAttributes({ 'service.name': config.serviceName }));
  // Every decision is taken here before a span starts, so the SDK's own sampler says yes.
  const provider = new TracerProvider({ resource, sampler: new AlwaysOnSampler(), spanProcessors: processors });
  const current: Installed = {
    tracer: provider.getTracer('cairn', SERVICE_VERSION),
    provider,
    exporting: exporter !== undefined,
    parentBased: config.sampler.parentBased,
    ratio: config.sampler.ratio,
    ratioSampler: new TraceIdRatioBasedSampler(config.sampler.ratio),
    listeners,
  };
  installed = current;
  return {
    shutdown: async (timeoutMs = DEFAULT_SHUTDOWN_TIMEOUT_MS) => {
      if (installed === current) installed = undefined;
      await withTimeout(provider.shutdown(), timeoutMs);
    },
    forceFlush: () => provider.forceFlush(),
  };
}

/**
 * Starts a trace: a span without a parent, sampled at the configured ratio when spans
 * are exported, always when `force` (a session with `SET tracing = on`).
 */
export function startRootSpan(name: string, attributes?: SpanAttributes, options: { readonly force?: boolean; readonly kind?: api.SpanKind } = {}): Span {
  const current = installed;
  if (current === undefined) return NO_SPAN;
  if (options.force !== true) {
    if (!current.exporting || current.ratio <= 0) return NO_SPAN;
    if (current.ratio < 1 && Math.random() >= current.ratio) return NO_SPAN;
  }
  return current.tracer.startSpan(name, { root: true, ...(attributes === undefined ? {} : { attributes }), ...(options.kind === undefined ? {} : { kind: options.kind }) });
}

/** A child of `parent` in this process; NO_SPAN when the parent records nothing. */
export function startChildSpan(name: string, parent: Span | undefined, attributes?: SpanAttributes, kind?: api.SpanKind): Span {
  const current = installed;
  if (current === undefined || parent === undefined || !parent.isRecording()) return NO_SPAN;
  return current.tracer.startSpan(
    name,
    { ...(attributes === undefined ? {} : { attributes }), ...(kind === undefined ? {} : { kind }) },
    api.trace.setSpan(api.ROOT_CONTEXT, parent),
  );
}

/**
 * A child of the span in another process that `traceparent` (W3C Trace Context) names;
 * NO_SPAN when there is none, it does not parse, or the trace is not sampled here.
 */
export function startRemoteChildSpan(name: string, traceparent: string | undefined, attributes?: SpanAttributes, kind?: api.SpanKind): Span {
  const current = installed;
  if (current === undefined || traceparent === undefined || traceparent === '') return NO_SPAN;
  const parent = parseTraceParent(traceparent);
  if (parent === null) return NO_SPAN;
  const parentSampled = (parent.traceFlags & api.TraceFlags.SAMPLED) !== 0;
  if (current.parentBased ? !parentSampled : !ratioSampled(current, parent.traceId)) return NO_SPAN;
  return current.tracer.startSpan(
    name,
    { ...(attributes === undefined ? {} : { attributes }), ...(kind === undefined ? {} : { kind }) },
    api.trace.setSpanContext(api.ROOT_CONTEXT, { ...parent, isRemote: true }),
  );
}

/** The W3C `traceparent` of a recording span, for its children elsewhere; '' otherwise. */
export function traceparentOf(span: Span | undefined): string {
  if (span === undefined || !span.isRecording()) return '';
  const c = span.spanContext();
  return `00-${c.traceId}-${c.spanId}-${c.traceFlags.toString(16).padStart(2, '0')}`;
}

/**
 * Ends `span`, marked failed when `err` is given: by its code or class only, since an
 * error's message may quote the values a statement was given.
 */
export function endSpan(span: Span, err?: unknown): void {
  if (!span.isRecording()) return;
  if (err !== undefined) {
    const type = errorType(err);
    span.setAttribute('error.type', type);
    span.setStatus({ code: api.SpanStatusCode.ERROR, message: type });
  }
  span.end();
}

/** Runs `fn` in a child span of `parent`, ended (and marked on failure) when it settles. */
export async function inChildSpan<T>(name: string, parent: Span | undefined, fn: (span: Span) => Promise<T>, attributes?: SpanAttributes): Promise<T> {
  const span = startChildSpan(name, parent, attributes);
  if (span === NO_SPAN) return fn(span);
  try {
    const result = await fn(span);
    endSpan(span);
    return result;
  } catch (err) {
    endSpan(span, err);
    throw err;
  }
}

/**
 * Calls `listener` with every span of trace `traceId` this process records, as each
 * ends, until the returned function is called.
 */
export function listenToTrace(traceId: string, listener: SpanListener): () => void {
  const current = installed;
  if (current === undefined) return () => undefined;
  let set = current.listeners.get(traceId);
  if (set === undefined) current.listeners.set(traceId, (set = new Set()));
  set.add(listener);
  return () => {
    set.delete(listener);
    if (set.size === 0 && current.listeners.get(traceId) === set) current.listeners.delete(traceId);
  };
}

/** A span as SHOW TRACE FOR SESSION shows it, and as a node sends it back to a gateway. */
export interface RecordedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** '' for a trace's root. */
  readonly parentSpanId: string;
  readonly name: string;
  readonly startUnixNanos: bigint;
  readonly durationNanos: bigint;
  /** The process: its service.name and service.instance.id. */
  readonly service: string;
  readonly instance: string;
  readonly attributes: Readonly<Record<string, string>>;
}

/** An ended span as plain data. */
export function recordedSpanOf(span: ReadableSpan): RecordedSpan {
  const context = span.spanContext();
  const resource = span.resource.attributes;
  const attributes: Record<string, string> = {};
  for (const [key, value] of Object.entries(span.attributes)) {
    if (value !== undefined) attributes[key] = Array.isArray(value) ? value.join(',') : String(value);
  }
  return {
    traceId: context.traceId,
    spanId: context.spanId,
    parentSpanId: span.parentSpanContext?.spanId ?? '',
    name: span.name,
    startUnixNanos: hrTimeNanos(span.startTime),
    durationNanos: hrTimeNanos(span.duration),
    service: String(resource['service.name'] ?? ''),
    instance: String(resource['service.instance.id'] ?? ''),
    attributes,
  };
}

function hrTimeNanos([seconds, nanos]: api.HrTime): bigint {
  return BigInt(seconds) * 1_000_000_000n + BigInt(nanos);
}

/** Whether spans are recorded in this process at all (installed and not disabled). */
export function tracingInstalled(): boolean {
  return installed !== undefined;
}

function ratioSampled(current: Installed, traceId: string): boolean {
  if (current.ratio >= 1) return true;
  if (current.ratio <= 0) return false;
  const decision = current.ratioSampler.shouldSample(api.ROOT_CONTEXT, traceId).decision;
  return decision === SamplingDecision.RECORD_AND_SAMPLED;
}

function errorType(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const e = err as { sqlState?: unknown; code?: unknown; name?: unknown };
    if (typeof e.sqlState === 'string') return e.sqlState;
    if (typeof e.code === 'string') return e.code;
    if (typeof e.name === 'string') return e.name;
  }
  return 'Error';
}

function exporterOf(config: TracingConfig): SpanExporter | undefined {
  switch (config.exporter) {
    case 'none':
      return undefined;
    case 'console':
      return new ConsoleSpanExporter();
    case 'otlp':
      // Both read OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT, _HEADERS, _TIMEOUT, _COMPRESSION.
      return config.protocol === 'grpc' ? new OtlpGrpcTraceExporter() : new OtlpHttpTraceExporter();
  }
}

/** Hands ended spans to the listeners of their trace, if any. */
class ListenerSpanProcessor implements SpanProcessor {
  constructor(private readonly listeners: Map<string, Set<SpanListener>>) {}

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    if (this.listeners.size === 0) return;
    const listeners = this.listeners.get(span.spanContext().traceId);
    if (listeners !== undefined) for (const listener of listeners) listener(span);
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    this.listeners.clear();
    return Promise.resolve();
  }
}

let diagInstalled = false;

/** The SDK's warnings (export failures, dropped spans) as log lines. */
function installDiagLogger(log: Logger): void {
  if (diagInstalled) return;
  diagInstalled = true;
  const child = log.child({ component: 'opentelemetry' });
  api.diag.setLogger(
    {
      error: (message, ...args) => child.error({ detail: args.map(String) }, message),
      warn: (message, ...args) => child.warn({ detail: args.map(String) }, message),
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    api.DiagLogLevel.WARN,
  );
}

async function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
