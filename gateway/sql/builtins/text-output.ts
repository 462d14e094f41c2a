import { castDatum } from '../types/cast';
import type { Datum, SqlType } from '../types/datum';
import { scalarType } from '../types/datum';
import { formatText } from '../types/text-format';
import { resolveTimeZone } from '../types/timezone';
import type { EvalContext } from './eval-context';

/**
 * Values as text, for built-ins that take any type (concat, format, string_agg's
 * arguments, array_to_string, ||). Two flavours, as in PostgreSQL: the type's output
 * function (concat, format: true prints 't'), and the cast to text (||: true prints
 * 'true', char(n) loses its padding).
 */

/** The type's text output (PostgreSQL's output function), in the session's time zone. */
export function outputText(type: SqlType, value: Datum, ctx: EvalContext): string {
  if (type.kind === 'scalar') {
    switch (type.name) {
      case 'text':
      case 'varchar':
      case 'bpchar':
      case 'name':
      case 'unknown':
        return value as string;
      case 'timestamptz':
        return formatText(type, value, { timeZone: resolveTimeZone(ctx.timeZone) });
      default:
        break;
    }
  }
  if (type.kind === 'array') return formatText(type, value, { timeZone: resolveTimeZone(ctx.timeZone) });
  return formatText(type, value);
}

/** value::text (the I/O conversion cast, with bool and bpchar's own casts). */
export function castText(type: SqlType, value: Datum, ctx: EvalContext): string {
  return castDatum(value, type, TEXT, 'explicit', { timeZone: resolveTimeZone(ctx.timeZone) }) as string;
}

const TEXT = scalarType('text');
