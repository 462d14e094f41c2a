import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { childExecArgv, logTail, nodeEntry, nodeFlags, splitFlags } from './local-cluster';

test('the node entry is the sources under tsx and the compiled file under dist', () => {
  expect(nodeEntry('/repo/cli', '/repo/cli/local-cluster.ts')).toBe(path.join('/repo/node/server/main.ts'));
  expect(nodeEntry('/repo/dist/cli', '/repo/dist/cli/local-cluster.js')).toBe(path.join('/repo/dist/node/server/main.js'));
  expect(fs.existsSync(path.dirname(nodeEntry()))).toBe(true);
});

describe('childExecArgv', () => {
  const loader = (): string => 'file:///x/tsx/loader.mjs';

  test('a TypeScript entry gets tsx when the parent has none', () => {
    expect(childExecArgv('/r/node/server/main.ts', [], loader)).toEqual(['--import', 'file:///x/tsx/loader.mjs']);
  });

  test("the parent's tsx carries over as it is", () => {
    const execArgv = ['--require', '/x/tsx/dist/preflight.cjs', '--import', 'file:///x/tsx/dist/loader.mjs'];
    expect(childExecArgv('/r/node/server/main.ts', execArgv, loader)).toEqual(execArgv);
  });

  test('compiled JavaScript needs no loader', () => {
    expect(childExecArgv('/r/dist/node/server/main.js', ['--max-old-space-size=512'], loader)).toEqual([
      '--max-old-space-size=512',
    ]);
  });

  test('debugger flags stay with the parent', () => {
    expect(childExecArgv('/r/main.js', ['--inspect', '--inspect-brk=9229', '--inspect-port=1', '--enable-source-maps'], loader)).toEqual([
      '--enable-source-maps',
    ]);
  });
});

test('every node joins through every address', () => {
  const nodes = [
    { index: 1, address: '127.0.0.1:1', httpAddress: '127.0.0.1:2' },
    { index: 2, address: '127.0.0.1:3', httpAddress: '127.0.0.1:4' },
  ];
  expect(nodeFlags(nodes[1] as (typeof nodes)[number], '/d/node2', nodes, 'region=r1,zone=z2')).toEqual([
    '--data-dir', '/d/node2',
    '--listen-addr', '127.0.0.1:3',
    '--http-addr', '127.0.0.1:4',
    '--join', '127.0.0.1:1,127.0.0.1:3',
    '--locality', 'region=r1,zone=z2',
  ]);
  expect(nodeFlags(nodes[0] as (typeof nodes)[number], '/d/node1', nodes, undefined)).not.toContain('--locality');
});

test('splitFlags', () => {
  expect(splitFlags(undefined)).toEqual([]);
  expect(splitFlags('  --tick-ms 50\t--log-level debug ')).toEqual(['--tick-ms', '50', '--log-level', 'debug']);
});

test('logTail keeps the last lines of a log', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-log-tail-'));
  try {
    const file = path.join(dir, 'x.log');
    expect(logTail(file)).toMatch(/no log at/);
    fs.writeFileSync(file, '');
    expect(logTail(file)).toMatch(/is empty/);
    fs.writeFileSync(file, Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n') + '\n');
    expect(logTail(file, 3)).toBe('  line 27\n  line 28\n  line 29');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
