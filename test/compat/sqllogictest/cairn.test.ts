// The sqllogictest corpus (../shared/sqllogictest) through a real Cairn gateway and
// node: each file must keep at least the pass rate recorded in pass-rates.json.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SqlCluster } from '../../support/sql-cluster';
import { startSqlCluster } from '../../support/sql-cluster';
import { databasePerFile, passRate, runFile } from './runner';
import { clientConfigFromUrl } from './server';

const CORPUS = path.resolve(__dirname, '../../../../shared/sqllogictest');
const RATES = JSON.parse(fs.readFileSync(path.join(__dirname, 'pass-rates.json'), 'utf8')) as Record<string, number | string>;
const FILES = Object.keys(RATES).filter((f) => !f.startsWith('_'));

jest.setTimeout(300_000);

let cluster: SqlCluster | undefined;

beforeAll(async () => {
  cluster = await startSqlCluster('slt', { nodes: 1 });
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('sqllogictest corpus through Cairn', () => {
  test.each(FILES)('%s keeps its recorded pass rate', async (file) => {
    if (cluster === undefined) throw new Error('no cluster');
    const result = await runFile(path.join(CORPUS, file), {
      engine: 'postgresql',
      maxFailures: 5,
      queryTimeoutMs: 30_000,
      databases: databasePerFile(clientConfigFromUrl(cluster.url)),
    });
    expect(result.fatal).toBeUndefined();
    const rate = 100 * (passRate(result.queries) ?? 0);
    const required = RATES[file] as number;
    if (rate < required) {
      // Show the first failures in the test output.
      expect({ rate, failures: result.failures }).toEqual({ rate: required, failures: [] });
    }
    expect(result.queries.passed).toBeGreaterThan(0);
    expect(result.statements.failed).toBe(0);
  });
});
