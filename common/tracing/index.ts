import type { Logger } from '../logging';
import { tracingConfigFromEnv } from './config';
import type { SpanAttributes, TracingHandle } from './tracing';
import { installTracing } from './tracing';

export type { BatchConfig, OtlpProtocol, SamplerConfig, TraceExporterKind, TracingConfig } from './config';
export { DEFAULT_SAMPLE_RATIO, tracingConfigFromEnv } from './config';
export type { InstallTracingOptions, RecordedSpan, Span, SpanAttributes, SpanListener, TracingHandle } from './tracing';
export {
  NO_SPAN,
  SpanKind,
  endSpan,
  inChildSpan,
  installTracing,
  listenToTrace,
  recordedSpanOf,
  startChildSpan,
  startRemoteChildSpan,
  startRootSpan,
  traceparentOf,
  tracingInstalled,
} from './tracing';

/**
 * A server's tracing, from the OTEL_* environment variables (config.ts); throws
 * InvalidArgumentError, naming the variable, when one is malformed.
 */
export function installTracingFromEnv(options: {
  readonly serviceName: string;
  readonly instanceId: string;
  readonly log: Logger;
  readonly attributes?: SpanAttributes;
  readonly env?: Readonly<Record<string, string | undefined>>;
}): TracingHandle {
  return installTracing({
    config: tracingConfigFromEnv(options.env ?? process.env, options.serviceName),
    instanceId: options.instanceId,
    log: options.log,
    ...(options.attributes === undefined ? {} : { attributes: options.attributes }),
  });
}
