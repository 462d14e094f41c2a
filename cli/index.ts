/**
 * What other folders (tests, benchmarks) use of the CLI: the local cluster and the
 * admin client.
 */
export { AdminClient, isAlreadyInitialized } from './admin-client';
export type { ClusterFile, ClusterFileNode } from './cluster-file';
export { readClusterFile } from './cluster-file';
export type { ExtraGateway, ExtraGatewayOptions, GatewayExit, LocalClusterOptions, LocalGateway, LocalGatewayOptions, LocalNode, NodeExit } from './local-cluster';
export { childExecArgv, freePorts, LocalCluster, LocalClusterError, SERVER_V8_FLAGS, tsxLoaderUrl } from './local-cluster';
