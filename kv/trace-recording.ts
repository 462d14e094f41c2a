import type { RecordedSpan } from '../common/tracing';
import type * as pb from '../proto/gen/cairn/kv/v1/kv';

/** A recorded span as a node sends it back to a gateway that records the trace. */
export function recordedSpanToProto(span: RecordedSpan): pb.RecordedSpan {
  return {
    traceId: span.traceId,
    spanId: span.spanId,
    parentSpanId: span.parentSpanId,
    name: span.name,
    startUnixNanos: span.startUnixNanos,
    durationNanos: span.durationNanos,
    service: span.service,
    instance: span.instance,
    attributes: { ...span.attributes },
  };
}

export function recordedSpanFromProto(span: pb.RecordedSpan): RecordedSpan {
  return {
    traceId: span.traceId,
    spanId: span.spanId,
    parentSpanId: span.parentSpanId,
    name: span.name,
    startUnixNanos: span.startUnixNanos,
    durationNanos: span.durationNanos,
    service: span.service,
    instance: span.instance,
    attributes: span.attributes,
  };
}
