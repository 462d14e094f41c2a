import { LockWaitQueue, PRUNE_OVER_PUSHEES, PUSHER_MEMORY_MS, TxnWaitQueue } from './lock-wait-queue';

const b = (text: string): Buffer => Buffer.from(text);
const id = (byte: number): Buffer => Buffer.alloc(16, byte);
const hex = (byte: number): string => id(byte).toString('hex');

/** Lets every promise callback that is ready run. */
async function settle(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
}

/** Records the order in which the promises resolve, by name. */
function track(order: string[], entries: Record<string, Promise<void>>): void {
  for (const [name, promise] of Object.entries(entries)) {
    void promise.then(() => order.push(name));
  }
}

describe('LockWaitQueue', () => {
  it('wakes the waiters of a released key in the order they came, and only them', async () => {
    const queue = new LockWaitQueue();
    const order: string[] = [];
    track(order, {
      first: queue.wait(b('k')).released,
      other: queue.wait(b('m')).released,
      second: queue.wait(b('k')).released,
      third: queue.wait(b('k')).released,
    });
    expect(queue.waitingKeys).toBe(2);
    queue.release(b('k'), b('k\x00'));
    await settle();
    expect(order).toEqual(['first', 'second', 'third']);
    expect(queue.waitingKeys).toBe(1);
    queue.release(b('m'), b('m\x00'));
    await settle();
    expect(order).toEqual(['first', 'second', 'third', 'other']);
    expect(queue.waitingKeys).toBe(0);
  });

  it('wakes every key in a released span [start, end), not the end key', async () => {
    const queue = new LockWaitQueue();
    const order: string[] = [];
    track(order, {
      before: queue.wait(b('a')).released,
      start: queue.wait(b('b')).released,
      inside: queue.wait(b('b\x00\xff')).released,
      last: queue.wait(b('cz')).released,
      end: queue.wait(b('d')).released,
    });
    queue.release(b('b'), b('d'));
    await settle();
    expect(order.sort()).toEqual(['inside', 'last', 'start']);
    expect(queue.waitingKeys).toBe(2);
  });

  it('keeps keys with any bytes apart', async () => {
    const queue = new LockWaitQueue();
    const order: string[] = [];
    const raw = Buffer.from([0xff, 0x00, 0x80]);
    track(order, { raw: queue.wait(raw).released, prefix: queue.wait(Buffer.from([0xff])).released });
    queue.release(raw, Buffer.concat([raw, Buffer.from([0])]));
    await settle();
    expect(order).toEqual(['raw']);
  });

  it('does not wake a waiter that cancelled, and forgets a key with nobody left', async () => {
    const queue = new LockWaitQueue();
    const order: string[] = [];
    const gone = queue.wait(b('k'));
    const stays = queue.wait(b('k'));
    track(order, { gone: gone.released, stays: stays.released });
    gone.cancel();
    gone.cancel(); // twice is harmless
    queue.release(b('k'), b('k\x00'));
    await settle();
    expect(order).toEqual(['stays']);

    const alone = queue.wait(b('x'));
    expect(queue.waitingKeys).toBe(1);
    alone.cancel();
    expect(queue.waitingKeys).toBe(0);
    stays.cancel(); // after its wake-up: nothing happens
    expect(queue.waitingKeys).toBe(0);
  });

  it('a waiter that cancelled after its key was released leaves later waiters of the key alone', async () => {
    const queue = new LockWaitQueue();
    const old = queue.wait(b('k'));
    queue.release(b('k'), b('k\x00'));
    const order: string[] = [];
    track(order, { later: queue.wait(b('k')).released });
    old.cancel();
    expect(queue.waitingKeys).toBe(1);
    queue.release(b('k'), b('k\x00'));
    await settle();
    expect(order).toEqual(['later']);
  });

  it('releaseAll wakes everyone (a lease moved) and empties the queue', async () => {
    const queue = new LockWaitQueue();
    const order: string[] = [];
    track(order, { a: queue.wait(b('a')).released, b: queue.wait(b('b')).released, a2: queue.wait(b('a')).released });
    queue.releaseAll();
    await settle();
    expect(order.sort()).toEqual(['a', 'a2', 'b']);
    expect(queue.waitingKeys).toBe(0);
    queue.release(b('a'), b('z')); // an empty queue: nothing to do
  });
});

describe('TxnWaitQueue', () => {
  it('wakes the pushers of a transaction when its record changes, and only them', async () => {
    const queue = new TxnWaitQueue();
    const order: string[] = [];
    track(order, {
      first: queue.wait(id(1), hex(2)).changed,
      second: queue.wait(id(1), hex(3)).changed,
      other: queue.wait(id(9), hex(2)).changed,
    });
    expect(queue.waitingPushes).toBe(3);
    queue.notify(id(1));
    await settle();
    expect(order).toEqual(['first', 'second']);
    expect(queue.waitingPushes).toBe(1);
    queue.notify(id(1)); // nobody left: nothing happens
    queue.notify(id(9));
    await settle();
    expect(order).toEqual(['first', 'second', 'other']);
    expect(queue.waitingPushes).toBe(0);
  });

  it('reports who waits on a transaction, with those known to wait on them', () => {
    const queue = new TxnWaitQueue();
    const two = queue.wait(id(1), hex(2));
    queue.wait(id(1), hex(3));
    queue.wait(id(4), hex(5));
    two.setDependents(new Set([hex(6), hex(3)]));
    const waiting = queue.waitingOn(id(1)).map((x) => x.toString('hex')).sort();
    expect(waiting).toEqual([hex(2), hex(3), hex(6)].sort()); // 3 once
    expect(queue.waitingOn(id(4))).toEqual([id(5)]);
    expect(queue.waitingOn(id(7))).toEqual([]);
    // The dependents replace those reported before.
    two.setDependents(new Set([hex(8)]));
    expect(queue.waitingOn(id(1)).map((x) => x.toString('hex')).sort()).toEqual([hex(2), hex(3), hex(8)].sort());
  });

  it('leaves non-transactional pushers out of the edges (they hold no locks)', () => {
    const queue = new TxnWaitQueue();
    queue.wait(id(1), 'request-1');
    queue.wait(id(1), hex(2));
    expect(queue.waitingOn(id(1))).toEqual([id(2)]);
  });

  it('does not wake a pusher that cancelled, and reports it only for a moment after', async () => {
    let now = 1_000;
    const queue = new TxnWaitQueue(() => now);
    const order: string[] = [];
    const gone = queue.wait(id(1), hex(2));
    gone.setDependents(new Set([hex(5)]));
    const stays = queue.wait(id(1), hex(3));
    track(order, { gone: gone.changed, stays: stays.changed });
    gone.cancel();
    expect(queue.waitingPushes).toBe(1);
    // Between two polls a waiting push is out of the queue: it still counts, with what it knew.
    now += PUSHER_MEMORY_MS;
    expect(queue.waitingOn(id(1)).map((x) => x.toString('hex')).sort()).toEqual([hex(2), hex(3), hex(5)].sort());
    now += 1;
    expect(queue.waitingOn(id(1))).toEqual([id(3)]);
    queue.notify(id(1));
    await settle();
    expect(order).toEqual(['stays']);
    stays.cancel();
    expect(queue.waitingPushes).toBe(0);
  });

  it('keeps what a pusher learned when it lines up again, so a long cycle of waits is seen', () => {
    // A waits on B, B on C, C on A: each pusher learns one more hop per poll, and
    // lines up anew after every poll. What it learned must survive the new line-up.
    let now = 0;
    const queue = new TxnWaitQueue(() => now);
    const [a, b, c] = [hex(0xa), hex(0xb), hex(0xc)];
    const waitAt = (pushee: string, pusher: string): ReturnType<TxnWaitQueue['wait']> => queue.wait(Buffer.from(pushee, 'hex'), pusher);
    const waitersOf = (txn: string): Set<string> => new Set(queue.waitingOn(Buffer.from(txn, 'hex')).map((x) => x.toString('hex')));
    let waits = [waitAt(b, a), waitAt(c, b), waitAt(a, c)];
    for (let poll = 0; poll < 3; poll++) {
      now += 150;
      // Each pusher asks its own record who waits on it, then lines up again.
      const learned = [waitersOf(a), waitersOf(b), waitersOf(c)];
      waits.forEach((w, i) => w.setDependents(learned[i] as Set<string>));
      waits.forEach((w) => w.cancel());
      waits = [waitAt(b, a), waitAt(c, b), waitAt(a, c)];
    }
    // A's pushee B is among those waiting on A: the cycle is visible from A.
    expect(waitersOf(a).has(b)).toBe(true);
    expect(waitersOf(b).has(c)).toBe(true);
  });

  it('does not remember the departed pushers of many transactions for long, asked or not', () => {
    let now = 0;
    const queue = new TxnWaitQueue(() => now);
    for (let i = 0; i < 2_000; i++) {
      const pushee = Buffer.alloc(16);
      pushee.writeUInt32BE(i);
      queue.wait(pushee, hex(2)).cancel();
      now += 10;
    }
    // Nobody asked who waits (no QueryTxn), and no pushee's record changed.
    expect(queue.rememberedPushees).toBeLessThanOrEqual(PRUNE_OVER_PUSHEES + PUSHER_MEMORY_MS / 10 + 1);
  });

  it('forgets who waited on a transaction once its record changes', () => {
    const queue = new TxnWaitQueue(() => 0);
    queue.wait(id(1), hex(2)).cancel();
    expect(queue.waitingOn(id(1))).toEqual([id(2)]);
    queue.notify(id(1));
    expect(queue.waitingOn(id(1))).toEqual([]);
  });

  it('releaseAll wakes every pusher and empties the queue', async () => {
    const queue = new TxnWaitQueue();
    const order: string[] = [];
    track(order, { a: queue.wait(id(1), hex(2)).changed, b: queue.wait(id(3), hex(4)).changed });
    queue.releaseAll();
    await settle();
    expect(order.sort()).toEqual(['a', 'b']);
    expect(queue.waitingPushes).toBe(0);
    expect(queue.waitingOn(id(1))).toEqual([]);
  });
});
