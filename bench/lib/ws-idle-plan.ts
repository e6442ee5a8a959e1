import { readFileSync } from 'node:fs';

/**
 * How the idle-tunnel bench (ws-idle) spreads N tunnels over processes so that none reaches the open-files
 * limit (RLIMIT_NOFILE, 20,000 hard on the bench machine, not raisable without CAP_SYS_RESOURCE): one
 * descriptor per tunnel in the clients and in the echo backends, two in the proxy (client side and
 * upstream side). Pure: the limit is an argument; `openFilesLimit()` reads this process's.
 */
export interface IdlePlan {
  /** Child processes holding the client WebSockets (tunnels each, in opening order). */
  clients: number[];
  /** WebSocket echo backend processes: 1 (both ports in one, the default) or 2 (one per port). */
  backendProcesses: number;
  /** Processes the proxy needs (sticky `--workers`, nginx `worker_processes`); 1 keeps the default setup. */
  proxyProcesses: number;
}

/** Share of the limit one client process may use: "well under", so its own sockets and modules fit. */
const CLIENT_SHARE = 0.25;
/** Share of the limit one proxy process is planned for; the rest absorbs uneven spreading between workers. */
const PROXY_SHARE = 0.5;
/** Share one backend process may use (the socket.io servers and listeners need a few more descriptors). */
const BACKEND_SHARE = 0.8;
/** Descriptors a process holds before any tunnel (listeners, pipes, logs, libuv, the IPC channel). */
export const BASE_FDS = 200;

/** The plan for `tunnels` idle tunnels under a per-process limit of `fdLimit` descriptors. */
export function planIdleTunnels(tunnels: number, fdLimit: number): IdlePlan {
  if (!Number.isInteger(tunnels) || tunnels < 0) throw new Error(`tunnels must be a count, got ${tunnels}`);
  const perClient = Math.max(1, Math.floor(fdLimit * CLIENT_SHARE));
  const clientCount = Math.max(1, Math.ceil(tunnels / perClient));
  const clients = Array.from(
    { length: clientCount },
    (_, i) => Math.floor((tunnels * (i + 1)) / clientCount) - Math.floor((tunnels * i) / clientCount),
  );
  const perBackend = Math.floor(fdLimit * BACKEND_SHARE) - BASE_FDS;
  // Two backend ports (bench/lib/configs.ts Topology.node), balanced round-robin by every proxy.
  const backendProcesses = tunnels <= perBackend ? 1 : 2;
  if (Math.ceil(tunnels / 2) > perBackend) {
    throw new Error(`${tunnels} tunnels need more than two backend processes of ${fdLimit} descriptors`);
  }
  const proxyProcesses = Math.max(1, Math.ceil((2 * tunnels) / Math.floor(fdLimit * PROXY_SHARE)));
  return { clients, backendProcesses, proxyProcesses };
}

/**
 * Why a proxy that runs as one process cannot hold `tunnels` (undefined when it can): HAProxy 2.6 is one
 * process with threads (`nbthread`), so all 2N descriptors are in it.
 */
export function singleProcessRefusal(tunnels: number, fdLimit: number): string | undefined {
  const needed = 2 * tunnels + BASE_FDS;
  if (needed <= fdLimit) return undefined;
  return `one process (nbthread) would need ${needed} descriptors for ${tunnels} tunnels; the open-files limit is ${fdLimit} per process`;
}

/** This process's soft open-files limit (children inherit it), from /proc/self/limits. */
export function openFilesLimit(limitsText = readFileSync('/proc/self/limits', 'utf8')): number {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(limitsText);
  if (!m || m[1] === 'unlimited') return Number.POSITIVE_INFINITY;
  return Number(m[1]);
}
