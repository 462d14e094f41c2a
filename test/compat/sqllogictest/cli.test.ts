import { CliUsageError, exitCode, formatFileResult, parseCli } from './cli';
import type { FileResult } from './runner';
import { acquireServer, clientConfigFromUrl, ServerUnavailableError } from './server';

function result(overrides: Partial<FileResult> = {}): FileResult {
  return {
    file: 'select1.test',
    total: { passed: 9, failed: 1, skipped: 2 },
    statements: { passed: 3, failed: 0, skipped: 0 },
    queries: { passed: 6, failed: 1, skipped: 2 },
    failures: [],
    haltedAt: undefined,
    fatal: undefined,
    warning: undefined,
    durationMs: 1234,
    ...overrides,
  };
}

describe('parseCli', () => {
  it('has defaults', () => {
    expect(parseCli(['a.test', 'dir'])).toEqual({
      kind: 'run',
      url: undefined,
      engine: 'postgresql',
      maxFailures: 10,
      queryTimeoutMs: 30_000,
      failUnderPercent: undefined,
      keepDatabases: false,
      paths: ['a.test', 'dir'],
    });
  });

  it('reads every option', () => {
    const argv = ['--url', 'postgres://u@h:1/d', '--engine', 'MySQL', '--max-failures', '0', '--timeout-ms', '500'];
    expect(parseCli([...argv, '--fail-under', '99.5', '--keep-databases', 'x.test'])).toMatchObject({
      url: 'postgres://u@h:1/d',
      engine: 'MySQL',
      maxFailures: 0,
      queryTimeoutMs: 500,
      failUnderPercent: 99.5,
      keepDatabases: true,
    });
    expect(parseCli(['--help'])).toEqual({ kind: 'help' });
  });

  it.each([[[]], [['--bogus', 'a.test']], [['--max-failures', 'x', 'a.test']], [['--fail-under', '101', 'a.test']], [['--timeout-ms', '0', 'a.test']]])(
    'rejects %j',
    (argv) => {
      expect(() => parseCli(argv)).toThrow(CliUsageError);
    },
  );
});

describe('exitCode', () => {
  it('is 0 with failures unless --fail-under is missed, 1 for a file that could not run', () => {
    expect(exitCode([result()], undefined)).toBe(0);
    expect(exitCode([result()], 90)).toBe(0);
    expect(exitCode([result()], 95)).toBe(1);
    expect(exitCode([result({ fatal: 'cannot connect' })], undefined)).toBe(1);
  });
});

describe('formatFileResult', () => {
  it('prints counts, rate and the first failures', () => {
    const text = formatFileResult(
      result({
        failures: [{ line: 12, sql: 'SELECT 1/0', kind: 'error', message: 'division by zero', sqlstate: '22012' }],
      }),
    ).join('\n');
    expect(text).toContain('select1.test: 9 passed, 1 failed, 2 skipped, 90.00% in 1.2 s');
    expect(text).toContain('select1.test:12: error: division by zero [SQLSTATE 22012]');
    expect(text).toContain('sql: SELECT 1/0');
  });
});

describe('server', () => {
  it('names what it talks to when given a URL', async () => {
    const server = await acquireServer('postgres://alice@db.example:6543/app');
    expect(server.description).toBe('alice@db.example:6543/app');
    await server.stop();
  });

  it('turns a URL into explicit client fields', () => {
    expect(clientConfigFromUrl('postgres://alice:s%40cret@db.example:6543/app')).toEqual({
      host: 'db.example',
      port: 6543,
      database: 'app',
      user: 'alice',
      password: 's@cret',
    });
    expect(clientConfigFromUrl('postgresql://127.0.0.1')).toEqual({ host: '127.0.0.1', port: 5432, database: 'postgres', user: 'postgres' });
    expect(clientConfigFromUrl('postgres://bob@localhost/d?host=/tmp/sock')).toMatchObject({ host: '/tmp/sock', user: 'bob' });
    expect(() => clientConfigFromUrl('http://x')).toThrow(ServerUnavailableError);
  });
});
