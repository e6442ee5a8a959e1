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

/** The HTTPS listener: SNI picks the certificate, TLS 1.2+, ALPN http/1.1 only. */
export function createTlsListener(
  limits: ListenerLimits,
  handlers: ListenerHandlers,
  contexts: TlsContexts,
  observer: DataplaneObserver | undefined,
  tickets: TicketKeys,
): HttpsServer {
  const server = createHttpsServer({
    ...serverOptions(limits),
    ...contextOptions(contexts.defaultPem),
    ALPNProtocols: ['http/1.1'],
    SNICallback: contexts.sniCallback,
    handshakeTimeout: limits.requestHeaderTimeoutMs,
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
  return server;
}

/** Replaces the certificate handshakes without SNI get (the snapshot's default changed). */
export function setDefaultCertificate(server: HttpsServer, contexts: TlsContexts, tickets: TicketKeys): void {
  server.setSecureContext(contextOptions(contexts.defaultPem));
  // setSecureContext() draws fresh random ticket keys: put the shared ones back.
  tickets.attach(server);
}
