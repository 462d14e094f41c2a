export * from './decimal';
export * from './key-encoding';
export * from './uvarint';
export * from './proto-writer';
