import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  constants,
  createServer as createH2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { H2TunnelSocket, upgradeRequestOf } from './h2-tunnel.ts';

/**
 * HTTP/2 for clients on the HTTPS listener (`--http2`). The HTTPS server stays the one listener: SNI
 * certificates, session tickets, the passthrough peek, PROXY protocol and the connection cap all act before
 * ALPN is known. After the handshake a connection that chose `h2` goes to a node:http2 session, one that chose
 * `http/1.1` (or nothing) to node's HTTP/1.1 parser exactly as without the flag. h2 requests reach the same
 * request handler through node's compatibility API: one request path, one decide(), one retry, HTTP/1.1 to
 * the upstreams.
 */

/** Limits of the HTTP/2 sessions (RFC 9113 6.5.2 settings and nghttp2's flood guards). */
export interface H2Limits {
  /** SETTINGS_MAX_CONCURRENT_STREAMS: streams one connection may have open; more are refused (RST_STREAM). */
  maxConcurrentStreams: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE, and the bytes of one decoded header list accepted (as maxHeaderSize on h1). */
  maxHeaderListSize: number;
  /** Idle time of a session with no open stream before it is closed with GOAWAY (the h1 keep-alive timeout). */
  idleTimeoutMs: number;
  /**
   * Time from the handshake to the client's connection preface (its first SETTINGS, RFC 9113 3.4); a client
   * that chose h2 and stays silent is closed then (the h1 request-header timeout, where h1 answers 408).
   */
  prefaceTimeoutMs: number;
}

/** Why we ended an h2 connection ourselves: no preface in time, or rapid reset (CVE-2023-44487). */
export type H2CloseReason = 'preface_timeout' | 'rapid_reset';

/**
 * Rapid reset (CVE-2023-44487): nghttp2 counts RST_STREAM frames from the client per connection in a token
 * bucket (burst 1000, then 33 a second; its defaults, set here so they are visible) and ends the connection
 * with GOAWAY INTERNAL_ERROR past it. Each reset stream still cost us a decide() and an upstream dispatch, so
 * we count earlier and stricter: more than CLIENT_RESETS_MAX streams the client cancels before their answer
 * within CLIENT_RESETS_WINDOW_MS end the connection with GOAWAY ENHANCE_YOUR_CALM (RFC 9113 7, code 0xb).
 * A browser cancels a few streams when a page navigates away, never hundreds a second.
 */
const STREAM_RESET_BURST = 1000;
const STREAM_RESET_RATE = 33;
const CLIENT_RESETS_MAX = 100;
const CLIENT_RESETS_WINDOW_MS = 10_000;
/** After an ENHANCE_YOUR_CALM GOAWAY, the session is destroyed if it has not closed by then. */
const GOAWAY_GRACE_MS = 1_000;

/**
 * What the h2 sessions drive: `request` is the HTTP/1.1 listener's own callback (`secure` always true here);
 * `malformed` answers a request refused before routing (400 from the dataplane's one table of answers).
 */
export interface H2Handlers {
  request(req: IncomingMessage, res: ServerResponse, secure: boolean): void;
  /** The HTTP/1.1 listener's Upgrade callback: extended CONNECT arrives here as GET + Upgrade (h2-tunnel.ts). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, secure: boolean): void;
  malformed(res: ServerResponse): void;
  /** We ended a connection for `reason` (counted in a metric); must not throw. */
  closed?(reason: H2CloseReason): void;
}

/** Open HTTP/2 sessions of one listener; drain() sends GOAWAY, close() destroys them. */
export interface H2Front {
  readonly sessions: number;
  /** Graceful: GOAWAY to every session (RFC 9113 6.8); open streams finish, no new ones are accepted. */
  drain(): void;
  /** Destroys every session (the drain deadline passed). */
  close(): void;
}

const kOpen = Symbol('sticky.h2.open');
const kResets = Symbol('sticky.h2.resets');
const kHandlers = Symbol('sticky.h2.handlers');
type Counted = Http2Session & {
  [kOpen]?: number;
  [kResets]?: { since: number; count: number };
  [kHandlers]?: H2Handlers;
};

/**
 * Puts the ALPN switch in place of node's own HTTP/1.1 'secureConnection' handling on `server`, which must
 * offer `h2` in ALPNProtocols. Call it before adding any 'secureConnection' listener of ours: the ones
 * present now (node's) see only HTTP/1.1 sockets; ones added later see every connection.
 */
export function installHttp2(server: HttpsServer, limits: H2Limits, handlers: H2Handlers): H2Front {
  const http1 = server.listeners('secureConnection') as ((s: TLSSocket) => void)[];
  for (const l of http1) server.removeListener('secureConnection', l);
  const sessions = new Set<ServerHttp2Session>();
  let draining = false;
  const h2 = createH2Server({
    settings: {
      maxConcurrentStreams: limits.maxConcurrentStreams,
      maxHeaderListSize: limits.maxHeaderListSize,
      enablePush: false,
      // RFC 8441: WebSockets over h2, converted to an HTTP/1.1 Upgrade toward the backend (h2-tunnel.ts).
      enableConnectProtocol: true,
    },
    streamResetBurst: STREAM_RESET_BURST,
    streamResetRate: STREAM_RESET_RATE,
  });
  h2.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    (session as Counted)[kOpen] = 0;
    (session as Counted)[kHandlers] = handlers;
    session.on('stream', onStream);
    session.once('close', () => sessions.delete(session));
    session.on('error', ignore);
    awaitPreface(session, limits.prefaceTimeoutMs, handlers);
    session.setTimeout(limits.idleTimeoutMs, () => {
      // A long poll or a slow upstream keeps a stream open without bytes: only a session with none is idle.
      if (((session as Counted)[kOpen] ?? 0) === 0) session.close();
    });
    if (draining) session.close();
  });
  h2.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => {
    // The compat objects carry the IncomingMessage/ServerResponse members the request path uses.
    const response = res as unknown as ServerResponse;
    if (adoptAuthority(req)) handlers.request(req as unknown as IncomingMessage, response, true);
    else handlers.malformed(response);
  });
  h2.on('connect', (req: Http2ServerRequest, res: Http2ServerResponse) => {
    // Only `:protocol websocket` (RFC 8441 4); a classic CONNECT (a forward-proxy tunnel) is not ours: 405.
    if (req.headers[':protocol'] !== 'websocket') {
      res.writeHead(405, { 'content-length': '0' });
      res.end();
      return;
    }
    if (!adoptAuthority(req)) {
      handlers.malformed(res as unknown as ServerResponse);
      return;
    }
    handlers.upgrade(upgradeRequestOf(req), new H2TunnelSocket(req.stream), Buffer.alloc(0), true);
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    if (socket.alpnProtocol === 'h2') h2.emit('connection', socket);
    else for (const l of http1) l.call(server, socket);
  });
  return {
    get sessions() {
      return sessions.size;
    },
    drain() {
      draining = true;
      for (const s of sessions) s.close();
    },
    close() {
      for (const s of sessions) s.destroy();
      sessions.clear();
    },
  };
}

function onStream(this: Counted, stream: ServerHttp2Stream): void {
  this[kOpen] = (this[kOpen] ?? 0) + 1;
  stream.once('close', () => {
    this[kOpen] = (this[kOpen] ?? 1) - 1;
  });
  // 'aborted': the client reset the stream before our answer ended (its RST_STREAM, not ours).
  stream.once('aborted', () => clientReset(this));
}

/** Counts one stream the client cancelled; past the limit the connection ends with ENHANCE_YOUR_CALM. */
function clientReset(session: Counted): void {
  // A connection that went away (socket closed) aborts every open stream: that is no RST_STREAM, no attack.
  if (session.closed || session.destroyed || session.socket?.destroyed !== false) return;
  const now = performance.now();
  let r = session[kResets];
  if (r === undefined || now - r.since > CLIENT_RESETS_WINDOW_MS) {
    r = { since: now, count: 0 };
    session[kResets] = r;
  }
  if (++r.count <= CLIENT_RESETS_MAX) return;
  session[kHandlers]?.closed?.('rapid_reset');
  // GOAWAY, then a graceful close so the frame is flushed before the FIN (a destroy() with unread client
  // bytes resets the TCP connection and the client never reads the code); streams it already opened end.
  session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM);
  session.close();
  setTimeout(() => session.destroy(), GOAWAY_GRACE_MS).unref();
}

/**
 * A client that negotiated h2 owes its preface at once (RFC 9113 3.4: "MUST" send it as the first bytes).
 * One that stays silent holds a connection slot and a session for nothing: ended after `ms` (a destroy: it
 * sent no stream to answer, so there is nothing a GOAWAY would let finish). node:http2 emits 'remoteSettings'
 * when the preface's SETTINGS arrives.
 */
function awaitPreface(session: ServerHttp2Session, ms: number, handlers: H2Handlers): void {
  const timer = setTimeout(() => {
    if (session.destroyed) return;
    handlers.closed?.('preface_timeout');
    session.destroy();
  }, ms);
  timer.unref();
  const stop = () => clearTimeout(timer);
  session.once('remoteSettings', stop);
  session.once('close', stop);
}

/**
 * `:authority` is the request's host (RFC 9113 8.3.1): copied to `host` for everything that reads Host. A
 * request carrying both that disagree is malformed (the same section): 400, so no layer can route on one and
 * forward the other. False for such a request.
 */
function adoptAuthority(req: Http2ServerRequest): boolean {
  const h = req.headers;
  const authority = h[':authority'];
  const host = h.host;
  if (authority === undefined) return true;
  if (host === undefined) {
    h.host = authority;
    return true;
  }
  return host.toLowerCase() === authority.toLowerCase();
}

function ignore(): void {}
