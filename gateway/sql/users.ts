import type { AlterRoleStmt, CreateRoleStmt, Node } from '@pgsql/types';
import { randomBytes } from 'node:crypto';
import { SqlError, SqlStates } from '../../common/errors';
import { sqlUserKey, SQL_USERS_SPAN } from '../../common/keys';
import type { KvClient } from '../../kv';
import type { ScramVerifier } from '../pgwire/sql-session';
import { createScramVerifier, formatScramVerifier, parseScramVerifier } from '../pgwire/scram';
import type { TxnLike } from './catalog/catalog';

/**
 * SQL users (roles that can log in), stored in the system keyspace with a SCRAM-SHA-256
 * verifier (never the password itself), as PostgreSQL's pg_authid keeps it.
 */

export interface UserRecord {
  readonly name: string;
  /** `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, or '' without a password. */
  readonly verifier: string;
  readonly superuser: boolean;
  readonly canLogin: boolean;
}

export class UserStore {
  constructor(private readonly kv: KvClient) {}

  async get(name: string, txn?: TxnLike): Promise<UserRecord | undefined> {
    const raw = txn === undefined ? await this.kv.get(sqlUserKey(name)) : await txn.get(sqlUserKey(name));
    return raw === undefined ? undefined : (JSON.parse(raw.toString('utf8')) as UserRecord);
  }

  async scramVerifier(name: string): Promise<ScramVerifier | undefined> {
    const user = await this.get(name);
    if (user === undefined || user.verifier === '' || !user.canLogin) return undefined;
    return parseScramVerifier(user.verifier);
  }

  async list(txn: TxnLike): Promise<UserRecord[]> {
    const page = await txn.scan(SQL_USERS_SPAN.startKey, SQL_USERS_SPAN.endKey, { maxKeys: 10_000 });
    return page.rows.map((r) => JSON.parse(r.value.toString('utf8')) as UserRecord);
  }

  /** Creates `root` (superuser, no password) if it does not exist yet. */
  async ensureRoot(txn: TxnLike): Promise<void> {
    if ((await this.get('root', txn)) === undefined) {
      await this.write(txn, { name: 'root', verifier: '', superuser: true, canLogin: true });
    }
  }

  /**
   * Gives `root` a password (creating it if need be): how a cluster without trust
   * authentication gets its first login (`cairn init --root-password-file`).
   */
  async setRootPassword(txn: TxnLike, password: string): Promise<void> {
    const root = (await this.get('root', txn)) ?? { name: 'root', verifier: '', superuser: true, canLogin: true };
    await this.write(txn, { ...root, verifier: verifierFor(password) });
  }

  async write(txn: TxnLike, user: UserRecord): Promise<void> {
    await txn.put(sqlUserKey(user.name), Buffer.from(JSON.stringify(user), 'utf8'));
  }

  async createFromStatement(txn: TxnLike, stmt: CreateRoleStmt): Promise<void> {
    const name = stmt.role as string;
    if ((await this.get(name, txn)) !== undefined) {
      throw new SqlError(SqlStates.duplicateObject, `role "${name}" already exists`);
    }
    const options = roleOptions(stmt.options ?? []);
    await this.write(txn, {
      name,
      verifier: options.password === undefined || options.password === null ? '' : verifierFor(options.password),
      superuser: options.superuser ?? false,
      // CREATE USER implies LOGIN; CREATE ROLE does not.
      canLogin: options.login ?? stmt.stmt_type === 'ROLESTMT_USER',
    });
  }

  async alterFromStatement(txn: TxnLike, stmt: AlterRoleStmt): Promise<void> {
    const name = stmt.role?.rolename as string;
    const user = await this.get(name, txn);
    if (user === undefined) {
      throw new SqlError(SqlStates.undefinedObject, `role "${name}" does not exist`);
    }
    const options = roleOptions(stmt.options ?? []);
    await this.write(txn, {
      ...user,
      ...(options.password === undefined ? {} : { verifier: options.password === null ? '' : verifierFor(options.password) }),
      ...(options.superuser === undefined ? {} : { superuser: options.superuser }),
      ...(options.login === undefined ? {} : { canLogin: options.login }),
    });
  }
}

function verifierFor(password: string): string {
  if (password.startsWith('SCRAM-SHA-256$')) {
    parseScramVerifier(password);
    return password;
  }
  return formatScramVerifier(createScramVerifier(password, randomBytes(16)));
}

function roleOptions(options: Node[]): { password?: string | null; superuser?: boolean; login?: boolean } {
  const out: { password?: string | null; superuser?: boolean; login?: boolean } = {};
  for (const node of options) {
    const def = (node as { DefElem: { defname?: string; arg?: Node } }).DefElem;
    const arg = def.arg;
    switch (def.defname) {
      case 'password':
        out.password = arg === undefined ? null : 'String' in arg ? (arg.String.sval ?? '') : null;
        break;
      case 'superuser':
        out.superuser = arg !== undefined && 'Boolean' in arg ? arg.Boolean.boolval === true : arg !== undefined && 'Integer' in arg ? arg.Integer.ival === 1 : true;
        break;
      case 'canlogin':
        out.login = arg !== undefined && 'Boolean' in arg ? arg.Boolean.boolval === true : arg !== undefined && 'Integer' in arg ? arg.Integer.ival === 1 : true;
        break;
      default:
        break;
    }
  }
  return out;
}
