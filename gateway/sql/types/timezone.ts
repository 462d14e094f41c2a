import { SqlError, SqlStates } from '../../../common/errors';
import { daysFromCivil } from './civil-date';

/**
 * Session time zones (the TimeZone parameter): UTC, fixed offsets and IANA zones. IANA
 * zones use the tz database built into Node (Intl), which covers the same zones as
 * PostgreSQL's. Offsets are seconds east of Greenwich (+05:30 is 19800), the ISO sign;
 * PostgreSQL's internal convention is the opposite.
 */
export interface TimeZone {
  /** The name SHOW TimeZone gives. */
  readonly name: string;
  /** True when the offset never changes (UTC, '+05:30'): callers may skip lookups. */
  readonly fixedOffsetSeconds: number | undefined;
  /** The offset in force at an instant (µs since 1970-01-01 UTC). */
  offsetAtUtc(utcMicros: bigint): number;
  /**
   * The offset to read a wall-clock time with. Around a transition PostgreSQL takes, for
   * a time that does not exist (spring forward), the offset from before the transition,
   * and for a time that exists twice (fall back), the offset from after it.
   */
  offsetForLocal(localMicros: bigint): number;
}

class FixedZone implements TimeZone {
  readonly name: string;
  readonly fixedOffsetSeconds: number;

  constructor(name: string, offsetSeconds: number) {
    this.name = name;
    this.fixedOffsetSeconds = offsetSeconds;
  }

  offsetAtUtc(): number {
    return this.fixedOffsetSeconds;
  }

  offsetForLocal(): number {
    return this.fixedOffsetSeconds;
  }
}

export const UTC: TimeZone = new FixedZone('UTC', 0);

/** Intl accepts instants within ±8.64e15 ms; beyond that the boundary offset holds. */
const INTL_MAX_MS = 8.64e15;
/** Look this far either side of a wall-clock time for a transition. */
const TRANSITION_PROBE_MS = 30 * 3600 * 1000;

class IanaZone implements TimeZone {
  readonly name: string;
  readonly fixedOffsetSeconds = undefined;
  private readonly format: Intl.DateTimeFormat;
  /** Offsets of recently used hours: most rows of a query fall in a few. */
  private readonly hourCache = new Map<number, number>();

  constructor(name: string, format: Intl.DateTimeFormat) {
    this.name = name;
    this.format = format;
  }

  offsetAtUtc(utcMicros: bigint): number {
    return this.offsetAtMs(Number(utcMicros / 1000n));
  }

  offsetForLocal(localMicros: bigint): number {
    const localMs = Number(localMicros / 1000n);
    const before = this.offsetAtMs(localMs - TRANSITION_PROBE_MS);
    const after = this.offsetAtMs(localMs + TRANSITION_PROBE_MS);
    if (before === after) {
      return before;
    }
    const afterValid = this.offsetAtMs(localMs - after * 1000) === after;
    if (afterValid) {
      return after; // valid after the transition, or both valid (fall back): the later offset
    }
    return before; // valid only before it, or neither (spring forward): the earlier offset
  }

  private offsetAtMs(rawMs: number): number {
    const ms = Math.max(-INTL_MAX_MS, Math.min(INTL_MAX_MS, rawMs));
    // Transitions fall on whole minutes in every zone since 1900; older ones (LMT) on
    // seconds. Caching by hour is exact whenever no transition falls inside the hour,
    // which we check by comparing the hour's two ends.
    const hour = Math.floor(ms / 3_600_000);
    const cached = this.hourCache.get(hour);
    if (cached !== undefined) {
      return cached;
    }
    const start = this.computeOffset(Math.max(-INTL_MAX_MS, hour * 3_600_000));
    const end = this.computeOffset(Math.min(INTL_MAX_MS, hour * 3_600_000 + 3_599_999));
    if (start === end) {
      if (this.hourCache.size > 4096) {
        this.hourCache.clear();
      }
      this.hourCache.set(hour, start);
      return start;
    }
    return this.computeOffset(ms);
  }

  private computeOffset(ms: number): number {
    let year = 0;
    let month = 0;
    let day = 0;
    let hour = 0;
    let minute = 0;
    let second = 0;
    let bc = false;
    for (const part of this.format.formatToParts(ms)) {
      switch (part.type) {
        case 'year':
          year = Number(part.value);
          break;
        case 'month':
          month = Number(part.value);
          break;
        case 'day':
          day = Number(part.value);
          break;
        case 'hour':
          hour = Number(part.value);
          break;
        case 'minute':
          minute = Number(part.value);
          break;
        case 'second':
          second = Number(part.value);
          break;
        case 'era':
          bc = part.value === 'BC' || part.value === 'B';
          break;
        default:
          break;
      }
    }
    if (bc) {
      year = 1 - year;
    }
    const localSeconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
    return localSeconds - Math.floor(ms / 1000);
  }
}

const zoneCache = new Map<string, TimeZone>();

function invalidZone(spec: string): SqlError {
  return new SqlError(SqlStates.invalidParameterValue, `invalid value for parameter "TimeZone": "${spec}"`);
}

const UTC_ALIASES: ReadonlySet<string> = new Set([
  'utc',
  'gmt',
  'z',
  'zulu',
  'uct',
  'universal',
  'etc/utc',
  'etc/gmt',
  'etc/uct',
  'etc/universal',
  'etc/zulu',
  'greenwich',
  'etc/greenwich',
  'gmt0',
  'gmt+0',
  'gmt-0',
  'etc/gmt0',
]);

/**
 * Resolves a TimeZone setting: 'UTC' and its aliases; IANA names in any case
 * ('America/New_York'); a number of hours ('5', '-7', '5.5', SQL sign: east is
 * positive); a bare offset ('+05:30', '-08', '+0530') or a POSIX-style 'UTC+3' / 'EST5',
 * both with POSIX sign as in PostgreSQL: '+05:30' and 'UTC+3' are WEST of Greenwich.
 * Unknown → 22023.
 */
export function resolveTimeZone(spec: string): TimeZone {
  const cached = zoneCache.get(spec);
  if (cached !== undefined) {
    return cached;
  }
  const zone = resolveUncached(spec.trim());
  if (zone === undefined) {
    throw invalidZone(spec);
  }
  if (zoneCache.size > 256) {
    zoneCache.clear();
  }
  zoneCache.set(spec, zone);
  return zone;
}

function resolveUncached(spec: string): TimeZone | undefined {
  if (spec === '') {
    return undefined;
  }
  const lower = spec.toLowerCase();
  if (UTC_ALIASES.has(lower)) {
    return UTC;
  }
  // A number of hours, SQL sign.
  if (/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(spec)) {
    const seconds = Math.round(Number(spec) * 3600);
    if (Math.abs(seconds) <= MAX_OFFSET_SECONDS) {
      return new FixedZone(spec, seconds);
    }
    // '+0530' reads as 530 hours; try it as an ISO offset below.
  }
  // A bare signed offset is a POSIX spec to PostgreSQL, so its sign means west:
  // SET TIME ZONE '+05:30' prints times as -05:30 (unlike an offset inside a literal).
  const posixOffset = parseIsoOffset(spec);
  if (posixOffset !== undefined) {
    return new FixedZone(spec, -posixOffset);
  }
  // POSIX 'STD[+-]hh[:mm[:ss]]' without DST rules: the sign means west of Greenwich.
  const posix = /^([A-Za-z]{3,})([+-]?)(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?$/.exec(spec);
  if (posix !== null && !isIanaZone(spec)) {
    const h = Number(posix[3]);
    const m = Number(posix[4] ?? 0);
    const s = Number(posix[5] ?? 0);
    if (h > 24 || m > 59 || s > 59) {
      return undefined;
    }
    const west = (h * 3600 + m * 60 + s) * (posix[2] === '-' ? -1 : 1);
    return new FixedZone(spec, -west);
  }
  return ianaZone(spec);
}

/** ±15:59:59, PostgreSQL's limit on a UTC offset. */
export const MAX_OFFSET_SECONDS = 15 * 3600 + 59 * 60 + 59;

/** '+05:30', '-08', '+0530', '+05:30:15' → seconds east; undefined if not that form. */
export function parseIsoOffset(text: string): number | undefined {
  const m = /^([+-])(\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?$/.exec(text);
  if (m === null) {
    return undefined;
  }
  const h = Number(m[2]);
  const min = Number(m[3] ?? 0);
  const s = Number(m[4] ?? 0);
  if (min > 59 || s > 59) {
    return undefined;
  }
  const seconds = h * 3600 + min * 60 + s;
  if (seconds > MAX_OFFSET_SECONDS) {
    return undefined;
  }
  return m[1] === '-' ? -seconds : seconds;
}

function isIanaZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

function ianaZone(name: string): TimeZone | undefined {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: name,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch {
    return undefined;
  }
  const canonical = format.resolvedOptions().timeZone;
  if (UTC_ALIASES.has(canonical.toLowerCase())) {
    return UTC;
  }
  return new IanaZone(canonical, format);
}

/**
 * Time zone abbreviations accepted inside timestamptz input ('... EST'): a subset of
 * PostgreSQL's Default set, seconds east.
 */
export const ZONE_ABBREVIATIONS: ReadonlyMap<string, number> = new Map([
  ['utc', 0],
  ['gmt', 0],
  ['z', 0],
  ['zulu', 0],
  ['ut', 0],
  ['wet', 0],
  ['west', 3600],
  ['bst', 3600],
  ['cet', 3600],
  ['cest', 7200],
  ['met', 3600],
  ['mest', 7200],
  ['eet', 7200],
  ['eest', 10800],
  ['msk', 10800],
  ['est', -5 * 3600],
  ['edt', -4 * 3600],
  ['cst', -6 * 3600],
  ['cdt', -5 * 3600],
  ['mst', -7 * 3600],
  ['mdt', -6 * 3600],
  ['pst', -8 * 3600],
  ['pdt', -7 * 3600],
  ['akst', -9 * 3600],
  ['akdt', -8 * 3600],
  ['hst', -10 * 3600],
  ['ast', -4 * 3600],
  ['adt', -3 * 3600],
  ['nzst', 12 * 3600],
  ['nzdt', 13 * 3600],
  ['aest', 10 * 3600],
  ['aedt', 11 * 3600],
  ['acst', 9 * 3600 + 1800],
  ['awst', 8 * 3600],
  ['jst', 9 * 3600],
  ['kst', 9 * 3600],
  ['hkt', 8 * 3600],
  ['sgt', 8 * 3600],
]);

/** A zone named inside a timestamptz input: abbreviation, offset or IANA name. */
export function zoneFromInput(token: string): TimeZone | undefined {
  const abbrev = ZONE_ABBREVIATIONS.get(token.toLowerCase());
  if (abbrev !== undefined) {
    return abbrev === 0 ? UTC : new FixedZone(token, abbrev);
  }
  if (token.includes('/')) {
    const cached = zoneCache.get(token);
    if (cached !== undefined) {
      return cached;
    }
    const zone = ianaZone(token);
    if (zone !== undefined) {
      zoneCache.set(token, zone);
    }
    return zone;
  }
  return undefined;
}

export function fixedOffsetZone(offsetSeconds: number, name?: string): TimeZone {
  return new FixedZone(name ?? formatOffset(offsetSeconds), offsetSeconds);
}

/** PostgreSQL's offset suffix: '+00', '-05', '+05:30', '-04:56:02'. */
export function formatOffset(offsetSeconds: number): string {
  const abs = Math.abs(offsetSeconds);
  const h = Math.floor(abs / 3600);
  const m = Math.floor((abs % 3600) / 60);
  const s = abs % 60;
  let out = (offsetSeconds < 0 ? '-' : '+') + (h < 10 ? '0' : '') + h;
  if (m !== 0 || s !== 0) {
    out += (m < 10 ? ':0' : ':') + m;
    if (s !== 0) {
      out += (s < 10 ? ':0' : ':') + s;
    }
  }
  return out;
}
