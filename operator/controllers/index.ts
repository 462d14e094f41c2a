export type { ClusterControllerOptions, ControllerMetrics } from './cluster-controller';
export { ClusterController } from './cluster-controller';
export type { ClusterPlan, ObservedCluster } from './cluster-plan';
export { planCluster } from './cluster-plan';
export * from './names';
