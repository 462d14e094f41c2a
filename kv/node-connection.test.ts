import * as grpc from '@grpc/grpc-js';
import * as pb from '../proto/gen/cairn/kv/v1/kv';
import { NodeUnavailableError } from './errors';
import { NodeConnection } from './node-connection';

type ServerStream = grpc.ServerDuplexStream<pb.BatchStreamRequest, pb.BatchStreamResponse>;

interface ReceivedBatch {
  readonly requestId: bigint;
  readonly batch: pb.BatchRequest;
  readonly call: ServerStream;
}

/** Writes answers to the client as one stream message. */
function reply(call: ServerStream, answers: readonly { requestId: bigint; response: pb.BatchResponse }[]): void {
  call.write({ batches: answers.map(({ requestId, response }) => ({ requestId, batch: Buffer.from(pb.BatchResponse.encode(response).finish()) })) });
}

/** A KvService whose stream answers only when the test says so. */
class ScriptedNode {
  readonly received: ReceivedBatch[] = [];
  /** How many batches each stream message carried. */
  readonly messageSizes: number[] = [];
  streams = 0;
  address = '';
  private readonly server = new grpc.Server();
  private waiters: (() => void)[] = [];

  async start(): Promise<void> {
    this.server.addService(pb.KvServiceService, {
      batch: (_call: unknown, callback: grpc.sendUnaryData<pb.BatchResponse>) => callback(null, { responses: [] }),
      batchStream: (call: ServerStream) => {
        this.streams++;
        call.on('data', (message: pb.BatchStreamRequest) => {
          this.messageSizes.push(message.batches.length);
          for (const { requestId, batch } of message.batches) {
            this.received.push({ requestId, batch: pb.BatchRequest.decode(batch), call });
          }
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
  return { header: { rangeId: BigInt(tag), maxKeys: 0n, maxBytes: 0n, deadlineUnixMs: 0n, canForwardReadTimestamp: false, followerRead: false, inconsistent: false, traceparent: '', recordTrace: false }, requests: [] };
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
    // Sent in one turn of the event loop: one stream message.
    expect(node.messageSizes).toEqual([20]);
    const received = [...node.received].reverse();
    // Some answers alone, the rest together in one message.
    for (const { requestId, batch: b, call } of received.slice(0, 5)) {
      reply(call, [{ requestId, response: answer(b.header?.rangeId ?? 0n) }]);
    }
    reply(
      (received[5] as ReceivedBatch).call,
      received.slice(5).map(({ requestId, batch: b }) => ({ requestId, response: answer(b.header?.rangeId ?? 0n) })),
    );
    const answers = await Promise.all(sent);
    expect(answers.map((a) => a.error?.message)).toEqual(Array.from({ length: 20 }, (_, i) => `answer ${i + 1}`));
    expect(node.streams).toBe(1);
    expect(connection.inFlight).toBe(0);
  });

  it('sends batches of later turns of the event loop in later messages', async () => {
    const deadline = Date.now() + 5_000;
    const first = connection.send(batch(1), deadline);
    await new Promise((resolve) => setImmediate(resolve));
    const second = connection.send(batch(2), deadline);
    await node.waitForRequests(2);
    expect(node.messageSizes).toEqual([1, 1]);
    for (const { requestId, batch: b, call } of node.received) reply(call, [{ requestId, response: answer(b.header?.rangeId ?? 0n) }]);
    await expect(Promise.all([first, second])).resolves.toHaveLength(2);
  });

  it('fails the stream, and what is in flight, on an answer that does not decode', async () => {
    const pending = connection.send(batch(1), Date.now() + 5_000);
    await node.waitForRequests(1);
    const { requestId, call } = node.received[0] as ReceivedBatch;
    call.write({ batches: [{ requestId, batch: Buffer.from([0xff, 0xff, 0xff]) }] });
    await expect(pending).rejects.toMatchObject({ reason: 'unreachable', message: expect.stringMatching(/does not decode/) });
    expect(connection.stateKind).toBe('backingOff');
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
    const { requestId, call } = node.received[1] as ReceivedBatch;
    reply(call, [{ requestId, response: answer(3n) }]);
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
