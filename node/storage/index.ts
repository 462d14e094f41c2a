export * from './engine';
export * from './errors';
export { IndexedBatch } from './indexed-batch';
export { MemoryEngine } from './memory-engine';
export type { CheckpointOptions, CheckpointProgress, CheckpointResult, RocksEngineOptions } from './rocks-engine';
export { RocksEngine } from './rocks-engine';
export {
  decodeMvccUserKey,
  lockTableKey,
  lockTableSpan,
  LOCK_TABLE_PREFIX,
  MVCC_PREFIX,
  replicatedSpans,
  STORE_LOCAL_PREFIX,
  storeLocalKey,
  TXN_RECORD_PREFIX,
  txnRecordKey,
  txnRecordSpan,
  versionKey,
  versionPrefix,
  versionSpan,
} from './mvcc-key';
export type { Intent, TxnMeta } from './mvcc-value';
export { decodeIntent, TXN_ID_BYTES } from './mvcc-value';
export * from './mvcc';
