import {
  applySnapshotChanges,
  finalizeSnapshot,
  type Snapshot,
  type SnapshotChanges,
  type SnapshotHasher,
  snapshotChanges,
} from '../../src/snapshot/index.ts';

/**
 * What `serve --workers N` sends for a change (issue 13 item 3): the hosts, backends and certificates that
 * are new objects, as keyed deltas (src/snapshot/delta.ts), and the hash of the snapshot they patch. A worker
 * keeps its own objects for the rest, so it neither parses nor re-hashes nor re-applies 10,000 unchanged
 * hosts per event: an EndpointSlice carries one backend, an edited Ingress its host and backend.
 */
export type SnapshotDelta = SnapshotChanges;

/** The delta from `previous` to `next`; undefined when there is no previous (send the whole snapshot). */
export function snapshotDelta(previous: Snapshot | undefined, next: Snapshot): SnapshotDelta | undefined {
  return previous === undefined ? undefined : snapshotChanges(previous, next);
}

/**
 * `current` with `delta` applied, frozen and re-hashed with the worker's `hasher` (unchanged parts hash from
 * its cache; the caller compares with the primary's hash); undefined when the delta is not for `current`
 * (the worker then asks for the whole snapshot).
 */
export function applyDelta(
  current: Snapshot | undefined,
  delta: SnapshotDelta,
  hasher: SnapshotHasher,
): Snapshot | undefined {
  if (current === undefined || current.hash !== delta.base) return undefined;
  const { version, hash: _h, ...body } = applySnapshotChanges(current, delta);
  return finalizeSnapshot(body, version, hasher);
}
