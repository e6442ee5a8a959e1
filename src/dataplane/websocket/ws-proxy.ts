import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { type DataplaneObserver, notifyUpstream, type RequestRecord } from '../observe/observer.ts';
import type { BackendState, Selection } from '../upstream/backend-state.ts';
import { Tunnel, type TunnelOwner, type UpgradeRequest } from './ws-tunnel.ts';

export type { UpgradeRequest } from './ws-tunnel.ts';

/** What the tunnel layer needs from its dataplane. */
export interface TunnelContext {
  readonly logger: Logger;
  readonly observer: DataplaneObserver | undefined;
  /** Called once per tunnel when it closes (drain accounting). */
  tunnelEnded(): void;
}

/**
 * Proxies Upgrade requests (WebSocket, socket.io's websocket transport): one node:http request per attempt,
 * connect failures retried on another endpoint, the 101 carrying the affinity cookie, then a byte relay that
 * follows frame boundaries. Tracks open tunnels so shutdown can close them (1001, then destroyed after a grace).
 */
export class WsProxy implements TunnelOwner {
  #ctx: TunnelContext;
  #tunnels = new Set<Tunnel>();

  constructor(ctx: TunnelContext) {
    this.#ctx = ctx;
  }

  /** Open tunnels right now (handshakes included). */
  get size(): number {
    return this.#tunnels.size;
  }

  /**
   * Tunnels the client socket to the endpoint `selection` chose; acquires endpoints while in use.
   * `record` is reported through observer.onTunnelClose when the client socket closes.
   */
  open(
    client: Socket,
    up: UpgradeRequest,
    record: RequestRecord,
    backend: BackendState,
    selection: Selection,
  ): void {
    const tunnel = new Tunnel(this, client, up, record, backend, selection);
    this.#tunnels.add(tunnel);
    tunnel.attempt(selection.endpoint);
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

  /** Called by a tunnel when its client socket closed. */
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

  /** A connect failure or a retry of one of the tunnels. Observer errors never reach the tunnel. */
  observe(event: 'failure' | 'retry', backendId: string, endpointId: string): void {
    notifyUpstream(this.#ctx.observer, event, backendId, endpointId);
  }

  /** Shutdown deadline: every open tunnel starts a clean close (1001); handshakes in flight are destroyed. */
  goAway(): void {
    for (const t of [...this.#tunnels]) t.goAway();
  }

  /** Destroys every open tunnel (end of the shutdown grace). */
  closeAll(): void {
    for (const t of [...this.#tunnels]) t.destroy();
  }

  /** Logger for the tunnels. */
  get logger(): Logger {
    return this.#ctx.logger;
  }
}
