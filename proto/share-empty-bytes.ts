/**
 * A step of `npm run proto`, after `buf generate`: ts-proto starts every decoded
 * message with a fresh `Buffer.alloc(0)` in each bytes field, before reading the real
 * value over it. Each costs about 0.2 µs and a backing store for the GC to sweep, and a
 * point read decodes several such messages on each side. The generated files are
 * rewritten to share one empty Buffer instead (a zero-length Buffer has nothing to
 * mutate, and decoding assigns a field rather than writing into it).
 *
 *   tsx proto/share-empty-bytes.ts DIR   rewrites the generated .ts files under DIR
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const FRESH = 'Buffer.alloc(0)';
const SHARED = 'EMPTY_BYTES';
const MARKER = '/* eslint-disable */\n';
const DECLARATION = `\n/** The default of every bytes field (added by proto/share-empty-bytes.ts). */\nconst ${SHARED}: Buffer = ${FRESH};\n`;

/** `source` with its fresh empty Buffers replaced by one shared Buffer. */
export function shareEmptyBytes(source: string): string {
  if (!source.includes(FRESH)) return source;
  const at = source.indexOf(MARKER);
  if (at < 0) throw new Error(`generated code without the '${MARKER.trim()}' line: ts-proto's output changed`);
  const header = source.slice(0, at + MARKER.length);
  const body = source.slice(at + MARKER.length);
  // The declaration goes after the imports (the first blank line after them).
  const importsEnd = body.indexOf('\n\n');
  if (importsEnd < 0) throw new Error("generated code without a blank line after its imports: ts-proto's output changed");
  const imports = body.slice(0, importsEnd + 1);
  const rest = body.slice(importsEnd + 1).split(FRESH).join(SHARED);
  return `${header}${imports}${DECLARATION}${rest}`;
}

function generatedFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => path.join(entry.parentPath, entry.name));
}

/** Rewrites every generated file under `dir` in place. */
export function shareEmptyBytesIn(dir: string): void {
  for (const file of generatedFiles(dir)) {
    const source = fs.readFileSync(file, 'utf8');
    const rewritten = shareEmptyBytes(source);
    if (rewritten !== source) fs.writeFileSync(file, rewritten);
  }
}

if (require.main === module) {
  const dir = process.argv[2];
  if (dir === undefined) {
    process.stderr.write('usage: tsx proto/share-empty-bytes.ts DIR\n');
    process.exit(2);
  }
  shareEmptyBytesIn(dir);
}
