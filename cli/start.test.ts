import type { LocalGateway, LocalNode } from './local-cluster';
import { connectionHelp, describeExits } from './start';

const nodes: LocalNode[] = [1, 2].map((index) => ({
  index,
  nodeId: index,
  address: `127.0.0.1:${26257 + index}`,
  httpAddress: `127.0.0.1:${8079 + index}`,
  dataDir: `/w/cairn-data/node${index}`,
  logFile: `/w/cairn-data/node${index}/cairn-node.log`,
  pid: 100 + index,
}));

const gateway: LocalGateway = {
  sqlAddress: '127.0.0.1:26257',
  httpAddress: '127.0.0.1:8082',
  url: 'postgresql://root@127.0.0.1:26257/defaultdb?sslmode=disable',
  dataDir: '/w/cairn-data/gateway',
  logFile: '/w/cairn-data/gateway/cairn-gateway.log',
  pid: 200,
};

test('connection help for the default data directory needs no --host', () => {
  expect(connectionHelp(nodes, gateway, '/w/cairn-data', '/w')).toBe(
    [
      'Cairn is running: 2 nodes and a SQL gateway, data in /w/cairn-data',
      '',
      '  node 1 (id 1)  127.0.0.1:26258  http://127.0.0.1:8080  log cairn-data/node1/cairn-node.log',
      '  node 2 (id 2)  127.0.0.1:26259  http://127.0.0.1:8081  log cairn-data/node2/cairn-node.log',
      '  SQL gateway    127.0.0.1:26257  http://127.0.0.1:8082  log cairn-data/gateway/cairn-gateway.log',
      '',
      'SQL: postgresql://root@127.0.0.1:26257/defaultdb?sslmode=disable',
      'The cluster listens on 127.0.0.1 only, and there it lets user root in without a password.',
      '',
      'KV addresses: 127.0.0.1:26258,127.0.0.1:26259',
      '',
      'Try, from another terminal in this directory:',
      "  psql 'postgresql://root@127.0.0.1:26257/defaultdb?sslmode=disable'",
      '  npx cairn kv put hello world',
      '  npx cairn kv get hello',
      '  npx cairn kv scan a z',
      '  npx cairn node status',
      '  npx cairn debug ranges',
      '',
      'Ctrl-C stops the cluster.',
    ].join('\n'),
  );
});

test('another data directory gets --host in the KV examples, not in the SQL URL', () => {
  const text = connectionHelp(nodes, gateway, '/w/cairn-data', '/elsewhere');
  expect(text).toContain('Try, from another terminal:');
  expect(text).toContain('  npx cairn kv get hello --host 127.0.0.1:26258');
  expect(text).toContain("  psql 'postgresql://root@127.0.0.1:26257/defaultdb?sslmode=disable'\n");
  expect(text).toContain('log /w/cairn-data/gateway/cairn-gateway.log');
});

test('labels line up when node ids are wider than the gateway label', () => {
  const many = Array.from({ length: 10 }, (_, i) => ({ ...(nodes[0] as LocalNode), index: i + 1, nodeId: i + 1 }));
  const lines = connectionHelp(many, gateway, '/w/cairn-data', '/w').split('\n');
  expect(lines).toContain('  node 10 (id 10)  127.0.0.1:26258  http://127.0.0.1:8080  log cairn-data/node1/cairn-node.log');
  expect(lines).toContain('  node 9 (id 9)    127.0.0.1:26258  http://127.0.0.1:8080  log cairn-data/node1/cairn-node.log');
  expect(lines).toContain('  SQL gateway      127.0.0.1:26257  http://127.0.0.1:8082  log cairn-data/gateway/cairn-gateway.log');
});

test('describeExits names what did not stop cleanly, the gateway first', () => {
  expect(describeExits({ code: 0, signal: null, forced: false }, [{ index: 1, code: 0, signal: null, forced: false }])).toEqual([]);
  expect(describeExits(undefined, [])).toEqual([]);
  expect(
    describeExits({ code: null, signal: 'SIGKILL', forced: true }, [
      { index: 1, code: 1, signal: null, forced: false },
      { index: 2, code: 0, signal: null, forced: false },
      { index: 3, code: null, signal: 'SIGKILL', forced: true },
    ]),
  ).toEqual(['the SQL gateway did not stop in time and was killed', 'node 1 exited with 1', 'node 3 did not stop in time and was killed']);
  expect(describeExits({ code: 1, signal: null, forced: false }, [])).toEqual(['the SQL gateway exited with 1']);
});
