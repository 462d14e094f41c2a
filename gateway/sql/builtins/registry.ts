import { assert } from '../../../common/errors';
import type { Datum, ScalarTypeName, SqlType } from '../types/datum';
import { scalarType } from '../types/datum';
import type { EvalContext } from './eval-context';
import { arrayOf } from './type-info';

/**
 * The overload table: every built-in operator, function, aggregate and set-returning
 * function with its signature, as PostgreSQL's pg_operator / pg_proc describe them.
 * Resolution (resolve.ts) picks one overload for a call's argument types; this file only
 * holds and indexes the definitions.
 *
 * Signatures are written as strings ('int4', 'text[]', 'anyelement') and parsed once
 * when an entry is added.
 */

export type Volatility = 'immutable' | 'stable' | 'volatile';

/** PostgreSQL's polymorphic pseudo-types, and "any" (any type, no coercion). */
export type PolymorphicKind =
  | 'anyelement'
  | 'anyarray'
  | 'anynonarray'
  | 'anycompatible'
  | 'anycompatiblearray'
  | 'anycompatiblenonarray'
  | 'any';

export type TypeSpec = ScalarTypeName | `${ScalarTypeName}[]` | PolymorphicKind;

export type ArgPattern =
  | { readonly kind: 'type'; readonly type: SqlType }
  | { readonly kind: 'poly'; readonly poly: PolymorphicKind };

/** A result type: fixed, polymorphic (bound from the arguments), or computed from the argument types. */
export type ResultSpec = TypeSpec | ((argTypes: readonly SqlType[]) => SqlType);

/**
 * A scalar built-in: `args` are already cast to the resolved argument types. A strict
 * built-in is never called with a NULL argument (the caller returns NULL instead).
 */
export type ScalarImpl = (args: readonly Datum[], ctx: EvalContext) => Datum;

/** Builds an implementation for the resolved argument types (for built-ins whose behaviour depends on them). */
export type ScalarBinder = (argTypes: readonly SqlType[], resultType: SqlType) => ScalarImpl;

export interface Signature {
  readonly name: string;
  readonly args: readonly ArgPattern[];
  /** The last argument pattern repeats (one or more times): PostgreSQL's VARIADIC. */
  readonly variadic: boolean;
  readonly result: ResultSpec;
  readonly strict: boolean;
  readonly volatility: Volatility;
}

export interface ScalarOverload extends Signature {
  readonly kind: 'function' | 'operator';
  readonly bind: ScalarBinder;
}

/**
 * An aggregate as a state machine. `init` makes a fresh state; `step` folds one row's
 * arguments in and returns the new state; `final` reads the result (and must not change
 * the state); `merge` combines two partial states (for parallel aggregation).
 *
 * Ownership: `step` and `merge` may update the state they are given and return it, so a
 * caller must use the returned state and drop the one it passed in. For a strict
 * aggregate the caller skips rows with a NULL argument and never calls `step` for them.
 * DISTINCT and ORDER BY inside the call are the executor's: it feeds `step` the rows in
 * the order and multiplicity it wants.
 */
export interface AggregateImpl<S = unknown> {
  readonly init: () => S;
  readonly step: (state: S, args: readonly Datum[]) => S;
  readonly final: (state: S) => Datum;
  readonly merge?: (a: S, b: S) => S;
}

export interface AggregateOverload extends Signature {
  readonly kind: 'aggregate';
  readonly bind: (argTypes: readonly SqlType[], resultType: SqlType) => AggregateImpl;
}

export interface OutputColumn {
  readonly name: string;
  readonly type: SqlType;
}

/** A set-returning function: each yielded array is one output row, one datum per column. */
export type SetReturningImpl = (args: readonly Datum[], ctx: EvalContext) => Iterable<Datum[]>;

export interface SetReturningOverload extends Signature {
  readonly kind: 'set-returning';
  readonly columns: (argTypes: readonly SqlType[], resultType: SqlType) => readonly OutputColumn[];
  readonly bind: (argTypes: readonly SqlType[], resultType: SqlType) => SetReturningImpl;
}

export type Overload = ScalarOverload | AggregateOverload | SetReturningOverload;

interface CommonDef {
  readonly name: string;
  readonly args: readonly TypeSpec[];
  readonly result: ResultSpec;
  readonly variadic?: boolean;
  /** Default true: NULL in, NULL out. */
  readonly strict?: boolean;
  /** Default immutable. */
  readonly volatility?: Volatility;
}

/** A scalar function or operator as the tables write it: either `impl`, or `bind` when the code depends on the types. */
export type ScalarDef = CommonDef & ({ readonly impl: ScalarImpl } | { readonly bind: ScalarBinder });

export interface AggregateDef extends CommonDef {
  readonly bind: (argTypes: readonly SqlType[], resultType: SqlType) => AggregateImpl;
}

export interface SetReturningDef extends CommonDef {
  readonly columns:
    | readonly { readonly name: string; readonly type: TypeSpec }[]
    | ((argTypes: readonly SqlType[], resultType: SqlType) => readonly OutputColumn[]);
  readonly bind: (argTypes: readonly SqlType[], resultType: SqlType) => SetReturningImpl;
}

const POLYMORPHIC: ReadonlySet<string> = new Set<PolymorphicKind>([
  'anyelement',
  'anyarray',
  'anynonarray',
  'anycompatible',
  'anycompatiblearray',
  'anycompatiblenonarray',
  'any',
]);

export function isPolymorphicSpec(spec: TypeSpec): spec is PolymorphicKind {
  return POLYMORPHIC.has(spec);
}

/** Parses a concrete (non-polymorphic) type spec. */
export function specType(spec: Exclude<TypeSpec, PolymorphicKind>): SqlType {
  if (spec.endsWith('[]')) return arrayOf(scalarType(spec.slice(0, -2) as ScalarTypeName));
  return scalarType(spec as ScalarTypeName);
}

export function argPattern(spec: TypeSpec): ArgPattern {
  return isPolymorphicSpec(spec) ? { kind: 'poly', poly: spec } : { kind: 'type', type: specType(spec) };
}

function signature(def: CommonDef): Signature {
  assert(!def.variadic || def.args.length > 0, `variadic ${def.name} needs an argument`);
  return {
    name: def.name,
    args: def.args.map(argPattern),
    variadic: def.variadic ?? false,
    result: def.result,
    strict: def.strict ?? true,
    volatility: def.volatility ?? 'immutable',
  };
}

function scalarBinder(def: ScalarDef): ScalarBinder {
  if ('bind' in def) return def.bind;
  const impl = def.impl;
  return () => impl;
}

/** Operators are keyed by name and arity: `-` the prefix operator and `-` the infix one are different entries. */
function operatorKey(name: string, arity: number): string {
  return `${name}/${arity}`;
}

/** The set of overloads resolution chooses from. Names are lowercase. */
export class BuiltinRegistry {
  private readonly functions = new Map<string, Overload[]>();
  private readonly operators = new Map<string, ScalarOverload[]>();

  addFunction(def: ScalarDef): this {
    this.push(this.functions, def.name, { ...signature(def), kind: 'function', bind: scalarBinder(def) });
    return this;
  }

  /** An operator: one argument is a prefix operator, two an infix one. */
  addOperator(def: ScalarDef): this {
    assert(def.args.length === 1 || def.args.length === 2, `operator ${def.name} must take one or two arguments`);
    const overload: ScalarOverload = { ...signature(def), kind: 'operator', bind: scalarBinder(def) };
    this.push(this.operators, operatorKey(def.name, def.args.length), overload);
    return this;
  }

  addAggregate(def: AggregateDef): this {
    this.push(this.functions, def.name, { ...signature(def), kind: 'aggregate', bind: def.bind });
    return this;
  }

  addSetReturning(def: SetReturningDef): this {
    const columns = def.columns;
    const overload: SetReturningOverload = {
      ...signature(def),
      kind: 'set-returning',
      bind: def.bind,
      columns:
        typeof columns === 'function'
          ? columns
          : (_argTypes, resultType) =>
              columns.map((c) => ({ name: c.name, type: isPolymorphicSpec(c.type) ? resultType : specType(c.type) })),
    };
    this.push(this.functions, def.name, overload);
    return this;
  }

  /** Every function-call overload (scalar, aggregate and set-returning) of a name. */
  functionOverloads(name: string): readonly Overload[] {
    return this.functions.get(name) ?? [];
  }

  operatorOverloads(name: string, arity: number): readonly ScalarOverload[] {
    return this.operators.get(operatorKey(name, arity)) ?? [];
  }

  /** What kinds of function a name has: lets the analyzer tell aggregates from scalar calls. */
  functionKinds(name: string): ReadonlySet<Overload['kind']> {
    return new Set(this.functionOverloads(name).map((o) => o.kind));
  }

  functionNames(): readonly string[] {
    return [...this.functions.keys()];
  }

  operatorNames(): readonly string[] {
    return [...new Set([...this.operators.keys()].map((k) => k.slice(0, k.lastIndexOf('/'))))];
  }

  private push<O extends Overload>(map: Map<string, O[]>, key: string, overload: O): void {
    const list = map.get(key);
    if (list === undefined) map.set(key, [overload]);
    else list.push(overload);
  }
}
