import type { SqlType } from '../types/datum';
import { aggregateDefs } from './aggregates';
import { arithmeticOperators } from './arith-ops';
import { arrayFunctions, arrayOperators } from './array-functions';
import { comparisonOperatorDefs } from './compare-ops';
import { datetimeFunctions } from './datetime-functions';
import { datetimeOperators } from './datetime-ops';
import { jsonbFunctions, jsonbOperators } from './jsonb-functions';
import { mathFunctions } from './math-functions';
import { BuiltinRegistry } from './registry';
import type { ResolvedFunction, ResolvedScalar } from './resolve';
import { resolveFunctionIn, resolveOperatorIn } from './resolve';
import { sequenceFunctions } from './sequence-functions';
import { setReturningDefs } from './set-returning';
import { stringFunctions, stringOperators } from './string-functions';
import { systemFunctions } from './system-functions';
import { toCharFunctions } from './to-char-functions';
import { toDateFunctions } from './to-date';

/**
 * The catalogue: every built-in registered once, and the resolution entry points over
 * it. Built lazily on first use.
 */

function build(): BuiltinRegistry {
  const r = new BuiltinRegistry();
  const operators = [
    arithmeticOperators,
    comparisonOperatorDefs,
    datetimeOperators,
    stringOperators,
    jsonbOperators,
    arrayOperators,
  ];
  for (const list of operators) {
    for (const def of list) r.addOperator(def);
  }
  for (const list of [
    mathFunctions,
    stringFunctions,
    datetimeFunctions,
    toCharFunctions,
    toDateFunctions,
    jsonbFunctions,
    arrayFunctions,
    systemFunctions,
    sequenceFunctions,
  ]) {
    for (const def of list) r.addFunction(def);
  }
  for (const def of aggregateDefs) r.addAggregate(def);
  for (const def of setReturningDefs) r.addSetReturning(def);
  return r;
}

let registry: BuiltinRegistry | undefined;

export function defaultRegistry(): BuiltinRegistry {
  registry ??= build();
  return registry;
}

/**
 * Resolves `left name right`, or the prefix operator `name right` when `left` is
 * undefined. 42883 when no operator fits, 42725 when several fit equally well.
 */
export function resolveOperator(name: string, left: SqlType | undefined, right: SqlType): ResolvedScalar {
  return resolveOperatorIn(defaultRegistry(), name, left, right);
}

/** Resolves a call by name (lowercase, unqualified) among scalar, aggregate and set-returning built-ins. */
export function resolveFunction(name: string, argTypes: readonly SqlType[]): ResolvedFunction {
  return resolveFunctionIn(defaultRegistry(), name, argTypes);
}

/** Whether `name` is an aggregate (every overload of an aggregate's name is one). */
export function isAggregateName(name: string): boolean {
  return defaultRegistry().functionKinds(name).has('aggregate');
}

export function isSetReturningName(name: string): boolean {
  return defaultRegistry().functionKinds(name).has('set-returning');
}

/** Whether any built-in function (of any kind) has this name. */
export function isFunctionName(name: string): boolean {
  return defaultRegistry().functionKinds(name).size > 0;
}
