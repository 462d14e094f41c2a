import { KEY_MAX, USER_KEY_MIN } from '../common/keys';
import { ReplicaType } from '../proto/gen/cairn/kv/v1/kv';
import type { NodeStatusResponse, RangesResponse } from '../proto/gen/cairn/node/v1/admin';
import { parseBytesArg } from './args';
import {
  displayBoundary,
  displayBytes,
  formatDelete,
  formatGet,
  formatNodeStatus,
  formatPut,
  formatRanges,
  formatScan,
  formatSize,
  nodeStatusRows,
  rangeRows,
  renderTable,
} from './format';

const STATUS: NodeStatusResponse = {
  nodes: [
    {
      descriptor: {
        nodeId: 2n,
        address: '127.0.0.1:26259',
        httpAddress: '127.0.0.1:8081',
        locality: [
          { key: 'region', value: 'r1' },
          { key: 'zone', value: 'z2' },
        ],
      },
      liveness: { nodeId: 2n, epoch: 3n, expiration: undefined, draining: true },
      live: true,
      ranges: 4n,
      leases: 1n,
      startedAtUnixMs: 1_700_000_000_000n,
    },
    {
      descriptor: { nodeId: 1n, address: '127.0.0.1:26258', httpAddress: '127.0.0.1:8080', locality: [] },
      liveness: undefined,
      live: false,
      ranges: 4n,
      leases: 3n,
      startedAtUnixMs: 0n,
    },
  ],
};

const voter = (nodeId: bigint): { nodeId: bigint; type: ReplicaType } => ({ nodeId, type: ReplicaType.REPLICA_TYPE_VOTER });

const RANGES: RangesResponse = {
  ranges: [
    {
      descriptor: {
        rangeId: 4n,
        startKey: USER_KEY_MIN,
        endKey: KEY_MAX,
        replicas: [voter(1n), voter(2n), { nodeId: 3n, type: ReplicaType.REPLICA_TYPE_LEARNER }],
        generation: 2n,
      },
      leaseholderNodeId: 2n,
      liveBytes: 3n * 1024n * 1024n,
      liveCount: 1500n,
    },
    {
      descriptor: { rangeId: 1n, startKey: Buffer.alloc(0), endKey: Buffer.from([0x04]), replicas: [voter(1n)], generation: 0n },
      leaseholderNodeId: 0n,
      liveBytes: 120n,
      liveCount: 2n,
    },
  ],
};

describe('displayBytes', () => {
  test('printable UTF-8 stays text', () => {
    expect(displayBytes(Buffer.from('hello world'))).toBe('hello world');
    expect(displayBytes(Buffer.from('héllo ✓'))).toBe('héllo ✓');
  });

  test('anything else is escaped byte by byte', () => {
    expect(displayBytes(Buffer.from([0x10, 0x61]))).toBe('\\x10a');
    expect(displayBytes(Buffer.from('a\\b'))).toBe('a\\x5cb');
    expect(displayBytes(Buffer.from([0xff, 0xfe]))).toBe('\\xff\\xfe');
    expect(displayBytes(Buffer.from('tab\there'))).toBe('tab\\x09here');
  });

  test('parseBytesArg reads back what it prints', () => {
    const samples = [Buffer.from('plain'), Buffer.from('héllo'), Buffer.from([0, 1, 0x5c, 0xff, 0x20, 0x7f]), Buffer.from('x\\y')];
    for (const bytes of samples) {
      expect(parseBytesArg('KEY', displayBytes(bytes))).toEqual(bytes);
    }
  });

  test('works on a view into a larger buffer', () => {
    const whole = Buffer.from('xxhelloxx');
    expect(displayBytes(whole.subarray(2, 7))).toBe('hello');
  });
});

test('displayBoundary names the ends of the keyspace', () => {
  expect(displayBoundary(Buffer.alloc(0))).toBe('/Min');
  expect(displayBoundary(KEY_MAX)).toBe('/Max');
  expect(displayBoundary(Buffer.from([0x04]))).toBe('\\x04');
});

test('formatSize uses binary units', () => {
  expect(formatSize(0)).toBe('0 B');
  expect(formatSize(1023)).toBe('1023 B');
  expect(formatSize(1536)).toBe('1.5 KiB');
  expect(formatSize(3 * 1024 * 1024)).toBe('3.0 MiB');
  expect(formatSize(500 * 1024 * 1024 * 1024)).toBe('500 GiB');
});

test('renderTable pads columns and aligns numbers right', () => {
  const table = renderTable(
    [{ header: 'id', align: 'right' }, { header: 'name' }, { header: 'n', align: 'right' }],
    [
      ['1', 'alpha', '10'],
      ['12', 'b', '7'],
    ],
  );
  expect(table).toBe(['id  name    n', ' 1  alpha  10', '12  b       7'].join('\n'));
});

describe('node status', () => {
  test('rows are sorted by node ID with the locality as text', () => {
    expect(nodeStatusRows(STATUS)).toEqual([
      {
        nodeId: 1,
        address: '127.0.0.1:26258',
        httpAddress: '127.0.0.1:8080',
        locality: '',
        live: false,
        draining: false,
        epoch: 0,
        ranges: 4,
        leases: 3,
        startedAt: null,
      },
      {
        nodeId: 2,
        address: '127.0.0.1:26259',
        httpAddress: '127.0.0.1:8081',
        locality: 'region=r1,zone=z2',
        live: true,
        draining: true,
        epoch: 3,
        ranges: 4,
        leases: 1,
        startedAt: '2023-11-14T22:13:20.000Z',
      },
    ]);
  });

  test('json is the rows', () => {
    const parsed = JSON.parse(formatNodeStatus(STATUS, 'json')) as Record<string, unknown>[];
    expect(parsed.map((n) => [n.nodeId, n.address, n.locality, n.live, n.ranges, n.leases])).toEqual([
      [1, '127.0.0.1:26258', '', false, 4, 3],
      [2, '127.0.0.1:26259', 'region=r1,zone=z2', true, 4, 1],
    ]);
  });

  test('table', () => {
    expect(formatNodeStatus(STATUS, 'table')).toBe(
      [
        'id  address          http            locality           live             ranges  leases  started',
        ' 1  127.0.0.1:26258  127.0.0.1:8080  -                  false                 4       3  -',
        ' 2  127.0.0.1:26259  127.0.0.1:8081  region=r1,zone=z2  true (draining)       4       1  2023-11-14T22:13:20.000Z',
      ].join('\n'),
    );
  });
});

describe('ranges', () => {
  test('rows are in key order with pretty bounds', () => {
    expect(rangeRows(RANGES)).toEqual([
      {
        rangeId: 1,
        startKey: '',
        endKey: '\\x04',
        generation: 0,
        replicas: [{ nodeId: 1, type: 'voter' }],
        leaseholderNodeId: null,
        liveBytes: 120,
        liveCount: 2,
      },
      {
        rangeId: 4,
        startKey: '\\x10',
        endKey: '\\xff\\xff',
        generation: 2,
        replicas: [
          { nodeId: 1, type: 'voter' },
          { nodeId: 2, type: 'voter' },
          { nodeId: 3, type: 'learner' },
        ],
        leaseholderNodeId: 2,
        liveBytes: 3 * 1024 * 1024,
        liveCount: 1500,
      },
    ]);
    expect(JSON.parse(formatRanges(RANGES, 'json'))).toEqual(rangeRows(RANGES));
  });

  test('table', () => {
    expect(formatRanges(RANGES, 'table')).toBe(
      [
        'range  start  end   replicas        leaseholder  keys     size',
        '    1  /Min   \\x04  1                      none     2    120 B',
        '    4  \\x10   /Max  1,2,3(learner)            2  1500  3.0 MiB',
      ].join('\n'),
    );
  });
});

describe('kv output', () => {
  test('get prints the value, or nothing and exit status 1', () => {
    expect(formatGet(Buffer.from('k'), Buffer.from('v'), 'table')).toEqual({ text: 'v', exitCode: 0 });
    expect(formatGet(Buffer.from('k'), undefined, 'table')).toEqual({ text: '', exitCode: 1 });
    expect(formatGet(Buffer.from('k'), Buffer.from([0]), 'json')).toEqual({ text: '{"key":"k","value":"\\\\x00"}', exitCode: 0 });
    expect(formatGet(Buffer.from('k'), undefined, 'json')).toEqual({ text: '{"key":"k","value":null}', exitCode: 1 });
  });

  test('put and del', () => {
    expect(formatPut(Buffer.from('k'), 'table')).toEqual({ text: 'OK', exitCode: 0 });
    expect(JSON.parse(formatPut(Buffer.from('k'), 'json').text)).toEqual({ key: 'k', ok: true });
    expect(formatDelete(Buffer.from('k'), true, 'table').text).toBe('deleted');
    expect(formatDelete(Buffer.from('k'), false, 'table')).toEqual({ text: 'not found', exitCode: 0 });
    expect(JSON.parse(formatDelete(Buffer.from('k'), false, 'json').text)).toEqual({ key: 'k', deleted: false });
  });

  test('scan', () => {
    const rows = [
      { key: Buffer.from('a'), value: Buffer.from('1') },
      { key: Buffer.from('bb'), value: Buffer.from([0x01]) },
    ];
    expect(formatScan(rows, false, 'table').text).toBe(['key  value', 'a    1', 'bb   \\x01', '(2 rows)'].join('\n'));
    expect(formatScan(rows.slice(0, 1), true, 'table').text).toBe(
      ['key  value', 'a    1', '(1 row; more keys follow: raise --limit)'].join('\n'),
    );
    expect(formatScan([], false, 'table').text).toBe('(0 rows)');
    expect(JSON.parse(formatScan(rows, true, 'json').text)).toEqual({
      rows: [
        { key: 'a', value: '1' },
        { key: 'bb', value: '\\x01' },
      ],
      more: true,
    });
  });
});
