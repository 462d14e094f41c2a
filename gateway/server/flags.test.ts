import { InvalidArgumentError } from '../../common/errors';
import type { GatewayCommand, GatewayFlags } from './flags';
import { formatHostPort, isLoopbackHost, parseGatewayFlags, parseHostPort } from './flags';

function flags(argv: readonly string[], env: Record<string, string> = {}): GatewayFlags {
  const command = parseGatewayFlags(argv, env);
  if (command.kind !== 'run') throw new Error('help');
  return command.flags;
}

function refusal(argv: readonly string[]): string {
  try {
    parseGatewayFlags(argv);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return (err as Error).message;
  }
  throw new Error(`accepted: ${argv.join(' ')}`);
}

test('defaults: loopback addresses, SCRAM, no TLS', () => {
  expect(flags(['--join', '127.0.0.1:26258'])).toEqual<GatewayFlags>({
    join: ['127.0.0.1:26258'],
    listen: { host: '127.0.0.1', port: 26257 },
    http: { host: '127.0.0.1', port: 8081 },
    auth: 'scram-sha-256',
    insecure: false,
    certsDir: undefined,
    maxConnections: undefined,
    slowStatementMs: 1000,
    workers: 1,
    logLevel: 'info',
  });
});

test('every flag', () => {
  expect(
    flags([
      '--join=a:1, b:2,[::1]:3',
      '--listen-addr', '0.0.0.0:5432',
      '--http-addr', '[::]:0',
      '--auth', 'scram-sha-256',
      '--certs-dir', '/certs',
      '--max-connections', '250',
      '--slow-statement-threshold', '2.5s',
      '--workers', '4',
      '--log-level', 'debug',
    ]),
  ).toEqual<GatewayFlags>({
    join: ['a:1', 'b:2', '[::1]:3'],
    listen: { host: '0.0.0.0', port: 5432 },
    http: { host: '::', port: 0 },
    auth: 'scram-sha-256',
    insecure: false,
    certsDir: '/certs',
    maxConnections: 250,
    slowStatementMs: 2500,
    workers: 4,
    logLevel: 'debug',
  });
});

test('--slow-statement-threshold takes a duration or off', () => {
  expect(flags(['--join', 'a:1', '--slow-statement-threshold', '250']).slowStatementMs).toBe(250);
  expect(flags(['--join', 'a:1', '--slow-statement-threshold', '100ms']).slowStatementMs).toBe(100);
  expect(flags(['--join', 'a:1', '--slow-statement-threshold', '1min']).slowStatementMs).toBe(60_000);
  expect(flags(['--join', 'a:1', '--slow-statement-threshold', 'off']).slowStatementMs).toBe(-1);
  expect(refusal(['--join', 'a:1', '--slow-statement-threshold', 'slow'])).toContain('--slow-statement-threshold');
  expect(refusal(['--join', 'a:1', '--slow-statement-threshold', '-5'])).toContain('--slow-statement-threshold');
});

test('--workers takes a count or auto', () => {
  expect(flags(['--join', 'a:1', '--workers', 'auto']).workers).toBe('auto');
  expect(flags(['--join', 'a:1', '--workers=64']).workers).toBe(64);
  expect(refusal(['--join', 'a:1', '--workers', '65'])).toContain('--workers');
});

test('--help needs nothing else', () => {
  expect(parseGatewayFlags(['--help'])).toEqual<GatewayCommand>({ kind: 'help' });
  expect(parseGatewayFlags(['-h'])).toEqual<GatewayCommand>({ kind: 'help' });
});

test('the certificates folder comes from CAIRN_CERTS_DIR unless --certs-dir names one', () => {
  expect(flags(['--join', 'a:1'], { CAIRN_CERTS_DIR: '/etc/cairn/certs' }).certsDir).toBe('/etc/cairn/certs');
  expect(flags(['--join', 'a:1', '--certs-dir', '/mine'], { CAIRN_CERTS_DIR: '/etc/cairn/certs' }).certsDir).toBe('/mine');
  expect(flags(['--join', 'a:1'], { CAIRN_CERTS_DIR: '' }).certsDir).toBeUndefined();
});

describe('trust authentication', () => {
  test.each([['127.0.0.1:26257'], ['127.8.9.10:1'], ['localhost:26257'], ['[::1]:26257'], ['[::ffff:127.0.0.1]:5']])(
    'is allowed on loopback %s',
    (address) => {
      expect(flags(['--join', 'a:1', '--auth', 'trust', '--listen-addr', address]).auth).toBe('trust');
    },
  );

  test.each([['0.0.0.0:26257'], ['[::]:26257'], ['10.0.0.5:5432'], ['db.example.com:5432'], ['128.0.0.1:1']])(
    'is refused on %s without --insecure',
    (address) => {
      expect(refusal(['--join', 'a:1', '--auth', 'trust', '--listen-addr', address])).toMatch(
        /^--auth trust lets anyone who reaches .* in as any user without a password, so it is allowed only on a loopback --listen-addr .*add --insecure/,
      );
    },
  );

  test('is allowed anywhere with --insecure', () => {
    expect(flags(['--join', 'a:1', '--auth', 'trust', '--listen-addr', '0.0.0.0:5432', '--insecure'])).toMatchObject({
      auth: 'trust',
      insecure: true,
    });
  });
});

test.each<[readonly string[], RegExp]>([
  [[], /--join is required/],
  [['--join', ''], /--join needs at least one HOST:PORT/],
  [['--join', 'a'], /--join needs HOST:PORT with a port from 1 to 65535, not 'a'/],
  [['--join', 'a:0'], /--join needs HOST:PORT/],
  [['--join', 'a:1', '--listen-addr', '1.2.3.4:70000'], /--listen-addr needs HOST:PORT/],
  [['--join', 'a:1', '--http-addr', '[zz]:1'], /--http-addr needs HOST:PORT/],
  [['--join', 'a:1', '--auth', 'md5'], /--auth is trust or scram-sha-256, not 'md5'/],
  [['--join', 'a:1', '--max-connections', '0'], /--max-connections needs a whole number from 1/],
  [['--join', 'a:1', '--workers', '0'], /--workers needs a whole number from 1 to 64, or auto, not '0'/],
  [['--join', 'a:1', '--workers', 'many'], /--workers needs a whole number from 1 to 64, or auto/],
  [['--join', 'a:1', '--log-level', 'loud'], /--log-level is one of fatal, error, warn, info, debug, trace, silent/],
  [['--join', 'a:1', '--port', '1'], /Unknown option '--port'/],
  [['--join', 'a:1', 'extra'], /Unexpected argument 'extra'/],
])('refuses %j', (argv, message) => {
  const text = refusal(argv);
  expect(text).toMatch(message);
  expect(text).not.toContain('\n');
});

test('host:port helpers', () => {
  expect(parseHostPort('--x', '[::1]:80', { allowPortZero: false })).toEqual({ host: '::1', port: 80 });
  expect(formatHostPort({ host: '::1', port: 80 })).toBe('[::1]:80');
  expect(formatHostPort({ host: 'localhost', port: 0 })).toBe('localhost:0');
  expect(isLoopbackHost('LOCALHOST')).toBe(true);
  expect(isLoopbackHost('0:0:0:0:0:0:0:1')).toBe(true);
  expect(isLoopbackHost('::2')).toBe(false);
  expect(isLoopbackHost('localhost.example.com')).toBe(false);
});
