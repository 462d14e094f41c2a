/** The gateway process's parts, for tests and tools that run a gateway in-process. */
export type { GatewayEngine, GatewayPhase, GatewayServerOptions } from './gateway-server';
export { DEFAULT_DRAIN_MS, GatewayServer } from './gateway-server';
export type { GatewayCommand, GatewayFlags, HostPort } from './flags';
export { checkAuthAllowed, formatHostPort, isLoopbackHost, parseGatewayFlags, parseHostPort } from './flags';
export type { ServerCertificate } from './certs';
export { readServerCertificate } from './certs';
export { SqlMetrics } from './sql-metrics';
