import { SqlError, SqlStates } from '../../../common/errors';
import type { Datum, SqlType } from '../types/datum';
import type { EvalContext } from './eval-context';
import type {
  AggregateImpl,
  AggregateOverload,
  ArgPattern,
  BuiltinRegistry,
  Overload,
  OutputColumn,
  ScalarImpl,
  ScalarOverload,
  SetReturningImpl,
  SetReturningOverload,
  Volatility,
} from './registry';
import { isPolymorphicSpec, specType } from './registry';
import type { TypeCategory } from './type-info';
import {
  arrayOf,
  canImplicitlyCast,
  commonType,
  isPreferredType,
  isUnknown,
  sameType,
  T,
  typeCategory,
  typeDisplayName,
} from './type-info';

/**
 * Overload resolution, following PostgreSQL's rules (manual §10.2 operators, §10.3
 * functions) in the cases our catalogue exercises:
 *
 * 1. Candidates: overloads with the name and the number of arguments (VARIADIC
 *    expanded).
 * 2. An exact match on every argument type wins. For a binary operator with one unknown
 *    (an untyped literal or parameter), the unknown is taken as the other side's type.
 * 3. Keep the candidates each argument can reach by an implicit cast (an unknown reaches
 *    every type; polymorphic arguments must agree on one element type). One left: done.
 * 4. Keep those with the most exact matches; then those with the most arguments of a
 *    preferred type (of the argument's category) where a cast is needed.
 * 5. For unknown arguments, prefer candidates taking the string category there, else a
 *    single category if all candidates agree; within it, preferred types.
 * 6. When the known arguments all have one type, try it for the unknowns.
 * 7. Still more than one: 42725 ambiguous; none: 42883 does not exist.
 *
 * The result names the overload, the type every argument must be cast to (the planner
 * inserts the casts) and the result type.
 */

/** What the planner needs to call a resolved scalar function or operator. */
export interface ResolvedScalar {
  readonly kind: 'function' | 'operator';
  readonly name: string;
  readonly fn: ScalarImpl;
  /** The type each argument must have when `fn` is called. */
  readonly argTypes: readonly SqlType[];
  /** Per argument: the type to cast it to, or undefined when it already has the right type. */
  readonly casts: readonly (SqlType | undefined)[];
  readonly type: SqlType;
  /** NULL in any argument gives NULL without calling `fn`. */
  readonly strict: boolean;
  readonly volatility: Volatility;
  /** volatility === 'volatile': the call must not be folded or deduplicated. */
  readonly volatile: boolean;
  readonly overload: ScalarOverload;
}

export interface ResolvedAggregate extends AggregateImpl {
  readonly name: string;
  readonly argTypes: readonly SqlType[];
  readonly casts: readonly (SqlType | undefined)[];
  readonly type: SqlType;
  /** Rows with a NULL argument are skipped (not given to `step`). */
  readonly skipNulls: boolean;
  readonly overload: AggregateOverload;
}

export interface ResolvedSetReturning {
  readonly name: string;
  readonly fn: SetReturningImpl;
  readonly argTypes: readonly SqlType[];
  readonly casts: readonly (SqlType | undefined)[];
  /** The type of the function's value in a scalar position (its single column's, or record). */
  readonly type: SqlType;
  readonly columns: readonly OutputColumn[];
  /** A NULL argument gives no rows. */
  readonly strict: boolean;
  readonly volatility: Volatility;
  readonly overload: SetReturningOverload;
}

export type ResolvedFunction =
  | ({ readonly kind: 'function' } & ResolvedScalar)
  | ({ readonly kind: 'aggregate' } & ResolvedAggregate)
  | ({ readonly kind: 'set-returning' } & ResolvedSetReturning);

interface Candidate<O extends Overload> {
  readonly overload: O;
  /** The declared argument patterns, expanded to the call's number of arguments. */
  readonly declared: readonly ArgPattern[];
}

interface Binding {
  readonly argTypes: readonly SqlType[];
  readonly resultType: SqlType;
}

function expand<O extends Overload>(overload: O, nargs: number): Candidate<O> | undefined {
  const args = overload.args;
  if (!overload.variadic) return args.length === nargs ? { overload, declared: args } : undefined;
  if (nargs < args.length) return undefined;
  const last = args[args.length - 1] as ArgPattern;
  const declared = args.slice(0, -1);
  while (declared.length < nargs) declared.push(last);
  return { overload, declared };
}

/**
 * Binds polymorphic argument patterns to concrete types (check_generic_type_consistency
 * and enforce_generic_type_consistency), or undefined when the inputs do not fit.
 * Polymorphic arguments given only unknowns bind to text (PostgreSQL refuses some of
 * these: 'could not determine polymorphic type').
 */
function bindPolymorphic(
  declared: readonly ArgPattern[],
  inputs: readonly SqlType[],
): { elem: SqlType; compat: SqlType } | undefined {
  let elem: SqlType | undefined;
  const compatTypes: SqlType[] = [];
  for (let i = 0; i < declared.length; i++) {
    const p = declared[i] as ArgPattern;
    const input = inputs[i] as SqlType;
    if (p.kind !== 'poly' || p.poly === 'any' || isUnknown(input)) continue;
    switch (p.poly) {
      case 'anyelement':
      case 'anynonarray': {
        if (p.poly === 'anynonarray' && input.kind === 'array') return undefined;
        if (elem !== undefined && !sameType(elem, input)) return undefined;
        elem = input;
        break;
      }
      case 'anyarray': {
        if (input.kind !== 'array') return undefined;
        if (elem !== undefined && !sameType(elem, input.element)) return undefined;
        elem = input.element;
        break;
      }
      case 'anycompatible':
      case 'anycompatiblenonarray':
        if (p.poly === 'anycompatiblenonarray' && input.kind === 'array') return undefined;
        compatTypes.push(input);
        break;
      case 'anycompatiblearray':
        if (input.kind !== 'array') return undefined;
        compatTypes.push(input.element);
        break;
    }
  }
  // anynonarray must not bind to an array through an anyarray elsewhere either.
  if (elem?.kind === 'array' && declared.some((p) => p.kind === 'poly' && p.poly === 'anynonarray')) return undefined;
  const compat = commonType(compatTypes);
  if (compat === undefined) return undefined;
  return { elem: elem ?? T.text, compat };
}

function concreteType(p: ArgPattern, input: SqlType, poly: { elem: SqlType; compat: SqlType }): SqlType {
  if (p.kind === 'type') return p.type;
  switch (p.poly) {
    case 'anyelement':
    case 'anynonarray':
      return poly.elem;
    case 'anyarray':
      return arrayOf(poly.elem);
    case 'anycompatible':
    case 'anycompatiblenonarray':
      return poly.compat;
    case 'anycompatiblearray':
      return arrayOf(poly.compat);
    case 'any':
      // "any" takes the argument as it is, an unknown literal included.
      return input;
  }
}

/** Whether the inputs can be passed to the candidate (can_coerce_type with COERCION_IMPLICIT). */
function coercible(candidate: Candidate<Overload>, inputs: readonly SqlType[]): boolean {
  const { declared } = candidate;
  let hasPoly = false;
  for (let i = 0; i < declared.length; i++) {
    const p = declared[i] as ArgPattern;
    const input = inputs[i] as SqlType;
    if (p.kind === 'poly') {
      hasPoly = true;
      continue;
    }
    if (!canImplicitlyCast(input, p.type)) return false;
  }
  if (!hasPoly) return true;
  const poly = bindPolymorphic(declared, inputs);
  if (poly === undefined) return false;
  // anycompatible arguments are cast to the common type: each must reach it.
  for (let i = 0; i < declared.length; i++) {
    const p = declared[i] as ArgPattern;
    if (p.kind !== 'poly' || p.poly === 'any') continue;
    const input = inputs[i] as SqlType;
    if (!canImplicitlyCast(input, concreteType(p, input, poly))) return false;
  }
  return true;
}

function bind(candidate: Candidate<Overload>, inputs: readonly SqlType[]): Binding {
  const poly = bindPolymorphic(candidate.declared, inputs) ?? { elem: T.text, compat: T.text };
  const argTypes = candidate.declared.map((p, i) => concreteType(p, inputs[i] as SqlType, poly));
  const result = candidate.overload.result;
  let resultType: SqlType;
  if (typeof result === 'function') resultType = result(argTypes);
  else if (isPolymorphicSpec(result)) resultType = concreteType({ kind: 'poly', poly: result }, T.unknown, poly);
  else resultType = specType(result);
  return { argTypes, resultType };
}

function declaredCategory(p: ArgPattern): TypeCategory | 'P' {
  return p.kind === 'type' ? typeCategory(p.type) : 'P';
}

function declaredPreferred(p: ArgPattern): boolean {
  return p.kind === 'type' && isPreferredType(p.type);
}

function isExact(p: ArgPattern, input: SqlType): boolean {
  return p.kind === 'type' && sameType(p.type, input);
}

/** Keeps the candidates scoring highest; all of them when nobody scores. */
function keepBest<C>(candidates: readonly C[], score: (c: C) => number): C[] {
  let best = 0;
  let kept: C[] = [];
  for (const c of candidates) {
    const s = score(c);
    if (s > best) {
      best = s;
      kept = [c];
    } else if (s === best && s > 0) {
      kept.push(c);
    }
  }
  return best === 0 ? [...candidates] : kept;
}

/** PostgreSQL's func_select_candidate (steps 4 to 6 above). */
function selectCandidate<O extends Overload>(candidates: readonly Candidate<O>[], inputs: readonly SqlType[]): Candidate<O>[] {
  const n = inputs.length;
  let current = keepBest(candidates, (c) => {
    let matches = 0;
    for (let i = 0; i < n; i++) {
      if (!isUnknown(inputs[i] as SqlType) && isExact(c.declared[i] as ArgPattern, inputs[i] as SqlType)) matches++;
    }
    return matches;
  });
  if (current.length === 1) return current;

  current = keepBest(current, (c) => {
    let matches = 0;
    for (let i = 0; i < n; i++) {
      const input = inputs[i] as SqlType;
      if (isUnknown(input)) continue;
      const p = c.declared[i] as ArgPattern;
      // A preferred type of the input's own category counts, as does an exact match.
      if (isExact(p, input) || (declaredPreferred(p) && declaredCategory(p) === typeCategory(input))) matches++;
    }
    return matches;
  });
  if (current.length === 1) return current;

  const unknownPositions = inputs.flatMap((t, i) => (isUnknown(t) ? [i] : []));
  if (unknownPositions.length === 0) return current;

  // Step 5: categories at the unknown positions.
  let resolved = true;
  const slots: { category: string; preferred: boolean }[] = [];
  for (const i of unknownPositions) {
    let category: string | undefined;
    let preferred = false;
    for (const c of current) {
      const p = c.declared[i] as ArgPattern;
      const cat = declaredCategory(p);
      const pref = declaredPreferred(p);
      if (category === undefined) {
        category = cat;
        preferred = pref;
      } else if (cat === category) {
        preferred ||= pref;
      } else if (cat === 'S') {
        // The string category wins: an unknown literal looks most like a string.
        category = cat;
        preferred = pref;
      } else if (category !== 'S') {
        resolved = false;
        break;
      }
    }
    if (!resolved) break;
    slots.push({ category: category as string, preferred });
  }
  if (resolved) {
    const filtered = current.filter((c) =>
      unknownPositions.every((i, k) => {
        const slot = slots[k] as { category: string; preferred: boolean };
        const p = c.declared[i] as ArgPattern;
        return declaredCategory(p) === slot.category && (!slot.preferred || declaredPreferred(p));
      }),
    );
    if (filtered.length > 0) current = filtered;
    if (current.length === 1) return current;
  }

  // Step 6: the known arguments all have one type; assume it for the unknowns.
  const known = inputs.filter((t) => !isUnknown(t));
  const first = known[0];
  if (first !== undefined && known.every((t) => sameType(t, first))) {
    const assumed = inputs.map((t) => (isUnknown(t) ? first : t));
    const fitting = current.filter((c) => coercible(c, assumed));
    if (fitting.length === 1) return fitting;
  }
  return current;
}

function chooseCandidate<O extends Overload>(
  overloads: readonly O[],
  inputs: readonly SqlType[],
  isOperator: boolean,
): { outcome: 'found'; candidate: Candidate<O> } | { outcome: 'none' } | { outcome: 'ambiguous' } {
  const candidates: Candidate<O>[] = [];
  for (const o of overloads) {
    const c = expand(o, inputs.length);
    if (c !== undefined) candidates.push(c);
  }
  // Exact match; a binary operator's lone unknown side is taken as the other side's type.
  let probe = inputs;
  if (isOperator && inputs.length === 2) {
    const [l, r] = inputs as [SqlType, SqlType];
    if (isUnknown(l) && !isUnknown(r)) probe = [r, r];
    else if (isUnknown(r) && !isUnknown(l)) probe = [l, l];
  }
  const exact = candidates.filter((c) => c.declared.every((p, i) => isExact(p, probe[i] as SqlType)));
  if (exact.length === 1) return { outcome: 'found', candidate: exact[0] as Candidate<O> };

  const viable = candidates.filter((c) => coercible(c, inputs));
  if (viable.length === 0) return { outcome: 'none' };
  if (viable.length === 1) return { outcome: 'found', candidate: viable[0] as Candidate<O> };
  const chosen = selectCandidate(viable, inputs);
  if (chosen.length === 1) return { outcome: 'found', candidate: chosen[0] as Candidate<O> };
  return { outcome: 'ambiguous' };
}

function castsFor(inputs: readonly SqlType[], argTypes: readonly SqlType[]): (SqlType | undefined)[] {
  return argTypes.map((target, i) => {
    const input = inputs[i] as SqlType;
    return sameType(input, target) ? undefined : target;
  });
}

/** Argument types as the planner passes them: unchanged where no cast is needed (typmods kept). */
function finalArgTypes(inputs: readonly SqlType[], argTypes: readonly SqlType[]): SqlType[] {
  return argTypes.map((target, i) => {
    const input = inputs[i] as SqlType;
    return sameType(input, target) ? input : target;
  });
}

function describeOperator(name: string, left: SqlType | undefined, right: SqlType): string {
  return left === undefined ? `${name} ${typeDisplayName(right)}` : `${typeDisplayName(left)} ${name} ${typeDisplayName(right)}`;
}

function describeFunction(name: string, argTypes: readonly SqlType[]): string {
  return `${name}(${argTypes.map(typeDisplayName).join(', ')})`;
}

const CAST_HINT = 'You might need to add explicit type casts.';

export function operatorDoesNotExist(name: string, left: SqlType | undefined, right: SqlType): SqlError {
  return new SqlError(SqlStates.undefinedFunction, `operator does not exist: ${describeOperator(name, left, right)}`, {
    hint: `No operator matches the given name and argument types. ${CAST_HINT}`,
  });
}

export function functionDoesNotExist(name: string, argTypes: readonly SqlType[]): SqlError {
  return new SqlError(SqlStates.undefinedFunction, `function ${describeFunction(name, argTypes)} does not exist`, {
    hint: `No function matches the given name and argument types. ${CAST_HINT}`,
  });
}

/** Operator names the parser may hand us under another spelling. */
function canonicalOperator(name: string): string {
  return name === '!=' ? '<>' : name;
}

/**
 * Resolves `left name right` (or the prefix operator `name right` when left is
 * undefined). Throws 42883 when no operator fits, 42725 when several fit equally.
 */
export function resolveOperatorIn(
  registry: BuiltinRegistry,
  name: string,
  left: SqlType | undefined,
  right: SqlType,
): ResolvedScalar {
  const opName = canonicalOperator(name);
  const inputs = left === undefined ? [right] : [left, right];
  const result = chooseCandidate(registry.operatorOverloads(opName, inputs.length), inputs, true);
  switch (result.outcome) {
    case 'none':
      throw operatorDoesNotExist(opName, left, right);
    case 'ambiguous':
      throw new SqlError(SqlStates.ambiguousFunction, `operator is not unique: ${describeOperator(opName, left, right)}`, {
        hint: `Could not choose a best candidate operator. ${CAST_HINT}`,
      });
    case 'found':
      return scalarResult(result.candidate as Candidate<ScalarOverload>, inputs);
  }
}

function scalarResult(candidate: Candidate<ScalarOverload>, inputs: readonly SqlType[]): ResolvedScalar {
  const { argTypes, resultType } = bind(candidate, inputs);
  const o = candidate.overload;
  return {
    kind: o.kind,
    name: o.name,
    fn: o.bind(argTypes, resultType),
    argTypes: finalArgTypes(inputs, argTypes),
    casts: castsFor(inputs, argTypes),
    type: resultType,
    strict: o.strict,
    volatility: o.volatility,
    volatile: o.volatility === 'volatile',
    overload: o,
  };
}

/**
 * Resolves a function call `name(argTypes...)` among scalar, aggregate and
 * set-returning built-ins. `name` must already be lowercased (unquoted identifiers) and
 * without a `pg_catalog.` qualifier.
 */
export function resolveFunctionIn(registry: BuiltinRegistry, name: string, argTypes: readonly SqlType[]): ResolvedFunction {
  const result = chooseCandidate(registry.functionOverloads(name), argTypes, false);
  switch (result.outcome) {
    case 'none':
      throw functionDoesNotExist(name, argTypes);
    case 'ambiguous':
      throw new SqlError(SqlStates.ambiguousFunction, `function ${describeFunction(name, argTypes)} is not unique`, {
        hint: `Could not choose a best candidate function. ${CAST_HINT}`,
      });
    case 'found':
      break;
  }
  const candidate = result.candidate;
  const o = candidate.overload;
  switch (o.kind) {
    case 'function':
    case 'operator': {
      const r = scalarResult(candidate as Candidate<ScalarOverload>, argTypes);
      return { ...r, kind: 'function' };
    }
    case 'aggregate': {
      const { argTypes: bound, resultType } = bind(candidate, argTypes);
      const impl = o.bind(bound, resultType);
      return {
        kind: 'aggregate',
        name: o.name,
        init: impl.init,
        step: impl.step,
        final: impl.final,
        ...(impl.merge === undefined ? {} : { merge: impl.merge }),
        argTypes: finalArgTypes(argTypes, bound),
        casts: castsFor(argTypes, bound),
        type: resultType,
        skipNulls: o.strict,
        overload: o,
      };
    }
    case 'set-returning': {
      const { argTypes: bound, resultType } = bind(candidate, argTypes);
      const columns = o.columns(bound, resultType);
      return {
        kind: 'set-returning',
        name: o.name,
        fn: o.bind(bound, resultType),
        argTypes: finalArgTypes(argTypes, bound),
        casts: castsFor(argTypes, bound),
        type: columns.length === 1 ? (columns[0] as OutputColumn).type : resultType,
        columns,
        strict: o.strict,
        volatility: o.volatility,
        overload: o,
      };
    }
  }
}

/** Calls a resolved scalar, applying strictness (for tests and constant folding). */
export function invokeScalar(resolved: Pick<ResolvedScalar, 'fn' | 'strict'>, args: readonly Datum[], ctx: EvalContext): Datum {
  if (resolved.strict && args.some((a) => a === null)) return null;
  return resolved.fn(args, ctx);
}

/** Runs a resolved aggregate over rows of arguments (for tests and constant folding). */
export function runAggregate(
  resolved: Pick<ResolvedAggregate, 'init' | 'step' | 'final' | 'skipNulls'>,
  rows: readonly (readonly Datum[])[],
): Datum {
  let state = resolved.init();
  for (const row of rows) {
    if (resolved.skipNulls && row.some((a) => a === null)) continue;
    state = resolved.step(state, row);
  }
  return resolved.final(state);
}
