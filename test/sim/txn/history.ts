import type { Timestamp } from '../../../common/hlc';
import { compareTimestamps, formatTimestamp, timestampEqual } from '../../../common/hlc';

/*
 * The history of a transaction simulation and its checker. Every write puts a value
 * no other write puts (`<attempt>/<key>`), so a value read or found names its writer.
 * Each run of a transaction body is an attempt; only a committed attempt's writes may
 * ever become versions. The checker (Adya's dependency graph over committed
 * attempts, as kvnemesis and Elle build it):
 *   ww  the writers of consecutive versions of a key, in MVCC (commit timestamp) order;
 *   wr  the writer of a version → each attempt that read it;
 *   rw  each reader of a version → the writer of the key's next version.
 * A cycle means no serial order explains what was read: the seed fails.
 *
 * Also checked (DESIGN.md §7: uncertainty intervals and commit-wait): no stale reads. A
 * transaction that started after another's commit was acknowledged, in true time, and
 * read a key that one wrote, reads that write or a later one.
 */

export type AttemptStatus = 'running' | 'committed' | 'failed' | 'abandoned' | 'ambiguous';

export interface Attempt {
  readonly id: string;
  readonly kind: string;
  status: AttemptStatus;
  /** Key → value read (undefined: the key was absent). Reads of its own writes are left out. */
  readonly reads: Map<string, string | undefined>;
  /** Key → value written. */
  readonly writes: Map<string, string>;
  /** The body ran to its end (so a commit was, or was about to be, sent). */
  bodyDone: boolean;
  commitTs: Timestamp | undefined;
  /** True time (ms) the operation started (before its first attempt). */
  readonly opStartMs: number;
  /** True time (ms) the client heard of the commit; undefined unless acknowledged. */
  ackMs: number | undefined;
  /** How the attempt ended, for messages. */
  note: string;
}

/** A committed MVCC version of a key as the engine holds it at the end. */
export interface Version {
  readonly ts: Timestamp;
  /** undefined: a tombstone. */
  readonly value: string | undefined;
}

export const INITIAL = 'init';

export function valueOf(attemptId: string, key: string): string {
  return `${attemptId}/${key}`;
}

export function writerOf(value: string): string {
  const slash = value.lastIndexOf('/');
  return slash < 0 ? value : value.slice(0, slash);
}

export class History {
  readonly attempts = new Map<string, Attempt>();

  begin(id: string, kind: string, opStartMs: number): Attempt {
    const attempt: Attempt = {
      id,
      kind,
      status: 'running',
      reads: new Map(),
      writes: new Map(),
      bodyDone: false,
      commitTs: undefined,
      opStartMs,
      ackMs: undefined,
      note: '',
    };
    this.attempts.set(id, attempt);
    return attempt;
  }
}

export class HistoryViolation extends Error {}

interface Edge {
  readonly to: string;
  readonly label: string;
}

export interface CheckSummary {
  readonly committed: number;
  readonly failed: number;
  readonly abandoned: number;
  readonly ambiguousCommitted: number;
  readonly ambiguousAborted: number;
  readonly edges: number;
}

/**
 * Checks the history against the versions found at the end (key → versions, oldest
 * first). Resolves ambiguous attempts by what became of their writes, then throws a
 * HistoryViolation for: a version no committed attempt wrote, an acknowledged write
 * missing or at another timestamp than its commit, a committed attempt that read an
 * uncommitted value, or a cycle.
 */
export function checkHistory(history: History, versions: ReadonlyMap<string, readonly Version[]>): CheckSummary {
  const found = new Map<string, { key: string; index: number; ts: Timestamp }>();
  for (const [key, list] of versions) {
    list.forEach((v, index) => {
      if (v.value !== undefined) found.set(v.value, { key, index, ts: v.ts });
    });
  }
  const problems: string[] = [];
  let ambiguousCommitted = 0;
  let ambiguousAborted = 0;
  for (const attempt of history.attempts.values()) {
    if (attempt.status !== 'ambiguous') continue;
    const seen = [...attempt.writes.values()].map((value) => found.get(value)).filter((f) => f !== undefined);
    if (seen.length === 0) {
      attempt.status = 'failed';
      attempt.note += ' (ambiguous: found not committed)';
      ambiguousAborted++;
    } else {
      attempt.status = 'committed';
      attempt.commitTs = seen[0]?.ts;
      attempt.note += ' (ambiguous: found committed)';
      ambiguousCommitted++;
    }
  }
  const status = (writer: string): AttemptStatus | 'initial' | 'unknown' =>
    writer === INITIAL ? 'initial' : (history.attempts.get(writer)?.status ?? 'unknown');
  // Every version was written by a committed attempt.
  for (const [key, list] of versions) {
    for (const v of list) {
      if (v.value === undefined) continue;
      const writer = writerOf(v.value);
      const s = status(writer);
      if (s !== 'committed' && s !== 'initial') {
        problems.push(`key ${key}: version ${v.value} at ${formatTimestamp(v.ts)} was written by ${writer}, which is ${s} ${noteOf(history, writer)}`);
      }
    }
  }
  // Every committed write is there, at the commit timestamp; every read saw committed data.
  for (const attempt of history.attempts.values()) {
    if (attempt.status !== 'committed') continue;
    for (const [key, value] of attempt.writes) {
      const f = found.get(value);
      if (f === undefined) {
        problems.push(`${attempt.id} committed at ${fmt(attempt.commitTs)} but its write ${value} of key ${key} is not a version`);
      } else if (attempt.commitTs !== undefined && !timestampEqual(f.ts, attempt.commitTs)) {
        problems.push(`${attempt.id} committed at ${fmt(attempt.commitTs)} but its write of key ${key} is at ${formatTimestamp(f.ts)}`);
      }
    }
    for (const [key, value] of attempt.reads) {
      if (value === undefined) {
        problems.push(`${attempt.id} (committed) read key ${key} as absent; every key holds a value from the start`);
        continue;
      }
      const s = status(writerOf(value));
      if (s !== 'committed' && s !== 'initial') problems.push(`${attempt.id} (committed) read ${value}, written by an attempt that is ${s}`);
      else if (!found.has(value)) problems.push(`${attempt.id} (committed) read ${value}, which is no version of ${key}`);
    }
  }
  if (problems.length > 0) throw new HistoryViolation(problems.slice(0, 20).join('\n'));
  const stale = staleReads(history, versions);
  if (stale.length > 0) throw new HistoryViolation(`stale reads (a read missed a write acknowledged before it started):\n${stale.slice(0, 10).join('\n')}`);

  // The dependency graph.
  const edges = new Map<string, Edge[]>();
  let edgeCount = 0;
  const addEdge = (from: string, to: string, label: string): void => {
    if (from === to) return;
    let list = edges.get(from);
    if (list === undefined) edges.set(from, (list = []));
    list.push({ to, label });
    edgeCount++;
  };
  const readersOf = new Map<string, string[]>();
  for (const attempt of history.attempts.values()) {
    if (attempt.status !== 'committed') continue;
    for (const value of attempt.reads.values()) {
      if (value === undefined) continue;
      let list = readersOf.get(value);
      if (list === undefined) readersOf.set(value, (list = []));
      list.push(attempt.id);
    }
  }
  for (const [key, list] of versions) {
    for (let i = 0; i < list.length; i++) {
      const v = list[i] as Version;
      if (v.value === undefined) continue;
      const writer = writerOf(v.value);
      const next = list[i + 1]?.value;
      const nextWriter = next === undefined ? undefined : writerOf(next);
      if (nextWriter !== undefined) addEdge(writer, nextWriter, `ww ${key}`);
      for (const reader of readersOf.get(v.value) ?? []) {
        addEdge(writer, reader, `wr ${key}`);
        if (nextWriter !== undefined) addEdge(reader, nextWriter, `rw ${key}`);
      }
    }
  }
  const cycle = findCycle(edges);
  if (cycle !== undefined) {
    const lines = cycle.map(({ from, edge }) => {
      const a = history.attempts.get(from);
      const ts = a === undefined ? '' : ` (committed at ${fmt(a.commitTs)}${a.note === '' ? '' : `, ${a.note.trim()}`})`;
      return `  ${from}${ts} --${edge.label}--> ${edge.to}`;
    });
    const involved = new Set(cycle.map((c) => c.from));
    const details = [...involved].map((id) => describe(history.attempts.get(id)));
    throw new HistoryViolation(`serializability: a cycle of ${cycle.length} committed transactions:\n${lines.join('\n')}\n${details.join('\n')}`);
  }
  let committed = 0;
  let failed = 0;
  let abandoned = 0;
  for (const a of history.attempts.values()) {
    if (a.status === 'committed') committed++;
    else if (a.status === 'abandoned') abandoned++;
    else failed++;
  }
  return { committed, failed, abandoned, ambiguousCommitted, ambiguousAborted, edges: edgeCount };
}

/** Reads that missed a write whose commit was acknowledged before the reader's operation began. */
function staleReads(history: History, versions: ReadonlyMap<string, readonly Version[]>): string[] {
  const position = new Map<string, number>();
  for (const list of versions.values()) list.forEach((v, i) => v.value !== undefined && position.set(v.value, i));
  const acked = [...history.attempts.values()].filter((a) => a.status === 'committed' && a.ackMs !== undefined);
  const out: string[] = [];
  for (const reader of history.attempts.values()) {
    if (reader.status !== 'committed') continue;
    for (const [key, value] of reader.reads) {
      if (value === undefined) continue;
      const read = position.get(value) ?? -1;
      for (const writer of acked) {
        if ((writer.ackMs as number) >= reader.opStartMs) continue;
        const written = writer.writes.get(key);
        const at = written === undefined ? undefined : position.get(written);
        if (at !== undefined && at > read) {
          out.push(
            `  ${reader.id} (started at ${reader.opStartMs.toFixed(3)}, committed at ${fmt(reader.commitTs)}) read ${key}=${value}, ` +
              `but ${writer.id} (acknowledged at ${(writer.ackMs as number).toFixed(3)}, committed at ${fmt(writer.commitTs)}) wrote ${written}`,
          );
        }
      }
    }
  }
  return out;
}

/** A cycle in the graph (as its edges), or undefined; iterative DFS with colours, nodes in sorted order. */
function findCycle(edges: ReadonlyMap<string, readonly Edge[]>): { from: string; edge: Edge }[] | undefined {
  const colour = new Map<string, 'grey' | 'black'>();
  for (const start of [...edges.keys()].sort()) {
    if (colour.has(start)) continue;
    const stack: { node: string; next: number; via: Edge | undefined }[] = [{ node: start, next: 0, via: undefined }];
    colour.set(start, 'grey');
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as { node: string; next: number; via: Edge | undefined };
      const out = edges.get(top.node) ?? [];
      if (top.next >= out.length) {
        colour.set(top.node, 'black');
        stack.pop();
        continue;
      }
      const edge = out[top.next++] as Edge;
      const c = colour.get(edge.to);
      if (c === 'grey') {
        const from = stack.findIndex((s) => s.node === edge.to);
        const path = stack.slice(from);
        return path.map((s, i) => ({ from: s.node, edge: i + 1 < path.length ? (path[i + 1]?.via as Edge) : edge }));
      }
      if (c === undefined) {
        colour.set(edge.to, 'grey');
        stack.push({ node: edge.to, next: 0, via: edge });
      }
    }
  }
  return undefined;
}

function fmt(ts: Timestamp | undefined): string {
  return ts === undefined ? '?' : formatTimestamp(ts);
}

function noteOf(history: History, id: string): string {
  const note = history.attempts.get(id)?.note.trim() ?? '';
  return note === '' ? '' : `(${note})`;
}

function describe(a: Attempt | undefined): string {
  if (a === undefined) return '';
  const reads = [...a.reads].map(([k, v]) => `${k}=${v ?? '∅'}`).join(' ');
  const writes = [...a.writes.keys()].join(' ');
  return `  ${a.id} [${a.kind}] reads {${reads}} writes {${writes}} commit ${fmt(a.commitTs)}`;
}

/** Orders versions oldest first (what the engine lists newest first). */
export function sortVersions(list: Version[]): Version[] {
  return list.sort((a, b) => compareTimestamps(a.ts, b.ts));
}
