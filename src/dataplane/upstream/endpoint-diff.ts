import type { Endpoint } from '../../snapshot/index.ts';

/**
 * How a backend's endpoint list changed, position by position. `kept[j]` is the index in the old list of the
 * very same Endpoint object at index j of the new list, or -1 when that one is new or changed.
 */
export interface EndpointDiff {
  readonly kept: Int32Array;
  /** New ids, and ids whose Endpoint object changed (the new objects). */
  readonly added: readonly Endpoint[];
  readonly updated: readonly Endpoint[];
  /** Old endpoints whose id is gone. */
  readonly removed: readonly Endpoint[];
}

/**
 * The diff of two endpoint lists sorted by id without repeats (the snapshot's contract), in one walk that
 * compares objects by identity (the builder reuses the Endpoint objects of slices that did not change, and so
 * does a `--workers` delta), so a Service of 10,000 endpoints with one slice changed costs ~10,000 pointer
 * comparisons and work for the changed ones only. Undefined when either list is not strictly sorted by id.
 */
export function diffEndpoints(
  before: readonly Endpoint[],
  after: readonly Endpoint[],
): EndpointDiff | undefined {
  const kept = new Int32Array(after.length).fill(-1);
  const added: Endpoint[] = [];
  const updated: Endpoint[] = [];
  const removed: Endpoint[] = [];
  let i = 0;
  let j = 0;
  while (i < before.length || j < after.length) {
    const o = before[i];
    const n = after[j];
    if (o !== undefined && i > 0 && (before[i - 1] as Endpoint).id >= o.id) return undefined;
    if (n !== undefined && j > 0 && (after[j - 1] as Endpoint).id >= n.id) return undefined;
    if (o !== undefined && n !== undefined && o.id === n.id) {
      if (o === n) kept[j] = i;
      else updated.push(n);
      i++;
      j++;
    } else if (n !== undefined && (o === undefined || n.id < o.id)) {
      added.push(n);
      j++;
    } else {
      removed.push(o as Endpoint);
      i++;
    }
  }
  return { kept, added, updated, removed };
}

/** The first Endpoint of `list` with `id`: a binary search (lists are sorted by id), else a walk. */
export function findEndpoint(list: readonly Endpoint[], id: string): Endpoint | undefined {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const e = list[mid] as Endpoint;
    if (e.id === id)
      return mid === 0 || (list[mid - 1] as Endpoint).id !== id ? e : list.find((x) => x.id === id);
    if (e.id < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return list.find((x) => x.id === id);
}
