import { slotOrder } from './sql-alternating-worker';

test('each target takes over from the other as often as from itself, and goes first as often', () => {
  const cycles = 10;
  const slots = Array.from({ length: cycles }, (_, c) => slotOrder(c)).flat();
  // The slot a target takes over from is where the previous target's in-flight
  // statements spill into.
  const after = new Map<string, number>();
  for (let i = 1; i < slots.length; i++) {
    const key = `${slots[i - 1]}→${slots[i]}`;
    after.set(key, (after.get(key) ?? 0) + 1);
  }
  expect(Object.fromEntries(after)).toEqual({ '0→1': 5, '1→1': 5, '1→0': 5, '0→0': 4 });
  const firsts = Array.from({ length: cycles }, (_, c) => slotOrder(c)[0]);
  expect(firsts.filter((t) => t === 0)).toHaveLength(cycles / 2);
});
