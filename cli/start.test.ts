import type { LocalNode } from './local-cluster';
import { connectionHelp } from './start';

const nodes: LocalNode[] = [1, 2].map((index) => ({
  index,
  nodeId: index,
  address: `127.0.0.1:${26257 + index}`,
  httpAddress: `127.0.0.1:${8079 + index}`,
  dataDir: `/w/cairn-data/node${index}`,
  logFile: `/w/cairn-data/node${index}/cairn-node.log`,
  pid: 100 + index,
}));

test('connection help for the default data directory needs no --host', () => {
  expect(connectionHelp(nodes, '/w/cairn-data', '/w')).toBe(
    [
      'Cairn is running: 2 nodes, data in /w/cairn-data',
      '',
      '  node 1 (id 1)  127.0.0.1:26258  http://127.0.0.1:8080  log cairn-data/node1/cairn-node.log',
      '  node 2 (id 2)  127.0.0.1:26259  http://127.0.0.1:8081  log cairn-data/node2/cairn-node.log',
      '',
      'KV addresses: 127.0.0.1:26258,127.0.0.1:26259',
      '',
      'Try, from another terminal in this directory:',
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

test('another data directory gets --host in the examples', () => {
  const text = connectionHelp(nodes, '/w/cairn-data', '/elsewhere');
  expect(text).toContain('Try, from another terminal:');
  expect(text).toContain('  npx cairn kv get hello --host 127.0.0.1:26258');
  expect(text).not.toMatch(/SQL|gateway/);
});
