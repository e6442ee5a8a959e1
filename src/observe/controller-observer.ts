/**
 * What the controller reports about itself: informers, the API server, leader election, builds and swaps.
 * The controller calls an optional ControllerObserver; `src/observe/controller-metrics.ts` implements it with
 * Prometheus metrics. Implementations must be cheap and must not throw (callers need not guard them).
 */
export interface ControllerObserver {
  /** An informer of `kind` (e.g. `Ingress`, `EndpointSlice`) re-listed after its watch failed or expired. */
  onInformerRestart(kind: string): void;
  /** A call to the API server about `kind` failed; `code` is the HTTP status, or a string like `ECONNRESET`. */
  onApiError(kind: string, code: number | string): void;
  /** This replica gained (`true`) or lost (`false`) the leader lease; standalone mode reports `true` once. */
  onLeaderChange(isLeader: boolean): void;
  /** One build finished; `changed` = its hash differed and `snapshotVersion` is now live. */
  onBuild(durationMs: number, changed: boolean, snapshotVersion: number): void;
  /**
   * Objects skipped by the last build, counted by kind (`Ingress`, `StickyRoute`, `Secret`, ...). Replaces the
   * previous counts: a kind missing from the record is reported as 0.
   */
  onInvalidObjects(countsByKind: Record<string, number>): void;
  /** The dataplane swapped to snapshot `version` at `at`. */
  onSwap(version: number, at: Date): void;
}
