import type { CounterChild, HistogramChild } from './fast-metrics.ts';

/**
 * The per-route / per-backend / per-endpoint tallies behind /stats and the pre-resolved metric children the
 * hot path bumps. Built at a snapshot swap by RouteTable; objects of ids that survive a swap are reused so the
 * numbers carry over.
 */

/** Status classes by index `status / 100`; index 0 collects anything outside 100..599 (no response). */
export const STATUS_CLASSES = ['other', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** Index into STATUS_CLASSES. */
export function classIndex(status: number): number {
  const c = (status / 100) | 0;
  return c >= 1 && c <= 5 ? c : 0;
}

/** Tallies of one endpoint within one backend. */
export class EndpointCounters {
  readonly id: string;
  requests = 0;
  errors = 0;
  connectFailures = 0;
  retries = 0;
  lastStatus = 0;
  stickyIssued = 0;
  openTunnels = 0;
  /** Metric children, resolved when the table is built. */
  failureChild: CounterChild | undefined;
  retryChild: CounterChild | undefined;

  constructor(id: string) {
    this.id = id;
  }
}

/** Tallies of one backend, with its endpoints by id. */
export class BackendCounters {
  readonly id: string;
  endpoints = new Map<string, EndpointCounters>();
  requests = 0;
  errors = 0;
  connectFailures = 0;
  lastStatus = 0;
  stickyIssued = 0;
  /** affinity_decisions_total children by decision: [hit, new, reissued]. */
  affinity: CounterChild[] = [];

  constructor(id: string) {
    this.id = id;
  }

  /** The endpoint's counters, created when an endpoint the table did not know reports (old snapshot). */
  endpoint(id: string): EndpointCounters {
    let e = this.endpoints.get(id);
    if (e === undefined) {
      e = new EndpointCounters(id);
      this.endpoints.set(id, e);
    }
    return e;
  }
}

/** Tallies of one route and the request-metric children of its label set, one per status class. */
export class RouteCounters {
  readonly id: string;
  requests = 0;
  errors = 0;
  lastStatus = 0;
  backend: BackendCounters | undefined;
  /** namespace, ingress, service: the label values of every request metric of this route. */
  labels: [string, string, string] = ['', '', ''];
  /** requests_total and request_duration_seconds children by status class, created on first use. */
  readonly requestChildren: (CounterChild | undefined)[] = [
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
  ];
  readonly durationChildren: (HistogramChild | undefined)[] = [
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
  ];
  tunnelChild: CounterChild | undefined;

  constructor(id: string) {
    this.id = id;
  }
}
