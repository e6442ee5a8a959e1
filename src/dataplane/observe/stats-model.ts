import type { Snapshot } from '../../snapshot/index.ts';
import type { BackendState, Upstreams } from '../upstream/upstreams.ts';
import type { CertificateExpiry } from './cert-expiry.ts';
import type { BackendCounters, EndpointCounters } from './counters.ts';
import { Rates } from './rates.ts';
import type { RouteTable } from './route-table.ts';
import type { TlsCounters } from './traffic-observer.ts';

/** HAProxy-style state: UP serves, DOWN failed health or not ready, DRAIN terminating (no new sessions). */
export type ServingState = 'UP' | 'DOWN' | 'DRAIN';

export interface EndpointStats {
  id: string;
  address: string;
  port: number;
  state: ServingState;
  weight: number;
  /** In-flight requests + open tunnels of the endpoint (all backends listing it). */
  active: number;
  /** Requests and tunnels started on the endpoint since it appeared (all backends). */
  total: number;
  /** Finished requests and closed tunnels through this backend. */
  requests: number;
  rps: number;
  openTunnels: number;
  errors: number;
  connectFailures: number;
  retries: number;
  lastStatus: number;
  /** `passing`/`failing` (active check), `ejected` (passive), `none` (no active check, not ejected). */
  check: 'passing' | 'failing' | 'ejected' | 'none';
  stickyIssued: number;
}

export interface BackendStats {
  id: string;
  service: string;
  balance: string;
  affinity: boolean;
  state: ServingState;
  active: number;
  requests: number;
  rps: number;
  openTunnels: number;
  errors: number;
  connectFailures: number;
  lastStatus: number;
  stickyIssued: number;
  endpoints: EndpointStats[];
}

export interface RouteStats {
  id: string;
  path: string;
  pathType: string;
  source: string;
  backend: string;
  requests: number;
  rps: number;
  errors: number;
  lastStatus: number;
}

export interface HostStats {
  hostname: string;
  tls: boolean;
  certificate?: string;
  /** ISO time the certificate expires. */
  certificateExpiresAt?: string;
  routes: RouteStats[];
}

/** The /stats.json document, and what /stats renders. */
export interface StatsReport {
  version: number;
  generatedAt: string;
  totals: {
    requests: number;
    rps: number;
    errors: number;
    active: number;
    openTunnels: number;
    unrouted: number;
    tlsHandshakes: number;
    tlsFailures: number;
  };
  hosts: HostStats[];
  backends: BackendStats[];
}

/** What the model reads; the Dataplane satisfies it. */
export interface StatsSource {
  readonly current: Snapshot | undefined;
  readonly upstreams: Pick<Upstreams, 'backend'>;
}

/** Builds StatsReports from the live snapshot, the upstream pools and the observer's tallies. */
export class StatsModel {
  #rates = new Rates();
  #table: RouteTable;
  #certs: CertificateExpiry;
  #tls: TlsCounters;
  #now: () => number;

  constructor(table: RouteTable, certs: CertificateExpiry, tls: TlsCounters, now: () => number = Date.now) {
    this.#table = table;
    this.#certs = certs;
    this.#tls = tls;
    this.#now = now;
  }

  /** One report; `source` undefined (nothing attached yet) gives an empty one. */
  report(source: StatsSource | undefined): StatsReport {
    const now = this.#now();
    const snapshot = source?.current;
    const totals = {
      requests: 0,
      rps: 0,
      errors: 0,
      active: 0,
      openTunnels: 0,
      unrouted: this.#table.unrouted.requests,
      tlsHandshakes: this.#tls.ok,
      tlsFailures: this.#tls.failed,
    };
    const report: StatsReport = {
      version: snapshot?.version ?? 0,
      generatedAt: new Date(now).toISOString(),
      totals,
      hosts: [],
      backends: [],
    };
    if (snapshot === undefined || source === undefined) return report;
    this.#certs.update(snapshot);
    const expiry = new Map(this.#certs.hosts.map((h) => [h.host, h]));
    for (const vhost of snapshot.hosts) {
      const cert = expiry.get(vhost.hostname);
      const host: HostStats = { hostname: vhost.hostname, tls: vhost.tls !== undefined, routes: [] };
      if (cert !== undefined) {
        host.certificate = cert.certificate;
        if (cert.notAfter !== undefined) host.certificateExpiresAt = new Date(cert.notAfter).toISOString();
      }
      for (const r of vhost.routes) {
        const c = this.#table.routes.get(r.id);
        const requests = c?.requests ?? 0;
        host.routes.push({
          id: r.id,
          path: r.path,
          pathType: r.pathType,
          source: `${r.source.kind} ${r.source.namespace}/${r.source.name}`,
          backend: r.backend,
          requests,
          rps: this.#rates.rate(`r ${r.id}`, requests, now),
          errors: c?.errors ?? 0,
          lastStatus: c?.lastStatus ?? 0,
        });
        totals.requests += requests;
        totals.errors += c?.errors ?? 0;
      }
      report.hosts.push(host);
    }
    for (const b of snapshot.backends) {
      const state = source.upstreams.backend(b.id);
      const stats = this.#backend(b.id, state, this.#table.backend(b.id), now);
      totals.openTunnels += stats.openTunnels;
      report.backends.push(stats);
    }
    // Active connections once per endpoint, however many backends list it.
    const seen = new Set<string>();
    for (const b of report.backends) {
      for (const e of b.endpoints) {
        if (seen.has(e.id)) continue;
        seen.add(e.id);
        totals.active += e.active;
      }
    }
    totals.rps = this.#rates.rate('total', totals.requests, now);
    this.#rates.sweep();
    return report;
  }

  #backend(
    id: string,
    state: BackendState | undefined,
    c: BackendCounters | undefined,
    now: number,
  ): BackendStats {
    const config = state?.config;
    const endpoints: EndpointStats[] = [];
    let openTunnels = 0;
    let active = 0;
    for (const m of state?.members ?? []) {
      const s = m.state;
      const e: EndpointCounters | undefined = c?.endpoints.get(s.id);
      const requests = e?.requests ?? 0;
      openTunnels += e?.openTunnels ?? 0;
      active += s.active;
      const healthy = s.healthy;
      endpoints.push({
        id: s.id,
        address: s.address,
        port: s.port,
        state: m.terminating ? 'DRAIN' : m.ready && healthy ? 'UP' : 'DOWN',
        weight: m.weight,
        active: s.active,
        total: s.requests,
        requests,
        rps: this.#rates.rate(`e ${id} ${s.id}`, requests, now),
        openTunnels: e?.openTunnels ?? 0,
        errors: e?.errors ?? 0,
        connectFailures: e?.connectFailures ?? 0,
        retries: e?.retries ?? 0,
        lastStatus: e?.lastStatus ?? 0,
        check: s.ejected ? 'ejected' : !healthy ? 'failing' : config?.health.active ? 'passing' : 'none',
        stickyIssued: e?.stickyIssued ?? 0,
      });
    }
    const requests = c?.requests ?? 0;
    return {
      id,
      service: config ? `${config.service.namespace}/${config.service.name}:${config.service.port}` : '',
      balance: config?.balance ?? '',
      affinity: config?.affinity !== undefined,
      state: endpoints.some((e) => e.state === 'UP')
        ? 'UP'
        : endpoints.some((e) => e.state === 'DRAIN')
          ? 'DRAIN'
          : 'DOWN',
      active,
      requests,
      rps: this.#rates.rate(`b ${id}`, requests, now),
      openTunnels,
      errors: c?.errors ?? 0,
      connectFailures: c?.connectFailures ?? 0,
      lastStatus: c?.lastStatus ?? 0,
      stickyIssued: c?.stickyIssued ?? 0,
      endpoints,
    };
  }
}
