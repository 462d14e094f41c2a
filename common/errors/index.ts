export * from './errors';
export * from './sqlstate';
