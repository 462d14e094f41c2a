import * as grpc from '@grpc/grpc-js';
import { CHANNEL_OPTIONS } from '../../common/grpc';
import { KEY_MAX, KEY_MIN, keyNext, rangeMetaKey } from '../../common/keys';
import * as pb from '../../proto/gen/cairn/kv/v1/kv';
import { ConditionFailedError, errorToProto, NotLeaseholderError, RangeKeyMismatchError, RangeNotFoundError, UnavailableError } from '../errors';

/**
 * An in-process stand-in for a cluster's KV service, for kv/ tests: several grpc-js
 * servers on 127.0.0.1 that share one in-memory sorted map (replication is not
 * modelled: every replica sees the same data), a list of ranges with their
 * descriptors, meta records written as the real cluster writes them, a leaseholder
 * per range, and switches for the faults DistSender must survive.
 */

export type RangeFault =
  /** Hold each batch until its deadline, then answer UNAVAILABLE (no quorum). */
  | 'unavailable'
  /** Never answer. */
  | 'blackhole';

export interface FakeClusterOptions {
  /** Node IDs 1..nodes (default 3); every range has a voter on each. */
  readonly nodes?: number;
  /** Range bounds (default 0x04, 0x10, 0x40): r1 [KEY_MIN, 0x04), r2 [0x04, 0x10), ... */
  readonly splitKeys?: readonly Buffer[];
  /** Nodes that ClusterInfo does not list until `listNode` (default none). */
  readonly unlistedNodes?: readonly number[];
}

/** One batch as a node saw it. */
export interface LoggedBatch {
  readonly nodeId: number;
  readonly rangeId: number;
  readonly requests: readonly string[];
  readonly maxKeys: number;
  /** The error code answered, if any (set once answered). */
  error: string | undefined;
}

interface FakeRange {
  desc: pb.RangeDescriptor;
  leaseholder: number;
}

interface FakeNode {
  readonly nodeId: number;
  readonly server: grpc.Server;
  readonly address: string;
  stopped: boolean;
  streams: number;
}

export class FakeKvCluster {
  readonly log: LoggedBatch[] = [];
  /** NOT_LEASEHOLDER answers carry no hint. */
  hintless = false;
  /** Every answer waits this long (to see parallelism). */
  responseDelayMs = 0;
  /** The most batches being served at once. */
  maxConcurrent = 0;
  private concurrent = 0;
  private readonly nodes = new Map<number, FakeNode>();
  private readonly listed = new Set<number>();
  private ranges: FakeRange[] = [];
  private readonly faults = new Map<number, RangeFault>();
  private readonly staleViews = new Map<string, pb.RangeDescriptor>();
  private nextRangeId = 1;
  private keys: Buffer[] = [];
  private values = new Map<string, Buffer>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor() {}

  static async start(options: FakeClusterOptions = {}): Promise<FakeKvCluster> {
    const cluster = new FakeKvCluster();
    const nodeCount = options.nodes ?? 3;
    const splitKeys = options.splitKeys ?? [Buffer.from([0x04]), Buffer.from([0x10]), Buffer.from([0x40])];
    const bounds = [KEY_MIN, ...splitKeys, KEY_MAX];
    const replicas = Array.from({ length: nodeCount }, (_, i) => ({
      nodeId: BigInt(i + 1),
      type: pb.ReplicaType.REPLICA_TYPE_VOTER,
    }));
    for (let i = 0; i + 1 < bounds.length; i++) {
      const desc: pb.RangeDescriptor = {
        rangeId: BigInt(cluster.nextRangeId++),
        startKey: bounds[i] as Buffer,
        endKey: bounds[i + 1] as Buffer,
        replicas: replicas.map((r) => ({ ...r })),
        generation: 0n,
      };
      cluster.ranges.push({ desc, leaseholder: (i % nodeCount) + 1 });
      cluster.writeMeta(desc);
    }
    for (let nodeId = 1; nodeId <= nodeCount; nodeId++) {
      await cluster.startNode(nodeId);
      if (!(options.unlistedNodes ?? []).includes(nodeId)) {
        cluster.listed.add(nodeId);
      }
    }
    return cluster;
  }

  /** The addresses of the listed nodes. */
  addresses(): string[] {
    return [...this.listed].map((id) => this.address(id));
  }

  address(nodeId: number): string {
    const node = this.nodes.get(nodeId);
    if (node === undefined) {
      throw new Error(`no node ${nodeId}`);
    }
    return node.address;
  }

  /** How many BatchStreams the node has been opened. */
  streamsOpened(nodeId: number): number {
    return this.nodes.get(nodeId)?.streams ?? 0;
  }

  descriptors(): pb.RangeDescriptor[] {
    return this.ranges.map((r) => r.desc);
  }

  rangeAt(key: Uint8Array): pb.RangeDescriptor {
    return this.rangeHolding(key).desc;
  }

  leaseholderOf(rangeId: number): number {
    return this.range(rangeId).leaseholder;
  }

  /** Splits the range holding `key` at `key`, as AdminSplit does, without telling anyone. */
  split(key: Uint8Array): { left: pb.RangeDescriptor; right: pb.RangeDescriptor } {
    const range = this.rangeHolding(key);
    const splitKey = Buffer.from(key);
    if (splitKey.equals(range.desc.startKey)) {
      throw new Error(`range ${range.desc.rangeId} already starts at the split key`);
    }
    const generation = range.desc.generation + 1n;
    const left: pb.RangeDescriptor = { ...range.desc, endKey: splitKey, generation };
    const right: pb.RangeDescriptor = {
      ...range.desc,
      rangeId: BigInt(this.nextRangeId++),
      startKey: splitKey,
      replicas: range.desc.replicas.map((r) => ({ ...r })),
      generation,
    };
    range.desc = left;
    this.ranges.splice(this.ranges.indexOf(range) + 1, 0, { desc: right, leaseholder: range.leaseholder });
    this.writeMeta(left);
    this.writeMeta(right);
    return { left, right };
  }

  /** Moves the lease (the old leaseholder will answer NOT_LEASEHOLDER). */
  setLeaseholder(rangeId: number, nodeId: number): void {
    this.range(rangeId).leaseholder = nodeId;
  }

  /** Replaces the range's replicas (a new generation, meta updated) and its leaseholder. */
  setReplicas(rangeId: number, nodeIds: readonly number[], leaseholder: number): void {
    const range = this.range(rangeId);
    range.desc = {
      ...range.desc,
      replicas: nodeIds.map((id) => ({ nodeId: BigInt(id), type: pb.ReplicaType.REPLICA_TYPE_VOTER })),
      generation: range.desc.generation + 1n,
    };
    range.leaseholder = leaseholder;
    this.writeMeta(range.desc);
  }

  setFault(rangeId: number, fault: RangeFault | undefined): void {
    if (fault === undefined) {
      this.faults.delete(rangeId);
    } else {
      this.faults.set(rangeId, fault);
    }
  }

  /** The node checks keys against this (older) descriptor of the range, as a lagging replica would. */
  setStaleView(nodeId: number, desc: pb.RangeDescriptor): void {
    this.staleViews.set(`${nodeId}/${desc.rangeId}`, desc);
  }

  /** ClusterInfo lists the node from now on. */
  listNode(nodeId: number): void {
    this.listed.add(nodeId);
  }

  /** Kills the node's server: its connections break, new ones are refused. */
  stopNode(nodeId: number): void {
    const node = this.nodes.get(nodeId);
    if (node !== undefined && !node.stopped) {
      node.stopped = true;
      node.server.forceShutdown();
    }
  }

  /** The user rows (keys at or above 0x10), in order. */
  userRows(): { key: Buffer; value: Buffer }[] {
    return this.keys.filter((k) => k[0] !== undefined && k[0] >= 0x10).map((key) => ({ key, value: this.getValue(key) as Buffer }));
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) {
      clearTimeout(timer);
    }
    this.timers.clear();
    for (const node of this.nodes.values()) {
      node.stopped = true;
      node.server.forceShutdown();
    }
  }

  // ---------------------------------------------------------------------------------

  private async startNode(nodeId: number): Promise<void> {
    const server = new grpc.Server(CHANNEL_OPTIONS);
    const holder: { node?: FakeNode } = {};
    server.addService(pb.KvServiceService, {
      batch: (call: grpc.ServerUnaryCall<pb.BatchRequest, pb.BatchResponse>, callback: grpc.sendUnaryData<pb.BatchResponse>) => {
        void this.handle(nodeId, call.request).then((response) => {
          if (response !== undefined) {
            callback(null, response);
          }
        });
      },
      batchStream: (call: grpc.ServerDuplexStream<pb.BatchStreamRequest, pb.BatchStreamResponse>) => {
        if (holder.node !== undefined) {
          holder.node.streams++;
        }
        call.on('data', (message: pb.BatchStreamRequest) => {
          for (const { requestId, batch } of message.batches) {
            void this.handle(nodeId, pb.BatchRequest.decode(batch)).then((response) => {
              if (response !== undefined && holder.node?.stopped !== true && !call.cancelled) {
                call.write({ batches: [{ requestId, batch: Buffer.from(pb.BatchResponse.encode(response).finish()) }] });
              }
            });
          }
        });
        call.on('end', () => call.end());
        call.on('error', () => undefined);
      },
      clusterInfo: (_call: grpc.ServerUnaryCall<pb.ClusterInfoRequest, pb.ClusterInfoResponse>, callback: grpc.sendUnaryData<pb.ClusterInfoResponse>) => {
        callback(null, {
          clusterId: 'fake-cluster',
          nodeId: BigInt(nodeId),
          firstRange: (this.ranges[0] as FakeRange).desc,
          nodes: [...this.listed].sort((a, b) => a - b).map((id) => this.nodeDescriptor(id)),
        });
      },
    });
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err === null ? resolve(p) : reject(err)));
    });
    const node: FakeNode = { nodeId, server, address: `127.0.0.1:${port}`, stopped: false, streams: 0 };
    holder.node = node;
    this.nodes.set(nodeId, node);
  }

  private nodeDescriptor(nodeId: number): pb.NodeDescriptor {
    return { nodeId: BigInt(nodeId), address: this.address(nodeId), httpAddress: '', locality: [] };
  }

  /** Serves one batch; undefined means "never answer". */
  private async handle(nodeId: number, batch: pb.BatchRequest): Promise<pb.BatchResponse | undefined> {
    const header = batch.header;
    const rangeId = Number(header?.rangeId ?? 0n);
    const entry: LoggedBatch = {
      nodeId,
      rangeId,
      requests: batch.requests.map((r) => r.request?.$case ?? 'empty'),
      maxKeys: Number(header?.maxKeys ?? 0n),
      error: undefined,
    };
    this.log.push(entry);
    this.concurrent++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.concurrent);
    try {
      if (this.responseDelayMs > 0) {
        await this.sleep(this.responseDelayMs);
      }
      const response = await this.serve(nodeId, rangeId, batch);
      entry.error = response?.error?.code;
      return response;
    } finally {
      this.concurrent--;
    }
  }

  private async serve(nodeId: number, rangeId: number, batch: pb.BatchRequest): Promise<pb.BatchResponse | undefined> {
    const range = this.ranges.find((r) => Number(r.desc.rangeId) === rangeId);
    if (range === undefined || !range.desc.replicas.some((r) => Number(r.nodeId) === nodeId)) {
      return failure(new RangeNotFoundError(rangeId));
    }
    const view = this.staleViews.get(`${nodeId}/${rangeId}`);
    const mismatch = this.checkKeys(view === undefined ? range : { ...range, desc: view }, batch.requests, view);
    if (mismatch !== undefined) {
      return failure(mismatch);
    }
    const fault = this.faults.get(rangeId);
    if (fault === 'blackhole') {
      return undefined;
    }
    if (fault === 'unavailable') {
      const deadline = Number(batch.header?.deadlineUnixMs ?? 0n) || Date.now() + 1_000;
      await this.sleep(Math.max(0, deadline - Date.now()));
      return failure(new UnavailableError(`range ${rangeId}: no quorum before the deadline`));
    }
    if (range.leaseholder !== nodeId) {
      const hint = this.hintless ? undefined : this.nodeDescriptor(range.leaseholder);
      return failure(new NotLeaseholderError(rangeId, hint));
    }
    const backupKeys = [...this.keys];
    const backupValues = new Map(this.values);
    try {
      return this.evaluate(range, batch);
    } catch (err) {
      this.keys = backupKeys;
      this.values = backupValues;
      return err instanceof IndexedError ? { responses: [], error: errorToProto(err.error, err.index) } : failure(err as Error);
    }
  }

  private checkKeys(
    range: FakeRange,
    requests: readonly pb.RequestUnion[],
    staleView: pb.RangeDescriptor | undefined,
  ): RangeKeyMismatchError | undefined {
    let lo: Buffer | undefined;
    let hi: Buffer | undefined;
    for (const union of requests) {
      const r = union.request;
      if (r === undefined) {
        continue;
      }
      let start: Buffer;
      let end: Buffer;
      switch (r.$case) {
        case 'scan':
        case 'reverseScan':
        case 'deleteRange':
        case 'resolveIntentRange':
        case 'refreshRange':
          start = r.value.startKey;
          end = r.value.endKey;
          break;
        case 'adminSplit':
          start = r.value.splitKey;
          end = keyNext(start);
          break;
        default:
          start = r.value.key;
          end = keyNext(start);
      }
      lo = lo === undefined || Buffer.compare(start, lo) < 0 ? start : lo;
      hi = hi === undefined || Buffer.compare(end, hi) > 0 ? end : hi;
    }
    if (lo === undefined || hi === undefined) {
      return undefined;
    }
    const { startKey, endKey } = range.desc;
    if (Buffer.compare(lo, startKey) >= 0 && Buffer.compare(hi, endKey) <= 0) {
      return undefined;
    }
    if (staleView !== undefined) {
      return new RangeKeyMismatchError(Number(range.desc.rangeId), [staleView]);
    }
    const overlapping = this.ranges
      .filter((r) => Buffer.compare(r.desc.startKey, hi as Buffer) < 0 && Buffer.compare(lo as Buffer, r.desc.endKey) < 0)
      .map((r) => r.desc);
    return new RangeKeyMismatchError(Number(range.desc.rangeId), overlapping);
  }

  private evaluate(range: FakeRange, batch: pb.BatchRequest): pb.BatchResponse {
    const header = batch.header;
    const budget = {
      keys: Number(header?.maxKeys ?? 0n) || Infinity,
      bytes: Number(header?.maxBytes ?? 0n) || Infinity,
    };
    const responses = batch.requests.map((union, index): pb.ResponseUnion => {
      const r = union.request;
      if (r === undefined) {
        throw new IndexedError(index, new UnavailableError('empty request'));
      }
      switch (r.$case) {
        case 'get': {
          const value = this.getValue(r.value.key);
          return { response: { $case: 'get', value: value === undefined ? {} : { value: { key: r.value.key, value } } } };
        }
        case 'put':
          this.setValue(r.value.key, r.value.value);
          return { response: { $case: 'put', value: {} } };
        case 'conditionalPut': {
          const actual = this.getValue(r.value.key);
          const expected = r.value.expectedValue;
          const matches = actual === undefined ? expected === undefined : expected !== undefined && actual.equals(expected);
          if (!matches) {
            throw new IndexedError(index, new ConditionFailedError(actual));
          }
          this.setValue(r.value.key, r.value.value);
          return { response: { $case: 'conditionalPut', value: {} } };
        }
        case 'delete': {
          const deleted = this.deleteKey(r.value.key);
          return { response: { $case: 'delete', value: { deleted } } };
        }
        case 'scan':
        case 'reverseScan': {
          const { rows, resumeSpan } = this.scanSpan(r.value.startKey, r.value.endKey, r.$case === 'reverseScan', budget);
          const value: pb.ScanResponse = resumeSpan === undefined ? { rows } : { rows, resumeSpan };
          return r.$case === 'scan' ? { response: { $case: 'scan', value } } : { response: { $case: 'reverseScan', value } };
        }
        case 'deleteRange': {
          // Deletions count toward the key limit only.
          const keysOnly = { keys: budget.keys, bytes: budget.bytes > 0 ? Infinity : 0 };
          const { rows, resumeSpan } = this.scanSpan(r.value.startKey, r.value.endKey, false, keysOnly);
          budget.keys = keysOnly.keys;
          for (const row of rows) {
            this.deleteKey(row.key);
          }
          const value: pb.DeleteRangeResponse = { deletedCount: BigInt(rows.length), ...(resumeSpan === undefined ? {} : { resumeSpan }) };
          return { response: { $case: 'deleteRange', value } };
        }
        case 'adminSplit': {
          const { left, right } = this.split(r.value.splitKey);
          return { response: { $case: 'adminSplit', value: { left, right } } };
        }
        case 'adminChangeReplicas': {
          const change = r.value.change;
          const current = range.desc.replicas.map((x) => Number(x.nodeId));
          const next =
            change?.$case === 'addNodeId'
              ? [...current, Number(change.value)]
              : current.filter((id) => id !== Number(change?.value ?? 0n));
          this.setReplicas(Number(range.desc.rangeId), next, range.leaseholder);
          return { response: { $case: 'adminChangeReplicas', value: { descriptor: range.desc } } };
        }
        case 'adminTransferLease':
          range.leaseholder = Number(r.value.targetNodeId);
          return { response: { $case: 'adminTransferLease', value: {} } };
        case 'rangeStats': {
          const { rows } = this.scanSpan(range.desc.startKey, range.desc.endKey, false, { keys: Infinity, bytes: Infinity });
          return {
            response: {
              $case: 'rangeStats',
              value: {
                descriptor: range.desc,
                lease: { nodeId: BigInt(range.leaseholder), term: 1n, sequence: 1n },
                liveBytes: BigInt(rows.reduce((n, row) => n + row.key.length + row.value.length, 0)),
                liveCount: BigInt(rows.length),
                totalBytes: 0n,
                raftAppliedIndex: 0n,
              },
            },
          };
        }
        default:
          // The fake serves the non-transactional API only.
          throw new IndexedError(index, new UnavailableError(`the fake cluster does not serve ${r.$case}`));
      }
    });
    return { responses, timestamp: { wallTime: BigInt(Date.now()) * 1_000_000n, logical: 0 } };
  }

  /**
   * The rows of [start, end) in order, within the batch's remaining budget (which it
   * spends). As node/storage's scans do, the limit is checked at the next row: a resume
   * span means there is at least one more row.
   */
  private scanSpan(
    start: Buffer,
    end: Buffer,
    reverse: boolean,
    budget: { keys: number; bytes: number },
  ): { rows: pb.KeyValue[]; resumeSpan: pb.Span | undefined } {
    if (budget.keys <= 0 || budget.bytes <= 0) {
      return { rows: [], resumeSpan: { startKey: start, endKey: end } };
    }
    const lo = lowerBound(this.keys, start);
    const hi = lowerBound(this.keys, end);
    const rows: pb.KeyValue[] = [];
    for (let i = reverse ? hi - 1 : lo; reverse ? i >= lo : i < hi; i += reverse ? -1 : 1) {
      const key = this.keys[i] as Buffer;
      if (budget.keys <= 0 || budget.bytes <= 0) {
        return { rows, resumeSpan: reverse ? { startKey: start, endKey: keyNext(key) } : { startKey: key, endKey: end } };
      }
      const value = this.getValue(key) as Buffer;
      rows.push({ key, value });
      budget.keys--;
      budget.bytes -= key.length + value.length;
    }
    return { rows, resumeSpan: undefined };
  }

  private getValue(key: Buffer): Buffer | undefined {
    return this.values.get(key.toString('hex'));
  }

  private setValue(key: Buffer, value: Buffer): void {
    const id = key.toString('hex');
    if (!this.values.has(id)) {
      this.keys.splice(lowerBound(this.keys, key), 0, Buffer.from(key));
    }
    this.values.set(id, Buffer.from(value));
  }

  private deleteKey(key: Buffer): boolean {
    const id = key.toString('hex');
    if (!this.values.delete(id)) {
      return false;
    }
    this.keys.splice(lowerBound(this.keys, key), 1);
    return true;
  }

  private writeMeta(desc: pb.RangeDescriptor): void {
    this.setValue(rangeMetaKey(desc.endKey), Buffer.from(pb.RangeDescriptor.encode(desc).finish()));
  }

  private range(rangeId: number): FakeRange {
    const range = this.ranges.find((r) => Number(r.desc.rangeId) === rangeId);
    if (range === undefined) {
      throw new Error(`no range ${rangeId}`);
    }
    return range;
  }

  private rangeHolding(key: Uint8Array): FakeRange {
    const range = this.ranges.find((r) => Buffer.compare(r.desc.startKey, key) <= 0 && Buffer.compare(key, r.desc.endKey) < 0);
    if (range === undefined) {
      throw new Error(`no range holds ${Buffer.from(key).toString('hex')}`);
    }
    return range;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }
}

class IndexedError {
  constructor(
    readonly index: number,
    readonly error: Error,
  ) {}
}

function failure(error: Error): pb.BatchResponse {
  return { responses: [], error: errorToProto(error) };
}

function lowerBound(keys: readonly Buffer[], key: Uint8Array): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (Buffer.compare(keys[mid] as Buffer, key) < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}
