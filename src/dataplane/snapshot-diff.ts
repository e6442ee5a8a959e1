import type { Backend, Certificate, Snapshot, VirtualHost } from '../snapshot/index.ts';

/** How one list changed between two snapshots, by object identity; a replacement is in both lists. */
export interface ListChange<T> {
  /** Objects of the previous list that are not in the next one: gone, or replaced under the same key. */
  readonly removed: readonly T[];
  /** Objects of the next list that were not in the previous one: new, or the replacement. */
  readonly added: readonly T[];
}

/** What a swap changes, list by list (Dataplane.apply reconciles only these). */
export interface SnapshotDiff {
  readonly hosts: ListChange<VirtualHost>;
  readonly backends: ListChange<Backend>;
  readonly certificates: ListChange<Certificate>;
}

/** Lists already checked strictly sorted by their key (and, for hosts, lower case): checked once each. */
const checked = new WeakSet<readonly object[]>();

const hostKey = (h: VirtualHost) => h.hostname;
const idKey = (x: { readonly id: string }) => x.id;
// The compiled tables key hosts by their lower-case name: the builder lower-cases them (build/hostname.ts);
// a producer that does not gets the full reconcile, where the last of two equal names wins as before.
const lowerHost = (h: VirtualHost) => h.hostname === h.hostname.toLowerCase();

/**
 * The identity diff of two frozen snapshots whose hosts (by hostname), backends and certificates (by id) are
 * strictly sorted, as the builder makes them; undefined otherwise (the caller reconciles in full then). The
 * contract it relies on: an unchanged part is the very same frozen object as in the previous snapshot.
 * Costs one pointer comparison per entry, and key comparisons only around what changed.
 */
export function diffSnapshots(previous: Snapshot, next: Snapshot): SnapshotDiff | undefined {
  const hosts = diffList(previous.hosts, next.hosts, hostKey, lowerHost);
  if (hosts === undefined) return undefined;
  const backends = diffList(previous.backends, next.backends, idKey);
  if (backends === undefined) return undefined;
  const certificates = diffList(previous.certificates, next.certificates, idKey);
  if (certificates === undefined) return undefined;
  return { hosts, backends, certificates };
}

const NONE: ListChange<never> = { removed: [], added: [] };

/**
 * The merge walk of two lists sorted strictly by `key`: equal objects are skipped by identity; where they
 * differ, keys decide what left and what came. `after` is checked sorted only next to what changed: a run
 * of objects taken over from `before` keeps the order `before` was checked to have.
 */
export function diffList<T extends object>(
  before: readonly T[],
  after: readonly T[],
  key: (t: T) => string,
  valid: (t: T) => boolean = () => true,
): ListChange<T> | undefined {
  if (before === after && checked.has(after)) return NONE;
  if (!Object.isFrozen(after) || !isChecked(before, key, valid)) return undefined;
  const removed: T[] = [];
  const added: T[] = [];
  let i = 0;
  let j = 0;
  // Whether after[j - 1] was taken over from `before` (then its order against after[j] needs no check when
  // after[j] is taken over too).
  let lastKept = false;
  while (j < after.length) {
    const n = after[j] as T;
    const o = before[i];
    if (o === n) {
      if (j > 0 && !lastKept && !(key(after[j - 1] as T) < key(n))) return undefined;
      lastKept = true;
      i++;
      j++;
      continue;
    }
    const nk = key(n);
    if (o !== undefined && key(o) < nk) {
      removed.push(o);
      i++;
      continue;
    }
    if (!valid(n) || (j > 0 && !(key(after[j - 1] as T) < nk))) return undefined;
    if (o !== undefined && key(o) === nk) {
      removed.push(o);
      i++;
    }
    added.push(n);
    lastKept = false;
    j++;
  }
  for (; i < before.length; i++) removed.push(before[i] as T);
  checked.add(after);
  return { removed, added };
}

function isChecked<T extends object>(
  list: readonly T[],
  key: (t: T) => string,
  valid: (t: T) => boolean,
): boolean {
  if (checked.has(list)) return true;
  for (let k = 0; k < list.length; k++) {
    const t = list[k] as T;
    if (!valid(t) || (k > 0 && !(key(list[k - 1] as T) < key(t)))) return false;
  }
  if (Object.isFrozen(list)) checked.add(list);
  return true;
}
