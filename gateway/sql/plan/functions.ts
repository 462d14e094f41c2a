import type { Datum, SqlType } from '../types/datum';
import type { BuiltinImpl } from './expr';

/**
 * What the analyzer asks of the built-ins (gateway/sql/builtins) and of the type system
 * (gateway/sql/types): overload resolution and casts. Kept behind this one file so the
 * analyzer does not depend on how the catalogue is laid out.
 */

export interface ResolvedCall {
  readonly fn: BuiltinImpl;
  /** The types the arguments must be cast to before the call. */
  readonly argTypes: readonly SqlType[];
  readonly type: SqlType;
  readonly strict: boolean;
  readonly volatile: boolean;
  /** Same result for the same arguments regardless of session or time: may be folded at planning. */
  readonly immutable: boolean;
}

export interface ResolvedAggregate {
  readonly argTypes: readonly SqlType[];
  readonly type: SqlType;
  readonly init: () => unknown;
  readonly step: (state: unknown, args: Datum[]) => unknown;
  readonly final: (state: unknown) => Datum;
  readonly skipNulls: boolean;
}

export interface ResolvedSetFunction {
  readonly argTypes: readonly SqlType[];
  readonly columns: readonly { readonly name: string; readonly type: SqlType }[];
  readonly fn: (args: Datum[]) => Iterable<Datum[]>;
}

export type CastContext = 'implicit' | 'assignment' | 'explicit';
