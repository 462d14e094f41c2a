import * as grpc from '@grpc/grpc-js';
import * as pb from '../proto/gen/cairn/kv/v1/kv';
import { NodeUnavailableError } from './errors';
import { NodeConnection } from './node-connection';

/** A KvService whose stream answers only when the test says so. */
class ScriptedNode {
  readonly received: { message: pb.BatchStreamRequest; call: grpc.ServerDuplexStream<pb.BatchStreamRequest, pb.BatchStreamResponse> }[] = [];
  streams = 0;
  address = '';
  private readonly server = new grpc.Server();
  private waiters: (() => void)[] = [];

  async start(): Promise<void> {
    this.server.addService(pb.KvServiceService, {
      batch: (_call: unknown, callback: grpc.sendUnaryData<pb.BatchResponse>) => callback(null, { responses: [] }),
      batchStream: (call: grpc.ServerDuplexStream<pb.BatchStreamRequest, pb.BatchStreamResponse>) => {
        this.streams++;
        call.on('data', (message: pb.BatchStreamRequest) => {
          this.received.push({ message, call });
          const waiters = this.waiters;
          this.waiters = [];
          waiters.forEach((w) => w());
        });
        call.on('error', () => undefined);
        call.on('end', () => call.end());
      },
      clusterInfo: (_call: unknown, callback: grpc.sendUnaryData<pb.ClusterInfoResponse>) =>
        callback(null, { clusterId: 'c1', nodeId: 7n, nodes: [] }),
    });
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    this.address = `127.0.0.1:${port}`;
  }

  async waitForRequests(count: number): Promise<void> {
    while (this.received.length < count) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  stop(): void {
    this.server.forceShutdown();
  }
}

/** A batch that says which request it is, through its range ID. */
function batch(tag: number): pb.BatchRequest {
  return { header: { rangeId: BigInt(tag), maxKeys: 0n, maxBytes: 0n, deadlineUnixMs: 0n, canForwardReadTimestamp: false, followerRead: false, inconsistent: false }, requests: [] };
}

function answer(tag: bigint): pb.BatchResponse {
  return { responses: [], error: { code: 'UNAVAILABLE', message: `answer ${tag}`, retryable: true, requestIndex: -1 } };
}

describe('NodeConnection', () => {
  let node: ScriptedNode;
  let connection: NodeConnection;

  beforeEach(async () => {
    node = new ScriptedNode();
    await node.start();
    connection = new NodeConnection(node.address, { backoffInitialMs: 100, backoffMaxMs: 100 });
  });

  afterEach(async () => {
    await connection.close();
    node.stop();
  });

  it('carries many batches at once on one stream, matching answers that come back in any order', async () => {
    const deadline = Date.now() + 5_000;
    const sent = Array.from({ length: 20 }, (_, i) => connection.send(batch(i + 1), deadline));
    expect(connection.inFlight).toBe(20);
    await node.waitForRequests(20);
    for (const { message, call } of [...node.received].reverse()) {
      call.write({ requestId: message.requestId, batch: answer(message.batch?.header?.rangeId ?? 0n) });
    }
    const answers = await Promise.all(sent);
    expect(answers.map((a) => a.error?.message)).toEqual(Array.from({ length: 20 }, (_, i) => `answer ${i + 1}`));
    expect(node.streams).toBe(1);
    expect(connection.inFlight).toBe(0);
  });

  it('fails a batch not answered by its deadline', async () => {
    const started = Date.now();
    await expect(connection.send(batch(1), started + 150)).rejects.toMatchObject({ reason: 'deadline', code: 'UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(connection.inFlight).toBe(0);
  });

  it('fails what is in flight when the stream breaks, fails fast while backing off, then re-opens', async () => {
    const pending = connection.send(batch(1), Date.now() + 5_000);
    await node.waitForRequests(1);
    node.received[0]?.call.emit('error', Object.assign(new Error('boom'), { code: grpc.status.INTERNAL }));
    await expect(pending).rejects.toBeInstanceOf(NodeUnavailableError);
    expect(connection.stateKind).toBe('backingOff');
    await expect(connection.send(batch(2), Date.now() + 5_000)).rejects.toThrow(/reconnecting/);
    await new Promise((resolve) => setTimeout(resolve, 120));
    const again = connection.send(batch(3), Date.now() + 5_000);
    await node.waitForRequests(2);
    const { message, call } = node.received[1] as (typeof node.received)[number];
    call.write({ requestId: message.requestId, batch: answer(3n) });
    await expect(again).resolves.toMatchObject({ error: { message: 'answer 3' } });
    expect(node.streams).toBe(2);
  });

  it('fails quickly when nothing listens at the address', async () => {
    node.stop();
    const started = Date.now();
    await expect(connection.send(batch(1), started + 5_000)).rejects.toMatchObject({ reason: 'unreachable' });
    expect(Date.now() - started).toBeLessThan(2_000);
    await expect(connection.clusterInfo(Date.now() + 2_000)).rejects.toBeInstanceOf(NodeUnavailableError);
  });

  it('answers ClusterInfo as a unary call', async () => {
    await expect(connection.clusterInfo(Date.now() + 2_000)).resolves.toMatchObject({ clusterId: 'c1', nodeId: 7n });
  });

  it('fails pending and later batches once closed', async () => {
    const pending = connection.send(batch(1), Date.now() + 5_000);
    await node.waitForRequests(1);
    await connection.close();
    await expect(pending).rejects.toMatchObject({ reason: 'closed' });
    await expect(connection.send(batch(2), Date.now() + 5_000)).rejects.toMatchObject({ reason: 'closed' });
  });
});
