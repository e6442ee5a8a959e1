import { setTimeout as sleep } from 'node:timers/promises';
import type { TunnelOpener } from './ws-idle-clients.ts';

/** Idle-tunnel run: open `tunnels` WebSockets through the proxy, hold them, close them. */
export interface WsIdleOptions {
  /** Who holds the client side of the tunnels (child processes: bench/lib/ws-idle-clients.ts). */
  clients: TunnelOpener;
  tunnels: number;
  /** Reads the proxy's RSS (KiB) from /proc. */
  rssKiB: () => number;
  /** Pause before each RSS read, so lazily freed memory and timers settle. */
  settleMs: number;
  /** Pause after close before the last RSS read (the memory given back within this time counts). */
  closeSettleMs?: number;
  /** Called while every tunnel is open, after the RSS read (per-process descriptor and tunnel counts). */
  whileOpen?: () => Promise<void>;
}

/** RSS before, with all tunnels open, and after close (KiB), and the cost per tunnel (KiB). */
export interface WsIdleResult {
  tunnels: number;
  rssBeforeKiB: number;
  rssOpenKiB: number;
  rssAfterCloseKiB: number;
  kibPerTunnel: number;
  /** Share of the growth given back after close (1 = all, 0 = none). */
  returnedRatio: number;
  failed: number;
}

/**
 * Warms the proxy's WebSocket path up with a small batch first (code paths, pools), so the per-tunnel figure
 * is the steady cost, then measures. The clients open in batches of 100 to stay under accept backlogs.
 */
export async function runWsIdle(o: WsIdleOptions): Promise<WsIdleResult> {
  await o.clients.open(Math.min(100, o.tunnels));
  await o.clients.closeAll();
  await sleep(o.settleMs);
  const rssBeforeKiB = o.rssKiB();
  const opened = await o.clients.open(o.tunnels);
  await sleep(o.settleMs);
  const rssOpenKiB = o.rssKiB();
  await o.whileOpen?.();
  await o.clients.closeAll();
  await sleep(o.closeSettleMs ?? o.settleMs);
  const rssAfterCloseKiB = o.rssKiB();
  return idleFigures({ tunnels: o.tunnels, opened, rssBeforeKiB, rssOpenKiB, rssAfterCloseKiB });
}

/** Per-tunnel cost and the share returned from the three RSS reads (NaN when nothing opened or grew). */
export function idleFigures(r: {
  tunnels: number;
  opened: number;
  rssBeforeKiB: number;
  rssOpenKiB: number;
  rssAfterCloseKiB: number;
}): WsIdleResult {
  const growth = r.rssOpenKiB - r.rssBeforeKiB;
  return {
    tunnels: r.opened,
    rssBeforeKiB: r.rssBeforeKiB,
    rssOpenKiB: r.rssOpenKiB,
    rssAfterCloseKiB: r.rssAfterCloseKiB,
    kibPerTunnel: r.opened > 0 ? growth / r.opened : Number.NaN,
    returnedRatio: growth > 0 ? (r.rssOpenKiB - r.rssAfterCloseKiB) / growth : Number.NaN,
    failed: r.tunnels - r.opened,
  };
}
