import type { RecordedSpan } from '../common/tracing';
import type * as pb from '../proto/gen/cairn/kv/v1/kv';

/**
 * A recorded span as a node sends it back to a gateway that records the trace. The
 * message has the same fields, so the way back needs no conversion.
 */
export function recordedSpanToProto(span: RecordedSpan): pb.RecordedSpan {
  return { ...span, attributes: { ...span.attributes } };
}
