/**
 * `npm run bench -- storage`: the MVCC engine against raw RocksDB (the same binding,
 * no MVCC), and synced batches against the disk's own fsync rate, in one process and
 * one run.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HybridLogicalClock, systemClock } from '../common/hlc';
import { mvccGet, mvccPut, mvccScan, RocksEngine } from '../node/storage';
import { rocksOpenOptions } from '../node/storage/rocks-engine';
import { RocksDatabase } from '../node/storage/rocks-binding';
import type { BenchOptions } from './main';
import type { Measurement } from './report';
import { closedLoop, compared, emit, measure, progress, round } from './report';

const KEYS = 100_000;
const VALUE_BYTES = 256;
const SCAN_KEYS = 1000;
const BATCH_KEYS = 64;
const FSYNC_BLOCK_BYTES = 4096;
const CONCURRENT_WRITERS = 16;
/** Keys rewritten over and over (a counter, a liveness record): scans meet their history. */
const HOT_KEYS = 10;
const HOT_VERSIONS = 500;

function hotKey(i: number): Buffer {
  return Buffer.from(`hot/${String(i).padStart(4, '0')}`);
}

function userKey(i: number): Buffer {
  return Buffer.from(`user/${String(i).padStart(8, '0')}`);
}

/** A deterministic spread of key indexes, so both engines read the same keys. */
function pick(i: number): number {
  return (i * 7919 + 13) % KEYS;
}

/** The disk's physical limit for durable appends: write 4 KiB, fdatasync, repeat. */
async function fsyncLoop(dir: string, seconds: number): Promise<Measurement> {
  const file = path.join(dir, 'fsync-probe');
  const fd = fs.openSync(file, 'w');
  const block = Buffer.alloc(FSYNC_BLOCK_BYTES, 0xab);
  try {
    return await measure(seconds, () => {
      fs.writeSync(fd, block);
      fs.fdatasyncSync(fd);
    });
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file);
  }
}

export async function runStorageBench(options: BenchOptions): Promise<void> {
  const { seconds } = options;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-storage-'));
  const value = Buffer.alloc(VALUE_BYTES, 0x5a);
  const clock = new HybridLogicalClock(systemClock);
  let raw: RocksDatabase | undefined;
  let engine: RocksEngine | undefined;
  try {
    // The baseline: the same binding's native calls with exactly the options a node's
    // engine uses, and no MVCC.
    raw = await RocksDatabase.open(path.join(root, 'raw'), rocksOpenOptions());
    const rawDb = raw;
    engine = await RocksEngine.open(path.join(root, 'mvcc'));
    const mvcc = engine;

    progress(`storage: loading ${KEYS} keys of ${VALUE_BYTES} bytes into raw RocksDB and the MVCC engine`);
    for (let start = 0; start < KEYS; start += 1000) {
      const rawBatch = rawDb.batch();
      const mvccBatch = mvcc.newBatch();
      const at = clock.now();
      for (let i = start; i < start + 1000; i++) {
        rawBatch.put(userKey(i), value);
        mvccPut(mvcc, mvccBatch, userKey(i), at, value);
      }
      rawDb.write(rawBatch, false);
      await mvcc.write(mvccBatch);
    }

    progress('storage: point get');
    const rawGet = await measure(seconds, (i) => {
      if (rawDb.get(userKey(pick(i))) === undefined) {
        throw new Error('raw get missed');
      }
    });
    const readAt = clock.now();
    const mvccGetResult = await measure(seconds, (i) => {
      if (mvccGet(mvcc, userKey(pick(i)), readAt) === undefined) {
        throw new Error('MVCC get missed');
      }
    });
    emit(compared('storage', 'get', mvccGetResult, 'rocksdb', rawGet));

    // Scans run on the loaded data, one version per key in both stores: the writes
    // below add history to the MVCC store, which raw RocksDB overwrites.
    progress(`storage: scans of ${SCAN_KEYS} keys`);
    const rawScan = await measure(seconds, (i) => {
      const start = pick(i) % (KEYS - SCAN_KEYS);
      const iterator = rawDb.iterator('forward');
      iterator.seek(userKey(start));
      let seen = 0;
      while (seen < SCAN_KEYS) {
        const { rows } = iterator.next(SCAN_KEYS - seen);
        seen += rows.length / 2;
        if (rows.length === 0) {
          break;
        }
      }
      iterator.close();
      if (seen !== SCAN_KEYS) {
        throw new Error(`raw scan saw ${seen} keys`);
      }
    });
    const scanAt = clock.now();
    const mvccScanResult = await measure(seconds, (i) => {
      const start = pick(i) % (KEYS - SCAN_KEYS);
      const { rows } = mvccScan(mvcc, userKey(start), userKey(KEYS), scanAt, { maxKeys: SCAN_KEYS });
      if (rows.length !== SCAN_KEYS) {
        throw new Error(`MVCC scan saw ${rows.length} keys`);
      }
    });
    emit(compared('storage', 'scan-1000', mvccScanResult, 'rocksdb', rawScan));

    progress('storage: put (not synced)');
    const rawPut = await measure(seconds, (i) => {
      const batch = rawDb.batch();
      batch.put(userKey(pick(i)), value);
      rawDb.write(batch, false);
    });
    const mvccPutResult = await measure(seconds, async (i) => {
      const batch = mvcc.newBatch();
      mvccPut(mvcc, batch, userKey(pick(i)), clock.now(), value);
      await mvcc.write(batch);
    });
    emit(compared('storage', 'put', mvccPutResult, 'rocksdb', rawPut));

    progress(`storage: scans of ${HOT_KEYS} keys with ${HOT_VERSIONS} versions each`);
    for (let version = 0; version < HOT_VERSIONS; version++) {
      const rawBatch = rawDb.batch();
      const mvccBatch = mvcc.newBatch();
      const at = clock.now();
      for (let i = 0; i < HOT_KEYS; i++) {
        rawBatch.put(hotKey(i), value);
        mvccPut(mvcc, mvccBatch, hotKey(i), at, value);
      }
      rawDb.write(rawBatch, false);
      await mvcc.write(mvccBatch);
    }
    const rawHotScan = await measure(seconds, () => {
      const iterator = rawDb.iterator('forward');
      iterator.seek(hotKey(0));
      const { rows } = iterator.next(HOT_KEYS);
      iterator.close();
      if (rows.length !== 2 * HOT_KEYS) {
        throw new Error(`raw scan saw ${rows.length / 2} hot keys`);
      }
    });
    const hotAt = clock.now();
    const mvccHotScan = await measure(seconds, () => {
      const { rows } = mvccScan(mvcc, hotKey(0), hotKey(HOT_KEYS), hotAt);
      if (rows.length !== HOT_KEYS) {
        throw new Error(`MVCC scan saw ${rows.length} hot keys`);
      }
    });
    emit(compared('storage', `scan-${HOT_KEYS}-hot`, mvccHotScan, 'rocksdb', rawHotScan));

    progress(`storage: synced batches of ${BATCH_KEYS} puts`);
    const rawBatchPut = await measure(seconds, (i) => {
      const batch = rawDb.batch();
      for (let j = 0; j < BATCH_KEYS; j++) {
        batch.put(userKey(pick(i * BATCH_KEYS + j)), value);
      }
      rawDb.write(batch, true);
    });
    const mvccBatchPut = await measure(seconds, async (i) => {
      const batch = mvcc.newBatch();
      const at = clock.now();
      for (let j = 0; j < BATCH_KEYS; j++) {
        mvccPut(mvcc, batch, userKey(pick(i * BATCH_KEYS + j)), at, value);
      }
      await mvcc.write(batch, { sync: true });
    });
    // Concurrent writers share fsyncs (the engine syncs the WAL on a worker thread);
    // each writes its own keys, so none meets another's newer versions.
    progress(`storage: synced batches of ${BATCH_KEYS} puts from ${CONCURRENT_WRITERS} writers`);
    const keysPerWriter = Math.floor(KEYS / CONCURRENT_WRITERS);
    const syncsBefore = mvcc.walSyncCount;
    const mvccBatchPutConcurrent = await closedLoop(CONCURRENT_WRITERS, seconds, async (sequence, writer) => {
      const batch = mvcc.newBatch();
      const at = clock.now();
      for (let j = 0; j < BATCH_KEYS; j++) {
        mvccPut(mvcc, batch, userKey(writer * keysPerWriter + ((sequence * BATCH_KEYS + j) % keysPerWriter)), at, value);
      }
      await mvcc.write(batch, { sync: true });
    });
    const concurrentSyncs = mvcc.walSyncCount - syncsBefore;
    progress('storage: fsync loop (write 4 KiB + fdatasync)');
    const fsync = await fsyncLoop(root, seconds);
    emit(compared('storage', 'batch-put-64-sync', mvccBatchPut, 'rocksdb', rawBatchPut));
    emit(compared('storage', 'batch-put-64-sync', mvccBatchPut, 'fsync-4k', fsync));
    emit({
      ...compared('storage', 'batch-put-64-sync', mvccBatchPutConcurrent, 'fsync-4k', fsync),
      clients: CONCURRENT_WRITERS,
      syncs_per_batch: round(concurrentSyncs / Math.max(1, mvccBatchPutConcurrent.ops)),
    });
    emit({ bench: 'storage', op: 'fsync', clients: 1, ops_per_sec: fsync.opsPerSec, p50_ms: fsync.p50Ms, p99_ms: fsync.p99Ms });

  } finally {
    await engine?.close();
    await raw?.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}
