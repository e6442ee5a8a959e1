import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { CidrSet } from '../front/cidr.ts';
import { forwardedFor } from '../front/forwarded.ts';
import { BODIES } from '../http/responses.ts';
import { RequestRecord } from '../observe/observer.ts';
import type { CompiledConfig } from '../routing/compile.ts';
import { httpsLocation, isAcmeChallenge } from '../routing/redirect.ts';
import { findHost, findRoute, normalizeHost, requestPath } from '../routing/router.ts';
import type { BackendState } from '../upstream/backend-state.ts';
import { upgradeRequestHeaders } from './ws-head.ts';
import { type TunnelContext, WsProxy } from './ws-proxy.ts';

const REASONS: Readonly<Record<number, string>> = {
  301: 'Moved Permanently',
  302: 'Found',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  404: 'Not Found',
  503: 'Service Unavailable',
};

/**
 * Upgrade requests (WebSocket): routed like any request, answered on the raw socket when they cannot be
 * tunnelled (404, redirect, 503), otherwise handed to the WsProxy with forwarded headers set.
 */
export class UpgradeHandler {
  #ws: WsProxy;
  #ctx: TunnelContext;
  #trusted: CidrSet;
  #httpsPort: () => number;

  constructor(ctx: TunnelContext, trusted: CidrSet, httpsPort: () => number) {
    this.#ctx = ctx;
    this.#ws = new WsProxy(ctx);
    this.#trusted = trusted;
    this.#httpsPort = httpsPort;
  }

  /** Open tunnels. */
  get tunnels(): number {
    return this.#ws.size;
  }

  /** Destroys every open tunnel. */
  closeAll(): void {
    this.#ws.closeAll();
  }

  /** Routes and tunnels one Upgrade request read from `config` (the snapshot current at arrival). */
  handle(
    config: CompiledConfig<BackendState>,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    secure: boolean,
  ): void {
    const record = new RequestRecord();
    record.startTime = Date.now();
    record.startMono = performance.now();
    record.method = req.method ?? '';
    record.tunnel = true;
    const host = normalizeHost(req.headers.host);
    const path = requestPath(req.url);
    record.host = host;
    record.path = path;
    if (secure) {
      const s = req.socket as TLSSocket;
      record.tlsVersion = s.getProtocol() ?? '';
      record.sni = (s as TLSSocket & { servername?: string | false }).servername || '';
    }
    const fwd = forwardedFor(req, secure, this.#trusted);
    record.clientAddress = fwd.realIp;
    socket.on('error', ignore);
    if (path === '') {
      this.#reply(socket, record, 400);
      return;
    }
    const vhost = findHost(config, host);
    const route = vhost === undefined ? undefined : findRoute(vhost, path);
    if (route === undefined) {
      this.#reply(socket, record, 404);
      return;
    }
    record.routeId = route.id;
    record.backendId = route.backendId;
    record.sourceNamespace = route.route.source.namespace;
    record.sourceName = route.route.source.name;
    if (!secure && route.redirectToHttps && !isAcmeChallenge(path)) {
      const location = httpsLocation(host, req.url as string, this.#httpsPort());
      if (location === undefined) {
        this.#reply(socket, record, 400);
        return;
      }
      this.#reply(socket, record, route.redirectCode, `location: ${location}\r\n`);
      return;
    }
    const backend = route.backend;
    const selection = backend?.pick(req.headers.cookie, secure);
    if (backend === undefined || selection === undefined) {
      this.#reply(socket, record, 503);
      return;
    }
    record.affinity = selection.affinity;
    const up = {
      method: req.method ?? 'GET',
      path: req.url as string,
      headers: upgradeRequestHeaders(req, fwd),
      head,
      cookie: req.headers.cookie,
      secure,
    };
    // Upgrade sockets from node:http and node:https are net.Socket / tls.TLSSocket.
    this.#ws.open(socket as Socket, up, record, backend, selection);
  }

  #reply(socket: Duplex, record: RequestRecord, status: number, extra = ''): void {
    record.status = status;
    const body = status >= 400 ? (BODIES[status] ?? '') : '';
    socket.end(
      `HTTP/1.1 ${status} ${REASONS[status] ?? ''}\r\n${extra}content-type: text/plain; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
    record.totalMs = performance.now() - record.startMono;
    const o = this.#ctx.observer;
    if (o !== undefined) {
      try {
        o.onRequest(record);
      } catch {}
    }
  }
}

function ignore(): void {}
