import * as grpc from '@grpc/grpc-js';
import { CairnError, InvalidArgumentError } from '../../common/errors';
import { CHANNEL_OPTIONS, shutdownServer } from '../../common/grpc';
import type * as pb from '../../proto/gen/cairn/raft/v1/raft';
import type { RaftTransportServiceClient } from '../../proto/gen/cairn/raft/v1/raft';
import { RAFT_TRANSPORT_SERVICE, RaftTransportServiceClient as RaftClient } from './raft-service';
import type { RaftMetrics } from '../store/raft-metrics';
import type { RaftEnvelope } from './raft-message-codec';
import { batchFromProto, batchToProto, envelopeFromProto, envelopeToProto } from './raft-message-codec';

/** What the transport hands to, and asks of, the node that owns the Raft groups. */
export interface RaftTransportHandler {
  /** Messages from `fromNode` for local groups, in the order they were sent. */
  deliver(fromNode: number, envelopes: readonly RaftEnvelope[]): void;
  /** A whole snapshot (MsgSnap with its data). Resolve once it is handed to the group. */
  receiveSnapshot(fromNode: number, envelope: RaftEnvelope): Promise<void>;
  /** Messages to `nodeId` were dropped: it could not be reached. */
  unreachable(nodeId: number, groupIds: readonly number[]): void;
  /** How a snapshot sent to a group member ended (for Raft's reportSnapshot). */
  snapshotSent(toNode: number, envelope: RaftEnvelope, ok: boolean): void;
}

export interface RaftTransportOptions {
  readonly nodeId: number;
  /** The address of another node, or undefined while unknown. */
  readonly resolve: (nodeId: number) => string | undefined;
  readonly handler: RaftTransportHandler;
  /** Reconnection back-off (default 50 ms doubling to 5 s, with jitter). */
  readonly backoffInitialMs?: number;
  readonly backoffMaxMs?: number;
  /** Messages queued for one peer beyond this are dropped (Raft resends). */
  readonly maxQueuedMessages?: number;
  readonly snapshotChunkBytes?: number;
  /** A received snapshot larger than this is refused. */
  readonly maxSnapshotBytes?: number;
  /** Called on connection events, for logs. */
  readonly onEvent?: (event: TransportEvent) => void;
  readonly metrics?: Pick<RaftMetrics, 'messagesSent' | 'messagesReceived' | 'unreachable'>;
}

export type TransportEvent =
  | { readonly kind: 'connected'; readonly nodeId: number; readonly address: string }
  | { readonly kind: 'disconnected'; readonly nodeId: number; readonly reason: string; readonly retryInMs: number }
  | { readonly kind: 'dropped'; readonly nodeId: number; readonly messages: number; readonly reason: string };

export class RaftTransportError extends CairnError {
  constructor(message: string) {
    super('RAFT_TRANSPORT', message, { retryable: true });
  }
}


/**
 * Raft traffic between nodes over gRPC: one long-lived bidirectional stream per pair
 * of nodes carries batches of messages for every group they share (whatever was
 * queued when the stream could take more), with heartbeats coalesced into a compact
 * list; snapshots travel on their own client stream in chunks. A broken stream is
 * re-opened with back-off; what was queued meanwhile is dropped and reported, as Raft
 * recovers lost messages by itself.
 */
export class RaftTransport {
  private server: grpc.Server | undefined;
  private readonly peers = new Map<number, PeerConnection>();
  private stopped = false;
  private boundPort = 0;

  constructor(private readonly options: RaftTransportOptions) {
    if (!Number.isSafeInteger(options.nodeId) || options.nodeId <= 0) {
      throw new InvalidArgumentError(`node id must be a positive integer, got ${options.nodeId}`);
    }
  }

  /** Serves the transport on its own gRPC server; resolves with the bound port. */
  async listen(address: string): Promise<number> {
    const server = new grpc.Server(CHANNEL_OPTIONS);
    this.addTo(server);
    this.boundPort = await new Promise<number>((resolve, reject) => {
      server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) =>
        err === null ? resolve(port) : reject(err),
      );
    });
    this.server = server;
    return this.boundPort;
  }

  /** Serves the transport on a gRPC server the caller owns (and binds and stops). */
  addTo(server: grpc.Server): void {
    RaftTransport.addLateTo(server, () => this);
  }

  /**
   * Serves the transport of `current()` on `server`, for a server that must start
   * before the transport exists (a node learns its ID only once it joins a cluster).
   * Calls that arrive while there is none fail with UNAVAILABLE; the peer retries.
   */
  static addLateTo(server: grpc.Server, current: () => RaftTransport | undefined): void {
    const unavailable = { code: grpc.status.UNAVAILABLE, details: 'this node has not joined a cluster yet' };
    server.addService(RAFT_TRANSPORT_SERVICE, {
      messages: (call: grpc.ServerDuplexStream<pb.MessagesRequest, pb.MessagesResponse>) => {
        const transport = current();
        if (transport === undefined) {
          call.destroy(Object.assign(new Error(unavailable.details), unavailable));
          return;
        }
        transport.serveMessages(call);
      },
      sendSnapshot: (
        call: grpc.ServerReadableStream<pb.SendSnapshotRequest, pb.SendSnapshotResponse>,
        callback: grpc.sendUnaryData<pb.SendSnapshotResponse>,
      ) => {
        const transport = current();
        if (transport === undefined) {
          callback(unavailable);
          return;
        }
        transport.serveSnapshot(call, callback);
      },
    });
  }

  get port(): number {
    return this.boundPort;
  }

  /** Queues a message for another node; sent with whatever else is queued for it. */
  send(toNode: number, envelope: RaftEnvelope): void {
    if (this.stopped) {
      return;
    }
    this.options.metrics?.messagesSent.inc({ type: envelope.message.type });
    if (envelope.message.type === 'MsgSnap') {
      this.sendSnapshot(toNode, envelope).then(
        () => this.options.handler.snapshotSent(toNode, envelope, true),
        () => this.options.handler.snapshotSent(toNode, envelope, false),
      );
      return;
    }
    this.peer(toNode).enqueue(envelope);
  }

  /** Streams a snapshot to another node in chunks; resolves once the receiver took it. */
  sendSnapshot(toNode: number, envelope: RaftEnvelope): Promise<void> {
    if (envelope.message.type !== 'MsgSnap') {
      return Promise.reject(new InvalidArgumentError(`sendSnapshot needs a MsgSnap, got ${envelope.message.type}`));
    }
    const address = this.options.resolve(toNode);
    if (address === undefined) {
      return Promise.reject(new RaftTransportError(`no address for node ${toNode}`));
    }
    const data = envelope.message.snapshot.data;
    const chunkBytes = this.options.snapshotChunkBytes ?? 1024 * 1024;
    const client = new RaftClient(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
    return new Promise<void>((resolve, reject) => {
      const call = client.sendSnapshot((err, response) => {
        client.close();
        if (err !== null) {
          reject(new RaftTransportError(`snapshot to node ${toNode} failed: ${err.message}`));
        } else if (!response.applied) {
          reject(new RaftTransportError(`node ${toNode} refused the snapshot: ${response.error}`));
        } else {
          resolve();
        }
      });
      const header = envelopeToProto(envelope);
      let offset = 0;
      const writeNext = (): void => {
        while (true) {
          const end = Math.min(offset + chunkBytes, data.length);
          const chunk: pb.SendSnapshotRequest = {
            header: offset === 0 ? header : undefined,
            fromNode: BigInt(this.options.nodeId),
            toNode: BigInt(toNode),
            data: Buffer.from(data.buffer, data.byteOffset + offset, end - offset),
            last: end === data.length,
          };
          offset = end;
          const more = call.write(chunk);
          if (chunk.last) {
            call.end();
            return;
          }
          if (!more) {
            call.once('drain', writeNext);
            return;
          }
        }
      };
      writeNext();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const peer of this.peers.values()) {
      peer.close();
    }
    this.peers.clear();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) {
      await shutdownServer(server);
    }
  }

  private peer(nodeId: number): PeerConnection {
    let peer = this.peers.get(nodeId);
    if (peer === undefined) {
      peer = new PeerConnection(nodeId, this.options);
      this.peers.set(nodeId, peer);
    }
    return peer;
  }

  private serveMessages(call: grpc.ServerDuplexStream<pb.MessagesRequest, pb.MessagesResponse>): void {
    let acknowledged = false;
    call.on('data', (batch: pb.MessagesRequest) => {
      if (!acknowledged) {
        // One answer per stream tells the sender the connection works.
        acknowledged = true;
        call.write({});
      }
      if (Number(batch.toNode) !== this.options.nodeId) {
        call.destroy(new Error(`batch for node ${batch.toNode} reached node ${this.options.nodeId}`));
        return;
      }
      let envelopes: RaftEnvelope[];
      try {
        envelopes = batchFromProto(batch);
      } catch (err) {
        call.destroy(err as Error);
        return;
      }
      const received = this.options.metrics?.messagesReceived;
      if (received !== undefined) {
        for (const { message } of envelopes) {
          received.inc({ type: message.type });
        }
      }
      this.options.handler.deliver(Number(batch.fromNode), envelopes);
    });
    call.on('error', () => undefined);
    call.on('end', () => call.end());
  }

  private serveSnapshot(
    call: grpc.ServerReadableStream<pb.SendSnapshotRequest, pb.SendSnapshotResponse>,
    callback: grpc.sendUnaryData<pb.SendSnapshotResponse>,
  ): void {
    const maxBytes = this.options.maxSnapshotBytes ?? 1024 * 1024 * 1024;
    const chunks: Buffer[] = [];
    let header: pb.RaftMessage | undefined;
    let fromNode = 0;
    let bytes = 0;
    let done = false;
    const finish = (response: pb.SendSnapshotResponse): void => {
      if (!done) {
        done = true;
        callback(null, response);
      }
    };
    call.on('data', (chunk: pb.SendSnapshotRequest) => {
      if (done) {
        return;
      }
      header ??= chunk.header;
      fromNode = Number(chunk.fromNode);
      bytes += chunk.data.length;
      if (bytes > maxBytes) {
        finish({ applied: false, error: `snapshot exceeds ${maxBytes} bytes` });
        return;
      }
      chunks.push(chunk.data);
      if (!chunk.last) {
        return;
      }
      if (header === undefined) {
        finish({ applied: false, error: 'snapshot without a header' });
        return;
      }
      let envelope: RaftEnvelope;
      try {
        envelope = envelopeFromProto(header, Buffer.concat(chunks, bytes));
      } catch (err) {
        finish({ applied: false, error: (err as Error).message });
        return;
      }
      this.options.handler.receiveSnapshot(fromNode, envelope).then(
        () => finish({ applied: true, error: '' }),
        (err: unknown) => finish({ applied: false, error: (err as Error).message ?? String(err) }),
      );
    });
    call.on('error', () => finish({ applied: false, error: 'stream failed' }));
  }
}

/** The sending side toward one peer: a queue, a stream, and reconnection. */
class PeerConnection {
  private queue: RaftEnvelope[] = [];
  private client: RaftTransportServiceClient | undefined;
  private stream: grpc.ClientDuplexStream<pb.MessagesRequest, pb.MessagesResponse> | undefined;
  private writable = false;
  private flushScheduled = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private backoffMs: number;
  private closed = false;

  constructor(
    private readonly nodeId: number,
    private readonly options: RaftTransportOptions,
  ) {
    this.backoffMs = options.backoffInitialMs ?? 50;
    this.connect();
  }

  enqueue(envelope: RaftEnvelope): void {
    const max = this.options.maxQueuedMessages ?? 10_000;
    if (this.queue.length >= max) {
      this.dropQueued('queue full');
    }
    this.queue.push(envelope);
    if (this.writable && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.stream?.end();
    this.client?.close();
    this.queue = [];
  }

  private connect(): void {
    if (this.closed) {
      return;
    }
    const address = this.options.resolve(this.nodeId);
    if (address === undefined) {
      this.scheduleReconnect(`no address for node ${this.nodeId}`);
      return;
    }
    const client = new RaftClient(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
    const stream = client.messages();
    this.client = client;
    this.stream = stream;
    this.writable = true;
    let failed = false;
    const fail = (reason: string): void => {
      if (failed || this.stream !== stream) {
        return;
      }
      failed = true;
      this.writable = false;
      this.stream = undefined;
      client.close();
      this.dropQueued(reason);
      this.scheduleReconnect(reason);
    };
    stream.on('data', () => {
      // The first answer proves the connection; back-off starts over.
      this.backoffMs = this.options.backoffInitialMs ?? 50;
    });
    stream.on('error', (err: Error) => fail(err.message));
    stream.on('end', () => fail('stream ended'));
    stream.on('drain', () => {
      this.writable = true;
      this.flush();
    });
    client.getChannel().getConnectivityState(true);
    this.options.onEvent?.({ kind: 'connected', nodeId: this.nodeId, address });
    if (this.queue.length > 0) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const stream = this.stream;
    if (stream === undefined || !this.writable || this.queue.length === 0) {
      return;
    }
    const envelopes = this.queue;
    this.queue = [];
    const batch = batchToProto(this.options.nodeId, this.nodeId, envelopes);
    this.writable = stream.write(batch);
  }

  private dropQueued(reason: string): void {
    if (this.queue.length === 0) {
      return;
    }
    const dropped = this.queue;
    this.queue = [];
    this.options.onEvent?.({ kind: 'dropped', nodeId: this.nodeId, messages: dropped.length, reason });
    this.options.metrics?.unreachable.inc();
    this.options.handler.unreachable(this.nodeId, [...new Set(dropped.map((e) => e.groupId))]);
  }

  private scheduleReconnect(reason: string): void {
    if (this.closed) {
      return;
    }
    const max = this.options.backoffMaxMs ?? 5_000;
    const delay = Math.round(this.backoffMs * (0.5 + Math.random() / 2));
    this.backoffMs = Math.min(this.backoffMs * 2, max);
    this.options.onEvent?.({ kind: 'disconnected', nodeId: this.nodeId, reason, retryInMs: delay });
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
    this.reconnectTimer.unref();
  }
}
