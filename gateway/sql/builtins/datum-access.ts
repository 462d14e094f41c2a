import type { Datum, Interval, Jsonb, JsonValue } from '../types/datum';
import type { Numeric } from '../types/numeric';

/**
 * Typed reads of argument datums. Resolution guarantees each argument's type, so these
 * are casts, not checks; they keep the built-in tables short and typed.
 */

type Arg = Datum | undefined;

export const int = (d: Arg): bigint => d as bigint;
export const flt = (d: Arg): number => d as number;
export const num = (d: Arg): Numeric => d as Numeric;
export const str = (d: Arg): string => d as string;
export const bool = (d: Arg): boolean => d as boolean;
export const bytes = (d: Arg): Buffer => d as Buffer;
export const ivl = (d: Arg): Interval => d as Interval;
export const json = (d: Arg): JsonValue => (d as Jsonb).json;
export const arr = (d: Arg): readonly Datum[] => d as readonly Datum[];
/** A date: days since 1970-01-01. */
export const day = (d: Arg): number => d as number;
/** A timestamp or timestamptz: µs since 1970-01-01. */
export const ts = (d: Arg): bigint => d as bigint;

export function jsonb(value: JsonValue): Jsonb {
  return { json: value };
}
