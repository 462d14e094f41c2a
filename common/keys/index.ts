export * from './system-keys';
