import { assert, unreachable } from '../../common/errors';
import { MalformedEncodingError } from '../../common/errors';
import type { ConfState, NodeId } from './types';

/**
 * Membership changes, one voter at a time (Raft thesis §4.1, "single-server changes"):
 * any majority of the old voters and any majority of the new voters overlap, so at most
 * one change may be pending. A change takes effect on a member when the member APPLIES
 * its entry (the caller acknowledges it in `advance`), never earlier. New voters should
 * first join as learners and be promoted once caught up.
 */
export type ConfChange =
  /** Adds a voter, or promotes a learner to voter. */
  | { readonly type: 'addVoter'; readonly node: NodeId }
  /** Adds a learner. Demoting a voter to learner is not supported. */
  | { readonly type: 'addLearner'; readonly node: NodeId }
  | { readonly type: 'removeNode'; readonly node: NodeId };

const TYPE_CODES = { addVoter: 1, addLearner: 2, removeNode: 3 } as const;

const CONF_CHANGE_BYTES = 9;

/**
 * The entry data of a conf change: the change, then `context` — application bytes
 * that apply with it (Raft ignores them).
 */
export function encodeConfChange(cc: ConfChange, context: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(CONF_CHANGE_BYTES + context.length);
  out[0] = TYPE_CODES[cc.type];
  new DataView(out.buffer).setFloat64(1, cc.node);
  out.set(context, CONF_CHANGE_BYTES);
  return out;
}

/** The application bytes a conf change entry carries (empty when none). */
export function confChangeContext(data: Uint8Array): Uint8Array {
  return data.subarray(CONF_CHANGE_BYTES);
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  if (data.length < CONF_CHANGE_BYTES) {
    throw new MalformedEncodingError('raft conf change', 0, `length ${data.length}, want at least ${CONF_CHANGE_BYTES}`);
  }
  const node = new DataView(data.buffer, data.byteOffset, data.byteLength).getFloat64(1);
  if (!Number.isSafeInteger(node) || node <= 0) {
    throw new MalformedEncodingError('raft conf change', 1, `bad node id ${node}`);
  }
  switch (data[0]) {
    case 1:
      return { type: 'addVoter', node };
    case 2:
      return { type: 'addLearner', node };
    case 3:
      return { type: 'removeNode', node };
    default:
      throw new MalformedEncodingError('raft conf change', 0, `bad type ${data[0]}`);
  }
}

/**
 * Why `cc` cannot apply to `cs`, or undefined if it can. Used when proposing (to refuse)
 * and when applying (an invalid change applies as a no-op on every member alike).
 */
export function confChangeProblem(cs: ConfState, cc: ConfChange): string | undefined {
  const isVoter = cs.voters.includes(cc.node);
  const isLearner = cs.learners.includes(cc.node);
  switch (cc.type) {
    case 'addVoter':
      return isVoter ? `${cc.node} is already a voter` : undefined;
    case 'addLearner':
      if (isVoter) return `${cc.node} is a voter; demotion is not supported`;
      return isLearner ? `${cc.node} is already a learner` : undefined;
    case 'removeNode':
      if (!isVoter && !isLearner) return `${cc.node} is not a member`;
      if (isVoter && cs.voters.length === 1) return `cannot remove the last voter ${cc.node}`;
      return undefined;
    default:
      return unreachable(cc, 'conf change');
  }
}

/** The membership after `cc`; `cc` must be valid (confChangeProblem returned undefined). */
export function applyConfChangeTo(cs: ConfState, cc: ConfChange): ConfState {
  assert(confChangeProblem(cs, cc) === undefined, `invalid conf change ${JSON.stringify(cc)}`);
  const voters = cs.voters.filter((id) => id !== cc.node);
  const learners = cs.learners.filter((id) => id !== cc.node);
  switch (cc.type) {
    case 'addVoter':
      voters.push(cc.node);
      break;
    case 'addLearner':
      learners.push(cc.node);
      break;
    case 'removeNode':
      break;
    default:
      return unreachable(cc, 'conf change');
  }
  return { voters: voters.sort((a, b) => a - b), learners: learners.sort((a, b) => a - b) };
}
