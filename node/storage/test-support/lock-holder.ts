/** Child process that opens a store, says `open`, and holds it until killed. */
import { RocksEngine } from '../rocks-engine';

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (dir === undefined) {
    throw new Error('usage: lock-holder <dir>');
  }
  await RocksEngine.open(dir);
  process.stdout.write('open\n');
  setInterval(() => undefined, 1_000);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
