import type { BalancePolicy } from '../../snapshot/index.ts';
import type { EndpointState } from './endpoint-state.ts';

/** One endpoint as one backend sees it: the shared live state plus this backend's weight, flags and cookie. */
export interface Member {
  readonly state: EndpointState;
  /** 1..256, clamped at update. */
  readonly weight: number;
  readonly ready: boolean;
  /** EndpointSlice `serving`: answers requests, even while terminating (what `drainable` affinity keeps). */
  readonly serving: boolean;
  readonly terminating: boolean;
  /** Smooth weighted round-robin accumulator; per backend, carried across swaps. */
  current: number;
  /** Affinity cookie value naming this endpoint; '' when the backend has no affinity. */
  readonly cookieValue: string;
}

/** Picks one member among the eligible ones; undefined when none is eligible. Must not allocate. */
export interface Balancer {
  /**
   * `anyHealth`: ignore health verdicts (panic mode). Excluded ids are never picked. `key`: the request's
   * 32-bit hash key, read only by hashing balancers.
   */
  pick(
    members: readonly Member[],
    anyHealth: boolean,
    exclude: ReadonlySet<string> | undefined,
    key?: number,
  ): Member | undefined;
}

/** Eligible for a new session: ready, not terminating, healthy (unless panicking), not excluded. */
export function eligible(m: Member, anyHealth: boolean, exclude: ReadonlySet<string> | undefined): boolean {
  return (
    m.ready &&
    !m.terminating &&
    (anyHealth || m.state.healthy) &&
    (exclude === undefined || exclude.size === 0 || !exclude.has(m.state.id))
  );
}

/**
 * nginx's smooth weighted round-robin (ngx_http_upstream_get_peer): every eligible peer gains its weight,
 * the richest is chosen and pays the total. Weights 5:1:1 give a a b a c a a.
 */
export class SmoothRoundRobin implements Balancer {
  pick(members: readonly Member[], anyHealth: boolean, exclude: ReadonlySet<string> | undefined) {
    let best: Member | undefined;
    let total = 0;
    for (const m of members) {
      if (!eligible(m, anyHealth, exclude)) continue;
      m.current += m.weight;
      total += m.weight;
      if (best === undefined || m.current > best.current) best = m;
    }
    if (best !== undefined) best.current -= total;
    return best;
  }
}

/**
 * Lowest active/weight. The scan starts after the last pick, and only a strictly lower load wins, so
 * endpoints with equal load take new connections in turn instead of the first one taking them all.
 */
export class LeastConn implements Balancer {
  #cursor = 0;

  pick(members: readonly Member[], anyHealth: boolean, exclude: ReadonlySet<string> | undefined) {
    const n = members.length;
    let best: Member | undefined;
    let bestIndex = 0;
    for (let i = 0; i < n; i++) {
      const index = (this.#cursor + i) % n;
      const m = members[index]!;
      if (!eligible(m, anyHealth, exclude)) continue;
      // a/wa < b/wb without division.
      if (best === undefined || m.state.active * best.weight < best.state.active * m.weight) {
        best = m;
        bestIndex = index;
      }
    }
    if (best !== undefined) this.#cursor = bestIndex + 1;
    return best;
  }
}

/**
 * Power of two random choices: two distinct eligible endpoints at random, the less loaded (active/weight)
 * wins. Two passes over the members instead of building the eligible list keep it allocation-free.
 */
export class RandomTwo implements Balancer {
  #random: () => number;

  constructor(random: () => number) {
    this.#random = random;
  }

  pick(members: readonly Member[], anyHealth: boolean, exclude: ReadonlySet<string> | undefined) {
    let count = 0;
    for (const m of members) if (eligible(m, anyHealth, exclude)) count++;
    if (count === 0) return undefined;
    const first = Math.min(count - 1, Math.floor(this.#random() * count));
    let second = first;
    if (count > 1) {
      second = Math.min(count - 2, Math.floor(this.#random() * (count - 1)));
      if (second >= first) second++;
    }
    let a: Member | undefined;
    let b: Member | undefined;
    let seen = 0;
    for (const m of members) {
      if (!eligible(m, anyHealth, exclude)) continue;
      if (seen === first) a = m;
      if (seen === second) b = m;
      seen++;
    }
    if (a === undefined || b === undefined) return a ?? b;
    return b.state.active * a.weight < a.state.active * b.weight ? b : a;
  }
}

/** A fresh balancer for a policy; unknown policies fall back to round-robin rather than failing the swap. */
export function createBalancer(policy: BalancePolicy, random: () => number): Balancer {
  if (policy === 'least-conn') return new LeastConn();
  if (policy === 'random-two') return new RandomTwo(random);
  return new SmoothRoundRobin();
}
