import { Client } from 'pg';
import type { GatewayServer } from '../../gateway/server';
import { startExtraGateway, startSqlCluster, type SqlCluster } from '../support/sql-cluster';

/**
 * Two gateways over one cluster: a schema change through one is never missed by a
 * write through the other, even while the other's descriptor cache is stale.
 */

let cluster: SqlCluster | undefined;
let second: GatewayServer | undefined;
const clients: Client[] = [];

async function connect(port: number): Promise<Client> {
  const c = new Client({ host: '127.0.0.1', port, user: 'root', database: 'defaultdb' });
  c.on('error', () => undefined);
  await c.connect();
  clients.push(c);
  return c;
}

beforeAll(async () => {
  cluster = await startSqlCluster('gateways', { nodes: 1 });
  second = await startExtraGateway(cluster, 'second');
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  await second?.stop();
  await cluster?.stop();
});

test('a write through one gateway right after CREATE INDEX through another lands in the index', async () => {
  const a = await connect((cluster as SqlCluster).port);
  const b = await connect((second as GatewayServer).sqlAddress.port);
  await a.query('CREATE TABLE shared (id INT PRIMARY KEY, tag TEXT)');
  const insert = { name: 'ins', text: 'INSERT INTO shared VALUES ($1, $2)' };
  // Gateway A caches the descriptor (and a plan) before the index exists.
  await a.query({ ...insert, values: [1, 'x'] });
  for (let round = 0; round < 5; round++) {
    const index = `shared_tag_${round}`;
    await b.query(`CREATE INDEX ${index} ON shared (tag)`);
    // Well within A's catalog poll interval: only the descriptor read keeps A right.
    await a.query({ ...insert, values: [10 + round, `t${round}`] });
    const viaIndex = await b.query(`SELECT id FROM shared WHERE tag = 't${round}'`);
    expect(viaIndex.rows).toEqual([{ id: 10 + round }]);
    const plan = await b.query(`EXPLAIN SELECT id FROM shared WHERE tag = 't${round}'`);
    expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/shared@shared_tag_\d\b(?!_again)/);
    // An UPDATE by primary key (its descriptor check rides in its first read) too: the
    // new index is then the only one on tag.
    await b.query(`DROP INDEX ${index}`);
    await b.query(`CREATE INDEX ${index}_again ON shared (tag)`);
    await a.query({ name: 'upd', text: 'UPDATE shared SET tag = $2 WHERE id = $1', values: [1, `u${round}`] });
    const updated = await b.query(`SELECT id FROM shared WHERE tag = 'u${round}'`);
    expect(updated.rows).toEqual([{ id: 1 }]);
    const updatePlan = await b.query(`EXPLAIN SELECT id FROM shared WHERE tag = 'u${round}'`);
    expect(updatePlan.rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/shared@shared_tag_\d_again/);
    await b.query(`DROP INDEX ${index}_again`);
  }
  // A dropped table is seen too: the write fails rather than resurrecting rows.
  await b.query('DROP TABLE shared');
  await expect(a.query({ ...insert, values: [99, 'z'] })).rejects.toMatchObject({ code: '42P01' });
});
