/** The kinds the cluster controller watches. */
export type WatchedKind =
  | 'Ingress'
  | 'IngressClass'
  | 'Service'
  | 'EndpointSlice'
  | 'Secret'
  | 'StickyRoute'
  | 'GatewayClass'
  | 'Gateway'
  | 'HTTPRoute'
  | 'ReferenceGrant'
  | 'Namespace';

/** Every watched kind. */
export const WATCHED_KINDS: readonly WatchedKind[] = [
  'Ingress',
  'IngressClass',
  'Service',
  'EndpointSlice',
  'Secret',
  'StickyRoute',
  'GatewayClass',
  'Gateway',
  'HTTPRoute',
  'ReferenceGrant',
  'Namespace',
];

const WATCHED: ReadonlySet<string> = new Set(WATCHED_KINDS);

/** Whether a diagnostic's object kind is one the informers watch (`Build` and the like are not). */
export function isWatchedKind(kind: string): kind is WatchedKind {
  return WATCHED.has(kind);
}

/** One finished build: how long it took, whether a new snapshot went live, its version, diagnostics count. */
export interface BuildInfo {
  durationMs: number;
  changed: boolean;
  version: number;
  diagnostics: number;
}

/**
 * What the configuration side reports about itself: informers, the API server, leader election, builds and
 * swaps. The cluster controller and standalone mode call it; `src/observe/controller-metrics.ts` implements it
 * with Prometheus metrics, tests implement the hooks they wait on. Every hook is optional, must be cheap and
 * must not throw (callers do not guard them).
 */
export interface ControllerObserver {
  /** An informer stopped and is restarted after `delayMs`; `reason` is `forbidden`, `not-found`, `gone` or `error`. */
  informerRestart?(kind: WatchedKind, reason: string, delayMs: number): void;
  /**
   * A request to the API server failed (informers, status, Events, Lease); `operation` like `watch Ingress`,
   * `code` the HTTP status, or a string like `ECONNRESET`.
   */
  apiError?(operation: string, code: number | string): void;
  /** This replica gained or lost the leader lease; standalone mode reports `true` once. */
  leader?(isLeader: boolean): void;
  build?(info: BuildInfo): void;
  /** Diagnostics of the last build, counted by object kind (a gauge: a kind missing from the record is 0). */
  invalidObjects?(countsByKind: Record<string, number>): void;
  /** The dataplane (every worker, with --workers) now serves snapshot `version`, since `at`. */
  swap?(version: number, at: Date): void;
}
