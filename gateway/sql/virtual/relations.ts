import { AssertionFailedError } from '../../../common/errors';
import type { VirtualColumn } from './columns';
import { columns } from './columns';
import { INFORMATION_SCHEMA_NAMESPACE_OID, PG_CATALOG_NAMESPACE_OID, virtualRelationOid } from './oids';

/**
 * The catalog's own relations: their schema, kind and columns (PostgreSQL 15's names and
 * types; a subset where clients read no more), and their pg_class OIDs. The rows are
 * built elsewhere (pg-catalog.ts, information-schema.ts); these lists are also what
 * pg_class and pg_attribute show for the relations themselves, so `\d pg_class` works.
 *
 * OIDs: the k-th entry of RELATIONS (1-based) is virtualRelationOid(k). Append new
 * relations at the end so that existing OIDs do not move.
 */

export type VirtualSchema = 'pg_catalog' | 'information_schema';

export interface VirtualRelation {
  readonly schema: VirtualSchema;
  readonly name: string;
  /** 'r' for catalogs, 'v' for PostgreSQL's views. */
  readonly relkind: 'r' | 'v';
  readonly columns: readonly VirtualColumn[];
  readonly oid: number;
}

type Spec = readonly [VirtualSchema, string, 'r' | 'v', string];

const SPECS: readonly Spec[] = [
  ['pg_catalog', 'pg_namespace', 'r', 'oid:oid nspname:name nspowner:oid nspacl:acl[]'],
  [
    'pg_catalog',
    'pg_class',
    'r',
    `oid:oid relname:name relnamespace:oid reltype:oid reloftype:oid relowner:oid relam:oid relfilenode:oid
     reltablespace:oid relpages:int4 reltuples:float4 relallvisible:int4 reltoastrelid:oid relhasindex:bool
     relisshared:bool relpersistence:char relkind:char relnatts:int2 relchecks:int2 relhasrules:bool
     relhastriggers:bool relhassubclass:bool relrowsecurity:bool relforcerowsecurity:bool relispopulated:bool
     relreplident:char relispartition:bool relrewrite:oid relacl:acl[] reloptions:text[] relpartbound:node`,
  ],
  [
    'pg_catalog',
    'pg_attribute',
    'r',
    `attrelid:oid attname:name atttypid:oid attstattarget:int4 attlen:int2 attnum:int2 attndims:int4
     attcacheoff:int4 atttypmod:int4 attbyval:bool attalign:char attstorage:char attcompression:char
     attnotnull:bool atthasdef:bool atthasmissing:bool attidentity:char attgenerated:char attisdropped:bool
     attislocal:bool attinhcount:int4 attcollation:oid attacl:acl[] attoptions:text[] attfdwoptions:text[]`,
  ],
  [
    'pg_catalog',
    'pg_type',
    'r',
    `oid:oid typname:name typnamespace:oid typowner:oid typlen:int2 typbyval:bool typtype:char typcategory:char
     typispreferred:bool typisdefined:bool typdelim:char typrelid:oid typsubscript:regproc typelem:oid typarray:oid
     typinput:regproc typoutput:regproc typreceive:regproc typsend:regproc typmodin:regproc typmodout:regproc
     typanalyze:regproc typalign:char typstorage:char typnotnull:bool typbasetype:oid typtypmod:int4 typndims:int4
     typcollation:oid typdefaultbin:node typdefault:text typacl:acl[]`,
  ],
  [
    'pg_catalog',
    'pg_index',
    'r',
    `indexrelid:oid indrelid:oid indnatts:int2 indnkeyatts:int2 indisunique:bool indnullsnotdistinct:bool
     indisprimary:bool indisexclusion:bool indimmediate:bool indisclustered:bool indisvalid:bool indcheckxmin:bool
     indisready:bool indislive:bool indisreplident:bool indkey:int2vector indcollation:oidvector indclass:oidvector
     indoption:int2vector indexprs:node indpred:node`,
  ],
  [
    'pg_catalog',
    'pg_constraint',
    'r',
    `oid:oid conname:name connamespace:oid contype:char condeferrable:bool condeferred:bool convalidated:bool
     conrelid:oid contypid:oid conindid:oid conparentid:oid confrelid:oid confupdtype:char confdeltype:char
     confmatchtype:char conislocal:bool coninhcount:int4 connoinherit:bool conkey:int2[] confkey:int2[]
     conpfeqop:oid[] conppeqop:oid[] conffeqop:oid[] confdelsetcols:int2[] conexclop:oid[] conbin:node`,
  ],
  ['pg_catalog', 'pg_attrdef', 'r', 'oid:oid adrelid:oid adnum:int2 adbin:node'],
  [
    'pg_catalog',
    'pg_database',
    'r',
    `oid:oid datname:name datdba:oid encoding:int4 datlocprovider:char datistemplate:bool datallowconn:bool
     datconnlimit:int4 dattablespace:oid datcollate:text datctype:text daticulocale:text datcollversion:text
     datacl:acl[]`,
  ],
  [
    'pg_catalog',
    'pg_roles',
    'v',
    `rolname:name rolsuper:bool rolinherit:bool rolcreaterole:bool rolcreatedb:bool rolcanlogin:bool
     rolreplication:bool rolconnlimit:int4 rolpassword:text rolvaliduntil:timestamptz rolbypassrls:bool
     rolconfig:text[] oid:oid`,
  ],
  [
    'pg_catalog',
    'pg_user',
    'v',
    `usename:name usesysid:oid usecreatedb:bool usesuper:bool userepl:bool usebypassrls:bool passwd:text
     valuntil:timestamptz useconfig:text[]`,
  ],
  ['pg_catalog', 'pg_auth_members', 'r', 'roleid:oid member:oid grantor:oid admin_option:bool'],
  [
    'pg_catalog',
    'pg_settings',
    'v',
    `name:text setting:text unit:text category:text short_desc:text extra_desc:text context:text vartype:text
     source:text min_val:text max_val:text enumvals:text[] boot_val:text reset_val:text sourcefile:text
     sourceline:int4 pending_restart:bool`,
  ],
  ['pg_catalog', 'pg_am', 'r', 'oid:oid amname:name amhandler:regproc amtype:char'],
  [
    'pg_catalog',
    'pg_proc',
    'r',
    `oid:oid proname:name pronamespace:oid proowner:oid prolang:oid procost:float4 prorows:float4 provariadic:oid
     prosupport:regproc prokind:char prosecdef:bool proleakproof:bool proisstrict:bool proretset:bool
     provolatile:char proparallel:char pronargs:int2 pronargdefaults:int2 prorettype:oid proargtypes:oidvector
     proallargtypes:oid[] proargmodes:char[] proargnames:text[] proargdefaults:node prosrc:text probin:text
     proconfig:text[] proacl:acl[]`,
  ],
  ['pg_catalog', 'pg_description', 'r', 'objoid:oid classoid:oid objsubid:int4 description:text'],
  ['pg_catalog', 'pg_shdescription', 'r', 'objoid:oid classoid:oid description:text'],
  ['pg_catalog', 'pg_inherits', 'r', 'inhrelid:oid inhparent:oid inhseqno:int4 inhdetachpending:bool'],
  [
    'pg_catalog',
    'pg_collation',
    'r',
    `oid:oid collname:name collnamespace:oid collowner:oid collprovider:char collisdeterministic:bool
     collencoding:int4 collcollate:text collctype:text colliculocale:text collversion:text`,
  ],
  ['pg_catalog', 'pg_tablespace', 'r', 'oid:oid spcname:name spcowner:oid spcacl:acl[] spcoptions:text[]'],
  [
    'pg_catalog',
    'pg_extension',
    'r',
    `oid:oid extname:name extowner:oid extnamespace:oid extrelocatable:bool extversion:text extconfig:oid[]
     extcondition:text[]`,
  ],
  [
    'pg_catalog',
    'pg_tables',
    'v',
    `schemaname:name tablename:name tableowner:name tablespace:name hasindexes:bool hasrules:bool
     hastriggers:bool rowsecurity:bool`,
  ],
  ['pg_catalog', 'pg_indexes', 'v', 'schemaname:name tablename:name indexname:name tablespace:name indexdef:text'],
  ['pg_catalog', 'pg_views', 'v', 'schemaname:name viewname:name viewowner:name definition:text'],
  [
    'pg_catalog',
    'pg_matviews',
    'v',
    `schemaname:name matviewname:name matviewowner:name tablespace:name hasindexes:bool ispopulated:bool
     definition:text`,
  ],
  [
    'pg_catalog',
    'pg_sequences',
    'v',
    `schemaname:name sequencename:name sequenceowner:name data_type:regtype start_value:int8 min_value:int8
     max_value:int8 increment_by:int8 cycle:bool cache_size:int8 last_value:int8`,
  ],
  [
    'pg_catalog',
    'pg_sequence',
    'r',
    'seqrelid:oid seqtypid:oid seqstart:int8 seqincrement:int8 seqmax:int8 seqmin:int8 seqcache:int8 seqcycle:bool',
  ],
  [
    'pg_catalog',
    'pg_stat_activity',
    'v',
    `datid:oid datname:name pid:int4 leader_pid:int4 usesysid:oid usename:name application_name:text
     client_addr:text client_hostname:text client_port:int4 backend_start:timestamptz xact_start:timestamptz
     query_start:timestamptz state_change:timestamptz wait_event_type:text wait_event:text state:text
     backend_xid:text backend_xmin:text query_id:int8 query:text backend_type:text`,
  ],
  ['pg_catalog', 'pg_enum', 'r', 'oid:oid enumtypid:oid enumsortorder:float4 enumlabel:name'],
  [
    'pg_catalog',
    'pg_range',
    'r',
    'rngtypid:oid rngsubtype:oid rngmultitypid:oid rngcollation:oid rngsubopc:oid rngcanonical:regproc rngsubdiff:regproc',
  ],
  [
    'pg_catalog',
    'pg_trigger',
    'r',
    `oid:oid tgrelid:oid tgparentid:oid tgname:name tgfoid:oid tgtype:int2 tgenabled:char tgisinternal:bool
     tgconstrrelid:oid tgconstrindid:oid tgconstraint:oid tgdeferrable:bool tginitdeferred:bool tgnargs:int2
     tgattr:int2vector tgargs:bytea tgqual:node tgoldtable:name tgnewtable:name`,
  ],
  [
    'pg_catalog',
    'pg_rewrite',
    'r',
    'oid:oid rulename:name ev_class:oid ev_type:char ev_enabled:char is_instead:bool ev_qual:node ev_action:node',
  ],
  [
    'pg_catalog',
    'pg_policy',
    'r',
    'oid:oid polname:name polrelid:oid polcmd:char polpermissive:bool polroles:oid[] polqual:node polwithcheck:node',
  ],
  [
    'pg_catalog',
    'pg_statistic_ext',
    'r',
    `oid:oid stxrelid:oid stxname:name stxnamespace:oid stxowner:oid stxstattarget:int4 stxkeys:int2vector
     stxkind:char[] stxexprs:node`,
  ],
  [
    'pg_catalog',
    'pg_publication',
    'r',
    `oid:oid pubname:name pubowner:oid puballtables:bool pubinsert:bool pubupdate:bool pubdelete:bool
     pubtruncate:bool pubviaroot:bool`,
  ],
  ['pg_catalog', 'pg_publication_rel', 'r', 'oid:oid prpubid:oid prrelid:oid prqual:node prattrs:int2vector'],
  ['pg_catalog', 'pg_publication_namespace', 'r', 'oid:oid pnpubid:oid pnnspid:oid'],
  [
    'pg_catalog',
    'pg_depend',
    'r',
    'classid:oid objid:oid objsubid:int4 refclassid:oid refobjid:oid refobjsubid:int4 deptype:char',
  ],
  ['pg_catalog', 'pg_foreign_table', 'r', 'ftrelid:oid ftserver:oid ftoptions:text[]'],
  [
    'pg_catalog',
    'pg_partitioned_table',
    'r',
    `partrelid:oid partstrat:char partnatts:int2 partdefid:oid partattrs:int2vector partclass:oidvector
     partcollation:oidvector partexprs:node`,
  ],
  [
    'pg_catalog',
    'pg_event_trigger',
    'r',
    'oid:oid evtname:name evtevent:name evtowner:oid evtfoid:oid evtenabled:char evttags:text[]',
  ],
  [
    'information_schema',
    'schemata',
    'v',
    `catalog_name:name schema_name:name schema_owner:name default_character_set_catalog:name
     default_character_set_schema:name default_character_set_name:name sql_path:varchar`,
  ],
  [
    'information_schema',
    'tables',
    'v',
    `table_catalog:name table_schema:name table_name:name table_type:varchar self_referencing_column_name:name
     reference_generation:varchar user_defined_type_catalog:name user_defined_type_schema:name
     user_defined_type_name:name is_insertable_into:varchar is_typed:varchar commit_action:varchar`,
  ],
  [
    'information_schema',
    'columns',
    'v',
    `table_catalog:name table_schema:name table_name:name column_name:name ordinal_position:int4
     column_default:varchar is_nullable:varchar data_type:varchar character_maximum_length:int4
     character_octet_length:int4 numeric_precision:int4 numeric_precision_radix:int4 numeric_scale:int4
     datetime_precision:int4 interval_type:varchar interval_precision:int4 character_set_catalog:name
     character_set_schema:name character_set_name:name collation_catalog:name collation_schema:name
     collation_name:name domain_catalog:name domain_schema:name domain_name:name udt_catalog:name udt_schema:name
     udt_name:name scope_catalog:name scope_schema:name scope_name:name maximum_cardinality:int4
     dtd_identifier:name is_self_referencing:varchar is_identity:varchar identity_generation:varchar
     identity_start:varchar identity_increment:varchar identity_maximum:varchar identity_minimum:varchar
     identity_cycle:varchar is_generated:varchar generation_expression:varchar is_updatable:varchar`,
  ],
  [
    'information_schema',
    'table_constraints',
    'v',
    `constraint_catalog:name constraint_schema:name constraint_name:name table_catalog:name table_schema:name
     table_name:name constraint_type:varchar is_deferrable:varchar initially_deferred:varchar enforced:varchar
     nulls_distinct:varchar`,
  ],
  [
    'information_schema',
    'key_column_usage',
    'v',
    `constraint_catalog:name constraint_schema:name constraint_name:name table_catalog:name table_schema:name
     table_name:name column_name:name ordinal_position:int4 position_in_unique_constraint:int4`,
  ],
  [
    'information_schema',
    'referential_constraints',
    'v',
    `constraint_catalog:name constraint_schema:name constraint_name:name unique_constraint_catalog:name
     unique_constraint_schema:name unique_constraint_name:name match_option:varchar update_rule:varchar
     delete_rule:varchar`,
  ],
  [
    'information_schema',
    'check_constraints',
    'v',
    'constraint_catalog:name constraint_schema:name constraint_name:name check_clause:varchar',
  ],
  [
    'information_schema',
    'constraint_column_usage',
    'v',
    `table_catalog:name table_schema:name table_name:name column_name:name constraint_catalog:name
     constraint_schema:name constraint_name:name`,
  ],
  [
    'information_schema',
    'views',
    'v',
    `table_catalog:name table_schema:name table_name:name view_definition:varchar check_option:varchar
     is_updatable:varchar is_insertable_into:varchar is_trigger_updatable:varchar is_trigger_deletable:varchar
     is_trigger_insertable_into:varchar`,
  ],
  [
    'information_schema',
    'sequences',
    'v',
    `sequence_catalog:name sequence_schema:name sequence_name:name data_type:varchar numeric_precision:int4
     numeric_precision_radix:int4 numeric_scale:int4 start_value:varchar minimum_value:varchar
     maximum_value:varchar increment:varchar cycle_option:varchar`,
  ],
  // Always empty; psql's \des, \dd and \dC, and GUI tools, join them.
  [
    'pg_catalog',
    'pg_foreign_data_wrapper',
    'r',
    'oid:oid fdwname:name fdwowner:oid fdwhandler:oid fdwvalidator:oid fdwacl:acl[] fdwoptions:text[]',
  ],
  [
    'pg_catalog',
    'pg_foreign_server',
    'r',
    'oid:oid srvname:name srvowner:oid srvfdw:oid srvtype:text srvversion:text srvacl:acl[] srvoptions:text[]',
  ],
  [
    'pg_catalog',
    'pg_opclass',
    'r',
    'oid:oid opcmethod:oid opcname:name opcnamespace:oid opcowner:oid opcfamily:oid opcintype:oid opcdefault:bool opckeytype:oid',
  ],
  ['pg_catalog', 'pg_opfamily', 'r', 'oid:oid opfmethod:oid opfname:name opfnamespace:oid opfowner:oid'],
  [
    'pg_catalog',
    'pg_operator',
    'r',
    `oid:oid oprname:name oprnamespace:oid oprowner:oid oprkind:char oprcanmerge:bool oprcanhash:bool oprleft:oid
     oprright:oid oprresult:oid oprcom:oid oprnegate:oid oprcode:regproc oprrest:regproc oprjoin:regproc`,
  ],
  [
    'pg_catalog',
    'pg_language',
    'r',
    `oid:oid lanname:name lanowner:oid lanispl:bool lanpltrusted:bool lanplcallfoid:oid laninline:oid
     lanvalidator:oid lanacl:acl[]`,
  ],
  ['pg_catalog', 'pg_cast', 'r', 'oid:oid castsource:oid casttarget:oid castfunc:oid castcontext:char castmethod:char'],
];

/** Every relation of the virtual catalog, in OID order. */
export const RELATIONS: readonly VirtualRelation[] = SPECS.map(([schema, name, relkind, spec], i) => ({
  schema,
  name,
  relkind,
  columns: columns(spec),
  oid: virtualRelationOid(i + 1),
}));

const BY_NAME: ReadonlyMap<string, VirtualRelation> = new Map(RELATIONS.map((r) => [`${r.schema}.${r.name}`, r]));

export function virtualRelation(schema: VirtualSchema, name: string): VirtualRelation | undefined {
  return BY_NAME.get(`${schema}.${name}`);
}

/** A virtual relation that must exist (a builder's own table). */
export function relation(schema: VirtualSchema, name: string): VirtualRelation {
  const r = virtualRelation(schema, name);
  if (r === undefined) {
    throw new AssertionFailedError(`no virtual relation ${schema}.${name}`);
  }
  return r;
}

export function namespaceOidOf(schema: VirtualSchema): number {
  return schema === 'pg_catalog' ? PG_CATALOG_NAMESPACE_OID : INFORMATION_SCHEMA_NAMESPACE_OID;
}

/** pg_class.oid of pg_class itself: pg_depend.classid and pg_description.classoid point at it. */
export const PG_CLASS_OID = relation('pg_catalog', 'pg_class').oid;
