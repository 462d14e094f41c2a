import * as fs from 'node:fs';
import { threadCpuSeconds } from './process-cpu';

describe('threadCpuSeconds', () => {
  // This process's main thread carries the process's own name.
  const mainThread = fs.readFileSync('/proc/self/comm', 'utf8').trim();

  /** Keeps this thread busy until it has run `ms` of CPU time (however loaded the machine). */
  function spin(ms: number): void {
    const cpuMs = (): number => {
      const usage = process.cpuUsage();
      return (usage.user + usage.system) / 1_000;
    };
    const until = cpuMs() + ms;
    while (cpuMs() < until) {
      // busy
    }
  }

  it('counts the CPU time of the threads whose name starts with the prefix', () => {
    const before = threadCpuSeconds([process.pid], mainThread) as number;
    spin(300);
    const after = threadCpuSeconds([process.pid], mainThread) as number;
    // Clock ticks are 10 ms. The process's other threads (GC, I/O) count towards the
    // 300 ms too, but nowhere near a third of it.
    expect(after - before).toBeGreaterThanOrEqual(0.2);
  });

  it('counts no thread whose name does not start with the prefix', () => {
    expect(threadCpuSeconds([process.pid], 'no-thread-is-named-so')).toBe(0);
  });

  it('is undefined when a process is gone', () => {
    const pid = Number(fs.readFileSync('/proc/sys/kernel/pid_max', 'utf8')) - 1;
    expect(threadCpuSeconds([process.pid, pid], mainThread)).toBeUndefined();
  });
});
