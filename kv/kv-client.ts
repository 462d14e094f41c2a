import { AssertionFailedError, InvalidArgumentError } from '../common/errors';
import { HybridLogicalClock, systemClock } from '../common/hlc';
import type { Span } from '../common/tracing';
import type * as pb from '../proto/gen/cairn/kv/v1/kv';
import type { DistSenderEvent, KvBatchHeader } from './dist-sender';
import { asBuffer, DistSender } from './dist-sender';
import type { KvTransport } from './kv-transport';
import { GrpcKvTransport } from './kv-transport';
import type { NodeConnectionEvent } from './node-connection';
import { expectCase, scanResult } from './responses';
import type { RunTxnOptions, TxnOptions } from './txn';
import { isRetryableTxnError, Txn } from './txn';

export interface KvClientOptions {
  /** host:port of one or more nodes; any of them can introduce the cluster. */
  readonly addresses: readonly string[];
  /** How long one call may take, retries included (default 10 s). */
  readonly requestTimeoutMs?: number;
  /** Routing and retry events, for logs or metrics. */
  readonly onEvent?: (event: DistSenderEvent | NodeConnectionEvent) => void;
  /** Replaces the gRPC transport (tests, simulation). */
  readonly transport?: KvTransport;
  /** The clock transactions take their timestamps from (default: a new one on the system clock). */
  readonly clock?: HybridLogicalClock;
  /** Where this client runs, e.g. [{ key: 'region', value: 'r1' }]: follower reads prefer replicas there. */
  readonly locality?: readonly pb.LocalityTier[];
  /**
   * The span this client's calls are made under (a CLI command's): each batch that
   * names no span of its own is traced as its child, on to the nodes.
   */
  readonly trace?: Span;
}

export interface KvRow {
  readonly key: Buffer;
  readonly value: Buffer;
}

export interface ScanResult {
  readonly rows: KvRow[];
  /** Set when a limit stopped the scan: what was not read (scan it to continue). */
  readonly resumeSpan?: { readonly startKey: Buffer; readonly endKey: Buffer };
}

export interface ScanOptions {
  readonly maxKeys?: number;
  readonly maxBytes?: number;
}

export type ReplicaChange = { readonly add: number } | { readonly remove: number };

/**
 * The way into Cairn's key-value data for the CLI, tests, benchmarks and the gateway:
 * single-key operations, scans and batches over the whole keyspace, routed by a
 * DistSender (non-transactional: each range applies its part of a batch atomically,
 * but a batch spanning ranges is not atomic). Every call gives up after the request
 * timeout with an UnavailableError; KV errors arrive as kv/errors' typed classes.
 */
export class KvClient {
  private constructor(
    readonly distSender: DistSender,
    readonly clock: HybridLogicalClock = new HybridLogicalClock(systemClock),
    private readonly trace?: Span,
  ) {}

  /** Connects: asks the first node that answers for ClusterInfo. */
  static async connect(options: KvClientOptions): Promise<KvClient> {
    if (options.addresses.length === 0) {
      throw new InvalidArgumentError('KvClient.connect needs at least one node address');
    }
    const onEvent = options.onEvent;
    const transport =
      options.transport ?? new GrpcKvTransport(onEvent === undefined ? {} : { onEvent: (event) => onEvent(event) });
    const sender = new DistSender({
      transport,
      bootstrapAddresses: options.addresses,
      ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
      ...(options.locality === undefined ? {} : { locality: options.locality }),
      ...(onEvent === undefined ? {} : { onEvent: (event: DistSenderEvent) => onEvent(event) }),
    });
    try {
      await sender.refreshClusterInfo();
    } catch (err) {
      await sender.close();
      throw err;
    }
    return new KvClient(sender, options.clock, options.trace);
  }

  /** A client over an existing DistSender (which it then owns). */
  static fromDistSender(sender: DistSender, clock?: HybridLogicalClock): KvClient {
    return new KvClient(sender, clock);
  }

  /**
   * Runs `fn` in a serializable transaction and commits it. A retryable conflict runs
   * `fn` again (a new epoch, or a new transaction after an abort), so `fn` must have no
   * effects outside the transaction. Any other error rolls back and is rethrown.
   */
  async txn<T>(fn: (txn: Txn) => Promise<T>, options: RunTxnOptions = {}): Promise<T> {
    const txn = this.beginTxn(options);
    const maxAttempts = options.maxAttempts ?? 100;
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await fn(txn);
        await txn.commit();
        return result;
      } catch (err) {
        if (isRetryableTxnError(err) && attempt < maxAttempts) {
          try {
            options.onRetry?.(err, attempt);
            await txn.prepareRetry(err);
          } catch (retryErr) {
            // Left pending, the transaction would heartbeat on and hold its locks.
            await txn.rollback().catch(() => undefined);
            throw retryErr;
          }
          // A little jitter, growing with the attempts, so that conflicting
          // transactions do not meet again in lockstep.
          await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(100, 2 * attempt)));
          continue;
        }
        if (txn.status === 'pending') {
          await txn.rollback().catch(() => undefined);
        }
        throw err;
      }
    }
  }

  /** A transaction driven by the caller (the SQL gateway): commit or roll back when done. */
  beginTxn(options: TxnOptions = {}): Txn {
    return new Txn(this.distSender, this.clock, options);
  }

  async get(key: Uint8Array): Promise<Buffer | undefined> {
    const r = await this.one({ $case: 'get', value: { key: asBuffer(key), forUpdate: false } });
    return expectCase(r, 'get').value?.value;
  }

  async put(key: Uint8Array, value: Uint8Array): Promise<void> {
    expectCase(await this.one({ $case: 'put', value: { key: asBuffer(key), value: asBuffer(value) } }), 'put');
  }

  /**
   * Writes `value` if the key currently holds `expected` (or is absent, for undefined);
   * otherwise throws ConditionFailedError with the value found.
   */
  async conditionalPut(key: Uint8Array, value: Uint8Array, expected: Uint8Array | undefined): Promise<void> {
    const request: pb.ConditionalPutRequest = { key: asBuffer(key), value: asBuffer(value) };
    if (expected !== undefined) {
      request.expectedValue = asBuffer(expected);
    }
    expectCase(await this.one({ $case: 'conditionalPut', value: request }), 'conditionalPut');
  }

  /** Deletes a key; resolves with whether it had a live value. */
  async delete(key: Uint8Array): Promise<boolean> {
    return expectCase(await this.one({ $case: 'delete', value: { key: asBuffer(key) } }), 'delete').deleted;
  }

  /** Deletes every key in [start, end), across ranges; resolves with how many were live. */
  async deleteRange(start: Uint8Array, end: Uint8Array): Promise<number> {
    let startKey = asBuffer(start);
    const endKey = asBuffer(end);
    let deleted = 0;
    while (Buffer.compare(startKey, endKey) < 0) {
      const r = expectCase(await this.one({ $case: 'deleteRange', value: { startKey, endKey } }), 'deleteRange');
      deleted += Number(r.deletedCount);
      if (r.resumeSpan === undefined) {
        break;
      }
      startKey = r.resumeSpan.startKey;
    }
    return deleted;
  }

  /** The rows in [start, end) in key order, at most `maxKeys` of them / about `maxBytes`. */
  async scan(start: Uint8Array, end: Uint8Array, options: ScanOptions = {}): Promise<ScanResult> {
    const [r] = await this.batch([{ request: { $case: 'scan', value: { startKey: asBuffer(start), endKey: asBuffer(end) } } }], options);
    return scanResult(expectCase(r, 'scan'));
  }

  /** The rows in [start, end) in descending key order; the resume span is the lower part left. */
  async reverseScan(start: Uint8Array, end: Uint8Array, options: ScanOptions = {}): Promise<ScanResult> {
    const [r] = await this.batch(
      [{ request: { $case: 'reverseScan', value: { startKey: asBuffer(start), endKey: asBuffer(end) } } }],
      options,
    );
    return scanResult(expectCase(r, 'reverseScan'));
  }

  /** Raw access: kv.proto requests in, responses out in the same order. */
  async batch(requests: pb.RequestUnion[], header: KvBatchHeader = {}): Promise<pb.ResponseUnion[]> {
    const traced = header.trace === undefined && this.trace !== undefined ? { ...header, trace: this.trace } : header;
    const { responses, timestamp } = await this.distSender.send(requests, traced);
    if (timestamp !== undefined) {
      // Later transactions of this client start above what it has seen written.
      try {
        this.clock.update(timestamp);
      } catch {
        // A node's clock beyond the maximum offset: keep our own.
      }
    }
    return responses;
  }

  /** Splits the range holding `splitKey` so that a new range starts there. */
  async adminSplit(splitKey: Uint8Array): Promise<{ left: pb.RangeDescriptor; right: pb.RangeDescriptor }> {
    const r = expectCase(await this.one({ $case: 'adminSplit', value: { splitKey: asBuffer(splitKey) } }), 'adminSplit');
    if (r.left === undefined || r.right === undefined) {
      throw new AssertionFailedError('AdminSplit answered without both descriptors');
    }
    return { left: r.left, right: r.right };
  }

  /** Adds or removes a replica of the range holding `key`; resolves with the new descriptor. */
  async adminChangeReplicas(key: Uint8Array, change: ReplicaChange): Promise<pb.RangeDescriptor> {
    const request: pb.AdminChangeReplicasRequest = {
      key: asBuffer(key),
      change:
        'add' in change
          ? { $case: 'addNodeId', value: BigInt(nodeIdOf(change.add)) }
          : { $case: 'removeNodeId', value: BigInt(nodeIdOf(change.remove)) },
    };
    const r = expectCase(await this.one({ $case: 'adminChangeReplicas', value: request }), 'adminChangeReplicas');
    if (r.descriptor === undefined) {
      throw new AssertionFailedError('AdminChangeReplicas answered without the descriptor');
    }
    return r.descriptor;
  }

  /** Moves the lease of the range holding `key` to a node that has a replica. */
  async adminTransferLease(key: Uint8Array, targetNodeId: number): Promise<void> {
    const value = { key: asBuffer(key), targetNodeId: BigInt(nodeIdOf(targetNodeId)) };
    expectCase(await this.one({ $case: 'adminTransferLease', value }), 'adminTransferLease');
  }

  /** The leaseholder's view of the range holding `key`. */
  async rangeStats(key: Uint8Array): Promise<pb.RangeStatsResponse> {
    return expectCase(await this.one({ $case: 'rangeStats', value: { key: asBuffer(key) } }), 'rangeStats');
  }

  /** Fresh ClusterInfo from the first node that answers. */
  clusterInfo(): Promise<pb.ClusterInfoResponse> {
    return this.distSender.refreshClusterInfo();
  }

  /** The descriptor of the range holding `key`, through the range cache. */
  lookupRange(key: Uint8Array): Promise<pb.RangeDescriptor> {
    return this.distSender.lookupRange(key);
  }

  close(): Promise<void> {
    return this.distSender.close();
  }

  private async one(request: NonNullable<pb.RequestUnion['request']>): Promise<pb.ResponseUnion | undefined> {
    const [response] = await this.batch([{ request }]);
    return response;
  }
}


function nodeIdOf(nodeId: number): number {
  if (!Number.isSafeInteger(nodeId) || nodeId <= 0) {
    throw new InvalidArgumentError(`node id must be a positive integer, got ${nodeId}`);
  }
  return nodeId;
}
