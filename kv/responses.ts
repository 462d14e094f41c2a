import { AssertionFailedError } from '../common/errors';
import type * as pb from '../proto/gen/cairn/kv/v1/kv';
import type { ScanResult } from './kv-client';

/** Reading the answers of a batch: shared by KvClient and Txn. */

type ResponseCase = NonNullable<pb.ResponseUnion['response']>['$case'];
type ResponseValue<C extends ResponseCase> = Extract<NonNullable<pb.ResponseUnion['response']>, { $case: C }>['value'];

/** The answer to a request of kind `kind`; another kind is a node bug. */
export function expectCase<C extends ResponseCase>(response: pb.ResponseUnion | undefined, kind: C): ResponseValue<C> {
  const r = response?.response;
  if (r?.$case !== kind) {
    throw new AssertionFailedError(`expected a ${kind} response, got ${r?.$case ?? 'nothing'}`);
  }
  return r.value as ResponseValue<C>;
}

/** A scan's rows and resume span, as the clients return them. */
export function scanResult(response: pb.ScanResponse): ScanResult {
  const rows = response.rows.map((row) => ({ key: row.key, value: row.value }));
  const resume = response.resumeSpan;
  return resume === undefined ? { rows } : { rows, resumeSpan: { startKey: resume.startKey, endKey: resume.endKey } };
}
