import { SqlError, SqlStates } from '../../../common/errors';
import type { SequenceDataType, SequenceDescriptor } from './descriptors';

/**
 * CREATE / ALTER SEQUENCE options resolved the way PostgreSQL's sequence.c (init_params)
 * does: defaults that follow the direction and the data type, then the cross-checks,
 * each failing with 22023 and PostgreSQL's message. Pure.
 */

export type SequenceOptions = Pick<SequenceDescriptor, 'dataType' | 'start' | 'increment' | 'minValue' | 'maxValue' | 'cache' | 'cycle'>;

/**
 * What a statement says. An absent field keeps the current setting (ALTER) or takes the
 * default (CREATE); `null` is NO MINVALUE / NO MAXVALUE, or RESTART without a value.
 */
export interface SequenceOptionChanges {
  readonly dataType?: SequenceDataType;
  readonly increment?: bigint;
  readonly minValue?: bigint | null;
  readonly maxValue?: bigint | null;
  readonly start?: bigint;
  readonly restart?: bigint | null;
  readonly cache?: bigint;
  readonly cycle?: boolean;
}

/** An existing sequence: its options and where it stands (`lastValue` of its state). */
export interface CurrentSequence {
  readonly options: SequenceOptions;
  readonly lastValue: bigint;
}

export interface ResolvedSequenceOptions {
  readonly options: SequenceOptions;
  /** Set when the statement (re)starts the sequence: the value the next nextval returns. */
  readonly restartAt?: bigint;
}

interface TypeBounds {
  readonly min: bigint;
  readonly max: bigint;
  readonly name: string;
}

const TYPE_BOUNDS: Readonly<Record<SequenceDataType, TypeBounds>> = {
  int2: { min: -32768n, max: 32767n, name: 'smallint' },
  int4: { min: -2147483648n, max: 2147483647n, name: 'integer' },
  int8: { min: -9223372036854775808n, max: 9223372036854775807n, name: 'bigint' },
};

/** The type's SQL name, as PostgreSQL's format_type prints it (smallint, integer, bigint). */
export function sequenceTypeName(type: SequenceDataType): string {
  return TYPE_BOUNDS[type].name;
}

function invalid(message: string): SqlError {
  return new SqlError(SqlStates.invalidParameterValue, message);
}

/**
 * The options after `changes`: of a new sequence when `current` is undefined, else of
 * `current` altered. `restartAt` is the new sequence's start, or RESTART's value.
 */
export function resolveSequenceOptions(changes: SequenceOptionChanges, current?: CurrentSequence): ResolvedSequenceOptions {
  const old = current?.options;
  const isInit = old === undefined;
  let resetMax = false;
  let resetMin = false;
  if (changes.dataType !== undefined && old !== undefined) {
    // Bounds that were the old type's own follow the type; chosen ones stay.
    resetMax = old.maxValue === TYPE_BOUNDS[old.dataType].max;
    resetMin = old.minValue === TYPE_BOUNDS[old.dataType].min;
  }
  const dataType = changes.dataType ?? old?.dataType ?? 'int8';
  const bounds = TYPE_BOUNDS[dataType];

  const increment = changes.increment ?? old?.increment ?? 1n;
  if (increment === 0n) throw invalid('INCREMENT must not be zero');
  const cycle = changes.cycle ?? old?.cycle ?? false;

  let maxValue: bigint;
  if (changes.maxValue !== undefined && changes.maxValue !== null) maxValue = changes.maxValue;
  else if (isInit || changes.maxValue === null || resetMax) maxValue = increment > 0n || resetMax ? bounds.max : -1n;
  else maxValue = old.maxValue;
  if (maxValue < bounds.min || maxValue > bounds.max) {
    throw invalid(`MAXVALUE (${maxValue}) is out of range for sequence data type ${bounds.name}`);
  }

  let minValue: bigint;
  if (changes.minValue !== undefined && changes.minValue !== null) minValue = changes.minValue;
  else if (isInit || changes.minValue === null || resetMin) minValue = increment < 0n || resetMin ? bounds.min : 1n;
  else minValue = old.minValue;
  if (minValue < bounds.min || minValue > bounds.max) {
    throw invalid(`MINVALUE (${minValue}) is out of range for sequence data type ${bounds.name}`);
  }
  if (minValue >= maxValue) {
    throw invalid(`MINVALUE (${minValue}) must be less than MAXVALUE (${maxValue})`);
  }

  const start = changes.start ?? old?.start ?? (increment > 0n ? minValue : maxValue);
  if (start < minValue) throw invalid(`START value (${start}) cannot be less than MINVALUE (${minValue})`);
  if (start > maxValue) throw invalid(`START value (${start}) cannot be greater than MAXVALUE (${maxValue})`);

  const restartAt = changes.restart !== undefined ? (changes.restart ?? start) : isInit ? start : undefined;
  // RESTART's value, or the current one when the bounds moved under it.
  const checked = restartAt ?? current?.lastValue;
  if (checked !== undefined && checked < minValue) throw invalid(`RESTART value (${checked}) cannot be less than MINVALUE (${minValue})`);
  if (checked !== undefined && checked > maxValue) throw invalid(`RESTART value (${checked}) cannot be greater than MAXVALUE (${maxValue})`);

  const cache = changes.cache ?? old?.cache ?? 1n;
  if (cache <= 0n) throw invalid(`CACHE (${cache}) must be greater than zero`);

  const options: SequenceOptions = { dataType, start, increment, minValue, maxValue, cache, cycle };
  return restartAt === undefined ? { options } : { options, restartAt };
}
