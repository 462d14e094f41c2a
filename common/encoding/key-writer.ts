import { InvalidArgumentError } from '../errors';

const DEFAULT_CAPACITY = 64;

/**
 * A growable byte builder for keys. One writer can build many keys: `finish()` hands out
 * an exact-size copy and `reset()` starts the next key in the same buffer, so a hot
 * path pays one allocation per key (the result) rather than one per component.
 */
export class KeyWriter {
  private buf: Buffer;
  private len = 0;

  constructor(initialCapacity = DEFAULT_CAPACITY) {
    if (!Number.isSafeInteger(initialCapacity) || initialCapacity < 0) {
      throw new InvalidArgumentError(`KeyWriter capacity ${initialCapacity} is not a non-negative integer`);
    }
    this.buf = Buffer.allocUnsafe(Math.max(initialCapacity, 8));
  }

  /** Bytes written since construction or the last `reset()`. */
  get length(): number {
    return this.len;
  }

  /** Bytes the writer can hold before it must grow. */
  get capacity(): number {
    return this.buf.length;
  }

  /** Makes room for `n` more bytes so the next `n` appends do not reallocate. */
  reserve(n: number): void {
    const need = this.len + n;
    if (need > this.buf.length) {
      this.grow(need);
    }
  }

  /** Appends one byte; only the low 8 bits of `b` are kept. */
  appendByte(b: number): void {
    if (this.len === this.buf.length) {
      this.grow(this.len + 1);
    }
    this.buf[this.len++] = b;
  }

  appendBytes(bytes: Uint8Array): void {
    const n = bytes.length;
    if (this.len + n > this.buf.length) {
      this.grow(this.len + n);
    }
    this.buf.set(bytes, this.len);
    this.len += n;
  }

  /** Forgets the written bytes, keeping the buffer for the next key. */
  reset(): void {
    this.len = 0;
  }

  /** An exact-size copy of the written bytes; the writer stays usable. */
  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.len);
    this.buf.copy(out, 0, 0, this.len);
    return out;
  }

  private grow(need: number): void {
    let capacity = this.buf.length * 2;
    if (capacity < need) {
      capacity = need;
    }
    const next = Buffer.allocUnsafe(capacity);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
}
