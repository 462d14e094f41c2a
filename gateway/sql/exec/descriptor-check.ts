import { sqlDescriptorKey } from '../../../common/keys';
import type { TxnLike } from '../catalog/catalog';
import { decodeDescriptor } from '../catalog/descriptors';

/** The table a statement writes changed since the statement was planned: plan it again. */
export class StalePlanError extends Error {
  constructor(readonly tableId: number) {
    super(`table ${tableId} changed since the statement was planned`);
  }
}

/**
 * A writing statement's view of its transaction that confirms, with the statement's
 * first KV operation, that the table it writes is still at the version it was planned
 * against (StalePlanError otherwise, before anything was written). The descriptor is
 * read in the statement's own transaction: a schema change that committed before is
 * seen, one that commits after conflicts with this read and is ordered after the write,
 * so its backfill sees the row; no gateway writes with a stale descriptor.
 *
 * When that first operation is a multi-get (a write by primary key reads its row first,
 * locking it or not), the descriptor key rides in the same batch, unlocked: one KV
 * round trip, not two.
 */
export class DescriptorCheckingTxn implements TxnLike {
  private pending: { readonly key: Buffer; readonly tableId: number; readonly version: number } | undefined;

  constructor(
    private readonly inner: TxnLike,
    tableId: number,
    version: number,
  ) {
    this.pending = { key: sqlDescriptorKey(tableId), tableId, version };
  }

  async getMany(keys: readonly Uint8Array[], options?: Parameters<TxnLike['getMany']>[1]): ReturnType<TxnLike['getMany']> {
    const check = this.pending;
    if (check === undefined) return this.inner.getMany(keys, options);
    this.pending = undefined;
    // In a locking read the descriptor rides along unlocked: locking it would queue
    // every writer of the table behind this statement.
    const values = await this.inner.getMany(
      [check.key, ...keys],
      options?.forUpdate === true ? { ...options, unlockedLeadingKeys: 1 + (options.unlockedLeadingKeys ?? 0) } : options,
    );
    verify(check, values[0]);
    return values.slice(1);
  }

  async get(key: Uint8Array, options?: Parameters<TxnLike['get']>[1]): ReturnType<TxnLike['get']> {
    await this.check();
    return this.inner.get(key, options);
  }

  async scan(start: Uint8Array, end: Uint8Array, options?: Parameters<TxnLike['scan']>[2]): ReturnType<TxnLike['scan']> {
    await this.check();
    return this.inner.scan(start, end, options);
  }

  async reverseScan(start: Uint8Array, end: Uint8Array, options?: Parameters<TxnLike['reverseScan']>[2]): ReturnType<TxnLike['reverseScan']> {
    await this.check();
    return this.inner.reverseScan(start, end, options);
  }

  async put(key: Uint8Array, value: Uint8Array): Promise<void> {
    await this.check();
    return this.inner.put(key, value);
  }

  async delete(key: Uint8Array): Promise<void> {
    await this.check();
    return this.inner.delete(key);
  }

  async conditionalPut(key: Uint8Array, value: Uint8Array, expected: Uint8Array | undefined): Promise<void> {
    await this.check();
    return this.inner.conditionalPut(key, value, expected);
  }

  async deleteRange(start: Uint8Array, end: Uint8Array): Promise<number> {
    await this.check();
    return this.inner.deleteRange(start, end);
  }

  private async check(): Promise<void> {
    const check = this.pending;
    if (check === undefined) return;
    this.pending = undefined;
    const [raw] = await this.inner.getMany([check.key]);
    verify(check, raw);
  }
}

function verify(check: { readonly tableId: number; readonly version: number }, raw: Buffer | undefined): void {
  if (raw === undefined || storedDescriptorVersion(check.tableId, raw) !== check.version) throw new StalePlanError(check.tableId);
}

/** Descriptors whose version was last read, by ID: the same bytes have the same version. */
const lastDecoded = new Map<number, { readonly bytes: Buffer; readonly version: number }>();
const MAX_REMEMBERED_DESCRIPTORS = 1024;

/**
 * The version of descriptor `id` stored as `raw`. Every write of a statement checks it,
 * and the bytes rarely change: decoding the JSON each time would cost more than the
 * rest of a point UPDATE's planning, so the last bytes decoded are remembered.
 */
export function storedDescriptorVersion(id: number, raw: Buffer): number {
  const last = lastDecoded.get(id);
  if (last !== undefined && last.bytes.equals(raw)) return last.version;
  const version = decodeDescriptor(raw).version;
  if (lastDecoded.size >= MAX_REMEMBERED_DESCRIPTORS) lastDecoded.clear();
  lastDecoded.set(id, { bytes: Buffer.from(raw), version });
  return version;
}
