import type { WriteOp } from '../../proto/gen/cairn/node/v1/command';
import type { EngineLimits, WriteBatch } from '../storage';
import { BatchAdmission, DEFAULT_ENGINE_LIMITS } from '../storage';

/** The value of a recorded delete: proto3 bytes have no "unset", so an empty buffer. */
const NO_VALUE: Buffer = Buffer.alloc(0);

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * A write batch that writes nothing: it records its operations, in order, as the
 * `WriteOp`s a Raft command carries. The leaseholder evaluates a request into one;
 * every replica then applies the ops to its own engine batch (`applyWriteOps`).
 *
 * It admits operations with the same size limits as an engine batch, so a key, value
 * or batch too large fails at evaluation, on the leaseholder alone, and never when a
 * committed command is applied on every replica.
 *
 * The bytes given are kept, not copied: callers must not change them afterwards (the
 * MVCC functions pass freshly encoded keys and values, or read-only engine buffers).
 */
export class RecordingBatch implements WriteBatch {
  readonly ops: WriteOp[] = [];
  private readonly admission: BatchAdmission;

  constructor(limits: EngineLimits = DEFAULT_ENGINE_LIMITS) {
    this.admission = new BatchAdmission(limits);
  }

  get count(): number {
    return this.admission.count;
  }

  get byteSize(): number {
    return this.admission.byteSize;
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.admission.admitPut(key, value);
    this.ops.push({ key: asBuffer(key), value: asBuffer(value), delete: false });
  }

  delete(key: Uint8Array): void {
    this.admission.admitDelete(key);
    this.ops.push({ key: asBuffer(key), value: NO_VALUE, delete: true });
  }
}

/**
 * Adds recorded ops to an engine batch, in order (a later op on a key wins, as it
 * did when they were recorded). The ops of one command go into one batch, so they
 * apply atomically.
 */
export function applyWriteOps(batch: WriteBatch, ops: readonly WriteOp[]): void {
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as WriteOp;
    if (op.delete) {
      batch.delete(op.key);
    } else {
      batch.put(op.key, op.value);
    }
  }
}

/**
 * The ops with only the last one of each key kept, in the order of those last ones:
 * the same effect when applied, since ops on different keys are independent. Returns
 * `ops` itself when no key repeats.
 */
export function compactWriteOps(ops: WriteOp[]): WriteOp[] {
  const keys = new Array<string>(ops.length);
  const last = new Map<string, number>();
  for (let i = 0; i < ops.length; i++) {
    const key = (ops[i] as WriteOp).key.toString('latin1');
    keys[i] = key;
    last.set(key, i);
  }
  if (last.size === ops.length) {
    return ops;
  }
  const compacted: WriteOp[] = [];
  for (let i = 0; i < ops.length; i++) {
    if (last.get(keys[i] as string) === i) {
      compacted.push(ops[i] as WriteOp);
    }
  }
  return compacted;
}
