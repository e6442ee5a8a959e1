import type { BackendState, Selection } from './backend-state.ts';
import type { EndpointState } from './endpoint-state.ts';

/** The per-request state a redispatch reads and updates (the HTTP exchange and the WebSocket tunnel hold one). */
export interface RetryState {
  /** Endpoint ids that already failed to connect for this request; created on the first failure. */
  exclude: Set<string> | undefined;
  readonly record: { retries: number; affinity: Selection['affinity'] };
}

/** Reports a connect failure (`failure`) or a retry onto `endpointId` (`retry`); must not throw. */
export type RetryNotify = (event: 'failure' | 'retry', backendId: string, endpointId: string) => void;

/**
 * The one connect-failure retry (HAProxy `option redispatch`), for HTTP and WebSocket alike: counts the failure
 * against `failed` (passive health), releases it, and, when `canRetry` and backend.retries allow, picks another
 * endpoint excluding every one that failed for this request. The affinity re-pin (changeOnFailure) comes from
 * pick(); the caller sends the returned selection's Set-Cookie. undefined => answer 502/504.
 */
export function redispatch(
  backend: BackendState,
  failed: EndpointState,
  state: RetryState,
  request: { cookie: string | undefined; secure: boolean; canRetry: boolean; hashKey?: string | undefined },
  notify: RetryNotify,
): Selection | undefined {
  failed.connectFailed();
  notify('failure', backend.config.id, failed.id);
  failed.release();
  const record = state.record;
  if (!request.canRetry || record.retries >= backend.config.retries) return undefined;
  if (state.exclude === undefined) state.exclude = new Set();
  state.exclude.add(failed.id);
  const next = backend.pick(request.cookie, request.secure, state.exclude, undefined, request.hashKey);
  if (next === undefined) return undefined;
  record.retries++;
  record.affinity = next.affinity;
  notify('retry', backend.config.id, next.endpoint.id);
  return next;
}
