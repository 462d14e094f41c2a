import { SqlError, SqlStates } from '../../../common/errors';
import type { SqlType } from '../types/datum';
import type { Expr } from './expr';
import type { OutputColumn } from './plan';

/**
 * Name resolution: the columns an expression can see. A scope is the row layout of the
 * operator that evaluates the expression; `parent` is the enclosing query's scope, whose
 * columns a correlated subquery reads as `outer` references.
 */
export class Scope {
  /** Set when a column of an enclosing scope was used (the subquery is correlated). */
  correlated = false;

  /**
   * A transparent scope is no row level of its own (it only observes whether the
   * scopes inside it reach past it): references through it do not count it.
   */
  constructor(
    readonly columns: readonly OutputColumn[],
    readonly parent?: Scope,
    readonly transparent = false,
  ) {}

  /** Resolves `name` or `qualifier.name`; undefined when no scope has it. */
  resolve(qualifier: string | undefined, name: string, location?: number): Expr | undefined {
    let depth = -1;
    for (let scope: Scope | undefined = this as Scope; scope !== undefined; scope = scope.parent) {
      if (scope.transparent) continue;
      const index = scope.find(qualifier, name, location);
      if (index >= 0) {
        const type = (scope.columns[index] as OutputColumn).type;
        if (depth < 0) {
          return { k: 'col', index, type };
        }
        // Every scope between here and there now depends on an outer row.
        for (let s: Scope | undefined = this as Scope; s !== undefined && s !== scope; s = s.parent) {
          s.correlated = true;
        }
        return { k: 'outer', depth, index, type };
      }
      depth++;
    }
    return undefined;
  }

  /** The index of the column in this scope alone, -1 if absent; ambiguity is 42702. */
  find(qualifier: string | undefined, name: string, location?: number): number {
    let found = -1;
    for (let i = 0; i < this.columns.length; i++) {
      const col = this.columns[i] as OutputColumn;
      if (col.name !== name || (qualifier === undefined ? col.qualifiedOnly === true : col.qualifier !== qualifier)) {
        continue;
      }
      if (found >= 0) {
        throw new SqlError(SqlStates.ambiguousColumn, `column reference "${name}" is ambiguous`, position(location));
      }
      found = i;
    }
    return found;
  }

  hasQualifier(qualifier: string): boolean {
    return this.columns.some((c) => c.qualifier === qualifier);
  }
}

export function position(location: number | undefined): { position?: number } {
  return location === undefined || location < 0 ? {} : { position: location + 1 };
}

export function column(name: string, type: SqlType, extra: Partial<OutputColumn> = {}): OutputColumn {
  return { name, type, tableId: 0, columnNumber: 0, ...extra };
}
