import * as grpc from '@grpc/grpc-js';

/** Options for every Cairn channel and server. */
export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  // Detect a peer that vanished without closing its connection.
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
};

/**
 * Stops a server: lets calls finish for `graceMs`, then cuts what is left. Long-lived
 * streams from peers stay open until the peers notice, so a graceful stop alone could
 * wait for ever.
 */
export function shutdownServer(server: grpc.Server, graceMs = 1_000): Promise<void> {
  return new Promise<void>((resolve) => {
    server.tryShutdown(() => resolve());
    setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs).unref();
  });
}

/** The W3C Trace Context header, as gRPC metadata carries it on unary calls. */
const TRACEPARENT = 'traceparent';

/** Metadata for a call made under a trace: its `traceparent`, when there is one ('' is none). */
export function traceMetadata(traceparent: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (traceparent !== '') metadata.set(TRACEPARENT, traceparent);
  return metadata;
}

/** The `traceparent` a call came with, or undefined. */
export function traceparentOfCall(metadata: grpc.Metadata): string | undefined {
  const value = metadata.get(TRACEPARENT)[0];
  return typeof value === 'string' && value !== '' ? value : undefined;
}
