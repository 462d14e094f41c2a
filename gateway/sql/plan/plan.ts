import type { IndexDescriptor, ReferentialAction, TableDescriptor } from '../catalog/descriptors';
import type { Datum, SqlType } from '../types/datum';
import type { Expr } from './expr';

/**
 * Logical-physical plans: a tree of operators, each producing rows (Datum arrays) with
 * the columns it declares. Expressions inside an operator refer to its input's row
 * positions; for a join, to the left row's columns followed by the right row's.
 */

export interface OutputColumn {
  readonly name: string;
  readonly type: SqlType;
  /** The table and column it comes from, for RowDescription (0 when computed). */
  readonly tableId: number;
  readonly columnNumber: number;
  /** Hidden columns exist for the plan (rowid, sort keys) but not for SELECT *. */
  readonly hidden?: boolean;
  /** Qualifier a query can use: the table name or alias. */
  readonly qualifier?: string;
  /** Reachable only with its qualifier: a column JOIN … USING merged into one (t1.a). */
  readonly qualifiedOnly?: boolean;
  /** An untyped NULL (SELECT NULL): a set operation types it from its other side, as PostgreSQL does. */
  readonly untypedNull?: boolean;
}

/** A subquery an operator runs before evaluating its expressions on a row. */
export interface SubqueryPlan {
  readonly slot: number;
  readonly kind: 'scalar' | 'exists' | 'list';
  readonly plan: PlanNode;
  /** Whether it reads the enclosing row; if not, it runs once per execution. */
  readonly correlated: boolean;
}

/** One bound of a key span over an index's key columns. */
export interface SpanBound {
  /** Values for a prefix of the index columns (already of the columns' types). */
  readonly values: readonly Expr[];
  readonly inclusive: boolean;
}

/**
 * Which part of an index a scan reads. Values are expressions so a prepared plan can
 * carry $n parameters; they are turned into key bytes when the scan starts.
 */
export type SpanPlan =
  | { readonly kind: 'full' }
  /** Exact values for a prefix of the index columns, one per point (IN lists give several). */
  | { readonly kind: 'points'; readonly points: readonly (readonly Expr[])[] }
  | { readonly kind: 'range'; readonly lower?: SpanBound; readonly upper?: SpanBound };

export interface ScanNode {
  readonly k: 'scan';
  readonly table: TableDescriptor;
  readonly index: IndexDescriptor;
  readonly spans: SpanPlan;
  /** Read in reverse key order (ORDER BY ... DESC on the index). */
  readonly reverse: boolean;
  /** Lock the rows read (SELECT FOR UPDATE, UPDATE, DELETE). */
  readonly forUpdate: boolean;
  /**
   * Rows have the table's columns in descriptor order (hidden ones included); the
   * filter is evaluated on that row.
   */
  readonly filter?: Expr;
  readonly filterSubqueries: readonly SubqueryPlan[];
  /** Stop after this many rows pass the filter (a LIMIT pushed down). */
  readonly limit?: Expr;
  /**
   * True when the index holds every column the query needs (a primary index, or a
   * secondary index covering them); otherwise each index entry is joined back to its
   * row by primary key.
   */
  readonly covering: boolean;
  readonly columns: readonly OutputColumn[];
}

export interface SortKey {
  readonly expr: Expr;
  readonly descending: boolean;
  readonly nullsFirst: boolean;
}

export interface AggregateCall {
  readonly name: string;
  readonly args: readonly Expr[];
  readonly distinct: boolean;
  readonly filter?: Expr;
  readonly orderBy: readonly SortKey[];
  readonly init: () => unknown;
  readonly step: (state: unknown, args: Datum[]) => unknown;
  readonly final: (state: unknown) => Datum;
  /** count(*) and array_agg see NULL arguments; the others skip such rows. */
  readonly skipNulls: boolean;
  readonly type: SqlType;
}

export type JoinKind = 'inner' | 'left' | 'right' | 'full' | 'semi' | 'anti';

export type PlanNode =
  | ScanNode
  /** Constant rows (VALUES, or the one empty row of a SELECT without FROM). */
  | { readonly k: 'values'; readonly rows: readonly (readonly Expr[])[]; readonly subqueries: readonly SubqueryPlan[]; readonly columns: readonly OutputColumn[] }
  | { readonly k: 'filter'; readonly input: PlanNode; readonly predicate: Expr; readonly subqueries: readonly SubqueryPlan[]; readonly columns: readonly OutputColumn[] }
  | { readonly k: 'project'; readonly input: PlanNode; readonly exprs: readonly Expr[]; readonly subqueries: readonly SubqueryPlan[]; readonly columns: readonly OutputColumn[] }
  | {
      readonly k: 'join';
      readonly kind: JoinKind;
      readonly left: PlanNode;
      readonly right: PlanNode;
      /** Equality keys for a hash join (left exprs over the left row, right over the right). */
      readonly leftKeys: readonly Expr[];
      readonly rightKeys: readonly Expr[];
      /** The rest of the ON condition, over the joined row. */
      readonly on?: Expr;
      readonly onSubqueries: readonly SubqueryPlan[];
      /** The right side reads the left row (LATERAL): a nested loop re-runs it per left row. */
      readonly lateral: boolean;
      readonly columns: readonly OutputColumn[];
    }
  | {
      readonly k: 'aggregate';
      readonly input: PlanNode;
      /** Output: the group keys, then the aggregates. */
      readonly groupBy: readonly Expr[];
      readonly aggregates: readonly AggregateCall[];
      readonly subqueries: readonly SubqueryPlan[];
      readonly columns: readonly OutputColumn[];
    }
  | { readonly k: 'sort'; readonly input: PlanNode; readonly keys: readonly SortKey[]; readonly columns: readonly OutputColumn[] }
  | { readonly k: 'limit'; readonly input: PlanNode; readonly limit?: Expr; readonly offset?: Expr; readonly columns: readonly OutputColumn[] }
  /** DISTINCT (all columns) or DISTINCT ON (the first `onCount` columns). */
  | { readonly k: 'distinct'; readonly input: PlanNode; readonly onCount?: number; readonly columns: readonly OutputColumn[] }
  | {
      readonly k: 'setop';
      readonly op: 'union' | 'intersect' | 'except';
      readonly all: boolean;
      readonly left: PlanNode;
      readonly right: PlanNode;
      readonly columns: readonly OutputColumn[];
    }
  /** A set-returning function in FROM (generate_series, unnest, ...). */
  | {
      readonly k: 'srf';
      readonly args: readonly Expr[];
      readonly fn: (args: Datum[]) => Iterable<Datum[]>;
      readonly columns: readonly OutputColumn[];
    }
  /** Rows of a WITH query, computed once per execution and shared by its readers. */
  | { readonly k: 'cteScan'; readonly cteId: number; readonly columns: readonly OutputColumn[] }
  | {
      readonly k: 'with';
      readonly ctes: readonly { readonly id: number; readonly plan: PlanNode }[];
      readonly body: PlanNode;
      /**
       * WITH RECURSIVE: a query's rows are computed only as far as its readers ask
       * (PostgreSQL's behaviour, so a LIMIT stops an endless recursion); otherwise each
       * query is materialised before the body starts.
       */
      readonly lazy: boolean;
      readonly columns: readonly OutputColumn[];
    }
  /**
   * A recursive WITH query: the non-recursive term's rows, then the recursive term run
   * over the rows the previous run produced (the working table, read by
   * `workTableScan`), again and again until a run produces none. Without ALL, a row
   * equal to one produced before is dropped (and does not go to the working table).
   */
  | {
      readonly k: 'recursiveUnion';
      readonly name: string;
      readonly all: boolean;
      /** Where the working table lives in `ExecContext.ctes` while the recursive term runs. */
      readonly workId: number;
      readonly nonRecursive: PlanNode;
      readonly recursive: PlanNode;
      readonly columns: readonly OutputColumn[];
    }
  /** The recursive term's reference to its own query: the previous run's rows. */
  | { readonly k: 'workTableScan'; readonly name: string; readonly workId: number; readonly columns: readonly OutputColumn[] }
  /** Rows computed in memory by the gateway (pg_catalog, information_schema, SHOW). */
  | { readonly k: 'virtual'; readonly name: string; readonly rows: (ctx: VirtualContext) => Promise<Datum[][]>; readonly columns: readonly OutputColumn[] }
  | InsertNode
  | UpdateNode
  | DeleteNode;

export interface VirtualContext {
  readonly database: string;
  /** The executing transaction: a prepared plan outlives the one it was planned in. */
  readonly txn: import('../catalog/catalog').TxnLike;
}

export interface ReturningClause {
  /** Over the table's row (all columns in descriptor order) after the change. */
  readonly exprs: readonly Expr[];
  readonly subqueries: readonly SubqueryPlan[];
  readonly columns: readonly OutputColumn[];
}

export interface InsertNode {
  readonly k: 'insert';
  readonly table: TableDescriptor;
  /** Rows with one value per entry of `targetColumnIds`. */
  readonly input: PlanNode;
  readonly targetColumnIds: readonly number[];
  /** Defaults for the columns not targeted (column ID → expression), NULL when absent. */
  readonly defaults: ReadonlyMap<number, Expr>;
  readonly onConflict?: {
    /** The unique index whose conflict is handled (undefined: any, DO NOTHING only). */
    readonly indexId?: number;
    readonly action: 'nothing' | 'update';
    /**
     * DO UPDATE SET: over the existing row followed by the proposed one (EXCLUDED),
     * one expression per table column (unchanged columns pass through).
     */
    readonly updateExprs?: readonly Expr[];
    readonly where?: Expr;
  };
  /** UPSERT: the row replaces an existing one with the same primary key. */
  readonly upsert: boolean;
  readonly checks: readonly { readonly name: string; readonly expr: Expr }[];
  readonly foreignKeys: readonly ParentReference[];
  readonly returning?: ReturningClause;
  readonly columns: readonly OutputColumn[];
}

/** A foreign key of the written table: its rows must find their parent row. */
export interface ParentReference {
  readonly name: string;
  /** Row positions of the referencing columns in the written table. */
  readonly positions: readonly number[];
  readonly parent: TableDescriptor;
  /** The parent's unique index over the referenced columns (in the FK's column order). */
  readonly parentIndex: IndexDescriptor;
  /** Per parent index column: which referencing column (index into `positions`) holds its value. */
  readonly order: readonly number[];
}

/** A foreign key of another table pointing at the written table: its rows must not lose their parent. */
export interface ChildReference {
  readonly name: string;
  readonly child: TableDescriptor;
  /** Row positions of the referenced columns in the written (parent) table, in the FK's order. */
  readonly parentPositions: readonly number[];
  /** Row positions of the referencing columns in the child table, in the FK's order. */
  readonly childPositions: readonly number[];
  /** A child index whose leading columns are the referencing ones (in `childOrder`), if any. */
  readonly childIndex?: IndexDescriptor;
  /** Per leading column of `childIndex`: which FK column it holds. */
  readonly childOrder: readonly number[];
  /** ON DELETE / ON UPDATE; absent means NO ACTION. */
  readonly onDelete?: ReferentialAction;
  readonly onUpdate?: ReferentialAction;
}

/**
 * A table whose rows a referential action (CASCADE, SET NULL, SET DEFAULT) may change
 * or delete: what writing them needs. Keyed by table ID in `cascades`, rather than
 * hanging off ChildReference, so that self- and mutually-referencing tables stay a tree.
 */
export interface CascadeTarget {
  readonly table: TableDescriptor;
  readonly checks: readonly { readonly name: string; readonly expr: Expr }[];
  readonly foreignKeys: readonly ParentReference[];
  readonly referencedBy: readonly ChildReference[];
  /** SET DEFAULT: column ID → its default (NULL when it has none). */
  readonly defaults: ReadonlyMap<number, Expr>;
}

export interface UpdateNode {
  readonly k: 'update';
  readonly table: TableDescriptor;
  /** Rows of the table (all columns in descriptor order), already filtered. */
  readonly input: PlanNode;
  /** New values: column ID → expression over the input row. */
  readonly assignments: ReadonlyMap<number, Expr>;
  readonly subqueries: readonly SubqueryPlan[];
  readonly checks: readonly { readonly name: string; readonly expr: Expr }[];
  readonly foreignKeys: readonly ParentReference[];
  readonly referencedBy: readonly ChildReference[];
  /** Tables referential actions may write, by ID (absent: none). */
  readonly cascades?: ReadonlyMap<number, CascadeTarget>;
  readonly returning?: ReturningClause;
  readonly columns: readonly OutputColumn[];
}

export interface DeleteNode {
  readonly k: 'delete';
  readonly table: TableDescriptor;
  readonly input: PlanNode;
  readonly referencedBy: readonly ChildReference[];
  readonly cascades?: ReadonlyMap<number, CascadeTarget>;
  readonly returning?: ReturningClause;
  readonly columns: readonly OutputColumn[];
}
