import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RocksEngine } from './rocks-engine';
import { batchKey, batchSize, batchValue, doneKey } from './test-support/crash-writer';

const WRITER = path.join(__dirname, 'test-support', 'crash-writer.ts');

/** A small seeded PRNG (mulberry32), so a failing seed replays the same kill times. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Runs the writer until it has acknowledged `minAcks` more batches, then waits a
 * random time (so the kill lands anywhere in a write) and kills it with SIGKILL.
 * Returns the highest acknowledged batch number.
 */
function runAndKill(dir: string, first: number, minAcks: number, delayMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    // One process (tsx as a loader, not its CLI, which would run the writer in a
    // grandchild that SIGKILL does not reach).
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, String(first)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let lastAck = first - 1;
    let buffered = '';
    let stderr = '';
    let killScheduled = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        const match = /^ack (\d+)$/.exec(line);
        if (match !== null) {
          lastAck = Number(match[1]);
        }
      }
      if (!killScheduled && lastAck - first + 1 >= minAcks) {
        killScheduled = true;
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') {
        resolve(lastAck);
      } else {
        reject(new Error(`writer exited with ${code ?? signal} before the kill: ${stderr}`));
      }
    });
  });
}

/** Counts what the store holds of batch n: 'whole', 'absent', or a description of the damage. */
function batchState(engine: RocksEngine, n: number): 'whole' | 'absent' | string {
  const size = batchSize(n);
  const done = engine.get(doneKey(n));
  let present = 0;
  for (let i = 0; i < size; i++) {
    const value = engine.get(batchKey(n, i));
    if (value !== undefined) {
      if (!value.equals(batchValue(n, i))) {
        return `batch ${n} key ${i} has a wrong value`;
      }
      present++;
    }
  }
  if (done === undefined && present === 0) {
    return 'absent';
  }
  if (done?.toString() === String(size) && present === size) {
    return 'whole';
  }
  return `batch ${n} is partial: ${present}/${size} keys, marker ${done === undefined ? 'missing' : 'present'}`;
}

describe('RocksEngine crash safety', () => {
  const SEEDS = [1, 2, 3, 4, 5];

  it.each(SEEDS)('keeps every acknowledged synced batch, whole, across SIGKILL (seed %i)', async (seed) => {
    const random = prng(seed);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cairn-crash-${seed}-`));
    try {
      let next = 0;
      // Several kill-and-reopen rounds on the same store: recovery of a recovered store too.
      for (let round = 0; round < 3; round++) {
        const acked = await runAndKill(dir, next, 5 + Math.floor(random() * 40), Math.floor(random() * 25));
        const engine = await RocksEngine.open(dir);
        try {
          for (let n = 0; n <= acked; n++) {
            expect(batchState(engine, n)).toBe('whole');
          }
          // Batches after the last acknowledgement may or may not have landed, but never in part.
          let n = acked + 1;
          for (; n < acked + 64; n++) {
            const state = batchState(engine, n);
            if (state === 'absent') {
              break;
            }
            expect(state).toBe('whole');
          }
          // Nothing beyond the first absent batch exists.
          expect(batchState(engine, n + 1)).toBe('absent');
          next = n;
        } finally {
          await engine.close();
        }
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
