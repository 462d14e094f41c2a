import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeEngineCompliance } from './engine.compliance';
import { RocksEngine } from './rocks-engine';
import { useTempDirs } from './test-support/temp-stores';

const tempDir = useTempDirs('cairn-engine');

describeEngineCompliance('RocksEngine', async (limits) =>
  RocksEngine.open(path.join(tempDir(), 'store'), limits === undefined ? {} : { limits }),
);

describe('RocksEngine open', () => {
  async function storeWithData(): Promise<string> {
    const dir = path.join(tempDir(), 'store');
    const engine = await RocksEngine.open(dir);
    const batch = engine.newBatch();
    batch.put(Buffer.from('key'), Buffer.from('value'));
    await engine.write(batch, { sync: true });
    await engine.close();
    return dir;
  }

  it('reopens a store with its data', async () => {
    const dir = await storeWithData();
    const engine = await RocksEngine.open(dir);
    expect(engine.get(Buffer.from('key'))?.toString()).toBe('value');
    await engine.close();
  });

  it('refuses a store whose CURRENT file is corrupt', async () => {
    const dir = await storeWithData();
    fs.writeFileSync(path.join(dir, 'CURRENT'), 'not a manifest name\n');
    await expect(RocksEngine.open(dir)).rejects.toMatchObject({
      code: 'STORAGE_CORRUPTION',
      message: expect.stringContaining('Corruption'),
    });
  });

  it('refuses a store whose manifest is corrupt', async () => {
    const dir = await storeWithData();
    for (const file of fs.readdirSync(dir).filter((f) => f.startsWith('MANIFEST-'))) {
      fs.writeFileSync(path.join(dir, file), Buffer.alloc(200, 0x5a));
    }
    await expect(RocksEngine.open(dir)).rejects.toMatchObject({ code: 'STORAGE_CORRUPTION' });
  });

  it('refuses a store that another engine of this process holds', async () => {
    const dir = await storeWithData();
    const first = await RocksEngine.open(dir);
    try {
      await expect(RocksEngine.open(dir)).rejects.toMatchObject({
        code: 'STORAGE_LOCKED',
        message: expect.stringContaining(dir),
      });
    } finally {
      await first.close();
    }
  });

  it('refuses a store that another process holds', async () => {
    const dir = await storeWithData();
    const holder = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'test-support', 'lock-holder.ts'), dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('open')) {
            resolve();
          }
        });
        holder.on('exit', (code) => reject(new Error(`lock holder exited with ${code}`)));
      });
      await expect(RocksEngine.open(dir)).rejects.toMatchObject({ code: 'STORAGE_LOCKED' });
    } finally {
      holder.kill('SIGKILL');
      await new Promise((resolve) => holder.once('exit', resolve));
    }
    // Once the holder is gone, the store opens.
    const engine = await RocksEngine.open(dir);
    expect(engine.get(Buffer.from('key'))?.toString()).toBe('value');
    await engine.close();
  });

  it('refuses a path that is a file, or a missing folder when told not to create', async () => {
    const file = path.join(tempDir(), 'file');
    fs.writeFileSync(file, 'x');
    await expect(RocksEngine.open(file)).rejects.toMatchObject({
      code: 'STORAGE_IO',
      message: expect.stringContaining('not a directory'),
    });
    await expect(RocksEngine.open(path.join(tempDir(), 'missing'), { createIfMissing: false })).rejects.toMatchObject({
      code: 'STORAGE_IO',
      message: expect.stringContaining('no such directory'),
    });
  });
});

describe('RocksEngine storage stats', () => {
  it('show what is in the memtables, and in SST files once they are flushed', async () => {
    const dir = path.join(tempDir(), 'store');
    let engine = await RocksEngine.open(dir);
    const empty = engine.storageStats();
    expect(empty).toMatchObject({ sstBytes: 0, level0Files: 0, writesStopped: false, delayedWriteBytesPerSecond: 0 });
    const batch = engine.newBatch();
    const value = Buffer.alloc(1024, 7);
    for (let i = 0; i < 2048; i++) batch.put(Buffer.from(`key-${i}`), value);
    await engine.write(batch);
    const written = engine.storageStats();
    expect(written.memtableBytes).toBeGreaterThan(empty.memtableBytes + 2 * 1024 * 1024);
    expect(written.pendingCompactionBytes).toBeGreaterThanOrEqual(0);
    expect(written.runningCompactions).toBeGreaterThanOrEqual(0);
    await engine.close();
    // Reopening replays the WAL into a memtable and flushes it to level 0.
    engine = await RocksEngine.open(dir);
    const reopened = engine.storageStats();
    expect(reopened.sstBytes).toBeGreaterThan(2 * 1024 * 1024);
    expect(reopened.level0Files).toBeGreaterThanOrEqual(1);
    await engine.close();
    expect(() => engine.storageStats()).toThrow();
  });
});

describe('RocksEngine synced writes', () => {
  it('keep the process alive until durable, and do not keep an idle process alive', async () => {
    const dir = path.join(tempDir(), 'store');
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'test-support', 'sync-and-exit.ts'), dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
      child.once('exit', (c, s) => resolve([c, s])),
    );
    clearTimeout(killer);
    expect(out).toBe('synced\n');
    expect([code, signal]).toEqual([0, null]);
    const engine = await RocksEngine.open(dir);
    expect(engine.get(Buffer.from('key'))?.toString()).toBe('value');
    await engine.close();
  });
});

describe('RocksEngine snapshots and checkpoints', () => {
  function keyOf(i: number): Buffer {
    return Buffer.from(`k/${String(i).padStart(6, '0')}`);
  }

  it('scans a snapshot consistently while writes interleave with the scan', async () => {
    const engine = await RocksEngine.open(path.join(tempDir(), 'store'));
    const batch = engine.newBatch();
    for (let i = 0; i < 2000; i++) {
      batch.put(keyOf(i), Buffer.from('before'));
    }
    await engine.write(batch);
    const snapshot = engine.snapshot();
    const cursor = snapshot.cursor({ expectedEntries: 100 });
    let seen = 0;
    cursor.seek(keyOf(0));
    while (cursor.valid()) {
      expect(cursor.value().toString()).toBe('before');
      seen++;
      cursor.next();
      if (seen % 100 === 0) {
        // Overwrite, delete and add keys, including ones the scan has not reached.
        const writes = engine.newBatch();
        writes.put(keyOf(seen + 50), Buffer.from('after'));
        writes.delete(keyOf(seen + 60));
        writes.put(Buffer.concat([keyOf(seen + 70), Buffer.from('x')]), Buffer.from('after'));
        await engine.write(writes);
      }
    }
    cursor.close();
    snapshot.close();
    expect(seen).toBe(2000);
    await engine.close();
  });

  it('writes a checkpoint that opens as a store with exactly the data at its start', async () => {
    const engine = await RocksEngine.open(path.join(tempDir(), 'store'));
    const batch = engine.newBatch();
    for (let i = 0; i < 5000; i++) {
      batch.put(keyOf(i), Buffer.alloc(200, i & 0xff));
    }
    await engine.write(batch);
    const target = path.join(tempDir(), 'checkpoint');
    const progress: number[] = [];
    const checkpoint = engine.checkpoint(target, {
      chunkBytes: 64 * 1024,
      onProgress: (p) => progress.push(p.entries),
    });
    // Writes made while the checkpoint runs are not in it.
    const later = engine.newBatch();
    later.put(keyOf(99999), Buffer.from('later'));
    later.delete(keyOf(0));
    await engine.write(later);
    const result = await checkpoint;
    expect(result.entries).toBe(5000);
    expect(progress.length).toBeGreaterThan(5);
    expect(progress[progress.length - 1]).toBe(5000);
    await engine.close();

    const copy = await RocksEngine.open(target, { createIfMissing: false });
    expect(copy.get(keyOf(0))?.equals(Buffer.alloc(200, 0))).toBe(true);
    expect(copy.get(keyOf(4999))?.equals(Buffer.alloc(200, 4999 & 0xff))).toBe(true);
    expect(copy.get(keyOf(99999))).toBeUndefined();
    await copy.close();
    await expect(
      (async () => {
        const again = await RocksEngine.open(path.join(tempDir(), 'other'));
        try {
          await again.checkpoint(target);
        } finally {
          await again.close();
        }
      })(),
    ).rejects.toMatchObject({ code: 'STORAGE_IO', message: expect.stringContaining('not empty') });
  });
});
