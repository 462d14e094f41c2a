import { sqlSequenceValueKey } from '../../../common/keys';
import type { Catalog, TxnLike } from '../catalog/catalog';
import type { DatabaseDescriptor, SchemaDescriptor, SequenceDescriptor, TableDescriptor } from '../catalog/descriptors';
import type { SequenceState } from '../catalog/sequence-values';
import { decodeSequenceState } from '../catalog/sequence-values';
import type { UserRecord } from '../users';

/**
 * What the virtual tables are computed from, and how it is read. The row builders are
 * pure functions of a CatalogSnapshot (plus users and settings); this file is the only
 * one that reads the catalog.
 */

/** The catalog reads the virtual tables need (the real Catalog has them). */
export type CatalogReader = Pick<Catalog, 'list' | 'descriptor'>;

/** What the session hands virtualTableFor: its catalog, transaction, database, user and settings. */
export interface VirtualSource {
  readonly catalog: CatalogReader;
  readonly txn: TxnLike;
  readonly database: DatabaseDescriptor;
  /** The session's user (current_user). */
  readonly user: string;
  /** Every session setting, lower-case name → value (SessionSettings.all()). */
  readonly settings: () => readonly (readonly [string, string])[];
  readonly users: { list(txn: TxnLike): Promise<UserRecord[]> };
}

/** One database's catalog objects, read in one transaction. */
export interface CatalogSnapshot {
  readonly database: DatabaseDescriptor;
  readonly schemas: readonly SchemaDescriptor[];
  /** By ID. */
  readonly tables: readonly TableDescriptor[];
  readonly sequences: readonly SequenceDescriptor[];
}

/** Reads every schema, table and sequence of the source's database. */
export async function loadSnapshot(catalog: CatalogReader, txn: TxnLike, database: DatabaseDescriptor): Promise<CatalogSnapshot> {
  const schemas: SchemaDescriptor[] = [];
  const tables: TableDescriptor[] = [];
  const sequences: SequenceDescriptor[] = [];
  for (const entry of await catalog.list(txn, database.id)) {
    const schema = await catalog.descriptor(txn, entry.id);
    if (schema?.kind !== 'schema') continue;
    schemas.push(schema);
    for (const rel of await catalog.list(txn, schema.id)) {
      const desc = await catalog.descriptor(txn, rel.id);
      if (desc?.kind === 'table') tables.push(desc);
      else if (desc?.kind === 'sequence') sequences.push(desc);
    }
  }
  const byId = <T extends { readonly id: number }>(a: T, b: T): number => a.id - b.id;
  return { database, schemas: schemas.sort(byId), tables: tables.sort(byId), sequences: sequences.sort(byId) };
}

/** Every database of the cluster (pg_database is shared by all databases, as in PostgreSQL). */
export async function loadDatabases(catalog: CatalogReader, txn: TxnLike): Promise<DatabaseDescriptor[]> {
  const out: DatabaseDescriptor[] = [];
  for (const entry of await catalog.list(txn, 0)) {
    const desc = await catalog.descriptor(txn, entry.id);
    if (desc?.kind === 'database') out.push(desc);
  }
  return out.sort((a, b) => a.id - b.id);
}

/**
 * The inputs of one execution, each read at most once: a query that joins pg_class,
 * pg_attribute and pg_index reads the catalog once. Keyed by the execution's
 * VirtualContext object, which the session makes anew for every execution, so a later
 * statement (after DDL, or in another transaction) never sees an older read.
 */
export class VirtualInputs {
  private snapshotRead: Promise<CatalogSnapshot> | undefined;
  private databasesRead: Promise<DatabaseDescriptor[]> | undefined;
  private usersRead: Promise<UserRecord[]> | undefined;
  private sequenceStatesRead: Promise<ReadonlyMap<number, SequenceState>> | undefined;

  constructor(
    readonly source: VirtualSource,
    private readonly txn: TxnLike,
  ) {}

  snapshot(): Promise<CatalogSnapshot> {
    this.snapshotRead ??= loadSnapshot(this.source.catalog, this.txn, this.source.database);
    return this.snapshotRead;
  }

  databases(): Promise<DatabaseDescriptor[]> {
    this.databasesRead ??= loadDatabases(this.source.catalog, this.txn);
    return this.databasesRead;
  }

  /** The stored state of each sequence of the snapshot that has one, by ID. */
  sequenceStates(): Promise<ReadonlyMap<number, SequenceState>> {
    this.sequenceStatesRead ??= (async () => {
      const { sequences } = await this.snapshot();
      const raws = sequences.length === 0 ? [] : await this.txn.getMany(sequences.map((s) => sqlSequenceValueKey(s.id)));
      const states = new Map<number, SequenceState>();
      sequences.forEach((s, i) => {
        const raw = raws[i];
        if (raw !== undefined) states.set(s.id, decodeSequenceState(raw));
      });
      return states;
    })();
    return this.sequenceStatesRead;
  }

  users(): Promise<UserRecord[]> {
    this.usersRead ??= this.source.users.list(this.txn);
    return this.usersRead;
  }

  settings(): readonly (readonly [string, string])[] {
    return this.source.settings();
  }
}

const perExecution = new WeakMap<object, Map<TxnLike, VirtualInputs>>();

/**
 * The inputs for one execution. `ctx` may carry the execution's transaction (`txn`):
 * a prepared plan outlives the transaction it was planned in, so that one is used
 * when present and the planning transaction of `source` otherwise.
 */
export function inputsFor(ctx: object, source: VirtualSource): VirtualInputs {
  const txn = (ctx as { readonly txn?: TxnLike }).txn ?? source.txn;
  let byTxn = perExecution.get(ctx);
  if (byTxn === undefined) {
    byTxn = new Map();
    perExecution.set(ctx, byTxn);
  }
  let inputs = byTxn.get(txn);
  // Two sessions never share a context object, but keep them apart anyway.
  if (inputs === undefined || inputs.source.database.id !== source.database.id) {
    inputs = new VirtualInputs(source, txn);
    byTxn.set(txn, inputs);
  }
  return inputs;
}
