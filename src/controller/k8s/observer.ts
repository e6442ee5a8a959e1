/** The kinds the cluster controller watches. */
export type WatchedKind = 'Ingress' | 'IngressClass' | 'Service' | 'EndpointSlice' | 'Secret' | 'StickyRoute';

/**
 * Optional hooks for metrics; every method is optional and must not throw. The observability work implements
 * it with prom-client; tests use it to wait for builds.
 */
export interface ControllerObserver {
  /** An informer stopped and is restarted after `delayMs`; `reason` is `forbidden`, `not-found`, `gone` or `error`. */
  informerRestart?(kind: WatchedKind, reason: string, delayMs: number): void;
  /** A request to the API server failed (informers, status, Events, Lease). */
  apiError?(operation: string, statusCode: number): void;
  leader?(isLeader: boolean): void;
  /** One build finished; `changed` is whether a new snapshot went live. */
  build?(info: { durationMs: number; changed: boolean; version: number; diagnostics: number }): void;
  /** Diagnostics of the last build, counted by object kind (a gauge: replaces the previous counts). */
  invalidObjects?(countsByKind: Record<string, number>): void;
}
