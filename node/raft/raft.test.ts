import { InvalidArgumentError } from '../../common/errors';
import { encodeConfChange } from './conf-change';
import { ProposalDroppedError } from './errors';
import type { Message, MsgAppResp } from './messages';
import { RaftNode } from './raft-node';
import { MemoryLogStorage } from './storage';
import { appliedData, bytes, TestCluster, text } from './test-cluster';
import type { NodeId } from './types';
import { NONE } from './types';

const ids = [1, 2, 3];

function elected(c: TestCluster, id: NodeId): void {
  c.elect(id);
  expect(c.leader()).toBe(id);
}

describe('leader election (Raft §5.2)', () => {
  test('a follower whose election timeout passes campaigns and wins; timeouts are in [election, 2*election)', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const c = new TestCluster(ids, { electionTicks: 10 }, seed);
      let ticks = 0;
      while (c.leader() === undefined) {
        c.tick(1);
        ticks++;
      }
      expect(ticks).toBeGreaterThanOrEqual(10);
      expect(ticks).toBeLessThan(20);
      const st = c.raft(c.leader() ?? NONE).status();
      expect(st.term).toBe(1);
      for (const id of ids) expect(c.raft(id).status().lead).toBe(st.id);
    }
  });

  test('electionJitterTicks narrows the spread of timeouts to [election, election + jitter)', () => {
    // The first campaign after a quiet start comes at the smallest randomized timeout.
    // (With members ticking in lockstep, two may time out in one tick and split the
    // vote; real processes tick out of phase.)
    for (let seed = 1; seed <= 20; seed++) {
      const c = new TestCluster(ids, { electionTicks: 10, electionJitterTicks: 4 }, seed);
      let ticks = 0;
      while (ids.every((id) => c.raft(id).status().term === 0)) {
        c.tick(1);
        ticks++;
      }
      expect(ticks).toBeGreaterThanOrEqual(10);
      expect(ticks).toBeLessThan(14);
    }
  });

  test('each node votes for at most one candidate per term, and the vote survives a restart (§5.2, Fig. 2 persistent state)', () => {
    const c = new TestCluster(ids, { preVote: false });
    // 3 votes for 1 in term 1.
    c.drop = (m) => m.to === 2 || m.from === 2;
    c.elect(1);
    expect(c.raft(3).status().vote).toBe(1);
    c.restart(3);
    expect(c.raft(3).status()).toMatchObject({ term: 1, vote: 1 });
    // A second candidate in term 1 gets no vote from 3.
    const vote: Message = { type: 'MsgVote', from: 2, to: 3, term: 1, index: 0, logTerm: 0, transfer: false };
    c.raft(3).step(vote);
    const rd = c.raft(3).ready();
    const resp = rd.messages.find((m) => m.type === 'MsgVoteResp');
    expect(resp).toMatchObject({ reject: true });
    c.raft(3).advance(rd);
  });

  test('election restriction: a voter refuses a candidate whose log is less up to date (§5.4.1)', () => {
    const c = new TestCluster(ids, { preVote: false, checkQuorum: false });
    elected(c, 1);
    c.drop = (m) => m.to === 3;
    c.raft(1).propose(bytes('x'));
    c.stabilize();
    c.heal();
    // 3 lacks 'x'; 1 and 2 have it: 3 cannot win.
    c.drop = (m) => m.from === 1 || m.to === 1;
    c.elect(3);
    expect(c.raft(3).status().state).not.toBe('leader');
    c.elect(2);
    expect(c.leader()).toBe(2);
  });

  test('pre-vote: an isolated node does not raise its term, and does not disrupt the leader when it returns (thesis §9.6)', () => {
    const c = new TestCluster(ids);
    elected(c, 1);
    c.isolate(3);
    c.tick(50);
    expect(c.raft(3).status().term).toBe(1);
    expect(c.raft(3).status().state).toBe('preCandidate');
    c.heal();
    c.tick(3);
    expect(c.leader()).toBe(1);
    expect(c.raft(1).status().term).toBe(1);
    expect(c.raft(3).status()).toMatchObject({ state: 'follower', lead: 1 });
  });

  test('check-quorum: a leader that hears from no quorum for an election timeout steps down (thesis §6.2)', () => {
    const c = new TestCluster(ids);
    elected(c, 1);
    c.isolate(1);
    // Activity is checked once per election timeout; the first check still sees the
    // election's answers, the second sees silence.
    c.tick(10, [1]);
    expect(c.raft(1).status().state).toBe('leader');
    c.tick(10, [1]);
    expect(c.raft(1).status().state).toBe('follower');
  });

  test('leader lease: followers that hear from a leader ignore vote requests even of a higher term (thesis §4.2.3)', () => {
    const c = new TestCluster(ids, { preVote: false });
    elected(c, 1);
    c.raft(2).step({ type: 'MsgVote', from: 3, to: 2, term: 5, index: 100, logTerm: 5, transfer: false });
    expect(c.raft(2).status().term).toBe(1);
    expect(c.raft(2).hasReady()).toBe(false);
  });

  test('a stale leader learns the new term from a follower and steps down', () => {
    const c = new TestCluster(ids, { checkQuorum: false });
    elected(c, 1);
    c.isolate(1);
    elected(c, 2);
    c.heal();
    c.tick(1, [1]);
    expect(c.raft(1).status()).toMatchObject({ state: 'follower', term: 2 });
  });
});

describe('log replication (Raft §5.3)', () => {
  test('proposals commit on a quorum and every member applies them in order', () => {
    const c = new TestCluster([1, 2, 3, 4, 5]);
    elected(c, 1);
    for (let i = 0; i < 20; i++) c.raft(1).propose(bytes(`e${i}`));
    c.stabilize();
    const want = Array.from({ length: 20 }, (_, i) => `e${i}`);
    for (const id of [1, 2, 3, 4, 5]) expect(appliedData(c.member(id))).toEqual(want);
  });

  test('a proposal on a follower is refused with a leader hint, and nothing is appended', () => {
    const c = new TestCluster(ids);
    elected(c, 1);
    const before = c.raft(2).status().lastIndex;
    try {
      c.raft(2).propose(bytes('x'));
      throw new Error('expected ProposalDroppedError');
    } catch (e) {
      expect(e).toBeInstanceOf(ProposalDroppedError);
      expect(e).toMatchObject({ reason: 'not-leader', leaderHint: 1, code: 'RAFT_PROPOSAL_DROPPED' });
    }
    expect(c.raft(2).status().lastIndex).toBe(before);
  });

  test('a leader never counts an old-term entry as committed from replica counts alone (§5.4.2)', () => {
    // Drive a leader's progress by hand: entry 2 is of term 1, the leader is in term 2.
    const storage = new MemoryLogStorage({ voters: ids, learners: [] });
    storage.append([
      { index: 2, term: 1, type: 'normal', data: new Uint8Array(0) },
      { index: 3, term: 1, type: 'normal', data: bytes('old') },
    ]);
    storage.setHardState({ term: 1, vote: 1, commit: 2 });
    const r = new RaftNode({ id: 1, storage, random: () => 0, preVote: false });
    r.campaign();
    let rd = r.ready();
    storage.setHardState(rd.hardState ?? { term: 0, vote: 0, commit: 0 });
    r.advance(rd);
    r.step({ type: 'MsgVoteResp', from: 2, to: 1, term: 2, reject: false });
    expect(r.status().state).toBe('leader');
    rd = r.ready();
    storage.append(rd.entries); // the leader's empty entry at 4, term 2
    r.advance(rd);
    // Follower 2 acknowledges only up to 3 (the term-1 entry): a quorum holds it, yet
    // it must not commit.
    const ack = (index: number): MsgAppResp => ({ type: 'MsgAppResp', from: 2, to: 1, term: 2, index, reject: false, rejectHint: 0, logTerm: 0 });
    r.step(ack(3));
    expect(r.status().commit).toBe(2);
    r.step(ack(4));
    expect(r.status().commit).toBe(4);
  });

  test('conflicting follower entries are replaced, with fast back-off skipping whole terms', () => {
    const c = new TestCluster(ids, { preVote: false, checkQuorum: false });
    elected(c, 1);
    // 1 appends 30 entries that only it has (term 1).
    c.drop = (m) => m.from === 1;
    for (let i = 0; i < 30; i++) c.raft(1).propose(bytes(`lost${i}`));
    c.stabilize();
    c.heal();
    // 2 leads term 2 and commits with 3.
    c.drop = (m) => m.to === 1 || m.from === 1;
    elected(c, 2);
    c.raft(2).propose(bytes('kept'));
    c.stabilize();
    c.heal();
    const before = c.delivered.length;
    c.tick(2);
    const rejects = c.delivered.slice(before).filter((m) => m.type === 'MsgAppResp' && m.reject && m.from === 1);
    // One rejection skips all 30 conflicting term-1 entries.
    expect(rejects.length).toBeLessThanOrEqual(2);
    expect(appliedData(c.member(1))).toEqual(['kept']);
    expect(c.raft(1).status().lastIndex).toBe(c.raft(2).status().lastIndex);
  });

  test('pipelining is bounded by maxInflightMessages while a follower does not answer', () => {
    const c = new TestCluster(ids, { maxInflightMessages: 4, maxSizePerMsg: 1 });
    elected(c, 1);
    let sentTo2 = 0;
    c.drop = (m) => {
      if (m.to === 2 && m.type === 'MsgApp') sentTo2++;
      return m.to === 2;
    };
    for (let i = 0; i < 20; i++) c.raft(1).propose(bytes(`e${i}`));
    c.stabilize();
    expect(sentTo2).toBe(4);
    expect(c.raft(1).status().progress.get(2)).toMatchObject({ state: 'replicate' });
    c.heal();
    c.tick(3);
    expect(appliedData(c.member(2))).toHaveLength(20);
  });
});

describe('deferred commit notices', () => {
  test('a new commit index waits for the next append instead of going out alone; sendCommitNotices sends it', () => {
    const c = new TestCluster(ids, { deferCommitNotices: true });
    elected(c, 1);
    c.delivered.length = 0;
    c.raft(1).propose(bytes('a'));
    c.stabilize();
    const committed = c.raft(1).status().commit;
    expect(appliedData(c.member(1))).toEqual(['a']);
    // One append per follower carried the entry; none followed with only the commit index.
    expect(c.delivered.filter((m) => m.type === 'MsgApp').length).toBe(2);
    for (const id of [2, 3]) expect(c.raft(id).status().commit).toBeLessThan(committed);
    expect(c.raft(1).commitNoticesPending()).toBe(true);

    // The next entry's append carries it.
    c.raft(1).propose(bytes('b'));
    c.stabilize();
    for (const id of [2, 3]) expect(appliedData(c.member(id))).toEqual(['a']);

    // Nothing more to send: the caller's notice goes out on its own.
    expect(c.raft(1).commitNoticesPending()).toBe(true);
    c.raft(1).sendCommitNotices();
    c.stabilize();
    expect(c.raft(1).commitNoticesPending()).toBe(false);
    for (const id of ids) expect(appliedData(c.member(id))).toEqual(['a', 'b']);
  });

  test('a membership change is sent at once: the member it removes still hears that it committed', () => {
    const c = new TestCluster(ids, { deferCommitNotices: true });
    elected(c, 1);
    const { index } = c.raft(1).proposeConfChange({ type: 'removeNode', node: 3 });
    c.stabilize();
    expect(c.raft(1).status().confState.voters).toEqual([1, 2]);
    expect(c.raft(3).status().commit).toBeGreaterThanOrEqual(index);
  });

  test('a heartbeat carries the commit index too, and the default sends it at once', () => {
    const deferred = new TestCluster(ids, { deferCommitNotices: true });
    elected(deferred, 1);
    deferred.raft(1).propose(bytes('a'));
    deferred.stabilize();
    expect(appliedData(deferred.member(2))).toEqual([]);
    deferred.tick(1, [1]);
    expect(appliedData(deferred.member(2))).toEqual(['a']);
    expect(deferred.raft(1).commitNoticesPending()).toBe(false);

    const eager = new TestCluster(ids);
    elected(eager, 1);
    eager.raft(1).propose(bytes('a'));
    eager.stabilize();
    for (const id of ids) expect(appliedData(eager.member(id))).toEqual(['a']);
    expect(eager.raft(1).commitNoticesPending()).toBe(false);
  });
});

describe('log compaction and snapshots (Raft §7)', () => {
  test('a follower behind the compacted log receives a snapshot and then entries', () => {
    const c = new TestCluster(ids);
    elected(c, 1);
    c.isolate(3);
    for (let i = 0; i < 10; i++) c.raft(1).propose(bytes(`e${i}`));
    c.stabilize();
    const leader = c.member(1);
    const applied = leader.raft.status().applied;
    leader.storage.createSnapshot(applied, leader.raft.status().confState, bytes(`state@${applied}`));
    leader.storage.compact(applied);
    c.heal();
    const before = c.delivered.length;
    c.tick(2);
    expect(c.delivered.slice(before).some((m) => m.type === 'MsgSnap' && m.to === 3)).toBe(true);
    c.raft(1).reportSnapshot(3, true);
    c.raft(1).propose(bytes('after'));
    c.tick(2);
    expect(c.member(3).storage.snapshot().metadata.index).toBe(applied);
    expect(appliedData(c.member(3))).toEqual(['after']);
    expect(c.raft(3).status().applied).toBe(c.raft(1).status().applied);
  });
});

describe('membership changes, one voter at a time (thesis §4.1)', () => {
  test('a learner receives the log but neither votes nor counts toward commit; promotion makes it a voter', () => {
    const c = new TestCluster([1, 2], {}, 1);
    elected(c, 1);
    c.add(3);
    c.raft(1).proposeConfChange({ type: 'addLearner', node: 3 });
    c.stabilize();
    c.raft(1).propose(bytes('a'));
    c.stabilize();
    expect(c.raft(1).status().confState).toEqual({ voters: [1, 2], learners: [3] });
    expect(appliedData(c.member(3))).toEqual(['a']);
    // With 2 down, the learner cannot help commit.
    c.drop = (m) => m.to === 2 || m.from === 2;
    c.raft(1).propose(bytes('b'));
    c.stabilize();
    expect(appliedData(c.member(1))).toEqual(['a']);
    // A learner never campaigns.
    c.tick(30, [3]);
    expect(c.raft(3).status().state).toBe('follower');
    c.heal();
    c.stabilize();
    c.tick(1);
    c.raft(1).proposeConfChange({ type: 'addVoter', node: 3 });
    c.stabilize();
    c.tick(1);
    expect(c.raft(3).status().confState).toEqual({ voters: [1, 2, 3], learners: [] });
    c.drop = (m) => m.to === 2 || m.from === 2;
    c.raft(1).propose(bytes('c'));
    c.stabilize();
    expect(appliedData(c.member(1))).toEqual(['a', 'b', 'c']);
  });

  test('at most one conf change is pending, and a new leader waits for its first commit', () => {
    const c = new TestCluster(ids);
    elected(c, 1);
    c.drop = (m) => m.from === 1;
    c.raft(1).proposeConfChange({ type: 'addLearner', node: 4 });
    expect(() => c.raft(1).proposeConfChange({ type: 'addLearner', node: 5 })).toThrow(ProposalDroppedError);
    c.heal();
    c.tick(1);
    expect(c.raft(1).status().confState.learners).toEqual([4]);
    expect(() => c.raft(1).proposeConfChange({ type: 'addLearner', node: 5 })).not.toThrow();
  });

  test('a member with committed but unapplied conf changes does not campaign (its quorum rules may be stale)', () => {
    const storage = new MemoryLogStorage({ voters: ids, learners: [] });
    storage.append([{ index: 2, term: 1, type: 'confChange', data: encodeConfChange({ type: 'removeNode', node: 3 }) }]);
    storage.setHardState({ term: 1, vote: NONE, commit: 2 });
    const r = new RaftNode({ id: 1, storage, random: () => 0, preVote: false });
    r.campaign();
    expect(r.status().state).toBe('follower');
    // Restart replays committed entries from the snapshot; once applied, it may campaign.
    const rd = r.ready();
    expect(rd.committedEntries.map((e) => e.index)).toEqual([2]);
    r.advance(rd);
    expect(r.status().confState.voters).toEqual([1, 2]);
    r.campaign();
    expect(r.status().state).toBe('candidate');
  });

  test('invalid changes are refused at proposal', () => {
    const c = new TestCluster([1]);
    elected(c, 1);
    expect(() => c.raft(1).proposeConfChange({ type: 'removeNode', node: 1 })).toThrow(InvalidArgumentError);
    expect(() => c.raft(1).proposeConfChange({ type: 'removeNode', node: 7 })).toThrow(InvalidArgumentError);
    expect(() => c.raft(1).proposeConfChange({ type: 'addVoter', node: 1 })).toThrow(InvalidArgumentError);
  });

  test('a removed voter stops counting, and a removed leader steps down', () => {
    const c = new TestCluster(ids);
    elected(c, 1);
    c.raft(1).proposeConfChange({ type: 'removeNode', node: 3 });
    c.stabilize();
    c.tick(1);
    expect(c.raft(1).status().confState.voters).toEqual([1, 2]);
    c.raft(1).proposeConfChange({ type: 'removeNode', node: 1 });
    c.stabilize();
    c.tick(1);
    expect(c.raft(1).status().state).toBe('follower');
    c.tick(25, [2]);
    expect(c.leader()).toBe(2);
    expect(c.raft(2).status().confState.voters).toEqual([2]);
  });
});

describe('leadership transfer (thesis §3.10)', () => {
  test('the leader catches the transferee up and hands over with MsgTimeoutNow', () => {
    const c = new TestCluster(ids);
    elected(c, 1);
    c.drop = (m) => m.to === 3;
    c.raft(1).propose(bytes('x'));
    c.stabilize();
    c.heal();
    c.raft(1).transferLeadership(3);
    expect(() => c.raft(1).propose(bytes('y'))).toThrow(ProposalDroppedError);
    c.stabilize();
    expect(c.leader()).toBe(3);
    expect(c.raft(3).status().term).toBe(2);
    expect(appliedData(c.member(3))).toEqual(['x']);
  });

  test('a transfer that cannot finish is aborted after an election timeout', () => {
    const c = new TestCluster(ids, { electionTicks: 10 });
    elected(c, 1);
    c.isolate(3);
    c.raft(1).transferLeadership(3);
    expect(c.raft(1).status().leadTransferee).toBe(3);
    c.tick(10, [1, 2]);
    expect(c.raft(1).status()).toMatchObject({ state: 'leader', leadTransferee: NONE });
    expect(() => c.raft(1).propose(bytes('y'))).not.toThrow();
  });

  test('a follower forwards a transfer request to the leader', () => {
    const c = new TestCluster(ids);
    elected(c, 1);
    c.raft(2).transferLeadership(2);
    c.stabilize();
    expect(c.leader()).toBe(2);
  });
});

describe('ReadIndex (thesis §6.4)', () => {
  test('the leader answers after a heartbeat round confirms it still leads', () => {
    const c = new TestCluster(ids);
    elected(c, 1);
    c.raft(1).propose(bytes('x'));
    c.stabilize();
    c.isolate(1);
    c.raft(1).readIndex('r1');
    c.stabilize();
    expect(c.member(1).readStates).toEqual([]);
    c.heal();
    c.tick(1);
    expect(c.member(1).readStates).toEqual([{ index: c.raft(1).status().commit, requestContext: 'r1' }]);
  });

  test('a follower read is forwarded to the leader and answered with its commit index', () => {
    const c = new TestCluster(ids);
    elected(c, 1);
    c.raft(1).propose(bytes('x'));
    c.stabilize();
    c.raft(3).readIndex('r2');
    c.stabilize();
    expect(c.member(3).readStates).toEqual([{ index: c.raft(1).status().commit, requestContext: 'r2' }]);
  });

  test('a new leader serves reads only after committing an entry of its term', () => {
    const c = new TestCluster(ids, { preVote: false, checkQuorum: false });
    elected(c, 1);
    c.drop = (m) => m.type === 'MsgAppResp';
    c.elect(2);
    c.tick(1);
    expect(c.leader()).toBe(2);
    c.raft(2).readIndex('r3');
    c.tick(1);
    expect(c.member(2).readStates).toEqual([]);
    c.heal();
    c.tick(1);
    const st = c.raft(2).status();
    expect(c.member(2).readStates).toEqual([{ index: st.commit, requestContext: 'r3' }]);
    expect(c.raft(2).term(st.commit)).toBe(st.term);
  });

  test('a single-voter leader also waits for its first commit before answering', () => {
    const c = new TestCluster([1]);
    elected(c, 1);
    c.restart(1);
    c.raft(1).campaign();
    expect(c.raft(1).status()).toMatchObject({ state: 'leader', term: 2, commit: 2 });
    c.raft(1).readIndex('r5');
    expect(c.raft(1).ready().readStates).toEqual([]);
    c.restart(1); // crash with that Ready unpersisted: back to term 1
    c.raft(1).campaign();
    c.raft(1).readIndex('r6');
    c.stabilize();
    expect(c.member(1).readStates).toEqual([{ index: 3, requestContext: 'r6' }]);
  });

  test('a read that rides the next heartbeat sends no round of its own and is answered after the tick', () => {
    const c = new TestCluster(ids);
    elected(c, 1);
    c.raft(1).propose(bytes('x'));
    c.stabilize();
    c.delivered.length = 0;
    c.raft(1).readIndex('r7', { withNextHeartbeat: true });
    c.stabilize();
    expect(c.delivered).toEqual([]);
    expect(c.member(1).readStates).toEqual([]);
    c.tick(1, [1]);
    c.stabilize();
    const heartbeats = c.delivered.filter((m) => m.type === 'MsgHeartbeat');
    expect(heartbeats.map((m) => m.to).sort()).toEqual([2, 3]);
    expect(heartbeats.every((m) => m.type === 'MsgHeartbeat' && m.readContext === 'r7')).toBe(true);
    expect(c.member(1).readStates).toEqual([{ index: c.raft(1).status().commit, requestContext: 'r7' }]);
  });

  test('a node without a leader refuses reads', () => {
    const c = new TestCluster(ids);
    expect(() => c.raft(1).readIndex('r4')).toThrow(ProposalDroppedError);
  });
});

describe('the Ready contract', () => {
  test('a vote and its response are in one Ready: the hard state is persisted before the message leaves', () => {
    const c = new TestCluster(ids, { preVote: false });
    c.raft(1).campaign();
    const rd = c.raft(1).ready();
    expect(rd.hardState).toMatchObject({ term: 1, vote: 1 });
    expect(rd.messages.filter((m) => m.type === 'MsgVote')).toHaveLength(2);
    c.raft(1).advance(rd);
  });

  test('a Ready lost in a crash before persisting leaves no trace after restart', () => {
    const c = new TestCluster(ids);
    elected(c, 1);
    c.raft(1).propose(bytes('x'));
    const rd = c.raft(1).ready();
    expect(rd.entries.map((e) => e.index)).toEqual([3]);
    c.restart(1);
    expect(c.raft(1).status()).toMatchObject({ lastIndex: 2, state: 'follower', term: 1 });
  });

  test('proposals of one turn reach each follower as one append, and its answers of one turn come back as one', () => {
    const c = new TestCluster(ids);
    elected(c, 1);
    for (let i = 0; i < 5; i++) c.raft(1).propose(bytes(`p${i}`));
    const out = c.handleReady(c.member(1), c.raft(1).ready());
    const appends = out.filter((m) => m.type === 'MsgApp');
    expect(appends.map((m) => m.to).sort()).toEqual([2, 3]);
    for (const m of appends) expect(m.type === 'MsgApp' && m.entries.map((e) => text(e.data))).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
    // Follower 2 takes the five entries as five appends in one turn: one answer, for the last.
    const toTwo = appends.find((m) => m.to === 2);
    if (toTwo?.type !== 'MsgApp') throw new Error('no append to 2');
    let prev = { index: toTwo.index, term: toTwo.logTerm };
    for (const e of toTwo.entries) {
      c.deliver({ ...toTwo, index: prev.index, logTerm: prev.term, entries: [e] });
      prev = { index: e.index, term: e.term };
    }
    const answers = c.handleReady(c.member(2), c.raft(2).ready());
    expect(answers).toEqual([expect.objectContaining({ type: 'MsgAppResp', from: 2, to: 1, reject: false, index: prev.index })]);
    for (const m of [...answers, ...appends.filter((m) => m.to === 3)]) c.deliver(m);
    c.stabilize();
    for (const id of ids) expect(appliedData(c.member(id))).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
  });

  test('a leader counts itself toward commit only once its entries are persisted', () => {
    const c = new TestCluster([1]);
    elected(c, 1);
    c.raft(1).propose(bytes('x'));
    expect(c.raft(1).status().commit).toBe(2);
    const rd = c.raft(1).ready();
    expect(rd.committedEntries).toEqual([]);
    c.member(1).storage.append(rd.entries);
    c.raft(1).advance(rd);
    expect(c.raft(1).status().commit).toBe(3);
  });
});
