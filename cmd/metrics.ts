import type { ControllerObserver as ClusterObserver } from '../src/controller/k8s/index.ts';
import type { Diagnostic } from '../src/controller/view.ts';
import type { ControllerObserver } from '../src/observe/controller-observer.ts';

/** Adapts the cluster controller's optional hooks to the metrics observer (the two were written apart). */
export function clusterObserver(metrics: ControllerObserver): ClusterObserver {
  return {
    informerRestart: (kind) => metrics.onInformerRestart(kind),
    apiError: (operation, statusCode) => metrics.onApiError(operation, statusCode),
    leader: (isLeader) => metrics.onLeaderChange(isLeader),
    build: (info) => metrics.onBuild(info.durationMs, info.changed, info.version),
    invalidObjects: (counts) => metrics.onInvalidObjects(counts),
  };
}

/** Diagnostics counted by object kind, for the invalid-objects gauge. */
export function countByKind(diagnostics: readonly Diagnostic[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const d of diagnostics) counts[d.object.kind] = (counts[d.object.kind] ?? 0) + 1;
  return counts;
}
