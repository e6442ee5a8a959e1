import { setTimeout as sleep } from 'node:timers/promises';
import type WebSocket from 'ws';
import { close, open } from './ws-echo.ts';

/** Idle-tunnel run: open `tunnels` WebSockets through the proxy, hold them, close them. */
export interface WsIdleOptions {
  url: string;
  host: string;
  tunnels: number;
  /** Reads the proxy's RSS (KiB) from /proc. */
  rssKiB: () => number;
  /** Pause before each RSS read, so lazily freed memory and timers settle. */
  settleMs: number;
  /** Pause after close before the last RSS read (the memory given back within this time counts). */
  closeSettleMs?: number;
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
 * is the steady cost, then measures. Opens in batches of 100 to stay under accept backlogs.
 */
export async function runWsIdle(o: WsIdleOptions): Promise<WsIdleResult> {
  await closeAll(await openMany(o, Math.min(100, o.tunnels)));
  await sleep(o.settleMs);
  const rssBeforeKiB = o.rssKiB();
  const sockets = await openMany(o, o.tunnels);
  await sleep(o.settleMs);
  const rssOpenKiB = o.rssKiB();
  await closeAll(sockets.filter((s): s is WebSocket => s !== undefined));
  await sleep(o.closeSettleMs ?? o.settleMs);
  const rssAfterCloseKiB = o.rssKiB();
  const opened = sockets.filter((s) => s !== undefined).length;
  const growth = rssOpenKiB - rssBeforeKiB;
  return {
    tunnels: opened,
    rssBeforeKiB,
    rssOpenKiB,
    rssAfterCloseKiB,
    kibPerTunnel: opened > 0 ? growth / opened : Number.NaN,
    returnedRatio: growth > 0 ? (rssOpenKiB - rssAfterCloseKiB) / growth : Number.NaN,
    failed: o.tunnels - opened,
  };
}

async function openMany(o: WsIdleOptions, n: number): Promise<(WebSocket | undefined)[]> {
  const out: (WebSocket | undefined)[] = [];
  for (let i = 0; i < n; i += 100) {
    const batch = Array.from({ length: Math.min(100, n - i) }, () => open(o).catch(() => undefined));
    out.push(...(await Promise.all(batch)));
  }
  return out;
}

async function closeAll(sockets: readonly (WebSocket | undefined)[]): Promise<void> {
  await Promise.all(sockets.map((s) => (s ? close(s) : undefined)));
}
