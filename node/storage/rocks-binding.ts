/**
 * The narrow, typed slice of `@nxtedition/rocksdb` that Cairn uses. The package ships
 * no type declarations, and Cairn relies on its synchronous paths (point reads,
 * iterator seeks, batch writes), which are underscore methods: keeping every such use
 * in this one file keeps an upgrade of the binding a one-file review.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const rocksdb = require('@nxtedition/rocksdb') as { RocksLevel: RocksLevelConstructor };

export interface RocksOpenOptions {
  readonly createIfMissing?: boolean;
  readonly errorIfExists?: boolean;
  readonly infoLogLevel?: 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'header' | null;
  readonly cacheSize?: number;
}

export interface RocksIteratorOptions {
  readonly keyEncoding: 'buffer';
  readonly valueEncoding: 'buffer';
  readonly reverse?: boolean;
  /** A tailing iterator sees writes made after it was created; it cannot go backwards. */
  readonly tailing?: boolean;
  readonly fillCache?: boolean;
}

export interface RocksIterator {
  _seekSync(target: Uint8Array): void;
  /** Rows alternate key, value. */
  _nextvSync(count: number, options: object): { rows: Buffer[]; finished: boolean };
  _closeSync(): void;
}

export interface RocksChainedBatch {
  _put(key: Uint8Array, value: Uint8Array, options: object): void;
  _del(key: Uint8Array, options: object): void;
  _writeSync(options: { sync?: boolean }): void;
  _closeSync(): void;
}

export interface RocksLevel {
  readonly status: 'opening' | 'open' | 'closing' | 'closed';
  open(options?: RocksOpenOptions): Promise<void>;
  close(): Promise<void>;
  _getManySync(keys: Uint8Array[], options: { valueEncoding?: 'buffer'; fillCache?: boolean }): (Buffer | undefined)[];
  iterator(options: RocksIteratorOptions): RocksIterator;
  batch(): RocksChainedBatch;
  getProperty(name: string): string;
  readonly sequence: number;
}

type RocksLevelConstructor = new (location: string) => RocksLevel;

export function createRocksLevel(location: string): RocksLevel {
  return new rocksdb.RocksLevel(location);
}
