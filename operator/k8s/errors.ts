/** Kubernetes API errors by HTTP status, as @kubernetes/client-node raises them. */
import { ApiException } from '@kubernetes/client-node';

export function statusCode(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code = (err as { code?: unknown; statusCode?: unknown } | null)?.code ?? (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

export const isNotFound = (err: unknown): boolean => statusCode(err) === 404;
export const isConflict = (err: unknown): boolean => statusCode(err) === 409;

/**
 * The API server's own words for a failed request (the Status message), or the error's
 * message: what operators want in a log line or an Event.
 */
export function apiMessage(err: unknown): string {
  if (err instanceof ApiException) {
    const body: unknown = err.body;
    if (typeof body === 'string') {
      try {
        const status = JSON.parse(body) as { message?: string };
        if (status.message !== undefined) return `${err.code}: ${status.message}`;
      } catch {
        return `${err.code}: ${body.slice(0, 500)}`;
      }
    }
    if (typeof body === 'object' && body !== null && 'message' in body) return `${err.code}: ${String((body as { message: unknown }).message)}`;
    return `${err.code}`;
  }
  return err instanceof Error ? err.message : String(err);
}
