import type { IncomingHttpHeaders } from 'node:http';
import { H1Error } from '../../shared/errors.ts';
import type { BackendState, Selection } from './backend-state.ts';
import type { EndpointState } from './endpoint-state.ts';
import { requestHashKey } from './hash-key.ts';
import { type RetryNotify, type RetryState, redispatch, type TryFailure } from './retry.ts';

/**
 * The HTTP path's side of the one retry (retry.ts): which upstream error is which kind of failure for
 * proxy-next-upstream, which status answers it, and the redispatch of a failed try. The exchange
 * (http/exchange.ts) only reports what happened; it works with our client's errors and undici's alike.
 */

const TIMEOUT_CODES = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'H1_ERR_CONNECT_TIMEOUT',
  'H1_ERR_READ_TIMEOUT',
]);
// The connection broke after the request was sent and before a response head: nginx's `error`.
const BROKEN_CODES = new Set(['UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNRESET', 'EPIPE', 'H1_ERR_CLOSED']);
// A response head a proxy must not guess at (RFC 9112 6.3, 11.2): nginx's `invalid_header`.
const INVALID_HEAD_CODES = new Set([
  'H1_ERR_BAD_STATUS',
  'H1_ERR_BAD_HEADER',
  'H1_ERR_BAD_LENGTH',
  'H1_ERR_BAD_TE',
  'H1_ERR_CL_AND_TE',
  'H1_ERR_BARE_LF',
  'H1_ERR_HEAD_TOO_LARGE',
]);

/** The code of an upstream error: our client's `reason` (one catalogue code, src/shared/errors.ts), else `code`. */
export function tryErrorCode(err: Error): string {
  return err instanceof H1Error ? err.reason : ((err as { code?: string }).code ?? '');
}

/**
 * What kind of failure `code` is for proxy-next-upstream; undefined: not the endpoint's (never retried).
 * `started`: the request reached a connection; `responded`: the response head already went to the client.
 */
export function classifyTry(code: string, started: boolean, responded: boolean): TryFailure | undefined {
  if (!started) {
    // Nothing reached the endpoint: a connect failure (counted against it for passive health).
    if (refusedBeforeConnect(code)) return undefined;
    return code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'H1_ERR_CONNECT_TIMEOUT'
      ? 'connect-timeout'
      : 'connect-error';
  }
  if (responded) return undefined;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'H1_ERR_READ_TIMEOUT') return 'timeout';
  if (code.startsWith('HPE_') || INVALID_HEAD_CODES.has(code)) return 'invalid_header';
  return BROKEN_CODES.has(code) ? 'error' : undefined;
}

/** The local answer to a try that failed with `code` and was not retried: 504 after a timeout, else 502. */
export function failureStatus(code: string): 502 | 504 {
  return TIMEOUT_CODES.has(code) ? 504 : 502;
}

/** What the HTTP exchange knows about its request when a try failed. */
export interface HttpTryFacts {
  /** The client's request: method, target, headers (the affinity cookie; a hash key may read the others). */
  readonly req: {
    readonly method?: string | undefined;
    readonly url?: string | undefined;
    readonly headers: IncomingHttpHeaders;
    /** The body stream: read from, destroyed. */
    readonly readableDidRead: boolean;
    readonly destroyed: boolean;
  };
  readonly secure: boolean;
  /** The client address decide() used (hash keys). */
  readonly clientAddress: string;
  /** The client response closed (the client is gone): nothing is retried. */
  readonly closed: boolean;
  /** No request body: it can be sent again after a try that was sent (retry.ts RetryRequest). */
  readonly replayable: boolean;
}

/**
 * The next endpoint for an HTTP request whose try on `failed` failed with `failure` (a kind, or a status
 * proxy-next-upstream lists), by the one redispatch(); undefined: the caller answers (or, with `keep`, relays
 * the status from `failed`, which stays acquired).
 */
export function retryHttp(
  backend: BackendState,
  failed: EndpointState,
  state: RetryState,
  failure: TryFailure,
  facts: HttpTryFacts,
  notify: RetryNotify,
  keep = false,
): Selection | undefined {
  const sent = typeof failure === 'number' || !failure.startsWith('connect-');
  const req = facts.req;
  return redispatch(
    backend,
    failed,
    state,
    {
      cookie: req.headers.cookie,
      secure: facts.secure,
      // Before sending, an unread body can still go elsewhere; after, only a bodiless request (replayable).
      // The client must still be there (undici destroys a consumed body stream, so not req.destroyed alone).
      // A bodiless request has nothing to read: node's optimizeEmptyRequests (listeners.ts) hands it over
      // already ended and destroyed, so only `closed` says whether its client is gone.
      canRetry:
        !facts.closed &&
        (sent || facts.replayable ? facts.replayable : !req.readableDidRead && !req.destroyed),
      hashKey: requestHashKey(backend.config, facts.clientAddress, req),
      failure,
      method: req.method ?? 'GET',
      replayable: facts.replayable,
      keep,
    },
    notify,
  );
}

/**
 * Errors undici (or our H1 client) raises about the request itself (invalid argument, unsupported feature)
 * before any connection is attempted: they say nothing about the endpoint, so they never count as connect
 * failures nor retry (issue 10 item 2: four `*` requests used to eject every endpoint).
 */
function refusedBeforeConnect(code: string): boolean {
  return (
    code === '' ||
    code === 'UND_ERR_INVALID_ARG' ||
    code === 'UND_ERR_NOT_SUPPORTED' ||
    code === 'H1_ERR_INVALID_REQUEST' ||
    code.startsWith('ERR_INVALID')
  );
}
