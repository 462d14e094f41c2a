/**
 * The format of data-driven test files (STYLE.md §9): leading `#` lines are a header;
 * then cases, each some command lines, a `----` line and the expected output up to a
 * blank line. Blank and `#` lines between cases are skipped.
 */
export interface DataDrivenCase {
  readonly commands: string[];
  readonly expected: string[];
}

export function parseDataDrivenFile(text: string): { header: string[]; cases: DataDrivenCase[] } {
  const lines = text.split('\n');
  const header: string[] = [];
  let i = 0;
  while (i < lines.length && (lines[i] as string).startsWith('#')) {
    header.push(lines[i] as string);
    i++;
  }
  const cases: DataDrivenCase[] = [];
  while (i < lines.length) {
    while (i < lines.length && ((lines[i] as string).trim() === '' || (lines[i] as string).startsWith('#'))) {
      i++;
    }
    if (i >= lines.length) {
      break;
    }
    const commands: string[] = [];
    while (i < lines.length && lines[i] !== '----') {
      commands.push(lines[i] as string);
      i++;
    }
    i++;
    const expected: string[] = [];
    while (i < lines.length && lines[i] !== '') {
      expected.push(lines[i] as string);
      i++;
    }
    cases.push({ commands, expected });
  }
  return { header, cases };
}
