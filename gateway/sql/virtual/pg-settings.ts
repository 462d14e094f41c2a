import { displayName, SETTINGS } from '../session-settings';
import type { Row } from './columns';

/**
 * pg_settings: the session's settings with the metadata clients and GUIs read (type,
 * unit, allowed values). Settings are defined in session-settings.ts; this adds how
 * they are described.
 */

type VarType = 'bool' | 'integer' | 'real' | 'string' | 'enum';

interface SettingMeta {
  readonly vartype: VarType;
  readonly category: string;
  readonly description: string;
  readonly unit?: string;
  readonly enumvals?: readonly string[];
  readonly min?: string;
  readonly max?: string;
}

const CLIENT = 'Client Connection Defaults';
const PRESET = 'Preset Options';
const TIMEOUT_MAX = '2147483647';

const META: Readonly<Record<string, SettingMeta>> = {
  application_name: { vartype: 'string', category: 'Reporting and Logging', description: 'Name the client gave its connection.' },
  client_encoding: { vartype: 'string', category: CLIENT, description: 'Character encoding of the client (always UTF8).' },
  datestyle: { vartype: 'string', category: CLIENT, description: 'How dates are written and read.' },
  intervalstyle: { vartype: 'enum', category: CLIENT, description: 'How intervals are written.', enumvals: ['postgres'] },
  timezone: { vartype: 'string', category: CLIENT, description: 'Time zone for timestamps with time zone.' },
  integer_datetimes: { vartype: 'bool', category: PRESET, description: 'Timestamps are 64-bit integers.' },
  standard_conforming_strings: { vartype: 'bool', category: CLIENT, description: "Backslashes in '...' strings are ordinary characters." },
  server_version: { vartype: 'string', category: PRESET, description: 'PostgreSQL version the server is compatible with.' },
  server_version_num: { vartype: 'integer', category: PRESET, description: 'server_version as a number.' },
  server_encoding: { vartype: 'string', category: PRESET, description: 'Character encoding of the database (always UTF8).' },
  is_superuser: { vartype: 'bool', category: PRESET, description: 'Whether the session user is a superuser.' },
  session_authorization: { vartype: 'string', category: CLIENT, description: 'The session user.' },
  default_transaction_isolation: {
    vartype: 'enum',
    category: CLIENT,
    description: 'Isolation level of new transactions (all run serializable).',
    enumvals: ['serializable', 'repeatable read', 'read committed', 'read uncommitted'],
  },
  transaction_isolation: {
    vartype: 'enum',
    category: CLIENT,
    description: 'Isolation level of the current transaction.',
    enumvals: ['serializable', 'repeatable read', 'read committed', 'read uncommitted'],
  },
  default_transaction_read_only: { vartype: 'bool', category: CLIENT, description: 'Whether new transactions are read-only.' },
  transaction_read_only: { vartype: 'bool', category: CLIENT, description: 'Whether the current transaction is read-only.' },
  extra_float_digits: { vartype: 'integer', category: CLIENT, description: 'Digits shown for floating-point values.', min: '-15', max: '3' },
  search_path: { vartype: 'string', category: CLIENT, description: 'Schemas searched for unqualified names.' },
  statement_timeout: { vartype: 'integer', category: CLIENT, description: 'Longest a statement may run (0: no limit).', unit: 'ms', min: '0', max: TIMEOUT_MAX },
  lock_timeout: { vartype: 'integer', category: CLIENT, description: 'Longest a statement may wait for a lock (0: no limit).', unit: 'ms', min: '0', max: TIMEOUT_MAX },
  idle_in_transaction_session_timeout: {
    vartype: 'integer',
    category: CLIENT,
    description: 'Longest a session may sit idle inside a transaction (0: no limit).',
    unit: 'ms',
    min: '0',
    max: TIMEOUT_MAX,
  },
  client_min_messages: {
    vartype: 'enum',
    category: CLIENT,
    description: 'Least severe message sent to the client.',
    enumvals: ['debug5', 'debug4', 'debug3', 'debug2', 'debug1', 'log', 'notice', 'warning', 'error'],
  },
  max_rows_in_memory: { vartype: 'integer', category: 'Resource Usage', description: 'Rows a query may hold in gateway memory.', min: '1' },
  tracing: { vartype: 'bool', category: 'Reporting and Logging', description: 'Whether statements are traced.' },
  max_identifier_length: { vartype: 'integer', category: PRESET, description: 'Longest identifier, in bytes.', min: '63', max: '63' },
  max_index_keys: { vartype: 'integer', category: PRESET, description: 'Most columns in an index key.', min: '32', max: '32' },
  block_size: { vartype: 'integer', category: PRESET, description: 'Compatibility value; Cairn has no pages.', min: '8192', max: '8192' },
  synchronous_commit: { vartype: 'enum', category: 'Write-Ahead Log', description: 'Commits are always durable once acknowledged.', enumvals: ['local', 'remote_write', 'remote_apply', 'on', 'off'] },
  row_security: { vartype: 'bool', category: CLIENT, description: 'Row security (not implemented).' },
  jit: { vartype: 'bool', category: 'Query Tuning', description: 'Compatibility value; Cairn has no JIT.' },
  enable_seqscan: { vartype: 'bool', category: 'Query Tuning', description: 'Compatibility value.' },
  bytea_output: { vartype: 'enum', category: CLIENT, description: 'Text form of bytea values.', enumvals: ['escape', 'hex'] },
  xmloption: { vartype: 'enum', category: CLIENT, description: 'Compatibility value.', enumvals: ['content', 'document'] },
  default_tablespace: { vartype: 'string', category: CLIENT, description: 'Compatibility value; Cairn has no tablespaces.' },
  check_function_bodies: { vartype: 'bool', category: CLIENT, description: 'Compatibility value.' },
  escape_string_warning: { vartype: 'bool', category: 'Version and Platform Compatibility', description: 'Compatibility value.' },
  password_encryption: { vartype: 'enum', category: 'Connections and Authentication', description: 'How new passwords are stored.', enumvals: ['md5', 'scram-sha-256'] },
  max_connections: { vartype: 'integer', category: 'Connections and Authentication', description: 'Most client connections per gateway.', min: '1' },
  cluster_name: { vartype: 'string', category: 'Reporting and Logging', description: 'Name of the cluster.' },
};

const LOCALE_META: SettingMeta = { vartype: 'string', category: CLIENT, description: 'Locale (always C).' };

function metaOf(name: string): SettingMeta {
  return META[name] ?? (name.startsWith('lc_') ? LOCALE_META : { vartype: 'string', category: 'Customized Options', description: '' });
}

export function pgSettingsRows(settings: readonly (readonly [string, string])[]): Row[] {
  return settings.map(([name, value]) => {
    const meta = metaOf(name);
    const definition = SETTINGS[name];
    const boot = definition?.default ?? null;
    return {
      name: displayName(name),
      setting: value,
      unit: meta.unit ?? null,
      category: meta.category,
      short_desc: meta.description,
      extra_desc: null,
      context: definition?.readOnly === true ? 'internal' : 'user',
      vartype: meta.vartype,
      source: boot === value ? 'default' : 'session',
      min_val: meta.min ?? null,
      max_val: meta.max ?? null,
      enumvals: meta.enumvals === undefined ? null : [...meta.enumvals],
      boot_val: boot,
      reset_val: boot ?? value,
      sourcefile: null,
      sourceline: null,
      pending_restart: false,
    };
  });
}
