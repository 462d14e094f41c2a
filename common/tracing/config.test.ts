import { InvalidArgumentError } from '../errors';
import { DEFAULT_SAMPLE_RATIO, tracingConfigFromEnv } from './config';

describe('tracing configuration from OTEL_* variables', () => {
  test('with nothing set, nothing is exported and new traces would be sampled at the low default ratio', () => {
    const config = tracingConfigFromEnv({}, 'cairn-node');
    expect(config).toMatchObject({
      disabled: false,
      serviceName: 'cairn-node',
      exporter: 'none',
      protocol: 'http/protobuf',
      sampler: { parentBased: true, ratio: DEFAULT_SAMPLE_RATIO },
      batch: { scheduledDelayMs: 5000, maxQueueSize: 2048, maxExportBatchSize: 512, exportTimeoutMs: 30000 },
    });
  });

  test('an OTLP endpoint turns the OTLP exporter on; OTEL_TRACES_EXPORTER decides when set', () => {
    expect(tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }, 'x').exporter).toBe('otlp');
    expect(tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' }, 'x').exporter).toBe('otlp');
    expect(tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }, 'x').exporter).toBe('none');
    expect(tracingConfigFromEnv({ OTEL_TRACES_EXPORTER: 'console' }, 'x').exporter).toBe('console');
  });

  test('service name, protocol and batching come from their variables', () => {
    const config = tracingConfigFromEnv(
      {
        OTEL_SERVICE_NAME: 'db-eu',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc',
        OTEL_BSP_SCHEDULE_DELAY: '200',
        OTEL_BSP_MAX_QUEUE_SIZE: '100',
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '50',
        OTEL_BSP_EXPORT_TIMEOUT: '1000',
      },
      'cairn-gateway',
    );
    expect(config.serviceName).toBe('db-eu');
    expect(config.protocol).toBe('grpc');
    expect(config.batch).toEqual({ scheduledDelayMs: 200, maxQueueSize: 100, maxExportBatchSize: 50, exportTimeoutMs: 1000 });
  });

  test.each([
    ['always_on', undefined, { parentBased: false, ratio: 1 }],
    ['always_off', undefined, { parentBased: false, ratio: 0 }],
    ['traceidratio', '0.25', { parentBased: false, ratio: 0.25 }],
    ['parentbased_always_on', undefined, { parentBased: true, ratio: 1 }],
    ['parentbased_always_off', undefined, { parentBased: true, ratio: 0 }],
    ['parentbased_traceidratio', '0.5', { parentBased: true, ratio: 0.5 }],
    ['ParentBased_TraceIdRatio', undefined, { parentBased: true, ratio: 1 }],
  ])('sampler %s with argument %s', (sampler, arg, expected) => {
    const env: Record<string, string> = { OTEL_TRACES_SAMPLER: sampler };
    if (arg !== undefined) env.OTEL_TRACES_SAMPLER_ARG = arg;
    expect(tracingConfigFromEnv(env, 'x').sampler).toEqual(expected);
  });

  test('OTEL_SDK_DISABLED turns tracing off', () => {
    expect(tracingConfigFromEnv({ OTEL_SDK_DISABLED: 'true' }, 'x').disabled).toBe(true);
    expect(tracingConfigFromEnv({ OTEL_SDK_DISABLED: 'false' }, 'x').disabled).toBe(false);
  });

  test.each([
    [{ OTEL_TRACES_SAMPLER: 'sometimes' }, 'OTEL_TRACES_SAMPLER'],
    [{ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1.5' }, 'OTEL_TRACES_SAMPLER_ARG'],
    [{ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: 'half' }, 'OTEL_TRACES_SAMPLER_ARG'],
    [{ OTEL_TRACES_EXPORTER: 'zipkin' }, 'OTEL_TRACES_EXPORTER'],
    [{ OTEL_TRACES_EXPORTER: 'otlp,console' }, 'OTEL_TRACES_EXPORTER'],
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, 'OTEL_EXPORTER_OTLP_PROTOCOL'],
    [{ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'thrift' }, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'],
    [{ OTEL_BSP_SCHEDULE_DELAY: '-1' }, 'OTEL_BSP_SCHEDULE_DELAY'],
    [{ OTEL_BSP_MAX_QUEUE_SIZE: '0' }, 'OTEL_BSP_MAX_QUEUE_SIZE'],
    [{ OTEL_SDK_DISABLED: 'yes' }, 'OTEL_SDK_DISABLED'],
  ])('a malformed value is refused, naming its variable: %o', (env, variable) => {
    expect(() => tracingConfigFromEnv(env, 'x')).toThrow(InvalidArgumentError);
    expect(() => tracingConfigFromEnv(env, 'x')).toThrow(variable);
  });
});
