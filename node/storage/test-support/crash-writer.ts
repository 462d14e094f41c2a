/**
 * Child process of the crash-safety test: writes synced batches to a RocksEngine and
 * prints `ack <n>` after each write returns. The parent kills it with SIGKILL at a
 * moment of its choosing; every batch acknowledged before must survive, whole.
 *
 * Batch n puts `batch/<n>/<i>` for i < size(n) (size varies with n) and a marker
 * `done/<n>` whose value is the batch size, all in one write.
 */
import { RocksEngine } from '../rocks-engine';

export function batchSize(n: number): number {
  return 1 + ((n * 7919) % 48);
}

export function batchKey(n: number, i: number): Buffer {
  return Buffer.from(`batch/${String(n).padStart(8, '0')}/${String(i).padStart(4, '0')}`);
}

export function doneKey(n: number): Buffer {
  return Buffer.from(`done/${String(n).padStart(8, '0')}`);
}

export function batchValue(n: number, i: number): Buffer {
  // Values big enough that batches span more than one WAL block now and then.
  return Buffer.alloc(64 + ((n + i) % 512), (n + i) & 0xff);
}

async function main(): Promise<void> {
  const [dir, firstArg] = process.argv.slice(2);
  if (dir === undefined || firstArg === undefined) {
    throw new Error('usage: crash-writer <dir> <first-batch>');
  }
  const engine = await RocksEngine.open(dir);
  for (let n = Number(firstArg); ; n++) {
    const batch = engine.newBatch();
    const size = batchSize(n);
    for (let i = 0; i < size; i++) {
      batch.put(batchKey(n, i), batchValue(n, i));
    }
    batch.put(doneKey(n), Buffer.from(String(size)));
    await engine.write(batch, { sync: true });
    process.stdout.write(`ack ${n}\n`);
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
    process.exit(1);
  });
}
