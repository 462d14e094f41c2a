import type * as pb from '../proto/gen/cairn/kv/v1/kv';

/** A key span as requestSpan gives it: [start, end). */
interface KeySpan {
  readonly start: Buffer;
  readonly end: Buffer;
}

/**
 * A transaction's writes held back until a read needs them or the buffer is full, and
 * the question every read asks of it: does a buffered write touch what I read? Point
 * writes are kept in a set by key, so that a point read — one per row of a COPY or an
 * INSERT with hundreds of rows — answers in constant time instead of walking the buffer.
 */
export class WriteBuffer {
  private writes: pb.RequestUnion[] = [];
  private readonly points = new Set<string>();
  private readonly ranges: KeySpan[] = [];
  private byteCount = 0;

  get length(): number {
    return this.writes.length;
  }

  get bytes(): number {
    return this.byteCount;
  }

  /** Adds a write whose key span is `span` (`point`: a single key) and its size in bytes. */
  add(write: pb.RequestUnion, span: KeySpan, point: boolean, bytes: number): void {
    this.writes.push(write);
    this.byteCount += bytes;
    if (point) this.points.add(span.start.toString('latin1'));
    else this.ranges.push(span);
  }

  /** The writes in the order they were made; the buffer is empty afterwards. */
  take(): pb.RequestUnion[] {
    const writes = this.writes;
    this.clear();
    return writes;
  }

  clear(): void {
    this.writes = [];
    this.points.clear();
    this.ranges.length = 0;
    this.byteCount = 0;
  }

  /** Whether a buffered write touches [start, end) (`point`: the single key `start`). */
  overlaps(span: KeySpan, point: boolean): boolean {
    if (this.writes.length === 0) return false;
    for (const range of this.ranges) {
      if (Buffer.compare(range.start, span.end) < 0 && Buffer.compare(span.start, range.end) < 0) return true;
    }
    if (point) return this.points.has(span.start.toString('latin1'));
    // latin1 strings order as the bytes do.
    const start = span.start.toString('latin1');
    const end = span.end.toString('latin1');
    for (const key of this.points) {
      if (key >= start && key < end) return true;
    }
    return false;
  }
}
