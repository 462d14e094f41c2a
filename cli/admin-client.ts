/**
 * The admin calls the CLI and the local cluster make (proto/cairn/node/v1/admin.proto),
 * as promises with a deadline each.
 */
import * as grpc from '@grpc/grpc-js';
import { CHANNEL_OPTIONS, traceMetadata } from '../common/grpc';
import type { Span } from '../common/tracing';
import { traceparentOf } from '../common/tracing';
import type * as admin from '../proto/gen/cairn/node/v1/admin';
import { AdminServiceClient } from '../proto/gen/cairn/node/v1/admin';

export const DEFAULT_ADMIN_TIMEOUT_MS = 10_000;

type Unary<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall;

export class AdminClient {
  private readonly client: AdminServiceClient;

  /**
   * `trace`: the span the calls are made under (a CLI command's); when it records, each
   * call carries its `traceparent` in gRPC metadata and the node traces its work under it.
   */
  constructor(
    readonly address: string,
    private readonly timeoutMs = DEFAULT_ADMIN_TIMEOUT_MS,
    private readonly trace?: Span,
  ) {
    this.client = new AdminServiceClient(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  }

  init(): Promise<admin.InitResponse> {
    return this.call(this.client.init, {});
  }

  nodeStatus(): Promise<admin.NodeStatusResponse> {
    return this.call(this.client.nodeStatus, {});
  }

  ranges(): Promise<admin.RangesResponse> {
    return this.call(this.client.ranges, {});
  }

  close(): void {
    this.client.close();
  }

  private call<Req, Res>(method: Unary<Req, Res>, request: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      method.call(
        this.client,
        request,
        traceMetadata(traceparentOf(this.trace)),
        { deadline: Date.now() + this.timeoutMs },
        (err, response) => (err === null ? resolve(response) : reject(err)),
      );
    });
  }
}

export function isServiceError(err: unknown): err is grpc.ServiceError {
  return err instanceof Error && typeof (err as Partial<grpc.ServiceError>).code === 'number';
}

/** Init's answer when the node already belongs to a cluster. */
export function isAlreadyInitialized(err: unknown): boolean {
  return isServiceError(err) && err.code === grpc.status.ALREADY_EXISTS;
}

export function isUnavailable(err: unknown): boolean {
  return isServiceError(err) && err.code === grpc.status.UNAVAILABLE;
}
