import * as grpc from '@grpc/grpc-js';
import { encodeProto } from '../common/encoding';
import * as pb from '../proto/gen/cairn/kv/v1/kv';

/**
 * KvService as generated, but the BatchStream's messages (every batch of every client)
 * are encoded through the shared writer (common/encoding/proto-writer.ts) rather than
 * a fresh, growing one each.
 */
export const KV_SERVICE: typeof pb.KvServiceService = {
  ...pb.KvServiceService,
  batchStream: {
    ...pb.KvServiceService.batchStream,
    requestSerialize: (value: pb.BatchStreamRequest): Buffer => encodeProto(pb.BatchStreamRequest, value),
    responseSerialize: (value: pb.BatchStreamResponse): Buffer => encodeProto(pb.BatchStreamResponse, value),
  },
};

/** A client of KV_SERVICE. */
export const KvServiceClient = grpc.makeGenericClientConstructor(KV_SERVICE, 'cairn.kv.v1.KvService') as unknown as typeof pb.KvServiceClient;
