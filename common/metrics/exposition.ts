/**
 * The sum of a metric's samples in a Prometheus text exposition (0 when absent), over
 * the samples carrying every label in `labels` (all of them, when none are given).
 */
export function metricTotal(exposition: string, name: string, labels: Readonly<Record<string, string>> = {}): number {
  const wanted = Object.entries(labels).map(([label, value]) => `${label}=${JSON.stringify(value)}`);
  let total = 0;
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    const labelSet = line[name.length] === '{' ? line.slice(name.length + 1, line.lastIndexOf('}')).split(',') : [];
    if (!wanted.every((pair) => labelSet.includes(pair))) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) total += value;
  }
  return total;
}
