/** The sqllogictest runner's public surface (OVERVIEW.md in test/compat says how the parts fit). */
export type { ColumnType, SltRecord, SortMode } from './parse';
export { parseSlt, SltParseError } from './parse';
export { formatValue } from './format';
export type { SqlOutcome, Verdict } from './compare';
export type { DatabaseProvider, FailureReport, FileResult, ProvidedDatabase, RunFileOptions, SqlSession, Tally } from './runner';
export { databasePerFile, passRate, PgSession, runFile } from './runner';
export type { SltServer } from './server';
export { acquireServer } from './server';
