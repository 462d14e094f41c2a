import type { SqlType } from '../types/datum';
import { typeFromOid, typeName, typeOid, typmodFromWire } from '../types/type-names';
import { UTF8_ENCODING } from './oids';
import { pgTypeByOid } from './pg-types';

/**
 * Pure versions of the catalog functions psql's queries call on catalog columns
 * (format_type, pg_encoding_to_char), for the planner's built-ins.
 */

/** Names of pg_type rows Cairn has no SqlType for, as format_type prints them. */
const OTHER_TYPE_NAMES: Readonly<Record<string, string>> = {
  char: '"char"',
  json: 'json',
};

/**
 * format_type(type_oid, typmod): 'integer', 'character varying(10)', 'numeric(10,2)',
 * 'text[]'. `typmod` is the catalog's (atttypmod: varchar(10) is 14); -1 for none, null
 * when the argument is NULL. PostgreSQL prints '???' for an OID it does not know.
 */
export function formatType(oid: number, typmod: number | null): string {
  const type = typeFromOid(oid);
  if (type !== undefined && typeOid(type) === oid) {
    // Without a typmod argument PostgreSQL names bpchar by its SQL name; with -1, 'bpchar'.
    if (typmod === null && type.kind === 'scalar' && type.name === 'bpchar') {
      return 'character';
    }
    return typeName(withTypmod(type, typmod ?? -1));
  }
  const facts = pgTypeByOid(oid);
  if (facts === undefined) {
    return '???';
  }
  if (facts.typelem !== 0 && facts.typname.startsWith('_')) {
    return `${formatType(facts.typelem, typmod)}[]`;
  }
  return OTHER_TYPE_NAMES[facts.typname] ?? facts.typname;
}

function withTypmod(type: SqlType, atttypmod: number): SqlType {
  if (type.kind === 'array') {
    return { kind: 'array', element: withTypmod(type.element, atttypmod) };
  }
  return { ...type, typmod: typmodFromWire(type.name, atttypmod) };
}

/** pg_encoding_to_char: Cairn stores and sends UTF8 only. */
export function pgEncodingToChar(encoding: number): string {
  return encoding === UTF8_ENCODING ? 'UTF8' : '';
}
