import type { Snapshot } from '../../src/snapshot/index.ts';
import {
  type BackendChange,
  backendChanges,
  finalizeSnapshot,
  reuseUnchanged,
  type SnapshotHasher,
} from '../../src/snapshot/index.ts';

/**
 * What `serve --workers N` sends for an endpoint-only change (issue 13 item 3): the backends that are new
 * objects, by position, and the hash of the snapshot they patch. A worker rebuilds the rest from its own
 * copy, so it neither parses nor re-hashes 10,000 unchanged hosts per EndpointSlice event.
 */
export interface SnapshotDelta {
  /** Hash of the snapshot this delta applies to. */
  base: string;
  version: number;
  hash: string;
  changed: BackendChange[];
}

/**
 * The delta from `previous` to `next` when only Backend objects changed (the very same host and certificate
 * lists, the controller's endpoint fast path); undefined otherwise (send the whole snapshot).
 */
export function snapshotDelta(previous: Snapshot | undefined, next: Snapshot): SnapshotDelta | undefined {
  if (previous === undefined) return undefined;
  const changed = backendChanges(previous, next);
  if (changed === undefined) return undefined;
  return { base: previous.hash, version: next.version, hash: next.hash, changed };
}

/**
 * `current` with `delta` applied, frozen and hashed with the worker's `hasher` (unchanged parts hash from its
 * cache); undefined when the delta is not for `current` (the worker then asks for the whole snapshot).
 */
export function applyDelta(
  current: Snapshot | undefined,
  delta: SnapshotDelta,
  hasher: SnapshotHasher,
): Snapshot | undefined {
  if (current === undefined || current.hash !== delta.base) return undefined;
  const backends = current.backends.slice();
  for (const { index, backend } of delta.changed) {
    const before = backends[index];
    if (before?.id !== backend.id) return undefined;
    backends[index] = reuseUnchanged(before, backend);
  }
  const { version: _v, hash: _h, ...body } = current;
  return finalizeSnapshot({ ...body, backends }, delta.version, hasher);
}
