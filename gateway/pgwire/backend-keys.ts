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

export class BackendKeyRegistry<T> {
  private readonly entries = new Map<number, { readonly secret: Buffer; owner: T | undefined }>();
  private nextProcessId = 1;

  /** `random` is injectable for tests; production uses crypto.randomBytes. */
  constructor(private readonly random: (bytes: number) => Buffer = randomBytes) {}

  get size(): number {
    return this.entries.size;
  }

  /** A new key, unique among the live ones; `attach` names its owner. */
  allocate(): BackendKey {
    assert(this.entries.size < MAX_PROCESS_ID, 'no free backend process IDs');
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
    this.nextProcessId = this.nextProcessId >= MAX_PROCESS_ID ? 1 : this.nextProcessId + 1;
  }
}
