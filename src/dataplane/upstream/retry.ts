import type { NextUpstream } from '../../snapshot/types.ts';
import type { BackendState, Selection } from './backend-state.ts';
import type { EndpointState } from './endpoint-state.ts';

/** The per-request state a redispatch reads and updates (the HTTP exchange and the WebSocket tunnel hold one). */
export interface RetryState {
  /** Endpoint ids that already failed for this request; created on the first failure. */
  exclude: Set<string> | undefined;
  readonly record: { retries: number; affinity: Selection['affinity']; readonly startMono: number };
}

/** Reports a connect failure (`failure`) or a retry onto `endpointId` (`retry`); must not throw. */
export type RetryNotify = (event: 'failure' | 'retry', backendId: string, endpointId: string) => void;

/**
 * What went wrong with one try. `connect-*`: nothing reached the endpoint. `error` / `timeout` /
 * `invalid_header`: the request was sent and no usable response header came back. A number: the response
 * status, its headers not yet sent to the client.
 */
export type TryFailure =
  | 'connect-error'
  | 'connect-timeout'
  | 'error'
  | 'timeout'
  | 'invalid_header'
  | number;

/** ingress-nginx's default `proxy-next-upstream: error timeout`, with no time limit. */
export const DEFAULT_NEXT_UPSTREAM: NextUpstream = Object.freeze({
  error: true,
  timeout: true,
  invalidHeader: false,
  statuses: Object.freeze([]) as readonly number[],
  nonIdempotent: false,
  timeoutMs: 0,
});

// nginx (ngx_http_upstream.c): once a request was sent, POST, LOCK and PATCH go to another server only
// with `non_idempotent` (RFC 9110 §9.2.2: a repeated non-idempotent request may act twice).
const NON_IDEMPOTENT = new Set(['POST', 'LOCK', 'PATCH']);

// RFC 9110 §9.2.2: the methods whose repetition has the effect of one request.
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * Whether a request may be sent once more, on a fresh connection to the same endpoint, when the reused
 * keep-alive connection it went out on closed before any response byte (RFC 9112 §9.3.1, the pool does it):
 * idempotent methods only (RFC 9110 §9.2.2: a proxy must not retry the others). Not proxy-next-upstream's
 * business: the endpoint did not fail, a connection raced its idle close, so no try is spent.
 */
export function replayableOnStale(method: string): boolean {
  return IDEMPOTENT.has(method);
}

/** What the caller knows about the request at the failure. */
export interface RetryRequest {
  cookie: string | undefined;
  secure: boolean;
  /** The client is still there and, when nothing was sent, the body was not read yet. */
  canRetry: boolean;
  hashKey?: string | undefined;
  failure: TryFailure;
  method: string;
  /**
   * The request can be sent again after it was sent once: it has no body (we stream bodies and keep no copy;
   * nginx replays only what its request buffering kept).
   */
  replayable: boolean;
  /** The caller goes on with the failed endpoint when there is no retry: it is released only on a retry. */
  keep?: boolean;
}

/**
 * Whether `policy` lets a try that failed with `failure` go to another endpoint (before the tries and
 * timeout limits): the one decision for HTTP and WebSocket upgrades alike.
 */
export function nextUpstreamAllows(
  policy: NextUpstream,
  failure: TryFailure,
  method: string,
  replayable: boolean,
): boolean {
  const matches =
    typeof failure === 'number'
      ? policy.statuses.includes(failure)
      : failure === 'connect-error' || failure === 'error'
        ? policy.error
        : failure === 'connect-timeout' || failure === 'timeout'
          ? policy.timeout
          : policy.invalidHeader;
  if (!matches) return false;
  if (failure === 'connect-error' || failure === 'connect-timeout') return true;
  return replayable && (policy.nonIdempotent || !NON_IDEMPOTENT.has(method.toUpperCase()));
}

// The policy, the tries and the next-upstream timeout, then a pick that excludes every endpoint that failed.
function nextTry(
  backend: BackendState,
  failed: EndpointState,
  state: RetryState,
  request: RetryRequest,
): Selection | undefined {
  const record = state.record;
  const policy = backend.config.nextUpstream ?? DEFAULT_NEXT_UPSTREAM;
  if (!request.canRetry || record.retries >= backend.config.retries) return undefined;
  if (!nextUpstreamAllows(policy, request.failure, request.method, request.replayable)) return undefined;
  if (policy.timeoutMs > 0 && performance.now() - record.startMono >= policy.timeoutMs) return undefined;
  const exclude = state.exclude ?? new Set<string>();
  exclude.add(failed.id);
  state.exclude = exclude;
  return backend.pick(request.cookie, request.secure, exclude, undefined, request.hashKey);
}

/** `proxy-next-upstream` of `policy` as ingress-nginx writes it (`error timeout http_502`, or `off`). */
export function nextUpstreamTokens(policy: NextUpstream = DEFAULT_NEXT_UPSTREAM): string {
  const tokens = [
    ...(policy.error ? ['error'] : []),
    ...(policy.timeout ? ['timeout'] : []),
    ...(policy.invalidHeader ? ['invalid_header'] : []),
    ...policy.statuses.map((s) => `http_${s}`),
    ...(policy.nonIdempotent ? ['non_idempotent'] : []),
  ];
  return tokens.length === 0 ? 'off' : tokens.join(' ');
}

/**
 * The one retry (HAProxy `option redispatch`, nginx `proxy_next_upstream`), for HTTP and WebSocket alike:
 * counts a connect failure against `failed` (passive health), releases it, and, when the backend's
 * nextUpstream policy, its tries and its next-upstream timeout allow, picks another endpoint excluding every
 * one that failed for this request. The affinity re-pin (changeOnFailure) comes from pick(); the caller sends
 * the returned selection's Set-Cookie. undefined => the caller answers (502/504, or relays the status).
 */
export function redispatch(
  backend: BackendState,
  failed: EndpointState,
  state: RetryState,
  request: RetryRequest,
  notify: RetryNotify,
): Selection | undefined {
  const { failure } = request;
  if (failure === 'connect-error' || failure === 'connect-timeout') {
    failed.connectFailed();
    notify('failure', backend.config.id, failed.id);
  }
  const next = nextTry(backend, failed, state, request);
  if (next !== undefined || !request.keep) failed.release();
  if (next === undefined) return undefined;
  const record = state.record;
  record.retries++;
  record.affinity = next.affinity;
  notify('retry', backend.config.id, next.endpoint.id);
  return next;
}
