import { createHash } from 'node:crypto';
import type { Timestamp } from '../../../common/hlc';
import { formatTimestamp, HybridLogicalClock } from '../../../common/hlc';
import { KEY_MAX, KEY_MIN, META_END, rangeMetaKey } from '../../../common/keys';
import type { Txn } from '../../../kv';
import {
  AmbiguousResultError,
  DistSender,
  KvClient,
  TransactionAbortedError,
  TransactionRetryError,
  TransactionUncertaintyError,
} from '../../../kv';
import { TXN_EXPIRY_MS } from '../../../kv/transaction';
import * as kvpb from '../../../proto/gen/cairn/kv/v1/kv';
import { Prng } from '../../../node/raft/sim/prng';
import { lockTableKey, MemoryEngine, mvccPut, versionPrefix } from '../../../node/storage';
import { decodeVersionValue, entryTimestamp, entryVersionValue } from '../../../node/storage/mvcc-value';
import type { Attempt, CheckSummary, Version } from './history';
import { checkHistory, History, HistoryViolation, INITIAL, sortVersions, valueOf, writerOf } from './history';
import type { SimProcess } from './sim-network';
import { SimNetwork } from './sim-network';
import { SimNode, SimRange } from './sim-node';
import { VIRTUAL_EPOCH_MS, VirtualScheduler } from './virtual-time';

/*
 * The transaction simulator (`npm run sim -- txn`): the real coordinator (Txn through
 * KvClient and DistSender) against the real evaluation, latches, timestamp cache and
 * wait-queues (test/sim/txn/sim-node.ts), over a simulated network, in virtual time.
 * Three nodes, a meta range and three user ranges over 6–10 keys; 4–8 clients run
 * read-modify-write transactions, read-only scans, explicit transactions (some rolled
 * back) and transactions whose coordinator crashes (heartbeats stop; sometimes with
 * the commit in flight). Leases move between the nodes; 1% of batch answers are lost
 * after the node served the batch (a broken stream); every process's clock is off
 * true time by up to ±125 ms (so any two differ by up to the 250 ms maximum).
 *
 * The `contended` workload instead runs no faults and 16 clients moving values between
 * two keys each (half of them locking what they read): waits on waits, deadlocks of
 * any length, commits that wait for locks. It measures how long operations take.
 *
 * Safety phase: the workload for `workloadMs`. Liveness phase: no more faults; every
 * client's last operation must end, and after the abandoned transactions expired one
 * more transaction reads and writes every key (pushing and cleaning up what is left).
 * Then the versions in the engines and the history go to the checker (history.ts).
 */

export interface TxnSimOptions {
  readonly seed: number;
  /** Virtual milliseconds of workload (default 8 000). */
  readonly workloadMs?: number;
  /** Receives a line per batch served and per attempt begun (for replaying a failed seed). */
  readonly trace?: (line: string) => void;
  /**
   * `mixed` (default): the workload and faults above. `contended`: no faults; 16
   * clients move values between two random keys, half locking what they read.
   */
  readonly workload?: 'mixed' | 'contended';
}

export interface TxnSimResult {
  readonly seed: number;
  readonly keys: number;
  readonly clients: number;
  readonly summary: CheckSummary;
  readonly leaseTransfers: number;
  readonly coordinatorCrashes: number;
  readonly retries: number;
  readonly messages: number;
  /** Batch answers lost after the node served the batch. */
  readonly answersLost: number;
  readonly events: number;
  readonly virtualMs: number;
  /** How attempts that did not commit ended, by reason (first words of the note). */
  readonly endings: Record<string, number>;
  /** Intents still in place after the final transaction and its cleanup. */
  readonly leftoverIntents: number;
  /** Virtual milliseconds from an operation's start to its end, committed ones, sorted. */
  readonly commitLatenciesMs: readonly number[];
  /** A hash of the whole history and final state: equal for equal seeds. */
  readonly fingerprint: string;
}

export class TxnSimViolationError extends Error {
  constructor(
    readonly seed: number,
    message: string,
  ) {
    super(`txn sim seed ${seed}: ${message}`);
  }
}

const MAX_OFFSET_NANOS = 250_000_000n;
const LIVENESS_LIMIT_MS = 60_000;
/** Mixed into the seed for the stream that decides which answers are lost. */
const ANSWER_LOSS_SALT = 0x5a17_1055;

export async function runTxnSim(options: TxnSimOptions): Promise<TxnSimResult> {
  const sim = new TxnSim(options);
  return sim.run();
}

class TxnSim {
  private readonly seed: number;
  private readonly workloadMs: number;
  private readonly trace: ((line: string) => void) | undefined;
  private readonly contended: boolean;
  private readonly commitLatenciesMs: number[] = [];
  private readonly rand: Prng;
  private readonly scheduler: VirtualScheduler;
  private readonly history = new History();
  private readonly keys: string[];
  private readonly nodes = new Map<string, SimNode>();
  private readonly ranges: SimRange[] = [];
  private network!: SimNetwork;
  private nodeDescriptors: kvpb.NodeDescriptor[] = [];
  private nextProcess = 1;
  private nextAttempt = 1;
  private leaseTransfers = 0;
  private coordinatorCrashes = 0;
  private retries = 0;
  private faultsOn = true;
  private leftoverIntents = 0;
  /** When each operation (its list of attempt IDs) started. */
  private readonly opStarts = new WeakMap<string[], number>();

  constructor(options: TxnSimOptions) {
    this.seed = options.seed;
    this.workloadMs = options.workloadMs ?? 8_000;
    this.trace = options.trace;
    this.contended = options.workload === 'contended';
    this.rand = new Prng(options.seed);
    this.scheduler = new VirtualScheduler(new Prng(this.rand.nextUint32()));
    const keyCount = this.rand.between(6, 10);
    this.keys = Array.from({ length: keyCount }, (_, i) => `k${i}`);
  }

  async run(): Promise<TxnSimResult> {
    this.scheduler.install();
    try {
      return await this.runInstalled();
    } catch (err) {
      if (err instanceof HistoryViolation) throw new TxnSimViolationError(this.seed, err.message);
      throw err;
    } finally {
      this.scheduler.clearAll();
      this.scheduler.uninstall();
    }
  }

  private async runInstalled(): Promise<TxnSimResult> {
    const netRand = new Prng(this.rand.nextUint32());
    const workRand = new Prng(this.rand.nextUint32());
    this.buildCluster(netRand);
    const clients = this.contended ? 16 : workRand.between(4, 8);
    const start = this.scheduler.nowMs;
    const workloadEnd = start + this.workloadMs;

    // Safety phase: clients and faults.
    let running = 0;
    for (let c = 0; c < clients; c++) {
      running++;
      void this.clientLoop(c, new Prng(workRand.nextUint32()), workloadEnd).finally(() => running--);
    }
    if (!this.contended) void this.faultLoop(new Prng(workRand.nextUint32()), workloadEnd);
    this.network.loseAnswers = !this.contended;
    const ended = await this.scheduler.run(() => running === 0, workloadEnd + LIVENESS_LIMIT_MS);
    if (!ended) {
      throw new TxnSimViolationError(this.seed, `liveness: ${running} client(s) still in an operation ${LIVENESS_LIMIT_MS} ms after the workload ended`);
    }

    // Liveness phase: no faults; abandoned transactions expire; one transaction touches every key.
    this.faultsOn = false;
    this.network.loseAnswers = false;
    await this.sleepVirtual(TXN_EXPIRY_MS + 1_000);
    const finalClient = this.newProcess('final');
    const kv = this.clientKv(finalClient, netRand);
    let finished = false;
    let finalError: unknown;
    const attemptIds: string[] = [];
    void kv
      .txn(async (txn) => {
        const attempt = this.beginAttempt('final', 'final', attemptIds, txn);
        const { rows } = await txn.scan(Buffer.from(this.keys[0] as string), Buffer.from(`${this.keys[this.keys.length - 1]}\x00`));
        for (const row of rows) this.recordRead(attempt, row.key.toString(), row.value);
        for (const key of this.keys) await this.write(txn, attempt, key);
        attempt.bodyDone = true;
        return txn;
      })
      .then(
        (txn) => this.finishCommitted(attemptIds, txn),
        (err: unknown) => {
          finalError = err;
        },
      )
      .finally(() => {
        finished = true;
      });
    const finalDone = await this.scheduler.run(() => finished, this.scheduler.nowMs + LIVENESS_LIMIT_MS);
    if (!finalDone || finalError !== undefined) {
      throw new TxnSimViolationError(
        this.seed,
        `liveness: the final transaction over every key ${finalDone ? `failed: ${String(finalError)}` : 'did not finish'}`,
      );
    }
    // Background resolution of the final transaction's intents.
    await this.sleepVirtual(3_000);

    const versions = this.collectVersions();
    for (const attempt of this.history.attempts.values()) {
      if (attempt.status === 'running') attempt.status = attempt.bodyDone ? 'ambiguous' : 'abandoned';
    }
    const summary = checkHistory(this.history, versions);
    const virtualMs = this.scheduler.nowMs - start;
    const endings: Record<string, number> = {};
    for (const a of this.history.attempts.values()) {
      if (a.status === 'committed') continue;
      const reason = `${a.status}: ${a.note.trim().split(/[:(]/)[0]?.trim() ?? ''}`;
      endings[reason] = (endings[reason] ?? 0) + 1;
    }
    return {
      seed: this.seed,
      keys: this.keys.length,
      clients,
      summary,
      leaseTransfers: this.leaseTransfers,
      coordinatorCrashes: this.coordinatorCrashes,
      retries: this.retries,
      messages: this.network.messages.sent,
      answersLost: this.network.messages.answersLost,
      events: this.scheduler.events,
      virtualMs,
      endings,
      leftoverIntents: this.leftoverIntents,
      commitLatenciesMs: [...this.commitLatenciesMs].sort((a, b) => a - b),
      fingerprint: this.fingerprint(versions),
    };
  }

  // ---------------------------------------------------------------------------------
  // The cluster

  private newProcess(name: string): SimProcess {
    // Offsets in [-125, +125] ms: any two clocks differ by at most the maximum offset.
    const offsetMicros = this.rand.between(-125_000, 125_000);
    const scheduler = this.scheduler;
    const physicalNanos = (): bigint => BigInt(Math.round(scheduler.nowMs * 1000) + offsetMicros) * 1000n;
    return {
      name: `${name}#${this.nextProcess++}`,
      clock: new HybridLogicalClock({ nowNanos: physicalNanos }, MAX_OFFSET_NANOS),
      physicalMs: () => Number(physicalNanos() / 1_000_000n),
      crashed: false,
    };
  }

  private buildCluster(netRand: Prng): void {
    const n = this.keys.length;
    const split1 = Buffer.from(this.keys[Math.floor(n / 3)] as string);
    const split2 = Buffer.from(this.keys[Math.floor((2 * n) / 3)] as string);
    const bounds = [KEY_MIN, META_END, split1, split2, KEY_MAX];
    const replicas = [1, 2, 3].map((id) => ({ nodeId: BigInt(id), type: kvpb.ReplicaType.REPLICA_TYPE_VOTER }));
    const events = {
      onApplied: (_range: SimRange, highest: Timestamp) => {
        // Every replica applies the command, and its clock moves past the command's timestamp.
        for (const node of this.nodes.values()) {
          try {
            node.clock.update(highest);
          } catch {
            // Beyond the offset: Replica.apply warns and goes on.
          }
        }
      },
    };
    const setupTs: Timestamp = { wallTime: BigInt(VIRTUAL_EPOCH_MS - 60_000) * 1_000_000n, logical: 0 };
    for (let i = 0; i + 1 < bounds.length; i++) {
      const desc: kvpb.RangeDescriptor = {
        rangeId: BigInt(i + 1),
        startKey: bounds[i] as Buffer,
        endKey: bounds[i + 1] as Buffer,
        replicas: replicas.map((r) => ({ ...r })),
        generation: 1n,
      };
      const raftDelay = (): number => 0.5 + netRand.float() * 4;
      this.ranges.push(new SimRange(desc, new MemoryEngine(), this.rand.between(1, 3), raftDelay, events));
    }
    const meta = this.ranges[0] as SimRange;
    for (const range of this.ranges) {
      const record = Buffer.from(kvpb.RangeDescriptor.encode(range.desc).finish());
      this.putCommitted(meta, rangeMetaKey(range.desc.endKey), record, setupTs);
    }
    for (const key of this.keys) {
      this.putCommitted(this.rangeOf(key), Buffer.from(key), Buffer.from(valueOf(INITIAL, key)), setupTs);
    }
    const addresses = new Map<number, string>();
    for (const id of [1, 2, 3]) addresses.set(id, `n${id}:26258`);
    this.nodeDescriptors = [1, 2, 3].map((id) => ({ nodeId: BigInt(id), address: addresses.get(id) as string, httpAddress: '', locality: [] }));
    const directory = (id: number): kvpb.NodeDescriptor | undefined => this.nodeDescriptors.find((d) => Number(d.nodeId) === id);
    const nodeProcesses: SimProcess[] = [];
    for (const id of [1, 2, 3]) {
      const proc = this.newProcess(`n${id}`);
      nodeProcesses.push(proc);
      const node = new SimNode(id, proc.clock, proc.physicalMs, this.ranges, directory, this.trace === undefined ? undefined : (line) => this.traceLine(line));
      this.nodes.set(node.address, node);
    }
    this.network = new SimNetwork(
      netRand,
      this.nodes,
      (nodeId) => ({
        clusterId: 'txn-sim',
        nodeId: BigInt(nodeId),
        firstRange: meta.desc,
        nodes: this.nodeDescriptors,
      }),
      new Prng((this.seed ^ ANSWER_LOSS_SALT) >>> 0),
    );
    [...this.nodes.values()].forEach((node, i) => node.attachKv(this.clientKv(nodeProcesses[i] as SimProcess, netRand)));
  }

  private traceLine(line: string): void {
    this.trace?.(`${(this.scheduler.nowMs - VIRTUAL_EPOCH_MS).toFixed(3).padStart(10)} ${line}`);
  }

  private putCommitted(range: SimRange, key: Buffer, value: Buffer, ts: Timestamp): void {
    const batch = range.engine.newBatch();
    mvccPut(range.engine, batch, key, ts, value);
    void range.engine.write(batch);
  }

  private rangeOf(key: string): SimRange {
    const k = Buffer.from(key);
    const range = this.ranges.find((r) => Buffer.compare(r.desc.startKey, k) <= 0 && Buffer.compare(k, r.desc.endKey) < 0);
    if (range === undefined) throw new Error(`no range holds ${key}`);
    return range;
  }

  private clientKv(proc: SimProcess, netRand: Prng): KvClient {
    const sender = new DistSender({
      transport: this.network.transport(proc),
      bootstrapAddresses: this.nodeDescriptors.map((d) => d.address),
      now: proc.physicalMs,
      random: () => netRand.float(),
    });
    return KvClient.fromDistSender(sender, proc.clock);
  }

  private sleepVirtual(ms: number): Promise<void> {
    let done = false;
    setTimeout(() => {
      done = true;
    }, ms);
    return this.scheduler.run(() => done, this.scheduler.nowMs + ms + 1).then(() => undefined);
  }

  // ---------------------------------------------------------------------------------
  // Faults

  private async faultLoop(rand: Prng, until: number): Promise<void> {
    while (this.faultsOn && this.scheduler.nowMs < until) {
      await sleep(rand.between(200, 2_000));
      if (!this.faultsOn) return;
      // User ranges mostly; now and then the meta range.
      const range = rand.chance(0.1) ? (this.ranges[0] as SimRange) : rand.pick(this.ranges.slice(1));
      const target = rand.pick([1, 2, 3].filter((id) => id !== range.leader));
      const old = [...this.nodes.values()].find((n) => n.nodeId === range.leader);
      this.leaseTransfers++;
      range.transferLease(target, rand.between(0, 150), () => undefined);
      // The old leaseholder's waiters retry and are sent to the new one (Replica.onSoftState).
      old?.server(range).releaseWaiters();
    }
  }

  // ---------------------------------------------------------------------------------
  // Workload

  private async clientLoop(index: number, rand: Prng, until: number): Promise<void> {
    const netRand = new Prng(rand.nextUint32());
    let proc = this.newProcess(`c${index}`);
    let kv = this.clientKv(proc, netRand);
    let op = 0;
    while (this.scheduler.nowMs < until) {
      const label = `c${index}.${op++}`;
      const p = rand.float();
      const crashed = new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (proc.crashed) {
            clearInterval(check);
            resolve();
          }
        }, 5);
        void this.runOp(p, label, proc, kv, rand)
          .catch(() => undefined)
          .finally(() => {
            clearInterval(check);
            resolve();
          });
      });
      await crashed;
      if (proc.crashed) {
        // The coordinator is gone for good; a new one takes its place.
        this.coordinatorCrashes++;
        for (const attempt of this.history.attempts.values()) {
          if (attempt.status === 'running' && attempt.id.startsWith(`${label}.`)) {
            attempt.status = attempt.bodyDone ? 'ambiguous' : 'abandoned';
            attempt.note += ' coordinator crashed';
          }
        }
        proc = this.newProcess(`c${index}`);
        kv = this.clientKv(proc, netRand);
      }
      await sleep(rand.between(0, 40));
    }
  }

  private runOp(p: number, label: string, proc: SimProcess, kv: KvClient, rand: Prng): Promise<void> {
    if (this.contended) return this.transfer(label, kv, rand);
    if (p < 0.55) return this.readModifyWrite(label, proc, kv, rand, false);
    if (p < 0.7) return this.readOnlyScan(label, kv, rand);
    if (p < 0.82) return this.explicitTxn(label, kv, rand);
    if (p < 0.91) return this.abandoned(label, proc, kv, rand);
    return this.readModifyWrite(label, proc, kv, rand, true);
  }

  /** kv.txn: read some keys, write some of them (and maybe another); `crash` crashes the coordinator with the commit in flight. */
  private async readModifyWrite(label: string, proc: SimProcess, kv: KvClient, rand: Prng, crash: boolean): Promise<void> {
    const reads = this.pickKeys(rand, rand.between(1, 3));
    const writes = reads.filter(() => rand.chance(0.7));
    if (writes.length === 0 || rand.chance(0.2)) writes.push(...this.pickKeys(rand, 1).filter((k) => !writes.includes(k)));
    const batched = rand.chance(0.5);
    const withScan = rand.chance(0.15);
    const attemptIds: string[] = [];
    try {
      const txn = await kv.txn(
        async (txn) => {
          const attempt = this.beginAttempt(label, crash ? 'rmw-crash' : 'rmw', attemptIds, txn);
          if (withScan) await this.scanInto(txn, attempt, rand);
          if (batched) {
            const values = await txn.getMany(reads.map((k) => Buffer.from(k)));
            reads.forEach((k, i) => this.recordRead(attempt, k, values[i]));
          } else {
            for (const k of reads) this.recordRead(attempt, k, await txn.get(Buffer.from(k)));
          }
          for (const k of writes) await this.write(txn, attempt, k);
          attempt.bodyDone = true;
          if (crash) {
            setTimeout(() => {
              proc.crashed = true;
            }, rand.between(0, 25));
          }
          return txn;
        },
        { onRetry: () => this.retries++ },
      );
      this.finishCommitted(attemptIds, txn);
    } catch (err) {
      this.finishFailed(attemptIds, err);
    }
  }

  /** Reads two keys (locking them, half the time) and writes both: a bank transfer. */
  private transfer(label: string, kv: KvClient, rand: Prng): Promise<void> {
    const keys = this.pickKeys(rand, 2);
    const forUpdate = rand.chance(0.5);
    return this.recordedTxn(label, forUpdate ? 'transfer-locking' : 'transfer', kv, async (txn, attempt) => {
      const values = await txn.getMany(keys.map((k) => Buffer.from(k)), { forUpdate });
      keys.forEach((k, i) => this.recordRead(attempt, k, values[i]));
      for (const k of keys) await this.write(txn, attempt, k);
    });
  }

  private readOnlyScan(label: string, kv: KvClient, rand: Prng): Promise<void> {
    return this.recordedTxn(label, 'scan', kv, (txn, attempt) => this.scanInto(txn, attempt, rand));
  }

  /** kv.txn running `body`, each attempt of it recorded in the history. */
  private async recordedTxn(label: string, kind: string, kv: KvClient, body: (txn: Txn, attempt: Attempt) => Promise<void>): Promise<void> {
    const attemptIds: string[] = [];
    try {
      const txn = await kv.txn(
        async (txn) => {
          const attempt = this.beginAttempt(label, kind, attemptIds, txn);
          await body(txn, attempt);
          attempt.bodyDone = true;
          return txn;
        },
        { onRetry: () => this.retries++ },
      );
      this.finishCommitted(attemptIds, txn);
    } catch (err) {
      this.finishFailed(attemptIds, err);
    }
  }

  /** beginTxn, reads and writes, then commit (or, now and then, roll back); no retries. */
  private async explicitTxn(label: string, kv: KvClient, rand: Prng): Promise<void> {
    const attemptIds: string[] = [];
    const txn = kv.beginTxn(rand.chance(0.2) ? { priority: rand.pick(['low', 'high'] as const) } : {});
    const attempt = this.beginAttempt(label, 'explicit', attemptIds, txn);
    try {
      for (const k of this.pickKeys(rand, rand.between(1, 3))) this.recordRead(attempt, k, await txn.get(Buffer.from(k)));
      for (const k of this.pickKeys(rand, rand.between(1, 2))) await this.write(txn, attempt, k);
      if (rand.chance(0.15)) {
        attempt.status = 'failed';
        attempt.note = 'rolled back';
        await txn.rollback();
        return;
      }
      attempt.bodyDone = true;
      await txn.commit();
      this.finishCommitted(attemptIds, txn);
    } catch (err) {
      this.finishFailed(attemptIds, err);
      if (txn.status === 'pending') await txn.rollback().catch(() => undefined);
    }
  }

  /** beginTxn, intents written (a read of a written key flushes them), then the coordinator crashes. */
  private async abandoned(label: string, proc: SimProcess, kv: KvClient, rand: Prng): Promise<void> {
    const attemptIds: string[] = [];
    const txn = kv.beginTxn();
    const attempt = this.beginAttempt(label, 'abandoned', attemptIds, txn);
    const keys = this.pickKeys(rand, rand.between(1, 3));
    setTimeout(() => {
      proc.crashed = true;
    }, rand.between(1, 300));
    try {
      for (const k of keys) await this.write(txn, attempt, k);
      this.recordRead(attempt, keys[0] as string, await txn.get(Buffer.from(keys[0] as string)));
      await txn.get(Buffer.from(rand.pick(this.keys)));
      // Still alive: hang on until the crash (the transaction is never finished).
      await new Promise<void>(() => undefined);
    } catch (err) {
      this.finishFailed(attemptIds, err);
      if (txn.status === 'pending') await txn.rollback().catch(() => undefined);
    }
  }

  private async scanInto(txn: Txn, attempt: Attempt, rand: Prng): Promise<void> {
    const from = rand.int(this.keys.length);
    const to = rand.between(from, this.keys.length - 1);
    const { rows } = await txn.scan(Buffer.from(this.keys[from] as string), Buffer.from(`${this.keys[to]}\x00`));
    const seen = new Set<string>();
    for (const row of rows) {
      seen.add(row.key.toString());
      this.recordRead(attempt, row.key.toString(), row.value);
    }
    for (let i = from; i <= to; i++) {
      const key = this.keys[i] as string;
      if (!seen.has(key)) this.recordRead(attempt, key, undefined);
    }
  }

  private async write(txn: Txn, attempt: Attempt, key: string): Promise<void> {
    const value = valueOf(attempt.id, key);
    attempt.writes.set(key, value);
    await txn.put(Buffer.from(key), Buffer.from(value));
  }

  private recordRead(attempt: Attempt, key: string, value: Buffer | undefined): void {
    const v = value?.toString();
    if (v !== undefined && writerOf(v) === attempt.id) return;
    if (attempt.writes.has(key)) return;
    if (!attempt.reads.has(key)) attempt.reads.set(key, v);
  }

  private pickKeys(rand: Prng, n: number): string[] {
    return rand.shuffle([...this.keys]).slice(0, n);
  }

  private beginAttempt(label: string, kind: string, attemptIds: string[], txn?: Txn): Attempt {
    const previous = attemptIds[attemptIds.length - 1];
    if (previous !== undefined) {
      const a = this.history.attempts.get(previous);
      if (a !== undefined && a.status === 'running') {
        a.status = 'failed';
        a.note = 'retried';
      }
    }
    const id = `${label}.${this.nextAttempt++}`;
    attemptIds.push(id);
    const opStart = this.opStarts.get(attemptIds) ?? this.scheduler.nowMs;
    this.opStarts.set(attemptIds, opStart);
    if (this.trace !== undefined) {
      this.traceLine(`attempt ${id} [${kind}] txn ${txn === undefined ? '-' : txn.txnId.toString('hex').slice(0, 8)} read ts ${txn === undefined ? '-' : formatTimestamp(txn.readTimestamp)}`);
    }
    return this.history.begin(id, kind, opStart);
  }

  private finishCommitted(attemptIds: readonly string[], txn: Txn): void {
    const a = this.history.attempts.get(attemptIds[attemptIds.length - 1] ?? '');
    if (a === undefined || a.status !== 'running') return;
    a.status = 'committed';
    a.commitTs = txn.commitTimestamp;
    a.ackMs = this.scheduler.nowMs;
    this.commitLatenciesMs.push(this.scheduler.nowMs - (this.opStarts.get(attemptIds as string[]) ?? this.scheduler.nowMs));
  }

  private finishFailed(attemptIds: readonly string[], err: unknown): void {
    const a = this.history.attempts.get(attemptIds[attemptIds.length - 1] ?? '');
    if (a === undefined || a.status !== 'running') return;
    const definite = err instanceof TransactionAbortedError || err instanceof TransactionRetryError || err instanceof TransactionUncertaintyError;
    a.status = a.bodyDone && !definite ? 'ambiguous' : 'failed';
    a.note = `${err instanceof AmbiguousResultError ? 'ambiguous result' : (err as Error)?.name}: ${(err as Error)?.message ?? String(err)}`;
  }

  // ---------------------------------------------------------------------------------
  // The end state

  /** Every committed version of every key, oldest first, read from the engines. */
  private collectVersions(): Map<string, Version[]> {
    const out = new Map<string, Version[]>();
    for (const key of this.keys) {
      const engine = this.rangeOf(key).engine;
      const prefix = versionPrefix(Buffer.from(key));
      const list: Version[] = [];
      const cursor = engine.cursor({ expectedEntries: 16 });
      try {
        for (cursor.seek(prefix); cursor.valid(); cursor.next()) {
          const raw = cursor.key();
          if (raw.length < prefix.length || !raw.subarray(0, prefix.length).equals(prefix)) break;
          const value = cursor.value();
          const ts = entryTimestamp(raw, value, prefix.length);
          const decoded = decodeVersionValue(entryVersionValue(raw, value, prefix.length));
          list.push({ ts, value: decoded?.toString() });
        }
      } finally {
        cursor.close();
      }
      if (engine.get(lockTableKey(Buffer.from(key))) !== undefined) {
        // An intent left after the final transaction: harmless only if it is not of a committed transaction.
        this.leftoverIntents++;
      }
      out.set(key, sortVersions(list));
    }
    return out;
  }


  private fingerprint(versions: ReadonlyMap<string, readonly Version[]>): string {
    const hash = createHash('sha256');
    for (const a of this.history.attempts.values()) {
      hash.update(`${a.id} ${a.status} ${a.commitTs === undefined ? '-' : formatTimestamp(a.commitTs)} `);
      hash.update(JSON.stringify([...a.reads]) + JSON.stringify([...a.writes]) + '\n');
    }
    for (const [key, list] of versions) {
      hash.update(`${key}: ${list.map((v) => `${formatTimestamp(v.ts)}=${v.value ?? '-'}`).join(',')}\n`);
    }
    hash.update(`events ${this.scheduler.events} leftover ${this.leftoverIntents}`);
    return hash.digest('hex').slice(0, 16);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
