import { type Balancer, eligible, type Member } from './balancers.ts';

/**
 * Consistent hashing by Maglev (Eisenbud et al., NSDI 2016; Envoy's `MAGLEV`): each endpoint fills a lookup
 * table of a prime size in the order of its own permutation, so a key's endpoint is one table read (O(1), no
 * allocation), the spread is even (weights honoured by turns), and adding or removing one of N endpoints moves
 * about 1/N of the keys. Chosen over a ring hash (ketama): O(1) instead of O(log V) per pick and a tighter
 * spread at the same memory; Maglev moves slightly more than the minimal 1/N, which a test bounds.
 */

/** Prime table size (Envoy's default): enough slots for an even spread up to a few hundred endpoints. */
export const MAGLEV_TABLE_SIZE = 65537;

/**
 * A 32-bit hash of a string: FNV-1a over UTF-16 code units, finished with murmur3's fmix32 so that keys that
 * differ in one character (addresses in one subnet) land far apart.
 */
export function hash32(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Picks by the request's key hash (`key`, from hash32). The table covers the ready, non-terminating members and
 * is built on the first pick after the member list changes. A key whose endpoint is unhealthy or excluded walks
 * forward in the table to the next eligible one, so its keys spread over the others while the rest stay put.
 */
export class MaglevBalancer implements Balancer {
  #builtFor: readonly Member[] | undefined;
  #signature = '';
  /** Slot -> candidate ordinal (position among the ready, non-terminating members). */
  #table: Int32Array = new Int32Array(0);
  /** Candidate ordinal -> index in the current member list. */
  #member: Int32Array = new Int32Array(0);

  pick(
    members: readonly Member[],
    anyHealth: boolean,
    exclude: ReadonlySet<string> | undefined,
    key = 0,
  ): Member | undefined {
    if (members !== this.#builtFor) this.#build(members);
    const table = this.#table;
    if (table.length === 0) return undefined;
    let any = false;
    for (const m of members) {
      if (eligible(m, anyHealth, exclude)) {
        any = true;
        break;
      }
    }
    if (!any) return undefined;
    const start = key % table.length;
    // Bounded by the table size; long walks happen only when most endpoints are ineligible.
    for (let step = 0; step < table.length; step++) {
      const ordinal = table[(start + step) % table.length] as number;
      const m = members[this.#member[ordinal] as number] as Member;
      if (eligible(m, anyHealth, exclude)) return m;
    }
    return undefined;
  }

  /** Rebuilds the table unless the candidates (ids, weights) are those it was built for (a swap without change). */
  #build(members: readonly Member[]): void {
    this.#builtFor = members;
    const candidates: number[] = [];
    for (let i = 0; i < members.length; i++) {
      const m = members[i] as Member;
      if (m.ready && !m.terminating) candidates.push(i);
    }
    // By id: the table must not depend on list order, so replicas and swaps agree on every key.
    candidates.sort((a, b) => {
      const x = (members[a] as Member).state.id;
      const y = (members[b] as Member).state.id;
      return x < y ? -1 : x > y ? 1 : 0;
    });
    this.#member = Int32Array.from(candidates);
    const ms = candidates.map((i) => members[i] as Member);
    const signature = ms.map((m) => `${m.state.id}*${m.weight}`).join(' ');
    if (signature === this.#signature) return;
    this.#signature = signature;
    this.#table = maglevTable(
      ms.map((m) => m.state.id),
      ms.map((m) => m.weight),
    );
  }
}

/**
 * The Maglev lookup table for endpoints `ids` with `weights`: slot -> index into ids. Each endpoint's permutation
 * is (offset + j * skip) mod M from two hashes of its id; endpoints take turns claiming their next free slot,
 * an endpoint of weight w taking w/max turns per round. Empty when there is no endpoint.
 */
export function maglevTable(ids: readonly string[], weights: readonly number[]): Int32Array {
  const n = ids.length;
  const size = MAGLEV_TABLE_SIZE;
  if (n === 0) return new Int32Array(0);
  const table = new Int32Array(size).fill(-1);
  const skip = new Int32Array(n);
  // Each endpoint's next slot to try: offset + j * skip (mod size), advanced by one addition per try (the
  // same permutation as the paper's formula without its multiplication and float modulo: ~3x faster here,
  // and the table is the one the formula gives).
  const slot = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    slot[i] = hash32(ids[i] as string, 0x9747b28c) % size;
    skip[i] = (hash32(ids[i] as string, 0x5bd1e995) % (size - 1)) + 1;
  }
  const max = Math.max(...weights);
  const uniform = weights.every((w) => w === max);
  const credit = new Float64Array(n);
  let filled = 0;
  while (filled < size) {
    for (let i = 0; i < n && filled < size; i++) {
      if (!uniform) {
        credit[i] = (credit[i] as number) + (weights[i] as number) / max;
        if ((credit[i] as number) < 1) continue;
        credit[i] = (credit[i] as number) - 1;
      }
      const step = skip[i] as number;
      let s = slot[i] as number;
      while ((table[s] as number) >= 0) {
        s += step;
        if (s >= size) s -= size;
      }
      table[s] = i;
      s += step;
      slot[i] = s >= size ? s - size : s;
      filled++;
    }
  }
  return table;
}
