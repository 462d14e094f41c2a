/**
 * The cairn-gateway command line, parsed and checked into `GatewayFlags` (pure: no I/O;
 * the environment comes in as an argument). A bad command line is an
 * InvalidArgumentError whose message names the flag.
 */
import * as net from 'node:net';
import { parseArgs } from 'node:util';
import type { LevelWithSilent } from 'pino';
import { InvalidArgumentError } from '../../common/errors';
import type { AuthMethod } from '../pgwire';

export const DEFAULT_SQL_ADDRESS = '127.0.0.1:26257';
export const DEFAULT_HTTP_ADDRESS = '127.0.0.1:8081';
export const DEFAULT_AUTH: AuthMethod = 'scram-sha-256';
/** Set by the operator on gateway pods where it mounts the cluster's TLS Secret. */
export const CERTS_DIR_ENV = 'CAIRN_CERTS_DIR';
const MAX_CONNECTIONS_LIMIT = 100_000;
export const MAX_WORKERS = 64;
/** Statements this slow or slower are logged unless the flag says otherwise. */
export const DEFAULT_SLOW_STATEMENT_MS = 1_000;
const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export const GATEWAY_USAGE = [
  'Usage: cairn-gateway --join HOST:PORT[,...] [options]',
  '',
  'The SQL gateway: Postgres wire protocol in front of the cluster\'s KV nodes.',
  '',
  'Options:',
  '  --join HOST:PORT[,...]       KV node addresses to reach the cluster through (required)',
  `  --listen-addr HOST:PORT      Postgres wire protocol (default ${DEFAULT_SQL_ADDRESS})`,
  `  --http-addr HOST:PORT        /metrics, /healthz, /readyz (default ${DEFAULT_HTTP_ADDRESS})`,
  `  --auth trust|scram-sha-256   how clients log in (default ${DEFAULT_AUTH}); trust lets`,
  '                               anyone in as any user, so it needs a loopback --listen-addr',
  '                               unless --insecure is given too',
  '  --insecure                   allow --auth trust on any address',
  `  --certs-dir DIR              TLS from server.crt/server.key, node.crt/node.key or`,
  `                               tls.crt/tls.key in DIR (default $${CERTS_DIR_ENV}; none: no TLS)`,
  '  --max-connections N          sessions at once (default 100), shared among the workers',
  '  --workers N|auto             processes serving SQL on the one port (default 1; auto: one',
  '                               per CPU the process may use); each runs its own SQL engine',
  `  --slow-statement-threshold D  log statements that take D or longer, e.g. 500ms, 2s`,
  `                               (default ${DEFAULT_SLOW_STATEMENT_MS} ms; off: none); a session may`,
  '                               change it with SET log_min_duration_statement',
  '  --log-level LEVEL            fatal, error, warn, info (default), debug, trace or silent',
].join('\n');

export interface HostPort {
  /** Without IPv6 brackets. */
  readonly host: string;
  /** 0: any free port. */
  readonly port: number;
}

export interface GatewayFlags {
  readonly join: readonly string[];
  readonly listen: HostPort;
  readonly http: HostPort;
  readonly auth: AuthMethod;
  readonly insecure: boolean;
  readonly certsDir: string | undefined;
  readonly maxConnections: number | undefined;
  /** Statements this slow (ms) are logged; -1: none. */
  readonly slowStatementMs: number;
  /** Processes serving SQL (gateway/server/gateway-workers.ts); auto: one per CPU. */
  readonly workers: number | 'auto';
  readonly logLevel: LevelWithSilent;
}

/** `host:port` for addresses that Node's listen() and our splitters accept (IPv6 bracketed). */
export function formatHostPort({ host, port }: HostPort): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Parses `HOST:PORT` (`[::1]:26257` for IPv6). */
export function parseHostPort(flag: string, text: string, options: { readonly allowPortZero: boolean }): HostPort {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  const lowest = options.allowPortZero ? 0 : 1;
  if (match === null || port < lowest || port > 65_535) {
    throw new InvalidArgumentError(`${flag} needs HOST:PORT with a port from ${lowest} to 65535, not '${text}'`);
  }
  const host = match[1] ?? (match[2] as string);
  if (match[1] !== undefined && !net.isIPv6(host)) {
    throw new InvalidArgumentError(`${flag}: '${host}' in brackets is not an IPv6 address`);
  }
  return { host, port };
}

/**
 * Whether only this machine can reach `host`: localhost, 127.0.0.0/8 and ::1 (also as an
 * IPv4-mapped address). A name other than localhost may resolve anywhere, so it is not.
 */
export function isLoopbackHost(host: string): boolean {
  const lower = host.toLowerCase();
  if (lower === 'localhost') return true;
  const v4 = lower.startsWith('::ffff:') ? lower.slice('::ffff:'.length) : lower;
  if (net.isIPv4(v4)) return v4.startsWith('127.');
  if (!net.isIPv6(lower)) return false;
  const list = new net.BlockList();
  list.addAddress('::1', 'ipv6');
  return list.check(lower, 'ipv6');
}

/** Refuses trust authentication where others could connect, unless told it is on purpose. */
export function checkAuthAllowed(auth: AuthMethod, listen: HostPort, insecure: boolean): void {
  if (auth === 'trust' && !insecure && !isLoopbackHost(listen.host)) {
    throw new InvalidArgumentError(
      `--auth trust lets anyone who reaches ${formatHostPort(listen)} in as any user without a password, ` +
        'so it is allowed only on a loopback --listen-addr (127.0.0.1, ::1, localhost); ' +
        'add --insecure if that is really what you want',
    );
  }
}

function parseAuth(text: string): AuthMethod {
  if (text === 'trust' || text === 'scram-sha-256') return text;
  throw new InvalidArgumentError(`--auth is trust or scram-sha-256, not '${text}'`);
}

function parseMaxConnections(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > MAX_CONNECTIONS_LIMIT) {
    throw new InvalidArgumentError(`--max-connections needs a whole number from 1 to ${MAX_CONNECTIONS_LIMIT}, not '${text}'`);
  }
  return Number(text);
}

function parseWorkers(text: string): number | 'auto' {
  if (text === 'auto') return 'auto';
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > MAX_WORKERS) {
    throw new InvalidArgumentError(`--workers needs a whole number from 1 to ${MAX_WORKERS}, or auto, not '${text}'`);
  }
  return Number(text);
}

function parseSlowStatementThreshold(text: string | undefined): number {
  if (text === undefined) return DEFAULT_SLOW_STATEMENT_MS;
  if (text.trim().toLowerCase() === 'off') return -1;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|min)?\s*$/i.exec(text);
  if (m === null) {
    throw new InvalidArgumentError(`--slow-statement-threshold needs a duration such as 500ms or 2s, or off, not '${text}'`);
  }
  const unit = (m[2] ?? 'ms').toLowerCase();
  return Math.round(Number(m[1]) * (unit === 'ms' ? 1 : unit === 's' ? 1_000 : 60_000));
}

function parseLogLevel(text: string): LevelWithSilent {
  const level = LOG_LEVELS.find((l) => l === text);
  if (level === undefined) {
    throw new InvalidArgumentError(`--log-level is one of ${LOG_LEVELS.join(', ')}, not '${text}'`);
  }
  return level;
}

export type GatewayCommand = { readonly kind: 'help' } | { readonly kind: 'run'; readonly flags: GatewayFlags };

/** Parses `argv` (without the node and script paths). */
export function parseGatewayFlags(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): GatewayCommand {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        join: { type: 'string' },
        'listen-addr': { type: 'string', default: DEFAULT_SQL_ADDRESS },
        'http-addr': { type: 'string', default: DEFAULT_HTTP_ADDRESS },
        auth: { type: 'string', default: DEFAULT_AUTH },
        insecure: { type: 'boolean', default: false },
        'certs-dir': { type: 'string' },
        'max-connections': { type: 'string' },
        'slow-statement-threshold': { type: 'string' },
        workers: { type: 'string', default: '1' },
        'log-level': { type: 'string', default: 'info' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: false,
      strict: true,
    }));
  } catch (err) {
    // node:util's messages run over several lines; ours are one.
    throw new InvalidArgumentError((err as Error).message.replace(/\s*\n\s*/g, ' '));
  }
  if (values.help === true) {
    return { kind: 'help' };
  }
  const joinText = values.join as string | undefined;
  if (joinText === undefined) {
    throw new InvalidArgumentError('--join is required: the address of at least one KV node (HOST:PORT[,...])');
  }
  const join = joinText
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '')
    .map((a) => formatHostPort(parseHostPort('--join', a, { allowPortZero: false })));
  if (join.length === 0) {
    throw new InvalidArgumentError('--join needs at least one HOST:PORT');
  }
  const listen = parseHostPort('--listen-addr', values['listen-addr'] as string, { allowPortZero: true });
  const auth = parseAuth(values.auth as string);
  const insecure = values.insecure === true;
  checkAuthAllowed(auth, listen, insecure);
  const certsDir = (values['certs-dir'] as string | undefined) ?? env[CERTS_DIR_ENV];
  const maxConnections = values['max-connections'] as string | undefined;
  const flags: GatewayFlags = {
    join,
    listen,
    http: parseHostPort('--http-addr', values['http-addr'] as string, { allowPortZero: true }),
    auth,
    insecure,
    certsDir: certsDir === undefined || certsDir === '' ? undefined : certsDir,
    maxConnections: maxConnections === undefined ? undefined : parseMaxConnections(maxConnections),
    slowStatementMs: parseSlowStatementThreshold(values['slow-statement-threshold'] as string | undefined),
    workers: parseWorkers(values.workers as string),
    logLevel: parseLogLevel(values['log-level'] as string),
  };
  return { kind: 'run', flags };
}
