import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StorageIoError } from './errors';
import { RocksEngine } from './rocks-engine';
import type { SyncableFile, WalFileSystem } from './wal-syncer';
import { NODE_WAL_FILE_SYSTEM, WalSyncer } from './wal-syncer';

const DIR = '/db';

/** A directory whose files record what was done to them; datasync may be held back. */
class FakeDirectory implements WalFileSystem {
  names: string[] = ['CURRENT', 'LOCK', 'MANIFEST-000005', 'OPTIONS-000007'];
  readonly events: string[] = [];
  /** Names whose next open fails as if RocksDB had deleted the file meanwhile. */
  readonly vanishing = new Set<string>();
  failDatasync: Error | undefined;
  private held: (() => void)[] | undefined;

  async list(directory: string): Promise<string[]> {
    expect(directory).toBe(DIR);
    this.events.push('list');
    return [...this.names];
  }

  async open(file: string): Promise<SyncableFile> {
    const name = path.basename(file);
    if (this.vanishing.has(name)) {
      throw Object.assign(new Error(`ENOENT: no such file, open '${file}'`), { code: 'ENOENT' });
    }
    this.events.push(`open ${name}`);
    return {
      datasync: async () => {
        if (this.held !== undefined) await new Promise<void>((resolve) => this.held?.push(resolve));
        if (this.failDatasync !== undefined) throw this.failDatasync;
        this.events.push(`datasync ${name}`);
      },
      close: async () => {
        this.events.push(`close ${name}`);
      },
    };
  }

  async syncDirectory(directory: string): Promise<void> {
    expect(directory).toBe(DIR);
    this.events.push('sync directory');
  }

  holdDatasyncs(): void {
    this.held = [];
  }

  releaseDatasyncs(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const resolve of held) resolve();
  }

  /** What was done since the last call, listings left out unless asked for. */
  take(withListings = false): string[] {
    return this.events.splice(0).filter((event) => withListings || event !== 'list');
  }
}

/** Lets pending promise callbacks and thread-pool-free fakes run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** A syncer of a store with one WAL file, which it has synced once. */
async function syncedOnce(): Promise<{ dir: FakeDirectory; syncer: WalSyncer }> {
  const dir = new FakeDirectory();
  dir.names.push('000004.log');
  const syncer = new WalSyncer(DIR, dir);
  await syncer.sync();
  dir.take();
  return { dir, syncer };
}

describe('WalSyncer', () => {
  it('syncs the current WAL file each time, and a superseded one once more, then never', async () => {
    const dir = new FakeDirectory();
    dir.names.push('000004.log');
    const syncer = new WalSyncer(DIR, dir);

    await syncer.sync();
    // A file seen for the first time: its name is made durable too.
    expect(dir.take()).toEqual(['open 000004.log', 'datasync 000004.log', 'sync directory']);
    await syncer.sync();
    expect(dir.take()).toEqual(['datasync 000004.log']);

    // RocksDB switched to a new WAL: the old one may hold writes not yet synced.
    dir.names.push('000009.log');
    await syncer.sync();
    expect(dir.take().sort()).toEqual(['close 000004.log', 'datasync 000004.log', 'datasync 000009.log', 'open 000009.log', 'sync directory']);
    await syncer.sync();
    expect(dir.take()).toEqual(['datasync 000009.log']);
    expect(syncer.syncCount).toBe(4);
    await syncer.close();
    expect(dir.take()).toEqual(['close 000009.log']);
  });

  it('lists the directory again only once the WAL generation has moved', async () => {
    const dir = new FakeDirectory();
    dir.names.push('000004.log');
    let generation = 7;
    const syncer = new WalSyncer(DIR, dir, () => generation);
    await syncer.sync();
    expect(dir.take(true)).toEqual(['list', 'open 000004.log', 'datasync 000004.log', 'sync directory']);
    await syncer.sync();
    expect(dir.take(true)).toEqual(['datasync 000004.log']);

    // A memtable switch started a new WAL file and moved the generation.
    dir.names.push('000009.log');
    generation = 8;
    await syncer.sync();
    expect(dir.take(true).sort()).toEqual(['close 000004.log', 'datasync 000004.log', 'datasync 000009.log', 'list', 'open 000009.log', 'sync directory']);
    await syncer.sync();
    expect(dir.take(true)).toEqual(['datasync 000009.log']);
    await syncer.close();
  });

  it('orders WAL files by number, not by name', async () => {
    const dir = new FakeDirectory();
    dir.names.push('1000000.log', '999999.log');
    const syncer = new WalSyncer(DIR, dir);
    await syncer.sync();
    dir.take();
    await syncer.sync();
    // 999999 was superseded by 1000000: final after the first sync.
    expect(dir.take()).toEqual(['datasync 1000000.log']);
    await syncer.close();
  });

  it('lets go of a WAL file RocksDB deleted, before or after the listing', async () => {
    const { dir, syncer } = await syncedOnce();

    // Its memtable flushed, RocksDB deleted the file: nothing to sync in it any more.
    dir.names = dir.names.filter((name) => name !== '000004.log');
    dir.names.push('000011.log', '000012.log');
    dir.vanishing.add('000011.log');
    await syncer.sync();
    expect(dir.take()).toEqual(['close 000004.log', 'open 000012.log', 'datasync 000012.log', 'sync directory']);
    await syncer.close();
  });

  it('makes the calls that arrive during a sync share the next one', async () => {
    const dir = new FakeDirectory();
    dir.names.push('000004.log');
    const syncer = new WalSyncer(DIR, dir);
    dir.holdDatasyncs();
    let done = 0;
    const first = syncer.sync().then(() => done++);
    await settle();
    const later = [syncer.sync(), syncer.sync(), syncer.sync()].map((p) => p.then(() => done++));
    await settle();
    expect(done).toBe(0);

    dir.releaseDatasyncs();
    dir.holdDatasyncs();
    await first;
    await settle();
    // The later calls came after the first sync began: it may have missed their writes.
    expect(done).toBe(1);
    dir.releaseDatasyncs();
    await Promise.all(later);
    expect(done).toBe(4);
    expect(syncer.syncCount).toBe(2);
    await syncer.close();
  });

  it('fails the sync whose fsync failed, those waiting, and every later one', async () => {
    const { dir, syncer } = await syncedOnce();

    dir.failDatasync = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    dir.holdDatasyncs();
    const failing = syncer.sync();
    await settle();
    const waiting = syncer.sync();
    dir.releaseDatasyncs();
    await expect(failing).rejects.toThrow(StorageIoError);
    await expect(waiting).rejects.toThrow(/cannot sync the WAL of \/db: EIO/);

    // The disk may have dropped the pages while a retry reports success: never again.
    dir.failDatasync = undefined;
    await expect(syncer.sync()).rejects.toThrow(StorageIoError);
    expect(dir.take()).toEqual([]);
    await syncer.close();
  });

  it('syncs the WAL files of a real store', async () => {
    const location = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-wal-'));
    const engine = await RocksEngine.open(location);
    try {
      const synced: string[] = [];
      const syncer = new WalSyncer(location, {
        ...NODE_WAL_FILE_SYSTEM,
        open: async (file) => {
          const handle = await NODE_WAL_FILE_SYSTEM.open(file);
          return { datasync: () => handle.datasync().then(() => void synced.push(path.basename(file))), close: () => handle.close() };
        },
      });
      const batch = engine.newBatch();
      batch.put(Buffer.from([0x01, 0x61]), Buffer.from('value'));
      await engine.write(batch);
      await syncer.sync();
      const wals = fs.readdirSync(location).filter((name) => name.endsWith('.log'));
      expect(wals.length).toBeGreaterThan(0);
      expect(synced.sort()).toEqual(wals.sort());
      await syncer.close();
    } finally {
      await engine.close();
      fs.rmSync(location, { recursive: true, force: true });
    }
  });
});
