import type { Command } from './args';
import { DEFAULT_SCAN_LIMIT, mainUsage, parseBytesArg, parseCommand, parseHosts, UsageError } from './args';

function usageError(argv: readonly string[]): UsageError {
  try {
    parseCommand(argv);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error(`parsed: ${argv.join(' ')}`);
}

function helpText(argv: readonly string[]): string {
  const command = parseCommand(argv);
  if (command.kind !== 'help') {
    throw new Error(`not help: ${command.kind}`);
  }
  return command.text;
}

describe('parseCommand', () => {
  test('start has defaults and takes --data-dir, --nodes, --sql-port, --free-ports', () => {
    expect(parseCommand(['start'])).toEqual<Command>({
      kind: 'start',
      dataDir: 'cairn-data',
      nodes: undefined,
      freePorts: false,
      sqlPort: undefined,
    });
    expect(parseCommand(['start', '--data-dir', '/tmp/x', '--nodes', '5', '--free-ports', '--sql-port', '5433'])).toEqual<Command>({
      kind: 'start',
      dataDir: '/tmp/x',
      nodes: 5,
      freePorts: true,
      sqlPort: 5433,
    });
    expect(parseCommand(['start', '--nodes=1'])).toMatchObject({ nodes: 1 });
    expect(parseCommand(['start', '--sql-port=65535'])).toMatchObject({ sqlPort: 65_535 });
  });

  test.each([['0'], ['-1'], ['2.5'], ['x'], ['101']])('start rejects --nodes %s', (n) => {
    expect(usageError(['start', `--nodes=${n}`]).message).toMatch(/--nodes needs a whole number from 1 to 100/);
  });

  test.each([['0'], ['65536'], ['x'], ['']])('start rejects --sql-port %j', (port) => {
    expect(usageError(['start', `--sql-port=${port}`]).message).toMatch(/--sql-port needs a whole number from 1 to 65535/);
  });

  test("node:util's messages come on one line", () => {
    const message = usageError(['start', '--nodes', '-1']).message;
    expect(message).toMatch(/^Option '--nodes' argument is ambiguous\. Did you forget/);
    expect(message).not.toContain('\n');
  });

  test('remote commands leave the host to be resolved and default to tables', () => {
    expect(parseCommand(['init'])).toEqual<Command>({ kind: 'init', clusterIdFile: undefined, rootPasswordFile: undefined, hosts: undefined, format: 'table' });
    expect(parseCommand(['init', '--cluster-id-file', '/dev/termination-log'])).toMatchObject({ kind: 'init', clusterIdFile: '/dev/termination-log' });
    expect(parseCommand(['node', 'status', '--format', 'json', '--host', '127.0.0.1:26259'])).toEqual<Command>({
      kind: 'node-status',
      hosts: ['127.0.0.1:26259'],
      format: 'json',
    });
    expect(parseCommand(['debug', 'ranges', '--host=a:1,b:2'])).toEqual<Command>({
      kind: 'debug-ranges',
      hosts: ['a:1', 'b:2'],
      format: 'table',
    });
  });

  test('kv commands take their keys and values as bytes', () => {
    expect(parseCommand(['kv', 'get', 'hello'])).toEqual<Command>({
      kind: 'kv-get',
      key: Buffer.from('hello'),
      hosts: undefined,
      format: 'table',
    });
    expect(parseCommand(['kv', 'put', 'k', 'v\\x00', '--format', 'json'])).toEqual<Command>({
      kind: 'kv-put',
      key: Buffer.from('k'),
      value: Buffer.from([0x76, 0x00]),
      hosts: undefined,
      format: 'json',
    });
    expect(parseCommand(['kv', 'del', 'k'])).toMatchObject({ kind: 'kv-del', key: Buffer.from('k') });
    expect(parseCommand(['kv', 'scan', 'a', 'z'])).toMatchObject({
      kind: 'kv-scan',
      start: Buffer.from('a'),
      end: Buffer.from('z'),
      limit: DEFAULT_SCAN_LIMIT,
    });
    expect(parseCommand(['kv', 'scan', 'a', 'z', '--limit', '7'])).toMatchObject({ limit: 7 });
  });

  test('options may come before positionals, and -- ends options', () => {
    expect(parseCommand(['kv', 'get', '--host', 'h:1', 'key'])).toMatchObject({ key: Buffer.from('key'), hosts: ['h:1'] });
    expect(parseCommand(['kv', 'get', '--', '--key'])).toMatchObject({ key: Buffer.from('--key') });
  });

  test.each<[readonly string[], RegExp]>([
    [[], /no command given/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['kv'], /'cairn kv' needs a command/],
    [['kv', 'list'], /unknown command 'cairn kv list'/],
    [['kv', 'get'], /missing KEY/],
    [['kv', 'put', 'k'], /missing VALUE/],
    [['kv', 'get', 'a', 'b'], /expected KEY, got 2: a b/],
    [['kv', 'get', 'k', '--limit', '3'], /Unknown option '--limit'/],
    [['kv', 'scan', 'z', 'a'], /START must come before END/],
    [['kv', 'scan', 'a', 'b', '--limit', '0'], /--limit needs a whole number/],
    [['kv', 'get', 'a\\b'], /a backslash must start \\xNN/],
    [['kv', 'get', ''], /KEY must not be empty/],
    [['node', 'status', '--format', 'yaml'], /--format is table or json, not 'yaml'/],
    [['node', 'status', '--host', 'localhost'], /--host needs HOST:PORT, not 'localhost'/],
    [['node', 'status', '--host'], /argument missing/],
    [['init', 'extra'], /expected no arguments/],
    [['init', '--cluster-id-file='], /--cluster-id-file needs a value/],
    [['init', '--root-password-file='], /--root-password-file needs a value/],
    [['start', '--host', 'a:1'], /Unknown option '--host'/],
  ])('%j is a usage error: %s', (argv, message) => {
    expect(usageError(argv).message).toMatch(message);
  });

  test('a usage error carries the usage of what was asked', () => {
    expect(usageError(['kv', 'scan', 'a']).usage).toMatch(/^Usage: cairn kv scan START END \[--limit N\]/);
    expect(usageError(['nope']).usage).toBe(mainUsage());
    expect(usageError(['debug']).usage).toMatch(/cairn debug ranges/);
  });

  test('--help, -h and help ask for help at every level', () => {
    const main = mainUsage();
    expect(helpText(['--help'])).toBe(main);
    expect(helpText(['-h'])).toBe(main);
    expect(helpText(['help'])).toBe(main);
    for (const words of [['start'], ['init'], ['node', 'status'], ['debug', 'ranges'], ['kv', 'get'], ['kv', 'put'], ['kv', 'del'], ['kv', 'scan']]) {
      expect(main).toContain(words.join(' '));
      const text = helpText([...words, '--help']);
      expect(text).toContain(`Usage: cairn ${words.join(' ')}`);
      expect(helpText(['help', ...words])).toBe(text);
      // Help wins over anything else on the line, even bad arguments.
      expect(helpText([...words, '--bogus', '-h'])).toBe(text);
    }
    expect(helpText(['kv', '--help'])).toMatch(/cairn kv get KEY[\s\S]*cairn kv scan START END/);
    expect(helpText(['start', '--help'])).toMatch(/--data-dir DIR[\s\S]*--nodes N[\s\S]*--sql-port PORT[\s\S]*--free-ports/);
    expect(helpText(['start', '--help'])).toContain(
      'Everything listens on 127.0.0.1 only; there the gateway lets user root in without a password:\n' +
        "  psql 'postgresql://root@127.0.0.1:26257/defaultdb?sslmode=disable'",
    );
    expect(helpText(['node', 'status', '--help'])).toMatch(/--host HOST:PORT[\s\S]*--format table\|json/);
  });
});

describe('parseBytesArg', () => {
  test('text is its UTF-8 bytes', () => {
    expect(parseBytesArg('KEY', 'héllo')).toEqual(Buffer.from('héllo', 'utf8'));
  });

  test('\\xNN is one byte, in either case, anywhere', () => {
    expect(parseBytesArg('KEY', '\\x10')).toEqual(Buffer.from([0x10]));
    expect(parseBytesArg('KEY', 'a\\xFFb\\x5c')).toEqual(Buffer.from([0x61, 0xff, 0x62, 0x5c]));
    expect(parseBytesArg('KEY', '\\x00\\x01')).toEqual(Buffer.from([0, 1]));
  });

  test.each([['\\'], ['\\x1'], ['\\xg0'], ['a\\nb']])('rejects a stray backslash in %j', (text) => {
    expect(() => parseBytesArg('KEY', text)).toThrow(/backslash/);
  });
});

describe('parseHosts', () => {
  test('splits and checks host:port lists', () => {
    expect(parseHosts('127.0.0.1:26258')).toEqual(['127.0.0.1:26258']);
    expect(parseHosts('a:1, b:2')).toEqual(['a:1', 'b:2']);
    expect(parseHosts('[::1]:26258')).toEqual(['[::1]:26258']);
    expect(() => parseHosts('a:0')).toThrow(/HOST:PORT/);
    expect(() => parseHosts('a:70000')).toThrow(/HOST:PORT/);
    expect(() => parseHosts('a:1,')).toThrow(/not ''/);
  });
});

test('after --, -h is a key', () => {
  expect(parseCommand(['kv', 'get', '--', '-h'])).toMatchObject({ kind: 'kv-get', key: Buffer.from('-h') });
});
