import { DeltaMismatchError } from '../shared/errors.ts';

/**
 * A change to a keyed list (hosts by hostname, backends by id, statuses by object), carried as a change: the
 * entries that are not the same as before, and the order of keys only when it moved. Both ends keep the
 * unchanged entries as the objects they already hold, so what crosses a thread or process boundary, and what
 * the receiver freezes, hashes and applies, is the change (issue 13 item 3).
 */
export interface ListDelta<T> {
  /** Every key in the new order; absent when the keys are the same as before, in the same order. */
  keys?: string[];
  /** Entries not the same as the previous entry of their key (new keys included). */
  put: T[];
  /** Without `keys`: the position of each `put` entry (the list is otherwise the previous one). */
  at?: number[];
}

/**
 * The delta from `previous` to `next`, or undefined when nothing changed (the same array, or every entry
 * the same at the same position). `same` decides whether an entry is unchanged (default: the very same
 * object). Keys must be unique within a list.
 */
export function listDelta<T>(
  previous: readonly T[] | undefined,
  next: readonly T[],
  key: (entry: T) => string,
  same: (before: T, now: T) => boolean = Object.is,
): ListDelta<T> | undefined {
  if (previous === next) return undefined;
  if (previous !== undefined && previous.length === next.length) {
    const put: T[] = [];
    const at: number[] = [];
    let aligned = true;
    for (let i = 0; i < next.length && aligned; i++) {
      const before = previous[i] as T;
      const now = next[i] as T;
      if (before === now) continue;
      if (key(before) !== key(now)) aligned = false;
      else if (!same(before, now)) {
        put.push(now);
        at.push(i);
      }
    }
    if (aligned) return put.length === 0 ? undefined : { put, at };
  }
  const byKey = new Map<string, T>();
  for (const entry of previous ?? []) byKey.set(key(entry), entry);
  const keys: string[] = [];
  const put: T[] = [];
  for (const entry of next) {
    const k = key(entry);
    keys.push(k);
    const before = byKey.get(k);
    if (before === undefined || !same(before, entry)) put.push(entry);
  }
  return { keys, put };
}

/**
 * `previous` with `delta` applied: the same array when the delta is undefined, otherwise a new array holding
 * `previous`'s own objects wherever the delta does not put one. `merge` makes what goes in for each put
 * entry, given the entry of the same key it replaces, if any (default: the put entry itself). Throws DeltaMismatchError when the delta does
 * not fit `previous` (it was made against another list).
 */
export function applyListDelta<T>(
  previous: readonly T[],
  delta: ListDelta<T> | undefined,
  key: (entry: T) => string,
  merge: (before: T | undefined, now: T) => T = (_before, now) => now,
): readonly T[] {
  if (delta === undefined) return previous;
  if (delta.keys === undefined) {
    const out = previous.slice();
    const at = delta.at ?? [];
    if (at.length !== delta.put.length) throw new DeltaMismatchError('positions do not match entries');
    delta.put.forEach((now, j) => {
      const i = at[j] as number;
      const before = out[i];
      if (before === undefined || key(before) !== key(now)) {
        throw new DeltaMismatchError(`position ${i} does not hold ${JSON.stringify(key(now))}`);
      }
      out[i] = merge(before, now);
    });
    return out;
  }
  const put = new Map<string, T>();
  for (const entry of delta.put) put.set(key(entry), entry);
  const byKey = new Map<string, T>();
  for (const entry of previous) byKey.set(key(entry), entry);
  return delta.keys.map((k) => {
    const now = put.get(k);
    const before = byKey.get(k);
    if (now !== undefined) return merge(before, now);
    if (before === undefined)
      throw new DeltaMismatchError(`key ${JSON.stringify(k)} is neither kept nor put`);
    return before;
  });
}
