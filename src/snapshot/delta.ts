import type { Backend, Snapshot } from './types.ts';

/** One backend of an endpoint-only change: its position in both backend lists and its new object. */
export interface BackendChange {
  readonly index: number;
  readonly backend: Backend;
}

/**
 * The backends that are new objects in `next`, when `next` differs from `previous` only there (the controller's
 * endpoint fast path: the very same host and certificate lists, the same backend ids at the same positions);
 * undefined otherwise. The dataplane (apply) and `--workers` (deltas) decide the fast path by this one rule.
 */
export function backendChanges(previous: Snapshot, next: Snapshot): BackendChange[] | undefined {
  if (previous.hosts !== next.hosts || previous.certificates !== next.certificates) return undefined;
  if (previous.defaultCertificate !== next.defaultCertificate) return undefined;
  const before = previous.backends;
  const now = next.backends;
  if (now.length !== before.length) return undefined;
  const changed: BackendChange[] = [];
  for (let i = 0; i < now.length; i++) {
    const b = now[i] as Backend;
    if (b === before[i]) continue;
    if (b.id !== (before[i] as Backend).id) return undefined;
    changed.push({ index: i, backend: b });
  }
  return changed;
}
