/**
 * The virtual catalog: pg_catalog and information_schema for psql and drivers.
 * See OVERVIEW.md.
 */
export { virtualTableFor, resolveVirtualRelation, virtualRows, virtualRelationNames } from './virtual-tables';
export type { VirtualSource, CatalogSnapshot, CatalogReader } from './snapshot';
export { loadSnapshot } from './snapshot';
export type { VirtualColumn } from './columns';
export type { VirtualRelation, VirtualSchema } from './relations';
export { RELATIONS, virtualRelation } from './relations';
export {
  pgGetIndexdef,
  pgGetConstraintdef,
  tableConstraints,
  indexConstraint,
  shownColumns,
  shownIndexes,
  attnumOf,
  PUBLIC_SCHEMA,
} from './definitions';
export type { TableConstraint, IndexdefOptions, ConstraintdefOptions, ShownColumn } from './definitions';
export { exprText, defaultText, astText } from './expr-text';
export {
  indexOid,
  checkConstraintOid,
  foreignKeyConstraintOid,
  attrdefOid,
  roleOid,
  decodeIndexOid,
  decodeConstraintOid,
  PG_CATALOG_NAMESPACE_OID,
  INFORMATION_SCHEMA_NAMESPACE_OID,
} from './oids';
export type { DecodedConstraintOid } from './oids';
export {
  regclassOid,
  regclassName,
  parseQualifiedName,
  pgGetIndexdefByOid,
  pgGetConstraintdefByOid,
  pgGetUserbyid,
  pgTableIsVisible,
} from './regclass';
export { formatType, pgEncodingToChar } from './catalog-functions';
export { loadCatalogLookup, catalogLookup } from './catalog-lookup';
export { quoteIdent, quoteLiteral } from './quote';
export { PG_TYPES, pgTypeByOid } from './pg-types';
export type { PgTypeFacts } from './pg-types';
