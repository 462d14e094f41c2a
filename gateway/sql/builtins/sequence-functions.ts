import { SqlError, SqlStates } from '../../../common/errors';
import type { Datum } from '../types/datum';
import type { EvalContext, SequenceAccess } from './eval-context';
import type { ScalarDef } from './registry';

/**
 * Sequence manipulation functions (§9.17): nextval, currval, setval, lastval. The
 * sequence argument is PostgreSQL's regclass, an OID here; the analyzer turns a name
 * ('s', 'public.s') into it. All are volatile: never folded, evaluated per call. The
 * work is the session's (EvalContext.sequences).
 */

function sequences(ctx: EvalContext): SequenceAccess {
  if (ctx.sequences === undefined) {
    throw new SqlError(SqlStates.featureNotSupported, 'sequence functions are not available in this context');
  }
  return ctx.sequences;
}

function oidOf(d: Datum | undefined): number {
  return Number(d as bigint);
}

export const sequenceFunctions: readonly ScalarDef[] = [
  { name: 'nextval', args: ['oid'], result: 'int8', volatility: 'volatile', impl: (a, ctx) => sequences(ctx).nextval(oidOf(a[0])) },
  { name: 'currval', args: ['oid'], result: 'int8', volatility: 'volatile', impl: (a, ctx) => sequences(ctx).currval(oidOf(a[0])) },
  { name: 'setval', args: ['oid', 'int8'], result: 'int8', volatility: 'volatile', impl: (a, ctx) => sequences(ctx).setval(oidOf(a[0]), a[1] as bigint, true) },
  {
    name: 'setval',
    args: ['oid', 'int8', 'bool'],
    result: 'int8',
    volatility: 'volatile',
    impl: (a, ctx) => sequences(ctx).setval(oidOf(a[0]), a[1] as bigint, a[2] as boolean),
  },
  { name: 'lastval', args: [], result: 'int8', volatility: 'volatile', impl: (_a, ctx) => sequences(ctx).lastval() },
];

/** Functions whose first argument names a sequence (a name given as text is read as regclass). */
export const SEQUENCE_ARGUMENT_FUNCTIONS: ReadonlySet<string> = new Set(['nextval', 'currval', 'setval']);
