import * as grpc from '@grpc/grpc-js';
import { encodeProto } from '../../common/encoding';
import * as pb from '../../proto/gen/cairn/raft/v1/raft';

/**
 * RaftTransportService as generated, but the Messages stream (every Raft message, with
 * the entries it carries) is encoded through the shared writer
 * (common/encoding/proto-writer.ts) rather than a fresh, growing one each.
 */
export const RAFT_TRANSPORT_SERVICE: typeof pb.RaftTransportServiceService = {
  ...pb.RaftTransportServiceService,
  messages: {
    ...pb.RaftTransportServiceService.messages,
    requestSerialize: (value: pb.MessagesRequest): Buffer => encodeProto(pb.MessagesRequest, value),
    responseSerialize: (value: pb.MessagesResponse): Buffer => encodeProto(pb.MessagesResponse, value),
  },
};

/** A client of RAFT_TRANSPORT_SERVICE. */
export const RaftTransportServiceClient = grpc.makeGenericClientConstructor(
  RAFT_TRANSPORT_SERVICE,
  'cairn.raft.v1.RaftTransportService',
) as unknown as typeof pb.RaftTransportServiceClient;
