import pino from 'pino';

export type Logger = pino.Logger;

export interface LoggerOptions {
  /** The process or component: `cairn-node`, `raft-member`, ... */
  readonly name: string;
  /** Default `info`; the `CAIRN_LOG_LEVEL` environment variable overrides it. */
  readonly level?: pino.LevelWithSilent;
  /** Fields on every line (node ID, ...). */
  readonly base?: Record<string, string | number>;
  /** File descriptor to write JSON lines to (default 1, stdout). */
  readonly fd?: number;
}

/** A JSON-lines logger (pino), written synchronously so the last lines before a crash survive. */
export function createLogger(options: LoggerOptions): Logger {
  const level = (process.env.CAIRN_LOG_LEVEL as pino.LevelWithSilent | undefined) ?? options.level ?? 'info';
  return pino(
    {
      name: options.name,
      level,
      base: { pid: process.pid, ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination({ fd: options.fd ?? 1, sync: true }),
  );
}
