import { type ClientRequest, type IncomingMessage, request } from 'node:http';
import { request as tlsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { UpgradeTimeoutError } from '../../shared/errors.ts';
import type { RequestRecord } from '../observe/observer.ts';
import type { BackendState, Selection } from '../upstream/backend-state.ts';
import type { EndpointState } from '../upstream/endpoint-state.ts';
import { type RetryState, redispatch } from '../upstream/retry.ts';
import { errorHead, relayedResponseHead, switchingProtocolsHead } from './ws-head.ts';
import { relay } from './ws-relay.ts';

/** What a tunnel reports to the proxy that tracks it. */
export interface TunnelOwner {
  readonly logger: Logger;
  /** The upstream answered 101. */
  opened(tunnel: Tunnel): void;
  /** The client socket closed; called exactly once. */
  closed(tunnel: Tunnel): void;
  /** A connect failure or a retry onto another endpoint. */
  observe(event: 'failure' | 'retry', backendId: string, endpointId: string): void;
}

/** The Upgrade request as it goes upstream: target, headers (forwarded set included), the client's early bytes. */
export interface UpgradeRequest {
  method: string;
  path: string;
  headers: string[];
  /** Bytes the client sent after its request head; written upstream after the 101. */
  head: Buffer;
  /** The client's Cookie header, for a re-pick on retry. */
  cookie: string | undefined;
  /** The request's hash key when the backend balances by hash, for a re-pick on retry. */
  hashKey: string | undefined;
  secure: boolean;
  /** Strict-Transport-Security value for local answers (HTTPS routes with HSTS), as on the HTTP path. */
  hsts: string | undefined;
}

const kTunnel = Symbol('sticky.tunnel');
type Tagged<T> = T & { [kTunnel]?: Tunnel };

/**
 * One Upgrade request (WebSocket) from arrival until its client socket closes. While the handshake runs it holds
 * the upstream request; once the upstream answers 101 only the two sockets, the record and the endpoint remain.
 */
export class Tunnel implements RetryState {
  readonly record: RequestRecord;
  readonly client: Socket;
  readonly backend: BackendState;
  endpoint: EndpointState | undefined;
  upstream: Socket | undefined;
  /** The handshake in flight; dropped at the 101 so the request and its parser can be collected. */
  pending: ClientRequest | undefined;
  request: UpgradeRequest | undefined;
  setCookie: string | undefined;
  hsts: string | undefined;
  exclude: Set<string> | undefined;
  connected = false;
  timedOut = false;
  closed = false;
  #readBase: number;
  #writtenBase: number;
  #owner: TunnelOwner;

  /** Tags the client socket and reports to `owner` when it closes; attempt() sends the request. */
  constructor(
    owner: TunnelOwner,
    client: Socket,
    up: UpgradeRequest,
    record: RequestRecord,
    backend: BackendState,
    selection: Selection,
  ) {
    this.#owner = owner;
    this.record = record;
    this.client = client;
    this.backend = backend;
    this.request = up;
    this.setCookie = selection.setCookie;
    this.hsts = up.hsts;
    this.#readBase = client.bytesRead;
    this.#writtenBase = client.bytesWritten;
    record.tunnel = true;
    (client as Tagged<Socket>)[kTunnel] = this;
    // on, not once: a socket closes once, and once() allocates a wrapper per tunnel.
    client.on('close', onClientClose);
  }

  /** Sends the Upgrade request to `endpoint`; acquires it until this attempt fails or the tunnel closes. */
  attempt(endpoint: EndpointState): void {
    const up = this.request as UpgradeRequest;
    this.endpoint = endpoint;
    this.connected = false;
    this.timedOut = false;
    this.record.endpointId = endpoint.id;
    endpoint.acquire();
    let req: Tagged<ClientRequest>;
    const tls = this.backend.tls;
    const options = {
      host: endpoint.address,
      port: endpoint.port,
      method: up.method,
      path: up.path,
      headers: up.headers,
      agent: false as const,
      setHost: false,
    };
    try {
      // The same TLS options as the HTTP path's pools (upstream/upstream-tls.ts): one policy, both paths.
      req =
        tls === undefined
          ? request(options)
          : tlsRequest({
              ...options,
              rejectUnauthorized: tls.rejectUnauthorized,
              checkServerIdentity: tls.checkServerIdentity,
              ...(tls.ca !== undefined ? { ca: [...tls.ca] } : {}),
              ...(tls.cert !== undefined ? { cert: tls.cert, key: tls.privateKey } : {}),
              // Without it node:https derives SNI from the client's Host header; '' sends none (proxy-ssl-server-name).
              servername: tls.servername ?? '',
            });
    } catch (err) {
      // node:http refuses a header it cannot send: nothing can be tried elsewhere either.
      this.#owner.logger.debug(
        { err: (err as Error).message, route: this.record.routeId },
        'bad upgrade request',
      );
      this.fail(502);
      return;
    }
    req[kTunnel] = this;
    this.pending = req;
    req.on('socket', onUpstreamSocket);
    req.on('upgrade', onUpgrade);
    req.on('response', onResponse);
    req.on('error', onRequestError);
    req.end();
  }

  /** The upstream answered 101: relay it with our cookie, then only bytes flow. */
  upgraded(res: IncomingMessage, upstream: Socket, upHead: Buffer): void {
    const r = this.record;
    const up = this.request as UpgradeRequest;
    this.pending = undefined;
    this.request = undefined;
    this.exclude = undefined;
    r.status = 101;
    r.responseMs = performance.now() - r.startMono;
    if (this.closed) {
      upstream.destroy();
      return;
    }
    this.upstream = upstream;
    (upstream as Tagged<Socket>)[kTunnel] = this;
    upstream.setTimeout(this.backend.config.timeouts.tunnelIdleMs);
    this.client.setNoDelay(true);
    this.client.write(switchingProtocolsHead(res, this.setCookie));
    if (upHead.length > 0) this.client.write(upHead);
    if (up.head.length > 0) upstream.write(up.head);
    relay(this.client, upstream);
    this.#owner.opened(this);
  }

  /** The upstream answered something else (not a WebSocket endpoint, 4xx...): relay it and close. */
  answered(res: Tagged<IncomingMessage>): void {
    this.record.status = res.statusCode ?? 502;
    this.record.responseMs = performance.now() - this.record.startMono;
    this.client.write(relayedResponseHead(res, this.setCookie));
    res[kTunnel] = this;
    res.on('error', onAnswerError);
    res.once('end', onAnswerEnd);
    res.pipe(this.client);
  }

  /** The attempt failed before any answer: retry elsewhere if nothing was sent, else answer 502/504. */
  failed(err: Error): void {
    this.pending = undefined;
    const endpoint = this.endpoint as EndpointState;
    if (!this.connected) {
      // Nothing reached the endpoint: count a connect failure and redispatch.
      this.endpoint = undefined;
      const up = this.request as UpgradeRequest;
      const next = redispatch(
        this.backend,
        endpoint,
        this,
        { cookie: up.cookie, secure: up.secure, canRetry: !this.client.destroyed, hashKey: up.hashKey },
        (event, b, e) => this.#owner.observe(event, b, e),
      );
      if (next !== undefined) {
        if (next.setCookie !== undefined) this.setCookie = next.setCookie;
        this.attempt(next.endpoint);
        return;
      }
    }
    this.#owner.logger.debug(
      {
        err: err.message,
        backend: this.backend.config.id,
        endpoint: endpoint.id,
        route: this.record.routeId,
      },
      'upgrade failed',
    );
    this.fail(this.timedOut ? 504 : 502);
  }

  /** Answers the client locally; the tunnel closes with the client socket. */
  fail(status: 502 | 504): void {
    this.record.status = status;
    if (this.client.writable) this.client.end(errorHead(status, this.hsts));
    else this.client.destroy();
  }

  /** The client socket closed: release the endpoint once and report the record. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const r = this.record;
    r.bytesIn = this.client.bytesRead - this.#readBase;
    r.bytesOut = this.client.bytesWritten - this.#writtenBase;
    r.totalMs = performance.now() - r.startMono;
    if (r.status === 0) r.status = 499;
    this.endpoint?.release();
    this.endpoint = undefined;
    this.pending?.destroy();
    this.pending = undefined;
    this.#owner.closed(this);
  }

  /** Closes both sides now (idle timer, shutdown deadline). */
  destroy(): void {
    this.client.destroy();
    this.upstream?.destroy();
    this.pending?.destroy();
  }
}

/** Connect phase: connectMs to connect, then readMs for the answer; after the 101 the same timer is the idle one. */
function onUpstreamSocket(this: Tagged<ClientRequest>, socket: Tagged<Socket>): void {
  const tunnel = this[kTunnel];
  if (tunnel === undefined) return;
  socket[kTunnel] = tunnel;
  socket.on('timeout', onUpstreamTimeout);
  if (socket.connecting) {
    socket.setTimeout(tunnel.backend.config.timeouts.connectMs);
    socket.once('connect', onUpstreamConnect);
  } else onUpstreamConnect.call(socket);
}

function onUpstreamConnect(this: Tagged<Socket>): void {
  const tunnel = this[kTunnel];
  if (tunnel === undefined) return;
  tunnel.connected = true;
  tunnel.record.connectMs = performance.now() - tunnel.record.startMono;
  tunnel.endpoint?.connectSucceeded();
  this.setNoDelay(true);
  this.setTimeout(tunnel.backend.config.timeouts.readMs);
}

function onUpstreamTimeout(this: Tagged<Socket>): void {
  const tunnel = this[kTunnel];
  if (tunnel === undefined) return;
  if (tunnel.upstream === this) {
    // Socket inactivity counts reads and writes, so one timer on the upstream side covers both directions.
    tunnel.destroy();
    return;
  }
  tunnel.timedOut = true;
  this.destroy(new UpgradeTimeoutError(tunnel.connected));
}

function onUpgrade(this: Tagged<ClientRequest>, res: IncomingMessage, socket: Socket, head: Buffer): void {
  const tunnel = this[kTunnel];
  this[kTunnel] = undefined;
  if (tunnel === undefined) socket.destroy();
  else tunnel.upgraded(res, socket, head);
}

function onResponse(this: Tagged<ClientRequest>, res: IncomingMessage): void {
  const tunnel = this[kTunnel];
  if (tunnel === undefined || tunnel.closed) this.destroy();
  else tunnel.answered(res);
}

/** The relayed answer is complete; its socket is never reused (agent: false), so it goes now. */
function onAnswerEnd(this: Tagged<IncomingMessage>): void {
  this[kTunnel] = undefined;
  this.socket?.destroy();
}

/** The relayed answer broke off midway: the client sees its connection end early. */
function onAnswerError(this: Tagged<IncomingMessage>): void {
  this[kTunnel]?.client.destroy();
}

function onRequestError(this: Tagged<ClientRequest>, err: Error): void {
  const tunnel = this[kTunnel];
  this[kTunnel] = undefined;
  if (tunnel === undefined || tunnel.closed || tunnel.pending !== this) return;
  if (tunnel.record.status !== 0) tunnel.client.destroy();
  else tunnel.failed(err);
}

function onClientClose(this: Tagged<Socket>): void {
  this[kTunnel]?.close();
}
