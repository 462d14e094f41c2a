import { assert } from '../../../common/errors';
import type { ReferentialAction, TableDescriptor } from '../catalog/descriptors';
import { sequenceTypeName } from '../catalog/sequence-options';
import type { SqlType } from '../types/datum';
import { numericTypmodPrecision, numericTypmodScale } from '../types/numeric';
import { catalogTypeName, typeName } from '../types/type-names';
import type { Row } from './columns';
import type { TableConstraint } from './definitions';
import { pgGetConstraintdef, shownColumns, tableConstraints } from './definitions';
import { defaultText } from './expr-text';
import { referencedColumnIds } from './pg-catalog';
import { quoteIdent } from './quote';
import { RELATIONS } from './relations';
import type { CatalogSnapshot } from './snapshot';

/**
 * Rows of information_schema: the SQL standard's view of one database, as PostgreSQL 15
 * fills it (its type names, its YES/NO strings, its NOT NULL pseudo-constraints). Pure
 * functions of a CatalogSnapshot. The catalog's own relations are listed too, as
 * PostgreSQL lists its system catalogs; clients filter them by schema.
 */

const int = (n: number): bigint => BigInt(n);

function schemaName(snap: CatalogSnapshot, schemaId: number): string {
  const schema = snap.schemas.find((s) => s.id === schemaId);
  assert(schema !== undefined, `schema ${schemaId} is not in the snapshot`);
  return schema.name;
}

export function schemataRows(snap: CatalogSnapshot): Row[] {
  const schemas = [
    { name: 'pg_catalog', owner: 'root' },
    { name: 'information_schema', owner: 'root' },
    ...snap.schemas.map((s) => ({ name: s.name, owner: snap.database.owner })),
  ];
  return schemas.map((s) => ({
    catalog_name: snap.database.name,
    schema_name: s.name,
    schema_owner: s.owner,
    default_character_set_catalog: null,
    default_character_set_schema: null,
    default_character_set_name: null,
    sql_path: null,
  }));
}

export function tablesRows(snap: CatalogSnapshot): Row[] {
  const user = snap.tables.map((t) => ({ schema: schemaName(snap, t.schemaId), name: t.name, type: 'BASE TABLE', insertable: 'YES' }));
  const system = RELATIONS.map((r) => ({ schema: r.schema, name: r.name, type: r.relkind === 'r' ? 'BASE TABLE' : 'VIEW', insertable: 'NO' }));
  return [...user, ...system].map((t) => ({
    table_catalog: snap.database.name,
    table_schema: t.schema,
    table_name: t.name,
    table_type: t.type,
    self_referencing_column_name: null,
    reference_generation: null,
    user_defined_type_catalog: null,
    user_defined_type_schema: null,
    user_defined_type_name: null,
    is_insertable_into: t.insertable,
    is_typed: 'NO',
    commit_action: null,
  }));
}

// ---------------------------------------------------------------------------------------
// columns

/**
 * information_schema.columns.data_type: the SQL standard's name, 'ARRAY' for arrays. It is
 * format_type without the type modifier, except that bpchar is spelled out.
 */
export function standardTypeName(type: SqlType): string {
  if (type.kind === 'array') return 'ARRAY';
  return type.name === 'bpchar' ? 'character' : typeName({ ...type, typmod: -1 });
}

/** Largest text value in bytes (PostgreSQL's 1 GB varlena limit), the octet length of unbounded text. */
const MAX_OCTETS = 1_073_741_824;
/** Bytes per character at most in UTF8. */
const UTF8_MAX_BYTES = 4;

interface TypeMetrics {
  readonly character_maximum_length: bigint | null;
  readonly character_octet_length: bigint | null;
  readonly numeric_precision: bigint | null;
  readonly numeric_precision_radix: bigint | null;
  readonly numeric_scale: bigint | null;
  readonly datetime_precision: bigint | null;
}

const NO_METRICS: TypeMetrics = {
  character_maximum_length: null,
  character_octet_length: null,
  numeric_precision: null,
  numeric_precision_radix: null,
  numeric_scale: null,
  datetime_precision: null,
};

/** Lengths, precisions and scales as information_schema reports them per type. */
export function typeMetrics(type: SqlType): TypeMetrics {
  if (type.kind === 'array') return NO_METRICS;
  const t = type.typmod;
  const binary = (bits: number, scale: number | null): TypeMetrics => ({
    ...NO_METRICS,
    numeric_precision: int(bits),
    numeric_precision_radix: 2n,
    numeric_scale: scale === null ? null : int(scale),
  });
  switch (type.name) {
    case 'int2':
      return binary(16, 0);
    case 'int4':
      return binary(32, 0);
    case 'int8':
      return binary(64, 0);
    case 'float4':
      return binary(24, null);
    case 'float8':
      return binary(53, null);
    case 'numeric':
      return {
        ...NO_METRICS,
        numeric_precision: t < 0 ? null : int(numericTypmodPrecision(t)),
        numeric_precision_radix: 10n,
        numeric_scale: t < 0 ? null : int(numericTypmodScale(t)),
      };
    case 'varchar':
    case 'bpchar':
      return t < 0
        ? { ...NO_METRICS, character_octet_length: int(MAX_OCTETS) }
        : { ...NO_METRICS, character_maximum_length: int(t), character_octet_length: int(t * UTF8_MAX_BYTES) };
    case 'text':
      return { ...NO_METRICS, character_octet_length: int(MAX_OCTETS) };
    case 'date':
      return { ...NO_METRICS, datetime_precision: 0n };
    case 'timestamp':
    case 'timestamptz':
      return { ...NO_METRICS, datetime_precision: int(t < 0 ? 6 : t) };
    case 'interval':
      return { ...NO_METRICS, datetime_precision: 6n };
    default:
      return NO_METRICS;
  }
}

const COLUMN_DEFAULTS: Row = {
  interval_type: null,
  interval_precision: null,
  character_set_catalog: null,
  character_set_schema: null,
  character_set_name: null,
  collation_catalog: null,
  collation_schema: null,
  collation_name: null,
  domain_catalog: null,
  domain_schema: null,
  domain_name: null,
  udt_schema: 'pg_catalog',
  scope_catalog: null,
  scope_schema: null,
  scope_name: null,
  maximum_cardinality: null,
  is_self_referencing: 'NO',
  is_identity: 'NO',
  identity_generation: null,
  identity_start: null,
  identity_increment: null,
  identity_maximum: null,
  identity_minimum: null,
  identity_cycle: 'NO',
  is_generated: 'NEVER',
  generation_expression: null,
};

interface ColumnInfo {
  readonly schema: string;
  readonly table: string;
  readonly name: string;
  readonly attnum: number;
  readonly type: SqlType;
  readonly nullable: boolean;
  readonly defaultText: string | null;
  readonly updatable: boolean;
}

export function columnsRows(snap: CatalogSnapshot): Row[] {
  const infos: ColumnInfo[] = [];
  for (const t of snap.tables) {
    const schema = schemaName(snap, t.schemaId);
    for (const { column, attnum } of shownColumns(t)) {
      infos.push({
        schema,
        table: t.name,
        name: column.name,
        attnum,
        type: column.type,
        nullable: column.nullable,
        defaultText: column.defaultExpr === undefined ? null : defaultText(column.defaultExpr, column.type),
        updatable: true,
      });
    }
  }
  for (const r of RELATIONS) {
    r.columns.forEach((c, i) =>
      infos.push({ schema: r.schema, table: r.name, name: c.name, attnum: i + 1, type: c.type, nullable: true, defaultText: null, updatable: false }),
    );
  }
  return infos.map((c) => ({
    ...COLUMN_DEFAULTS,
    table_catalog: snap.database.name,
    table_schema: c.schema,
    table_name: c.table,
    column_name: c.name,
    ordinal_position: int(c.attnum),
    column_default: c.defaultText,
    is_nullable: c.nullable ? 'YES' : 'NO',
    data_type: standardTypeName(c.type),
    ...typeMetrics(c.type),
    udt_catalog: snap.database.name,
    udt_name: catalogTypeName(c.type),
    dtd_identifier: String(c.attnum),
    is_updatable: c.updatable ? 'YES' : 'NO',
  }));
}

// ---------------------------------------------------------------------------------------
// Constraints

const CONSTRAINT_TYPES: Readonly<Record<TableConstraint['contype'], string>> = {
  p: 'PRIMARY KEY',
  u: 'UNIQUE',
  c: 'CHECK',
  f: 'FOREIGN KEY',
};

/**
 * PostgreSQL 15 lists each NOT NULL column as a CHECK named
 * `<namespace oid>_<table oid>_<attnum>_not_null` in table_constraints.
 */
function notNullName(t: TableDescriptor, attnum: number): string {
  return `${t.schemaId}_${t.id}_${attnum}_not_null`;
}

export function tableConstraintsRows(snap: CatalogSnapshot): Row[] {
  const rows: Row[] = [];
  for (const t of snap.tables) {
    const schema = schemaName(snap, t.schemaId);
    const row = (name: string, type: string, nullsDistinct: string | null): Row => ({
      constraint_catalog: snap.database.name,
      constraint_schema: schema,
      constraint_name: name,
      table_catalog: snap.database.name,
      table_schema: schema,
      table_name: t.name,
      constraint_type: type,
      is_deferrable: 'NO',
      initially_deferred: 'NO',
      enforced: 'YES',
      nulls_distinct: nullsDistinct,
    });
    for (const c of tableConstraints(t)) {
      rows.push(row(c.name, CONSTRAINT_TYPES[c.contype], c.contype === 'u' ? 'YES' : null));
    }
    for (const { column, attnum } of shownColumns(t)) {
      if (!column.nullable) rows.push(row(notNullName(t, attnum), 'CHECK', null));
    }
  }
  return rows;
}

function referencedTable(snap: CatalogSnapshot, t: TableDescriptor, id: number): TableDescriptor {
  const table = id === t.id ? t : snap.tables.find((x) => x.id === id);
  assert(table !== undefined, `table ${id} is not in the snapshot`);
  return table;
}

/** The PRIMARY KEY or UNIQUE constraint an FK's referenced columns match. */
function referencedUnique(referenced: TableDescriptor, columnIds: readonly number[]): (TableConstraint & { contype: 'p' | 'u' }) | undefined {
  for (const c of tableConstraints(referenced)) {
    if ((c.contype === 'p' || c.contype === 'u') && c.index.columnIds.length === columnIds.length && c.index.columnIds.every((id) => columnIds.includes(id))) {
      return c;
    }
  }
  return undefined;
}

function columnName(t: TableDescriptor, id: number): string {
  const column = t.columns.find((c) => c.id === id);
  assert(column !== undefined, `table ${t.name} has no column ${id}`);
  return column.name;
}

export function keyColumnUsageRows(snap: CatalogSnapshot): Row[] {
  const rows: Row[] = [];
  for (const t of snap.tables) {
    const schema = schemaName(snap, t.schemaId);
    for (const c of tableConstraints(t)) {
      let ids: readonly number[];
      let positions: (number | null)[];
      if (c.contype === 'p' || c.contype === 'u') {
        ids = c.index.columnIds;
        positions = ids.map(() => null);
      } else if (c.contype === 'f') {
        ids = c.foreignKey.columnIds;
        const referenced = referencedTable(snap, t, c.foreignKey.referencedTableId);
        const unique = referencedUnique(referenced, c.foreignKey.referencedColumnIds);
        positions = c.foreignKey.referencedColumnIds.map((id) => {
          const i = unique?.index.columnIds.indexOf(id) ?? -1;
          return i < 0 ? null : i + 1;
        });
      } else {
        continue;
      }
      ids.forEach((id, i) =>
        rows.push({
          constraint_catalog: snap.database.name,
          constraint_schema: schema,
          constraint_name: c.name,
          table_catalog: snap.database.name,
          table_schema: schema,
          table_name: t.name,
          column_name: columnName(t, id),
          ordinal_position: int(i + 1),
          position_in_unique_constraint: positions[i] === null || positions[i] === undefined ? null : int(positions[i]),
        }),
      );
    }
  }
  return rows;
}

function ruleText(action: ReferentialAction): string {
  return action.toUpperCase();
}

export function referentialConstraintsRows(snap: CatalogSnapshot): Row[] {
  const rows: Row[] = [];
  for (const t of snap.tables) {
    const schema = schemaName(snap, t.schemaId);
    for (const c of tableConstraints(t)) {
      if (c.contype !== 'f') continue;
      const referenced = referencedTable(snap, t, c.foreignKey.referencedTableId);
      const unique = referencedUnique(referenced, c.foreignKey.referencedColumnIds);
      rows.push({
        constraint_catalog: snap.database.name,
        constraint_schema: schema,
        constraint_name: c.name,
        unique_constraint_catalog: unique === undefined ? null : snap.database.name,
        unique_constraint_schema: unique === undefined ? null : schemaName(snap, referenced.schemaId),
        unique_constraint_name: unique?.name ?? null,
        match_option: 'NONE',
        update_rule: ruleText(c.foreignKey.onUpdate),
        delete_rule: ruleText(c.foreignKey.onDelete),
      });
    }
  }
  return rows;
}

/** check_clause is the constraint's text without `CHECK `, not pretty, as PostgreSQL shows it. */
export function checkConstraintsRows(snap: CatalogSnapshot): Row[] {
  const rows: Row[] = [];
  for (const t of snap.tables) {
    const schema = schemaName(snap, t.schemaId);
    const row = (name: string, clause: string): Row => ({
      constraint_catalog: snap.database.name,
      constraint_schema: schema,
      constraint_name: name,
      check_clause: clause,
    });
    for (const c of tableConstraints(t)) {
      if (c.contype === 'c') rows.push(row(c.name, pgGetConstraintdef(t, c).replace(/^CHECK /, '')));
    }
    for (const { column, attnum } of shownColumns(t)) {
      if (!column.nullable) rows.push(row(notNullName(t, attnum), `${quoteIdent(column.name)} IS NOT NULL`));
    }
  }
  return rows;
}

/** Columns each constraint uses; for a FOREIGN KEY, the referenced ones (the SQL standard's rule). */
export function constraintColumnUsageRows(snap: CatalogSnapshot): Row[] {
  const rows: Row[] = [];
  for (const t of snap.tables) {
    for (const c of tableConstraints(t)) {
      let table = t;
      let ids: readonly number[];
      switch (c.contype) {
        case 'p':
        case 'u':
          ids = c.index.columnIds;
          break;
        case 'c':
          ids = referencedColumnIds(t, c.check.expr.ast);
          break;
        case 'f':
          table = referencedTable(snap, t, c.foreignKey.referencedTableId);
          ids = c.foreignKey.referencedColumnIds;
          break;
      }
      const tableSchema = schemaName(snap, table.schemaId);
      for (const id of ids) {
        rows.push({
          table_catalog: snap.database.name,
          table_schema: tableSchema,
          table_name: table.name,
          column_name: columnName(table, id),
          constraint_catalog: snap.database.name,
          constraint_schema: schemaName(snap, t.schemaId),
          constraint_name: c.name,
        });
      }
    }
  }
  return rows;
}

export function viewsRows(snap: CatalogSnapshot): Row[] {
  return RELATIONS.filter((r) => r.relkind === 'v').map((r) => ({
    table_catalog: snap.database.name,
    table_schema: r.schema,
    table_name: r.name,
    view_definition: null,
    check_option: 'NONE',
    is_updatable: 'NO',
    is_insertable_into: 'NO',
    is_trigger_updatable: 'NO',
    is_trigger_deletable: 'NO',
    is_trigger_insertable_into: 'NO',
  }));
}

export function sequencesRows(snap: CatalogSnapshot): Row[] {
  return snap.sequences.map((s) => ({
    sequence_catalog: snap.database.name,
    sequence_schema: schemaName(snap, s.schemaId),
    sequence_name: s.name,
    data_type: sequenceTypeName(s.dataType),
    numeric_precision: s.dataType === 'int2' ? 16n : s.dataType === 'int4' ? 32n : 64n,
    numeric_precision_radix: 2n,
    numeric_scale: 0n,
    start_value: s.start.toString(),
    minimum_value: s.minValue.toString(),
    maximum_value: s.maxValue.toString(),
    increment: s.increment.toString(),
    cycle_option: s.cycle ? 'YES' : 'NO',
  }));
}
