import { performance } from 'node:perf_hooks';
import { HTTP_HOST, TLS_HOST } from './configs.ts';
import type { RunningProxy, ScenarioId } from './contestants.ts';
import { runH2load } from './h2load.ts';
import { cpuJiffies, type ProcessGroup, treeCpuSeconds, treeDescriptors, treeRssKiB } from './procs.ts';
import { runSocketIo } from './socketio.ts';
import { runTlsHandshakes } from './tls-handshakes.ts';
import { runWrk } from './wrk.ts';
import { runWsEcho } from './ws-echo.ts';
import { runWsIdle } from './ws-idle.ts';
import { TunnelClients } from './ws-idle-clients.ts';
import type { IdlePlan } from './ws-idle-plan.ts';

/** Durations and sizes of one bench mode (full or --quick). */
export interface Settings {
  rounds: number;
  httpSeconds: number;
  seconds: number;
  connections: number;
  /** h2 scenario: h2load clients (connections) and concurrent streams on each (`-c`, `-m`). */
  h2Clients: number;
  h2Streams: number;
  wsEchoConnections: number;
  socketIoConcurrency: number;
  handshakeConcurrency: number;
  idleTunnels: number;
  /** How ws-idle spreads the tunnels over processes (bench/lib/ws-idle-plan.ts); set by run.ts. */
  idlePlan?: IdlePlan;
  /** ws-idle over TLS (wss:// to the HTTPS listener, Host tls.bench). */
  idleTls?: boolean;
  /** Pause after closing the tunnels before the last RSS read (default settleMs; issue 13 asks for 30 s). */
  closeSettleMs?: number;
  settleMs: number;
  /** CPU list wrk runs on (the load-generator core). */
  loadCpu: string;
  /** Who opens the new TLS connections: wrk with `Connection: close` (default) or the Node client. */
  handshakeClient: 'wrk' | 'node';
}

/** Named figures of one run; `proxyCpu`/`loadCpu`: proxy tree's and load core's CPU use (1 = one full core). */
export type Figures = Record<string, number>;

/** Where a scenario may start helper processes (ws-idle's tunnel clients) and write their logs. */
export interface ScenarioContext {
  procs: ProcessGroup;
  dir: string;
}

/** Runs one scenario against one proxy and returns its figures, proxy CPU use included. */
export async function runScenario(
  id: ScenarioId,
  proxy: RunningProxy,
  s: Settings,
  ctx: ScenarioContext,
): Promise<Figures> {
  const cpu0 = treeCpuSeconds(proxy.proc.pid);
  const load0 = cpuJiffies(Number(s.loadCpu));
  const t0 = performance.now();
  const figures = id === 'ws-idle' ? await wsIdle(proxy, s, ctx) : await measure(id, proxy, s);
  const wall = (performance.now() - t0) / 1000;
  const load1 = cpuJiffies(Number(s.loadCpu));
  figures.proxyCpu = (treeCpuSeconds(proxy.proc.pid) - cpu0) / wall;
  // Whole load core (wrk or Node client + backends + anything else on it): near 1 means it, not the proxy, limits.
  figures.loadCpu = (load1.busy - load0.busy) / Math.max(1, load1.total - load0.total);
  return figures;
}

async function measure(id: ScenarioId, proxy: RunningProxy, s: Settings): Promise<Figures> {
  const { http, https } = proxy.ports;
  const wrk = { connections: s.connections, cpu: s.loadCpu };
  switch (id) {
    case 'http': {
      const r = await runWrk({
        ...wrk,
        url: `http://127.0.0.1:${http}/`,
        seconds: s.httpSeconds,
        headers: [`Host: ${HTTP_HOST}`],
      });
      return { rps: r.requestsPerSec, p50Ms: r.p50Ms, p99Ms: r.p99Ms, errors: r.non2xx3xx + r.socketErrors };
    }
    case 'https': {
      const r = await runWrk({
        ...wrk,
        url: `https://127.0.0.1:${https}/`,
        seconds: s.seconds,
        headers: [`Host: ${TLS_HOST}`],
      });
      return { rps: r.requestsPerSec, p50Ms: r.p50Ms, p99Ms: r.p99Ms, errors: r.non2xx3xx + r.socketErrors };
    }
    case 'h2': {
      // HTTP/2 over TLS, ALPN h2 only, many streams in flight on few keep-alive connections (issue 16 item 4).
      const r = await runH2load({
        url: `https://${TLS_HOST}:${https}/`,
        connectTo: `127.0.0.1:${https}`,
        seconds: s.seconds,
        clients: s.h2Clients,
        streams: s.h2Streams,
        cpu: s.loadCpu,
      });
      return { rps: r.requestsPerSec, meanMs: r.meanMs, errors: r.failed + r.non2xx3xx };
    }
    case 'handshake': {
      if (s.handshakeClient === 'node') return nodeHandshakes(proxy, s);
      const r = await runWrk({
        connections: s.handshakeConcurrency,
        cpu: s.loadCpu,
        url: `https://127.0.0.1:${https}/`,
        seconds: s.seconds,
        headers: [`Host: ${TLS_HOST}`, 'Connection: close'],
      });
      return {
        perSec: r.requestsPerSec,
        p50Ms: r.p50Ms,
        p99Ms: r.p99Ms,
        errors: r.non2xx3xx + r.socketErrors,
      };
    }
    case 'redirect': {
      const r = await runWrk({
        ...wrk,
        url: `http://127.0.0.1:${http}/`,
        seconds: s.seconds,
        headers: [`Host: ${TLS_HOST}`],
      });
      return { rps: r.requestsPerSec, p99Ms: r.p99Ms, errors: r.non2xx3xx + r.socketErrors };
    }
    case 'ws-echo': {
      const url = `ws://127.0.0.1:${http}/ws`;
      const r = await runWsEcho({
        url,
        host: HTTP_HOST,
        connections: s.wsEchoConnections,
        seconds: s.seconds,
      });
      return { msgsPerSec: r.messagesPerSec, p50Ms: r.p50Ms, p99Ms: r.p99Ms, errors: r.errors };
    }
    case 'socketio': {
      const origin = `http://127.0.0.1:${http}`;
      const r = await runSocketIo({
        origin,
        host: HTTP_HOST,
        concurrency: s.socketIoConcurrency,
        seconds: s.seconds,
      });
      return { perSec: r.handshakesPerSec, p50Ms: r.p50Ms, p99Ms: r.p99Ms, errors: r.failures };
    }
    case 'ws-idle':
      throw new Error('ws-idle runs through wsIdle()');
  }
}

async function nodeHandshakes(proxy: RunningProxy, s: Settings): Promise<Figures> {
  const r = await runTlsHandshakes({
    port: proxy.ports.https,
    servername: TLS_HOST,
    concurrency: s.handshakeConcurrency,
    seconds: s.seconds,
  });
  return { perSec: r.handshakesPerSec, p50Ms: r.p50Ms, p99Ms: r.p99Ms, errors: r.failures };
}

/**
 * Idle tunnels held by child processes (the plan's shares), RSS of the proxy's process tree. While they are
 * open, records each proxy process's descriptors (and, for `serve --workers`, each worker's open tunnels
 * from /stats.json) to show the tunnels really are spread over the processes.
 */
async function wsIdle(proxy: RunningProxy, s: Settings, ctx: ScenarioContext): Promise<Figures> {
  const clients = await TunnelClients.start(ctx.procs, {
    url: s.idleTls ? `wss://127.0.0.1:${proxy.ports.https}/ws` : `ws://127.0.0.1:${proxy.ports.http}/ws`,
    host: s.idleTls ? TLS_HOST : HTTP_HOST,
    shares: s.idlePlan?.clients ?? [s.idleTunnels],
    logDir: ctx.dir,
  });
  const spread: Figures = {};
  try {
    const r = await runWsIdle({
      clients,
      tunnels: s.idleTunnels,
      settleMs: s.settleMs,
      closeSettleMs: s.closeSettleMs ?? s.settleMs,
      rssKiB: () => treeRssKiB(proxy.proc.pid),
      whileOpen: async () => {
        Object.assign(spread, await spreadOf(proxy, clients.pids));
      },
    });
    return {
      kibPerTunnel: r.kibPerTunnel,
      returned: r.returnedRatio,
      rssBeforeKiB: r.rssBeforeKiB,
      rssOpenKiB: r.rssOpenKiB,
      rssAfterKiB: r.rssAfterCloseKiB,
      errors: r.failed,
      ...spread,
    };
  } finally {
    await clients.stop();
  }
}

/** Descriptors per proxy process and per client process, and sticky workers' open tunnels, while open. */
async function spreadOf(proxy: RunningProxy, clientPids: readonly number[]): Promise<Figures> {
  const fds = treeDescriptors(proxy.proc.pid);
  const clientFds = clientPids.flatMap((pid) => treeDescriptors(pid).map((d) => d.fds));
  const workers = await proxy.openTunnelsPerWorker?.().catch(() => undefined);
  console.error(
    `ws-idle spread: proxy descriptors per process ${fds.map((d) => `${d.pid}:${d.fds}`).join(' ')}; ` +
      `client descriptors ${clientFds.join(' ')}` +
      (workers ? `; open tunnels per worker ${workers.join(' ')}` : ''),
  );
  const out: Figures = {
    proxyProcesses: fds.length,
    proxyFdsMax: Math.max(...fds.map((d) => d.fds)),
    clientFdsMax: Math.max(...clientFds),
  };
  if (workers && workers.length > 0) {
    out.workerTunnelsMin = Math.min(...workers);
    out.workerTunnelsMax = Math.max(...workers);
  }
  return out;
}
