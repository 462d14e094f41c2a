import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ClusterFile } from './cluster-file';
import { fixedPortNodes, parseClusterFile, readClusterFile, serializeClusterFile, writeClusterFile } from './cluster-file';

const FILE: ClusterFile = { version: 1, initialized: true, nodes: fixedPortNodes(3, 26258, 8080) };

test('fixed ports count up from the bases', () => {
  expect(fixedPortNodes(2, 26258, 8080)).toEqual([
    { index: 1, address: '127.0.0.1:26258', httpAddress: '127.0.0.1:8080' },
    { index: 2, address: '127.0.0.1:26259', httpAddress: '127.0.0.1:8081' },
  ]);
});

test('a file reads back as written', () => {
  expect(parseClusterFile(serializeClusterFile(FILE))).toEqual(FILE);
});

test.each<[string, RegExp]>([
  ['{', /not JSON/],
  ['[]', /expected an object/],
  ['{"version":2,"initialized":true,"nodes":[]}', /unsupported version 2/],
  ['{"version":1,"nodes":[]}', /"initialized" must be true or false/],
  ['{"version":1,"initialized":false,"nodes":[]}', /"nodes" must be a non-empty array/],
  ['{"version":1,"initialized":false,"nodes":[{"index":2,"address":"a:1","httpAddress":"a:2"}]}', /nodes\[0\].index must be 1/],
  ['{"version":1,"initialized":false,"nodes":[{"index":1,"address":"a","httpAddress":"a:2"}]}', /host:port/],
  ['{"version":1,"initialized":false,"nodes":[null]}', /nodes\[0\] must be an object/],
])('%s is rejected', (text, message) => {
  expect(() => parseClusterFile(text, 'x/cluster.json')).toThrow(message);
  expect(() => parseClusterFile(text, 'x/cluster.json')).toThrow(/^x\/cluster.json/);
});

test('read and write through a data directory', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-cluster-file-'));
  try {
    expect(readClusterFile(dir)).toBeUndefined();
    writeClusterFile(dir, FILE);
    expect(readClusterFile(dir)).toEqual(FILE);
    expect(fs.readdirSync(dir)).toEqual(['cluster.json']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
