import { LOCK_TABLE_PREFIX } from './mvcc-key';

/**
 * The set of raw lock table keys, kept in memory by the RocksDB engine so that a point
 * read of a key with no intent — nearly every read and write — costs no trip into
 * RocksDB. Intents belong to live transactions, so the set stays small; it is loaded
 * when the engine opens and updated after each batch is written.
 */
export class LockTableIndex {
  private readonly keys = new Set<string>();

  static isLockTableKey(key: Uint8Array): boolean {
    return key[0] === LOCK_TABLE_PREFIX;
  }

  mayContain(key: Uint8Array): boolean {
    // With no intents at all (common), skip making the string.
    return this.keys.size > 0 && this.keys.has(Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1'));
  }

  add(key: Uint8Array): void {
    this.keys.add(Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1'));
  }

  remove(key: Uint8Array): void {
    this.keys.delete(Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1'));
  }

  get size(): number {
    return this.keys.size;
  }
}
