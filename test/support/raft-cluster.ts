import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { freePorts } from '../../cli/local-cluster';
import * as member from '../../proto/gen/cairn/raft/v1/member';

const MEMBER_SCRIPT = path.join(__dirname, 'raft-member.ts');


export interface ProposeResult {
  readonly index: number;
  readonly term: number;
  readonly errorCode: string;
  readonly error: string;
  readonly leaderHint: number;
}

/** A client of one member: proposals on one stream, many in flight. */
export class RaftMemberClient {
  private readonly client: grpc.Client & member.RaftMemberServiceClient;
  private stream: grpc.ClientDuplexStream<member.ProposeRequest, member.ProposeResponse> | undefined;
  private nextId = 1n;
  private readonly waiting = new Map<bigint, { resolve: (r: ProposeResult) => void; reject: (e: Error) => void }>();

  constructor(readonly address: string) {
    this.client = new member.RaftMemberServiceClient(address, grpc.credentials.createInsecure());
  }

  propose(data: Uint8Array): Promise<ProposeResult> {
    const stream = this.openStream();
    const requestId = this.nextId++;
    return new Promise<ProposeResult>((resolve, reject) => {
      this.waiting.set(requestId, { resolve, reject });
      stream.write({ requestId, data: Buffer.from(data) });
    });
  }

  status(timeoutMs = 2_000): Promise<member.StatusResponse> {
    return new Promise((resolve, reject) => {
      this.client.status({}, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, response) =>
        err === null ? resolve(response) : reject(err),
      );
    });
  }

  appliedEntries(fromIndex = 0, timeoutMs = 5_000): Promise<Buffer[]> {
    return new Promise((resolve, reject) => {
      this.client.appliedEntries(
        { fromIndex: BigInt(fromIndex) },
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (err, response) => (err === null ? resolve(response.data) : reject(err)),
      );
    });
  }

  transferLeadership(to: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.transferLeadership({ to: BigInt(to) }, (err) => (err === null ? resolve() : reject(err)));
    });
  }

  close(): void {
    this.failAll(new Error('client closed'));
    this.stream?.end();
    this.client.close();
  }

  private openStream(): grpc.ClientDuplexStream<member.ProposeRequest, member.ProposeResponse> {
    if (this.stream !== undefined) {
      return this.stream;
    }
    const stream = this.client.propose();
    stream.on('data', (response: member.ProposeResponse) => {
      const waiter = this.waiting.get(response.requestId);
      if (waiter !== undefined) {
        this.waiting.delete(response.requestId);
        waiter.resolve({
          index: Number(response.index),
          term: Number(response.term),
          errorCode: response.errorCode,
          error: response.error,
          leaderHint: Number(response.leaderHint),
        });
      }
    });
    const broken = (err: Error): void => {
      if (this.stream === stream) {
        this.stream = undefined;
      }
      this.failAll(err);
    };
    stream.on('error', broken);
    stream.on('end', () => broken(new Error('propose stream ended')));
    this.stream = stream;
    return stream;
  }

  private failAll(err: Error): void {
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) {
      w.reject(err);
    }
  }
}

export interface RaftClusterOptions {
  readonly size: number;
  readonly tickMs?: number;
  readonly electionTicks?: number;
  /** Where member data folders go (default: a new temporary folder, removed on stop). */
  readonly dataRoot?: string;
}

interface Member {
  readonly id: number;
  readonly address: string;
  /** Where /metrics, /healthz and /readyz are served; set once running. */
  httpAddress: string | undefined;
  readonly dataDir: string;
  process: ChildProcess | undefined;
  client: RaftMemberClient;
  stderr: string;
}

/** Member processes of one Raft group on 127.0.0.1. */
export class RaftCluster {
  private constructor(
    readonly members: Member[],
    private readonly options: RaftClusterOptions,
    private readonly dataRoot: string,
    private readonly ownsDataRoot: boolean,
  ) {}

  static async start(options: RaftClusterOptions): Promise<RaftCluster> {
    const ports = await freePorts(options.size);
    const ownsDataRoot = options.dataRoot === undefined;
    const dataRoot = options.dataRoot ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-raft-cluster-'));
    const members: Member[] = ports.map((port, i) => {
      const address = `127.0.0.1:${port}`;
      return {
        id: i + 1,
        address,
        httpAddress: undefined,
        dataDir: path.join(dataRoot, `member-${i + 1}`),
        process: undefined,
        client: new RaftMemberClient(address),
        stderr: '',
      };
    });
    const cluster = new RaftCluster(members, options, dataRoot, ownsDataRoot);
    await Promise.all(members.map((m) => cluster.launch(m)));
    return cluster;
  }

  member(id: number): Member {
    const found = this.members.find((m) => m.id === id);
    if (found === undefined) {
      throw new Error(`no member ${id}`);
    }
    return found;
  }

  client(id: number): RaftMemberClient {
    return this.member(id).client;
  }

  /** Kills a member's process and waits for it to be gone. */
  async kill(id: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const m = this.member(id);
    const child = m.process;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
      return;
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
    m.process = undefined;
    m.client.close();
    m.client = new RaftMemberClient(m.address);
  }

  async restart(id: number): Promise<void> {
    const m = this.member(id);
    if (m.process !== undefined) {
      throw new Error(`member ${id} is running`);
    }
    await this.launch(m);
  }

  running(): number[] {
    return this.members.filter((m) => m.process !== undefined).map((m) => m.id);
  }

  /** The leader that every running member (or those in `among`) agrees on. */
  async waitForLeader(timeoutMs: number, among: readonly number[] = this.running()): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const statuses = await Promise.all(among.map((id) => this.client(id).status(500)));
        const leads = new Set(statuses.map((s) => Number(s.lead)));
        const [lead] = [...leads];
        if (leads.size === 1 && lead !== undefined && lead !== 0 && among.includes(lead)) {
          const leaderStatus = statuses.find((s) => Number(s.id) === lead);
          if (leaderStatus?.state === 'leader') {
            return lead;
          }
        }
      } catch {
        // A member not answering yet: try again.
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`no leader among ${among.join(',')} within ${timeoutMs} ms`);
  }

  /** Stops every member with SIGTERM and removes the data it created. */
  async stop(): Promise<void> {
    await Promise.all(
      this.members.map(async (m) => {
        const child = m.process;
        m.client.close();
        if (child !== undefined && child.exitCode === null && child.signalCode === null) {
          const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(timer);
        }
        m.process = undefined;
      }),
    );
    if (this.ownsDataRoot) {
      fs.rmSync(this.dataRoot, { recursive: true, force: true });
    }
  }

  private launch(m: Member): Promise<void> {
    const peers = this.members.map((p) => `${p.id}=${p.address}`).join(',');
    const args = [
      '--import',
      'tsx',
      MEMBER_SCRIPT,
      '--id',
      String(m.id),
      '--peers',
      peers,
      '--data-dir',
      m.dataDir,
      ...(this.options.tickMs === undefined ? [] : ['--tick-ms', String(this.options.tickMs)]),
      ...(this.options.electionTicks === undefined ? [] : ['--election-ticks', String(this.options.electionTicks)]),
    ];
    // CAIRN_RAFT_MEMBER_PROFILE_DIR=DIR: each member writes a V8 CPU profile there on exit.
    const profileDir = process.env.CAIRN_RAFT_MEMBER_PROFILE_DIR;
    const nodeArgs = profileDir === undefined ? args : ['--cpu-prof', '--cpu-prof-dir', profileDir, ...args];
    const child = spawn(process.execPath, nodeArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    m.process = child;
    m.stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      m.stderr += chunk.toString();
    });
    return new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /^ready (\d+) (\d+)$/m.exec(out);
        if (match !== null) {
          m.httpAddress = `127.0.0.1:${match[2]}`;
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        if (!out.includes('ready ')) {
          reject(new Error(`member ${m.id} exited (${code ?? signal}) before it was ready: ${m.stderr}`));
        }
      });
    });
  }
}
