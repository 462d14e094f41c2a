import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AdminClient } from '../../cli/admin-client';
import { LocalCluster } from '../../cli/local-cluster';
import { KvClient } from '../../kv';

/** A local cluster of real cairn-node processes for a test file, with its clients. */
export interface TestCluster {
  readonly dataDir: string;
  readonly cluster: LocalCluster;
  readonly kv: KvClient;
  /** Talks to the first node. */
  readonly admin: AdminClient;
}

export async function startTestCluster(
  name: string,
  options: { readonly nodes: number; readonly extraNodeArgs?: readonly string[]; readonly localities?: readonly string[] },
): Promise<TestCluster> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `cairn-${name}-`));
  const cluster = new LocalCluster({
    dataDir,
    nodes: options.nodes,
    ports: 'free',
    extraNodeArgs: options.extraNodeArgs ?? [],
    ...(options.localities === undefined ? {} : { localities: options.localities }),
  });
  await cluster.start();
  const kv = await KvClient.connect({ addresses: cluster.addresses, requestTimeoutMs: 15_000 });
  const admin = new AdminClient(cluster.addresses[0] as string);
  return { dataDir, cluster, kv, admin };
}

/** Closes the clients, stops the nodes and removes the data; tolerates a failed start. */
export async function stopTestCluster(test: TestCluster | undefined): Promise<void> {
  if (test === undefined) return;
  await test.kv.close();
  test.admin.close();
  await test.cluster.stop();
  fs.rmSync(test.dataDir, { recursive: true, force: true });
}
