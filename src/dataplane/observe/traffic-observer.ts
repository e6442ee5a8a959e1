import type { Snapshot } from '../../snapshot/index.ts';
import type { H2CloseReason } from '../front/h2-front.ts';
import type { PassthroughOutcome } from '../front/passthrough.ts';
import type { ProxyOutcome } from '../front/proxy-accept.ts';
import type { AccessLog } from './access-log.ts';
import type { BackendCounters, RouteCounters } from './counters.ts';
import { AFFINITY_INDEX, type DataplaneMetrics } from './dataplane-metrics.ts';
import type { DataplaneObserver, RejectReason, RequestRecord } from './observer.ts';
import type { RouteTable } from './route-table.ts';

/** TLS handshake tallies for /stats. */
export interface TlsCounters {
  ok: number;
  failed: number;
}

/**
 * The DataplaneObserver: per finished request, a few number increments on objects resolved at the last
 * swap (metrics and /stats tallies), then the access log line. The swap is noticed by comparing the live
 * snapshot's identity, so the dataplane needs no extra hook.
 */
export class TrafficObserver implements DataplaneObserver {
  readonly tls: TlsCounters = { ok: 0, failed: 0 };
  #metrics: DataplaneMetrics;
  #table: RouteTable;
  #log: AccessLog | undefined;
  #current: () => Snapshot | undefined;

  /** `current` returns the dataplane's live snapshot (undefined before one is attached). */
  constructor(
    metrics: DataplaneMetrics,
    table: RouteTable,
    log: AccessLog | undefined,
    current: () => Snapshot | undefined,
  ) {
    this.#metrics = metrics;
    this.#table = table;
    this.#log = log?.enabled ? log : undefined;
    this.#current = current;
  }

  /** Rebuilds the route table when the dataplane swapped since the last call. */
  sync(): void {
    const s = this.#current();
    if (s !== undefined && s !== this.#table.snapshot) this.#table.rebuild(s);
  }

  onRequest(r: RequestRecord): void {
    this.sync();
    const route = this.#table.route(r.routeId, r.sourceNamespace, r.sourceName, r.backendId);
    this.#metrics.countRequest(route, r.status, r.totalMs / 1000);
    (r.protocol === 'h2' ? this.#metrics.h2 : this.#metrics.h1).value++;
    this.#tally(route, r);
    this.#log?.write(r);
  }

  /** The upstream answered 101: one more open tunnel on that endpoint until onTunnelClose. */
  onTunnelOpen(r: RequestRecord): void {
    this.sync();
    const backend = this.#table.route(r.routeId, r.sourceNamespace, r.sourceName, r.backendId).backend;
    if (backend !== undefined && r.endpointId !== '') backend.endpoint(r.endpointId).openTunnels++;
  }

  onTunnelClose(r: RequestRecord): void {
    this.sync();
    const route = this.#table.route(r.routeId, r.sourceNamespace, r.sourceName, r.backendId);
    // A tunnel's lifetime is not a response time: count it, keep it out of the duration histogram.
    this.#metrics.countRequest(route, r.status, r.status === 101 ? -1 : r.totalMs / 1000);
    (r.protocol === 'h2' ? this.#metrics.h2 : this.#metrics.h1).value++;
    if (r.status === 101) {
      route.tunnelChild!.value++;
      const e = route.backend?.endpoints.get(r.endpointId);
      if (e !== undefined && e.openTunnels > 0) e.openTunnels--;
    }
    this.#tally(route, r);
    this.#log?.write(r);
  }

  onTlsHandshake(ok: boolean): void {
    if (ok) {
      this.tls.ok++;
      this.#metrics.tlsHandshakes.value++;
    } else {
      this.tls.failed++;
      this.#metrics.tlsFailures.value++;
    }
  }

  onRejected(reason: RejectReason): void {
    this.#metrics.rejected.child(reason).value++;
  }

  onProxyProtocol(outcome: ProxyOutcome): void {
    this.#metrics.proxyProtocol.child(outcome).value++;
  }

  onPassthrough(outcome: PassthroughOutcome): void {
    this.#metrics.passthrough.child(outcome).value++;
  }

  onH2Closed(reason: H2CloseReason): void {
    this.#metrics.h2Closed.child(reason).value++;
  }

  /** A passthrough relay ended: one access-log line (its connections are counted by onPassthrough). */
  onRelayClose(r: RequestRecord): void {
    this.#log?.write(r);
  }

  onRetry(backendId: string, endpointId: string): void {
    this.sync();
    const e = this.#table.backend(backendId)?.endpoint(endpointId);
    if (e === undefined) return;
    e.retries++;
    if (e.retryChild !== undefined) e.retryChild.value++;
  }

  onConnectFailure(backendId: string, endpointId: string): void {
    this.sync();
    const b = this.#table.backend(backendId);
    if (b === undefined) return;
    b.connectFailures++;
    const e = b.endpoint(endpointId);
    e.connectFailures++;
    if (e.failureChild !== undefined) e.failureChild.value++;
  }

  /** /stats tallies and affinity decisions of one request. */
  #tally(route: RouteCounters, r: RequestRecord): void {
    const status = r.status;
    const error = status >= 500 ? 1 : 0;
    route.requests++;
    route.errors += error;
    route.lastStatus = status;
    const b: BackendCounters | undefined = route.backend;
    if (b === undefined || r.endpointId === '') return;
    b.requests++;
    b.errors += error;
    b.lastStatus = status;
    const e = b.endpoint(r.endpointId);
    e.requests++;
    e.errors += error;
    e.lastStatus = status;
    const a = AFFINITY_INDEX[r.affinity];
    if (a === undefined) return;
    b.affinity[a]!.value++;
    if (a !== 0) {
      b.stickyIssued++;
      e.stickyIssued++;
    }
  }
}
