/**
 * The `DatabaseCluster` resource (cairn.dev/v1alpha1): its schema, from which both the
 * CRD in crds/ (`npm run crds`) and the TypeScript types below are derived.
 */
import type { V1Affinity, V1ObjectMeta, V1ResourceRequirements, V1Toleration } from '@kubernetes/client-node';
import * as s from './schema';

export const GROUP = 'cairn.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'DatabaseCluster';
export const PLURAL = 'databaseclusters';

/** Region names become part of object names (`<cluster>-<region>`), hence the limits. */
export const MAX_CLUSTER_NAME_LENGTH = 30;
export const MAX_REGION_NAME_LENGTH = 20;
const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
/** A resource quantity (`10Gi`, `500M`, `1.5T`); the CEL rules check it exactly. */
const QUANTITY = '^[0-9]+(\\.[0-9]+)?([KMGTPE]i?|[mk]|[eE][0-9]+)?$';

const region = s.object(
  {
    name: s.string({ description: 'The region, as in `--locality region=<name>` and object names.', pattern: DNS_LABEL, maxLength: MAX_REGION_NAME_LENGTH }),
    nodes: s.integer({ description: 'Storage nodes in this region.', minimum: 1, maximum: 99, default: 3 }),
    zones: s.optional(
      s.array(s.string({ description: 'A zone (the topology.kubernetes.io/zone label).', maxLength: 63 }), {
        description: 'Zones to spread the nodes over; when empty, whatever zones the scheduler picks.',
        maxItems: 16,
        listType: 'set',
      }),
    ),
    nodeSelector: s.optional(
      s.map(s.string({ description: 'A label value.', maxLength: 63 }), {
        description: "Labels the storage nodes' Kubernetes nodes must have.",
        maxProperties: 32,
      }),
    ),
    tolerations: s.optional(
      s.array(s.opaque<V1Toleration>({ description: 'A core/v1 Toleration.' }), { description: "Tolerations of the storage nodes' pods.", maxItems: 32 }),
    ),
    affinity: s.optional(s.opaque<V1Affinity>({ description: "A core/v1 Affinity for the storage nodes' pods." })),
  },
  { description: 'One region: a StatefulSet of storage nodes and its headless Service.' },
);

const resources = s.opaque<V1ResourceRequirements>({ description: 'core/v1 ResourceRequirements (requests, limits).' });

export const databaseClusterSpecSchema = s.object(
  {
    image: s.string({ description: 'The Cairn image for nodes, gateways and the init Job.', minLength: 1, maxLength: 512, default: 'cairn:0.1.0' }),
    imagePullPolicy: s.enumOf(['Always', 'IfNotPresent', 'Never'], { description: 'The pull policy of that image.', default: 'IfNotPresent' }),
    regions: s.array(region, {
      description: 'Regions, each with its own storage nodes. Names are unique.',
      minItems: 1,
      maxItems: 8,
      listType: 'map',
      listMapKeys: ['name'],
      rules: [{ rule: 'self.all(r, self.exists_one(o, o.name == r.name))', message: 'region names must be unique', reason: 'FieldValueDuplicate' }],
    }),
    storage: s.object(
      {
        storageClassName: s.optional(s.string({ description: 'The StorageClass of the nodes\' volumes (default: the cluster\'s default class).', maxLength: 253 })),
        size: s.string({
          description: "Each storage node's volume size, a quantity. It can grow, never shrink.",
          pattern: QUANTITY,
          maxLength: 32,
          default: '10Gi',
          rules: [
            { rule: 'isQuantity(self) && quantity(self).isGreaterThan(quantity("0"))', message: 'storage size must be a positive quantity' },
            { rule: 'quantity(self).compareTo(quantity(oldSelf)) >= 0', message: 'storage size cannot shrink' },
          ],
        }),
      },
      { description: 'Persistent volumes of the storage nodes, one per pod.', default: {} },
    ),
    resources: s.optional(
      s.object(
        { nodes: s.optional(resources), gateways: s.optional(resources) },
        { description: 'CPU and memory of the storage node and gateway containers.' },
      ),
    ),
    gateway: s.object(
      {
        replicas: s.integer({ description: 'SQL gateway pods.', minimum: 0, maximum: 64, default: 2 }),
        serviceType: s.enumOf(['ClusterIP', 'NodePort', 'LoadBalancer'], { description: "The type of the gateways' Service (port 5432).", default: 'ClusterIP' }),
      },
      { description: 'The stateless SQL gateways (Postgres wire protocol).', default: {} },
    ),
    replicationFactor: s.integer({ description: 'Replicas of each range: odd, at most the number of nodes.', minimum: 1, maximum: 7, default: 3 }),
    tls: s.optional(
      s.object(
        {
          secretName: s.optional(s.string({ description: 'A Secret with ca.crt, tls.crt and tls.key for nodes and gateways.', maxLength: 253 })),
          generate: s.boolean({ description: 'Whether the operator generates a CA and certificates into Secrets.', default: false }),
        },
        {
          description: 'TLS between nodes and for SQL clients; without it, plaintext.',
          rules: [{ rule: '!(has(self.secretName) && self.generate)', message: 'tls takes either secretName or generate, not both' }],
        },
      ),
    ),
    extraArgs: s.optional(
      s.object(
        {
          node: s.optional(s.array(s.string({ description: 'An argument.', maxLength: 1024 }), { description: 'Added to every cairn-node command line.', maxItems: 64 })),
          gateway: s.optional(s.array(s.string({ description: 'An argument.', maxLength: 1024 }), { description: 'Added to every cairn-gateway command line.', maxItems: 64 })),
        },
        { description: 'Extra command-line arguments.' },
      ),
    ),
    clusterSettings: s.optional(
      s.map(s.string({ description: 'A setting value.', maxLength: 1024 }), {
        description: 'Cluster settings applied after initialisation (name → value).',
        maxProperties: 128,
      }),
    ),
  },
  {
    description: 'The desired cluster.',
    rules: [
      { rule: 'self.replicationFactor % 2 == 1', message: 'replicationFactor must be odd', fieldPath: '.replicationFactor' },
      {
        rule: 'self.replicationFactor <= self.regions.map(r, r.nodes).sum()',
        message: 'replicationFactor must not exceed the total number of nodes',
        fieldPath: '.replicationFactor',
      },
    ],
  },
);

/** TLSReady is there only when the spec asks for TLS. */
export const CONDITION_TYPES = ['Ready', 'Progressing', 'Degraded', 'TLSReady'] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];
export const PHASES = ['Pending', 'Initializing', 'Running', 'Degraded'] as const;
export type Phase = (typeof PHASES)[number];

const condition = s.object(
  {
    type: s.string({ description: 'Ready, Progressing, Degraded or TLSReady.', maxLength: 316 }),
    status: s.enumOf(['True', 'False', 'Unknown'], { description: 'The condition holds, does not, or nobody knows.' }),
    reason: s.string({ description: 'Why, in one CamelCase word.', maxLength: 1024 }),
    message: s.string({ description: 'Why, for people.', maxLength: 32768 }),
    lastTransitionTime: s.dateTime({ description: 'When status last changed.' }),
    observedGeneration: s.optional(s.integer({ description: 'The generation this condition was computed from.', minimum: 0, format: 'int64' })),
  },
  { description: 'A metav1.Condition.' },
);

const regionStatus = s.object(
  {
    name: s.string({ description: 'The region.', maxLength: MAX_REGION_NAME_LENGTH }),
    nodes: s.integer({ description: "Storage nodes of the region's StatefulSet.", minimum: 0 }),
    readyNodes: s.integer({ description: 'Of those, the ready ones.', minimum: 0 }),
  },
  { description: 'One region as observed.' },
);

const tlsStatus = s.object(
  {
    secretName: s.string({ description: 'The Secret (ca.crt, tls.crt, tls.key) that nodes and gateways mount.', maxLength: 253 }),
    generated: s.boolean({ description: 'Whether the operator generated it (and the CA and client Secrets).' }),
    caSecretName: s.optional(s.string({ description: 'The generated CA, when generated.', maxLength: 253 })),
    clientSecretName: s.optional(s.string({ description: 'The generated client certificate of user root, when generated.', maxLength: 253 })),
    notAfter: s.optional(s.dateTime({ description: 'When the generated node certificate expires (it is renewed 30 days before).' })),
  },
  { description: 'The TLS Secrets in use.' },
);

export const databaseClusterStatusSchema = s.object(
  {
    phase: s.optional(s.enumOf(PHASES, { description: 'Pending, Initializing, Running or Degraded.' })),
    conditions: s.optional(
      s.array(condition, { description: 'Ready, Progressing, Degraded and (with TLS) TLSReady.', maxItems: 8, listType: 'map', listMapKeys: ['type'] }),
    ),
    observedGeneration: s.optional(s.integer({ description: 'The generation the status describes.', minimum: 0, format: 'int64' })),
    readyNodes: s.optional(s.string({ description: 'Ready storage nodes over all of them ("2/3").', maxLength: 16 })),
    regions: s.optional(s.array(regionStatus, { description: 'Nodes per region.', maxItems: 8, listType: 'map', listMapKeys: ['name'] })),
    regionNames: s.optional(s.string({ description: 'The regions, comma separated (for kubectl get).', maxLength: 256 })),
    initialized: s.optional(s.boolean({ description: 'Whether the init Job has succeeded.' })),
    initJobName: s.optional(s.string({ description: 'The init Job, once created.', maxLength: 253 })),
    clusterId: s.optional(s.string({ description: 'The cluster ID, once initialised.', maxLength: 64 })),
    tls: s.optional(tlsStatus),
    underReplicatedRanges: s.optional(s.integer({ description: 'Ranges with fewer replicas than they should have.', minimum: 0, format: 'int64' })),
  },
  { description: 'The cluster as the operator last saw it.' },
);

export type DatabaseClusterSpec = s.TypeOf<typeof databaseClusterSpecSchema>;
export type DatabaseClusterStatus = s.TypeOf<typeof databaseClusterStatusSchema>;
export type RegionSpec = DatabaseClusterSpec['regions'][number];
export type Condition = NonNullable<DatabaseClusterStatus['conditions']>[number];
export type TlsStatus = NonNullable<DatabaseClusterStatus['tls']>;

/** A DatabaseCluster as read from the API server (defaults applied). */
export interface DatabaseCluster {
  readonly apiVersion: typeof API_VERSION;
  readonly kind: typeof KIND;
  readonly metadata: V1ObjectMeta;
  readonly spec: DatabaseClusterSpec;
  readonly status?: DatabaseClusterStatus;
}

export const databaseClusterSchema = s.object(
  {
    apiVersion: s.optional(s.string({ description: 'cairn.dev/v1alpha1', maxLength: 64 })),
    kind: s.optional(s.string({ description: 'DatabaseCluster', maxLength: 64 })),
    metadata: s.optional(s.objectMeta<V1ObjectMeta>()),
    spec: databaseClusterSpecSchema,
    status: s.optional(databaseClusterStatusSchema),
  },
  {
    description: 'A Cairn cluster: storage nodes per region, SQL gateways, and their wiring.',
    rules: [
      {
        rule: `size(self.metadata.name) <= ${MAX_CLUSTER_NAME_LENGTH}`,
        message: `metadata.name must be at most ${MAX_CLUSTER_NAME_LENGTH} characters (it prefixes the names of the objects the operator creates)`,
      },
    ],
  },
);
