/**
 * The protocol phases of one connection and the one function that moves between them
 * (pure: connection.ts drives it). `dispositionOf` says what a phase does with each
 * typed message, so the rules "skip until Sync after an error" and "only COPY messages
 * during COPY" are written down in one table.
 */
import { AssertionFailedError, unreachable } from '../../common/errors';
import type { TypedFrontendMessage } from './messages';

export type ConnectionPhase =
  /** Waiting for the StartupMessage, or an SSLRequest/GSSENCRequest/CancelRequest before it. */
  | { readonly kind: 'startup'; readonly sslRefused: boolean; readonly gssRefused: boolean }
  /** TLS is up; the StartupMessage comes next, inside it. */
  | { readonly kind: 'ssl-negotiated' }
  /** StartupMessage accepted; SASL exchange (or trust) and opening the session. */
  | { readonly kind: 'authenticating' }
  /** Normal operation: simple and extended query messages. */
  | { readonly kind: 'ready' }
  /** An extended-protocol message failed: everything up to the next Sync is skipped. */
  | { readonly kind: 'extended-error' }
  /** A COPY FROM STDIN is reading CopyData. */
  | { readonly kind: 'copy-in' }
  | { readonly kind: 'closed' };

export type ConnectionPhaseKind = ConnectionPhase['kind'];

export type ConnectionEvent =
  | 'ssl-accepted'
  | 'ssl-refused'
  | 'gss-refused'
  | 'startup-accepted'
  | 'authenticated'
  | 'extended-error'
  | 'sync'
  | 'copy-started'
  | 'copy-ended'
  | 'closed';

export const INITIAL_PHASE: ConnectionPhase = { kind: 'startup', sslRefused: false, gssRefused: false };

function illegal(phase: ConnectionPhase, event: ConnectionEvent): never {
  throw new AssertionFailedError(`pgwire: illegal transition ${event} in phase ${phase.kind}`);
}

/** The next phase, or an AssertionFailedError for an event the phase does not allow. */
export function transition(phase: ConnectionPhase, event: ConnectionEvent): ConnectionPhase {
  if (event === 'closed') {
    return { kind: 'closed' };
  }
  switch (phase.kind) {
    case 'startup':
      switch (event) {
        case 'ssl-accepted':
          return phase.sslRefused ? illegal(phase, event) : { kind: 'ssl-negotiated' };
        case 'ssl-refused':
          return phase.sslRefused ? illegal(phase, event) : { ...phase, sslRefused: true };
        case 'gss-refused':
          return phase.gssRefused ? illegal(phase, event) : { ...phase, gssRefused: true };
        case 'startup-accepted':
          return { kind: 'authenticating' };
        default:
          return illegal(phase, event);
      }
    case 'ssl-negotiated':
      return event === 'startup-accepted' ? { kind: 'authenticating' } : illegal(phase, event);
    case 'authenticating':
      return event === 'authenticated' ? { kind: 'ready' } : illegal(phase, event);
    case 'ready':
      switch (event) {
        case 'extended-error':
          return { kind: 'extended-error' };
        case 'sync':
          return phase;
        case 'copy-started':
          return { kind: 'copy-in' };
        default:
          return illegal(phase, event);
      }
    case 'extended-error':
      return event === 'sync' ? { kind: 'ready' } : event === 'extended-error' ? phase : illegal(phase, event);
    case 'copy-in':
      return event === 'copy-ended' ? { kind: 'ready' } : illegal(phase, event);
    case 'closed':
      return illegal(phase, event);
    default:
      return unreachable(phase, 'connection phase');
  }
}

/**
 * What a phase does with a typed message:
 * - handle: process it;
 * - skip: drop it silently (extended-error until Sync);
 * - ignore: drop it silently because the protocol says so (CopyData after a failed COPY,
 *   Flush/Sync during COPY);
 * - violation: a protocol violation (08P01).
 */
export type Disposition = 'handle' | 'skip' | 'ignore' | 'violation';

export function dispositionOf(phase: ConnectionPhaseKind, kind: TypedFrontendMessage['kind']): Disposition {
  switch (phase) {
    case 'startup':
    case 'ssl-negotiated':
      // The decoder returns only startup packets in these phases.
      return 'violation';
    case 'authenticating':
      return kind === 'authenticationResponse' || kind === 'terminate' ? 'handle' : 'violation';
    case 'ready':
      switch (kind) {
        case 'copyData':
        case 'copyDone':
        case 'copyFail':
          // Still arriving after a COPY failed on the server's side (PostgreSQL ignores them too).
          return 'ignore';
        case 'authenticationResponse':
          return 'violation';
        default:
          return 'handle';
      }
    case 'extended-error':
      return kind === 'sync' || kind === 'terminate' ? 'handle' : 'skip';
    case 'copy-in':
      switch (kind) {
        case 'copyData':
        case 'copyDone':
        case 'copyFail':
        case 'terminate':
          return 'handle';
        case 'flush':
        case 'sync':
          // libpq may send these without noticing that its command started a COPY.
          return 'ignore';
        default:
          return 'violation';
      }
    case 'closed':
      return 'skip';
    default:
      return unreachable(phase, 'connection phase');
  }
}
