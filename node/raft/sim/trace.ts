/** The last `capacity` events of a run, rendered only when a violation needs them. */
export class TraceRing {
  private readonly items: { step: number; text: string | (() => string) }[] = [];
  private next = 0;

  constructor(private readonly capacity: number) {}

  add(step: number, text: string | (() => string)): void {
    if (this.items.length < this.capacity) {
      this.items.push({ step, text });
    } else {
      this.items[this.next] = { step, text };
    }
    this.next = (this.next + 1) % this.capacity;
  }

  render(stepsPerTick: number): string[] {
    const ordered = this.items.length < this.capacity
      ? this.items
      : [...this.items.slice(this.next), ...this.items.slice(0, this.next)];
    return ordered.map(({ step, text }) => {
      const tick = `${Math.floor(step / stepsPerTick)}.${step % stepsPerTick}`;
      return `${tick.padStart(8)}  ${typeof text === 'string' ? text : text()}`;
    });
  }
}

// Bound once: global lookups are slow inside jest's vm sandbox, and this is hot.
const imul = Math.imul;
const floor = Math.floor;

/** A 53-bit string/number mixer (cyrb53-style) for digests and run fingerprints. */
export function mix(h: number, value: number | string): number {
  let h1 = (h & 0xffffffff) ^ 0xdeadbeef;
  let h2 = floor(h / 4294967296) ^ 0x41c6ce57;
  const s = typeof value === 'number' ? `${value}` : value;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    h1 = imul(h1 ^ ch, 2654435761);
    h2 = imul(h2 ^ ch, 1597334677);
  }
  h1 = imul(h1 ^ (h1 >>> 16), 2246822507) ^ imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = imul(h2 ^ (h2 >>> 16), 2246822507) ^ imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
