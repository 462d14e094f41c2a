export * from './database-cluster';
export type { CrdManifest } from './crd';
export { allCrds, databaseClusterCrd } from './crd';
export { CRD_DIRS, renderCrds } from './render';
