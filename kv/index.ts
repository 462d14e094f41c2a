export type { KvClientOptions, KvRow, ReplicaChange, ScanOptions, ScanResult } from './kv-client';
export { KvClient } from './kv-client';
export type { CommitTrigger, GetOptions, RunTxnOptions, StatementLimits, TxnOptions, TxnPriority } from './txn';
export { isRetryableTxnError, Txn } from './txn';
export type { DistSenderEvent, DistSenderOptions, KvBatchHeader, KvBatchResult } from './dist-sender';
export { DEFAULT_REQUEST_TIMEOUT_MS, DistSender } from './dist-sender';
export type { RangeCacheEntry } from './range-cache';
export { RangeCache } from './range-cache';
export type { KvTransport } from './kv-transport';
export { GrpcKvTransport } from './kv-transport';
export type { NodeConnectionEvent, NodeConnectionOptions } from './node-connection';
export { NodeConnection } from './node-connection';
export * from './errors';
export type { InterruptSignal } from './interrupt';
export { Interrupt } from './interrupt';
export type { KeySpan } from './batch-split';
export { isAdminRequest, requestSpan } from './batch-split';
export type {
  ClusterInfoResponse,
  NodeDescriptor,
  RangeDescriptor,
  RangeStatsResponse,
  RequestUnion,
  ResponseUnion,
} from '../proto/gen/cairn/kv/v1/kv';
export { KV_SERVICE, KvServiceClient } from './kv-service';
