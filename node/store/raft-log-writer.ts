import type { RaftMetrics } from './raft-metrics';
import type { Engine, WriteBatch } from '../storage';

/** Adds one group's writes to a shared batch; returns what to do once it is durable. */
export type StageFn = (batch: WriteBatch) => (() => void) | void;

interface Pending {
  readonly stage: StageFn;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export interface RaftLogWriterOptions {
  /** A merged batch is written once it holds this many bytes (default 8 MiB). */
  readonly maxBatchBytes?: number;
  readonly metrics?: Pick<RaftMetrics, 'persistSeconds' | 'persistsPerSync'>;
}

export interface RaftLogWriterStats {
  /** Synced writes made. */
  readonly syncs: number;
  /** Persist requests served. */
  readonly persists: number;
}

/**
 * Group commit for the Raft logs of all groups on a node: every `persist` requested in
 * one turn of the event loop goes into one synced write, so one fsync makes the
 * appends of many groups durable. A request's promise resolves (and its in-memory
 * view moves) only after the write that holds it returned.
 */
export class RaftLogWriter {
  private queue: Pending[] = [];
  private scheduled = false;
  private syncs = 0;
  private persists = 0;
  private readonly maxBatchBytes: number;
  private readonly metrics: RaftLogWriterOptions['metrics'];

  constructor(
    private readonly engine: Engine,
    options: RaftLogWriterOptions = {},
  ) {
    this.maxBatchBytes = options.maxBatchBytes ?? 8 * 1024 * 1024;
    this.metrics = options.metrics;
  }

  /**
   * Adds `stage`'s writes to the next synced write. With `sync: false` (a change that
   * need not survive a crash, such as a new commit index alone), they are written at
   * once without an fsync.
   */
  persist(stage: StageFn, options: { readonly sync?: boolean } = {}): Promise<void> {
    if (options.sync === false) {
      return this.writeNow(stage);
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ stage, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private async writeNow(stage: StageFn): Promise<void> {
    const batch = this.engine.newBatch();
    const after = stage(batch);
    await this.engine.write(batch);
    this.persists++;
    after?.();
  }

  stats(): RaftLogWriterStats {
    return { syncs: this.syncs, persists: this.persists };
  }

  private flush(): void {
    this.scheduled = false;
    let pending = this.queue;
    this.queue = [];
    while (pending.length > 0) {
      // One batch for as many requests as fit; a request is never split across writes.
      let { batch, staged, afterWrite, failedAt } = this.stageSome(pending);
      while (failedAt !== undefined) {
        // The failed request may have left writes in the batch: reject it and stage
        // the others again into a fresh batch (staging only reads in-memory state,
        // which has not moved).
        const [failed] = pending.splice(failedAt.index, 1);
        failed?.reject(failedAt.error);
        ({ batch, staged, afterWrite, failedAt } = this.stageSome(pending));
      }
      const group = pending.slice(0, staged);
      pending = pending.slice(staged);
      this.writeGroup(batch, group, afterWrite);
    }
  }

  private stageSome(pending: readonly Pending[]): {
    batch: WriteBatch;
    staged: number;
    afterWrite: (() => void)[];
    failedAt: { index: number; error: unknown } | undefined;
  } {
    const batch = this.engine.newBatch();
    const afterWrite: (() => void)[] = [];
    let staged = 0;
    while (staged < pending.length && (staged === 0 || batch.byteSize < this.maxBatchBytes)) {
      try {
        const after = (pending[staged] as Pending).stage(batch);
        if (after !== undefined) {
          afterWrite.push(after);
        }
      } catch (error) {
        return { batch, staged, afterWrite, failedAt: { index: staged, error } };
      }
      staged++;
    }
    return { batch, staged, afterWrite, failedAt: undefined };
  }

  private writeGroup(batch: WriteBatch, group: readonly Pending[], afterWrite: readonly (() => void)[]): void {
    if (group.length === 0) {
      return;
    }
    const startedAt = process.hrtime.bigint();
    this.engine.write(batch, { sync: true }).then(
      () => {
        this.syncs++;
        this.persists += group.length;
        this.metrics?.persistSeconds.observe(Number(process.hrtime.bigint() - startedAt) / 1e9);
        this.metrics?.persistsPerSync.observe(group.length);
        for (const after of afterWrite) {
          after();
        }
        for (const p of group) {
          p.resolve();
        }
      },
      (err: unknown) => {
        for (const p of group) {
          p.reject(err);
        }
      },
    );
  }
}
