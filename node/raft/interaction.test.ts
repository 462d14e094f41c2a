import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ConfChange } from './conf-change';
import { describeMessage } from './messages';
import { bytes, TestCluster, text } from './test-cluster';

/**
 * Data-driven interaction tests (STYLE.md §9): each testdata/*.txt file is a series of
 * blocks, commands then `----` then the expected output, separated by blank lines.
 * Regenerate the expected output with `REWRITE=1 npx jest node/raft/interaction`, then
 * read the diff: it is the test.
 *
 * Commands:
 *   cluster voters=1,2,3 [learners=4] [prevote=false] [checkquorum=false] [seed=N]
 *   campaign N | tick N [times] | tick-all [times] | propose N DATA | stabilize
 *   isolate N | heal | restart N | add N | transfer N TO | read N CTX
 *   conf N addVoter|addLearner|removeNode ID | status | log N
 */
const DIR = path.join(__dirname, 'testdata');
const REWRITE = process.env['REWRITE'] === '1';

interface Block {
  readonly commands: string[];
  readonly expected: string[];
}

function parse(source: string): Block[] {
  const blocks: Block[] = [];
  for (const chunk of source.split(/\n\s*\n/)) {
    const lines = chunk.split('\n').filter((l) => l.trim() !== '');
    if (lines.length === 0) continue;
    const sep = lines.indexOf('----');
    if (sep < 0) throw new Error(`block without ----: ${lines.join(' / ')}`);
    blocks.push({ commands: lines.slice(0, sep), expected: lines.slice(sep + 1) });
  }
  return blocks;
}

class Interpreter {
  private c: TestCluster | undefined;

  run(line: string): string[] {
    const [cmd, ...args] = line.trim().split(/\s+/);
    if (cmd === undefined || cmd.startsWith('#')) return [];
    const num = (i: number): number => {
      const v = Number(args[i]);
      if (!Number.isInteger(v)) throw new Error(`${line}: argument ${i} is not a number`);
      return v;
    };
    if (cmd === 'cluster') {
      const kv = new Map(args.map((a) => a.split('=') as [string, string]));
      const list = (k: string): number[] => (kv.get(k) ?? '').split(',').filter((x) => x !== '').map(Number);
      this.c = new TestCluster(
        list('voters'),
        { preVote: kv.get('prevote') !== 'false', checkQuorum: kv.get('checkquorum') !== 'false' },
        Number(kv.get('seed') ?? 1),
        list('learners'),
      );
      return [];
    }
    const c = this.c;
    if (c === undefined) throw new Error('no cluster yet');
    const before = c.delivered.length;
    const deliveredSince = (): string[] => c.delivered.slice(before).map((m) => describeMessage(m));
    const attempt = (f: () => unknown): string[] => {
      try {
        const r = f();
        return r === undefined ? [] : [JSON.stringify(r)];
      } catch (e) {
        return [`error: ${(e as Error).message}`];
      }
    };
    switch (cmd) {
      case 'campaign':
        c.raft(num(0)).campaign();
        return [];
      case 'tick':
        for (let i = 0; i < (args[1] === undefined ? 1 : num(1)); i++) c.raft(num(0)).tick();
        return [];
      case 'tick-all':
        c.tick(args[0] === undefined ? 1 : num(0));
        return deliveredSince();
      case 'propose':
        return attempt(() => c.raft(num(0)).propose(bytes(args[1] ?? '')));
      case 'conf':
        return attempt(() => c.raft(num(0)).proposeConfChange({ type: args[1], node: num(2) } as ConfChange));
      case 'transfer':
        c.raft(num(0)).transferLeadership(num(1));
        return [];
      case 'read':
        return attempt(() => c.raft(num(0)).readIndex(args[1] ?? ''));
      case 'stabilize':
        c.stabilize();
        return deliveredSince();
      case 'isolate':
        c.isolate(num(0));
        return [];
      case 'heal':
        c.heal();
        return [];
      case 'restart':
        c.restart(num(0));
        return [];
      case 'add':
        c.add(num(0));
        return [];
      case 'status':
        return [...c.members.values()].map((m) => {
          const st = m.raft.status();
          const cs = `voters=${st.confState.voters.join(',')}${st.confState.learners.length ? ` learners=${st.confState.learners.join(',')}` : ''}`;
          const reads = m.readStates.map((r) => `${r.requestContext}@${r.index}`).join(',');
          return `${m.id}: ${st.state} term=${st.term} lead=${st.lead} commit=${st.commit} applied=${st.applied} log=[${st.firstIndex}..${st.lastIndex}] ${cs}${reads ? ` reads=${reads}` : ''}`;
        });
      case 'log': {
        const m = c.member(num(0));
        const st = m.raft.status();
        const out: string[] = [];
        for (const e of m.storage.entries(m.storage.firstIndex(), m.storage.lastIndex() + 1)) {
          out.push(`${e.index}/${e.term} ${e.type === 'normal' ? JSON.stringify(text(e.data)) : 'confChange'}`);
        }
        return out.length === 0 ? [`(empty; snapshot ${st.firstIndex - 1})`] : out;
      }
      default:
        throw new Error(`unknown command ${cmd}`);
    }
  }
}

const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.txt')).sort();

describe.each(files)('interaction %s', (file) => {
  test('matches its expected output', () => {
    const full = path.join(DIR, file);
    const blocks = parse(fs.readFileSync(full, 'utf8'));
    const interp = new Interpreter();
    const rewritten: string[] = [];
    for (const block of blocks) {
      const actual = block.commands.flatMap((l) => interp.run(l));
      rewritten.push([...block.commands, '----', ...(actual.length ? actual : ['ok'])].join('\n'));
      if (!REWRITE) expect([...block.commands, ...(actual.length ? actual : ['ok'])]).toEqual([...block.commands, ...block.expected]);
    }
    if (REWRITE) fs.writeFileSync(full, `${rewritten.join('\n\n')}\n`);
  });
});
