import type { Client } from 'pg';
import { prefixEndOf } from '../../common/keys';
import { decodeDescriptor, encodeDescriptor } from '../../gateway/sql/catalog/descriptors';
import type { TableDescriptor } from '../../gateway/sql/catalog/descriptors';
import { MAX_CASCADE_DEPTH } from '../../gateway/sql/exec/dml';
import { indexPrefix } from '../../gateway/sql/exec/table-codec';
import { decodeIndexOid } from '../../gateway/sql/virtual';
import { startSqlCluster, type SqlCluster } from '../support/sql-cluster';

/**
 * Foreign key referential actions through the gateway, on a real one-node cluster:
 * ON DELETE / ON UPDATE CASCADE, SET NULL, SET DEFAULT, RESTRICT and NO ACTION
 * (PostgreSQL 15, "5.4.5. Foreign Keys" and CREATE TABLE's REFERENCES clause), the
 * child's own constraints checked on the rows an action changes, and a failing action
 * leaving nothing of its statement behind.
 */

let cluster: SqlCluster | undefined;
let db: Client;

beforeAll(async () => {
  cluster = await startSqlCluster('sql-fk-actions', { nodes: 1 });
  db = await cluster.client();
}, 120_000);

afterAll(async () => {
  await db?.end().catch(() => undefined);
  await cluster?.stop();
});

interface PgError {
  readonly code?: string;
  readonly message: string;
  readonly detail?: string;
  readonly hint?: string;
}

async function failure(query: Promise<unknown>): Promise<PgError> {
  try {
    await query;
  } catch (err) {
    return err as PgError;
  }
  throw new Error('the statement succeeded');
}

async function rows(sql: string): Promise<unknown[][]> {
  return (await db.query({ text: sql, rowMode: 'array' })).rows as unknown[][];
}

/**
 * The entries of a secondary index, read from KV. A read through the index skips an
 * entry whose row is gone and re-filters the rows it finds, so a stale entry left by an
 * action would not show in query results: count them here.
 */
async function indexEntries(index: string): Promise<number> {
  const [[oid]] = (await rows(`SELECT oid FROM pg_class WHERE relname = '${index}'`)) as [[unknown]];
  const decoded = decodeIndexOid(Number(oid));
  if (decoded === undefined) throw new Error(`${index} is not an index`);
  const prefix = indexPrefix(decoded.tableId, decoded.indexId);
  return (await (cluster as SqlCluster).nodes.kv.scan(prefix, prefixEndOf(prefix))).rows.length;
}

describe('ON DELETE', () => {
  test('CASCADE deletes the referencing rows, found through the child index', async () => {
    await db.query('CREATE TABLE dc_p (id INT PRIMARY KEY)');
    await db.query('CREATE TABLE dc_c (id INT PRIMARY KEY, pid INT REFERENCES dc_p ON DELETE CASCADE, note TEXT)');
    await db.query('CREATE INDEX dc_c_pid ON dc_c (pid)');
    await db.query('INSERT INTO dc_p VALUES (1), (2)');
    await db.query("INSERT INTO dc_c VALUES (10, 1, 'a'), (11, 1, 'b'), (20, 2, 'c'), (30, NULL, 'd')");
    const deleted = await db.query('DELETE FROM dc_p WHERE id = 1 RETURNING id');
    expect(deleted.rowCount).toBe(1);
    expect(deleted.rows).toEqual([{ id: 1 }]);
    expect(await rows('SELECT id, pid FROM dc_c ORDER BY id')).toEqual([
      [20, 2],
      [30, null],
    ]);
    expect(await rows('SELECT id FROM dc_c WHERE pid = 1')).toEqual([]);
    expect(await indexEntries('dc_c_pid')).toBe(2);
  });

  test('CASCADE without an index on the referencing columns scans the child', async () => {
    await db.query('CREATE TABLE dn_p (id INT PRIMARY KEY)');
    await db.query('CREATE TABLE dn_c (id INT PRIMARY KEY, pid INT REFERENCES dn_p ON DELETE CASCADE)');
    await db.query('INSERT INTO dn_p SELECT g FROM generate_series(1, 5) g');
    await db.query('INSERT INTO dn_c SELECT g, g % 5 + 1 FROM generate_series(1, 50) g');
    await db.query('DELETE FROM dn_p WHERE id IN (2, 4)');
    expect(await rows('SELECT count(*)::int FROM dn_c')).toEqual([[30]]);
    expect(await rows('SELECT count(*)::int FROM dn_c WHERE pid IN (2, 4)')).toEqual([[0]]);
  });

  test('SET NULL clears the referencing columns; the child index follows', async () => {
    await db.query('CREATE TABLE dsn_p (id INT PRIMARY KEY)');
    await db.query('CREATE TABLE dsn_c (id INT PRIMARY KEY, pid INT REFERENCES dsn_p ON DELETE SET NULL)');
    await db.query('CREATE INDEX dsn_c_pid ON dsn_c (pid)');
    await db.query('INSERT INTO dsn_p VALUES (1), (2)');
    await db.query('INSERT INTO dsn_c VALUES (1, 1), (2, 1), (3, 2)');
    await db.query('DELETE FROM dsn_p WHERE id = 1');
    expect(await rows('SELECT id, pid FROM dsn_c ORDER BY id')).toEqual([
      [1, null],
      [2, null],
      [3, 2],
    ]);
    // The index holds the new values: a lookup by the old value finds nothing, by NULL both.
    expect(await rows('SELECT id FROM dsn_c WHERE pid = 1')).toEqual([]);
    expect(await rows('SELECT id FROM dsn_c WHERE pid IS NULL ORDER BY id')).toEqual([[1], [2]]);
    expect(await indexEntries('dsn_c_pid')).toBe(3);
  });

  test('SET DEFAULT puts the column default, which must itself be a parent key', async () => {
    await db.query('CREATE TABLE dsd_p (id INT PRIMARY KEY)');
    await db.query('CREATE TABLE dsd_c (id INT PRIMARY KEY, pid INT DEFAULT 0 REFERENCES dsd_p ON DELETE SET DEFAULT)');
    await db.query('INSERT INTO dsd_p VALUES (0), (1), (2)');
    await db.query('INSERT INTO dsd_c VALUES (1, 1), (2, 2)');
    await db.query('DELETE FROM dsd_p WHERE id = 1');
    expect(await rows('SELECT id, pid FROM dsd_c ORDER BY id')).toEqual([
      [1, 0],
      [2, 2],
    ]);
    // Deleting the default's own parent row: its children would keep referencing it.
    const own = await failure(db.query('DELETE FROM dsd_p WHERE id = 0'));
    expect(own.code).toBe('23503');
    expect(own.message).toBe('update or delete on table "dsd_p" violates foreign key constraint "dsd_c_pid_fkey" on table "dsd_c"');
    expect(own.detail).toBe('Key (id)=(0) is still referenced from table "dsd_c".');
    // A default no parent row holds.
    await db.query('CREATE TABLE dsd_e (id INT PRIMARY KEY, pid INT DEFAULT 99 REFERENCES dsd_p ON DELETE SET DEFAULT)');
    await db.query('INSERT INTO dsd_e VALUES (1, 2)');
    const missing = await failure(db.query('DELETE FROM dsd_p WHERE id = 2'));
    expect(missing.code).toBe('23503');
    expect(missing.message).toBe('insert or update on table "dsd_e" violates foreign key constraint "dsd_e_pid_fkey"');
    expect(missing.detail).toBe('Key (pid)=(99) is not present in table "dsd_p".');
    expect(await rows('SELECT id FROM dsd_p ORDER BY id')).toEqual([[0], [2]]);
    expect(await rows('SELECT id, pid FROM dsd_c ORDER BY id')).toEqual([
      [1, 0],
      [2, 2],
    ]);
  });

  test('RESTRICT and NO ACTION refuse with PostgreSQL\'s message', async () => {
    await db.query('CREATE TABLE p (id INT PRIMARY KEY)');
    await db.query('CREATE TABLE c (id INT PRIMARY KEY, p INT REFERENCES p (id) ON DELETE RESTRICT)');
    await db.query('CREATE TABLE d (id INT PRIMARY KEY, p INT REFERENCES p (id))');
    await db.query('INSERT INTO p VALUES (1), (2)');
    await db.query('INSERT INTO c VALUES (1, 1)');
    await db.query('INSERT INTO d VALUES (1, 2)');
    const restrict = await failure(db.query('DELETE FROM p WHERE id = 1'));
    expect(restrict.code).toBe('23503');
    expect(restrict.message).toBe('update or delete on table "p" violates foreign key constraint "c_p_fkey" on table "c"');
    expect(restrict.detail).toBe('Key (id)=(1) is still referenced from table "c".');
    const noAction = await failure(db.query('DELETE FROM p WHERE id = 2'));
    expect(noAction.code).toBe('23503');
    expect(noAction.message).toBe('update or delete on table "p" violates foreign key constraint "d_p_fkey" on table "d"');
    expect(noAction.detail).toBe('Key (id)=(2) is still referenced from table "d".');
    expect(await rows('SELECT id FROM p ORDER BY id')).toEqual([[1], [2]]);
  });
});

describe('ON UPDATE', () => {
  test('CASCADE carries the new key to the children, their index and unique constraints included', async () => {
    await db.query('CREATE TABLE uc_p (id INT PRIMARY KEY, name TEXT)');
    await db.query('CREATE TABLE uc_c (id INT PRIMARY KEY, pid INT UNIQUE REFERENCES uc_p ON UPDATE CASCADE)');
    await db.query("INSERT INTO uc_p VALUES (1, 'one'), (2, 'two')");
    await db.query('INSERT INTO uc_c VALUES (10, 1), (20, 2)');
    const updated = await db.query('UPDATE uc_p SET id = id + 100 RETURNING id');
    expect(updated.rows.map((r: { id: number }) => r.id).sort()).toEqual([101, 102]);
    expect(await rows('SELECT id, pid FROM uc_c ORDER BY id')).toEqual([
      [10, 101],
      [20, 102],
    ]);
    const plan = await db.query('EXPLAIN SELECT id FROM uc_c WHERE pid = 101');
    expect(plan.rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n')).toMatch(/uc_c_pid_key/);
    expect(await rows('SELECT id FROM uc_c WHERE pid = 101')).toEqual([[10]]);
    // The unique index lost its old entries: the old value can be used again.
    await db.query("INSERT INTO uc_p VALUES (1, 'again')");
    await db.query('INSERT INTO uc_c VALUES (30, 1)');
    // A change of a column nobody references acts on nothing.
    await db.query("UPDATE uc_p SET name = 'x'");
    expect(await rows('SELECT count(*)::int FROM uc_c')).toEqual([[3]]);
  });

  test('SET NULL and SET DEFAULT act on an update of the key', async () => {
    await db.query('CREATE TABLE us_p (id INT PRIMARY KEY)');
    await db.query('CREATE TABLE us_c (id INT PRIMARY KEY, a INT REFERENCES us_p ON UPDATE SET NULL, b INT DEFAULT 7 REFERENCES us_p ON UPDATE SET DEFAULT)');
    await db.query('INSERT INTO us_p VALUES (1), (7)');
    await db.query('INSERT INTO us_c VALUES (1, 1, 1)');
    await db.query('UPDATE us_p SET id = 2 WHERE id = 1');
    expect(await rows('SELECT id, a, b FROM us_c')).toEqual([[1, null, 7]]);
  });

  test('RESTRICT refuses a changed key; NO ACTION accepts one another row now holds', async () => {
    await db.query('CREATE TABLE ur_p (id INT PRIMARY KEY, code INT UNIQUE)');
    await db.query('CREATE TABLE ur_na (id INT PRIMARY KEY, code INT REFERENCES ur_p (code))');
    await db.query('CREATE TABLE ur_r (id INT PRIMARY KEY, pid INT REFERENCES ur_p ON UPDATE RESTRICT)');
    await db.query('INSERT INTO ur_p VALUES (1, 10), (2, 20)');
    await db.query('INSERT INTO ur_na VALUES (1, 10)');
    await db.query('INSERT INTO ur_r VALUES (1, 2)');
    const restrict = await failure(db.query('UPDATE ur_p SET id = 3 WHERE id = 2'));
    expect(restrict.code).toBe('23503');
    expect(restrict.message).toBe('update or delete on table "ur_p" violates foreign key constraint "ur_r_pid_fkey" on table "ur_r"');
    expect(restrict.detail).toBe('Key (id)=(2) is still referenced from table "ur_r".');
    const noAction = await failure(db.query('UPDATE ur_p SET code = 11 WHERE id = 1'));
    expect(noAction.code).toBe('23503');
    expect(noAction.detail).toBe('Key (code)=(10) is still referenced from table "ur_na".');
    // Row 1 gives code 10 up and row 2 takes it in the same statement: still referenced, allowed.
    await db.query('UPDATE ur_p SET code = CASE id WHEN 1 THEN 11 ELSE 10 END');
    expect(await rows('SELECT id, code FROM ur_p ORDER BY id')).toEqual([
      [1, 11],
      [2, 10],
    ]);
  });
});

describe('multi-column keys', () => {
  test('CASCADE and SET NULL over a two-column key given in another order than the parent index', async () => {
    await db.query('CREATE TABLE mk_p (region TEXT, id INT, PRIMARY KEY (region, id))');
    await db.query(
      'CREATE TABLE mk_c (id INT PRIMARY KEY, pid INT, pregion TEXT, FOREIGN KEY (pid, pregion) REFERENCES mk_p (id, region) ON UPDATE CASCADE ON DELETE SET NULL)',
    );
    await db.query('CREATE INDEX mk_c_ref ON mk_c (pregion, pid)');
    await db.query("INSERT INTO mk_p VALUES ('eu', 1), ('us', 1), ('eu', 2)");
    await db.query("INSERT INTO mk_c VALUES (1, 1, 'eu'), (2, 1, 'us'), (3, 2, 'eu'), (4, 1, NULL)");
    await db.query("UPDATE mk_p SET region = 'ap' WHERE region = 'eu' AND id = 1");
    expect(await rows('SELECT id, pid, pregion FROM mk_c ORDER BY id')).toEqual([
      [1, 1, 'ap'],
      [2, 1, 'us'],
      [3, 2, 'eu'],
      [4, 1, null],
    ]);
    await db.query("DELETE FROM mk_p WHERE region = 'us'");
    expect(await rows('SELECT id, pid, pregion FROM mk_c ORDER BY id')).toEqual([
      [1, 1, 'ap'],
      [2, null, null],
      [3, 2, 'eu'],
      [4, 1, null],
    ]);
    expect(await rows("SELECT id FROM mk_c WHERE pregion = 'ap' AND pid = 1")).toEqual([[1]]);
    expect(await rows("SELECT id FROM mk_c WHERE pregion = 'us'")).toEqual([]);
  });

  test('a multi-column CASCADE into a child whose primary key holds the referencing columns', async () => {
    await db.query('CREATE TABLE mp_p (a INT, b INT, PRIMARY KEY (a, b))');
    await db.query('CREATE TABLE mp_c (a INT, b INT, n INT, PRIMARY KEY (a, b, n), FOREIGN KEY (a, b) REFERENCES mp_p ON UPDATE CASCADE ON DELETE CASCADE)');
    await db.query('INSERT INTO mp_p VALUES (1, 1), (1, 2)');
    await db.query('INSERT INTO mp_c VALUES (1, 1, 1), (1, 1, 2), (1, 2, 1)');
    await db.query('UPDATE mp_p SET b = b + 10');
    expect(await rows('SELECT a, b, n FROM mp_c ORDER BY a, b, n')).toEqual([
      [1, 11, 1],
      [1, 11, 2],
      [1, 12, 1],
    ]);
    await db.query('DELETE FROM mp_p WHERE b = 11');
    expect(await rows('SELECT a, b, n FROM mp_c')).toEqual([[1, 12, 1]]);
  });
});

describe('cascades through several tables', () => {
  test('a three-level cascade on delete and on update', async () => {
    await db.query('CREATE TABLE l1 (id INT PRIMARY KEY)');
    await db.query('CREATE TABLE l2 (id INT PRIMARY KEY, l1 INT REFERENCES l1 ON DELETE CASCADE ON UPDATE CASCADE)');
    await db.query('CREATE TABLE l3 (id INT PRIMARY KEY, l2 INT REFERENCES l2 ON DELETE CASCADE ON UPDATE CASCADE, tag TEXT)');
    await db.query('CREATE INDEX l3_l2 ON l3 (l2)');
    await db.query('INSERT INTO l1 VALUES (1), (2)');
    await db.query('INSERT INTO l2 VALUES (10, 1), (11, 1), (20, 2)');
    await db.query("INSERT INTO l3 VALUES (100, 10, 'a'), (101, 10, 'b'), (110, 11, 'c'), (200, 20, 'd')");
    // l1's key change goes to l2; l2's own key is unchanged, so l3 stays.
    await db.query('UPDATE l1 SET id = 5 WHERE id = 1');
    expect(await rows('SELECT id, l1 FROM l2 ORDER BY id')).toEqual([
      [10, 5],
      [11, 5],
      [20, 2],
    ]);
    await db.query('UPDATE l2 SET id = id + 1000 WHERE l1 = 5');
    expect(await rows('SELECT id, l2 FROM l3 ORDER BY id')).toEqual([
      [100, 1010],
      [101, 1010],
      [110, 1011],
      [200, 20],
    ]);
    await db.query('DELETE FROM l1 WHERE id = 5');
    expect(await rows('SELECT id FROM l2')).toEqual([[20]]);
    expect(await rows('SELECT id FROM l3')).toEqual([[200]]);
    expect(await rows('SELECT id FROM l3 WHERE l2 = 1010')).toEqual([]);
    expect(await indexEntries('l3_l2')).toBe(1);
  });

  test('a row changed by a nested action before its own turn is acted on as it is now', async () => {
    // Deleting 1 cascades to 2 and 3 (by p1); 2's deletion first sets 3's p2 to NULL.
    await db.query('CREATE TABLE twice (id INT PRIMARY KEY, p1 INT REFERENCES twice ON DELETE CASCADE, p2 INT REFERENCES twice ON DELETE SET NULL)');
    await db.query('CREATE INDEX twice_p1 ON twice (p1)');
    await db.query('CREATE INDEX twice_p2 ON twice (p2)');
    await db.query('INSERT INTO twice VALUES (1, NULL, NULL), (2, 1, NULL), (3, 1, 2), (4, NULL, 3)');
    await db.query('DELETE FROM twice WHERE id = 1');
    expect(await rows('SELECT id, p1, p2 FROM twice')).toEqual([[4, null, null]]);
    expect(await indexEntries('twice_p1')).toBe(1);
    expect(await indexEntries('twice_p2')).toBe(1);
  });

  test('a self-referencing tree: deleting a node deletes its subtree', async () => {
    await db.query('CREATE TABLE tree (id INT PRIMARY KEY, parent INT REFERENCES tree ON DELETE CASCADE, label TEXT)');
    await db.query('CREATE INDEX tree_parent ON tree (parent)');
    // 1 ─ 2 ─ 4 ─ 8
    //   │   └ 5
    //   └ 3 ─ 6
    //       └ 7
    await db.query(
      "INSERT INTO tree VALUES (1, NULL, 'root'), (2, 1, 'a'), (3, 1, 'b'), (4, 2, 'aa'), (5, 2, 'ab'), (6, 3, 'ba'), (7, 3, 'bb'), (8, 4, 'aaa')",
    );
    const deleted = await db.query('DELETE FROM tree WHERE id = 2');
    expect(deleted.rowCount).toBe(1);
    expect(await rows('SELECT id FROM tree ORDER BY id')).toEqual([[1], [3], [6], [7]]);
    // The statement deletes a node and one of its descendants itself: each goes once.
    const again = await db.query('DELETE FROM tree WHERE id IN (1, 6)');
    expect(again.rowCount).toBe(2);
    expect(await rows('SELECT count(*)::int FROM tree')).toEqual([[0]]);
  });

  test('a self-referencing table with ON UPDATE CASCADE renumbers parents and children in one statement', async () => {
    await db.query('CREATE TABLE org (id INT PRIMARY KEY, boss INT REFERENCES org ON UPDATE CASCADE ON DELETE SET NULL)');
    await db.query('CREATE INDEX org_boss ON org (boss)');
    await db.query('INSERT INTO org VALUES (1, NULL), (2, 1), (3, 2), (4, 4)');
    await db.query('UPDATE org SET id = id * 10');
    expect(await rows('SELECT id, boss FROM org ORDER BY id')).toEqual([
      [10, null],
      [20, 10],
      [30, 20],
      [40, 40],
    ]);
    // A SET NULL on rows the same statement deletes: nothing left to change.
    await db.query('DELETE FROM org WHERE id IN (10, 20)');
    expect(await rows('SELECT id, boss FROM org ORDER BY id')).toEqual([
      [30, null],
      [40, 40],
    ]);
    expect(await rows('SELECT id FROM org WHERE boss IS NULL')).toEqual([[30]]);
    expect(await indexEntries('org_boss')).toBe(2);
  });

  test(`cascades nested deeper than ${MAX_CASCADE_DEPTH} levels fail with 54001`, async () => {
    await db.query('CREATE TABLE chain (id INT PRIMARY KEY, prev INT REFERENCES chain ON DELETE CASCADE)');
    await db.query('CREATE INDEX chain_prev ON chain (prev)');
    await db.query(`INSERT INTO chain SELECT g, NULLIF(g - 1, 0) FROM generate_series(1, ${MAX_CASCADE_DEPTH + 2}) g`);
    const err = await failure(db.query('DELETE FROM chain WHERE id = 1'));
    expect(err.code).toBe('54001');
    expect(await rows('SELECT count(*)::int FROM chain')).toEqual([[MAX_CASCADE_DEPTH + 2]]);
    // Exactly at the limit it goes through.
    await db.query('DELETE FROM chain WHERE id = 2');
    expect(await rows('SELECT id FROM chain')).toEqual([[1]]);
  }, 120_000);
});

describe('the child\'s own constraints', () => {
  test('SET NULL into a NOT NULL column fails with 23502 and the statement leaves nothing behind', async () => {
    await db.query('CREATE TABLE nn_p (id INT PRIMARY KEY)');
    await db.query('CREATE TABLE nn_ok (id INT PRIMARY KEY, pid INT REFERENCES nn_p ON DELETE SET NULL)');
    await db.query('CREATE TABLE nn_c (id INT PRIMARY KEY, pid INT NOT NULL REFERENCES nn_p ON DELETE SET NULL)');
    await db.query('CREATE INDEX nn_ok_pid ON nn_ok (pid)');
    await db.query('INSERT INTO nn_p VALUES (1), (2)');
    await db.query('INSERT INTO nn_ok VALUES (1, 1), (2, 2)');
    await db.query('INSERT INTO nn_c VALUES (1, 2)');
    const snapshot = async (): Promise<unknown> => ({
      p: await rows('SELECT id FROM nn_p ORDER BY id'),
      ok: await rows('SELECT id, pid FROM nn_ok ORDER BY id'),
      byIndex: await rows('SELECT id FROM nn_ok WHERE pid = 1'),
      c: await rows('SELECT id, pid FROM nn_c'),
    });
    const before = await snapshot();
    // Row 1's action succeeds (nn_ok), row 2's fails (nn_c): none of it may stay.
    const err = await failure(db.query('DELETE FROM nn_p'));
    expect(err.code).toBe('23502');
    expect(err.message).toBe('null value in column "pid" of relation "nn_c" violates not-null constraint');
    expect(await snapshot()).toEqual(before);

    await db.query('BEGIN');
    await db.query('SAVEPOINT s');
    expect((await failure(db.query('DELETE FROM nn_p WHERE id = 2'))).code).toBe('23502');
    await db.query('ROLLBACK TO SAVEPOINT s');
    await db.query('DELETE FROM nn_p WHERE id = 1');
    await db.query('COMMIT');
    expect(await rows('SELECT id, pid FROM nn_ok ORDER BY id')).toEqual([
      [1, null],
      [2, 2],
    ]);
    expect(await rows('SELECT id FROM nn_p')).toEqual([[2]]);
  });

  test('CHECK, unique and foreign key constraints of the child hold for rows an action changes', async () => {
    await db.query('CREATE TABLE cc_p (id INT PRIMARY KEY)');
    await db.query('CREATE TABLE cc_check (id INT PRIMARY KEY, pid INT REFERENCES cc_p ON UPDATE CASCADE, CHECK (pid < 100))');
    await db.query('CREATE TABLE cc_uniq (id INT PRIMARY KEY, pid INT DEFAULT 0 UNIQUE REFERENCES cc_p ON DELETE SET DEFAULT)');
    await db.query('INSERT INTO cc_p VALUES (0), (1), (2), (3)');
    await db.query('INSERT INTO cc_check VALUES (1, 1)');
    await db.query('INSERT INTO cc_uniq VALUES (1, 2), (2, 3)');
    const check = await failure(db.query('UPDATE cc_p SET id = 500 WHERE id = 1'));
    expect(check.code).toBe('23514');
    expect(check.message).toBe('new row for relation "cc_check" violates check constraint "cc_check_pid_check"');
    const unique = await failure(db.query('DELETE FROM cc_p WHERE id IN (2, 3)'));
    expect(unique.code).toBe('23505');
    expect(await rows('SELECT id FROM cc_p ORDER BY id')).toEqual([[0], [1], [2], [3]]);
    await db.query('DELETE FROM cc_p WHERE id = 2');
    expect(await rows('SELECT id, pid FROM cc_uniq ORDER BY id')).toEqual([
      [1, 0],
      [2, 3],
    ]);
  });
});

describe('catalog', () => {
  test('pg_constraint, pg_get_constraintdef (psql \\d) and information_schema show the actions', async () => {
    await db.query('CREATE TABLE cat_p (id INT PRIMARY KEY, a INT, b INT, UNIQUE (a, b))');
    await db.query(
      'CREATE TABLE cat_c (id INT PRIMARY KEY, pid INT REFERENCES cat_p ON DELETE CASCADE ON UPDATE SET NULL, x INT, y INT, ' +
        'CONSTRAINT cat_c_xy FOREIGN KEY (x, y) REFERENCES cat_p (a, b) ON DELETE SET DEFAULT ON UPDATE RESTRICT)',
    );
    await db.query('CREATE TABLE cat_d (id INT PRIMARY KEY, pid INT REFERENCES cat_p)');
    // The query psql's \d runs for "Foreign-key constraints".
    const shown = await rows(
      "SELECT conname, pg_catalog.pg_get_constraintdef(r.oid, true) FROM pg_catalog.pg_constraint r WHERE r.conrelid = 'cat_c'::regclass AND r.contype = 'f' ORDER BY 1",
    );
    expect(shown).toEqual([
      ['cat_c_pid_fkey', 'FOREIGN KEY (pid) REFERENCES cat_p(id) ON UPDATE SET NULL ON DELETE CASCADE'],
      ['cat_c_xy', 'FOREIGN KEY (x, y) REFERENCES cat_p(a, b) ON UPDATE RESTRICT ON DELETE SET DEFAULT'],
    ]);
    expect(
      await rows("SELECT conname, confupdtype, confdeltype FROM pg_constraint WHERE conrelid IN ('cat_c'::regclass, 'cat_d'::regclass) AND contype = 'f' ORDER BY 1"),
    ).toEqual([
      ['cat_c_pid_fkey', 'n', 'c'],
      ['cat_c_xy', 'r', 'd'],
      ['cat_d_pid_fkey', 'a', 'a'],
    ]);
    expect(
      await rows(
        "SELECT constraint_name, update_rule, delete_rule FROM information_schema.referential_constraints WHERE constraint_name IN ('cat_c_pid_fkey', 'cat_c_xy', 'cat_d_pid_fkey') ORDER BY 1",
      ),
    ).toEqual([
      ['cat_c_pid_fkey', 'SET NULL', 'CASCADE'],
      ['cat_c_xy', 'RESTRICT', 'SET DEFAULT'],
      ['cat_d_pid_fkey', 'NO ACTION', 'NO ACTION'],
    ]);
  });

  test('ALTER TABLE ADD FOREIGN KEY takes actions too; a SET NULL column list is refused', async () => {
    await db.query('CREATE TABLE at_p (id INT PRIMARY KEY)');
    await db.query('CREATE TABLE at_c (id INT PRIMARY KEY, pid INT)');
    await db.query('INSERT INTO at_p VALUES (1)');
    await db.query('INSERT INTO at_c VALUES (1, 1)');
    await db.query('ALTER TABLE at_c ADD CONSTRAINT at_c_fk FOREIGN KEY (pid) REFERENCES at_p ON DELETE CASCADE');
    await db.query('DELETE FROM at_p');
    expect(await rows('SELECT count(*)::int FROM at_c')).toEqual([[0]]);
    const err = await failure(db.query('CREATE TABLE at_d (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES at_p ON DELETE SET NULL (pid))'));
    expect(err.code).toBe('0A000');
  });

  test('TRUNCATE of a referenced table is refused with a hint', async () => {
    await db.query('CREATE TABLE tr_p (id INT PRIMARY KEY)');
    await db.query('CREATE TABLE tr_c (id INT PRIMARY KEY, pid INT REFERENCES tr_p ON DELETE CASCADE)');
    const err = await failure(db.query('TRUNCATE tr_p'));
    expect(err.code).toBe('0A000');
    expect(err.message).toBe('cannot truncate a table referenced in a foreign key constraint');
    expect(err.detail).toBe('Table "tr_c" references "tr_p".');
    expect(err.hint).toBe('Truncate table "tr_c" at the same time, or use TRUNCATE ... CASCADE.');
  });

  test('TRUNCATE ... CASCADE, or naming the referencing tables too, empties them all', async () => {
    await db.query('CREATE TABLE trc_p (id INT PRIMARY KEY)');
    await db.query('CREATE TABLE trc_c (id INT PRIMARY KEY, pid INT REFERENCES trc_p)');
    await db.query('CREATE TABLE trc_g (id INT PRIMARY KEY, cid INT REFERENCES trc_c)');
    await db.query('CREATE TABLE trc_other (id INT PRIMARY KEY)');
    const fill = async (): Promise<void> => {
      await db.query('INSERT INTO trc_p VALUES (1), (2)');
      await db.query('INSERT INTO trc_c VALUES (10, 1), (20, 2)');
      await db.query('INSERT INTO trc_g VALUES (100, 10)');
    };
    await db.query('INSERT INTO trc_other VALUES (7)');
    await fill();
    await db.query('TRUNCATE trc_p CASCADE');
    expect(await rows('SELECT (SELECT count(*) FROM trc_p)::int, (SELECT count(*) FROM trc_c)::int, (SELECT count(*) FROM trc_g)::int')).toEqual([[0, 0, 0]]);
    expect(await rows('SELECT id FROM trc_other')).toEqual([[7]]);
    await fill();
    await db.query('TRUNCATE trc_g, trc_c, trc_p');
    expect(await rows('SELECT (SELECT count(*) FROM trc_p)::int, (SELECT count(*) FROM trc_c)::int, (SELECT count(*) FROM trc_g)::int')).toEqual([[0, 0, 0]]);
    // The tables work as before afterwards, constraints included.
    expect((await failure(db.query('INSERT INTO trc_c VALUES (30, 9)'))).code).toBe('23503');
  });

  test('a descriptor stored without actions reads as NO ACTION', () => {
    const table = {
      kind: 'table',
      id: 200,
      name: 'old',
      version: 1,
      parentId: 100,
      schemaId: 101,
      columns: [],
      nextColumnId: 1,
      primaryIndex: { id: 1, name: 'old_pkey', unique: true, columnIds: [], directions: [], storeColumnIds: [] },
      indexes: [],
      nextIndexId: 2,
      checks: [],
      foreignKeys: [{ name: 'old_fk', columnIds: [1], referencedTableId: 201, referencedColumnIds: [1] }],
    } as unknown as TableDescriptor;
    const decoded = decodeDescriptor(encodeDescriptor(table)) as TableDescriptor;
    expect(decoded.foreignKeys[0]).toMatchObject({ onDelete: 'no action', onUpdate: 'no action' });
  });
});
