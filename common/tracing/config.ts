import { InvalidArgumentError } from '../errors';

/**
 * How a process traces, from the standard OpenTelemetry environment variables
 * (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/).
 * The OTLP exporter reads its own endpoint, headers, timeout and compression
 * (`OTEL_EXPORTER_OTLP_[TRACES_]*`); this reads what decides whether and how it runs.
 */
export interface TracingConfig {
  /** `OTEL_SDK_DISABLED=true`: no spans at all, not even for `SET tracing = on`. */
  readonly disabled: boolean;
  /** `OTEL_SERVICE_NAME`, else the process's own name. */
  readonly serviceName: string;
  /** `OTEL_TRACES_EXPORTER`: `otlp`, `console` or `none`. */
  readonly exporter: TraceExporterKind;
  /** `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`. */
  readonly protocol: OtlpProtocol;
  readonly sampler: SamplerConfig;
  /** `OTEL_BSP_*`: how ended spans are batched for export. */
  readonly batch: BatchConfig;
}

export type TraceExporterKind = 'otlp' | 'console' | 'none';
export type OtlpProtocol = 'http/protobuf' | 'grpc';

export interface SamplerConfig {
  /** Whether a span with a parent follows the parent's decision. */
  readonly parentBased: boolean;
  /** The share of new traces sampled: 1 always, 0 never. */
  readonly ratio: number;
}

export interface BatchConfig {
  readonly scheduledDelayMs: number;
  readonly maxQueueSize: number;
  readonly maxExportBatchSize: number;
  readonly exportTimeoutMs: number;
}

/**
 * New traces sampled when `OTEL_TRACES_SAMPLER` is not set. The specification's default
 * is every trace; a database traces each statement through several processes, so by
 * default one in a hundred, and `SET tracing = on` traces a whole session.
 */
export const DEFAULT_SAMPLE_RATIO = 0.01;

type Env = Readonly<Record<string, string | undefined>>;

/** The configuration from `env`; InvalidArgumentError names the variable that is wrong. */
export function tracingConfigFromEnv(env: Env, defaultServiceName: string): TracingConfig {
  const disabled = booleanOf(env, 'OTEL_SDK_DISABLED');
  const serviceName = nonEmpty(env.OTEL_SERVICE_NAME) ?? defaultServiceName;
  return {
    disabled,
    serviceName,
    exporter: exporterOf(env),
    protocol: protocolOf(env),
    sampler: samplerOf(env),
    batch: {
      scheduledDelayMs: numberOf(env, 'OTEL_BSP_SCHEDULE_DELAY', 5_000, 0),
      maxQueueSize: numberOf(env, 'OTEL_BSP_MAX_QUEUE_SIZE', 2_048, 1),
      maxExportBatchSize: numberOf(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 512, 1),
      exportTimeoutMs: numberOf(env, 'OTEL_BSP_EXPORT_TIMEOUT', 30_000, 1),
    },
  };
}

/**
 * `OTEL_TRACES_EXPORTER` when set; otherwise OTLP once an OTLP endpoint is configured,
 * and nothing before (there is no collector to send to on a machine that set none).
 */
function exporterOf(env: Env): TraceExporterKind {
  const named = nonEmpty(env.OTEL_TRACES_EXPORTER)?.toLowerCase();
  if (named === undefined) {
    const endpoint = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) ?? nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT);
    return endpoint === undefined ? 'none' : 'otlp';
  }
  const kinds = named.split(',').map((k) => k.trim());
  if (kinds.length !== 1 || !(kinds[0] === 'otlp' || kinds[0] === 'console' || kinds[0] === 'none')) {
    throw new InvalidArgumentError(`OTEL_TRACES_EXPORTER: '${named}' is not one of otlp, console, none`);
  }
  return kinds[0];
}

function protocolOf(env: Env): OtlpProtocol {
  const value = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL) ?? nonEmpty(env.OTEL_EXPORTER_OTLP_PROTOCOL) ?? 'http/protobuf';
  if (value !== 'http/protobuf' && value !== 'grpc') {
    const variable = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL) !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
    throw new InvalidArgumentError(`${variable}: '${value}' is not supported (http/protobuf or grpc)`);
  }
  return value;
}

function samplerOf(env: Env): SamplerConfig {
  const name = nonEmpty(env.OTEL_TRACES_SAMPLER)?.toLowerCase();
  const ratio = (): number => {
    const arg = nonEmpty(env.OTEL_TRACES_SAMPLER_ARG);
    if (arg === undefined) return 1;
    const value = Number(arg);
    if (!Number.isFinite(value) || value < 0 || value > 1) {
      throw new InvalidArgumentError(`OTEL_TRACES_SAMPLER_ARG: '${arg}' is not a ratio between 0 and 1`);
    }
    return value;
  };
  switch (name) {
    case undefined:
      return { parentBased: true, ratio: DEFAULT_SAMPLE_RATIO };
    case 'always_on':
      return { parentBased: false, ratio: 1 };
    case 'always_off':
      return { parentBased: false, ratio: 0 };
    case 'traceidratio':
      return { parentBased: false, ratio: ratio() };
    case 'parentbased_always_on':
      return { parentBased: true, ratio: 1 };
    case 'parentbased_always_off':
      return { parentBased: true, ratio: 0 };
    case 'parentbased_traceidratio':
      return { parentBased: true, ratio: ratio() };
    default:
      throw new InvalidArgumentError(
        `OTEL_TRACES_SAMPLER: '${name}' is not one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio`,
      );
  }
}

function booleanOf(env: Env, name: string): boolean {
  const value = nonEmpty(env[name])?.toLowerCase();
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw new InvalidArgumentError(`${name}: '${env[name]}' is not true or false`);
}

function numberOf(env: Env, name: string, fallback: number, min: number): number {
  const text = nonEmpty(env[name]);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    throw new InvalidArgumentError(`${name}: '${text}' is not an integer of at least ${min}`);
  }
  return value;
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}
