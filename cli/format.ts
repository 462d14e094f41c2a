/**
 * What the CLI prints, as pure functions of what the cluster answered: aligned tables
 * for people, JSON for programs. Keys and values print as text where they are text and
 * with `\xNN` for other bytes, which `parseBytesArg` reads back.
 */
import { KEY_MAX, prettyKey } from '../common/keys';
import type { LocalityTier, RangeDescriptor } from '../proto/gen/cairn/kv/v1/kv';
import { ReplicaType } from '../proto/gen/cairn/kv/v1/kv';
import type { NodeStatusResponse, RangesResponse } from '../proto/gen/cairn/node/v1/admin';
import type { OutputFormat } from './args';

/** Bytes as text when they are printable UTF-8 without backslashes, else as prettyKey. */
export function displayBytes(bytes: Uint8Array): string {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = buffer.toString('utf8');
  // eslint-disable-next-line no-control-regex
  const printable = !/[\x00-\x1f\x7f\\]/.test(text) && Buffer.from(text, 'utf8').equals(buffer);
  return printable ? text : prettyKey(bytes);
}

/** A range boundary for people: /Min and /Max for the keyspace's ends. */
export function displayBoundary(key: Uint8Array): string {
  if (key.length === 0) {
    return '/Min';
  }
  return Buffer.compare(key, KEY_MAX) === 0 ? '/Max' : prettyKey(key);
}

export function localityString(tiers: readonly LocalityTier[]): string {
  return tiers.map((t) => `${t.key}=${t.value}`).join(',');
}

export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
}

export interface Column {
  readonly header: string;
  readonly align?: 'left' | 'right';
}

/** Columns padded to their widest cell, two spaces apart, no trailing blanks. */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    columns
      .map((c, i) => {
        const cell = cells[i] ?? '';
        const width = widths[i] ?? 0;
        return c.align === 'right' ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...rows.map(line)].join('\n');
}

export interface NodeStatusRow {
  readonly nodeId: number;
  readonly address: string;
  readonly httpAddress: string;
  readonly locality: string;
  readonly live: boolean;
  readonly draining: boolean;
  readonly epoch: number;
  readonly ranges: number;
  readonly leases: number;
  /** ISO 8601; null when the node did not answer. */
  readonly startedAt: string | null;
}

export function nodeStatusRows(response: NodeStatusResponse): NodeStatusRow[] {
  return response.nodes
    .map((n) => ({
      nodeId: Number(n.descriptor?.nodeId ?? 0n),
      address: n.descriptor?.address ?? '',
      httpAddress: n.descriptor?.httpAddress ?? '',
      locality: localityString(n.descriptor?.locality ?? []),
      live: n.live,
      draining: n.liveness?.draining ?? false,
      epoch: Number(n.liveness?.epoch ?? 0n),
      ranges: Number(n.ranges),
      leases: Number(n.leases),
      startedAt: n.startedAtUnixMs === 0n ? null : new Date(Number(n.startedAtUnixMs)).toISOString(),
    }))
    .sort((a, b) => a.nodeId - b.nodeId);
}

export function formatNodeStatus(response: NodeStatusResponse, format: OutputFormat): string {
  const rows = nodeStatusRows(response);
  if (format === 'json') {
    return JSON.stringify(rows, null, 2);
  }
  return renderTable(
    [
      { header: 'id', align: 'right' },
      { header: 'address' },
      { header: 'http' },
      { header: 'locality' },
      { header: 'live' },
      { header: 'ranges', align: 'right' },
      { header: 'leases', align: 'right' },
      { header: 'started' },
    ],
    rows.map((r) => [
      String(r.nodeId),
      r.address,
      r.httpAddress,
      r.locality === '' ? '-' : r.locality,
      r.draining ? `${r.live} (draining)` : String(r.live),
      String(r.ranges),
      String(r.leases),
      r.startedAt ?? '-',
    ]),
  );
}

export interface ReplicaRow {
  readonly nodeId: number;
  readonly type: 'voter' | 'learner' | 'unspecified';
}

export interface RangeRow {
  readonly rangeId: number;
  /** prettyKey of the bounds ('' is the start of the keyspace, \xff\xff its end). */
  readonly startKey: string;
  readonly endKey: string;
  readonly generation: number;
  readonly replicas: readonly ReplicaRow[];
  /** null when no node reports a valid lease. */
  readonly leaseholderNodeId: number | null;
  readonly liveBytes: number;
  readonly liveCount: number;
}

function replicaType(type: ReplicaType): ReplicaRow['type'] {
  switch (type) {
    case ReplicaType.REPLICA_TYPE_VOTER:
      return 'voter';
    case ReplicaType.REPLICA_TYPE_LEARNER:
      return 'learner';
    case ReplicaType.REPLICA_TYPE_UNSPECIFIED:
    case ReplicaType.UNRECOGNIZED:
      return 'unspecified';
  }
}

const EMPTY_DESCRIPTOR: RangeDescriptor = {
  rangeId: 0n,
  startKey: Buffer.alloc(0),
  endKey: Buffer.alloc(0),
  replicas: [],
  generation: 0n,
};

export function rangeRows(response: RangesResponse): RangeRow[] {
  return response.ranges
    .map((r) => {
      const d = r.descriptor ?? EMPTY_DESCRIPTOR;
      return {
        rangeId: Number(d.rangeId),
        startKey: prettyKey(d.startKey),
        endKey: prettyKey(d.endKey),
        generation: Number(d.generation),
        replicas: d.replicas.map((replica) => ({ nodeId: Number(replica.nodeId), type: replicaType(replica.type) })),
        leaseholderNodeId: r.leaseholderNodeId === 0n ? null : Number(r.leaseholderNodeId),
        liveBytes: Number(r.liveBytes),
        liveCount: Number(r.liveCount),
        sortKey: d.startKey,
      };
    })
    .sort((a, b) => Buffer.compare(a.sortKey, b.sortKey) || a.rangeId - b.rangeId)
    .map(({ sortKey: _sortKey, ...row }) => row);
}

export function formatRanges(response: RangesResponse, format: OutputFormat): string {
  if (format === 'json') {
    return JSON.stringify(rangeRows(response), null, 2);
  }
  const byId = new Map(response.ranges.map((r) => [Number(r.descriptor?.rangeId ?? 0n), r.descriptor]));
  return renderTable(
    [
      { header: 'range', align: 'right' },
      { header: 'start' },
      { header: 'end' },
      { header: 'replicas' },
      { header: 'leaseholder', align: 'right' },
      { header: 'keys', align: 'right' },
      { header: 'size', align: 'right' },
    ],
    rangeRows(response).map((r) => {
      const d = byId.get(r.rangeId);
      return [
        String(r.rangeId),
        displayBoundary(d?.startKey ?? Buffer.alloc(0)),
        displayBoundary(d?.endKey ?? Buffer.alloc(0)),
        r.replicas.map((replica) => (replica.type === 'voter' ? `${replica.nodeId}` : `${replica.nodeId}(${replica.type})`)).join(','),
        r.leaseholderNodeId === null ? 'none' : String(r.leaseholderNodeId),
        String(r.liveCount),
        formatSize(r.liveBytes),
      ];
    }),
  );
}

/** What a command prints on stdout, and its exit status. */
export interface Output {
  readonly text: string;
  readonly exitCode: number;
}

export function formatGet(key: Uint8Array, value: Uint8Array | undefined, format: OutputFormat): Output {
  const exitCode = value === undefined ? 1 : 0;
  if (format === 'json') {
    return { text: JSON.stringify({ key: displayBytes(key), value: value === undefined ? null : displayBytes(value) }), exitCode };
  }
  // A missing key prints nothing: the exit status and the stderr line say it.
  return { text: value === undefined ? '' : displayBytes(value), exitCode };
}

export function formatPut(key: Uint8Array, format: OutputFormat): Output {
  return { text: format === 'json' ? JSON.stringify({ key: displayBytes(key), ok: true }) : 'OK', exitCode: 0 };
}

export function formatDelete(key: Uint8Array, deleted: boolean, format: OutputFormat): Output {
  if (format === 'json') {
    return { text: JSON.stringify({ key: displayBytes(key), deleted }), exitCode: 0 };
  }
  return { text: deleted ? 'deleted' : 'not found', exitCode: 0 };
}

export interface ScanRow {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

export function formatScan(rows: readonly ScanRow[], more: boolean, format: OutputFormat): Output {
  if (format === 'json') {
    const json = rows.map((r) => ({ key: displayBytes(r.key), value: displayBytes(r.value) }));
    return { text: JSON.stringify({ rows: json, more }), exitCode: 0 };
  }
  const count = `(${rows.length} ${rows.length === 1 ? 'row' : 'rows'}${more ? '; more keys follow: raise --limit' : ''})`;
  if (rows.length === 0) {
    return { text: count, exitCode: 0 };
  }
  const table = renderTable(
    [{ header: 'key' }, { header: 'value' }],
    rows.map((r) => [displayBytes(r.key), displayBytes(r.value)]),
  );
  return { text: `${table}\n${count}`, exitCode: 0 };
}
