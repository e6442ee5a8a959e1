import { Gauge, type Registry } from 'prom-client';
import type { BackendState } from '../upstream/upstreams.ts';
import { type BackendCounters, classIndex, type RouteCounters, STATUS_CLASSES } from './counters.ts';
import { type CounterChild, FastCounter, FastHistogram } from './fast-metrics.ts';

const P = 'sticky_ingress_';
const REQUEST_LABELS = ['namespace', 'ingress', 'service', 'status_class'] as const;
const ENDPOINT_LABELS = ['backend', 'endpoint'] as const;
/** Seconds; from a cached asset to a slow long-poll (socket.io's polling transport holds ~25 s). */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Index in BackendCounters.affinity of each decision that is counted ('none' is not). */
export const AFFINITY_INDEX: Readonly<Record<string, number>> = { hit: 0, new: 1, reissued: 2 };

/** What the scrape-time gauges read: the live upstream pools and the table's per-endpoint tallies. */
export interface GaugeSource {
  backends(): Iterable<BackendState>;
  openTunnels(backendId: string, endpointId: string): number;
}

/**
 * Every dataplane metric in one registry. Request-path metrics are FastCounter/FastHistogram children the
 * RouteTable resolves at a swap; pool gauges (active connections, tunnels, health) are read at scrape time,
 * so the hot path never touches them and vanished endpoints disappear with the pools.
 */
export class DataplaneMetrics {
  readonly requests: FastCounter;
  readonly duration: FastHistogram;
  readonly tunnels: FastCounter;
  readonly affinity: FastCounter;
  readonly connectFailures: FastCounter;
  readonly retries: FastCounter;
  readonly tlsHandshakes: CounterChild;
  readonly tlsFailures: CounterChild;
  /** Refusals by a cap, by reason (client_connections, tunnels). */
  readonly rejected: FastCounter;
  /** Requests by the client's HTTP version (h1, h2). */
  readonly h1: CounterChild;
  readonly h2: CounterChild;
  /** PROXY protocol headers by outcome (v1, v2, local, absent, untrusted, missing, malformed, oversize, timeout). */
  readonly proxyProtocol: FastCounter;
  /** SSL passthrough peeks by outcome (relayed, terminated, no_endpoint, connect_failed, timeout). */
  readonly passthrough: FastCounter;
  /** HTTP/2 connections we ended, by reason (preface_timeout, rapid_reset). */
  readonly h2Closed: FastCounter;

  constructor(registry: Registry, source: GaugeSource) {
    this.requests = new FastCounter(
      registry,
      `${P}requests_total`,
      'Requests served, by route source, Service and status class.',
      REQUEST_LABELS,
    );
    this.duration = new FastHistogram(
      registry,
      `${P}request_duration_seconds`,
      'Time from arrival to the end of the response (tunnels excluded).',
      REQUEST_LABELS,
      DURATION_BUCKETS,
    );
    this.tunnels = new FastCounter(
      registry,
      `${P}tunnels_total`,
      'Upgraded connections (WebSocket) closed.',
      ['namespace', 'ingress', 'service'],
    );
    this.affinity = new FastCounter(
      registry,
      `${P}affinity_decisions_total`,
      'Cookie affinity outcomes: hit, new or reissued.',
      ['namespace', 'service', 'decision'],
    );
    this.connectFailures = new FastCounter(
      registry,
      `${P}upstream_connect_failures_total`,
      'Failed connects to an endpoint.',
      ENDPOINT_LABELS,
    );
    this.retries = new FastCounter(
      registry,
      `${P}upstream_retries_total`,
      'Requests retried on another endpoint after a failed try (proxy-next-upstream).',
      ENDPOINT_LABELS,
    );
    const tls = new FastCounter(
      registry,
      `${P}tls_handshakes_total`,
      'TLS handshakes on the HTTPS listener, by result.',
      ['result'],
    );
    this.tlsHandshakes = tls.child('ok');
    this.tlsFailures = tls.child('error');
    this.rejected = new FastCounter(
      registry,
      `${P}rejected_total`,
      'Client connections closed over --max-client-connections and upgrades answered 503 over --max-tunnels.',
      ['reason'],
    );
    this.rejected.child('client_connections');
    this.rejected.child('tunnels');
    const protocols = new FastCounter(
      registry,
      `${P}requests_by_protocol_total`,
      'Requests and tunnels answered, by the client HTTP version: h1 (HTTP/1.x) or h2 (--http2).',
      ['protocol'],
    );
    this.h1 = protocols.child('h1');
    this.h2 = protocols.child('h2');
    this.proxyProtocol = new FastCounter(
      registry,
      `${P}proxy_protocol_total`,
      'Connections on a PROXY protocol listener by outcome; missing/malformed/oversize/timeout were closed.',
      ['outcome'],
    );
    this.passthrough = new FastCounter(
      registry,
      `${P}passthrough_total`,
      'HTTPS connections whose SNI was peeked because passthrough hosts exist: relayed raw to a backend, terminated here (no, unknown or malformed SNI), or closed (no_endpoint, connect_failed, timeout).',
      ['outcome'],
    );
    this.h2Closed = new FastCounter(
      registry,
      `${P}h2_connections_closed_total`,
      'HTTP/2 client connections the proxy ended: preface_timeout (no connection preface within --request-header-timeout) or rapid_reset (CVE-2023-44487).',
      ['reason'],
    );
    this.h2Closed.child('preface_timeout');
    this.h2Closed.child('rapid_reset');
    endpointGauge(
      registry,
      `${P}upstream_active_connections`,
      'In-flight requests and open tunnels of an endpoint (shared by backends listing it).',
      source,
      (_b, m) => m.state.active,
    );
    endpointGauge(
      registry,
      `${P}upstream_open_tunnels`,
      'Open WebSocket tunnels per backend and endpoint.',
      source,
      (b, m) => source.openTunnels(b.config.id, m.state.id),
    );
    endpointGauge(
      registry,
      `${P}endpoint_healthy`,
      '1 while the endpoint passes passive and active health checks.',
      source,
      (_b, m) => (m.state.healthy ? 1 : 0),
    );
    endpointGauge(
      registry,
      `${P}endpoint_ready`,
      '1 while the endpoint is ready and not terminating (gets new sessions).',
      source,
      (_b, m) => (m.ready && !m.terminating ? 1 : 0),
    );
  }

  /** Points a route's request children at its label set; children per status class are created lazily. */
  bindRoute(route: RouteCounters, namespace: string, ingress: string, service: string): void {
    route.labels = [namespace, ingress, service];
    route.requestChildren.fill(undefined);
    route.durationChildren.fill(undefined);
    route.tunnelChild = this.tunnels.child(namespace, ingress, service);
  }

  /** Resolves a backend's affinity children. */
  bindBackend(backend: BackendCounters, namespace: string, service: string): void {
    backend.affinity = [
      this.affinity.child(namespace, service, 'hit'),
      this.affinity.child(namespace, service, 'new'),
      this.affinity.child(namespace, service, 'reissued'),
    ];
  }

  /** Counts one finished request of `route` (first request of a status class creates its children). */
  countRequest(route: RouteCounters, status: number, seconds: number): void {
    const c = classIndex(status);
    let counter = route.requestChildren[c];
    let histogram = route.durationChildren[c];
    if (counter === undefined || histogram === undefined) {
      const [ns, ing, svc] = route.labels;
      counter = this.requests.child(ns, ing, svc, STATUS_CLASSES[c]!);
      histogram = this.duration.child(ns, ing, svc, STATUS_CLASSES[c]!);
      route.requestChildren[c] = counter;
      route.durationChildren[c] = histogram;
    }
    counter.value++;
    if (seconds >= 0) this.duration.observe(histogram, seconds);
  }
}

type Member = BackendState['members'][number];

function endpointGauge(
  registry: Registry,
  name: string,
  help: string,
  source: GaugeSource,
  read: (b: BackendState, m: Member) => number,
): void {
  new Gauge({
    name,
    help,
    labelNames: ENDPOINT_LABELS,
    registers: [registry],
    collect() {
      // Rebuilt from the pools at every scrape: label sets of endpoints that left the snapshot vanish with them.
      this.reset();
      for (const b of source.backends()) {
        for (const m of b.members) this.set({ backend: b.config.id, endpoint: m.state.id }, read(b, m));
      }
    },
  });
}
