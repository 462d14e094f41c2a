/**
 * The etcd baseline: a three-member etcd cluster (Debian's etcd-server) on loopback
 * with temporary data folders, and a gRPC client for the calls the benchmarks make.
 * The few fields used are encoded by hand from etcd's documented API
 * (etcdserverpb.KV/Put, etcdserverpb.KV/Range, etcdserverpb.Maintenance/Status).
 */
import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import { freePorts } from '../cli/local-cluster';

export function etcdVersion(): string {
  try {
    const out = execFileSync('etcd', ['--version'], { encoding: 'utf8' });
    const match = /etcd Version: (\S+)/.exec(out);
    return match?.[1] ?? 'unknown';
  } catch {
    throw new Error('etcd is not installed: apt-get install etcd-server (the Raft benchmark compares against it)');
  }
}

function encodePut(key: Uint8Array, value: Uint8Array): Buffer {
  return Buffer.from(new BinaryWriter().uint32(10).bytes(key).uint32(18).bytes(value).finish());
}

/**
 * A TxnRequest with no comparisons whose success branch puts every pair
 * (TxnRequest.success = 2, RequestOp.request_put = 2). etcd takes up to 128 per txn.
 */
function encodeTxnPuts(entries: readonly (readonly [Uint8Array, Uint8Array])[]): Buffer {
  const writer = new BinaryWriter();
  for (const [key, value] of entries) {
    writer.uint32(18).bytes(new BinaryWriter().uint32(18).bytes(encodePut(key, value)).finish());
  }
  return Buffer.from(writer.finish());
}

/** A RangeRequest for one key; `serializable` unset, so the read is linearizable. */
function encodeRange(key: Uint8Array): Buffer {
  return Buffer.from(new BinaryWriter().uint32(10).bytes(key).finish());
}

/** The value of a RangeResponse's first KeyValue (kvs = 2, value = 5), if any. */
export function decodeRangeValue(bytes: Uint8Array): Buffer | undefined {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === 2 && (tag & 7) === 2) {
      const kv = new BinaryReader(reader.bytes());
      while (kv.pos < kv.len) {
        const kvTag = kv.uint32();
        if (kvTag >>> 3 === 5 && (kvTag & 7) === 2) {
          return Buffer.from(kv.bytes());
        }
        kv.skip(kvTag & 7);
      }
      return Buffer.alloc(0);
    }
    reader.skip(tag & 7);
  }
  return undefined;
}

interface EtcdStatus {
  readonly memberId: bigint;
  readonly leader: bigint;
}

function decodeStatus(bytes: Uint8Array): EtcdStatus {
  const reader = new BinaryReader(bytes);
  let memberId = 0n;
  let leader = 0n;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    if (field === 1 && (tag & 7) === 2) {
      // ResponseHeader: member_id is field 2.
      const header = new BinaryReader(reader.bytes());
      while (header.pos < header.len) {
        const htag = header.uint32();
        if (htag >>> 3 === 2 && (htag & 7) === 0) {
          memberId = BigInt(header.uint64().toString());
        } else {
          header.skip(htag & 7);
        }
      }
    } else if (field === 4 && (tag & 7) === 0) {
      leader = BigInt(reader.uint64().toString());
    } else {
      reader.skip(tag & 7);
    }
  }
  return { memberId, leader };
}

const identity = (b: Buffer): Buffer => b;

export class EtcdClient {
  private readonly client: grpc.Client;

  constructor(readonly address: string) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure());
  }

  put(key: Uint8Array, value: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest('/etcdserverpb.KV/Put', identity, identity, encodePut(key, value), (err) =>
        err === null ? resolve() : reject(err),
      );
    });
  }

  /** Puts every pair in one transaction (one Raft entry). */
  putMany(entries: readonly (readonly [Uint8Array, Uint8Array])[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest('/etcdserverpb.KV/Txn', identity, identity, encodeTxnPuts(entries), (err) =>
        err === null ? resolve() : reject(err),
      );
    });
  }

  /** A linearizable read of one key (etcd confirms its leadership: ReadIndex). */
  get(key: Uint8Array): Promise<Buffer | undefined> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest('/etcdserverpb.KV/Range', identity, identity, encodeRange(key), (err, response) =>
        err === null && response !== undefined ? resolve(decodeRangeValue(response)) : reject(err),
      );
    });
  }

  status(): Promise<EtcdStatus> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        '/etcdserverpb.Maintenance/Status',
        identity,
        identity,
        Buffer.alloc(0),
        new grpc.Metadata(),
        { deadline: Date.now() + 2_000 },
        (err, response) => (err === null && response !== undefined ? resolve(decodeStatus(response)) : reject(err)),
      );
    });
  }

  close(): void {
    this.client.close();
  }
}

export interface EtcdClusterOptions {
  /** The size at which etcd refuses writes (its default is 2 GiB). */
  readonly quotaBackendBytes?: number;
}

export class EtcdCluster {
  private constructor(
    private readonly processes: ChildProcess[],
    readonly clientAddresses: string[],
    private readonly dataRoot: string,
  ) {}

  static async start(size: number, options: EtcdClusterOptions = {}): Promise<EtcdCluster> {
    etcdVersion();
    const ports = await freePorts(size * 2);
    const dataRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-etcd-'));
    const names = Array.from({ length: size }, (_, i) => `m${i + 1}`);
    const peerUrl = (i: number): string => `http://127.0.0.1:${ports[2 * i + 1]}`;
    const clientUrl = (i: number): string => `http://127.0.0.1:${ports[2 * i]}`;
    const initialCluster = names.map((n, i) => `${n}=${peerUrl(i)}`).join(',');
    const processes = names.map((name, i) =>
      spawn(
        'etcd',
        [
          '--name', name,
          '--data-dir', path.join(dataRoot, name),
          '--listen-client-urls', clientUrl(i),
          '--advertise-client-urls', clientUrl(i),
          '--listen-peer-urls', peerUrl(i),
          '--initial-advertise-peer-urls', peerUrl(i),
          '--initial-cluster', initialCluster,
          '--initial-cluster-state', 'new',
          '--initial-cluster-token', 'cairn-bench',
          '--log-level', 'error',
          ...(options.quotaBackendBytes === undefined ? [] : ['--quota-backend-bytes', String(options.quotaBackendBytes)]),
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      ),
    );
    const cluster = new EtcdCluster(
      processes,
      names.map((_, i) => `127.0.0.1:${ports[2 * i]}`),
      dataRoot,
    );
    try {
      await cluster.waitForLeader(30_000);
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** The member processes' IDs (for their memory use). */
  get pids(): number[] {
    return this.processes.flatMap((p) => (p.pid === undefined ? [] : [p.pid]));
  }

  /** The client address of the current leader. */
  async waitForLeader(timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const address of this.clientAddresses) {
        const client = new EtcdClient(address);
        try {
          const status = await client.status();
          if (status.leader !== 0n && status.leader === status.memberId) {
            return address;
          }
        } catch {
          // Not up yet.
        } finally {
          client.close();
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`etcd elected no leader within ${timeoutMs} ms`);
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.processes.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) {
              resolve();
              return;
            }
            p.once('exit', () => resolve());
            p.kill('SIGTERM');
            setTimeout(() => p.kill('SIGKILL'), 5_000).unref();
          }),
      ),
    );
    fs.rmSync(this.dataRoot, { recursive: true, force: true });
  }
}
