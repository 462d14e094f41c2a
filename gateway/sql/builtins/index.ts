/**
 * gateway/sql/builtins: PostgreSQL 15's operators, functions, aggregates and
 * set-returning functions, typed for overload resolution. See OVERVIEW.md.
 */

export type { EvalContext, SequenceAccess } from './eval-context';
export { DEFAULT_VERSION, fixedEvalContext } from './eval-context';

export type {
  AggregateDef,
  AggregateImpl,
  AggregateOverload,
  ArgPattern,
  OutputColumn,
  Overload,
  PolymorphicKind,
  ResultSpec,
  ScalarDef,
  ScalarImpl,
  ScalarOverload,
  SetReturningDef,
  SetReturningImpl,
  SetReturningOverload,
  Signature,
  TypeSpec,
  Volatility,
} from './registry';
export { BuiltinRegistry } from './registry';

export type { ResolvedAggregate, ResolvedFunction, ResolvedScalar, ResolvedSetReturning } from './resolve';
export {
  functionDoesNotExist,
  invokeScalar,
  operatorDoesNotExist,
  resolveFunctionIn,
  resolveOperatorIn,
  runAggregate,
} from './resolve';

export {
  defaultRegistry,
  isAggregateName,
  isFunctionName,
  isSetReturningName,
  resolveFunction,
  resolveOperator,
} from './catalogue';

export type { Bool3 } from './logic';
export { and3, not3, or3 } from './logic';

export type { TypeCategory } from './type-info';
export { canImplicitlyCast, commonType, isPreferredType, typeCategory, typeDisplayName } from './type-info';

export type { Comparator } from './compare-ops';
export { comparatorFor, equalityFor } from './compare-ops';

export { SEQUENCE_ARGUMENT_FUNCTIONS } from './sequence-functions';
