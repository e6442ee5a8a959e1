import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { type DataplaneObserver, notifyRejected } from '../observe/observer.ts';
import { upgradeKind } from '../routing/decide.ts';
import { type H2CloseReason, type H2Front, type H2Limits, installHttp2 } from './h2-front.ts';
import { adoptTlsAddress } from './proxy-accept.ts';
import { contextOptions, type TlsContexts } from './tls-context.ts';
import type { TicketKeys } from './tls-tickets.ts';

/** Limits applied to both listeners. */
export interface ListenerLimits {
  maxHeaderSize: number;
  /** Whole request head must arrive within this (slowloris cut-off, answered 408); also the TLS handshake limit. */
  requestHeaderTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** Open client connections per listener; beyond it node closes new ones at once ('drop'). */
  maxClientConnections: number;
}

/** The callbacks a listener drives; `secure` tells which listener the request came in on. */
export interface ListenerHandlers {
  request(req: IncomingMessage, res: ServerResponse, secure: boolean): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, secure: boolean): void;
}

function serverOptions(limits: ListenerLimits) {
  return {
    // Only GET + `Upgrade: websocket` becomes an 'upgrade' (a tunnel); any other Upgrade (h2c, a POST...) is
    // a plain 'request' whose Upgrade header is dropped as hop-by-hop: no raw tunnel past routing (h2c smuggling).
    shouldUpgradeCallback: (req: IncomingMessage) =>
      upgradeKind(req.method, req.headers.upgrade) === 'websocket',
    maxHeaderSize: limits.maxHeaderSize,
    // A request without Content-Length or Transfer-Encoding has no body (RFC 9112 6.3): node hands it over
    // already ended, so no 'data'/'end'/'close' events, resume or ticks run for its empty stream.
    optimizeEmptyRequests: true,
    headersTimeout: limits.requestHeaderTimeoutMs,
    // Bodies stream to the upstream, whose bodyTimeout bounds a stalled upload; a whole-request deadline
    // would cut legitimate long uploads.
    requestTimeout: 0,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // How often node checks headersTimeout; the default 30 s would let a slow client hold a socket far longer.
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(limits.requestHeaderTimeoutMs / 4))),
  };
}

/** Caps open connections; every connection dropped over the cap is counted. */
function capConnections(server: Server | HttpsServer, limits: ListenerLimits, observer?: DataplaneObserver) {
  server.maxConnections = limits.maxClientConnections;
  server.on('drop', () => notifyRejected(observer, 'client_connections'));
}

/** The plain HTTP listener (redirects, ACME, hosts without TLS). */
export function createPlainListener(
  limits: ListenerLimits,
  handlers: ListenerHandlers,
  observer?: DataplaneObserver,
): Server {
  const server = createHttpServer(serverOptions(limits));
  capConnections(server, limits, observer);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => handlers.request(req, res, false));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
    handlers.upgrade(req, socket, head, false),
  );
  return server;
}

/** HTTP/2 on the HTTPS listener (--http2): its session limits, the answer to a malformed request, and who
 * hears of the connections we end (metrics). */
export interface Http2Setup {
  limits: H2Limits;
  malformed(res: ServerResponse): void;
  closed?(reason: H2CloseReason): void;
}

/**
 * The HTTPS listener: SNI picks the certificate, TLS 1.2+, ALPN http/1.1, or with `http2` `h2` first then
 * http/1.1 (h2-front.ts). `h2` is the open h2 sessions (drain, close), undefined without `http2`.
 */
export function createTlsListener(
  limits: ListenerLimits,
  handlers: ListenerHandlers,
  contexts: TlsContexts,
  observer: DataplaneObserver | undefined,
  tickets: TicketKeys,
  http2?: Http2Setup,
): { server: HttpsServer; h2: H2Front | undefined } {
  const server = createHttpsServer({
    ...serverOptions(limits),
    ...contextOptions(contexts.defaultPem, contexts.groups),
    ALPNProtocols: http2 ? ['h2', 'http/1.1'] : ['http/1.1'],
    SNICallback: contexts.sniCallback,
    handshakeTimeout: limits.requestHeaderTimeoutMs,
  });
  // First, while node's own HTTP/1.1 handler is the only 'secureConnection' listener: the ALPN switch takes
  // its place; everything added below (PROXY address, handshake metrics) runs for h2 and http/1.1 alike.
  const h2 =
    http2 === undefined
      ? undefined
      : installHttp2(server, http2.limits, {
          ...handlers,
          malformed: http2.malformed,
          ...(http2.closed ? { closed: http2.closed } : {}),
        });
  // Before node's HTTP layer sees the TLS socket: a PROXY-protocol client address replaces the kernel peer.
  server.prependListener('secureConnection', adoptTlsAddress);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => handlers.request(req, res, true));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
    handlers.upgrade(req, socket, head, true),
  );
  if (observer?.onTlsHandshake !== undefined) {
    server.on('secureConnection', (socket: TLSSocket) => {
      try {
        observer.onTlsHandshake?.(
          true,
          (socket as TLSSocket & { servername?: string | false }).servername || undefined,
        );
      } catch {}
    });
    server.on('tlsClientError', () => {
      try {
        observer.onTlsHandshake?.(false);
      } catch {}
    });
  }
  capConnections(server, limits, observer);
  // Session tickets are encrypted with the server's (initial) context keys, whatever context SNI selects.
  tickets.attach(server);
  return { server, h2 };
}

/** Replaces the certificate handshakes without SNI get (the snapshot's default changed). */
export function setDefaultCertificate(server: HttpsServer, contexts: TlsContexts, tickets: TicketKeys): void {
  server.setSecureContext(contextOptions(contexts.defaultPem, contexts.groups));
  // setSecureContext() draws fresh random ticket keys: put the shared ones back.
  tickets.attach(server);
}
