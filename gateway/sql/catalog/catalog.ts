import { SqlError, SqlStates } from '../../../common/errors';
import {
  DESCRIPTOR_ID_COUNTER_KEY,
  sqlDescriptorKey,
  sqlNamespaceKey,
  sqlNamespaceSpan,
} from '../../../common/keys';
import type { KvClient, Txn } from '../../../kv';
import { ConditionFailedError } from '../../../kv';
import type { DatabaseDescriptor, Descriptor, SchemaDescriptor, SequenceDescriptor, TableDescriptor } from './descriptors';
import { decodeDescriptor, encodeDescriptor, FIRST_USER_DESCRIPTOR_ID } from './descriptors';

/**
 * The catalog: names → descriptor IDs → descriptors, read and written inside SQL
 * transactions. Reads go through a per-gateway cache of descriptors by ID and names by
 * parent; DDL through this gateway drops what it changed, and `catalogVersion` (bumped
 * by every DDL in the same transaction) lets other gateways notice that theirs is stale.
 */

export type TxnLike = Pick<Txn, 'get' | 'getMany' | 'scan' | 'reverseScan' | 'put' | 'delete' | 'deleteRange' | 'conditionalPut'>;

const CATALOG_VERSION_KEY = Buffer.from('\x05sql/catalog-version', 'latin1');

export interface NamespaceEntry {
  readonly name: string;
  readonly id: number;
}

export class Catalog {
  private readonly descriptors = new Map<number, Descriptor>();
  private readonly names = new Map<string, number | null>();
  private cachedVersion = -1n;
  /** Transactions that changed the catalog: they read past the cache and never fill it. */
  private readonly writers = new WeakSet<TxnLike>();

  constructor(private readonly kv: KvClient) {}

  /** Drops every cached entry when the cluster's catalog version moved. */
  async refreshIfStale(): Promise<void> {
    const raw = await this.kv.get(CATALOG_VERSION_KEY);
    const version = raw === undefined ? 0n : raw.readBigUInt64BE(0);
    if (version !== this.cachedVersion) {
      this.invalidate();
      this.cachedVersion = version;
    }
  }

  /** Bumped whenever cached descriptors are dropped: prepared plans older than it are re-planned. */
  generation = 0;

  invalidate(): void {
    this.generation++;
    this.descriptors.clear();
    this.names.clear();
  }

  async lookupId(txn: TxnLike, parentId: number, name: string): Promise<number | undefined> {
    const cacheKey = `${parentId}/${name}`;
    const cacheable = !this.writers.has(txn);
    const cached = cacheable ? this.names.get(cacheKey) : undefined;
    if (cached !== undefined) {
      return cached ?? undefined;
    }
    const raw = await txn.get(sqlNamespaceKey(parentId, name));
    const id = raw === undefined ? undefined : Number(raw.readBigUInt64BE(0));
    if (cacheable) {
      this.names.set(cacheKey, id ?? null);
    }
    return id;
  }

  async descriptor(txn: TxnLike, id: number): Promise<Descriptor | undefined> {
    const cacheable = !this.writers.has(txn);
    const cached = cacheable ? this.descriptors.get(id) : undefined;
    if (cached !== undefined) {
      return cached;
    }
    const raw = await txn.get(sqlDescriptorKey(id));
    if (raw === undefined) {
      return undefined;
    }
    const desc = decodeDescriptor(raw);
    if (cacheable) {
      this.descriptors.set(id, desc);
    }
    return desc;
  }

  async database(txn: TxnLike, name: string): Promise<DatabaseDescriptor | undefined> {
    const id = await this.lookupId(txn, 0, name);
    const desc = id === undefined ? undefined : await this.descriptor(txn, id);
    return desc?.kind === 'database' ? desc : undefined;
  }

  async schema(txn: TxnLike, databaseId: number, name: string): Promise<SchemaDescriptor | undefined> {
    const id = await this.lookupId(txn, databaseId, name);
    const desc = id === undefined ? undefined : await this.descriptor(txn, id);
    return desc?.kind === 'schema' ? desc : undefined;
  }

  /** A table or sequence by name in a schema. */
  async relation(txn: TxnLike, schemaId: number, name: string): Promise<TableDescriptor | SequenceDescriptor | undefined> {
    const id = await this.lookupId(txn, schemaId, name);
    const desc = id === undefined ? undefined : await this.descriptor(txn, id);
    return desc?.kind === 'table' || desc?.kind === 'sequence' ? desc : undefined;
  }

  async table(txn: TxnLike, id: number): Promise<TableDescriptor> {
    const desc = await this.descriptor(txn, id);
    if (desc?.kind !== 'table') {
      throw new SqlError(SqlStates.undefinedTable, `relation with OID ${id} does not exist`);
    }
    return desc;
  }

  /** Every name under a parent (uncached: for DROP DATABASE and catalog queries). */
  async list(txn: TxnLike, parentId: number): Promise<NamespaceEntry[]> {
    const span = sqlNamespaceSpan(parentId);
    const entries: NamespaceEntry[] = [];
    let start = span.startKey;
    for (;;) {
      const page = await txn.scan(start, span.endKey, { maxKeys: 1000 });
      for (const row of page.rows) {
        entries.push({ name: row.key.subarray(span.startKey.length).toString('utf8'), id: Number(row.value.readBigUInt64BE(0)) });
      }
      if (page.resumeSpan === undefined) {
        return entries;
      }
      start = page.resumeSpan.startKey;
    }
  }

  /**
   * A fresh descriptor ID, outside any transaction (IDs of aborted DDL are skipped,
   * like PostgreSQL's OIDs).
   */
  async allocateId(): Promise<number> {
    for (;;) {
      const current = await this.kv.get(DESCRIPTOR_ID_COUNTER_KEY);
      const last = current === undefined ? BigInt(FIRST_USER_DESCRIPTOR_ID - 1) : current.readBigUInt64BE(0);
      const next = Buffer.alloc(8);
      next.writeBigUInt64BE(last + 1n);
      try {
        await this.kv.conditionalPut(DESCRIPTOR_ID_COUNTER_KEY, next, current);
        return Number(last + 1n);
      } catch (err) {
        if (!(err instanceof ConditionFailedError)) {
          throw err;
        }
      }
    }
  }

  /** Writes a new name entry; a taken name fails with `duplicate`'s SQLSTATE and message. */
  async createName(txn: TxnLike, parentId: number, name: string, id: number, duplicate: SqlError): Promise<void> {
    const value = Buffer.alloc(8);
    value.writeBigUInt64BE(BigInt(id));
    try {
      this.writers.add(txn);
      await txn.conditionalPut(sqlNamespaceKey(parentId, name), value, undefined);
    } catch (err) {
      if (err instanceof ConditionFailedError) {
        throw duplicate;
      }
      throw err;
    }
    this.names.delete(`${parentId}/${name}`);
  }

  async dropName(txn: TxnLike, parentId: number, name: string): Promise<void> {
    this.writers.add(txn);
    await txn.delete(sqlNamespaceKey(parentId, name));
    this.names.delete(`${parentId}/${name}`);
  }

  /** Writes a descriptor as given (callers bump `version`) and the catalog version. */
  async writeDescriptor(txn: TxnLike, desc: Descriptor): Promise<void> {
    await txn.put(sqlDescriptorKey(desc.id), encodeDescriptor(desc));
    this.descriptors.delete(desc.id);
    this.generation++;
    await this.bumpVersion(txn);
  }

  async deleteDescriptor(txn: TxnLike, id: number): Promise<void> {
    await txn.delete(sqlDescriptorKey(id));
    this.descriptors.delete(id);
    await this.bumpVersion(txn);
  }

  /** After a transaction that changed the catalog ends (either way): forget everything cached. */
  transactionEnded(txn: TxnLike): void {
    if (this.writers.has(txn)) {
      this.writers.delete(txn);
      this.invalidate();
    }
  }

  private async bumpVersion(txn: TxnLike): Promise<void> {
    this.writers.add(txn);
    const raw = await txn.get(CATALOG_VERSION_KEY);
    const next = Buffer.alloc(8);
    next.writeBigUInt64BE((raw === undefined ? 0n : raw.readBigUInt64BE(0)) + 1n);
    await txn.put(CATALOG_VERSION_KEY, next);
  }
}
