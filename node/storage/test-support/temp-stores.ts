import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Engine } from '../engine';
import { MemoryEngine } from '../memory-engine';
import { RocksEngine } from '../rocks-engine';

/**
 * For a test file: a function that makes a fresh temporary folder, all of them
 * removed after the file's tests. Call it at the top level of the file.
 */
export function useTempDirs(prefix: string): () => string {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  return () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
    dirs.push(dir);
    return dir;
  };
}

/** Both engines, each opening a fresh store, for suites that must hold on either. */
export function bothEngines(tempDir: () => string): [string, () => Promise<Engine>][] {
  return [
    ['MemoryEngine', async () => new MemoryEngine()],
    ['RocksEngine', async () => RocksEngine.open(tempDir())],
  ];
}
