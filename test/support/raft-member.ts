/**
 * A process serving one Raft group with the node's real parts: the RocksDB engine,
 * the durable Raft log with group commit, the gRPC transport and the group driver.
 * Its state machine is the list of applied entries. The Raft integration tests and
 * the Raft benchmark start three of these on loopback.
 *
 *   raft-member --id 1 --peers 1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003
 *               --data-dir DIR [--tick-ms 100] [--election-ticks 10]
 *
 * Timing defaults are a node's (node/replica/raft-timing.ts).
 *
 * It listens on its own peer address, serves /metrics, /healthz and /readyz on
 * --http-address (default 127.0.0.1:0), logs JSON lines to stderr, prints
 * `ready <port> <http port>` once serving, and shuts down cleanly on SIGTERM.
 */
import * as grpc from '@grpc/grpc-js';
import { CairnError } from '../../common/errors';
import { CHANNEL_OPTIONS, shutdownServer } from '../../common/grpc';
import { createLogger } from '../../common/logging';
import { createRegistry, startStatusServer } from '../../common/metrics';
import * as member from '../../proto/gen/cairn/raft/v1/member';
import type { Entry, Message } from '../../node/raft';
import { ProposalDroppedError, RaftNode } from '../../node/raft';
import { RaftGroup } from '../../node/replica/raft-group';
import { RaftLogStore } from '../../node/replica/raft-log-store';
import type { RaftTiming } from '../../node/replica/raft-timing';
import { DEFAULT_RAFT_TIMING } from '../../node/replica/raft-timing';
import { RocksEngine } from '../../node/storage';
import { RaftLogWriter } from '../../node/store/raft-log-writer';
import { RaftMetrics } from '../../node/store/raft-metrics';
import { RaftTransport } from '../../node/transport/raft-transport';

export const GROUP_ID = 1;

interface MemberArgs {
  readonly id: number;
  readonly peers: ReadonlyMap<number, string>;
  readonly dataDir: string;
  readonly httpAddress: string;
  readonly timing: RaftTiming;
}

function parseArgs(argv: readonly string[]): MemberArgs {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === undefined || !flag.startsWith('--') || value === undefined) {
      throw new Error(`bad arguments near '${flag ?? ''}'`);
    }
    values.set(flag.slice(2), value);
  }
  const required = (name: string): string => {
    const value = values.get(name);
    if (value === undefined) {
      throw new Error(`--${name} is required`);
    }
    return value;
  };
  const peers = new Map<number, string>();
  for (const part of required('peers').split(',')) {
    const [id, address] = part.split('=');
    if (id === undefined || address === undefined) {
      throw new Error(`bad peer '${part}' (want id=host:port)`);
    }
    peers.set(Number(id), address);
  }
  return {
    id: Number(required('id')),
    peers,
    dataDir: required('data-dir'),
    httpAddress: values.get('http-address') ?? '127.0.0.1:0',
    timing: {
      ...DEFAULT_RAFT_TIMING,
      ...(values.has('tick-ms') ? { tickMs: Number(values.get('tick-ms')) } : {}),
      ...(values.has('election-ticks') ? { electionTicks: Number(values.get('election-ticks')) } : {}),
    },
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const ownAddress = args.peers.get(args.id);
  if (ownAddress === undefined) {
    throw new Error(`--peers does not name this member (${args.id})`);
  }
  const log = createLogger({ name: 'raft-member', base: { member: args.id }, fd: 2 });
  const registry = createRegistry({ process: 'raft-member', member: String(args.id) });
  const metrics = new RaftMetrics(registry);
  const engine = await RocksEngine.open(args.dataDir);
  const raftLog = RaftLogStore.open(engine, GROUP_ID, { voters: [...args.peers.keys()].sort((a, b) => a - b), learners: [] });
  const writer = new RaftLogWriter(engine, { metrics });
  const { timing } = args;
  const node = new RaftNode({
    id: args.id,
    storage: raftLog,
    random: Math.random,
    electionTicks: timing.electionTicks,
    electionJitterTicks: timing.electionJitterTicks,
    heartbeatTicks: timing.heartbeatTicks,
  });
  const applied: Entry[] = [];

  const group = new RaftGroup({
    groupId: GROUP_ID,
    node,
    log: raftLog,
    writer,
    metrics,
    onSoftState: (state) => log.info({ lead: state.lead, state: state.state }, 'raft role changed'),
    send: (message: Message) => transport.send(message.to, { groupId: GROUP_ID, message }),
    apply: (entries) => {
      for (const entry of entries) {
        if (entry.type === 'normal' && entry.data.length > 0) {
          applied.push(entry);
        }
      }
    },
    onFatal: (err) => {
      log.fatal({ err }, 'raft group failed');
      process.exit(1);
    },
  });
  const transport = new RaftTransport({
    nodeId: args.id,
    resolve: (id) => args.peers.get(id),
    metrics,
    onEvent: (event) => log.info(event, `transport ${event.kind}`),
    handler: {
      deliver: (_from, envelopes) => {
        for (const { groupId, message } of envelopes) {
          if (groupId === GROUP_ID) {
            group.step(message);
          }
        }
      },
      receiveSnapshot: async (_from, { message }) => {
        group.step(message);
      },
      unreachable: (nodeId) => group.reportUnreachable(nodeId),
      snapshotSent: (_to, { message }, ok) => group.reportSnapshot(message.to, ok),
    },
  });

  const server = new grpc.Server(CHANNEL_OPTIONS);
  transport.addTo(server);
  server.addService(member.RaftMemberServiceService, {
    propose: (call: grpc.ServerDuplexStream<member.ProposeRequest, member.ProposeResponse>) => {
      call.on('data', (request: member.ProposeRequest) => {
        // Every field spelled out: object spread with overrides is slow in V8, and
        // this runs once per proposal.
        const reply = (index: bigint, term: bigint, errorCode: string, error: string, leaderHint: bigint): void => {
          call.write({ requestId: request.requestId, index, term, errorCode, error, leaderHint });
        };
        let proposal: Promise<{ index: number; term: number }>;
        try {
          proposal = group.propose(request.data);
        } catch (err) {
          const hint = err instanceof ProposalDroppedError ? BigInt(err.leaderHint) : 0n;
          reply(0n, 0n, (err as CairnError).code ?? 'INTERNAL', (err as Error).message, hint);
          return;
        }
        proposal.then(
          ({ index, term }) => reply(BigInt(index), BigInt(term), '', '', 0n),
          (err: unknown) => reply(0n, 0n, (err as CairnError).code ?? 'INTERNAL', (err as Error).message, 0n),
        );
      });
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
    status: (_call: grpc.ServerUnaryCall<member.StatusRequest, member.StatusResponse>, callback: grpc.sendUnaryData<member.StatusResponse>) => {
      const status = node.status();
      callback(null, {
        id: BigInt(status.id),
        term: BigInt(status.term),
        lead: BigInt(status.lead),
        state: status.state,
        commit: BigInt(status.commit),
        applied: BigInt(group.applied),
        lastIndex: BigInt(status.lastIndex),
        voters: status.confState.voters.map((v) => BigInt(v)),
      });
    },
    appliedEntries: (
      call: grpc.ServerUnaryCall<member.AppliedEntriesRequest, member.AppliedEntriesResponse>,
      callback: grpc.sendUnaryData<member.AppliedEntriesResponse>,
    ) => {
      const from = Number(call.request.fromIndex);
      const entries = applied.filter((e) => e.index >= from);
      callback(null, { data: entries.map((e) => Buffer.from(e.data)), firstIndex: BigInt(entries[0]?.index ?? 0) });
    },
    transferLeadership: (
      call: grpc.ServerUnaryCall<member.TransferLeadershipRequest, member.TransferLeadershipResponse>,
      callback: grpc.sendUnaryData<member.TransferLeadershipResponse>,
    ) => {
      node.transferLeadership(Number(call.request.to));
      callback(null, {});
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(ownAddress, grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err === null ? resolve(bound) : reject(err),
    );
  });

  const status = await startStatusServer({
    address: args.httpAddress,
    registry,
    ready: () => node.status().lead !== 0,
  });
  const ticker = setInterval(() => group.tick(), timing.tickMs);
  log.info({ port, httpPort: status.port }, 'serving');
  process.stdout.write(`ready ${port} ${status.port}\n`);

  let stopping = false;
  process.on('SIGTERM', () => {
    if (stopping) {
      return;
    }
    stopping = true;
    log.info('shutting down');
    clearInterval(ticker);
    group.stop();
    void (async () => {
      await transport.stop();
      await shutdownServer(server);
      await status.close();
      await engine.close();
      process.exit(0);
    })();
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`raft member failed: ${String((err as Error).stack ?? err)}\n`);
  process.exit(1);
});
