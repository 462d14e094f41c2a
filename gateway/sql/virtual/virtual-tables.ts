import type { VirtualTable } from '../plan/analyze';
import type { Datum } from '../types/datum';
import type { Row } from './columns';
import { toDatumRows } from './columns';
import {
  checkConstraintsRows,
  columnsRows,
  constraintColumnUsageRows,
  keyColumnUsageRows,
  referentialConstraintsRows,
  schemataRows,
  sequencesRows,
  tableConstraintsRows,
  tablesRows,
  viewsRows,
} from './information-schema';
import {
  pgAttrdefRows,
  pgAttributeRows,
  pgClassRows,
  pgConstraintRows,
  pgDependRows,
  pgIndexesRows,
  pgIndexRows,
  pgNamespaceRows,
  pgSequenceRows,
  pgSequencesRows,
  pgTablesRows,
  pgTypeRows,
  pgViewsRows,
} from './pg-catalog';
import { pgSettingsRows } from './pg-settings';
import { pgAmRows, pgCollationRows, pgDatabaseRows, pgRolesRows, pgTablespaceRows, pgUserRows } from './pg-shared';
import type { VirtualRelation, VirtualSchema } from './relations';
import { RELATIONS, virtualRelation } from './relations';
import type { VirtualInputs, VirtualSource } from './snapshot';
import { inputsFor } from './snapshot';

/**
 * The entry point the session calls: `virtualTableFor(schema, name, source)` gives the
 * planner a VirtualTable (columns, and rows computed when the plan runs) for a
 * pg_catalog or information_schema relation, or undefined for any other name.
 */

type RowsOf = (inputs: VirtualInputs) => Promise<readonly Row[]> | readonly Row[];

const none: RowsOf = () => [];

/** How each relation's rows are built. Relations not listed are always empty. */
const BUILDERS: Readonly<Record<string, RowsOf>> = {
  'pg_catalog.pg_namespace': async (i) => pgNamespaceRows(await i.snapshot()),
  'pg_catalog.pg_class': async (i) => pgClassRows(await i.snapshot()),
  'pg_catalog.pg_attribute': async (i) => pgAttributeRows(await i.snapshot()),
  'pg_catalog.pg_type': () => pgTypeRows(),
  'pg_catalog.pg_index': async (i) => pgIndexRows(await i.snapshot()),
  'pg_catalog.pg_constraint': async (i) => pgConstraintRows(await i.snapshot()),
  'pg_catalog.pg_attrdef': async (i) => pgAttrdefRows(await i.snapshot()),
  'pg_catalog.pg_database': async (i) => pgDatabaseRows(await i.databases()),
  'pg_catalog.pg_roles': async (i) => pgRolesRows(await i.users()),
  'pg_catalog.pg_user': async (i) => pgUserRows(await i.users()),
  'pg_catalog.pg_settings': (i) => pgSettingsRows(i.settings()),
  'pg_catalog.pg_am': () => pgAmRows(),
  'pg_catalog.pg_collation': () => pgCollationRows(),
  'pg_catalog.pg_tablespace': () => pgTablespaceRows(),
  'pg_catalog.pg_tables': async (i) => pgTablesRows(await i.snapshot()),
  'pg_catalog.pg_indexes': async (i) => pgIndexesRows(await i.snapshot()),
  'pg_catalog.pg_views': () => pgViewsRows(),
  'pg_catalog.pg_sequences': async (i) => pgSequencesRows(await i.snapshot(), await i.sequenceStates()),
  'pg_catalog.pg_sequence': async (i) => pgSequenceRows(await i.snapshot()),
  'pg_catalog.pg_depend': async (i) => pgDependRows(await i.snapshot()),
  'information_schema.schemata': async (i) => schemataRows(await i.snapshot()),
  'information_schema.tables': async (i) => tablesRows(await i.snapshot()),
  'information_schema.columns': async (i) => columnsRows(await i.snapshot()),
  'information_schema.table_constraints': async (i) => tableConstraintsRows(await i.snapshot()),
  'information_schema.key_column_usage': async (i) => keyColumnUsageRows(await i.snapshot()),
  'information_schema.referential_constraints': async (i) => referentialConstraintsRows(await i.snapshot()),
  'information_schema.check_constraints': async (i) => checkConstraintsRows(await i.snapshot()),
  'information_schema.constraint_column_usage': async (i) => constraintColumnUsageRows(await i.snapshot()),
  'information_schema.views': async (i) => viewsRows(await i.snapshot()),
  'information_schema.sequences': async (i) => sequencesRows(await i.snapshot()),
};

/**
 * Which virtual relation a (possibly qualified) name means. Unqualified names are looked
 * up in pg_catalog only: it comes first on PostgreSQL's search path, so `pg_class` is
 * the catalog's even if a user table has that name; information_schema must be named.
 */
export function resolveVirtualRelation(schema: string | undefined, name: string): VirtualRelation | undefined {
  if (schema === undefined || schema === 'pg_catalog') {
    return virtualRelation('pg_catalog', name);
  }
  if (schema === 'information_schema') {
    return virtualRelation('information_schema', name);
  }
  return undefined;
}

/** The rows of a virtual relation, in column order. */
export async function virtualRows(relation: VirtualRelation, inputs: VirtualInputs): Promise<Datum[][]> {
  const build = BUILDERS[`${relation.schema}.${relation.name}`] ?? none;
  return toDatumRows(`${relation.schema}.${relation.name}`, relation.columns, await build(inputs));
}

export function virtualTableFor(schema: string | undefined, name: string, source: VirtualSource): VirtualTable | undefined {
  const relation = resolveVirtualRelation(schema, name);
  if (relation === undefined) {
    return undefined;
  }
  return {
    columns: relation.columns,
    rows: (ctx) => virtualRows(relation, inputsFor(ctx, source)),
  };
}

/** Every virtual relation's qualified name (for SHOW TABLES-style listings and tests). */
export function virtualRelationNames(): string[] {
  return RELATIONS.map((r) => `${r.schema}.${r.name}`);
}

export type { VirtualSchema };
