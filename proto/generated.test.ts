import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { shareEmptyBytes, shareEmptyBytesIn } from './share-empty-bytes';

const ROOT = path.join(__dirname, '..');

function listFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

describe('proto/gen', () => {
  it('shares one empty Buffer among the defaults of bytes fields', () => {
    const generated = [
      '// header',
      '/* eslint-disable */',
      'import { BinaryReader } from "@bufbuild/protobuf/wire";',
      '',
      'function createBaseKeyValue(): KeyValue {',
      '  return { key: Buffer.alloc(0), value: Buffer.alloc(0) };',
      '}',
    ].join('\n');
    const shared = shareEmptyBytes(generated);
    expect(shared).toContain('const EMPTY_BYTES: Buffer = Buffer.alloc(0);');
    expect(shared).toContain('return { key: EMPTY_BYTES, value: EMPTY_BYTES };');
    expect(shared.indexOf('import {')).toBeLessThan(shared.indexOf('const EMPTY_BYTES'));
    expect(shareEmptyBytes('/* eslint-disable */\nconst x = 1;\n')).toBe('/* eslint-disable */\nconst x = 1;\n');
  });

  it('is what `npm run proto` generates from proto/ (run it after changing a .proto file)', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-proto-'));
    try {
      const result = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'buf'), ['generate', '--output', out], {
        cwd: ROOT,
        encoding: 'utf8',
      });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      const fresh = path.join(out, 'proto', 'gen');
      shareEmptyBytesIn(fresh);
      const committed = path.join(ROOT, 'proto', 'gen');
      expect(listFiles(committed)).toEqual(listFiles(fresh));
      for (const file of listFiles(fresh)) {
        expect(fs.readFileSync(path.join(committed, file), 'utf8')).toBe(fs.readFileSync(path.join(fresh, file), 'utf8'));
      }
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
