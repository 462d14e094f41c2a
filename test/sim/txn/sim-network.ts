import type { HybridLogicalClock } from '../../../common/hlc';
import type { KvTransport } from '../../../kv';
import { NodeUnavailableError } from '../../../kv';
import * as kvpb from '../../../proto/gen/cairn/kv/v1/kv';
import type { Prng } from '../../../node/raft/sim/prng';
import type { SimNode } from './sim-node';

/** The share of batch answers lost while `SimNetwork.loseAnswers` is on. */
const ANSWER_LOSS_CHANCE = 0.01;

/** A simulated process (a node or a client): its clock, and whether it crashed. */
export interface SimProcess {
  readonly name: string;
  readonly clock: HybridLogicalClock;
  /** Its physical clock in Unix ms: true time plus its offset. */
  readonly physicalMs: () => number;
  crashed: boolean;
}

/**
 * The network between clients and nodes: every batch and every answer is encoded and
 * decoded (as on the wire) and delayed by a seeded amount, mostly short, now and then
 * long. A crashed process sends nothing more and hears nothing back; what it sent
 * before it crashed is still delivered. While `loseAnswers` is on, now and then a
 * batch's answer is lost after the node served it (a stream broken on the way back):
 * the sender sees the node unreachable and may send the batch again.
 */
export class SimNetwork {
  readonly messages = { sent: 0, slow: 0, answersLost: 0 };
  loseAnswers = false;

  constructor(
    private readonly prng: Prng,
    private readonly nodes: ReadonlyMap<string, SimNode>,
    private readonly clusterInfo: (nodeId: number) => kvpb.ClusterInfoResponse,
    /** Decides which answers are lost: a stream of its own, so the other draws of a seed stay as they were. */
    private readonly lossPrng?: Prng,
  ) {}

  /** One message's delay (ms). */
  delayMs(): number {
    const p = this.prng.float();
    if (p < 0.7) return 0.2 + this.prng.float() * 2;
    if (p < 0.95) return 2 + this.prng.float() * 20;
    this.messages.slow++;
    return 20 + this.prng.float() * 150;
  }

  transport(from: SimProcess): KvTransport {
    return {
      sendBatch: (address, batch, deadlineUnixMs) => this.sendBatch(from, address, batch, deadlineUnixMs),
      clusterInfo: (address, deadlineUnixMs) => this.call(from, address, deadlineUnixMs, (node) => Promise.resolve(this.clusterInfo(node.nodeId))),
      close: () => Promise.resolve(),
    };
  }

  private sendBatch(from: SimProcess, address: string, batch: kvpb.BatchRequest, deadlineUnixMs: number): Promise<kvpb.BatchResponse> {
    const wire = kvpb.BatchRequest.encode(batch).finish();
    return this.call(
      from,
      address,
      deadlineUnixMs,
      async (node) => {
        const response = await node.serve(kvpb.BatchRequest.decode(wire));
        return kvpb.BatchResponse.decode(kvpb.BatchResponse.encode(response).finish());
      },
      true,
    );
  }

  private call<T>(from: SimProcess, address: string, deadlineUnixMs: number, serve: (node: SimNode) => Promise<T>, mayLoseAnswer = false): Promise<T> {
    if (from.crashed) return new Promise<T>(() => undefined);
    this.messages.sent++;
    const node = this.nodes.get(address);
    if (node === undefined) return Promise.reject(new NodeUnavailableError(address, 'unreachable', `no node at ${address}`));
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(
        () => {
          if (settled || from.crashed) return;
          settled = true;
          reject(new NodeUnavailableError(address, 'deadline', `node ${address} did not answer within the deadline`));
        },
        Math.max(0, deadlineUnixMs - from.physicalMs()),
      );
      setTimeout(() => {
        void serve(node).then((answer) => {
          setTimeout(() => {
            if (settled || from.crashed) return;
            settled = true;
            clearTimeout(timer);
            if (mayLoseAnswer && this.loseAnswers && this.lossPrng !== undefined && this.lossPrng.chance(ANSWER_LOSS_CHANCE)) {
              this.messages.answersLost++;
              reject(new NodeUnavailableError(address, 'unreachable', `the stream to node ${address} broke before its answer came`));
              return;
            }
            resolve(answer);
          }, this.delayMs());
        });
      }, this.delayMs());
    });
  }
}
