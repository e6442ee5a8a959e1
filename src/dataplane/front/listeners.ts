import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { DataplaneObserver } from '../observe/observer.ts';
import { upgradeKind } from '../routing/decide.ts';
import { TLS_MIN_VERSION, type TlsContexts } from './tls-context.ts';

/** Limits applied to both listeners. */
export interface ListenerLimits {
  maxHeaderSize: number;
  /** Whole request head must arrive within this (slowloris cut-off, answered 408); also the TLS handshake limit. */
  requestHeaderTimeoutMs: number;
  keepAliveTimeoutMs: number;
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

/** The plain HTTP listener (redirects, ACME, hosts without TLS). */
export function createPlainListener(limits: ListenerLimits, handlers: ListenerHandlers): Server {
  const server = createHttpServer(serverOptions(limits));
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
): HttpsServer {
  const pem = contexts.defaultPem;
  const server = createHttpsServer({
    ...serverOptions(limits),
    cert: pem.certPem,
    key: pem.keyPem,
    minVersion: TLS_MIN_VERSION,
    ALPNProtocols: ['http/1.1'],
    SNICallback: contexts.sniCallback,
    handshakeTimeout: limits.requestHeaderTimeoutMs,
  });
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
  return server;
}

/** Replaces the certificate handshakes without SNI get (the snapshot's default changed). */
export function setDefaultCertificate(server: HttpsServer, contexts: TlsContexts): void {
  const pem = contexts.defaultPem;
  server.setSecureContext({ cert: pem.certPem, key: pem.keyPem, minVersion: TLS_MIN_VERSION });
}
