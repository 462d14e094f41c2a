/**
 * The `cairn` command line, parsed into a `Command` (pure: no I/O). A bad command line
 * is a `UsageError` carrying the usage text to show with it.
 */
import type { ParseArgsConfig } from 'node:util';
import { parseArgs } from 'node:util';
import { DEFAULT_DATA_DIR } from './cluster-file';

export type OutputFormat = 'table' | 'json';

export const DEFAULT_SCAN_LIMIT = 1000;

interface Remote {
  /** host:port addresses from --host; undefined means the local cluster's. */
  readonly hosts: readonly string[] | undefined;
  readonly format: OutputFormat;
}

export type Command =
  | { readonly kind: 'help'; readonly text: string }
  | {
      readonly kind: 'start';
      readonly dataDir: string;
      /** Undefined: as many as the data directory's cluster has, else 3. */
      readonly nodes: number | undefined;
      readonly freePorts: boolean;
      /** The SQL gateway's port; undefined: 26257, or a free one with --free-ports. */
      readonly sqlPort: number | undefined;
    }
  | ({
      readonly kind: 'init';
      /** Where to write the new cluster's ID (a pod's termination message file), if anywhere. */
      readonly clusterIdFile: string | undefined;
      /** A file holding the password to give user `root`, if any. */
      readonly rootPasswordFile: string | undefined;
    } & Remote)
  | ({ readonly kind: 'node-status' } & Remote)
  | ({ readonly kind: 'debug-ranges' } & Remote)
  | ({ readonly kind: 'kv-get'; readonly key: Buffer } & Remote)
  | ({ readonly kind: 'kv-put'; readonly key: Buffer; readonly value: Buffer } & Remote)
  | ({ readonly kind: 'kv-del'; readonly key: Buffer } & Remote)
  | ({ readonly kind: 'kv-scan'; readonly start: Buffer; readonly end: Buffer; readonly limit: number } & Remote);

export class UsageError extends Error {
  override readonly name = 'UsageError';

  constructor(
    message: string,
    /** What to print after the message. */
    readonly usage: string,
  ) {
    super(message);
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | undefined>;

/** An option and what it does. */
type Detail = readonly [string, string];

interface CommandSpec {
  readonly words: readonly string[];
  readonly args: string;
  readonly summary: string;
  /** Options for the command's help, beyond --host/--format. */
  readonly details: readonly Detail[];
  readonly note?: string;
  readonly remote: boolean;
  readonly options: Options;
  readonly positionals: readonly string[];
  readonly build: (values: Values, positionals: readonly string[], remote: Remote) => Command;
}

const REMOTE_OPTIONS: Options = {
  host: { type: 'string' },
  format: { type: 'string' },
};

const REMOTE_DETAILS: readonly Detail[] = [
  ['--host HOST:PORT[,...]', 'nodes to talk to (default: the cluster in ./cairn-data, else 127.0.0.1:26258)'],
  ['--format table|json', 'output format (default table)'],
];

const KEY_NOTE = 'KEY, VALUE: text; write a byte as \\xNN (and a backslash as \\x5c).';

const SPECS: readonly CommandSpec[] = [
  {
    words: ['start'],
    args: '[--data-dir DIR] [--nodes N] [--sql-port PORT] [--free-ports]',
    summary: 'run a local cluster (nodes and a SQL gateway) in the foreground (Ctrl-C stops it)',
    details: [
      ['--data-dir DIR', `where the nodes keep their data (default ./${DEFAULT_DATA_DIR})`],
      ['--nodes N', 'how many nodes (default 3, or as many as DIR already has)'],
      ['--sql-port PORT', 'where the SQL gateway takes Postgres clients, on 127.0.0.1 (default 26257)'],
      ['--free-ports', 'any free ports instead of 26258+ (gRPC), 8080+ (HTTP) and 26257 (SQL)'],
    ],
    note:
      'Everything listens on 127.0.0.1 only; there the gateway lets user root in without a password:\n' +
      "  psql 'postgresql://root@127.0.0.1:26257/defaultdb?sslmode=disable'",
    remote: false,
    options: {
      'data-dir': { type: 'string' },
      nodes: { type: 'string' },
      'sql-port': { type: 'string' },
      'free-ports': { type: 'boolean' },
    },
    positionals: [],
    build: (values) => ({
      kind: 'start',
      dataDir: (values['data-dir'] as string | undefined) ?? DEFAULT_DATA_DIR,
      nodes: values.nodes === undefined ? undefined : positiveInteger('--nodes', values.nodes as string, 100),
      freePorts: values['free-ports'] === true,
      sqlPort: values['sql-port'] === undefined ? undefined : positiveInteger('--sql-port', values['sql-port'] as string, 65_535),
    }),
  },
  {
    words: ['init'],
    args: '[--host HOST:PORT] [--cluster-id-file PATH] [--root-password-file PATH]',
    summary: 'bootstrap a new cluster on a node started without one',
    details: [
      ['--cluster-id-file PATH', "also write the new cluster's ID to PATH (in Kubernetes: /dev/termination-log)"],
      ['--root-password-file PATH', "give SQL user root the password in PATH (its first line), for gateways that ask for one"],
    ],
    remote: true,
    options: { ...REMOTE_OPTIONS, 'cluster-id-file': { type: 'string' }, 'root-password-file': { type: 'string' } },
    positionals: [],
    build: (values, _p, remote) => ({
      kind: 'init',
      clusterIdFile: nonEmpty('--cluster-id-file', values['cluster-id-file'] as string | undefined),
      rootPasswordFile: nonEmpty('--root-password-file', values['root-password-file'] as string | undefined),
      ...remote,
    }),
  },
  {
    words: ['node', 'status'],
    args: '[--host HOST:PORT] [--format table|json]',
    summary: "every node: address, locality, liveness, ranges, leases",
    details: [],
    remote: true,
    options: REMOTE_OPTIONS,
    positionals: [],
    build: (_v, _p, remote) => ({ kind: 'node-status', ...remote }),
  },
  {
    words: ['debug', 'ranges'],
    args: '[--host HOST:PORT] [--format table|json]',
    summary: 'every range: span, replicas, leaseholder, size',
    details: [],
    remote: true,
    options: REMOTE_OPTIONS,
    positionals: [],
    build: (_v, _p, remote) => ({ kind: 'debug-ranges', ...remote }),
  },
  {
    words: ['kv', 'get'],
    args: 'KEY [--host HOST:PORT] [--format table|json]',
    summary: "print a key's value (exit status 1 if there is none)",
    details: [],
    note: KEY_NOTE,
    remote: true,
    options: REMOTE_OPTIONS,
    positionals: ['KEY'],
    build: (_v, [key], remote) => ({ kind: 'kv-get', key: parseBytesArg('KEY', key as string), ...remote }),
  },
  {
    words: ['kv', 'put'],
    args: 'KEY VALUE [--host HOST:PORT] [--format table|json]',
    summary: 'write a value',
    details: [],
    note: KEY_NOTE,
    remote: true,
    options: REMOTE_OPTIONS,
    positionals: ['KEY', 'VALUE'],
    build: (_v, [key, value], remote) => ({
      kind: 'kv-put',
      key: parseBytesArg('KEY', key as string),
      value: parseBytesArg('VALUE', value as string),
      ...remote,
    }),
  },
  {
    words: ['kv', 'del'],
    args: 'KEY [--host HOST:PORT] [--format table|json]',
    summary: 'delete a key',
    details: [],
    note: KEY_NOTE,
    remote: true,
    options: REMOTE_OPTIONS,
    positionals: ['KEY'],
    build: (_v, [key], remote) => ({ kind: 'kv-del', key: parseBytesArg('KEY', key as string), ...remote }),
  },
  {
    words: ['kv', 'scan'],
    args: 'START END [--limit N] [--host HOST:PORT] [--format table|json]',
    summary: 'the keys in [START, END) in order',
    details: [['--limit N', `at most N keys (default ${DEFAULT_SCAN_LIMIT})`]],
    note: KEY_NOTE,
    remote: true,
    options: { ...REMOTE_OPTIONS, limit: { type: 'string' } },
    positionals: ['START', 'END'],
    build: (values, [start, end], remote) => {
      const startKey = parseBytesArg('START', start as string);
      const endKey = parseBytesArg('END', end as string);
      if (Buffer.compare(startKey, endKey) >= 0) {
        throw new Error('START must come before END');
      }
      return {
        kind: 'kv-scan',
        start: startKey,
        end: endKey,
        limit: values.limit === undefined ? DEFAULT_SCAN_LIMIT : positiveInteger('--limit', values.limit as string),
        ...remote,
      };
    },
  },
];

const GROUPS: Readonly<Record<string, string>> = {
  node: 'node commands',
  debug: 'debugging commands',
  kv: 'read and write keys',
};

function synopsis(spec: CommandSpec): string {
  return `cairn ${spec.words.join(' ')} ${spec.args}`;
}

export function mainUsage(): string {
  const width = Math.max(...SPECS.map((s) => s.words.join(' ').length));
  return [
    'Usage: cairn <command> [options]',
    '',
    'Commands:',
    ...SPECS.map((s) => `  ${s.words.join(' ').padEnd(width)}  ${s.summary}`),
    '',
    "Run 'cairn <command> --help' for a command's options.",
  ].join('\n');
}

function groupUsage(group: string): string {
  const specs = SPECS.filter((s) => s.words[0] === group);
  return [
    `Usage: cairn ${group} <command> [options]  (${GROUPS[group] ?? group})`,
    '',
    ...specs.map((s) => `  ${synopsis(s)}\n      ${s.summary}`),
  ].join('\n');
}

function commandUsage(spec: CommandSpec): string {
  const details = [...spec.details, ...(spec.remote ? REMOTE_DETAILS : [])];
  const width = Math.max(0, ...details.map(([flag]) => flag.length));
  return [
    `Usage: ${synopsis(spec)}`,
    '',
    `${spec.summary[0]?.toUpperCase() ?? ''}${spec.summary.slice(1)}.`,
    ...(details.length === 0 ? [] : ['', 'Options:', ...details.map(([flag, what]) => `  ${flag.padEnd(width)}  ${what}`)]),
    ...(spec.note === undefined ? [] : ['', spec.note]),
  ].join('\n');
}

function nonEmpty(flag: string, text: string | undefined): string | undefined {
  if (text === '') throw new Error(`${flag} needs a value`);
  return text;
}

function positiveInteger(flag: string, text: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max) {
    throw new Error(`${flag} needs a whole number from 1 to ${max}, not '${text}'`);
  }
  return Number(text);
}

/** Validates `a:1,b:2` into its addresses. */
export function parseHosts(text: string): string[] {
  const hosts = text.split(',').map((h) => h.trim());
  for (const host of hosts) {
    const match = /^([^\s:,]+|\[[0-9a-fA-F:.]+\]):(\d{1,5})$/.exec(host);
    if (match === null || Number(match[2]) < 1 || Number(match[2]) > 65_535) {
      throw new Error(`--host needs HOST:PORT, not '${host}'`);
    }
  }
  return hosts;
}

function parseFormat(text: string | undefined): OutputFormat {
  if (text === undefined || text === 'table' || text === 'json') {
    return text ?? 'table';
  }
  throw new Error(`--format is table or json, not '${text}'`);
}

/**
 * A key or value from the command line: its UTF-8 bytes, with `\xNN` for any byte
 * (the inverse of common/keys prettyKey and of `displayBytes`).
 */
export function parseBytesArg(name: string, text: string): Buffer {
  const parts: Buffer[] = [];
  let plainStart = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '\\') {
      continue;
    }
    const hex = /^\\x([0-9a-fA-F]{2})/.exec(text.slice(i, i + 4));
    if (hex === null) {
      throw new Error(`${name}: a backslash must start \\xNN (write a backslash itself as \\x5c)`);
    }
    parts.push(Buffer.from(text.slice(plainStart, i), 'utf8'), Buffer.from([parseInt(hex[1] as string, 16)]));
    i += 3;
    plainStart = i + 1;
  }
  parts.push(Buffer.from(text.slice(plainStart), 'utf8'));
  const bytes = Buffer.concat(parts);
  if (bytes.length === 0) {
    throw new Error(`${name} must not be empty`);
  }
  return bytes;
}

function findSpec(words: readonly string[]): { spec: CommandSpec | undefined; used: number } {
  for (const spec of SPECS) {
    if (spec.words.every((w, i) => words[i] === w)) {
      return { spec, used: spec.words.length };
    }
  }
  return { spec: undefined, used: 0 };
}

const isHelpFlag = (arg: string): boolean => arg === '--help' || arg === '-h';

/** Parses `argv` (without the node and script paths). */
export function parseCommand(argv: readonly string[]): Command {
  const [first, second] = argv;
  if (first === undefined) {
    throw new UsageError('no command given', mainUsage());
  }
  if (isHelpFlag(first) || first === 'help') {
    const rest = argv.slice(1);
    return rest.length === 0 ? { kind: 'help', text: mainUsage() } : parseCommand([...rest, '--help']);
  }
  const { spec, used } = findSpec(argv);
  if (spec === undefined) {
    if (GROUPS[first] !== undefined) {
      if (second !== undefined && isHelpFlag(second)) {
        return { kind: 'help', text: groupUsage(first) };
      }
      const message = second === undefined ? `'cairn ${first}' needs a command` : `unknown command 'cairn ${first} ${second}'`;
      throw new UsageError(message, groupUsage(first));
    }
    throw new UsageError(`unknown command '${first}'`, mainUsage());
  }
  const usage = commandUsage(spec);
  const rest = argv.slice(used);
  const dashes = rest.indexOf('--');
  if ((dashes < 0 ? rest : rest.slice(0, dashes)).some(isHelpFlag)) {
    return { kind: 'help', text: usage };
  }
  try {
    const { values, positionals } = parseArgs({
      args: [...rest],
      options: spec.options,
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== spec.positionals.length) {
      const expected = spec.positionals.length === 0 ? 'no arguments' : spec.positionals.join(' ');
      throw new Error(
        positionals.length < spec.positionals.length
          ? `missing ${spec.positionals.slice(positionals.length).join(' ')}`
          : `expected ${expected}, got ${positionals.length}: ${positionals.join(' ')}`,
      );
    }
    const remote: Remote = {
      hosts: values.host === undefined ? undefined : parseHosts(values.host as string),
      format: parseFormat(values.format as string | undefined),
    };
    return spec.build(values as Values, positionals, remote);
  } catch (err) {
    // node:util's messages run over several lines; ours are one.
    throw new UsageError((err as Error).message.replace(/\s*\n\s*/g, ' '), usage);
  }
}
