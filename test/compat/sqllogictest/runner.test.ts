// The record loop on a scripted session: conditions, halt, hash-threshold, failure
// reports and the fatal stop. (postgres-baseline.test.ts runs it over the wire.)
import type { SqlOutcome } from './compare';
import { parseSlt } from './parse';
import type { SqlSession } from './runner';
import { passRate, runRecords } from './runner';

/** Answers SQL texts from a table; records what ran. */
function scriptedSession(answers: Record<string, SqlOutcome | Error>): SqlSession & { ran: string[] } {
  const ran: string[] = [];
  return {
    ran,
    run: async (sql) => {
      ran.push(sql);
      const answer = answers[sql];
      if (answer === undefined) return { kind: 'error', message: `unscripted: ${sql}`, sqlstate: '42000' };
      if (answer instanceof Error) throw answer;
      return answer;
    },
    close: async () => undefined,
  };
}

const one = (value: string): SqlOutcome => ({ kind: 'rows', columnCount: 1, rows: [[value]] });
const done: SqlOutcome = { kind: 'rows', columnCount: 0, rows: [] };
const options = { engine: 'postgresql', maxFailures: 10 };

describe('runRecords', () => {
  it('skips records for other engines and counts them', async () => {
    const records = parseSlt(
      [
        'statement ok',
        'CREATE TABLE t(a INTEGER)',
        '',
        'onlyif mysql',
        'query I nosort',
        'SELECT CAST(1 AS SIGNED)',
        '----',
        '1',
        '',
        'skipif mysql # not compatible',
        'query I nosort',
        'SELECT CAST(1 AS INTEGER)',
        '----',
        '1',
        '',
        'skipif postgresql # PostgreSQL requires AS when renaming output columns',
        'query I nosort',
        'SELECT 1 col',
        '----',
        '1',
      ].join('\n'),
    );
    const session = scriptedSession({ 'CREATE TABLE t(a INTEGER)': done, 'SELECT CAST(1 AS INTEGER)': one('1') });
    const result = await runRecords('f.test', records, session, options);
    expect(session.ran).toEqual(['CREATE TABLE t(a INTEGER)', 'SELECT CAST(1 AS INTEGER)']);
    expect(result.total).toEqual({ passed: 2, failed: 0, skipped: 2 });
    expect(result.queries).toEqual({ passed: 1, failed: 0, skipped: 2 });
    expect(result.statements).toEqual({ passed: 1, failed: 0, skipped: 0 });
    expect(passRate(result.total)).toBe(1);
  });

  it('stops at a halt that applies (later records count as skipped), not at one that does not', async () => {
    const records = parseSlt(
      [
        'onlyif sqlite',
        'halt',
        '',
        'query I nosort',
        'SELECT 1',
        '----',
        '1',
        '',
        'onlyif postgresql',
        'halt',
        '',
        'query I nosort',
        'SELECT 2',
        '----',
        '2',
      ].join('\n'),
    );
    const session = scriptedSession({ 'SELECT 1': one('1'), 'SELECT 2': one('2') });
    const result = await runRecords('f.test', records, session, options);
    expect(session.ran).toEqual(['SELECT 1']);
    expect(result.haltedAt).toBe(10);
    expect(result.total).toEqual({ passed: 1, failed: 0, skipped: 1 });
  });

  it('applies hash-threshold to how failures are shown', async () => {
    const records = parseSlt(
      'hash-threshold 1\n\nquery I nosort\nSELECT x\n----\n2 values hashing to 00000000000000000000000000000000\n',
    );
    const session = scriptedSession({ 'SELECT x': { kind: 'rows', columnCount: 1, rows: [['1'], ['2']] } });
    const result = await runRecords('f.test', records, session, options);
    expect(result.failures).toEqual([
      {
        line: 3,
        sql: 'SELECT x',
        kind: 'mismatch',
        message: 'result differs',
        expected: ['2 values hashing to 00000000000000000000000000000000'],
        actual: ['2 values hashing to 6ddb4095eb719e2a9f0a3f95677d24e0'],
      },
    ]);
  });

  it('counts every failure but reports the first maxFailures, with line, SQL and SQLSTATE', async () => {
    const text = [1, 2, 3].map((n) => `statement ok\nSELECT ${n}/0\n`).join('\n');
    const failed: SqlOutcome = { kind: 'error', message: 'division by zero', sqlstate: '22012' };
    const session = scriptedSession({ 'SELECT 1/0': failed, 'SELECT 2/0': failed, 'SELECT 3/0': failed });
    const result = await runRecords('f.test', parseSlt(text), session, { ...options, maxFailures: 2 });
    expect(result.total.failed).toBe(3);
    expect(result.failures).toEqual([
      { line: 1, sql: 'SELECT 1/0', kind: 'error', message: 'division by zero', sqlstate: '22012' },
      { line: 4, sql: 'SELECT 2/0', kind: 'error', message: 'division by zero', sqlstate: '22012' },
    ]);
    expect(passRate(result.total)).toBe(0);
  });

  it('stops the file when the session cannot reach the server', async () => {
    const records = parseSlt('statement ok\nSELECT 1\n\nstatement ok\nSELECT 2\n\nstatement ok\nSELECT 3\n');
    const session = scriptedSession({ 'SELECT 1': done, 'SELECT 2': new Error('connect ECONNREFUSED') });
    const result = await runRecords('f.test', records, session, options);
    expect(result.fatal).toBe('stopped at line 4: connect ECONNREFUSED');
    expect(result.total).toEqual({ passed: 1, failed: 0, skipped: 0 });
    expect(session.ran).toEqual(['SELECT 1', 'SELECT 2']);
  });

  it('reports progress after every record', async () => {
    const seen: number[] = [];
    const records = parseSlt('statement ok\nSELECT 1\n\nhash-threshold 0\n');
    await runRecords('f.test', records, scriptedSession({ 'SELECT 1': done }), {
      ...options,
      onProgress: (p) => seen.push(p.recordsDone),
    });
    expect(seen).toEqual([1, 2]);
  });
});

describe('passRate', () => {
  it('is undefined when nothing ran', () => {
    expect(passRate({ passed: 0, failed: 0, skipped: 5 })).toBeUndefined();
    expect(passRate({ passed: 3, failed: 1, skipped: 5 })).toBe(0.75);
  });
});
