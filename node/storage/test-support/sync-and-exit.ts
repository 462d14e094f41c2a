/**
 * Child process of rocks-engine.test.ts: a synced write and nothing else. It must print
 * `synced` (the fsync thread kept the process alive until the write was durable) and
 * then exit by itself (the idle thread does not keep it alive).
 */
import { RocksEngine } from '../rocks-engine';

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (dir === undefined) {
    throw new Error('usage: sync-and-exit <dir>');
  }
  const engine = await RocksEngine.open(dir);
  const batch = engine.newBatch();
  batch.put(Buffer.from('key'), Buffer.from('value'));
  await engine.write(batch, { sync: true });
  process.stdout.write('synced\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
