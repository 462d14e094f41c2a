/**
 * `npm run crds`: writes crds/*.yaml, and the same files into the Helm chart's crds/,
 * from the schemas in operator/api (the only source of truth; never edit them by hand).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CRD_DIRS, renderCrds } from './render';

const ROOT = path.join(__dirname, '..', '..');

function main(): void {
  const rendered = renderCrds();
  for (const dir of CRD_DIRS) {
    const absolute = path.join(ROOT, dir);
    fs.mkdirSync(absolute, { recursive: true });
    for (const file of fs.readdirSync(absolute)) {
      if (file.endsWith('.yaml') && !rendered.has(file)) fs.rmSync(path.join(absolute, file));
    }
    for (const [file, text] of rendered) {
      fs.writeFileSync(path.join(absolute, file), text);
      process.stdout.write(`wrote ${dir}/${file}\n`);
    }
  }
}

main();
