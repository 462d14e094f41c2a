import type * as pb from '../proto/gen/cairn/kv/v1/kv';
import type { NodeConnectionOptions } from './node-connection';
import { NodeConnection } from './node-connection';

/**
 * How DistSender reaches nodes, injected so a test can put a simulated network in its
 * place. Failures to reach a node reject with NodeUnavailableError; a node's KV error
 * comes back inside the BatchResponse.
 */
export interface KvTransport {
  sendBatch(address: string, batch: pb.BatchRequest, deadlineUnixMs: number): Promise<pb.BatchResponse>;
  clusterInfo(address: string, deadlineUnixMs: number): Promise<pb.ClusterInfoResponse>;
  close(): Promise<void>;
}

/** The production transport: one NodeConnection (one BatchStream) per address. */
export class GrpcKvTransport implements KvTransport {
  private readonly connections = new Map<string, NodeConnection>();
  private closed = false;

  constructor(private readonly options: NodeConnectionOptions = {}) {}

  sendBatch(address: string, batch: pb.BatchRequest, deadlineUnixMs: number): Promise<pb.BatchResponse> {
    return this.connection(address).send(batch, deadlineUnixMs);
  }

  clusterInfo(address: string, deadlineUnixMs: number): Promise<pb.ClusterInfoResponse> {
    return this.connection(address).clusterInfo(deadlineUnixMs);
  }

  /** The connection to `address`, opened on first use. */
  connection(address: string): NodeConnection {
    let connection = this.connections.get(address);
    if (connection === undefined) {
      connection = new NodeConnection(address, this.options);
      if (this.closed) {
        void connection.close();
      } else {
        this.connections.set(address, connection);
      }
    }
    return connection;
  }

  async close(): Promise<void> {
    this.closed = true;
    const connections = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(connections.map((c) => c.close()));
  }
}
