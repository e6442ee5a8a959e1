import { DeltaMismatchError } from '../shared/errors.ts';

/**
 * A change to a list (hosts by hostname, backends by id, the view's objects, statuses), carried as a change:
 * runs of the previous list kept as they are, and the entries that are new or replace one of the same key.
 * Both ends keep the unchanged entries as the objects they already hold, so what crosses a thread or process
 * boundary, and what the receiver freezes, hashes and applies, is the change (issue 13 item 3). Positional:
 * neither end builds a map of 10,000 keys for one entry added, removed or replaced.
 */
export interface ListDelta<T> {
  /** Length of the new list. */
  length: number;
  /** Runs of the previous list, as flat triples: previous position, count, new position. */
  keep: number[];
  /** Entries not kept: new, or replacing the previous entry of the same key. */
  put: T[];
  /** The new position of each `put` entry. */
  at: number[];
  /** The previous position of the entry each `put` entry replaces (same key), or -1 for a new one. */
  from: number[];
}

/** How far past a mismatch the sender looks for the lists to line up again (an insertion or removal). */
const RESYNC_WINDOW = 16;

/**
 * The delta from `previous` to `next`, or undefined when nothing changed (the same array, or every entry the
 * same at the same position). `same` decides whether an entry of the same key is unchanged (default: the very
 * same object). One walk over both lists by identity; keys are computed only where they differ. Any list
 * works (order and duplicate keys are carried as they are); lists that differ only by insertions, removals
 * and replacements here and there give a delta of about those.
 */
export function listDelta<T>(
  previous: readonly T[] | undefined,
  next: readonly T[],
  key: (entry: T) => string,
  same: (before: T, now: T) => boolean = Object.is,
): ListDelta<T> | undefined {
  if (previous === next) return undefined;
  const prev = previous ?? [];
  const out: ListDelta<T> = { length: next.length, keep: [], put: [], at: [], from: [] };
  let run = -1; // index in out.keep of the open run's count, or -1
  const keep = (i: number, j: number) => {
    const k = out.keep;
    if (run >= 0 && k[run - 1]! + k[run]! === i && k[run + 1]! + k[run]! === j) k[run]! += 1;
    else {
      k.push(i, 1, j);
      run = k.length - 2;
    }
  };
  const put = (entry: T, j: number, from: number) => {
    out.put.push(entry);
    out.at.push(j);
    out.from.push(from);
  };
  let i = 0;
  let j = 0;
  while (j < next.length) {
    const now = next[j] as T;
    if (i >= prev.length) {
      put(now, j++, -1);
      continue;
    }
    const before = prev[i] as T;
    if (before === now) {
      keep(i++, j++);
      continue;
    }
    const kb = key(before);
    const kn = key(now);
    if (kb === kn) {
      if (same(before, now)) keep(i, j);
      else put(now, j, i);
      i++;
      j++;
      continue;
    }
    const shift = resync(prev, next, i, j, kb, kn, key);
    if (shift > 0)
      i += shift; // previous entries removed
    else if (shift < 0)
      for (let t = 0; t < -shift; t++, j++) put(next[j] as T, j, -1); // inserted
    else {
      // No line-up near here: the previous entry goes, the new one comes.
      i++;
      put(now, j++, -1);
    }
  }
  // Nothing put and nothing removed (the lengths agree): every entry was kept where it was.
  return out.put.length === 0 && prev.length === next.length ? undefined : out;
}

// > 0: that many previous entries were removed at i; < 0: that many new entries inserted at j; 0: neither
// within the window.
function resync<T>(
  prev: readonly T[],
  next: readonly T[],
  i: number,
  j: number,
  kb: string,
  kn: string,
  key: (entry: T) => string,
): number {
  for (let d = 1; d <= RESYNC_WINDOW; d++) {
    const p = prev[i + d];
    if (p !== undefined && (p === next[j] || key(p) === kn)) return d;
    const n = next[j + d];
    if (n !== undefined && (n === prev[i] || key(n) === kb)) return -d;
  }
  return 0;
}

/**
 * `previous` with `delta` applied: the same array when the delta is undefined, otherwise a new array holding
 * `previous`'s own objects in the kept runs. `merge` makes what goes in for each put entry, given the entry
 * of the same key it replaces, if any (default: the put entry itself). Throws DeltaMismatchError when the
 * delta does not fit `previous` (it was made against another list).
 */
export function applyListDelta<T>(
  previous: readonly T[],
  delta: ListDelta<T> | undefined,
  key: (entry: T) => string,
  merge: (before: T | undefined, now: T) => T = (_before, now) => now,
): readonly T[] {
  if (delta === undefined) return previous;
  const out = new Array<T>(delta.length);
  const k = delta.keep;
  let filled = 0;
  for (let r = 0; r + 2 < k.length; r += 3) {
    const [from, count, to] = [k[r]!, k[r + 1]!, k[r + 2]!];
    if (from < 0 || from + count > previous.length || to < 0 || to + count > delta.length) {
      throw new DeltaMismatchError(`run ${from}+${count} -> ${to} is outside the lists`);
    }
    for (let t = 0; t < count; t++) out[to + t] = previous[from + t] as T;
    filled += count;
  }
  delta.put.forEach((now, p) => {
    const at = delta.at[p]!;
    const from = delta.from[p]!;
    const before = from >= 0 ? previous[from] : undefined;
    if (from >= 0 && (before === undefined || key(before) !== key(now))) {
      throw new DeltaMismatchError(`position ${from} does not hold ${JSON.stringify(key(now))}`);
    }
    out[at] = merge(before, now);
  });
  filled += delta.put.length;
  if (filled !== delta.length || out.includes(undefined as T)) {
    throw new DeltaMismatchError('the runs and entries do not fill the new list');
  }
  return out;
}
