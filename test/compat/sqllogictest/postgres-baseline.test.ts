// Validates the runner itself: real PostgreSQL 15 passes every record of select1.test
// (../shared/sqllogictest/README.md, "Reference point"), so anything less is a runner bug.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PostgresServer } from '../../support/postgres-server';
import { startPostgres } from '../../support/postgres-server';
import { databasePerFile, runFile } from './runner';

const CORPUS = path.resolve(__dirname, '../../../../shared/sqllogictest');

jest.setTimeout(180_000);

describe('sqllogictest runner against PostgreSQL', () => {
  let server: PostgresServer | undefined;

  beforeAll(async () => {
    server = await startPostgres();
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('passes all of select1.test', async () => {
    if (server === undefined) throw new Error('no server');
    const result = await runFile(path.join(CORPUS, 'select1.test'), {
      engine: 'postgresql',
      maxFailures: 5,
      queryTimeoutMs: 30_000,
      databases: databasePerFile({ host: server.host, port: server.port, user: server.user, database: server.database }),
    });
    expect({ fatal: result.fatal, warning: result.warning, failures: result.failures }).toEqual({
      fatal: undefined,
      warning: undefined,
      failures: [],
    });
    // README: 1,000 queries, all run for engine postgresql; 31 statements.
    expect(result.queries).toEqual({ passed: 1000, failed: 0, skipped: 0 });
    expect(result.statements).toEqual({ passed: 31, failed: 0, skipped: 0 });
  });

  it('stop() ends the postmaster and removes the folder', async () => {
    if (server === undefined) throw new Error('no server');
    const pid = Number(fs.readFileSync(path.join(server.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const root = path.dirname(server.dataDir);
    await server.stop();
    server = undefined;
    expect(fs.existsSync(root)).toBe(false);
    let signalError: string | undefined;
    try {
      process.kill(pid, 0);
    } catch (err) {
      signalError = (err as NodeJS.ErrnoException).code;
    }
    expect(signalError).toBe('ESRCH');
  });
});
