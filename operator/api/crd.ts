/**
 * The CustomResourceDefinitions, as plain objects built from the schemas in this
 * folder. `npm run crds` writes them to crds/; a test checks crds/ is up to date.
 */
import { databaseClusterSchema, GROUP, KIND, PLURAL, VERSION } from './database-cluster';

export interface CrdManifest {
  readonly apiVersion: 'apiextensions.k8s.io/v1';
  readonly kind: 'CustomResourceDefinition';
  readonly metadata: { readonly name: string; readonly labels: Readonly<Record<string, string>> };
  readonly spec: unknown;
}

export function databaseClusterCrd(): CrdManifest {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${PLURAL}.${GROUP}`, labels: { 'app.kubernetes.io/part-of': 'cairn' } },
    spec: {
      group: GROUP,
      names: { kind: KIND, listKind: `${KIND}List`, plural: PLURAL, singular: 'databasecluster', shortNames: ['dbc'], categories: ['cairn'] },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
            { name: 'Ready', type: 'string', description: 'Ready storage nodes over all of them', jsonPath: '.status.readyNodes' },
            { name: 'Regions', type: 'string', jsonPath: '.status.regionNames' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: { openAPIV3Schema: databaseClusterSchema.json },
        },
      ],
    },
  };
}

/** Every CRD, by the file it is written to in crds/. */
export function allCrds(): ReadonlyMap<string, CrdManifest> {
  const crd = databaseClusterCrd();
  return new Map([[`${crd.metadata.name}.yaml`, crd]]);
}

