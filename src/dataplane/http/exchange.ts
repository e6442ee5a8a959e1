import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { BodyTooLargeError, ClientClosedError, NextUpstreamError } from '../../shared/errors.ts';
import { type DataplaneObserver, notifyRequest, type RequestRecord } from '../observe/observer.ts';
import type { ProxyDecision } from '../routing/decide.ts';
import type { BackendState } from '../upstream/backend-state.ts';
import type { EndpointState } from '../upstream/endpoint-state.ts';
import { type RetryNotify, type RetryState, replayableOnStale, type TryFailure } from '../upstream/retry.ts';
import { classifyTry, failureStatus, retryHttp, tryErrorCode } from '../upstream/try-failure.ts';
import type { Chosen } from './choose-endpoint.ts';
import { HandshakeSeal } from './handshake-seal.ts';
import { bodiless, type PoolMap, responseHeaders } from './http-proxy.ts';
import { clientGone, errorAnswer, redirectAnswer, sendAnswer } from './responses.ts';

/** What an exchange needs from its dataplane; one object shared by every request. */
export interface ExchangeContext {
  readonly pools: PoolMap;
  readonly logger: Logger;
  readonly observer: DataplaneObserver | undefined;
  readonly draining: boolean;
  /** Reports a connect failure or a retry to the observer (retry.ts); never throws. */
  readonly notify: RetryNotify;
  /** Called once per request when its response closes (drain accounting). */
  requestEnded(): void;
}

const kExchange = Symbol('sticky.exchange');

type Tagged = ServerResponse & { [kExchange]?: Exchange };

/**
 * One proxied (or locally answered) request: the dispatch handler (ours or undici's pools) that streams the
 * upstream response to the client, hands a failed try to the one retry (upstream/try-failure.ts), and reports
 * the record when the response closes.
 */
export class Exchange implements Dispatcher.DispatchHandler, RetryState {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly record: RequestRecord;
  #ctx: ExchangeContext;
  #decision: ProxyDecision<BackendState> | undefined;
  #chosen: Chosen | undefined;
  #backend: BackendState | undefined;
  #endpoint: EndpointState | undefined;
  #setCookie: string | undefined;
  #secure = false;
  #headers: string[] = [];
  /** No request body: the request can be sent again after a try that was sent (proxy-next-upstream). */
  #replayable = true;
  #held: HandshakeSeal | undefined;
  /** The last body chunk, kept for onResponseEnd so head and body leave in one res.end() (one write). */
  #last: Buffer | undefined;
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
    this.#h2 = (req as { stream?: unknown }).stream !== undefined;
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
    sendAnswer(this.res, errorAnswer(status, hsts, this.#ctx.draining && !this.#h2, extra, this.#h2));
  }

  /** Answers with a redirect to `location` (no body). */
  redirect(code: number, location: string): void {
    this.record.status = code;
    this.#done = true;
    sendAnswer(this.res, redirectAnswer(code, location, this.#ctx.draining && !this.#h2));
  }

  /**
   * Proxies the request as decide() and chooseEndpoint() said: to the chosen endpoint, with the route's
   * response headers (CORS) and body limit (proxy-body-size). `headers`: the upstream list (forwarded included).
   */
  proxy(decision: ProxyDecision<BackendState>, chosen: Chosen, secure: boolean, headers: string[]): void {
    this.#decision = decision;
    this.#chosen = chosen;
    this.#backend = chosen.backend;
    this.#setCookie = chosen.selection.setCookie;
    this.#secure = secure;
    this.#headers = headers;
    this.#replayable = bodiless(this.req);
    this.#dispatch(chosen.selection.endpoint);
  }

  #dispatch(endpoint: EndpointState): void {
    this.#endpoint = endpoint;
    this.#started = false;
    this.record.endpointId = endpoint.id;
    endpoint.acquire();
    const state = this.#backend as BackendState;
    const backend = state.config;
    const req = this.req;
    try {
      this.#ctx.pools.get(endpoint, state).dispatch(
        {
          path: (this.#chosen as Chosen).target,
          method: req.method as Dispatcher.HttpMethod,
          headers: this.#headers,
          body: this.#replayable ? null : req,
          headersTimeout: backend.timeouts.readMs,
          bodyTimeout: backend.timeouts.readMs,
          // Our pool resends it once if a reused connection was closed under it (stale keep-alive).
          idempotent: replayableOnStale(req.method ?? ''),
          // One fixed name per TLS backend: undici otherwise takes it from each Host header and drops the
          // pooled connection whenever two clients' Hosts differ (the connector never sends it; http-proxy.ts).
          servername: state.tls?.serverName,
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
    const max = this.#decision?.route.route.maxBodyBytes;
    if (max !== undefined && this.record.bytesIn > max) {
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
    const decision = this.#decision as ProxyDecision<BackendState>;
    const route = decision.route;
    const out = responseHeaders(headers, decision, this.#setCookie);
    if (this.#secure && route.hsts !== undefined) out.push('strict-transport-security', route.hsts);
    if (this.#ctx.draining && !this.#h2) out.push('connection', 'close');
    if (this.#chosen?.sealSid === true && HandshakeSeal.accepts(statusCode, headers)) {
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
      chunk = held.release(this.res);
    }
    // Our client says this chunk completes the body and onResponseEnd follows in the same call: end(chunk)
    // writes head and body in one writev (one TLS record) without write()'s cork-until-next-tick.
    if ((controller as { ending?: boolean }).ending === true) {
      this.#last = chunk;
      return;
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
      const last = this.#last;
      this.#last = undefined;
      this.res.end(last);
      return;
    }
    this.#held = undefined;
    const endpoint = this.#endpoint;
    held.end(this.res, endpoint && this.#backend?.sealerFor(endpoint));
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
    const code = tryErrorCode(err);
    const failure = classifyTry(code, this.#started, this.#responded);
    if (failure !== undefined) {
      this.#endpoint = undefined;
      const next = this.#retry(endpoint, failure);
      if (next !== undefined) {
        this.#dispatch(next);
        return;
      }
    }
    const ids = { backend: backend.config.id, endpoint: endpoint.id, route: this.record.routeId };
    this.#ctx.logger.debug({ err: err.message, code, ...ids }, 'upstream request failed');
    if (this.#responded) {
      // Headers already went out: the only honest signal left is to cut the response short.
      this.#done = true;
      this.res.destroy();
      return;
    }
    this.local(failureStatus(code), this.#hsts());
  }

  // The one retry decision (upstream/try-failure.ts, retry.ts): the next endpoint, or undefined. `keep`: the
  // caller goes on with `failed` when there is no retry (a status not retried is relayed from it).
  #retry(failed: EndpointState, failure: TryFailure, keep = false): EndpointState | undefined {
    const facts = {
      req: this.req,
      secure: this.#secure,
      clientAddress: this.record.clientAddress,
      closed: this.#closed,
      replayable: this.#replayable,
    };
    const backend = this.#backend as BackendState;
    const next = retryHttp(backend, failed, this, failure, facts, this.#ctx.notify, keep);
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
    return this.#secure ? this.#decision?.route.hsts : undefined;
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
    notifyRequest(this.#ctx.observer, record);
    this.#ctx.requestEnded();
  }
}

function onResponseClose(this: Tagged): void {
  this[kExchange]?.finish();
}

function onResponseDrain(this: Tagged): void {
  this[kExchange]?.resume();
}
