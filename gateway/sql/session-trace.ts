import type { RecordedSpan } from '../../common/tracing';
import type { Datum } from './types/datum';
import { scalarType } from './types/datum';
import type { OutputColumn } from './plan/plan';
import { column } from './plan/scope';

/** Spans a session keeps at most; the oldest go first. */
export const MAX_SESSION_TRACE_SPANS = 10_000;

/**
 * The spans of a session's traced statements since `SET tracing = on`: the gateway's
 * own, and those the leaseholders sent back with their answers (followers' Raft spans
 * reach only an OTLP collector). `SHOW TRACE FOR SESSION` shows them as rows.
 */
export class SessionTrace {
  private spans: RecordedSpan[] = [];
  private readonly seen = new Set<string>();

  clear(): void {
    this.spans = [];
    this.seen.clear();
  }

  add(span: RecordedSpan): void {
    // A node's span may come back twice (a batch retried at the same node).
    const id = `${span.traceId}/${span.spanId}`;
    if (this.seen.has(id)) return;
    this.seen.add(id);
    this.spans.push(span);
    if (this.spans.length > MAX_SESSION_TRACE_SPANS) {
      const dropped = this.spans.splice(0, this.spans.length - MAX_SESSION_TRACE_SPANS);
      for (const old of dropped) this.seen.delete(`${old.traceId}/${old.spanId}`);
    }
  }

  addAll(spans: readonly RecordedSpan[]): void {
    for (const span of spans) this.add(span);
  }

  /** Rows of SHOW TRACE FOR SESSION (SHOW_TRACE_COLUMNS), by start time. */
  rows(): Datum[][] {
    const spans = [...this.spans].sort((a, b) => (a.startUnixNanos < b.startUnixNanos ? -1 : a.startUnixNanos > b.startUnixNanos ? 1 : 0));
    const first = spans[0]?.startUnixNanos ?? 0n;
    return spans.map((s) => [
      s.startUnixNanos / 1000n,
      { months: 0, days: 0, micros: (s.startUnixNanos - first) / 1000n },
      { months: 0, days: 0, micros: s.durationNanos / 1000n },
      s.name,
      `${s.service} ${s.instance}`,
      Object.entries(s.attributes)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
      s.traceId,
      s.spanId,
      s.parentSpanId === '' ? null : s.parentSpanId,
    ]);
  }
}

export const SHOW_TRACE_COLUMNS: readonly OutputColumn[] = [
  column('timestamp', scalarType('timestamptz')),
  column('age', scalarType('interval')),
  column('duration', scalarType('interval')),
  column('operation', scalarType('text')),
  column('location', scalarType('text')),
  column('tags', scalarType('text')),
  column('trace_id', scalarType('text')),
  column('span_id', scalarType('text')),
  column('parent_span_id', scalarType('text')),
];
