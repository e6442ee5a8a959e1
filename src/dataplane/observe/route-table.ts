import type { Snapshot } from '../../snapshot/index.ts';
import { BackendCounters, EndpointCounters, RouteCounters } from './counters.ts';
import type { DataplaneMetrics } from './dataplane-metrics.ts';

/**
 * The observer's view of one snapshot: counters per route id and backend id with their metric children
 * resolved, rebuilt off the hot path when the dataplane swaps. Counters of ids that survive carry over;
 * metric series of routes, services and endpoints that left the snapshot are dropped (bounded cardinality).
 */
export class RouteTable {
  #metrics: DataplaneMetrics;
  #snapshot: Snapshot | undefined;
  #routes = new Map<string, RouteCounters>();
  #backends = new Map<string, BackendCounters>();
  /** Routes a record names that the table does not know: requests still in flight from an older snapshot. */
  #stale = new Map<string, RouteCounters>();
  /** Service name by backend id, for the `service` label. */
  #serviceOf = new Map<string, string>();
  /** Requests no route took (unknown host or path, bad request). */
  readonly unrouted: RouteCounters;

  constructor(metrics: DataplaneMetrics) {
    this.#metrics = metrics;
    this.unrouted = new RouteCounters('');
    metrics.bindRoute(this.unrouted, '', '', '');
  }

  /** The snapshot the table was last built from. */
  get snapshot(): Snapshot | undefined {
    return this.#snapshot;
  }

  /** Rebuilds for `snapshot`; called once per swap, never per request. */
  rebuild(snapshot: Snapshot): void {
    const m = this.#metrics;
    const backends = new Map<string, BackendCounters>();
    const liveEndpoints = new Set<string>();
    const liveServices = new Set<string>();
    const serviceOf = new Map<string, string>();
    for (const b of snapshot.backends) {
      const counters = this.#backends.get(b.id) ?? new BackendCounters(b.id);
      m.bindBackend(counters, b.service.namespace, b.service.name);
      liveServices.add(key(b.service.namespace, b.service.name));
      serviceOf.set(b.id, b.service.name);
      const endpoints = new Map<string, EndpointCounters>();
      for (const e of b.endpoints) {
        const ec = counters.endpoints.get(e.id) ?? new EndpointCounters(e.id);
        ec.failureChild = m.connectFailures.child(b.id, e.id);
        ec.retryChild = m.retries.child(b.id, e.id);
        endpoints.set(e.id, ec);
        liveEndpoints.add(key(b.id, e.id));
      }
      counters.endpoints = endpoints;
      backends.set(b.id, counters);
    }
    const routes = new Map<string, RouteCounters>();
    const liveRoutes = new Set<string>([key('', '', '')]);
    for (const host of snapshot.hosts) {
      for (const r of host.routes) {
        const counters = this.#routes.get(r.id) ?? new RouteCounters(r.id);
        const backend = backends.get(r.backend);
        counters.backend = backend;
        const service = serviceOf.get(r.backend) ?? '';
        m.bindRoute(counters, r.source.namespace, r.source.name, service);
        liveRoutes.add(key(r.source.namespace, r.source.name, service));
        routes.set(r.id, counters);
      }
    }
    this.#backends = backends;
    this.#routes = routes;
    this.#serviceOf = serviceOf;
    this.#stale.clear();
    this.#snapshot = snapshot;
    const routeLive = (l: Record<string, string>) =>
      liveRoutes.has(key(l.namespace!, l.ingress!, l.service!));
    m.requests.retain(routeLive);
    m.duration.retain(routeLive);
    m.tunnels.retain(routeLive);
    m.affinity.retain((l) => liveServices.has(key(l.namespace!, l.service!)));
    m.connectFailures.retain((l) => liveEndpoints.has(key(l.backend!, l.endpoint!)));
    m.retries.retain((l) => liveEndpoints.has(key(l.backend!, l.endpoint!)));
  }

  /**
   * The counters of route `id` (one map lookup). An id the table does not know (a request that started
   * before the last swap) gets counters labelled from the record's source, dropped at the next swap.
   */
  route(id: string, namespace: string, name: string, backendId: string): RouteCounters {
    if (id === '') return this.unrouted;
    const known = this.#routes.get(id) ?? this.#stale.get(id);
    if (known !== undefined) return known;
    const counters = new RouteCounters(id);
    const backend = this.#backends.get(backendId);
    counters.backend = backend;
    const service = this.#serviceOf.get(backendId) ?? '';
    this.#metrics.bindRoute(counters, namespace, name, service);
    this.#stale.set(id, counters);
    return counters;
  }

  /** The counters of backend `id` in the current table. */
  backend(id: string): BackendCounters | undefined {
    return this.#backends.get(id);
  }

  /** Routes of the current snapshot, by id. */
  get routes(): ReadonlyMap<string, RouteCounters> {
    return this.#routes;
  }

  /** Open tunnels of one endpoint of one backend, for the scrape-time gauge. */
  openTunnels(backendId: string, endpointId: string): number {
    return this.#backends.get(backendId)?.endpoints.get(endpointId)?.openTunnels ?? 0;
  }
}

function key(...parts: string[]): string {
  return parts.join('\u0000');
}
