import type { Message, MsgApp } from './messages';
import { coalesceMessages } from './messages';
import type { Entry } from './types';

const entry = (index: number, term = 2, data = 'xx'): Entry => ({ index, term, type: 'normal', data: new TextEncoder().encode(data) });

function app(to: number, index: number, logTerm: number, entries: Entry[], commit: number): MsgApp {
  return { type: 'MsgApp', from: 1, to, term: 2, index, logTerm, entries, commit };
}

const resp = (from: number, index: number, reject = false): Message => ({ type: 'MsgAppResp', from, to: 1, term: 2, index, reject, rejectHint: 0, logTerm: 0 });

describe('coalesceMessages', () => {
  test('appends that continue one another merge into the first, with the latest commit', () => {
    const msgs = [app(2, 4, 2, [entry(5)], 3), app(3, 4, 2, [entry(5)], 3), app(2, 5, 2, [entry(6)], 3), app(2, 6, 2, [], 5), app(3, 5, 2, [], 4)];
    expect(coalesceMessages(msgs, 1 << 20)).toEqual([app(2, 4, 2, [entry(5), entry(6)], 5), app(3, 4, 2, [entry(5)], 4)]);
  });

  test('an append that does not continue the last one (a resend after a rejection, another term) stays apart', () => {
    const resend = app(2, 2, 1, [entry(3, 1)], 3);
    const otherTerm = { ...app(2, 5, 2, [entry(6)], 3), term: 3 };
    const msgs = [app(2, 4, 2, [entry(5)], 3), resend, otherTerm];
    expect(coalesceMessages(msgs, 1 << 20)).toEqual(msgs);
  });

  test('the previous entry term must match: an append after a different last term stays apart', () => {
    const msgs = [app(2, 4, 2, [entry(5, 2)], 3), app(2, 5, 1, [entry(6)], 3)];
    expect(coalesceMessages(msgs, 1 << 20)).toHaveLength(2);
  });

  test('a message of another kind between the same pair ends the merging', () => {
    const heartbeat: Message = { type: 'MsgHeartbeat', from: 1, to: 2, term: 2, commit: 3, readContext: '' };
    const msgs = [app(2, 4, 2, [entry(5)], 3), heartbeat, app(2, 5, 2, [entry(6)], 3)];
    expect(coalesceMessages(msgs, 1 << 20)).toEqual(msgs);
  });

  test('merged appends stay within maxSizePerMsg bytes of entry data; commit-only appends always fold in', () => {
    const msgs = [app(2, 4, 2, [entry(5)], 3), app(2, 5, 2, [entry(6)], 3), app(2, 6, 2, [entry(7)], 3), app(2, 7, 2, [], 6)];
    expect(coalesceMessages(msgs, 4)).toEqual([app(2, 4, 2, [entry(5), entry(6)], 3), app(2, 6, 2, [entry(7)], 6)]);
  });

  test('accepted answers keep the highest; a rejection stays, and ends the merging', () => {
    expect(coalesceMessages([resp(2, 5), resp(2, 7), resp(2, 6)], 1 << 20)).toEqual([resp(2, 7)]);
    expect(coalesceMessages([resp(2, 5), resp(2, 4, true), resp(2, 7)], 1 << 20)).toEqual([resp(2, 5), resp(2, 4, true), resp(2, 7)]);
  });
});
