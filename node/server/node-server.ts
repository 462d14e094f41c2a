import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Registry } from 'prom-client';
import { encodeProto } from '../../common/encoding';
import { CairnError } from '../../common/errors';
import { CHANNEL_OPTIONS, shutdownServer, traceMetadata, traceparentOfCall } from '../../common/grpc';
import { HybridLogicalClock, systemClock } from '../../common/hlc';
import { CLUSTER_ID_KEY, NODE_ID_COUNTER_KEY, nodeDescriptorKey } from '../../common/keys';
import type { Logger } from '../../common/logging';
import type { StatusServer } from '../../common/metrics';
import { startStatusServer } from '../../common/metrics';
import type { Span } from '../../common/tracing';
import { NO_SPAN, SpanKind, endSpan, listenToTrace, recordedSpanOf, startRemoteChildSpan, traceparentOf } from '../../common/tracing';
import { recordedSpanToProto } from '../../kv/trace-recording';
import { KV_SERVICE, KvClient, KvServiceClient } from '../../kv';
import { errorToProto, UnavailableError } from '../../kv/errors';
import { StreamBatcher } from '../../kv/stream-batcher';
import * as kvpb from '../../proto/gen/cairn/kv/v1/kv';
import * as adminpb from '../../proto/gen/cairn/node/v1/admin';
import { failedRequestIndex, isReadOnly } from '../replica/evaluate-batch';
import { withDeadline } from '../replica/replica';
import type { RaftTiming } from '../replica/raft-timing';
import type { Engine } from '../storage';
import { allocateId } from '../store/id-allocator';
import { NodeDirectory } from '../store/node-directory';
import { RaftMetrics } from '../store/raft-metrics';
import { Store } from '../store/store';
import { StoreMetrics } from '../store/store-metrics';
import { RaftTransport } from '../transport/raft-transport';
import type { StoreIdent } from './bootstrap';
import { bootstrapCluster, readStoreIdent, writeStoreIdent } from './bootstrap';
import { NodeLivenessHeartbeat } from './liveness';

export interface NodeServerOptions {
  readonly engine: Engine;
  readonly listenAddress: string;
  readonly httpAddress: string;
  /** Addresses of cluster members to join through (may include this node's own). */
  readonly join: readonly string[];
  readonly locality: readonly kvpb.LocalityTier[];
  readonly timing: RaftTiming;
  /** How long a node stays dead before its replicas are replaced (default 5 min). */
  readonly deadNodeTimeoutMs?: number;
  /** How far behind now leaseholders close timestamps (default 3 s). */
  readonly closedTimestampTargetMs?: number;
  /** Entries one command looks at refreshing reads (default MAX_REFRESH_ENTRIES_PER_COMMAND; tests page with less). */
  readonly maxRefreshEntriesPerCommand?: number;
  readonly registry: Registry;
  readonly log: Logger;
  readonly onFatal: (err: unknown) => void;
}

const JOIN_RETRY_MS = 1_000;
const PEER_CALL_TIMEOUT_MS = 2_000;
const DRAIN_TIMEOUT_MS = 5_000;
/** How long a stopping node gives its intent resolver to finish what it holds. */
const RESOLVER_DRAIN_TIMEOUT_MS = 2_000;

interface Serving {
  readonly ident: StoreIdent;
  readonly store: Store;
  readonly transport: RaftTransport;
  /** Set once the node's own client could reach the cluster. */
  kv?: KvClient;
  liveness?: NodeLivenessHeartbeat;
}

/** A gRPC ServiceError with a status code, from a typed error. */
function serviceError(code: grpc.status, err: unknown): Partial<grpc.ServiceError> {
  const message = err instanceof Error ? err.message : String(err);
  const prefix = err instanceof CairnError ? `${err.code}: ` : '';
  return { code, details: `${prefix}${message}`, message: `${prefix}${message}` };
}

/**
 * A cairn-node: one gRPC server (KV, admin, Raft transport), the HTTP status server,
 * and — once the node belongs to a cluster — its store, liveness heartbeat and KV
 * client. A fresh node waits to be initialized (`cairn init`) or joins through the
 * --join addresses; a node with data restarts from its disk.
 */
export class NodeServer {
  private readonly server = new grpc.Server(CHANNEL_OPTIONS);
  private status: StatusServer | undefined;
  private serving: Serving | undefined;
  private starting: Promise<void> | undefined;
  private readonly clock = new HybridLogicalClock(systemClock);
  private readonly raftMetrics: RaftMetrics;
  private readonly storeMetrics: StoreMetrics;
  private readonly directory: NodeDirectory;
  private readonly peers = new Map<string, grpc.Client & adminpb.AdminServiceClient>();
  private readonly kvPeers = new Map<string, grpc.Client & kvpb.KvServiceClient>();
  private cachedFirstRange: kvpb.RangeDescriptor | undefined;
  private joinTimer: NodeJS.Timeout | undefined;
  private advertised = '';
  private httpAdvertised = '';
  private readonly startedAtMs = Date.now();
  private stopping = false;
  private storeStopped = false;

  constructor(private readonly options: NodeServerOptions) {
    this.raftMetrics = new RaftMetrics(options.registry);
    this.storeMetrics = new StoreMetrics(options.registry);
    this.directory = new NodeDirectory(options.engine, this.clock);
  }

  get nodeId(): number | undefined {
    return this.serving?.ident.nodeId;
  }

  async start(): Promise<void> {
    RaftTransport.addLateTo(this.server, () => this.serving?.transport);
    this.addKvService();
    this.addAdminService();
    const port = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(this.options.listenAddress, grpc.ServerCredentials.createInsecure(), (err, bound) =>
        err === null ? resolve(bound) : reject(err),
      );
    });
    const host = this.options.listenAddress.slice(0, this.options.listenAddress.lastIndexOf(':'));
    this.advertised = `${host}:${port}`;
    this.status = await startStatusServer({
      address: this.options.httpAddress,
      registry: this.options.registry,
      ready: () => this.serving?.liveness !== undefined && !this.stopping,
    });
    const httpHost = this.options.httpAddress.slice(0, this.options.httpAddress.lastIndexOf(':'));
    this.httpAdvertised = `${httpHost}:${this.status.port}`;
    this.options.log.info({ address: this.advertised, httpAddress: this.httpAdvertised }, 'listening');
    const ident = readStoreIdent(this.options.engine);
    if (ident !== undefined) {
      await this.startServing(ident, undefined);
    } else {
      this.options.log.info({ join: this.options.join }, 'no cluster yet: waiting for `cairn init` or to join');
      this.scheduleJoin(0);
    }
  }

  get address(): string {
    return this.advertised;
  }

  private ownDescriptor(nodeId: number): kvpb.NodeDescriptor {
    return { nodeId: BigInt(nodeId), address: this.advertised, httpAddress: this.httpAdvertised, locality: [...this.options.locality] };
  }

  // ---------------------------------------------------------------------------------
  // Becoming a member

  private startServing(ident: StoreIdent, joined: adminpb.JoinResponse | undefined): Promise<void> {
    if (this.starting === undefined) {
      this.starting = this.doStartServing(ident, joined).catch((err: unknown) => {
        this.options.onFatal(err);
      });
    }
    return this.starting;
  }

  private async doStartServing(ident: StoreIdent, joined: adminpb.JoinResponse | undefined): Promise<void> {
    if (this.joinTimer !== undefined) clearTimeout(this.joinTimer);
    const { engine, timing } = this.options;
    const log = this.options.log.child({ node: ident.nodeId });
    await this.directory.updateDescriptors([...(joined?.nodes ?? []), this.ownDescriptor(ident.nodeId)]);
    if (joined?.firstRange !== undefined) this.cachedFirstRange = joined.firstRange;
    const store = new Store({
      nodeId: ident.nodeId,
      engine,
      clock: this.clock,
      timing,
      raftMetrics: this.raftMetrics,
      metrics: this.storeMetrics,
      log,
      directory: this.directory,
      onFatal: this.options.onFatal,
      ...(this.options.deadNodeTimeoutMs === undefined ? {} : { deadNodeTimeoutMs: this.options.deadNodeTimeoutMs }),
      ...(this.options.closedTimestampTargetMs === undefined ? {} : { closedTimestampTargetMs: this.options.closedTimestampTargetMs }),
      ...(this.options.maxRefreshEntriesPerCommand === undefined ? {} : { maxRefreshEntriesPerCommand: this.options.maxRefreshEntriesPerCommand }),
    });
    this.storeMetrics.rangeHealth = () => store.rangeHealth();
    const storageStats = engine.storageStats;
    if (storageStats !== undefined) this.storeMetrics.storageStats = () => storageStats.call(engine);
    const transport = new RaftTransport({
      nodeId: ident.nodeId,
      resolve: (id) => this.directory.address(id),
      handler: store,
      metrics: this.raftMetrics,
      onEvent: (event) => log.debug(event, `transport ${event.kind}`),
    });
    // Replicas run first: this node may hold the ranges its own client must read.
    const serving: Serving = { ident, store, transport };
    this.serving = serving;
    store.start(transport);
    // The node's own client: its own address first, then every node it knows.
    const addresses = [...new Set([this.advertised, ...this.directory.all().map((d) => d.address), ...this.options.join])];
    let kv: KvClient | undefined;
    await this.retryUntilStopped('kv client', async () => {
      kv = await KvClient.connect({ addresses });
    });
    if (kv === undefined) return;
    store.setKv(kv);
    serving.kv = kv;
    const liveness = new NodeLivenessHeartbeat({
      nodeId: ident.nodeId,
      kv,
      clock: this.clock,
      directory: this.directory,
      log,
      capacity: () => ({ ranges: store.replicaCount, leases: store.leaseCount() }),
    });
    serving.liveness = liveness;
    await this.retryUntilStopped('node liveness', () => liveness.start());
    await this.retryUntilStopped('node directory', () => liveness.refreshDirectory());
    log.info({ clusterId: ident.clusterId, nodeId: ident.nodeId }, 'serving');
  }

  private async retryUntilStopped(what: string, attempt: () => Promise<void>): Promise<void> {
    for (let delay = 100; !this.stopping; delay = Math.min(delay * 2, 2_000)) {
      try {
        await attempt();
        return;
      } catch (err) {
        this.options.log.warn({ err, what }, `${what}: not yet, retrying`);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  private scheduleJoin(delayMs: number): void {
    this.joinTimer = setTimeout(() => void this.tryJoin(), delayMs);
  }

  private async tryJoin(): Promise<void> {
    if (this.serving !== undefined || this.starting !== undefined || this.stopping) return;
    for (const address of this.options.join) {
      if (address === this.advertised) continue;
      try {
        const response = await this.callPeer<adminpb.JoinRequest, adminpb.JoinResponse>(address, 'join', {
          address: this.advertised,
          httpAddress: this.httpAdvertised,
          locality: [...this.options.locality],
        });
        if (this.starting !== undefined) return;
        const ident = { clusterId: response.clusterId, nodeId: Number(response.nodeId) };
        await writeStoreIdent(this.options.engine, ident);
        this.options.log.info({ via: address, nodeId: ident.nodeId, clusterId: ident.clusterId }, 'joined the cluster');
        await this.startServing(ident, response);
        return;
      } catch (err) {
        this.options.log.debug({ err, address }, 'join attempt failed');
      }
    }
    this.scheduleJoin(JOIN_RETRY_MS);
  }

  private peer(address: string): grpc.Client & adminpb.AdminServiceClient {
    let client = this.peers.get(address);
    if (client === undefined) {
      client = new adminpb.AdminServiceClient(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
      this.peers.set(address, client);
    }
    return client;
  }

  private callPeer<Req, Res>(address: string, method: 'join' | 'localReplicas', request: Req, trace?: Span): Promise<Res> {
    const client = this.peer(address) as unknown as Record<
      string,
      (req: Req, md: grpc.Metadata, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: Res) => void) => void
    >;
    const call = client[method];
    if (call === undefined) throw new Error(`no method ${method}`);
    return new Promise<Res>((resolve, reject) => {
      call.call(client, request, traceMetadata(traceparentOf(trace)), { deadline: Date.now() + PEER_CALL_TIMEOUT_MS }, (err, res) =>
        err === null ? resolve(res) : reject(err),
      );
    });
  }

  // ---------------------------------------------------------------------------------
  // KV service

  /** A batch as it came on a BatchStream; one that does not decode is answered with INVALID_ARGUMENT. */
  private serveEncodedBatch(encoded: Uint8Array): Promise<kvpb.BatchResponse> {
    let request: kvpb.BatchRequest;
    try {
      request = kvpb.BatchRequest.decode(encoded);
    } catch (err) {
      const invalid = new CairnError('INVALID_ARGUMENT', `the batch does not decode: ${(err as Error).message}`);
      return Promise.resolve({ responses: [], error: errorToProto(invalid, -1) });
    }
    return this.serveBatch(request, encoded.length);
  }

  /** `requestBytes`: the batch's encoded size, when it came encoded (a span attribute). */
  private async serveBatch(request: kvpb.BatchRequest, requestBytes?: number): Promise<kvpb.BatchResponse> {
    if (request.header?.recordTrace !== true || request.header.traceparent === '') return this.serveBatchInSpan(request, requestBytes);
    // The sender records this trace: the spans made here for the batch go back with the answer.
    const recorded: kvpb.RecordedSpan[] = [];
    const traceId = request.header.traceparent.split('-')[1] ?? '';
    const stopListening = listenToTrace(traceId, (span) => recorded.push(recordedSpanToProto(recordedSpanOf(span))));
    let response: kvpb.BatchResponse;
    try {
      response = await this.serveBatchInSpan(request, requestBytes);
    } finally {
      stopListening();
    }
    return recorded.length === 0 ? response : { ...response, traceRecording: { spans: recorded } };
  }

  private async serveBatchInSpan(request: kvpb.BatchRequest, requestBytes: number | undefined): Promise<kvpb.BatchResponse> {
    const startedAt = process.hrtime.bigint();
    const method = request.requests[0]?.request?.$case ?? 'empty';
    let outcome = 'ok';
    const span = startRemoteChildSpan('kv.node.batch', request.header?.traceparent, undefined, SpanKind.SERVER);
    if (span !== NO_SPAN) {
      span.setAttributes({
        'cairn.node_id': this.serving?.ident.nodeId ?? 0,
        'cairn.range_id': Number(request.header?.rangeId ?? 0n),
        'cairn.requests': request.requests.length,
        'cairn.first_request': method,
      });
      const txnId = request.header?.txn?.meta?.id;
      if (txnId !== undefined) span.setAttribute('cairn.txn_id', txnId.toString('hex'));
      if (requestBytes !== undefined) span.setAttribute('cairn.request_bytes', requestBytes);
    }
    try {
      // A draining node goes on serving: it still holds leases until it has handed
      // them off, and its replicas stop only with the store.
      const serving = this.serving;
      if (serving === undefined || this.storeStopped) {
        throw new UnavailableError(this.storeStopped ? 'the node is shutting down' : 'the node has not joined a cluster yet');
      }
      return await serving.store.send(request, span);
    } catch (err) {
      const error = errorToProto(err, failedRequestIndex(err));
      outcome = error.code;
      span.setAttribute('error.type', error.code);
      if (error.code === 'ASSERTION_FAILED') {
        this.options.log.error({ err }, 'a KV batch failed');
      }
      return { responses: [], error };
    } finally {
      const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
      this.storeMetrics.kvRequestSeconds.observe({ method, outcome }, seconds);
      (isReadOnly(request.requests) ? this.storeMetrics.kvReadSeconds : this.storeMetrics.kvWriteSeconds).observe(seconds);
      endSpan(span, outcome === 'ok' ? undefined : { code: outcome });
    }
  }

  private firstRange(): kvpb.RangeDescriptor | undefined {
    const local = this.serving?.store.replica(1)?.descriptor;
    return local ?? this.cachedFirstRange;
  }

  /** Asks the other nodes for the first range when this node holds no replica of it. */
  private async findFirstRange(): Promise<kvpb.RangeDescriptor | undefined> {
    const local = this.serving?.store.replica(1)?.descriptor;
    if (local !== undefined) return local;
    for (const desc of this.directory.all()) {
      if (desc.address === this.advertised) continue;
      let client = this.kvPeers.get(desc.address);
      if (client === undefined) {
        client = new KvServiceClient(desc.address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
        this.kvPeers.set(desc.address, client);
      }
      const peerClient = client;
      try {
        const info = await new Promise<kvpb.ClusterInfoResponse>((resolve, reject) =>
          peerClient.clusterInfo({}, new grpc.Metadata(), { deadline: Date.now() + PEER_CALL_TIMEOUT_MS }, (err, res) =>
            err === null ? resolve(res) : reject(err),
          ),
        );
        const first = info.firstRange;
        if (first !== undefined && first.replicas.some((r) => r.nodeId === info.nodeId)) {
          this.cachedFirstRange = first;
          return first;
        }
      } catch {
        // Try the next node.
      }
    }
    return this.cachedFirstRange;
  }

  private addKvService(): void {
    this.server.addService(KV_SERVICE, {
      batch: (call: grpc.ServerUnaryCall<kvpb.BatchRequest, kvpb.BatchResponse>, callback: grpc.sendUnaryData<kvpb.BatchResponse>) => {
        void this.serveBatch(call.request).then((response) => callback(null, response));
      },
      batchStream: (call: grpc.ServerDuplexStream<kvpb.BatchStreamRequest, kvpb.BatchStreamResponse>) => {
        // Answers finished in the same turn of the event loop share a stream message.
        const answers = new StreamBatcher((batches) => {
          if (!call.destroyed && call.writable) call.write({ batches });
        });
        call.on('data', (message: kvpb.BatchStreamRequest) => {
          for (const { requestId, batch } of message.batches) {
            void this.serveEncodedBatch(batch).then((response) => answers.add(requestId, encodeProto(kvpb.BatchResponse, response)));
          }
        });
        call.on('end', () => {
          answers.flush();
          answers.stop();
          call.end();
        });
        call.on('error', () => answers.stop());
      },
      clusterInfo: (
        _call: grpc.ServerUnaryCall<kvpb.ClusterInfoRequest, kvpb.ClusterInfoResponse>,
        callback: grpc.sendUnaryData<kvpb.ClusterInfoResponse>,
      ) => {
        const serving = this.serving;
        if (serving === undefined) {
          callback(serviceError(grpc.status.UNAVAILABLE, new UnavailableError('the node has not joined a cluster yet')));
          return;
        }
        const answer = (firstRange: kvpb.RangeDescriptor | undefined): void => {
          if (firstRange === undefined) {
            callback(serviceError(grpc.status.UNAVAILABLE, new UnavailableError('this node does not know the first range yet')));
            return;
          }
          callback(null, { clusterId: serving.ident.clusterId, nodeId: BigInt(serving.ident.nodeId), firstRange, nodes: this.directory.all() });
        };
        const known = this.serving?.store.replica(1)?.descriptor;
        if (known !== undefined) {
          answer(known);
        } else {
          void this.findFirstRange().then(answer, () => answer(this.firstRange()));
        }
      },
    });
  }

  // ---------------------------------------------------------------------------------
  // Admin service

  private addAdminService(): void {
    // A call made under a trace (the CLI's) is traced here as `admin.<method>`.
    const unary =
      <Req, Res>(method: string, handler: (request: Req, span: Span) => Promise<Res>) =>
      (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>): void => {
        const span = startRemoteChildSpan(`admin.${method}`, traceparentOfCall(call.metadata), { 'cairn.node_id': this.serving?.ident.nodeId ?? 0 }, SpanKind.SERVER);
        handler(call.request, span).then(
          (response) => {
            endSpan(span);
            callback(null, response);
          },
          (err: unknown) => {
            endSpan(span, err);
            const code =
              err instanceof CairnError && err.code === 'CLUSTER_ALREADY_INITIALIZED'
                ? grpc.status.ALREADY_EXISTS
                : err instanceof CairnError && err.code === 'INVALID_ARGUMENT'
                  ? grpc.status.INVALID_ARGUMENT
                  : err instanceof CairnError && err.retryable
                    ? grpc.status.UNAVAILABLE
                    : grpc.status.INTERNAL;
            callback(serviceError(code, err));
          },
        );
      };
    this.server.addService(adminpb.AdminServiceService, {
      init: unary('init', (request: adminpb.InitRequest) => this.init(request)),
      join: unary('join', (request: adminpb.JoinRequest) => this.join(request)),
      nodeStatus: unary('nodeStatus', (_request: adminpb.NodeStatusRequest, span) => this.nodeStatus(span)),
      ranges: unary('ranges', (_request: adminpb.RangesRequest, span) => this.ranges(span)),
      localReplicas: unary('localReplicas', async () => this.localReplicas()),
    });
  }

  private async init(_request: adminpb.InitRequest): Promise<adminpb.InitResponse> {
    if (this.serving !== undefined || this.starting !== undefined || readStoreIdent(this.options.engine) !== undefined) {
      throw new CairnError('CLUSTER_ALREADY_INITIALIZED', 'this node already belongs to a cluster');
    }
    const clusterId = randomUUID();
    const nodeId = 1;
    const ident = await bootstrapCluster(this.options.engine, this.clock, clusterId, this.ownDescriptor(nodeId));
    this.options.log.info({ clusterId, nodeId }, 'bootstrapped a new cluster');
    await this.startServing(ident, undefined);
    return { clusterId, nodeId: BigInt(nodeId) };
  }

  private requireServing(): Serving & { readonly kv: KvClient } {
    const serving = this.serving;
    const kv = serving?.kv;
    if (serving === undefined || kv === undefined) {
      throw new CairnError('CLUSTER_NOT_INITIALIZED', 'this node has not joined a cluster yet', { retryable: true });
    }
    return { ...serving, kv };
  }

  private async join(request: adminpb.JoinRequest): Promise<adminpb.JoinResponse> {
    const { kv, ident } = this.requireServing();
    const nodeId = await allocateId(kv, NODE_ID_COUNTER_KEY);
    const descriptor: kvpb.NodeDescriptor = {
      nodeId: BigInt(nodeId),
      address: request.address,
      httpAddress: request.httpAddress,
      locality: request.locality,
    };
    await kv.put(nodeDescriptorKey(nodeId), kvpb.NodeDescriptor.encode(descriptor).finish());
    await this.directory.updateDescriptors([descriptor]);
    const clusterId = (await kv.get(CLUSTER_ID_KEY))?.toString('utf8') ?? ident.clusterId;
    this.options.log.info({ nodeId, address: request.address }, 'a node joined');
    return { clusterId, nodeId: BigInt(nodeId), firstRange: await this.findFirstRange(), nodes: this.directory.all() };
  }

  private localReplicas(): adminpb.LocalReplicasResponse {
    const serving = this.serving;
    if (serving === undefined) return { nodeId: 0n, replicas: [], startedAtUnixMs: BigInt(this.startedAtMs) };
    const now = Date.now();
    return {
      nodeId: BigInt(serving.ident.nodeId),
      startedAtUnixMs: BigInt(this.startedAtMs),
      replicas: serving.store.listReplicas().map((replica) => {
        const leaseholder = replica.isLeaseholder(now);
        const stats = leaseholder ? replica.stats() : { liveBytes: 0, liveCount: 0 };
        const raft = replica.raftStatus;
        return {
          descriptor: replica.descriptor,
          lease: replica.lease,
          leaseholder,
          raftLeader: BigInt(raft.lead),
          raftTerm: BigInt(raft.term),
          appliedIndex: BigInt(replica.appliedIndex),
          liveBytes: BigInt(stats.liveBytes),
          liveCount: BigInt(stats.liveCount),
        };
      }),
    };
  }

  /** Every node's replicas, from the node itself (unset for a node that did not answer). */
  private async gatherReplicas(trace: Span): Promise<Map<number, adminpb.LocalReplicasResponse | undefined>> {
    const serving = this.requireServing();
    const out = new Map<number, adminpb.LocalReplicasResponse | undefined>();
    await Promise.all(
      this.directory.all().map(async (desc) => {
        const id = Number(desc.nodeId);
        if (id === serving.ident.nodeId) {
          out.set(id, this.localReplicas());
          return;
        }
        try {
          out.set(id, await this.callPeer<adminpb.LocalReplicasRequest, adminpb.LocalReplicasResponse>(desc.address, 'localReplicas', {}, trace));
        } catch {
          out.set(id, undefined);
        }
      }),
    );
    return out;
  }

  private async nodeStatus(trace: Span): Promise<adminpb.NodeStatusResponse> {
    const replicas = await this.gatherReplicas(trace);
    return {
      nodes: this.directory.all().map((descriptor) => {
        const id = Number(descriptor.nodeId);
        const local = replicas.get(id);
        return {
          descriptor,
          liveness: this.directory.livenessOf(id),
          live: this.directory.isLive(id),
          ranges: BigInt(local?.replicas.length ?? 0),
          leases: BigInt(local?.replicas.filter((r) => r.leaseholder).length ?? 0),
          startedAtUnixMs: local?.startedAtUnixMs ?? 0n,
        };
      }),
    };
  }

  private async ranges(trace: Span): Promise<adminpb.RangesResponse> {
    const replicas = await this.gatherReplicas(trace);
    const byRange = new Map<number, adminpb.RangeInfo>();
    for (const [nodeId, response] of replicas) {
      for (const info of response?.replicas ?? []) {
        const desc = info.descriptor;
        if (desc === undefined) continue;
        const id = Number(desc.rangeId);
        const known = byRange.get(id);
        const newer = known?.descriptor === undefined || known.descriptor.generation < desc.generation;
        const entry: adminpb.RangeInfo = {
          descriptor: newer ? desc : known.descriptor,
          leaseholderNodeId: info.leaseholder ? BigInt(nodeId) : (known?.leaseholderNodeId ?? 0n),
          liveBytes: info.leaseholder ? info.liveBytes : (known?.liveBytes ?? 0n),
          liveCount: info.leaseholder ? info.liveCount : (known?.liveCount ?? 0n),
        };
        byRange.set(id, entry);
      }
    }
    const ranges = [...byRange.values()].sort((a, b) => Buffer.compare(a.descriptor?.startKey ?? Buffer.alloc(0), b.descriptor?.startKey ?? Buffer.alloc(0)));
    return { ranges };
  }

  // ---------------------------------------------------------------------------------
  // Shutdown

  /** Hands leases off, marks the node draining, then stops everything. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.joinTimer !== undefined) clearTimeout(this.joinTimer);
    const serving = this.serving;
    const log = this.options.log;
    if (serving?.liveness !== undefined) {
      const deadline = Date.now() + DRAIN_TIMEOUT_MS;
      // Telling the others is worth a moment, not the whole drain.
      await withDeadline(serving.liveness.drain(), Math.min(deadline, Date.now() + DRAIN_TIMEOUT_MS / 5), () => new UnavailableError('recording draining timed out')).catch(
        (err: unknown) => log.warn({ err }, 'could not record draining'),
      );
      const left = await serving.store.drainLeases(deadline);
      log.info({ leasesLeft: left }, 'leases drained');
      // Without leases no commit adds to it: resolve what it holds rather than leave the
      // intents to whoever meets them, and the records behind for good.
      const resolverDeadline = Date.now() + RESOLVER_DRAIN_TIMEOUT_MS;
      await withDeadline(serving.store.intentResolver.drain(), resolverDeadline, () => new UnavailableError('intent resolution timed out')).catch((err: unknown) =>
        log.warn({ err, pending: serving.store.intentResolver.pending }, 'could not finish resolving intents before stopping'),
      );
      serving.liveness.stop();
    }
    if (serving !== undefined) {
      this.storeStopped = true;
      await serving.store.stop();
      await serving.transport.stop();
      await serving.kv?.close();
    }
    for (const client of [...this.peers.values(), ...this.kvPeers.values()]) client.close();
    await shutdownServer(this.server);
    await this.status?.close();
    await this.options.engine.close();
    log.info('stopped');
  }
}
