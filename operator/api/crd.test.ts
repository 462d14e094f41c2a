import * as fs from 'node:fs';
import * as path from 'node:path';
import { CRD_DIRS, databaseClusterCrd, renderCrds } from '.';

describe.each(CRD_DIRS)('%s/', (crdDir) => {
  const dir = path.join(__dirname, '..', '..', crdDir);

  test('is what `npm run crds` writes from operator/api', () => {
    const rendered = renderCrds();
    const onDisk = fs.readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(onDisk.sort()).toEqual([...rendered.keys()].sort());
    for (const [file, text] of rendered) {
      // On a mismatch: run `npm run crds` and commit crds/.
      expect({ file, text: fs.readFileSync(path.join(dir, file), 'utf8') }).toEqual({ file, text });
    }
  });
});

describe('the DatabaseCluster schema', () => {
  const root = (databaseClusterCrd().spec as { versions: { schema: { openAPIV3Schema: Record<string, unknown> } }[] }).versions[0]!.schema
    .openAPIV3Schema as { properties: { spec: { required: string[]; properties: Record<string, { required?: string[] }> } } };

  test('requires only what has no default', () => {
    expect(root.properties.spec.required).toEqual(['regions']);
    expect(root.properties.spec.properties.storage?.required).toBeUndefined();
  });

  test('gives every string a maximum length, so that CEL rules have a bounded cost', () => {
    const strings: string[] = [];
    const walk = (schema: Record<string, unknown>, at: string): void => {
      if (schema.type === 'string' && schema.enum === undefined && schema.format === undefined && schema.maxLength === undefined) strings.push(at);
      for (const [name, child] of Object.entries((schema.properties as Record<string, Record<string, unknown>> | undefined) ?? {})) {
        walk(child, `${at}.${name}`);
      }
      if (schema.items !== undefined) walk(schema.items as Record<string, unknown>, `${at}[]`);
      if (schema.additionalProperties !== undefined) walk(schema.additionalProperties as Record<string, unknown>, `${at}{}`);
    };
    walk(root as unknown as Record<string, unknown>, '');
    expect(strings).toEqual([]);
  });
});
