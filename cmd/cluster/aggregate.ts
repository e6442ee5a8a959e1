import type { BackendStats, EndpointStats, StatsReport } from '../../src/dataplane/observe/stats-model.ts';

/** One worker's part of the merged /stats.json. */
export interface WorkerStats {
  pid: number;
  version: number;
  requests: number;
  active: number;
  openTunnels: number;
}

/** /stats.json of `serve --workers N`: the workers' reports summed, plus each worker's totals. */
export type MergedStatsReport = StatsReport & { workers: WorkerStats[] };

const TOTALS = [
  'requests',
  'rps',
  'errors',
  'active',
  'openTunnels',
  'unrouted',
  'tlsHandshakes',
  'tlsFailures',
] as const;
const ROUTE = ['requests', 'rps', 'errors'] as const;
const BACKEND = [
  'active',
  'requests',
  'rps',
  'openTunnels',
  'errors',
  'connectFailures',
  'stickyIssued',
] as const;
const ENDPOINT = [
  'active',
  'total',
  'requests',
  'rps',
  'openTunnels',
  'errors',
  'connectFailures',
  'retries',
  'stickyIssued',
] as const;

/**
 * Sums the workers' reports: every counter and rate per route, backend and endpoint, and the totals. Health
 * state and the last status come from the first worker that has one (each worker checks health itself). The
 * version is the oldest any worker serves. `workers` keeps each worker's own totals.
 */
export function mergeStats(
  reports: readonly { pid: number; stats: StatsReport }[],
  now: Date,
): MergedStatsReport {
  const first = reports[0]?.stats;
  const merged: MergedStatsReport = {
    version: first ? Math.min(...reports.map((r) => r.stats.version)) : 0,
    generatedAt: now.toISOString(),
    totals: {
      requests: 0,
      rps: 0,
      errors: 0,
      active: 0,
      openTunnels: 0,
      unrouted: 0,
      tlsHandshakes: 0,
      tlsFailures: 0,
    },
    hosts: first ? structuredClone(first.hosts) : [],
    backends: first ? structuredClone(first.backends) : [],
    workers: reports.map(({ pid, stats }) => ({
      pid,
      version: stats.version,
      requests: stats.totals.requests,
      active: stats.totals.active,
      openTunnels: stats.totals.openTunnels,
    })),
  };
  for (const [i, { stats }] of reports.entries()) {
    add(merged.totals, stats.totals, TOTALS);
    if (i === 0) continue;
    mergeHosts(merged, stats);
    mergeBackends(merged.backends, stats.backends);
  }
  return merged;
}

function mergeHosts(merged: StatsReport, stats: StatsReport): void {
  const routes = new Map(
    merged.hosts.flatMap((h) => h.routes.map((r) => [`${h.hostname} ${r.id}`, r] as const)),
  );
  for (const h of stats.hosts) {
    for (const r of h.routes) {
      const into = routes.get(`${h.hostname} ${r.id}`);
      if (into === undefined) continue;
      add(into, r, ROUTE);
      if (into.lastStatus === 0) into.lastStatus = r.lastStatus;
    }
  }
}

function mergeBackends(into: BackendStats[], from: readonly BackendStats[]): void {
  const backends = new Map(into.map((b) => [b.id, b]));
  for (const b of from) {
    const target = backends.get(b.id);
    if (target === undefined) continue;
    add(target, b, BACKEND);
    if (target.lastStatus === 0) target.lastStatus = b.lastStatus;
    const endpoints = new Map<string, EndpointStats>(target.endpoints.map((e) => [e.id, e]));
    for (const e of b.endpoints) {
      const t = endpoints.get(e.id);
      if (t === undefined) continue;
      add(t, e, ENDPOINT);
      if (t.lastStatus === 0) t.lastStatus = e.lastStatus;
    }
  }
}

function add<T extends Record<K, number>, K extends string>(into: T, from: T, keys: readonly K[]): void {
  for (const k of keys) (into as Record<K, number>)[k] += from[k];
}
