// Sorting, hashing, the hash threshold and labels: ../shared/sqllogictest/README.md,
// "File format".
import type { SqlOutcome } from './compare';
import {
  checkQuery,
  checkStatement,
  DEFAULT_HASH_THRESHOLD,
  hashValues,
  matchesExpected,
  newFileCheckState,
  renderValues,
  sortedValues,
} from './compare';
import type { SltRecord } from './parse';
import { parseSlt } from './parse';

type QueryRecord = Extract<SltRecord, { kind: 'query' }>;

function query(text: string): QueryRecord {
  const [record] = parseSlt(text);
  if (record?.kind !== 'query') throw new Error('not a query');
  return record;
}

function rows(...values: (string | null)[][]): SqlOutcome {
  return { kind: 'rows', columnCount: values[0]?.length ?? 0, rows: values };
}

describe('sortedValues', () => {
  const table = [
    ['9', 'b'],
    ['10', 'a'],
    ['10', 'NULL'],
  ];

  it('nosort keeps the server order', () => {
    expect(sortedValues(table, 'nosort')).toEqual(['9', 'b', '10', 'a', '10', 'NULL']);
  });

  it('rowsort sorts rows by strcmp of the formatted values, column by column', () => {
    // '10' < '9' as strings; 'NULL' < 'a' (uppercase first).
    expect(sortedValues(table, 'rowsort')).toEqual(['10', 'NULL', '10', 'a', '9', 'b']);
  });

  it('valuesort sorts all values individually', () => {
    expect(sortedValues(table, 'valuesort')).toEqual(['10', '10', '9', 'NULL', 'a', 'b']);
  });
});

describe('hashing', () => {
  it('is the lowercase MD5 of the values, each followed by a newline', () => {
    expect(hashValues(['a'])).toBe('60b725f10c9c85c70d97880dfe8191b3'); // md5("a\n")
    expect(hashValues([])).toBe('d41d8cd98f00b204e9800998ecf8427e');
  });

  it('hashes the values after sorting', () => {
    const values = sortedValues([['1'], ['2'], ['3'], ['10'], ['9']], 'rowsort');
    expect(values).toEqual(['1', '10', '2', '3', '9']);
    expect(hashValues(values)).toBe('f01aed99f38804bba430963604e4678c'); // md5("1\n10\n2\n3\n9\n")
    expect(hashValues(['1', '2', '3', '10', '9'])).toBe('c15683cd6c4b83750361d97b5cbfad34');
  });

  it('writes a hash line only above the threshold; 0 means never', () => {
    const eight = ['0', '1', '2', '3', '4', '5', '6', '7'];
    const nine = [...eight, '8'];
    expect(DEFAULT_HASH_THRESHOLD).toBe(8);
    expect(renderValues(eight, 8)).toEqual(eight);
    expect(renderValues(nine, 8)).toEqual(['9 values hashing to 6ba058c53c08bb0173bcc14ce59aeeff']);
    expect(renderValues(nine, 0)).toEqual(nine);
  });

  it('compares a hash line by count and hash, whatever the threshold', () => {
    expect(matchesExpected({ kind: 'hash', count: 1, hash: '60b725f10c9c85c70d97880dfe8191b3' }, ['a'])).toBe(true);
    expect(matchesExpected({ kind: 'hash', count: 2, hash: '60b725f10c9c85c70d97880dfe8191b3' }, ['a'])).toBe(false);
    expect(matchesExpected({ kind: 'values', values: ['a'] }, ['a'])).toBe(true);
    expect(matchesExpected({ kind: 'values', values: ['a'] }, ['a', 'b'])).toBe(false);
  });
});

describe('checkQuery', () => {
  it('formats by the declared letters, sorts, then compares', () => {
    const record = query('query IT rowsort\nSELECT x, y FROM t\n----\n1\nNULL\n2\n(empty)\n');
    expect(checkQuery(record, rows(['2.7', ''], ['t', null]), newFileCheckState())).toEqual({ pass: true });
  });

  it('checks a hashed result over the sorted values', () => {
    const record = query('query I rowsort\nSELECT x FROM t\n----\n5 values hashing to f01aed99f38804bba430963604e4678c\n');
    const state = newFileCheckState();
    expect(checkQuery(record, rows(['9'], ['10'], ['3'], ['2'], ['1']), state).pass).toBe(true);
    const wrong = checkQuery(record, rows(['9'], ['10'], ['3'], ['2'], ['0']), state);
    expect(wrong.failure).toMatchObject({
      kind: 'mismatch',
      expected: ['5 values hashing to f01aed99f38804bba430963604e4678c'],
      actual: ['0', '10', '2', '3', '9'], // below the threshold: the values themselves
    });
  });

  it('shows the actual result as a hash line above the threshold', () => {
    const record = query('query I nosort\nSELECT x FROM t\n----\n1\n');
    const verdict = checkQuery(record, rows(['0'], ['1'], ['2'], ['3'], ['4'], ['5'], ['6'], ['7'], ['8']), newFileCheckState());
    expect(verdict.failure).toMatchObject({ kind: 'mismatch', expected: ['1'] });
    expect(verdict.failure?.actual).toHaveLength(9); // compared as values, shown as values
  });

  it('fails on a column count that differs from the types', () => {
    const verdict = checkQuery(query('query II nosort\nSELECT 1\n----\n1\n1\n'), rows(['1']), newFileCheckState());
    expect(verdict.failure?.kind).toBe('column-count');
  });

  it('reports errors with their SQLSTATE, and timeouts', () => {
    const record = query('query I nosort\nSELECT 1/0\n----\n1\n');
    expect(checkQuery(record, { kind: 'error', message: 'division by zero', sqlstate: '22012' }, newFileCheckState())).toEqual({
      pass: false,
      failure: { kind: 'error', message: 'division by zero', sqlstate: '22012' },
    });
    expect(checkQuery(record, { kind: 'timeout', timeoutMs: 5 }, newFileCheckState()).failure?.kind).toBe('timeout');
  });

  it('only runs a query without ----', () => {
    expect(checkQuery(query('query I nosort\nSELECT 1\n'), rows(['7']), newFileCheckState()).pass).toBe(true);
  });

  it('requires every query with the same label to give the same hash', () => {
    const state = newFileCheckState();
    const first = query('query I rowsort label-3\nSELECT x FROM t\n');
    const second = { ...query('query I rowsort label-3\nSELECT y FROM t\n'), line: 20 };
    const other = query('query I rowsort label-4\nSELECT z FROM t\n');
    expect(checkQuery(first, rows(['1'], ['2']), state).pass).toBe(true);
    // Same values in another server order: same sorted hash.
    expect(checkQuery(second, rows(['2'], ['1']), state).pass).toBe(true);
    expect(checkQuery(other, rows(['5']), state).pass).toBe(true);
    const mismatch = checkQuery(second, rows(['1'], ['3']), state);
    expect(mismatch.failure).toMatchObject({ kind: 'label' });
    expect(mismatch.failure?.message).toMatch(/label-3.*line 1\b/);
  });
});

describe('checkStatement', () => {
  const [ok, error] = parseSlt('statement ok\nSELECT 1\n\nstatement error\nSELECT 1/0\n') as [
    Extract<SltRecord, { kind: 'statement' }>,
    Extract<SltRecord, { kind: 'statement' }>,
  ];
  const failed: SqlOutcome = { kind: 'error', message: 'division by zero', sqlstate: '22012' };

  it('statement ok must succeed', () => {
    expect(checkStatement(ok, rows()).pass).toBe(true);
    expect(checkStatement(ok, failed).failure).toEqual({ kind: 'error', message: 'division by zero', sqlstate: '22012' });
  });

  it('statement error must fail (any error)', () => {
    expect(checkStatement(error, failed).pass).toBe(true);
    expect(checkStatement(error, rows(['1'])).failure?.kind).toBe('unexpected-success');
    expect(checkStatement(error, { kind: 'timeout', timeoutMs: 1 }).failure?.kind).toBe('timeout');
  });
});
