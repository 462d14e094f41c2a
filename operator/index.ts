/** What other folders (tests, the CLI) use of the operator. */
export * from './api';
export type { OperatorOptions } from './operator';
export { Operator } from './operator';
