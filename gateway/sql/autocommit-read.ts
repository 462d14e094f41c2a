import type { KvClient, ScanResult, StatementLimits } from '../../kv';
import { expectCase } from '../../kv/responses';
import type { TxnLike } from './catalog/catalog';

/** The statement needs more than one single-key read: run it in a transaction. */
export class NeedsTransactionError extends Error {
  constructor() {
    super('the statement needs a transaction');
  }
}

/**
 * The KV side of a statement outside a transaction block that reads one key and
 * nothing else (a point SELECT by primary key): one non-transactional Get, which the
 * key's leaseholder serves at its own clock — at or above every write it has
 * proposed or applied, and above any version within the clock offset over it
 * (kv/OVERVIEW.md, "Outside a transaction") — so the read is linearizable without a
 * transaction: no record, client timestamp or commit, and smaller messages both ways.
 * Anything more (a second read, a scan, a locking read, a write) fails with
 * NeedsTransactionError before it reaches KV, and the session runs the statement again
 * in a transaction: nothing was written, and nothing sent to the client.
 */
export class AutocommitPointRead implements TxnLike {
  private used = false;

  constructor(
    private readonly kv: Pick<KvClient, 'batch'>,
    /** The statement's: its read ends when the statement is cancelled or times out. */
    private readonly limits: StatementLimits = {},
  ) {}

  async get(key: Uint8Array, options: { readonly forUpdate?: boolean } = {}): Promise<Buffer | undefined> {
    const [value] = await this.getMany([key], options);
    return value;
  }

  async getMany(keys: readonly Uint8Array[], options: { readonly forUpdate?: boolean } = {}): Promise<(Buffer | undefined)[]> {
    const key = keys[0];
    if (this.used || key === undefined || keys.length !== 1 || options.forUpdate === true) throw new NeedsTransactionError();
    this.used = true;
    const { signal, deadlineUnixMs } = this.limits;
    const [response] = await this.kv.batch([{ request: { $case: 'get', value: { key: Buffer.from(key), forUpdate: false } } }], {
      ...(signal === undefined ? {} : { signal }),
      ...(deadlineUnixMs === undefined ? {} : { deadlineUnixMs }),
    });
    return [expectCase(response, 'get').value?.value];
  }

  scan(): Promise<ScanResult> {
    return needsTransaction();
  }

  reverseScan(): Promise<ScanResult> {
    return needsTransaction();
  }

  put(): Promise<void> {
    return needsTransaction();
  }

  delete(): Promise<void> {
    return needsTransaction();
  }

  deleteRange(): Promise<number> {
    return needsTransaction();
  }

  conditionalPut(): Promise<void> {
    return needsTransaction();
  }
}

function needsTransaction(): Promise<never> {
  return Promise.reject(new NeedsTransactionError());
}
