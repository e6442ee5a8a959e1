import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { BodyTooLargeError, ClientClosedError, H1Error, NextUpstreamError } from '../../shared/errors.ts';
import { type DataplaneObserver, notifyUpstream, type RequestRecord } from '../observe/observer.ts';
import type { CompiledRoute } from '../routing/compile.ts';
import type { BackendState } from '../upstream/backend-state.ts';
import type { EndpointState } from '../upstream/endpoint-state.ts';
import { requestHashKey } from '../upstream/hash-key.ts';
import { type RetryState, redispatch, replayableOnStale, type TryFailure } from '../upstream/retry.ts';
import { HandshakeSeal } from './handshake-seal.ts';
import { applyHeaderEdits } from './header-edits.ts';
import { setHeaders } from './header-list.ts';
import { type PoolMap, pushResponseHeaders } from './http-proxy.ts';
import { errorAnswer, redirectAnswer, sendAnswer } from './responses.ts';

/** What an exchange needs from its dataplane; one object shared by every request. */
export interface ExchangeContext {
  readonly pools: PoolMap;
  readonly logger: Logger;
  readonly observer: DataplaneObserver | undefined;
  readonly draining: boolean;
  /** Called once per request when its response closes (drain accounting). */
  requestEnded(): void;
}

const kExchange = Symbol('sticky.exchange');

type Tagged = ServerResponse & { [kExchange]?: Exchange };
type H2Request = IncomingMessage & { stream: { endAfterHeaders: boolean } };

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

/**
 * One proxied (or locally answered) request: the undici dispatch handler that streams the upstream response
 * to the client, retries connect failures on another endpoint, and reports the record when the response closes.
 */
export class Exchange implements Dispatcher.DispatchHandler, RetryState {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly record: RequestRecord;
  #ctx: ExchangeContext;
  #route: CompiledRoute<BackendState> | undefined;
  #backend: BackendState | undefined;
  #endpoint: EndpointState | undefined;
  #setCookie: string | undefined;
  #secure = false;
  #headers: string[] = [];
  #responseHeaders: readonly string[] = [];
  #maxBodyBytes: number | undefined;
  #target = '/';
  /** No request body: the request can be sent again after a try that was sent (proxy-next-upstream). */
  #replayable = true;
  /** Set before proxy(): this is an engine.io polling handshake whose sid is to be sealed (affinity-sid.ts). */
  sealSid = false;
  #held: HandshakeSeal | undefined;
  /** Endpoint ids that failed to connect for this request (RetryState). */
  exclude: Set<string> | undefined;
  #controller: Dispatcher.DispatchController | undefined;
  #started = false;
  #responded = false;
  #done = false;
  #closed = false;
  /** An HTTP/2 request (compat API): no Connection header may be sent (RFC 9113 8.2.2); GOAWAY does its job. */
  #h2: boolean;

  constructor(ctx: ExchangeContext, req: IncomingMessage, res: ServerResponse, record: RequestRecord) {
    this.#ctx = ctx;
    this.req = req;
    this.res = res;
    this.record = record;
    // Not httpVersionMajor: node's HTTP/1.1 parser accepts a request line saying HTTP/2.0 (the fuzz test).
    this.#h2 = (req as Partial<H2Request>).stream !== undefined;
    (res as Tagged)[kExchange] = this;
    // `on`, not `once`: a response closes once, and `once` would allocate a wrapper per request.
    res.on('close', onResponseClose);
  }

  /** Answers locally (400, 403, 404, 503, ...) in one write from the shared table; `hsts` on HTTPS routes. */
  local(status: number, hsts?: string, extra?: readonly string[]): void {
    this.record.status = status;
    this.#done = true;
    // The client is gone (an h2 stream reset, a closed socket): writing would throw on a destroyed h2 stream.
    if (this.#closed || clientGone(this.res)) return;
    if (this.res.headersSent) {
      this.res.destroy();
      return;
    }
    const answer = errorAnswer(status, hsts, this.#ctx.draining && !this.#h2);
    if (extra !== undefined) {
      for (let i = 0; i + 1 < extra.length; i += 2) {
        if (this.#h2 && extra[i] === 'connection') continue;
        answer.headers.push(extra[i] as string, extra[i + 1] as string);
      }
    }
    sendAnswer(this.res, answer);
  }

  /**
   * What the route adds to the proxied exchange: response headers (CORS, replacing the backend's) and the
   * request body limit (proxy-body-size) enforced while the body streams.
   */
  answerWith(responseHeaders: readonly string[], maxBodyBytes: number | undefined): void {
    this.#responseHeaders = responseHeaders;
    this.#maxBodyBytes = maxBodyBytes;
  }

  /** Answers with a redirect to `location` (no body). */
  redirect(code: number, location: string): void {
    this.record.status = code;
    this.#done = true;
    sendAnswer(this.res, redirectAnswer(code, location, this.#ctx.draining && !this.#h2));
  }

  /**
   * Starts proxying to the endpoint `pick` chose. `headers` is the upstream header list (forwarded included);
   * `target` the origin-form target decide() matched (normalised path and query).
   */
  proxy(
    route: CompiledRoute<BackendState>,
    backend: BackendState,
    endpoint: EndpointState,
    setCookie: string | undefined,
    secure: boolean,
    headers: string[],
    target: string,
  ): void {
    this.#target = target;
    this.#route = route;
    this.#backend = backend;
    this.#setCookie = setCookie;
    this.#secure = secure;
    this.#headers = headers;
    const h = this.req.headers;
    this.#replayable =
      h['transfer-encoding'] === undefined &&
      (h['content-length'] === undefined || h['content-length'] === '0') &&
      // h2 frames the body itself (RFC 9113 8.1): DATA after HEADERS without END_STREAM, no length needed.
      !(this.#h2 && (this.req as H2Request).stream.endAfterHeaders === false);
    this.#dispatch(endpoint);
  }

  #dispatch(endpoint: EndpointState): void {
    this.#endpoint = endpoint;
    this.#started = false;
    this.record.endpointId = endpoint.id;
    endpoint.acquire();
    const state = this.#backend as BackendState;
    const backend = state.config;
    const req = this.req;
    // A bodiless request (no Transfer-Encoding, Content-Length absent or 0) sends no body stream, so a
    // retry sends the same bytes again (proxy-next-upstream).
    const hasBody = !this.#replayable;
    try {
      this.#ctx.pools.get(endpoint, state).dispatch(
        {
          path: this.#target,
          method: req.method as Dispatcher.HttpMethod,
          headers: this.#headers,
          body: hasBody ? req : null,
          headersTimeout: backend.timeouts.readMs,
          bodyTimeout: backend.timeouts.readMs,
          // Our pool resends it once if a reused connection was closed under it (stale keep-alive).
          idempotent: replayableOnStale(req.method ?? ''),
          // One fixed name per TLS backend: undici otherwise takes it from each Host header and drops the
          // pooled connection whenever two clients' Hosts differ (the connector never sends it; http-proxy.ts).
          ...(state.tls !== undefined ? { servername: state.tls.serverName } : {}),
        },
        this,
      );
    } catch (err) {
      this.onResponseError(undefined, err as Error);
    }
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    this.#started = true;
    this.record.connectMs = performance.now() - this.record.startMono;
    this.#endpoint?.connectSucceeded();
    if (this.#closed) controller.abort(new ClientClosedError());
  }

  onBodySent(chunk: Buffer): void {
    this.record.bytesIn += chunk.length;
    // A chunked (or lying) body that grows past proxy-body-size: stop it and answer 413 if nothing was answered.
    if (this.#maxBodyBytes !== undefined && this.record.bytesIn > this.#maxBodyBytes) {
      this.#controller?.abort(new BodyTooLargeError('request body larger than proxy-body-size'));
    }
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ): void {
    this.#controller = controller;
    if (this.#retryStatus(controller, statusCode)) return;
    const record = this.record;
    record.status = statusCode;
    record.responseMs = performance.now() - record.startMono;
    this.#responded = true;
    let out: string[] = [];
    pushResponseHeaders(out, headers);
    out = applyHeaderEdits(out, this.#route?.route.filters?.response);
    if (this.#setCookie !== undefined) out.push('set-cookie', this.#setCookie);
    const replaced = setHeaders(out, this.#responseHeaders);
    if (replaced !== out) out.splice(0, out.length, ...replaced);
    const hsts = this.#route?.hsts;
    if (hsts !== undefined && this.#secure) out.push('strict-transport-security', hsts);
    if (this.#ctx.draining && !this.#h2) out.push('connection', 'close');
    if (this.sealSid && HandshakeSeal.accepts(statusCode, headers)) {
      this.#held = new HandshakeSeal(statusCode, out);
      return;
    }
    this.res.writeHead(statusCode, out);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.record.bytesOut += chunk.length;
    const held = this.#held;
    if (held !== undefined) {
      if (held.add(chunk)) return;
      // Larger than any handshake: not one; send what we held and stream the rest.
      this.#held = undefined;
      this.res.writeHead(held.status, held.headers);
      chunk = held.raw();
    }
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', onResponseDrain);
    }
  }

  onResponseEnd(): void {
    this.#done = true;
    const held = this.#held;
    if (held === undefined) {
      this.res.end();
      return;
    }
    this.#held = undefined;
    const endpoint = this.#endpoint;
    const sealed = held.seal(endpoint && this.#backend?.sealerFor(endpoint));
    this.res.writeHead(held.status, sealed.headers);
    this.res.end(sealed.body);
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    if (this.#closed || this.#done) return;
    if (err instanceof BodyTooLargeError && !this.#responded) {
      // RFC 9110 §15.5.14; the rest of the body is unread, so the connection cannot be reused.
      this.local(413, this.#hsts(), ['connection', 'close']);
      return;
    }
    // An abandoned try (its status went to another endpoint) reports its abort here: not this try's error.
    if (err instanceof NextUpstreamError) return;
    const endpoint = this.#endpoint as EndpointState;
    const backend = this.#backend as BackendState;
    // Our client's errors carry one catalogue code and the detail in `reason` (src/shared/errors.ts).
    const code = err instanceof H1Error ? err.reason : ((err as { code?: string }).code ?? '');
    const failure = this.#failure(code);
    if (failure !== undefined) {
      this.#endpoint = undefined;
      const next = this.#retry(endpoint, failure);
      if (next !== undefined) {
        this.#dispatch(next);
        return;
      }
    }
    this.#ctx.logger.debug(
      {
        err: err.message,
        code,
        backend: backend.config.id,
        endpoint: endpoint.id,
        route: this.record.routeId,
      },
      'upstream request failed',
    );
    if (this.#responded) {
      // Headers already went out: the only honest signal left is to cut the response short.
      this.#done = true;
      this.res.destroy();
      return;
    }
    this.local(TIMEOUT_CODES.has(code) ? 504 : 502, this.#hsts());
  }

  // What kind of failure `code` is for proxy-next-upstream; undefined: not the endpoint's (never retried).
  #failure(code: string): TryFailure | undefined {
    if (!this.#started) {
      // Nothing reached the endpoint: a connect failure (counted against it for passive health).
      if (refusedBeforeConnect(code)) return undefined;
      return code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'H1_ERR_CONNECT_TIMEOUT'
        ? 'connect-timeout'
        : 'connect-error';
    }
    if (this.#responded) return undefined;
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'H1_ERR_READ_TIMEOUT') return 'timeout';
    if (code.startsWith('HPE_') || INVALID_HEAD_CODES.has(code)) return 'invalid_header';
    return BROKEN_CODES.has(code) ? 'error' : undefined;
  }

  // The one retry decision (upstream/retry.ts): the next endpoint, or undefined. `keep`: the caller goes
  // on with `failed` when there is no retry (a status not retried is relayed from it).
  #retry(failed: EndpointState, failure: TryFailure, keep = false): EndpointState | undefined {
    const backend = this.#backend as BackendState;
    const req = this.req;
    const sent = typeof failure === 'number' || !failure.startsWith('connect-');
    const next = redispatch(
      backend,
      failed,
      this,
      {
        cookie: req.headers.cookie,
        secure: this.#secure,
        // Before sending, an unread body can still go elsewhere; after, only a bodiless request (replayable).
        // The client must still be there (undici destroys a consumed body stream, so not req.destroyed).
        canRetry: !this.#closed && (sent ? this.#replayable : !req.readableDidRead && !req.destroyed),
        hashKey: requestHashKey(backend.config, this.record.clientAddress, req),
        failure,
        method: req.method ?? 'GET',
        replayable: this.#replayable,
        keep,
      },
      (event, b, e) => notifyUpstream(this.#ctx.observer, event, b, e),
    );
    if (next === undefined) return undefined;
    if (next.setCookie !== undefined) this.#setCookie = next.setCookie;
    return next.endpoint;
  }

  // proxy-next-upstream http_5xx/403/404/429: decided at the response head, before anything reached the
  // client; the abandoned try is aborted (its connection closed, its body never read).
  #retryStatus(controller: Dispatcher.DispatchController, status: number): boolean {
    const statuses = this.#backend?.config.nextUpstream?.statuses;
    const failed = this.#endpoint;
    if (statuses === undefined || !statuses.includes(status) || failed === undefined) return false;
    const next = this.#retry(failed, status, true);
    if (next === undefined) return false;
    this.#endpoint = undefined;
    controller.abort(new NextUpstreamError(`endpoint ${failed.id} answered ${status}`));
    this.#dispatch(next);
    return true;
  }

  #hsts(): string | undefined {
    return this.#secure ? this.#route?.hsts : undefined;
  }

  /** The client drained what we wrote: let undici read from the upstream again. */
  resume(): void {
    if (!this.#done && !this.#closed) this.#controller?.resume();
  }

  /** The client response closed (finished or aborted): release, abort upstream if unfinished, report. */
  finish(): void {
    this.#closed = true;
    if (!this.#done && this.#started) this.#controller?.abort(new ClientClosedError());
    if (this.#endpoint !== undefined) {
      this.#endpoint.release();
      this.#endpoint = undefined;
    }
    const record = this.record;
    record.totalMs = performance.now() - record.startMono;
    if (!this.#done && record.status === 0) record.status = 499;
    const o = this.#ctx.observer;
    if (o !== undefined) {
      try {
        o.onRequest(record);
      } catch {}
    }
    this.#ctx.requestEnded();
  }
}

/**
 * Errors undici (or our H1 client) raises about the request itself (invalid argument, unsupported feature) before any connection
 * is attempted: they say nothing about the endpoint, so they never count as connect failures nor retry
 * (issue 10 item 2: four `*` requests used to eject every endpoint).
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

/** The response can no longer be written: HTTP/1.1 socket destroyed, or the HTTP/2 stream reset/closed. */
function clientGone(res: ServerResponse): boolean {
  // An h2 stream being closed (RST_STREAM, connection gone) reports `closed` before `destroyed`, and its
  // request's 'aborted' fires in between: the upstream client's error handler runs then.
  const stream = (res as { stream?: { destroyed: boolean; closed: boolean } }).stream;
  return stream !== undefined ? stream.destroyed || stream.closed : res.destroyed;
}

function onResponseClose(this: Tagged): void {
  this[kExchange]?.finish();
}

function onResponseDrain(this: Tagged): void {
  this[kExchange]?.resume();
}
