import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { createProxyServer, type ProxyServer } from 'http-proxy-3';
import type { Logger } from 'pino';
import type { DataplaneObserver, RequestRecord } from './observer.ts';
import type { BackendState } from './upstream/backend-state.ts';
import type { EndpointState } from './upstream/endpoint-state.ts';

/** What the tunnel layer needs from its dataplane. */
export interface TunnelContext {
  readonly logger: Logger;
  readonly observer: DataplaneObserver | undefined;
  /** Called once per tunnel when it closes (drain accounting). */
  tunnelEnded(): void;
}

const kTunnel = Symbol('sticky.tunnel');
type Tagged = { [kTunnel]?: Tunnel };

/** One upgraded connection (WebSocket) from the Upgrade request until either side closes. */
class Tunnel {
  readonly record: RequestRecord;
  readonly client: Duplex;
  readonly endpoint: EndpointState;
  readonly backend: BackendState;
  readonly setCookie: string | undefined;
  upstream: Duplex | undefined;
  timedOut = false;
  closed = false;
  #readBase: number;
  #writtenBase: number;
  #owner: WsProxy;

  constructor(
    owner: WsProxy,
    record: RequestRecord,
    client: Duplex,
    backend: BackendState,
    endpoint: EndpointState,
    setCookie: string | undefined,
  ) {
    this.#owner = owner;
    this.record = record;
    this.client = client;
    this.backend = backend;
    this.endpoint = endpoint;
    this.setCookie = setCookie;
    const s = client as Duplex & { bytesRead?: number; bytesWritten?: number };
    this.#readBase = s.bytesRead ?? 0;
    this.#writtenBase = s.bytesWritten ?? 0;
  }

  /** Either side went away: release the endpoint once and report the record. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const r = this.record;
    const s = this.client as Duplex & { bytesRead?: number; bytesWritten?: number };
    r.bytesIn = (s.bytesRead ?? 0) - this.#readBase;
    r.bytesOut = (s.bytesWritten ?? 0) - this.#writtenBase;
    r.totalMs = performance.now() - r.startMono;
    if (r.status === 0) r.status = 502;
    this.endpoint.release();
    this.upstream?.destroy();
    this.#owner.closed(this);
  }

  /** The upstream answered 101: the tunnel is open. */
  opened(): void {
    this.#owner.opened(this);
  }

  destroy(): void {
    this.client.destroy();
    this.upstream?.destroy();
  }
}

/**
 * Proxies Upgrade requests (WebSocket, socket.io's websocket transport) with http-proxy-3, pins the client with
 * the affinity cookie on the 101 response, closes idle tunnels and tracks open ones so shutdown can close them.
 */
export class WsProxy {
  #proxy: ProxyServer;
  #ctx: TunnelContext;
  #tunnels = new Set<Tunnel>();

  constructor(ctx: TunnelContext) {
    this.#ctx = ctx;
    this.#proxy = createProxyServer({ ws: true, xfwd: false });
    // http-proxy-3 emits 'error' when no callback is given; an unhandled one would crash the process.
    this.#proxy.on('error', onProxyError);
    this.#proxy.on('proxyReqWs', onProxyReqWs);
    this.#proxy.on('open', onTunnelOpen);
  }

  /** Open tunnels right now. */
  get size(): number {
    return this.#tunnels.size;
  }

  /**
   * Tunnels `req` (headers already rewritten) to `endpoint`; acquires the endpoint until the tunnel closes.
   * `record` is reported through observer.onTunnelClose.
   */
  open(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    record: RequestRecord,
    backend: BackendState,
    endpoint: EndpointState,
    setCookie: string | undefined,
  ): void {
    const tunnel = new Tunnel(this, record, socket, backend, endpoint, setCookie);
    record.tunnel = true;
    record.endpointId = endpoint.id;
    endpoint.acquire();
    this.#tunnels.add(tunnel);
    (req as IncomingMessage & Tagged)[kTunnel] = tunnel;
    (socket as Duplex & Tagged)[kTunnel] = tunnel;
    socket.once('close', onClientClose);
    const host = endpoint.address.includes(':') ? `[${endpoint.address}]` : endpoint.address;
    this.#proxy.ws(
      req,
      socket,
      head,
      {
        target: `http://${host}:${endpoint.port}`,
        connectTimeout: backend.config.timeouts.connectMs,
      },
      onTunnelError,
    );
  }

  /** Called by a tunnel when the upgrade succeeded (open-tunnel gauges). */
  opened(tunnel: Tunnel): void {
    const o = this.#ctx.observer;
    if (o?.onTunnelOpen !== undefined) {
      try {
        o.onTunnelOpen(tunnel.record);
      } catch {}
    }
  }

  /** Called by a tunnel when it closed. */
  closed(tunnel: Tunnel): void {
    this.#tunnels.delete(tunnel);
    const o = this.#ctx.observer;
    if (o !== undefined) {
      try {
        o.onTunnelClose(tunnel.record);
      } catch {}
    }
    this.#ctx.tunnelEnded();
  }

  /** Destroys every open tunnel (shutdown deadline). */
  closeAll(): void {
    for (const t of [...this.#tunnels]) t.destroy();
  }

  /** Logger access for the module-level handlers. */
  get logger(): Logger {
    return this.#ctx.logger;
  }
}

function onProxyError(err: Error, req: IncomingMessage, socket: unknown): void {
  onTunnelError(err, req, socket as Duplex);
}

function onTunnelError(err: Error, req: IncomingMessage, socket: unknown): void {
  const tunnel = (req as IncomingMessage & Tagged)[kTunnel];
  const s = socket as Duplex;
  if (tunnel !== undefined && tunnel.upstream === undefined && tunnel.record.status === 0) {
    // Failed before the upgrade completed: nothing was relayed yet, so the client can still get an answer.
    const code = (err as { code?: string }).code;
    const timeout = tunnel.timedOut || code === 'ETIMEDOUT' || (code === 'ECONNRESET' && tunnel.timedOut);
    if (!tunnel.timedOut) tunnel.endpoint.connectFailed();
    tunnel.record.status = timeout ? 504 : 502;
    if (s.writable) {
      const body = timeout ? 'Gateway Timeout\n' : 'Bad Gateway\n';
      s.write(
        `HTTP/1.1 ${timeout ? '504 Gateway Timeout' : '502 Bad Gateway'}\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
      );
    }
  }
  // Let a reply written above flush before the socket goes.
  if (s.writable) s.end();
  else s.destroy();
}

function onProxyReqWs(proxyReq: ClientRequest, req: IncomingMessage): void {
  const tunnel = (req as IncomingMessage & Tagged)[kTunnel];
  if (tunnel === undefined) return;
  (proxyReq as ClientRequest & Tagged)[kTunnel] = tunnel;
  // Registered before http-proxy-3's own 'upgrade' listener, so the 101 it writes carries our cookie.
  proxyReq.on('upgrade', onProxyUpgrade);
  proxyReq.on('response', onProxyResponse);
  proxyReq.setTimeout(tunnel.backend.config.timeouts.readMs, onProxyReqTimeout);
}

function onProxyUpgrade(this: ClientRequest & Tagged, proxyRes: IncomingMessage, proxySocket: Duplex): void {
  const tunnel = this[kTunnel];
  if (tunnel === undefined) return;
  tunnel.upstream = proxySocket;
  tunnel.record.status = 101;
  tunnel.record.responseMs = performance.now() - tunnel.record.startMono;
  tunnel.record.connectMs = tunnel.record.responseMs;
  tunnel.endpoint.connectSucceeded();
  if (tunnel.setCookie !== undefined) {
    const prior = proxyRes.headers['set-cookie'];
    proxyRes.headers['set-cookie'] = prior === undefined ? [tunnel.setCookie] : [...prior, tunnel.setCookie];
  }
  (proxySocket as Duplex & Tagged)[kTunnel] = tunnel;
  if (tunnel.closed) proxySocket.destroy();
  else tunnel.opened();
}

/** After http-proxy-3 set the socket up (it zeroes socket timeouts), so the idle timer must be armed here. */
function onTunnelOpen(proxySocket: Duplex & Tagged): void {
  const tunnel = proxySocket[kTunnel];
  if (tunnel === undefined) return;
  // Socket inactivity counts reads and writes, so one timer on the upstream side covers both directions.
  (proxySocket as Duplex & { setTimeout(ms: number): void }).setTimeout(
    tunnel.backend.config.timeouts.tunnelIdleMs,
  );
  proxySocket.once('timeout', onTunnelIdle);
}

function onProxyResponse(this: ClientRequest & Tagged, proxyRes: IncomingMessage): void {
  const tunnel = this[kTunnel];
  if (tunnel !== undefined) tunnel.record.status = proxyRes.statusCode ?? 502;
}

function onProxyReqTimeout(this: ClientRequest & Tagged): void {
  const tunnel = this[kTunnel];
  if (tunnel !== undefined && tunnel.upstream === undefined) {
    tunnel.timedOut = true;
    this.destroy(new Error('upstream did not answer the upgrade in time'));
  }
}

function onTunnelIdle(this: Duplex & Tagged): void {
  this[kTunnel]?.destroy();
}

function onClientClose(this: Duplex & Tagged): void {
  this[kTunnel]?.close();
}
