export * from './clock';
export * from './timestamp';
