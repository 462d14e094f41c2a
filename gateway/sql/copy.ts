import type { CopyStmt, InsertStmt, Node } from '@pgsql/types';
import { SqlError, SqlStates } from '../../common/errors';
import type { Txn } from '../../kv';
import type { ResultSink } from '../pgwire/sql-session';
import type { ExecContext } from './exec/context';
import { isCountRow } from './exec/dml';
import { execute } from './exec/executor';
import type { QueryAnalyzer } from './plan/analyze';
import { stringOf } from './plan/analyze-expr';
import type { Expr } from './plan/expr';
import type { InsertNode } from './plan/plan';
import type { Datum, SqlType } from './types/datum';
import { parseText } from './types';

/**
 * COPY table [(columns)] FROM STDIN in PostgreSQL's text and CSV formats. The data
 * streams in as CopyData chunks; rows are parsed as they complete and inserted in
 * batches through the same path as INSERT (defaults, constraints, indexes).
 */

const BATCH_ROWS = 500;
/** A single line longer than this is refused rather than buffered without end. */
const MAX_LINE_BYTES = 64 * 1024 * 1024;

interface CopyOptions {
  readonly csv: boolean;
  readonly delimiter: string;
  readonly nullString: string;
  readonly header: boolean;
  readonly quote: string;
  readonly escape: string;
}

export async function copyFrom(
  stmt: CopyStmt,
  sink: ResultSink,
  envFor: (txn: Txn) => { analyzer: QueryAnalyzer; ctx: ExecContext },
  txn: Txn,
): Promise<string> {
  if (stmt.is_from !== true || stmt.filename !== undefined || stmt.is_program === true || stmt.relation === undefined) {
    throw new SqlError(SqlStates.featureNotSupported, 'only COPY table FROM STDIN is supported');
  }
  if (stmt.whereClause !== undefined) {
    throw new SqlError(SqlStates.featureNotSupported, 'COPY FROM ... WHERE is not supported');
  }
  const options = copyOptions(stmt.options ?? []);
  const { analyzer, ctx } = envFor(txn);
  const table = await analyzer.resolveTable(stmt.relation);
  const columnNames = (stmt.attlist ?? []).map(stringOf);
  const columns = columnNames.length > 0 ? columnNames : table.columns.filter((c) => c.hidden !== true).map((c) => c.name);
  // INSERT INTO t (cols) VALUES ($1, ..., $n): planned once, run per batch with constant rows.
  const insertAst: InsertStmt = {
    relation: stmt.relation,
    cols: columns.map((name) => ({ ResTarget: { name } })),
    selectStmt: { SelectStmt: { valuesLists: [{ List: { items: columns.map((_, i) => ({ ParamRef: { number: i + 1 } })) } }], op: 'SETOP_NONE', limitOption: 'LIMIT_OPTION_DEFAULT' } },
  };
  const planned = await analyzer.insert(insertAst);
  const insert = planned.plan as InsertNode;
  const types: SqlType[] = insert.targetColumnIds.map((id) => (table.columns.find((c) => c.id === id) as { type: SqlType }).type);
  let total = 0;
  let batch: Expr[][] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const node: InsertNode = { ...insert, input: { k: 'values', rows: batch, subqueries: [], columns: insert.input.columns } };
    batch = [];
    for await (const row of execute(node, ctx)) {
      if (isCountRow(row)) total += Number(row[0] as bigint);
    }
  };
  let lineNumber = 0;
  const addLine = async (line: string): Promise<void> => {
    lineNumber++;
    if (options.header && lineNumber === 1) return;
    const fields = options.csv ? splitCsv(line, options) : splitText(line, options);
    if (fields.length !== types.length) {
      throw new SqlError(SqlStates.badCopyFileFormat, fields.length < types.length ? `missing data for column "${columns[fields.length]}"` : 'extra data after last expected column', {
        detail: `COPY ${table.name}, line ${lineNumber}`,
      });
    }
    const row: Expr[] = fields.map((text, i) => {
      const type = types[i] as SqlType;
      let value: Datum = null;
      if (text !== null) {
        try {
          value = parseText(type, text);
        } catch (err) {
          if (err instanceof SqlError) {
            throw new SqlError(err.sqlState, err.message, { detail: `COPY ${table.name}, line ${lineNumber}, column ${columns[i]}: "${text}"` });
          }
          throw err;
        }
      }
      return { k: 'const', type, value };
    });
    batch.push(row);
    if (batch.length >= BATCH_ROWS) await flush();
  };
  let pending = '';
  let ended = false;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for await (const chunk of sink.copyIn({ format: 0, columnFormats: types.map(() => 0) })) {
    if (ended) continue;
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      throw new SqlError(SqlStates.characterNotInRepertoire, 'invalid byte sequence for encoding "UTF8"');
    }
    pending += text;
    let start = 0;
    for (;;) {
      const nl = options.csv ? csvLineEnd(pending, start, options) : pending.indexOf('\n', start);
      if (nl < 0) break;
      let line = pending.slice(start, nl);
      start = nl + 1;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '\\.') {
        ended = true;
        break;
      }
      await addLine(line);
      ctx.checkCancelled();
    }
    pending = pending.slice(start);
    if (pending.length > MAX_LINE_BYTES) {
      throw new SqlError(SqlStates.programLimitExceeded, `COPY line ${lineNumber + 1} is longer than ${MAX_LINE_BYTES} bytes`);
    }
  }
  if (!ended && pending.length > 0) {
    await addLine(pending.endsWith('\r') ? pending.slice(0, -1) : pending);
  }
  await flush();
  return `COPY ${total}`;
}

function copyOptions(options: Node[]): CopyOptions {
  let csv = false;
  let delimiter: string | undefined;
  let nullString: string | undefined;
  let header = false;
  let quote = '"';
  let escape: string | undefined;
  for (const node of options) {
    const def = (node as { DefElem: { defname?: string; arg?: Node } }).DefElem;
    const arg = def.arg;
    const value = arg === undefined ? undefined : 'String' in arg ? (arg.String.sval ?? '') : 'Boolean' in arg ? String(arg.Boolean.boolval === true) : 'Integer' in arg ? String(arg.Integer.ival ?? 0) : undefined;
    switch (def.defname) {
      case 'format':
        if (value === 'csv') csv = true;
        else if (value !== 'text') throw new SqlError(SqlStates.featureNotSupported, `COPY format "${value}" is not supported`);
        break;
      case 'delimiter':
        delimiter = value;
        break;
      case 'null':
        nullString = value;
        break;
      case 'header':
        header = value === undefined || value === 'true' || value === 'on' || value === '1';
        break;
      case 'quote':
        quote = value ?? '"';
        break;
      case 'escape':
        escape = value;
        break;
      case 'freeze':
      case 'encoding':
        break;
      default:
        throw new SqlError(SqlStates.syntaxError, `option "${def.defname}" not recognized`);
    }
  }
  const d = delimiter ?? (csv ? ',' : '\t');
  if (d.length !== 1) {
    throw new SqlError(SqlStates.featureNotSupported, 'COPY delimiter must be a single one-byte character');
  }
  return { csv, delimiter: d, nullString: nullString ?? (csv ? '' : '\\N'), header, quote, escape: escape ?? quote };
}

/** Text format: delimiter-separated, `\N` for NULL, backslash escapes. */
function splitText(line: string, options: CopyOptions): (string | null)[] {
  const fields: (string | null)[] = [];
  let current = '';
  let raw = '';
  for (let i = 0; i < line.length; i++) {
    const ch = line.charAt(i);
    if (ch === options.delimiter) {
      fields.push(raw === options.nullString ? null : current);
      current = '';
      raw = '';
      continue;
    }
    if (ch === '\\' && i + 1 < line.length) {
      const next = line.charAt(++i);
      raw += ch + next;
      switch (next) {
        case 'b':
          current += '\b';
          break;
        case 'f':
          current += '\f';
          break;
        case 'n':
          current += '\n';
          break;
        case 'r':
          current += '\r';
          break;
        case 't':
          current += '\t';
          break;
        case 'v':
          current += '\v';
          break;
        case 'x': {
          const hex = /^[0-9a-fA-F]{1,2}/.exec(line.slice(i + 1));
          if (hex === null) {
            current += 'x';
          } else {
            current += String.fromCharCode(parseInt(hex[0], 16));
            raw += hex[0];
            i += hex[0].length;
          }
          break;
        }
        default:
          if (next >= '0' && next <= '7') {
            const oct = /^[0-7]{1,3}/.exec(line.slice(i)) as RegExpExecArray;
            current += String.fromCharCode(parseInt(oct[0], 8));
            raw += oct[0].slice(1);
            i += oct[0].length - 1;
          } else {
            current += next;
          }
      }
      continue;
    }
    current += ch;
    raw += ch;
  }
  fields.push(raw === options.nullString ? null : current);
  return fields;
}

/** The index of the newline ending the CSV record starting at `start` (quotes may hold newlines), or -1. */
function csvLineEnd(text: string, start: number, options: CopyOptions): number {
  let quoted = false;
  for (let i = start; i < text.length; i++) {
    const ch = text.charAt(i);
    if (quoted) {
      if (ch === options.escape && options.escape !== options.quote && text.charAt(i + 1) === options.quote) i++;
      else if (ch === options.quote) {
        if (options.escape === options.quote && text.charAt(i + 1) === options.quote) i++;
        else quoted = false;
      }
    } else if (ch === options.quote) quoted = true;
    else if (ch === '\n') return i;
  }
  return -1;
}

function splitCsv(line: string, options: CopyOptions): (string | null)[] {
  const fields: (string | null)[] = [];
  let current = '';
  let quotedField = false;
  let inQuotes = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line.charAt(i);
    if (inQuotes) {
      if (ch === options.escape && line.charAt(i + 1) === options.quote && (options.escape !== options.quote || true)) {
        if (options.escape === options.quote && line.charAt(i + 1) !== options.quote) {
          inQuotes = false;
          continue;
        }
        current += options.quote;
        i++;
      } else if (ch === options.quote) {
        inQuotes = false;
      } else {
        current += ch;
      }
      continue;
    }
    if (ch === options.quote) {
      inQuotes = true;
      quotedField = true;
    } else if (ch === options.delimiter) {
      fields.push(!quotedField && current === options.nullString ? null : current);
      current = '';
      quotedField = false;
    } else {
      current += ch;
    }
  }
  fields.push(!quotedField && current === options.nullString ? null : current);
  return fields;
}
