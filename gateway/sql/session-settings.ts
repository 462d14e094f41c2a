import { SqlError, SqlStates } from '../../common/errors';
import { resolveTimeZone } from './types/timezone';

/**
 * Session settings (SET / SHOW / current_setting). Each known setting has a default and
 * a validator; unknown names are 42704 as in PostgreSQL, except names with a dot
 * (custom settings), which any session may set.
 */

export interface SettingDefinition {
  readonly default: string;
  /** Sent to the client as ParameterStatus when it changes. */
  readonly reported?: boolean;
  readonly readOnly?: boolean;
  /** Normalises a new value, or throws 22023. */
  readonly check?: (value: string) => string;
}

const durationMs = (name: string) => (value: string): string => {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(us|ms|s|min|h|d)?\s*$/i.exec(value);
  if (m === null) {
    throw new SqlError(SqlStates.invalidParameterValue, `invalid value for parameter "${name}": "${value}"`);
  }
  const unit = (m[2] ?? 'ms').toLowerCase();
  const factor = unit === 'us' ? 0.001 : unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'min' ? 60_000 : unit === 'h' ? 3_600_000 : 86_400_000;
  return String(Math.round(Number(m[1]) * factor));
};

const oneOf = (name: string, values: readonly string[], canonical?: (v: string) => string) => (value: string): string => {
  const v = value.trim().toLowerCase();
  if (!values.includes(v)) {
    throw new SqlError(SqlStates.invalidParameterValue, `invalid value for parameter "${name}": "${value}"`);
  }
  return canonical === undefined ? v : canonical(v);
};

const onOff = (name: string) => (value: string): string => {
  const v = value.trim().toLowerCase();
  if (['on', 'true', 'yes', '1'].includes(v)) return 'on';
  if (['off', 'false', 'no', '0'].includes(v)) return 'off';
  throw new SqlError(SqlStates.invalidParameterValue, `parameter "${name}" requires a Boolean value`);
};

const isolation = (value: string): string => {
  const v = value.trim().toLowerCase();
  // Every transaction is serializable; weaker levels are served by the stronger one.
  if (['serializable', 'repeatable read', 'read committed', 'read uncommitted'].includes(v)) return 'serializable';
  throw new SqlError(SqlStates.invalidParameterValue, `invalid value for parameter "transaction_isolation": "${value}"`);
};

export const SERVER_VERSION = '15.0';
export const SERVER_VERSION_NUM = '150000';

export const SETTINGS: Readonly<Record<string, SettingDefinition>> = {
  application_name: { default: '', reported: true },
  client_encoding: { default: 'UTF8', reported: true, check: oneOf('client_encoding', ['utf8', 'unicode', 'utf-8'], () => 'UTF8') },
  datestyle: { default: 'ISO, MDY', reported: true, check: (v) => (/iso/i.test(v) ? 'ISO, MDY' : failValue('DateStyle', v)) },
  intervalstyle: { default: 'postgres', reported: true, check: oneOf('IntervalStyle', ['postgres']) },
  timezone: { default: 'UTC', reported: true, check: checkTimeZone },
  integer_datetimes: { default: 'on', reported: true, readOnly: true },
  standard_conforming_strings: { default: 'on', reported: true, check: oneOf('standard_conforming_strings', ['on']) },
  server_version: { default: SERVER_VERSION, reported: true, readOnly: true },
  server_version_num: { default: SERVER_VERSION_NUM, readOnly: true },
  server_encoding: { default: 'UTF8', reported: true, readOnly: true },
  is_superuser: { default: 'on', reported: true, readOnly: true },
  session_authorization: { default: '', reported: true, readOnly: true },
  default_transaction_isolation: { default: 'serializable', check: isolation },
  transaction_isolation: { default: 'serializable', check: isolation },
  default_transaction_read_only: { default: 'off', check: onOff('default_transaction_read_only') },
  transaction_read_only: { default: 'off', check: onOff('transaction_read_only') },
  extra_float_digits: { default: '1', check: (v) => (/^-?\d+$/.test(v.trim()) && Math.abs(Number(v)) <= 3 ? v.trim() : failValue('extra_float_digits', v)) },
  search_path: { default: '"$user", public' },
  statement_timeout: { default: '0', check: durationMs('statement_timeout') },
  lock_timeout: { default: '0', check: durationMs('lock_timeout') },
  idle_in_transaction_session_timeout: { default: '0', check: durationMs('idle_in_transaction_session_timeout') },
  client_min_messages: { default: 'notice', check: oneOf('client_min_messages', ['debug5', 'debug4', 'debug3', 'debug2', 'debug1', 'log', 'notice', 'warning', 'error']) },
  max_rows_in_memory: { default: '1000000', check: (v) => (/^\d+$/.test(v.trim()) && Number(v) > 0 ? v.trim() : failValue('max_rows_in_memory', v)) },
  tracing: { default: 'off', check: onOff('tracing') },
  // As in PostgreSQL: -1 off, 0 every statement, else a duration (ms without a unit).
  log_min_duration_statement: { default: '-1', check: (v) => (v.trim() === '-1' ? '-1' : durationMs('log_min_duration_statement')(v)) },
  max_identifier_length: { default: '63', readOnly: true },
  max_index_keys: { default: '32', readOnly: true },
  block_size: { default: '8192', readOnly: true },
  lc_collate: { default: 'C', readOnly: true },
  lc_ctype: { default: 'C', readOnly: true },
  lc_messages: { default: 'C' },
  lc_monetary: { default: 'C' },
  lc_numeric: { default: 'C' },
  lc_time: { default: 'C' },
  synchronous_commit: { default: 'on' },
  row_security: { default: 'off' },
  jit: { default: 'off' },
  enable_seqscan: { default: 'on' },
  bytea_output: { default: 'hex', check: oneOf('bytea_output', ['hex']) },
  xmloption: { default: 'content' },
  default_tablespace: { default: '' },
  check_function_bodies: { default: 'on' },
  escape_string_warning: { default: 'on' },
  password_encryption: { default: 'scram-sha-256' },
  max_connections: { default: '1000', readOnly: true },
  cluster_name: { default: 'cairn', readOnly: true },
};

function failValue(name: string, value: string): never {
  throw new SqlError(SqlStates.invalidParameterValue, `invalid value for parameter "${name}": "${value}"`);
}

function checkTimeZone(value: string): string {
  const v = value.trim();
  if (/^(utc|gmt|z|zulu)$/i.test(v)) return 'UTC';
  try {
    // Every form the value codecs understand: IANA names, hours ('5.5'), POSIX offsets.
    resolveTimeZone(v);
    return v;
  } catch {
    throw new SqlError(SqlStates.invalidParameterValue, `invalid value for parameter "TimeZone": "${value}"`);
  }
}

/** The settings of one session. */
export class SessionSettings {
  private readonly values = new Map<string, string>();

  /**
   * `initial`: the client's startup parameters. `serverDefaults`: what the server was
   * started with in place of a setting's built-in default (RESET returns to it).
   */
  constructor(
    initial: ReadonlyMap<string, string> = new Map(),
    private readonly serverDefaults: ReadonlyMap<string, string> = new Map(),
  ) {
    for (const [name, value] of initial) {
      const key = name.toLowerCase();
      if (SETTINGS[key] !== undefined && SETTINGS[key].readOnly !== true) {
        this.set(key, value);
      }
    }
  }

  get(name: string): string | undefined {
    const key = name.toLowerCase();
    const value = this.values.get(key);
    if (value !== undefined) return value;
    return this.serverDefaults.get(key) ?? SETTINGS[key]?.default ?? undefined;
  }

  /** Validates and stores; returns the stored value, or undefined when it did not change. */
  set(name: string, value: string): string | undefined {
    const key = name.toLowerCase();
    const def = SETTINGS[key];
    if (def === undefined) {
      if (!key.includes('.')) {
        throw new SqlError(SqlStates.undefinedObject, `unrecognized configuration parameter "${name}"`);
      }
      this.values.set(key, value);
      return value;
    }
    if (def.readOnly === true) {
      throw new SqlError(SqlStates.cantChangeRuntimeParam, `parameter "${name}" cannot be changed`);
    }
    const normalised = def.check === undefined ? value : def.check(value);
    const before = this.get(key);
    this.values.set(key, normalised);
    return before === normalised ? undefined : normalised;
  }

  reset(name: string): string | undefined {
    const key = name.toLowerCase();
    if (SETTINGS[key] === undefined && !key.includes('.')) {
      throw new SqlError(SqlStates.undefinedObject, `unrecognized configuration parameter "${name}"`);
    }
    const before = this.get(key);
    this.values.delete(key);
    const after = this.get(key);
    return before === after ? undefined : after;
  }

  /** Every setting (for SHOW ALL and pg_settings). */
  all(): [string, string][] {
    const names = new Set([...Object.keys(SETTINGS), ...this.values.keys()]);
    return [...names].sort().map((n) => [n, this.get(n) ?? '']);
  }
}

/** The name PostgreSQL reports a setting under (ParameterStatus, SHOW). */
export function displayName(name: string): string {
  const map: Record<string, string> = { datestyle: 'DateStyle', intervalstyle: 'IntervalStyle', timezone: 'TimeZone' };
  return map[name] ?? name;
}
