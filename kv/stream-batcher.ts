import type * as pb from '../proto/gen/cairn/kv/v1/kv';

/**
 * The most bytes of encoded batches one BatchStream message carries; a batch larger
 * than this goes alone (the channel's own limit is 64 MiB, common/grpc).
 */
export const MAX_STREAM_MESSAGE_BYTES = 4 * 1024 * 1024;

/**
 * Collects the encoded batches (requests, or answers) that one side of a BatchStream
 * has ready, and writes them as one stream message once the event loop has run what
 * it had to run: every session whose client spoke in this turn of the loop has queued
 * its batch by then. A message's fixed cost in grpc-js and the kernel is then paid once
 * for all of them, which is what lets one stream carry tens of thousands of batches a
 * second (notes/grpc-and-protobuf.md). Messages stay under `maxBytes`.
 */
export class StreamBatcher {
  private queued: pb.EncodedBatch[] = [];
  private queuedBytes = 0;
  private scheduled = false;
  private stopped = false;

  constructor(
    /** Writes one stream message of these batches. */
    private readonly write: (batches: pb.EncodedBatch[]) => void,
    private readonly maxBytes = MAX_STREAM_MESSAGE_BYTES,
  ) {}

  /** Queues one encoded batch under its request ID. */
  add(requestId: bigint, batch: Uint8Array): void {
    if (this.stopped) return;
    if (this.queued.length > 0 && this.queuedBytes + batch.length > this.maxBytes) {
      this.flush();
    }
    // A view, not a copy: the proto's bytes fields are Buffers.
    this.queued.push({ requestId, batch: Buffer.from(batch.buffer, batch.byteOffset, batch.byteLength) });
    this.queuedBytes += batch.length;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushScheduled);
    }
  }

  /** Writes what is queued now. */
  flush(): void {
    if (this.queued.length === 0 || this.stopped) return;
    const batches = this.queued;
    this.queued = [];
    this.queuedBytes = 0;
    this.write(batches);
  }

  /** Drops what is queued and writes nothing more (the stream is gone). */
  stop(): void {
    this.stopped = true;
    this.queued = [];
    this.queuedBytes = 0;
  }

  private readonly flushScheduled = (): void => {
    this.scheduled = false;
    this.flush();
  };
}
