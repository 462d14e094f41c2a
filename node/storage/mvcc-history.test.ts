/**
 * Data-driven MVCC histories (STYLE.md §9): each file in testdata/mvcc holds cases of
 * commands, a `----` line, and the expected output. Every case runs on both engines and
 * must print the same. `REWRITE=1 npx jest mvcc-history` rewrites the expectations.
 *
 * Commands (one per line; key=value arguments; timestamps are wall times, `10.2` is
 * wall 10 logical 2):
 *   txn name=T ts=T                       declare a transaction
 *   put k=K ts=T [v=V] [txn=N]            put V, or delete without v=
 *   get k=K ts=T [txn=N] [unc=T]
 *   scan k=K end=E ts=T [txn=N] [max=N] [bytes=N] [reverse] [unc=T]
 *   resolve k=K txn=N status=committed|aborted|pending [ts=T] [end=E] [max=N]
 *   gc k=K end=E ts=T [max=N]
 *   stats k=K end=E
 *   dump                                  every raw entry of the engine, decoded
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CairnError } from '../../common/errors';
import type { Timestamp } from '../../common/hlc';
import type { Engine } from './engine';
import { forEachInSpan } from './engine';
import { IndexedBatch } from './indexed-batch';
import { MemoryEngine } from './memory-engine';
import type { IntentResolution, MvccKeyValue } from './mvcc';
import {
  computeStats,
  mvccGarbageCollect,
  mvccGet,
  mvccPut,
  mvccResolveIntent,
  mvccResolveIntentRange,
  mvccScan,
} from './mvcc';
import { decodeLockTableKey, decodeMvccUserKey, LOCK_TABLE_PREFIX, MVCC_PREFIX, versionPrefixLength } from './mvcc-key';
import type { TxnMeta } from './mvcc-value';
import { decodeIntent, decodeVersionValue, entryTimestamp, entryVersionValue } from './mvcc-value';
import { RocksEngine } from './rocks-engine';
import { useTempDirs } from './test-support/temp-stores';
import type { DataDrivenCase } from '../../test/support/data-driven';
import { parseDataDrivenFile } from '../../test/support/data-driven';

const TESTDATA = path.join(__dirname, 'testdata', 'mvcc');

function parseFile(text: string): DataDrivenCase[] {
  return parseDataDrivenFile(text).cases;
}

function formatFile(header: readonly string[], cases: readonly { commands: string[]; output: string[] }[]): string {
  return [...header, ...cases.map((c) => [...c.commands, '----', ...c.output].join('\n'))].join('\n\n') + '\n';
}

/** The comment lines a file starts with, kept when expectations are rewritten. */
function headerOf(text: string): string[] {
  const header: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('#')) {
      break;
    }
    header.push(line);
  }
  return header.length === 0 ? [] : [header.join('\n')];
}

function parseTs(text: string): Timestamp {
  const [wall, logical] = text.split('.');
  return { wallTime: BigInt(wall as string), logical: Number(logical ?? 0) };
}

function ts(t: Timestamp): string {
  return t.logical === 0 ? `${t.wallTime}` : `${t.wallTime}.${t.logical}`;
}

/** Bytes as text, with anything but printable ASCII escaped as \xNN. */
function show(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) {
    out += byte >= 0x20 && byte < 0x7f && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

function row(kv: MvccKeyValue): string {
  return `${show(kv.key)} -> ${show(kv.value)} @${ts(kv.timestamp)}`;
}

function describeError(err: unknown): string {
  if (err instanceof CairnError) {
    const message = err.message.replace(/\d+\.\d{9},\d+/g, (m) => {
      const [secNanos, logical] = m.split(',');
      const [sec, nanos] = (secNanos as string).split('.');
      return ts({ wallTime: BigInt(sec as string) * 1_000_000_000n + BigInt(nanos as string), logical: Number(logical) });
    });
    return `error: ${err.code}: ${message}`;
  }
  throw err;
}

/** Runs one case's commands against a fresh engine, returning the output lines. */
async function runCase(engine: Engine, commands: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const txns = new Map<string, TxnMeta>();
  for (const line of commands) {
    const [verb, ...rest] = line.trim().split(/\s+/);
    const args = new Map<string, string>();
    const flags = new Set<string>();
    for (const part of rest) {
      const eq = part.indexOf('=');
      if (eq < 0) {
        flags.add(part);
      } else {
        args.set(part.slice(0, eq), part.slice(eq + 1));
      }
    }
    const arg = (name: string): string => {
      const value = args.get(name);
      if (value === undefined) {
        throw new Error(`${verb}: ${name}= is required in '${line}'`);
      }
      return value;
    };
    const key = (name = 'k'): Buffer => Buffer.from(arg(name));
    const txnArg = (): TxnMeta | undefined => {
      const name = args.get('txn');
      if (name === undefined) {
        return undefined;
      }
      const txn = txns.get(name);
      if (txn === undefined) {
        throw new Error(`unknown txn ${name}`);
      }
      return txn;
    };
    const readOptions = (): { txn?: TxnMeta; uncertaintyLimit?: Timestamp } => {
      const txn = txnArg();
      const unc = args.get('unc');
      return { ...(txn === undefined ? {} : { txn }), ...(unc === undefined ? {} : { uncertaintyLimit: parseTs(unc) }) };
    };
    const batch = new IndexedBatch(engine, engine.newBatch());
    try {
      switch (verb) {
        case 'txn': {
          const at = parseTs(arg('ts'));
          const name = arg('name');
          const id = Buffer.alloc(16);
          id.write(name);
          txns.set(name, { id, anchorKey: Buffer.from(name), epoch: 0, writeTimestamp: at, minTimestamp: at, priority: 1, sequence: 0 });
          break;
        }
        case 'put': {
          const txn = txnArg();
          const value = args.get('v');
          mvccPut(batch, batch, key(), parseTs(arg('ts')), value === undefined ? undefined : Buffer.from(value), txn === undefined ? {} : { txn });
          break;
        }
        case 'get': {
          const found = mvccGet(engine, key(), parseTs(arg('ts')), readOptions());
          out.push(`get: ${found === undefined ? `${arg('k')} -> <none>` : row(found)}`);
          break;
        }
        case 'scan': {
          const maxKeys = args.get('max');
          const targetBytes = args.get('bytes');
          const result = mvccScan(engine, key(), key('end'), parseTs(arg('ts')), {
            ...readOptions(),
            reverse: flags.has('reverse'),
            ...(maxKeys === undefined ? {} : { maxKeys: Number(maxKeys) }),
            ...(targetBytes === undefined ? {} : { targetBytes: Number(targetBytes) }),
          });
          for (const kv of result.rows) {
            out.push(`scan: ${row(kv)}`);
          }
          if (result.rows.length === 0) {
            out.push('scan: <no rows>');
          }
          if (result.resumeSpan !== undefined) {
            out.push(`scan: resume [${show(result.resumeSpan.start)}, ${show(result.resumeSpan.end)})`);
          }
          break;
        }
        case 'resolve': {
          const txn = txnArg() as TxnMeta;
          const status = arg('status');
          const at = args.has('ts') ? parseTs(arg('ts')) : txn.writeTimestamp;
          const resolution: IntentResolution =
            status === 'committed'
              ? { status, txnId: txn.id, epoch: txn.epoch, commitTimestamp: at }
              : status === 'aborted'
                ? { status, txnId: txn.id }
                : { status: 'pending', txnId: txn.id, epoch: txn.epoch, pushedTo: at };
          if (args.has('end')) {
            const max = args.get('max');
            const result = mvccResolveIntentRange(batch, batch, key(), key('end'), resolution, max === undefined ? {} : { maxKeys: Number(max) });
            out.push(`resolve: ${result.resolved} resolved${result.resumeSpan === undefined ? '' : `, resume at ${show(result.resumeSpan.start)}`}`);
          } else {
            out.push(`resolve: ${mvccResolveIntent(batch, batch, key(), resolution) ? 'resolved' : 'nothing to resolve'}`);
          }
          break;
        }
        case 'gc': {
          const max = args.get('max');
          const result = mvccGarbageCollect(batch, batch, key(), key('end'), parseTs(arg('ts')), max === undefined ? {} : { maxVersions: Number(max) });
          out.push(`gc: removed ${result.versionsRemoved}${result.resumeKey === undefined ? '' : `, resume at ${show(result.resumeKey)}`}`);
          break;
        }
        case 'stats': {
          const s = computeStats(engine, key(), key('end'));
          out.push(`stats: keys=${s.keyCount} live=${s.liveCount} versions=${s.versionCount} intents=${s.intentCount}`);
          break;
        }
        case 'dump':
          forEachInSpan(engine, Buffer.from([LOCK_TABLE_PREFIX]), Buffer.from([MVCC_PREFIX + 1]), (raw, value) => {
            if (raw[0] === LOCK_TABLE_PREFIX) {
              const intent = decodeIntent(value);
              out.push(
                `dump: intent ${decodeLockTableKey(raw).toString()} -> ${intent.value?.toString() ?? '<delete>'} @${ts(intent.txn.writeTimestamp)} txn=${intent.txn.anchorKey.toString()}`,
              );
              return;
            }
            const prefixLength = versionPrefixLength(raw);
            const newest = raw.length === prefixLength;
            const at = entryTimestamp(raw, value, prefixLength);
            const v = decodeVersionValue(entryVersionValue(raw, value, prefixLength));
            out.push(`dump: ${newest ? 'newest' : 'older '} ${decodeMvccUserKey(raw, prefixLength).toString()} @${ts(at)} -> ${v?.toString() ?? '<tombstone>'}`);
          });
          break;
        default:
          throw new Error(`unknown command '${verb}'`);
      }
      await engine.write(batch.batch);
    } catch (err) {
      out.push(describeError(err));
    }
  }
  return out;
}

const tempDir = useTempDirs('cairn-mvcc-history');

const files = fs.readdirSync(TESTDATA).filter((f) => f.endsWith('.txt'));

describe.each(files)('MVCC history %s', (file) => {
  it('prints what the file expects, on both engines', async () => {
    const filePath = path.join(TESTDATA, file);
    const text = fs.readFileSync(filePath, 'utf8');
    const cases = parseFile(text);
    const results: { commands: string[]; output: string[] }[] = [];
    for (const c of cases) {
      const memory = await runCase(new MemoryEngine(), c.commands);
      const rocks = await RocksEngine.open(tempDir());
      let onRocks: string[];
      try {
        onRocks = await runCase(rocks, c.commands);
      } finally {
        await rocks.close();
      }
      expect(onRocks).toEqual(memory);
      results.push({ commands: c.commands, output: memory });
    }
    if (process.env.REWRITE === '1') {
      fs.writeFileSync(filePath, formatFile(headerOf(text), results));
      return;
    }
    for (const [i, c] of cases.entries()) {
      expect({ commands: c.commands, output: results[i]?.output }).toEqual({ commands: c.commands, output: c.expected });
    }
  });
});
