import * as pb from '../../proto/gen/cairn/raft/v1/raft';
import type { Message } from '../raft';
import type { RaftEnvelope } from './raft-message-codec';
import { batchFromProto, batchToProto, envelopeFromProto, envelopeToProto } from './raft-message-codec';
import type { RaftTransportHandler } from './raft-transport';
import { RaftTransport } from './raft-transport';

const entries = [
  { index: 5, term: 2, type: 'normal' as const, data: Buffer.from('five') },
  { index: 6, term: 2, type: 'confChange' as const, data: Buffer.from([1, 2, 3]) },
];

const SAMPLES: Message[] = [
  { type: 'MsgApp', from: 1, to: 2, term: 3, index: 4, logTerm: 2, entries, commit: 4 },
  { type: 'MsgAppResp', from: 2, to: 1, term: 3, index: 4, reject: true, rejectHint: 3, logTerm: 1 },
  { type: 'MsgVote', from: 1, to: 2, term: 3, index: 9, logTerm: 3, transfer: true },
  { type: 'MsgPreVote', from: 1, to: 2, term: 4, index: 9, logTerm: 3, transfer: false },
  { type: 'MsgVoteResp', from: 2, to: 1, term: 3, reject: false },
  { type: 'MsgPreVoteResp', from: 2, to: 1, term: 4, reject: true },
  { type: 'MsgHeartbeat', from: 1, to: 2, term: 3, commit: 7, readContext: 'r1' },
  { type: 'MsgHeartbeatResp', from: 2, to: 1, term: 3, readContext: '' },
  { type: 'MsgTimeoutNow', from: 1, to: 3, term: 3 },
  { type: 'MsgTransferLeader', from: 2, to: 1, term: 3, transferee: 3 },
  { type: 'MsgReadIndex', from: 2, to: 1, term: 3, readContext: 'ctx' },
  { type: 'MsgReadIndexResp', from: 1, to: 2, term: 3, readContext: 'ctx', index: 12 },
];

/** Entry data comes back as Buffer views: compare bytes. */
function normalize(envelope: RaftEnvelope): unknown {
  return JSON.parse(JSON.stringify(envelope, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v)));
}

describe('raft message codec', () => {
  it.each(SAMPLES.map((m) => [m.type, m] as const))('round-trips %s through protobuf bytes', (_type, message) => {
    const bytes = pb.RaftMessage.encode(envelopeToProto({ groupId: 77, message })).finish();
    expect(normalize(envelopeFromProto(pb.RaftMessage.decode(bytes)))).toEqual(normalize({ groupId: 77, message }));
  });

  it('round-trips a snapshot message with its data', () => {
    const message: Message = {
      type: 'MsgSnap',
      from: 1,
      to: 2,
      term: 5,
      snapshot: { metadata: { index: 100, term: 4, confState: { voters: [1, 2], learners: [3] } }, data: Buffer.from('state') },
    };
    const proto = envelopeToProto({ groupId: 1, message });
    expect(normalize(envelopeFromProto(proto, Buffer.from('state')))).toEqual(normalize({ groupId: 1, message }));
  });

  it('coalesces heartbeats of many groups into the compact lists of one batch', () => {
    const envelopes: RaftEnvelope[] = [];
    for (let group = 1; group <= 100; group++) {
      envelopes.push({ groupId: group, message: { type: 'MsgHeartbeat', from: 1, to: 2, term: 3, commit: group, readContext: '' } });
    }
    envelopes.push({ groupId: 5, message: SAMPLES[0] as Message });
    const batch = batchToProto(1, 2, envelopes);
    expect(batch.heartbeats).toHaveLength(100);
    expect(batch.messages).toHaveLength(1);
    const decoded = batchFromProto(pb.MessagesRequest.decode(pb.MessagesRequest.encode(batch).finish()));
    expect(decoded.map(normalize)).toEqual(expect.arrayContaining(envelopes.map(normalize)));
    expect(decoded).toHaveLength(101);
  });
});

/** A handler that records what arrives. */
class Recorder implements RaftTransportHandler {
  readonly delivered: RaftEnvelope[] = [];
  deliveries = 0;
  readonly snapshots: RaftEnvelope[] = [];
  readonly unreachableNodes: number[] = [];
  readonly snapshotResults: boolean[] = [];
  refuseSnapshots = false;
  private waiters: (() => void)[] = [];

  deliver(_fromNode: number, envelopes: readonly RaftEnvelope[]): void {
    this.deliveries++;
    this.delivered.push(...envelopes);
    this.wake();
  }

  async receiveSnapshot(_fromNode: number, envelope: RaftEnvelope): Promise<void> {
    if (this.refuseSnapshots) {
      throw new Error('not now');
    }
    this.snapshots.push(envelope);
  }

  unreachable(nodeId: number): void {
    this.unreachableNodes.push(nodeId);
    this.wake();
  }

  snapshotSent(_toNode: number, _envelope: RaftEnvelope, ok: boolean): void {
    this.snapshotResults.push(ok);
    this.wake();
  }

  async until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) {
        throw new Error('condition not met in time');
      }
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      w();
    }
  }
}

describe('RaftTransport over loopback', () => {
  const transports: RaftTransport[] = [];
  afterEach(async () => {
    await Promise.all(transports.splice(0).map((t) => t.stop()));
  });

  async function pair(): Promise<{ a: RaftTransport; b: RaftTransport; atA: Recorder; atB: Recorder; addresses: Map<number, string> }> {
    const addresses = new Map<number, string>();
    const atA = new Recorder();
    const atB = new Recorder();
    const resolve = (id: number): string | undefined => addresses.get(id);
    const a = new RaftTransport({ nodeId: 1, resolve, handler: atA, backoffInitialMs: 20, backoffMaxMs: 200 });
    const b = new RaftTransport({ nodeId: 2, resolve, handler: atB, backoffInitialMs: 20, backoffMaxMs: 200 });
    transports.push(a, b);
    addresses.set(1, `127.0.0.1:${await a.listen('127.0.0.1:0')}`);
    addresses.set(2, `127.0.0.1:${await b.listen('127.0.0.1:0')}`);
    return { a, b, atA, atB, addresses };
  }

  it('delivers messages of many groups in order, batched', async () => {
    const { a, atB } = await pair();
    const sent: RaftEnvelope[] = [];
    for (let i = 0; i < 2000; i++) {
      const message: Message = { type: 'MsgApp', from: 1, to: 2, term: 1, index: i, logTerm: 1, entries: [], commit: i };
      const envelope = { groupId: 1 + (i % 7), message };
      sent.push(envelope);
      a.send(2, envelope);
    }
    await atB.until(() => atB.delivered.length === 2000);
    expect(atB.delivered.map(normalize)).toEqual(sent.map(normalize));
    // Sent in one turn of the event loop: far fewer batches than messages.
    expect(atB.deliveries).toBeLessThan(20);
  });

  it('streams a large snapshot in chunks and reports the outcome', async () => {
    const { a, atB } = await pair();
    const data = Buffer.alloc(5 * 1024 * 1024);
    for (let i = 0; i < data.length; i++) {
      data[i] = (i * 31) & 0xff;
    }
    const message: Message = {
      type: 'MsgSnap',
      from: 1,
      to: 2,
      term: 2,
      snapshot: { metadata: { index: 900, term: 2, confState: { voters: [1, 2, 3], learners: [] } }, data },
    };
    a.send(2, { groupId: 9, message });
    await atB.until(() => atB.snapshots.length === 1);
    const received = atB.snapshots[0]!.message;
    expect(received.type).toBe('MsgSnap');
    if (received.type === 'MsgSnap') {
      expect(Buffer.from(received.snapshot.data).equals(data)).toBe(true);
      expect(received.snapshot.metadata.index).toBe(900);
    }
    atB.refuseSnapshots = true;
    await expect(a.sendSnapshot(2, { groupId: 9, message })).rejects.toThrow(/refused the snapshot: not now/);
  });

  it('reports an unreachable peer, and reconnects when it comes back', async () => {
    const { a, b, atA, atB, addresses } = await pair();
    const heartbeat = (commit: number): RaftEnvelope => ({
      groupId: 3,
      message: { type: 'MsgHeartbeat', from: 1, to: 2, term: 1, commit, readContext: '' },
    });
    a.send(2, heartbeat(1));
    await atB.until(() => atB.delivered.length === 1);
    const port = b.port;
    await b.stop();
    // Keep sending until the broken stream is noticed and queued messages are dropped.
    await atA.until(() => {
      a.send(2, heartbeat(2));
      return atA.unreachableNodes.includes(2);
    });
    const atB2 = new Recorder();
    const b2 = new RaftTransport({ nodeId: 2, resolve: (id) => addresses.get(id), handler: atB2 });
    transports.push(b2);
    await b2.listen(`127.0.0.1:${port}`);
    await atB2.until(() => {
      a.send(2, heartbeat(3));
      return atB2.delivered.some((e) => e.message.type === 'MsgHeartbeat' && e.message.commit === 3);
    });
  });
});
