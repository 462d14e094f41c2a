/**
 * BackendKeyData for each connection and the lookup a CancelRequest needs. The process
 * ID only has to be unique among live connections; the secret key is what makes a
 * cancel request legitimate, so it is random and compared in constant time.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { assert } from '../../common/errors';

export interface BackendKey {
  readonly processId: number;
  readonly secretKey: number;
}

const MAX_PROCESS_ID = 0x7fff_ffff;

/** The process IDs a registry hands out, both ends included. */
export interface ProcessIdRange {
  readonly first: number;
  readonly last: number;
}

export const ALL_PROCESS_IDS: ProcessIdRange = { first: 1, last: MAX_PROCESS_ID };

/**
 * The share of process IDs of worker `index` of `workers` (a gateway serving from
 * several processes): disjoint ranges, so that the ID in a CancelRequest names the
 * worker that holds the session.
 */
export function workerProcessIds(index: number, workers: number): ProcessIdRange {
  assert(Number.isInteger(workers) && workers >= 1 && Number.isInteger(index) && index >= 0 && index < workers, `no worker ${index} of ${workers}`);
  const size = Math.floor(MAX_PROCESS_ID / workers);
  return { first: index * size + 1, last: (index + 1) * size };
}

/** The worker whose share `workerProcessIds` put `processId` in; undefined outside them all. */
export function workerOfProcessId(processId: number, workers: number): number | undefined {
  if (!Number.isInteger(processId) || processId < 1) return undefined;
  const index = Math.floor((processId - 1) / Math.floor(MAX_PROCESS_ID / workers));
  return index < workers ? index : undefined;
}

export class BackendKeyRegistry<T> {
  private readonly entries = new Map<number, { readonly secret: Buffer; owner: T | undefined }>();
  private nextProcessId: number;

  /** `random` is injectable for tests; production uses crypto.randomBytes. */
  constructor(
    private readonly random: (bytes: number) => Buffer = randomBytes,
    private readonly range: ProcessIdRange = ALL_PROCESS_IDS,
  ) {
    assert(Number.isInteger(range.first) && Number.isInteger(range.last) && range.first >= 1 && range.first <= range.last && range.last <= MAX_PROCESS_ID, 'bad process ID range');
    this.nextProcessId = range.first;
  }

  /** Whether `processId` is one this registry would hand out. */
  owns(processId: number): boolean {
    return processId >= this.range.first && processId <= this.range.last;
  }

  get size(): number {
    return this.entries.size;
  }

  /** A new key, unique among the live ones; `attach` names its owner. */
  allocate(): BackendKey {
    assert(this.entries.size <= this.range.last - this.range.first, 'no free backend process IDs');
    while (this.entries.has(this.nextProcessId)) {
      this.advance();
    }
    const processId = this.nextProcessId;
    this.advance();
    const secret = Buffer.from(this.random(4));
    assert(secret.length === 4, 'backend key random source must return 4 bytes');
    this.entries.set(processId, { secret, owner: undefined });
    return { processId, secretKey: secret.readInt32BE(0) };
  }

  attach(key: BackendKey, owner: T): void {
    const entry = this.entries.get(key.processId);
    assert(entry !== undefined, `backend key ${key.processId} is not allocated`);
    entry.owner = owner;
  }

  release(key: BackendKey): void {
    this.entries.delete(key.processId);
  }

  /** The owner of the key, or undefined (unknown process ID or wrong secret). */
  find(processId: number, secretKey: number): T | undefined {
    const entry = this.entries.get(processId);
    if (entry === undefined) {
      return undefined;
    }
    const given = Buffer.alloc(4);
    given.writeInt32BE(secretKey | 0, 0);
    return timingSafeEqual(given, entry.secret) ? entry.owner : undefined;
  }

  private advance(): void {
    this.nextProcessId = this.nextProcessId >= this.range.last ? this.range.first : this.nextProcessId + 1;
  }
}
