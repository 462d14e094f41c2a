import * as grpc from '@grpc/grpc-js';
import { CHANNEL_OPTIONS } from '../common/grpc';
import * as pb from '../proto/gen/cairn/kv/v1/kv';
import { NodeUnavailableError } from './errors';
import { StreamBatcher } from './stream-batcher';
import { encodeProto } from '../common/encoding';
import { KvServiceClient } from './kv-service';

export interface NodeConnectionOptions {
  /** Delay before re-opening a failed stream: starts here, doubles, with jitter (default 50 ms). */
  readonly backoffInitialMs?: number;
  /** The longest delay between attempts to re-open (default 2 s). */
  readonly backoffMaxMs?: number;
  /** Extra gRPC channel options, over common/grpc's CHANNEL_OPTIONS. */
  readonly channelOptions?: grpc.ChannelOptions;
  readonly onEvent?: (event: NodeConnectionEvent) => void;
  /** Unix milliseconds; injected for tests. */
  readonly now?: () => number;
  /** In [0, 1); the back-off's jitter. */
  readonly random?: () => number;
}

export type NodeConnectionEvent =
  | { readonly kind: 'streamOpened'; readonly address: string }
  | {
      readonly kind: 'streamFailed';
      readonly address: string;
      readonly reason: string;
      readonly failedRequests: number;
      readonly retryInMs: number;
    };

/**
 * The stream's life: opened lazily on the first batch; after a failure it stays down
 * for a back-off delay (batches fail at once, so the sender tries another replica), and
 * the next batch after that re-opens it.
 */
type BatchStream = grpc.ClientDuplexStream<pb.BatchStreamRequest, pb.BatchStreamResponse>;

type StreamState =
  | { readonly kind: 'idle' }
  | { readonly kind: 'open'; readonly stream: BatchStream; readonly outgoing: StreamBatcher }
  | { readonly kind: 'backingOff'; readonly untilUnixMs: number; readonly reason: string }
  | { readonly kind: 'closed' };

interface PendingBatch {
  readonly resolve: (response: pb.BatchResponse) => void;
  readonly reject: (err: NodeUnavailableError) => void;
  readonly timer: NodeJS.Timeout;
}

/** grpc-js's own reconnection back-off defaults to 1 s growing to 2 min; a node is back sooner. */
const RECONNECT_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 2_000,
};

/**
 * A client's connection to one node's KvService: batches ride one long-lived
 * BatchStream, each with a request ID, any number in flight, answered in any order
 * (a unary call per batch would cap throughput, notes/grpc-and-protobuf.md). Batches
 * sent in the same turn of the event loop share one stream message (StreamBatcher). Each batch
 * has a deadline; a batch not answered by then, or in flight when the stream breaks,
 * fails with NodeUnavailableError — it may or may not have been applied. ClusterInfo
 * is a unary call on the same channel.
 */
export class NodeConnection {
  private client: pb.KvServiceClient | undefined;
  private state: StreamState = { kind: 'idle' };
  private readonly pending = new Map<bigint, PendingBatch>();
  private nextRequestId = 1n;
  private backoffMs: number;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(
    readonly address: string,
    private readonly options: NodeConnectionOptions = {},
  ) {
    this.backoffMs = options.backoffInitialMs ?? 50;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  /** Batches sent and not yet answered. */
  get inFlight(): number {
    return this.pending.size;
  }

  get stateKind(): StreamState['kind'] {
    return this.state.kind;
  }

  /** Sends one batch; resolves with the node's answer (which may carry a KV error). */
  send(batch: pb.BatchRequest, deadlineUnixMs: number): Promise<pb.BatchResponse> {
    let outgoing: StreamBatcher;
    let encoded: Uint8Array;
    try {
      outgoing = this.openStream().outgoing;
      encoded = encodeProto(pb.BatchRequest, batch);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const requestId = this.nextRequestId++;
    return new Promise<pb.BatchResponse>((resolve, reject) => {
      const timeoutMs = Math.max(0, deadlineUnixMs - this.now());
      const timer = setTimeout(() => {
        if (this.pending.delete(requestId)) {
          reject(new NodeUnavailableError(this.address, 'deadline', `node ${this.address} did not answer within the deadline`));
        }
      }, timeoutMs);
      this.pending.set(requestId, { resolve, reject, timer });
      outgoing.add(requestId, encoded);
    });
  }

  /** The cluster as the node knows it (a unary call). */
  clusterInfo(deadlineUnixMs: number): Promise<pb.ClusterInfoResponse> {
    if (this.state.kind === 'closed') {
      return Promise.reject(this.closedError());
    }
    const client = this.getClient();
    return new Promise<pb.ClusterInfoResponse>((resolve, reject) => {
      client.clusterInfo({}, new grpc.Metadata(), { deadline: new Date(deadlineUnixMs) }, (err, response) => {
        if (err === null) {
          resolve(response);
          return;
        }
        const reason = err.code === grpc.status.DEADLINE_EXCEEDED ? 'deadline' : 'unreachable';
        reject(new NodeUnavailableError(this.address, reason, `ClusterInfo from ${this.address} failed: ${err.message}`, { cause: err }));
      });
    });
  }

  /** Fails what is in flight and closes the channel. */
  close(): Promise<void> {
    const state = this.state;
    this.state = { kind: 'closed' };
    // In flight: sent, and perhaps applied.
    this.failPending(() => new NodeUnavailableError(this.address, 'closed', `the connection to ${this.address} closed before the node answered`));
    if (state.kind === 'open') {
      state.outgoing.stop();
      state.stream.cancel();
    }
    this.client?.close();
    this.client = undefined;
    return Promise.resolve();
  }

  private getClient(): pb.KvServiceClient {
    this.client ??= new KvServiceClient(this.address, grpc.credentials.createInsecure(), {
      ...CHANNEL_OPTIONS,
      ...RECONNECT_CHANNEL_OPTIONS,
      ...this.options.channelOptions,
    });
    return this.client;
  }

  private openStream(): Extract<StreamState, { kind: 'open' }> {
    const state = this.state;
    switch (state.kind) {
      case 'open':
        return state;
      case 'closed':
        throw this.closedError();
      case 'backingOff': {
        const waitMs = state.untilUnixMs - this.now();
        if (waitMs > 0) {
          throw new NodeUnavailableError(
            this.address,
            'unreachable',
            `node ${this.address} is unreachable (${state.reason}); reconnecting in ${waitMs} ms`,
            { requestSent: false },
          );
        }
        break;
      }
      case 'idle':
        break;
    }
    const stream = this.getClient().batchStream();
    stream.on('data', (message: pb.BatchStreamResponse) => this.onResponse(stream, message));
    stream.on('error', (err: Error) => this.onStreamFailure(stream, err.message));
    stream.on('end', () => this.onStreamFailure(stream, 'the node ended the stream'));
    const outgoing = new StreamBatcher((batches) => stream.write({ batches }));
    const open = { kind: 'open' as const, stream, outgoing };
    this.state = open;
    this.options.onEvent?.({ kind: 'streamOpened', address: this.address });
    return open;
  }

  private onResponse(stream: BatchStream, message: pb.BatchStreamResponse): void {
    // An answer proves the connection: the next failure backs off from the start.
    this.backoffMs = this.options.backoffInitialMs ?? 50;
    for (const { requestId, batch } of message.batches) {
      const pending = this.pending.get(requestId);
      if (pending === undefined) {
        continue; // Its deadline passed: the caller has moved on.
      }
      let response: pb.BatchResponse;
      try {
        response = pb.BatchResponse.decode(batch);
      } catch (err) {
        this.onStreamFailure(stream, `the node sent an answer that does not decode: ${(err as Error).message}`);
        return;
      }
      this.pending.delete(requestId);
      clearTimeout(pending.timer);
      pending.resolve(response);
    }
  }

  private onStreamFailure(stream: BatchStream, reason: string): void {
    if (this.state.kind !== 'open' || this.state.stream !== stream) {
      return;
    }
    const delay = Math.round(this.backoffMs * (0.5 + this.random() / 2));
    this.backoffMs = Math.min(this.backoffMs * 2, this.options.backoffMaxMs ?? 2_000);
    this.state.outgoing.stop();
    this.state = { kind: 'backingOff', untilUnixMs: this.now() + delay, reason };
    const failed = this.pending.size;
    this.failPending(() => new NodeUnavailableError(this.address, 'unreachable', `stream to node ${this.address} failed: ${reason}`));
    stream.cancel();
    this.options.onEvent?.({ kind: 'streamFailed', address: this.address, reason, failedRequests: failed, retryInMs: delay });
  }

  private failPending(error: () => NodeUnavailableError): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(error());
    }
  }

  /** For a request refused before it was sent. */
  private closedError(): NodeUnavailableError {
    return new NodeUnavailableError(this.address, 'closed', `the connection to ${this.address} is closed`, { requestSent: false });
  }
}
