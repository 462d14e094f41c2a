export * from './decimal';
export * from './key-encoding';
